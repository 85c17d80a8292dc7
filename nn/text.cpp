// Tokenizer, vocabulary and padded batches of nn/text.h (the file loaders are in text_files.cpp).
#include "nn/text.h"

#include <algorithm>
#include <limits>

#include "kernels/core/error.h"

namespace lumen::nn {
namespace {

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
bool is_word_byte(unsigned char c) { return is_letter(c) || (c >= '0' && c <= '9'); }
char lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); }

void check_lengths(const char* op, std::int64_t min_len, std::int64_t max_len) {
  LUMEN_CHECK(min_len >= 1 && max_len >= min_len, op, "expected 1 <= min_len <= max_len, got min_len ", min_len,
              " and max_len ", max_len);
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = at(i);
    if (is_word_byte(c)) {
      word += lower(c);
      continue;
    }
    // An apostrophe joins two letters into one word ("don't"): a letter before it, one after it.
    const bool inner_apostrophe = c == '\'' && i > 0 && is_letter(at(i - 1)) && i + 1 < text.size() &&
                                  is_letter(at(i + 1));
    if (inner_apostrophe) {
      word += '\'';
      continue;
    }
    if (!word.empty()) out.push_back(std::move(word)), word.clear();
    if (!is_space(c)) out.emplace_back(1, static_cast<char>(c));
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

// ---------------------------------------------------------------- Vocab

Vocab Vocab::build(const std::vector<LabelledText>& train, std::int64_t min_count, std::int64_t max_size) {
  LUMEN_CHECK(min_count >= 1, "Vocab::build", "expected min_count >= 1, got ", min_count);
  LUMEN_CHECK(max_size == 0 || max_size >= 2, "Vocab::build",
              "expected max_size 0 (no limit) or >= 2 (<pad> and <unk> included), got ", max_size);
  std::unordered_map<std::string, std::int64_t> counts;
  for (const LabelledText& item : train)
    for (const std::string& t : item.tokens)
      if (t != "<pad>" && t != "<unk>") ++counts[t];
  std::vector<std::pair<std::string, std::int64_t>> sorted;
  for (auto& [token, n] : counts)
    if (n >= min_count) sorted.emplace_back(token, n);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_size > 0 && static_cast<std::int64_t>(sorted.size()) > max_size - 2) sorted.resize(max_size - 2);

  Vocab v;
  v.tokens_ = {"<pad>", "<unk>"};
  v.counts_ = {0, 0};
  for (auto& [token, n] : sorted) v.tokens_.push_back(std::move(token)), v.counts_.push_back(n);
  for (std::size_t i = 0; i < v.tokens_.size(); ++i) v.ids_.emplace(v.tokens_[i], static_cast<std::int64_t>(i));
  return v;
}

std::int64_t Vocab::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Vocab::token(std::int64_t id) const {
  LUMEN_CHECK(id >= 0 && id < size(), "Vocab::token", "expected an id in [0, ", size(), "), got ", id);
  return tokens_[static_cast<std::size_t>(id)];
}

std::int64_t Vocab::count(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? 0 : counts_[static_cast<std::size_t>(it->second)];
}

std::vector<std::int64_t> Vocab::encode(const std::vector<std::string>& tokens) const {
  std::vector<std::int64_t> out;
  out.reserve(tokens.size());
  for (const std::string& t : tokens) out.push_back(id(t));
  return out;
}

// ---------------------------------------------------------------- batches

Tensor pad_batch(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t min_len, std::int64_t max_len) {
  check_lengths("pad_batch", min_len, max_len);
  std::int64_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, static_cast<std::int64_t>(r.size()));
  const std::int64_t t = std::clamp(longest, min_len, max_len);
  const auto n = static_cast<std::int64_t>(rows.size());
  // A batch beyond 2^31 ids (16 GiB) is a mistake in min_len or the rows, not a batch.
  LUMEN_CHECK(n <= (std::int64_t{1} << 31) / t, "pad_batch", n, " rows of ", t,
              " ids is more than the 2^31 ids a batch may hold");
  std::vector<std::int64_t> flat(static_cast<std::size_t>(n * t), Vocab::kPad);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& r = rows[static_cast<std::size_t>(i)];
    std::copy_n(r.begin(), std::min(static_cast<std::int64_t>(r.size()), t), flat.begin() + i * t);
  }
  return tensor_from(flat, {n, t});
}

Tensor token_mask(const Tensor& ids) {
  LUMEN_CHECK(ids.defined() && ids.dim() == 2 && ids.dtype() == DType::int64, "token_mask",
              "expected int64 ids [N, T], got ", ids.defined() ? ids.str() : std::string("an undefined tensor"));
  const std::vector<std::int64_t> v = ids.to_vector<std::int64_t>();
  std::vector<double> mask(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) mask[i] = v[i] != Vocab::kPad ? 1.0 : 0.0;
  return tensor(mask, ids.shape(), {.dtype = DType::float32}).to(ids.device());
}

TextDataset::TextDataset(const std::vector<LabelledText>& items, const Vocab& vocab, std::int64_t min_len,
                         std::int64_t max_len)
    : min_len_(min_len), max_len_(max_len) {
  check_lengths("TextDataset", min_len, max_len);
  ids_.reserve(items.size());
  labels_.reserve(items.size());
  for (const LabelledText& item : items) {
    ids_.push_back(vocab.encode(item.tokens));
    labels_.push_back(item.label);
  }
}

const std::vector<std::int64_t>& TextDataset::ids(std::int64_t i) const {
  LUMEN_CHECK(i >= 0 && i < size(), "TextDataset::ids", "expected 0 <= i < ", size(), ", got ", i);
  return ids_[static_cast<std::size_t>(i)];
}

std::int64_t TextDataset::label(std::int64_t i) const {
  LUMEN_CHECK(i >= 0 && i < size(), "TextDataset::label", "expected 0 <= i < ", size(), ", got ", i);
  return labels_[static_cast<std::size_t>(i)];
}

TextBatch TextDataset::batch(const std::vector<std::int64_t>& index) const {
  std::vector<std::vector<std::int64_t>> rows;
  std::vector<std::int64_t> labels;
  rows.reserve(index.size());
  labels.reserve(index.size());
  for (std::int64_t i : index) {
    LUMEN_CHECK(i >= 0 && i < size(), "TextDataset::batch", "expected rows in [0, ", size(), "), got ", i);
    rows.push_back(ids_[static_cast<std::size_t>(i)]);
    labels.push_back(labels_[static_cast<std::size_t>(i)]);
  }
  return {pad_batch(rows, min_len_, max_len_), tensor_from(labels), index};
}

std::vector<TextBatch> TextDataset::batches(std::int64_t batch_size, bool shuffle, Generator* gen) const {
  LUMEN_CHECK(batch_size >= 1, "TextDataset::batches", "expected batch_size >= 1, got ", batch_size);
  std::vector<TextBatch> out;
  if (size() == 0) return out;
  const Tensor order_t = shuffle ? randperm(size(), kCPU, gen) : arange(size(), {.dtype = DType::int64});
  const std::vector<std::int64_t> order = order_t.to_vector<std::int64_t>();
  for (std::int64_t start = 0; start < size(); start += batch_size) {
    const auto first = order.begin() + start;
    out.push_back(batch(std::vector<std::int64_t>(first, first + std::min(batch_size, size() - start))));
  }
  return out;
}

}  // namespace lumen::nn
