#pragma once
// A chart laid out once and drawn two ways: as pixels (raster(), an RGB image [3, H, W] for PNGs) and
// as SVG (svg(), crisp at any zoom, with real text, for HTML reports). figures/plot.h lays out line
// plots and bar charts as Charts; arrange() puts several side by side.
//
// Coordinates are pixels, x to the right and y downwards from the top-left corner; pixel (y, x)
// covers [x, x + 1) × [y, y + 1), so a 1-pixel line along x = k + 0.5 fills column k exactly in both
// renderings. Text is DejaVu Sans (figures/font.h); the SVG names it first, so a browser that has it
// draws the same letters at the same widths the layout measured.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::figures {

using Color = std::array<float, 3>;  // RGB in [0, 1]

struct Chart {
  // A rectangle region drawing can be clipped to (the axes): [x0, x1] × [y0, y1].
  struct Box {
    double x0, y0, x1, y1;
  };
  // Connected segments through points (x, y), `width` pixels wide, with round caps and joins.
  struct Polyline {
    std::vector<std::pair<double, double>> points;
    Color color;
    double width = 1.0;
    int clip = -1;  // index into clips, or -1
  };
  // Filled, outlined (a stroke centred on its edges, as SVG draws it), or both.
  struct Rect {
    double x, y, w, h;
    std::optional<Color> fill{}, stroke{};
    double stroke_width = 1.0;
    int clip = -1;
  };
  struct Circle {
    double cx, cy, r;
    Color fill;
    int clip = -1;
  };
  enum class Anchor { start, middle, end };
  // One line of text: (x, y) is the anchor on its baseline (left end, middle or right end). Vertical
  // text is turned 90° counter-clockwise, reading upwards; its baseline runs along x and its anchor is
  // at y (start: the bottom end). '\n' is drawn as a space.
  struct Text {
    std::string text;
    double x, y, size;
    Anchor anchor = Anchor::start;
    bool vertical = false;
    Color color{0.15f, 0.15f, 0.15f};
  };
  using Item = std::variant<Polyline, Rect, Circle, Text>;

  std::int64_t width = 0, height = 0;
  Color background{1, 1, 1};
  std::vector<Box> clips;
  std::vector<Item> items;  // painted in order

  // The pixels: text, circles and slanted lines antialiased; rectangles and horizontal or vertical
  // lines in whole pixels (crisp, as matplotlib snaps them).
  Tensor raster() const;

  // A standalone <svg> element (also valid inline in HTML5): viewBox 0 0 width height, so it scales;
  // role="img", aria-label and a <title> from `label` (omitted when empty). `id` prefixes the ids of
  // its clip paths: charts inlined in one page need different ids. All text is escaped and made
  // valid UTF-8.
  std::string svg(const std::string& label = "", const std::string& id = "chart") const;
};

// Charts in rows (each row's charts side by side, top-aligned; rows stacked, left-aligned) with
// `padding` pixels between and around them. Throws on no charts.
Chart arrange(const std::vector<std::vector<Chart>>& rows, std::int64_t padding = 8);

}  // namespace lumen::figures
