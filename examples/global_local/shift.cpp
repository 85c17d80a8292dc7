// Step 6 of the global_local lesson: robustness to data shift. The same three predictions (softmax, MC
// dropout, ensemble) on test images that were rotated, made noisy, paler or darker, and on images of
// another data set altogether (MNIST digits shown to the Fashion-MNIST model): does accuracy fall, do
// the probabilities stay calibrated, and does the uncertainty rise enough to tell shifted inputs apart?
#include <algorithm>
#include <filesystem>
#include <numeric>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "examples/global_local/steps.h"
#include "examples/lesson.h"
#include "figures/plot.h"
#include "nn/mnist.h"
#include "nn/transforms.h"
#include "xai/calibration.h"
#include "xai/uncertainty.h"

namespace lumen::global_local {

namespace {

struct Shift {
  std::string key, name;
  Tensor raw;           // [N, 1, 28, 28] in [0, 1]
  bool labelled = true;  // false: out-of-distribution, no Fashion-MNIST label applies
};

// The measure each prediction is judged by for out-of-distribution detection: the one that uses what it has.
struct Judged {
  const char* key;
  const char* name;
  Tensor Predictions::*probs;
  xai::Measure measure;
};
const Judged kJudged[] = {
    {"softmax_confidence", "softmax −max p", &Predictions::softmax, xai::Measure::confidence},
    {"softmax_entropy", "softmax entropy", &Predictions::softmax, xai::Measure::total},
    {"mc_entropy", "MC EoE", &Predictions::mc_dropout, xai::Measure::total},
    {"mc_mi", "MC MI", &Predictions::mc_dropout, xai::Measure::mutual_information},
    {"ensemble_entropy", "ens. EoE", &Predictions::ensemble, xai::Measure::total},
    {"ensemble_mi", "ens. MI", &Predictions::ensemble, xai::Measure::mutual_information},
    {"ensemble_epkl", "ens. EPKL", &Predictions::ensemble, xai::Measure::epkl},
};
// A reliability diagram: each non-empty bin's accuracy against its mean confidence, per prediction.
figures::Chart reliability_plot(const std::vector<xai::Calibration>& cals, const std::string& title) {
  std::vector<figures::Series> series{{.name = "perfect calibration", .xs = {0, 1}, .ys = {0, 1},
                                       .color = std::array<float, 3>{0.6f, 0.6f, 0.6f}}};
  for (std::size_t w = 0; w < cals.size(); ++w) {
    figures::Series s{.name = kWays[w].name};
    for (const xai::CalibrationBin& b : cals[w].bins)
      if (b.count > 0) s.xs.push_back(b.confidence), s.ys.push_back(b.accuracy);
    if (!s.xs.empty()) series.push_back(s);
  }
  return figures::make_line_chart(series, {.title = title, .xlabel = "confidence (bin mean)", .ylabel = "accuracy",
                                           .xlim = std::pair{0.0, 1.0}, .ylim = std::pair{0.0, 1.0}, .markers = true});
}

}  // namespace

void data_shift(Lesson& l, report::Report& r) {
  const std::int64_t n = std::min(l.o.eval_images, l.test.size());
  r.step("6. robustness to data shift (" + std::to_string(n) + " images per shift)");
  const Tensor clean = l.test.images.narrow(0, 0, n), labels = l.test.labels.narrow(0, 0, n);
  Generator gen(l.o.seed + 1000);
  std::vector<Shift> shifts{{"clean", "clean", clean}};
  for (int deg : {15, 30, 45, 90})
    shifts.push_back({"rotate" + std::to_string(deg), "rotated " + std::to_string(deg) + "°", nn::rotate(clean, deg)});
  shifts.push_back({"noise0.3", "noise σ=0.3", nn::add_gaussian_noise(clean, 0.3, &gen)});
  shifts.push_back({"contrast0.3", "contrast ×0.3", nn::adjust_contrast(clean, 0.3)});
  shifts.push_back({"brightness0.5", "brightness ×0.5", nn::adjust_brightness(clean, 0.5)});
  const nn::MnistSplit digits =
      nn::split_mnist(nn::load_mnist((std::filesystem::path(l.o.data_dir) / "mnist").string()));
  const std::int64_t n_ood = std::min(n, digits.test.size());
  shifts.push_back({"mnist", "MNIST digits (OOD)",
                    digits.test.images.narrow(0, 0, n_ood).reshape({n_ood, 1, 28, 28}), false});

  const std::vector<report::Column> acc_cols{{"shift", "", -20}, {"softmax accuracy", "acc", 7}, {"MC dropout accuracy", "MC acc", 7},
                           {"ensemble accuracy", "ens acc", 7}, {"softmax ECE", "ECE", 7}, {"MC dropout ECE", "MC ECE", 7},
                           {"ensemble ECE", "ens ECE", 7}};
  std::vector<report::Column> auc_cols{{"shift", "", -20}};
  for (const Judged& j : kJudged) auc_cols.push_back({j.name, j.name, 10});
  std::vector<std::vector<std::string>> acc_rows, auc_rows;  // the tables are printed after the loop

  lesson::Progress bar("shifts", static_cast<std::int64_t>(shifts.size()), "shifts");
  std::vector<std::vector<double>> clean_scores;  // per judged measure, on the clean images
  std::vector<std::vector<xai::Calibration>> reliability;  // clean and rotated 45°
  std::vector<xai::RetentionCurve> retention;  // clean, per prediction
  for (std::size_t s = 0; s < shifts.size(); ++s) {
    const Shift& sh = shifts[s];
    const Predictions p = predict(l, sh.raw);
    std::vector<std::string> acc_row{sh.name}, ece_cells, auc_row{sh.name};
    std::vector<xai::Calibration> cals;
    for (std::size_t w = 0; w < 3; ++w) {
      const xai::UncertaintyMeasures u = xai::uncertainty_measures(p.*kWays[w].probs);
      if (!sh.labelled) {
        acc_row.push_back("–");
        ece_cells.push_back("–");
        continue;
      }
      const std::vector<std::uint8_t> correct = correct_of(u.mean_probs, labels);
      const double acc = std::accumulate(correct.begin(), correct.end(), 0.0) / static_cast<double>(correct.size());
      const xai::Calibration cal = xai::calibration(as_doubles(amax(u.mean_probs, {1})), correct, 15);
      acc_row.push_back(r.number({"data_shift", sh.key, kWays[w].key, "accuracy"}, acc, "%.4f"));
      ece_cells.push_back(r.number({"data_shift", sh.key, kWays[w].key, "ece"}, cal.ece, "%.4f"));
      cals.push_back(cal);
      if (s == 0) retention.push_back(xai::retention_curve(as_doubles(u.total), correct, 100));
    }
    acc_row.insert(acc_row.end(), ece_cells.begin(), ece_cells.end());
    acc_rows.push_back(acc_row);
    if (sh.key == "clean" || sh.key == "rotate45") reliability.push_back(cals);
    // AUROC of telling these images (positives) from the clean ones (negatives) by each measure.
    for (std::size_t j = 0; j < std::size(kJudged); ++j) {
      const xai::UncertaintyMeasures u = xai::uncertainty_measures(p.*kJudged[j].probs);
      const std::vector<double> scores = as_doubles(xai::measure(u, kJudged[j].measure));
      if (s == 0) {
        clean_scores.push_back(scores);
      } else {
        auc_row.push_back(r.number({"data_shift", sh.key, "auroc", kJudged[j].key},
                                   xai::auroc(clean_scores[j], scores), "%.3f"));
      }
    }
    if (s > 0) auc_rows.push_back(auc_row);
    bar.update(static_cast<std::int64_t>(s) + 1);
  }

  report::Table acc_table(acc_cols, "  ");
  for (const auto& row : acc_rows) acc_table.row(row);
  report::Table auc_table(auc_cols, "  ");
  for (const auto& row : auc_rows) auc_table.row(row);

  // Error-retention on the clean images, by each prediction's total uncertainty (EoE).
  std::vector<figures::Series> curves;
  report::Table ret_table({{"prediction", "", -11}, {"AUC", "AUC", 7}, {"oracle AUC", "oracle", 7},
                           {"random AUC", "random", 7}}, "  ");
  for (std::size_t w = 0; w < retention.size(); ++w) {
    const xai::RetentionCurve& c = retention[w];
    std::vector<double> pct;
    for (double x : c.rejected) pct.push_back(100 * x);
    curves.push_back({.name = kWays[w].name, .xs = pct, .ys = c.accuracy});
    ret_table.row({kWays[w].name, r.number({"data_shift", "retention", kWays[w].key, "auc"}, c.auc, "%.4f"),
                   r.number({"data_shift", "retention", kWays[w].key, "oracle_auc"}, c.oracle_auc, "%.4f"),
                   r.number({"data_shift", "retention", kWays[w].key, "random_auc"}, c.random_auc, "%.4f")});
  }

  r.heading("6. Robustness to data shift");
  r.paragraph("The same " + std::to_string(n) + " test images rotated (bilinear, about the centre), with Gaussian "
              "noise (σ = 0.3, clamped to [0, 1]), with contrast ×0.3 and brightness ×0.5 (torchvision's "
              "definitions), and " + std::to_string(n_ood) + " real MNIST digits that the Fashion-MNIST model was never "
              "meant to see. Accuracy and expected calibration error (15 equal-width bins of the mean prediction's "
              "top probability) of each prediction:");
  r.table(acc_table);
  r.paragraph("How well each uncertainty measure tells the shifted images (positives) from the clean ones (AUROC; 0.5 "
              "= no better than chance, 1 = every shifted image more uncertain than every clean one):");
  r.table(auc_table);
  r.chart("reliability_clean.png", reliability_plot(reliability[0], "reliability: clean test images"),
          "reliability diagram on the clean test images");
  if (reliability.size() > 1)
    r.chart("reliability_rotate45.png", reliability_plot(reliability[1], "reliability: rotated 45°"),
            "reliability diagram on the test images rotated by 45 degrees");
  r.paragraph("Error-retention on the clean test images: the accuracy on the images kept when the given percentage "
              "with the highest total uncertainty (EoE) is rejected. AUC is the curve's mean; the oracle rejects the "
              "errors first, uninformative uncertainty keeps the accuracy constant:");
  r.table(ret_table);
  r.chart("retention.png",
          figures::make_line_chart(curves, {.title = "error-retention (clean test images)",
                                            .xlabel = "% most uncertain rejected", .ylabel = "accuracy", .markers = false}),
          "accuracy of the retained images against the percentage of most uncertain images rejected");
}

}  // namespace lumen::global_local
