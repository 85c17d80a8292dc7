#include "figures/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "figures/canvas.h"
#include "figures/colormap.h"
#include "kernels/core/error.h"

namespace lumen::figures {

using detail::Canvas;
using detail::Rgb;

namespace {

const Rgb kDark{0.15f, 0.15f, 0.15f}, kGrid{0.9f, 0.9f, 0.9f}, kWhite{1, 1, 1};

// A range with room: [lo, hi] widened by `margin` of its span each side; a single value gets ±0.5
// (or ±10% of itself) so it still has a range.
std::pair<double, double> padded(double lo, double hi, double margin) {
  if (!(hi > lo)) {
    const double d = lo == 0.0 ? 0.5 : 0.1 * std::abs(lo);
    return {lo - d, hi + d};
  }
  return {lo - margin * (hi - lo), hi + margin * (hi - lo)};
}

std::int64_t font_scale(const PlotOptions& opt) {
  return opt.font_scale > 0 ? opt.font_scale : (std::min(opt.width, opt.height) > 600 ? 2 : 1);
}

// An x tick: its data position and its text.
struct Tick {
  double at;
  std::string label;
};

std::vector<Tick> numeric_ticks(double lo, double hi, int target) {
  const std::vector<double> v = detail::nice_ticks(lo, hi, target);
  const double step = v.size() >= 2 ? v[1] - v[0] : hi - lo;
  std::vector<Tick> ticks;
  for (double t : v) ticks.push_back({t, detail::format_tick(t, step)});
  return ticks;
}

// The canvas with its axes drawn: ticks, labels, title; data is then drawn inside the box
// [ay0, ay1) × [ax0, ax1), whose frame lies just outside it (rows ay0 - 1 and ay1, columns ax0 - 1
// and ax1). Data x = xmin maps to column ax0, xmax to ax1 - 1; y = ymax to row ay0, ymin to ay1 - 1.
struct Axes {
  Canvas canvas;
  std::int64_t s, ax0 = 0, ay0 = 0, ax1 = 0, ay1 = 0;
  double xmin, xmax, ymin, ymax;

  double px(double x) const { return static_cast<double>(ax0) + (x - xmin) / (xmax - xmin) * static_cast<double>(ax1 - ax0 - 1); }
  double py(double y) const { return static_cast<double>(ay1 - 1) - (y - ymin) / (ymax - ymin) * static_cast<double>(ay1 - ay0 - 1); }

  // Lays out and draws everything but the data. x_ticks: the x tick marks (bar charts pass their labels).
  Axes(const PlotOptions& opt, std::pair<double, double> xr, std::pair<double, double> yr, std::vector<Tick> x_ticks,
       const char* op)
      : canvas(opt.height, opt.width, kWhite),
        s(font_scale(opt)),
        xmin(xr.first), xmax(xr.second), ymin(yr.first), ymax(yr.second) {
    LUMEN_CHECK(std::isfinite(xmin) && std::isfinite(xmax) && xmax > xmin && std::isfinite(ymin) &&
                    std::isfinite(ymax) && ymax > ymin,
                op, "expected finite, increasing axis ranges, got x [", xmin, ", ", xmax, "] and y [", ymin, ", ", ymax, "]");
    const std::int64_t pad = 4 * s, tick = 4 * s, ts = s + 1, glyph = 7 * s;
    const std::vector<Tick> y_ticks =
        numeric_ticks(ymin, ymax, static_cast<int>(std::clamp<std::int64_t>(opt.height / (45 * s), 2, 8)));
    std::int64_t ytick_w = 0;
    for (const Tick& t : y_ticks) ytick_w = std::max(ytick_w, Canvas::text_width(t.label, s));
    // Tick labels that would run into each other are written vertically (long bar labels).
    std::int64_t xtick_w = 0;
    for (const Tick& t : x_ticks) xtick_w = std::max(xtick_w, Canvas::text_width(t.label, s));

    ay0 = pad + (opt.title.empty() ? 0 : Canvas::text_height(opt.title, ts) + pad);
    ax0 = pad + (opt.ylabel.empty() ? 0 : Canvas::kGlyphHeight * s + pad) + ytick_w + pad / 2 + tick + 1;
    ax1 = opt.width - std::max(pad, xtick_w / 2 + s) - 1;
    const double spacing = x_ticks.size() >= 2 ? static_cast<double>(ax1 - ax0) / static_cast<double>(x_ticks.size()) : 1e9;
    const bool vertical = static_cast<double>(xtick_w) > spacing - 3.0 * static_cast<double>(s);
    const std::int64_t xtick_h = vertical ? xtick_w : Canvas::kGlyphHeight * s;
    ay1 = opt.height - pad - (opt.xlabel.empty() ? 0 : Canvas::kGlyphHeight * s + pad) - xtick_h - pad / 2 - tick - 1;
    LUMEN_CHECK(ax1 - ax0 >= 8 && ay1 - ay0 >= 8, op, "a ", opt.width, "x", opt.height,
                " image leaves no room for the axes; make it larger");

    // Grid, frame, ticks and their labels.
    for (const Tick& t : y_ticks) {
      const std::int64_t y = std::llround(py(t.at));
      if (opt.grid) canvas.rect(y, ax0, 1, ax1 - ax0, kGrid);
      canvas.rect(y, ax0 - 1 - tick, 1, tick, kDark);
      canvas.text(t.label, y - glyph / 2, ax0 - 1 - tick - pad / 2 - Canvas::text_width(t.label, s), s, kDark);
    }
    for (const Tick& t : x_ticks) {
      if (t.at < xmin || t.at > xmax) continue;
      const std::int64_t x = std::llround(px(t.at));
      if (opt.grid) canvas.rect(ay0, x, ay1 - ay0, 1, kGrid);
      canvas.rect(ay1 + 1, x, tick, 1, kDark);
      const std::int64_t w = Canvas::text_width(t.label, s);
      if (vertical) canvas.text_up(t.label, ay1 + 1 + tick + pad / 2, x - glyph / 2, s, kDark);
      else canvas.text(t.label, ay1 + 1 + tick + pad / 2, x - w / 2, s, kDark);
    }
    canvas.frame(ay0 - 1, ax0 - 1, ay1 - ay0 + 2, ax1 - ax0 + 2, kDark);
    if (!opt.title.empty())
      canvas.text(opt.title, pad, (ax0 + ax1 - Canvas::text_width(opt.title, ts)) / 2, ts, kDark);
    if (!opt.xlabel.empty())
      canvas.text(opt.xlabel, opt.height - pad - Canvas::kGlyphHeight * s,
                  (ax0 + ax1 - Canvas::text_width(opt.xlabel, s)) / 2, s, kDark);
    if (!opt.ylabel.empty())
      canvas.text_up(opt.ylabel, (ay0 + ay1 - Canvas::text_width(opt.ylabel, s)) / 2, pad, s, kDark);
  }

  void clip_to_box() { canvas.clip(ay0, ax0, ay1, ax1); }
};

// The legend where it covers the fewest of the given pixel positions (points on the lines).
void draw_legend(Axes& ax, const std::vector<std::pair<std::string, Rgb>>& entries,
                 const std::vector<std::pair<double, double>>& points, double line_width) {
  if (entries.empty()) return;
  const std::int64_t s = ax.s, pad = 3 * s, swatch = 14 * s, line_h = Canvas::kLineHeight * s;
  std::int64_t name_w = 0;
  for (const auto& e : entries) name_w = std::max(name_w, Canvas::text_width(e.first, s));
  const std::int64_t bw = pad + swatch + pad + name_w + pad;
  const std::int64_t bh = pad + static_cast<std::int64_t>(entries.size()) * line_h - (line_h - 7 * s) + pad;
  const std::int64_t inset = 4 * s;
  // matplotlib's "best": the corners first, then the edges' middles, then the centre.
  const std::int64_t top = ax.ay0 + inset, bottom = ax.ay1 - inset - bh, mid_y = (ax.ay0 + ax.ay1 - bh) / 2;
  const std::int64_t left = ax.ax0 + inset, right = ax.ax1 - inset - bw, mid_x = (ax.ax0 + ax.ax1 - bw) / 2;
  const std::int64_t spots[9][2] = {{top, right},    {top, left},    {bottom, left}, {bottom, right}, {mid_y, right},
                                    {mid_y, left},   {bottom, mid_x}, {top, mid_x},  {mid_y, mid_x}};
  int best = 0;
  std::size_t best_hits = std::numeric_limits<std::size_t>::max();
  for (int c = 0; c < 9; ++c) {
    std::size_t hits = 0;
    for (const auto& [y, x] : points)
      hits += y >= static_cast<double>(spots[c][0]) && y < static_cast<double>(spots[c][0] + bh) &&
              x >= static_cast<double>(spots[c][1]) && x < static_cast<double>(spots[c][1] + bw);
    if (hits < best_hits) best = c, best_hits = hits;
  }
  const std::int64_t y0 = spots[best][0], x0 = spots[best][1];
  ax.canvas.unclip();
  ax.canvas.rect(y0, x0, bh, bw, kWhite);
  ax.canvas.frame(y0, x0, bh, bw, Rgb{0.7f, 0.7f, 0.7f});
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::int64_t ty = y0 + pad + static_cast<std::int64_t>(i) * line_h;
    ax.canvas.line(static_cast<double>(ty) + 3.5 * static_cast<double>(s), static_cast<double>(x0 + pad),
                   static_cast<double>(ty) + 3.5 * static_cast<double>(s), static_cast<double>(x0 + pad + swatch - 1),
                   entries[i].second, line_width);
    ax.canvas.text(entries[i].first, ty, x0 + pad + swatch + pad, s, kDark);
  }
}

void check_size(const PlotOptions& opt, const char* op) {
  LUMEN_CHECK(opt.width >= 32 && opt.height >= 32 && opt.font_scale >= 0 && opt.line_width > 0, op,
              "expected width and height >= 32, font_scale >= 0 and line_width > 0, got ", opt.width, "x", opt.height,
              ", ", opt.font_scale, " and ", opt.line_width);
}

}  // namespace

std::array<float, 3> palette(std::size_t i) {
  static const unsigned tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  const unsigned v = tab10[i % 10];
  return {static_cast<float>((v >> 16) & 255) / 255.0f, static_cast<float>((v >> 8) & 255) / 255.0f,
          static_cast<float>(v & 255) / 255.0f};
}

Tensor plot_lines(const std::vector<Series>& series, const PlotOptions& opt) {
  const char* op = "plot_lines";
  check_size(opt, op);
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : series) {
    LUMEN_CHECK(s.xs.size() == s.ys.size(), op, "series '", s.name, "' has ", s.xs.size(), " xs but ", s.ys.size(), " ys");
    for (std::size_t i = 0; i < s.xs.size(); ++i)
      if (std::isfinite(s.xs[i]) && std::isfinite(s.ys[i])) {
        x_lo = std::min(x_lo, s.xs[i]), x_hi = std::max(x_hi, s.xs[i]);
        y_lo = std::min(y_lo, s.ys[i]), y_hi = std::max(y_hi, s.ys[i]);
      }
  }
  LUMEN_CHECK(std::isfinite(x_lo) || (opt.xlim && opt.ylim), op, "expected at least one finite point to plot");
  const auto xr = opt.xlim ? *opt.xlim : padded(x_lo, x_hi, 0.0);
  const auto yr = opt.ylim ? *opt.ylim : padded(y_lo, y_hi, 0.05);
  const std::int64_t fs = font_scale(opt);
  Axes ax(opt, xr, yr,
          numeric_ticks(xr.first, xr.second, static_cast<int>(std::clamp<std::int64_t>(opt.width / (70 * fs), 2, 10))), op);

  std::vector<std::pair<std::string, Rgb>> entries;
  std::vector<std::pair<double, double>> points;  // where the lines pass, for placing the legend
  ax.clip_to_box();
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Rgb color = s.color.value_or(palette(k));
    if (!s.name.empty()) entries.push_back({s.name, color});
    for (std::size_t i = 0; i < s.xs.size(); ++i) {
      if (!std::isfinite(s.xs[i]) || !std::isfinite(s.ys[i])) continue;
      const double x1 = ax.px(s.xs[i]), y1 = ax.py(s.ys[i]);
      if (opt.markers) {
        const auto m = static_cast<std::int64_t>(std::llround(opt.line_width + 2.0 * static_cast<double>(ax.s)));
        ax.canvas.rect(std::llround(y1) - m / 2, std::llround(x1) - m / 2, m, m, color);
      }
      points.push_back({y1, x1});
      if (i == 0 || !std::isfinite(s.xs[i - 1]) || !std::isfinite(s.ys[i - 1])) continue;
      const double x0 = ax.px(s.xs[i - 1]), y0 = ax.py(s.ys[i - 1]);
      ax.canvas.line(y0, x0, y1, x1, color, opt.line_width);
      for (int f = 1; f < 8; ++f) points.push_back({y0 + (y1 - y0) * f / 8.0, x0 + (x1 - x0) * f / 8.0});
    }
  }
  ax.canvas.unclip();
  if (opt.legend) draw_legend(ax, entries, points, opt.line_width);
  return ax.canvas.to_tensor();
}

Tensor bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values, const PlotOptions& opt,
                 std::optional<std::array<float, 3>> color) {
  const char* op = "bar_chart";
  check_size(opt, op);
  LUMEN_CHECK(!values.empty(), op, "expected at least one value");
  LUMEN_CHECK(labels.empty() || labels.size() == values.size(), op, "expected ", values.size(), " labels, got ",
              labels.size());
  double lo = 0.0, hi = 0.0;  // bars start at 0, so 0 is always in range
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  auto yr = opt.ylim ? *opt.ylim : padded(lo, hi, 0.05);
  if (!opt.ylim && lo == 0.0 && hi > 0.0) yr.first = 0.0;  // all positive: bars stand on the frame
  if (!opt.ylim && hi == 0.0 && lo < 0.0) yr.second = 0.0;
  std::vector<Tick> ticks;
  for (std::size_t i = 0; i < values.size(); ++i)
    ticks.push_back({static_cast<double>(i), labels.empty() ? std::to_string(i) : labels[i]});
  const double n = static_cast<double>(values.size());
  Axes ax(opt, {-0.5, n - 0.5}, yr, ticks, op);

  const Rgb fill = color.value_or(palette(0));
  const double half = 0.35 * static_cast<double>(ax.ax1 - ax.ax0) / n;
  ax.clip_to_box();
  const double zero = ax.py(0.0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    const double cx = ax.px(static_cast<double>(i)), top = ax.py(values[i]);
    const auto x0 = std::llround(cx - half), y0 = std::llround(std::min(top, zero));
    ax.canvas.rect(y0, x0, std::max<std::int64_t>(std::llround(std::max(top, zero)) - y0, 1),
                   std::llround(cx + half) - x0 + 1, fill);
    // The value above the bar (below a negative one) where it fits.
    const std::string text = detail::format_tick(values[i], 0.01);
    const std::int64_t tw = Canvas::text_width(text, ax.s);
    if (static_cast<double>(tw) <= 2.4 * half) {
      const std::int64_t ty = values[i] >= 0 ? std::llround(top) - 9 * ax.s : std::llround(top) + 3 * ax.s;
      ax.canvas.text(text, ty, std::llround(cx) - tw / 2, ax.s, kDark);
    }
  }
  if (yr.first < 0.0 && yr.second > 0.0) ax.canvas.rect(std::llround(zero), ax.ax0, 1, ax.ax1 - ax.ax0, kDark);
  ax.canvas.unclip();
  return ax.canvas.to_tensor();
}

Tensor grouped_bar_chart(const std::vector<std::string>& groups, const std::vector<BarSeries>& series,
                         const PlotOptions& opt) {
  const char* op = "grouped_bar_chart";
  check_size(opt, op);
  LUMEN_CHECK(!groups.empty() && !series.empty(), op, "expected at least one group and one series, got ",
              groups.size(), " groups and ", series.size(), " series");
  const std::size_t g = groups.size();
  auto error_of = [](const BarSeries& b, std::size_t i) {
    return b.errors.empty() || !std::isfinite(b.errors[i]) ? 0.0 : b.errors[i];
  };
  double lo = 0.0, hi = 0.0;  // bars start at 0, so 0 is always in range
  bool any_mark = false;
  for (const BarSeries& b : series) {
    LUMEN_CHECK(b.values.size() == g && (b.errors.empty() || b.errors.size() == g) &&
                    (b.marks.empty() || b.marks.size() == g),
                op, "series '", b.name, "' has ", b.values.size(), " values, ", b.errors.size(), " errors and ",
                b.marks.size(), " marks; expected ", g, " values (one per group) and as many or no errors and marks");
    for (std::size_t i = 0; i < g; ++i) {
      LUMEN_CHECK(b.errors.empty() || !(b.errors[i] < 0), op, "series '", b.name, "' has a negative error ",
                  b.errors[i]);
      if (!std::isfinite(b.values[i])) continue;
      lo = std::min(lo, b.values[i] - error_of(b, i)), hi = std::max(hi, b.values[i] + error_of(b, i));
      any_mark = any_mark || (!b.marks.empty() && b.marks[i]);
    }
  }
  auto yr = opt.ylim ? *opt.ylim : padded(lo, hi, 0.05);
  if (!opt.ylim && lo == 0.0 && hi > 0.0) yr.first = 0.0;
  if (!opt.ylim && hi == 0.0 && lo < 0.0) yr.second = 0.0;
  if (!opt.ylim && any_mark) yr.second += 0.1 * (yr.second - yr.first);  // room for the '*' above the bars
  std::vector<Tick> ticks;
  for (std::size_t i = 0; i < g; ++i) ticks.push_back({static_cast<double>(i), groups[i]});
  Axes ax(opt, {-0.5, static_cast<double>(g) - 0.5}, yr, ticks, op);

  // Each group's bars fill 80% of its slot, side by side.
  const double group_w = 0.8 * static_cast<double>(ax.ax1 - ax.ax0) / static_cast<double>(g);
  const double bar_w = group_w / static_cast<double>(series.size());
  const double zero = ax.py(0.0);
  std::vector<std::pair<std::string, Rgb>> entries;
  std::vector<std::pair<double, double>> points;  // where the bars are, for placing the legend
  ax.clip_to_box();
  for (std::size_t k = 0; k < series.size(); ++k) {
    const BarSeries& b = series[k];
    const Rgb color = b.color.value_or(palette(k));
    if (!b.name.empty()) entries.push_back({b.name, color});
    for (std::size_t i = 0; i < g; ++i) {
      const double v = b.values[i];
      if (!std::isfinite(v)) continue;
      const double left = ax.px(static_cast<double>(i)) - group_w / 2 + static_cast<double>(k) * bar_w;
      const double top = ax.py(v), cx = left + bar_w / 2;
      const auto x0 = std::llround(left), y0 = std::llround(std::min(top, zero));
      const std::int64_t width = std::max<std::int64_t>(std::llround(left + bar_w) - x0 - 1, 1);  // 1-pixel gap
      ax.canvas.rect(y0, x0, std::max<std::int64_t>(std::llround(std::max(top, zero)) - y0, 1), width, color);
      for (int f = 0; f <= 8; ++f) points.push_back({top + (zero - top) * f / 8.0, cx});
      double upper = std::min(top, zero);  // the highest row drawn for this bar so far
      const double e = error_of(b, i);
      if (e > 0) {
        const double ya = ax.py(v + e), yb = ax.py(v - e), cap = std::max(bar_w / 4, 1.0);
        ax.canvas.line(ya, cx, yb, cx, kDark, 1.0);
        ax.canvas.line(ya, cx - cap, ya, cx + cap, kDark, 1.0);
        ax.canvas.line(yb, cx - cap, yb, cx + cap, kDark, 1.0);
        upper = std::min(upper, ya);
      }
      if (!b.marks.empty() && b.marks[i]) {
        const std::int64_t tw = Canvas::text_width("*", ax.s);
        const std::int64_t ty = std::llround(upper) - 3 * ax.s - 7 * ax.s;
        ax.canvas.text("*", ty, std::llround(cx) - tw / 2, ax.s, kDark);
        points.push_back({static_cast<double>(ty), cx});
      }
    }
  }
  if (yr.first < 0.0 && yr.second > 0.0) ax.canvas.rect(std::llround(zero), ax.ax0, 1, ax.ax1 - ax.ax0, kDark);
  ax.canvas.unclip();
  if (opt.legend) draw_legend(ax, entries, points, std::max(opt.line_width, 5.0 * static_cast<double>(ax.s)));
  return ax.canvas.to_tensor();
}

Tensor render_confusion_matrix(const Tensor& matrix, const std::vector<std::string>& labels, std::int64_t cell) {
  LUMEN_CHECK(matrix.defined() && matrix.dim() == 2 && matrix.size(0) == matrix.size(1), "render_confusion_matrix",
              "expected a square matrix [K, K], got ", matrix.defined() ? matrix.str() : "undefined");
  const std::int64_t k = matrix.size(0);
  LUMEN_CHECK(labels.empty() || static_cast<std::int64_t>(labels.size()) == k, "render_confusion_matrix",
              "expected ", k, " labels, got ", labels.size());
  LUMEN_CHECK(cell >= 8, "render_confusion_matrix", "expected cell >= 8 pixels, got ", cell);
  const std::vector<float> m = detail::pixels(matrix).to_vector<float>();

  const std::int64_t s = std::max<std::int64_t>(1, cell / 26);  // font scale: "0.98" fills most of a cell
  std::int64_t label_w = 0;
  for (const std::string& l : labels) label_w = std::max(label_w, Canvas::text_width(l, s));
  const std::int64_t left = s + (labels.empty() ? 0 : label_w + 2 * s);   // room for the row labels
  const std::int64_t top = s + (labels.empty() ? 0 : 10 * s);             // and the column labels
  Canvas img(top + k * cell + s, left + k * cell + s, 1.0f);
  const std::array<float, 3> dark{0.1f, 0.1f, 0.1f}, light{1.0f, 1.0f, 1.0f};

  for (std::int64_t i = 0; i < k; ++i) {
    if (!labels.empty()) {
      const std::string& l = labels[static_cast<std::size_t>(i)];
      img.text(l, top + i * cell + (cell - 7 * s) / 2, left - 2 * s - Canvas::text_width(l, s), s, dark);
      img.text(l, s, left + i * cell + (cell - Canvas::text_width(l, s)) / 2, s, dark);
    }
    for (std::int64_t j = 0; j < k; ++j) {
      const float v = m[static_cast<std::size_t>(i * k + j)];
      const std::array<float, 3> rgb = blues(v);
      // A 1-pixel white gap separates the cells; the text is white on dark cells, dark on light ones.
      img.rect(top + i * cell + 1, left + j * cell + 1, cell - 2, cell - 2, rgb);
      char text[32];
      std::snprintf(text, sizeof text, "%.2f", static_cast<double>(v));
      const float luminance = 0.3f * rgb[0] + 0.59f * rgb[1] + 0.11f * rgb[2];
      img.text(text, top + i * cell + (cell - 7 * s) / 2, left + j * cell + (cell - Canvas::text_width(text, s)) / 2,
               s, luminance > 0.5f ? dark : light);
    }
  }
  return img.to_tensor();
}

}  // namespace lumen::figures
