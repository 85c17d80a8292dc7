#pragma once
// Text data for the NLP lesson: a tokenizer, the labelled sentences of scripts/get_data.sh
// (data/sentiment/{amazon,imdb,yelp}.json), their fixed train/validation/test splits, a vocabulary,
// padded id batches and the AFINN-165 word list (data/sentiment/labels.json).
//
//   TextSplits s = load_sentiment_splits("data/sentiment", {"amazon", "imdb", "yelp"});
//   Vocab vocab = Vocab::build(s.train, /*min_count=*/2);
//   TextDataset train(s.train, vocab);
//   for (const TextBatch& b : train.batches(32, /*shuffle=*/true, &gen)) step(b.ids, b.labels);
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace lumen::nn {

// Splits text into lowercase tokens by one fixed rule:
//  - ASCII letters are lowercased; every other byte is kept as it is.
//  - Spaces are the six ASCII whitespace bytes (space, \t, \n, \v, \f, \r); they separate tokens and
//    never are part of one.
//  - A word is a maximal run of word bytes: ASCII letters, ASCII digits and every byte >= 0x80 (so a
//    UTF-8 letter such as "é" counts as a letter, as do UTF-8 punctuation and emoji).
//  - An ASCII apostrophe (') with a letter (ASCII letter or byte >= 0x80, not a digit) directly on each
//    side stays inside the word: "don't", "it's", "rock'n'roll" are one token each.
//  - Every other byte is a token of its own: "!!" -> "!", "!"; "'90s" -> "'", "90s"; "can''t" -> "can",
//    "'", "'", "t".
std::vector<std::string> tokenize(std::string_view text);

struct LabelledText {
  std::string text;                 // as in the file
  std::vector<std::string> tokens;  // tokenize(text)
  std::int64_t label = 0;           // 0 negative, 1 positive
  std::string domain;               // "amazon", "imdb", "yelp"
};

struct SentimentFile {
  std::vector<LabelledText> items;
  std::int64_t skipped_without_class = 0;
};

// One file of labelled sentences: a JSON array of objects {"text": string, "class": 0 or 1}. An entry
// without "class", or with "class": null (each of the real files ends in {"text": "", "class": null}),
// is skipped and counted. Other keys are ignored. Throws lumen::Error naming the file and the entry
// index for anything else: not JSON, not an array of objects, "text" missing or not a string, "class"
// not the integer 0 or 1, nested arrays or objects inside an entry; and for a file over 64 MiB, a text
// over 100,000 bytes or more than 1,000,000 entries.
SentimentFile load_sentiment_json(const std::string& path, const std::string& domain);

struct TextSplits {
  std::vector<LabelledText> train, validation, test;
  std::int64_t skipped_without_class = 0;  // summed over the files read
};

// Reads dir/<domain>.json for each domain and splits each domain on its own by a fixed rule. For each
// label (0, then 1) that domain's sentences of the label, in file order, are shuffled by Fisher–Yates
// with std::mt19937_64(seed) (a fresh engine per domain, with its own unbiased draw, so the result is
// the same with every standard library) and cut into floor(70%) train, floor(10%) validation and the
// rest test: 350/50/100 per label for the real files. Each split lists a domain's label-0 sentences,
// then its label-1 sentences, and the domains in the order given. Because each domain is split alone,
// a sentence lands in the same split whichever other domains are read with it.
// Throws on an empty or repeated domain, or one with '/' in its name.
TextSplits load_sentiment_splits(const std::string& dir, const std::vector<std::string>& domains,
                                 std::uint64_t seed = 0);

// Token <-> id. Id 0 is "<pad>", id 1 is "<unk>"; then the training tokens by descending count, ties
// in byte order (std::string's <), so that the same texts always give the same ids.
class Vocab {
 public:
  static constexpr std::int64_t kPad = 0, kUnk = 1;

  // Counts the tokens of `train` (the training split only: ids for validation or test words would
  // leak them). Keeps tokens seen at least min_count times (min_count >= 1); max_size > 0 caps the
  // vocabulary's size *including* <pad> and <unk> (so max_size >= 2), dropping the rarest tokens.
  // The strings "<pad>" and "<unk>" themselves (which tokenize never returns) are not counted.
  static Vocab build(const std::vector<LabelledText>& train, std::int64_t min_count = 1,
                     std::int64_t max_size = 0 /*0 = no limit*/);

  std::int64_t id(const std::string& token) const;     // kUnk when unknown
  const std::string& token(std::int64_t id) const;      // throws naming the id when out of range
  std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
  std::int64_t count(const std::string& token) const;  // training count (0 for unknown, <pad>, <unk>)
  std::vector<std::int64_t> encode(const std::vector<std::string>& tokens) const;

 private:
  std::vector<std::string> tokens_;
  std::vector<std::int64_t> counts_;
  std::unordered_map<std::string, std::int64_t> ids_;
};

// int64 [N, T] with T = clamp(longest row, min_len, max_len): shorter rows padded with Vocab::kPad at
// the end, longer ones truncated (their first max_len ids kept). min_len lets a convolution of width k
// see at least k positions. Throws on min_len < 1, max_len < min_len or more than 2^31 ids in all.
Tensor pad_batch(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t min_len, std::int64_t max_len);

// Float32 [N, T] on the device of ids: 1 where ids != Vocab::kPad, else 0. ids: int64 [N, T].
Tensor token_mask(const Tensor& ids);

struct TextBatch {
  Tensor ids;                       // int64 [B, T], pad_batch of the rows
  Tensor labels;                    // int64 [B]
  std::vector<std::int64_t> index;  // positions of the rows in the dataset
};

// Sentences encoded once with a vocabulary, served as padded batches.
class TextDataset {
 public:
  // Throws on min_len < 1 or max_len < min_len.
  TextDataset(const std::vector<LabelledText>& items, const Vocab& vocab, std::int64_t min_len = 4,
              std::int64_t max_len = 64);

  std::int64_t size() const { return static_cast<std::int64_t>(ids_.size()); }
  const std::vector<std::int64_t>& ids(std::int64_t i) const;  // the encoded (untruncated) row
  std::int64_t label(std::int64_t i) const;

  // One epoch: ceil(size / batch_size) batches covering every row once, the last one smaller when
  // batch_size does not divide size. With shuffle, the order is randperm(size) drawn from gen (the
  // default generator when null), as DataLoader does, so a seeded Generator gives the same epochs on
  // every run; without, rows come in dataset order and gen is not touched.
  std::vector<TextBatch> batches(std::int64_t batch_size, bool shuffle, Generator* gen = nullptr) const;
  // Exactly these rows, in this order (each 0 <= i < size(); repeats allowed).
  TextBatch batch(const std::vector<std::int64_t>& index) const;

 private:
  std::vector<std::vector<std::int64_t>> ids_;
  std::vector<std::int64_t> labels_;
  std::int64_t min_len_, max_len_;
};

// AFINN-165 (labels.json): a JSON object {"word": valence, ...} with integer valences in [-5, 5]. Keys
// are kept as they are, spaces included ("does not work"; 3,382 entries in sentiment@5.0.2).
// Throws lumen::Error naming the file and the key on a valence that is not an integer in [-5, 5], a
// repeated key, an empty key or one over 100,000 bytes; naming the file for a top level that is not an
// object, a file over 64 MiB or more than 1,000,000 entries.
std::unordered_map<std::string, int> load_afinn(const std::string& path);

}  // namespace lumen::nn
