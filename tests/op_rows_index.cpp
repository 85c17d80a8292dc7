// Op table rows: gather/scatter_add/gather_backward, index_select/index_add/index_select_backward, embedding, topk. Index tensors are row inputs
// (constants to the checks), so the runner lays them out strided and moves them to the device too.
// The index kernels are CPU-only so far; each pair is the other's adjoint, hence the second-order rows.
#include "autograd/ops.h"
#include "tests/op_table.h"

namespace lumen::testing {

namespace {
using V = std::vector<Tensor>;
}  // namespace

std::vector<OpRow> index_rows() {
  const std::vector<std::int64_t> i1 = {3, 0, 0, 1, 2, 2, 3, 3};                          // [2, 4]: repeats
  const std::vector<std::int64_t> i0 = {2, 0, 2, 1, 0, 0, 0, 2, 1, 1, 2, 2, 0, 1, 2};  // [5, 3]: longer than x
  const std::vector<std::int64_t> rep = {2, 0, 2, 2, 1};
  std::vector<OpRow> rows = {
      {.name = "gather dim 1, repeated indices", .fn = [](const V& v) { return gather(v[0], 1, v[1]); },
       .inputs = {in({3, 4}), indices(i1, {2, 4})}},
      {.name = "gather dim 0, an index longer than the input", .fn = [](const V& v) { return gather(v[0], 0, v[1]); },
       .inputs = {in({3, 4}), indices(i0, {5, 3})}},
      {.name = "gather from a transpose with a transposed index",
       .fn = [](const V& v) { return gather(v[0].t(), 1, v[1].t().narrow(0, 0, 3)); },
       .inputs = {in({3, 4}), indices(i0, {5, 3})},
       .empty = EmptyCase{.shapes = {{3, 4}, {0, 3}}, .output = {3, 0}}},
      {.name = "scatter_add", .fn = [](const V& v) { return scatter_add(v[0], 0, v[2], v[1]); },
       .inputs = {in({3, 3}), in({5, 3}), indices(i0, {5, 3})},
       .empty = EmptyCase{.shapes = {{3, 3}, {0, 3}, {0, 3}}, .output = {3, 3}}},
      {.name = "scatter_add into a transpose", .fn = [](const V& v) { return scatter_add(v[0].t(), 0, v[2], v[1]); },
       .inputs = {in({3, 4}), in({5, 3}), indices(i0, {5, 3})},
       .empty = EmptyCase{.shapes = {{3, 4}, {0, 3}, {0, 3}}, .output = {4, 3}}},
      {.name = "scatter_add into a broadcast input, src larger than the index",
       .fn = [](const V& v) { return scatter_add(v[0].expand({3, 4}), 1, v[2].t().narrow(0, 0, 3), v[1]); },
       .inputs = {in({1, 4}), in({3, 3}), indices(i1, {2, 4})},
       .empty = EmptyCase{.shapes = {{1, 4}, {3, 3}, {0, 4}}, .output = {3, 4}}},
      {.name = "scatter_add, every index the same", .fn = [](const V& v) { return scatter_add(v[0], 1, v[2], v[1].t()); },
       .inputs = {in({2, 3}), in({3, 2}), indices({0, 0, 0}, {1, 3})},
       .empty = EmptyCase{.shapes = {{2, 3}, {3, 2}, {0, 3}}, .output = {2, 3}}},
      {.name = "gather_backward dim 1, repeated indices",
       .fn = [](const V& v) { return gather_backward(v[0], 1, v[1], {3, 4}); },
       .inputs = {in({2, 4}), indices(i1, {2, 4})},
       .empty = EmptyCase{.shapes = {{0, 4}, {0, 4}}, .output = {3, 4}}},
      {.name = "gather_backward dim 0 of a transposed gradient, an index longer than the input",
       .fn = [](const V& v) { return gather_backward(v[0].t(), 0, v[1], {3, 3}); },
       .inputs = {in({3, 5}), indices(i0, {5, 3})},
       .empty = EmptyCase{.shapes = {{3, 0}, {0, 3}}, .output = {3, 3}}},
      {.name = "index_select_backward dim 0, repeated",
       .fn = [](const V& v) { return index_select_backward(v[0], 0, v[1], {3, 4}); },
       .inputs = {in({5, 4}), indices(rep, {5})},
       .empty = EmptyCase{.shapes = {{0, 4}, {0}}, .output = {3, 4}}},
      {.name = "index_select_backward dim 1 of a transposed gradient",
       .fn = [](const V& v) { return index_select_backward(v[0].t(), 1, v[1], {4, 3}); },
       .inputs = {in({3, 4}), indices({2, 2, 0}, {3})},
       .empty = EmptyCase{.shapes = {{0, 4}, {0}}, .output = {4, 3}}},
      {.name = "index_select dim 0, repeated", .fn = [](const V& v) { return index_select(v[0], 0, v[1].narrow(0, 0, 3)); },
       .inputs = {in({3, 4}), indices(rep, {5})},
       .empty = EmptyCase{.shapes = {{3, 4}, {0}}, .output = {0, 4}, .fn = [](const V& v) { return index_select(v[0], 0, v[1]); }}},
      {.name = "index_select from a transpose", .fn = [](const V& v) { return index_select(v[0].t(), 0, v[1]); },
       .inputs = {in({3, 4}), indices({3, 3, 1}, {3})},
       .empty = EmptyCase{.shapes = {{3, 4}, {0}}, .output = {0, 3}}},
      {.name = "index_select dim 1", .fn = [](const V& v) { return index_select(v[0], 1, v[1]); },
       .inputs = {in({2, 3, 2}), indices(rep, {5})}},
      {.name = "index_add dim 0", .fn = [](const V& v) { return index_add(v[0], 0, v[2], v[1]); },
       .inputs = {in({3, 2}), in({5, 2}), indices(rep, {5})},
       .empty = EmptyCase{.shapes = {{3, 2}, {0, 2}, {0}}, .output = {3, 2}}},
      {.name = "index_add into a broadcast input, transposed src, one row twice",
       .fn = [](const V& v) { return index_add(v[0].expand({3, 4}), 1, v[2], v[1].t()); },
       .inputs = {in({1, 4}), in({2, 3}), indices({3, 3}, {2})},
       .empty = EmptyCase{.shapes = {{1, 4}, {0, 3}, {0}}, .output = {3, 4}}},
      {.name = "embedding", .fn = [](const V& v) { return embedding(v[0], v[1]); },
       .inputs = {in({4, 3}), indices({1, 3, 1, 1, 0, 3}, {3, 2})}},
      {.name = "embedding of a transposed weight", .fn = [](const V& v) { return embedding(v[0].t(), v[1]); },
       .inputs = {in({3, 4}), indices({2, 3, 2}, {3})},
       .empty = EmptyCase{.shapes = {{3, 4}, {0}}, .output = {0, 3}}},
  };
  for (OpRow& r : rows) {
    r.derivative = Derivative::second_of_square;  // linear in x and src
    r.cuda = Cuda::none;
  }
  // topk: a gather at indices chosen on the host, so linear in x for fixed indices (kAny draws no ties)
  rows.push_back({.name = "topk k 2 along the last dim", .fn = [](const V& v) { return topk(v[0], 2).first; },
                  .inputs = {in({3, 5})}, .derivative = Derivative::second_of_square, .cuda = Cuda::none});
  rows.push_back({.name = "topk smallest k 2 along dim 0, in index order",
                  .fn = [](const V& v) { return topk(v[0], 2, 0, false, false).first; }, .inputs = {in({4, 3})},
                  .empty = EmptyCase{.shapes = {{4, 0}}, .output = {2, 0}},
                  .derivative = Derivative::second_of_square, .cuda = Cuda::none});
  rows.push_back({.name = "topk of a transpose, k 3 along the middle dim of [2, 4, 3]",
                  .fn = [](const V& v) { return topk(v[0].transpose(1, 2), 3, 1).first; }, .inputs = {in({2, 3, 4})},
                  .derivative = Derivative::second_of_square, .cuda = Cuda::none});
  rows.push_back({.name = "topk indices", .fn = [](const V& v) { return topk(v[0], 3, -1).second.to(DType::float64); },
                  .inputs = {in({3, 5})}, .derivative = Derivative::none, .cuda = Cuda::none});
  // built on the host and moved to the indices' device: runs anywhere, not differentiable
  rows.push_back({.name = "one_hot", .fn = [](const V& v) { return one_hot(v[0], 3, DType::float64); },
                  .inputs = {indices({0, 2, 1, 2}, {2, 2})}, .derivative = Derivative::none});
  return rows;
}

}  // namespace lumen::testing
