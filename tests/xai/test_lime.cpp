// Lime, SharpLime and the feature masks (grids, SLIC superpixels, region masks from PNG files).
#include <doctest/doctest.h>
#include <stb_image_write.h>  // the implementation is in libstb

#include <algorithm>
#include <fstream>
#include <set>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/fixtures/fixtures.h"
#include "tests/test_util.h"
#include "xai/lime.h"
#include "xai/segmentation.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using lumen::testing::TempDir;
using Catch = doctest::Contains;

namespace {

// f(x) = x·w + 0.5 over the flattened sample (class 0), and its negation (class 1).
ForwardFn linear(const Tensor& w) {
  return [w](const Tensor& x) {
    Tensor s = matmul(x.flatten(1), w.unsqueeze(1)) + 0.5;
    return cat({s, -s}, 1);
  };
}

std::vector<std::size_t> ranking(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](auto a, auto b) { return v[a] > v[b]; });
  return idx;
}

}  // namespace

TEST_SUITE("xai_perturbation") {

TEST_CASE("weighted_linear_fit: exact on noiseless data; ridge shrinks; lasso zeroes weak features") {
  // y = 2 + 3 x0 − x1 + 0.01 x2 on 40 random rows with random weights.
  Generator g(4);
  auto x = rand({40, 3}, {.dtype = DType::float64}, &g).to_vector<double>();
  auto w = uniform({40}, 0.1, 1, {.dtype = DType::float64}, &g).to_vector<double>();
  std::vector<double> y;
  for (std::size_t r = 0; r < 40; ++r) y.push_back(2 + 3 * x[r * 3] - x[r * 3 + 1] + 0.01 * x[r * 3 + 2]);
  LinearFit exact = weighted_linear_fit(x, y, w, 40, 3, {.alpha = 0});
  CHECK(exact.intercept == doctest::Approx(2).epsilon(1e-10));
  CHECK(exact.coef[0] == doctest::Approx(3).epsilon(1e-10));
  CHECK(exact.coef[1] == doctest::Approx(-1).epsilon(1e-10));
  CHECK(exact.coef[2] == doctest::Approx(0.01).epsilon(1e-8));
  LinearFit ridge = weighted_linear_fit(x, y, w, 40, 3);  // alpha = 1
  CHECK(std::abs(ridge.coef[0]) < 3);
  CHECK(ridge.coef[0] > 1);
  LinearFit lasso = weighted_linear_fit(x, y, w, 40, 3, {.model = SurrogateModel::lasso, .alpha = 0.005});
  CHECK(lasso.coef[2] == 0.0);
  CHECK(lasso.coef[0] == doctest::Approx(3).epsilon(0.05));
  CHECK(lasso.coef[1] == doctest::Approx(-1).epsilon(0.1));
  CHECK_THROWS_WITH_AS(weighted_linear_fit(x, y, w, 40, 4), Catch("weighted_linear_fit"), Error);
}

TEST_CASE("Lime: on a linear model the coefficients are w·(x − baseline), per sample and target") {
  Tensor w = f64({3, -2, 0.5, 1, -4, 2});
  Tensor x = f64({1, 2, -1, 0.5, 1, 1, 2, 1, 1, -1, 0.5, 3}, {2, 6});
  Generator g(5);
  Lime lime(linear(w));
  // The model is exactly linear in the on/off vector, so an (almost) unregularised fit is exact.
  LimeResult r = lime.explain(x, Target({0, 1}), 0.5, {.n_samples = 300, .fit = {.alpha = 1e-9}, .generator = &g});
  Tensor want = (x - 0.5) * w * f64({1, -1}, {2, 1});
  CHECK(r.coefficients.shape() == Shape{2, 6});
  CHECK_VALUES(r.coefficients.flatten(), want.flatten().to_vector<double>(), 1e-6);
  CHECK_VALUES(r.attributions.flatten(), want.flatten().to_vector<double>(), 1e-6);
  // Intercept: the score with every feature at the baseline.
  const double b0 = 0.5 * w.sum().item() + 0.5;
  CHECK_VALUES(r.intercepts, {b0, -b0}, 1e-6);
  CHECK_VALUES(r.r2, {1, 1}, 1e-9);  // the surrogate is exact
  // Default ridge (alpha = 1) shrinks a little but keeps the ranking.
  LimeResult d = lime.explain(x, 0, 0.5, {.n_samples = 300, .generator = &g});
  for (std::int64_t i = 0; i < 2; ++i) {
    auto got = d.coefficients[i].to_vector<double>();
    auto exact = ((x[i] - 0.5) * w).to_vector<double>();
    CHECK(ranking(got) == ranking(exact));
    CHECK_VALUES(d.coefficients[i], exact, 0.1);
  }
  // The same seed gives the same explanation; batching does not change it.
  Generator g1(9), g2(9);
  Tensor a = lime.attribute(x, 0, {}, {.n_samples = 50, .perturbations_per_eval = 1, .generator = &g1});
  Tensor b = lime.attribute(x, 0, {}, {.n_samples = 50, .perturbations_per_eval = 64, .generator = &g2});
  CHECK_VALUES(a.flatten(), b.flatten().to_vector<double>(), 1e-12);
}

TEST_CASE("Lime: the cosine-distance kernel weights the fit of a non-linear model") {
  // d = 1 − √(k/F): all on -> 1; none on -> exp(−1/w²); 1 of 4 on -> d = 1/2.
  CHECK(lime_similarity(4, 4, 0.75) == doctest::Approx(1.0));
  CHECK(lime_similarity(0, 4, 0.75) == doctest::Approx(std::exp(-1 / 0.5625)));
  CHECK(lime_similarity(1, 4, 0.5) == doctest::Approx(std::exp(-1.0)));
  // f = x0·x1 at x = (1, 1), baseline 0: y = z0·z1 is not linear in z, so the fit depends on the
  // weights. With many draws every pattern of z has frequency ≈ 1/4, so LIME ≈ the weighted fit on
  // the four patterns (which differs from the unweighted one: β = 0.5, b = −0.25).
  ForwardFn f = [](const Tensor& x) { return (x.select(1, 0) * x.select(1, 1)).unsqueeze(1); };
  const std::vector<double> z = {0, 0, 0, 1, 1, 0, 1, 1}, y = {0, 0, 0, 1};
  std::vector<double> w;
  for (int k : {0, 1, 1, 2}) w.push_back(lime_similarity(k, 2, 0.75));
  LinearFit want = weighted_linear_fit(z, y, w, 4, 2, {.alpha = 0});
  REQUIRE(std::abs(want.coef[0] - 0.5) > 0.1);
  Generator g(10);
  LimeResult r = Lime(f).explain(ones({1, 2}, {.dtype = DType::float64}), 0, {},
                                 {.n_samples = 4000, .fit = {.alpha = 0}, .generator = &g});
  CHECK_VALUES(r.coefficients, {want.coef[0], want.coef[1]}, 0.03);
  CHECK(r.intercepts.item() == doctest::Approx(want.intercept).epsilon(0.03));
  // A product is not linear: the surrogate explains only part of it, about as well as on the four
  // patterns (every pattern is drawn about equally often).
  const double r2 = weighted_r2(z, y, w, 4, 2, want);
  REQUIRE(r2 < 0.9);
  CHECK(r.r2.item() == doctest::Approx(r2).epsilon(0.05));
}

TEST_CASE("weighted_r2: scikit-learn's Ridge.score with sample weights") {
  // y = 1 + 2 x0 − x1 fitted exactly: 1.
  const std::vector<double> x2 = {0, 0, 1, 0, 0, 1, 2, 3}, y2 = {1, 3, 0, 2};
  CHECK(weighted_r2(x2, y2, {1, 2, 3, 4}, 4, 2, {{2, -1}, 1}) == doctest::Approx(1.0).epsilon(1e-15));
  // x = (0, 1, 2), y = (0, 1, 1), w = (1, 1, 2), ŷ = 0.25 + 0.5 x = (0.25, 0.75, 1.25):
  // Σ w (y − ŷ)² = 0.0625 + 0.0625 + 2 · 0.0625 = 0.25; ȳ_w = (0 + 1 + 2) / 4 = 0.75,
  // Σ w (y − ȳ_w)² = 0.5625 + 0.0625 + 2 · 0.0625 = 0.75; R² = 1 − 0.25 / 0.75 = 2/3.
  const std::vector<double> x = {0, 1, 2}, y = {0, 1, 1}, w = {1, 1, 2};
  CHECK(weighted_r2(x, y, w, 3, 1, {{0.5}, 0.25}) == doctest::Approx(2.0 / 3.0).epsilon(1e-12));
  // The weighted least-squares fit is the best there is: its R² is at least that.
  CHECK(weighted_r2(x, y, w, 3, 1, weighted_linear_fit(x, y, w, 3, 1, {.alpha = 0})) >= 2.0 / 3.0);
  // Constant y: 1 when predicted exactly, else 0 (scikit-learn's r2_score).
  CHECK(weighted_r2(x, {2, 2, 2}, w, 3, 1, {{0}, 2}) == 1.0);
  CHECK(weighted_r2(x, {2, 2, 2}, w, 3, 1, {{1}, 2}) == 0.0);
  CHECK_THROWS_WITH_AS(weighted_r2(x, y, w, 3, 1, {{1, 2}, 0}), Catch("weighted_r2: expected"), Error);
  CHECK_THROWS_WITH_AS(weighted_r2(x, y, {0, 0, 0}, 3, 1, {{1}, 0}), Catch("positive sum"), Error);
}

TEST_CASE("top_k_features, jaccard and mean_pairwise_jaccard") {
  Tensor c = f64({0.3, -0.9, 0.3, 0.1});
  CHECK(top_k_features(c, 2, false) == std::vector<std::int64_t>{0, 2});  // tie: the lower index first
  CHECK(top_k_features(c, 2, true) == std::vector<std::int64_t>{1, 0});
  CHECK(top_k_features(c, 10, false) == std::vector<std::int64_t>{0, 2, 3, 1});
  CHECK(top_k_features(c.unsqueeze(0), 1, true) == std::vector<std::int64_t>{1});
  CHECK(top_k_features(c, 0, true).empty());
  CHECK_THROWS_WITH_AS(top_k_features(c, -1, true), Catch("top_k_features: expected k >= 0"), Error);
  CHECK_THROWS_WITH_AS(top_k_features(f64({1, NAN}), 1, true), Catch("finite"), Error);
  CHECK_THROWS_WITH_AS(top_k_features(zeros({2, 3}), 1, true), Catch("[F] or [1, F]"), Error);

  CHECK(jaccard({1, 2, 3}, {2, 3, 4}) == 0.5);  // {2, 3} of {1, 2, 3, 4}
  CHECK(jaccard({1, 1, 2}, {2}) == 0.5);        // duplicates ignored
  CHECK(jaccard({}, {}) == 1.0);
  CHECK(jaccard({5}, {}) == 0.0);
  // Pairs: ({1, 2}, {2, 1}) 1, ({1, 2}, {3}) 0, ({2, 1}, {3}) 0.
  CHECK(mean_pairwise_jaccard({{1, 2}, {2, 1}, {3}}) == doctest::Approx(1.0 / 3.0));
  CHECK_THROWS_WITH_AS(mean_pairwise_jaccard({{1}}), Catch("at least 2 sets"), Error);
}

TEST_CASE("Lime: grid features on an image rank the cells by their weight; lasso keeps the strong cells") {
  // [1, 1, 4, 4] image of ones; weights constant per 2×2 cell: cell sums 4·(1, −3, 0.05, 2).
  std::vector<double> wv(16);
  const double cell_w[4] = {1, -3, 0.05, 2};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) wv[static_cast<std::size_t>(i * 4 + j)] = cell_w[(i / 2) * 2 + j / 2];
  Tensor x = ones({1, 1, 4, 4}, {.dtype = DType::float64});
  Tensor mask = grid_feature_mask(4, 4, 2, 2);
  Generator g(6);
  Lime lime(linear(f64(wv)));
  LimeResult r = lime.explain(x, 0, {}, {.feature_mask = mask, .n_samples = 100, .generator = &g});
  auto coef = r.coefficients[0].to_vector<double>();
  CHECK(ranking(coef) == std::vector<std::size_t>{3, 0, 2, 1});
  CHECK_VALUES(r.coefficients[0], {4, -12, 0.2, 8}, 0.05);
  // Each pixel carries its cell's coefficient.
  auto attr = r.attributions.to_vector<double>();
  auto ids = mask.to_vector<std::int64_t>();
  for (std::size_t p = 0; p < 16; ++p) CHECK(attr[p] == coef[static_cast<std::size_t>(ids[p])]);
  LimeResult sparse = lime.explain(x, 0, {}, {.feature_mask = mask, .n_samples = 100, .fit = {.model = SurrogateModel::lasso, .alpha = 0.2}, .generator = &g});
  auto sc = sparse.coefficients[0].to_vector<double>();
  CHECK(sc[2] == 0.0);
  CHECK(sc[1] < -10);

  CHECK_THROWS_WITH_AS(lime.attribute(x, 0, {}, {.n_samples = 0}), Catch("Lime: expected n_samples >= 1"), Error);
  CHECK_THROWS_WITH_AS(lime.attribute(x, 0, {}, {.kernel_width = 0}), Catch("kernel_width > 0"), Error);
  CHECK_THROWS_WITH_AS(lime.attribute(x, 0, {}, {.feature_mask = grid_feature_mask(4, 3, 2, 2)}), Catch("does not broadcast"), Error);
}

TEST_CASE("grid_feature_mask: shape and row-major cell ids, smaller cells at the edges") {
  Tensor m = grid_feature_mask(3, 5, 2, 2);
  CHECK(m.shape() == Shape{3, 5});
  CHECK(m.dtype() == DType::int64);
  CHECK(m.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 1, 1, 2, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5});
  CHECK_THROWS_WITH_AS(grid_feature_mask(3, 5, 0, 2), Catch("grid_feature_mask"), Error);
  CHECK(relabel_contiguous(tensor_from({7, 7, 3, 9}, {2, 2})).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1, 0, 2});
}

TEST_CASE("superpixel_mask: segments never straddle the boundary of a two-colour image") {
  // 24×24 RGB: red left of a slanted boundary (column 7 + row / 3), blue right of it.
  const std::int64_t h = 24, w = 24;
  std::vector<double> px(static_cast<std::size_t>(3 * h * w), 0.0);
  auto red = [](std::int64_t y, std::int64_t x) { return x < 7 + y / 3; };
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const auto p = static_cast<std::size_t>(y * w + x);
      if (red(y, x)) px[p] = 0.9, px[p + 2 * h * w] = 0.1;  // (0.9, 0, 0.1)
      else px[p] = 0.1, px[p + 2 * h * w] = 0.8;           // (0.1, 0, 0.8)
    }
  Tensor img = f64(px, {3, h, w});
  Tensor m = superpixel_mask(img, {.n_segments = 9});
  CHECK(m.shape() == Shape{h, w});
  auto ids = m.to_vector<std::int64_t>();
  const std::int64_t n_ids = *std::max_element(ids.begin(), ids.end()) + 1;
  CHECK(n_ids >= 4);
  CHECK(n_ids <= 16);
  std::set<std::int64_t> red_ids, blue_ids;
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) (red(y, x) ? red_ids : blue_ids).insert(ids[static_cast<std::size_t>(y * w + x)]);
  std::vector<std::int64_t> both;
  std::set_intersection(red_ids.begin(), red_ids.end(), blue_ids.begin(), blue_ids.end(), std::back_inserter(both));
  CHECK(both.empty());
  CHECK(static_cast<std::int64_t>(red_ids.size() + blue_ids.size()) == n_ids);  // ids contiguous 0..R−1
  // Very compact superpixels ignore colour and become a grid that does straddle it.
  auto grid_like = superpixel_mask(img, {.n_segments = 9, .compactness = 1e4}).to_vector<std::int64_t>();
  CHECK(grid_like[0] == grid_like[static_cast<std::size_t>(w / 3 - 1)]);  // same cell across columns 0..7
  CHECK(*std::max_element(grid_like.begin(), grid_like.end()) == 8);  // 3 × 3 cells

  // Batches give [N, 1, H, W]; gray [H, W] images work; bad shapes throw.
  Tensor batch = superpixel_mask(stack({img, img}), {.n_segments = 9});
  CHECK(batch.shape() == Shape{2, 1, h, w});
  CHECK(batch[1][0].to_vector<std::int64_t>() == ids);
  Tensor gray = superpixel_mask(img[0].to(DType::float32), {.n_segments = 4});
  CHECK(gray.shape() == Shape{h, w});
  CHECK_THROWS_WITH_AS(superpixel_mask(zeros({2, 5, 5})), Catch("superpixel_mask: expected 1 (gray) or 3"), Error);
  CHECK_THROWS_WITH_AS(superpixel_mask(img, {.n_segments = 0}), Catch("n_segments >= 1"), Error);
}

TEST_CASE("load_region_mask: distinct gray or colour values become ids; bad files throw") {
  TempDir dir("regions");
  // Gray 4×6: three regions with values 200 (left), 0 (middle), 90 (right) -> ids 2, 0, 1.
  std::vector<unsigned char> gray(24);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) gray[static_cast<std::size_t>(y * 6 + x)] = x < 2 ? 200 : x < 4 ? 0 : 90;
  const std::string gpath = dir / "gray.png";
  REQUIRE(stbi_write_png(gpath.c_str(), 6, 4, 1, gray.data(), 6) != 0);
  Tensor m = load_region_mask(gpath);
  CHECK(m.shape() == Shape{4, 6});
  CHECK(m.dtype() == DType::int64);
  CHECK(m[0].to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 2, 0, 0, 1, 1});
  CHECK(m[3].to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 2, 0, 0, 1, 1});
  // RGB 2×2: colours (255,0,0), (0,0,255), (255,0,0), (0,255,0) -> sorted by packed value.
  const unsigned char rgb[12] = {255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 255, 0};
  const std::string cpath = dir / "rgb.png";
  REQUIRE(stbi_write_png(cpath.c_str(), 2, 2, 3, rgb, 6) != 0);
  CHECK(load_region_mask(cpath).to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 0, 2, 1});

  CHECK_THROWS_WITH_AS(load_region_mask(dir / "missing.png"), Catch("load_region_mask: cannot read"), Error);
  const std::string bad = dir / "corrupt.png";
  std::ofstream(bad, std::ios::binary) << "\x89PNG\r\n\x1a\n this is not really a PNG";
  CHECK_THROWS_WITH_AS(load_region_mask(bad), Catch("corrupt.png"), Error);
}

TEST_CASE("SharpLime: user regions (tensor or PNG) are the features") {
  // [1, 2, 4, 4] inputs; regions: top half (id 10), bottom-left (id 20), bottom-right (id 30).
  std::vector<std::int64_t> reg(16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) reg[static_cast<std::size_t>(y * 4 + x)] = y < 2 ? 10 : x < 2 ? 20 : 30;
  Tensor regions = tensor_from(reg, {4, 4});
  Generator gw(7);
  Tensor w = normal({32}, 0, 1, {.dtype = DType::float64}, &gw);
  Tensor x = ones({1, 2, 4, 4}, {.dtype = DType::float64});
  // Exact answer: each region's total weight over both channels.
  auto wv = w.to_vector<double>();
  std::vector<double> want(3, 0.0);
  for (std::size_t i = 0; i < 32; ++i) want[static_cast<std::size_t>((reg[i % 16] / 10) - 1)] += wv[i];

  Generator g(8);
  SharpLime sharp(linear(w), regions);
  CHECK(sharp.regions().to_vector<std::int64_t>() == relabel_contiguous(regions).to_vector<std::int64_t>());
  LimeResult r = sharp.explain(x, 0, {}, {.n_samples = 60, .fit = {.alpha = 1e-9}, .generator = &g});
  CHECK(r.coefficients.shape() == Shape{1, 3});
  CHECK_VALUES(r.coefficients, want, 1e-6);

  // The same regions drawn in a PNG: gray values 10, 20, 30.
  TempDir dir("sharp");
  std::vector<unsigned char> png(reg.begin(), reg.end());
  const std::string path = dir / "regions.png";
  REQUIRE(stbi_write_png(path.c_str(), 4, 4, 1, png.data(), 4) != 0);
  Generator g2(8);
  LimeResult from_file = SharpLime(linear(w), path).explain(x, 0, {}, {.n_samples = 60, .fit = {.alpha = 1e-9}, .generator = &g2});
  CHECK_VALUES(from_file.attributions.flatten(), r.attributions.flatten().to_vector<double>(), 1e-9);

  CHECK_THROWS_WITH_AS(sharp.attribute(x, 0, {}, {.feature_mask = regions}), Catch("SharpLime: the regions"), Error);
  CHECK_THROWS_WITH_AS(SharpLime(linear(w), dir / "nope.png"), Catch("nope.png"), Error);
  CHECK_THROWS_WITH_AS(SharpLime(linear(w), f64({1, 2})), Catch("int64 region map"), Error);
  CHECK_THROWS_WITH_AS(SharpLime(linear(w), tensor_from({0, 1, 2}, {3})).attribute(x, 0), Catch("SharpLime: feature mask of shape [3]"), Error);
}

TEST_CASE("weighted_mse: Σ w (y − ŷ)² / Σ w of a fit on its own data") {
  // ŷ = 1 + 2x on x = 0, 1, 2; y misses by 0, 1, −2; weights 1, 2, 1: (0 + 2·1 + 1·4) / 4 = 1.5.
  const LinearFit fit{{2}, 1};
  CHECK(weighted_mse({0, 1, 2}, {1, 4, 3}, {1, 2, 1}, 3, 1, fit) == doctest::Approx(1.5).epsilon(1e-15));
  CHECK(weighted_mse({0, 1, 2}, {1, 3, 5}, {1, 2, 1}, 3, 1, fit) == 0.0);
  CHECK_THROWS_WITH_AS(weighted_mse({0, 1}, {1, 4, 3}, {1, 2, 1}, 3, 1, fit), Catch("weighted_mse"), Error);
  CHECK_THROWS_WITH_AS(weighted_mse({0, 1, 2}, {1, 4, 3}, {0, 0, 0}, 3, 1, fit), Catch("positive sum"), Error);
}

TEST_CASE("Lime: the surrogate's mse is 0 on a linear model, with the default and the count kernel") {
  Tensor w = f64({3, -2, 0.5, 1, -4, 2});
  Tensor x = f64({1, 2, -1, 0.5, 1, 1, 2, 1, 1, -1, 0.5, 3}, {2, 6});
  for (const bool count : {false, true}) {
    Generator g(8);
    LimeOptions opt{.n_samples = 100, .fit = {.alpha = 1e-9}, .generator = &g};
    if (count) opt.similarity = lime_count_similarity;
    LimeResult r = Lime(linear(w)).explain(x, Target({0, 1}), 0.5, opt);
    CHECK(r.mse.shape() == Shape{2});
    CHECK_VALUES(r.mse, {0, 0}, 1e-12);
    CHECK_VALUES(r.coefficients.flatten(), ((x - 0.5) * w * f64({1, -1}, {2, 1})).flatten().to_vector<double>(), 1e-6);
  }
  // A nonlinear model leaves a residual: mse > 0, and R² < 1.
  ForwardFn product = [](const Tensor& in) {
    const std::vector<double> v = in.to_vector<double>();
    return tensor({v[0] * v[1] * v[2], 0.0}, {1, 2}, {.dtype = DType::float64});
  };
  Generator g(9);
  LimeResult r = Lime(product).explain(f64({1, 2, 3}, {1, 3}), 0, {}, {.n_samples = 60, .perturbations_per_eval = 1, .generator = &g});
  CHECK(r.mse.item() > 0.1);
  CHECK(r.r2.item() < 0.99);
}

TEST_CASE("Lime: a custom similarity kernel sets the weights; lime_count_similarity counts kept features") {
  CHECK(lime_count_similarity(3, 5) == 3.0);
  CHECK(lime_count_similarity(0, 5) == 0.0);
  CHECK_THROWS_WITH_AS(lime_count_similarity(6, 5), Catch("lime_count_similarity"), Error);
  // f = x0·x1 + x2 at x = (2, 3, 1), baseline 0: f(all) = 7, f(all but 0) = f(all but 1) = 1, f(all
  // but 2) = 6. A kernel weighting only the all-on and one-off samples leaves 4 points for 4 unknowns,
  // so the surrogate interpolates them: β_j = f(all) − f(all but j), the leave-one-out differences.
  ForwardFn f = [](const Tensor& in) {
    const std::int64_t n = in.size(0);
    const std::vector<double> v = in.to_vector<double>();
    std::vector<double> out;
    for (std::int64_t i = 0; i < n; ++i) {
      const double s = v[static_cast<std::size_t>(3 * i)] * v[static_cast<std::size_t>(3 * i + 1)] + v[static_cast<std::size_t>(3 * i + 2)];
      out.insert(out.end(), {s, -s});
    }
    return tensor(out, {n, 2}, {.dtype = DType::float64});
  };
  Tensor x = f64({2, 3, 1}, {1, 3});
  auto near_only = [](std::int64_t on, std::int64_t n) { return on >= n - 1 ? 1.0 : 0.0; };
  Generator g(10);
  LimeResult r = Lime(f).explain(x, 0, {}, {.n_samples = 200, .similarity = near_only, .fit = {.alpha = 0}, .generator = &g});
  CHECK_VALUES(r.coefficients, {6, 6, 1}, 1e-9);
  CHECK_VALUES(r.intercepts, {7 - 13}, 1e-9);
  CHECK_VALUES(r.mse, {0}, 1e-12);
  // The default kernel also weighs the far samples, where x0·x1 is not additive: other coefficients.
  Generator g2(10);
  LimeResult d = Lime(f).explain(x, 0, {}, {.n_samples = 200, .fit = {.alpha = 0}, .generator = &g2});
  CHECK(std::abs(d.coefficients.to_vector<double>()[0] - 6) > 0.5);
  // The kernel's weights are checked.
  auto negative = [](std::int64_t, std::int64_t) { return -1.0; };
  CHECK_THROWS_WITH_AS(Lime(f).explain(x, 0, {}, {.n_samples = 5, .similarity = negative}), Catch("finite weight >= 0"), Error);
}

}  // TEST_SUITE
