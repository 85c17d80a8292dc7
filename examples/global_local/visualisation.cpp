// Steps 2–3 of the global_local lesson: what the model has learnt of each class as a whole (class
// model visualisation: an input optimised to maximise a logit) and, per image, which pixels its score
// is most sensitive to (class saliency maps and guided backpropagation). All three are gradients with
// respect to the input, which the model's autograd gives for free.
#include <algorithm>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/global_local/steps.h"
#include "examples/lesson.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "xai/backward_rules.h"
#include "xai/class_visualisation.h"
#include "xai/gradient.h"
#include "xai/visualize.h"

namespace lumen::global_local {

namespace {

// The first test image of each class, in class order.
std::vector<std::int64_t> one_per_class(const Tensor& labels, std::int64_t classes) {
  const auto all = labels.to_vector<std::int64_t>();
  std::vector<std::int64_t> picks;
  for (std::int64_t c = 0; c < classes; ++c)
    picks.push_back(std::find(all.begin(), all.end(), c) - all.begin());
  return picks;
}

std::vector<std::int64_t> all_classes() {
  std::vector<std::int64_t> c(kFashionClasses.size());
  std::iota(c.begin(), c.end(), 0);
  return c;
}

// Images [N, 1, H, W] in [0, 1] as figure cells, enlarged.
std::vector<Tensor> cells(const Tensor& images) {
  std::vector<Tensor> out;
  for (std::int64_t i = 0; i < images.size(0); ++i) out.push_back(figures::upscale(images[i], 4));
  return out;
}

}  // namespace

void class_visualisation(Lesson& l, report::Report& r) {
  r.step("2. class model visualisation (" + std::to_string(l.o.vis_steps) + " steps of gradient ascent, lr " +
         report::format("%g", l.o.vis_lr) + ")");
  const xai::ForwardFn f = xai::forward_of(*l.model());
  struct Variant {
    std::string key, label;
    xai::ClassVisOptions opt;
  };
  xai::ClassVisOptions base;
  base.steps = l.o.vis_steps;
  base.lr = l.o.vis_lr;
  base.blur_sigma = l.o.blur_sigma;
  base.mean = {l.pixel_mean};
  base.std = {l.pixel_std};
  base.seed = l.o.seed;
  std::vector<Variant> variants{{"plain", "no blur", base}, {"blur", "blur every " + std::to_string(l.o.blur_every), base},
                                {"regularised", "blur + L2 + jitter + TV", base}};
  variants[1].opt.blur_every = l.o.blur_every;
  variants[2].opt.blur_every = l.o.blur_every;
  variants[2].opt.lr = l.o.reg_lr;
  variants[2].opt.l2_decay = l.o.l2_decay;
  variants[2].opt.jitter = l.o.jitter;
  variants[2].opt.total_variation = l.o.total_variation;

  const xai::Target classes(all_classes());
  std::vector<std::vector<Tensor>> rows;
  std::vector<std::string> row_labels;
  std::vector<std::vector<std::string>> table_rows;  // printed after the progress bars
  for (const Variant& v : variants) {
    lesson::Progress bar(v.label, v.opt.steps);
    const auto t0 = std::chrono::steady_clock::now();
    const xai::ClassVisResult res = xai::class_model_visualisation(
        f, {1, 28, 28}, classes, v.opt, [&](std::int64_t step, const Tensor&) { bar.update(step); });
    const double rate = static_cast<double>(v.opt.steps) / std::max(lesson::seconds_since(t0), 1e-9);
    // Does the model itself see each image as its class? (It should: that is what was optimised.)
    autograd::NoGradGuard no_grad;
    const Tensor logits = (*l.model())(l.normalise(res.images));
    const auto pred = argmax(logits, 1).to_vector<std::int64_t>();
    std::int64_t own = 0;
    for (std::size_t c = 0; c < pred.size(); ++c) own += pred[c] == static_cast<std::int64_t>(c);
    const std::vector<double>& last = res.logits.back();
    const double mean_logit = std::accumulate(last.begin(), last.end(), 0.0) / static_cast<double>(last.size());
    table_rows.push_back({v.label, r.number({"class_visualisation", v.key, "mean_final_logit"}, mean_logit, "%.2f"),
               r.count({"class_visualisation", v.key, "own_class"}, own) + "/10",
               r.number({"class_visualisation", v.key, "steps_per_s"}, rate, "%.1f")});
    rows.push_back(cells(res.images));
    row_labels.push_back(v.label);
  }
  report::Table table({{"variant", "", -24}, {"mean final logit", "logit", 8},
                       {"classified as their class", "own class", 9}, {"steps/s", "steps/s", 8}}, "  ");
  for (const auto& row : table_rows) table.row(row);
  r.heading("2. Class model visualisation");
  r.paragraph("Simonyan et al.'s class model: starting from uniform noise, the input is changed by gradient ascent on "
              "one class's <i>logit</i> (SGD, lr " + report::format("%g", l.o.vis_lr) + " on the normalised image, " +
              std::to_string(l.o.vis_steps) + " steps, as the course project did); after every step the image is "
              "clamped to the valid pixel range and quantised to 256 levels, and every " +
              std::to_string(l.o.blur_every) + " steps blurred (Gaussian, σ = " + report::format("%g", l.o.blur_sigma) +
              "). The last row adds the regularisers of feature-visualisation tools, with a smaller step (lr " +
              report::format("%g", l.o.reg_lr) + ", so that they shape the image rather than the clamp): L2 decay " +
              report::format("%g", l.o.l2_decay) + ", random jitter of ±" + std::to_string(l.o.jitter) +
              " pixels, total variation " + report::format("%g", l.o.total_variation) +
              ". At the course's lr every pixel is pushed to black or white within a few steps: the images that "
              "maximise a logit are high-frequency patterns, adversarial rather than typical, and the blur "
              "only softens them. The regularisers trade logit for images with the class's parts (trouser legs, "
              "a bag's handle, a sandal's straps):");
  r.table(table);
  r.figure("class_models.png",
           figures::labelled_grid(rows, kFashionClasses, row_labels, {.font_scale = 1}),
           "one optimised image per Fashion-MNIST class, without blur, with blur, and with the regularisers");
}

void saliency_maps(Lesson& l, report::Report& r) {
  r.step("3. class saliency maps and guided backpropagation");
  const xai::ChannelReduction reduce = l.o.saliency_reduce == "sum"    ? xai::ChannelReduction::sum
                                       : l.o.saliency_reduce == "mean" ? xai::ChannelReduction::mean
                                                                       : xai::ChannelReduction::max;
  const std::vector<std::int64_t> picks = one_per_class(l.test.labels, 10);
  const Tensor raw = index_select(l.test.images, 0, tensor_from(picks));
  const Tensor x = l.normalise(raw);
  const xai::Target target(all_classes());
  // |∂S_c/∂x| reduced over channels, min–max normalised: the paper's class saliency map.
  const Tensor saliency = xai::saliency_map(xai::Saliency(xai::forward_of(*l.model())).attribute(x, target), reduce);
  const Tensor guided_raw = xai::GuidedBackprop(*l.model()).attribute(x, target);
  const Tensor guided = xai::saliency_map(guided_raw, reduce);

  // Measured, not only drawn: the share of each map's mass that lies on the garment (pixels > 0.05),
  // against the garment's share of the image (what a map spread evenly would give).
  const Tensor garment = gt(raw, 0.05);
  const double area = mean(garment).item();
  const auto on_garment = [&](const Tensor& map) { return (sum(map * garment) / sum(map)).item(); };
  const std::string sal_share = r.number({"saliency", "mass_on_garment"}, on_garment(saliency), "%.3f");
  const std::string gb_share = r.number({"saliency", "guided_backprop_mass_on_garment"}, on_garment(guided), "%.3f");
  const std::string area_share = r.number({"saliency", "garment_area"}, area, "%.3f");
  r.say("  share of the map's mass on the garment: saliency " + sal_share + ", guided backprop " + gb_share +
        " (the garment covers " + area_share + " of the pixels)");

  std::vector<std::vector<Tensor>> rows;
  for (std::int64_t i = 0; i < 10; ++i) {
    rows.push_back({figures::upscale(raw[i], 4),
                    figures::upscale(figures::colorize(saliency[i][0], figures::Colormap::inferno), 4),
                    figures::upscale(figures::colorize(guided[i][0], figures::Colormap::inferno), 4),
                    figures::upscale(xai::heatmap(guided_raw[i], xai::Sign::all), 4)});
  }
  r.heading("3. Class saliency maps and guided backpropagation");
  r.paragraph("For the first test image of each class: the class saliency map M = " + l.o.saliency_reduce +
              " over channels of |∂S<sub>c</sub>/∂x| (Simonyan et al.; on one-channel images max, sum and mean agree, "
              "they differ on RGB inputs), min–max normalised and drawn with the inferno colormap; guided "
              "backpropagation's map (ReLU gradients passed back only where both the input and the gradient are "
              "positive) the same way, and signed (blue negative, red positive). Guided backpropagation puts " +
              gb_share + " of its mass on the garment and the plain gradient " + sal_share + ", where a map spread "
              "evenly would put " + area_share + ".");
  r.figure("saliency.png",
           figures::labelled_grid(rows, {"image", "saliency", "guided backprop", "guided (signed)"}, kFashionClasses,
                                  {.font_scale = 1}),
           "saliency and guided backpropagation maps of one test image per class");
}

}  // namespace lumen::global_local
