#include "xai/perturbation.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"

namespace lumen::xai {

std::int64_t FeatureMap::max_count() const {
  return counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
}

void check_perturbation_inputs(const Tensor& inputs, const Target& target, const char* op) {
  check_target(target, inputs, op);
  LUMEN_CHECK(inputs.dim() >= 2, op, "expected a batch [N, ...] with at least one non-batch dim, got shape ",
              inputs.shape());
  LUMEN_CHECK(inputs.dtype() == DType::float32 || inputs.dtype() == DType::float64, op,
              "expected float32 or float64 inputs, got ", dtype_name(inputs.dtype()));
}

FeatureMap expand_feature_mask(const Tensor& mask, const Tensor& inputs, const char* op) {
  FeatureMap m;
  m.n = inputs.size(0);
  m.d = inputs.numel() / m.n;
  if (!mask.defined()) {
    for (std::int64_t i = 0; i < m.n; ++i)
      for (std::int64_t e = 0; e < m.d; ++e) m.ids.push_back(e);
    m.counts.assign(static_cast<std::size_t>(m.n), m.d);
    return m;
  }
  LUMEN_CHECK(mask.dtype() == DType::int64, op, "expected an int64 feature mask, got ", dtype_name(mask.dtype()));
  // NumPy broadcasting against the whole batch: right-aligned, each mask dim 1 or equal.
  bool fits = mask.dim() <= inputs.dim();
  for (std::int64_t k = 1; fits && k <= mask.dim(); ++k)
    fits = mask.size(-k) == 1 || mask.size(-k) == inputs.size(-k);
  LUMEN_CHECK(fits, op, "feature mask of shape ", mask.shape(), " does not broadcast to the inputs' shape ",
              inputs.shape(), "; expected e.g. one sample's shape or [N or 1, ...] with 1 in broadcast dims");
  Shape padded(static_cast<std::size_t>(inputs.dim() - mask.dim()), 1);
  padded.insert(padded.end(), mask.shape().begin(), mask.shape().end());
  m.ids = mask.reshape(padded).expand(inputs.shape()).to_vector<std::int64_t>();
  for (std::int64_t i = 0; i < m.n; ++i) {
    auto first = m.ids.begin() + i * m.d, last = first + m.d;
    const std::int64_t lo = *std::min_element(first, last), hi = *std::max_element(first, last);
    LUMEN_CHECK(lo >= 0, op, "feature ids must be >= 0, but sample ", i, "'s mask holds ", lo);
    std::vector<char> seen(static_cast<std::size_t>(hi + 1), 0);
    for (auto it = first; it != last; ++it) seen[static_cast<std::size_t>(*it)] = 1;
    auto gap = std::find(seen.begin(), seen.end(), 0);
    LUMEN_CHECK(gap == seen.end(), op, "feature ids must be 0..F-1 with every id present, but sample ", i,
                "'s mask lacks id ", gap - seen.begin(), " (max id ", hi, "); renumber it with relabel_contiguous");
    m.counts.push_back(hi + 1);
  }
  return m;
}

std::vector<std::vector<double>> perturbed_scores(const ForwardFn& f, const Tensor& inputs, const Tensor& baseline,
                                                  const Target& target, std::int64_t count, const PerturbationFn& off,
                                                  std::int64_t per_eval) {
  const char* op = "perturbed_scores";
  LUMEN_CHECK(per_eval >= 1, op, "expected perturbations_per_eval >= 1, got ", per_eval);
  autograd::NoGradGuard no_grad;
  const std::int64_t n = inputs.size(0), total = inputs.numel();
  Tensor x = inputs.detach(), b = baseline.detach();
  std::vector<std::vector<double>> out;
  for (std::int64_t start = 0; start < count; start += per_eval) {
    const std::int64_t k = std::min(per_eval, count - start);
    std::vector<double> m;
    m.reserve(static_cast<std::size_t>(k * total));
    for (std::int64_t j = 0; j < k; ++j) {
      std::vector<double> one = off(start + j);
      LUMEN_CHECK(static_cast<std::int64_t>(one.size()) == total, op, "perturbation ", start + j, " has ",
                  one.size(), " entries, expected ", total);
      m.insert(m.end(), one.begin(), one.end());
    }
    Shape rows = inputs.shape();
    rows[0] *= k;
    // where() copies baseline values bit for bit, so an ablated element is exactly the baseline.
    Tensor replaced = tensor(m, rows, {.dtype = inputs.dtype(), .device = inputs.device()});
    Tensor batch = where(replaced, repeat_batch(b, k), repeat_batch(x, k));
    std::vector<double> s = target_scores(f, batch, target).to_vector<double>();
    LUMEN_CHECK(static_cast<std::int64_t>(s.size()) == k * n, op, "the model returned ", s.size(),
                " scores for ", k * n, " perturbed inputs");
    for (std::int64_t j = 0; j < k; ++j) out.emplace_back(s.begin() + j * n, s.begin() + (j + 1) * n);
  }
  return out;
}

Tensor Occlusion::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                            const OcclusionOptions& opt) const {
  const char* op = "Occlusion";
  check_perturbation_inputs(inputs, target, op);
  const Shape sample(inputs.shape().begin() + 1, inputs.shape().end());
  const auto nd = static_cast<std::int64_t>(sample.size());
  LUMEN_CHECK(static_cast<std::int64_t>(opt.window.size()) == nd, op, "window ", opt.window, " must give one extent per non-batch dim of the inputs ",
              inputs.shape(), " (", nd, " values)");
  std::vector<std::int64_t> strides = opt.strides;
  if (strides.empty()) strides.assign(static_cast<std::size_t>(nd), 1);
  if (strides.size() == 1) strides.assign(static_cast<std::size_t>(nd), strides[0]);
  LUMEN_CHECK(static_cast<std::int64_t>(strides.size()) == nd, op, "strides ", opt.strides,
              " must be empty, one value, or one per non-batch dim (", nd, " values)");
  // Window positions per dim: at 0, stride, 2·stride, ... while a window still starts before the
  // end (the last one clipped there, as in Captum), so with stride <= window every element is covered.
  const Shape sample_strides = contiguous_strides(sample);
  std::vector<std::int64_t> positions(static_cast<std::size_t>(nd));
  std::int64_t n_windows = 1;
  for (std::int64_t k = 0; k < nd; ++k) {
    const auto ku = static_cast<std::size_t>(k);
    LUMEN_CHECK(opt.window[ku] >= 1 && opt.window[ku] <= sample[ku] && strides[ku] >= 1, op, "window ", opt.window,
                " with strides ", strides, " does not fit one sample of shape ", sample,
                ": expected 1 <= window <= size and stride >= 1 in every dim");
    positions[ku] = (sample[ku] - opt.window[ku] + strides[ku] - 1) / strides[ku] + 1;  // ⌈(size − window) / stride⌉ + 1
    n_windows *= positions[ku];
  }
  const std::int64_t n = inputs.size(0), d = shape_numel(sample);
  if (n == 0) return empty_attributions(inputs);
  // The flat offsets (within one sample) of window p's elements, p in row-major order of positions.
  auto window_elements = [&](std::int64_t p) {
    std::vector<std::int64_t> elements{0};
    for (std::int64_t k = nd - 1; k >= 0; --k) {
      const auto ku = static_cast<std::size_t>(k);
      const std::int64_t start = (p % positions[ku]) * strides[ku];
      const std::int64_t extent = std::min(opt.window[ku], sample[ku] - start);  // clipped at the end
      p /= positions[ku];
      std::vector<std::int64_t> grown;
      for (std::int64_t w = 0; w < extent; ++w)
        for (auto e : elements) grown.push_back(e + (start + w) * sample_strides[ku]);
      elements = std::move(grown);
    }
    return elements;
  };
  auto off = [&](std::int64_t p) {
    std::vector<double> m(static_cast<std::size_t>(n * d), 0.0);
    for (auto e : window_elements(p))
      for (std::int64_t i = 0; i < n; ++i) m[static_cast<std::size_t>(i * d + e)] = 1.0;
    return m;
  };
  const Tensor base = baselines.expand(inputs, op);
  std::vector<double> s0 = target_scores(f_, inputs, target).to_vector<double>();
  auto s = perturbed_scores(f_, inputs, base, target, n_windows, off, opt.perturbations_per_eval);
  std::vector<double> attr(static_cast<std::size_t>(n * d), 0.0), covered(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t p = 0; p < n_windows; ++p) {
    const auto& drop = s[static_cast<std::size_t>(p)];
    for (auto e : window_elements(p)) {
      covered[static_cast<std::size_t>(e)] += 1;
      for (std::int64_t i = 0; i < n; ++i)
        attr[static_cast<std::size_t>(i * d + e)] += s0[static_cast<std::size_t>(i)] - drop[static_cast<std::size_t>(i)];
    }
  }
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t e = 0; e < d; ++e)
      if (covered[static_cast<std::size_t>(e)] > 0) attr[static_cast<std::size_t>(i * d + e)] /= covered[static_cast<std::size_t>(e)];
  return tensor(attr, inputs.shape(), options_of(inputs));
}

Tensor FeatureAblation::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                                  const FeatureAblationOptions& opt) const {
  const char* op = "FeatureAblation";
  check_perturbation_inputs(inputs, target, op);
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  const FeatureMap fm = expand_feature_mask(opt.feature_mask, inputs, op);
  const Tensor base = baselines.expand(inputs, op);
  auto off = [&](std::int64_t feature) {
    std::vector<double> m(fm.ids.size());
    for (std::size_t e = 0; e < m.size(); ++e) m[e] = fm.ids[e] == feature ? 1.0 : 0.0;
    return m;
  };
  std::vector<double> s0 = target_scores(f_, inputs, target).to_vector<double>();
  auto s = perturbed_scores(f_, inputs, base, target, fm.max_count(), off, opt.perturbations_per_eval);
  std::vector<double> attr(fm.ids.size());
  for (std::int64_t i = 0; i < fm.n; ++i)
    for (std::int64_t e = 0; e < fm.d; ++e) {
      const auto at = static_cast<std::size_t>(i * fm.d + e);
      attr[at] = s0[static_cast<std::size_t>(i)] - s[static_cast<std::size_t>(fm.ids[at])][static_cast<std::size_t>(i)];
    }
  return tensor(attr, inputs.shape(), options_of(inputs));
}

namespace {

// Coalitions of f features, flat [count · f] 0/1, with their regression weights.
struct Coalitions {
  std::vector<char> z;
  std::vector<double> weight;
  std::int64_t count() const { return static_cast<std::int64_t>(weight.size()); }
};

// All 2^f − 2 proper, non-empty coalitions with the Shapley kernel weights.
Coalitions enumerate_coalitions(std::int64_t f) {
  Coalitions c;
  std::vector<double> binom(static_cast<std::size_t>(f + 1), 1.0);  // C(f, s)
  for (std::int64_t s = 1; s <= f; ++s) binom[static_cast<std::size_t>(s)] = binom[static_cast<std::size_t>(s - 1)] * double(f - s + 1) / double(s);
  for (std::int64_t bits = 1; bits + 1 < (std::int64_t{1} << f); ++bits) {
    std::int64_t size = 0;
    for (std::int64_t j = 0; j < f; ++j) {
      const char on = (bits >> j) & 1;
      c.z.push_back(on);
      size += on;
    }
    c.weight.push_back(double(f - 1) / (binom[static_cast<std::size_t>(size)] * double(size) * double(f - size)));
  }
  return c;
}

// `pairs` coalitions drawn from the Shapley kernel (size s ∝ (f−1)/(s(f−s)), then a uniform subset),
// each followed by its complement; all weights equal since the sampling already follows the kernel.
Coalitions sample_coalitions(std::int64_t f, std::int64_t pairs, Generator* gen) {
  std::vector<double> cdf;
  double total = 0;
  for (std::int64_t s = 1; s < f; ++s) cdf.push_back(total += 1.0 / double(s * (f - s)));
  std::vector<double> u = rand({pairs, f + 1}, {.dtype = DType::float64}, gen).to_vector<double>();
  Coalitions c;
  std::vector<std::int64_t> perm(static_cast<std::size_t>(f));
  for (std::int64_t p = 0; p < pairs; ++p) {
    const double* r = u.data() + p * (f + 1);
    const auto size = std::min<std::int64_t>(std::lower_bound(cdf.begin(), cdf.end(), r[0] * total) - cdf.begin() + 1, f - 1);
    for (std::int64_t j = 0; j < f; ++j) perm[static_cast<std::size_t>(j)] = j;
    std::vector<char> z(static_cast<std::size_t>(f), 0);
    for (std::int64_t j = 0; j < size; ++j) {  // partial Fisher–Yates: the first `size` of a random permutation
      const auto pick = j + std::min<std::int64_t>(static_cast<std::int64_t>(r[j + 1] * double(f - j)), f - j - 1);
      std::swap(perm[static_cast<std::size_t>(j)], perm[static_cast<std::size_t>(pick)]);
      z[static_cast<std::size_t>(perm[static_cast<std::size_t>(j)])] = 1;
    }
    c.z.insert(c.z.end(), z.begin(), z.end());
    for (auto& v : z) v = !v;
    c.z.insert(c.z.end(), z.begin(), z.end());
    c.weight.insert(c.weight.end(), {1.0, 1.0});
  }
  return c;
}

// Weighted least squares for φ with Σφ = delta, given y_r = f(z_r) − f(∅): substituting
// φ_last = delta − Σ_{j<last} φ_j leaves an unconstrained problem in f − 1 unknowns. The complete
// orthogonal decomposition gives the minimum-norm solution if too few coalitions were sampled.
std::vector<double> constrained_wls(const Coalitions& c, const std::vector<double>& y, std::int64_t f, double delta) {
  if (f == 1) return {delta};
  const std::int64_t rows = c.count(), last = f - 1;
  Eigen::MatrixXd a(rows, last);
  Eigen::VectorXd rhs(rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    const char* z = c.z.data() + r * f;
    const double sw = std::sqrt(c.weight[static_cast<std::size_t>(r)]);
    for (std::int64_t j = 0; j < last; ++j) a(r, j) = sw * double(z[j] - z[last]);
    rhs(r) = sw * (y[static_cast<std::size_t>(r)] - double(z[last]) * delta);
  }
  Eigen::VectorXd phi = a.completeOrthogonalDecomposition().solve(rhs);
  std::vector<double> out(phi.data(), phi.data() + last);
  out.push_back(delta - phi.sum());
  return out;
}

}  // namespace

ShapResult KernelShap::explain(const Tensor& inputs, const Target& target, const Baseline& baselines,
                               const KernelShapOptions& opt) const {
  const char* op = "KernelShap";
  check_perturbation_inputs(inputs, target, op);
  LUMEN_CHECK(opt.n_samples >= 1, op, "expected n_samples >= 1, got ", opt.n_samples);
  LUMEN_CHECK(opt.enumerate_up_to >= 0 && opt.enumerate_up_to <= 24, op,
              "expected 0 <= enumerate_up_to <= 24 (2^F model evaluations), got ", opt.enumerate_up_to);
  if (is_empty_batch(inputs))  // no samples, so no features either: values [0, 0]
    return {empty_attributions(inputs), empty_attributions(inputs, {0, 0}), empty_attributions(inputs, {0})};
  const FeatureMap fm = expand_feature_mask(opt.feature_mask, inputs, op);
  const Tensor base = baselines.expand(inputs, op);
  const std::int64_t fmax = fm.max_count();
  std::vector<double> values(static_cast<std::size_t>(fm.n * fmax), 0.0), base_values, attr(fm.ids.size());
  for (std::int64_t i = 0; i < fm.n; ++i) {
    const std::int64_t f = fm.counts[static_cast<std::size_t>(i)];
    const std::int64_t* ids = fm.ids.data() + i * fm.d;
    const bool all = f <= opt.enumerate_up_to || (f <= 24 && (std::int64_t{1} << f) - 2 <= opt.n_samples);
    Coalitions c = all ? enumerate_coalitions(f)
                                             : sample_coalitions(f, (opt.n_samples + 1) / 2, opt.generator);
    // Evaluate ∅ (all at the baseline) and the full coalition (x itself) first, then the rest.
    auto off = [&](std::int64_t p) {
      std::vector<double> m(static_cast<std::size_t>(fm.d));
      for (std::int64_t e = 0; e < fm.d; ++e)
        m[static_cast<std::size_t>(e)] = p == 0 ? 1.0 : p == 1 ? 0.0 : !c.z[static_cast<std::size_t>((p - 2) * f + ids[e])];
      return m;
    };
    auto s = perturbed_scores(f_, inputs.narrow(0, i, 1), base.narrow(0, i, 1), target.slice(i, 1), 2 + c.count(),
                              off, opt.perturbations_per_eval);
    const double empty = s[0][0], full = s[1][0];
    std::vector<double> y;
    for (std::int64_t r = 0; r < c.count(); ++r) y.push_back(s[static_cast<std::size_t>(r + 2)][0] - empty);
    std::vector<double> phi = constrained_wls(c, y, f, full - empty);
    std::copy(phi.begin(), phi.end(), values.begin() + i * fmax);
    base_values.push_back(empty);
    for (std::int64_t e = 0; e < fm.d; ++e) attr[static_cast<std::size_t>(i * fm.d + e)] = phi[static_cast<std::size_t>(ids[e])];
  }
  TensorOptions o = options_of(inputs);
  return {tensor(attr, inputs.shape(), o), tensor(values, {fm.n, fmax}, o), tensor(base_values, {fm.n}, o)};
}

Tensor KernelShap::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                             const KernelShapOptions& opt) const {
  return explain(inputs, target, baselines, opt).attributions;
}

}  // namespace lumen::xai
