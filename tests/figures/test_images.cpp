// The figure code (figures/): colormaps against matplotlib's control colors, text images, labelled
// grids checked pixel by pixel where the layout is known (text sizes come from the font's metrics),
// and PNGs read back with read_png. save_png, make_grid,
// upscale and the confusion matrix are also covered in tests/nn/test_models.cpp.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "figures/canvas.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "figures/plot.h"
#include "figures/png.h"
#include "tests/figures/pixel_checks.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using namespace lumen::figures;
namespace fd = lumen::figures::detail;
using fd::Canvas;
using lumen::testing::TempDir;
using lumen::testing::pixels::at;
using lumen::testing::pixels::count_not;
using lumen::testing::pixels::near;
using lumen::testing::pixels::Rgb;

TEST_SUITE("figures") {
  TEST_CASE("colormaps: endpoints and midpoints") {
    CHECK(colormap(Colormap::bwr, 0.0) == Rgb{0, 0, 1});
    CHECK(colormap(Colormap::bwr, 0.5) == Rgb{1, 1, 1});
    CHECK(colormap(Colormap::bwr, 1.0) == Rgb{1, 0, 0});
    CHECK(near(colormap(Colormap::bwr, 0.25), {0.5f, 0.5f, 1}));
    CHECK(colormap(Colormap::bwr, 7.0) == Rgb{1, 0, 0});  // clamped
    CHECK(colormap(Colormap::bwr, NAN) == Rgb{0, 0, 1});
    CHECK(near(colormap(Colormap::gray, 0.3), {0.3f, 0.3f, 0.3f}));
    CHECK(colormap(Colormap::hot, 0.0) == Rgb{0, 0, 0});
    CHECK(colormap(Colormap::hot, 1.0) == Rgb{1, 1, 1});
    CHECK(near(colormap(Colormap::viridis, 0.0), {0.267004f, 0.004874f, 0.329415f}));
    CHECK(near(colormap(Colormap::viridis, 0.5), {0.127568f, 0.566949f, 0.550556f}));
    CHECK(near(colormap(Colormap::viridis, 1.0), {0.993248f, 0.906157f, 0.143936f}));
    CHECK(colormap(Colormap::blues, 1.0) == blues(1.0));
    // Sequential maps get darker (lower luminance) as t grows, except viridis and hot, which brighten.
    auto lum = [](Rgb c) { return 0.3f * c[0] + 0.59f * c[1] + 0.11f * c[2]; };
    for (Colormap c : {Colormap::greens, Colormap::reds, Colormap::blues})
      for (int i = 0; i < 10; ++i) CHECK(lum(colormap(c, i / 10.0)) > lum(colormap(c, (i + 1) / 10.0)));
    for (Colormap c : {Colormap::viridis, Colormap::hot, Colormap::gray})
      for (int i = 0; i < 10; ++i) CHECK(lum(colormap(c, i / 10.0)) < lum(colormap(c, (i + 1) / 10.0)));
  }

  TEST_CASE("colormaps: inferno against matplotlib's table") {
    // Rows 0, 120 and 255 of matplotlib's _inferno_data (t = 0, 8/17, 1: control colors, exact) and row 128
    // (t = 128/255, between two control colors: the piecewise-linear map is within 0.021 of the table).
    CHECK(near(colormap(Colormap::inferno, 0.0), {0.001462f, 0.000466f, 0.013866f}));
    CHECK(near(colormap(Colormap::inferno, 8.0 / 17.0), {0.688653f, 0.192239f, 0.357603f}));
    CHECK(near(colormap(Colormap::inferno, 1.0), {0.988362f, 0.998364f, 0.644924f}));
    CHECK(near(colormap(Colormap::inferno, 128.0 / 255.0), {0.735683f, 0.215906f, 0.330245f}, 0.021f));
    CHECK(colormap(Colormap::inferno, -3.0) == colormap(Colormap::inferno, 0.0));  // clamped
    // Black to pale yellow, brightening all the way (matplotlib designed it with monotonic lightness).
    auto lum = [](Rgb c) { return 0.2126f * c[0] + 0.7152f * c[1] + 0.0722f * c[2]; };
    for (int i = 0; i < 100; ++i)
      CHECK(lum(colormap(Colormap::inferno, i / 100.0)) < lum(colormap(Colormap::inferno, (i + 1) / 100.0)));
  }

  TEST_CASE("colorize: shapes and pixel colors") {
    Tensor img = colorize(tensor({-1, 0, 1}, {1, 3}), Colormap::bwr, -1, 1);
    CHECK(img.shape() == Shape{3, 1, 3});
    CHECK(at(img, 0, 0) == Rgb{0, 0, 1});
    CHECK(at(img, 0, 1) == Rgb{1, 1, 1});
    CHECK(at(img, 0, 2) == Rgb{1, 0, 0});
    CHECK_THROWS_WITH_AS(colorize(ones({2, 2}), Colormap::bwr, 1, 1), doctest::Contains("vmax > vmin"), Error);
    CHECK_THROWS_AS(colorize(ones({3, 2, 2}), Colormap::bwr), Error);
  }

  TEST_CASE("colorbar: the colors run monotonically from vmin at the bottom to vmax at the top") {
    Tensor bar = colorbar(Colormap::bwr, -1, 1, 101, 10);
    REQUIRE(bar.dim() == 3);
    CHECK(bar.size(1) == 101);
    CHECK(bar.size(2) > 10 + 3 + 5);  // room for the tick labels
    CHECK(at(bar, 0, 0) == Rgb{1, 0, 0});
    CHECK(at(bar, 50, 5) == Rgb{1, 1, 1});
    CHECK(at(bar, 100, 9) == Rgb{0, 0, 1});
    for (std::int64_t y = 1; y < 101; ++y) {
      CHECK(at(bar, y, 0)[0] <= at(bar, y - 1, 0)[0]);  // red grows upwards
      CHECK(at(bar, y, 0)[2] >= at(bar, y - 1, 0)[2]);  // blue grows downwards
    }
    CHECK(count_not(bar, 0, 101, 13, bar.size(2)) > 20);  // tick labels are drawn
    CHECK_THROWS_AS(colorbar(Colormap::bwr, 1, 1, 100), Error);
    CHECK_THROWS_AS(colorbar(Colormap::bwr, 0, 1, 1), Error);
  }

  TEST_CASE("text_image: as big as the font's metrics say") {
    // font_scale 2 is 22 pixels to the em: a line's box is ascent + descent tall, its advance wide.
    const fd::FontMetrics m = fd::font_metrics(22), m11 = fd::font_metrics(11);
    Tensor t = text_image("Hi", 2, 2);
    CHECK(t.shape() == Shape{3, m.ascent + m.descent + 4, Canvas::text_width("Hi", 22) + 4});
    CHECK(at(t, 0, 0) == Rgb{1, 1, 1});
    CHECK(count_not(t, 0, t.size(1), 0, t.size(2)) > 20);
    // H's left stem: dark from the capitals' top to the baseline, a couple of pixels in.
    std::int64_t stem = 0;
    for (std::int64_t y = 2 + m.ascent - m.cap_height; y < 2 + m.ascent; ++y) stem += at(t, y, 2 + 2)[0] < 0.5f;
    CHECK(stem >= m.cap_height - 2);
    CHECK(text_image("a\nb", 1, 0).size(1) == m11.advance + m11.ascent + m11.descent);
    CHECK(text_image("\xc3\xa9", 1, 0).size(2) > 0);  // UTF-8: é
    CHECK(text_image("", 1, 3).shape() == Shape{3, 6, 6});
  }

  TEST_CASE("labelled_grid: layout, titles and labels") {
    const std::int64_t pad = 4;
    std::vector<std::vector<Tensor>> rows = {{full({28, 28}, 0.5), ones({3, 28, 28}) * 0.25, zeros({1, 28, 28})},
                                             {full({28, 28}, 0.5), Tensor(), zeros({1, 28, 28})}};
    // Short titles fit on one line at the requested scale 2 (22 pixels).
    Tensor fig = labelled_grid(rows, {"a", "b", "c"}, {"digit 3", "digit 7"}, {.upscale = 2, .padding = pad});
    const std::int64_t label_w = Canvas::text_width("digit 3", 22), title_h = Canvas::text_height("a", 22);
    const std::int64_t x_left = pad + label_w + pad, y_top = pad + title_h + pad;
    CHECK(fig.shape() == Shape{3, y_top + 2 * (56 + pad), x_left + 3 * (56 + pad)});
    CHECK(near(at(fig, y_top + 10, x_left + 10), {0.5f, 0.5f, 0.5f}));            // image (0, 0), upscaled
    CHECK(near(at(fig, y_top + 55, x_left + 60 + 55), {0.25f, 0.25f, 0.25f}));    // image (0, 1)'s last pixel
    CHECK(at(fig, y_top + 60 + 10, x_left + 60 + 10) == Rgb{1, 1, 1});            // the empty cell
    CHECK(count_not(fig, pad, pad + title_h, x_left, x_left + 56) > 10);          // "a" above column 0
    CHECK(count_not(fig, 0, pad - 1, 0, fig.size(2)) == 0);                       // nothing above the titles
    CHECK(count_not(fig, pad + title_h + 1, y_top, 0, fig.size(2)) == 0);         // nor between them and the images
    CHECK(count_not(fig, y_top, y_top + 56, pad, pad + label_w) > 20);            // a row label
    CHECK(count_not(fig, y_top, fig.size(1), 0, pad - 1) == 0);                   // left margin

    // Titles wider than a 56-pixel column shrink a pixel at a time until each word fits; then
    // "IG (blurred)" needs two lines.
    double size = 22;
    while (Canvas::text_width("(blurred)", size) > 56 || Canvas::text_width("original", size) > 56 ||
           Canvas::text_width("p(3)=0.91", size) > 56)
      size -= 1;
    REQUIRE(size >= 9);
    REQUIRE(Canvas::text_width("IG (blurred)", size) > 56);
    Tensor wrapped = labelled_grid(rows, {"original", "IG (blurred)", "p(3)=0.91"}, {}, {.upscale = 2});
    const std::int64_t two_lines = Canvas::text_height("IG\n(blurred)", size);
    CHECK(two_lines == fd::font_metrics(size).advance + Canvas::text_height("IG", size));
    CHECK(wrapped.shape() == Shape{3, pad + two_lines + pad + 2 * 60, pad + 3 * 60});
    CHECK(count_not(wrapped, pad, pad + two_lines, pad + 60, pad + 60 + 56) > 20);
    // cell: 28 → ×4 for a 112-pixel cell; a long title wraps over as many lines as it needs.
    Tensor big = labelled_grid({{zeros({28, 28})}}, {"a rather long title for such a small image"}, {},
                               {.cell = 112, .padding = 0, .title = "Figure"});
    CHECK(big.size(2) == 112);
    CHECK(big.size(1) > 112 + 2 * 20);

    CHECK_THROWS_WITH_AS(labelled_grid(rows, {"a", "b"}), doctest::Contains("3 column titles"), Error);
    CHECK_THROWS_AS(labelled_grid(rows, {}, {"only one"}), Error);
    CHECK_THROWS_AS(labelled_grid({}), Error);
    CHECK_THROWS_AS(labelled_grid({{ones({2, 4, 4})}}), Error);  // 2 channels
  }

  TEST_CASE("read_png: save_png's bytes back as [C, H, W] in [0, 1]") {
    TempDir dir("figures");
    Tensor x = arange(12).to(DType::float32).reshape({1, 3, 4}) / 11.0;
    Tensor rgb = cat({x, 1.0 - x, full({1, 3, 4}, 0.5)}, 0);
    const std::string path = dir / "rgb.png";
    save_png(path, rgb);
    Tensor back = read_png(path);
    CHECK(back.shape() == Shape{3, 3, 4});
    CHECK(back.dtype() == DType::float32);
    const auto want = rgb.to_vector<float>(), got = back.to_vector<float>();
    for (std::size_t i = 0; i < want.size(); ++i)  // 8 bits: within half a step of 1/255
      CHECK(std::abs(got[i] - want[i]) <= 0.5f / 255.0f + 1e-6f);
    save_png(dir / "gray.png", full({2, 5}, 1.0));
    CHECK(read_png(dir / "gray.png").shape() == Shape{1, 2, 5});
    CHECK(read_png(dir / "gray.png").to_vector<float>() == std::vector<float>(10, 1.0f));
    CHECK_THROWS_WITH_AS(read_png(dir / "missing.png"), doctest::Contains("missing.png"), Error);
  }
}
