// Step 4: Atanasova et al. (2020), "A Diagnostic Study of Explainability Techniques for Text
// Classification": five properties of every method on both architectures, mean ± std over the trained
// models' seeds (rationale consistency compares models pairwise, so it is one number per method).
//   HA  human agreement: mean average precision of the gold class's token scores against a rationale;
//       here the AFINN-165 words whose valence sign agrees with the gold label (a proxy: no human marked
//       these sentences).                                                                        higher
//   CI  confidence indication: the features Σ_t max/mean/min over the other classes of s_p − s_c predict
//       the predicted class's probability by linear regression; MAE over 5 shuffle splits.        lower
//   F   faithfulness: macro-F1 with the top t% of tokens (predicted class) set to <pad>, t = 0..100
//       in steps of 10; the area under that curve.                                                  lower
//   RC  rationale consistency: over pairs of models (trained/trained seeds, untrained/untrained,
//       untrained/trained) and sentences, Spearman ρ between the mean |activation difference| and the
//       mean |score difference|.                                                                   higher
//   DC  dataset consistency: over pairs of sentences (same label with the largest word overlap,
//       different labels with the smallest), Spearman ρ between activation and score differences.  higher
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/explain_text/steps.h"
#include "examples/lesson.h"
#include "figures/plot.h"
#include "xai/diagnostics.h"
#include "xai/evaluation.h"

namespace lumen::explain_text {

namespace {

using Activations = std::vector<std::vector<std::vector<double>>>;  // [layer][sentence][values]

// The outputs of the model's activation layers for every evaluation sentence, all padded to one length
// so that two sentences' activations have the same shape.
Activations activations(Lesson& l, nn::TextClassifier& model) {
  std::int64_t len = kMinLen;
  for (const auto& ids : l.eval_ids) len = std::max<std::int64_t>(len, static_cast<std::int64_t>(ids.size()));
  std::vector<Tensor> outputs;
  std::vector<nn::HookHandle> hooks;
  for (const std::string& name : model.activation_layers())
    hooks.push_back(model.submodule(name).register_forward_hook(
        [&outputs](nn::Module&, const Tensor&, const Tensor& out) { outputs.push_back(out.detach()); }));
  {
    autograd::NoGradGuard no_grad;
    model.eval();
    model(nn::pad_batch(l.eval_ids, len, len));
  }
  Activations acts;
  for (const Tensor& t : outputs) {
    const std::int64_t n = t.size(0), per = t.numel() / std::max<std::int64_t>(n, 1);
    const std::vector<double> v = t.to(DType::float64).to_vector<double>();
    auto& layer = acts.emplace_back();
    for (std::int64_t i = 0; i < n; ++i)
      layer.emplace_back(v.begin() + static_cast<std::ptrdiff_t>(i * per), v.begin() + static_cast<std::ptrdiff_t>((i + 1) * per));
  }
  return acts;
}

// mean over layers of mean |a − b|, for sentence i of one model against sentence j of another (or the same).
double activation_difference(const Activations& a, std::size_t i, const Activations& b, std::size_t j) {
  double total = 0;
  for (std::size_t k = 0; k < a.size(); ++k) total += xai::mean_abs_difference(a[k][i], b[k][j]);
  return total / static_cast<double>(a.size());
}

double spearman_of(const std::vector<double>& x, const std::vector<double>& y) {
  return xai::spearman(tensor(x, {static_cast<std::int64_t>(x.size())}, {.dtype = DType::float64}),
                       tensor(y, {static_cast<std::int64_t>(y.size())}, {.dtype = DType::float64}));
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  std::size_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / static_cast<double>(n) : std::nan("");
}
double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  std::size_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += (x - m) * (x - m), ++n;
  return n > 1 ? std::sqrt(s / static_cast<double>(n - 1)) : 0.0;
}

struct PropertyValues {
  std::vector<double> ha, ci, f, dc;  // one per seed
  double rc = std::nan("");
  std::vector<double> f_curve;        // mean macro-F1 at each threshold over the seeds
};

// The AFINN rationale of a sentence: tokens whose valence has the gold label's sign.
std::vector<int> rationale(const Lesson& l, const std::vector<std::string>& tokens, std::int64_t label) {
  std::vector<int> rel;
  for (const std::string& t : tokens) {
    const auto it = l.afinn.find(t);
    rel.push_back(it != l.afinn.end() && (label == 1 ? it->second > 0 : it->second < 0));
  }
  return rel;
}

}  // namespace

void diagnostic_properties(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("4. diagnostic properties (Atanasova et al. 2020)");
  const std::size_t n = l.eval_ids.size();
  const std::vector<double> thresholds{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  std::int64_t with_rationale = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto rel = rationale(l, l.eval_tokens[i], l.eval_labels[i]);
    with_rationale += std::any_of(rel.begin(), rel.end(), [](int v) { return v != 0; });
  }
  const std::vector<xai::InstancePair> pairs =
      xai::dataset_consistency_pairs(l.eval_tokens, l.eval_labels, static_cast<std::int64_t>(n));

  r.heading("4. Diagnostic properties of the explanations (Atanasova et al. 2020)");
  for (Arch arch : {Arch::cnn, Arch::bilstm}) {
    const std::string akey = arch_key(arch);
    const std::int64_t seeds = static_cast<std::int64_t>(l.trained(arch).size());
    std::vector<PropertyValues> props(methods().size());
    std::vector<Activations> trained_acts, random_acts;
    for (const TrainedModel& m : l.trained(arch)) trained_acts.push_back(activations(l, *m.model));
    for (const TrainedModel& m : l.untrained(arch)) random_acts.push_back(activations(l, *m.model));
    lesson::Progress bar(std::string(arch_name(arch)) + ": explanations of every model and method",
                         (seeds + static_cast<std::int64_t>(l.untrained(arch).size())) * static_cast<std::int64_t>(methods().size()), "runs");
    std::int64_t done = 0;
    for (std::int64_t s = 0; s < seeds; ++s) {
      nn::TextClassifier& model = *l.trained(arch)[static_cast<std::size_t>(s)].model;
      const Predictions pred = predict(model, l.eval_ids, kMinLen);
      std::vector<double> p_pred;
      for (std::size_t i = 0; i < n; ++i) p_pred.push_back(pred.probabilities[i][static_cast<std::size_t>(pred.predicted[i])]);
      for (std::size_t mi = 0; mi < methods().size(); ++mi) {
        bar.update(done++);
        if (!applies(methods()[mi], arch)) continue;
        const TokenScores& c0 = eval_scores(l, arch, true, s, mi, 0);
        const TokenScores& c1 = eval_scores(l, arch, true, s, mi, 1);
        PropertyValues& pv = props[mi];
        // HA
        std::vector<double> aps;
        for (std::size_t i = 0; i < n; ++i) {
          const auto rel = rationale(l, l.eval_tokens[i], l.eval_labels[i]);
          if (std::none_of(rel.begin(), rel.end(), [](int v) { return v != 0; })) continue;
          aps.push_back(xai::average_precision(l.eval_labels[i] == 0 ? c0[i] : c1[i], rel));
        }
        pv.ha.push_back(mean_of(aps));
        // CI
        std::vector<std::vector<std::vector<double>>> sal;
        for (std::size_t i = 0; i < n; ++i) sal.push_back({c0[i], c1[i]});
        pv.ci.push_back(xai::confidence_indication(sal, pred.predicted, p_pred, 5, 0.1, o.seed + static_cast<std::uint64_t>(s)).mae_mean);
        // F
        std::vector<double> f1s;
        for (double t : thresholds) {
          std::vector<std::vector<bool>> removed(n);
          for (std::size_t i = 0; i < n; ++i) {
            const auto& sc = pred.predicted[i] == 0 ? c0[i] : c1[i];
            const auto len = static_cast<std::int64_t>(l.eval_ids[i].size());
            const auto k = static_cast<std::int64_t>(std::ceil(t / 100.0 * static_cast<double>(len) - 1e-9));
            removed[i].assign(static_cast<std::size_t>(len), false);
            for (std::int64_t p : xai::top_positions(sc, len, k)) removed[i][static_cast<std::size_t>(p)] = true;
          }
          f1s.push_back(xai::macro_f1(predict_removed(model, l.eval_ids, removed).predicted, l.eval_labels, 2));
        }
        pv.f.push_back(xai::trapezoid_auc(thresholds, f1s) / 100.0);
        if (pv.f_curve.empty()) pv.f_curve.assign(f1s.size(), 0.0);
        for (std::size_t k = 0; k < f1s.size(); ++k) pv.f_curve[k] += f1s[k] / static_cast<double>(seeds);
        // DC
        std::vector<double> act_d, sal_d;
        for (const xai::InstancePair& p : pairs) {
          const auto a = static_cast<std::size_t>(p.a), b = static_cast<std::size_t>(p.b);
          act_d.push_back(activation_difference(trained_acts[static_cast<std::size_t>(s)], a, trained_acts[static_cast<std::size_t>(s)], b));
          sal_d.push_back(xai::mean_abs_difference(l.eval_labels[a] == 0 ? c0[a] : c1[a], l.eval_labels[b] == 0 ? c0[b] : c1[b]));
        }
        pv.dc.push_back(spearman_of(act_d, sal_d));
      }
    }
    // RC: the gold class's scores of pairs of models on the same sentences.
    for (std::size_t mi = 0; mi < methods().size(); ++mi) {
      if (!applies(methods()[mi], arch)) continue;
      bar.update(done);
      done += static_cast<std::int64_t>(l.untrained(arch).size());
      struct Side { bool trained; std::int64_t index; };
      std::vector<std::pair<Side, Side>> model_pairs;
      for (std::int64_t s = 0; s + 1 < seeds; ++s) model_pairs.push_back({{true, s}, {true, s + 1}});
      const auto randoms = static_cast<std::int64_t>(l.untrained(arch).size());
      for (std::int64_t s = 0; s + 1 < randoms; ++s) model_pairs.push_back({{false, s}, {false, s + 1}});
      for (std::int64_t s = 0; s < std::min(randoms, seeds); ++s) model_pairs.push_back({{false, s}, {true, s}});
      std::vector<double> act_d, sal_d;
      for (const auto& [x, y] : model_pairs) {
        const TokenScores sx = eval_scores_for(l, arch, x.trained, x.index, mi, l.eval_labels);
        const TokenScores sy = eval_scores_for(l, arch, y.trained, y.index, mi, l.eval_labels);
        const Activations& ax = (x.trained ? trained_acts : random_acts)[static_cast<std::size_t>(x.index)];
        const Activations& ay = (y.trained ? trained_acts : random_acts)[static_cast<std::size_t>(y.index)];
        for (std::size_t i = 0; i < n; ++i) {
          act_d.push_back(activation_difference(ax, i, ay, i));
          sal_d.push_back(xai::mean_abs_difference(sx[i], sy[i]));
        }
      }
      props[mi].rc = model_pairs.empty() ? std::nan("") : spearman_of(act_d, sal_d);
    }
    bar.update((seeds + static_cast<std::int64_t>(l.untrained(arch).size())) * static_cast<std::int64_t>(methods().size()));

    // The table, and each method's mean rank over the five properties (1 = best).
    std::vector<std::size_t> shown;
    for (std::size_t mi = 0; mi < methods().size(); ++mi)
      if (applies(methods()[mi], arch)) shown.push_back(mi);
    auto means = [&](auto get) {
      std::vector<double> v;
      for (std::size_t mi : shown) v.push_back(get(props[mi]));
      return v;
    };
    const std::vector<std::vector<double>> columns{
        means([](const PropertyValues& p) { return mean_of(p.ha); }), means([](const PropertyValues& p) { return mean_of(p.ci); }),
        means([](const PropertyValues& p) { return mean_of(p.f); }), means([](const PropertyValues& p) { return p.rc; }),
        means([](const PropertyValues& p) { return mean_of(p.dc); })};
    const std::vector<bool> higher_better{true, false, false, true, true};
    std::vector<double> mean_rank(shown.size(), 0.0);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      std::vector<double> key;
      for (double v : columns[c]) key.push_back(std::isfinite(v) ? (higher_better[c] ? -v : v) : 1e300);
      const std::vector<double> ranks = xai::average_ranks(key);
      for (std::size_t k = 0; k < shown.size(); ++k) mean_rank[k] += ranks[k] / static_cast<double>(columns.size());
    }
    report::Table table({{"method", "", -22}, {"HA (MAP ↑)", "HA", 15}, {"CI (MAE ↓)", "CI", 15}, {"F (AUC ↓)", "F", 15},
                         {"RC (ρ ↑)", "RC", 7}, {"DC (ρ ↑)", "DC", 15}, {"mean rank", "rank", 6}},
                        "  ");
    r.say(std::string("  ") + arch_name(arch) + " (" + std::to_string(seeds) + " seeds, " + std::to_string(n) + " sentences):");
    for (std::size_t k = 0; k < shown.size(); ++k) {
      const PropertyValues& p = props[shown[k]];
      const std::vector<std::string> key{"diagnostics", akey, methods()[shown[k]].key};
      auto cell = [&](const std::string& name, const std::vector<double>& v, const char* f) {
        auto kk = key;
        kk.push_back(name);
        const std::string m = r.number(kk, mean_of(v), f);
        kk.back() = name + "_std";
        return m + " ± " + r.number(kk, std_of(v), f);
      };
      auto kr = key;
      kr.push_back("rc");
      auto km = key;
      km.push_back("mean_rank");
      table.row({methods()[shown[k]].name, cell("ha", p.ha, "%.3f"), cell("ci", p.ci, "%.4f"), cell("f", p.f, "%.3f"),
                 r.number(kr, p.rc, "%.3f"), cell("dc", p.dc, "%.3f"), r.number(km, mean_rank[k], "%.2f")});
    }
    std::vector<std::size_t> order(shown.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return mean_rank[a] < mean_rank[b]; });
    std::string ranking;
    for (std::size_t k : order) ranking += (ranking.empty() ? "" : " > ") + methods()[shown[k]].name;
    r.text({"diagnostics", akey, "ranking"}, ranking);
    r.say("  ranking: " + ranking);
    r.paragraph("<b>" + std::string(arch_name(arch)) + "</b> (" + std::to_string(seeds) + " seeds; RC over " +
                std::to_string(std::max<std::int64_t>(seeds - 1, 0)) + " trained/trained, " +
                std::to_string(std::max<std::int64_t>(static_cast<std::int64_t>(l.untrained(arch).size()) - 1, 0)) +
                " untrained/untrained and " + std::to_string(std::min<std::int64_t>(static_cast<std::int64_t>(l.untrained(arch).size()), seeds)) +
                " untrained/trained model pairs). Ranking by mean rank: " + ranking + ".");
    r.table(table);

    std::vector<figures::Series> curves;
    for (std::size_t k = 0; k < shown.size(); ++k)
      curves.push_back({.name = methods()[shown[k]].name, .xs = thresholds, .ys = props[shown[k]].f_curve});
    r.chart(std::string("faithfulness_") + akey + ".png",
            figures::make_line_chart(curves, {.title = std::string(arch_name(arch)) + ": macro-F1 as top tokens are masked",
                                              .xlabel = "% of tokens set to <pad>", .ylabel = "macro-F1", .width = 640, .height = 420}),
            std::string("Faithfulness curves of the ") + arch_name(arch) +
                ": macro-F1 against the share of each sentence's highest-scoring tokens set to <pad>, one line per method");
  }
  r.paragraph("Human agreement uses the " + std::to_string(with_rationale) + " of " + std::to_string(n) +
              " sentences that contain at least one AFINN-165 word of the gold label's sign (the others have no "
              "rationale and are skipped). This rationale is a proxy: AFINN marks words that carry sentiment in "
              "general, not the words a person marked in these sentences. Dataset consistency uses " +
              std::to_string(pairs.size()) + " sentence pairs. F's AUC is in macro-F1 units (the mean over the "
              "masking levels); a masked token's embedding becomes the <code>&lt;pad&gt;</code> embedding (zeros, as "
              "PyTorch's padding_idx row) while the sentence keeps its length: the baseline of the perturbation methods. Confidence indication: 5 shuffle splits of 10% test sentences, features min-max scaled.");
}

}  // namespace lumen::explain_text
