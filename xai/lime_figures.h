#pragma once
// LIME's explanations drawn as users of the `lime` package know them: the image with segment
// boundaries marked (skimage.segmentation.mark_boundaries) and the top features of the surrogate
// kept or tinted (lime_image's get_image_and_mask). Images are floating [C, H, W] with C = 1 or 3
// (or [H, W]), values in [0, 1]; segments are int64 [H, W] feature ids 0..F−1, as LimeOptions'
// feature_mask or SharpLime's regions(). Each function returns an RGB image [3, H, W] on the CPU:
//
//   xai::LimeResult r = lime.explain(image.unsqueeze(0), Target(label), {}, {.feature_mask = segments});
//   figures::save_png(xai::lime_top_features(image, segments, r.coefficients[0], 5), "lime.png");
#include <array>
#include <cstdint>

#include "autograd/tensor.h"

namespace lumen::xai {

// The image with the pixels on a segment boundary painted `color`: a pixel is on a boundary when one
// of its 4 neighbours (up, down, left, right) lies in another segment. That is skimage's
// find_boundaries(mode='thick') (which 'inner' equals when no segment is labelled 0 as background):
// boundaries are 2 pixels wide, one on each side.
Tensor mark_boundaries(const Tensor& image, const Tensor& segments, std::array<float, 3> color = {1, 1, 0});

// The surrogate's top features on the image (coefficients_row [F] or [1, F], one per segment id).
//   positive_only: the k features with the largest positive coefficients keep their colours;
//                  features with coefficients <= 0 are never shown.
//   otherwise:     the k features with the largest |coefficient| are tinted, half image and half
//                  green (coefficient > 0) or red (< 0); a coefficient of exactly 0 is skipped.
// The rest of the image is gray (its channel mean) or, with hide_rest, black; unlike lime, which
// leaves it in colour, so the kept colours and tints stand out. The outline of the shown features
// (boundaries between shown and not shown, and, without positive_only, between green and red) is
// then marked in yellow, as mark_boundaries(temp, mask) in lime's tutorials.
Tensor lime_top_features(const Tensor& image, const Tensor& segments, const Tensor& coefficients_row, std::int64_t k,
                         bool positive_only = true, bool hide_rest = false);

}  // namespace lumen::xai
