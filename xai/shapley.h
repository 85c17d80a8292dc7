#pragma once
// Shapley values of feature groups by permutation sampling (Captum's ShapleyValueSampling, after
// Castro et al. 2009), and exactly by enumerating every coalition (the reference for short inputs).
//
// A feature's Shapley value is its marginal contribution f(S ∪ {j}) − f(S) averaged over the orders
// in which the features can be switched from the baseline to the input. Sampling averages over
// n_samples random orders; each order telescopes from f(baseline) to f(x), so the values of every
// sample sum to f(x) − f(baseline) whatever the orders drawn (up to rounding). KernelShap
// (xai/perturbation.h) estimates the same values by a weighted regression instead.
#include <cstdint>

#include "autograd/random.h"
#include "xai/perturbation.h"

namespace lumen::xai {

struct ShapleySamplingOptions {
  Tensor feature_mask{};                     // see expand_feature_mask; undefined = every element on its own
  std::int64_t n_samples = 25;               // random feature permutations per sample
  std::int64_t perturbations_per_eval = 64;  // perturbed copies per forward pass (bounds memory only)
  Generator* generator = nullptr;            // permutations drawn from it (default generator when null)
};

// Features start at the baseline and are switched to the input one at a time in each random
// permutation; a feature's value is its mean marginal contribution. Each sample draws its own
// n_samples permutations of its own F features, in sample order. Cost per sample:
// 2 + n_samples · (F − 1) evaluations (f(baseline) and f(x) are shared by all permutations).
class ShapleyValueSampling {
 public:
  explicit ShapleyValueSampling(ForwardFn f) : f_(std::move(f)) {}
  // values [N, F] (0 past a sample's own feature count) sum to f(x) − f(baseline) per sample.
  ShapResult explain(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                     const ShapleySamplingOptions& opt = {}) const;
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                   const ShapleySamplingOptions& opt = {}) const;

 private:
  ForwardFn f_;
};

// The most features exact_shapley_values enumerates: 2^20 ≈ 10^6 evaluations per sample.
inline constexpr std::int64_t kMaxExactShapleyFeatures = 20;

// Exact Shapley values of F ≤ 20 features (the groups of feature_mask, undefined = every element) by
// evaluating all 2^F coalitions: φ_j = Σ_{S ∌ j} |S|! (F − |S| − 1)! / F! · (f(S ∪ {j}) − f(S)), a
// coalition keeping its features at the input and setting the rest to the baseline. The reference
// the sampling is tested against, and usable on short sentences. Throws when a sample has F > 20.
ShapResult exact_shapley_values(const ForwardFn& f, const Tensor& inputs, const Target& target,
                                const Baseline& baselines, const Tensor& feature_mask);

}  // namespace lumen::xai
