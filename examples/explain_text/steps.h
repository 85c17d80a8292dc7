#pragma once
// The explain_text lesson's steps (main.cpp runs them in order). Each prints its console lines and
// records its numbers, tables and figures in the shared report::Report.
#include <cstdint>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/random.h"
#include "autograd/tensor.h"
#include "examples/report.h"
#include "nn/text.h"
#include "nn/text_models.h"
#include "nn/wordnet.h"
#include "xai/attribution.h"

namespace lumen::explain_text {

struct Options {
  std::string data_dir = "data", out_dir = "out/explain_text";
  int threads = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> texts;  // --text: sentences a user typed, explained first
  // 1. data and models
  std::int64_t embedding_dim = 64, lstm_hidden = 64, batch_size = 64, max_len = 50;
  std::int64_t min_count = 2;    // rarer training tokens become <unk>
  double embedding_std = 0.1;    // the embeddings' initial N(0, std²); PyTorch's default 1 stays near random
  int cnn_epochs = 10, lstm_epochs = 8, bow_steps = 300;
  double lr = 1e-3;
  std::int64_t model_seeds = 5;   // trained models per architecture (the diagnostic properties' seeds)
  std::int64_t random_models = 2;  // untrained models per architecture (rationale consistency)
  // 2.–5. attributions and their evaluations
  std::int64_t eval_sentences = 200;   // test sentences the evaluations use (spread over the split)
  std::int64_t ig_steps = 20, shapley_samples = 10, lime_samples = 200, heatmap_sentences = 6;
  std::int64_t faithfulness_top_k = 3;  // the lab's faithfulness: tokens replaced by <unk>
  std::int64_t adversarial_sentences = 100;
  // 6. TX-Ray
  int txray_epochs = 8, finetune_epochs = 4;
};

enum class Arch { cnn, bilstm };
// Token scores of one sentence per row: scores[n][t] for its real tokens t < length(n).
using TokenScores = std::vector<std::vector<double>>;
const char* arch_name(Arch a);   // "text CNN", "BiLSTM"
const char* arch_key(Arch a);    // "cnn", "bilstm"

// One trained (or untrained) classifier and what the report says about it.
struct TrainedModel {
  std::shared_ptr<nn::TextClassifier> model;  // eval mode
  Arch arch = Arch::cnn;
  std::uint64_t seed = 0;
  double test_accuracy = 0, test_macro_f1 = 0, best_validation_f1 = 0;
  std::int64_t best_epoch = 0;
};

// What the steps share.
struct Lesson {
  Options o;
  nn::TextSplits splits;           // all three domains
  nn::Vocab vocab;
  std::unordered_map<std::string, int> afinn;
  nn::WordNet wordnet;
  std::vector<TrainedModel> cnns, bilstms;           // trained, seeds seed .. seed + model_seeds − 1
  std::vector<TrainedModel> random_cnns, random_bilstms;  // untrained
  std::vector<std::int64_t> eval_rows;               // rows of splits.test the evaluations use
  std::vector<std::vector<std::int64_t>> eval_ids;   // their token ids (truncated to max_len)
  std::vector<std::vector<std::string>> eval_tokens;  // their tokens, likewise
  std::vector<std::int64_t> eval_labels;
  Generator gen;
  // Token scores on the evaluation sentences, computed once: key {arch, trained, model index, method
  // index, class}. See eval_scores.
  std::map<std::array<std::int64_t, 5>, TokenScores> score_cache;

  const std::vector<TrainedModel>& trained(Arch a) const { return a == Arch::cnn ? cnns : bilstms; }
  const std::vector<TrainedModel>& untrained(Arch a) const { return a == Arch::cnn ? random_cnns : random_bilstms; }
};

// ---- models (models.cpp)
std::shared_ptr<nn::TextClassifier> make_model(Arch arch, const Options& o, std::int64_t vocab_size, std::uint64_t seed);
struct TrainOptions {
  int epochs = 10;
  std::int64_t batch_size = 64;
  double lr = 1e-3;
  std::uint64_t seed = 0;
  std::string label;  // the progress bar's
  // Called after every epoch (epoch 1, 2, ...) with the model in eval mode: TX-Ray's snapshots.
  std::function<void(int epoch, nn::TextClassifier&)> after_epoch{};
};
struct TrainResult {
  double best_validation_f1 = 0;
  std::int64_t best_epoch = 0;
  double seconds = 0;
};
// The lab's recipe: AdamW, cross-entropy, shuffled batches, ReduceLROnPlateau on the validation loss; the
// weights of the epoch with the best validation macro-F1 are kept (restored at the end).
TrainResult train_text_model(nn::TextClassifier& model, const nn::TextDataset& train, const nn::TextDataset& validation,
                             const TrainOptions& opt);
// Predicted classes and class probabilities [N][K] of the rows of a dataset (eval mode, no graph).
struct Predictions {
  std::vector<std::int64_t> predicted;
  std::vector<std::vector<double>> probabilities;
  std::vector<std::vector<double>> logits;
};
// (Rows shorter than kMinLen are padded to it; min_len is kept for the callers' clarity: always kMinLen.)
Predictions predict(nn::TextClassifier& model, const std::vector<std::vector<std::int64_t>>& rows, std::int64_t min_len);
// The same with the tokens marked in removed[n] set to the <pad> embedding (zeros) while the sentence keeps
// its length: how the perturbation methods remove a token.
Predictions predict_removed(nn::TextClassifier& model, const std::vector<std::vector<std::int64_t>>& rows,
                            const std::vector<std::vector<bool>>& removed);
Predictions predict(nn::TextClassifier& model, const nn::TextDataset& data);

// ---- tokens as model input (tokens.cpp)
// The widest convolution needs 4 positions: shorter rows are padded to it.
inline constexpr std::int64_t kMinLen = 4;
// The rows of `data` (token ids, truncated to max_len) at the given positions.
std::vector<std::vector<std::int64_t>> rows_of(const nn::TextDataset& data, const std::vector<std::int64_t>& index,
                                               std::int64_t max_len);
// The model as a function of its input embeddings [R, T, D] for a batch whose token mask is `mask` [N, T]
// (R a multiple of N: the expanded batches of IG, Shapley sampling and LIME, block by block).
xai::ForwardFn on_embeddings(nn::TextClassifier& model, const Tensor& mask);

// ---- token attribution methods (methods.cpp)
struct MethodContext {
  nn::TextClassifier& model;
  Arch arch;
  const Options& o;
  Generator& gen;
};
struct Method {
  std::string name, key;  // "Saliency ℓ2", "saliency_l2"
  bool cnn_only = false;  // GuidedBackprop: only a model with ReLUs has a rule to change
  // Scores of each row's tokens for the class targets[n]; rows of equal length are given together.
  std::function<TokenScores(const MethodContext&, const std::vector<std::vector<std::int64_t>>& rows,
                            const std::vector<std::int64_t>& targets)>
      run;
};
// Random, Saliency (μ, ℓ2), InputXGradient (μ, ℓ2), GuidedBackprop (μ, ℓ2), IG (Σ), Occlusion, Shapley
// value sampling and LIME, in the order of the report's tables.
const std::vector<Method>& methods();
bool applies(const Method& m, Arch a);
// m on any rows: grouped by length (so batches need no padding beyond kMinLen), results in the rows' order.
TokenScores attribute_rows(const Method& m, const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                           const std::vector<std::int64_t>& targets);
// The LIME surrogates' fit on the rows (mean weighted MSE and R²), for the report.
struct LimeFit {
  double mse = 0, r2 = 0;
};
LimeFit lime_fit_quality(const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                         const std::vector<std::int64_t>& targets);

// The gradient (|∂f/∂e|, Saliency's) and input × gradient of each token's embedding under every
// aggregation (Σ, μ, ℓ1, ℓ2): named scores, for the report's comparison of aggregations.
std::vector<std::pair<std::string, TokenScores>> aggregation_variants(const MethodContext& ctx,
                                                                      const std::vector<std::vector<std::int64_t>>& rows,
                                                                      const std::vector<std::int64_t>& targets);
// Exact Shapley values of the tokens (all 2^T coalitions; rows of at most 20 tokens).
TokenScores exact_shapley(const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                          const std::vector<std::int64_t>& targets);

// The scores of methods()[method] on the evaluation sentences for class `cls`, of trained model `index`
// of an architecture (or of untrained model `index` when !trained); computed on first use, then cached.
const TokenScores& eval_scores(Lesson& l, Arch arch, bool trained, std::int64_t index, std::size_t method, std::int64_t cls);
// The scores for each sentence's own class: targets[n] picks the class of row n.
TokenScores eval_scores_for(Lesson& l, Arch arch, bool trained, std::int64_t index, std::size_t method,
                            const std::vector<std::int64_t>& targets);

// ---- text heat maps (heatmap.cpp)
// Each token on a background colored by its score: red for positive, blue for negative, the strength
// |score| / max |score| of the sentence. HTML, no script; the score in each token's title.
std::string heatmap_html(const std::vector<std::string>& tokens, const std::vector<double>& scores);
// The same sentence as a console line: "good(+0.82) movie(+0.10) ..."
std::string heatmap_text(const std::vector<std::string>& tokens, const std::vector<double>& scores);

// ---- the steps
// 1. The sentences, the vocabulary, the bag-of-words baseline, the text CNNs and BiLSTMs (models.cpp).
Lesson train_models(const Options& o, report::Report& r);
// 2. Token attributions of every method as heat maps; the sentences of --text; aggregations; Shapley's
//    sampling error; the LIME surrogates' error (attributions.cpp).
void token_attributions(Lesson& l, report::Report& r);
// 3. The lab's faithfulness (top-k tokens → <unk>) and stability (" Bye." appended) (lab_evaluations.cpp).
void lab_evaluations(Lesson& l, report::Report& r);
// 4. Atanasova et al.'s diagnostic properties of every method on both architectures (diagnostics.cpp).
void diagnostic_properties(Lesson& l, report::Report& r);
// 5. Explanation-guided adversarial edits with WordNet synonyms (adversarial.cpp).
void adversarial_edits(Lesson& l, report::Report& r);
// 6. TX-Ray: what the filters of a small CNN respond to, how that changes, pruning, redundancy (txray.cpp).
void txray(Lesson& l, report::Report& r);

}  // namespace lumen::explain_text
