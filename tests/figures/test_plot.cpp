// Line plots and bar charts (figures/plot.h), checked pixel by pixel where the layout is known: lines
// at the rows their values say, the legend's colors, bars from the zero line. The confusion matrix
// is covered in tests/nn/test_models.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autograd/tensor.h"
#include "figures/plot.h"
#include "tests/figures/pixel_checks.h"

using namespace lumen;
using namespace lumen::figures;
using lumen::testing::pixels::at;
using lumen::testing::pixels::count_not;
using lumen::testing::pixels::near;
using lumen::testing::pixels::Rgb;

TEST_SUITE("figures") {
  TEST_CASE("plot_lines: lines land where their values say") {
    // Three horizontal lines on y ∈ [0, 1]: the frame's top and bottom rows bracket the axes, so the
    // line at 0.5 is midway between them and the others a quarter of the way from each end.
    const Rgb red{1, 0, 0}, green{0, 1, 0}, blue{0, 0, 1};
    Tensor p = plot_lines({{"half", {0, 1}, {0.5, 0.5}, red}, {"quarter", {0, 1}, {0.25, 0.25}, green},
                           {"", {0, 1}, {0.75, 0.75}, blue}},
                          {.width = 240, .height = 180, .ylim = std::pair{0.0, 1.0}, .legend = false, .grid = false});
    CHECK(p.shape() == Shape{3, 180, 240});
    const std::int64_t x = 120;
    std::int64_t top = -1, bottom = -1;
    double red_y = 0, green_y = 0, blue_y = 0;
    int nr = 0, ng = 0, nb = 0;
    for (std::int64_t y = 0; y < 180; ++y) {
      // The frame's rows are the only ones dark over most of the width.
      std::int64_t dark = 0;
      for (std::int64_t xx = 0; xx < 240; ++xx) {
        const Rgb c = at(p, y, xx);
        dark += c[0] < 0.3f && c[1] < 0.3f && c[2] < 0.3f;
      }
      if (dark > 150 && top < 0) top = y;
      if (dark > 150) bottom = y;
      const Rgb c = at(p, y, x);
      if (c == red) red_y += y, ++nr;
      if (c == green) green_y += y, ++ng;
      if (c == blue) blue_y += y, ++nb;
    }
    REQUIRE((top >= 0 && bottom > top + 50));
    REQUIRE((nr == 2 && ng == 2 && nb == 2));  // line_width 2
    // Data rows run from top + 1 (y = 1) to bottom - 1 (y = 0).
    const double mid = (top + bottom) / 2.0, quarter = (bottom - top - 2) / 4.0;
    CHECK(std::abs(red_y / nr - mid) <= 1.0);
    CHECK(std::abs(green_y / ng - (mid + quarter)) <= 1.0);  // y = 0.25 is below the middle
    CHECK(std::abs(blue_y / nb - (mid - quarter)) <= 1.0);
    // The frame's corners bound the lines: no red left of the axes.
    CHECK(count_not(p, 0, 180, 0, 4) == 0);

    // A legend adds its entries' colors and names; an automatic range covers all points.
    Tensor with_legend = plot_lines({{"deletion", {0, 0.5, 1}, {1, 0.4, 0.1}}, {"insertion", {0, 0.5, 1}, {0.1, 0.7, 0.9}}},
                                    {.title = "Deletion and insertion", .xlabel = "fraction", .ylabel = "p(class)"});
    CHECK(with_legend.shape() == Shape{3, 360, 480});
    std::int64_t orange = 0;
    for (std::int64_t y = 0; y < 360; ++y)
      for (std::int64_t xx = 0; xx < 480; ++xx) orange += near(at(with_legend, y, xx), palette(1), 1e-6f);
    CHECK(orange > 100);

    CHECK_THROWS_WITH_AS(plot_lines({{"bad", {0, 1}, {0}}}), doctest::Contains("2 xs but 1 ys"), Error);
    CHECK_THROWS_AS(plot_lines({}), Error);
    CHECK_THROWS_AS(plot_lines({{"a", {0, 1}, {0, 1}}}, {.width = 10}), Error);
    CHECK_THROWS_AS(plot_lines({{"a", {0, 1}, {0, 1}}}, {.ylim = std::pair{1.0, 0.0}}), Error);
    CHECK_THROWS_AS(plot_lines({{"a", {0, 1}, {0, 1}}}, {.title = "t", .xlabel = "x", .width = 40, .height = 40}),
                    Error);  // no room left for the axes
  }

  TEST_CASE("bar_chart: bars rise from zero, negative ones go down") {
    const Rgb c{0.2f, 0.4f, 0.6f};
    Tensor b = bar_chart({"conv1", "fc"}, {1.0, -0.5}, {.width = 200, .height = 200, .grid = false}, c);
    CHECK(b.shape() == Shape{3, 200, 200});
    // Column through each bar: bar 0 is above bar 1's top, bar 1 hangs below.
    auto extent = [&](std::int64_t x) {
      std::int64_t lo = -1, hi = -1;
      for (std::int64_t y = 0; y < 200; ++y)
        if (at(b, y, x) == c) {
          if (lo < 0) lo = y;
          hi = y;
        }
      return std::pair{lo, hi};
    };
    // Bars are centred at 1/4 and 3/4 of the axes' width; find the axes by the bar color.
    std::int64_t first = -1, last = -1;
    for (std::int64_t x = 0; x < 200; ++x)
      for (std::int64_t y = 0; y < 200; ++y)
        if (at(b, y, x) == c) {
          if (first < 0) first = x;
          last = x;
          break;
        }
    REQUIRE(first >= 0);
    auto [a0, a1] = extent(first + 2);
    auto [b0, b1] = extent(last - 2);
    CHECK(a1 < b0 + 2);                                 // bar 0 ends at the zero line, where bar 1 begins
    CHECK(std::abs((a1 - a0) - 2 * (b1 - b0)) <= 3);    // twice as tall
    CHECK_THROWS_AS(bar_chart({"a"}, {1, 2}), Error);
    CHECK_THROWS_AS(bar_chart({}, {}), Error);
  }

  TEST_CASE("grouped_bar_chart: bars side by side, whiskers and marks where the values say") {
    const Rgb red{1, 0, 0}, blue{0, 0, 1};
    const PlotOptions opt{.width = 320, .height = 240, .ylim = std::pair{0.0, 3.0}, .legend = false, .grid = false};
    auto chart = [&](bool errors, bool marks) {
      return grouped_bar_chart({"seeds", "regions"},
                               {{"A", {2, 1}, errors ? std::vector<double>{0.5, 0} : std::vector<double>{}, {}, red},
                                {"B", {1, 2}, {}, marks ? std::vector<bool>{false, true} : std::vector<bool>{}, blue}},
                               opt);
    };
    Tensor plain = chart(false, false), full = chart(true, true);
    CHECK(plain.shape() == Shape{3, 240, 320});
    // A bar: its first and last columns and its top row, found by its colour from column x on.
    struct Bar {
      std::int64_t x0 = -1, x1 = -1, top = 240, bottom = -1;
    };
    auto find_bar = [](const Tensor& img, Rgb c, std::int64_t from) {
      Bar b;
      for (std::int64_t x = from; x < 320; ++x) {
        bool any = false;
        for (std::int64_t y = 0; y < 240; ++y)
          if (near(at(img, y, x), c)) any = true, b.top = std::min(b.top, y), b.bottom = std::max(b.bottom, y);
        if (any && b.x0 < 0) b.x0 = x;
        if (!any && b.x0 >= 0) break;
        if (any) b.x1 = x;
      }
      return b;
    };
    const Bar a0 = find_bar(plain, red, 0), b0 = find_bar(plain, blue, 0);
    const Bar a1 = find_bar(plain, red, a0.x1 + 1), b1 = find_bar(plain, blue, b0.x1 + 1);
    REQUIRE((a0.x0 >= 0 && a1.x0 >= 0 && b0.x0 >= 0 && b1.x0 >= 0));
    CHECK(a0.x1 < b0.x0);  // in series order within a group
    CHECK(b0.x1 < a1.x0);  // then the next group
    CHECK(a1.x1 < b1.x0);
    CHECK(std::abs(a0.bottom - b0.bottom) <= 1);  // all stand on the zero line
    const std::int64_t unit = a0.bottom - a1.top;  // value 1 in pixels
    CHECK(std::abs((a0.bottom - a0.top) - 2 * unit) <= 2);
    CHECK(std::abs((b1.bottom - b1.top) - 2 * unit) <= 2);

    // The whisker of A's first bar (2 ± 0.5) rises unit / 2 above its top, at its centre.
    auto dark_in = [](const Tensor& img, std::int64_t y0, std::int64_t y1, std::int64_t x0, std::int64_t x1) {
      std::int64_t n = 0;
      for (std::int64_t y = y0; y < y1; ++y)
        for (std::int64_t x = x0; x < x1; ++x) {
          const Rgb c = at(img, y, x);
          n += c[0] < 0.3f && c[1] < 0.3f && c[2] < 0.3f;
        }
      return n;
    };
    const std::int64_t ca = (a0.x0 + a0.x1) / 2, cb = (b1.x0 + b1.x1) / 2;
    CHECK(dark_in(full, a0.top - unit / 2 + 2, a0.top - 1, ca - 1, ca + 2) >= unit / 2 - 4);
    CHECK(dark_in(plain, a0.top - unit / 2 + 2, a0.top - 1, ca - 1, ca + 2) == 0);
    // A's second bar has error 0: no whisker. B's second bar has a '*' just above it.
    CHECK(dark_in(full, a1.top - unit / 2, a1.top - 1, a1.x0, a1.x1 + 1) == 0);
    CHECK(dark_in(full, b1.top - 14, b1.top - 1, cb - 6, cb + 7) > 0);
    CHECK(dark_in(plain, b1.top - 14, b1.top - 1, cb - 6, cb + 7) == 0);

    // A legend and an automatic range render too; bad input throws.
    Tensor auto_range = grouped_bar_chart({"a", "b", "c"}, {{"x", {1, -2, 3}, {0.2, 0.1, 0}, {true, false, true}},
                                                            {"y", {2, 1, NAN}}},
                                          {.title = "Stability", .ylabel = "Jaccard"});
    CHECK(auto_range.shape() == Shape{3, 360, 480});
    CHECK_THROWS_WITH_AS(grouped_bar_chart({"a", "b"}, {{"x", {1}}}),
                         doctest::Contains("grouped_bar_chart: series 'x' has 1 values"), Error);
    CHECK_THROWS_WITH_AS(grouped_bar_chart({"a"}, {{"x", {1}, {0.1, 0.2}}}), doctest::Contains("2 errors"), Error);
    CHECK_THROWS_WITH_AS(grouped_bar_chart({"a"}, {{"x", {1}, {}, {true, false}}}), doctest::Contains("2 marks"), Error);
    CHECK_THROWS_WITH_AS(grouped_bar_chart({"a"}, {{"x", {1}, {-0.1}}}), doctest::Contains("negative error"), Error);
    CHECK_THROWS_WITH_AS(grouped_bar_chart({}, {{"x", {}}}), doctest::Contains("at least one group"), Error);
    CHECK_THROWS_AS(grouped_bar_chart({"a"}, {}), Error);
  }
}
