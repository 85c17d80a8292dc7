#pragma once
// Continuous concept measures of images: the per-image numbers ("measures") that regression concept
// vectors (Graziani et al.) regress on a layer's activations. Plain loops over float images in [0, 1],
// [C, H, W] (one value: a 0-d float64 tensor) or batches [N, C, H, W] (one value per image: [N] float64),
// C = 1 (gray) or 3 (RGB):
//
//   Tensor c = xai::colorfulness(images);                 // [N]: Hasler & Süsstrunk, 0 for gray images
//   Tensor r = xai::colorness(images, xai::Hue::red);     // [N]: fraction of saturated, bright red pixels
//   xai::Haralick t = xai::haralick(images[0], 32);       // texture statistics of one image's GLCM
//   Tensor a = xai::stroke_area(digits);                  // [N]: fraction of pixels brighter than 0.5
//
// Values outside [0, 1] (or NaN) are an error: every measure assumes that scale.
#include <cstdint>

#include "autograd/tensor.h"

namespace lumen::xai {

// Hasler & Süsstrunk's colorfulness on 0..255 values (x·255, not quantised): rg = |R − G|,
// yb = |½(R + G) − B|; √(σ_rg² + σ_yb²) + 0.3·√(μ_rg² + μ_yb²), population σ over the pixels.
// Gray (C = 1) images → 0.
Tensor colorfulness(const Tensor& images);

// OpenCV's 8-bit HSV (H in 0..179, S and V in 0..255), bit-exact with cv2.cvtColor(img, COLOR_RGB2HSV)
// on uint8 values (its fixed-point tables and rounding).
struct Hsv {
  int h, s, v;
};
Hsv opencv_hsv(std::uint8_t r, std::uint8_t g, std::uint8_t b);

// The fraction of pixels whose hue lies in a band [lo, hi) of OpenCV's 0..180 scale (wrapping round when
// lo > hi) and that are saturated and bright enough for the hue to mean something (S ≥ 50, V ≥ 77).
// RGB images only; quantised to uint8 first by round(x·255) (halves to even, as numpy and torch round).
// Bands: red 165–10, orange 10–25, yellow 25–40, green 40–75, cyan 75–100, blue 100–125, purple 125–145,
// magenta 145–165.
enum class Hue { red, orange, yellow, green, cyan, blue, purple, magenta };
const char* hue_name(Hue h);
Tensor colorness(const Tensor& images, Hue band);

// Haralick statistics of one image's gray-level co-occurrence matrix. Gray = 0.299 R + 0.587 G + 0.114 B
// (C = 3) or the channel (C = 1), quantised to `levels` gray levels by floor(x·(levels − 1) + 0.5); the
// GLCM and props are skimage's graycomatrix(img, distances=[1], angles=[0], levels, symmetric=True,
// normed=True) and graycoprops, with P(i, j) the normed symmetric matrix:
//   contrast Σ P (i − j)², dissimilarity Σ P |i − j|, homogeneity Σ P / (1 + (i − j)²), ASM Σ P²,
//   energy √ASM, correlation Σ P (i − μ_i)(j − μ_j) / (σ_i σ_j), 1 when σ_i or σ_j < 1e-15 (as skimage).
// image: [C, H, W] or [H, W], W ≥ 2 (the pairs are horizontal neighbours); levels in [2, 65536].
struct Haralick {
  double contrast, dissimilarity, homogeneity, asm_, energy, correlation;
};
Haralick haralick(const Tensor& image, std::int64_t levels = 256);

// The fraction of pixels whose gray value (as for haralick, not quantised) exceeds `threshold`.
Tensor stroke_area(const Tensor& images, double threshold = 0.5);

}  // namespace lumen::xai
