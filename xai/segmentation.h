#pragma once
// Feature masks for the perturbation methods (FeatureAblation, Lime, SharpLime, KernelShap): int64
// maps giving each element of a sample the id (0..F−1) of the interpretable feature it belongs to.
// Elements sharing an id are switched on and off together, so F, not the number of pixels, sets the
// cost of an explanation (LIME and KernelSHAP fit F coefficients; FeatureAblation runs F + 1 passes).
//
//   grid_feature_mask   square-ish cells of a fixed grid: cheap, content-blind
//   superpixel_mask     SLIC superpixels (Achanta et al. 2012): regions that follow the image's edges
//   load_region_mask    regions drawn by a person (e.g. an annotator's PNG), as in Sharp-LIME
//
// Masks are [H, W] and broadcast over the channels of [N, C, H, W] inputs.
#include <cstdint>
#include <string>

#include "autograd/tensor.h"
#include "figures/png_read.h"

namespace lumen::xai {

// [height, width] int64: cells of cell_h × cell_w pixels numbered row-major 0..R−1 (the last row
// and column of cells are smaller when the sizes do not divide).
Tensor grid_feature_mask(std::int64_t height, std::int64_t width, std::int64_t cell_h, std::int64_t cell_w);

struct SuperpixelOptions {
  std::int64_t n_segments = 50;  // approximate number of superpixels (seeds on a regular grid)
  // Weight of spatial against colour distance (SLIC's m, in CIELAB units as in scikit-image): higher
  // gives more compact, grid-like regions; lower follows colour more closely.
  double compactness = 10.0;
  std::int64_t max_iter = 10;  // k-means iterations
};

// SLIC superpixels of an image with values in [0, 1]: [C, H, W] (C = 1 gray, C = 3 RGB) or [H, W]
// -> int64 [H, W] with contiguous ids; a batch [N, C, H, W] -> [N, 1, H, W] (each image segmented on
// its own, ready to broadcast over the channels). Colours are compared in CIELAB. Segments are made
// connected afterwards: fragments smaller than half a nominal segment join the neighbouring segment
// closest in colour. Cost O(max_iter · H · W).
Tensor superpixel_mask(const Tensor& image, const SuperpixelOptions& opt = {});

// A region map read from a PNG file (8-bit gray, gray + alpha, RGB or RGBA, not interlaced, at most
// opt.max_pixels pixels: figures/png_read.h): each distinct pixel value is one region, at most 256,
// numbered 0..R−1 in increasing order of the value (so for a gray mask, darker regions come first).
// Returns int64 [H, W], decoded row by row into it (no other memory per pixel). Throws lumen::Error
// naming the file when it is missing, of another kind or format, too large, damaged, or has more
// than 256 distinct values.
Tensor load_region_mask(const std::string& path, const figures::PngReadOptions& opt = {});

// Ids of an int64 mask renumbered 0..R−1 in increasing order of the original ids (same shape), so
// that e.g. {7, 7, 3, 9} becomes {1, 1, 0, 2}. The perturbation methods require contiguous ids.
Tensor relabel_contiguous(const Tensor& mask);

}  // namespace lumen::xai
