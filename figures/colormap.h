#pragma once
// Colormaps (matplotlib's, sampled at their control colors), a map colored through one, and the
// colorbar that explains it. Colors are RGB triples in [0, 1]; images are float [3, H, W].
#include <array>
#include <cstdint>

#include "autograd/tensor.h"

namespace lumen::figures {

enum class Colormap {
  bwr,      // diverging blue (0) - white (0.5) - red (1), matplotlib's "bwr": for signed maps
  viridis,  // sequential dark purple - teal - yellow, perceptually uniform
  inferno,  // sequential black - purple - orange - pale yellow, perceptually uniform, matplotlib's "inferno"
  greens,   // sequential near-white - dark green, matplotlib's "Greens"
  reds,     // sequential near-white - dark red, matplotlib's "Reds"
  blues,    // sequential near-white - dark blue (blues() below)
  hot,      // sequential black - red - yellow - white, matplotlib's "hot"
  gray,     // black - white
};

// The color of t ∈ [0, 1] (clamped; NaN → 0), piecewise-linear between the map's control colors.
std::array<float, 3> colormap(Colormap cmap, double t);

// A sequential colormap from near-white (0) through light blue to dark blue (1), like matplotlib's
// "Blues"; v is clamped to [0, 1]. The confusion matrices' colors.
std::array<float, 3> blues(double v);

// map [H, W] → RGB [3, H, W]: value v is colored by colormap(cmap, (v - vmin) / (vmax - vmin)).
// Requires vmax > vmin.
Tensor colorize(const Tensor& map, Colormap cmap, double vmin = 0.0, double vmax = 1.0);

// A vertical colorbar: `width` pixels of the colormap, vmax at the top and vmin at the bottom, with
// about `ticks` round tick values written to its right, 11·font_scale pixels to the em. The image is
// height pixels tall.
Tensor colorbar(Colormap cmap, double vmin, double vmax, std::int64_t height, std::int64_t width = 16,
                int ticks = 5, std::int64_t font_scale = 1);

}  // namespace lumen::figures
