// Exercise 2 — the backward of matmul (lesson: how autograd works; STUDY.md).
//
// Task: for C = A B, with A [..., M, K], B [..., K, N] (the same batch dims, or none) and
// G = ∂L/∂C [..., M, N], return (∂L/∂A, ∂L/∂B), shaped like A and like B.
//
// Maths: C_ij = Σ_k A_ik B_kj, so ∂L/∂A_ik = Σ_j G_ij B_kj and ∂L/∂B_kj = Σ_i A_ik G_ij, i.e.
//   ∂L/∂A = G Bᵀ      [M, N] [N, K] -> [M, K]
//   ∂L/∂B = Aᵀ G      [K, M] [M, N] -> [K, N]
// Check the shapes: they tell you which side each transpose goes on.
//
// Use `matmul` and `transpose(t, -1, -2)` (autograd/ops.h; a transpose is a view, no copy), so the
// backward is itself differentiable. (The library's matmul also broadcasts batch dims, and then sums
// each gradient back to its input's shape with `sum_to`; the checks here use equal batch dims.)
//
// Checked by (checks.cpp): gradcheck on a matrix product and on a batched one, gradgradcheck, and the
// library's own matmul gradients on random inputs.
#include "autograd/ops.h"
#include "exercises/exercises.h"

namespace lumen::exercises {

std::pair<Tensor, Tensor> matmul_backward(const Tensor& a, const Tensor& b, const Tensor& grad_output) {
  throw Error("exercise 2 (matmul_backward): not written yet; write it in exercises/02_matmul_backward.cpp (STUDY.md)");
}

}  // namespace lumen::exercises
