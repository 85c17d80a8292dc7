#include "xai/grad_cam.h"

#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "xai/backward_rules.h"

namespace lumen::xai {

Tensor GradCam::attribute(const Tensor& inputs, const Target& target, const GradCamOptions& opt) const {
  check_target(target, inputs, "GradCam");
  LUMEN_CHECK(inputs.dim() == 4, "GradCam", "expected images [N, C, H, W], got shape ", inputs.shape());
  if (is_empty_batch(inputs)) {
    const auto [h, w] = opt.upsample ? std::pair{inputs.size(2), inputs.size(3)} : layer_map_size(model_, layer_, inputs);
    return empty_attributions(inputs, {0, 1, h, w});
  }
  Tensor activations;  // the layer's output, captured (not replaced) by a forward hook
  Tensor grad;
  {
    autograd::GradModeGuard on(true);
    // The input requires grad so the graph reaches the layer even when the weights are frozen.
    Tensor x = inputs.detach().requires_grad_();
    Tensor scores;
    {
      // The handle removes the hook when this block ends, also if the forward throws.
      nn::HookHandle hook = layer_.register_forward_hook(
          [&activations](nn::Module&, const Tensor&, const Tensor& out) { activations = out; });
      scores = target.select(model_(x), "GradCam");
    }
    LUMEN_CHECK(activations.defined(), "GradCam", "the target layer did not run in the model's forward");
    LUMEN_CHECK(activations.dim() == 4, "GradCam", "expected the layer's output to be [N, K, h, w], got shape ",
                activations.shape());
    grad = autograd::grad({scores.sum()}, {activations})[0];
  }
  const Tensor alpha = grad.mean({2, 3}, /*keepdim=*/true);              // [N, K, 1, 1]
  Tensor cam = (alpha * activations.detach()).sum({1}, /*keepdim=*/true);  // [N, 1, h, w]
  if (opt.relu) cam = relu(cam);
  if (!opt.upsample) return cam;
  const std::pair<std::int64_t, std::int64_t> size{inputs.size(2), inputs.size(3)};
  return opt.bilinear ? upsample_bilinear2d(cam, size, /*align_corners=*/false) : upsample_nearest2d(cam, size);
}

Tensor GuidedGradCam::attribute(const Tensor& inputs, const Target& target) const {
  const Tensor cam = cam_.attribute(inputs, target);                 // [N, 1, H, W]
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  const Tensor guided = GuidedBackprop(model_).attribute(inputs, target);  // [N, C, H, W]
  return guided * cam;
}

std::pair<std::int64_t, std::int64_t> layer_map_size(nn::Module& model, nn::Module& layer, const Tensor& inputs) {
  const char* op = "layer_map_size";
  LUMEN_CHECK(inputs.defined() && inputs.dim() == 4, op, "expected images [N, C, H, W], got ",
              inputs.defined() ? inputs.str() : "undefined");
  autograd::NoGradGuard no_grad;
  nn::EvalScope eval(model);
  Tensor activations;
  {
    nn::HookHandle hook =
        layer.register_forward_hook([&activations](nn::Module&, const Tensor&, const Tensor& out) { activations = out; });
    model(zeros({1, inputs.size(1), inputs.size(2), inputs.size(3)}, options_of(inputs)));
  }
  LUMEN_CHECK(activations.defined() && activations.dim() == 4, op, "expected the layer to output [N, K, h, w], got ",
              activations.defined() ? activations.str() : "nothing (it did not run in the model's forward)");
  return {activations.size(2), activations.size(3)};
}

}  // namespace lumen::xai
