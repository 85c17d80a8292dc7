// Losses, each a few differentiable ops (see nn/losses.h for the formulas).
#include "nn/losses.h"

#include "autograd/ops.h"

namespace lumen::nn {

namespace {

Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::none: return loss;
    case Reduction::sum: return sum(loss);
    case Reduction::mean: return mean(loss);
  }
  return loss;
}

void check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
  LUMEN_CHECK(input.defined() && target.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(input.shape() == target.shape(), op, "input of shape ", input.shape(), " and target of shape ",
              target.shape(), ": expected the same shape");
}

// log_probs[n, target[n, ...], ...]: the log-probability of each sample's class, shaped like target.
Tensor pick_class(const char* op, const Tensor& log_probs, const Tensor& target) {
  LUMEN_CHECK(log_probs.defined() && target.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(target.dtype() == DType::int64, op, "expected int64 class indices as target, got ",
              dtype_name(target.dtype()));
  Shape want = log_probs.shape();
  LUMEN_CHECK(log_probs.dim() >= 2, op, "expected input [N, C, ...], got ", want);
  const std::int64_t classes = want[1];
  want.erase(want.begin() + 1);
  LUMEN_CHECK(target.shape() == want, op, "target of shape ", target.shape(), " for input of shape ",
              log_probs.shape(), ": expected ", want);
  for (std::int64_t t : target.to_vector<std::int64_t>())  // a clear error beats an out-of-range gather
    LUMEN_CHECK(t >= 0 && t < classes, op, "class index ", t, " out of range for ", classes, " classes");
  return squeeze(gather(log_probs, 1, unsqueeze(target, 1)), 1);
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  return reduce(neg(pick_class("nll_loss", log_probs, target)), reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, double label_smoothing) {
  LUMEN_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy", "expected 0 <= label_smoothing <= 1, got ",
              label_smoothing);
  LUMEN_CHECK(logits.defined() && logits.dim() >= 2, "cross_entropy", "expected logits [N, C, ...]");
  Tensor log_probs = log_softmax(logits, 1);
  const double eps = label_smoothing;
  if (target.defined() && is_floating(target.dtype())) {  // class probabilities
    check_same_shape("cross_entropy", logits, target);
    Tensor p = eps > 0 ? target * (1.0 - eps) + eps / static_cast<double>(logits.size(1)) : target;
    return reduce(neg(sum(p * log_probs, {1})), reduction);
  }
  Tensor nll = neg(pick_class("cross_entropy", log_probs, target));
  if (eps == 0) return reduce(nll, reduction);
  Tensor uniform_term = neg(mean(log_probs, {1}));  // cross-entropy against the uniform distribution
  return reduce(nll * (1.0 - eps) + uniform_term * eps, reduction);
}

// (1 - y)·x + w·log(1 + e^-x), w = 1 + (pos_weight - 1)·y: the same value as max(x, 0) - x·y +
// log(1 + e^-|x|) when w = 1, but its autograd gradient is σ(x) - y everywhere, x = 0 included (the
// max/abs form would give the kinks' zero subgradients there). softplus is computed stably.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction, const Tensor& pos_weight) {
  check_same_shape("bce_with_logits", logits, target);
  Tensor log_one_plus_exp = softplus(neg(logits));
  Tensor weighted = pos_weight.defined() ? (1.0 + (pos_weight - 1.0) * target) * log_one_plus_exp : log_one_plus_exp;
  return reduce((1.0 - target) * logits + weighted, reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("mse_loss", input, target);
  return reduce(square(input - target), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("l1_loss", input, target);
  return reduce(abs(input - target), reduction);
}

}  // namespace lumen::nn
