#include "xai/backward_rules.h"

#include <functional>

#include "autograd/engine.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "nn/layers.h"

namespace lumen::xai {

// Both rules are ordinary recorded ops: the forward value is relu(x) and the backward below is
// written with differentiable ops, like every op of autograd/.
Tensor guided_relu(const Tensor& x) {
  Tensor y = relu(x.detach());
  return record("guided_relu", y, {x}, {x}, [](const Tensor& g, const BackwardArgs& s) {
    return grads(relu(g) * gt(s[0], 0.0));  // only positive gradients, only where the unit was active
  });
}

Tensor deconv_relu(const Tensor& x) {
  Tensor y = relu(x.detach());
  return record("deconv_relu", y, {x}, {}, [](const Tensor& g, const BackwardArgs&) {
    return grads(relu(g));  // the ReLU applied to the gradient, ignoring the forward's mask
  });
}

ReluRuleScope::ReluRuleScope(nn::Module& model, Tensor (*rule)(const Tensor&)) {
  for (auto& [name, m] : model.named_modules())
    if (dynamic_cast<nn::ReLU*>(m.get()))
      handles_.push_back(m->register_forward_hook(
          [rule](nn::Module&, const Tensor& in, const Tensor&) -> Tensor { return rule(in); }));
}

Tensor GuidedBackprop::attribute(const Tensor& inputs, const Target& target) const {
  check_target(target, inputs, "GuidedBackprop");
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  ReluRuleScope guided(model_, guided_relu);
  return target_gradient(forward_of(model_), inputs, target);
}

Tensor Deconvolution::attribute(const Tensor& inputs, const Target& target) const {
  check_target(target, inputs, "Deconvolution");
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  ReluRuleScope deconv(model_, deconv_relu);
  return target_gradient(forward_of(model_), inputs, target);
}

// ---- DeepLift

namespace {
using Activation = std::function<Tensor(const Tensor&)>;

// y = act(z) on the 2N rows [inputs; baselines], whose backward multiplies the gradient of row i
// (and of its baseline row N + i) by the rescale multiplier (act(z_i) − act(z'_i)) / (z_i − z'_i),
// or by act'(z_i) where z_i ≈ z'_i (the slope's limit).
Tensor rescale(const Tensor& z, const Activation& act, const Activation& slope, double eps) {
  Tensor y = act(z.detach());
  return record("deeplift_rescale", y, {z}, {z}, [act, slope, eps](const Tensor& g, const BackwardArgs& s) {
    const std::int64_t n = s[0].size(0) / 2;
    const Tensor zx = s[0].narrow(0, 0, n), zb = s[0].narrow(0, n, n);
    const Tensor dz = zx - zb;
    const Tensor far = gt(abs(dz), eps);
    const Tensor safe_dz = where(far, dz, ones_like(dz));
    const Tensor m = where(far, (act(zx) - act(zb)) / safe_dz, slope(zx));
    return grads(g * cat({m, m}, 0));
  });
}

// y = max_pool2d(z) on the 2N rows [inputs; baselines], with DeepLIFT's max-pooling rule as its
// backward. Per window, Δy = y − y' splits into (max(y, y') − y') + (y − max(y, y')): the first part
// is sent to the input's argmax, the second to the baseline's argmax (only one is non-zero), and each
// element's multiplier is what it received over its own Δz = z − z'. So Σ multiplier · Δz = Σ g · Δy
// exactly, however the two argmaxes differ, where the gradient (argmax of the input only) is not.
// Where |Δz| <= eps the ordinary gradient is used. Each half of g (rows 0..N−1, N..2N−1) is mapped
// this way, as the rescale rule multiplies both halves. "Sending to an argmax" is max-pooling's own
// backward (its vector–Jacobian product), taken here with autograd::grad on a copy of z.
Tensor maxpool_rule(const Tensor& z, const Pool2dOptions& opt, double eps) {
  LUMEN_CHECK(z.dim() == 4 && z.size(0) % 2 == 0, "DeepLift", "expected the max-pooling input to be the 2N rows ",
              "[inputs; baselines] of images [2N, C, H, W], got shape ", z.shape());
  Tensor y = max_pool2d(z.detach(), opt);
  return record("deeplift_maxpool", y, {z}, {z}, [opt, eps](const Tensor& g, const BackwardArgs& s) {
    const std::int64_t n = s[0].size(0) / 2;
    Tensor probe = s[0].detach().requires_grad_(), pooled;
    {
      autograd::GradModeGuard on(true);
      pooled = max_pool2d(probe, opt);
    }
    auto unpool = [&](const Tensor& v) {  // v [2N, C, h, w] onto each row's own argmax positions
      return autograd::grad({pooled}, {probe}, {v}, {.retain_graph = true, .create_graph = autograd::grad_enabled()})[0];
    };
    auto half = [n](const Tensor& t, std::int64_t k) { return t.narrow(0, k * n, n); };
    const Tensor yx = half(pooled.detach(), 0), yb = half(pooled.detach(), 1);
    const Tensor top = maximum(yx, yb);
    const Tensor to_input = top - yb, to_baseline = yx - top;  // Δy = to_input + to_baseline
    const Tensor dz = half(s[0], 0) - half(s[0], 1);
    const Tensor far = gt(abs(dz), eps);
    const Tensor safe_dz = where(far, dz, ones_like(dz));
    const Tensor plain = unpool(g);  // the ordinary gradient, for |Δz| <= eps
    auto rule = [&](std::int64_t k) {
      const Tensor gk = half(g, k);
      const Tensor sent = unpool(cat({gk * to_input, gk * to_baseline}, 0));  // [input's share; baseline's]
      return where(far, (half(sent, 0) + half(sent, 1)) / safe_dz, half(plain, k));
    };
    return grads(cat({rule(0), rule(1)}, 0));
  });
}

// The rescale rule on each supported activation module (and DeepLIFT's max-pooling rule on each
// nn::MaxPool2d, unless `maxpool` says gradient) while alive.
class RescaleScope {
 public:
  RescaleScope(nn::Module& model, double eps, MaxPoolRule maxpool) {
    for (auto& [name, m] : model.named_modules()) {
      Activation act, slope;
      if (auto* pool = dynamic_cast<nn::MaxPool2d*>(m.get()); pool && maxpool == MaxPoolRule::deeplift) {
        handles_.push_back(m->register_forward_hook(
            [opt = pool->options, eps](nn::Module&, const Tensor& in, const Tensor&) -> Tensor {
              return maxpool_rule(in, opt, eps);
            }));
        continue;
      }
      if (dynamic_cast<nn::ReLU*>(m.get())) {
        act = [](const Tensor& z) { return relu(z); };
        slope = [](const Tensor& z) { return gt(z, 0.0); };
      } else if (dynamic_cast<nn::Sigmoid*>(m.get())) {
        act = [](const Tensor& z) { return sigmoid(z); };
        slope = [](const Tensor& z) { const Tensor s = sigmoid(z); return s * (1.0 - s); };
      } else if (dynamic_cast<nn::Tanh*>(m.get())) {
        act = [](const Tensor& z) { return lumen::tanh(z); };
        slope = [](const Tensor& z) { return 1.0 - square(lumen::tanh(z)); };
      } else {
        continue;
      }
      handles_.push_back(m->register_forward_hook([act, slope, eps](nn::Module&, const Tensor& in, const Tensor&) -> Tensor {
        return rescale(in, act, slope, eps);
      }));
    }
  }
 private:
  std::vector<nn::HookHandle> handles_;  // removed with the scope
};
}  // namespace

AttributionAndDelta DeepLift::attribute_with_delta(const Tensor& inputs, const Target& target,
                                                   const Baseline& baselines) const {
  check_target(target, inputs, "DeepLift");
  if (is_empty_batch(inputs)) return {empty_attributions(inputs), empty_attributions(inputs, {0})};
  const Tensor x = inputs.detach();
  const Tensor b = baselines.expand(x, "DeepLift");
  const std::int64_t n = x.size(0);
  Tensor both = cat({x, b}, 0);
  Tensor gap;  // F(x) − F(x'), from the same forward pass
  Tensor g;
  {
    RescaleScope rules(model_, eps_, maxpool_);
    autograd::GradModeGuard on(true);
    both = both.requires_grad_();
    const Tensor scores = target.select(model_(both), "DeepLift");  // row r ↦ sample r mod N
    gap = (scores.narrow(0, 0, n) - scores.narrow(0, n, n)).detach();
    g = autograd::grad({scores.narrow(0, 0, n).sum()}, {both})[0].narrow(0, 0, n);
  }
  const Tensor attr = (x - b) * g;  // multipliers × difference from reference
  return {attr, attr.flatten(1).sum({1}) - gap};
}

Tensor DeepLift::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines) const {
  return attribute_with_delta(inputs, target, baselines).attributions;
}

}  // namespace lumen::xai
