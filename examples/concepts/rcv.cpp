// Step 4 of the concepts lesson: regression concept vectors (Graziani et al. 2018). A continuous
// measure of each image (how colorful, how red, how textured, how much ink) is regressed on a layer's
// global-average-pooled activations; the regression's direction is the concept, its held-out R² says
// whether the layer encodes the measure at all, and Br = R² · mean(S) / std(S) of the directional
// derivatives S says whether (and how consistently) moving along it changes the class logit.
#include <algorithm>
#include <cmath>
#include <functional>

#include "autograd/ops.h"
#include "examples/concepts/steps.h"
#include "examples/lesson.h"
#include "xai/concept_measures.h"
#include "xai/concepts.h"

namespace lumen::concepts {

namespace {

struct Measure {
  std::string name;
  bool color;  // a color measure (the known answer: high |Br|) or shape/texture (low)
  std::vector<double> values;
};

std::vector<double> values_of(const Tensor& t) { return t.to(DType::float64).to_vector<double>(); }

// Every measure, per image: colorfulness, the eight hue bands and ColoredMNIST's own t of the colored
// images [N, 3, 28, 28]; the six Haralick statistics and the stroke area of the same digits before they
// were tinted, gray [N, 1, 28, 28] — measured on the colored image's gray, they would carry its color
// (a winter digit is darker than an autumn one) and no longer be "shape and texture only".
std::vector<Measure> measures_of(const Tensor& images, const Tensor& gray, const Tensor& t) {
  std::vector<Measure> m;
  m.push_back({"colorfulness", true, values_of(xai::colorfulness(images))});
  for (int h = 0; h < 8; ++h) {
    const auto band = static_cast<xai::Hue>(h);
    m.push_back({std::string("colorness ") + xai::hue_name(band), true, values_of(xai::colorness(images, band))});
  }
  m.push_back({"colormap t", true, values_of(t)});
  const char* names[6] = {"contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation"};
  std::vector<std::vector<double>> tex(6);
  for (std::int64_t i = 0; i < images.size(0); ++i) {
    const xai::Haralick h = xai::haralick(gray[i]);
    const double v[6] = {h.contrast, h.dissimilarity, h.homogeneity, h.asm_, h.energy, h.correlation};
    for (int k = 0; k < 6; ++k) tex[static_cast<std::size_t>(k)].push_back(v[k]);
  }
  for (int k = 0; k < 6; ++k) m.push_back({std::string("Haralick ") + names[k], false, tex[static_cast<std::size_t>(k)]});
  m.push_back({"stroke area", false, values_of(xai::stroke_area(gray))});
  return m;
}

bool constant(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
}

}  // namespace

void regression_concepts(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  const std::int64_t n = std::min(o.rcv_images, l.colored_test.size());
  r.step("4. regression concept vectors on the ColoredMNIST CNN (" + std::to_string(n) + " test images)");
  const Tensor images = l.colored_test.images.narrow(0, 0, n);
  const Tensor labels = l.colored_test.labels.narrow(0, 0, n);
  const Tensor gray = l.mnist_test.images.narrow(0, 0, n).reshape({n, 1, 28, 28});
  const std::vector<Measure> measures = measures_of(images, gray, l.colored_test.t.narrow(0, 0, n));
  const std::int64_t classes = nn::kColoredMnistClasses;
  std::vector<std::vector<std::int64_t>> class_rows;
  for (std::int64_t c = 0; c < classes; ++c) class_rows.push_back(rows_of_class(labels, c, n));

  // br[layer][measure][class], r2[layer][measure]
  std::vector<std::vector<std::vector<double>>> br(kCnnLayers.size());
  std::vector<std::vector<double>> r2(kCnnLayers.size());
  lesson::Progress progress("RCV", static_cast<std::int64_t>(kCnnLayers.size()), "layers");
  for (std::size_t ly = 0; ly < kCnnLayers.size(); ++ly) {
    const Layer& layer = kCnnLayers[ly];
    // A conv block's channel space: global-average-pooled activations, and gradients summed over the
    // positions, so S = G·v is the derivative when every position moves along v. A Linear's as it is.
    const auto channels = layer.name.starts_with("classifier") ? xai::LayerSpace::flat : xai::LayerSpace::channels;
    const Tensor acts = xai::layer_activations(*l.cnn, layer.name, images, 256, channels);
    std::vector<Tensor> grads;  // per class: [n_c, C]
    for (std::int64_t c = 0; c < classes; ++c)
      grads.push_back(xai::layer_gradients(*l.cnn, layer.name, take_rows(images, class_rows[static_cast<std::size_t>(c)]),
                                           c, 256, channels));
    for (const Measure& m : measures) {
      if (constant(m.values)) {  // nothing to regress (e.g. no purple pixel in any image): no direction
        r2[ly].push_back(std::nan(""));
        br[ly].push_back(std::vector<double>(static_cast<std::size_t>(classes), std::nan("")));
        continue;
      }
      const xai::Rcv rcv = xai::fit_rcv(acts, m.values, 0.3, o.seed);
      r2[ly].push_back(rcv.r2);
      r.number({"rcv", m.name, layer.name, "mse"}, rcv.mse, "%.4g");
      std::vector<double> per_class;
      for (std::int64_t c = 0; c < classes; ++c) {
        const Tensor s = matmul(grads[static_cast<std::size_t>(c)].to(DType::float64), rcv.direction.reshape({-1, 1}));
        per_class.push_back(xai::br_score(rcv.r2, s.reshape({-1})));
      }
      br[ly].push_back(per_class);
    }
    progress.update(static_cast<std::int64_t>(ly) + 1);
  }

  // Table 1: R² and mean |Br| over the classes, per measure and layer; the group means are the known answer.
  std::vector<report::Column> cols{{"measure", "", -24}};
  for (const Layer& ly : kCnnLayers) {
    cols.push_back({"R² " + ly.name, "R2@" + ly.name.substr(0, 4), 9});
    cols.push_back({"mean |Br| " + ly.name, "|Br|@" + ly.name.substr(0, 4), 10});
  }
  r.say("  held-out R² and mean |Br| over the 4 classes:");
  report::Table table(cols, "  ");
  // Group means of |Br| per layer over the measures that varied (a constant one has no RCV).
  std::vector<double> color_br(kCnnLayers.size(), 0), other_br(kCnnLayers.size(), 0);
  std::vector<std::int64_t> color_n(kCnnLayers.size(), 0), other_n(kCnnLayers.size(), 0);
  std::int64_t n_color = 0;
  for (std::size_t k = 0; k < measures.size(); ++k) {
    std::vector<std::string> row{measures[k].name};
    n_color += measures[k].color;
    for (std::size_t ly = 0; ly < kCnnLayers.size(); ++ly) {
      double mean_abs = 0;
      for (std::int64_t c = 0; c < classes; ++c) {
        const double b = br[ly][k][static_cast<std::size_t>(c)];
        mean_abs += std::fabs(b) / classes;
        r.number({"rcv", measures[k].name, kCnnLayers[ly].name, "br", lesson::kClassNames[c]}, b, "%.4f");
      }
      if (!std::isnan(mean_abs)) {
        (measures[k].color ? color_br : other_br)[ly] += mean_abs;
        (measures[k].color ? color_n : other_n)[ly] += 1;
      }
      row.push_back(r.number({"rcv", measures[k].name, kCnnLayers[ly].name, "r2"}, r2[ly][k], "%.3f"));
      row.push_back(r.number({"rcv", measures[k].name, kCnnLayers[ly].name, "mean_abs_br"}, mean_abs, "%.3f"));
    }
    table.row(row);
  }
  const std::int64_t n_other = static_cast<std::int64_t>(measures.size()) - n_color;
  std::string known;
  for (std::size_t ly = 0; ly < kCnnLayers.size(); ++ly) {
    const std::string c = r.number({"rcv", "color_mean_abs_br", kCnnLayers[ly].name}, color_br[ly] / color_n[ly], "%.3f");
    const std::string s = r.number({"rcv", "shape_texture_mean_abs_br", kCnnLayers[ly].name}, other_br[ly] / other_n[ly], "%.3f");
    known += (known.empty() ? "" : "; ") + kCnnLayers[ly].name + ": color " + c + ", shape/texture " + s;
  }
  // The headline: the deepest convolutional block's (the layer of the per-class table below).
  r.number({"rcv", "headline", "color_mean_abs_br"}, color_br[1] / color_n[1], "%.4f");
  r.number({"rcv", "headline", "shape_texture_mean_abs_br"}, other_br[1] / other_n[1], "%.4f");
  r.say("  mean |Br| of the color measures vs the shape/texture ones: " + known);

  // Table 2: Br per class at the last convolutional block, signed.
  const std::size_t mid = 1;
  std::vector<report::Column> cols2{{"measure", "", -24}};
  for (std::int64_t c = 0; c < classes; ++c) cols2.push_back({lesson::kClassNames[c], "", 9});
  r.say("  Br per class at " + kCnnLayers[mid].name + ":");
  report::Table per_class(cols2, "  ");
  for (std::size_t k = 0; k < measures.size(); ++k) {
    std::vector<std::string> row{measures[k].name};
    for (std::int64_t c = 0; c < classes; ++c) row.push_back(report::format("%+.3f", br[mid][k][static_cast<std::size_t>(c)]));
    per_class.row(row);
  }

  r.heading("4. Regression concept vectors: which continuous measures the CNN uses");
  r.paragraph(
      "For each of " + std::to_string(n) + " test images, " + std::to_string(measures.size()) + " measures: "
      "Hasler–Süsstrunk colorfulness; the share of saturated, bright pixels in each of eight OpenCV hue bands "
      "(<i>colorness</i>); ColoredMNIST's own colormap position <i>t</i>; and, on the digit before it was tinted (the colored "
      "image's gray would carry its color: a winter digit is darker than an autumn one), six Haralick statistics of "
      "the co-occurrence matrix (distance 1, angle 0, symmetric, normed; 256 levels) and the stroke area (share of "
      "pixels brighter than 0.5). Each is regressed by least squares (with intercept) on the layer's "
      "global-average-pooled activations, fitted on a seeded 70% of the images; R² on the other 30% (a measure constant on every image has no direction: its cells are empty). The "
      "sensitivity of an image of class <i>k</i> is the derivative of logit <i>k</i> when every spatial position of "
      "the layer moves along the unit regression direction; <b>Br = R² · mean(S) / std(S)</b> over the images of "
      "the class. <b>Known answer</b>: the class is the color, so the color measures should have the larger |Br| — "
      "mean |Br| of the " + std::to_string(n_color) + " color measures vs the " + std::to_string(n_other) +
      " shape and texture measures: " + known + ".");
  r.table(table);
  r.paragraph("Signed Br per class at " + kCnnLayers[mid].name + " (positive: the class logit grows with the measure):");
  r.table(per_class);
}

}  // namespace lumen::concepts
