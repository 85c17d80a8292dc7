#pragma once
// Discriminative attribution from counterfactuals (DAPI: Eckstein, Bates & Funke 2021; QuAC:
// Adjavon et al.). A real image x of class A and a counterfactual x_cf that the classifier assigns
// to class B (made by a GAN, or any such image) differ in some pixels; the question is which of
// those differences make the classifier change its mind.
//
//   Tensor attr = xai::d_integrated_gradients(xai::forward_of(model), x, x_cf, /*real=*/labels);
//   auto res = xai::dac_evaluate(xai::forward_of(model), x, x_cf, attr, /*counterfactual=*/cf_labels);
//   res[0].dac;          // area under the mask-size/score curve: higher is better
//   res[0].best_hybrid;  // x with the few pixels that matter copied from x_cf
//
// ---- the methods: ordinary attribution methods, with the counterfactual as their reference
//
//   D-IG        IG from x_cf to x:        (x − x_cf) · ∫₀¹ ∇f_A(x_cf + α(x − x_cf)) dα
//   D-InXG      ∇f_A(x) · (x − x_cf)       (first-order Taylor estimate of f_A(x) − f_A(x_cf))
//   D-DeepLIFT  DeepLift(x; baseline x_cf)
//   D-GC        Σ_k ∂f_A/∂A_k(x) ⊙ (A_k(x) − A_k(x_cf)), upsampled: D-InXG on a layer's activations
//   residual    Σ_c |x − x_cf|              (no model: where the images differ)
//   random      blurred uniform noise        (no information: the floor every method must beat)
//
// f_A is the score (logit) of the real class A. As in QuAC, the real image is the input, the
// counterfactual the baseline and the real class the target. (DAPI's code had the roles swapped:
// IG of x_cf from x for class B, and for D-InXG and D-GC the gradient of class B taken at x_cf;
// QuAC's FIXMEs note it.)
// Sign: every method returns signed values with "positive = this change from x_cf to x raises the
// real class"; D-IG and D-DeepLIFT sum to f_A(x) − f_A(x_cf). The issue's grad · (x_cf − x) is the
// same map negated. The evaluation, like DAPI and QuAC, uses |attribution|, so the sign convention
// does not change any mask.
//
// ---- the evaluation: does copying the attributed pixels from x_cf into x flip the classifier?
//
// For one image: the map a = Σ_c |attr| is normalised to [0, 1]; for each of n_thresholds
// thresholds t the mask {a > t} is closed with an elliptical element (xai/morphology.h), blurred
// (xai::gaussian_blur) into a soft mask m, and the hybrid h = m·x_cf + (1 − m)·x is classified:
//
//   score(t) = p_B(h) − p_B(x),   size(t) = |closed mask| / (H·W)      (QuAC's mask score and size)
//
// with p the softmax and B the counterfactual's class. The DAC score is the area under score(size)
// by the trapezoid rule over size ∈ [0, 1], with the exact end points (0, 0) (empty mask: h = x) and
// (1, p_B(x_cf) − p_B(x)) (full mask: h = x_cf). A good attribution reaches a high score with a
// small mask, so higher is better; its upper bound is p_B(x_cf) − p_B(x).
// The best mask is QuAC's optimal threshold: the one maximising score − size (QuAC minimises
// |m| − Δf); ties go to the first, i.e. lowest, threshold.
// Cost per image: 1 forward of 2 rows (x, x_cf) plus one row per distinct mask (at most
// n_thresholds, fewer since nested masks of equal size are equal), in forwards of at most
// batch_size rows, no gradients.
#include <cstdint>
#include <utility>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "nn/module.h"
#include "xai/attribution.h"
#include "xai/evaluation.h"
#include "xai/gradient.h"

namespace lumen::xai {

// ---- discriminative attribution methods
// inputs x [N, ...] (images [N, C, H, W] for D-GC), counterfactuals x_cf shaped like x (or like one
// sample, broadcast), real: the real class A of each sample. All return detached tensors.

// IntegratedGradients(f).attribute(x, real, /*baselines=*/x_cf): the whole method.
// Shaped like x; n_steps forward+backward rows per sample (opt).
Tensor d_integrated_gradients(const ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                              const Target& real, const IGOptions& opt = {});

// ∇f_A(x) · (x − x_cf). Shaped like x; 1 forward + backward.
Tensor d_input_x_gradient(const ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                          const Target& real);

// DeepLift(model).attribute(x, real, /*baselines=*/x_cf): sums exactly to f_A(x) − f_A(x_cf) through
// the model's ReLU/Sigmoid/Tanh modules. Shaped like x; 1 forward of 2N rows + backward.
Tensor d_deeplift(nn::Module& model, const Tensor& inputs, const Tensor& counterfactuals, const Target& real);

struct DGradCamOptions {
  // DAPI weighs each activation difference by its own gradient (elementwise). pooled: Grad-CAM's
  // channel weight α_k = mean over (i, j) of ∂f_A/∂A_k instead.
  bool pooled = false;
  bool upsample = true;  // to the inputs' H×W (bilinear, as DAPI's cv2.resize); false: the layer's h×w
};

// Discriminative Grad-CAM (DAPI's D-GC, with QuAC's roles): with A the layer's output [N, K, h, w],
//   map = Σ_k ∂f_A/∂A_k(x) ⊙ (A_k(x) − A_k(x_cf))   [N, 1, h, w], signed, upsampled to [N, 1, H, W].
// The activations of x and x_cf come from one forward of the 2N rows [x; x_cf] (a forward hook on
// the layer, as GradCam); the gradient is autograd::grad with respect to them. Eval mode required.
Tensor d_grad_cam(nn::Module& model, nn::Module& layer, const Tensor& inputs, const Tensor& counterfactuals,
                  const Target& real, const DGradCamOptions& opt = {});
Tensor d_grad_cam(nn::Module& model, const std::string& layer_name, const Tensor& inputs,
                  const Tensor& counterfactuals, const Target& real, const DGradCamOptions& opt = {});

// Σ_c |x − x_cf|: [N, 1, H, W] for images [N, C, H, W].
Tensor residual_attribution(const Tensor& inputs, const Tensor& counterfactuals);

// U[0, 1) noise per pixel, blurred by a Gaussian of standard deviation sigma: [N, 1, H, W].
// DAPI blurs with σ = 4 on 128-pixel images; the default 1 is that scaled to 28 pixels.
Tensor random_attribution(const Tensor& inputs, double sigma = 1.0, Generator* gen = nullptr);

// The six maps above by name ("d_ig", "d_inxg", "d_dl", "d_gc", "residual", "random"), in that
// order; "d_gc" only when layer_name is not empty. One call per method, with default options.
std::vector<std::pair<std::string, Tensor>> discriminative_attributions(nn::Module& model, const Tensor& inputs,
                                                                        const Tensor& counterfactuals,
                                                                        const Target& real,
                                                                        const std::string& layer_name = "",
                                                                        Generator* gen = nullptr);

// ---- evaluation (DAPI / QuAC)

enum class Thresholds {
  uniform,   // t_k = k / n, k = 0 .. n − 1: QuAC's np.arange(vmin, vmax, step) on the normalised map,
             // without the negative half that only ever gives the full mask
  quantile,  // t_k = the k/n quantile of the map's values (linear interpolation, numpy's default):
             // mask sizes spread evenly even when the map's values bunch up (residuals, noise)
};

struct DacOptions {
  std::int64_t n_thresholds = 200;  // DAPI and QuAC
  Thresholds spacing = Thresholds::uniform;
  // DAPI/QuAC close with a 10×10 ellipse and blur with cv2.GaussianBlur(11×11, σ = 2) on 128-pixel
  // images; scaled to 28×28 that is a radius of 1 and σ ≈ 0.5. 0 turns either step off. (Odd
  // elements only; the blur is xai::gaussian_blur: truncated at 3σ, scipy's reflect border.)
  std::int64_t closing_radius = 1;
  double blur_sigma = 0.5;
  Aggregate aggregate = Aggregate::abs_sum;  // a pixel's importance: Σ_c |attr| (DAPI/QuAC), or Σ_c attr
  std::int64_t batch_size = 200;             // hybrids per forward
};

struct DacResult {
  // One entry per threshold (thresholds ascending, so mask sizes non-increasing).
  std::vector<double> thresholds;
  std::vector<double> mask_sizes;  // fraction of the image's pixels in the closed (unblurred) mask
  std::vector<double> scores;      // p_B(hybrid) − p_B(x)
  // The curve the DAC integrates: the points above sorted by mask size, with (0, 0) and
  // (1, p_B(x_cf) − p_B(x)) added at the ends.
  std::vector<double> curve_sizes;
  std::vector<double> curve_scores;
  double dac = 0;
  double p_real = 0;            // p_B(x)
  double p_counterfactual = 0;  // p_B(x_cf)
  std::int64_t best = 0;        // index of the optimal threshold (max score − size)
  Tensor best_mask;             // [1, H, W] the soft (closed and blurred) mask at that threshold
  Tensor best_hybrid;           // [C, H, W] best_mask·x_cf + (1 − best_mask)·x
};

// inputs, counterfactuals [N, C, H, W]; attributions [N, C', H, W] (C' = C or 1; any method above);
// counterfactual: the class B of each x_cf. Returns one result per image.
// An empty batch gives no results (the model is not run); summarize_dac refuses an empty list, naming the method.
std::vector<DacResult> dac_evaluate(const ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                                    const Tensor& attributions, const Target& counterfactual,
                                    const DacOptions& opt = {});

// Means over images for one method. The mean curve is each image's curve interpolated (piecewise
// linearly) at grid_points mask sizes evenly spaced in [0, 1] and averaged, as QuAC's report plots.
struct DacSummary {
  std::string method;
  std::int64_t n_images = 0;
  double mean_dac = 0;
  double mean_best_size = 0;   // of the optimal masks
  double mean_best_score = 0;
  std::vector<double> grid;        // mask sizes
  std::vector<double> mean_curve;  // mean score at each
};
DacSummary summarize_dac(const std::string& method, const std::vector<DacResult>& results,
                         std::int64_t grid_points = 101);

// ---- building blocks (exposed for tests and plots)

// attributions [N, C', H, W] -> [N, H·W] per-pixel importance (aggregate over channels), each row
// min-max normalised to [0, 1] (a constant map becomes all zeros: no threshold selects anything).
std::vector<std::vector<double>> normalized_maps(const Tensor& attributions, Aggregate aggregate);

// The n thresholds for one normalised map (see Thresholds).
std::vector<double> mask_thresholds(const std::vector<double>& map, std::int64_t n, Thresholds spacing);

// {map > t}, closed with the elliptical element of closing_radius: H·W bytes.
std::vector<std::uint8_t> threshold_mask(const std::vector<double>& map, std::int64_t h, std::int64_t w, double t,
                                         std::int64_t closing_radius);

// mask·x_cf + (1 − mask)·x, the mask ([..., 1, H, W] or [H, W]) broadcast over channels.
Tensor hybrid(const Tensor& inputs, const Tensor& counterfactuals, const Tensor& mask);

}  // namespace lumen::xai
