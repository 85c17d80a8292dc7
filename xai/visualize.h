#pragma once
// Looking at attributions: normalising a map for display, colormaps, heat maps and overlays on the
// input (Captum's visualization.visualize_image_attr methods), a colorbar, and a labelled grid of
// images for "original | saliency | IG | ..." figures. Images are float tensors in [0, 1]: [H, W],
// [C, H, W] with C = 1 or 3 (a leading batch dimension of 1 is accepted too); every function here
// returns an RGB image [3, H, W] on the CPU, ready for save_png.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

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

enum class Colormap {
  bwr,      // diverging blue (0) - white (0.5) - red (1), matplotlib's "bwr": for signed maps
  viridis,  // sequential dark purple - teal - yellow, perceptually uniform
  greens,   // sequential near-white - dark green, matplotlib's "Greens"
  reds,     // sequential near-white - dark red, matplotlib's "Reds"
  blues,    // sequential near-white - dark blue (image.h's blues())
  hot,      // sequential black - red - yellow - white, matplotlib's "hot"
  gray,     // black - white
};

// The colormap suited to a sign: bwr for all, greens for positive, reds for negative, viridis for
// absolute.
Colormap default_colormap(Sign sign);

// The color of t ∈ [0, 1] (clamped; NaN → 0), piecewise-linear between the map's control colors.
std::array<float, 3> colormap(Colormap cmap, double t);

// map [H, W] → RGB [3, H, W]: value v is colored by colormap(cmap, (v - vmin) / (vmax - vmin)).
// Requires vmax > vmin.
Tensor colorize(const Tensor& map, Colormap cmap, double vmin = 0.0, double vmax = 1.0);

struct VisOptions {
  double outlier_percentile = 2.0;
  std::optional<Colormap> cmap{};  // default_colormap(sign) when unset
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

// A vertical colorbar: `width` pixels of the colormap, vmax at the top and vmin at the bottom, with
// about `ticks` round tick values written to its right. The image is height pixels tall.
Tensor colorbar(Colormap cmap, double vmin, double vmax, std::int64_t height, std::int64_t width = 16,
                int ticks = 5, std::int64_t font_scale = 1);

struct GridOptions {
  // Each image is enlarged (nearest neighbour) by `upscale`, or, when cell > 0, by the largest
  // integer factor that keeps its longer side within cell pixels.
  std::int64_t upscale = 1;
  std::int64_t cell = 0;
  std::int64_t padding = 4;     // pixels between and around the cells
  std::int64_t font_scale = 2;  // for titles and labels; lowered (then wrapped) until titles fit
  std::string title{};          // over the whole figure, if not empty
  std::array<float, 3> background{1.0f, 1.0f, 1.0f};
  std::array<float, 3> text_color{0.1f, 0.1f, 0.1f};
};

// rows[r][c] (an image as above, or an undefined Tensor for an empty cell; rows may be shorter than
// others) laid out as one RGB figure: column_titles (empty, or one per column) centred above the
// columns and row_labels (empty, or one per row) right-aligned left of the rows. A column is as wide
// as its widest image and a row as tall as its tallest; images are centred in their cells. All
// titles share one font scale: the largest ≤ font_scale at which each fits its column in at most
// two lines; failing that, scale 1 wrapped onto as many lines as needed.
Tensor labelled_grid(const std::vector<std::vector<Tensor>>& rows, const std::vector<std::string>& column_titles = {},
                     const std::vector<std::string>& row_labels = {}, const GridOptions& opt = {});

// `text` on its own: an RGB image just big enough for it plus `margin` pixels all round.
Tensor text_image(const std::string& text, std::int64_t font_scale = 2, std::int64_t margin = 2,
                  std::array<float, 3> color = {0.1f, 0.1f, 0.1f}, std::array<float, 3> background = {1.0f, 1.0f, 1.0f});

}  // namespace lumen::xai
