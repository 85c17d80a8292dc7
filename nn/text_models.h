#pragma once
// Text classifiers over token ids for the NLP lesson, split at the embedding so that attribution
// methods can differentiate with respect to the embedded tokens:
//
//   nn::TextCNN model({.vocab_size = vocab.size()});
//   Tensor logits = model(ids);                                // ids: int64 [N, T], pad_id at the end of rows
//   Tensor e = model.embed(ids).detach().requires_grad_();     // [N, T, D]
//   model.classify(e, model.token_mask(ids)).backward(...);    // gradients w.r.t. the embeddings
//
// Weights are drawn from the default generator (lumen::manual_seed first for a reproducible model);
// the <pad> row of the embedding is zero and stays zero (PyTorch's padding_idx).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/layers.h"
#include "nn/lstm.h"

namespace lumen::nn {

// forward(ids) = classify(embed(ids), token_mask(ids)). Embedding dropout happens at the start of
// classify (identity in eval), so attributions taken through classify see the same network.
class TextClassifier : public Module {
 public:
  explicit TextClassifier(std::int64_t pad_id = 0) : pad_id(pad_id) {}
  // int64 [N, T] -> [N, T, D], through the "embedding" module (so its hooks fire).
  virtual Tensor embed(const Tensor& ids) = 0;
  // [N, T, D] and a float mask [N, T] of 1 (real) / 0 (pad), undefined = all real -> logits [N, K].
  virtual Tensor classify(const Tensor& embedded, const Tensor& mask) = 0;
  Tensor forward(const Tensor& ids) override;
  // float32 [N, T]: 1 where ids != pad_id, on the ids' device.
  Tensor token_mask(const Tensor& ids) const;
  // Paths of the modules whose outputs are the model's hidden activations, input to output (for
  // activation-difference diagnostics through forward hooks).
  virtual std::vector<std::string> activation_layers() const = 0;
  std::int64_t pad_id;
};

struct TextCNNOptions {
  std::int64_t vocab_size = 0, embedding_dim = 128, num_classes = 2;
  std::vector<std::pair<std::int64_t, std::int64_t>> filters{{2, 50}, {3, 50}, {4, 50}};  // (width, count)
  double dropout = 0.05;
  std::int64_t pad_id = 0;
  // The embeddings are drawn N(0, embedding_std²). 1 is PyTorch's nn.Embedding; trained from scratch on a
  // few thousand sentences with lr 1e-3, such large vectors barely move from their random start, and a
  // smaller scale (0.1) lets training shape them (examples/explain_text measures both).
  double embedding_std = 1.0;
};

// The lab's text CNN (Kim 2014): "embedding" (N(0, embedding_std²)), "embedding_dropout", then for each filter
// width a "convs.<i>" Conv1d(D, count, width) over [N, D, T] (its hooks see the pre-ReLU
// [N, count, T − width + 1]), "relu" (one nn::ReLU module shared by the widths, so GuidedBackprop's
// hooks find it) and max over time; the maxima concatenated, "dropout", "fc" Linear(Σ count, K).
// Padded steps are zeroed in classify (what PyTorch's padding_idx row gives), and the max over time
// only sees the windows that start at a real token (all of a row's windows start before
// max(length − width + 1, 1)): a sentence's logits then do not depend on how far its batch padded it.
// Rows shorter than the widest filter must be padded by the caller.
class TextCNN : public TextClassifier {
 public:
  explicit TextCNN(TextCNNOptions opt);
  Tensor embed(const Tensor& ids) override;
  Tensor classify(const Tensor& embedded, const Tensor& mask) override;
  std::vector<std::string> activation_layers() const override;
  std::string type_name() const override { return "TextCNN"; }
  TextCNNOptions options;
  std::shared_ptr<Embedding> embedding;
  std::shared_ptr<Dropout> embedding_dropout, dropout;
  std::shared_ptr<ModuleList> convs;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Linear> fc;
};

struct BiLSTMOptions {
  std::int64_t vocab_size = 0, embedding_dim = 128, hidden_size = 64, num_classes = 2;
  double dropout = 0.05;
  std::int64_t pad_id = 0;
  double embedding_std = 1.0;  // as TextCNNOptions::embedding_std
};

// "embedding" (N(0, embedding_std²)), "embedding_dropout", "lstm" (bidirectional, run with the mask), "lstm_out",
// features = [h_n forward, h_n reverse] [N, 2H], "dropout", "fc" Linear(2H, K).
class BiLSTMClassifier : public TextClassifier {
 public:
  explicit BiLSTMClassifier(BiLSTMOptions opt);
  Tensor embed(const Tensor& ids) override;
  Tensor classify(const Tensor& embedded, const Tensor& mask) override;
  std::vector<std::string> activation_layers() const override;
  std::string type_name() const override { return "BiLSTMClassifier"; }
  BiLSTMOptions options;
  std::shared_ptr<Embedding> embedding;
  std::shared_ptr<Dropout> embedding_dropout, dropout;
  std::shared_ptr<LSTM> lstm;
  std::shared_ptr<Identity> lstm_out;
  std::shared_ptr<Linear> fc;
};

}  // namespace lumen::nn
