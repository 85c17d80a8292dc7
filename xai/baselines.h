#pragma once
// Baselines: the "absence of signal" an attribution is measured against. The DL@MBL
// knowledge-extraction exercise (Deep Learning @ the Marine Biological Laboratory, Funke lab)
// compares three for Integrated Gradients (zeros, uniform noise, a blurred copy of the image), and
// any tensor or single value works (xai::Baseline in xai/attribution.h).
#include <cstdint>

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace lumen::xai {

// U[lo, hi) noise shaped like inputs, from gen (the default generator when null).
Tensor uniform_baseline(const Tensor& inputs, double lo = 0.0, double hi = 1.0, Generator* gen = nullptr);

// Each channel of images [N, C, H, W] (or [C, H, W]) blurred by a normalised Gaussian of standard
// deviation sigma, truncated at `radius` pixels (default ceil(3σ)), borders reflected as
// scipy.ndimage.gaussian_filter(mode="reflect") does. Differentiable: two depthwise conv2d passes
// (rows, then columns), so it also serves inside optimisation loops (activation maximisation).
Tensor gaussian_blur(const Tensor& images, double sigma, std::int64_t radius = -1);

// The normalised 1-D Gaussian taps [2·radius + 1] (float64), exposed for tests and for mask blurring.
Tensor gaussian_kernel1d(double sigma, std::int64_t radius);

}  // namespace lumen::xai
