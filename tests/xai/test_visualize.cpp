// Visualising attributions (xai/visualize.h) and plotting curves (xai/plot.h): normalisation and
// colormaps against hand-computed values, and the rendered figures checked pixel by pixel where the
// layout is known (text sizes come from text_image, which uses the same font).
#include <doctest/doctest.h>
#include <stb_image.h>  // the implementation is in libstb

#include <cmath>
#include <numeric>

#include "autograd/ops.h"
#include "tests/fixtures/fixtures.h"
#include "xai/image.h"
#include "xai/plot.h"
#include "xai/visualize.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::TempDir;

namespace {

using Rgb = std::array<float, 3>;

// Pixel (y, x) of an RGB image [3, H, W].
Rgb at(const Tensor& img, std::int64_t y, std::int64_t x) {
  const std::int64_t h = img.size(1), w = img.size(2);
  const float* p = img.contiguous().data<float>();
  return {p[y * w + x], p[(h + y) * w + x], p[(2 * h + y) * w + x]};
}

bool near(Rgb a, Rgb b, float tol = 1e-5f) {
  for (int k = 0; k < 3; ++k)
    if (std::abs(a[k] - b[k]) > tol) return false;
  return true;
}

// Pixels in rows [y0, y1) × columns [x0, x1) that are not `bg`.
std::int64_t count_not(const Tensor& img, std::int64_t y0, std::int64_t y1, std::int64_t x0, std::int64_t x1,
                       Rgb bg = {1, 1, 1}) {
  std::int64_t n = 0;
  for (std::int64_t y = y0; y < y1; ++y)
    for (std::int64_t x = x0; x < x1; ++x) n += !near(at(img, y, x), bg);
  return n;
}

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace

TEST_SUITE("xai_visualize") {
  TEST_CASE("normalize_attribution: each sign mode against hand-computed values") {
    Tensor a = tensor({-2, 1, 0, 4}, {1, 4});
    // Nonzero magnitudes {1, 2, 4}; with no outliers removed the scale is the largest.
    CHECK(values(normalize_attribution(a, Sign::all, 0)) == std::vector<float>{-0.5f, 0.25f, 0, 1});
    CHECK(values(normalize_attribution(a, Sign::absolute, 0)) == std::vector<float>{0.5f, 0.25f, 0, 1});
    CHECK(values(normalize_attribution(a, Sign::positive, 0)) == std::vector<float>{0, 0.25f, 0, 1});
    CHECK(values(normalize_attribution(a, Sign::negative, 0)) == std::vector<float>{1, 0, 0, 0});
    // The 50th percentile of {1, 2, 4} is 2: the 4 saturates, and -2 reaches -1.
    CHECK(values(normalize_attribution(a, Sign::all, 50)) == std::vector<float>{-1, 0.5f, 0, 1});
    // The 75th: position 1.5 between 2 and 4 → 3.
    CHECK(values(normalize_attribution(a, Sign::absolute, 25))[1] == doctest::Approx(1.0 / 3.0));
    CHECK(normalize_attribution(a).shape() == Shape{1, 4});
  }

  TEST_CASE("normalize_attribution: the outlier percentile clips the largest values") {
    // 1..100 on a 10×10 map: the 98th percentile (linear interpolation) is 1 + 0.98·99 = 98.02.
    Tensor a = arange(100).to(DType::float32).reshape({10, 10}) + 1.0;
    auto m = values(normalize_attribution(a, Sign::absolute, 2.0));
    CHECK(m[49] == doctest::Approx(50.0 / 98.02));
    CHECK(m[97] == doctest::Approx(98.0 / 98.02));
    CHECK(m[98] == 1.0f);  // 99 and 100 are the clipped outliers
    CHECK(m[99] == 1.0f);
    CHECK(*std::max_element(m.begin(), m.end()) == 1.0f);
    // Negative values are scaled by their own magnitudes' percentile.
    auto n = values(normalize_attribution(-a, Sign::all, 2.0));
    CHECK(n[49] == doctest::Approx(-50.0 / 98.02));
    CHECK(n[99] == -1.0f);
  }

  TEST_CASE("normalize_attribution: channels are summed; zero maps stay zero") {
    // Two channels {1, -3} and {2, 1}: sums {3, -2}.
    Tensor a = tensor({1, -3, 2, 1}, {2, 1, 2});
    CHECK(values(normalize_attribution(a, Sign::all, 0)) == std::vector<float>{1, -2.0f / 3.0f});
    CHECK(values(normalize_attribution(a, Sign::absolute, 0)) == std::vector<float>{1, 2.0f / 3.0f});
    CHECK(normalize_attribution(a.unsqueeze(0), Sign::all, 0).shape() == Shape{1, 2});  // [1, C, H, W]
    CHECK(normalize_attribution(a.to(DType::float64), Sign::all, 0).dtype() == DType::float32);

    for (Sign s : {Sign::all, Sign::positive, Sign::negative, Sign::absolute})
      CHECK(values(normalize_attribution(zeros({3, 2, 2}), s)) == std::vector<float>(4, 0.0f));
    // Nothing of the selected sign: zeros too, not NaN.
    CHECK(values(normalize_attribution(full({2, 2}, -1.0), Sign::positive)) == std::vector<float>(4, 0.0f));
    // A sparse map is not divided by a zero percentile.
    Tensor sparse = zeros({10, 10});
    sparse.data<float>()[7] = 5.0f;
    CHECK(values(normalize_attribution(sparse, Sign::absolute, 2.0))[7] == 1.0f);
  }

  TEST_CASE("normalize_attribution: bad inputs throw") {
    CHECK_THROWS_WITH_AS(normalize_attribution(ones({2, 2}), Sign::all, -1.0), doctest::Contains("outlier_percentile"),
                         Error);
    CHECK_THROWS_AS(normalize_attribution(ones({2, 2}), Sign::all, 100.0), Error);
    CHECK_THROWS_AS(normalize_attribution(ones({4}), Sign::all), Error);
    CHECK_THROWS_AS(normalize_attribution(ones({2, 1, 3, 3}), Sign::all), Error);  // a batch of 2
    CHECK_THROWS_AS(normalize_attribution(Tensor(), Sign::all), Error);
  }

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
    CHECK(default_colormap(Sign::all) == Colormap::bwr);
  }

  TEST_CASE("colorize and heatmap: shapes and pixel colors") {
    Tensor img = colorize(tensor({-1, 0, 1}, {1, 3}), Colormap::bwr, -1, 1);
    CHECK(img.shape() == Shape{3, 1, 3});
    CHECK(at(img, 0, 0) == Rgb{0, 0, 1});
    CHECK(at(img, 0, 1) == Rgb{1, 1, 1});
    CHECK(at(img, 0, 2) == Rgb{1, 0, 0});
    CHECK_THROWS_WITH_AS(colorize(ones({2, 2}), Colormap::bwr, 1, 1), doctest::Contains("vmax > vmin"), Error);
    CHECK_THROWS_AS(colorize(ones({3, 2, 2}), Colormap::bwr), Error);

    Tensor a = tensor({-2, 1, 0, 4}, {1, 4});
    Tensor h = heatmap(a, Sign::all, {.outlier_percentile = 0});
    CHECK(h.shape() == Shape{3, 1, 4});
    CHECK(near(at(h, 0, 0), {0.5f, 0.5f, 1}));  // -0.5 on [-1, 1]
    CHECK(at(h, 0, 2) == Rgb{1, 1, 1});         // no attribution is white
    CHECK(at(h, 0, 3) == Rgb{1, 0, 0});
    Tensor g = heatmap(a, Sign::absolute, {.outlier_percentile = 0, .cmap = Colormap::gray});
    CHECK(near(at(g, 0, 0), {0.5f, 0.5f, 0.5f}));
    CHECK(heatmap(ones({3, 5, 7})).shape() == Shape{3, 5, 7});
  }

  TEST_CASE("overlay and masked_image: blending with the image in grayscale") {
    // One RGB pixel value everywhere, (0.3, 0.6, 0.9): gray level 0.6.
    Tensor image = cat({full({1, 1, 4}, 0.3), full({1, 1, 4}, 0.6), full({1, 1, 4}, 0.9)}, 0);
    Tensor a = tensor({-2, 1, 0, 4}, {1, 4});
    Tensor o = overlay(image, a, Sign::all, 0.5, {.outlier_percentile = 0});
    CHECK(o.shape() == Shape{3, 1, 4});
    CHECK(near(at(o, 0, 3), {0.8f, 0.3f, 0.3f}));  // half gray 0.6, half red
    CHECK(near(at(o, 0, 2), {0.8f, 0.8f, 0.8f}));  // half gray, half white
    CHECK(near(at(overlay(image, a, Sign::all, 0.0), 0, 0), {0.6f, 0.6f, 0.6f}));

    Tensor m = masked_image(ones({1, 4}), a, Sign::absolute, 0);
    CHECK(m.shape() == Shape{3, 1, 4});
    CHECK(values(m.select(0, 2)) == std::vector<float>{0.5f, 0.25f, 0, 1});

    CHECK_THROWS_WITH_AS(overlay(ones({3, 2, 5}), a), doctest::Contains("differ"), Error);
    CHECK_THROWS_AS(overlay(image, a, Sign::all, 1.5), Error);
    CHECK_THROWS_AS(overlay(ones({2, 1, 4}), a), Error);  // 2 channels
    CHECK_THROWS_AS(masked_image(ones({3, 1, 3}), a), Error);
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

  TEST_CASE("text_image: the font's size and characters outside ASCII") {
    // "Hi": H is 4 font pixels wide, advances 6, then i's single column: 7 wide, 9 tall (descenders).
    Tensor t = text_image("Hi", 2, 2);
    CHECK(t.shape() == Shape{3, 9 * 2 + 4, 7 * 2 + 4});
    CHECK(at(t, 0, 0) == Rgb{1, 1, 1});
    CHECK(near(at(t, 2, 2), {0.1f, 0.1f, 0.1f}));  // H's top-left stroke
    CHECK(count_not(t, 0, t.size(1), 0, t.size(2)) > 20);
    CHECK(text_image("a\nb", 1, 0).size(1) == 11 + 9);  // lines are 11 apart
    CHECK(text_image("\xc3\xa9", 1, 0).size(2) > 0);     // non-ASCII bytes draw as '?' instead of crashing
    CHECK(text_image("", 1, 3).shape() == Shape{3, 6, 6});
    // Every glyph complete, even quad-hungry ones after others ('0' advances 6, '.' 3: '8' starts at 9).
    Tensor eight = text_image("8", 1, 0), tail = text_image("0.8", 1, 0);
    CHECK(count_not(eight, 0, 9, 0, 4) == count_not(tail, 0, 9, 9, 13));
    CHECK(count_not(eight, 0, 9, 0, 4) >= 12);
  }

  TEST_CASE("labelled_grid: layout, titles and labels") {
    const std::int64_t pad = 4;
    std::vector<std::vector<Tensor>> rows = {{full({28, 28}, 0.5), ones({3, 28, 28}) * 0.25, zeros({1, 28, 28})},
                                             {full({28, 28}, 0.5), Tensor(), zeros({1, 28, 28})}};
    // Short titles fit on one line at the requested scale 2.
    Tensor fig = labelled_grid(rows, {"a", "b", "c"}, {"digit 3", "digit 7"}, {.upscale = 2, .padding = pad});
    const std::int64_t label_w = text_image("digit 3", 2, 0).size(2), title_h = 9 * 2;
    const std::int64_t x_left = pad + label_w + pad, y_top = pad + title_h + pad;
    CHECK(fig.shape() == Shape{3, y_top + 2 * (56 + pad), x_left + 3 * (56 + pad)});
    CHECK(near(at(fig, y_top + 10, x_left + 10), {0.5f, 0.5f, 0.5f}));            // image (0, 0), upscaled
    CHECK(near(at(fig, y_top + 55, x_left + 60 + 55), {0.25f, 0.25f, 0.25f}));    // image (0, 1)'s last pixel
    CHECK(at(fig, y_top + 60 + 10, x_left + 60 + 10) == Rgb{1, 1, 1});            // the empty cell
    CHECK(count_not(fig, pad, pad + title_h, x_left, x_left + 56) > 10);          // "a" above column 0
    CHECK(count_not(fig, 0, pad, 0, fig.size(2)) == 0);                           // nothing above the titles
    CHECK(count_not(fig, pad + title_h, y_top, 0, fig.size(2)) == 0);             // nor between them and the images
    CHECK(count_not(fig, y_top, y_top + 56, pad, pad + label_w) > 20);            // a row label
    CHECK(count_not(fig, y_top, fig.size(1), 0, pad) == 0);                       // left margin

    // Titles wider than a 56-pixel column: "(blurred)" only fits at scale 1, where the whole title
    // needs two lines.
    REQUIRE(text_image("(blurred)", 2, 0).size(2) > 56);
    REQUIRE(text_image("(blurred)", 1, 0).size(2) <= 56);
    REQUIRE(text_image("IG (blurred)", 1, 0).size(2) > 56);
    Tensor wrapped = labelled_grid(rows, {"original", "IG (blurred)", "p(3)=0.91"}, {}, {.upscale = 2});
    const std::int64_t two_lines = text_image("IG\n(blurred)", 1, 0).size(1);
    CHECK(two_lines == 20);
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

  TEST_CASE("figures round-trip through save_png") {
    TempDir dir("visualize");
    Tensor a = tensor({-2, 1, 0, 4}, {1, 4});
    Tensor fig = labelled_grid({{upscale(heatmap(a, Sign::all), 4), colorbar(Colormap::bwr, -1, 1, 40)}},
                               {"heat", "bar"}, {"row"});
    const std::string path = dir / "fig.png";
    save_png(path, fig);
    int w = 0, h = 0, comp = 0;
    unsigned char* px = stbi_load(path.c_str(), &w, &h, &comp, 0);
    REQUIRE(px != nullptr);
    CHECK((w == fig.size(2) && h == fig.size(1) && comp == 3));
    const auto v = fig.to_vector<float>();
    int worst = 0;
    for (std::int64_t k = 0; k < 3; ++k)
      for (std::int64_t i = 0; i < w * h; ++i)
        worst = std::max(worst, std::abs(px[i * 3 + k] - static_cast<int>(v[k * w * h + i] * 255.0f + 0.5f)));
    CHECK(worst == 0);
    stbi_image_free(px);
  }
}
