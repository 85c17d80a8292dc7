#pragma once
// LIME (Ribeiro et al. 2016): explain one prediction by a linear model fitted, around the sample, to
// the model's scores on perturbed copies in which interpretable features are switched off.
//
// For each sample x with F features (the groups of a feature mask: grid cells, superpixels, or
// regions a person drew):
//   1. draw n_samples vectors z ∈ {0, 1}^F, each entry on with probability 1/2 (seeded Generator);
//   2. evaluate y = f(x with every feature z_j = 0 set to the baseline), batched;
//   3. weight each draw by its closeness to x, whose own vector is all ones: the exponential kernel
//      π(z) = exp(−d² / width²) on the cosine distance d = 1 − |z| / (√|z| √F) (d = 1 for z = 0),
//      or any LimeOptions::similarity of (|z|, F), e.g. lime_count_similarity's π(z) = |z| for text;
//   4. fit y ≈ b + zᵀβ by weighted ridge (default) or lasso, intercept included.
// The attribution of every element is the coefficient β_j of its feature. Cost per sample: n_samples
// evaluations plus a solve with F unknowns.
//
// SharpLime (Visani et al., "Enriching LIME with inductive biases", 2022) is LIME whose features are
// user-given regions (e.g. annotated by a domain expert) instead of automatic superpixels: fewer,
// meaningful features make the surrogate both easier to read and far more stable across seeds.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "figures/png_read.h"
#include "xai/perturbation.h"

namespace lumen::xai {

enum class SurrogateModel {
  ridge,  // minimises Σ w_r (y_r − b − x_rᵀβ)² + α‖β‖²            (scikit-learn's Ridge)
  lasso,  // minimises Σ w_r (y_r − b − x_rᵀβ)² / (2 Σ w) + α‖β‖₁  (scikit-learn's Lasso), by
          // cyclic coordinate descent: sparse explanations, at most a few features non-zero
};

struct LinearFitOptions {
  SurrogateModel model = SurrogateModel::ridge;
  double alpha = -1;  // regularisation strength; < 0 = the default, 1.0 for ridge, 0.01 for lasso
  std::int64_t max_iter = 1000;  // lasso sweeps
  double tol = 1e-9;             // lasso stops when no coefficient moved more than this in a sweep
};

struct LinearFit {
  std::vector<double> coef;  // β, one per column
  double intercept = 0;      // b (never regularised)
};

// Weighted linear regression with an intercept: x is rows × cols, row-major; w ≥ 0 per row.
LinearFit weighted_linear_fit(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                              std::int64_t rows, std::int64_t cols, const LinearFitOptions& opt = {});

// The weighted R² of a fit on its own data (scikit-learn's Ridge.score(x, y, sample_weight=w)):
// 1 − Σ w (y − ŷ)² / Σ w (y − ȳ_w)², ȳ_w the weighted mean of y. When y is constant (the denominator
// is 0) it is 1 for an exact fit and 0 otherwise, as scikit-learn's r2_score. How much of the model's
// behaviour around the sample the surrogate captures: a low R² warns that the explanation is poor.
double weighted_r2(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                   std::int64_t rows, std::int64_t cols, const LinearFit& fit);

// The weighted mean squared error of a fit on its own data, Σ w (y − ŷ)² / Σ w: the surrogate's
// error in the model's own units (R² reads it relative to the spread of the scores).
double weighted_mse(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                    std::int64_t rows, std::int64_t cols, const LinearFit& fit);

// LIME's weight for a perturbed sample with `on` of its n_features features kept: exp(−d² / width²),
// d = 1 − √(on / n_features) the cosine distance between the 0/1 vector and all ones (1 when on = 0).
double lime_similarity(std::int64_t on, std::int64_t n_features, double kernel_width);

// A similarity that is simply the number of features kept, `on` (n_features is only checked: 0 <= on
// <= n_features): the weighting of text LIME labs that count unchanged tokens. Closer samples weigh
// linearly more, and the sample with every feature off weighs 0.
double lime_count_similarity(std::int64_t on, std::int64_t n_features);

// The weight of a perturbed sample from (features kept, features in all).
using SimilarityFn = std::function<double(std::int64_t on, std::int64_t n_features)>;

struct LimeOptions {
  Tensor feature_mask{};  // see expand_feature_mask (e.g. grid_feature_mask, superpixel_mask); undefined = every element
  std::int64_t n_samples = 200;  // perturbed copies per sample
  std::int64_t perturbations_per_eval = 64;  // copies per forward pass (bounds memory only)
  double kernel_width = 0.75;  // of the similarity kernel on the cosine distance
  // The weight of a sample with `on` of n_features kept; must be >= 0, with a positive total over the
  // samples. Empty = lime_similarity(on, n_features, kernel_width).
  SimilarityFn similarity{};
  LinearFitOptions fit{};
  Generator* generator = nullptr;  // default generator when null
};

struct LimeResult {
  Tensor attributions;  // shaped like the inputs: each feature's coefficient over its region
  Tensor coefficients;  // [N, F] (0 past a sample's own feature count)
  Tensor intercepts;    // [N]
  Tensor r2;            // [N]: the surrogate's weighted R² on its perturbed samples (weighted_r2)
  Tensor mse;           // [N]: its weighted mean squared error there, Σ w (y − ŷ)² / Σ w (weighted_mse)
};

// The indices of the k largest coefficients of one sample (coefficients_row [F], or [1, F]), largest
// first: by value, or by magnitude when by_abs; ties go to the lower index. k larger than F gives all
// F. Coefficients must be finite.
std::vector<std::int64_t> top_k_features(const Tensor& coefficients_row, std::int64_t k, bool by_abs);

// |A ∩ B| / |A ∪ B| of two sets of feature indices (duplicates ignored); 1 when both are empty.
double jaccard(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);

// The mean of jaccard over every pair of the sets (e.g. the top-k features of one image explained with
// different seeds: 1 = the same features every time). Needs at least 2 sets.
double mean_pairwise_jaccard(const std::vector<std::vector<std::int64_t>>& sets);

class Lime {
 public:
  explicit Lime(ForwardFn f) : f_(std::move(f)) {}
  // A switched-off feature becomes `baselines` (xai/attribution.h; {} = zeros).
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                   const LimeOptions& opt = {}) const;
  LimeResult explain(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                     const LimeOptions& opt = {}) const;

 private:
  ForwardFn f_;
};

// LIME over fixed, user-given regions: an int64 region map (renumbered with relabel_contiguous, so any
// distinct ids will do; broadcast over the inputs like a feature mask, e.g. [H, W] for [N, C, H, W])
// or an image file of regions (load_region_mask). opt.feature_mask must stay undefined: the regions
// are the features.
class SharpLime {
 public:
  SharpLime(ForwardFn f, const Tensor& regions);
  SharpLime(ForwardFn f, const std::string& region_mask_path, const figures::PngReadOptions& png = {});
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                   const LimeOptions& opt = {}) const;
  LimeResult explain(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                     const LimeOptions& opt = {}) const;
  const Tensor& regions() const { return regions_; }

 private:
  ForwardFn f_;
  Tensor regions_;
};

}  // namespace lumen::xai
