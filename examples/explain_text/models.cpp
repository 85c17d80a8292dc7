// Step 1: the sentences, the vocabulary, a bag-of-words baseline, and the lab's text CNN and a BiLSTM,
// several seeds each (the diagnostic properties are averaged over seeds and compare models pairwise).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/explain_text/steps.h"
#include "examples/lesson.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "xai/diagnostics.h"

namespace lumen::explain_text {

std::shared_ptr<nn::TextClassifier> make_model(Arch arch, const Options& o, std::int64_t vocab_size,
                                               std::uint64_t seed) {
  manual_seed(seed);  // the initial weights (and, in training, the dropout masks) come from this stream
  if (arch == Arch::cnn)
    return std::make_shared<nn::TextCNN>(
        nn::TextCNNOptions{.vocab_size = vocab_size, .embedding_dim = o.embedding_dim, .embedding_std = o.embedding_std});
  return std::make_shared<nn::BiLSTMClassifier>(nn::BiLSTMOptions{
      .vocab_size = vocab_size, .embedding_dim = o.embedding_dim, .hidden_size = o.lstm_hidden, .embedding_std = o.embedding_std});
}

namespace {

nn::StateDict copy_state(const nn::Module& m) {
  nn::StateDict s = m.state_dict();
  for (auto& [name, t] : s) t = t.detach().clone();
  return s;
}

// Validation loss and macro-F1, no graph.
std::pair<double, double> validate(nn::TextClassifier& model, const nn::TextDataset& data) {
  autograd::NoGradGuard no_grad;
  model.eval();
  double loss = 0;
  std::vector<std::int64_t> pred, gold;
  for (const nn::TextBatch& b : data.batches(256, false)) {
    Tensor logits = model(b.ids);
    loss += nn::cross_entropy(logits, b.labels).item() * static_cast<double>(b.labels.size(0));
    for (std::int64_t p : argmax(logits, 1).to_vector<std::int64_t>()) pred.push_back(p);
    for (std::int64_t g : b.labels.to_vector<std::int64_t>()) gold.push_back(g);
  }
  return {loss / static_cast<double>(data.size()), xai::macro_f1(pred, gold, 2)};
}

}  // namespace

TrainResult train_text_model(nn::TextClassifier& model, const nn::TextDataset& train, const nn::TextDataset& validation,
                             const TrainOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  nn::AdamW adamw(model.parameters(), {.lr = opt.lr});
  // PyTorch's defaults (patience 10, factor 0.1) would never act within ten epochs: halve the lr after
  // two epochs without a better validation loss.
  nn::ReduceLROnPlateau plateau(adamw, {.factor = 0.5, .patience = 2});
  Generator shuffle(opt.seed);
  manual_seed(opt.seed + 1000);  // dropout
  TrainResult result;
  nn::StateDict best = copy_state(model);
  result.best_validation_f1 = -1;
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    model.train();
    const std::vector<nn::TextBatch> batches = train.batches(opt.batch_size, true, &shuffle);
    lesson::ProgressBar bar(epoch, opt.epochs, static_cast<std::int64_t>(batches.size()));
    double loss_sum = 0;
    std::int64_t seen = 0, correct = 0, step = 0;
    for (const nn::TextBatch& b : batches) {
      adamw.zero_grad();
      Tensor logits = model(b.ids);
      Tensor loss = nn::cross_entropy(logits, b.labels);
      loss.backward();
      adamw.step();
      const std::int64_t n = b.labels.size(0);
      loss_sum += loss.item() * static_cast<double>(n);
      correct += lesson::count_correct(logits, b.labels);
      seen += n;
      ++step;
      bar.update(step, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
                 seen, step == static_cast<std::int64_t>(batches.size()));
    }
    const auto [val_loss, val_f1] = validate(model, validation);
    plateau.step(val_loss);
    if (val_f1 > result.best_validation_f1) {
      result.best_validation_f1 = val_f1;
      result.best_epoch = epoch;
      best = copy_state(model);
    }
    if (opt.after_epoch) opt.after_epoch(epoch, model);
  }
  model.load_state_dict(best);
  model.eval();
  result.seconds = lesson::seconds_since(t0);
  return result;
}

Predictions predict_removed(nn::TextClassifier& model, const std::vector<std::vector<std::int64_t>>& rows,
                            const std::vector<std::vector<bool>>& removed) {
  LUMEN_CHECK(removed.empty() || removed.size() == rows.size(), "explain_text", "one removal list per row expected");
  autograd::NoGradGuard no_grad;
  model.eval();
  Predictions p;
  const std::int64_t n = static_cast<std::int64_t>(rows.size()), batch = 256;
  for (std::int64_t s = 0; s < n; s += batch) {
    const std::vector<std::vector<std::int64_t>> part(rows.begin() + s, rows.begin() + std::min(n, s + batch));
    const Tensor ids = nn::pad_batch(part, kMinLen, 1 << 20);
    const Tensor mask = model.token_mask(ids);
    Tensor embedded = model.embed(ids);
    if (!removed.empty()) {
      std::vector<double> keep(static_cast<std::size_t>(ids.numel()), 1.0);
      for (std::size_t i = 0; i < part.size(); ++i)
        for (std::size_t t = 0; t < removed[static_cast<std::size_t>(s) + i].size(); ++t)
          if (removed[static_cast<std::size_t>(s) + i][t]) keep[i * static_cast<std::size_t>(ids.size(1)) + t] = 0.0;
      embedded = embedded * unsqueeze(tensor(keep, ids.shape(), options_of(embedded)), 2);
    }
    const Tensor logits = model.classify(embedded, mask).to(DType::float64);
    const Tensor probs = softmax(logits, 1);
    const auto k = static_cast<std::size_t>(logits.size(1));
    const std::vector<double> l = logits.to_vector<double>(), pr = probs.to_vector<double>();
    for (std::size_t i = 0; i < part.size(); ++i) {
      p.logits.emplace_back(l.begin() + static_cast<std::ptrdiff_t>(i * k), l.begin() + static_cast<std::ptrdiff_t>((i + 1) * k));
      p.probabilities.emplace_back(pr.begin() + static_cast<std::ptrdiff_t>(i * k),
                                   pr.begin() + static_cast<std::ptrdiff_t>((i + 1) * k));
      const auto& row = p.probabilities.back();
      p.predicted.push_back(std::max_element(row.begin(), row.end()) - row.begin());
    }
  }
  return p;
}

Predictions predict(nn::TextClassifier& model, const std::vector<std::vector<std::int64_t>>& rows, std::int64_t) {
  return predict_removed(model, rows, {});
}

Predictions predict(nn::TextClassifier& model, const nn::TextDataset& data) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(data.size()));
  std::iota(all.begin(), all.end(), 0);
  return predict(model, rows_of(data, all, 1 << 20), kMinLen);
}

namespace {

std::vector<std::int64_t> labels_of(const nn::TextDataset& d) {
  std::vector<std::int64_t> y;
  for (std::int64_t i = 0; i < d.size(); ++i) y.push_back(d.label(i));
  return y;
}

// Binary bag of words [N, V] (1 where the token occurs), float32.
Tensor bag_of_words(const nn::TextDataset& d, std::int64_t vocab_size) {
  std::vector<double> x(static_cast<std::size_t>(d.size() * vocab_size), 0.0);
  for (std::int64_t i = 0; i < d.size(); ++i)
    for (std::int64_t id : d.ids(i)) x[static_cast<std::size_t>(i * vocab_size + id)] = 1.0;
  return tensor(x, {d.size(), vocab_size});
}

struct BowResult {
  double accuracy, macro_f1;
  std::int64_t best_step;
};

// Logistic regression on the bag of words: full-batch AdamW steps, the step with the best validation
// macro-F1 kept. What a text model has to beat to have learnt more than which words occur.
BowResult bag_of_words_baseline(const Lesson& l, const nn::TextDataset& train, const nn::TextDataset& val,
                                const nn::TextDataset& test) {
  const std::int64_t v = l.vocab.size();
  const Tensor xtr = bag_of_words(train, v), xva = bag_of_words(val, v), xte = bag_of_words(test, v);
  const Tensor ytr = tensor_from(labels_of(train));
  manual_seed(l.o.seed);
  nn::Linear lr(v, 2);
  nn::AdamW opt(lr.parameters(), {.lr = 0.05, .weight_decay = 0.01});
  auto f1_of = [&](const Tensor& x, const nn::TextDataset& d) {
    autograd::NoGradGuard g;
    const auto pred = argmax(lr(x), 1).to_vector<std::int64_t>();
    return std::pair{xai::macro_f1(pred, labels_of(d), 2), xai::accuracy(pred, labels_of(d))};
  };
  nn::StateDict best = copy_state(lr);
  double best_f1 = -1;
  std::int64_t best_step = 0;
  lesson::Progress bar("bag-of-words logistic regression", l.o.bow_steps, "steps");
  for (int step = 1; step <= l.o.bow_steps; ++step) {
    opt.zero_grad();
    nn::cross_entropy(lr(xtr), ytr).backward();
    opt.step();
    const double f1 = f1_of(xva, val).first;
    if (f1 > best_f1) best_f1 = f1, best_step = step, best = copy_state(lr);
    bar.update(step);
  }
  lr.load_state_dict(best);
  const auto [f1, acc] = f1_of(xte, test);
  return {acc, f1, best_step};
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }
double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

Lesson train_models(const Options& o, report::Report& r) {
  r.step("1. the sentences and the models");
  Lesson l{.o = o, .gen = Generator(o.seed)};
  const std::string dir = o.data_dir + "/sentiment";
  l.splits = nn::load_sentiment_splits(dir, {"amazon", "imdb", "yelp"}, o.seed);
  l.vocab = nn::Vocab::build(l.splits.train, o.min_count);
  l.afinn = nn::load_afinn(dir + "/labels.json");
  l.wordnet = nn::WordNet::load(o.data_dir + "/wordnet");
  const nn::TextDataset train(l.splits.train, l.vocab, kMinLen, o.max_len), val(l.splits.validation, l.vocab, kMinLen, o.max_len),
      test(l.splits.test, l.vocab, kMinLen, o.max_len);
  const std::string n_train = r.count({"data", "train"}, train.size()), n_val = r.count({"data", "validation"}, val.size()),
                    n_test = r.count({"data", "test"}, test.size());
  const std::string skipped = r.count({"data", "skipped_without_class"}, l.splits.skipped_without_class);
  const std::string vocab = r.count({"data", "vocabulary"}, l.vocab.size());
  const std::string afinn = r.count({"data", "afinn_words"}, static_cast<std::int64_t>(l.afinn.size()));
  const std::string lemmas = r.count({"data", "wordnet_lemmas"}, l.wordnet.lemma_count());
  r.say("  sentences: " + n_train + " train, " + n_val + " validation, " + n_test + " test (amazon, imdb, yelp; " +
        skipped + " entries without a class skipped); vocabulary " + vocab + " tokens; AFINN " + afinn +
        " words; WordNet " + lemmas + " lemmas");

  // The evaluation sentences: spread evenly over the test split (its three domains, both labels).
  const std::int64_t n_eval = std::min<std::int64_t>(o.eval_sentences, test.size());
  for (std::int64_t i = 0; i < n_eval; ++i) l.eval_rows.push_back(i * test.size() / n_eval);
  l.eval_ids = rows_of(test, l.eval_rows, o.max_len);
  for (std::int64_t row : l.eval_rows) {
    const nn::LabelledText& s = l.splits.test[static_cast<std::size_t>(row)];
    l.eval_tokens.emplace_back(s.tokens.begin(), s.tokens.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(s.tokens.size(), static_cast<std::size_t>(o.max_len))));
    l.eval_labels.push_back(s.label);
  }

  const BowResult bow = bag_of_words_baseline(l, train, val, test);
  const std::string bow_f1 = r.number({"models", "bow", "macro_f1"}, bow.macro_f1, "%.4f");
  const std::string bow_acc = r.number({"models", "bow", "accuracy"}, bow.accuracy, "%.4f");
  r.say("  bag-of-words logistic regression: test accuracy " + bow_acc + ", macro-F1 " + bow_f1);

  report::Table table({{"model", "", -24}, {"seeds", "", 6}, {"test accuracy (mean ± std)", "accuracy", 18},
                       {"test macro-F1 (mean ± std)", "macro-F1", 18}, {"best epoch", "", 11},
                       {"macro-F1 − bag of words", "vs BoW", 10}, {"training s", "", 10}},
                      "  ");
  table.row({"bag-of-words logistic regression", "1", bow_acc, bow_f1, std::to_string(bow.best_step) + " (step)", "0", "—"});
  std::vector<std::string> margins;
  for (Arch arch : {Arch::cnn, Arch::bilstm}) {
    std::vector<double> accs, f1s, epochs;
    double seconds = 0;
    auto& models = arch == Arch::cnn ? l.cnns : l.bilstms;
    for (std::int64_t s = 0; s < o.model_seeds; ++s) {
      TrainedModel m{.model = make_model(arch, o, l.vocab.size(), o.seed + s), .arch = arch, .seed = o.seed + static_cast<std::uint64_t>(s)};
      const TrainResult t = train_text_model(*m.model, train, val,
                                             {.epochs = arch == Arch::cnn ? o.cnn_epochs : o.lstm_epochs,
                                              .batch_size = o.batch_size, .lr = o.lr, .seed = m.seed});
      const Predictions p = predict(*m.model, test);
      m.test_accuracy = xai::accuracy(p.predicted, labels_of(test));
      m.test_macro_f1 = xai::macro_f1(p.predicted, labels_of(test), 2);
      m.best_validation_f1 = t.best_validation_f1;
      m.best_epoch = t.best_epoch;
      accs.push_back(m.test_accuracy), f1s.push_back(m.test_macro_f1), epochs.push_back(static_cast<double>(t.best_epoch));
      seconds += t.seconds;
      models.push_back(std::move(m));
    }
    for (std::int64_t s = 0; s < o.random_models; ++s) {
      TrainedModel m{.model = make_model(arch, o, l.vocab.size(), o.seed + 7919 + s), .arch = arch, .seed = o.seed + 7919 + static_cast<std::uint64_t>(s)};
      m.model->eval();
      (arch == Arch::cnn ? l.random_cnns : l.random_bilstms).push_back(std::move(m));
    }
    const std::string key = arch_key(arch);
    const std::string acc = r.number({"models", key, "accuracy"}, mean_of(accs), "%.4f") + " ± " +
                            r.number({"models", key, "accuracy_std"}, std_of(accs), "%.4f");
    const std::string f1 = r.number({"models", key, "macro_f1"}, mean_of(f1s), "%.4f") + " ± " +
                           r.number({"models", key, "macro_f1_std"}, std_of(f1s), "%.4f");
    const std::string margin = r.number({"models", key, "macro_f1_minus_bow"}, mean_of(f1s) - bow.macro_f1, "%+.4f");
    r.flag({"models", key, "beats_bow"}, mean_of(f1s) > bow.macro_f1);
    const std::string secs = r.number({"models", key, "training_seconds"}, seconds, "%.1f");
    table.row({arch_name(arch), std::to_string(o.model_seeds), acc, f1, report::format("%.1f", mean_of(epochs)), margin, secs});
    margins.push_back(std::string(arch_name(arch)) + " " + margin);
  }
  r.heading("1. The sentences and the models");
  r.paragraph("The " + n_train + " training, " + n_val + " validation and " + n_test +
              " test sentences are the labelled reviews of the npm package <code>sentiment@5.0.2</code> (amazon, imdb "
              "and yelp, 1,000 each, split 70/10/20 per domain and label; " + skipped +
              " entries without a class were skipped). The vocabulary (" + vocab +
              " tokens with <code>&lt;pad&gt;</code> and <code>&lt;unk&gt;</code>; tokens seen fewer than " +
              std::to_string(o.min_count) + " times become <code>&lt;unk&gt;</code>) is built on the training split only. "
              "The lab's text CNN (embeddings of dimension " + std::to_string(o.embedding_dim) + ", drawn N(0, " +
              report::format("%g", o.embedding_std) + "²)" +
              ", filters of widths 2, 3, 4 × 50, max over time) and a BiLSTM (hidden size " + std::to_string(o.lstm_hidden) +
              " per direction) are trained with AdamW (lr " + report::format("%g", o.lr) +
              ", batch " + std::to_string(o.batch_size) + ") and ReduceLROnPlateau on the validation loss, keeping the epoch "
              "with the best validation macro-F1, for " + std::to_string(o.model_seeds) + " seeds each. Both must beat a "
              "bag-of-words logistic regression trained in the same run; by macro-F1 they do so by " +
              margins[0] + " and " + margins[1] + ".");
  r.table(table);
  return l;
}

}  // namespace lumen::explain_text
