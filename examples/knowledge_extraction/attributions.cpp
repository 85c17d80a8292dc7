// Step 3 of the knowledge-extraction lesson (the DL@MBL exercise): where do the classifiers look?
// Attribution maps of one test image per class; they show *where*, not *what*.
#include <algorithm>

#include "autograd/ops.h"
#include "examples/knowledge_extraction/steps.h"
#include "examples/lesson.h"
#include "figures/grid.h"
#include "xai/baselines.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/visualize.h"

namespace lumen::knowledge_extraction {

namespace {

// The first test image of each class.
std::vector<std::int64_t> one_per_class(const Tensor& labels) {
  std::vector<std::int64_t> picks;
  const auto l = labels.to_vector<std::int64_t>();
  for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c)
    for (std::size_t i = 0; i < l.size(); ++i)
      if (l[i] == c) {
        picks.push_back(static_cast<std::int64_t>(i));
        break;
      }
  return picks;
}

}  // namespace

ClassExamples attribute_classifiers(const Options& o, const Data& data, const Classifiers& models, report::Report& r) {
  r.step("3. attributions of the classifier on one test image per class");
  ClassExamples ex;
  ex.picks = one_per_class(data.test.labels);
  ex.images = index_select(data.test.images, 0, tensor_from(ex.picks));
  if (o.rank != 0) return ex;  // four images and a figure: rank 0's alone (no collective below)
  const Tensor& x4 = ex.images;
  const xai::Target t4(std::vector<std::int64_t>{0, 1, 2, 3});
  xai::IntegratedGradients ig(xai::forward_of(*models.dense));
  auto [ig_zero, delta_zero] = ig.attribute_with_delta(x4, t4, {}, {.n_steps = o.ig_steps});
  auto [ig_blur, delta_blur] = ig.attribute_with_delta(x4, t4, xai::gaussian_blur(x4, 3.0), {.n_steps = o.ig_steps});
  const Tensor sal = xai::Saliency(xai::forward_of(*models.dense)).attribute(x4, t4);
  const Tensor cam = xai::GradCam(*models.cnn, "features.3").attribute(x4, t4);
  std::vector<std::vector<Tensor>> rows;
  std::vector<std::string> row_labels;
  for (std::int64_t i = 0; i < 4; ++i) {
    rows.push_back({x4[i], xai::overlay(x4[i], sal[i], xai::Sign::absolute, 0.6),
                    xai::heatmap(ig_zero[i], xai::Sign::all), xai::heatmap(ig_blur[i], xai::Sign::all),
                    xai::overlay(x4[i], cam[i], xai::Sign::positive, 0.6)});
    row_labels.push_back(lesson::kClassNames[i]);
  }
  double max_delta = 0;
  for (const Tensor& d : {delta_zero, delta_blur}) max_delta = std::max(max_delta, amax(abs(d)).item());
  const std::string delta = r.number({"ig_max_abs_delta"}, max_delta, "%.2e");
  r.say("  IG convergence |delta| <= " + delta + " (" + std::to_string(o.ig_steps) + " Gauss-Legendre steps)");

  r.heading("3. Where does the classifier look?");
  r.paragraph("Saliency, Integrated Gradients (zero and blurred baselines; largest convergence delta "
              "|Σattr − (F(x) − F(x'))| = " + delta +
              ") and Grad-CAM on the CNN all light up the digit's strokes. They say <i>where</i>, not <i>what</i>: "
              "the strokes carry both the shape and the color, and the maps cannot tell which one decides.");
  r.figure("attributions.png",
           figures::labelled_grid(rows, {"input", "saliency", "IG (zero)", "IG (blurred)", "Grad-CAM (CNN)"}, row_labels,
                                  {.upscale = 4, .font_scale = 2}),
           "attributions");
  return ex;
}

}  // namespace lumen::knowledge_extraction
