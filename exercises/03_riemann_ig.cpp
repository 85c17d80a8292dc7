// Exercise 3 — Integrated Gradients by a Riemann sum (lesson: knowledge_extraction; STUDY.md).
//
// Task: the IG attributions of inputs x [N, ...] against baselines x' (shaped like x) for each row's
// target score, with n_steps midpoints, shaped like x.
//
// Maths (Sundararajan et al. 2017):
//   IG(x) = (x − x') ⊙ ∫₀¹ ∇F(x' + α (x − x')) dα
//         ≈ (x − x') ⊙ (1/n) Σ_{k=0}^{n−1} ∇F(x' + α_k (x − x')),   α_k = (k + ½) / n   (midpoints)
// Completeness: Σ_i IG_i(x) ≈ F(x) − F(x'), exactly for an F whose gradient is linear along the path.
//
// `xai::target_gradient(f, points, target)` (xai/attribution.h) is ∇F at a batch of points: one
// forward pass, each row's target score, autograd::grad of their sum. Call it once per α_k on the
// interpolated batch x' + α_k (x − x') (plain Tensor arithmetic) and average. (The library's
// xai::IntegratedGradients does the same in one expanded batch of n·N rows, and offers other rules.)
//
// Checked by (checks.cpp): the known answer for F(x) = Σ x², where the midpoint rule is exact and
// IG = x² − x'², and xai::IntegratedGradients (Integration::riemann_middle) on a small ReLU network
// with one target per sample.
#include "autograd/ops.h"
#include "exercises/exercises.h"

namespace lumen::exercises {

Tensor riemann_integrated_gradients(const xai::ForwardFn& f, const Tensor& inputs, const Tensor& baselines,
                                    const xai::Target& target, std::int64_t n_steps) {
  throw Error("exercise 3 (riemann_integrated_gradients): not written yet; write it in exercises/03_riemann_ig.cpp "
              "(STUDY.md)");
}

}  // namespace lumen::exercises
