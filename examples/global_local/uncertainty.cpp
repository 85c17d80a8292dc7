// Steps 4 and 7 of the global_local lesson: how sure is the model? Monte Carlo dropout (the model's
// dropout left on at test time, T passes) and the deep ensemble (the members of step 1) turn one
// prediction into a distribution of predictions, whose spread the measures of xai/uncertainty.h read.
// Step 7 then explains *uncertainty* itself: since every measure is built from differentiable ops,
// Integrated Gradients and Grad-CAM can attribute it to the pixels like any logit.
#include <algorithm>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/global_local/steps.h"
#include "examples/lesson.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "xai/calibration.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/uncertainty.h"
#include "xai/visualize.h"

namespace lumen::global_local {

Predictions predict(const Lesson& l, const Tensor& raw) {
  autograd::NoGradGuard no_grad;
  const Tensor x = l.normalise(raw);
  Predictions p;
  nn::VGG& model = *l.model();
  model.eval();
  p.softmax = softmax(model(x), 1).unsqueeze(0);
  const Tensor features = model.embed(x);  // deterministic: computed once for all passes
  p.mc_dropout = xai::mc_dropout_probs(*model.classifier, features, l.o.mc_passes);
  std::vector<nn::Module*> members;
  for (const auto& m : l.members) members.push_back(m.get());
  p.ensemble = xai::ensemble_probs(members, x);
  return p;
}

std::vector<std::uint8_t> correct_of(const Tensor& mean_probs, const Tensor& labels) {
  const auto pred = argmax(mean_probs, 1).to_vector<std::int64_t>();
  const auto truth = labels.to_vector<std::int64_t>();
  std::vector<std::uint8_t> c(pred.size());
  for (std::size_t i = 0; i < pred.size(); ++i) c[i] = pred[i] == truth[i];
  return c;
}

std::vector<double> as_doubles(const Tensor& t) { return t.to(DType::float64).to_vector<double>(); }

void uncertainty(Lesson& l, report::Report& r) {
  const std::int64_t n = std::min(l.o.eval_images, l.test.size());
  r.step("4. MC dropout (T = " + std::to_string(l.o.mc_passes) + ") and the deep ensemble (M = " +
         std::to_string(l.members.size()) + ") on " + std::to_string(n) + " test images");
  const Tensor raw = l.test.images.narrow(0, 0, n), labels = l.test.labels.narrow(0, 0, n);
  const auto t0 = std::chrono::steady_clock::now();
  const Predictions p = predict(l, raw);
  r.number({"uncertainty", "seconds"}, lesson::seconds_since(t0), "%.1f", " s");

  const std::vector<xai::Measure> measures{xai::Measure::confidence, xai::Measure::total, xai::Measure::data,
                                           xai::Measure::mutual_information, xai::Measure::epkl,
                                           xai::Measure::reverse_mi, xai::Measure::predicted_variance,
                                           xai::Measure::mean_variance};
  std::vector<report::Column> cols{{"prediction", "", -11}, {"accuracy", "acc", 7}, {"ECE (15 bins)", "ECE", 7}};
  for (xai::Measure m : measures) cols.push_back({xai::measure_name(m), xai::measure_name(m), 9});
  report::Table means(cols, "  ");
  std::vector<report::Column> auc_cols{{"prediction", "", -11}};
  for (xai::Measure m : measures) auc_cols.push_back({xai::measure_name(m), xai::measure_name(m), 9});
  std::vector<std::vector<std::string>> auc_rows;  // printed after the means table
  for (const Way& w : kWays) {
    const xai::UncertaintyMeasures u = xai::uncertainty_measures(p.*w.probs);
    const std::vector<std::uint8_t> correct = correct_of(u.mean_probs, labels);
    const double acc = std::accumulate(correct.begin(), correct.end(), 0.0) / static_cast<double>(n);
    const xai::Calibration cal = xai::calibration(as_doubles(amax(u.mean_probs, {1})), correct, 15);
    std::vector<std::string> row{w.name, r.number({"uncertainty", w.key, "accuracy"}, acc, "%.4f"),
                                 r.number({"uncertainty", w.key, "ece"}, cal.ece, "%.4f")};
    std::vector<std::string> auc_row{w.name};
    for (xai::Measure m : measures) {
      const std::vector<double> values = as_doubles(xai::measure(u, m));
      row.push_back(r.number({"uncertainty", w.key, "mean", xai::measure_name(m)},
                             std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n), "%.4f"));
      // Misclassification detection: does the measure rank the errors above the correct predictions?
      std::vector<double> right, wrong;
      for (std::int64_t i = 0; i < n; ++i) (correct[i] ? right : wrong).push_back(values[i]);
      const double auc = wrong.empty() || right.empty() ? 0.5 : xai::auroc(right, wrong);
      auc_row.push_back(r.number({"uncertainty", w.key, "error_auroc", xai::measure_name(m)}, auc, "%.3f"));
    }
    means.row(row);
    auc_rows.push_back(auc_row);
  }
  report::Table error_auroc(auc_cols, "  ");
  for (const auto& row : auc_rows) error_auroc.row(row);
  r.heading("4. Monte Carlo dropout and the deep ensemble");
  r.paragraph("Three predictions for each of " + std::to_string(n) + " test images: the model's softmax; MC dropout "
              "(the model in eval mode with only its two Dropout(0.5) layers active, T = " +
              std::to_string(l.o.mc_passes) + " passes, batched); and the deep ensemble of the " +
              std::to_string(l.members.size()) + " members. With p̄ the mean of the members' (passes') softmax and "
              "ε = 1e-10: confidence −max p̄, total uncertainty EoE = −Σ p̄ log(p̄+ε), data uncertainty ExE = "
              "−mean<sub>m</sub> Σ p<sub>m</sub> log(p<sub>m</sub>+ε), model uncertainty MI = EoE − ExE, EPKL = "
              "−Σ<sub>c</sub> p̄<sub>c</sub> mean<sub>m</sub> log(p<sub>mc</sub>+ε) − ExE, reverse MI = EPKL − MI, "
              "the variance over members of the predicted class's probability and the mean variance over classes. "
              "A single softmax has no model uncertainty: its MI, EPKL and variances are 0. Means over the images:");
  r.table(means);
  r.paragraph("How well each measure tells the misclassified images from the correct ones (AUROC; 0.5 = chance):");
  r.table(error_auroc);
}

void explain_uncertainty(Lesson& l, report::Report& r) {
  r.step("7. explaining uncertainty: IG and Grad-CAM of the predictive entropy and of the ensemble's MI");
  const std::int64_t n = std::min(l.o.eval_images, l.test.size());
  const Tensor raw_all = l.test.images.narrow(0, 0, n);
  xai::UncertaintyModule entropy({l.model()}, xai::Measure::total);
  std::vector<nn::ModulePtr> members(l.members.begin(), l.members.end());
  xai::UncertaintyModule mutual_information(members, xai::Measure::mutual_information);
  entropy.eval();
  mutual_information.eval();

  // The four images the model is least sure of, and the two it is surest of.
  std::vector<double> h;
  {
    autograd::NoGradGuard no_grad;
    h = as_doubles(entropy(l.normalise(raw_all)).reshape({-1}));
  }
  std::vector<std::int64_t> order(h.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return h[a] > h[b]; });
  const std::vector<std::int64_t> picks{order[0], order[1], order[2], order[3], order[order.size() - 2],
                                        order.back()};
  const Tensor raw = index_select(raw_all, 0, tensor_from(picks));
  const Tensor x = l.normalise(raw);
  const Tensor black = l.normalise(zeros_like(raw));  // the baseline: an empty (black) image

  const xai::IGOptions ig_opt{.n_steps = 64};
  const xai::AttributionAndDelta ig_h =
      xai::IntegratedGradients(xai::forward_of(entropy)).attribute_with_delta(x, 0, black, ig_opt);
  const xai::AttributionAndDelta ig_mi =
      xai::IntegratedGradients(xai::forward_of(mutual_information)).attribute_with_delta(x, 0, black, ig_opt);
  const std::string layer = "members.0.features." + std::to_string(l.model()->last_relu_index());
  const Tensor cam = xai::GradCam(entropy, layer).attribute(x, 0);
  const Tensor cam_mi = xai::GradCam(mutual_information, layer).attribute(x, 0);  // through member 0's layer
  const double delta_h = amax(abs(ig_h.delta)).item(), delta_mi = amax(abs(ig_mi.delta)).item();
  r.say("  IG completeness |Σ attributions − (U(x) − U(black))| ≤ " + report::format("%.2e", delta_h) + " (entropy), " +
        report::format("%.2e", delta_mi) + " (MI)");
  r.number({"explain_uncertainty", "ig_entropy_max_delta"}, delta_h, "%.3g");
  r.number({"explain_uncertainty", "ig_mi_max_delta"}, delta_mi, "%.3g");

  Tensor probs;
  {
    autograd::NoGradGuard no_grad;
    probs = softmax((*l.model())(x), 1);
  }
  std::vector<std::vector<Tensor>> rows;
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < picks.size(); ++i) {
    const Tensor pi = probs[static_cast<std::int64_t>(i)];
    const auto pv = pi.to_vector<float>();
    std::vector<std::int64_t> top(pv.size());
    std::iota(top.begin(), top.end(), 0);
    std::partial_sort(top.begin(), top.begin() + 2, top.end(), [&](auto a, auto b) { return pv[a] > pv[b]; });
    labels.push_back("H=" + report::format("%.2f", h[picks[i]]) + " " + kFashionClasses[top[0]] + " " +
                     report::format("%.2f", pv[top[0]]) + " / " + kFashionClasses[top[1]] + " " +
                     report::format("%.2f", pv[top[1]]));
    const std::int64_t k = static_cast<std::int64_t>(i);
    rows.push_back({figures::upscale(raw[k], 4), figures::upscale(xai::heatmap(ig_h.attributions[k], xai::Sign::all), 4),
                    figures::upscale(figures::colorize(cam[k][0] / std::max(amax(cam[k]).item(), 1e-12),
                                                       figures::Colormap::inferno), 4),
                    figures::upscale(xai::heatmap(ig_mi.attributions[k], xai::Sign::all), 4),
                    figures::upscale(figures::colorize(cam_mi[k][0] / std::max(amax(cam_mi[k]).item(), 1e-12),
                                                       figures::Colormap::inferno), 4)});
  }
  r.heading("7. Explaining uncertainty");
  r.paragraph("Attribution reuses autograd, so it can explain any differentiable function of the input, not only a "
              "logit. Here the explained output is the model's predictive entropy, and the ensemble's mutual "
              "information (its model uncertainty): Integrated Gradients from a black image (64 Gauss–Legendre "
              "steps; red pixels raise the uncertainty, blue lower it; completeness holds to " +
              report::format("%.1e", std::max(delta_h, delta_mi)) + ") and Grad-CAM on the last ReLU of the model "
              "(for the MI, member 0's: where its features make the ensemble disagree). "
              "Rows: the four test images the model is least sure of, then the two it is surest of (H: entropy in "
              "nats; the two most probable classes):");
  r.figure("uncertainty_attribution.png",
           figures::labelled_grid(rows, {"image", "IG of entropy", "Grad-CAM of entropy", "IG of ensemble MI", "Grad-CAM of MI"}, labels,
                                  {.font_scale = 1}),
           "integrated gradients and Grad-CAM of the predictive entropy and of the ensemble's mutual information");
}

}  // namespace lumen::global_local
