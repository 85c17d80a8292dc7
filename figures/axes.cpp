#include "figures/axes.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "figures/canvas.h"
#include "figures/font.h"
#include "kernels/core/error.h"

namespace lumen::figures::detail {

namespace {

const Color kDark{0.15f, 0.15f, 0.15f}, kGrid{0.9f, 0.9f, 0.9f}, kWhite{1, 1, 1}, kLegendFrame{0.8f, 0.8f, 0.8f};

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out(1);
  for (char ch : s)
    if (ch == '\n') out.emplace_back();
    else out.back() += ch;
  return out;
}

}  // namespace

double plot_font(const PlotOptions& opt) {
  return opt.font_size > 0 ? opt.font_size : std::min(opt.width, opt.height) > 600 ? 17.0 : 13.0;
}

std::vector<Tick> numeric_ticks(double lo, double hi, int target) {
  const std::vector<double> v = nice_ticks(lo, hi, target);
  const double step = v.size() >= 2 ? v[1] - v[0] : hi - lo;
  std::vector<Tick> ticks;
  for (double t : v) ticks.push_back({t, format_tick(t, step)});
  return ticks;
}

double Axes::px(double x) const {
  return static_cast<double>(ax0) + 0.5 + (x - xmin) / (xmax - xmin) * static_cast<double>(ax1 - ax0 - 1);
}

double Axes::py(double y) const {
  return static_cast<double>(ay1) - 0.5 - (y - ymin) / (ymax - ymin) * static_cast<double>(ay1 - ay0 - 1);
}

Axes::Axes(const PlotOptions& opt, std::pair<double, double> xr, std::pair<double, double> yr,
           const std::vector<Tick>& x_ticks, const char* op)
    : font(plot_font(opt)), title_font(std::round(1.25 * plot_font(opt))),
      xmin(xr.first), xmax(xr.second), ymin(yr.first), ymax(yr.second) {
  LUMEN_CHECK(std::isfinite(xmin) && std::isfinite(xmax) && xmax > xmin && std::isfinite(ymin) && std::isfinite(ymax) &&
                  ymax > ymin,
              op, "expected finite, increasing axis ranges, got x [", xmin, ", ", xmax, "] and y [", ymin, ", ", ymax, "]");
  chart.width = opt.width, chart.height = opt.height;
  const FontMetrics m = font_metrics(font), mt = font_metrics(title_font);
  const std::int64_t line_h = m.ascent + m.descent;
  const std::int64_t pad = std::max<std::int64_t>(4, std::llround(font / 3)), tick = std::max<std::int64_t>(3, std::llround(font / 3));
  const std::vector<Tick> y_ticks = numeric_ticks(
      ymin, ymax, static_cast<int>(std::clamp<std::int64_t>(static_cast<std::int64_t>(static_cast<double>(opt.height) / (5 * font)), 2, 8)));
  std::int64_t ytick_w = 0, xtick_w = 0;
  for (const Tick& t : y_ticks) ytick_w = std::max(ytick_w, Canvas::text_width(t.label, font));
  for (const Tick& t : x_ticks) xtick_w = std::max(xtick_w, Canvas::text_width(t.label, font));

  const std::vector<std::string> title = opt.title.empty() ? std::vector<std::string>{} : lines_of(opt.title);
  const auto title_lines = static_cast<std::int64_t>(title.size());
  ay0 = pad + (title.empty() ? 0 : (title_lines - 1) * mt.advance + mt.ascent + mt.descent + pad);
  ax0 = pad + (opt.ylabel.empty() ? 0 : line_h + pad) + ytick_w + pad / 2 + tick + 1;
  ax1 = opt.width - std::max(pad, xtick_w / 2 + 2) - 1;
  // Tick labels that would run into each other are written vertically (long bar labels).
  const double spacing = x_ticks.size() >= 2 ? static_cast<double>(ax1 - ax0) / static_cast<double>(x_ticks.size()) : 1e9;
  const bool vertical = static_cast<double>(xtick_w) > spacing - 0.5 * font;
  const std::int64_t xtick_h = vertical ? xtick_w : line_h;
  ay1 = opt.height - pad - (opt.xlabel.empty() ? 0 : line_h + pad) - xtick_h - pad / 2 - tick - 1;
  LUMEN_CHECK(ax1 - ax0 >= 8 && ay1 - ay0 >= 8, op, "a ", opt.width, "x", opt.height,
              " image leaves no room for the axes; make it larger");
  chart.clips.push_back({static_cast<double>(ax0), static_cast<double>(ay0), static_cast<double>(ax1), static_cast<double>(ay1)});
  clip = static_cast<int>(chart.clips.size()) - 1;

  // Grid and ticks are whole pixels (crisp in both renderings); labels sit beside them.
  const auto w = [](std::int64_t v) { return static_cast<double>(v); };
  for (const Tick& t : y_ticks) {
    const double y = std::floor(py(t.at));
    if (opt.grid) chart.items.push_back(Chart::Rect{w(ax0), y, w(ax1 - ax0), 1, kGrid});
    chart.items.push_back(Chart::Rect{w(ax0 - 1 - tick), y, w(tick), 1, kDark});
    chart.items.push_back(Chart::Text{t.label, w(ax0 - 1 - tick - pad / 2), y + 0.5 + w(m.cap_height) / 2, font,
                                      Chart::Anchor::end});
  }
  for (const Tick& t : x_ticks) {
    if (t.at < xmin || t.at > xmax) continue;
    const double x = std::floor(px(t.at));
    if (opt.grid) chart.items.push_back(Chart::Rect{x, w(ay0), 1, w(ay1 - ay0), kGrid});
    chart.items.push_back(Chart::Rect{x, w(ay1 + 1), 1, w(tick), kDark});
    const double top = w(ay1 + 1 + tick + pad / 2);
    if (vertical)  // reading upwards, ending just under its tick; its line box centred on the tick
      chart.items.push_back(Chart::Text{t.label, x + 0.5 + w(m.ascent - m.descent) / 2, top, font, Chart::Anchor::end, true});
    else
      chart.items.push_back(Chart::Text{t.label, x + 0.5, top + w(m.ascent), font, Chart::Anchor::middle});
  }
  chart.items.push_back(Chart::Rect{w(ax0) - 0.5, w(ay0) - 0.5, w(ax1 - ax0 + 1), w(ay1 - ay0 + 1), std::nullopt, kDark});
  const double centre_x = w(ax0 + ax1) / 2;
  for (std::size_t i = 0; i < title.size(); ++i)
    chart.items.push_back(Chart::Text{title[i], centre_x, w(pad + mt.ascent + static_cast<std::int64_t>(i) * mt.advance),
                                      title_font, Chart::Anchor::middle});
  if (!opt.xlabel.empty())
    chart.items.push_back(Chart::Text{opt.xlabel, centre_x, w(opt.height - pad - m.descent), font, Chart::Anchor::middle});
  if (!opt.ylabel.empty())
    chart.items.push_back(Chart::Text{opt.ylabel, w(pad + m.ascent), w(ay0 + ay1) / 2, font, Chart::Anchor::middle, true});
}

void Axes::centred_text(const std::string& s, double x, double y) {
  chart.items.push_back(
      Chart::Text{s, x, y + static_cast<double>(font_metrics(font).cap_height) / 2, font, Chart::Anchor::middle});
}

void add_legend(Axes& ax, const std::vector<LegendEntry>& entries, const std::vector<std::pair<double, double>>& points,
                double line_width, bool patches, double dot) {
  if (entries.empty()) return;
  const FontMetrics m = font_metrics(ax.font);
  const std::int64_t pad = std::max<std::int64_t>(3, std::llround(ax.font / 3)), swatch = std::llround(2 * ax.font);
  std::int64_t name_w = 0;
  for (const auto& e : entries) name_w = std::max(name_w, Canvas::text_width(e.name, ax.font));
  const auto n = static_cast<std::int64_t>(entries.size());
  const std::int64_t bw = pad + swatch + pad + name_w + pad, bh = pad + (n - 1) * m.advance + m.ascent + m.descent + pad;
  const std::int64_t inset = pad;
  // matplotlib's "best": the corners first, then the edges' middles, then the centre.
  const std::int64_t top = ax.ay0 + inset, bottom = ax.ay1 - inset - bh, mid_y = (ax.ay0 + ax.ay1 - bh) / 2;
  const std::int64_t left = ax.ax0 + inset, right = ax.ax1 - inset - bw, mid_x = (ax.ax0 + ax.ax1 - bw) / 2;
  const std::int64_t spots[9][2] = {{top, right}, {top, left},     {bottom, left}, {bottom, right}, {mid_y, right},
                                    {mid_y, left}, {bottom, mid_x}, {top, mid_x},  {mid_y, mid_x}};
  int best = 0;
  std::size_t best_hits = std::numeric_limits<std::size_t>::max();
  for (int c = 0; c < 9; ++c) {
    std::size_t hits = 0;
    for (const auto& [x, y] : points)
      hits += y >= static_cast<double>(spots[c][0]) && y < static_cast<double>(spots[c][0] + bh) &&
              x >= static_cast<double>(spots[c][1]) && x < static_cast<double>(spots[c][1] + bw);
    if (hits < best_hits) best = c, best_hits = hits;
  }
  const auto y0 = static_cast<double>(spots[best][0]), x0 = static_cast<double>(spots[best][1]);
  ax.chart.items.push_back(Chart::Rect{x0 + 0.5, y0 + 0.5, static_cast<double>(bw - 1), static_cast<double>(bh - 1),
                                       kWhite, kLegendFrame});
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const double baseline = y0 + static_cast<double>(pad + m.ascent + static_cast<std::int64_t>(i) * m.advance);
    const double mid = std::floor(baseline - static_cast<double>(m.cap_height) / 2) + 0.5;  // centre of the row of the digits' middle
    const double sx = x0 + static_cast<double>(pad);
    if (patches) {
      const double side = static_cast<double>(m.cap_height + 2);
      ax.chart.items.push_back(Chart::Rect{sx + (static_cast<double>(swatch) - side) / 2, std::round(mid - side / 2), side, side, entries[i].color});
    } else {
      ax.chart.items.push_back(Chart::Polyline{{{sx, mid}, {sx + static_cast<double>(swatch), mid}}, entries[i].color, line_width});
      if (dot > 0) ax.chart.items.push_back(Chart::Circle{sx + static_cast<double>(swatch) / 2, mid, dot, entries[i].color});
    }
    ax.chart.items.push_back(Chart::Text{entries[i].name, sx + static_cast<double>(swatch + pad), baseline, ax.font});
  }
}

}  // namespace lumen::figures::detail
