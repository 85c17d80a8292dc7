// Concept measures on hand-made images whose answers are worked out by hand: colorfulness, OpenCV's
// hue and the colorness bands, skimage's documented GLCM example, stroke area.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "xai/concept_measures.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

namespace {
// One row of RGB pixels given on the 0..255 scale: a [3, 1, P] image in [0, 1].
Tensor rgb_row(const std::vector<std::array<int, 3>>& pixels) {
  const auto p = static_cast<std::int64_t>(pixels.size());
  std::vector<double> v(3 * pixels.size());
  for (std::size_t i = 0; i < pixels.size(); ++i)
    for (std::size_t c = 0; c < 3; ++c) v[c * pixels.size() + i] = pixels[i][c] / 255.0;
  return f64(v, {3, 1, p});
}
double only(const Tensor& t) { return t.to_vector<double>().at(0); }
}  // namespace

TEST_SUITE("xai_concepts") {

TEST_CASE("colorfulness: gray is 0, one and two colours by hand, batches") {
  CHECK(only(colorfulness(f64({0.1, 0.5, 0.9, 0.3}, {1, 2, 2}))) == 0);
  // R = G = B: gray in RGB (up to rounding: 90/255·255 need not be 90 exactly).
  CHECK(only(colorfulness(rgb_row({{90, 90, 90}, {200, 200, 200}}))) == doctest::Approx(0).epsilon(1e-12));
  // Red then blue: rg = 255, 0 (μ 127.5, σ 127.5); yb = 127.5, 255 (μ 191.25, σ 63.75).
  const double two = std::sqrt(127.5 * 127.5 + 63.75 * 63.75) + 0.3 * std::sqrt(127.5 * 127.5 + 191.25 * 191.25);
  const Tensor red_blue = rgb_row({{255, 0, 0}, {0, 0, 255}});
  CHECK(colorfulness(red_blue).dim() == 0);
  CHECK(only(colorfulness(red_blue)) == doctest::Approx(two).epsilon(1e-12));
  // All red: no spread, only the mean term.
  const Tensor red = rgb_row({{255, 0, 0}, {255, 0, 0}});
  CHECK(only(colorfulness(red)) == doctest::Approx(0.3 * std::sqrt(255.0 * 255 + 127.5 * 127.5)).epsilon(1e-12));
  const Tensor batch = stack({red_blue, red, rgb_row({{7, 7, 7}, {9, 9, 9}})}, 0);
  const Tensor c = colorfulness(batch);
  CHECK(c.shape() == Shape{3});
  CHECK(c.dtype() == DType::float64);
  CHECK_VALUES(c, {two, 0.3 * std::sqrt(255.0 * 255 + 127.5 * 127.5), 0.0}, 1e-12);
  CHECK(colorfulness(zeros({0, 3, 2, 2})).shape() == Shape{0});
}

TEST_CASE("opencv_hsv: OpenCV's 8-bit hue, saturation and value") {
  auto hsv = [](int r, int g, int b) {
    const Hsv c = opencv_hsv(std::uint8_t(r), std::uint8_t(g), std::uint8_t(b));
    return std::array<int, 3>{c.h, c.s, c.v};
  };
  CHECK(hsv(255, 0, 0) == std::array<int, 3>{0, 255, 255});
  CHECK(hsv(0, 255, 0) == std::array<int, 3>{60, 255, 255});
  CHECK(hsv(0, 0, 255) == std::array<int, 3>{120, 255, 255});
  CHECK(hsv(255, 255, 0) == std::array<int, 3>{30, 255, 255});
  CHECK(hsv(0, 0, 0) == std::array<int, 3>{0, 0, 0});
  CHECK(hsv(128, 128, 128) == std::array<int, 3>{0, 0, 128});
  // Fixed point: (g − b)·482 + 2048 >> 12 (482 = round(180·4096 / (6·255))), floored, +180 if negative.
  CHECK(hsv(255, 0, 128)[0] == 165);   // −128·482 + 2048 = −59648 → −15 → 165
  CHECK(hsv(255, 0, 140)[0] == 164);   // −65432 → −16 → 164
  CHECK(hsv(255, 85, 0)[0] == 10);     // 43018 → 10
  CHECK(hsv(255, 80, 0)[0] == 9);      // 40608 → 9
  CHECK(hsv(255, 205, 205)[1] == 50);  // diff 50 · 4096 / 4096
  CHECK(hsv(77, 0, 0)[1] == 255);      // 77 · round(255·4096/77) = 77 · 13565 → 255
}

TEST_CASE("colorness: pixels land in their bands; dark and unsaturated pixels are not counted") {
  const Tensor img = rgb_row({
      {255, 0, 0},      // h 0: red
      {0, 255, 0},      // h 60: green
      {0, 0, 255},      // h 120: blue
      {255, 0, 128},    // h 165: red (the band wraps round: 165..180 and 0..10)
      {255, 0, 140},    // h 164: magenta
      {200, 200, 200},  // S 0: not counted
      {76, 0, 0},       // V 76 < 77: not counted
      {255, 210, 210},  // S 45 < 50: not counted
  });
  CHECK(only(colorness(img, Hue::red)) == 2.0 / 8);
  CHECK(only(colorness(img, Hue::green)) == 1.0 / 8);
  CHECK(only(colorness(img, Hue::blue)) == 1.0 / 8);
  CHECK(only(colorness(img, Hue::magenta)) == 1.0 / 8);
  for (Hue h : {Hue::orange, Hue::yellow, Hue::cyan, Hue::purple}) CHECK(only(colorness(img, h)) == 0);

  // The thresholds are inclusive (S ≥ 50, V ≥ 77), the bands half-open [lo, hi).
  const Tensor edges = rgb_row({{77, 0, 0}, {255, 205, 205}, {255, 85, 0}, {255, 80, 0}});
  CHECK(only(colorness(edges, Hue::red)) == 3.0 / 4);  // (255, 80, 0) has h 9
  CHECK(only(colorness(edges, Hue::orange)) == 1.0 / 4);

  // The bands partition the hue circle: every counted pixel is in exactly one.
  double total = 0;
  for (Hue h : {Hue::red, Hue::orange, Hue::yellow, Hue::green, Hue::cyan, Hue::blue, Hue::purple, Hue::magenta})
    total += only(colorness(img, h));
  CHECK(total == doctest::Approx(5.0 / 8));

  const Tensor batch = stack({img, rgb_row({{0, 255, 0}, {0, 200, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0},
                                            {0, 0, 0}, {0, 0, 0}})},
                             0);
  const Tensor g = colorness(batch, Hue::green);
  CHECK(g.shape() == Shape{2});
  CHECK_VALUES(g, {1.0 / 8, 2.0 / 8}, 0);
  // Quantised by round(x·255), halves to even: 0.999 → 255; 0.3 → 76.5 → 76, too dark (V < 77).
  CHECK(only(colorness(f64({0.999, 0.3, 0, 0, 0, 0}, {3, 1, 2}), Hue::red)) == 1.0 / 2);
}

TEST_CASE("hue_name") {
  CHECK(std::string(hue_name(Hue::red)) == "red");
  CHECK(std::string(hue_name(Hue::cyan)) == "cyan");
  CHECK(std::string(hue_name(Hue::magenta)) == "magenta");
}

TEST_CASE("haralick: skimage's documented example") {
  // skimage's graycomatrix docstring: this image, levels 4, distance 1, angle 0 has the GLCM
  // [[2,2,1,0],[0,2,0,0],[0,0,3,1],[0,0,0,1]]; symmetric: G + Gᵀ = [[4,2,1,0],[2,4,0,0],[1,0,6,1],[0,0,1,2]],
  // 24 pairs. Off the diagonal: 2 pairs at |i−j| = 1 twice ((0,1),(2,3)) and 1 pair at |i−j| = 2, each both ways.
  const std::vector<double> levels = {0, 0, 1, 1, 0, 0, 1, 1, 0, 2, 2, 2, 2, 2, 3, 3};
  std::vector<double> x;
  for (double v : levels) x.push_back(v / 3);
  const double contrast = (2 * 2 * 1 + 2 * 1 * 4 + 2 * 1 * 1) / 24.0;                  // 14/24
  const double dissimilarity = (2 * 2 * 1 + 2 * 1 * 2 + 2 * 1 * 1) / 24.0;             // 10/24
  const double homogeneity = (16 + 2 * 2 / 2.0 + 2 * 1 / 5.0 + 2 * 1 / 2.0) / 24.0;    // 19.4/24
  const double asm_ = (16 + 4 + 1 + 4 + 16 + 1 + 36 + 1 + 1 + 4) / 576.0;              // 84/576
  // Row sums 7, 6, 8, 3: μ = 31/24, E[i²] = 65/24, E[ij] = (4 + 24 + 6 + 6 + 18)/24 = 58/24.
  const double mu = 31 / 24.0, var = 65 / 24.0 - mu * mu, cov = 58 / 24.0 - mu * mu;
  for (const Tensor& img : {f64(x, {1, 4, 4}), f64(x, {4, 4})}) {
    const Haralick h = haralick(img, 4);
    CHECK(h.contrast == doctest::Approx(contrast).epsilon(1e-12));
    CHECK(h.dissimilarity == doctest::Approx(dissimilarity).epsilon(1e-12));
    CHECK(h.homogeneity == doctest::Approx(homogeneity).epsilon(1e-12));
    CHECK(h.asm_ == doctest::Approx(asm_).epsilon(1e-12));
    CHECK(h.energy == doctest::Approx(std::sqrt(asm_)).epsilon(1e-12));
    CHECK(h.correlation == doctest::Approx(cov / var).epsilon(1e-12));
    CHECK(h.correlation == doctest::Approx(431.0 / 599.0).epsilon(1e-12));
  }
}

TEST_CASE("haralick: constant image, two levels, RGB to gray and quantisation") {
  const Haralick c = haralick(full({3, 5, 6}, 0.4, {.dtype = DType::float32}));
  CHECK(c.contrast == 0);
  CHECK(c.dissimilarity == 0);
  CHECK(c.homogeneity == 1);
  CHECK(c.asm_ == 1);
  CHECK(c.energy == 1);
  CHECK(c.correlation == 1);  // zero variance: skimage's 1

  // [[0, 1]]: P = [[0, ½], [½, 0]]: contrast = dissimilarity = (levels − 1)^{1 or 2}, correlation −1.
  const Haralick two = haralick(f64({0, 1}, {1, 2}), 2);
  CHECK(two.contrast == 1);
  CHECK(two.dissimilarity == 1);
  CHECK(two.homogeneity == 0.5);
  CHECK(two.asm_ == 0.5);
  CHECK(two.correlation == doctest::Approx(-1));
  const Haralick wide = haralick(f64({0, 1}, {1, 2}));  // 256 levels: 0 and 255
  CHECK(wide.contrast == 255.0 * 255);
  CHECK(wide.dissimilarity == 255);

  // RGB (1, 0, 0) has gray 0.299: floor(0.299·10 + 0.5) = 3; (0, 0, 1) has 0.114 → 1. |3 − 1| = 2.
  const Haralick rgb = haralick(f64({1, 0, 0, 0, 0, 1}, {3, 1, 2}), 11);
  CHECK(rgb.dissimilarity == doctest::Approx(2));
  CHECK(rgb.contrast == doctest::Approx(4));
}

TEST_CASE("stroke_area: fraction above the threshold, gray from RGB") {
  const Tensor digits = f64({0, 0.6, 0.5, 1, 0, 0, 0, 0.2}, {2, 1, 2, 2});
  const Tensor a = stroke_area(digits);
  CHECK(a.shape() == Shape{2});
  CHECK_VALUES(a, {0.5, 0.0}, 0);  // 0.5 itself is not above 0.5
  CHECK_VALUES(stroke_area(digits, 0.1), {0.75, 0.25}, 0);
  CHECK(stroke_area(digits[0]).dim() == 0);
  // Gray of red, green, blue, white: 0.299, 0.587, 0.114, 1.
  const Tensor rgb = rgb_row({{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}});
  CHECK(only(stroke_area(rgb)) == 0.5);
  CHECK(only(stroke_area(rgb, 0.2)) == 0.75);
  CHECK(only(stroke_area(rgb, 0.1)) == 1.0);
}

TEST_CASE("concept measures: bad input") {
  const Tensor rgb = rgb_row({{1, 2, 3}});
  CHECK_THROWS_WITH_AS(colorfulness(zeros({4, 4})), Catch("colorfulness: expected images [C, H, W] or [N, C, H, W]"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(colorfulness(Tensor()), Catch("colorfulness: expected images"), lumen::Error);
  CHECK_THROWS_WITH_AS(colorfulness(zeros({2, 4, 4})), Catch("expected 1 (gray) or 3 (RGB) channels"), lumen::Error);
  CHECK_THROWS_WITH_AS(colorfulness(f64({0, 1.5, 0}, {3, 1, 1})), Catch("expected values in [0, 1]"), lumen::Error);
  CHECK_THROWS_WITH_AS(stroke_area(f64({std::nan("")}, {1, 1, 1})), Catch("expected values in [0, 1]"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(stroke_area(zeros({1, 2, 2}, {.dtype = DType::int64})), Catch("expected floating-point"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(stroke_area(zeros({1, 2, 2}), std::nan("")), Catch("stroke_area: expected a threshold"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(colorness(zeros({1, 2, 2}), Hue::red), Catch("colorness: expected RGB images"), lumen::Error);
  CHECK_THROWS_WITH_AS(colorness(zeros({3, 0, 2}), Hue::red), Catch("at least 1×1 pixels"), lumen::Error);
  CHECK_THROWS_WITH_AS(haralick(zeros({2, 1, 4, 4})), Catch("haralick: expected one image [C, H, W] or [H, W], got a batch"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(haralick(zeros({1, 4, 1})), Catch("haralick: expected width >= 2"), lumen::Error);
  CHECK_THROWS_WITH_AS(haralick(zeros({3}), 4), Catch("haralick: expected an image [C, H, W] or [H, W]"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(haralick(zeros({4, 4}), 1), Catch("haralick: expected levels in [2, 65536]"), lumen::Error);
  CHECK_THROWS_WITH_AS(haralick(zeros({4, 4}), 65537), Catch("expected levels in [2, 65536]"), lumen::Error);
  CHECK_NOTHROW(colorfulness(rgb));
}

}  // TEST_SUITE
