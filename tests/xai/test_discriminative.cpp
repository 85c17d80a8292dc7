// Discriminative attribution (DAPI / QuAC): morphology and masks on hand-made arrays, the methods
// against closed forms, and the DAC evaluation on a toy classifier whose decisive pixels are known.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "nn/models.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/discriminative.h"
#include "xai/morphology.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;
using morphology::Mask;

namespace {

// A 6×6 one-channel toy: logit_B = Σ_R x and logit_A = −Σ_R x over the 2×2 region R (rows 1–2,
// cols 1–2); every other pixel is ignored. The real image is black; the counterfactual lights R
// and the 2×3 region S (rows 4–5, cols 3–5), a difference that does not matter.
struct Toy {
  static constexpr std::int64_t kA = 0, kB = 1;
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  Tensor x = zeros({1, 1, 6, 6}, {.dtype = DType::float64});
  Tensor cf, region_r;
  Toy() {
    std::vector<double> r(36, 0.0), s(36, 0.0);
    for (int i : {1, 2})
      for (int j : {1, 2}) r[static_cast<std::size_t>(i * 6 + j)] = 1;
    for (int i : {4, 5})
      for (int j : {3, 4, 5}) s[static_cast<std::size_t>(i * 6 + j)] = 1;
    region_r = f64(r, {1, 1, 6, 6});
    cf = region_r + f64(s, {1, 1, 6, 6});
    std::vector<double> w(72, 0.0);
    for (std::size_t p = 0; p < 36; ++p) w[p] = -r[p], w[36 + p] = r[p];
    net->push_back("flatten", std::make_shared<nn::Flatten>());
    net->push_back("linear", lumen::testing::linear_model(f64(w, {2, 36}), f64({0, 0}, {2})));
    net->eval();
  }
};

double sigmoid_of(double z) { return 1 / (1 + std::exp(-z)); }

// An n×n square at (margin, margin) in an image of size n + 2·margin.
Mask square(int n, int margin) {
  const int w = n + 2 * margin;
  Mask m(static_cast<std::size_t>(w * w), 0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) m[static_cast<std::size_t>((i + margin) * w + j + margin)] = 1;
  return m;
}

}  // namespace

TEST_SUITE("xai_discriminative") {

// ---- morphology

TEST_CASE("the elliptical structuring element matches OpenCV's MORPH_ELLIPSE for small radii") {
  CHECK(morphology::ellipse_element(0) == Mask{1});
  CHECK(morphology::ellipse_element(1) == Mask{0, 1, 0,  //
                                               1, 1, 1,  //
                                               0, 1, 0});
  CHECK(morphology::ellipse_element(2) == Mask{0, 0, 1, 0, 0,  //
                                               1, 1, 1, 1, 1,  //
                                               1, 1, 1, 1, 1,  //
                                               1, 1, 1, 1, 1,  //
                                               0, 0, 1, 0, 0});
  CHECK(morphology::ellipse_element(3) == Mask{0, 0, 0, 1, 0, 0, 0,  //
                                               0, 1, 1, 1, 1, 1, 0,  //
                                               1, 1, 1, 1, 1, 1, 1,  //
                                               1, 1, 1, 1, 1, 1, 1,  //
                                               1, 1, 1, 1, 1, 1, 1,  //
                                               0, 1, 1, 1, 1, 1, 0,  //
                                               0, 0, 0, 1, 0, 0, 0});
  CHECK_THROWS_WITH_AS(morphology::ellipse_element(-1), Catch("radius >= 0"), Error);
}

TEST_CASE("dilation and erosion with the cross; the border counts as neutral") {
  const Mask dot{0, 0, 0, 0, 0,  //
                 0, 0, 0, 0, 0,  //
                 0, 0, 1, 0, 0,  //
                 0, 0, 0, 0, 0,  //
                 0, 0, 0, 0, 0};
  const Mask plus{0, 0, 0, 0, 0,  //
                  0, 0, 1, 0, 0,  //
                  0, 1, 1, 1, 0,  //
                  0, 0, 1, 0, 0,  //
                  0, 0, 0, 0, 0};
  CHECK(morphology::dilate(dot, 5, 5, 1) == plus);
  CHECK(morphology::erode(plus, 5, 5, 1) == dot);
  // A full image stays full under erosion: outside pixels count as foreground (cv2's default).
  CHECK(morphology::erode(Mask(12, 1), 3, 4, 2) == Mask(12, 1));
  CHECK_THROWS_WITH_AS(morphology::dilate(dot, 4, 5, 1), Catch("dilate: expected an 4×5 mask"), Error);
}

TEST_CASE("closing fills a one-pixel hole and leaves convex blobs unchanged") {
  // Margins of 3 pixels keep the border out of play (see the next test).
  const Mask filled = square(5, 3);  // 11×11
  Mask holed = filled;
  holed[5 * 11 + 5] = 0;
  CHECK(morphology::close(holed, 11, 11, 1) == filled);
  CHECK(morphology::close(holed, 11, 11, 2) == filled);
  CHECK(morphology::close(filled, 11, 11, 1) == filled);  // a square is closed
  CHECK(morphology::close(filled, 11, 11, 2) == filled);
  // A digital disk (the r = 3 element itself) is convex: unchanged by the cross and the r = 2 disk.
  const Mask disk = morphology::ellipse_element(3);
  Mask padded(13 * 13, 0);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 7; ++j)
      padded[static_cast<std::size_t>((i + 3) * 13 + j + 3)] = disk[static_cast<std::size_t>(i * 7 + j)];
  CHECK(morphology::close(padded, 13, 13, 1) == padded);
  CHECK(morphology::close(padded, 13, 13, 2) == padded);
  CHECK(morphology::close(holed, 11, 11, 0) == holed);  // radius 0: no closing at all
}

TEST_CASE("closing at the border follows cv2: a strip narrower than the element is filled") {
  // A 5×5 square one pixel from the border of a 7×7 image. Outside counts as foreground for the
  // erosion, so the strip between square and border fills except at the corners, which the
  // cross's dilation never reached.
  const Mask m = square(5, 1);
  Mask want = m;
  for (int k = 2; k <= 4; ++k)
    want[static_cast<std::size_t>(k)] = want[static_cast<std::size_t>(6 * 7 + k)] = want[static_cast<std::size_t>(k * 7)] =
        want[static_cast<std::size_t>(k * 7 + 6)] = 1;
  CHECK(morphology::close(m, 7, 7, 1) == want);
}

TEST_CASE("closing joins blobs separated by a gap narrower than the element, not wider ones") {
  // Two 3×3 blobs (rows 3–5) with a gap of `gap` columns between them, 3 pixels from every border
  // (so the border rule plays no part): a 9 × (12 + gap) image.
  auto blobs = [](int gap) {
    const int w = 12 + gap;
    Mask m(static_cast<std::size_t>(9 * w), 0);
    for (int i = 3; i <= 5; ++i)
      for (int j = 0; j < 3; ++j) {
        m[static_cast<std::size_t>(i * w + 3 + j)] = 1;
        m[static_cast<std::size_t>(i * w + 6 + gap + j)] = 1;
      }
    return std::pair{m, w};
  };
  auto with_row4 = [](Mask m, int w, int from, int to) {  // m plus row 4, columns from..to
    for (int j = from; j <= to; ++j) m[static_cast<std::size_t>(4 * w + j)] = 1;
    return m;
  };
  {  // gap 2 < the cross's diameter 3: the gap's middle row is filled (the cross's arms cannot
     // reach into the gap's corners, so rows 3 and 5 stay open)
    auto [m, w] = blobs(2);
    CHECK(morphology::close(m, 9, w, 1) == with_row4(m, w, 6, 7));
  }
  {  // gap 3 = the diameter: nothing bridges it
    auto [m, w] = blobs(3);
    CHECK(morphology::close(m, 9, w, 1) == m);
  }
  {  // the r = 2 disk (diameter 5) bridges the gap of 3, again on the middle row
    auto [m, w] = blobs(3);
    CHECK(morphology::close(m, 9, w, 2) == with_row4(m, w, 6, 8));
  }
}

TEST_CASE("closing is extensive and idempotent on random masks") {
  Generator g(5);
  const auto values = rand({9 * 13}, {}, &g).to_vector<double>();
  Mask m(values.size());
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = values[i] > 0.6 ? 1 : 0;
  for (std::int64_t r : {1, 2, 3}) {
    const Mask c = morphology::close(m, 9, 13, r);
    for (std::size_t i = 0; i < m.size(); ++i) CHECK(c[i] >= m[i]);
    CHECK(morphology::close(c, 9, 13, r) == c);
  }
}

// ---- masks and hybrids

TEST_CASE("maps are aggregated over channels and min-max normalised per image") {
  // channels (1, −2, 0, 3) and (1, 0, 0, −1): |·| sums (2, 2, 0, 4), signed sums (2, −2, 0, 2).
  Tensor a = f64({1, -2, 0, 3, 1, 0, 0, -1, 5, 5, 5, 5, 5, 5, 5, 5}, {2, 2, 2, 2});
  auto abs_maps = normalized_maps(a, Aggregate::abs_sum);
  CHECK(abs_maps[0] == std::vector<double>{0.5, 0.5, 0, 1});
  CHECK(abs_maps[1] == std::vector<double>{0, 0, 0, 0});  // constant: nothing stands out
  CHECK(normalized_maps(a, Aggregate::signed_sum)[0] == std::vector<double>{1, 0, 0.5, 1});
}

TEST_CASE("thresholds and thresholded masks count the pixels above them") {
  std::vector<double> map(16);
  for (int i = 0; i < 16; ++i) map[static_cast<std::size_t>(i)] = i / 15.0;
  auto t = mask_thresholds(map, 200, Thresholds::uniform);
  REQUIRE(t.size() == 200);
  CHECK(t.front() == 0.0);
  CHECK(t[100] == 0.5);
  CHECK(t.back() == doctest::Approx(0.995));
  auto count = [&](double th) {
    auto m = threshold_mask(map, 4, 4, th, 0);
    return std::count(m.begin(), m.end(), std::uint8_t{1});
  };
  CHECK(count(t[0]) == 15);    // all but the minimum
  CHECK(count(t[100]) == 8);   // i/15 > 0.5 for i = 8 .. 15
  CHECK(count(t[199]) == 1);   // only the maximum
  // Quartiles of 0, 1/15, ..., 1 (numpy's linear rule): 0, 3.75/15, 7.5/15, 11.25/15.
  auto q = mask_thresholds(map, 4, Thresholds::quantile);
  CHECK_VALUES(f64(q), {0, 3.75 / 15, 7.5 / 15, 11.25 / 15}, 1e-14);
  CHECK(count(q[0]) == 15);
  CHECK(count(q[1]) == 12);
  CHECK(count(q[2]) == 8);
  CHECK(count(q[3]) == 4);
  CHECK_THROWS_WITH_AS(threshold_mask(map, 4, 5, 0.5, 1), Catch("threshold_mask: expected a map of 4×5"), Error);
}

TEST_CASE("a hybrid is mask·x_cf + (1 − mask)·x, exactly, the mask shared by the channels") {
  Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 2, 2});
  Tensor cf = f64({9, 9, 9, 9, 0, 0, 0, 0}, {1, 2, 2, 2});
  Tensor m = f64({1, 0, 0.25, 0.5}, {1, 1, 2, 2});
  CHECK(hybrid(x, cf, m).to_vector<double>() == std::vector<double>{9, 2, 4.5, 6.5, 0, 6, 5.25, 4});
  CHECK(hybrid(x, cf, f64({1, 0, 0.25, 0.5}, {2, 2})).shape() == Shape{1, 2, 2, 2});
  CHECK_THROWS_WITH_AS(hybrid(x, cf, zeros({1, 1, 3, 2})), Catch("must end in the images' H×W = 2×2"), Error);
  CHECK_THROWS_WITH_AS(hybrid(x, zeros({1, 1, 2, 2}), m), Catch("same shape"), Error);
}

// ---- the methods

TEST_CASE("D-IG is IG from the counterfactual: on a linear model exactly (x − x_cf)·w_A") {
  Generator g(1);
  Tensor w = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  auto model = lumen::testing::linear_model(w, f64({0.1, -0.2, 0.3}, {3}));
  Tensor x = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor cf = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  const std::vector<std::int64_t> real{0, 2, 1};
  Tensor attr = d_integrated_gradients(forward_of(*model), x, cf, Target(real));
  for (std::int64_t i = 0; i < 3; ++i) {
    Tensor want = (x.select(0, i) - cf.select(0, i)) * w.select(0, real[static_cast<std::size_t>(i)]);
    CHECK_VALUES(attr.select(0, i), want.to_vector<double>(), 1e-12);
  }
  // One counterfactual for the whole batch is broadcast.
  Tensor one = d_integrated_gradients(forward_of(*model), x, cf.select(0, 0), 1);
  CHECK_VALUES(one.select(0, 2), ((x.select(0, 2) - cf.select(0, 0)) * w.select(0, 1)).to_vector<double>(), 1e-12);
}

TEST_CASE("D-InputXGradient is ∇f_A(x)·(x − x_cf): positive where the change raises the real class") {
  // F = ReLU(ReLU(x1) − 1 − ReLU(x2)) at x = (3, 1): ∇F = (1, −1). With x_cf = (1, 2):
  // (1·(3 − 1), −1·(1 − 2)) = (2, 1); both changes from x_cf to x raise F.
  auto net = lumen::testing::ig_paper_model();
  Tensor x = f64({3, 1, 3, 1}, {2, 2});
  Tensor attr = d_input_x_gradient(forward_of(*net), x, f64({1, 2}, {2}), 0);
  CHECK_VALUES(attr.flatten(), {2, 1, 2, 1}, 1e-15);
  CHECK_THROWS_WITH_AS(d_input_x_gradient(forward_of(*net), x, f64({1, 2, 3}, {3}), 0),
                       Catch("d_input_x_gradient"), Error);
}

TEST_CASE("D-DeepLIFT is complete: its attributions sum to f_A(x) − f_A(x_cf)") {
  manual_seed(21);
  nn::Sequential net;
  net.push_back("l1", std::make_shared<nn::Linear>(4, 6));
  net.push_back("r1", std::make_shared<nn::ReLU>());
  net.push_back("l2", std::make_shared<nn::Linear>(6, 5));
  net.push_back("r2", std::make_shared<nn::ReLU>());
  net.push_back("l3", std::make_shared<nn::Linear>(5, 3));
  net.to(DType::float64);
  net.eval();
  Generator g(9);
  Tensor x = normal({4, 4}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor cf = normal({4, 4}, 0, 1, {.dtype = DType::float64}, &g);
  const Target real({0, 1, 2, 1});
  Tensor attr = d_deeplift(net, x, cf, real);
  Tensor gap = target_scores(forward_of(net), x, real) - target_scores(forward_of(net), cf, real);
  CHECK_VALUES(attr.sum({1}), gap.to_vector<double>(), 1e-10);
  // The IG paper's model: F(3, 1) = 1 and F(1, 2) = 0.
  auto paper = lumen::testing::ig_paper_model();
  CHECK(d_deeplift(*paper, f64({3, 1}, {1, 2}), f64({1, 2}, {1, 2}), 0).sum().item() == doctest::Approx(1.0));
}

TEST_CASE("D-Grad-CAM against closed forms on one-convolution models") {
  manual_seed(3);
  Generator g(2);
  Tensor x = normal({2, 2, 5, 6}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor cf = normal({2, 2, 5, 6}, 0, 1, {.dtype = DType::float64}, &g);
  const std::vector<std::int64_t> real{1, 0};

  SUBCASE("conv → global average pool → linear: ∂y/∂A_k = v_tk/(hw), the map sums to f(x) − f(x_cf)") {
    const lumen::testing::ConvPoolLinear model = lumen::testing::conv_pool_linear(3);  // the seed above
    nn::Sequential& net = *model.net;
    const auto& conv = model.conv;
    const auto& head = model.head;
    Tensor da = conv2d(x, conv->weight, conv->bias, {.padding = {1, 1}}) -
                conv2d(cf, conv->weight, conv->bias, {.padding = {1, 1}});  // [2, 3, 5, 6]
    Tensor map = d_grad_cam(net, "conv", x, cf, Target(real));
    CHECK(map.shape() == Shape{2, 1, 5, 6});
    for (std::int64_t i = 0; i < 2; ++i) {
      Tensor v = (head->weight.select(0, real[static_cast<std::size_t>(i)]) / 30.0).reshape({3, 1, 1});
      CHECK_VALUES(map.select(0, i).flatten(), (v * da.select(0, i)).sum({0}).flatten().to_vector<double>(), 1e-12);
    }
    CHECK_VALUES(d_grad_cam(net, "conv", x, cf, Target(real), {.pooled = true}).flatten(),
                 map.flatten().to_vector<double>(), 1e-12);
    Tensor gap = target_scores(forward_of(net), x, Target(real)) - target_scores(forward_of(net), cf, Target(real));
    CHECK_VALUES(map.sum({1, 2, 3}), gap.to_vector<double>(), 1e-12);
  }

  SUBCASE("conv → flatten → linear: elementwise weights W_t[k, i, j], pooled their channel means") {
    auto conv = std::make_shared<nn::Conv2d>(2, 3, 3, nn::ConvOptions{.padding = 1});
    auto head = std::make_shared<nn::Linear>(3 * 5 * 6, 2);
    nn::Sequential net;
    net.push_back("conv", conv);
    net.push_back("flatten", std::make_shared<nn::Flatten>());
    net.push_back("head", head);
    net.to(DType::float64);
    net.eval();
    Tensor da = conv2d(x, conv->weight, conv->bias, {.padding = {1, 1}}) -
                conv2d(cf, conv->weight, conv->bias, {.padding = {1, 1}});
    Tensor elementwise = d_grad_cam(net, *conv, x, cf, Target(real));
    Tensor pooled = d_grad_cam(net, *conv, x, cf, Target(real), {.pooled = true});
    for (std::int64_t i = 0; i < 2; ++i) {
      Tensor wt = head->weight.select(0, real[static_cast<std::size_t>(i)]).reshape({3, 5, 6});
      CHECK_VALUES(elementwise.select(0, i).flatten(), (wt * da.select(0, i)).sum({0}).flatten().to_vector<double>(),
                   1e-12);
      CHECK_VALUES(pooled.select(0, i).flatten(),
                   (wt.mean({1, 2}, true) * da.select(0, i)).sum({0}).flatten().to_vector<double>(), 1e-12);
    }
  }

  SUBCASE("a strided layer's map is upsampled bilinearly to the input") {
    auto conv = std::make_shared<nn::Conv2d>(2, 3, 2, nn::ConvOptions{.stride = 2});
    nn::Sequential net;
    net.push_back("conv", conv);
    net.push_back("relu", std::make_shared<nn::ReLU>());
    net.push_back("flatten", std::make_shared<nn::Flatten>());
    net.push_back("head", std::make_shared<nn::Linear>(3 * 2 * 3, 2));
    net.to(DType::float64);
    net.eval();
    Tensor small = d_grad_cam(net, "relu", x, cf, Target(real), {.upsample = false});
    CHECK(small.shape() == Shape{2, 1, 2, 3});
    Tensor big = d_grad_cam(net, "relu", x, cf, Target(real));
    CHECK_VALUES(big.flatten(), upsample_bilinear2d(small, {5, 6}, false).flatten().to_vector<double>(), 1e-12);
    CHECK_THROWS_WITH_AS(d_grad_cam(net, "head", x, cf, Target(real)), Catch("K, h, w]"), Error);
    CHECK_THROWS_WITH_AS(d_grad_cam(net, "relu", x.flatten(1), cf.flatten(1), Target(real)),
                         Catch("d_grad_cam: expected images [N, C, H, W]"), Error);
    CHECK(net(x).shape() == Shape{2, 2});  // the hook is gone after the error
  }
}

TEST_CASE("residual and random maps") {
  Tensor x = f64({1, 2, 3, 4, 0, 0, 0, 0}, {1, 2, 2, 2});
  Tensor cf = f64({2, 2, 1, 4, 1, 0, 0, -1}, {1, 2, 2, 2});
  CHECK(residual_attribution(x, cf).to_vector<double>() == std::vector<double>{2, 0, 2, 1});
  CHECK(residual_attribution(x, cf).shape() == Shape{1, 1, 2, 2});
  Generator g(3);
  Tensor r = random_attribution(zeros({2, 3, 8, 8}), 1.0, &g);
  CHECK(r.shape() == Shape{2, 1, 8, 8});
  CHECK(amin(r).item() >= 0.0);
  CHECK(amax(r).item() < 1.0);
  CHECK_THROWS_WITH_AS(residual_attribution(x, zeros({1, 2, 2, 3})), Catch("residual_attribution"), Error);
}

// ---- the evaluation

TEST_CASE("DAC of an empty batch: no results, the model not run; their summary is an error naming the method") {
  int calls = 0;
  const ForwardFn f = [&](const Tensor& x) {
    ++calls;
    return zeros({x.size(0), 2}, {.dtype = x.dtype()});
  };
  const Tensor none = zeros({0, 1, 6, 6}, {.dtype = DType::float64});
  CHECK(dac_evaluate(f, none, none, none, 1).empty());
  CHECK(calls == 0);
  CHECK_THROWS_WITH_AS(summarize_dac("D-IG", {}), Catch("summarize_dac: expected at least one result for method 'D-IG'"),
                       Error);
}

TEST_CASE("DAC of the exact decisive pixels, in closed form, beats the residual and random maps") {
  Toy toy;
  const ForwardFn f = forward_of(*toy.net);
  // p_B = σ(logit_B − logit_A) = σ(2·Σ_R x): 1/2 on x, σ(8) on x_cf.
  const double full = sigmoid_of(8) - 0.5;
  const DacOptions exact{.closing_radius = 0, .blur_sigma = 0};

  // The perfect map selects exactly R at every threshold: the curve is (0, 0), (4/36, full), ...,
  // (1, full), whose area is full·(1 − 4/72).
  auto perfect = dac_evaluate(f, toy.x, toy.cf, toy.region_r, Toy::kB, exact)[0];
  CHECK(perfect.p_real == doctest::Approx(0.5));
  CHECK(perfect.p_counterfactual == doctest::Approx(sigmoid_of(8)));
  CHECK(perfect.dac == doctest::Approx(full * (1 - 4.0 / 72)));
  for (std::size_t k = 0; k < 200; ++k) {
    CHECK(perfect.mask_sizes[k] == doctest::Approx(4.0 / 36));
    CHECK(perfect.scores[k] == doctest::Approx(full));
  }
  CHECK(perfect.curve_sizes.size() == 202);
  CHECK(perfect.best == 0);
  CHECK(perfect.best_mask.to_vector<double>() == toy.region_r.flatten().to_vector<double>());
  CHECK(perfect.best_hybrid.to_vector<double>() == toy.region_r.flatten().to_vector<double>());

  // D-IG for the real class finds exactly R: (x − x_cf)·w_A = (−1)·(−1) on R, 0 on S.
  Tensor dig = d_integrated_gradients(f, toy.x, toy.cf, Toy::kA);
  CHECK_VALUES(dig.flatten(), toy.region_r.flatten().to_vector<double>(), 1e-12);
  // The residual selects R and S together (10 pixels) for the same score: full·(1 − 10/72).
  auto residual = dac_evaluate(f, toy.x, toy.cf, residual_attribution(toy.x, toy.cf), Toy::kB, exact)[0];
  CHECK(residual.dac == doctest::Approx(full * (1 - 10.0 / 72)));
  Generator g(11);
  auto random = dac_evaluate(f, toy.x, toy.cf, random_attribution(toy.x, 1.0, &g), Toy::kB, exact)[0];
  // Random smooth noise finds R only by chance, late. (It can beat the residual, whose masks
  // always drag S along.)
  CHECK(random.dac < perfect.dac);
  CHECK(random.dac > 0.0);

  // With DAPI's closing and blur (scaled defaults) the order stays.
  auto soft_perfect = dac_evaluate(f, toy.x, toy.cf, toy.region_r, Toy::kB)[0];
  Generator g2(11);
  auto soft_random = dac_evaluate(f, toy.x, toy.cf, random_attribution(toy.x, 1.0, &g2), Toy::kB)[0];
  CHECK(soft_perfect.dac > soft_random.dac);
  CHECK(soft_perfect.best_mask.shape() == Shape{1, 6, 6});
  CHECK(soft_perfect.best_hybrid.shape() == Shape{1, 6, 6});
}

TEST_CASE("DAC: batching does not change the result, and the curve is closed at both ends") {
  Toy toy;
  const ForwardFn f = forward_of(*toy.net);
  Generator g(4);
  Tensor x = cat({toy.x, toy.x}, 0), cf = cat({toy.cf, toy.cf}, 0);
  Tensor attr = rand({2, 1, 6, 6}, {.dtype = DType::float64}, &g);
  auto a = dac_evaluate(f, x, cf, attr, Toy::kB, {.n_thresholds = 50, .spacing = Thresholds::quantile});
  auto b = dac_evaluate(f, x, cf, attr, Toy::kB, {.n_thresholds = 50, .spacing = Thresholds::quantile, .batch_size = 7});
  REQUIRE(a.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(a[i].dac == doctest::Approx(b[i].dac).epsilon(1e-12));
    CHECK(a[i].curve_sizes.front() == 0.0);
    CHECK(a[i].curve_scores.front() == 0.0);
    CHECK(a[i].curve_sizes.back() == 1.0);
    CHECK(a[i].curve_scores.back() == doctest::Approx(sigmoid_of(8) - 0.5));
    CHECK(std::is_sorted(a[i].curve_sizes.begin(), a[i].curve_sizes.end()));
    // The optimal threshold maximises score − size.
    for (std::size_t k = 0; k < 50; ++k)
      CHECK(a[i].scores[k] - a[i].mask_sizes[k] <=
            a[i].scores[static_cast<std::size_t>(a[i].best)] - a[i].mask_sizes[static_cast<std::size_t>(a[i].best)]);
  }
}

TEST_CASE("summarize_dac averages the DAC, the optimal masks and the interpolated curves") {
  DacResult r1, r2;
  r1.curve_sizes = {0, 0.5, 1};
  r1.curve_scores = {0, 1, 1};
  r1.dac = 0.75;
  r1.mask_sizes = {0.5};
  r1.scores = {1};
  r2.curve_sizes = {0, 1};
  r2.curve_scores = {0, 0.5};
  r2.dac = 0.25;
  r2.mask_sizes = {0.25, 0.75};
  r2.scores = {0.1, 0.3};
  r2.best = 1;
  DacSummary s = summarize_dac("toy", {r1, r2}, 5);
  CHECK(s.method == "toy");
  CHECK(s.n_images == 2);
  CHECK(s.mean_dac == doctest::Approx(0.5));
  CHECK(s.mean_best_size == doctest::Approx(0.625));
  CHECK(s.mean_best_score == doctest::Approx(0.65));
  CHECK(s.grid == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  // r1 at the grid: 0, .5, 1, 1, 1; r2: 0, .125, .25, .375, .5.
  CHECK_VALUES(f64(s.mean_curve), {0, 0.3125, 0.625, 0.6875, 0.75}, 1e-15);
  CHECK_THROWS_WITH_AS(summarize_dac("none", {}), Catch("summarize_dac: expected at least one result for method 'none'"),
                       Error);
}

TEST_CASE("every method and the evaluation on the DL@MBL knowledge-extraction exercise's CNN (28×28 RGB): shapes and bounds") {
  manual_seed(1);
  nn::ConvModel model;
  model.eval();
  Generator g(7);
  Tensor x = rand({2, 3, 28, 28}, {}, &g), cf = rand({2, 3, 28, 28}, {}, &g);
  const Target real({0, 1}), counter({2, 3});
  auto maps = discriminative_attributions(model, x, cf, real, "features.3", &g);
  REQUIRE(maps.size() == 6);
  CHECK(maps[0].first == "d_ig");
  CHECK(maps[3].first == "d_gc");
  CHECK(maps[3].second.shape() == Shape{2, 1, 28, 28});
  for (const auto& [name, attr] : maps) {
    INFO(name);
    CHECK(attr.dim() == 4);
    auto res = dac_evaluate(forward_of(model), x, cf, attr, counter);
    REQUIRE(res.size() == 2);
    for (const auto& r : res) {
      CHECK(r.scores.size() == 200);
      CHECK(std::isfinite(r.dac));
      // Every score lies between −p_B(x) and 1 − p_B(x); so does the area under them.
      CHECK(r.dac >= -r.p_real - 1e-6);
      CHECK(r.dac <= 1 - r.p_real + 1e-6);
      CHECK(r.best_hybrid.shape() == Shape{3, 28, 28});
    }
    DacSummary s = summarize_dac(name, res);
    CHECK(s.mean_dac == doctest::Approx((res[0].dac + res[1].dac) / 2));
  }
}

TEST_CASE("dac_evaluate rejects mismatched shapes and options with clear messages") {
  Toy toy;
  const ForwardFn f = forward_of(*toy.net);
  CHECK_THROWS_WITH_AS(dac_evaluate(f, toy.x, zeros({1, 1, 6, 5}), toy.region_r, 1),
                       Catch("dac_evaluate: counterfactuals of shape [1, 1, 6, 5] must match the inputs' shape [1, 1, 6, 6]"),
                       Error);
  CHECK_THROWS_WITH_AS(dac_evaluate(f, toy.x, toy.cf, zeros({1, 1, 5, 6}), 1),
                       Catch("expected attributions [1, C, 6, 6]"), Error);
  CHECK_THROWS_WITH_AS(dac_evaluate(f, toy.x.flatten(1), toy.cf.flatten(1), toy.region_r, 1),
                       Catch("dac_evaluate: expected images [N, C, H, W]"), Error);
  CHECK_THROWS_WITH_AS(dac_evaluate(f, toy.x, toy.cf, toy.region_r, 1, {.n_thresholds = 0}),
                       Catch("n_thresholds >= 1"), Error);
  CHECK_THROWS_WITH_AS(dac_evaluate(f, toy.x, toy.cf, toy.region_r, 5), Catch("counterfactual class 5 is out of range"),
                       Error);
  CHECK_THROWS_WITH_AS(d_integrated_gradients(f, toy.x, zeros({2, 1, 6, 6}), 0), Catch("d_integrated_gradients"),
                       Error);
}

}  // TEST_SUITE
