#include "xai/layer_gradients.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "kernels/core/error.h"
#include "nn/module.h"
#include "xai/attribution.h"

namespace lumen::xai {

namespace {

nn::Module& find_layer(nn::Module& model, const std::string& layer, const char* op) {
  const nn::ModulePtr m = model.find(layer);
  LUMEN_CHECK(m != nullptr, op, "the model has no layer named '", layer, "'");
  return *m;
}

void check_common(const Tensor& inputs, std::int64_t batch, const char* op) {
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 1 && inputs.size(0) >= 1, op, "expected inputs [N, ...] with N ≥ 1, got ",
              inputs.defined() ? inputs.str() : "undefined");
  LUMEN_CHECK(batch >= 1, op, "expected batch ≥ 1, got ", batch);
}

void check_layer_output(const Tensor& out, int calls, std::int64_t rows, const std::string& layer, const char* op) {
  LUMEN_CHECK(calls == 1, op, "expected layer '", layer, "' to run once in the model's forward, it ran ", calls,
              " times");
  LUMEN_CHECK(out.dim() >= 1 && out.size(0) == rows, op, "expected layer '", layer, "' to output [", rows,
              ", ...] for a batch of ", rows, ", got ", out.shape());
}

// The layer's output for x, as it is (no graph).
Tensor layer_output(nn::Module& model, nn::Module& target, const std::string& layer, const Tensor& x, const char* op) {
  autograd::NoGradGuard no_grad;
  Tensor out;
  int calls = 0;
  {
    nn::HookHandle hook = target.register_forward_hook([&](nn::Module&, const Tensor&, const Tensor& o) {
      out = o;
      ++calls;
    });
    model(x);
  }
  check_layer_output(out, calls, x.size(0), layer, op);
  return out.detach();
}

// model(x) with the layer's output replaced by a leaf holding replace(output) (the output itself when
// replace is empty); returns d(Σ_r logit_{r,k})/d(leaf), shaped like the leaf. The forward runs
// without a graph up to the layer and the hook switches it on: only the part after the layer is
// recorded and walked back.
Tensor logit_gradient_at_layer(nn::Module& model, nn::Module& target, const std::string& layer, const Tensor& x,
                               std::int64_t target_class, const std::function<Tensor(const Tensor&)>& replace,
                               const char* op) {
  autograd::GradModeGuard restore(false);  // puts the caller's mode back, whatever the hook set
  Tensor leaf, scores;
  int calls = 0;
  {
    nn::HookHandle hook = target.register_forward_hook([&](nn::Module&, const Tensor&, const Tensor& out) -> Tensor {
      ++calls;
      leaf = (replace ? replace(out) : out).detach().requires_grad_();
      autograd::set_grad_enabled(true);
      return leaf;
    });
    scores = model(x);
  }
  check_layer_output(leaf, calls, x.size(0), layer, op);
  LUMEN_CHECK(scores.dim() == 2 && scores.size(0) == x.size(0), op, "expected the model to output logits [", x.size(0),
              ", K], got ", scores.shape());
  const Tensor logits = Target(target_class).select(scores, op);
  if (!logits.requires_grad()) return zeros_like(leaf);  // the logits do not depend on the layer
  const Tensor g = autograd::grad({logits.sum()}, {leaf}, {}, {.allow_unused = true})[0];
  return g.defined() ? g.detach() : zeros_like(leaf);
}

// Rows of a per-input tensor [n, ...] in `space`: flattened, or per channel (the mean over positions
// for activations, the sum for gradients: see the header).
Tensor rows_in(const Tensor& t, LayerSpace space, bool gradient, const std::string& layer, const char* op) {
  const std::int64_t n = t.size(0);
  if (space == LayerSpace::flat) return t.reshape({n, -1});
  LUMEN_CHECK(t.dim() >= 3, op, "LayerSpace::channels needs layer '", layer, "' to output [N, C, ...positions], got ",
              t.shape());
  const Tensor per_position = t.reshape({n, t.size(1), -1});
  return gradient ? per_position.sum({2}) : per_position.mean({2});
}

Tensor cat_rows(const std::vector<Tensor>& parts) { return parts.size() == 1 ? parts[0].contiguous() : cat(parts, 0); }

}  // namespace

Tensor layer_activations(nn::Module& model, const std::string& layer, const Tensor& inputs, std::int64_t batch,
                         LayerSpace space) {
  const char* op = "layer_activations";
  nn::Module& target = find_layer(model, layer, op);
  check_common(inputs, batch, op);
  nn::EvalScope eval(model);
  std::vector<Tensor> parts;
  for (std::int64_t start = 0; start < inputs.size(0); start += batch) {
    const std::int64_t rows = std::min(batch, inputs.size(0) - start);
    parts.push_back(rows_in(layer_output(model, target, layer, inputs.narrow(0, start, rows), op), space, false, layer, op));
  }
  return cat_rows(parts);
}

Tensor layer_gradients(nn::Module& model, const std::string& layer, const Tensor& inputs, std::int64_t target_class,
                       std::int64_t batch, LayerSpace space) {
  const char* op = "layer_gradients";
  nn::Module& target = find_layer(model, layer, op);
  check_common(inputs, batch, op);
  nn::EvalScope eval(model);
  std::vector<Tensor> parts;
  for (std::int64_t start = 0; start < inputs.size(0); start += batch) {
    const std::int64_t rows = std::min(batch, inputs.size(0) - start);
    const Tensor g =
        logit_gradient_at_layer(model, target, layer, inputs.narrow(0, start, rows).detach(), target_class, {}, op);
    parts.push_back(rows_in(g.to(DType::float64).cpu(), space, true, layer, op));
  }
  return cat_rows(parts);
}

Tensor layer_integrated_gradients(nn::Module& model, const std::string& layer, const Tensor& inputs,
                                  std::int64_t target_class, std::int64_t n_steps, Integration method,
                                  std::int64_t batch, LayerSpace space) {
  const char* op = "layer_integrated_gradients";
  nn::Module& target = find_layer(model, layer, op);
  check_common(inputs, batch, op);
  LUMEN_CHECK(n_steps >= 1, op, "expected n_steps ≥ 1, got ", n_steps);
  const auto [alphas, weights] = integration_points(method, n_steps);
  nn::EvalScope eval(model);
  Shape zero_shape = inputs.shape();
  zero_shape[0] = 1;
  const Tensor baseline =
      layer_output(model, target, layer, zeros(zero_shape, {.dtype = inputs.dtype(), .device = inputs.device()}), op);

  std::vector<Tensor> parts;
  for (std::int64_t start = 0; start < inputs.size(0); start += batch) {
    const std::int64_t rows = std::min(batch, inputs.size(0) - start);
    const std::int64_t path_rows = checked_mul(n_steps, rows, op, "n_steps · batch rows");
    // Block k of the repeated batch carries the interpolation point α_k (Target::select's layout).
    auto interpolate = [&](const Tensor& out) {
      LUMEN_CHECK(out.dim() >= 1 && out.size(0) == path_rows && out.shape().size() == baseline.shape().size(), op,
                  "expected layer '", layer, "' to output [", path_rows, ", ...] like its output for a zero input ",
                  baseline.shape(), ", got ", out.shape());
      const Tensor a = out.narrow(0, 0, rows);  // every block holds the same inputs, hence the same activations
      const Tensor delta = a - baseline;
      std::vector<Tensor> points;
      for (double alpha : alphas) points.push_back(baseline + delta * alpha);
      return cat(points, 0);
    };
    const Tensor x = repeat_batch(inputs.narrow(0, start, rows).detach(), n_steps);
    const Tensor g = logit_gradient_at_layer(model, target, layer, x, target_class, interpolate, op).to(DType::float64).cpu();
    Tensor integral = g.narrow(0, 0, rows) * weights[0];
    for (std::int64_t k = 1; k < n_steps; ++k) integral = integral + g.narrow(0, k * rows, rows) * weights[k];
    parts.push_back(rows_in(integral, space, true, layer, op));
  }
  return cat_rows(parts);
}

}  // namespace lumen::xai
