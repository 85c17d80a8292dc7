// Evaluation of explanations: deletion/insertion curves, infidelity, max-sensitivity, the
// model-parameter randomisation test, and the rank correlations they report.
#include "xai/evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/init.h"
#include "nn/module.h"
#include "xai/baselines.h"

namespace lumen::xai {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double pearson_of(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double cov = 0, va = 0, vb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    cov += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) * (a[i] - ma);
    vb += (b[i] - mb) * (b[i] - mb);
  }
  if (va == 0 || vb == 0) return kNaN;
  // Rounding can push |r| a hair past 1 for perfectly (anti)correlated data.
  return std::clamp(cov / std::sqrt(va * vb), -1.0, 1.0);
}

double spearman_of(const std::vector<double>& a, const std::vector<double>& b) {
  return pearson_of(average_ranks(a), average_ranks(b));
}

std::vector<double> host(const Tensor& t) { return t.detach().contiguous().to_vector<double>(); }

void check_pair(const Tensor& a, const Tensor& b, const char* op) {
  LUMEN_CHECK(a.defined() && b.defined(), op, "expected two defined tensors");
  LUMEN_CHECK(a.numel() == b.numel() && a.numel() >= 2, op, "expected two tensors with the same number (>= 2) of ",
              "elements, got shapes ", a.shape(), " and ", b.shape());
}

// Row r of a batch belongs to sample samples[r]; its target class is target.at(that sample).
Tensor row_classes(const Target& target, const std::vector<std::int64_t>& samples, Device device) {
  std::vector<std::int64_t> cls;
  cls.reserve(samples.size());
  for (auto s : samples) cls.push_back(target.at(s));
  return tensor_from(cls, {static_cast<std::int64_t>(cls.size()), 1}, device);
}

// The target column of scores [B, K] for each row (softmax first when probabilities are asked for).
std::vector<double> pick_scores(const Tensor& scores, const Target& target, const std::vector<std::int64_t>& samples,
                                bool probabilities, const char* op) {
  LUMEN_CHECK(scores.dim() == 2 && scores.size(0) == static_cast<std::int64_t>(samples.size()), op,
              "expected the model to return [", samples.size(), ", K] scores, got shape ", scores.shape());
  for (auto s : samples)
    LUMEN_CHECK(target.at(s) >= 0 && target.at(s) < scores.size(1), op, "target class ", target.at(s),
                " is out of range for ", scores.size(1), " outputs");
  Tensor p = probabilities ? softmax(scores, 1) : scores;
  return host(gather(p, 1, row_classes(target, samples, scores.device())).squeeze(1));
}

Shape sample_shape(const Tensor& t) { return Shape(t.shape().begin() + 1, t.shape().end()); }

Shape with_batch(std::int64_t b, const Shape& sample) {
  Shape s{b};
  s.insert(s.end(), sample.begin(), sample.end());
  return s;
}

Tensor index_rows(const Tensor& t, const std::vector<std::int64_t>& samples) {
  return index_select(t, 0, tensor_from(samples, {}, t.device()));
}

Tensor nan_mean_tensor(const std::vector<double>& v, double* mean) {
  double total = 0;
  std::int64_t n = 0;
  for (double x : v)
    if (!std::isnan(x)) total += x, ++n;
  *mean = n ? total / static_cast<double>(n) : kNaN;
  return tensor(v, {static_cast<std::int64_t>(v.size())}, {.dtype = DType::float64});
}

// ---- deletion / insertion

CurveResult run_curve(bool insertion, const ForwardFn& f, const Tensor& inputs, const Tensor& attributions,
                      const Target& target, const CurveOptions& opt, const char* op) {
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 2, op, "expected inputs [N, ...], got ",
              inputs.defined() ? inputs.str() : "undefined");
  LUMEN_CHECK(attributions.defined() && attributions.shape() == inputs.shape(), op, "attributions of shape ",
              attributions.defined() ? shape_str(attributions.shape()) : "undefined",
              " do not match the inputs' shape ", inputs.shape());
  LUMEN_CHECK(opt.steps >= 1 && opt.batch_size >= 1, op, "expected steps >= 1 and batch_size >= 1, got ", opt.steps,
              " and ", opt.batch_size);
  check_target(target, inputs, op);
  autograd::NoGradGuard no_grad;

  const std::int64_t n = inputs.size(0);
  const bool pixels = opt.pixels && inputs.dim() == 4;
  const Shape mask_sample = pixels ? Shape{1, inputs.size(2), inputs.size(3)} : sample_shape(inputs);
  std::int64_t p = 1;
  for (std::int64_t d : mask_sample) p *= d;
  LUMEN_CHECK(p > 0, op, "expected at least one feature per sample, got inputs of shape ", inputs.shape());
  const std::int64_t points = opt.steps + 1;
  std::vector<std::int64_t> ks(static_cast<std::size_t>(points));
  std::vector<double> fractions(static_cast<std::size_t>(points));
  for (std::int64_t s = 0; s < points; ++s) {
    ks[static_cast<std::size_t>(s)] = std::llround(static_cast<double>(s) * static_cast<double>(p) / opt.steps);
    fractions[static_cast<std::size_t>(s)] = static_cast<double>(ks[static_cast<std::size_t>(s)]) / p;
  }
  if (n == 0) {  // no curves; their mean is the mean of nothing: NaN, as mean() of an empty tensor
    CurveResult out;
    out.mean.fractions = fractions;
    out.mean.values.assign(fractions.size(), std::numeric_limits<double>::quiet_NaN());
    out.mean.auc = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const Tensor x = inputs.detach();
  Tensor base;
  if (opt.baseline.defined()) {
    base = expand_baseline(opt.baseline, x, op);
  } else if (opt.blur_sigma > 0) {
    LUMEN_CHECK(x.dim() == 4, op, "blur_sigma needs images [N, C, H, W], got shape ", x.shape());
    base = gaussian_blur(x, opt.blur_sigma);
  } else {
    base = zeros_like(x);
  }

  // One importance per feature: per pixel (channels combined) for images, else per element.
  Tensor imp = attributions.detach().to(DType::float64);
  if (opt.aggregate == Aggregate::abs_sum) imp = abs(imp);
  if (pixels) imp = imp.sum({1});
  const std::vector<double> importance = host(imp.reshape({n, -1}));

  // order[i]: sample i's features, most important first (ties: lower index first, so it is reproducible).
  std::vector<std::vector<std::int64_t>> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    auto& o = order[static_cast<std::size_t>(i)];
    o.resize(static_cast<std::size_t>(p));
    std::iota(o.begin(), o.end(), 0);
    const double* v = importance.data() + i * p;
    std::stable_sort(o.begin(), o.end(), [v](std::int64_t a, std::int64_t b) { return v[a] > v[b]; });
  }

  // Rows are (sample, step) pairs, sample-major; each chunk is one forward.
  const std::int64_t rows = n * points;
  std::vector<double> values(static_cast<std::size_t>(rows));
  for (std::int64_t r0 = 0; r0 < rows; r0 += opt.batch_size) {
    const std::int64_t b = std::min(opt.batch_size, rows - r0);
    std::vector<std::int64_t> samples(static_cast<std::size_t>(b));
    std::vector<double> mask(static_cast<std::size_t>(b * p), 0.0);  // 1: the top-k features of this row
    for (std::int64_t j = 0; j < b; ++j) {
      const std::int64_t i = (r0 + j) / points, k = ks[static_cast<std::size_t>((r0 + j) % points)];
      samples[static_cast<std::size_t>(j)] = i;
      for (std::int64_t q = 0; q < k; ++q) mask[static_cast<std::size_t>(j * p + order[static_cast<std::size_t>(i)][static_cast<std::size_t>(q)])] = 1.0;
    }
    Tensor m = tensor(mask, with_batch(b, mask_sample), {.dtype = x.dtype()}).to(x.device());
    Tensor xs = index_rows(x, samples), bs = index_rows(base, samples);
    // where() rather than arithmetic mixing, so each element is exactly the input's or the baseline's.
    Tensor mixed = insertion ? where(m, xs, bs) : where(m, bs, xs);
    const auto got = pick_scores(f(mixed), target, samples, opt.probabilities, op);
    std::copy(got.begin(), got.end(), values.begin() + r0);
  }

  CurveResult out;
  out.mean.fractions = fractions;
  out.mean.values.assign(static_cast<std::size_t>(points), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    Curve c;
    c.fractions = fractions;
    c.values.assign(values.begin() + i * points, values.begin() + (i + 1) * points);
    c.auc = trapezoid_auc(c.fractions, c.values);
    for (std::int64_t s = 0; s < points; ++s)
      out.mean.values[static_cast<std::size_t>(s)] += c.values[static_cast<std::size_t>(s)] / static_cast<double>(n);
    out.per_sample.push_back(std::move(c));
  }
  out.mean.auc = trapezoid_auc(out.mean.fractions, out.mean.values);
  return out;
}

// ---- randomisation

// The parameters a module registered itself (its children's have dotted names).
std::vector<Tensor> own_parameters(const nn::Module& m) {
  std::vector<Tensor> out;
  for (const auto& [name, t] : m.named_parameters())
    if (name.find('.') == std::string::npos) out.push_back(t);
  return out;
}

void reinitialize(const nn::Module& m, Reinit how, Generator& gen) {
  const auto params = own_parameters(m);
  std::int64_t fan_in = 0;
  for (const auto& t : params)
    if (t.dim() >= 2) {
      fan_in = nn::init::fan_in_and_fan_out(t).first;
      break;
    }
  for (const auto& t : params) {
    if (how == Reinit::default_init) {
      if (t.dim() >= 2) {
        nn::init::kaiming_uniform_(t, std::sqrt(5.0), nn::init::FanMode::fan_in, nn::init::Nonlinearity::leaky_relu,
                                   &gen);
      } else {
        const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 1.0;
        nn::init::uniform_(t, -bound, bound, &gen);
      }
    } else {
      const auto v = host(t);
      const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
      double var = 0, sq = 0;
      for (double e : v) var += (e - mean) * (e - mean), sq += e * e;
      double s = std::sqrt(var / static_cast<double>(v.size()));
      if (s == 0) s = std::sqrt(sq / static_cast<double>(v.size()));
      if (s == 0) s = 0.01;
      nn::init::normal_(t, 0.0, s, &gen);
    }
  }
}

// Copies of every parameter, written back by restore() and, whatever happens, by the destructor.
class ParameterSnapshot {
 public:
  explicit ParameterSnapshot(const nn::Module& model) {
    autograd::NoGradGuard no_grad;
    for (const auto& t : model.parameters()) saved_.emplace_back(t, t.detach().clone());
  }
  ~ParameterSnapshot() {
    try {
      restore();
    } catch (...) {  // a destructor must not throw; restore() only copies same-shaped tensors
    }
  }
  ParameterSnapshot(const ParameterSnapshot&) = delete;
  ParameterSnapshot& operator=(const ParameterSnapshot&) = delete;
  void restore() {
    autograd::NoGradGuard no_grad;
    for (auto& [param, copy] : saved_) param.copy_(copy);
  }

 private:
  std::vector<std::pair<Tensor, Tensor>> saved_;
};

RandomizationRow compare(const std::string& layer, const Tensor& original, const Tensor& attribution) {
  const char* op = "model_randomization_check";
  LUMEN_CHECK(attribution.defined() && attribution.shape() == original.shape(), op, "after randomising '", layer,
              "' the method returned shape ",
              attribution.defined() ? shape_str(attribution.shape()) : "undefined", ", the original had ",
              original.shape());
  const std::int64_t n = original.size(0), per = n > 0 ? original.numel() / n : 0;  // an empty batch: no ρ, mean NaN
  const auto a = host(original), b = host(attribution);
  std::vector<double> rho_abs(static_cast<std::size_t>(n)), rho_signed(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<double> ai(a.begin() + i * per, a.begin() + (i + 1) * per);
    std::vector<double> bi(b.begin() + i * per, b.begin() + (i + 1) * per);
    rho_signed[static_cast<std::size_t>(i)] = spearman_of(ai, bi);
    for (auto& v : ai) v = std::abs(v);
    for (auto& v : bi) v = std::abs(v);
    rho_abs[static_cast<std::size_t>(i)] = spearman_of(ai, bi);
  }
  RandomizationRow row;
  row.layer = layer;
  row.attribution = attribution;
  row.spearman_abs = nan_mean_tensor(rho_abs, &row.mean_abs);
  row.spearman_signed = nan_mean_tensor(rho_signed, &row.mean_signed);
  return row;
}

const nn::Module& layer_of(const nn::Module& model, const std::string& name) {
  return name.empty() ? model : model.submodule(name);
}

}  // namespace

// ---- correlation helpers

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<std::size_t> idx(values.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && values[idx[j + 1]] == values[idx[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;  // ranks i+1 .. j+1 share their mean
    for (std::size_t q = i; q <= j; ++q) ranks[idx[q]] = avg;
    i = j + 1;
  }
  return ranks;
}

double pearson(const Tensor& a, const Tensor& b) {
  check_pair(a, b, "pearson");
  return pearson_of(host(a), host(b));
}

double spearman(const Tensor& a, const Tensor& b) {
  check_pair(a, b, "spearman");
  return spearman_of(host(a), host(b));
}

// ---- curves

double trapezoid_auc(const std::vector<double>& fractions, const std::vector<double>& values) {
  LUMEN_CHECK(fractions.size() == values.size(), "trapezoid_auc", "got ", fractions.size(), " fractions and ",
              values.size(), " values");
  double area = 0;
  for (std::size_t i = 1; i < values.size(); ++i) {
    LUMEN_CHECK(fractions[i] >= fractions[i - 1], "trapezoid_auc", "expected non-decreasing x, but x[", i, "] = ",
                fractions[i], " < x[", i - 1, "] = ", fractions[i - 1]);
    area += 0.5 * (fractions[i] - fractions[i - 1]) * (values[i] + values[i - 1]);
  }
  return area;
}

CurveResult deletion_curve(const ForwardFn& f, const Tensor& inputs, const Tensor& attributions, const Target& target,
                           const CurveOptions& opt) {
  return run_curve(false, f, inputs, attributions, target, opt, "deletion_curve");
}

CurveResult insertion_curve(const ForwardFn& f, const Tensor& inputs, const Tensor& attributions, const Target& target,
                            const CurveOptions& opt) {
  return run_curve(true, f, inputs, attributions, target, opt, "insertion_curve");
}

// ---- infidelity

Tensor infidelity(const ForwardFn& f, const Tensor& inputs, const Tensor& attributions, const Target& target,
                  const InfidelityOptions& opt) {
  const char* op = "infidelity";
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 1, op, "expected inputs [N, ...]");
  LUMEN_CHECK(attributions.defined() && attributions.shape() == inputs.shape(), op, "attributions of shape ",
              attributions.defined() ? shape_str(attributions.shape()) : "undefined",
              " do not match the inputs' shape ", inputs.shape());
  LUMEN_CHECK(opt.n_perturb >= 1 && opt.stddev >= 0 && opt.batch_size >= 1, op,
              "expected n_perturb >= 1, stddev >= 0 and batch_size >= 1, got ", opt.n_perturb, ", ", opt.stddev,
              ", ", opt.batch_size);
  check_target(target, inputs, op);
  autograd::NoGradGuard no_grad;
  const std::int64_t n = inputs.size(0);
  if (n == 0) return tensor(std::vector<double>{}, {0}, {.dtype = DType::float64});  // as Captum: [0], f not called
  const Tensor x = inputs.detach(), attr = attributions.detach().to(inputs.dtype());
  std::vector<std::int64_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  const auto fx = pick_scores(f(x), target, all, false, op);

  // Rows laid out block by block (perturbation j: samples 0..N-1); each chunk is one forward.
  Generator gen(opt.seed);
  const std::int64_t rows = n * opt.n_perturb;
  std::vector<double> dots(static_cast<std::size_t>(rows)), diffs(static_cast<std::size_t>(rows));
  for (std::int64_t r0 = 0; r0 < rows; r0 += opt.batch_size) {
    const std::int64_t b = std::min(opt.batch_size, rows - r0);
    std::vector<std::int64_t> samples(static_cast<std::size_t>(b));
    for (std::int64_t j = 0; j < b; ++j) samples[static_cast<std::size_t>(j)] = (r0 + j) % n;
    Tensor noise = normal(with_batch(b, sample_shape(x)), 0.0, opt.stddev, options_of(x), &gen);
    const auto fp = pick_scores(f(index_rows(x, samples) - noise), target, samples, false, op);
    const auto d = host((noise * index_rows(attr, samples)).reshape({b, -1}).sum({1}));
    for (std::int64_t j = 0; j < b; ++j) {
      dots[static_cast<std::size_t>(r0 + j)] = d[static_cast<std::size_t>(j)];
      diffs[static_cast<std::size_t>(r0 + j)] = fx[static_cast<std::size_t>(samples[static_cast<std::size_t>(j)])] -
                                                fp[static_cast<std::size_t>(j)];
    }
  }

  std::vector<double> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double beta = 1.0;
    if (opt.normalize) {
      double num = 0, den = 0;
      for (std::int64_t j = 0; j < opt.n_perturb; ++j) {
        const auto r = static_cast<std::size_t>(j * n + i);
        num += dots[r] * diffs[r];
        den += dots[r] * dots[r];
      }
      beta = den != 0 ? num / den : 0.0;  // a zero attribution: Captum's safe_div gives β = 0 too
    }
    double total = 0;
    for (std::int64_t j = 0; j < opt.n_perturb; ++j) {
      const auto r = static_cast<std::size_t>(j * n + i);
      const double e = beta * dots[r] - diffs[r];
      total += e * e;
    }
    out[static_cast<std::size_t>(i)] = total / static_cast<double>(opt.n_perturb);
  }
  return tensor(out, {n}, {.dtype = DType::float64});
}

// ---- max-sensitivity

Tensor max_sensitivity(const AttributionFn& attr, const Tensor& inputs, const Target& target,
                       const SensitivityOptions& opt) {
  const char* op = "max_sensitivity";
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 1, op, "expected inputs [N, ...]");
  LUMEN_CHECK(opt.n_perturb >= 1 && opt.radius >= 0 && opt.batch_size >= 1, op,
              "expected n_perturb >= 1, radius >= 0 and batch_size >= 1, got ", opt.n_perturb, ", ", opt.radius,
              ", ", opt.batch_size);
  check_target(target, inputs, op);
  const std::int64_t n = inputs.size(0);
  if (n == 0) return tensor(std::vector<double>{}, {0}, {.dtype = DType::float64});  // as Captum: [0], attr not called
  const Tensor x = inputs.detach();
  const Tensor a0 = attr(x, target);
  LUMEN_CHECK(a0.defined() && a0.dim() >= 1 && a0.size(0) == n, op, "the attribution of ", n,
              " inputs has shape ", a0.defined() ? shape_str(a0.shape()) : "undefined", "; expected [", n, ", ...]");
  const auto base = host(a0);
  const std::int64_t per = a0.numel() / n;
  std::vector<double> norms(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t q = 0; q < per; ++q) norms[static_cast<std::size_t>(i)] += base[static_cast<std::size_t>(i * per + q)] * base[static_cast<std::size_t>(i * per + q)];
    norms[static_cast<std::size_t>(i)] = std::sqrt(norms[static_cast<std::size_t>(i)]);
  }

  Generator gen(opt.seed);
  const std::int64_t rows = n * opt.n_perturb;
  std::vector<double> out(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t r0 = 0; r0 < rows; r0 += opt.batch_size) {
    const std::int64_t b = std::min(opt.batch_size, rows - r0);
    std::vector<std::int64_t> samples(static_cast<std::size_t>(b));
    for (std::int64_t j = 0; j < b; ++j) samples[static_cast<std::size_t>(j)] = (r0 + j) % n;
    Tensor xs;
    {
      autograd::NoGradGuard no_grad;
      xs = index_rows(x, samples) + uniform(with_batch(b, sample_shape(x)), -opt.radius, opt.radius, options_of(x), &gen);
    }
    std::vector<std::int64_t> classes;
    for (auto s : samples) classes.push_back(target.at(s));
    const Tensor a = attr(xs, target.count() == 1 ? target : Target(classes));
    LUMEN_CHECK(a.defined() && a.numel() == b * per && a.size(0) == b, op, "the attribution of ", b,
                " perturbed inputs has shape ", a.defined() ? shape_str(a.shape()) : "undefined", "; expected ",
                a0.shape(), " with ", b, " rows");
    const auto v = host(a);
    for (std::int64_t j = 0; j < b; ++j) {
      const auto i = static_cast<std::size_t>(samples[static_cast<std::size_t>(j)]);
      double d = 0;
      for (std::int64_t q = 0; q < per; ++q) {
        const double e = v[static_cast<std::size_t>(j * per + q)] - base[i * static_cast<std::size_t>(per) + static_cast<std::size_t>(q)];
        d += e * e;
      }
      d = std::sqrt(d);
      out[i] = std::max(out[i], norms[i] > 0 ? d / norms[i] : d);
    }
  }
  return tensor(out, {n}, {.dtype = DType::float64});
}

// ---- model randomisation

std::vector<std::string> randomizable_layers(const nn::Module& model) {
  std::vector<std::string> names;
  for (const auto& [path, m] : model.named_modules())
    if (!own_parameters(*m).empty()) names.push_back(path);
  std::reverse(names.begin(), names.end());
  if (!own_parameters(model).empty()) names.emplace_back("");
  return names;
}

const RandomizationRow& RandomizationResult::at(const std::string& layer) const {
  std::string known;
  for (const auto& r : rows) {
    if (r.layer == layer) return r;
    known += (known.empty() ? "'" : ", '") + r.layer + "'";
  }
  detail::fail("RandomizationResult::at", "no row for layer '", layer, "'; the rows are ", known);
}

RandomizationResult model_randomization_check(nn::Module& model, const ModelAttributionFn& method,
                                              const Tensor& inputs, const Target& target,
                                              const RandomizationOptions& opt) {
  const char* op = "model_randomization_check";
  check_target(target, inputs, op);
  const std::vector<std::string> layers = opt.layers.empty() ? randomizable_layers(model) : opt.layers;
  for (const auto& name : layers)
    LUMEN_CHECK(!own_parameters(layer_of(model, name)).empty(), op, "layer '", name, "' has no parameters of its own");

  ParameterSnapshot snapshot(model);  // restores the weights on every way out
  RandomizationResult result;
  const Tensor original = method(model, inputs, target).detach();
  LUMEN_CHECK(original.defined() && original.dim() >= 1 && original.size(0) == inputs.size(0), op,
              "the method returned ", original.defined() ? shape_str(original.shape()) : "undefined", " for ",
              inputs.size(0), " inputs; expected [", inputs.size(0), ", ...]");
  result.rows.push_back(compare("original", original, original));

  Generator gen(opt.seed);
  for (const auto& name : layers) {
    if (opt.mode == Randomization::independent) snapshot.restore();
    reinitialize(layer_of(model, name), opt.reinit, gen);
    result.rows.push_back(compare(name, original, method(model, inputs, target).detach()));
  }
  snapshot.restore();
  return result;
}

}  // namespace lumen::xai
