// Step 3: the lab's two checks of an explanation, on the evaluation sentences and the first model of
// each architecture.
//   Faithfulness: replace each sentence's top-k tokens (by the explanation of the predicted class) by
//   <unk> and measure macro-F1 again: the more it falls, the more the tokens the method picked mattered.
//   Stability: append " Bye." to every sentence. A stable explanation changes about as much as the
//   model's output does: across sentences, the distance between the logits before/after should go with
//   the distance between the explanations of the original tokens (Pearson and Spearman).
#include <cmath>

#include "autograd/ops.h"
#include "examples/explain_text/steps.h"
#include "examples/lesson.h"
#include "xai/diagnostics.h"
#include "xai/evaluation.h"

namespace lumen::explain_text {

namespace {

double correlation(double (*f)(const Tensor&, const Tensor&), const std::vector<double>& a, const std::vector<double>& b) {
  return f(tensor(a, {static_cast<std::int64_t>(a.size())}, {.dtype = DType::float64}),
           tensor(b, {static_cast<std::int64_t>(b.size())}, {.dtype = DType::float64}));
}

}  // namespace

void lab_evaluations(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("3. the lab's faithfulness and stability");
  report::Table table({{"model", "", -9}, {"method", "", -22}, {"macro-F1 before", "F1 before", 9},
                       {"after top-" + std::to_string(o.faithfulness_top_k) + " → &lt;unk&gt;", "F1 after", 9},
                       {"predictions changed", "flipped", 8}, {"stability Pearson", "Pearson", 8},
                       {"stability Spearman", "Spearman", 8}},
                      "  ");
  const std::int64_t unk = nn::Vocab::kUnk;
  const std::vector<std::int64_t> bye = l.vocab.encode(nn::tokenize(" Bye."));
  for (Arch arch : {Arch::cnn, Arch::bilstm}) {
    nn::TextClassifier& model = *l.trained(arch)[0].model;
    const Predictions before = predict(model, l.eval_ids, kMinLen);
    const double f1_before = xai::macro_f1(before.predicted, l.eval_labels, 2);
    // The sentences with " Bye." (cut first where that would pass max_len, so both see the same tokens).
    std::vector<std::vector<std::int64_t>> with_bye;
    for (auto ids : l.eval_ids) {
      const std::size_t keep = std::min(ids.size(), static_cast<std::size_t>(o.max_len) - bye.size());
      ids.resize(keep);
      ids.insert(ids.end(), bye.begin(), bye.end());
      with_bye.push_back(std::move(ids));
    }
    const Predictions after_bye = predict(model, with_bye, kMinLen);
    Generator gen(o.seed + 31);
    MethodContext ctx{model, arch, o, gen};
    lesson::Progress bar(std::string(arch_name(arch)) + ": faithfulness and stability", static_cast<std::int64_t>(methods().size()), "methods");
    for (std::size_t mi = 0; mi < methods().size(); ++mi) {
      const Method& m = methods()[mi];
      bar.update(static_cast<std::int64_t>(mi));
      if (!applies(m, arch)) continue;
      const TokenScores scores = eval_scores_for(l, arch, true, 0, mi, before.predicted);
      std::vector<std::vector<std::int64_t>> masked = l.eval_ids;
      for (std::size_t i = 0; i < masked.size(); ++i)
        for (std::int64_t t : xai::top_positions(scores[i], static_cast<std::int64_t>(masked[i].size()), o.faithfulness_top_k))
          masked[i][static_cast<std::size_t>(t)] = unk;
      const Predictions after = predict(model, masked, kMinLen);
      std::int64_t flipped = 0;
      for (std::size_t i = 0; i < masked.size(); ++i) flipped += after.predicted[i] != before.predicted[i];

      const TokenScores bye_scores = attribute_rows(m, ctx, with_bye, before.predicted);
      std::vector<double> logit_dist, saliency_dist;
      for (std::size_t i = 0; i < with_bye.size(); ++i) {
        double d = 0;
        for (std::size_t k = 0; k < before.logits[i].size(); ++k) d += std::pow(before.logits[i][k] - after_bye.logits[i][k], 2);
        logit_dist.push_back(std::sqrt(d));
        const std::size_t n = with_bye[i].size() - bye.size();  // the original tokens both explanations cover
        saliency_dist.push_back(xai::mean_abs_difference(std::vector<double>(scores[i].begin(), scores[i].begin() + static_cast<std::ptrdiff_t>(n)),
                                                         std::vector<double>(bye_scores[i].begin(), bye_scores[i].begin() + static_cast<std::ptrdiff_t>(n))));
      }
      const std::string key = arch_key(arch);
      table.row({arch_name(arch), m.name, report::format("%.4f", f1_before),
                 r.number({"lab", key, m.key, "f1_after_top_k"}, xai::macro_f1(after.predicted, l.eval_labels, 2), "%.4f"),
                 r.number({"lab", key, m.key, "flipped"}, static_cast<double>(flipped) / static_cast<double>(masked.size()), "%.3f"),
                 r.number({"lab", key, m.key, "stability_pearson"}, correlation(xai::pearson, logit_dist, saliency_dist), "%.3f"),
                 r.number({"lab", key, m.key, "stability_spearman"}, correlation(xai::spearman, logit_dist, saliency_dist), "%.3f")});
    }
    bar.update(static_cast<std::int64_t>(methods().size()));
    r.number({"lab", arch_key(arch), "f1_before"}, f1_before, "%.4f");
  }
  r.heading("3. The lab's faithfulness and stability");
  r.paragraph("On " + std::to_string(l.eval_ids.size()) + " test sentences, with the first model of each architecture. "
              "<b>Faithfulness</b>: each sentence's " + std::to_string(o.faithfulness_top_k) +
              " highest-scoring tokens (explaining the predicted class) become <code>&lt;unk&gt;</code>; a faithful "
              "method picks tokens the prediction rests on, so macro-F1 falls and predictions flip. <b>Stability</b>: "
              "\" Bye.\" is appended to every sentence; across sentences, the Euclidean distance between the logits "
              "before and after is correlated with the mean |difference| of the explanations of the original tokens. "
              "A positive correlation means the explanation moves when, and as much as, the model does.");
  r.table(table);
}

}  // namespace lumen::explain_text
