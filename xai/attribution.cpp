#include "xai/attribution.h"

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "nn/module.h"

namespace lumen::xai {

ForwardFn forward_of(nn::Module& m) {
  return [&m](const Tensor& x) { return m(x); };
}

Target Target::from_tensor(const Tensor& labels) {
  LUMEN_CHECK(labels.defined() && labels.dim() == 1 && labels.dtype() == DType::int64, "Target::from_tensor",
              "expected int64 labels [N], got ", labels.defined() ? labels.str() : "undefined");
  return Target(labels.to_vector<std::int64_t>());
}

Tensor Target::select(const Tensor& scores, const char* op) const {
  LUMEN_CHECK(scores.dim() == 2, op, "expected model outputs [N, K], got shape ", scores.shape());
  LUMEN_CHECK(count() > 0, op, "there are no targets (an empty per-sample list) for outputs of shape ", scores.shape());
  const std::int64_t rows = scores.size(0), k = scores.size(1);
  LUMEN_CHECK(rows % count() == 0, op, "outputs have ", rows, " rows but there are ", count(),
              " per-sample targets; expected a multiple");
  std::vector<std::int64_t> idx(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    idx[static_cast<std::size_t>(r)] = at(r);
    LUMEN_CHECK(at(r) >= 0 && at(r) < k, op, "target class ", at(r), " is out of range for ", k, " outputs");
  }
  Tensor index = tensor_from(idx, {rows, 1}, scores.device());
  return gather(scores, 1, index).squeeze(1);
}

Target Target::slice(std::int64_t start, std::int64_t n) const {
  if (count() == 1) return *this;
  std::vector<std::int64_t> part;
  for (std::int64_t i = start; i < start + n; ++i) part.push_back(at(i));
  return Target(std::move(part));
}

void check_target(const Target& target, const Tensor& inputs, const char* op) {
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 1, op, "expected a batch of inputs [N, ...]");
  LUMEN_CHECK(target.count() == 1 || target.count() == inputs.size(0), op, "got ", target.count(),
              " targets for ", inputs.size(0), " inputs (shape ", inputs.shape(), "); expected 1 or one per input");
}

bool is_empty_batch(const Tensor& inputs) { return inputs.defined() && inputs.dim() >= 1 && inputs.size(0) == 0; }

Tensor empty_attributions(const Tensor& inputs) { return empty_attributions(inputs, inputs.shape()); }

Tensor empty_attributions(const Tensor& inputs, const Shape& shape) {
  LUMEN_CHECK(!shape.empty() && shape[0] == 0, "empty_attributions", "expected a shape [0, ...], got ", shape);
  return empty(shape, options_of(inputs));
}

std::pair<Tensor, Tensor> target_scores_and_gradient(const ForwardFn& f, const Tensor& inputs, const Target& target) {
  if (is_empty_batch(inputs)) return {empty_attributions(inputs, {0}), empty_attributions(inputs)};
  autograd::GradModeGuard on(true);
  Tensor x = inputs.detach().requires_grad_();
  Tensor scores = target.select(f(x), "target_gradient");
  Tensor g = autograd::grad({scores.sum()}, {x})[0];
  return {scores.detach(), g};
}

Tensor target_gradient(const ForwardFn& f, const Tensor& inputs, const Target& target) {
  return target_scores_and_gradient(f, inputs, target).second;
}

Tensor target_scores(const ForwardFn& f, const Tensor& inputs, const Target& target) {
  if (is_empty_batch(inputs)) return empty_attributions(inputs, {0});
  autograd::NoGradGuard off;
  return target.select(f(inputs), "target_scores");
}

Tensor repeat_batch(const Tensor& inputs, std::int64_t times) {
  LUMEN_CHECK(times >= 1, "repeat_batch", "expected times >= 1, got ", times);
  Shape expanded = inputs.shape();
  expanded.insert(expanded.begin(), times);
  Shape flat = inputs.shape();
  flat[0] *= times;
  return inputs.unsqueeze(0).expand(expanded).reshape(flat);
}

Tensor expand_baseline(const Tensor& baseline, const Tensor& inputs, const char* op) {
  if (!baseline.defined()) return zeros_like(inputs);
  Shape sample(inputs.shape().begin() + 1, inputs.shape().end());
  if (baseline.shape() == inputs.shape()) return baseline.to(inputs.dtype());
  LUMEN_CHECK(baseline.shape() == sample || (baseline.dim() == inputs.dim() && baseline.size(0) == 1 &&
                                             Shape(baseline.shape().begin() + 1, baseline.shape().end()) == sample),
              op, "baseline of shape ", baseline.shape(), " fits neither the inputs ", inputs.shape(),
              " nor one sample ", sample);
  Tensor b = baseline.dim() == inputs.dim() ? baseline : baseline.unsqueeze(0);
  return b.to(inputs.dtype()).expand(inputs.shape());
}

Tensor Baseline::expand(const Tensor& inputs, const char* op) const {
  if (tensor.defined()) return expand_baseline(tensor.detach().to(inputs.device()), inputs, op);
  return full_like(inputs, value);
}

}  // namespace lumen::xai
