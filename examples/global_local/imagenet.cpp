// The course project's own setting, for a user who has torchvision's pretrained VGG16: steps 2–3 of
// the lesson (class model visualisation, class saliency maps, guided backpropagation) on 224×224
// ImageNet-normalised images. Convert the weights once (scripts/convert_torchvision_vgg.py, see the
// README), then: global_local --vgg16 vgg16.safetensors --image cat.png --image dog.png
#include <algorithm>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/global_local/steps.h"
#include "examples/lesson.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "figures/png.h"
#include "nn/safetensors.h"
#include "xai/backward_rules.h"
#include "xai/class_visualisation.h"
#include "xai/gradient.h"
#include "xai/visualize.h"

namespace lumen::global_local {

namespace {

const std::vector<double> kImagenetMean{0.485, 0.456, 0.406}, kImagenetStd{0.229, 0.224, 0.225};

Tensor imagenet_normalise(const Tensor& raw) {  // raw [N, 3, H, W] in [0, 1]
  const Tensor m = tensor(kImagenetMean, {1, 3, 1, 1}), s = tensor(kImagenetStd, {1, 3, 1, 1});
  return (raw - m.to(raw.dtype())) / s.to(raw.dtype());
}

// A PNG as RGB [3, 224, 224] in [0, 1]: gray repeated over the channels, alpha dropped, resized bilinearly.
Tensor load_image(const std::string& path) {
  Tensor img = figures::read_png(path);
  if (img.size(0) == 1 || img.size(0) == 2) img = cat({img.narrow(0, 0, 1), img.narrow(0, 0, 1), img.narrow(0, 0, 1)}, 0);
  if (img.size(0) == 4) img = img.narrow(0, 0, 3);
  return upsample_bilinear2d(img.unsqueeze(0), {224, 224}).squeeze(0).contiguous();
}

}  // namespace

void imagenet_vgg16(const Options& o, report::Report& r) {
  r.step("VGG16 with ImageNet weights from " + o.vgg16_path);
  auto net = nn::vgg16();
  net->load_state_dict(nn::load_safetensors(o.vgg16_path));
  net->eval();
  const xai::ForwardFn f = xai::forward_of(*net);

  // Class model visualisation of the chosen classes, without and with blur.
  xai::ClassVisOptions opt;
  opt.steps = o.vis_steps;
  opt.lr = o.vis_lr;
  opt.blur_sigma = o.blur_sigma;
  opt.mean = kImagenetMean;
  opt.std = kImagenetStd;
  opt.seed = o.seed;
  std::vector<std::vector<Tensor>> rows;
  std::vector<std::string> titles;
  for (std::int64_t c : o.imagenet_classes) titles.push_back("class " + std::to_string(c));
  for (bool blur : {false, true}) {
    opt.blur_every = blur ? o.blur_every : 0;
    lesson::Progress bar(blur ? "with blur" : "no blur", opt.steps);
    const xai::ClassVisResult res = xai::class_model_visualisation(
        f, {3, 224, 224}, xai::Target(o.imagenet_classes), opt, [&](std::int64_t t, const Tensor&) { bar.update(t); });
    std::vector<Tensor> row;
    for (std::int64_t i = 0; i < res.images.size(0); ++i) row.push_back(res.images[i]);
    rows.push_back(row);
    for (std::size_t i = 0; i < o.imagenet_classes.size(); ++i)
      r.append({"vgg16", blur ? "blur_final_logit" : "plain_final_logit"}, res.logits.back()[i], "%.3f");
  }
  r.heading("VGG16 with ImageNet weights: class model visualisation");
  r.paragraph("The course project's setting: torchvision's VGG16 (weights from <code>" + report::escape_html(o.vgg16_path) +
              "</code>), " + std::to_string(o.vis_steps) + " steps of gradient ascent on each class's logit (lr " +
              report::format("%g", o.vis_lr) + " on the ImageNet-normalised 224×224 image, clamped and quantised every "
              "step), without blur and with a Gaussian blur every " + std::to_string(o.blur_every) + " steps.");
  r.figure("vgg16_class_models.png", figures::labelled_grid(rows, titles, {"no blur", "blur"}, {.font_scale = 1}),
           "VGG16 class model visualisations without and with blur");

  if (o.images.empty()) return;
  std::vector<Tensor> raws;
  for (const std::string& p : o.images) raws.push_back(load_image(p));
  const Tensor raw = stack(raws, 0), x = imagenet_normalise(raw);
  std::vector<std::int64_t> top1;
  std::vector<std::string> labels;
  {
    autograd::NoGradGuard no_grad;
    const Tensor probs = softmax((*net)(x), 1);
    for (std::int64_t i = 0; i < probs.size(0); ++i) {
      const auto pv = probs[i].to_vector<float>();
      std::vector<std::int64_t> order(pv.size());
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](auto a, auto b) { return pv[a] > pv[b]; });
      std::string line = o.images[static_cast<std::size_t>(i)] + ": top-5 classes";
      for (int k = 0; k < 5; ++k) {
        line += ' ';
        line += std::to_string(order[k]);
        line += " (";
        line += report::format("%.3f", pv[order[k]]);
        line += ')';
      }
      r.say("  " + line);
      top1.push_back(order[0]);
      labels.push_back("class " + std::to_string(order[0]) + " p=" + report::format("%.2f", pv[order[0]]));
    }
  }
  const xai::ChannelReduction reduce = o.saliency_reduce == "sum"    ? xai::ChannelReduction::sum
                                       : o.saliency_reduce == "mean" ? xai::ChannelReduction::mean
                                                                     : xai::ChannelReduction::max;
  const Tensor saliency = xai::saliency_map(xai::Saliency(f).attribute(x, xai::Target(top1)), reduce);
  const Tensor guided = xai::GuidedBackprop(*net).attribute(x, xai::Target(top1));
  std::vector<std::vector<Tensor>> cells;
  for (std::int64_t i = 0; i < raw.size(0); ++i)
    cells.push_back({raw[i], figures::colorize(saliency[i][0], figures::Colormap::inferno),
                     xai::heatmap(guided[i], xai::Sign::all)});
  r.heading("VGG16: class saliency maps and guided backpropagation");
  r.paragraph("For each given image, the saliency map (" + o.saliency_reduce + " over the RGB channels of |∂S<sub>c</sub>/∂x|, "
              "min–max normalised) and guided backpropagation of its top class.");
  r.figure("vgg16_saliency.png", figures::labelled_grid(cells, {"image", "saliency", "guided backprop"}, labels,
                                                        {.font_scale = 1}),
           "saliency and guided backpropagation maps of VGG16 on the given images");
}

}  // namespace lumen::global_local
