// Op table rows: reductions, max/min with indices, arg-reductions, logsumexp, softmax/log_softmax.
// max/min's backward scatters through the CPU-only index kernels: forward_only on the GPU.
#include <limits>

#include "autograd/ops.h"
#include "tests/op_table.h"

namespace lumen::testing {

namespace {
using V = std::vector<Tensor>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN(), kInf = std::numeric_limits<double>::infinity();

// The same ops at sizes that reach the GPU kernels' multi-block paths (a reduced dim of 70, rows of
// 3000: longer than a warp's stride); too big to perturb one element at a time.
std::vector<OpRow> gpu_sized_rows() {
  const Shape x = {3, 70, 5}, wide = {2, 3000};
  std::vector<OpRow> rows = {
      {.name = "sum of all [3, 70, 5]", .fn = [](const V& v) { return sum(v[0]); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{3, 0, 5}}, .output = {}, .value = 0.0}},
      {.name = "sum dim 1 [3, 70, 5]", .fn = [](const V& v) { return sum(v[0], {1}); }, .inputs = {in(x)}},
      {.name = "mean dims 0, 2 keepdim [3, 70, 5]", .fn = [](const V& v) { return mean(v[0], {0, 2}, true); },
       .inputs = {in(x)}, .empty = EmptyCase{.shapes = {{0, 70, 5}}, .output = {1, 70, 1}, .value = kNaN}},
      {.name = "amax dim 1 [3, 70, 5]", .fn = [](const V& v) { return amax(v[0], {1}); }, .inputs = {in(x)}},
      {.name = "amin dim 0 [3, 70, 5]", .fn = [](const V& v) { return amin(v[0], {0}); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 70, 5}}, .error = "amin: cannot reduce over an empty dim 0"}},
      {.name = "max dim 1 [3, 70, 5]", .fn = [](const V& v) { return max(v[0], 1).first; }, .inputs = {in(x)},
       .cuda = Cuda::forward_only},
      {.name = "argmax dim 1 [3, 70, 5]", .fn = [](const V& v) { return argmax(v[0], 1).to(DType::float64); },
       .inputs = {in(x)}, .derivative = Derivative::none},
      {.name = "argmin dim 2 [3, 70, 5]", .fn = [](const V& v) { return argmin(v[0], 2).to(DType::float64); },
       .inputs = {in(x)}, .derivative = Derivative::none},
      {.name = "softmax dim 1 [3, 70, 5]", .fn = [](const V& v) { return softmax(v[0], 1); }, .inputs = {in(x)}},
      {.name = "log_softmax dim 2 [3, 70, 5]", .fn = [](const V& v) { return log_softmax(v[0], 2); },
       .inputs = {in(x)}},
      {.name = "softmax of a transposed input [3, 70, 5]", .fn = [](const V& v) { return softmax(v[0].transpose(0, 2), 0); },
       .inputs = {in(x)}, .empty = EmptyCase{.shapes = {{0, 70, 5}}, .output = {5, 70, 0}}},
      {.name = "sum dim 1 [2, 3000]", .fn = [](const V& v) { return sum(v[0], {1}); }, .inputs = {in(wide)}},
      {.name = "log_softmax dim 1 [2, 3000]", .fn = [](const V& v) { return log_softmax(v[0], 1); },
       .inputs = {in(wide)}},
      {.name = "argmax dim 1 [2, 3000]", .fn = [](const V& v) { return argmax(v[0], 1).to(DType::float64); },
       .inputs = {in(wide)}, .derivative = Derivative::none},
  };
  for (OpRow& r : rows) {
    r.finite_differences = false;
    r.gpu_f32_tol = 1e-4;
  }
  return rows;
}

}  // namespace

std::vector<OpRow> reduce_rows() {
  const Shape x = {2, 3, 4};
  std::vector<OpRow> rows = {
      {.name = "sum of all", .fn = [](const V& v) { return sum(v[0]); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {}, .value = 0.0},
       .derivative = Derivative::second_of_square},
      {.name = "sum dim 1", .fn = [](const V& v) { return sum(v[0], {1}); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 0, 4}}, .output = {2, 4}, .value = 0.0},
       .derivative = Derivative::second_of_square},
      {.name = "sum dims 0, 2 keepdim", .fn = [](const V& v) { return sum(v[0], {0, 2}, true); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {1, 3, 1}, .value = 0.0},
       .derivative = Derivative::second_of_square},
      {.name = "mean dim -1", .fn = [](const V& v) { return mean(v[0], {-1}); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 3, 0}}, .output = {2, 3}, .value = kNaN},
       .derivative = Derivative::second_of_square},
      {.name = "mean dims 1, 2", .fn = [](const V& v) { return mean(v[0], {1, 2}); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 0, 4}}, .output = {2}, .value = kNaN},
       .derivative = Derivative::second_of_square},
      {.name = "var dim 1", .fn = [](const V& v) { return var(v[0], {1}); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 0, 4}}, .output = {2, 4}, .value = kNaN}},
      {.name = "var dims 0, 2 without correction, keepdim", .fn = [](const V& v) { return var(v[0], {0, 2}, 0, true); },
       .inputs = {in(x)}, .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {1, 3, 1}, .value = kNaN}},
      {.name = "logsumexp dim 2", .fn = [](const V& v) { return logsumexp(v[0], {2}); }, .inputs = {in(x, kWide)},
       .empty = EmptyCase{.shapes = {{2, 3, 0}}, .output = {2, 3}, .value = -kInf}},
      {.name = "amax dim 1", .fn = [](const V& v) { return amax(v[0], {1}); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 0, 4}}, .error = "amax: cannot reduce over an empty dim 1"},
       .derivative = Derivative::second_of_square},
      {.name = "amin dims 0, 2", .fn = [](const V& v) { return amin(v[0], {0, 2}); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .error = "amin: cannot reduce over an empty dim 0"},
       .derivative = Derivative::second_of_square},
      {.name = "max dim 1", .fn = [](const V& v) { return max(v[0], 1).first; }, .inputs = {in(x)},
       .derivative = Derivative::second_of_square, .cuda = Cuda::forward_only},
      {.name = "min dim -1 keepdim", .fn = [](const V& v) { return min(v[0], -1, true).first; }, .inputs = {in(x)},
       .derivative = Derivative::second_of_square, .cuda = Cuda::forward_only},
      {.name = "sum_to (the adjoint of broadcasting)", .fn = [](const V& v) { return sum_to(v[0], {3, 1}); },
       .inputs = {in(x)}, .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {3, 1}, .value = 0.0}, .derivative = Derivative::second_of_square},
      {.name = "argmax dim 0", .fn = [](const V& v) { return argmax(v[0], 0).to(DType::float64); }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .error = "argmax: cannot reduce over an empty dim 0"},
       .derivative = Derivative::none},
      {.name = "argmin dim -1 keepdim", .fn = [](const V& v) { return argmin(v[0], -1, true).to(DType::float64); },
       .inputs = {in(x)}, .derivative = Derivative::none},
  };
  for (std::int64_t dim : {0, 1, 2, -1}) {
    rows.push_back({.name = "softmax dim " + std::to_string(dim),
                    .fn = [dim](const V& v) { return softmax(v[0], dim); }, .inputs = {in(x, kWide)}});
    rows.push_back({.name = "log_softmax dim " + std::to_string(dim),
                    .fn = [dim](const V& v) { return log_softmax(v[0], dim); }, .inputs = {in(x, kWide)}});
  }
  for (OpRow& r : gpu_sized_rows()) rows.push_back(std::move(r));
  return rows;
}

}  // namespace lumen::testing
