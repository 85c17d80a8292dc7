// Op table rows: matmul with NumPy's 1-D rules, broadcast batches and transposed operands.
#include "autograd/ops.h"
#include "tests/op_table.h"

namespace lumen::testing {

namespace {
using V = std::vector<Tensor>;
Tensor matmul_of(const V& v) { return matmul(v[0], v[1]); }

// Sizes for cuBLAS's strided-batched GEMM (K = 40); too big to perturb one element at a time.
std::vector<OpRow> gpu_sized_rows() {
  const Shape a = {3, 17, 40}, b = {3, 40, 9}, b2 = {40, 9};
  std::vector<OpRow> rows = {
      {.name = "matmul batched [3, 17, 40] @ [3, 40, 9]", .fn = matmul_of, .inputs = {in(a), in(b)}},
      {.name = "matmul of transposed operands [3, 9, 40] @ [3, 40, 17]",
       .fn = [](const V& v) { return matmul(v[1].transpose(1, 2), v[0].transpose(1, 2)); }, .inputs = {in(a), in(b)}},
      {.name = "matmul, broadcast batch [3, 17, 40] @ [40, 9]", .fn = matmul_of, .inputs = {in(a), in(b2)}},
      {.name = "matmul of a column-major lhs [3, 17, 40] @ [3, 40, 9]",
       .fn = [](const V& v) { return matmul(v[0].transpose(1, 2).contiguous().transpose(1, 2), v[1]); },
       .inputs = {in(a), in(b)}},
      {.name = "matmul [17, 40] @ [40, 9]", .fn = [](const V& v) { return matmul(v[0].select(0, 1), v[1]); },
       .inputs = {in(a), in(b2)},
       .empty = EmptyCase{.shapes = {{3, 17, 0}, {0, 9}}, .output = {17, 9}, .value = 0.0}},
      {.name = "matmul vector [40] @ [40, 9]", .fn = [](const V& v) { return matmul(v[0].select(0, 0).select(0, 3), v[1]); },
       .inputs = {in(a), in(b2)},
       .empty = EmptyCase{.shapes = {{3, 17, 0}, {0, 9}}, .output = {9}, .value = 0.0}},
  };
  for (OpRow& r : rows) {
    r.finite_differences = false;
    r.gpu_f32_tol = 1e-4;
  }
  return rows;
}

}  // namespace

std::vector<OpRow> linalg_rows() {
  const Shape a = {3, 4}, b = {4, 2}, ba = {2, 3, 4}, bb = {2, 4, 2}, v = {4};
  std::vector<OpRow> rows = {
      {.name = "matmul", .fn = matmul_of, .inputs = {in(a), in(b)},
       .empty = EmptyCase{.shapes = {{3, 0}, {0, 2}}, .output = {3, 2}, .value = 0.0}},
      {.name = "matmul batched", .fn = matmul_of, .inputs = {in(ba), in(bb)}},
      {.name = "matmul, broadcast rhs", .fn = matmul_of, .inputs = {in(ba), in(b)}},
      {.name = "matmul, broadcast lhs", .fn = matmul_of, .inputs = {in(a), in(bb)}},
      {.name = "matmul matrix @ vector", .fn = matmul_of, .inputs = {in(a), in(v)}},
      {.name = "matmul vector @ matrix", .fn = matmul_of, .inputs = {in(v), in(b)},
       .empty = EmptyCase{.shapes = {{0}, {0, 2}}, .output = {2}, .value = 0.0}},
      {.name = "matmul vector @ vector (dot)", .fn = matmul_of, .inputs = {in(v), in(v)},
       .empty = EmptyCase{.shapes = {{0}, {0}}, .output = {}, .value = 0.0}},
      {.name = "matmul of transposed operands", .fn = [](const V& x) { return matmul(x[1].t(), x[0].t()); },
       .inputs = {in(a), in(b)},
       .empty = EmptyCase{.shapes = {{3, 0}, {0, 2}}, .output = {2, 3}, .value = 0.0}},
      {.name = "matmul of batched transposed operands",
       .fn = [](const V& x) { return matmul(x[0].transpose(1, 2), x[1].transpose(1, 2)); },
       .inputs = {in({2, 4, 3}), in({2, 2, 4})}},
      {.name = "tanh of a matmul (curvature)", .fn = [](const V& x) { return tanh(matmul(x[0], x[1])); },
       .inputs = {in(a), in(b)}},
  };
  for (OpRow& r : gpu_sized_rows()) rows.push_back(std::move(r));
  return rows;
}

}  // namespace lumen::testing
