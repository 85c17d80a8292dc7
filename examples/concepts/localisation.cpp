// Step 6 of the concepts lesson: do the explanations point at the object? Every attribution method of
// xai/ on both models, scored Quantus-style against the foreground masks (pointing game, relevance
// mass and rank accuracy, AUC), for complexity (Gini sparseness, entropy), and next to the
// faithfulness and robustness metrics (deletion/insertion, infidelity, max-sensitivity) and the
// cascading randomisation check. Also the school's figures: Grad-CAM and IG with a noise tunnel.
#include <cmath>
#include <functional>

#include "autograd/ops.h"
#include "examples/concepts/steps.h"
#include "examples/lesson.h"
#include "figures/grid.h"
#include "xai/annotations.h"
#include "xai/backward_rules.h"
#include "xai/evaluation.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/lime.h"
#include "xai/localisation.h"
#include "xai/perturbation.h"
#include "xai/segmentation.h"
#include "xai/visualize.h"

namespace lumen::concepts {

namespace {

constexpr double kForeground = 0.2;  // as step 5: brightest channel above this is the object

struct Method {
  std::string title;
  xai::ModelAttributionFn fn;  // rebuilt on the (possibly randomised) model
  xai::Sign sign = xai::Sign::all;
};

// The methods, for a model whose last convolution's ReLU is `cam_layer`. Perturbation methods use
// black (0) for what they switch off; the LIME family and KernelSHAP draw from gen.
std::vector<Method> methods_for(const std::string& cam_layer, const Options& o, Generator& gen) {
  const std::int64_t lime_samples = o.lime_samples / 5, ig_steps = o.metric_ig_steps, nt = o.nt_samples;
  Generator* g = &gen;
  const auto f = [](nn::Module& m) { return xai::forward_of(m); };
  std::vector<Method> v;
  v.push_back({"Saliency", [f](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::Saliency(f(m)).attribute(x, t); }, xai::Sign::absolute});
  v.push_back({"Input×Gradient", [f](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::InputXGradient(f(m)).attribute(x, t); }});
  v.push_back({"Integrated Gradients", [f, ig_steps](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::IntegratedGradients(f(m)).attribute(x, t, {}, {.n_steps = ig_steps}); }});
  v.push_back({"IG + noise tunnel", [f, g, ig_steps, nt](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 const xai::IntegratedGradients ig(f(m));
                 const xai::AttributionFn one = [ig, ig_steps](const Tensor& xi, const xai::Target& ti) {
                   return ig.attribute(xi, ti, {}, {.n_steps = std::max<std::int64_t>(2, ig_steps / 2)});
                 };
                 return xai::NoiseTunnel(one).attribute(x, t, {.type = xai::NoiseType::smoothgrad_sq, .n_samples = nt,
                                                               .stdev = 0.1, .generator = g}); },
               xai::Sign::absolute});
  v.push_back({"SmoothGrad", [f, g, nt](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 const xai::Saliency sal(f(m));
                 const xai::AttributionFn one = [sal](const Tensor& xi, const xai::Target& ti) {
                   return sal.attribute(xi, ti, false);
                 };
                 return xai::NoiseTunnel(one).attribute(x, t, {.n_samples = 2 * nt, .stdev = 0.1, .generator = g}); }});
  v.push_back({"GradientSHAP", [f, g, nt](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 // baselines: black and uniform noise images, a distribution as SHAP takes it
                 const Tensor baselines = cat({zeros({4, x.size(1), x.size(2), x.size(3)}),
                                               rand({4, x.size(1), x.size(2), x.size(3)}, {}, g)}, 0);
                 return xai::GradientShap(f(m)).attribute(x, t, baselines, {.n_samples = 2 * nt, .generator = g}); }});
  v.push_back({"Guided Backprop", [](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::GuidedBackprop(m).attribute(x, t); }});
  v.push_back({"Deconvolution", [](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::Deconvolution(m).attribute(x, t); }});
  v.push_back({"DeepLIFT", [](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::DeepLift(m).attribute(x, t); }});
  v.push_back({"Grad-CAM", [cam_layer](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 // [N, 1, H, W] broadcast over the channels, as the metrics take inputs-shaped maps
                 return xai::GradCam(m, cam_layer).attribute(x, t).expand(x.shape()).contiguous(); },
               xai::Sign::positive});
  v.push_back({"Guided Grad-CAM", [cam_layer](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::GuidedGradCam(m, cam_layer).attribute(x, t); }});
  v.push_back({"Occlusion 4×4", [f](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::Occlusion(f(m)).attribute(x, t, 0.0, {.window = {x.size(1), 4, 4}, .strides = {x.size(1), 2, 2},
                                                                    .perturbations_per_eval = 64}); }});
  v.push_back({"FeatureAblation 4×4", [f](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::FeatureAblation(f(m)).attribute(x, t, {}, {.feature_mask = xai::grid_feature_mask(x.size(2), x.size(3), 4, 4),
                                                                        .perturbations_per_eval = 49}); }});
  v.push_back({"LIME (SLIC)", [f, g, lime_samples](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::Lime(f(m)).attribute(x, t, {}, {.feature_mask = xai::superpixel_mask(x, {.n_segments = 50}),
                                                             .n_samples = lime_samples, .generator = g}); }});
  v.push_back({"KernelSHAP (SLIC)", [f, g, lime_samples](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 return xai::KernelShap(f(m)).attribute(x, t, {}, {.feature_mask = xai::superpixel_mask(x, {.n_segments = 50}),
                                                                   .n_samples = lime_samples, .generator = g}); }});
  v.push_back({"Sharp-LIME (composite)", [f, g, lime_samples](nn::Module& m, const Tensor& x, const xai::Target& t) {
                 std::vector<Tensor> regions;
                 for (std::int64_t i = 0; i < x.size(0); ++i)
                   regions.push_back(xai::composite_regions(xai::foreground_annotation(x[i], kForeground), 6, 6).unsqueeze(0));
                 return xai::SharpLime(f(m), stack(regions, 0)).attribute(x, t, {}, {.n_samples = lime_samples,
                                                                                    .generator = g}); },
               xai::Sign::all});
  v.push_back({"random", [g](nn::Module&, const Tensor& x, const xai::Target&) {
                 return rand(x.shape(), options_of(x), g); }, xai::Sign::positive});
  return v;
}

// The foreground masks [N, H, W] of raw images [N, C, H, W].
Tensor masks_of(const Tensor& images) {
  std::vector<Tensor> m;
  for (std::int64_t i = 0; i < images.size(0); ++i) m.push_back(xai::foreground_annotation(images[i], kForeground));
  return stack(m, 0);
}

double mean_of(const Tensor& t) {
  double s = 0;
  std::int64_t n = 0;
  for (double v : t.to(DType::float64).to_vector<double>())
    if (!std::isnan(v)) s += v, ++n;
  return n ? s / static_cast<double>(n) : std::nan("");
}

struct ModelCase {
  std::string key, title;
  nn::Module* model;
  std::string cam_layer;
  Tensor images, labels;
};

}  // namespace

void localisation_metrics(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("6. localisation, complexity and faithfulness of every method");
  const std::int64_t n = o.metric_images, n_rob = std::min(o.robustness_images, o.metric_images);
  const std::vector<ModelCase> models{
      {"colored_cnn", "ColoredMNIST CNN", l.cnn.get(), "features.4", l.colored_test.images.narrow(0, 0, n),
       l.colored_test.labels.narrow(0, 0, n)},
      {"fashion_vgg", "Fashion-MNIST VGG", l.fashion.get(), "vgg.features.10", l.fashion_test.images.narrow(0, 0, n),
       l.fashion_test.labels.narrow(0, 0, n)}};
  Generator gen(o.seed + 6);
  r.heading("6. Do the explanations point at the object?");
  r.paragraph(
      "Every attribution method on the first " + std::to_string(n) + " test images of each model (target: the true "
      "class), scored against the object's foreground mask (brightest channel &gt; " + report::format("%g", kForeground) +
      ") as Quantus defines the metrics, on the pixel relevance (the attribution summed over channels): "
      "<b>pointing game</b> (the most relevant pixel lies on the object), <b>relevance mass</b> (share of the positive "
      "relevance on the object), <b>relevance rank</b> (share of the |mask| most relevant pixels on the object), "
      "<b>AUC</b> (relevance as a detector of object pixels); <b>sparseness</b> (Gini index of |relevance|, higher: "
      "fewer pixels carry it) and <b>complexity</b> (entropy of normalised |relevance|, lower: simpler). Next to "
      "them, faithfulness (deletion AUC, lower is better: zeros replace the most relevant pixels first; insertion "
      "AUC, higher is better, from a blur; infidelity, normalised, lower is better), robustness (max-sensitivity "
      "under ±0.02 noise, lower is better) and the cascading randomisation check (Spearman ρ of |attribution| "
      "before and after re-initialising every layer, lower is better) on the first " + std::to_string(n_rob) +
      " images.");
  for (const ModelCase& mc : models) {
    nn::Module& model = *mc.model;
    const xai::ForwardFn f = xai::forward_of(model);
    const xai::Target target = xai::Target::from_tensor(mc.labels);
    const Tensor masks = masks_of(mc.images);
    const Tensor rob_x = mc.images.narrow(0, 0, n_rob);
    const xai::Target rob_t = target.slice(0, n_rob);
    const std::vector<Method> methods = methods_for(mc.cam_layer, o, gen);
    r.say("  " + mc.title + ":");
    report::Table table({{"method", "", -22}, {"pointing game", "point", 6}, {"relevance mass", "mass", 6},
                         {"relevance rank", "rank", 6}, {"AUC", "AUC", 6}, {"sparseness (Gini)", "Gini", 6},
                         {"complexity (entropy)", "entropy", 7}, {"deletion AUC", "del", 6}, {"insertion AUC", "ins", 6},
                         {"infidelity", "infid", 9}, {"max-sensitivity", "sens", 6}, {"randomisation ρ", "rand ρ", 6}},
                        "  ");
    std::vector<std::vector<Tensor>> figure_rows(4);
    std::vector<std::string> columns{"input"};
    for (std::int64_t i = 0; i < 4; ++i) figure_rows[static_cast<std::size_t>(i)].push_back(mc.images[i]);
    lesson::Progress progress(mc.title, static_cast<std::int64_t>(methods.size()), "methods");
    std::int64_t done = 0;
    for (const Method& m : methods) {
      const Tensor attr = m.fn(model, mc.images, target);
      const auto key = [&](const char* metric) { return report::Key{"localisation", mc.key, m.title, metric}; };
      const auto cell = [&](const char* metric, const Tensor& per_image, const char* fmt) {
        return r.number(key(metric), mean_of(per_image), fmt);
      };
      const xai::AttributionFn on_model = [&](const Tensor& x, const xai::Target& t) { return m.fn(model, x, t); };
      const auto randomised = xai::model_randomization_check(model, m.fn, rob_x, rob_t, {.seed = o.seed});
      table.row({m.title, cell("pointing_game", xai::pointing_game(attr, masks), "%.3f"),
                 cell("relevance_mass", xai::relevance_mass_accuracy(attr, masks), "%.3f"),
                 cell("relevance_rank", xai::relevance_rank_accuracy(attr, masks), "%.3f"),
                 cell("auc", xai::localisation_auc(attr, masks), "%.3f"),
                 cell("sparseness", xai::sparseness(attr), "%.3f"), cell("complexity", xai::complexity(attr), "%.2f"),
                 r.number(key("deletion_auc"), xai::deletion_curve(f, mc.images, attr, target, {.steps = 28}).mean.auc, "%.3f"),
                 r.number(key("insertion_auc"),
                          xai::insertion_curve(f, mc.images, attr, target, {.steps = 28, .blur_sigma = 3.0}).mean.auc, "%.3f"),
                 cell("infidelity", xai::infidelity(f, mc.images, attr, target, {.n_perturb = 10, .normalize = true}), "%.2e"),
                 cell("max_sensitivity", xai::max_sensitivity(on_model, rob_x, rob_t, {.n_perturb = 10}), "%.3f"),
                 r.number(key("randomisation_rho"), randomised.rows.back().mean_abs, "%.3f")});
      if (m.title != "random") {
        columns.push_back(m.title);
        for (std::int64_t i = 0; i < 4; ++i)
          figure_rows[static_cast<std::size_t>(i)].push_back(
              m.sign == xai::Sign::all ? xai::heatmap(attr[i], xai::Sign::all) : xai::overlay(mc.images[i], attr[i], m.sign, 0.6));
      }
      progress.update(++done);
    }
    r.paragraph("<b>" + mc.title + "</b> (Sharp-LIME: uses the annotation as a feature, so its localisation is partly by "
                "construction; random: uniform noise, the floor every method should beat):");
    r.table(table);
    r.figure("methods_" + mc.key + ".png",
             figures::labelled_grid(figure_rows, columns, {}, {.upscale = 3, .font_scale = 1,
                                                               .title = mc.title + ": every method on four test images"}),
             "every attribution method on four test images of the " + mc.title);
  }
}

}  // namespace lumen::concepts
