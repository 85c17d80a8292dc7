// Joining, splitting and padding: hand-worked values, views, gradients by hand and error messages.
// Gradchecks: the op table (tests/op_rows_shape.cpp).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

namespace {
Shape sizes_of(const std::vector<Tensor>& ts, std::int64_t dim) {
  Shape s;
  for (const Tensor& t : ts) s.push_back(t.size(dim));
  return s;
}
}  // namespace

TEST_SUITE("join") {
  TEST_CASE("cat: values along dims 0, 1 and -1") {
    Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({5, 6}, {1, 2}), c = f64({7, 8, 9, 10, 11, 12}, {2, 3});
    Tensor r0 = cat({a, b}, 0);
    CHECK(r0.shape() == Shape{3, 2});
    CHECK_VALUES(r0, {1, 2, 3, 4, 5, 6});
    Tensor r1 = cat({a, c, a}, 1);
    CHECK(r1.shape() == Shape{2, 7});
    CHECK_VALUES(r1, {1, 2, 7, 8, 9, 1, 2, 3, 4, 10, 11, 12, 3, 4});
    CHECK_VALUES(cat({a, c}, -1), {1, 2, 7, 8, 9, 3, 4, 10, 11, 12});
    CHECK_VALUES(cat({a.t(), b}, 0), {1, 3, 2, 4, 5, 6});                 // non-contiguous input
    CHECK_VALUES(cat({b.expand({2, 2}), a}, 1), {5, 6, 1, 2, 5, 6, 3, 4});  // broadcast (stride 0) input
    CHECK_VALUES(cat({a}, 0), {1, 2, 3, 4});
    CHECK_VALUES(cat({f64({}, {0, 2}), b}, 0), {5, 6});                   // empty parts
    CHECK_VALUES(cat({f64({}, {2, 0}), a}, 1), {1, 2, 3, 4});
    Tensor ai = tensor_from({1, 2}), bi = tensor_from({3}, {1});
    CHECK(cat({ai, bi}).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3});
  }

  TEST_CASE("stack") {
    Tensor a = f64({1, 2, 3}), b = f64({4, 5, 6});
    CHECK(stack({a, b}).shape() == Shape{2, 3});
    CHECK_VALUES(stack({a, b}), {1, 2, 3, 4, 5, 6});
    CHECK(stack({a, b}, 1).shape() == Shape{3, 2});
    CHECK_VALUES(stack({a, b}, -1), {1, 4, 2, 5, 3, 6});
    CHECK(stack({a.reshape({3, 1}), b.reshape({3, 1})}, 1).shape() == Shape{3, 2, 1});
  }

  TEST_CASE("split and chunk: sizes, values, views") {
    Tensor x = arange(10, {.dtype = DType::float64}).reshape({5, 2});
    auto p = split(x, 2);
    CHECK(sizes_of(p, 0) == Shape{2, 2, 1});
    CHECK_VALUES(p[2], {8, 9});
    CHECK(p[1].impl()->storage == x.impl()->storage);  // views, no copies
    auto q = split(x, std::vector<std::int64_t>{1, 0, 4});
    CHECK(sizes_of(q, 0) == Shape{1, 0, 4});
    CHECK_VALUES(q[2], {2, 3, 4, 5, 6, 7, 8, 9});
    auto r = split(x, 1, 1);
    CHECK(r.size() == 2);
    CHECK_VALUES(r[1], {1, 3, 5, 7, 9});
    CHECK(sizes_of(split(x, 7), 0) == Shape{5});
    // chunk follows PyTorch: pieces of ceil(n / chunks), so possibly fewer than asked
    CHECK(sizes_of(chunk(x, 3), 0) == Shape{2, 2, 1});
    CHECK(sizes_of(chunk(arange(6), 4), 0) == Shape{2, 2, 2});
    CHECK(sizes_of(chunk(arange(5), 5), 0) == Shape{1, 1, 1, 1, 1});
    CHECK(sizes_of(chunk(arange(2), 3), 0) == Shape{1, 1});
    CHECK(sizes_of(chunk(zeros({0, 2}), 3), 0) == Shape{0, 0, 0});
    CHECK(sizes_of(split(zeros({0, 2}), 2), 0) == Shape{0});
    CHECK_VALUES(chunk(x, 2, -1)[0], {0, 2, 4, 6, 8});
  }

  TEST_CASE("pad: values, negative pads crop") {
    Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor a = pad(x, {1, 2});
    CHECK(a.shape() == Shape{2, 6});
    CHECK_VALUES(a, {0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0});
    Tensor b = pad(x, {0, 0, 1, 0}, 7);
    CHECK(b.shape() == Shape{3, 3});
    CHECK_VALUES(b, {7, 7, 7, 1, 2, 3, 4, 5, 6});
    CHECK_VALUES(pad(x, {-1, 1}, 9), {2, 3, 9, 5, 6, 9});
    CHECK_VALUES(pad(x, {-1, -1, 1, -1}), {0, 2});
    CHECK_VALUES(pad(x.t(), {1, 0}), {0, 1, 4, 0, 2, 5, 0, 3, 6});  // non-contiguous input
    CHECK(pad(x, {-3, 1}).shape() == Shape{2, 1});                  // all cropped away: only the value
    CHECK_VALUES(pad(x, {-3, 1}, 5), {5, 5});
    CHECK_VALUES(pad(x, {}), {1, 2, 3, 4, 5, 6});
  }

  TEST_CASE("gradient of cat is the matching slice") {
    Tensor a = f64({1, 2}).requires_grad_(), b = f64({3, 4, 5}).requires_grad_();
    (cat({a, b}) * f64({1, 2, 3, 4, 5})).sum().backward();
    CHECK_VALUES(a.grad(), {1, 2});
    CHECK_VALUES(b.grad(), {3, 4, 5});
    Tensor x = f64({1, 2, 3}).requires_grad_();
    (pad(x, {-1, 2}) * f64({10, 20, 30, 40})).sum().backward();
    CHECK_VALUES(x.grad(), {0, 10, 20});
  }

  TEST_CASE("errors") {
    Tensor a = zeros({3, 3});
    CHECK_THROWS_WITH_AS(cat({a, zeros({2, 4})}, 0),
                         Catch("cat: tensor 1 has shape [2, 4] but tensor 0 has shape [3, 3]: sizes must match except in dim 0"),
                         Error);
    CHECK_THROWS_WITH_AS(cat({a, zeros({3})}, 0), Catch("cat: tensor 1 has shape [3] but tensor 0 has shape [3, 3]"), Error);
    CHECK_THROWS_WITH_AS(cat({a, a, zeros({3, 3}, {.dtype = DType::float64})}, 1),
                         Catch("cat: tensor 2 is float64 on cpu but tensor 0 is float32 on cpu"), Error);
    CHECK_THROWS_WITH_AS(cat({}, 0), Catch("cat: expected at least one tensor"), Error);
    CHECK_THROWS_WITH_AS(cat({a, a}, 2), Catch("cat: dim 2 is out of range"), Error);
    CHECK_THROWS_WITH_AS(stack({a, zeros({3, 2})}), Catch("stack: tensor 1 has shape [3, 2] but tensor 0 has shape [3, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(split(a, std::vector<std::int64_t>{1, 1}), Catch("split: sizes [1, 1] sum to 2 but dim 0 has size 3"),
                         Error);
    CHECK_THROWS_WITH_AS(split(a, 0), Catch("split: expected split_size > 0, got 0"), Error);
    CHECK_THROWS_WITH_AS(chunk(a, 0), Catch("chunk: expected chunks > 0, got 0"), Error);
    CHECK_THROWS_WITH_AS(pad(a, {1, 1, 1}), Catch("pad: expected an even number of pads"), Error);
    CHECK_THROWS_WITH_AS(pad(a, {1, 1, 1, 1, 1, 1}), Catch("pad: expected an even number of pads, at most 2 per dim"), Error);
    CHECK_THROWS_WITH_AS(pad(a, {-2, -2}), Catch("pad: pads [-2, -2] leave a negative size in dim 1 of shape [3, 3]"), Error);
  }
}
