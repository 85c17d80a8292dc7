// Sentences as model input: rows of token ids, and the model as a function of its embeddings.
#include "autograd/ops.h"
#include "examples/explain_text/steps.h"

namespace lumen::explain_text {

const char* arch_name(Arch a) { return a == Arch::cnn ? "text CNN" : "BiLSTM"; }
const char* arch_key(Arch a) { return a == Arch::cnn ? "cnn" : "bilstm"; }

std::vector<std::vector<std::int64_t>> rows_of(const nn::TextDataset& data, const std::vector<std::int64_t>& index,
                                               std::int64_t max_len) {
  std::vector<std::vector<std::int64_t>> rows;
  rows.reserve(index.size());
  for (std::int64_t i : index) {
    std::vector<std::int64_t> ids = data.ids(i);
    if (static_cast<std::int64_t>(ids.size()) > max_len) ids.resize(static_cast<std::size_t>(max_len));
    rows.push_back(std::move(ids));
  }
  return rows;
}

xai::ForwardFn on_embeddings(nn::TextClassifier& model, const Tensor& mask) {
  return [&model, mask](const Tensor& embedded) {
    const std::int64_t n = mask.size(0), r = embedded.size(0);
    LUMEN_CHECK(n > 0 && r % n == 0, "explain_text", "an expanded batch of " + std::to_string(r) +
                                                         " rows is not a whole number of batches of " + std::to_string(n));
    // The expanded batches are laid out block by block, so the mask repeats as whole blocks.
    const Tensor m = r == n ? mask : reshape(expand(unsqueeze(mask, 0), {r / n, n, mask.size(1)}), {r, mask.size(1)});
    return model.classify(embedded, m);
  };
}

}  // namespace lumen::explain_text
