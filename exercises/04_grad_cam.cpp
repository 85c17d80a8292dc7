// Exercise 4 — Grad-CAM's channel weights (lessons: knowledge_extraction, global_local; STUDY.md).
//
// Task: given a convolutional layer's activations A [N, K, h, w] and the gradient of each sample's
// target score with respect to them, ∂y/∂A [N, K, h, w], return the Grad-CAM map [N, 1, h, w].
//
// Maths (Selvaraju et al. 2017):
//   α_k = (1 / hw) Σ_{i,j} ∂y/∂A_k[i, j]       the channel weight: how much channel k matters
//   map = ReLU(Σ_k α_k A_k)                      positive evidence for the target only
// α is [N, K, 1, 1]: one weight per sample and channel, broadcast over the positions.
//
// Use `mean({2, 3}, /*keepdim=*/true)`, `sum({1}, true)` and `relu` (autograd/ops.h). (The library's
// xai::GradCam reads A with a forward hook, gets ∂y/∂A by autograd::grad, then does this; it also
// upsamples the map to the image's size, which is not part of the exercise.)
//
// Checked by (checks.cpp): a map worked out by hand, and xai::GradCam (without upsampling) on a small
// CNN, where the gradient differs from position to position.
#include "autograd/ops.h"
#include "exercises/exercises.h"

namespace lumen::exercises {

Tensor grad_cam_map(const Tensor& activations, const Tensor& gradients) {
  throw Error("exercise 4 (grad_cam_map): not written yet; write it in exercises/04_grad_cam.cpp (STUDY.md)");
}

}  // namespace lumen::exercises
