// Indexing ops: hand-worked values, agreement with a naive reference on strided and parallel-sized
// inputs, repeated-index gradients and error messages. Gradchecks (first and second order): the op
// table (tests/op_rows_index.cpp).
#include <doctest/doctest.h>
#include <omp.h>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

namespace {

Tensor idx(std::vector<std::int64_t> v, Shape shape = {}) { return tensor_from(v, shape); }

// Row-major coordinates of flat position i in `shape`.
Shape coords(std::int64_t i, const Shape& shape) {
  Shape c(shape.size());
  for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 1; d >= 0; --d) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}
std::int64_t flat(const Shape& c, const Shape& shape) {
  std::int64_t f = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) f = f * shape[d] + c[d];
  return f;
}

// The definitions, one element at a time.
std::vector<double> naive_gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  auto xv = x.to_vector<double>();
  auto iv = index.to_vector<std::int64_t>();
  std::vector<double> out(iv.size());
  for (std::size_t p = 0; p < iv.size(); ++p) {
    Shape c = coords(static_cast<std::int64_t>(p), index.shape());
    c[dim] = iv[p];
    out[p] = xv[flat(c, x.shape())];
  }
  return out;
}
std::vector<double> naive_scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  auto out = x.to_vector<double>();
  auto iv = index.to_vector<std::int64_t>();
  auto sv = src.to_vector<double>();
  for (std::size_t p = 0; p < iv.size(); ++p) {
    Shape c = coords(static_cast<std::int64_t>(p), index.shape());
    const std::int64_t s = flat(c, src.shape());
    c[dim] = iv[p];
    out[flat(c, x.shape())] += sv[s];
  }
  return out;
}

Tensor rand_index(const Shape& shape, std::int64_t hi, std::uint64_t seed) {
  Generator g(seed);
  return randint(0, hi, shape, kCPU, &g);
}

}  // namespace

TEST_SUITE("index") {
  TEST_CASE("gather: values") {
    Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK_VALUES(gather(x, 1, idx({2, 0, 1, 1}, {2, 2})), {3, 1, 5, 5});
    CHECK_VALUES(gather(x, -1, idx({2, 0, 1, 1}, {2, 2})), {3, 1, 5, 5});
    CHECK_VALUES(gather(x, 0, idx({1, 0, 1}, {1, 3})), {4, 2, 6});
    CHECK(gather(x, 0, idx({1, 0, 1}, {1, 3})).shape() == Shape{1, 3});
    CHECK_VALUES(gather(x.t(), 0, idx({2, 1}, {1, 2})), {3, 5});  // x.t() is [3, 2], non-contiguous
    CHECK_VALUES(gather(tensor({1, 2, 3}), 0, idx({2, 2, 0})), {3, 3, 1});  // float32
    Tensor xi = tensor_from({10, 20, 30});
    Tensor gi = gather(xi, 0, idx({1, 2}));
    CHECK(gi.dtype() == DType::int64);
    CHECK(gi.to_vector<std::int64_t>() == std::vector<std::int64_t>{20, 30});
  }

  TEST_CASE("gather: strided and parallel-sized inputs agree with the definition") {
    Tensor base = randn({6, 5, 4}, {.dtype = DType::float64});
    Tensor x = base.permute({2, 0, 1});  // [4, 6, 5], non-contiguous
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      Shape s = {3, 4, 5};
      s[dim] = 7;  // longer than x along dim: indices repeat
      Tensor index = rand_index(s, x.size(dim), 10 + dim);
      CHECK_VALUES(gather(x, dim, index), naive_gather(x, dim, index));
      Tensor index_t = rand_index({s[2], s[1], s[0]}, x.size(dim), 20 + dim).permute({2, 1, 0});  // strided index
      CHECK_VALUES(gather(x, dim, index_t), naive_gather(x, dim, index_t));
    }
    Tensor big = randn({64, 700}, {.dtype = DType::float64});  // above the parallel grain
    for (std::int64_t dim = 0; dim < 2; ++dim) {
      Tensor index = rand_index({64, 700}, big.size(dim), 30 + dim);
      CHECK_VALUES(gather(big, dim, index), naive_gather(big, dim, index));
    }
  }

  TEST_CASE("scatter_add: values, repeated indices accumulate, x untouched") {
    Tensor x = zeros({3}, {.dtype = DType::float64});
    CHECK_VALUES(scatter_add(x, 0, idx({0, 2, 0, 0}), f64({1, 2, 3, 4})), {8, 0, 2});
    CHECK_VALUES(x, {0, 0, 0});
    Tensor y = ones({2, 3}, {.dtype = DType::float64});
    CHECK_VALUES(scatter_add(y, 1, idx({0, 0, 2, 1}, {2, 2}), f64({1, 2, 3, 4}, {2, 2})), {4, 1, 1, 1, 5, 4});
    CHECK_VALUES(scatter_add(y, 0, idx({1, 1, 0}, {1, 3}), f64({1, 2, 3}, {1, 3})), {1, 1, 4, 2, 3, 1});
    // src larger than the index: only its leading part is used
    CHECK_VALUES(scatter_add(y, 1, idx({2, 2}, {2, 1}), f64({5, 6, 7, 8, 9, 10}, {2, 3})), {1, 1, 6, 1, 1, 9});
  }

  TEST_CASE("scatter_add: heavy collisions agree with the definition on any thread count") {
    Tensor x = randn({40, 50, 30}, {.dtype = DType::float64});
    Tensor src = randn({30, 50, 40}, {.dtype = DType::float64}).permute({2, 1, 0});  // strided src
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      Tensor index = rand_index({40, 50, 30}, 3, 40 + dim);  // only 3 targets: many collisions
      Tensor xd = x.narrow(dim, 0, 3);  // x only 3 long along dim
      const int threads = omp_get_max_threads();
      omp_set_num_threads(1);
      auto one = scatter_add(xd, dim, index, src).to_vector<double>();
      omp_set_num_threads(std::max(2, threads));
      Tensor many = scatter_add(xd, dim, index, src);
      omp_set_num_threads(threads);
      CHECK(many.to_vector<double>() == one);  // each element is summed in the same order: bit-identical
      CHECK_VALUES(many, naive_scatter_add(xd, dim, index, src), 1e-12);
    }
  }

  TEST_CASE("index_select, index_add, embedding, one_hot: values") {
    Tensor x = f64({1, 2, 3, 4, 5, 6}, {3, 2});
    CHECK_VALUES(index_select(x, 0, idx({2, 0, 2})), {5, 6, 1, 2, 5, 6});
    CHECK(index_select(x, 0, idx({2, 0, 2})).shape() == Shape{3, 2});
    CHECK_VALUES(index_select(x, 1, idx({1})), {2, 4, 6});
    CHECK_VALUES(index_select(x.t(), 1, idx({2, 1})), {5, 3, 6, 4});
    CHECK(index_select(x, 0, idx({})).shape() == Shape{0, 2});
    CHECK(gather(x, 1, idx({}, {3, 0})).shape() == Shape{3, 0});
    CHECK_VALUES(scatter_add(x, 1, idx({}, {3, 0}), f64({}, {3, 0})), {1, 2, 3, 4, 5, 6});

    Tensor z = zeros({3, 2}, {.dtype = DType::float64});
    CHECK_VALUES(index_add(z, 0, idx({0, 2, 0}), f64({1, 1, 2, 2, 3, 3}, {3, 2})), {4, 4, 0, 0, 2, 2});
    CHECK_VALUES(index_add(x, 1, idx({1, 1, 0}), f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3})), {4, 5, 9, 13, 14, 21});
    CHECK_VALUES(z, {0, 0, 0, 0, 0, 0});

    Tensor w = f64({0, 1, 10, 11, 20, 21, 30, 31}, {4, 2});
    Tensor e = embedding(w, idx({1, 3, 1, 0}, {2, 2}));
    CHECK(e.shape() == Shape{2, 2, 2});
    CHECK_VALUES(e, {10, 11, 30, 31, 10, 11, 0, 1});

    Tensor oh = one_hot(idx({0, 2, 1, 2}, {2, 2}), 3);
    CHECK(oh.shape() == Shape{2, 2, 3});
    CHECK(oh.dtype() == DType::float32);
    CHECK_VALUES(oh, {1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1});
    CHECK(one_hot(idx({1}), 2, DType::int64).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  }

  TEST_CASE("index_select/index_add on parallel-sized inputs agree with gather/scatter_add") {
    Tensor x = randn({300, 200}, {.dtype = DType::float64});
    Tensor index = rand_index({500}, 300, 50);
    Tensor rows = index_select(x, 0, index);
    CHECK_VALUES(rows, gather(x, 0, index.reshape({500, 1}).expand({500, 200}).contiguous()).to_vector<double>());
    Tensor src = randn({500, 200}, {.dtype = DType::float64});
    Tensor want = scatter_add(x, 0, index.reshape({500, 1}).expand({500, 200}).contiguous(), src);
    CHECK_VALUES(index_add(x, 0, index, src), want.to_vector<double>(), 1e-12);
    Tensor cols = index_select(x.t(), 1, index);  // dim 1 of a transposed input
    CHECK_VALUES(cols, rows.t().contiguous().to_vector<double>());
  }

  TEST_CASE("gradients of repeated indices add up") {
    Tensor x = f64({1, 2, 3}).requires_grad_();
    gather(x, 0, idx({0, 0, 2, 0})).sum().backward();
    CHECK_VALUES(x.grad(), {3, 0, 1});
    Tensor w = f64({1, 2, 3, 4}, {2, 2}).requires_grad_();
    (embedding(w, idx({1, 1, 1}, {3})) * f64({1, 10})).sum().backward();
    CHECK_VALUES(w.grad(), {0, 0, 3, 30});
  }

  TEST_CASE("gather_backward and index_select_backward: the adjoints, as scatter_add / index_add into zeros") {
    const Tensor g = f64({1, 2, 3, 4}, {2, 2}), i2 = idx({0, 0, 2, 1}, {2, 2});
    CHECK_VALUES(gather_backward(g, 1, i2, {2, 3}), scatter_add(zeros({2, 3}, {.dtype = DType::float64}), 1, i2, g).to_vector<double>());
    CHECK_VALUES(gather_backward(g, 1, i2, {2, 3}), {3, 0, 0, 0, 4, 3});
    CHECK_VALUES(index_select_backward(g, 0, idx({2, 2}), {3, 2}), {0, 0, 0, 0, 4, 6});
    CHECK_THROWS_WITH_AS(gather_backward(g, 1, idx({0, 3, 0, 0}, {2, 2}), {2, 3}),
                         Catch("gather_backward: index 3 is out of bounds for dim 1 with size 3"), Error);
    CHECK_THROWS_WITH_AS(gather_backward(g, 0, idx({0, 0, 0}, {3, 1}), {2, 3}),
                         Catch("gather_backward: gradient has shape [2, 2], expected the index's shape [3, 1]"), Error);
    CHECK_THROWS_WITH_AS(gather_backward(ones({1, 4}), 0, idx({0, 0, 0, 0}, {1, 4}), {2, 3}),
                         Catch("gather_backward: index [1, 4] is larger than the input [2, 3] in dim 1"), Error);
    CHECK_THROWS_WITH_AS(index_select_backward(g, 0, idx({0, 1, 1}), {3, 2}),
                         Catch("index_select_backward: gradient has shape [2, 2], expected [3, 2]"), Error);
    CHECK_THROWS_WITH_AS(index_select_backward(g, 0, idx({0, 4}), {3, 2}),
                         Catch("index_select_backward: index 4 is out of bounds for dim 0 with size 3"), Error);
  }

  TEST_CASE("errors") {
    Tensor x = zeros({2, 5});
    CHECK_THROWS_WITH_AS(gather(x, 1, idx({0, 7}, {1, 2})), Catch("gather: index 7 is out of bounds for dim 1 with size 5"),
                         Error);
    CHECK_THROWS_WITH_AS(gather(x, 0, idx({-1}, {1, 1})), Catch("gather: index -1 is out of bounds for dim 0 with size 2"),
                         Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, zeros({2, 2})), Catch("gather: expected an int64 index tensor, got float32"), Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, idx({0, 1})), Catch("gather: index [2] must have as many dims as the input [2, 5]"),
                         Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, idx({0, 0, 0}, {3, 1})),
                         Catch("gather: index [3, 1] is larger than the input [2, 5] in dim 0"), Error);
    CHECK_THROWS_WITH_AS(gather(x, 2, idx({0}, {1, 1})), Catch("gather: dim 2 is out of range"), Error);
    CHECK_THROWS_WITH_AS(scatter_add(x, 0, idx({2}, {1, 1}), ones({1, 1})),
                         Catch("scatter_add: index 2 is out of bounds for dim 0 with size 2"), Error);
    CHECK_THROWS_WITH_AS(scatter_add(x, 0, idx({0, 0}, {1, 2}), ones({1, 1})),
                         Catch("scatter_add: index [1, 2] is larger than the src [1, 1] in dim 1"), Error);
    CHECK_THROWS_WITH_AS(scatter_add(x, 0, idx({0}, {1, 1}), ones({1, 1}, {.dtype = DType::float64})),
                         Catch("scatter_add: expected tensors of the same dtype and device"), Error);
    CHECK_THROWS_WITH_AS(index_select(x, 1, idx({5})), Catch("index_select: index 5 is out of bounds for dim 1 with size 5"),
                         Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, idx({0, 0}, {1, 2})), Catch("index_select: expected a 1-D index, got shape [1, 2]"),
                         Error);
    CHECK_THROWS_WITH_AS(index_add(x, 0, idx({0, 1}), ones({2, 4})),
                         Catch("index_add: src has shape [2, 4], expected [2, 5]"), Error);
    CHECK_THROWS_WITH_AS(index_add(x, 0, idx({0, 3}), ones({2, 5})),
                         Catch("index_add: index 3 is out of bounds for dim 0 with size 2"), Error);
    CHECK_THROWS_WITH_AS(embedding(zeros({4, 3}), idx({1, 4})), Catch("embedding: index 4 is out of bounds for dim 0 with size 4"),
                         Error);
    CHECK_THROWS_WITH_AS(embedding(zeros({4}), idx({1})), Catch("embedding: expected a weight of shape [num_embeddings, dim]"),
                         Error);
    CHECK_THROWS_WITH_AS(one_hot(idx({0, 3}), 3), Catch("one_hot: class index 3 is out of range [0, 3)"), Error);
    CHECK_THROWS_WITH_AS(one_hot(zeros({2}), 3), Catch("one_hot: expected int64 class indices, got float32"), Error);
  }
}
