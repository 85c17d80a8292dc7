#include "figures/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "figures/axes.h"
#include "figures/canvas.h"
#include "figures/colormap.h"
#include "kernels/core/error.h"

namespace lumen::figures {

using detail::Axes;
using detail::Canvas;
using detail::LegendEntry;
using detail::Tick;

namespace {

const Color kDark{0.15f, 0.15f, 0.15f};

// A range with room: [lo, hi] widened by `margin` of its span each side; a single value gets ±0.5
// (or ±10% of itself) so it still has a range.
std::pair<double, double> padded(double lo, double hi, double margin) {
  if (!(hi > lo)) {
    const double d = lo == 0.0 ? 0.5 : 0.1 * std::abs(lo);
    return {lo - d, hi + d};
  }
  return {lo - margin * (hi - lo), hi + margin * (hi - lo)};
}

void check_size(const PlotOptions& opt, const char* op) {
  LUMEN_CHECK(opt.width >= 32 && opt.height >= 32 && opt.font_size >= 0 && opt.line_width > 0, op,
              "expected width and height >= 32, font_size >= 0 and line_width > 0, got ", opt.width, "x", opt.height,
              ", ", opt.font_size, " and ", opt.line_width);
}

// The horizontal zero line where the y range spans 0.
void zero_line(Axes& ax) {
  if (ax.ymin < 0.0 && ax.ymax > 0.0)
    ax.chart.items.push_back(Chart::Rect{static_cast<double>(ax.ax0), std::floor(ax.py(0.0)),
                                         static_cast<double>(ax.ax1 - ax.ax0), 1, kDark, std::nullopt, 1, ax.clip});
}

// A bar from the zero line to value v, [left, right) wide, snapped to whole pixels (at least one tall).
Chart::Rect bar(const Axes& ax, double left, double right, double v, Color color) {
  const double zero = ax.py(0.0), top = ax.py(v);
  const double y0 = std::round(std::min(top, zero)), y1 = std::max(std::round(std::max(top, zero)), y0 + 1);
  return Chart::Rect{std::round(left), y0, std::max(std::round(right) - std::round(left), 1.0), y1 - y0, color,
                     std::nullopt, 1, ax.clip};
}

}  // namespace

std::array<float, 3> palette(std::size_t i) {
  static const unsigned tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  const unsigned v = tab10[i % 10];
  return {static_cast<float>((v >> 16) & 255) / 255.0f, static_cast<float>((v >> 8) & 255) / 255.0f,
          static_cast<float>(v & 255) / 255.0f};
}

Chart make_line_chart(const std::vector<Series>& series, const PlotOptions& opt) {
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
  // x spans the data exactly, as curves end at the axes; dots would be cut in half there, so with
  // markers it gets matplotlib's 5% margins.
  const auto xr = opt.xlim ? *opt.xlim : padded(x_lo, x_hi, opt.markers ? 0.05 : 0.0);
  const auto yr = opt.ylim ? *opt.ylim : padded(y_lo, y_hi, 0.05);
  // About one x tick per 6 ems of width.
  const double em = detail::plot_font(opt);
  const int x_target = static_cast<int>(std::clamp<std::int64_t>(static_cast<std::int64_t>(static_cast<double>(opt.width) / (6 * em)), 2, 10));
  Axes ax(opt, xr, yr, detail::numeric_ticks(xr.first, xr.second, x_target), op);

  std::vector<LegendEntry> entries;
  std::vector<std::pair<double, double>> points;  // where the lines pass, for placing the legend
  const double dot = 0.5 * opt.line_width + 1.5;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Color color = s.color.value_or(palette(k));
    if (!s.name.empty()) entries.push_back({s.name, color});
    Chart::Polyline run{{}, color, opt.line_width, ax.clip};  // the points since the last NaN
    auto flush = [&] {
      if (run.points.size() >= 2) ax.chart.items.push_back(run);
      run.points.clear();
    };
    for (std::size_t i = 0; i < s.xs.size(); ++i) {
      if (!std::isfinite(s.xs[i]) || !std::isfinite(s.ys[i])) {
        flush();
        continue;
      }
      const double x = ax.px(s.xs[i]), y = ax.py(s.ys[i]);
      if (!run.points.empty()) {
        const auto [x0, y0] = run.points.back();
        for (int f = 1; f < 8; ++f) points.push_back({x0 + (x - x0) * f / 8.0, y0 + (y - y0) * f / 8.0});
      }
      run.points.push_back({x, y});
      points.push_back({x, y});
    }
    flush();
    if (opt.markers)
      for (std::size_t i = 0; i < s.xs.size(); ++i)
        if (std::isfinite(s.xs[i]) && std::isfinite(s.ys[i]))
          ax.chart.items.push_back(Chart::Circle{ax.px(s.xs[i]), ax.py(s.ys[i]), dot, color, ax.clip});
  }
  if (opt.legend) detail::add_legend(ax, entries, points, opt.line_width, false, opt.markers ? dot : 0.0);
  return std::move(ax.chart);
}

Tensor plot_lines(const std::vector<Series>& series, const PlotOptions& opt) { return make_line_chart(series, opt).raster(); }

Chart make_bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values, const PlotOptions& opt,
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

  const Color fill = color.value_or(palette(0));
  const double half = 0.35 * static_cast<double>(ax.ax1 - ax.ax0) / n;
  const double gap = 0.4 * ax.font;  // between a bar's end and its value
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    const double cx = ax.px(static_cast<double>(i));
    ax.chart.items.push_back(bar(ax, cx - half, cx + half, values[i], fill));
    // The value above the bar (below a negative one) where it fits.
    const std::string text = detail::format_tick(values[i], 0.01);
    if (static_cast<double>(Canvas::text_width(text, ax.font)) <= 2.4 * half) {
      const double cap = static_cast<double>(detail::font_metrics(ax.font).cap_height);
      const double end = ax.py(values[i]);
      ax.centred_text(text, cx, values[i] >= 0 ? end - gap - cap / 2 : end + gap + cap / 2);
    }
  }
  zero_line(ax);
  return std::move(ax.chart);
}

Tensor bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values, const PlotOptions& opt,
                 std::optional<std::array<float, 3>> color) {
  return make_bar_chart(labels, values, opt, color).raster();
}

Chart make_grouped_bar_chart(const std::vector<std::string>& groups, const std::vector<BarSeries>& series,
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

  // Each group's bars fill 80% of its slot, side by side, a pixel apart.
  const double group_w = 0.8 * static_cast<double>(ax.ax1 - ax.ax0) / static_cast<double>(g);
  const double bar_w = group_w / static_cast<double>(series.size());
  const double cap_h = static_cast<double>(detail::font_metrics(ax.font).cap_height);
  std::vector<LegendEntry> entries;
  std::vector<std::pair<double, double>> points;  // where the bars are, for placing the legend
  for (std::size_t k = 0; k < series.size(); ++k) {
    const BarSeries& b = series[k];
    const Color color = b.color.value_or(palette(k));
    if (!b.name.empty()) entries.push_back({b.name, color});
    for (std::size_t i = 0; i < g; ++i) {
      const double v = b.values[i];
      if (!std::isfinite(v)) continue;
      const double left = ax.px(static_cast<double>(i)) - group_w / 2 + static_cast<double>(k) * bar_w;
      const Chart::Rect r = bar(ax, left, left + bar_w - 1, v, color);
      ax.chart.items.push_back(r);
      const double cx = std::floor(r.x + r.w / 2) + 0.5, top = ax.py(v), zero = ax.py(0.0);
      for (int f = 0; f <= 8; ++f) points.push_back({cx, top + (zero - top) * f / 8.0});
      double upper = std::min(top, zero);  // the highest point drawn for this bar so far
      if (const double e = error_of(b, i); e > 0) {
        const double ya = ax.py(v + e), yb = ax.py(v - e), cap = std::max(std::round(bar_w / 4), 1.0);
        for (const auto& pts : std::vector<std::vector<std::pair<double, double>>>{
                 {{cx, ya}, {cx, yb}}, {{cx - cap, ya}, {cx + cap, ya}}, {{cx - cap, yb}, {cx + cap, yb}}})
          ax.chart.items.push_back(Chart::Polyline{pts, kDark, 1.0, ax.clip});
        upper = std::min(upper, ya);
      }
      if (!b.marks.empty() && b.marks[i]) {
        const double y = upper - 0.3 * ax.font - cap_h / 2;
        ax.centred_text("*", cx, y);
        points.push_back({cx, y});
      }
    }
  }
  zero_line(ax);
  if (opt.legend) detail::add_legend(ax, entries, points, opt.line_width, true);
  return std::move(ax.chart);
}

Tensor grouped_bar_chart(const std::vector<std::string>& groups, const std::vector<BarSeries>& series,
                         const PlotOptions& opt) {
  return make_grouped_bar_chart(groups, series, opt).raster();
}

Tensor render_confusion_matrix(const Tensor& matrix, const std::vector<std::string>& labels, std::int64_t cell) {
  LUMEN_CHECK(matrix.defined() && matrix.dim() == 2 && matrix.size(0) == matrix.size(1), "render_confusion_matrix",
              "expected a square matrix [K, K], got ", matrix.defined() ? matrix.str() : "undefined");
  const std::int64_t k = matrix.size(0);
  LUMEN_CHECK(labels.empty() || static_cast<std::int64_t>(labels.size()) == k, "render_confusion_matrix",
              "expected ", k, " labels, got ", labels.size());
  LUMEN_CHECK(cell >= 8, "render_confusion_matrix", "expected cell >= 8 pixels, got ", cell);
  const std::vector<float> m = detail::pixels(matrix).to_vector<float>();

  const double size = std::max(8.0, 0.3 * static_cast<double>(cell));  // "0.98" fills most of a cell
  const detail::FontMetrics fm = detail::font_metrics(size);
  const std::int64_t margin = std::max<std::int64_t>(2, cell / 20);
  std::int64_t label_w = 0;
  for (const std::string& l : labels) label_w = std::max(label_w, Canvas::text_width(l, size));
  const std::int64_t left = margin + (labels.empty() ? 0 : label_w + margin);                 // room for the row labels
  const std::int64_t top = margin + (labels.empty() ? 0 : fm.ascent + fm.descent + margin);  // and the column labels
  Canvas img(top + k * cell + margin, left + k * cell + margin, 1.0f);
  const std::array<float, 3> dark{0.1f, 0.1f, 0.1f}, light{1.0f, 1.0f, 1.0f};
  // Text centred on a cell: its digits' middle (cap height / 2 above the baseline) at the cell's.
  const std::int64_t text_dy = (cell - fm.cap_height) / 2 - (fm.ascent - fm.cap_height);

  for (std::int64_t i = 0; i < k; ++i) {
    if (!labels.empty()) {
      const std::string& l = labels[static_cast<std::size_t>(i)];
      img.text(l, top + i * cell + text_dy, left - margin - Canvas::text_width(l, size), size, dark);
      img.text(l, margin, left + i * cell + (cell - Canvas::text_width(l, size)) / 2, size, dark);
    }
    for (std::int64_t j = 0; j < k; ++j) {
      const float v = m[static_cast<std::size_t>(i * k + j)];
      const std::array<float, 3> rgb = blues(v);
      // A 1-pixel white gap separates the cells; the text is white on dark cells, dark on light ones.
      img.rect(top + i * cell + 1, left + j * cell + 1, cell - 2, cell - 2, rgb);
      char text[32];
      std::snprintf(text, sizeof text, "%.2f", static_cast<double>(v));
      const float luminance = 0.3f * rgb[0] + 0.59f * rgb[1] + 0.11f * rgb[2];
      img.text(text, top + i * cell + text_dy, left + j * cell + (cell - Canvas::text_width(text, size)) / 2, size,
               luminance > 0.5f ? dark : light);
    }
  }
  return img.to_tensor();
}

}  // namespace lumen::figures
