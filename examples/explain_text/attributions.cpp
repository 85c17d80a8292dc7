// Step 2: what every method says about single sentences, as heat maps (the sentences a user typed with
// --text first); how the per-token aggregation changes the picture; how far Shapley value sampling is
// from the exact Shapley values; how well LIME's linear surrogates fit.
#include <algorithm>
#include <cmath>

#include "examples/explain_text/steps.h"
#include "xai/diagnostics.h"

namespace lumen::explain_text {

namespace {

struct Shown {
  std::vector<std::string> tokens;  // as displayed (truncated to max_len)
  std::vector<std::int64_t> ids;
  std::string source;               // "typed" or "test sentence 17"
  std::int64_t gold = -1;           // -1: unknown (a typed sentence)
};

const char* sentiment(std::int64_t c) { return c == 1 ? "positive" : "negative"; }

std::vector<std::string> truncated(std::vector<std::string> t, std::int64_t n) {
  if (static_cast<std::int64_t>(t.size()) > n) t.resize(static_cast<std::size_t>(n));
  return t;
}

}  // namespace

void token_attributions(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("2. token attributions");
  std::vector<Shown> shown;
  for (const std::string& text : o.texts) {
    std::vector<std::string> tokens = truncated(nn::tokenize(text), o.max_len);
    LUMEN_CHECK(!tokens.empty(), "explain_text --text", "'" + text + "' has no tokens to explain");
    shown.push_back({tokens, l.vocab.encode(tokens), "typed with --text", -1});
  }
  const nn::TextDataset test(l.splits.test, l.vocab, kMinLen, o.max_len);
  for (std::int64_t i = 0; i < std::min<std::int64_t>(o.heatmap_sentences, static_cast<std::int64_t>(l.eval_rows.size())); ++i) {
    const std::int64_t row = l.eval_rows[static_cast<std::size_t>(i * static_cast<std::int64_t>(l.eval_rows.size()) /
                                                                  std::max<std::int64_t>(o.heatmap_sentences, 1))];
    const nn::LabelledText& s = l.splits.test[static_cast<std::size_t>(row)];
    shown.push_back({truncated(s.tokens, o.max_len), rows_of(test, {row}, o.max_len)[0],
                     s.domain + " test sentence " + std::to_string(row), s.label});
  }
  std::vector<std::vector<std::int64_t>> rows;
  for (const Shown& s : shown) rows.push_back(s.ids);

  // scores[arch][method][sentence], for each model's predicted class.
  std::vector<std::vector<TokenScores>> scores(2);
  std::vector<Predictions> preds;
  for (Arch arch : {Arch::cnn, Arch::bilstm}) {
    nn::TextClassifier& model = *l.trained(arch)[0].model;
    preds.push_back(predict(model, rows, kMinLen));
    MethodContext ctx{model, arch, o, l.gen};
    for (const Method& m : methods())
      scores[static_cast<std::size_t>(arch)].push_back(applies(m, arch) ? attribute_rows(m, ctx, rows, preds.back().predicted)
                                                                        : TokenScores{});
  }

  r.heading("2. Token attributions");
  r.paragraph("Each token colored by its attribution for the class the model predicts (red: for it, blue: against; the "
              "strength is relative to the sentence's largest |score|; hover for the value). The gradient methods "
              "differentiate the logit w.r.t. the input embeddings and aggregate each token's " +
              std::to_string(o.embedding_dim) +
              " numbers: μ is the mean over the dimensions (of |∂f/∂e| for Saliency, signed for the others), ℓ2 the "
              "Euclidean norm (never negative), Σ the signed sum (IG's attributions then add up to the logit's change "
              "from the all-<code>&lt;pad&gt;</code> baseline). Occlusion, Shapley value sampling (" +
              std::to_string(o.shapley_samples) + " permutations) and LIME (" + std::to_string(o.lime_samples) +
              " samples, each token kept with p = ½ else set to <code>&lt;pad&gt;</code>, similarity = the number of "
              "tokens kept, ridge) replace whole tokens by the <code>&lt;pad&gt;</code> embedding. Run "
              "<code>explain_text --text \"your sentence\"</code> to see your own sentences here first.");
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const Shown& s = shown[i];
    std::string caption = "<b>" + report::escape_html(s.source) + "</b>";
    if (s.gold >= 0) caption += std::string(", labelled ") + sentiment(s.gold);
    std::string console = "  " + s.source + (s.gold >= 0 ? std::string(" (") + sentiment(s.gold) + ")" : "") + ":";
    for (Arch arch : {Arch::cnn, Arch::bilstm}) {
      const Predictions& p = preds[static_cast<std::size_t>(arch)];
      const std::int64_t c = p.predicted[i];
      const std::string prob = report::format("%.3f", p.probabilities[i][static_cast<std::size_t>(c)]);
      caption += std::string("; the ") + arch_name(arch) + " predicts " + sentiment(c) + " (" + prob + ")";
      console += std::string(" ") + arch_name(arch) + " → " + sentiment(c) + " " + prob + ";";
      if (s.gold < 0) {
        const std::string key = "text_" + std::to_string(i);
        r.text({"typed", key, "text"}, o.texts[i]);
        r.text({"typed", key, std::string(arch_key(arch)) + "_prediction"}, sentiment(c));
        r.number({"typed", key, std::string(arch_key(arch)) + "_probability"}, p.probabilities[i][static_cast<std::size_t>(c)], "%.4f");
      }
    }
    r.say(console);
    std::string html = "<p>" + caption + "</p>\n<table><tr><th>method</th><th>" + arch_name(Arch::cnn) + "</th><th>" +
                       arch_name(Arch::bilstm) + "</th></tr>\n";
    for (std::size_t m = 0; m < methods().size(); ++m) {
      html += "<tr><td style=\"text-align:left\">" + methods()[m].name + "</td>";
      for (Arch arch : {Arch::cnn, Arch::bilstm}) {
        const TokenScores& ts = scores[static_cast<std::size_t>(arch)][m];
        html += ts.empty() ? std::string("<td>— (no ReLU)</td>")
                           : "<td style=\"text-align:left\">" + heatmap_html(s.tokens, ts[i]) + "</td>";
        if (s.gold < 0 && !ts.empty() && (methods()[m].key == "integrated_gradients" || methods()[m].key == "occlusion"))
          r.say(std::string("    ") + arch_name(arch) + " " + methods()[m].name + ": " + heatmap_text(s.tokens, ts[i]));
      }
      html += "</tr>\n";
    }
    r.block(html + "</table>");
  }

  // ---- aggregations, on the first shown sentence, for the CNN
  {
    nn::TextClassifier& model = *l.trained(Arch::cnn)[0].model;
    MethodContext ctx{model, Arch::cnn, o, l.gen};
    const auto variants = aggregation_variants(ctx, {rows[0]}, {preds[0].predicted[0]});
    std::string html = "<table><tr><th>gradient, aggregation</th><th>" + std::string(arch_name(Arch::cnn)) + "</th></tr>\n";
    for (const auto& [name, ts] : variants)
      html += "<tr><td style=\"text-align:left\">" + name + "</td><td style=\"text-align:left\">" + heatmap_html(shown[0].tokens, ts[0]) + "</td></tr>\n";
    r.paragraph("<b>Aggregations.</b> The same gradients, aggregated four ways over the embedding dimensions (Σ: sum, "
                "μ: mean, ℓ1: sum of |·|, ℓ2: norm). Σ and μ differ only by the factor D (the same picture); ℓ1 and ℓ2 "
                "drop the sign, so a token that argues against the class looks as important as one that argues for it.");
    r.block(html + "</table>");
  }

  // ---- Shapley value sampling against the exact Shapley values, on short sentences
  report::Table shap({{"model", "", -10}, {"sentences", "", 9}, {"tokens (mean)", "tokens", 8},
                      {"mean |sampled − exact| / mean |exact|", "rel. error", 12}, {"Σ sampled = Σ exact", "efficiency", 11}},
                     "  ");
  for (Arch arch : {Arch::cnn, Arch::bilstm}) {
    std::vector<std::vector<std::int64_t>> short_rows;
    for (std::int64_t row : l.eval_rows) {
      const auto ids = rows_of(test, {row}, o.max_len)[0];
      if (ids.size() >= 3 && ids.size() <= 10) short_rows.push_back(ids);
      if (short_rows.size() == 8) break;
    }
    if (short_rows.empty()) continue;
    nn::TextClassifier& model = *l.trained(arch)[0].model;
    MethodContext ctx{model, arch, o, l.gen};
    const std::vector<std::int64_t> targets = predict(model, short_rows, kMinLen).predicted;
    const TokenScores exact = exact_shapley(ctx, short_rows, targets);
    const Method& sampling = *std::find_if(methods().begin(), methods().end(), [](const Method& m) { return m.key == "shapley_sampling"; });
    const TokenScores sampled = attribute_rows(sampling, ctx, short_rows, targets);
    double err = 0, mag = 0, sum_gap = 0, tokens = 0;
    for (std::size_t i = 0; i < exact.size(); ++i) {
      double se = 0, ss = 0;
      for (std::size_t t = 0; t < exact[i].size(); ++t)
        err += std::abs(sampled[i][t] - exact[i][t]), mag += std::abs(exact[i][t]), se += exact[i][t], ss += sampled[i][t];
      sum_gap = std::max(sum_gap, std::abs(se - ss));
      tokens += static_cast<double>(exact[i].size());
    }
    const std::string key = arch_key(arch);
    shap.row({arch_name(arch), std::to_string(exact.size()), report::format("%.1f", tokens / static_cast<double>(exact.size())),
              r.number({"shapley_check", key, "relative_error"}, err / std::max(mag, 1e-12), "%.3f"),
              r.number({"shapley_check", key, "max_sum_gap"}, sum_gap, "%.2g")});
  }
  r.paragraph("<b>Shapley value sampling vs exact Shapley values</b> (all 2<sup>T</sup> coalitions) on short test "
              "sentences: the error of " + std::to_string(o.shapley_samples) +
              " permutations. Both add up to f(x) − f(<code>&lt;pad&gt;</code>…) exactly (efficiency), so the sums agree "
              "to rounding; the individual values carry the sampling noise.");
  r.table(shap);

  // ---- LIME's surrogates
  report::Table lime({{"model", "", -10}, {"sentences", "", 9}, {"weighted MSE", "MSE", 12}, {"weighted R²", "R²", 8}}, "  ");
  for (Arch arch : {Arch::cnn, Arch::bilstm}) {
    nn::TextClassifier& model = *l.trained(arch)[0].model;
    MethodContext ctx{model, arch, o, l.gen};
    const std::int64_t n = std::min<std::int64_t>(50, static_cast<std::int64_t>(l.eval_rows.size()));
    const std::vector<std::int64_t> sub(l.eval_rows.begin(), l.eval_rows.begin() + n);
    const auto sub_rows = rows_of(test, sub, o.max_len);
    const LimeFit fit = lime_fit_quality(ctx, sub_rows, predict(model, sub_rows, kMinLen).predicted);
    const std::string key = arch_key(arch);
    lime.row({arch_name(arch), std::to_string(n), r.number({"lime_fit", key, "mse"}, fit.mse, "%.4f"),
              r.number({"lime_fit", key, "r2"}, fit.r2, "%.3f")});
  }
  r.paragraph("<b>How well LIME's linear surrogates fit</b> the logit on their own perturbed samples (weighted by the "
              "number of tokens kept): a low R² means the linear explanation misses much of what the model does "
              "around that sentence.");
  r.table(lime);
}

}  // namespace lumen::explain_text
