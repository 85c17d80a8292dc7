#pragma once
// Images for looking at data and explanations: PNG output, grids of samples, nearest-neighbour
// upscaling and a colored confusion matrix. Images are float tensors with values in [0, 1]:
// [H, W] gray, or [C, H, W] with C = 1 (gray) or 3 (RGB); batches are [N, C, H, W].
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::xai {

// Writes image ([H, W] or [C, H, W], C = 1 or 3; any device, float32 or float64) as an 8-bit PNG,
// values clamped to [0, 1]. Written to a temporary file beside path, then renamed over it, so a
// reader never sees half an image. Throws lumen::Error if the file cannot be written.
void save_png(const std::string& path, const Tensor& image);

// Tiles images [N, C, H, W] (C = 1 or 3) into one RGB image [3, H', W'], nrow images per row, with
// `padding` pixels of pad_value between and around them (torchvision's make_grid layout).
Tensor make_grid(const Tensor& images, std::int64_t nrow = 8, std::int64_t padding = 2, double pad_value = 1.0);

// Every pixel of image ([H, W] or [C, H, W]) repeated factor × factor times: small images stay crisp.
Tensor upscale(const Tensor& image, std::int64_t factor);

// A sequential colormap from near-white (0) through light blue to dark blue (1), like matplotlib's
// "Blues"; v is clamped to [0, 1].
std::array<float, 3> blues(double v);

// A K×K matrix (e.g. a row-normalised confusion matrix, values in [0, 1]) as an RGB image [3, H, W]:
// one `cell`-pixel square per entry colored by blues(value) with the value written in it ("0.98"),
// and labels (optional, K strings) along the left and the top, in stb_easy_font's ASCII glyphs.
Tensor render_confusion_matrix(const Tensor& matrix, const std::vector<std::string>& labels = {},
                               std::int64_t cell = 56);

}  // namespace lumen::xai
