#include "xai/visualize.h"

#include <algorithm>
#include <cmath>

#include "kernels/core/error.h"
#include "xai/canvas.h"
#include "xai/image.h"

namespace lumen::xai {

using detail::Canvas;
using detail::Rgb;

namespace {

// An attribution as [C, H, W] float32 on the CPU; accepts [H, W], [C, H, W] and [1, C, H, W].
Tensor attribution_chw(const Tensor& attr, const char* op) {
  LUMEN_CHECK(attr.defined() && (attr.dim() == 2 || attr.dim() == 3 || (attr.dim() == 4 && attr.size(0) == 1)), op,
              "expected an attribution [H, W], [C, H, W] or [1, C, H, W], got ",
              attr.defined() ? attr.str() : "undefined");
  LUMEN_CHECK(is_floating(attr.dtype()), op, "expected a floating attribution, got ", attr.str());
  Tensor chw = attr.dim() == 2 ? attr.unsqueeze(0) : attr.dim() == 4 ? attr.squeeze(0) : attr;
  return detail::pixels(chw);
}

// The p-th percentile (0..100) of sorted values, interpolated linearly between neighbours (numpy's
// default method).
double percentile_sorted(const std::vector<double>& v, double p) {
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// The image's gray level (channel mean) and the heat map's checks shared by overlay and masked_image.
Tensor image_for(const Tensor& image, const Tensor& attr, const char* op) {
  Tensor img = detail::pixels(detail::as_chw(image, op));
  const std::int64_t ah = attr.size(-2), aw = attr.size(-1);
  LUMEN_CHECK(img.size(1) == ah && img.size(2) == aw, op, "image ", image.shape(), " and attribution ", attr.shape(),
              " differ in height or width");
  return img;
}

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
  static const std::vector<Stop> greens = even({hex(0xf7fcf5), hex(0xe5f5e0), hex(0xc7e9c0), hex(0xa1d99b), hex(0x74c476),
                                                hex(0x41ab5d), hex(0x238b45), hex(0x006d2c), hex(0x00441b)});
  static const std::vector<Stop> reds = even({hex(0xfff5f0), hex(0xfee0d2), hex(0xfcbba1), hex(0xfc9272), hex(0xfb6a4a),
                                              hex(0xef3b2c), hex(0xcb181d), hex(0xa50f15), hex(0x67000d)});
  static const std::vector<Stop> hot = {{0.0, {0, 0, 0}}, {0.365, {1, 0, 0}}, {0.746, {1, 1, 0}}, {1.0, {1, 1, 1}}};
  static const std::vector<Stop> gray = even({{0, 0, 0}, {1, 1, 1}});
  switch (cmap) {
    case Colormap::bwr: return bwr;
    case Colormap::viridis: return viridis;
    case Colormap::greens: return greens;
    case Colormap::reds: return reds;
    case Colormap::hot: return hot;
    case Colormap::gray:
    case Colormap::blues: break;  // blues comes from image.h
  }
  return gray;
}

}  // namespace

Tensor normalize_attribution(const Tensor& attr, Sign sign, double outlier_percentile) {
  LUMEN_CHECK(outlier_percentile >= 0.0 && outlier_percentile < 100.0, "normalize_attribution",
              "expected outlier_percentile in [0, 100), got ", outlier_percentile);
  Tensor a = attribution_chw(attr, "normalize_attribution");
  const std::int64_t c = a.size(0), h = a.size(1), w = a.size(2);
  const float* src = a.data<float>();

  // Channel sum, then the selected sign (NaN counts as no attribution).
  std::vector<double> m(static_cast<std::size_t>(h * w), 0.0);
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t i = 0; i < h * w; ++i) m[static_cast<std::size_t>(i)] += src[k * h * w + i];
  std::vector<double> magnitudes;
  for (double& v : m) {
    if (std::isnan(v)) v = 0.0;
    switch (sign) {
      case Sign::all: break;
      case Sign::positive: v = std::max(v, 0.0); break;
      case Sign::negative: v = std::max(-v, 0.0); break;
      case Sign::absolute: v = std::abs(v); break;
    }
    if (v != 0.0 && std::isfinite(v)) magnitudes.push_back(std::abs(v));
  }

  Tensor out = zeros({h, w});
  if (magnitudes.empty()) return out;  // nothing of this sign: all zeros rather than 0 / 0
  std::sort(magnitudes.begin(), magnitudes.end());
  const double scale = percentile_sorted(magnitudes, 100.0 - outlier_percentile);
  const double lo = sign == Sign::all ? -1.0 : 0.0;
  float* dst = out.data<float>();
  for (std::size_t i = 0; i < m.size(); ++i) dst[i] = static_cast<float>(std::clamp(m[i] / scale, lo, 1.0));
  return out;
}

Colormap default_colormap(Sign sign) {
  switch (sign) {
    case Sign::all: return Colormap::bwr;
    case Sign::positive: return Colormap::greens;
    case Sign::negative: return Colormap::reds;
    case Sign::absolute: break;
  }
  return Colormap::viridis;
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

Tensor heatmap(const Tensor& attr, Sign sign, const VisOptions& opt) {
  Tensor m = normalize_attribution(attr, sign, opt.outlier_percentile);
  return colorize(m, opt.cmap.value_or(default_colormap(sign)), sign == Sign::all ? -1.0 : 0.0, 1.0);
}

Tensor overlay(const Tensor& image, const Tensor& attr, Sign sign, double alpha, const VisOptions& opt) {
  LUMEN_CHECK(alpha >= 0.0 && alpha <= 1.0, "overlay", "expected alpha in [0, 1], got ", alpha);
  Tensor heat = heatmap(attr, sign, opt);  // checks attr
  Tensor img = image_for(image, attr, "overlay");
  const std::int64_t c = img.size(0), n = img.size(1) * img.size(2);
  const float* src = img.data<float>();
  float* dst = heat.data<float>();
  const auto a = static_cast<float>(alpha);
  for (std::int64_t i = 0; i < n; ++i) {
    float gray = 0;
    for (std::int64_t k = 0; k < c; ++k) gray += std::clamp(src[k * n + i], 0.0f, 1.0f);
    gray /= static_cast<float>(c);
    for (std::int64_t k = 0; k < 3; ++k) dst[k * n + i] = (1.0f - a) * gray + a * dst[k * n + i];
  }
  return heat;
}

Tensor masked_image(const Tensor& image, const Tensor& attr, Sign sign, double outlier_percentile) {
  Tensor m = normalize_attribution(attr, sign, outlier_percentile);
  Tensor img = image_for(image, attr, "masked_image");
  const std::int64_t c = img.size(0), n = img.size(1) * img.size(2);
  Tensor out = empty({3, img.size(1), img.size(2)});
  const float *src = img.data<float>(), *mask = m.data<float>();
  float* dst = out.data<float>();
  for (std::int64_t k = 0; k < 3; ++k)
    for (std::int64_t i = 0; i < n; ++i)
      dst[k * n + i] = std::clamp(src[(c == 1 ? 0 : k) * n + i], 0.0f, 1.0f) * std::abs(mask[i]);
  return out;
}

Tensor colorbar(Colormap cmap, double vmin, double vmax, std::int64_t height, std::int64_t width, int ticks,
                std::int64_t font_scale) {
  LUMEN_CHECK(vmax > vmin, "colorbar", "expected vmax > vmin, got vmin = ", vmin, " and vmax = ", vmax);
  LUMEN_CHECK(height >= 2 && width >= 1 && font_scale >= 1, "colorbar",
              "expected height >= 2, width >= 1 and font_scale >= 1, got ", height, ", ", width, " and ", font_scale);
  const std::vector<double> values = detail::nice_ticks(vmin, vmax, std::max(ticks, 1));
  const double step = values.size() >= 2 ? values[1] - values[0] : vmax - vmin;
  std::vector<std::string> labels;
  std::int64_t label_w = 0;
  for (double v : values) {
    labels.push_back(detail::format_tick(v, step));
    label_w = std::max(label_w, Canvas::text_width(labels.back(), font_scale));
  }
  const std::int64_t tick_len = 3, gap = 2 * font_scale;
  Canvas img(height, width + tick_len + gap + label_w + font_scale, 1.0f);
  for (std::int64_t y = 0; y < height; ++y)  // top row is vmax
    img.rect(y, 0, 1, width, colormap(cmap, 1.0 - static_cast<double>(y) / static_cast<double>(height - 1)));
  const Rgb dark{0.1f, 0.1f, 0.1f};
  const std::int64_t glyph_h = 7 * font_scale;  // digits have no descenders
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto y = static_cast<std::int64_t>(std::llround((vmax - values[i]) / (vmax - vmin) * static_cast<double>(height - 1)));
    img.rect(y, width, 1, tick_len, dark);
    // Centred on its tick, but kept inside the image at the ends.
    const std::int64_t ty = std::clamp<std::int64_t>(y - glyph_h / 2, 0, std::max<std::int64_t>(height - glyph_h, 0));
    img.text(labels[i], ty, width + tick_len + gap, font_scale, dark);
  }
  return img.to_tensor();
}

Tensor labelled_grid(const std::vector<std::vector<Tensor>>& rows, const std::vector<std::string>& column_titles,
                     const std::vector<std::string>& row_labels, const GridOptions& opt) {
  const char* op = "labelled_grid";
  std::size_t ncols = 0;
  for (const auto& r : rows) ncols = std::max(ncols, r.size());
  LUMEN_CHECK(!rows.empty() && ncols > 0, op, "expected at least one image");
  LUMEN_CHECK(column_titles.empty() || column_titles.size() == ncols, op, "expected ", ncols, " column titles, got ",
              column_titles.size());
  LUMEN_CHECK(row_labels.empty() || row_labels.size() == rows.size(), op, "expected ", rows.size(),
              " row labels, got ", row_labels.size());
  LUMEN_CHECK(opt.upscale >= 1 && opt.cell >= 0 && opt.padding >= 0 && opt.font_scale >= 1, op,
              "expected upscale >= 1, cell >= 0, padding >= 0 and font_scale >= 1");

  // The images, enlarged, and the column widths and row heights they need.
  const std::size_t nrows = rows.size();
  std::vector<std::vector<Tensor>> cells(nrows, std::vector<Tensor>(ncols));
  std::vector<std::int64_t> col_w(ncols, 0), row_h(nrows, 0);
  for (std::size_t r = 0; r < nrows; ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      if (!rows[r][c].defined()) continue;
      Tensor img = detail::as_chw(rows[r][c], op);
      const std::int64_t longer = std::max(img.size(1), img.size(2));
      const std::int64_t factor = opt.cell > 0 ? std::max<std::int64_t>(1, opt.cell / longer) : opt.upscale;
      cells[r][c] = detail::pixels(factor > 1 ? upscale(img, factor) : img);
      col_w[c] = std::max(col_w[c], cells[r][c].size(2));
      row_h[r] = std::max(row_h[r], cells[r][c].size(1));
    }
  const std::int64_t s = opt.font_scale, pad = opt.padding;
  for (auto& w : col_w) w = std::max<std::int64_t>(w, 8 * s);  // an empty column still has room for a title
  for (auto& h : row_h) h = std::max<std::int64_t>(h, Canvas::text_height("0", s));

  // One font scale for all titles: the largest at which each fits its column in ≤ 2 lines, no word cut.
  auto fits = [&](std::int64_t scale) {
    for (std::size_t c = 0; c < column_titles.size(); ++c) {
      std::string word;
      for (char ch : column_titles[c] + " ") {
        if (ch != ' ' && ch != '\n') { word += ch; continue; }
        if (Canvas::text_width(word, scale) > col_w[c]) return false;
        word.clear();
      }
      if (detail::wrap_text(column_titles[c], col_w[c], scale).size() > 2) return false;
    }
    return true;
  };
  std::int64_t ts = s;
  while (ts > 1 && !fits(ts)) --ts;
  std::vector<std::string> titles;
  std::int64_t titles_h = 0;
  for (std::size_t c = 0; c < column_titles.size(); ++c) {
    std::string joined;
    for (const std::string& l : detail::wrap_text(column_titles[c], col_w[c], ts)) joined += (joined.empty() ? "" : "\n") + l;
    titles.push_back(joined);
    titles_h = std::max(titles_h, Canvas::text_height(joined, ts));
  }
  std::int64_t label_w = 0;
  for (const std::string& l : row_labels) label_w = std::max(label_w, Canvas::text_width(l, s));

  const std::int64_t x_left = pad + (row_labels.empty() ? 0 : label_w + pad);
  std::int64_t W = x_left;
  for (std::int64_t w : col_w) W += w + pad;
  std::string title;
  const std::int64_t title_s = s + 1;
  for (const std::string& l : detail::wrap_text(opt.title, W - 2 * pad, title_s)) title += (title.empty() ? "" : "\n") + l;
  const std::int64_t title_h = opt.title.empty() ? 0 : Canvas::text_height(title, title_s) + pad;
  const std::int64_t y_top = pad + title_h + (titles.empty() ? 0 : titles_h + pad);
  std::int64_t H = y_top;
  for (std::int64_t h : row_h) H += h + pad;

  Canvas fig(H, W, opt.background);
  if (!opt.title.empty()) fig.text(title, pad, (W - Canvas::text_width(title, title_s)) / 2, title_s, opt.text_color);
  std::int64_t x = x_left;
  for (std::size_t c = 0; c < ncols; ++c) {
    if (!titles.empty()) {
      // Bottom-aligned, each line centred, so one-line titles sit right above their images.
      const std::int64_t th = Canvas::text_height(titles[c], ts);
      std::int64_t ty = pad + title_h + titles_h - th;
      std::size_t start = 0;
      while (start <= titles[c].size()) {
        const std::size_t end = std::min(titles[c].find('\n', start), titles[c].size());
        const std::string line = titles[c].substr(start, end - start);
        fig.text(line, ty, x + (col_w[c] - Canvas::text_width(line, ts)) / 2, ts, opt.text_color);
        ty += Canvas::kLineHeight * ts;
        start = end + 1;
      }
    }
    std::int64_t y = y_top;
    for (std::size_t r = 0; r < nrows; ++r) {
      if (cells[r][c].defined())
        fig.blit(cells[r][c], y + (row_h[r] - cells[r][c].size(1)) / 2, x + (col_w[c] - cells[r][c].size(2)) / 2);
      y += row_h[r] + pad;
    }
    x += col_w[c] + pad;
  }
  std::int64_t y = y_top;
  for (std::size_t r = 0; r < row_labels.size(); ++r) {
    const std::string& l = row_labels[r];
    fig.text(l, y + (row_h[r] - Canvas::text_height(l, s)) / 2, x_left - pad - Canvas::text_width(l, s), s,
             opt.text_color);
    y += row_h[r] + pad;
  }
  return fig.to_tensor();
}

Tensor text_image(const std::string& text, std::int64_t font_scale, std::int64_t margin, std::array<float, 3> color,
                  std::array<float, 3> background) {
  LUMEN_CHECK(font_scale >= 1 && margin >= 0, "text_image", "expected font_scale >= 1 and margin >= 0, got ",
              font_scale, " and ", margin);
  Canvas img(Canvas::text_height(text, font_scale) + 2 * margin, Canvas::text_width(text, font_scale) + 2 * margin,
             background);
  img.text(text, margin, margin, font_scale, color);
  return img.to_tensor();
}

}  // namespace lumen::xai
