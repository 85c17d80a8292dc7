#include "xai/shapley.h"

#include <algorithm>

#include "autograd/ops.h"

namespace lumen::xai {

namespace {

// The empty batch's result: no samples, so no features either (values [0, 0]), as KernelShap.
ShapResult empty_shap_result(const Tensor& inputs) {
  return {empty_attributions(inputs), empty_attributions(inputs, {0, 0}), empty_attributions(inputs, {0})};
}

// values [n][fmax] and base values [n] as a ShapResult, every element given its feature's value.
ShapResult shap_result(const Tensor& inputs, const FeatureMap& fm, const std::vector<double>& values,
                       const std::vector<double>& base_values) {
  const std::int64_t fmax = fm.max_count();
  std::vector<double> attr(fm.ids.size());
  for (std::int64_t i = 0; i < fm.n; ++i)
    for (std::int64_t e = 0; e < fm.d; ++e) {
      const auto at = static_cast<std::size_t>(i * fm.d + e);
      attr[at] = values[static_cast<std::size_t>(i * fmax + fm.ids[at])];
    }
  TensorOptions o = options_of(inputs);
  return {tensor(attr, inputs.shape(), o), tensor(values, {fm.n, fmax}, o), tensor(base_values, {fm.n}, o)};
}

}  // namespace

ShapResult ShapleyValueSampling::explain(const Tensor& inputs, const Target& target, const Baseline& baselines,
                                         const ShapleySamplingOptions& opt) const {
  const char* op = "ShapleyValueSampling";
  check_perturbation_inputs(inputs, target, op);
  LUMEN_CHECK(opt.n_samples >= 1, op, "expected n_samples >= 1 permutations, got ", opt.n_samples);
  LUMEN_CHECK(opt.perturbations_per_eval >= 1, op, "expected perturbations_per_eval >= 1, got ",
              opt.perturbations_per_eval);
  if (is_empty_batch(inputs)) return empty_shap_result(inputs);
  const FeatureMap fm = expand_feature_mask(opt.feature_mask, inputs, op);
  const Tensor base = baselines.expand(inputs, op);
  const std::int64_t fmax = fm.max_count();
  std::vector<double> values(static_cast<std::size_t>(fm.n * fmax), 0.0), base_values;
  for (std::int64_t i = 0; i < fm.n; ++i) {
    const std::int64_t f = fm.counts[static_cast<std::size_t>(i)];
    const std::int64_t* ids = fm.ids.data() + i * fm.d;
    std::int64_t evaluations = 0;
    LUMEN_CHECK(!__builtin_mul_overflow(opt.n_samples, f, &evaluations) && evaluations < (std::int64_t{1} << 40), op,
                opt.n_samples, " permutations of ", f, " features are too many evaluations");
    // rank[k · f + j]: the step of permutation k at which feature j is switched on (0-based).
    std::vector<std::int64_t> order, rank(static_cast<std::size_t>(opt.n_samples * f));
    for (std::int64_t k = 0; k < opt.n_samples; ++k) {
      const std::vector<std::int64_t> perm = randperm(f, kCPU, opt.generator).to_vector<std::int64_t>();
      for (std::int64_t s = 0; s < f; ++s) rank[static_cast<std::size_t>(k * f + perm[static_cast<std::size_t>(s)])] = s;
      order.insert(order.end(), perm.begin(), perm.end());
    }
    // Evaluation 0 is the baseline, 1 the input; then, per permutation k, steps s = 1..f−1 with the
    // features of rank < s on: evaluation 2 + k (f − 1) + (s − 1).
    auto off = [&](std::int64_t p) {
      std::vector<double> m(static_cast<std::size_t>(fm.d));
      const std::int64_t k = p < 2 ? 0 : (p - 2) / (f - 1), s = p < 2 ? 0 : (p - 2) % (f - 1) + 1;
      for (std::int64_t e = 0; e < fm.d; ++e)
        m[static_cast<std::size_t>(e)] = p == 0 ? 1.0 : p == 1 ? 0.0 : rank[static_cast<std::size_t>(k * f + ids[e])] >= s;
      return m;
    };
    const auto s = perturbed_scores(f_, inputs.narrow(0, i, 1), base.narrow(0, i, 1), target.slice(i, 1),
                                    2 + opt.n_samples * (f - 1), off, opt.perturbations_per_eval);
    const double empty = s[0][0], full = s[1][0];
    for (std::int64_t k = 0; k < opt.n_samples; ++k) {
      double before = empty;
      for (std::int64_t step = 1; step <= f; ++step) {
        const double after = step == f ? full : s[static_cast<std::size_t>(2 + k * (f - 1) + step - 1)][0];
        values[static_cast<std::size_t>(i * fmax + order[static_cast<std::size_t>(k * f + step - 1)])] += after - before;
        before = after;
      }
    }
    for (std::int64_t j = 0; j < f; ++j) values[static_cast<std::size_t>(i * fmax + j)] /= double(opt.n_samples);
    base_values.push_back(empty);
  }
  return shap_result(inputs, fm, values, base_values);
}

Tensor ShapleyValueSampling::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                                       const ShapleySamplingOptions& opt) const {
  return explain(inputs, target, baselines, opt).attributions;
}

ShapResult exact_shapley_values(const ForwardFn& f, const Tensor& inputs, const Target& target,
                                const Baseline& baselines, const Tensor& feature_mask) {
  const char* op = "exact_shapley_values";
  check_perturbation_inputs(inputs, target, op);
  if (is_empty_batch(inputs)) return empty_shap_result(inputs);
  const FeatureMap fm = expand_feature_mask(feature_mask, inputs, op);
  for (std::int64_t i = 0; i < fm.n; ++i)
    LUMEN_CHECK(fm.counts[static_cast<std::size_t>(i)] <= kMaxExactShapleyFeatures, op, "sample ", i, " has ",
                fm.counts[static_cast<std::size_t>(i)], " features; enumerating 2^F coalitions needs F <= ",
                kMaxExactShapleyFeatures, " (use ShapleyValueSampling or KernelShap)");
  const Tensor base = baselines.expand(inputs, op);
  const std::int64_t fmax = fm.max_count();
  std::vector<double> values(static_cast<std::size_t>(fm.n * fmax), 0.0), base_values;
  for (std::int64_t i = 0; i < fm.n; ++i) {
    const std::int64_t nf = fm.counts[static_cast<std::size_t>(i)];
    const std::int64_t* ids = fm.ids.data() + i * fm.d;
    const std::int64_t coalitions = std::int64_t{1} << nf;
    // Coalition c keeps feature j at the input when bit j of c is set.
    auto off = [&](std::int64_t c) {
      std::vector<double> m(static_cast<std::size_t>(fm.d));
      for (std::int64_t e = 0; e < fm.d; ++e) m[static_cast<std::size_t>(e)] = ((c >> ids[e]) & 1) ? 0.0 : 1.0;
      return m;
    };
    const auto v = perturbed_scores(f, inputs.narrow(0, i, 1), base.narrow(0, i, 1), target.slice(i, 1), coalitions,
                                    off, /*per_eval=*/64);
    // weight[s] = s! (F − s − 1)! / F! = 1 / (F · C(F − 1, s)).
    std::vector<double> weight(static_cast<std::size_t>(nf), 0.0);
    double binom = 1;  // C(F − 1, s)
    for (std::int64_t s = 0; s < nf; ++s) {
      weight[static_cast<std::size_t>(s)] = 1.0 / (double(nf) * binom);
      binom = binom * double(nf - 1 - s) / double(s + 1);
    }
    for (std::int64_t c = 0; c < coalitions; ++c) {
      const auto size = static_cast<std::size_t>(__builtin_popcountll(static_cast<unsigned long long>(c)));
      for (std::int64_t j = 0; j < nf; ++j) {
        if ((c >> j) & 1) continue;
        const double gain = v[static_cast<std::size_t>(c | (std::int64_t{1} << j))][0] - v[static_cast<std::size_t>(c)][0];
        values[static_cast<std::size_t>(i * fmax + j)] += weight[size] * gain;
      }
    }
    base_values.push_back(v[0][0]);
  }
  return shap_result(inputs, fm, values, base_values);
}

}  // namespace lumen::xai
