// Discriminative attribution from counterfactuals (DAPI / QuAC): the methods, then the mask
// evaluation and its DAC score.
#include "xai/discriminative.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "xai/backward_rules.h"
#include "xai/baselines.h"
#include "xai/grad_cam.h"
#include "xai/morphology.h"

namespace lumen::xai {

namespace {

std::string described(const Tensor& t) { return t.defined() ? shape_str(t.shape()) : "undefined"; }

// x_cf broadcast to x's shape (one sample's shape is repeated), checked and detached.
Tensor counterfactual_like(const Tensor& counterfactuals, const Tensor& inputs, const char* op) {
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 2, op, "expected inputs [N, ...], got ", described(inputs));
  LUMEN_CHECK(counterfactuals.defined(), op, "expected counterfactuals shaped like the inputs ", inputs.shape(),
              ", got undefined");
  return expand_baseline(counterfactuals.detach(), inputs.detach(), op);
}

void check_images(const Tensor& inputs, const char* op) {
  LUMEN_CHECK(inputs.defined() && inputs.dim() == 4, op, "expected images [N, C, H, W], got ", described(inputs));
}

std::vector<double> host(const Tensor& t) { return t.detach().contiguous().to_vector<double>(); }

}  // namespace

// ---- methods

Tensor d_integrated_gradients(const ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                              const Target& real, const IGOptions& opt) {
  const Tensor cf = counterfactual_like(counterfactuals, inputs, "d_integrated_gradients");
  return IntegratedGradients(f).attribute(inputs, real, /*baselines=*/cf, opt);
}

Tensor d_input_x_gradient(const ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                          const Target& real) {
  const Tensor cf = counterfactual_like(counterfactuals, inputs, "d_input_x_gradient");
  check_target(real, inputs, "d_input_x_gradient");
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  return target_gradient(f, inputs, real) * (inputs.detach() - cf);
}

Tensor d_deeplift(nn::Module& model, const Tensor& inputs, const Tensor& counterfactuals, const Target& real) {
  const Tensor cf = counterfactual_like(counterfactuals, inputs, "d_deeplift");
  return DeepLift(model).attribute(inputs, real, /*baselines=*/cf).detach();
}

Tensor d_grad_cam(nn::Module& model, nn::Module& layer, const Tensor& inputs, const Tensor& counterfactuals,
                  const Target& real, const DGradCamOptions& opt) {
  const char* op = "d_grad_cam";
  check_images(inputs, op);
  const Tensor cf = counterfactual_like(counterfactuals, inputs, op);
  check_target(real, inputs, op);
  if (is_empty_batch(inputs)) {
    const auto [h, w] = opt.upsample ? std::pair{inputs.size(2), inputs.size(3)} : layer_map_size(model, layer, inputs);
    return empty_attributions(inputs, {0, 1, h, w});
  }
  const std::int64_t n = inputs.size(0);
  Tensor acts;  // the layer's output for the 2N rows [x; x_cf], captured by a forward hook
  Tensor grad;
  {
    autograd::GradModeGuard on(true);
    // Inputs require grad so the graph reaches the layer even when the weights are frozen.
    Tensor both = cat({inputs.detach(), cf}, 0).requires_grad_();
    Tensor scores;
    {
      // The handle removes the hook when this block ends, also if the forward throws.
      nn::HookHandle hook =
          layer.register_forward_hook([&acts](nn::Module&, const Tensor&, const Tensor& out) { acts = out; });
      scores = real.select(model(both), op);  // row r's real class is real.at(r mod N)
    }
    LUMEN_CHECK(acts.defined(), op, "the layer did not run in the model's forward");
    LUMEN_CHECK(acts.dim() == 4 && acts.size(0) == 2 * n, op, "expected the layer's output to be [", 2 * n,
                ", K, h, w] for the ", 2 * n, " rows [inputs; counterfactuals], got shape ", acts.shape());
    // Only x's rows are differentiated: the gradient is taken at the real image.
    grad = autograd::grad({scores.narrow(0, 0, n).sum()}, {acts})[0].narrow(0, 0, n);
  }
  const Tensor a = acts.detach();
  const Tensor diff = a.narrow(0, 0, n) - a.narrow(0, n, n);  // A(x) − A(x_cf)
  const Tensor weight = opt.pooled ? grad.mean({2, 3}, /*keepdim=*/true) : grad;
  Tensor map = (weight * diff).sum({1}, /*keepdim=*/true);  // [N, 1, h, w]
  if (!opt.upsample) return map;
  return upsample_bilinear2d(map, {inputs.size(2), inputs.size(3)}, /*align_corners=*/false);
}

Tensor d_grad_cam(nn::Module& model, const std::string& layer_name, const Tensor& inputs,
                  const Tensor& counterfactuals, const Target& real, const DGradCamOptions& opt) {
  return d_grad_cam(model, model.submodule(layer_name), inputs, counterfactuals, real, opt);
}

Tensor residual_attribution(const Tensor& inputs, const Tensor& counterfactuals) {
  check_images(inputs, "residual_attribution");
  const Tensor cf = counterfactual_like(counterfactuals, inputs, "residual_attribution");
  return abs(inputs.detach() - cf).sum({1}, /*keepdim=*/true);
}

Tensor random_attribution(const Tensor& inputs, double sigma, Generator* gen) {
  check_images(inputs, "random_attribution");
  LUMEN_CHECK(sigma >= 0, "random_attribution", "expected sigma >= 0, got ", sigma);
  Tensor noise = rand({inputs.size(0), 1, inputs.size(2), inputs.size(3)}, options_of(inputs), gen);
  return sigma > 0 ? gaussian_blur(noise, sigma) : noise;
}

std::vector<std::pair<std::string, Tensor>> discriminative_attributions(nn::Module& model, const Tensor& inputs,
                                                                        const Tensor& counterfactuals,
                                                                        const Target& real,
                                                                        const std::string& layer_name,
                                                                        Generator* gen) {
  const ForwardFn f = forward_of(model);
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("d_ig", d_integrated_gradients(f, inputs, counterfactuals, real));
  out.emplace_back("d_inxg", d_input_x_gradient(f, inputs, counterfactuals, real));
  out.emplace_back("d_dl", d_deeplift(model, inputs, counterfactuals, real));
  if (!layer_name.empty()) out.emplace_back("d_gc", d_grad_cam(model, layer_name, inputs, counterfactuals, real));
  out.emplace_back("residual", residual_attribution(inputs, counterfactuals));
  out.emplace_back("random", random_attribution(inputs, 1.0, gen));
  return out;
}

// ---- building blocks of the evaluation

std::vector<std::vector<double>> normalized_maps(const Tensor& attributions, Aggregate aggregate) {
  LUMEN_CHECK(attributions.defined() && attributions.dim() == 4, "normalized_maps",
              "expected attributions [N, C, H, W], got ", described(attributions));
  Tensor imp = attributions.detach().to(DType::float64);
  if (aggregate == Aggregate::abs_sum) imp = abs(imp);
  const std::int64_t n = imp.size(0);
  if (n == 0) return {};  // an empty batch: no maps
  const std::vector<double> all = host(imp.sum({1}).reshape({n, -1}));
  const std::size_t p = all.size() / static_cast<std::size_t>(n);
  std::vector<std::vector<double>> maps;
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<double> m(all.begin() + static_cast<std::ptrdiff_t>(i * p),
                          all.begin() + static_cast<std::ptrdiff_t>((i + 1) * p));
    const auto [lo, hi] = std::minmax_element(m.begin(), m.end());
    const double min = *lo, range = *hi - *lo;
    for (double& v : m) v = range > 0 ? (v - min) / range : 0.0;
    maps.push_back(std::move(m));
  }
  return maps;
}

std::vector<double> mask_thresholds(const std::vector<double>& map, std::int64_t n, Thresholds spacing) {
  LUMEN_CHECK(n >= 1, "mask_thresholds", "expected n_thresholds >= 1, got ", n);
  LUMEN_CHECK(!map.empty(), "mask_thresholds", "expected a non-empty map");
  std::vector<double> t(static_cast<std::size_t>(n));
  std::vector<double> sorted;
  if (spacing == Thresholds::quantile) {
    sorted = map;
    std::sort(sorted.begin(), sorted.end());
  }
  for (std::int64_t k = 0; k < n; ++k) {
    const double q = double(k) / double(n);
    if (spacing == Thresholds::uniform) {
      t[static_cast<std::size_t>(k)] = q;
    } else {  // numpy.quantile's "linear" rule: position q·(P − 1) between the sorted values
      const double pos = q * double(sorted.size() - 1);
      const auto lo = static_cast<std::size_t>(std::floor(pos));
      const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
      t[static_cast<std::size_t>(k)] = sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
    }
  }
  return t;
}

std::vector<std::uint8_t> threshold_mask(const std::vector<double>& map, std::int64_t h, std::int64_t w, double t,
                                         std::int64_t closing_radius) {
  LUMEN_CHECK(static_cast<std::int64_t>(map.size()) == h * w, "threshold_mask", "expected a map of ", h, "×", w,
              " = ", h * w, " values, got ", map.size());
  LUMEN_CHECK(closing_radius >= 0, "threshold_mask", "expected closing_radius >= 0, got ", closing_radius);
  morphology::Mask m(map.size());
  for (std::size_t i = 0; i < map.size(); ++i) m[i] = map[i] > t ? 1 : 0;
  return morphology::close(m, h, w, closing_radius);
}

Tensor hybrid(const Tensor& inputs, const Tensor& counterfactuals, const Tensor& mask) {
  LUMEN_CHECK(inputs.defined() && counterfactuals.defined() && mask.defined() &&
                  inputs.shape() == counterfactuals.shape() && inputs.dim() >= 2,
              "hybrid", "expected inputs and counterfactuals of the same shape [..., H, W] and a mask, got ",
              described(inputs), ", ", described(counterfactuals), " and ", described(mask));
  const std::int64_t h = inputs.size(-2), w = inputs.size(-1);
  LUMEN_CHECK(mask.dim() >= 2 && mask.size(-2) == h && mask.size(-1) == w, "hybrid", "the mask ", mask.shape(),
              " must end in the images' H×W = ", h, "×", w);
  const Tensor m = mask.detach().to(inputs.dtype());
  return m * counterfactuals.detach() + (1.0 - m) * inputs.detach();
}

// ---- evaluation

namespace {

// p[:, cls] of the softmax of f(rows), rows in forwards of at most batch rows.
std::vector<double> class_probabilities(const ForwardFn& f, const Tensor& rows, std::int64_t cls, std::int64_t batch,
                                        const char* op) {
  std::vector<double> out;
  for (std::int64_t r0 = 0; r0 < rows.size(0); r0 += batch) {
    const std::int64_t b = std::min(batch, rows.size(0) - r0);
    const Tensor scores = f(rows.narrow(0, r0, b));
    LUMEN_CHECK(scores.dim() == 2 && scores.size(0) == b, op, "expected the model to return [", b,
                ", K] scores, got shape ", scores.shape());
    LUMEN_CHECK(cls >= 0 && cls < scores.size(1), op, "counterfactual class ", cls, " is out of range for ",
                scores.size(1), " outputs");
    const auto p = host(softmax(scores, 1).select(1, cls));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// Soft masks [M, 1, H, W] from binary ones: closing already done, blur if asked.
Tensor soften(const std::vector<const morphology::Mask*>& masks, std::int64_t h, std::int64_t w, double sigma,
              const Tensor& like) {
  std::vector<double> flat;
  flat.reserve(masks.size() * static_cast<std::size_t>(h * w));
  for (const auto* m : masks) flat.insert(flat.end(), m->begin(), m->end());
  Tensor t = tensor(flat, {static_cast<std::int64_t>(masks.size()), 1, h, w}, {.dtype = like.dtype()})
                 .to(like.device());
  return sigma > 0 ? gaussian_blur(t, sigma) : t;
}

double trapezoid(const std::vector<double>& x, const std::vector<double>& y) {
  double area = 0;
  for (std::size_t i = 1; i < x.size(); ++i) area += 0.5 * (x[i] - x[i - 1]) * (y[i] + y[i - 1]);
  return area;
}

// y(x) on a piecewise-linear curve with x sorted ascending.
double interpolate(const std::vector<double>& x, const std::vector<double>& y, double at) {
  if (at <= x.front()) return y.front();
  for (std::size_t i = 1; i < x.size(); ++i)
    if (at <= x[i]) {
      const double dx = x[i] - x[i - 1];
      return dx > 0 ? y[i - 1] + (at - x[i - 1]) / dx * (y[i] - y[i - 1]) : y[i];
    }
  return y.back();
}

DacResult evaluate_one(const ForwardFn& f, const Tensor& x, const Tensor& cf, const std::vector<double>& map,
                       std::int64_t cls, const DacOptions& opt) {
  const char* op = "dac_evaluate";
  const std::int64_t h = x.size(1), w = x.size(2), pixels = h * w;
  DacResult r;
  const auto ends = class_probabilities(f, stack({x, cf}, 0), cls, opt.batch_size, op);
  r.p_real = ends[0];
  r.p_counterfactual = ends[1];

  // Masks grow as the threshold falls and closing is monotone, so masks are nested and two of
  // equal size are equal: each distinct size is classified once.
  r.thresholds = mask_thresholds(map, opt.n_thresholds, opt.spacing);
  std::vector<morphology::Mask> masks;
  std::vector<std::int64_t> counts, which;  // which[k]: index into masks of threshold k's mask
  for (double t : r.thresholds) {
    morphology::Mask m = threshold_mask(map, h, w, t, opt.closing_radius);
    const std::int64_t c = std::count(m.begin(), m.end(), std::uint8_t{1});
    auto found = std::find(counts.begin(), counts.end(), c);
    if (found == counts.end()) {
      which.push_back(static_cast<std::int64_t>(masks.size()));
      counts.push_back(c);
      masks.push_back(std::move(m));
    } else {
      which.push_back(found - counts.begin());
    }
    r.mask_sizes.push_back(double(c) / double(pixels));
  }

  std::vector<const morphology::Mask*> ptrs;
  for (const auto& m : masks) ptrs.push_back(&m);
  std::vector<double> distinct_scores;
  for (std::size_t s = 0; s < ptrs.size(); s += static_cast<std::size_t>(opt.batch_size)) {
    const std::size_t e = std::min(ptrs.size(), s + static_cast<std::size_t>(opt.batch_size));
    const std::vector<const morphology::Mask*> chunk(ptrs.begin() + static_cast<std::ptrdiff_t>(s),
                                                     ptrs.begin() + static_cast<std::ptrdiff_t>(e));
    const Tensor soft = soften(chunk, h, w, opt.blur_sigma, x);
    const auto p = class_probabilities(f, hybrid(x.unsqueeze(0), cf.unsqueeze(0), soft), cls, opt.batch_size, op);
    for (double v : p) distinct_scores.push_back(v - r.p_real);
  }
  for (auto k : which) r.scores.push_back(distinct_scores[static_cast<std::size_t>(k)]);

  // The curve: thresholds descending give sizes ascending; the exact end points close it.
  r.curve_sizes.push_back(0.0);
  r.curve_scores.push_back(0.0);
  for (std::size_t k = r.thresholds.size(); k-- > 0;) {
    r.curve_sizes.push_back(r.mask_sizes[k]);
    r.curve_scores.push_back(r.scores[k]);
  }
  r.curve_sizes.push_back(1.0);
  r.curve_scores.push_back(r.p_counterfactual - r.p_real);
  r.dac = trapezoid(r.curve_sizes, r.curve_scores);

  double best_value = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < r.scores.size(); ++k)
    if (r.scores[k] - r.mask_sizes[k] > best_value) {
      best_value = r.scores[k] - r.mask_sizes[k];
      r.best = static_cast<std::int64_t>(k);
    }
  r.best_mask = soften({ptrs[static_cast<std::size_t>(which[static_cast<std::size_t>(r.best)])]}, h, w,
                       opt.blur_sigma, x)
                    .squeeze(0);
  r.best_hybrid = hybrid(x, cf, r.best_mask);
  return r;
}

}  // namespace

std::vector<DacResult> dac_evaluate(const ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                                    const Tensor& attributions, const Target& counterfactual,
                                    const DacOptions& opt) {
  const char* op = "dac_evaluate";
  check_images(inputs, op);
  LUMEN_CHECK(counterfactuals.defined() && counterfactuals.shape() == inputs.shape(), op, "counterfactuals of shape ",
              described(counterfactuals), " must match the inputs' shape ", inputs.shape());
  LUMEN_CHECK(attributions.defined() && attributions.dim() == 4 && attributions.size(0) == inputs.size(0) &&
                  attributions.size(2) == inputs.size(2) && attributions.size(3) == inputs.size(3),
              op, "expected attributions [", inputs.size(0), ", C, ", inputs.size(2), ", ", inputs.size(3),
              "] (one map per image, any number of channels), got ", described(attributions));
  LUMEN_CHECK(opt.n_thresholds >= 1 && opt.closing_radius >= 0 && opt.blur_sigma >= 0 && opt.batch_size >= 1, op,
              "expected n_thresholds >= 1, closing_radius >= 0, blur_sigma >= 0 and batch_size >= 1, got ",
              opt.n_thresholds, ", ", opt.closing_radius, ", ", opt.blur_sigma, " and ", opt.batch_size);
  check_target(counterfactual, inputs, op);
  autograd::NoGradGuard no_grad;

  const Tensor x = inputs.detach(), cf = counterfactuals.detach();
  const auto maps = normalized_maps(attributions, opt.aggregate);
  std::vector<DacResult> out;
  for (std::int64_t i = 0; i < x.size(0); ++i)
    out.push_back(evaluate_one(f, x.select(0, i), cf.select(0, i), maps[static_cast<std::size_t>(i)],
                               counterfactual.at(i), opt));
  return out;
}

DacSummary summarize_dac(const std::string& method, const std::vector<DacResult>& results,
                         std::int64_t grid_points) {
  LUMEN_CHECK(!results.empty(), "summarize_dac", "expected at least one result for method '", method, "'");
  LUMEN_CHECK(grid_points >= 2, "summarize_dac", "expected grid_points >= 2, got ", grid_points);
  DacSummary s;
  s.method = method;
  s.n_images = static_cast<std::int64_t>(results.size());
  for (std::int64_t g = 0; g < grid_points; ++g) s.grid.push_back(double(g) / double(grid_points - 1));
  s.mean_curve.assign(s.grid.size(), 0.0);
  const double n = double(results.size());
  for (const auto& r : results) {
    LUMEN_CHECK(!r.curve_sizes.empty() && r.curve_sizes.size() == r.curve_scores.size(), "summarize_dac",
                "a result of method '", method, "' has no curve (not made by dac_evaluate?)");
    s.mean_dac += r.dac / n;
    s.mean_best_size += r.mask_sizes[static_cast<std::size_t>(r.best)] / n;
    s.mean_best_score += r.scores[static_cast<std::size_t>(r.best)] / n;
    for (std::size_t g = 0; g < s.grid.size(); ++g)
      s.mean_curve[g] += interpolate(r.curve_sizes, r.curve_scores, s.grid[g]) / n;
  }
  return s;
}

}  // namespace lumen::xai
