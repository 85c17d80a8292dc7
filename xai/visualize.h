#pragma once
// Looking at attributions: normalising a map for display, and heat maps, overlays and masks of it on
// the input (Captum's visualization.visualize_image_attr methods, with Captum's sign convention). The
// colormaps, colorbars, labelled grids and PNG files they are shown with are figures/'s. Images are
// float tensors in [0, 1]: [H, W], [C, H, W] with C = 1 or 3 (a leading batch dimension of 1 is
// accepted too); every function here returns an RGB image [3, H, W] on the CPU, ready for
// figures::save_png.
#include <optional>

#include "autograd/tensor.h"
#include "figures/colormap.h"

namespace lumen::xai {

// Which part of a signed attribution is shown (Captum's `sign`).
enum class Sign {
  all,       // signed: result in [-1, 1]
  positive,  // only the positive values, result in [0, 1]
  negative,  // only the magnitudes of the negative values, result in [0, 1]
  absolute,  // |value|, result in [0, 1]
};

// An attribution as a display map [H, W]: attr ([H, W], [C, H, W] or [1, C, H, W]; any C) is summed
// over channels, the selected sign kept, then divided by the (100 - outlier_percentile)-th percentile
// of the nonzero magnitudes of the selected sign (numpy's linear interpolation) and clipped, so a
// few outlying pixels saturate instead of washing out the rest. Captum thresholds on the cumulative
// sum instead; a plain percentile is easier to reason about. Zeros are left out of the percentile
// so a sparse map is not divided by 0; a map with nothing of the selected sign comes back all zeros.
// outlier_percentile must be in [0, 100).
Tensor normalize_attribution(const Tensor& attr, Sign sign = Sign::absolute, double outlier_percentile = 2.0);

// How saliency_map folds the channels of |attribution| into one value per pixel.
enum class ChannelReduction { max, sum, mean };

// Simonyan et al.'s class saliency map for a batch: M = the reduction over channels of |attr| (max by
// default, as in the paper; sum or mean as other tools do), then, when normalise, min–max normalised
// per image to [0, 1] (a constant map becomes all 0). attr [N, C, H, W] (C >= 1) → [N, 1, H, W], in
// attr's dtype and device. Unlike normalize_attribution, for a batch and without outlier clipping:
//   Tensor m = xai::saliency_map(xai::Saliency(f).attribute(images, labels));  // [N, 1, H, W]
Tensor saliency_map(const Tensor& attributions, ChannelReduction reduce = ChannelReduction::max,
                    bool normalise = true);

// The colormap suited to a sign: bwr for all, greens for positive, reds for negative, viridis for
// absolute.
figures::Colormap default_colormap(Sign sign);

struct VisOptions {
  double outlier_percentile = 2.0;
  std::optional<figures::Colormap> cmap{};  // default_colormap(sign) when unset
};

// normalize_attribution(attr, sign) colored: [-1, 1] for Sign::all, else [0, 1], onto the colormap.
Tensor heatmap(const Tensor& attr, Sign sign = Sign::absolute, const VisOptions& opt = {});

// Captum's "blended_heat_map": image ([H, W] or [C, H, W]) in grayscale, blended with the heat map of
// attr (same H and W) as (1 - alpha) · gray + alpha · heat. alpha ∈ [0, 1].
Tensor overlay(const Tensor& image, const Tensor& attr, Sign sign = Sign::absolute, double alpha = 0.5,
               const VisOptions& opt = {});

// Captum's "masked_image": image multiplied pixel-wise by the normalised attribution (its magnitude
// for Sign::all), so only the attributed regions stay visible.
Tensor masked_image(const Tensor& image, const Tensor& attr, Sign sign = Sign::absolute,
                    double outlier_percentile = 2.0);

}  // namespace lumen::xai
