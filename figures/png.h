#pragma once
// PNG files: writing a figure, reading one back. Images are float tensors with values in [0, 1]:
// [H, W] gray, or [C, H, W] with C = 1 (gray) or 3 (RGB).
#include <string>

#include "autograd/tensor.h"
#include "figures/png_read.h"

namespace lumen::figures {

// Writes image ([H, W] or [C, H, W], C = 1 or 3; any device, float32 or float64) as an 8-bit PNG,
// values clamped to [0, 1]. Written through an AtomicFile (kernels/core/atomic_file.h), so a reader
// never sees half an image. Throws lumen::Error naming the file if it cannot be written.
void save_png(const std::string& path, const Tensor& image);

// Reads an 8-bit PNG (figures/png_read.h: gray, gray + alpha, RGB or RGBA, not interlaced, at most
// opt.max_pixels) as float32 [C, H, W] in [0, 1], byte / 255, with the file's own channels: C = 1
// gray, 2 gray + alpha, 3 RGB, 4 RGBA. Throws lumen::Error naming the file when it is missing, of
// another kind, too large or damaged.
Tensor read_png(const std::string& path, const PngReadOptions& opt = {});

}  // namespace lumen::figures
