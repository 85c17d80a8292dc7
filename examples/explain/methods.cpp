// Steps 1-3 of the explain lesson (the DL@MBL knowledge-extraction exercise): every attribution method
// on one test image per class, as figures: a row per image, the input then one map per method.
#include <algorithm>
#include <filesystem>

#include "autograd/ops.h"
#include "examples/explain/steps.h"
#include "examples/lesson.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "xai/backward_rules.h"
#include "xai/baselines.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/lime.h"
#include "xai/perturbation.h"
#include "xai/segmentation.h"

namespace lumen::explain {

namespace {

// figure | the diverging colorbar of the signed maps (normalised attribution, −1 … 1), centred.
Tensor with_colorbar(const Tensor& figure) {
  const std::int64_t h = figure.size(1);
  const Tensor bar = figures::colorbar(figures::Colormap::bwr, -1.0, 1.0, std::min<std::int64_t>(h - 40, 300), 16, 5, 2);
  Tensor column = ones({3, h, bar.size(2) + 16});
  const std::int64_t top = (h - bar.size(1)) / 2;
  column.narrow(1, top, bar.size(1)).narrow(2, 8, bar.size(2)).copy_(bar);
  return cat({figure, column}, 2);
}

// One figure: a row per image, the input then one map per method (signed: heat map; else an overlay).
Tensor methods_figure(const std::vector<Method>& methods, const Tensor& images, const xai::Target& target,
                      const std::vector<std::string>& row_labels, const std::string& title) {
  std::vector<std::vector<Tensor>> rows(static_cast<std::size_t>(images.size(0)));
  std::vector<std::string> columns{"input"};
  for (std::int64_t i = 0; i < images.size(0); ++i) rows[static_cast<std::size_t>(i)].push_back(images[i]);
  for (const Method& m : methods) {
    const Tensor attr = m.fn(images, target);
    columns.push_back(m.title);
    for (std::int64_t i = 0; i < images.size(0); ++i)
      rows[static_cast<std::size_t>(i)].push_back(m.sign == xai::Sign::all ? xai::heatmap(attr[i], xai::Sign::all)
                                                                          : xai::overlay(images[i], attr[i], m.sign, 0.6));
  }
  return with_colorbar(figures::labelled_grid(rows, columns, row_labels, {.upscale = 4, .font_scale = 2, .title = title}));
}

// An AttributionFn calling attributor->attribute(x, t, args...); the attributor is shared, so the
// function can outlive the step that made it (step 4 reuses the MLP's methods).
template <typename Attributor, typename... Args>
xai::AttributionFn call(std::shared_ptr<Attributor> attributor, Args... args) {
  return [attributor, args...](const Tensor& x, const xai::Target& t) { return attributor->attribute(x, t, args...); };
}

}  // namespace

void ig_baselines(Lesson& l, report::Report& r) {
  const xai::ForwardFn f = xai::forward_of(*l.dense);
  xai::IntegratedGradients ig(f);
  const Tensor& images = l.images;
  const Tensor uniform = xai::uniform_baseline(images, 0.0, 1.0, &l.gen);
  const Tensor blurred = xai::gaussian_blur(images, 3.0);
  std::vector<std::vector<Tensor>> rows(4);
  const char* base_names[3] = {"zero", "uniform", "blurred"};
  std::vector<std::vector<std::string>> deltas(4);  // [image][baseline], as recorded
  int b = 0;
  for (const Tensor& base : {zeros_like(images), uniform, blurred}) {
    auto [attr, delta] = ig.attribute_with_delta(images, l.target, base, {.n_steps = l.o.n_steps});
    for (std::int64_t i = 0; i < 4; ++i) {
      rows[static_cast<std::size_t>(i)].push_back(base[i]);
      rows[static_cast<std::size_t>(i)].push_back(xai::heatmap(attr[i], xai::Sign::all));
      deltas[static_cast<std::size_t>(i)].push_back(r.append({"ig_convergence_delta", base_names[b]}, delta[i].item(), "%.2e"));
    }
    ++b;
  }
  r.say("\nIntegrated Gradients, " + std::to_string(l.o.n_steps) +
        " Gauss-Legendre steps: convergence delta = sum(attr) - (F(x) - F(x'))");
  report::Table table({{"image", "", -10}, {"zero baseline", "zero", 12}, {"uniform baseline", "uniform", 12},
                       {"blurred baseline", "blurred", 12}});
  for (std::int64_t i = 0; i < 4; ++i) {
    const auto& d = deltas[static_cast<std::size_t>(i)];
    table.row({lesson::kClassNames[i], d[0], d[1], d[2]});
    rows[static_cast<std::size_t>(i)].insert(rows[static_cast<std::size_t>(i)].begin(), images[i]);
  }
  r.heading("1. Integrated Gradients: the baseline decides what 'absence' means");
  r.paragraph("Integrated Gradients (" + std::to_string(l.o.n_steps) +
              " Gauss-Legendre steps) from three baselines, as in the exercise: black (zero), uniform noise and a "
              "blurred copy of the image. Convergence delta Σattr − (F(x) − F(x')) per image and baseline:");
  r.table(table);
  r.figure("ig_baselines.png",
           with_colorbar(figures::labelled_grid(
               rows, {"input", "zero baseline", "IG", "uniform baseline", "IG", "blurred baseline", "IG"}, l.row_labels,
               {.upscale = 4, .font_scale = 2, .title = "Integrated Gradients: the baseline decides what 'absence' means"})),
           "IG baselines");
}

std::vector<Method> mlp_methods(Lesson& l, report::Report& r) {
  const xai::ForwardFn f = xai::forward_of(*l.dense);
  auto saliency = std::make_shared<xai::Saliency>(f);
  Generator* gen = &l.gen;
  const std::int64_t n_steps = l.o.n_steps, lime_samples = l.o.lime_samples;
  const Tensor grid = xai::grid_feature_mask(28, 28, 4, 4);
  std::vector<Method> methods = {
      {"Saliency", call(saliency), xai::Sign::absolute},
      {"InputXGradient", call(std::make_shared<xai::InputXGradient>(f))},
      {"IG (zero)", call(std::make_shared<xai::IntegratedGradients>(f), Tensor(), xai::IGOptions{.n_steps = n_steps})},
      {"SmoothGrad",
       [saliency, gen](const Tensor& x, const xai::Target& t) {
         return xai::NoiseTunnel([saliency](const Tensor& xx, const xai::Target& tt) { return saliency->attribute(xx, tt); })
             .attribute(x, t, {.n_samples = 25, .stdev = 0.15, .generator = gen});
       },
       xai::Sign::absolute},
      {"GuidedBackprop", call(std::make_shared<xai::GuidedBackprop>(*l.dense))},
      {"Deconvolution", call(std::make_shared<xai::Deconvolution>(*l.dense))},
      {"DeepLift", call(std::make_shared<xai::DeepLift>(*l.dense))},
      {"Occlusion", call(std::make_shared<xai::Occlusion>(f),
                         xai::Baseline{}, xai::OcclusionOptions{.window = {3, 4, 4}, .strides = {3, 2, 2}, .perturbations_per_eval = 64})},
      {"LIME (4x4 grid)",
       call(std::make_shared<xai::Lime>(f),
            xai::Baseline{}, xai::LimeOptions{.feature_mask = grid, .n_samples = lime_samples, .generator = gen})},
  };
  r.heading("2. Every method on the MLP");
  r.paragraph("Signed maps in the diverging colormap (blue negative, red positive, normalised to −1 … 1); "
              "Saliency and SmoothGrad, which are magnitudes, overlaid on the input.");
  r.figure("methods_dense.png",
           methods_figure(methods, l.images, l.target, l.row_labels, "The MLP: where is the evidence for each class?"),
           "methods on the MLP");
  return methods;
}

void cnn_methods(Lesson& l, report::Report& r) {
  if (!l.cnn) {
    r.say("\nno CNN checkpoint at " + l.o.cnn_path + ": skipping Grad-CAM (train_classifier --model cnn --out " +
          std::filesystem::path(l.o.cnn_path).parent_path().string() + ")");
    return;
  }
  nn::Module& cnn = *l.cnn;
  const xai::ForwardFn fc = xai::forward_of(cnn);
  Generator* gen = &l.gen;
  const Tensor superpixels = xai::superpixel_mask(l.images, {.n_segments = 40});
  std::vector<Method> methods = {
      {"Grad-CAM", call(std::make_shared<xai::GradCam>(cnn, "features.3")), xai::Sign::positive},
      {"Guided Grad-CAM", call(std::make_shared<xai::GuidedGradCam>(cnn, "features.3"))},
      {"GuidedBackprop", [&cnn](const Tensor& x, const xai::Target& t) { return xai::GuidedBackprop(cnn).attribute(x, t); }},
      {"IG (zero)", call(std::make_shared<xai::IntegratedGradients>(fc), Tensor(), xai::IGOptions{.n_steps = l.o.n_steps})},
      {"Occlusion", call(std::make_shared<xai::Occlusion>(fc),
                         xai::Baseline{}, xai::OcclusionOptions{.window = {3, 4, 4}, .strides = {3, 2, 2}, .perturbations_per_eval = 64})},
      {"LIME (superpixels)",
       call(std::make_shared<xai::Lime>(fc),
            xai::Baseline{}, xai::LimeOptions{.feature_mask = superpixels, .n_samples = l.o.lime_samples, .generator = gen})},
  };
  Tensor probs;
  {
    autograd::NoGradGuard no_grad;
    probs = softmax(cnn(l.images), 1);
  }
  std::vector<std::string> labels;
  for (std::int64_t c = 0; c < 4; ++c)
    labels.push_back(std::string(lesson::kClassNames[c]) + " p=" + report::format("%.2f", probs[c][c].item()));
  r.heading("3. The CNN: Grad-CAM on its last convolution");
  r.paragraph("Grad-CAM and Guided Grad-CAM on features.3 (conv 16→32), and LIME on SLIC superpixels; the row labels "
              "give the CNN's probability of the true class.");
  r.figure("methods_cnn.png",
           methods_figure(methods, l.images, l.target, labels, "The CNN: Grad-CAM on features.3 (conv 16->32)"),
           "methods on the CNN");
}

}  // namespace lumen::explain
