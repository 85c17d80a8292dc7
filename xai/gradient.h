#pragma once
// The gradient family: attributions read off gradients of the target score. Each method is a few
// lines over target_gradient (xai/attribution.h), i.e. over autograd::grad:
//
//   Saliency            |∂f/∂x|  (or signed)                                     1 backward pass
//   InputXGradient      x · ∂f/∂x                                                1
//   IntegratedGradients (x − x') · ∫₀¹ ∂f/∂x(x' + α(x − x')) dα                  n_steps, batched
//   NoiseTunnel         any method averaged over noisy copies of x (SmoothGrad, SmoothGrad², VarGrad)
//   GradientShap        E[(x + ε − x') · ∂f/∂x(x' + α(x + ε − x'))], x' drawn from a set of baselines
//
// All are built from a ForwardFn and return attributions shaped like the inputs [N, ...].
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "autograd/random.h"
#include "xai/attribution.h"

namespace lumen::xai {


class Saliency {
 public:
  explicit Saliency(ForwardFn f) : f_(std::move(f)) {}
  // |∂score/∂x| when abs (Simonyan et al.'s saliency map), else the signed gradient.
  Tensor attribute(const Tensor& inputs, const Target& target, bool abs = true) const;

 private:
  ForwardFn f_;
};

class InputXGradient {
 public:
  explicit InputXGradient(ForwardFn f) : f_(std::move(f)) {}
  Tensor attribute(const Tensor& inputs, const Target& target) const;  // x · ∂score/∂x

 private:
  ForwardFn f_;
};

// How ∫₀¹ g(α) dα is approximated: Σ_k w_k g(α_k). Riemann sums use n equal steps (left/right ends,
// midpoints, or the trapezoid rule on n points including both ends); Gauss–Legendre places n nodes
// so that polynomials of degree 2n − 1 are integrated exactly, hence converges far faster on
// smooth paths (Captum's default).
enum class Integration { riemann_left, riemann_right, riemann_middle, riemann_trapezoid, gauss_legendre };

// The points α_k ∈ [0, 1] and weights w_k (Σ w_k = 1) of a rule with n points.
// Deliberately unlike Captum: its trapezoid rule takes the points linspace(0, 1, n), spaced 1/(n − 1),
// but the weights 1/n (halved at both ends), which sum to (n − 1)/n; lumen's are 1/(n − 1) (halved at
// both ends), which sum to 1, so a constant gradient integrates exactly. Captum's trapezoid
// attributions are lumen's times (n − 1)/n. The other rules agree with Captum's.
std::pair<std::vector<double>, std::vector<double>> integration_points(Integration method, std::int64_t n);

struct IGOptions {
  std::int64_t n_steps = 50;
  Integration method = Integration::gauss_legendre;
  // Rows (interpolated inputs) per forward/backward pass; 0 = all n_steps·N rows in one pass.
  // Bounds memory without changing the result.
  std::int64_t internal_batch_size = 0;
};

// Integrated Gradients (Sundararajan et al. 2017). Completeness: the attributions of a sample sum to
// F(x) − F(x') up to the integration error, reported as the convergence delta.
class IntegratedGradients {
 public:
  explicit IntegratedGradients(ForwardFn f) : f_(std::move(f)) {}
  // baselines: x' (xai/attribution.h): one value, one sample's shape or the inputs' shape; {} = zeros.
  Tensor attribute(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                   const IGOptions& opt = {}) const;
  // The same, and the delta, which costs one more forward pass over the inputs and the baselines.
  AttributionAndDelta attribute_with_delta(const Tensor& inputs, const Target& target, const Baseline& baselines = {},
                                           const IGOptions& opt = {}) const;

 private:
  ForwardFn f_;
};

enum class NoiseType {
  smoothgrad,     // mean of the attributions (Smilkov et al. 2017)
  smoothgrad_sq,  // mean of their squares
  vargrad,        // their variance (Adebayo et al. 2018)
};

struct NoiseOptions {
  NoiseType type = NoiseType::smoothgrad;
  std::int64_t n_samples = 25;
  double stdev = 0.15;               // of the Gaussian noise, in input units
  std::int64_t samples_per_pass = 0;  // noisy copies per call of the method; 0 = all at once
  Generator* generator = nullptr;     // default generator when null
};

// Runs `method` on n_samples noisy copies of the inputs (as one expanded batch, block by block, with
// the targets repeated to match) and aggregates the attributions per sample.
class NoiseTunnel {
 public:
  explicit NoiseTunnel(AttributionFn method) : method_(std::move(method)) {}
  Tensor attribute(const Tensor& inputs, const Target& target, const NoiseOptions& opt = {}) const;

 private:
  AttributionFn method_;
};

struct GradientShapOptions {
  std::int64_t n_samples = 5;        // random (baseline, α, noise) draws per input
  double stdev = 0.0;                // Gaussian noise added to the inputs (SmoothGrad-style)
  std::int64_t internal_batch_size = 0;  // rows per pass; 0 = all n_samples·N at once
  Generator* generator = nullptr;
};

// GradientSHAP (Lundberg & Lee 2017, as in Captum): the expected gradient × (input − baseline) over
// baselines drawn uniformly from `baselines` [B, ...] and α ~ U(0, 1); approximates SHAP values,
// and equals them exactly for a linear model. `baselines` is in the place every method takes its
// baselines (after the target), but it is a distribution: B baselines, B unrelated to N (one
// sample's shape = B = 1; undefined = one zero baseline), hence a tensor and not a Baseline.
class GradientShap {
 public:
  explicit GradientShap(ForwardFn f) : f_(std::move(f)) {}
  Tensor attribute(const Tensor& inputs, const Target& target, const Tensor& baselines,
                   const GradientShapOptions& opt = {}) const;

 private:
  ForwardFn f_;
};

}  // namespace lumen::xai
