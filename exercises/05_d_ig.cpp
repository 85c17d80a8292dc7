// Exercise 5 — discriminative IG: the baseline swap (lesson: knowledge_extraction; STUDY.md).
//
// Task: which of the differences between a real image x (of class A) and its counterfactual x_cf (an
// image the classifier puts in another class) make the classifier's score for A what it is? Return
// the D-IG attributions, shaped like x, with n_steps midpoints.
//
// Maths (DAPI, Eckstein et al. 2021, with QuAC's roles): ordinary IG where the counterfactual takes
// the place of the "absence of signal" baseline:
//   D-IG(x) = (x − x_cf) ⊙ ∫₀¹ ∇f_A(x_cf + α (x − x_cf)) dα
// The real image is the input, the counterfactual the baseline, the real class the target; so the
// attributions sum to f_A(x) − f_A(x_cf), and positive means "this change from x_cf to x raises A".
// (DAPI's code swapped the roles; the sign of the map and the class explained then change.)
//
// No new machinery: call your exercise 3 (riemann_integrated_gradients, declared in exercises.h) or
// xai::IntegratedGradients (xai/gradient.h, IGOptions{.n_steps, .method = Integration::riemann_middle})
// with the right arguments in the right places.
//
// Checked by (checks.cpp): the known answer of a linear model, (x − x_cf) ⊙ w_A, and
// xai::d_integrated_gradients on a small ReLU network with one real class per sample.
#include "exercises/exercises.h"
#include "xai/gradient.h"

namespace lumen::exercises {

Tensor d_integrated_gradients(const xai::ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                              const xai::Target& real, std::int64_t n_steps) {
  throw Error("exercise 5 (d_integrated_gradients): not written yet; write it in exercises/05_d_ig.cpp (STUDY.md)");
}

}  // namespace lumen::exercises
