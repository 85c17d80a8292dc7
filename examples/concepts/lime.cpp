// Step 5 of the concepts lesson: LIME on SLIC superpixels next to Sharp-LIME on an expert's regions
// (Visani et al.): the digit's or garment's foreground as the annotation, half of it (a partial
// annotation), and the summer school's composite (a 6×6 grid with the annotated region as one more
// feature), or polygons a user drew in the VGG Image Annotator (--via). Then what no course measures:
// how much the top features change from one seed to the next, as a function of the samples drawn.
#include <algorithm>
#include <filesystem>

#include "autograd/ops.h"
#include "examples/concepts/steps.h"
#include "examples/lesson.h"
#include "figures/grid.h"
#include "figures/plot.h"
#include "figures/png.h"
#include "xai/annotations.h"
#include "xai/lime.h"
#include "xai/lime_figures.h"
#include "xai/segmentation.h"
#include "xai/visualize.h"

namespace lumen::concepts {

namespace {

constexpr double kForeground = 0.2;  // a pixel is "annotated" when its brightest channel exceeds this

// One explained image: its model (as a forward function of raw pixels), the image and its class.
struct Case {
  std::string label;
  xai::ForwardFn f;
  Tensor image;  // [C, 28, 28] raw
  std::int64_t target;
};

std::vector<Case> cases_of(Lesson& l, std::int64_t per_model) {
  std::vector<Case> cases;
  const xai::ForwardFn cnn_f = xai::forward_of(*l.cnn), vgg_f = xai::forward_of(*l.fashion);
  for (std::int64_t i = 0; i < per_model; ++i) {
    const std::int64_t c = (2 * i) % nn::kColoredMnistClasses;
    const std::int64_t row = rows_of_class(l.colored_test.labels, c, 1).at(0);
    cases.push_back({std::string(lesson::kClassNames[c]) + " #" + std::to_string(row), cnn_f, l.colored_test.images[row], c});
  }
  const std::int64_t garments[4] = {0, 6, 9, 2};  // T-shirt, shirt, ankle boot, pullover
  for (std::int64_t i = 0; i < per_model; ++i) {
    const std::int64_t c = garments[i % 4];
    const std::int64_t row = rows_of_class(l.fashion_test.labels, c, 1 + i / 4).back();
    cases.push_back({kFashionClasses[static_cast<std::size_t>(c)] + " #" + std::to_string(row), vgg_f,
                     l.fashion_test.images[row], c});
  }
  return cases;
}

// The region maps of one image: SLIC superpixels and the three annotations.
struct Regions {
  Tensor slic, annotation, partial, composite;
};
Regions regions_of(const Tensor& image) {
  Regions g;
  g.slic = xai::superpixel_mask(image, {.n_segments = 50});
  g.annotation = xai::foreground_annotation(image, kForeground);
  g.partial = xai::partial_annotation(g.annotation);
  g.composite = xai::composite_regions(g.annotation, 6, 6);
  return g;
}

xai::LimeResult explain(const Case& c, const Tensor& regions, bool sharp, std::int64_t samples, Generator& gen) {
  const Tensor x = c.image.unsqueeze(0);
  const xai::LimeOptions opt{.feature_mask = sharp ? Tensor{} : regions, .n_samples = samples, .generator = &gen};
  if (sharp) return xai::SharpLime(c.f, regions).explain(x, xai::Target(c.target), {}, opt);
  return xai::Lime(c.f).explain(x, xai::Target(c.target), {}, opt);
}

Tensor coefficient_map(const xai::LimeResult& res) { return xai::heatmap(res.attributions[0], xai::Sign::all); }

constexpr std::int64_t kZoom = 4;
Tensor big(const Tensor& image) { return figures::upscale(image, kZoom); }
// A region map [H, W] at kZoom× (each id repeated kZoom × kZoom times), to draw on big images.
Tensor zoom(const Tensor& regions) {
  const auto repeated = [](std::int64_t n) {
    std::vector<std::int64_t> idx;
    for (std::int64_t i = 0; i < n * kZoom; ++i) idx.push_back(i / kZoom);
    return tensor_from(idx, {n * kZoom});
  };
  return index_select(index_select(regions, 0, repeated(regions.size(0))), 1, repeated(regions.size(1)));
}

}  // namespace

void lime_and_sharp_lime(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("5. LIME on superpixels and Sharp-LIME on annotations");
  const std::vector<Case> cases = cases_of(l, 2);
  const std::int64_t k = o.lime_top_k;
  std::vector<std::vector<Tensor>> rows;
  std::vector<std::string> row_labels;
  Generator gen(o.seed + 5);
  for (const Case& c : cases) {
    const Regions g = regions_of(c.image);
    const xai::LimeResult lime = explain(c, g.slic, false, o.lime_samples, gen);
    const xai::LimeResult full = explain(c, g.annotation, true, o.lime_samples, gen);
    const xai::LimeResult partial = explain(c, g.partial, true, o.lime_samples, gen);
    const xai::LimeResult composite = explain(c, g.composite, true, o.lime_samples, gen);
    const Tensor lime_coef = lime.coefficients[0], comp_coef = composite.coefficients[0];
    // Drawn at 4× so that the boundaries are thin next to the features they outline.
    const Tensor image = figures::upscale(c.image, kZoom), slic = zoom(g.slic), composite_map = zoom(g.composite);
    rows.push_back({image, xai::mark_boundaries(image, slic), xai::lime_top_features(image, slic, lime_coef, k, true, false),
                    xai::lime_top_features(image, slic, lime_coef, k, false, false), big(coefficient_map(lime)),
                    xai::mark_boundaries(image, composite_map),
                    xai::lime_top_features(image, composite_map, comp_coef, k, false, false),
                    big(coefficient_map(composite)), big(coefficient_map(full)), big(coefficient_map(partial))});
    row_labels.push_back(c.label);
    r.number({"lime", c.label, "lime_r2"}, lime.r2[0].item(), "%.4f");
    r.number({"lime", c.label, "sharp_composite_r2"}, composite.r2[0].item(), "%.4f");
    r.number({"lime", c.label, "sharp_annotation_r2"}, full.r2[0].item(), "%.4f");
    r.number({"lime", c.label, "annotation_coefficient"}, full.coefficients[0][1].item(), "%.4f");
  }
  r.heading("5. LIME on superpixels, Sharp-LIME on annotations");
  r.paragraph(
      "LIME's features are SLIC superpixels (about 50 per image); Sharp-LIME's are regions an expert gives. Here the "
      "<i>annotation</i> is the object's foreground (brightest channel &gt; " + report::format("%g", kForeground) +
      "), the <i>partial</i> annotation the part of it left of its median column, and the <i>composite</i> the "
      "summer school's: a 6×6 grid over the rest of the image with the annotated region as one more feature. " +
      std::to_string(o.lime_samples) + " perturbed samples each (a switched-off feature becomes black); the top-" +
      std::to_string(k) + " features as the <code>lime</code> package draws them: positive only (boundaries in "
      "yellow), and positive (green) with negative (red); the coefficient maps on a symmetric diverging scale "
      "(red positive, blue negative).");
  r.figure("lime.png",
           figures::labelled_grid(rows,
                                  {"input", "SLIC", "LIME top+", "LIME top+/-", "LIME coef", "composite",
                                   "Sharp top+/-", "Sharp coef", "annotation coef", "partial coef"},
                                  row_labels, {.font_scale = 2}),
           "LIME on superpixels and Sharp-LIME on annotations: top features and coefficient maps");
  // A user's own regions: the explained images are written as PNGs to draw on in VIA.
  for (std::size_t i = 0; i < cases.size(); ++i)
    figures::save_png((r.out_dir() / ("explained_" + std::to_string(i) + ".png")).string(), cases[i].image);
  std::string via_note = " To explain with your own regions, draw polygons on one of the <code>explained_&lt;i&gt;.png</code> "
                         "images of this folder in the VGG Image Annotator, export its JSON and run again with "
                         "<code>--via file.json --via-image i</code>.";
  if (!o.via_path.empty()) {
    const Case& c = cases.at(static_cast<std::size_t>(o.via_image));
    const std::string file = "explained_" + std::to_string(o.via_image) + ".png";
    const Tensor regions = xai::load_via_annotation(o.via_path, file, 28, 28);
    const xai::LimeResult res = explain(c, regions, true, o.lime_samples, gen);
    r.number({"lime", "via", "r2"}, res.r2[0].item(), "%.4f");
    r.figure("lime_via.png",
             figures::labelled_grid({{figures::upscale(c.image, kZoom), xai::mark_boundaries(figures::upscale(c.image, kZoom), zoom(regions)),
                                      xai::lime_top_features(figures::upscale(c.image, kZoom), zoom(regions),
                                                             res.coefficients[0], k, false, false),
                                      big(coefficient_map(res))}},
                                    {"input", "your regions", "top+/-", "coefficients"}, {c.label}, {.font_scale = 2}),
             "Sharp-LIME on the regions read from " + o.via_path);
    via_note = " Below, Sharp-LIME on the regions drawn in <code>" + report::escape_html(o.via_path) + "</code> on <code>" +
               file + "</code> (surrogate R² " + report::format("%.3f", res.r2[0].item()) + ").";
  }
  r.paragraph("The explained images are in this folder as <code>explained_0.png</code> … <code>explained_" +
              std::to_string(cases.size() - 1) + ".png</code>." + via_note);

  // Stability: mean pairwise Jaccard of the top-k (and top-1) features over seeds, by the number of samples.
  const std::vector<std::int64_t>& sample_counts = o.stability_samples;
  const std::vector<Case> stable_cases = cases_of(l, std::max<std::int64_t>(1, o.stability_images / 2));
  const char* methods[2] = {"LIME (SLIC)", "Sharp-LIME (composite)"};
  const char* method_keys[2] = {"lime", "sharp_lime"};
  const std::string top_k = "top-" + std::to_string(k);
  std::vector<figures::Series> series;
  report::Table table({{"method", "", -24}, {"samples", "", 8}, {top_k + " Jaccard", top_k, 7},
                       {"top-1 Jaccard", "top-1", 7}, {"surrogate weighted R²", "R2", 7}}, "  ");
  lesson::Progress progress("LIME stability", 2 * static_cast<std::int64_t>(sample_counts.size()), "settings");
  std::vector<Regions> stable_regions;
  for (const Case& c : stable_cases) stable_regions.push_back(regions_of(c.image));
  for (int m = 0; m < 2; ++m) {
    figures::Series sk{.name = std::string(methods[m]) + " " + top_k, .color = figures::palette(static_cast<std::size_t>(m))};
    figures::Series s1{.name = std::string(methods[m]) + " top-1", .color = figures::palette(static_cast<std::size_t>(m + 2))};
    for (std::size_t si = 0; si < sample_counts.size(); ++si) {
      double jaccard_k = 0, jaccard_1 = 0, r2 = 0;
      for (std::size_t ci = 0; ci < stable_cases.size(); ++ci) {
        std::vector<std::vector<std::int64_t>> tops_k, tops_1;
        const Tensor& regions = m == 0 ? stable_regions[ci].slic : stable_regions[ci].composite;
        for (std::int64_t seed = 0; seed < o.stability_seeds; ++seed) {
          Generator g(o.seed + 100 + static_cast<std::uint64_t>(seed));
          const xai::LimeResult res = explain(stable_cases[ci], regions, m == 1, sample_counts[si], g);
          tops_k.push_back(xai::top_k_features(res.coefficients[0], k, true));
          tops_1.push_back(xai::top_k_features(res.coefficients[0], 1, true));
          r2 += res.r2[0].item();
        }
        jaccard_k += xai::mean_pairwise_jaccard(tops_k);
        jaccard_1 += xai::mean_pairwise_jaccard(tops_1);
      }
      const double runs = static_cast<double>(stable_cases.size());
      jaccard_k /= runs;
      jaccard_1 /= runs;
      r2 /= runs * static_cast<double>(o.stability_seeds);
      const std::string n = std::to_string(sample_counts[si]);
      for (figures::Series* s : {&sk, &s1}) s->xs.push_back(static_cast<double>(sample_counts[si]));
      sk.ys.push_back(jaccard_k);
      s1.ys.push_back(jaccard_1);
      table.row({methods[m], n, r.number({"lime_stability", method_keys[m], n, "jaccard"}, jaccard_k, "%.3f"),
                 r.number({"lime_stability", method_keys[m], n, "jaccard_top1"}, jaccard_1, "%.3f"),
                 r.number({"lime_stability", method_keys[m], n, "r2"}, r2, "%.3f")});
      progress.update(m * static_cast<std::int64_t>(sample_counts.size()) + static_cast<std::int64_t>(si) + 1);
    }
    series.push_back(sk);
    series.push_back(s1);
  }
  r.paragraph("<b>Stability.</b> The same explanation with " + std::to_string(o.stability_seeds) +
              " seeds: the mean Jaccard index, over all pairs of seeds, of the " + top_k + " and of the top-1 "
              "features (by |coefficient|), averaged over " + std::to_string(stable_cases.size()) + " images (both "
              "models), for " + std::to_string(sample_counts.front()) + " to " + std::to_string(sample_counts.back()) +
              " perturbed samples; and the surrogate's weighted R² on its own samples. 1 means "
              "every seed picks the same features. Read the " + top_k + " of Sharp-LIME with care: its composite has "
              "one region on the object and grid cells on the black background, which change nothing when switched "
              "off, so past its first feature the ranking is among coefficients that are sampling noise.");
  r.chart("lime_stability.png",
          figures::make_line_chart(series, {.title = "stability of the top features across seeds",
                                            .xlabel = "perturbed samples", .ylabel = "mean pairwise Jaccard",
                                            .ylim = std::pair{0.0, 1.05}, .markers = true}),
          "Jaccard index of the top features across seeds against the number of samples, LIME and Sharp-LIME");
  r.table(table);
}

}  // namespace lumen::concepts
