// The text classifiers of nn/text_models.h.
#include "nn/text_models.h"

#include <algorithm>

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
  embedding_dropout = register_module("embedding_dropout", std::make_shared<Dropout>(options.dropout));
  convs = register_module("convs", std::make_shared<ModuleList>());
  std::int64_t features = 0;
  for (auto [width, count] : options.filters) {
    LUMEN_CHECK(width > 0 && count > 0, "TextCNN", "expected a positive filter (width, count), got (", width, ", ",
                count, ")");
    convs->push_back(std::make_shared<Conv1d>(options.embedding_dim, count, width));
    features += count;
  }
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
  if (mask.defined()) x = x * unsqueeze(mask.detach().to(x.dtype()), 2);  // pad steps carry nothing
  const Tensor xt = transpose(x, 1, 2);                                    // [N, D, T]
  std::vector<Tensor> pooled;
  for (const auto& [name, conv] : convs->named_children())
    pooled.push_back(max(relu((*conv)(xt)), 2).first);  // max over time: [N, count]
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
