#include "figures/colormap.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "figures/canvas.h"

namespace lumen::figures {

using detail::Canvas;
using detail::Rgb;

namespace {

struct Stop {
  double at;
  Rgb rgb;
};

Rgb interpolate(const std::vector<Stop>& stops, double t) {
  for (std::size_t i = 0; i + 1 < stops.size(); ++i)
    if (t <= stops[i + 1].at) {
      const double f = (t - stops[i].at) / (stops[i + 1].at - stops[i].at);
      Rgb c{};
      for (std::size_t k = 0; k < 3; ++k)
        c[k] = static_cast<float>(stops[i].rgb[k] + f * (stops[i + 1].rgb[k] - stops[i].rgb[k]));
      return c;
    }
  return stops.back().rgb;
}

// n colors evenly spaced over [0, 1].
std::vector<Stop> even(std::initializer_list<Rgb> colors) {
  std::vector<Stop> stops;
  const double n = static_cast<double>(colors.size() - 1);
  for (const Rgb& c : colors) stops.push_back({static_cast<double>(stops.size()) / n, c});
  return stops;
}

Rgb hex(unsigned v) {
  return {static_cast<float>((v >> 16) & 255) / 255.0f, static_cast<float>((v >> 8) & 255) / 255.0f,
          static_cast<float>(v & 255) / 255.0f};
}

const std::vector<Stop>& stops_of(Colormap cmap) {
  // Control colors sampled from matplotlib's maps (ColorBrewer's 9-class ramps for greens and reds).
  static const std::vector<Stop> bwr = even({{0, 0, 1}, {1, 1, 1}, {1, 0, 0}});
  static const std::vector<Stop> viridis = even({{0.267004f, 0.004874f, 0.329415f}, {0.282623f, 0.140926f, 0.457517f},
                                                 {0.229739f, 0.322361f, 0.545706f}, {0.172719f, 0.448791f, 0.557885f},
                                                 {0.127568f, 0.566949f, 0.550556f}, {0.134692f, 0.658636f, 0.517649f},
                                                 {0.369214f, 0.788888f, 0.382914f}, {0.741388f, 0.873449f, 0.149561f},
                                                 {0.993248f, 0.906157f, 0.143936f}});
  // 18 entries of matplotlib's 256-color "inferno" table (_cm_listed.py, _inferno_data), rows 0, 15, ..., 255,
  // so t = k/17 is exactly row 15k; between them, linear interpolation is within 0.021 of the full table.
  static const std::vector<Stop> inferno = even(
      {{0.001462f, 0.000466f, 0.013866f}, {0.037668f, 0.025921f, 0.132232f}, {0.116656f, 0.047574f, 0.272321f},
       {0.217949f, 0.036615f, 0.383522f}, {0.316282f, 0.053490f, 0.425116f}, {0.410113f, 0.087896f, 0.433098f},
       {0.503493f, 0.121575f, 0.423356f}, {0.596940f, 0.154848f, 0.398125f}, {0.688653f, 0.192239f, 0.357603f},
       {0.775059f, 0.239667f, 0.303526f}, {0.851384f, 0.302260f, 0.239636f}, {0.912966f, 0.381636f, 0.169755f},
       {0.956852f, 0.475356f, 0.094695f}, {0.981895f, 0.579392f, 0.026250f}, {0.987464f, 0.690366f, 0.079990f},
       {0.973088f, 0.805409f, 0.216877f}, {0.947594f, 0.917399f, 0.410665f}, {0.988362f, 0.998364f, 0.644924f}});
  static const std::vector<Stop> greens = even({hex(0xf7fcf5), hex(0xe5f5e0), hex(0xc7e9c0), hex(0xa1d99b), hex(0x74c476),
                                                hex(0x41ab5d), hex(0x238b45), hex(0x006d2c), hex(0x00441b)});
  static const std::vector<Stop> reds = even({hex(0xfff5f0), hex(0xfee0d2), hex(0xfcbba1), hex(0xfc9272), hex(0xfb6a4a),
                                              hex(0xef3b2c), hex(0xcb181d), hex(0xa50f15), hex(0x67000d)});
  static const std::vector<Stop> hot = {{0.0, {0, 0, 0}}, {0.365, {1, 0, 0}}, {0.746, {1, 1, 0}}, {1.0, {1, 1, 1}}};
  static const std::vector<Stop> gray = even({{0, 0, 0}, {1, 1, 1}});
  switch (cmap) {
    case Colormap::bwr: return bwr;
    case Colormap::viridis: return viridis;
    case Colormap::inferno: return inferno;
    case Colormap::greens: return greens;
    case Colormap::reds: return reds;
    case Colormap::hot: return hot;
    case Colormap::gray:
    case Colormap::blues: break;  // blues() has its own ramp
  }
  return gray;
}

}  // namespace

std::array<float, 3> blues(double v) {
  // Piecewise-linear through three colors of matplotlib's "Blues".
  static const float stops[3][3] = {{0.97f, 0.98f, 1.00f}, {0.42f, 0.68f, 0.84f}, {0.03f, 0.19f, 0.42f}};
  const double t = std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 1.0) * 2.0;
  const int i = t >= 1.0 ? 1 : 0;
  const float f = static_cast<float>(t - i);
  std::array<float, 3> rgb{};
  for (int k = 0; k < 3; ++k) rgb[k] = stops[i][k] + f * (stops[i + 1][k] - stops[i][k]);
  return rgb;
}

std::array<float, 3> colormap(Colormap cmap, double t) {
  t = std::isnan(t) ? 0.0 : std::clamp(t, 0.0, 1.0);
  if (cmap == Colormap::blues) return blues(t);
  return interpolate(stops_of(cmap), t);
}

Tensor colorize(const Tensor& map, Colormap cmap, double vmin, double vmax) {
  LUMEN_CHECK(map.defined() && (map.dim() == 2 || (map.dim() == 3 && map.size(0) == 1)), "colorize",
              "expected a map [H, W], got ", map.defined() ? map.str() : "undefined");
  LUMEN_CHECK(vmax > vmin, "colorize", "expected vmax > vmin, got vmin = ", vmin, " and vmax = ", vmax);
  Tensor m = detail::pixels(map);
  const std::int64_t h = m.size(-2), w = m.size(-1);
  Tensor out = empty({3, h, w});
  const float* src = m.data<float>();
  float* dst = out.data<float>();
  for (std::int64_t i = 0; i < h * w; ++i) {
    const Rgb rgb = colormap(cmap, (static_cast<double>(src[i]) - vmin) / (vmax - vmin));
    for (std::int64_t k = 0; k < 3; ++k) dst[k * h * w + i] = rgb[static_cast<std::size_t>(k)];
  }
  return out;
}

Tensor colorbar(Colormap cmap, double vmin, double vmax, std::int64_t height, std::int64_t width, int ticks,
                std::int64_t font_scale) {
  LUMEN_CHECK(vmax > vmin, "colorbar", "expected vmax > vmin, got vmin = ", vmin, " and vmax = ", vmax);
  LUMEN_CHECK(height >= 2 && width >= 1 && font_scale >= 1, "colorbar",
              "expected height >= 2, width >= 1 and font_scale >= 1, got ", height, ", ", width, " and ", font_scale);
  const std::vector<double> values = detail::nice_ticks(vmin, vmax, std::max(ticks, 1));
  const double step = values.size() >= 2 ? values[1] - values[0] : vmax - vmin;
  const double size = detail::scaled_font(font_scale);
  std::vector<std::string> labels;
  std::int64_t label_w = 0;
  for (double v : values) {
    labels.push_back(detail::format_tick(v, step));
    label_w = std::max(label_w, Canvas::text_width(labels.back(), size));
  }
  const std::int64_t tick_len = 3, gap = 2 * font_scale;
  Canvas img(height, width + tick_len + gap + label_w + font_scale, 1.0f);
  for (std::int64_t y = 0; y < height; ++y)  // top row is vmax
    img.rect(y, 0, 1, width, colormap(cmap, 1.0 - static_cast<double>(y) / static_cast<double>(height - 1)));
  const Rgb dark{0.1f, 0.1f, 0.1f};
  const detail::FontMetrics fm = detail::font_metrics(size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto y = static_cast<std::int64_t>(std::llround((vmax - values[i]) / (vmax - vmin) * static_cast<double>(height - 1)));
    img.rect(y, width, 1, tick_len, dark);
    // The digits (no descenders) centred on their tick, but kept inside the image at the ends.
    const std::int64_t digits_top = std::clamp<std::int64_t>(y - fm.cap_height / 2, 0, std::max<std::int64_t>(height - fm.cap_height, 0));
    img.text(labels[i], digits_top - (fm.ascent - fm.cap_height), width + tick_len + gap, size, dark);
  }
  return img.to_tensor();
}

}  // namespace lumen::figures
