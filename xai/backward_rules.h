#pragma once
// The backward-rule family: attributions computed with the model's own graph but with the backward
// of its nonlinearities replaced. The model itself is not copied or edited: while a method runs,
// a forward hook (nn/module.h) on every activation module swaps the activation's output for the same
// values carrying a different backward rule; the hooks are removed when it returns, so the model's
// forward and ordinary gradients are untouched afterwards.
//
//   ReLU backward     ordinary:        g · 1[x > 0]
//                     GuidedBackprop:  max(g, 0) · 1[x > 0]   (Springenberg et al. 2015)
//                     Deconvolution:   max(g, 0)              (Zeiler & Fergus 2014)
//   DeepLift          (rescale rule, Shrikumar et al. 2017): a nonlinearity y = σ(z) passes
//                     g · (σ(z) − σ(z')) / (z − z'), the finite-difference slope between the input's
//                     and the baseline's pre-activation, so attributions sum exactly to F(x) − F(x')
//                     through ReLU/Sigmoid/Tanh and linear layers; through max-pooling, each window's
//                     Δy goes to the argmax of whichever of x and x' has the larger maximum (DeepLIFT's
//                     max-pooling rule, Captum's), so completeness holds for CNNs too.
//
// Only nonlinearities that are modules (nn::ReLU, nn::Sigmoid, nn::Tanh, and nn::MaxPool2d for
// DeepLift) are seen; a model that calls relu() inside its forward is treated as linear there. The methods need the model in eval mode.
#include <vector>

#include "nn/module.h"
#include "xai/attribution.h"

namespace lumen::xai {

// The activation with a modified backward, as differentiable ops usable on their own. Forward
// values are relu(x); only the backward differs.
Tensor guided_relu(const Tensor& x);
Tensor deconv_relu(const Tensor& x);

// While alive, every nn::ReLU in `model` computes its output with `rule` (guided_relu or
// deconv_relu). Its hook handles remove the hooks when the scope ends, exceptions included.
class ReluRuleScope {
 public:
  ReluRuleScope(nn::Module& model, Tensor (*rule)(const Tensor&));
  std::size_t hooked() const { return handles_.size(); }  // how many ReLU modules were found

 private:
  std::vector<nn::HookHandle> handles_;
};

class GuidedBackprop {
 public:
  explicit GuidedBackprop(nn::Module& model) : model_(model) {}
  Tensor attribute(const Tensor& inputs, const Target& target) const;

 private:
  nn::Module& model_;
};

class Deconvolution {
 public:
  explicit Deconvolution(nn::Module& model) : model_(model) {}
  Tensor attribute(const Tensor& inputs, const Target& target) const;

 private:
  nn::Module& model_;
};

// How DeepLift passes a difference through nn::MaxPool2d.
enum class MaxPoolRule {
  deeplift,  // the max-pooling rule above: attributions sum to F(x) − F(x') (Captum's)
  gradient,  // the ordinary gradient (lumen before issue 12): off by the windows where x' wins
};

class DeepLift {
 public:
  explicit DeepLift(nn::Module& model, double eps = 1e-10, MaxPoolRule maxpool = MaxPoolRule::deeplift)
      : model_(model), eps_(eps), maxpool_(maxpool) {}
  // baselines: x' (xai/attribution.h): one value, one sample's shape or the inputs' shape; {} = zeros.
  // The model runs once on the 2N rows [inputs; baselines], so each rescale node sees both
  // pre-activations.
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines = {}) const;
  // Also the completeness error Σ attributions − (F(x) − F(x')), [N], as IntegratedGradients does.
  AttributionAndDelta attribute_with_delta(const Tensor& inputs, const Target& target,
                                           const Baseline& baselines = {}) const;

 private:
  nn::Module& model_;
  double eps_;
  MaxPoolRule maxpool_;
};

}  // namespace lumen::xai
