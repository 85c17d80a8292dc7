#pragma once
// Loss functions, as torch.nn.functional (and the module-like forms CrossEntropyLoss etc.). All are
// built from differentiable ops, so they backpropagate, and double-backpropagate, like any other op.
//
// Shapes: logits are [N, C] or [N, C, d1, ...] with int64 class indices [N, d1, ...]; the
// elementwise losses take input and target of the same shape.
#include "autograd/tensor.h"

namespace lumen::nn {

enum class Reduction { none, mean, sum };

// -log softmax(logits)[target], averaged over the batch by default. label_smoothing ε mixes the one-hot
// target with the uniform distribution: loss = (1 - ε)·nll + ε·mean_c(-log p_c), as PyTorch. A floating
// target of the logits' shape is taken as class probabilities instead: loss = -Σ_c target_c log p_c.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::mean,
                     double label_smoothing = 0.0);
// -log_probs[target]: cross_entropy for inputs that are already log-probabilities.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::mean);
// Binary cross-entropy on logits, in the stable form max(x, 0) - x·y + log(1 + e^-|x|). pos_weight (one
// value per class, broadcast over the last dim) weighs the positive term, as PyTorch.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::mean,
                       const Tensor& pos_weight = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

// Module-like forms: hold the options, called as loss(input, target).
struct CrossEntropyLoss {
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;
  Tensor operator()(const Tensor& logits, const Tensor& target) const {
    return cross_entropy(logits, target, reduction, label_smoothing);
  }
};
struct NLLLoss {
  Reduction reduction = Reduction::mean;
  Tensor operator()(const Tensor& log_probs, const Tensor& target) const { return nll_loss(log_probs, target, reduction); }
};
struct BCEWithLogitsLoss {
  Reduction reduction = Reduction::mean;
  Tensor pos_weight = {};
  Tensor operator()(const Tensor& logits, const Tensor& target) const {
    return bce_with_logits(logits, target, reduction, pos_weight);
  }
};
struct MSELoss {
  Reduction reduction = Reduction::mean;
  Tensor operator()(const Tensor& input, const Tensor& target) const { return mse_loss(input, target, reduction); }
};
struct L1Loss {
  Reduction reduction = Reduction::mean;
  Tensor operator()(const Tensor& input, const Tensor& target) const { return l1_loss(input, target, reduction); }
};

}  // namespace lumen::nn
