#pragma once
// Internal to figures/plot.cpp: the frame every plot shares, laid out as Chart items — axes box,
// grid, ticks and their labels, title, axis labels — and the legend placed where it hides the
// fewest data points.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "figures/chart.h"
#include "figures/plot.h"

namespace lumen::figures::detail {

// An x tick: its data position and its text.
struct Tick {
  double at;
  std::string label;
};

// The text size of a plot in pixels: opt.font_size, or by default 13 (17 for plots over 600 pixels
// on their shorter side).
double plot_font(const PlotOptions& opt);

// About `target` round ticks covering [lo, hi], labelled with the decimals their spacing needs.
std::vector<Tick> numeric_ticks(double lo, double hi, int target);

// The plot's frame. Data is drawn inside the box of pixels [ax0, ax1) × [ay0, ay1) (clip index
// `clip`), whose 1-pixel frame lies just outside it. Data x = xmin maps to the centre of column
// ax0 and xmax to that of column ax1 - 1; y = ymax to the centre of row ay0, ymin to row ay1 - 1.
struct Axes {
  Chart chart;
  double font, title_font;  // sizes in pixels
  std::int64_t ax0 = 0, ay0 = 0, ax1 = 0, ay1 = 0;
  double xmin, xmax, ymin, ymax;
  int clip = 0;

  double px(double x) const;
  double py(double y) const;

  // Lays out the frame for these ranges; x_ticks are the x tick marks (bar charts pass their
  // labels, written vertically when they would run into each other). Throws, naming op, on empty
  // or non-finite ranges or an image too small for the axes.
  Axes(const PlotOptions& opt, std::pair<double, double> xr, std::pair<double, double> yr,
       const std::vector<Tick>& x_ticks, const char* op);

  // Text on one line centred on (x, y) vertically at the height of digits (a value on a bar, a mark).
  void centred_text(const std::string& s, double x, double y);
};

// One legend entry: a line (curves, with a dot where the curves have markers) or a filled square
// (bars) of the color, then the name.
struct LegendEntry {
  std::string name;
  Color color;
};

// The legend in the corner (or edge middle, or centre) of the axes that covers the fewest of
// `points` (chart coordinates of the data), as matplotlib's "best". Nothing for no entries.
void add_legend(Axes& ax, const std::vector<LegendEntry>& entries, const std::vector<std::pair<double, double>>& points,
                double line_width, bool patches, double dot = 0);

}  // namespace lumen::figures::detail
