#pragma once
// Perturbation methods: attributions read off how the target score changes when parts of the input
// are replaced by a baseline. They need only forward passes (no gradients), so they work on any
// ForwardFn, at a cost counted in model evaluations:
//
//   Occlusion      (f(x) − f(x with a sliding window set to the baseline)), averaged over the windows
//                  covering each element (Zeiler & Fergus 2014)            1 + #windows
//   FeatureAblation f(x) − f(x with the element's feature group set to the baseline)   1 + F
//   KernelShap     Shapley values of the F feature groups, by weighted least squares over coalitions
//                  (Lundberg & Lee 2017)                                2^F, or 2 + n_samples
//
// (N = batch size, F = number of features in the feature mask; a forward pass evaluates
// perturbations_per_eval perturbed copies of the batch at once, so the number of passes is the
// count above divided by it.) Lime and SharpLime are in xai/lime.h, ShapleyValueSampling (Shapley
// values by permutation sampling) and exact_shapley_values in xai/shapley.h. The model is always evaluated
// under NoGradGuard and in the inputs' dtype; attributions are shaped like the inputs, same dtype.
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "autograd/random.h"
#include "xai/attribution.h"

namespace lumen::xai {

// A feature mask checked against a batch: ids[n · D + d] is the feature of element d (row-major
// within one sample, D elements) of sample n, and counts[n] its number of features.
struct FeatureMap {
  std::int64_t n = 0, d = 0;
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> counts;
  std::int64_t max_count() const;
};

// mask: int64, broadcastable (NumPy rules) to the inputs' shape [N, ...]: e.g. [H, W] or [1, H, W]
// shared by a batch [N, C, H, W], or [N, 1, H, W] one per sample. Undefined -> every element is its
// own feature. Each sample's ids must be 0..F−1 with every id present (see relabel_contiguous).
// Throws naming `op` otherwise.
FeatureMap expand_feature_mask(const Tensor& mask, const Tensor& inputs, const char* op);

// Checks what every perturbation method needs: a float32/float64 batch [N, ...] (at least one
// non-batch dim; N = 0 is an empty batch, see xai/attribution.h) and 1 or N targets. Throws naming `op`.
void check_perturbation_inputs(const Tensor& inputs, const Target& target, const char* op);

// The target scores of perturbed copies of the inputs: for p = 0..count−1, off(p) gives an [N · D]
// 0/1 vector (1 = replace that element of that sample by the baseline). Copies are evaluated
// per_eval at a time as one batch of per_eval · N rows, block by block. Returns the scores [count][N].
using PerturbationFn = std::function<std::vector<double>(std::int64_t p)>;
std::vector<std::vector<double>> perturbed_scores(const ForwardFn& f, const Tensor& inputs, const Tensor& baseline,
                                                  const Target& target, std::int64_t count, const PerturbationFn& off,
                                                  std::int64_t per_eval);

struct OcclusionOptions {
  // Window extent along every non-batch dim, e.g. {3, 4, 4} for [C, H, W] inputs (use the full
  // channel count to occlude all channels of a patch together).
  std::vector<std::int64_t> window{};
  // Step along every non-batch dim; empty = 1 everywhere, one value = that value everywhere.
  std::vector<std::int64_t> strides{};
  std::int64_t perturbations_per_eval = 1;  // window positions per forward pass (bounds memory only)
};

// Captum's Occlusion. Windows are placed at 0, stride, 2·stride, ... along each dim as long as they
// start before the end, the last one clipped there (#windows = Π_k (⌈(size_k − window_k) / stride_k⌉
// + 1)), so with stride <= window every element is covered. Each element's attribution is the mean
// score drop over the windows that cover it; elements no window covers (only when a stride exceeds
// its window) get 0. Cost: 1 + #windows evaluations of the batch.
class Occlusion {
 public:
  explicit Occlusion(ForwardFn f) : f_(std::move(f)) {}
  // A window is set to `baselines` (xai/attribution.h). The options are required: they hold the window.
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                   const OcclusionOptions& opt) const;

 private:
  ForwardFn f_;
};

struct FeatureAblationOptions {
  Tensor feature_mask{};  // see expand_feature_mask; undefined = every element on its own
  std::int64_t perturbations_per_eval = 1;  // features ablated per forward pass (bounds memory only)
};

// Captum's FeatureAblation: each element gets f(x) − f(x with its whole feature group set to the
// baseline). Cost: 1 + F evaluations of the batch (F = the largest feature count in the batch).
class FeatureAblation {
 public:
  explicit FeatureAblation(ForwardFn f) : f_(std::move(f)) {}
  // An ablated feature is set to `baselines` (xai/attribution.h; {} = zeros).
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                   const FeatureAblationOptions& opt = {}) const;

 private:
  ForwardFn f_;
};

struct KernelShapOptions {
  Tensor feature_mask{};  // see expand_feature_mask; undefined = every element on its own
  // With F ≤ enumerate_up_to (or 2^F − 2 ≤ n_samples) all 2^F − 2 proper coalitions are evaluated
  // and the result is the exact Shapley value of every feature, for any model; otherwise n_samples
  // coalitions are sampled.
  std::int64_t enumerate_up_to = 12;
  std::int64_t n_samples = 512;  // sampled coalitions per sample (rounded up to an even number)
  std::int64_t perturbations_per_eval = 64;  // coalitions per forward pass
  Generator* generator = nullptr;  // for the sampled coalitions; default generator when null
};

struct ShapResult {
  Tensor attributions;  // shaped like the inputs: each feature's Shapley value over its region
  Tensor values;        // [N, F] Shapley values per feature (0 past a sample's own feature count)
  Tensor base_values;   // [N] f(baseline): values[n] sums to f(x_n) − base_values[n]
};

// Kernel SHAP (Lundberg & Lee 2017). Features are the groups of the feature mask; a coalition z keeps
// the features with z_j = 1 and sets the rest to the baseline. The Shapley values φ minimise
// Σ_z π(z) (f(z) − f(∅) − zᵀφ)² with the Shapley kernel π(z) = (F − 1) / (C(F, |z|) |z| (F − |z|)),
// subject to efficiency Σφ = f(x) − f(∅), which is imposed exactly by eliminating φ_F. Sampling draws
// the coalition size s with probability ∝ (F − 1) / (s (F − s)), then a uniform subset of that size,
// each paired with its complement (the kernel is symmetric; pairs cancel much of the noise); the
// sampled coalitions then carry equal weights. For an additive model the fit is exact either way.
// Cost per sample: 2^F evaluations when enumerating, else 2 + n_samples.
class KernelShap {
 public:
  explicit KernelShap(ForwardFn f) : f_(std::move(f)) {}
  // "Feature absent" means "set to `baselines`" (xai/attribution.h; {} = zeros).
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                   const KernelShapOptions& opt = {}) const;
  ShapResult explain(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                     const KernelShapOptions& opt = {}) const;

 private:
  ForwardFn f_;
};

}  // namespace lumen::xai
