#pragma once
// Class model visualisation (Simonyan, Vedaldi & Zisserman 2014, "Deep Inside Convolutional Networks"):
// the image the model finds most typical of a class, found by gradient ascent on the input to maximise
// the class *logit* (not the softmax, which can also grow by lowering the other classes).
//
//   xai::ClassVisOptions opt;                   // the course project's recipe:
//   opt.mean = {0.485, 0.456, 0.406};           //   SGD, lr 10, 149 steps on the normalised image,
//   opt.std = {0.229, 0.224, 0.225};            //   clamped to [0, 1] and quantised to 256 levels after
//   opt.blur_every = 5;                         //   each step, blurred every 5 steps
//   auto r = xai::class_model_visualisation(xai::forward_of(model), {3, 224, 224}, {7, 42}, opt);
//   r.images;     // [2, 3, 224, 224] raw pixels in [0, 1]; r.logits[t][i]: image i's logit after t steps
//
// One step, for all N images at once (rows are independent; one forward and one backward per step):
//   x ← x + lr · ∂/∂x [ logit_c(roll(x)) − l2_decay·||x||² − total_variation·TV(x) ]   (x normalised)
//   raw = x·std + mean → clamp to [0, 1] → Gaussian blur (steps k, 2k, ...) → quantise → x = (raw − mean)/std
// The projections keep the image a valid (8-bit) picture, as the course project did by turning it
// into a uint8 image and back after each step; the blur and the regularisers are what feature-
// visualisation tools add to keep high frequencies from taking over.
#include <cstdint>
#include <functional>
#include <vector>

#include "xai/attribution.h"

namespace lumen::xai {

struct ClassVisOptions {
  std::int64_t steps = 149;
  double lr = 10.0;               // plain gradient ascent on the normalised image
  std::int64_t blur_every = 0;    // 0: never; the course project: 5 (blur after steps k, 2k, ...)
  double blur_sigma = 1.0;        // of xai::gaussian_blur, applied to the raw image (> 0 when blurring)
  std::vector<double> mean{0.0}, std{1.0};  // normalised = (raw − mean_c)/std_c; one value = every channel
  bool clamp = true;                        // raw pixels clamped to [0, 1] after each step
  std::int64_t quantise_levels = 256;       // raw rounded to the nearest k/(levels−1) after each step; 0 = off
  double l2_decay = 0.0;                    // objective −= l2_decay · ||x_normalised||²
  // objective −= total_variation · TV(x_normalised), the squared-difference TV (total_variation() below),
  // differentiable everywhere unlike the absolute-difference one.
  double total_variation = 0.0;
  // Each step the normalised image is rolled (torch.roll) by a random (dy, dx) ∈ [−jitter, jitter]²,
  // the same for every image of the batch, before the forward; the gradient flows back through the roll,
  // so the image itself is never shifted.
  std::int64_t jitter = 0;
  std::uint64_t seed = 0;  // initial noise and jitter
  // Raw initial images [N, C, H, W] in [0, 1] (clamped and quantised like every step's image); undefined
  // = uniform noise U(0, 1) of `dtype`.
  Tensor init;
  DType dtype = DType::float32;  // of the images when init is undefined (init's dtype otherwise)
};

struct ClassVisResult {
  Tensor images;                            // raw [N, C, H, W] in [0, 1] (when clamping), init's or opt.dtype
  std::vector<std::vector<double>> logits;  // logits[t][i]: target logit of image i after t steps (steps + 1 rows)
};

// image_shape = {C, H, W}; N = the number of targets in `classes` (a per-sample Target; one class → 1
// image), or init's N when init is given (then `classes` has 1 or N classes). The logits are those of
// the un-jittered images (with jitter, each step runs one more forward, without a graph, to read them).
// Throws lumen::Error on an image_shape that is not 3 positive sizes, a mean/std of neither 1 nor C
// values, std ≤ 0, steps < 0, or another option out of its range.
ClassVisResult class_model_visualisation(const ForwardFn& f, const Shape& image_shape, const Target& classes,
                                         const ClassVisOptions& opt = {});
// The same loop, calling on_step(t, images) after each step t = 1..steps with the raw images after it
// (a progress bar, or a film of the optimisation); the same result.
ClassVisResult class_model_visualisation(const ForwardFn& f, const Shape& image_shape, const Target& classes,
                                         const ClassVisOptions& opt,
                                         const std::function<void(std::int64_t, const Tensor&)>& on_step);

// The squared-difference total variation of each image [N, C, H, W] → [N] (differentiable):
// Σ_{c,i,j} (x[c,i+1,j] − x[c,i,j])² + (x[c,i,j+1] − x[c,i,j])², over the pairs inside the image.
Tensor total_variation(const Tensor& images);

}  // namespace lumen::xai
