// Exercise 6 — the TCAV score, a sign count (lesson: concepts; STUDY.md).
//
// Task: given G [N, D], each input's gradient of the class logit with respect to a layer's
// activations (xai::layer_gradients), and a concept activation vector v [D] (xai::fit_cav), return
// the TCAV score: the fraction of the N inputs whose conceptual sensitivity is positive.
//
// Maths (Kim et al. 2018): the conceptual sensitivity S(x) = ∇_{f_l(x)} logit · v is the directional
// derivative of the logit along the concept; then
//   TCAV = |{x : S(x) > 0}| / N
// Strictly greater: an input whose logit does not move along v (S = 0) is not evidence for the concept.
//
// S for all inputs at once is one `matmul(G, v)` (autograd/ops.h); read the values with
// `to_vector<double>()` and count. Throw a lumen::Error when N = 0 (a fraction of nothing):
// `LUMEN_CHECK(condition, "tcav_score", "what was expected")` (kernels/core/error.h) does it.
//
// Checked by (checks.cpp): scores worked out by hand, including inputs with S = 0, and xai::tcav_score
// (xai/concepts.h) on random gradients.
#include "autograd/ops.h"
#include "exercises/exercises.h"

namespace lumen::exercises {

double tcav_score(const Tensor& layer_gradients, const Tensor& cav_direction) {
  throw Error("exercise 6 (tcav_score): not written yet; write it in exercises/06_tcav_score.cpp (STUDY.md)");
}

}  // namespace lumen::exercises
