#pragma once
// What a layer of a model holds and what moves a class logit there, one row per input: the layer's
// activations, and the gradient of a class logit with respect to them (plain, or integrated along a
// path from a baseline as Captum's LayerIntegratedGradients). TCAV and RCV (xai/concepts.h) are built
// on these: a concept is a direction v in the layer's space, a class's sensitivity to it is G · v.
// Every concept vector of a layer shares the gradients G [N, D], so scoring many of them is one matmul.
//
//   Tensor acts = xai::layer_activations(model, "features.4", concept_images);      // [Nc, D]
//   Tensor g = xai::layer_gradients(model, "features.4", zebras, /*target_class=*/3); // [N, D] float64
//   Tensor s = matmul(g, cav_directions);                                            // [N, n_cavs]
//
// A layer's rows live in one of two spaces (LayerSpace):
//   flat      the output [N, ...] flattened to [N, D]: each unit at each position is a coordinate
//             (TCAV's CAVs);
//   channels  an output [N, C, ...spatial] (a conv layer's [N, C, H, W]) read as [N, C]: activations
//             averaged over the positions (global average pooling, the activations RCVs are fitted
//             on); the gradient is then the derivative of the logit when every position moves along
//             the same v ∈ R^C, Σ_{h,w} ∂logit/∂a[:, :, h, w], so that G · v is that directional
//             derivative (and moving every position by v moves the average by v).
//
// All three read the layer (a descendant of model, by dotted name) with a forward hook, in eval mode
// (each module's mode is restored afterwards), in batches of `batch` inputs, and throw naming the
// layer when the model has no such descendant, or it did not run exactly once per forward.
#include <cstdint>
#include <string>

#include "autograd/tensor.h"
#include "xai/gradient.h"

namespace lumen::nn {
class Module;
}

namespace lumen::xai {

enum class LayerSpace { flat, channels };

// The layer's outputs for inputs [N, ...] as rows [N, D] (flat) or [N, C] (channels), in the layer's
// dtype, with no graph.
Tensor layer_activations(nn::Module& model, const std::string& layer, const Tensor& inputs, std::int64_t batch = 256,
                         LayerSpace space = LayerSpace::flat);

// Each input's gradient of its class-k logit with respect to the layer's output, float64 [N, D] (flat)
// or [N, C] (channels). The hook replaces the layer's output by a detached copy that requires grad,
// so the backward pass stops there and nothing before the layer records a graph; rows do not interact
// in eval mode, so the gradient of the summed logits is each row's own. A logit that does not depend
// on the layer has gradient 0.
Tensor layer_gradients(nn::Module& model, const std::string& layer, const Tensor& inputs, std::int64_t target_class,
                       std::int64_t batch = 256, LayerSpace space = LayerSpace::flat);

// Layer Integrated Gradients without the multiplication by the inputs (Captum's
// LayerIntegratedGradients(multiply_by_inputs=False), the attribution the Captum TCAV tutorial and
// the summer school's code pass to TCAV with n_steps = 5; Captum's TCAV default is plain gradients,
// layer_gradients): float64 rows
//   Σ_k w_k ∇_a logit_k(a' + α_k (a − a')),   a = f_l(x), a' = f_l(0) (the layer's output for a zero input),
// with (α_k, w_k) = integration_points(method, n_steps). The model runs on the inputs repeated n_steps
// times, the hook replacing the layer's output by the interpolated activations (a leaf requiring
// grad). Where the model after the layer is linear, this equals layer_gradients. `batch` inputs per
// pass, i.e. n_steps · batch rows.
Tensor layer_integrated_gradients(nn::Module& model, const std::string& layer, const Tensor& inputs,
                                  std::int64_t target_class, std::int64_t n_steps = 5,
                                  Integration method = Integration::gauss_legendre, std::int64_t batch = 256,
                                  LayerSpace space = LayerSpace::flat);

}  // namespace lumen::xai
