#pragma once
// Internal to the figure code (figures/*.cpp, xai/visualize.cpp, xai/lime_figures.cpp; not public): the
// RGB drawing surface every figure is painted on, and the pixel access they share. Coordinates are (y, x) in pixels, y downwards; pixel (y, x) covers [y, y+1) × [x, x+1).
// Text is UTF-8 in DejaVu Sans, antialiased, `size` pixels to the em (figures/font.h; a bitmap
// fallback where the font is missing).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "figures/font.h"

namespace lumen::figures::detail {

using Rgb = std::array<float, 3>;

// A float32 CPU copy, contiguous, with no history: what the pixel loops read.
Tensor pixels(const Tensor& t);

// [H, W] → [1, H, W] (and [1, C, H, W] → [C, H, W]); checks for 1 or 3 floating channels.
Tensor as_chw(const Tensor& image, const char* op);

struct Canvas {
  std::int64_t h, w;
  std::vector<float> px;  // planar [3, h, w], as the tensors
  // Drawing outside [cy0, cy1) × [cx0, cx1) is dropped: plots clip their lines to the axes this way.
  std::int64_t cy0 = 0, cx0 = 0, cy1, cx1;

  Canvas(std::int64_t h_, std::int64_t w_, float fill) : Canvas(h_, w_, Rgb{fill, fill, fill}) {}
  Canvas(std::int64_t h_, std::int64_t w_, Rgb fill) : h(h_), w(w_), px(static_cast<std::size_t>(3 * h_ * w_)), cy1(h_), cx1(w_) {
    for (std::size_t c = 0; c < 3; ++c)
      std::fill(px.begin() + static_cast<std::ptrdiff_t>(c * h * w), px.begin() + static_cast<std::ptrdiff_t>((c + 1) * h * w), fill[c]);
  }

  void clip(std::int64_t y0, std::int64_t x0, std::int64_t y1, std::int64_t x1) {
    cy0 = std::max<std::int64_t>(y0, 0), cx0 = std::max<std::int64_t>(x0, 0);
    cy1 = std::min(y1, h), cx1 = std::min(x1, w);
  }
  void unclip() { cy0 = cx0 = 0, cy1 = h, cx1 = w; }

  float& at(std::int64_t c, std::int64_t y, std::int64_t x) { return px[static_cast<std::size_t>((c * h + y) * w + x)]; }
  Rgb get(std::int64_t y, std::int64_t x) const {
    Rgb v{};
    for (std::int64_t c = 0; c < 3; ++c) v[static_cast<std::size_t>(c)] = px[static_cast<std::size_t>((c * h + y) * w + x)];
    return v;
  }

  void rect(std::int64_t y0, std::int64_t x0, std::int64_t hh, std::int64_t ww, Rgb rgb) {
    const std::int64_t ya = std::max(y0, cy0), yb = std::min(y0 + hh, cy1);
    const std::int64_t xa = std::max(x0, cx0), xb = std::min(x0 + ww, cx1);
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t y = ya; y < yb; ++y)
        for (std::int64_t x = xa; x < xb; ++x) at(c, y, x) = rgb[static_cast<std::size_t>(c)];
  }

  // The outline of a rectangle, `t` pixels thick, drawn inside it.
  void frame(std::int64_t y0, std::int64_t x0, std::int64_t hh, std::int64_t ww, Rgb rgb, std::int64_t t = 1) {
    rect(y0, x0, t, ww, rgb);
    rect(y0 + hh - t, x0, t, ww, rgb);
    rect(y0, x0, hh, t, rgb);
    rect(y0, x0 + ww - t, hh, t, rgb);
  }

  // A segment between two points (continuous coordinates), `thickness` pixels wide: squares stamped
  // every half pixel along it. Crude, but exact for the horizontal and vertical lines tests look at.
  void line(double ya, double xa, double yb, double xb, Rgb rgb, double thickness = 1.0) {
    const double len = std::max(std::abs(yb - ya), std::abs(xb - xa));
    const std::int64_t steps = static_cast<std::int64_t>(std::ceil(len * 2.0)) + 1;
    const std::int64_t t = std::max<std::int64_t>(1, std::llround(thickness));
    for (std::int64_t i = 0; i <= steps; ++i) {
      const double f = steps == 0 ? 0.0 : static_cast<double>(i) / static_cast<double>(steps);
      const double y = ya + f * (yb - ya), x = xa + f * (xb - xa);
      rect(static_cast<std::int64_t>(std::floor(y - 0.5 * static_cast<double>(t) + 0.5)),
           static_cast<std::int64_t>(std::floor(x - 0.5 * static_cast<double>(t) + 0.5)), t, t, rgb);
    }
  }

  // Copies a float32 contiguous image [C, H, W] (C = 1 or 3) with its top-left at (y0, x0), values
  // clamped to [0, 1] (NaN → 0) as save_png would.
  void blit(const Tensor& chw, std::int64_t y0, std::int64_t x0) {
    const std::int64_t c = chw.size(0), ih = chw.size(1), iw = chw.size(2);
    const float* src = chw.data<float>();
    for (std::int64_t k = 0; k < 3; ++k) {
      const float* plane = src + (c == 1 ? 0 : k) * ih * iw;  // gray fills all three channels
      for (std::int64_t y = std::max(y0, cy0); y < std::min(y0 + ih, cy1); ++y)
        for (std::int64_t x = std::max(x0, cx0); x < std::min(x0 + iw, cx1); ++x) {
          const float v = plane[(y - y0) * iw + (x - x0)];
          at(k, y, x) = v > 0 ? (v < 1 ? v : 1) : 0;
        }
    }
  }

  // rgb over pixel (y, x) with opacity alpha ∈ [0, 1] (antialiased edges), inside the clip only.
  void blend(std::int64_t y, std::int64_t x, Rgb rgb, float alpha) {
    if (y < cy0 || y >= cy1 || x < cx0 || x >= cx1) return;
    for (std::int64_t c = 0; c < 3; ++c) {
      float& v = at(c, y, x);
      v = alpha >= 1.0f ? rgb[static_cast<std::size_t>(c)] : v + alpha * (rgb[static_cast<std::size_t>(c)] - v);
    }
  }

  // Text, `size` pixels to the em; '\n' breaks lines. One line's box is text_height(line) =
  // ascent + descent tall (font_metrics), lines are metrics.advance apart, and a box is as wide as
  // its widest line's advance. (y0, x0) is the box's top-left corner.
  static std::int64_t text_width(const std::string& s, double size);
  static std::int64_t text_height(const std::string& s, double size);
  void text(const std::string& s, std::int64_t y0, std::int64_t x0, double size, Rgb rgb);
  // Rotated 90° counter-clockwise (reads bottom to top, as a y-axis label); (y0, x0) is the top-left
  // of its box, which is text_height wide and text_width tall.
  void text_up(const std::string& s, std::int64_t y0, std::int64_t x0, double size, Rgb rgb);

  Tensor to_tensor() const {
    Tensor t = empty({3, h, w});
    std::memcpy(t.data<float>(), px.data(), px.size() * sizeof(float));
    return t;
  }
};

// Greedy word wrap of s (also breaking at '\n') into lines at most max_width pixels wide at `size`;
// a word wider than that on its own is broken between characters (never inside a UTF-8 sequence).
std::vector<std::string> wrap_text(const std::string& s, std::int64_t max_width, double size);

// The text size of the public `font_scale` options (grids, colorbars, text_image): 11 pixels a step.
inline double scaled_font(std::int64_t font_scale) { return 11.0 * static_cast<double>(font_scale); }

// About `target` round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi]; only those inside.
inline std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  std::vector<double> ticks;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) {
    if (std::isfinite(lo)) ticks.push_back(lo);
    return ticks;
  }
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0) * mag;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1.0)
    ticks.push_back(std::abs(k * step) < step * 1e-9 ? 0.0 : k * step);  // no "-0"
  return ticks;
}

// v with as many decimals as a tick spacing of `step` needs ("0.25", "10", "1.0e-05" for tiny steps),
// negative numbers with a minus sign (U+2212, as matplotlib writes them), not a hyphen.
inline std::string format_tick(double v, double step) {
  char buf[32];
  const int decimals = step > 0 ? std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 6) : 2;
  if (step > 0 && step < 1e-4) std::snprintf(buf, sizeof buf, "%.1e", v);
  else std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(v) < 0.5 * step ? 0.0 : v);
  const std::string s = buf;
  return s[0] == '-' ? "\u2212" + s.substr(1) : s;
}

}  // namespace lumen::figures::detail
