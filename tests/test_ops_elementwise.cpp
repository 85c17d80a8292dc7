// Elementwise ops and activations: known values and error messages. Gradients, double backward,
// float32 and strided inputs: the op table (tests/op_rows_elementwise.cpp).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

TEST_SUITE("elementwise") {
  TEST_CASE("binary ops: known values with broadcasting") {
    Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor b = f64({10, 20, 30}, {3});
    Tensor c = f64({2, 4}, {2, 1});
    CHECK_VALUES(a + b, {11, 22, 33, 14, 25, 36});
    CHECK_VALUES(a - c, {-1, 0, 1, 0, 1, 2});
    CHECK_VALUES(a * c, {2, 4, 6, 16, 20, 24});
    CHECK_VALUES(a / c, {0.5, 1, 1.5, 1, 1.25, 1.5});
    CHECK_VALUES(pow(a, c), {1, 4, 9, 256, 625, 1296});
    CHECK_VALUES(maximum(a, f64({3})), {3, 3, 3, 4, 5, 6});
    CHECK_VALUES(minimum(a, f64({3})), {1, 2, 3, 3, 3, 3});
    CHECK_VALUES(where(gt(a, 3.0), a, b), {10, 20, 30, 4, 5, 6});
    CHECK_VALUES(gt(a, c), {0, 0, 1, 0, 1, 1});
    CHECK_VALUES(eq(a, c), {0, 1, 0, 1, 0, 0});
    CHECK_VALUES(2.0 - a, {1, 0, -1, -2, -3, -4});
    CHECK_VALUES(1.0 / c, {0.5, 0.25});
    CHECK((a + b).shape() == Shape{2, 3});
    CHECK((c + b).shape() == Shape{2, 3});
  }

  TEST_CASE("unary ops and activations: known values") {
    Tensor x = f64({-2, -0.5, 0, 0.5, 2});
    CHECK_VALUES(relu(x), {0, 0, 0, 0.5, 2});
    CHECK_VALUES(leaky_relu(x, 0.1), {-0.2, -0.05, 0, 0.5, 2});
    CHECK_VALUES(abs(x), {2, 0.5, 0, 0.5, 2});
    CHECK_VALUES(neg(x), {2, 0.5, 0, -0.5, -2});
    CHECK_VALUES(sign(x), {-1, -1, 0, 1, 1});
    CHECK_VALUES(clamp(x, -1, 1), {-1, -0.5, 0, 0.5, 1});
    CHECK_VALUES(sigmoid(x), {0.11920292202, 0.37754066880, 0.5, 0.62245933120, 0.88079707798}, 1e-9);
    CHECK_VALUES(tanh(x), {-0.96402758008, -0.46211715726, 0, 0.46211715726, 0.96402758008}, 1e-9);
    CHECK_VALUES(softplus(x), {0.12692801104, 0.47407698418, 0.69314718056, 0.97407698418, 2.12692801104}, 1e-9);
    CHECK_VALUES(gelu(x), {-0.04550026390, -0.15426876942, 0, 0.34573123058, 1.95449973610}, 1e-9);
    CHECK_VALUES(erf(x), {-0.99532226502, -0.52049987781, 0, 0.52049987781, 0.99532226502}, 1e-9);
    CHECK_VALUES(exp(f64({0, 1})), {1, M_E});
    CHECK_VALUES(log(f64({1, M_E})), {0, 1});
    CHECK_VALUES(sqrt(f64({4, 9})), {2, 3});
    CHECK_VALUES(square(x), {4, 0.25, 0, 0.25, 4});
    CHECK_VALUES(pow(f64({2, 3}), 3.0), {8, 27});
    CHECK_VALUES(softplus(f64({30}), 1.0, 20.0), {30});  // above the threshold: identity
  }

  TEST_CASE("errors name the op, the shapes and what was expected") {
    CHECK_THROWS_WITH_AS(ones({2, 3}) + ones({4}),
                         Catch("add: shapes [2, 3] and [4] cannot be broadcast together (dim 1: 3 vs 4)"), Error);
    CHECK_THROWS_WITH_AS(mul(ones({2}), ones({2}, {.dtype = DType::float64})),
                         Catch("mul: expected tensors of the same dtype and device, got float32 on cpu and float64 on cpu"),
                         Error);
    CHECK_THROWS_WITH_AS(exp(tensor_from({1, 2})), Catch("exp: expected a floating tensor (float32 or float64), got int64"),
                         Error);
    CHECK_THROWS_WITH_AS(clamp(ones({1}), 1, 0), Catch("clamp: expected lo <= hi"), Error);
  }

  TEST_CASE("permuted layouts: the loops follow the output's memory order, every element right") {
    // kernels/cpu/loops.h visits dims in the order of the output's strides when no operand disagrees:
    // two channels-last tensors then add as one run. Mixed layouts, broadcasting and an in-place add
    // (the engine's gradient sum) must give the contiguous answer all the same.
    Generator gen(3);
    Tensor a = randn({3, 4, 5, 6}, {.dtype = DType::float64}, &gen), b = randn({3, 4, 5, 6}, {.dtype = DType::float64}, &gen);
    auto channels_last = [](const Tensor& t) { return t.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2}); };
    const std::vector<double> sum_ab = (a + b).to_vector<double>(), prod_ab = (a * b).to_vector<double>();
    const Tensor al = channels_last(a), bl = channels_last(b);
    CHECK_FALSE(al.is_contiguous());
    CHECK((al + bl).to_vector<double>() == sum_ab);
    CHECK((al * b).to_vector<double>() == prod_ab);
    CHECK((a + bl).to_vector<double>() == sum_ab);
    const Tensor bias = randn({1, 4, 1, 1}, {.dtype = DType::float64}, &gen);
    CHECK((al + bias).to_vector<double>() == (a + bias).to_vector<double>());
    // (exp is a polynomial in the vector body, std::exp at a run's ends: equal to rounding)
    CHECK(allclose(exp(al), exp(a).to_vector<double>(), 1e-14));
    Tensor acc = channels_last(a);
    acc.add_(bl);
    CHECK(acc.to_vector<double>() == sum_ab);
    CHECK(acc.stride(1) == 1);  // in place: still channels-last
  }

  TEST_CASE("large tensors take the parallel path and stay exact") {
    Tensor a = arange(100003, {.dtype = DType::float64});
    Tensor b = a * 2.0 + a;
    auto v = b.to_vector<double>();
    CHECK(v[0] == 0);
    CHECK(v[100002] == 300006);
    CHECK(sum(b).item() == doctest::Approx(3.0 * 100002 * 100003 / 2));
  }
}
