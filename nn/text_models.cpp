// The text classifiers of nn/text_models.h.
#include "nn/text_models.h"

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"

namespace lumen::nn {

namespace {

void check_ids(const char* model, const Tensor& ids) {
  LUMEN_CHECK(ids.defined() && ids.dtype() == DType::int64 && ids.dim() == 2, model,
              "expected int64 token ids [N, T], got ",
              ids.defined() ? dtype_name(ids.dtype()) + std::string(" ") + shape_str(ids.shape()) : std::string("none"));
}

void check_embedded(const char* model, const Tensor& e, std::int64_t D, const Tensor& mask) {
  LUMEN_CHECK(e.defined() && e.dim() == 3 && e.size(2) == D, model, "expected embeddings [N, T, ", D, "], got ",
              e.defined() ? shape_str(e.shape()) : std::string("an undefined tensor"));
  LUMEN_CHECK(!mask.defined() || (mask.dim() == 2 && mask.size(0) == e.size(0) && mask.size(1) == e.size(1)), model,
              "mask ", mask.shape(), " does not match embeddings ", e.shape(), ": expected [N, T]");
}

// N(0, std²), with the <pad> row at zero, as PyTorch's padding_idx row; it stays there: padded steps are
// zeroed (TextCNN) or skipped (BiLSTM), so that row never gets a gradient. The <pad> embedding, the
// baseline of the attribution methods, is then the zero vector, not a random one.
void init_embedding(Embedding& e, double std, std::int64_t pad_id, const char* model) {
  LUMEN_CHECK(std::isfinite(std) && std > 0, model, "expected a positive finite embedding_std, got ", std);
  LUMEN_CHECK(pad_id >= 0 && pad_id < e.num_embeddings, model, "pad_id ", pad_id, " is not a token id of a vocabulary of ",
              e.num_embeddings);
  autograd::NoGradGuard no_grad;
  if (std != 1.0) e.weight.copy_(e.weight * std);  // Embedding drew N(0, 1)
  narrow(e.weight, 0, pad_id, 1).zero_();
}

}  // namespace

Tensor TextClassifier::token_mask(const Tensor& ids) const {
  check_ids("TextClassifier", ids);
  const auto v = ids.to_vector<std::int64_t>();
  std::vector<double> m(v.size());
  std::transform(v.begin(), v.end(), m.begin(), [this](std::int64_t id) { return id != pad_id ? 1.0 : 0.0; });
  return tensor(m, ids.shape()).to(ids.device());
}

Tensor TextClassifier::forward(const Tensor& ids) { return classify(embed(ids), token_mask(ids)); }

// ---- TextCNN

TextCNN::TextCNN(TextCNNOptions opt) : TextClassifier(opt.pad_id), options(std::move(opt)) {
  LUMEN_CHECK(options.vocab_size > 0 && options.embedding_dim > 0 && options.num_classes > 0, "TextCNN",
              "expected positive vocab_size, embedding_dim and num_classes, got ", options.vocab_size, ", ",
              options.embedding_dim, ", ", options.num_classes);
  LUMEN_CHECK(!options.filters.empty(), "TextCNN", "expected at least one filter width");
  embedding = register_module("embedding", std::make_shared<Embedding>(options.vocab_size, options.embedding_dim));
  init_embedding(*embedding, options.embedding_std, options.pad_id, "TextCNN");
  embedding_dropout = register_module("embedding_dropout", std::make_shared<Dropout>(options.dropout));
  convs = register_module("convs", std::make_shared<ModuleList>());
  std::int64_t features = 0;
  for (auto [width, count] : options.filters) {
    LUMEN_CHECK(width > 0 && count > 0, "TextCNN", "expected a positive filter (width, count), got (", width, ", ",
                count, ")");
    convs->push_back(std::make_shared<Conv1d>(options.embedding_dim, count, width));
    features += count;
  }
  relu = register_module("relu", std::make_shared<ReLU>());
  dropout = register_module("dropout", std::make_shared<Dropout>(options.dropout));
  fc = register_module("fc", std::make_shared<Linear>(features, options.num_classes));
}

Tensor TextCNN::embed(const Tensor& ids) {
  check_ids("TextCNN", ids);
  return (*embedding)(ids);
}

Tensor TextCNN::classify(const Tensor& embedded, const Tensor& mask) {
  check_embedded("TextCNN", embedded, options.embedding_dim, mask);
  std::int64_t widest = 0;
  for (auto [width, count] : options.filters) widest = std::max(widest, width);
  LUMEN_CHECK(embedded.size(1) >= widest, "TextCNN", "rows of ", embedded.size(1),
              " tokens are shorter than the widest filter (", widest, "): pad them to at least ", widest, " tokens");
  Tensor x = (*embedding_dropout)(embedded);
  const std::int64_t t = embedded.size(1);
  // Rows without padding (no mask, or a mask of ones: every row as long as the batch) skip the masking.
  Tensor lengths;
  if (mask.defined() && sum(mask.detach()).item() < static_cast<double>(mask.numel())) {
    const Tensor m = mask.detach().to(x.dtype());
    x = x * unsqueeze(m, 2);  // pad steps carry nothing
    lengths = sum(m, {1}, true);
  }
  const Tensor xt = transpose(x, 1, 2);  // [N, D, T]
  const Tensor positions = reshape(arange(t, options_of(x)), {1, t});
  std::vector<Tensor> pooled;
  std::size_t i = 0;
  for (const auto& [name, conv] : convs->named_children()) {
    const std::int64_t width = options.filters[i++].first;
    Tensor y = (*relu)((*conv)(xt));  // [N, count, T − width + 1], ≥ 0
    if (lengths.defined()) {
      // Windows starting at or past max(length − width + 1, 1) would read padding: scaled to 0, which is
      // never above the ReLU'd maximum of the real windows, so they cannot win the max.
      const Tensor first_invalid = clamp(lengths - static_cast<double>(width - 1), 1.0, static_cast<double>(t));
      y = y * unsqueeze(lt(narrow(positions, 1, 0, y.size(2)), first_invalid), 1);  // [N, T − width + 1]
    }
    pooled.push_back(max(y, 2).first);  // max over time: [N, count]
  }
  return (*fc)((*dropout)(cat(pooled, 1)));
}

std::vector<std::string> TextCNN::activation_layers() const {
  std::vector<std::string> layers = {"embedding"};
  for (std::size_t i = 0; i < convs->size(); ++i) layers.push_back("convs." + std::to_string(i));
  layers.push_back("fc");
  return layers;
}

// ---- BiLSTMClassifier

BiLSTMClassifier::BiLSTMClassifier(BiLSTMOptions opt) : TextClassifier(opt.pad_id), options(opt) {
  LUMEN_CHECK(opt.vocab_size > 0 && opt.embedding_dim > 0 && opt.hidden_size > 0 && opt.num_classes > 0,
              "BiLSTMClassifier", "expected positive vocab_size, embedding_dim, hidden_size and num_classes, got ",
              opt.vocab_size, ", ", opt.embedding_dim, ", ", opt.hidden_size, ", ", opt.num_classes);
  embedding = register_module("embedding", std::make_shared<Embedding>(opt.vocab_size, opt.embedding_dim));
  init_embedding(*embedding, opt.embedding_std, opt.pad_id, "BiLSTMClassifier");
  embedding_dropout = register_module("embedding_dropout", std::make_shared<Dropout>(opt.dropout));
  lstm = register_module("lstm", std::make_shared<LSTM>(opt.embedding_dim, opt.hidden_size,
                                                         LSTMOptions{.bidirectional = true}));
  lstm_out = register_module("lstm_out", std::make_shared<Identity>());
  dropout = register_module("dropout", std::make_shared<Dropout>(opt.dropout));
  fc = register_module("fc", std::make_shared<Linear>(2 * opt.hidden_size, opt.num_classes));
}

Tensor BiLSTMClassifier::embed(const Tensor& ids) {
  check_ids("BiLSTMClassifier", ids);
  return (*embedding)(ids);
}

Tensor BiLSTMClassifier::classify(const Tensor& embedded, const Tensor& mask) {
  check_embedded("BiLSTMClassifier", embedded, options.embedding_dim, mask);
  const LSTMOutput out = lstm->forward_masked((*embedding_dropout)(embedded), mask);
  // forward_masked returns three tensors, which a module call (one tensor out) cannot pass to hooks;
  // running the output sequence through an Identity gives forward hooks a place to observe it.
  (*lstm_out)(out.output);
  const Tensor features = cat({select(out.h_n, 0, 0), select(out.h_n, 0, 1)}, 1);  // [N, 2H]
  return (*fc)((*dropout)(features));
}

std::vector<std::string> BiLSTMClassifier::activation_layers() const { return {"embedding", "lstm_out", "fc"}; }

}  // namespace lumen::nn
