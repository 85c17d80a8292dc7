#pragma once
// Evaluating explanations: does an attribution say something true about the model?
//
//   auto del = xai::deletion_curve(xai::forward_of(model), images, attr, labels);  // lower AUC: better
//   auto ins = xai::insertion_curve(xai::forward_of(model), images, attr, labels,
//                                   {.baseline = xai::gaussian_blur(images, 5.0)}); // higher AUC: better
//   Tensor infid = xai::infidelity(f, images, attr, labels);                        // lower: better
//   Tensor sens = xai::max_sensitivity(saliency_fn, images, labels);                // lower: better
//   auto table = xai::model_randomization_check(model, method, images, labels);     // should drop
//
// Faithfulness (deletion/insertion, infidelity) asks whether the features an attribution ranks high
// really drive the score; robustness (max-sensitivity) whether it is stable under imperceptible input
// changes; the randomisation check (Adebayo et al. 2018) whether it depends on the model at all.
// Every function takes attributions as tensors or as a callable, never a method class, so any method
// (or a hand-made map) can be evaluated. An empty batch is defined as for the methods: after the usual
// checks, nothing is run; the curves are none (their mean is NaN, the mean of nothing), infidelity and
// max-sensitivity return [0], and the randomisation check's correlations are [0] with NaN means.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xai/attribution.h"

namespace lumen::nn {
class Module;
}

namespace lumen::xai {

// The same, for a method that must be rebuilt on (possibly randomised) model weights.
using ModelAttributionFn = std::function<Tensor(nn::Module& model, const Tensor& inputs, const Target& target)>;

// ---- correlation helpers (on all elements of a and b, flattened; numel must agree and be >= 2)

// Pearson's r. NaN when either side is constant (as scipy), since the correlation is undefined.
double pearson(const Tensor& a, const Tensor& b);
// Spearman's ρ: Pearson's r of the ranks, tied values sharing their average rank (scipy's default).
double spearman(const Tensor& a, const Tensor& b);
// 1-based ranks with ties averaged: {10, 20, 20, 5} -> {2, 3.5, 3.5, 1}.
std::vector<double> average_ranks(const std::vector<double>& values);

// ---- deletion and insertion curves (Petsiuk et al. 2018, RISE)
//
// Features are ordered by attribution, most important first. Deletion replaces the top k features
// of the input by the baseline for k = 0 .. all, in `steps` steps, and records the target's
// probability: a faithful attribution makes it fall fast (low AUC is better). Insertion starts from
// the baseline and puts the top k features back: the score should rise fast (high AUC is better).
// Cost: N · (steps + 1) model evaluations, in forwards of at most batch_size rows, no gradients.

enum class Aggregate { abs_sum, signed_sum };  // how a pixel's channels combine into one importance

struct CurveOptions {
  std::int64_t steps = 20;  // the curve has steps + 1 points; fractions k/P with k = round(s·P/steps)
  // What removed (deletion) or not yet inserted (insertion) features become: shaped like inputs or
  // like one sample. Undefined: a blur of the inputs when blur_sigma > 0 ([N, C, H, W] only), else zeros.
  // (An option here, unlike the attribution methods' baselines argument: it is the metric's setting,
  // and its default depends on blur_sigma.)
  Tensor baseline{};
  double blur_sigma = 0.0;
  bool probabilities = true;  // softmax over the K outputs; false: the raw target score
  // For images [N, C, H, W] a feature is a pixel, all channels at once (RISE); its importance is
  // the sum over channels of |attr| or of attr. Other inputs: every element is a feature.
  bool pixels = true;
  Aggregate aggregate = Aggregate::abs_sum;
  std::int64_t batch_size = 128;  // rows per forward
};

struct Curve {
  std::vector<double> fractions;  // of features deleted/inserted, from 0 to 1
  std::vector<double> values;     // the target probability (or score) there
  double auc = 0;                 // trapezoid rule over the fractions
};

struct CurveResult {
  std::vector<Curve> per_sample;
  Curve mean;  // pointwise mean of the curves; its auc is the mean AUC
};

// The area under values(fractions) by the trapezoid rule, in x's units times y's (fractions
// non-decreasing; fewer than 2 points enclose no area). Also Atanasova et al.'s faithfulness AUC
// (xai/diagnostics.h).
double trapezoid_auc(const std::vector<double>& fractions, const std::vector<double>& values);

CurveResult deletion_curve(const ForwardFn& f, const Tensor& inputs, const Tensor& attributions, const Target& target,
                           const CurveOptions& opt = {});
CurveResult insertion_curve(const ForwardFn& f, const Tensor& inputs, const Tensor& attributions, const Target& target,
                            const CurveOptions& opt = {});

// ---- infidelity (Yeh et al. 2019, Captum's definition)
//
//   INFD(attr, f, x) = E_I[(Iᵀ attr − (f(x) − f(x − I)))²],  I ~ N(0, σ²) elementwise,
//
// with f the target score: how far the attribution, read as a linear model of the score, is from
// the score's real change under small noise. 0 for the gradient of a linear model; lower is better.
// normalize: attr is first scaled by the β minimising the expectation (β = E[a·d] / E[a²] over the
// perturbations), so only the attribution's direction is judged, not its scale.
// Cost: 1 + N · n_perturb model evaluations, no gradients. Returns [N] (float64).
struct InfidelityOptions {
  std::int64_t n_perturb = 10;
  double stddev = 0.003;  // σ; Captum's documented example perturbation
  bool normalize = false;
  std::uint64_t seed = 0;
  std::int64_t batch_size = 128;  // rows per forward
};
Tensor infidelity(const ForwardFn& f, const Tensor& inputs, const Tensor& attributions, const Target& target,
                  const InfidelityOptions& opt = {});

// ---- max-sensitivity (Yeh et al. 2019; Captum's sensitivity_max)
//
//   SENS_max = max_{j ≤ n} ‖attr(x + δ_j) − attr(x)‖₂ / ‖attr(x)‖₂,  δ_j ~ U[−r, r] elementwise,
//
// the largest relative change of the explanation under a perturbation in the L∞ ball of radius r.
// Lower is better (0 for any method whose output does not depend on x, e.g. a linear model's
// gradient). Where ‖attr(x)‖ = 0 the difference is not divided (as Captum).
// Cost: 1 + n_perturb calls of attr per sample, in calls of at most batch_size rows. Returns [N] (float64).
struct SensitivityOptions {
  std::int64_t n_perturb = 10;
  double radius = 0.02;  // Captum's default
  std::uint64_t seed = 0;
  std::int64_t batch_size = 128;  // rows per call of attr
};
Tensor max_sensitivity(const AttributionFn& attr, const Tensor& inputs, const Target& target,
                       const SensitivityOptions& opt = {});

// ---- model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps")
//
// An explanation of a model should depend on the model: re-initialising its weights should change
// it. The layers that own parameters are randomised from the output down ("fc4", "fc3", ... or
// "classifier.3", ..., "features.0"): cumulatively (cascading: after "fc3" both fc4 and fc3 are
// random) or each alone (independent). After each step the method is run again and compared per
// sample with the original attribution by Spearman's ρ of |attr| and of attr (Adebayo report both).
// A weight-dependent method (gradients) drops towards 0; one that ignores the model (an edge
// detector, the input itself) stays at 1, which is the failure the test exposes.
// The model's parameters are restored exactly at the end, also when the method throws. Buffers
// (BatchNorm statistics) and the train/eval mode are left alone: call model.eval() first.
// Cost: 1 + (number of layers) calls of the method.

enum class Randomization { cascading, independent };
enum class Reinit {
  // PyTorch's reset for Linear/Conv: weights (≥ 2 dims) kaiming_uniform_(a = √5), i.e.
  // U(±1/√fan_in); the layer's other parameters U(±1/√fan_in) with the weight's fan_in, or U(−1, 1)
  // in a layer without such a weight (BatchNorm's affine parameters).
  default_init,
  // N(0, s²) with s the original tensor's standard deviation, so the scale of activations is kept;
  // for a constant tensor (a zero bias, BatchNorm's unit weight) s is its RMS, or 0.01 if it is 0.
  normal_same_std,
};

struct RandomizationOptions {
  Randomization mode = Randomization::cascading;
  Reinit reinit = Reinit::default_init;
  std::uint64_t seed = 0;
  std::vector<std::string> layers{};  // which layers, in the order to randomise; empty: all, output first
};

struct RandomizationRow {
  std::string layer;       // "original" for the unrandomised model, then the layer just randomised
  Tensor attribution;      // the method's output at this step
  Tensor spearman_abs;     // [N] float64: ρ(|attr_original|, |attr_step|) per sample
  Tensor spearman_signed;  // [N] float64: ρ(attr_original, attr_step)
  double mean_abs = 0, mean_signed = 0;  // over samples, NaN entries (a constant map) skipped
};

struct RandomizationResult {
  std::vector<RandomizationRow> rows;  // rows[0] is "original" (ρ = 1)
  const RandomizationRow& at(const std::string& layer) const;  // throws naming the known layers
};

// The dotted names of the modules owning parameters directly, output side first (reverse
// registration order); the model itself, if it owns parameters, is "" and comes last.
std::vector<std::string> randomizable_layers(const nn::Module& model);

RandomizationResult model_randomization_check(nn::Module& model, const ModelAttributionFn& method,
                                              const Tensor& inputs, const Target& target,
                                              const RandomizationOptions& opt = {});

}  // namespace lumen::xai
