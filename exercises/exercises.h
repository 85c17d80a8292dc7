#pragma once
// The seven exercises of the study track (STUDY.md), one function each. The task and its maths are
// in the exercise's own file (01_tanh_backward.cpp … 07_hellinger.cpp), which is where you write it;
// checks.cpp says how each is checked. solutions.cpp holds the reference answers, built from the
// library's own functions: the default build checks those, `-Dexercises=true` checks yours.
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "autograd/tensor.h"
#include "xai/attribution.h"

namespace lumen::exercises {

// 1. ∂L/∂x of y = tanh(x), given the saved output y and ∂L/∂y.
Tensor tanh_backward(const Tensor& y, const Tensor& grad_output);

// 2. (∂L/∂A, ∂L/∂B) of C = A B, given A, B and ∂L/∂C.
std::pair<Tensor, Tensor> matmul_backward(const Tensor& a, const Tensor& b, const Tensor& grad_output);

// 3. Integrated Gradients by the midpoint Riemann sum, from xai::target_gradient.
Tensor riemann_integrated_gradients(const xai::ForwardFn& f, const Tensor& inputs, const Tensor& baselines,
                                    const xai::Target& target, std::int64_t n_steps);

// 4. The Grad-CAM map ReLU(Σ_k α_k A_k) from a layer's activations A and the target's gradient ∂y/∂A.
Tensor grad_cam_map(const Tensor& activations, const Tensor& gradients);

// 5. Discriminative IG: the real image x explained against its counterfactual x_cf, for the real class.
Tensor d_integrated_gradients(const xai::ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                              const xai::Target& real, std::int64_t n_steps);

// 6. The TCAV score: the fraction of inputs whose layer gradient points along the concept (G · v > 0).
double tcav_score(const Tensor& layer_gradients, const Tensor& cav_direction);

// 7. The Hellinger distance between two discrete distributions given as (key -> mass) maps.
double hellinger(const std::map<std::string, double>& p, const std::map<std::string, double>& q);

}  // namespace lumen::exercises
