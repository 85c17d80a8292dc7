#pragma once
// Metrics and clean-up for binary segmentation masks (morphology::Mask: row-major H×W bytes, 0 or 1):
//
//   morphology::Mask pred = xai::threshold_mask(probability_map, 0.5);         // [H, W] -> 0/1
//   pred = xai::remove_small_components(pred, h, w, /*max_size=*/9);          // drop specks
//   double score = xai::dice(pred, truth);                                      // 1: identical
#include <cstdint>

#include "autograd/tensor.h"
#include "xai/morphology.h"

namespace lumen::xai {

// Dice = 2|S∩G| / (|S| + |G|), 1 when both are empty. Sizes must match; values 0/1.
double dice(const morphology::Mask& prediction, const morphology::Mask& truth);

// The mask with every connected component of at most max_size pixels removed (≥ 0; 0 removes nothing).
// connectivity 8 (the default) joins pixels that touch at a corner, 4 only those sharing an edge. 8 is
// the default because a thresholded map's thin diagonal structures (a stroke, a boundary) are one object,
// which 4-connectivity would cut into single pixels and remove as noise; it is also cv2.connectedComponents'
// default. (skimage.morphology.remove_small_objects defaults to 4-connectivity and keeps sizes ≥ min_size:
// max_size = 9 there is min_size = 10, connectivity = 2.)
morphology::Mask remove_small_components(const morphology::Mask& mask, std::int64_t height, std::int64_t width,
                                         std::int64_t max_size = 9, int connectivity = 8);

// A [H, W] (or [1, H, W]) floating-point tensor thresholded: value > threshold → 1, else 0 (NaN → 0).
morphology::Mask threshold_mask(const Tensor& map, double threshold);

}  // namespace lumen::xai
