// Step 6: TX-Ray (Rethmeier et al. 2020) on the lab's small text CNN, filters {width 1: 10, 2: 7, 3: 3}.
// Forward hooks on the convolutions record, for every sentence and filter, the token where the filter's
// pre-ReLU activation peaks: per filter, a distribution over tokens. Comparing distributions (Hellinger
// distance) shows what training and transfer (amazon → fine-tuned on yelp) change; the profiles also
// suggest which filters to prune, and how redundant the filters are.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/explain_text/steps.h"
#include "examples/lesson.h"
#include "figures/plot.h"
#include "nn/layers.h"
#include "xai/diagnostics.h"
#include "xai/lime.h"
#include "xai/text.h"
#include "xai/txray.h"

namespace lumen::explain_text {

namespace {

const std::vector<std::pair<std::int64_t, std::int64_t>> kTxRayFilters{{1, 10}, {2, 7}, {3, 3}};

std::string filter_name(const nn::TextCNN& m, std::size_t f) {
  for (const auto& [width, count] : m.options.filters) {
    if (f < static_cast<std::size_t>(count)) return "w" + std::to_string(width) + "#" + std::to_string(f);
    f -= static_cast<std::size_t>(count);
  }
  return "?";
}

// Every filter's profile over the sentences (all filters, convolution by convolution).
std::vector<xai::FilterProfile> profiles(nn::TextCNN& model, const std::vector<nn::LabelledText>& items, const nn::Vocab& vocab,
                                         std::int64_t max_len) {
  std::vector<xai::TxRayRecorder> recorders;
  std::vector<Tensor> outputs(model.options.filters.size());
  std::vector<nn::HookHandle> hooks;
  for (std::size_t c = 0; c < model.options.filters.size(); ++c) {
    recorders.emplace_back(model.options.filters[c].second);
    hooks.push_back(model.submodule("convs." + std::to_string(c))
                        .register_forward_hook([&outputs, c](nn::Module&, const Tensor&, const Tensor& out) { outputs[c] = out.detach(); }));
  }
  autograd::NoGradGuard no_grad;
  model.eval();
  const std::size_t batch = 128;
  for (std::size_t s = 0; s < items.size(); s += batch) {
    std::vector<std::vector<std::int64_t>> rows;
    std::vector<std::vector<std::string>> tokens;
    for (std::size_t i = s; i < std::min(items.size(), s + batch); ++i) {
      std::vector<std::string> t = items[i].tokens;
      if (static_cast<std::int64_t>(t.size()) > max_len) t.resize(static_cast<std::size_t>(max_len));
      rows.push_back(vocab.encode(t));
      tokens.push_back(std::move(t));
    }
    model(nn::pad_batch(rows, kMinLen, max_len));
    for (std::size_t c = 0; c < recorders.size(); ++c) recorders[c].record(outputs[c], tokens, model.options.filters[c].first);
  }
  std::vector<xai::FilterProfile> all;
  for (const auto& r : recorders) all.insert(all.end(), r.profiles().begin(), r.profiles().end());
  return all;
}

double hellinger_or_nan(const xai::FilterProfile& a, const xai::FilterProfile& b) {
  if (a.total_mass <= 0 || b.total_mass <= 0) return std::nan("");  // an inactive filter has no distribution
  return xai::hellinger(xai::distribution(a), xai::distribution(b));
}

double accuracy_of(nn::TextClassifier& model, const nn::TextDataset& data) {
  const Predictions p = predict(model, data);
  std::vector<std::int64_t> gold;
  for (std::int64_t i = 0; i < data.size(); ++i) gold.push_back(data.label(i));
  return xai::accuracy(p.predicted, gold);
}

// Accuracy with the filters in `order` removed one by one (their output set to 0 by a hook): k = 0..F.
std::vector<double> pruning_curve(nn::TextCNN& model, const nn::TextDataset& test, const std::vector<std::size_t>& order) {
  std::vector<std::int64_t> offset{0};
  for (const auto& f : model.options.filters) offset.push_back(offset.back() + f.second);
  std::vector<double> keep(static_cast<std::size_t>(offset.back()), 1.0), curve;
  std::vector<nn::HookHandle> hooks;
  for (std::size_t c = 0; c < model.options.filters.size(); ++c)
    hooks.push_back(model.submodule("convs." + std::to_string(c))
                        .register_forward_hook([&keep, &offset, c](nn::Module&, const Tensor&, const Tensor& out) {
                          const std::vector<double> m(keep.begin() + offset[c], keep.begin() + offset[c + 1]);
                          return out * tensor(m, {1, static_cast<std::int64_t>(m.size()), 1}, options_of(out));
                        }));
  curve.push_back(accuracy_of(model, test));
  for (std::size_t f : order) {
    keep[f] = 0.0;
    curve.push_back(accuracy_of(model, test));
  }
  return curve;
}

std::vector<std::size_t> ranked(const std::vector<double>& score) {  // largest score first
  std::vector<std::size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  return idx;
}

struct Redundancy {
  double mean_jaccard, redundant_share, unique_features, inactive_share;
};
Redundancy redundancy(const std::vector<xai::FilterProfile>& ps) {
  std::map<std::string, std::int64_t> ids;
  std::vector<std::vector<std::int64_t>> sets;
  double unique = 0, inactive = 0;
  for (const auto& p : ps) {
    if (p.total_mass <= 0) {
      inactive += 1;
      continue;
    }
    auto& s = sets.emplace_back();
    for (const auto& [token, mass] : p.mass) s.push_back(ids.emplace(token, static_cast<std::int64_t>(ids.size())).first->second);
    unique += static_cast<double>(p.unique_features());
  }
  double redundant = 0, pairs = 0;
  for (std::size_t a = 0; a < sets.size(); ++a)
    for (std::size_t b = a + 1; b < sets.size(); ++b) redundant += xai::jaccard(sets[a], sets[b]) >= 0.5, pairs += 1;
  return {sets.size() >= 2 ? xai::mean_pairwise_jaccard(sets) : std::nan(""), pairs > 0 ? redundant / pairs : std::nan(""),
          sets.empty() ? 0.0 : unique / static_cast<double>(sets.size()), inactive / static_cast<double>(ps.size())};
}

std::string top_features(const xai::FilterProfile& p, std::int64_t k) {
  std::string s;
  for (const auto& [token, share] : p.top(k)) s += (s.empty() ? "" : ", ") + report::escape_html(token) + " " + report::format("%.2f", share);
  return s.empty() ? "(inactive)" : s;
}

}  // namespace

void txray(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("6. TX-Ray: what the filters respond to");
  const std::string dir = o.data_dir + "/sentiment";
  const nn::TextSplits amazon = nn::load_sentiment_splits(dir, {"amazon"}, o.seed);
  const nn::TextSplits yelp = nn::load_sentiment_splits(dir, {"yelp"}, o.seed);
  const nn::TextDataset a_train(amazon.train, l.vocab, kMinLen, o.max_len), a_val(amazon.validation, l.vocab, kMinLen, o.max_len),
      a_test(amazon.test, l.vocab, kMinLen, o.max_len);
  const nn::TextDataset y_train(yelp.train, l.vocab, kMinLen, o.max_len), y_val(yelp.validation, l.vocab, kMinLen, o.max_len),
      y_test(yelp.test, l.vocab, kMinLen, o.max_len);

  const nn::TextCNNOptions small{
      .vocab_size = l.vocab.size(), .embedding_dim = o.embedding_dim, .filters = kTxRayFilters, .embedding_std = o.embedding_std};
  manual_seed(o.seed + 4242);
  auto model = std::make_shared<nn::TextCNN>(small);
  std::vector<xai::FilterProfile> after_epoch1;
  train_text_model(*model, a_train, a_val,
                   {.epochs = o.txray_epochs, .batch_size = o.batch_size, .lr = o.lr, .seed = o.seed + 4242, .label = "amazon",
                    .after_epoch = [&](int epoch, nn::TextClassifier&) {
                      if (epoch == 1) after_epoch1 = profiles(*model, amazon.train, l.vocab, o.max_len);
                    }});
  const std::vector<xai::FilterProfile> at_end = profiles(*model, amazon.train, l.vocab, o.max_len);
  const double amazon_acc = accuracy_of(*model, a_test), amazon_on_yelp = accuracy_of(*model, y_test);
  // Transfer: the same weights, fine-tuned on yelp; both profiled on yelp's training sentences.
  manual_seed(o.seed + 4243);
  auto tuned = std::make_shared<nn::TextCNN>(small);
  tuned->load_state_dict(model->state_dict());
  const std::vector<xai::FilterProfile> before_transfer = profiles(*model, yelp.train, l.vocab, o.max_len);
  train_text_model(*tuned, y_train, y_val,
                   {.epochs = o.finetune_epochs, .batch_size = o.batch_size, .lr = o.lr, .seed = o.seed + 4243, .label = "yelp"});
  const std::vector<xai::FilterProfile> after_transfer = profiles(*tuned, yelp.train, l.vocab, o.max_len);
  const double yelp_acc = accuracy_of(*tuned, y_test);
  r.say("  small CNN (" + std::to_string(at_end.size()) + " filters): amazon test accuracy " + report::format("%.4f", amazon_acc) +
        ", on yelp " + report::format("%.4f", amazon_on_yelp) + ", after fine-tuning on yelp " + report::format("%.4f", yelp_acc));
  r.number({"txray", "amazon_accuracy"}, amazon_acc, "%.4f");
  r.number({"txray", "amazon_model_on_yelp_accuracy"}, amazon_on_yelp, "%.4f");
  r.number({"txray", "finetuned_yelp_accuracy"}, yelp_acc, "%.4f");

  r.heading("6. TX-Ray: what the filters respond to");
  r.paragraph("A text CNN with the lab's small filter budget (width 1: 10 filters, width 2: 7, width 3: 3), trained on "
              "amazon (test accuracy " + report::format("%.4f", amazon_acc) + "; " + report::format("%.4f", amazon_on_yelp) +
              " on yelp), then fine-tuned on yelp (" + report::format("%.4f", yelp_acc) +
              "). For each sentence and filter, a forward hook on the convolution finds the window where the pre-ReLU "
              "activation peaks (among windows that start at a real token); if that peak is positive, the window's first "
              "token gets the peak as mass. A filter's profile is that mass per token, normalised to a distribution.");
  report::Table table({{"filter", "", -6}, {"top tokens at the end (share of mass)", "top tokens (end)", -44},
                       {"unique tokens e1 → end", "unique", 12}, {"active sentences", "active", 7},
                       {"H(epoch 1, end)", "H e1/end", 8}, {"H(amazon, yelp-tuned)", "H transfer", 10},
                       {"mass amazon → tuned (on yelp)", "mass a→y", 16}},
                      "  ");
  std::vector<double> h_train, h_transfer;
  std::vector<std::string> names;
  for (std::size_t f = 0; f < at_end.size(); ++f) {
    names.push_back(filter_name(*model, f));
    h_train.push_back(hellinger_or_nan(after_epoch1[f], at_end[f]));
    h_transfer.push_back(hellinger_or_nan(before_transfer[f], after_transfer[f]));
    table.row({names.back(), top_features(at_end[f], 4),
               std::to_string(after_epoch1[f].unique_features()) + " → " + std::to_string(at_end[f].unique_features()),
               std::to_string(at_end[f].active_sentences), report::format("%.3f", h_train.back()),
               report::format("%.3f", h_transfer.back()),
               report::format("%.1f", before_transfer[f].total_mass) + " → " + report::format("%.1f", after_transfer[f].total_mass)});
  }
  auto nan_mean = [](const std::vector<double>& v) {
    double s = 0, n = 0;
    for (double x : v)
      if (std::isfinite(x)) s += x, n += 1;
    return n > 0 ? s / n : std::nan("");
  };
  r.number({"txray", "mean_hellinger_epoch1_end"}, nan_mean(h_train), "%.4f");
  r.number({"txray", "mean_hellinger_transfer"}, nan_mean(h_transfer), "%.4f");
  r.table(table);
  r.chart("txray_hellinger.png",
          figures::make_grouped_bar_chart(names, {{.name = "epoch 1 → end (amazon)", .values = h_train},
                                                  {.name = "amazon → fine-tuned on yelp (yelp)", .values = h_transfer}},
                                          {.title = "Hellinger distance of each filter's token distribution",
                                           .ylabel = "H", .width = 760, .height = 380}),
          "Bar chart: per filter, the Hellinger distance between its token distributions after epoch 1 and at the end, "
           "and between the amazon model and the model fine-tuned on yelp");

  // ---- pruning
  const std::size_t nf = at_end.size();
  std::vector<double> entropy, rare, over, magnitude;
  for (const auto& p : at_end) {
    entropy.push_back(p.entropy());
    rare.push_back(-static_cast<double>(p.active_sentences) - 1e-9 * p.total_mass);
    const auto top = p.top(1);
    over.push_back(top.empty() ? 0.0 : top[0].second * static_cast<double>(p.active_sentences) / static_cast<double>(std::max<std::int64_t>(p.sentences, 1)));
  }
  for (std::size_t c = 0; c < model->options.filters.size(); ++c) {
    const Tensor w = dynamic_cast<nn::Conv1d&>(model->submodule("convs." + std::to_string(c))).weight.detach();
    for (double v : sqrt(sum(square(w), {1, 2})).to(DType::float64).to_vector<double>()) magnitude.push_back(-v);
  }
  std::vector<std::size_t> random(nf);
  std::iota(random.begin(), random.end(), 0);
  std::uint64_t state = o.seed + 99;
  for (std::size_t k = nf; k > 1; --k) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    std::swap(random[k - 1], random[(state >> 33) % k]);
  }
  const std::vector<std::pair<std::string, std::vector<std::size_t>>> orders{
      {"TX-Ray: noisy first (highest entropy)", ranked(entropy)},
      {"TX-Ray: rarely used first (fewest active sentences)", ranked(rare)},
      {"TX-Ray: over-used first (one token, most sentences)", ranked(over)},
      {"magnitude (smallest ‖w‖ first)", ranked(magnitude)},
      {"random", random}};
  std::vector<figures::Series> curves;
  report::Table prune({{"pruning order", "", -52}, {"acc. 5 removed", "5 off", 7}, {"10 removed", "10 off", 7},
                       {"15 removed", "15 off", 7}, {"area (mean acc.)", "mean", 7}},
                      "  ");
  const std::vector<std::string> keys{"noisy", "rarely_used", "over_used", "magnitude", "random"};
  for (std::size_t k = 0; k < orders.size(); ++k) {
    const std::vector<double> curve = pruning_curve(*model, a_test, orders[k].second);
    std::vector<double> xs(curve.size());
    std::iota(xs.begin(), xs.end(), 0.0);
    curves.push_back({.name = orders[k].first, .xs = xs, .ys = curve});
    auto at = [&](std::size_t i) { return report::format("%.3f", curve[std::min(i, curve.size() - 1)]); };
    prune.row({orders[k].first, at(5), at(10), at(15),
               r.number({"txray", "pruning", keys[k], "mean_accuracy"},
                        std::accumulate(curve.begin(), curve.end(), 0.0) / static_cast<double>(curve.size()), "%.4f")});
  }
  r.paragraph("<b>Pruning.</b> Filters are removed one at a time (a forward hook sets their output to 0) in five orders; "
              "amazon test accuracy after each removal. TX-Ray's criteria read the profiles: noisy filters spread their "
              "mass over many tokens (high entropy), rarely used ones peak positively on few sentences, over-used ones "
              "put most of their mass on one token in most sentences. Magnitude pruning removes the smallest weight norms.");
  r.table(prune);
  r.chart("txray_pruning.png",
          figures::make_line_chart(curves, {.title = "Accuracy as filters are pruned (amazon test)", .xlabel = "filters removed",
                                            .ylabel = "accuracy", .width = 700, .height = 420, .markers = true}),
          "Line plot: amazon test accuracy against the number of filters removed, one line per pruning order");

  // ---- redundancy: a small vs a large filter budget
  auto& big = dynamic_cast<nn::TextCNN&>(*l.trained(Arch::cnn)[0].model);
  const Redundancy rs = redundancy(at_end), rb = redundancy(profiles(big, amazon.train, l.vocab, o.max_len));
  report::Table red({{"filter budget", "", -38}, {"mean pairwise Jaccard", "Jaccard", 8}, {"pairs with J ≥ 0.5", "J≥0.5", 7},
                     {"unique tokens per filter", "unique", 7}, {"inactive filters", "inactive", 8}, {"amazon test acc.", "acc.", 7}},
                    "  ");
  std::int64_t big_filters = 0;
  for (const auto& f : big.options.filters) big_filters += f.second;
  red.row({"small: 20 filters (1:10, 2:7, 3:3), amazon", r.number({"txray", "redundancy", "small", "mean_jaccard"}, rs.mean_jaccard, "%.3f"),
           r.number({"txray", "redundancy", "small", "redundant_share"}, rs.redundant_share, "%.3f"), report::format("%.1f", rs.unique_features),
           report::format("%.2f", rs.inactive_share), report::format("%.4f", amazon_acc)});
  red.row({"large: " + std::to_string(big_filters) + " filters (2:50, 3:50, 4:50), all domains",
           r.number({"txray", "redundancy", "large", "mean_jaccard"}, rb.mean_jaccard, "%.3f"),
           r.number({"txray", "redundancy", "large", "redundant_share"}, rb.redundant_share, "%.3f"), report::format("%.1f", rb.unique_features),
           report::format("%.2f", rb.inactive_share), report::format("%.4f", accuracy_of(big, a_test))});
  r.paragraph("<b>Filter redundancy.</b> The Jaccard index of two filters' token sets (the tokens each peaks on), over all "
              "pairs of active filters, both profiled on amazon's training sentences. A larger budget buys filters that "
              "overlap more: many respond to the same tokens.");
  r.table(red);
}

}  // namespace lumen::explain_text
