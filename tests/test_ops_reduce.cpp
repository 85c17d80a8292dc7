// Reductions, max/min with indices, logsumexp, softmax/log_softmax: known values, ties, stability,
// errors. Gradchecks: the op table (tests/op_rows_reduce.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

TEST_SUITE("reduce") {
  TEST_CASE("sum, mean, var: known values, dims and keepdim") {
    Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK_VALUES(sum(a), {21});
    CHECK(sum(a).dim() == 0);
    CHECK_VALUES(sum(a, {0}), {5, 7, 9});
    CHECK_VALUES(sum(a, {1}), {6, 15});
    CHECK_VALUES(sum(a, {-1}, true), {6, 15});
    CHECK(sum(a, {-1}, true).shape() == Shape{2, 1});
    CHECK_VALUES(mean(a, {0}), {2.5, 3.5, 4.5});
    CHECK_VALUES(var(a, {1}), {1, 1});
    CHECK_VALUES(var(a, {1}, 0), {2.0 / 3, 2.0 / 3});
    CHECK_VALUES(var(a), {3.5});
    // A permuted (non-contiguous) input and a middle dim.
    Tensor b = f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
    CHECK_VALUES(sum(b, {1}), {4, 6, 12, 14});
    CHECK_VALUES(sum(b.permute({2, 0, 1}), {0}), {3, 7, 11, 15});
    CHECK_VALUES(sum(b, {0, 2}), {14, 22});
  }

  TEST_CASE("max/min with indices, argmax, amax") {
    Tensor a = f64({3, 9, 1, 7, 2, 8}, {2, 3});
    auto [v, i] = max(a, 1);
    CHECK_VALUES(v, {9, 8});
    CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
    auto [mv, mi] = min(a, 0, true);
    CHECK(mv.shape() == Shape{1, 3});
    CHECK_VALUES(mv, {3, 2, 1});
    CHECK(mi.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 0});
    CHECK(argmax(a, 0).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0, 1});
    CHECK(argmin(a, -1).to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 1});
    CHECK_VALUES(amax(a), {9});
    CHECK_VALUES(amin(a, {1}), {1, 2});
    // Ties: argmax takes the first; amax's gradient is shared by the tied elements.
    Tensor t = tensor({2, 5, 5}, {3}, {.dtype = DType::float64, .requires_grad = true});
    CHECK(argmax(t, 0).item() == 1);
    amax(t).backward();
    CHECK_VALUES(t.grad(), {0, 0.5, 0.5});
  }

  TEST_CASE("max/min with indices on long rows: first of ties, first NaN wins, float32 and float64") {
    // Rows longer than a vector register, as a max over time's: the kernel reduces them vectorised and
    // then looks for the first index holding the result.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (DType dt : {DType::float32, DType::float64}) {
      std::vector<double> rows(3 * 40);
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 40; ++c) rows[r * 40 + c] = std::sin(1.0 + r * 40 + c);  // distinct, in [-1, 1]
      rows[0 * 40 + 7] = rows[0 * 40 + 31] = 5;      // row 0: a tie for the max at 7 and 31
      rows[0 * 40 + 12] = rows[0 * 40 + 35] = -5;    // ... and for the min at 12 and 35
      rows[1 * 40 + 20] = nan, rows[1 * 40 + 33] = nan;  // row 1: NaNs at 20 and 33 win both
      rows[2 * 40 + 39] = 9, rows[2 * 40 + 0] = -9;   // row 2: extremes at the ends
      const Tensor x = tensor(rows, {3, 40}, {.dtype = dt});
      INFO(dtype_name(dt));
      auto [mv, mi] = max(x, 1);
      CHECK(mi.to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 20, 39});
      const auto vmax = mv.to(DType::float64).to_vector<double>();
      CHECK(vmax[0] == 5);
      CHECK(std::isnan(vmax[1]));
      CHECK(vmax[2] == 9);
      auto [nv, ni] = min(x, 1);
      CHECK(ni.to_vector<std::int64_t>() == std::vector<std::int64_t>{12, 20, 0});
      CHECK(std::isnan(nv.to(DType::float64).to_vector<double>()[1]));
    }
  }

  TEST_CASE("max/min with indices: every row length around the vector width, ties, infinities, as a scan") {
    // float32 rows are reduced 16 lanes at a time with the tail masked (kernels/cpu/reduce.cpp): lengths
    // 1..40 cross every tail size. Values from a few levels, so that ties are common; -inf and +inf rows.
    Generator gen(5);
    const double inf = std::numeric_limits<double>::infinity();
    for (std::int64_t R = 1; R <= 40; ++R) {
      std::vector<double> v = rand({6, R}, {}, &gen).to_vector<double>();
      for (double& e : v) e = std::floor(4 * e);
      for (std::int64_t c = 0; c < R; ++c) v[4 * R + c] = -inf, v[5 * R + c] = inf;
      const Tensor x = tensor(v, {6, R}, {.dtype = DType::float32});
      auto [mv, mi] = max(x, 1);
      auto [nv, ni] = min(x, 1);
      for (std::int64_t r = 0; r < 6; ++r) {
        std::int64_t want_max = 0, want_min = 0;
        for (std::int64_t c = 1; c < R; ++c) {
          if (v[r * R + c] > v[r * R + want_max]) want_max = c;
          if (v[r * R + c] < v[r * R + want_min]) want_min = c;
        }
        INFO("R " << R << " row " << r);
        CHECK(mi.to_vector<std::int64_t>()[r] == want_max);
        CHECK(ni.to_vector<std::int64_t>()[r] == want_min);
        CHECK(mv.to_vector<double>()[r] == v[r * R + want_max]);
        CHECK(nv.to_vector<double>()[r] == v[r * R + want_min]);
      }
    }
  }

  TEST_CASE("logsumexp and softmax: known values and stability") {
    Tensor a = f64({1, 2, 3, 1000, 1000, 1000}, {2, 3});
    CHECK_VALUES(logsumexp(a, {1}), {3.40760596444, 1000 + std::log(3.0)}, 1e-9);
    CHECK_VALUES(softmax(f64({1, 2, 3}), 0), {0.09003057317, 0.24472847105, 0.66524095578}, 1e-9);
    CHECK_VALUES(softmax(a, 1).narrow(0, 1, 1), {1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12);
    CHECK_VALUES(log_softmax(f64({1, 2, 3}), -1), {-2.40760596444, -1.40760596444, -0.40760596444}, 1e-9);
    CHECK_VALUES(softmax(f64({1, 2, 3, 4}, {2, 2}), 0), {0.11920292202, 0.11920292202, 0.88079707798, 0.88079707798},
                 1e-9);
    Tensor ninf = f64({-INFINITY, -INFINITY});
    CHECK(std::isinf(logsumexp(ninf, {0}).item()));
  }

  TEST_CASE("errors") {
    CHECK_THROWS_WITH_AS(sum(ones({2, 3}), {2}), Catch("sum: dim 2 is out of range for a tensor with 2 dims"), Error);
    CHECK_THROWS_WITH_AS(sum(ones({2, 3}), {1, -1}), Catch("sum: dim listed twice in [1, -1]"), Error);
    CHECK_THROWS_WITH_AS(var(ones({1, 3}), {0}), Catch("var: need more than 1 elements, got 1"), Error);
    CHECK_THROWS_WITH_AS(max(zeros({2, 0}), 1), Catch("max: cannot reduce over an empty dim 1 of shape [2, 0]"), Error);
    CHECK_THROWS_WITH_AS(softmax(ones({2}), 1), Catch("softmax: dim 1 is out of range"), Error);
  }

  // Issue 12, item 2: zeros({0, 3}).sum() was a SIGFPE (a grain divided by the reduced count).
  TEST_CASE("reductions of nothing, as PyTorch: sum 0, mean nan, max an error naming the op") {
    CHECK(zeros({0, 3}).sum().item() == 0.0);
    CHECK(sum(zeros({0, 3}), {0}).to_vector<float>() == std::vector<float>{0, 0, 0});
    CHECK(sum(zeros({0, 3}), {1}).shape() == Shape{0});                        // an empty result
    CHECK(sum(zeros({4, 0}), {0}, true).shape() == Shape{1, 0});
    CHECK(sum(zeros({2, 0, 3}, {.dtype = DType::float64}), {1}).to_vector<double>() == std::vector<double>(6, 0.0));
    CHECK(std::isnan(zeros({0, 3}).mean().item()));
    for (double v : mean(zeros({0, 3}), {0}).to_vector<double>()) CHECK(std::isnan(v));
    CHECK(std::isnan(var(zeros({0})).item()));
    CHECK(logsumexp(zeros({0, 2}), {0}).to_vector<float>() == std::vector<float>{-INFINITY, -INFINITY});
    CHECK(amax(zeros({0, 3}), {1}).shape() == Shape{0});
    CHECK(argmax(zeros({0, 3}), 1).shape() == Shape{0});
    CHECK(softmax(zeros({0, 3}), 1).shape() == Shape{0, 3});
    CHECK(softmax(zeros({3, 0}), 1).shape() == Shape{3, 0});
    CHECK_THROWS_WITH_AS(amax(zeros({0, 3})), Catch("amax: cannot reduce over an empty dim 0 of shape [0, 3]"), Error);
    CHECK_THROWS_WITH_AS(argmin(zeros({3, 0}), 1), Catch("argmin: cannot reduce over an empty dim 1"), Error);
    // Gradients of an empty input are empty, of its shape.
    Tensor x = zeros({0, 3}, {.requires_grad = true});
    x.sum().backward();
    CHECK(x.grad().shape() == Shape{0, 3});
  }

  TEST_CASE("large reductions: rows, columns and the parallel path") {
    Tensor a = ones({300, 1000}, {.dtype = DType::float64});
    CHECK(sum(a).item() == 300000);
    CHECK_VALUES(sum(a, {0}).narrow(0, 0, 3), {300, 300, 300});
    CHECK_VALUES(sum(a, {1}).narrow(0, 0, 2), {1000, 1000});
    CHECK_VALUES(sum(a.t(), {1}).narrow(0, 0, 2), {300, 300});
  }

  TEST_CASE("reduced dims around a kept block ([A, M, B], e.g. per channel over {0, 2, 3}) equal the transposed reduction") {
    // The in-place path for dense inputs against the same reduction of a contiguous transposed copy, which
    // takes the general path: batch norm's statistics and a conv's bias gradient go through here.
    // a and b agree elementwise within tol (same shape).
    const auto close = [](const Tensor& a, const Tensor& b, double tol) {
      REQUIRE(a.shape() == b.shape());
      return allclose(a, val(b), tol);
    };
    Generator g(5);
    const Tensor x = randn({4, 3, 5, 6}, {.dtype = DType::float64}, &g);
    const Tensor moved = x.permute({1, 0, 2, 3}).contiguous();  // [3, 4, 5, 6]: kept dim first
    const Tensor kept_last = x.permute({0, 2, 3, 1}).contiguous();  // [4, 5, 6, 3]: the general path
    CHECK(close(sum(x, {0, 2, 3}), sum(moved, {1, 2, 3}), 1e-12));
    CHECK(close(sum(x, {0, 2, 3}), sum(kept_last, {0, 1, 2}), 1e-12));
    CHECK(close(mean(x, {0, 2, 3}, true).reshape({3}), mean(moved, {1, 2, 3}), 1e-12));
    CHECK(close(var(x, {0, 2, 3}, 0), var(moved, {1, 2, 3}, 0), 1e-12));
    CHECK(close(amax(x, {0, 2, 3}), amax(moved, {1, 2, 3}), 0.0));
    CHECK(close(amin(x, {0, 2, 3}), amin(moved, {1, 2, 3}), 0.0));
    CHECK(close(sum(x, {0, 3}), sum(x.permute({1, 2, 0, 3}).contiguous(), {2, 3}), 1e-12));  // a kept block of two dims
    CHECK(close(sum(x, {0, 1, 3}), sum(x.permute({2, 0, 1, 3}).contiguous(), {1, 2, 3}), 1e-12));
    // A NaN anywhere in a channel makes that channel's max NaN and leaves the others alone.
    Tensor y = x.clone();
    {
      autograd::NoGradGuard no_grad;
      y.select(0, 2).select(0, 1).select(0, 4).select(0, 5).fill_(std::nan(""));
    }
    const auto m = amax(y, {0, 2, 3}).to_vector<double>();
    CHECK(std::isnan(m[1]));
    CHECK(!std::isnan(m[0]));
    CHECK(!std::isnan(m[2]));
  }
}
