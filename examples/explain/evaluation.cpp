// Steps 4-5 of the explain lesson (the DL@MBL knowledge-extraction exercise): the explanations put to
// the test. Are they faithful to the model (deletion/insertion, infidelity, max-sensitivity)? Do they
// depend on the model at all (the cascading randomisation check)?
#include <cmath>

#include "autograd/ops.h"
#include "examples/explain/steps.h"
#include "figures/plot.h"
#include "xai/backward_rules.h"
#include "xai/evaluation.h"
#include "xai/gradient.h"

namespace lumen::explain {

namespace {

using report::format;

// A model-independent "explanation": the gradient magnitude of the image itself (Sobel filters).
// It looks plausible on digits, but cannot pass the randomisation check: it never asks the model.
Tensor edge_detector(const Tensor& images) {
  const Tensor gray = images.mean({1}, true);
  const Tensor kx = tensor({-1, 0, 1, -2, 0, 2, -1, 0, 1}, {1, 1, 3, 3}, options_of(gray));
  const Tensor ky = kx.transpose(2, 3).contiguous();
  const Tensor gx = conv2d(gray, kx, {}, {.padding = {1, 1}}), gy = conv2d(gray, ky, {}, {.padding = {1, 1}});
  return sqrt(square(gx) + square(gy) + 1e-12).expand(images.shape()).contiguous();
}

}  // namespace

void faithfulness(Lesson& l, const std::vector<Method>& mlp, report::Report& r) {
  const xai::ForwardFn f = xai::forward_of(*l.dense);
  const std::int64_t n_eval = std::min<std::int64_t>(l.o.eval_images, l.test.size());
  const Tensor eval_x = l.test.images.narrow(0, 0, n_eval);
  const xai::Target eval_t = xai::Target::from_tensor(l.test.labels.narrow(0, 0, n_eval));
  Generator rgen(l.o.seed + 7);
  const std::vector<Method> evaluated = {mlp[0], mlp[1], mlp[2], mlp[3], mlp[6], mlp[7],
                                         {"random", [&](const Tensor& x, const xai::Target&) {
                                            return rand(x.shape(), options_of(x), &rgen);
                                          }}};
  const std::int64_t n_sens = std::min<std::int64_t>(n_eval, 20);  // max-sensitivity reruns each method 11 times
  const Tensor sens_x = eval_x.narrow(0, 0, n_sens);
  const xai::Target sens_t = eval_t.slice(0, n_sens);
  const std::string about = std::to_string(n_eval) +
                            " test images (target: the true class; probabilities; zeros replace deleted pixels, "
                            "insertion starts from a blur; max-sensitivity on the first " + std::to_string(n_sens) + ")";
  r.say("\nfaithfulness on " + about);
  report::Table table({{"method", "", -16}, {"deletion AUC (lower is better)", "deletion AUC", 14},
                       {"insertion AUC (higher is better)", "insertion AUC", 14},
                       {"infidelity (lower is better)", "infidelity", 14},
                       {"max-sensitivity (lower is better)", "max-sensitivity", 16}});
  std::vector<figures::Series> del_series, ins_series;
  for (const Method& m : evaluated) {
    const Tensor attr = m.fn(eval_x, eval_t);
    const auto del = xai::deletion_curve(f, eval_x, attr, eval_t, {.steps = 28});
    const auto ins = xai::insertion_curve(f, eval_x, attr, eval_t, {.steps = 28, .blur_sigma = 3.0});
    const double infid = xai::infidelity(f, eval_x, attr, eval_t, {.n_perturb = 10, .normalize = true}).mean().item();
    // Stability under a ±0.02 perturbation of every pixel (10 draws): the method runs 11 times.
    const double sens = xai::max_sensitivity(m.fn, sens_x, sens_t, {.n_perturb = 10}).mean().item();
    del_series.push_back({m.title, del.mean.fractions, del.mean.values, std::nullopt});
    ins_series.push_back({m.title, ins.mean.fractions, ins.mean.values, std::nullopt});
    const std::string del_auc = r.number({"faithfulness", m.title, "deletion_auc"}, del.mean.auc, "%.4f");
    const std::string ins_auc = r.number({"faithfulness", m.title, "insertion_auc"}, ins.mean.auc, "%.4f");
    const std::string infid_text = r.number({"faithfulness", m.title, "infidelity"}, infid, "%.3e");
    table.row({m.title, del_auc, ins_auc, infid_text, r.number({"faithfulness", m.title, "max_sensitivity"}, sens, "%.4f")});
  }
  r.write_file("evaluation.md", table.markdown());
  r.heading("4. Are the explanations faithful?");
  r.paragraph("On " + about + ". Deletion removes the most important pixels first (a faithful map makes the "
              "probability fall fast); insertion adds them to a blurred image (it should rise fast).");
  r.table(table);
  r.chart("deletion.png",
          figures::make_line_chart(del_series, {.title = "Deletion: most important pixels removed first",
                                                .xlabel = "fraction of pixels deleted", .ylabel = "p(true class)",
                                                .width = 640, .height = 440, .ylim = std::pair{0.0, 1.0}}),
          "deletion curves: p(true class) against the fraction of pixels deleted, one line per method");
  r.chart("insertion.png",
          figures::make_line_chart(ins_series, {.title = "Insertion into a blurred image",
                                                .xlabel = "fraction of pixels inserted", .ylabel = "p(true class)",
                                                .width = 640, .height = 440, .ylim = std::pair{0.0, 1.0}}),
          "insertion curves: p(true class) against the fraction of pixels inserted, one line per method");
}

void sanity_check(Lesson& l, report::Report& r) {
  const std::int64_t n_sanity = std::min<std::int64_t>(std::min<std::int64_t>(l.o.eval_images, l.test.size()), 32);
  const Tensor sx = l.test.images.narrow(0, 0, n_sanity);
  const xai::Target st = xai::Target::from_tensor(l.test.labels.narrow(0, 0, n_sanity));
  const std::int64_t n_steps = l.o.n_steps;
  const std::vector<std::pair<std::string, xai::ModelAttributionFn>> methods = {
      {"Saliency", [](nn::Module& m, const Tensor& x, const xai::Target& t) {
         return xai::Saliency(xai::forward_of(m)).attribute(x, t);
       }},
      {"IG (zero)", [n_steps](nn::Module& m, const Tensor& x, const xai::Target& t) {
         return xai::IntegratedGradients(xai::forward_of(m)).attribute(x, t, {}, {.n_steps = n_steps});
       }},
      {"GuidedBackprop", [](nn::Module& m, const Tensor& x, const xai::Target& t) {
         return xai::GuidedBackprop(m).attribute(x, t);
       }},
      {"edge detector", [](nn::Module&, const Tensor& x, const xai::Target&) { return edge_detector(x); }},
  };
  r.say("\nmodel-parameter randomisation (cascading, from the output layer), " + std::to_string(n_sanity) +
        " images: mean Spearman rank correlation of |attribution| with the original");
  std::unique_ptr<report::Table> table;  // its columns are the layers, known from the first result
  std::vector<figures::Series> series;
  for (const auto& [name, method] : methods) {
    const auto result = xai::model_randomization_check(*l.dense, method, sx, st, {.seed = l.o.seed});
    if (!table) {
      std::vector<report::Column> columns{{"method", "", -16}};
      for (const auto& row : result.rows) columns.push_back({row.layer, "", 9});
      columns.push_back({"verdict", "", 0});
      table = std::make_unique<report::Table>(columns);
    }
    figures::Series s{name, {}, {}, std::nullopt};
    std::vector<std::string> cells{name};
    for (std::size_t i = 0; i < result.rows.size(); ++i) {
      s.xs.push_back(static_cast<double>(i));
      s.ys.push_back(result.rows[i].mean_abs);
      cells.push_back(r.append({"sanity_check", name}, result.rows[i].mean_abs, "%.3f"));
    }
    // Passing: once every layer is random, the explanation no longer resembles the original.
    const bool passes = result.rows.back().mean_abs < 0.5;
    cells.push_back(passes ? "passes (the map changes with the weights)" : "FAILS (the map stays like the original)");
    table->row(cells);
    series.push_back(std::move(s));
  }
  r.write_file("sanity.md", table->markdown());
  r.heading("5. Does the explanation depend on the model at all?");
  r.paragraph("The layers of the MLP are replaced by random ones, from the output backwards; a map that stays like "
              "the original (rank correlation near 1) does not explain the model. On " + std::to_string(n_sanity) +
              " test images:");
  r.table(*table);
  r.chart("sanity.png",
          figures::make_line_chart(series, {.title = "Cascading randomisation: 0 = original, then fc4, fc3, …",
                                            .xlabel = "layers randomised", .ylabel = "Spearman rank correlation",
                                            .width = 640, .height = 440, .ylim = std::pair{-0.2, 1.05}, .markers = true}),
          "sanity check: rank correlation with the original map against the number of layers randomised, one line per method");
}

}  // namespace lumen::explain
