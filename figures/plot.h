#pragma once
// Small charts: line plots (deletion/insertion curves, score-vs-mask-size curves, sanity checks,
// reliability diagrams, scatter plots as one-point series with markers), bar charts and a colored
// confusion matrix. Each plot is laid out once as a Chart (figures/chart.h: make_line_chart, ...),
// which renders to SVG for HTML reports and to an RGB image [3, H, W] (values in [0, 1], for save_png
// or labelled_grid); plot_lines, bar_chart and grouped_bar_chart return those pixels directly. Not a
// plotting library: linear axes, round ticks, a legend, nothing else. Text is UTF-8.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "figures/chart.h"

namespace lumen::figures {

// One curve: points (xs[i], ys[i]) joined in order; a NaN y breaks the line. Unset color: palette(i).
struct Series {
  std::string name{};  // legend entry; series with an empty name are left out of the legend
  std::vector<double> xs{}, ys{};
  std::optional<std::array<float, 3>> color{};
};

struct PlotOptions {
  std::string title{}, xlabel{}, ylabel{};
  std::int64_t width = 480, height = 360;  // of the whole image
  // Axis ranges; unset: x spans the data (plus 5% either side with markers), y the data plus 5%
  // either side (bar charts include 0).
  std::optional<std::pair<double, double>> xlim{}, ylim{};
  double line_width = 2.0;
  bool markers = false;  // a dot at every point
  bool legend = true;    // drawn in the corner of the axes that covers the fewest points
  bool grid = true;      // light lines at the ticks
  double font_size = 0;  // pixels to the em; 0: 13, or 17 when the shorter side exceeds 600; titles 1.25× larger
};

// matplotlib's "tab10" colors: blue, orange, green, red, purple, ... (i wraps around).
std::array<float, 3> palette(std::size_t i);

// The series on one pair of axes. Throws on xs/ys of different lengths, no points at all, an empty
// or reversed range, or an image too small for the axes.
Chart make_line_chart(const std::vector<Series>& series, const PlotOptions& opt = {});
Tensor plot_lines(const std::vector<Series>& series, const PlotOptions& opt = {});  // its raster()

// One bar per value from 0, labelled underneath (labels written vertically when they would overlap).
// Negative values go down from the zero line.
Chart make_bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values,
                     const PlotOptions& opt = {}, std::optional<std::array<float, 3>> color = std::nullopt);
Tensor bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values, const PlotOptions& opt = {},
                 std::optional<std::array<float, 3>> color = std::nullopt);  // its raster()

// One series of a grouped bar chart: a value per group, optionally ± an error (a whisker with caps,
// e.g. a standard deviation over seeds) and a mark ('*' above the bar, e.g. for a significant
// difference). errors and marks are either empty (none) or one per group. Unset color: palette(i).
struct BarSeries {
  std::string name{};  // legend entry; left out when empty
  std::vector<double> values{};
  std::vector<double> errors{};  // >= 0; NaN draws no whisker
  std::vector<bool> marks{};
  std::optional<std::array<float, 3>> color{};
};

// Groups side by side along x (labelled underneath), one bar per series in each group, in series
// order, with whiskers, marks and a legend. The y range includes 0, every value ± its error and room
// for the marks. Throws on no groups or series, or series whose values, errors or marks are not one
// per group, or negative errors. A NaN value draws no bar.
Chart make_grouped_bar_chart(const std::vector<std::string>& groups, const std::vector<BarSeries>& series,
                             const PlotOptions& opt = {});
Tensor grouped_bar_chart(const std::vector<std::string>& groups, const std::vector<BarSeries>& series,
                         const PlotOptions& opt = {});  // its raster()

// A K×K matrix (e.g. a row-normalised confusion matrix, values in [0, 1]) as an RGB image [3, H, W]:
// one `cell`-pixel square per entry colored by blues(value) with the value written in it ("0.98"),
// and labels (optional, K strings) along the left and the top.
Tensor render_confusion_matrix(const Tensor& matrix, const std::vector<std::string>& labels = {},
                               std::int64_t cell = 56);

}  // namespace lumen::figures
