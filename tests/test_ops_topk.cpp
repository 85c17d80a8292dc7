// topk: values and indices against hand-worked answers (largest, smallest, sorted or in index order,
// ties to the lower index, nan as the largest), any dim, the gradient reaching only the chosen
// elements, k = 0, and errors. Gradchecks: the op table (tests/op_rows_index.cpp).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

namespace {
std::vector<std::int64_t> ids(const Tensor& t) { return t.to_vector<std::int64_t>(); }
}  // namespace

TEST_SUITE("index") {
  TEST_CASE("topk: the k largest or smallest, sorted or in index order") {
    const Tensor x = f64({3, 1, 4, 1, 5, 9, 2, 6}, {8});
    auto [v, i] = topk(x, 3);
    CHECK_VALUES(v, {9, 6, 5});
    CHECK(ids(i) == std::vector<std::int64_t>{5, 7, 4});
    CHECK(i.dtype() == DType::int64);
    auto [vs, is] = topk(x, 3, 0, false);  // the two 1s tie: the lower index first
    CHECK_VALUES(vs, {1, 1, 2});
    CHECK(ids(is) == std::vector<std::int64_t>{1, 3, 6});
    auto [vu, iu] = topk(x, 3, 0, true, false);  // unsorted: the chosen elements in index order
    CHECK_VALUES(vu, {5, 9, 6});
    CHECK(ids(iu) == std::vector<std::int64_t>{4, 5, 7});
    auto [va, ia] = topk(x, 8);
    CHECK_VALUES(va, {9, 6, 5, 4, 3, 2, 1, 1});
    CHECK(ids(ia) == std::vector<std::int64_t>{5, 7, 4, 2, 0, 6, 1, 3});
  }

  TEST_CASE("topk: ties go to the lower index; nan is the largest") {
    auto [v, i] = topk(f64({2, 5, 5, 1, 5}, {5}), 2);
    CHECK_VALUES(v, {5, 5});
    CHECK(ids(i) == std::vector<std::int64_t>{1, 2});
    const double nan = std::nan("");
    auto [vn, in] = topk(f64({1, nan, 3}, {3}), 2);
    CHECK(std::isnan(val(vn)[0]));
    CHECK(ids(in) == std::vector<std::int64_t>{1, 2});
    auto [vm, im] = topk(f64({1, nan, 3}, {3}), 1, 0, false);
    CHECK(ids(im) == std::vector<std::int64_t>{0});
  }

  TEST_CASE("topk along dim 0 and a negative dim of a 3-D tensor, and on int64") {
    // x[a, b] = rows {{1, 8, 3}, {7, 2, 9}}
    const Tensor x = f64({1, 8, 3, 7, 2, 9}, {2, 3});
    auto [v0, i0] = topk(x, 1, 0);
    CHECK(v0.shape() == Shape{1, 3});
    CHECK_VALUES(v0, {7, 8, 9});
    CHECK(ids(i0) == std::vector<std::int64_t>{1, 0, 1});
    auto [v1, i1] = topk(x, 2, -1, false);
    CHECK(v1.shape() == Shape{2, 2});
    CHECK_VALUES(v1, {1, 3, 2, 7});
    CHECK(ids(i1) == std::vector<std::int64_t>{0, 2, 1, 0});
    const Tensor x3 = reshape(f64({0, 5, 1, 4, 2, 3, 9, 8, 7, 6, 5, 4}, {12}), {2, 3, 2});
    auto [v3, i3] = topk(x3, 2, 1);  // dim 1 of [2, 3, 2]: a middle dim with an inner stride
    CHECK(v3.shape() == Shape{2, 2, 2});
    CHECK_VALUES(v3, {2, 5, 1, 4, 9, 8, 7, 6});
    CHECK(ids(i3) == std::vector<std::int64_t>{2, 0, 1, 1, 0, 0, 1, 1});
    auto [vi, ii] = topk(tensor_from({4, 9, 1}, {3}), 2);
    CHECK(ids(vi) == std::vector<std::int64_t>{9, 4});
  }

  TEST_CASE("topk: the gradient flows to the chosen elements only") {
    Tensor x = f64({3, 1, 4, 1, 5}, {5}).requires_grad_();
    auto [v, i] = topk(x, 2);
    (v * f64({10, 20}, {2})).sum().backward();
    CHECK_VALUES(x.grad(), {0, 0, 20, 0, 10});
  }

  TEST_CASE("topk: k = 0 is empty; errors on k out of range") {
    auto [v, i] = topk(zeros({2, 4}), 0);
    CHECK(v.shape() == Shape{2, 0});
    CHECK(i.shape() == Shape{2, 0});
    CHECK_THROWS_WITH_AS(topk(zeros({2, 4}), 5), Catch("topk: k = 5 is out of range [0, 4] for dim 1 of shape [2, 4]"),
                         Error);
    CHECK_THROWS_WITH_AS(topk(zeros({2, 4}), -1), Catch("topk: k = -1 is out of range"), Error);
    CHECK_THROWS_WITH_AS(topk(zeros({2, 4}), 1, 2), Catch("topk"), Error);
    CHECK_THROWS_WITH_AS(topk(scalar_tensor(1.0), 1), Catch("topk: expected a tensor with at least one dim"), Error);
  }
}
