// Visualising attributions (xai/visualize.h): normalisation against hand-computed values, heat maps,
// overlays and masks pixel by pixel, and an attribution figure read back from its PNG. The figure code
// they are drawn with (colormaps, grids, plots) is tested in tests/figures/.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "autograd/ops.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "figures/png.h"
#include "tests/figures/pixel_checks.h"
#include "tests/fixtures/fixtures.h"
#include "xai/visualize.h"

using namespace lumen;
using namespace lumen::figures;
using namespace lumen::xai;
using lumen::testing::TempDir;
using lumen::testing::pixels::at;
using lumen::testing::pixels::near;
using lumen::testing::pixels::Rgb;
using lumen::testing::pixels::values;

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

  TEST_CASE("saliency_map: channel reductions of |attr| and per-image min-max normalisation") {
    // Image 0: channels {1, −3, 0} and {−2, 1, 0.5}; image 1: ±2 everywhere (a constant map).
    Tensor a = tensor({1, -3, 0, -2, 1, 0.5, 2, -2, 2, -2, 2, -2}, {2, 2, 1, 3}, {.dtype = DType::float64});
    // |max| over channels {2, 3, 0.5}: (m − 0.5) / 2.5.
    Tensor m = saliency_map(a);
    CHECK(m.shape() == Shape{2, 1, 1, 3});
    CHECK(m.dtype() == DType::float64);
    CHECK(m.to_vector<double>() == std::vector<double>{0.6, 1, 0, 0, 0, 0});
    // Sums {3, 4, 0.5} and means {1.5, 2, 0.25} normalise alike: (m − min) / (max − min).
    for (ChannelReduction r : {ChannelReduction::sum, ChannelReduction::mean}) {
      auto v = saliency_map(a, r).to_vector<double>();
      CHECK(v[0] == doctest::Approx(2.5 / 3.5));
      CHECK(v[1] == 1.0);
      CHECK(v[2] == 0.0);
      CHECK(std::vector<double>(v.begin() + 3, v.end()) == std::vector<double>(3, 0.0));  // constant → 0
    }
    // Unnormalised: the reductions themselves.
    CHECK(saliency_map(a, ChannelReduction::max, false).to_vector<double>() == std::vector<double>{2, 3, 0.5, 2, 2, 2});
    CHECK(saliency_map(a, ChannelReduction::sum, false).to_vector<double>() == std::vector<double>{3, 4, 0.5, 4, 4, 4});
    CHECK(saliency_map(a, ChannelReduction::mean, false).to_vector<double>() ==
          std::vector<double>{1.5, 2, 0.25, 2, 2, 2});
    CHECK(saliency_map(zeros({0, 3, 2, 2})).shape() == Shape{0, 1, 2, 2});
  }

  TEST_CASE("saliency_map: bad inputs throw") {
    CHECK_THROWS_WITH_AS(saliency_map(ones({3, 2, 2})), doctest::Contains("[N, C, H, W]"), Error);
    CHECK_THROWS_AS(saliency_map(Tensor()), Error);
    CHECK_THROWS_AS(saliency_map(zeros({1, 0, 2, 2})), Error);
    CHECK_THROWS_WITH_AS(saliency_map(zeros({1, 1, 2, 2}, {.dtype = DType::int64})), doctest::Contains("floating"),
                         Error);
  }

  TEST_CASE("default_colormap: the diverging map for signed attributions") {
    CHECK(default_colormap(Sign::all) == Colormap::bwr);
  }

  TEST_CASE("heatmap: the normalised attribution through its sign's colormap") {
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

  TEST_CASE("figures round-trip through save_png") {
    TempDir dir("visualize");
    Tensor a = tensor({-2, 1, 0, 4}, {1, 4});
    Tensor fig = labelled_grid({{upscale(heatmap(a, Sign::all), 4), colorbar(Colormap::bwr, -1, 1, 40)}},
                               {"heat", "bar"}, {"row"});
    const std::string path = dir / "fig.png";
    save_png(path, fig);
    const Tensor back = read_png(path);  // libpng's decoding of stb_image_write's bytes
    REQUIRE(back.shape() == fig.shape());
    const auto v = fig.to_vector<float>(), b = back.to_vector<float>();
    int worst = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<int>(std::lround(b[i] * 255.0f)) - static_cast<int>(v[i] * 255.0f + 0.5f)));
    CHECK(worst == 0);
  }
}
