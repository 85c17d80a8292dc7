// Step 6 of the knowledge-extraction lesson (the DL@MBL exercise): discriminative attribution. For
// pairs of a real image and its counterfactual, attribution *between* the two finds the pixels that
// carry the difference; hybrids built from them are scored by the classifier (DAC, as in DAPI/QuAC).
// Data parallel, the pairs' attributions and DAC scores (the bulk of the work) are split across the
// ranks and the per-image scores gathered; the figures are rank 0's.
#include <algorithm>
#include <functional>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/process_group.h"
#include "examples/knowledge_extraction/steps.h"
#include "examples/lesson.h"
#include "figures/grid.h"
#include "figures/plot.h"
#include "xai/discriminative.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/visualize.h"

namespace lumen::knowledge_extraction {

namespace {

using lesson::kClassNames;
using report::format;

// Real test images, their counterfactuals (each to a random other class) and both classes, for the
// pairs whose counterfactual flipped the classifier.
struct Pairs {
  Tensor real, counterfactual;
  std::vector<std::int64_t> real_class, target_class;
};

Pairs flipped_pairs(const Options& o, const Data& data, const Classifiers& models, const TrainedGan& gan,
                    const FlipResults& flips, std::int64_t n) {
  const nn::ColoredMnist& test = data.test;
  // Images after those of the flip rate where there are enough (held out from every earlier choice).
  const std::int64_t first = std::min(flips.images, test.size() - n);
  const Tensor xd = test.images.narrow(0, first, n).contiguous();
  const auto real = test.labels.narrow(0, first, n).to_vector<std::int64_t>();
  Generator rng(o.seed + 11);
  const auto shift = randint(1, 4, {n}, kCPU, &rng).to_vector<std::int64_t>();
  std::vector<std::int64_t> target(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    target[static_cast<std::size_t>(i)] = (real[static_cast<std::size_t>(i)] + shift[static_cast<std::size_t>(i)]) % 4;
  // Counterfactuals per target class, then back in the images' order; keep the pairs that flipped.
  Tensor xcf = zeros_like(xd);
  std::vector<bool> flipped(static_cast<std::size_t>(n), false);
  for (std::int64_t c = 0; c < 4; ++c) {
    std::vector<std::int64_t> idx;
    for (std::int64_t i = 0; i < n; ++i)
      if (target[static_cast<std::size_t>(i)] == c) idx.push_back(i);
    if (idx.empty()) continue;
    const Tensor sel = tensor_from(idx);
    const gan::Counterfactuals cf =
        gan.counterfactual(index_select(xd, 0, sel), c, flips.protos, o.seed + 30, *models.dense, o.candidates);
    xcf = index_add(xcf, 0, sel, cf.images);
    const auto pred = cf.predicted.to_vector<std::int64_t>();
    for (std::size_t j = 0; j < idx.size(); ++j) flipped[static_cast<std::size_t>(idx[j])] = pred[j] == c;
  }
  std::vector<std::int64_t> keep;
  for (std::int64_t i = 0; i < n; ++i)
    if (flipped[static_cast<std::size_t>(i)]) keep.push_back(i);
  LUMEN_CHECK(!keep.empty(), "knowledge_extraction", "no counterfactual flipped the classifier; train the GAN longer");
  const Tensor kept = tensor_from(keep);
  Pairs p{index_select(xd, 0, kept), index_select(xcf, 0, kept), {}, {}};
  for (std::int64_t i : keep) {
    p.real_class.push_back(real[static_cast<std::size_t>(i)]);
    p.target_class.push_back(target[static_cast<std::size_t>(i)]);
  }
  return p;
}

// One method's DAC summary over the ranks: each rank's per-image numbers (the DAC, the optimal mask's
// size and score, the curve on summarize_dac's grid: xai::summarize_dac of the image alone) gathered
// in rank order, which is the pairs' order, on every rank, and averaged as xai::summarize_dac averages
// one process's results (the same sums in the same order).
xai::DacSummary summarize_over_ranks(const std::string& method, const std::vector<xai::DacResult>& mine) {
  constexpr std::int64_t kGrid = 101, kWidth = 3 + kGrid;  // summarize_dac's default grid
  std::vector<double> rows;
  for (const xai::DacResult& one_result : mine) {
    const xai::DacSummary one = xai::summarize_dac(method, {one_result}, kGrid);
    rows.insert(rows.end(), {one.mean_dac, one.mean_best_size, one.mean_best_score});
    rows.insert(rows.end(), one.mean_curve.begin(), one.mean_curve.end());
  }
  const Tensor all = dist::world().all_gather(
      tensor(rows, {static_cast<std::int64_t>(mine.size()), kWidth}, {.dtype = DType::float64}));
  const std::int64_t n = all.size(0);
  LUMEN_CHECK(n > 0, "knowledge_extraction", "no DAC result for method '", method, "' on any rank");
  const std::vector<double> v = all.to_vector<double>();
  xai::DacSummary s;
  s.method = method;
  s.n_images = n;
  for (std::int64_t g = 0; g < kGrid; ++g) s.grid.push_back(double(g) / double(kGrid - 1));
  s.mean_curve.assign(kGrid, 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* row = v.data() + i * kWidth;
    s.mean_dac += row[0] / double(n);
    s.mean_best_size += row[1] / double(n);
    s.mean_best_score += row[2] / double(n);
    for (std::int64_t g = 0; g < kGrid; ++g) s.mean_curve[static_cast<std::size_t>(g)] += row[3 + g] / double(n);
  }
  return s;
}

}  // namespace

void discriminative_attribution(const Options& o, const Data& data, const Classifiers& models, const TrainedGan& gan,
                                const FlipResults& flips, report::Report& r) {
  r.step("6. discriminative attribution on " + std::to_string(o.dapi_images) + " test images");
  const std::int64_t n_dapi = std::min(o.dapi_images, data.test.size());
  // Every rank makes the same pairs, batch for batch as one process (cheap beside what follows).
  const Pairs p = flipped_pairs(o, data, models, gan, flips, n_dapi);
  const Tensor &xk = p.real, &xcfk = p.counterfactual;
  const xai::Target real_t(p.real_class), cf_t(p.target_class);
  const std::string n_pairs = std::to_string(xk.size(0));
  r.say("  " + n_pairs + " of " + std::to_string(n_dapi) + " counterfactuals flipped the MLP and are explained");

  // This rank's pairs (all of them in one process): it explains and scores those alone, and the
  // per-image scores of every rank make each method's summary.
  const dist::Range mine = dist::shard(xk.size(0), o.rank, o.ranks);
  const Tensor xm = xk.narrow(0, mine.begin, mine.size()), xcfm = xcfk.narrow(0, mine.begin, mine.size());
  const xai::Target real_m = real_t.slice(mine.begin, mine.size()), cf_m = cf_t.slice(mine.begin, mine.size());
  // The DAC of each of this rank's pairs for the maps attribute() makes (none for a rank without
  // pairs: a tiny run with fewer pairs than ranks).
  const auto evaluate = [&](const xai::ForwardFn& model, const std::function<Tensor()>& attribute) {
    return mine.size() > 0 ? xai::dac_evaluate(model, xm, xcfm, attribute(), cf_m) : std::vector<xai::DacResult>{};
  };
  const auto summarize = [&](const std::string& method, const std::vector<xai::DacResult>& results) {
    return o.ranks > 1 ? summarize_over_ranks(method, results) : xai::summarize_dac(method, results);
  };

  // Each method's maps of the pairs, scored on the MLP; D-Grad-CAM needs convolutions, so it is
  // explained and scored with the CNN (beside the residual, scored the same way).
  const xai::ForwardFn f = xai::forward_of(*models.dense);
  // The random maps: drawn for every pair, as one process draws them, and this rank keeps its own.
  Generator noise(o.seed + 12);
  const Tensor random_maps = xai::random_attribution(xk, 1.0, &noise).narrow(0, mine.begin, mine.size());
  const std::vector<std::pair<std::string, std::function<Tensor()>>> methods = {
      {"D-IG", [&] { return xai::d_integrated_gradients(f, xm, xcfm, real_m, {.n_steps = o.ig_steps}); }},
      {"D-InputXGradient", [&] { return xai::d_input_x_gradient(f, xm, xcfm, real_m); }},
      {"D-DeepLIFT", [&] { return xai::d_deeplift(*models.dense, xm, xcfm, real_m); }},
      {"IG (zero baseline)",
       [&] { return xai::IntegratedGradients(f).attribute(xm, real_m, {}, {.n_steps = o.ig_steps}); }},
      {"residual |x - x_cf|", [&] { return xai::residual_attribution(xm, xcfm); }},
      {"random", [&] { return random_maps; }},
  };
  report::Table table({{"method", "method (MLP)", -22}, {"mean DAC", "", 10}, {"mean optimal mask size", "best size", 12},
                       {"mean score at it", "best score", 12}},
                      "  ");
  auto add_row = [&](const xai::DacSummary& s, const std::string& dac) {
    table.row({s.method, dac, format("%.4f", s.mean_best_size), format("%.4f", s.mean_best_score)});
  };
  std::vector<xai::DacSummary> dac;
  Tensor d_ig_maps;                          // the first method's maps and results, for the examples
  std::vector<xai::DacResult> d_ig_results;
  std::vector<figures::Series> curves;
  for (const auto& [method, attribute] : methods) {
    Tensor maps;  // kept for D-IG's examples
    auto results = evaluate(f, [&] { return maps = attribute(); });
    const xai::DacSummary s = summarize(method, results);
    add_row(s, r.number({"dac", s.method}, s.mean_dac, "%.4f"));
    curves.push_back({s.method, s.grid, s.mean_curve, std::nullopt});
    if (dac.empty()) {
      d_ig_maps = maps;
      d_ig_results = std::move(results);
    }
    dac.push_back(s);
  }
  const xai::ForwardFn fc_cnn = xai::forward_of(*models.cnn);
  const xai::DacSummary s_gc = summarize(
      "D-Grad-CAM (CNN)", evaluate(fc_cnn, [&] { return xai::d_grad_cam(*models.cnn, "features.3", xm, xcfm, real_m); }));
  const xai::DacSummary s_res_cnn =
      summarize("residual (CNN)", evaluate(fc_cnn, [&] { return xai::residual_attribution(xm, xcfm); }));
  add_row(s_gc, r.number({"dac_cnn", "D-Grad-CAM"}, s_gc.mean_dac, "%.4f"));
  add_row(s_res_cnn, r.number({"dac_cnn", "residual"}, s_res_cnn.mean_dac, "%.4f"));
  // The lesson's target: the discriminative maps beat IG, the residual and random.
  const double baseline_best = std::max({dac[3].mean_dac, dac[4].mean_dac, dac[5].mean_dac});
  const bool target_met = dac[0].mean_dac > baseline_best && dac[1].mean_dac > baseline_best;
  r.flag({"dac_target_met"}, target_met);
  r.say(std::string("  D-IG and D-InputXGradient above IG, residual and random: ") + (target_met ? "yes" : "NO"));
  if (o.rank != 0) return;  // the figures are rank 0's (no collective below)

  // Examples: real | counterfactual | D-IG | optimal mask | hybrid, for the first four pairs: rank 0's
  // own results unless its share holds fewer (a tiny run over several ranks), then D-IG again on those.
  const std::int64_t n_ex = std::min<std::int64_t>(4, xk.size(0));
  if (mine.size() < n_ex) {
    d_ig_maps = xai::d_integrated_gradients(f, xk.narrow(0, 0, n_ex), xcfk.narrow(0, 0, n_ex), real_t.slice(0, n_ex),
                                            {.n_steps = o.ig_steps});
    d_ig_results = xai::dac_evaluate(f, xk.narrow(0, 0, n_ex), xcfk.narrow(0, 0, n_ex), d_ig_maps, cf_t.slice(0, n_ex));
  }
  std::vector<std::vector<Tensor>> ex_rows;
  std::vector<std::string> ex_labels;
  for (std::int64_t i = 0; i < n_ex; ++i) {
    const xai::DacResult& res = d_ig_results[static_cast<std::size_t>(i)];
    ex_rows.push_back({xk[i], xcfk[i], xai::heatmap(d_ig_maps[i], xai::Sign::all), res.best_mask, res.best_hybrid});
    ex_labels.push_back(std::string(kClassNames[p.real_class[static_cast<std::size_t>(i)]]) + " -> " +
                        kClassNames[p.target_class[static_cast<std::size_t>(i)]]);
  }
  r.heading("6. Discriminative attribution: which pixels make the difference?");
  r.paragraph("For " + n_pairs +
              " test images whose counterfactual (to a random other class) flipped the classifier, each method's map "
              "is thresholded at 200 levels; each mask is closed with an elliptical element and blurred, and the "
              "hybrid m·x_cf + (1−m)·x is shown to the classifier. The curve of p_cf(hybrid) − p_cf(x) against the "
              "mask size is summarised by its area (DAC; higher: fewer pixels explain the change). D-IG is Integrated "
              "Gradients with the counterfactual as baseline; D-InputXGradient is ∇f(x)·(x − x_cf).");
  r.table(table);
  r.paragraph(std::string("Target of the lesson — D-IG and D-InputXGradient above IG, residual and random: <b>") +
              (target_met ? "met" : "not met") + "</b>.");
  r.chart("dac_curves.png",
          figures::make_line_chart(curves, {.title = "Hybrids: classifier's change in p(counterfactual class)",
                                            .xlabel = "mask size (fraction of the image)",
                                            .ylabel = "p_cf(hybrid) − p_cf(real)", .width = 640, .height = 440}),
          "DAC curves: the change in p(counterfactual class) against the mask size, one line per method");
  r.figure("dapi_examples.png",
           figures::labelled_grid(ex_rows, {"real", "counterfactual", "D-IG", "best mask", "hybrid"}, ex_labels,
                                  {.upscale = 4, .font_scale = 2}),
           "examples");
  r.paragraph("With D-IG's optimal masks, swapping on average " + format("%.1f", 100 * dac[0].mean_best_size) +
              "% of the pixels from the counterfactual into the real image raises p(counterfactual class) by " +
              format("%.2f", dac[0].mean_best_score) +
              " on average; the examples show what those pixels are. The counterfactuals keep the digit and change "
              "its color, so a class that flips with so few swapped pixels is read from the color of the strokes, "
              "not from their shape: knowledge that the attribution maps of step 3 alone could not give.");
}

}  // namespace lumen::knowledge_extraction
