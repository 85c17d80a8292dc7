// Texture concept images (nn/textures.h): hand-computed stripes, straight lines and dot grids, the
// ink fraction of stripes and zigzags against their geometry, invariance under a shift by one period,
// blob counts, tinting, 0/1 values without antialiasing, reproducibility and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/textures.h"
#include "tests/test_util.h"

using namespace lumen;
using lumen::testing::val;
using Catch = doctest::Contains;

namespace {

// Pixel (i, j) of a single-channel [1, S, S] image.
struct Plane {
  std::vector<double> v;
  std::int64_t s;
  double at(std::int64_t i, std::int64_t j) const { return v[static_cast<std::size_t>(i * s + j)]; }
};
Plane plane(const Tensor& image) { return {val(image), image.size(-1)}; }

double mean_of(const Tensor& t) { return mean(t.to(DType::float64)).item(); }

// The largest |a(i, j) − b(i + di, j + dj)| and the fraction of pixels that differ, over the overlap.
std::pair<double, double> shift_difference(const Plane& p, std::int64_t di, std::int64_t dj) {
  double worst = 0;
  std::int64_t differing = 0, total = 0;
  for (std::int64_t i = 0; i + di < p.s; ++i)
    for (std::int64_t j = 0; j + dj < p.s; ++j) {
      const double d = std::abs(p.at(i, j) - p.at(i + di, j + dj));
      worst = std::max(worst, d);
      differing += d > 1e-6;
      ++total;
    }
  return {worst, static_cast<double>(differing) / static_cast<double>(total)};
}

// 4-connected blobs of pixels > 0.5.
int count_blobs(const Plane& p) {
  std::vector<char> seen(p.v.size(), 0);
  int blobs = 0;
  for (std::int64_t start = 0; start < p.s * p.s; ++start) {
    if (seen[start] || p.v[start] <= 0.5) continue;
    ++blobs;
    std::vector<std::int64_t> stack{start};
    seen[start] = 1;
    while (!stack.empty()) {
      const std::int64_t k = stack.back(), i = k / p.s, j = k % p.s;
      stack.pop_back();
      const std::int64_t next[4][2] = {{i - 1, j}, {i + 1, j}, {i, j - 1}, {i, j + 1}};
      for (const auto& n : next) {
        if (n[0] < 0 || n[0] >= p.s || n[1] < 0 || n[1] >= p.s) continue;
        const std::int64_t q = n[0] * p.s + n[1];
        if (!seen[q] && p.v[q] > 0.5) {
          seen[q] = 1;
          stack.push_back(q);
        }
      }
    }
  }
  return blobs;
}

bool only_zero_one(const Tensor& t) {
  for (double v : val(t))
    if (v != 0.0 && v != 1.0) return false;
  return true;
}
bool all_ones(const Tensor& t) {
  for (double v : val(t))
    if (v != 1.0) return false;
  return true;
}

const std::vector<std::string> kNames = {"stripes", "zigzags", "dots", "noise"};

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("textures: shapes, dtype and range of every kind") {
    for (const auto& name : kNames)
      for (std::int64_t channels : {1, 3}) {
        INFO(name << ", channels " << channels);
        Generator gen(1);
        Tensor x = nn::texture_images(name, 3, gen, {.size = 16, .channels = channels});
        CHECK(x.shape() == Shape{3, channels, 16, 16});
        CHECK(x.dtype() == DType::float32);
        auto v = val(x);
        CHECK(*std::min_element(v.begin(), v.end()) >= 0.0);
        CHECK(*std::max_element(v.begin(), v.end()) <= 1.0);
        CHECK(*std::max_element(v.begin(), v.end()) > 0.0);  // something is drawn
        CHECK(nn::texture_images(name, 0, gen).shape() == Shape{0, 1, 28, 28});
      }
    Generator gen(2);
    CHECK(nn::stripes(2, gen).shape() == Shape{2, 1, 28, 28});  // the defaults: Fashion-MNIST's shape
    CHECK(std::abs(mean_of(nn::noise_images(4, gen)) - 0.5) < 0.03);  // U(0, 1): σ of the mean ≈ 0.005
  }

  TEST_CASE("textures: the same seed gives the same images, another seed others") {
    for (const auto& name : kNames) {
      INFO(name);
      Generator a(5), b(5), c(6);
      Tensor x = nn::texture_images(name, 4, a);
      CHECK(val(x) == val(nn::texture_images(name, 4, b)));
      CHECK(val(x) != val(nn::texture_images(name, 4, c)));
      CHECK(val(x) != val(nn::texture_images(name, 4, a)));  // the generator moved on
    }
  }

  TEST_CASE("stripes_image: horizontal bands by hand, with and without antialiasing") {
    // Centre 8, period 8, duty 0.5: ink where (y − 8) mod 8 < 4, i.e. rows 0–3 and 8–11.
    for (bool aa : {false, true}) {
      Plane p = plane(nn::stripes_image(0.0, 8.0, 0.5, 0.0, {.size = 16, .antialias = aa}));
      for (std::int64_t i = 0; i < 16; ++i)
        for (std::int64_t j = 0; j < 16; ++j) CHECK(p.at(i, j) == ((i % 8) < 4 ? 1.0 : 0.0));
    }
    // phase 1/16 moves the bands up by half a pixel: ink on y in [7.5, 11.5) + 8k, so rows 3, 7, 11
    // and 15 are half covered.
    Plane p = plane(nn::stripes_image(0.0, 8.0, 0.5, 0.0625, {.size = 16}));
    const double want[16] = {1, 1, 1, 0.5, 0, 0, 0, 0.5, 1, 1, 1, 0.5, 0, 0, 0, 0.5};
    for (std::int64_t i = 0; i < 16; ++i) CHECK(p.at(i, 5) == want[i]);
    // 90°: vertical bands, the same profile along x.
    Plane v = plane(nn::stripes_image(90.0, 8.0, 0.5, 0.0, {.size = 16}));
    for (std::int64_t j = 0; j < 16; ++j) CHECK(v.at(3, j) == ((j % 8) < 4 ? 1.0 : 0.0));
  }

  TEST_CASE("stripes_image: the ink fraction is the duty") {
    // Whole periods: exactly 3 of every 8 rows.
    CHECK(mean_of(nn::stripes_image(0.0, 8.0, 0.375, 0.0, {.size = 32})) == doctest::Approx(0.375));
    // Oblique bands: the duty up to the partial band at the edge.
    CHECK(mean_of(nn::stripes_image(30.0, 6.0, 0.45, 0.2, {.size = 64})) == doctest::Approx(0.45).epsilon(0.03));
    CHECK(mean_of(nn::stripes_image(120.0, 9.0, 0.3, 0.7, {.size = 64})) == doctest::Approx(0.3).epsilon(0.05));
    CHECK(mean_of(nn::stripes_image(10.0, 5.0, 0.0, 0.0)) == 0.0);
    CHECK(all_ones(nn::stripes_image(45.0, 5.0, 1.0, 0.0)));  // every point, even where t rounds to −1e-17
    CHECK(mean_of(nn::stripes_image(10.0, 5.0, 1.0, 0.0)) == doctest::Approx(1.0));
    // The batch's duties lie in [0.3, 0.6]; with periods <= 10 on 28 px the fraction stays near them.
    Generator gen(3);
    Tensor batch = nn::stripes(20, gen);
    for (std::int64_t k = 0; k < 20; ++k) {
      const double m = mean_of(select(batch, 0, k));
      CHECK((m > 0.2 && m < 0.7));
    }
  }

  TEST_CASE("stripes_image: unchanged by a shift of one period along the normal") {
    Plane h = plane(nn::stripes_image(0.0, 7.0, 0.4, 0.3, {}));
    CHECK(shift_difference(h, 7, 0).first == 0.0);  // rows i and i + 7
    CHECK(shift_difference(h, 0, 1).first == 0.0);  // and constant along the bands
    CHECK(shift_difference(h, 3, 0).first > 0.5);   // a shift that is not a period moves them
    // 45° with period 5√2: the normal step of one period is (5, 5) pixels. The phase keeps the band
    // edges off the sub-pixel lattice, where rounding could go either way; allow a stray sample.
    Plane d = plane(nn::stripes_image(45.0, 5.0 * std::numbers::sqrt2, 0.5, 0.1234, {}));
    auto [worst, differing] = shift_difference(d, 5, 5);
    CHECK(worst <= 1.0 / 16 + 1e-6);
    CHECK(differing < 0.01);
    CHECK(shift_difference(d, 2, 2).first > 0.5);
  }

  TEST_CASE("zigzag_image: amplitude 0 is straight lines; a zigzag's ink follows its length") {
    // Width 2 around y = 10 + 10k on 20 px: rows 0, 9, 10 and 19.
    for (bool aa : {false, true}) {
      Plane p = plane(nn::zigzag_image(0.0, 8.0, 0.0, 2.0, 10.0, 0.3, 0.0, {.size = 20, .antialias = aa}));
      for (std::int64_t i = 0; i < 20; ++i) CHECK(p.at(i, 7) == ((i == 0 || i == 9 || i == 10 || i == 19) ? 1.0 : 0.0));
      CHECK(shift_difference(p, 0, 1).first == 0.0);
    }
    // A band of width w along a path of slope 4a/P covers w·√(1 + (4a/P)²) per unit length, once per spacing.
    const double want = 2.0 * std::sqrt(1.0 + (8.0 / 12.0) * (8.0 / 12.0)) / 10.0;
    CHECK(mean_of(nn::zigzag_image(0.0, 12.0, 2.0, 2.0, 10.0, 0.0, 0.0, {.size = 60})) ==
          doctest::Approx(want).epsilon(0.05));
  }

  TEST_CASE("zigzag_image: vertices where the formula puts them; periodic along and across") {
    // Centre 20, period 12, amplitude 4: at x ≈ 20 (s = 0) the wave is at t = −4, at x ≈ 26 at t = +4.
    Plane p = plane(nn::zigzag_image(0.0, 12.0, 4.0, 2.0, 20.0, 0.0, 0.0, {.size = 40, .antialias = false}));
    CHECK(p.at(16, 20) == 1.0);  // (20.5, 16.5): the wave is at y ≈ 16.7
    CHECK(p.at(24, 20) == 0.0);
    CHECK(p.at(23, 25) == 1.0);  // (25.5, 23.5): the wave is at y ≈ 23.3
    CHECK(p.at(16, 25) == 0.0);
    Plane q = plane(nn::zigzag_image(0.0, 8.0, 2.0, 2.5, 9.0, 0.4, 0.2, {.size = 36}));
    for (auto [di, dj] : {std::pair<std::int64_t, std::int64_t>{0, 8}, {9, 0}}) {
      auto [worst, differing] = shift_difference(q, di, dj);
      CHECK(worst <= 1.0 / 16 + 1e-6);
      CHECK(differing < 0.02);
    }
    CHECK(shift_difference(q, 0, 4).first > 0.5);  // half a period is not a symmetry
    // 90° turns the picture a quarter counter-clockwise: pixel (i, j) is the 0° picture's (j, S − 1 − i).
    Plane z0 = plane(nn::zigzag_image(0.0, 9.0, 2.5, 2.0, 8.0, 0.1, 0.3, {.size = 24}));
    Plane z90 = plane(nn::zigzag_image(90.0, 9.0, 2.5, 2.0, 8.0, 0.1, 0.3, {.size = 24}));
    int differing = 0;
    for (std::int64_t i = 0; i < 24; ++i)
      for (std::int64_t j = 0; j < 24; ++j) {
        const double d = std::abs(z90.at(i, j) - z0.at(j, 23 - i));
        CHECK(d <= 1.0 / 16 + 1e-6);
        differing += d > 1e-6;
      }
    CHECK(differing < 12);
  }

  TEST_CASE("dots_image: a grid of discs, counted as blobs") {
    // Nodes at 3.5 + 7k on 28 px: 4 × 4 discs of radius 1.5, each the 3 × 3 pixel centres around it.
    Generator gen(4);
    Tensor grid = nn::dots_image(1.5, 7.0, 0.0, 0.5, 0.5, gen, {.antialias = false});
    CHECK(gen.offset() == 0);  // no jitter, nothing drawn
    Plane p = plane(grid);
    CHECK(count_blobs(p) == 16);
    CHECK(mean_of(grid) == doctest::Approx(16.0 * 9.0 / 784.0));
    CHECK(p.at(3, 3) == 1.0);
    CHECK(p.at(2, 4) == 1.0);
    CHECK(p.at(1, 3) == 0.0);
    // Antialiased, the ink is the discs' area.
    Tensor smooth = nn::dots_image(1.5, 7.0, 0.0, 0.5, 0.5, gen);
    CHECK(mean_of(smooth) == doctest::Approx(16.0 * std::numbers::pi * 2.25 / 784.0).epsilon(0.05));
    // Jitter up to 1.5 px keeps the discs apart and inside: still 16 blobs, but moved.
    Generator j1(9), j2(9), j3(10);
    Tensor jittered = nn::dots_image(1.5, 7.0, 1.5, 0.5, 0.5, j1, {.antialias = false});
    CHECK(count_blobs(plane(jittered)) == 16);
    CHECK(val(jittered) != val(grid));
    CHECK(val(jittered) == val(nn::dots_image(1.5, 7.0, 1.5, 0.5, 0.5, j2, {.antialias = false})));
    CHECK(val(jittered) != val(nn::dots_image(1.5, 7.0, 1.5, 0.5, 0.5, j3, {.antialias = false})));
    // The batch: spacings 5..9 px on 28 px give between 3 × 3 and 6 × 6 visible discs (edges clipped).
    Generator b(11);
    Tensor batch = nn::dots(10, b, {.antialias = false});
    for (std::int64_t k = 0; k < 10; ++k) {
      const int blobs = count_blobs(plane(select(batch, 0, k)));
      CHECK((blobs >= 9 && blobs <= 49));
    }
  }

  TEST_CASE("textures: three channels are the one-channel image tinted by color") {
    const std::array<double, 3> color{1.0, 0.5, 0.25};
    for (const std::string name : {"stripes", "zigzags", "dots"}) {
      INFO(name);
      Generator g1(8), g3(8);
      auto gray = val(nn::texture_images(name, 3, g1, {.size = 12}));
      Tensor rgb = nn::texture_images(name, 3, g3, {.size = 12, .channels = 3, .color = color});
      auto v = val(rgb);
      const std::size_t plane_size = 144;
      for (std::size_t n = 0; n < 3; ++n)
        for (std::size_t c = 0; c < 3; ++c)
          for (std::size_t k = 0; k < plane_size; ++k)
            REQUIRE(v[(n * 3 + c) * plane_size + k] ==
                    doctest::Approx(gray[n * plane_size + k] * color[c]).epsilon(1e-6));
    }
    Tensor white = nn::stripes_image(0.0, 8.0, 0.5, 0.0, {.size = 16, .channels = 3});
    CHECK(val(select(white, 0, 0)) == val(select(white, 0, 2)));  // the default ink is white
  }

  TEST_CASE("textures: without antialiasing only 0 and 1, with it the edges in between") {
    for (const std::string name : {"stripes", "zigzags", "dots"}) {
      INFO(name);
      Generator g1(12), g2(12);
      CHECK(only_zero_one(nn::texture_images(name, 5, g1, {.antialias = false})));
      CHECK_FALSE(only_zero_one(nn::texture_images(name, 5, g2)));
    }
  }

  TEST_CASE("textures: bad input") {
    Generator gen(1);
    CHECK_THROWS_WITH_AS(nn::stripes(2, gen, {.size = 0}), Catch("stripes: expected size > 0, got 0"), Error);
    CHECK_THROWS_WITH_AS(nn::dots(2, gen, {.size = -3}), Catch("expected size > 0, got -3"), Error);
    CHECK_THROWS_WITH_AS(nn::zigzags(2, gen, {.channels = 2}), Catch("expected channels 1 or 3, got 2"), Error);
    CHECK_THROWS_WITH_AS(nn::noise_images(-1, gen), Catch("noise_images: expected n >= 0 images, got -1"), Error);
    CHECK_THROWS_WITH_AS(nn::stripes(1, gen, {.channels = 3, .color = {1.5, 0, 0}}),
                         Catch("expected color values in [0, 1]"), Error);
    CHECK_THROWS_WITH_AS(nn::texture_images("waves", 2, gen),
                         Catch("unknown texture 'waves'; expected one of stripes, zigzags, dots, noise"), Error);
    CHECK_THROWS_WITH_AS(nn::noise_images(std::int64_t{1} << 40, gen, {.size = 1 << 20}), Catch("overflows"), Error);
    CHECK_THROWS_WITH_AS(nn::stripes_image(0, 0.0, 0.5, 0), Catch("stripes_image: expected period > 0"), Error);
    CHECK_THROWS_WITH_AS(nn::stripes_image(0, 4.0, 1.5, 0), Catch("expected duty in [0, 1], got 1.5"), Error);
    CHECK_THROWS_AS(nn::stripes_image(NAN, 4.0, 0.5, 0), Error);
    CHECK_THROWS_WITH_AS(nn::zigzag_image(0, 0.5, 1, 1, 5, 0, 0), Catch("expected period and spacing >= 1 px"), Error);
    CHECK_THROWS_WITH_AS(nn::zigzag_image(0, 6, 40, 1, 5, 0, 0), Catch("expected amplitude and width in [0, size = 28]"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::dots_image(1, 0.5, 0, 0, 0, gen), Catch("dots_image: expected spacing >= 1 px"), Error);
    CHECK_THROWS_WITH_AS(nn::dots_image(1, 5, 6, 0, 0, gen), Catch("expected jitter in [0, spacing = 5], got 6"), Error);
    CHECK_THROWS_WITH_AS(nn::dots_image(-1, 5, 0, 0, 0, gen), Catch("expected radius in [0, size = 28]"), Error);
    CHECK_THROWS_WITH_AS(nn::dots_image(1, 5, 0, 0, 0, gen, {.channels = 4}), Catch("dots_image: expected channels 1 or 3"),
                         Error);
  }
}
