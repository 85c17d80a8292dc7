// Class model visualisation (xai/class_visualisation.h) on linear models, where the maximiser of the
// logit over the box [0, 1]^D, with or without L2 decay, is known in closed form; and its projections
// (clamp, quantisation, blur), regularisers (L2, TV) and jitter one at a time.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/baselines.h"
#include "xai/class_visualisation.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using lumen::testing::val;
using Catch = doctest::Contains;

namespace {

// f(x) = W flatten(x) + b on images [N, C, H, W], float64.
ForwardFn linear_on_images(const Tensor& w, const Tensor& b) {
  std::shared_ptr<nn::Linear> m = lumen::testing::linear_model(w, b);
  return [m](const Tensor& x) { return (*m)(x.flatten(1)); };
}

// Two classes over 1×2×3 images; every weight is nonzero, so the box maximiser is a corner.
const Tensor kW = f64({0.5, -1, 2, -0.3, 0.1, -2, /* class 1 */ -0.2, 0.7, -1.5, 0.4, -0.05, 3}, {2, 6});
const Tensor kB = f64({0.25, -0.5});

ClassVisOptions plain(std::int64_t steps) {  // plain gradient ascent with the clamp only
  ClassVisOptions opt;
  opt.steps = steps;
  opt.quantise_levels = 0;
  opt.dtype = DType::float64;
  return opt;
}

// The corner of [0, 1]^D that maximises w·x: 1 where w > 0, 0 where w < 0.
std::vector<double> corner(const Tensor& w_row) {
  std::vector<double> c;
  for (double v : val(w_row)) c.push_back(v > 0 ? 1.0 : 0.0);
  return c;
}

}  // namespace

TEST_SUITE("xai") {
  TEST_CASE("class_model_visualisation: with the clamp, a linear logit is maximised at the box corner") {
    ClassVisResult r = class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, {0, 1}, plain(30));
    REQUIRE(r.images.shape() == Shape{2, 1, 2, 3});
    CHECK(r.images.dtype() == DType::float64);
    CHECK_VALUES(r.images[0].flatten(), corner(kW[0]), 0);
    CHECK_VALUES(r.images[1].flatten(), corner(kW[1]), 0);
    // The logit trace: steps + 1 rows, non-decreasing (every pixel moves towards its corner and the
    // clamp only stops it there), ending at the maximum Σ max(w, 0) + b.
    REQUIRE(r.logits.size() == 31);
    for (std::size_t t = 0; t < r.logits.size(); ++t) {
      REQUIRE(r.logits[t].size() == 2);
      if (t > 0)
        for (std::size_t i = 0; i < 2; ++i) CHECK(r.logits[t][i] >= r.logits[t - 1][i] - 1e-12);
    }
    CHECK(r.logits.back()[0] == doctest::Approx(0.5 + 2 + 0.1 + 0.25));
    CHECK(r.logits.back()[1] == doctest::Approx(0.7 + 0.4 + 3 - 0.5));
    CHECK(r.logits.back()[0] > r.logits.front()[0]);
    // One class for the whole batch is one image.
    CHECK(class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, 1, plain(2)).images.shape() ==
          Shape{1, 1, 2, 3});
  }

  TEST_CASE("class_model_visualisation: a mean/std normalisation leaves the raw maximiser at the same corner") {
    // C = 3 channels of 1×2 pixels, each channel its own mean and std; and one value for all.
    using Values = std::vector<double>;
    for (auto [mean, std] : {std::pair{Values{0.485, 0.456, 0.406}, Values{0.229, 0.224, 0.225}},
                             std::pair{Values{0.5}, Values{0.25}}}) {
      ClassVisOptions opt = plain(40);
      opt.mean = mean;
      opt.std = std;
      ClassVisResult r = class_model_visualisation(linear_on_images(kW, kB), {3, 1, 2}, {1, 0}, opt);
      CHECK_VALUES(r.images[0].flatten(), corner(kW[1]), 1e-12);
      CHECK_VALUES(r.images[1].flatten(), corner(kW[0]), 1e-12);
    }
  }

  TEST_CASE("class_model_visualisation: L2 decay without the clamp converges to W_c / (2λ)") {
    // x ← x + lr (w − 2λx): a contraction by 1 − 2λ·lr = 0.75 towards w / (2λ) = 2w.
    ClassVisOptions opt = plain(120);
    opt.clamp = false;
    opt.l2_decay = 0.25;
    opt.lr = 0.5;
    ClassVisResult r = class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, {0, 1}, opt);
    CHECK_VALUES(r.images.flatten(), val(2.0 * kW.flatten()), 1e-9);
    // No decay and no clamp: the raw image runs off to lr · steps · w from where it started.
    opt.l2_decay = 0;
    opt.steps = 3;
    opt.init = zeros({1, 1, 2, 3}, {.dtype = DType::float64});
    CHECK_VALUES(class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, 0, opt).images.flatten(),
                 val(1.5 * kW[0]), 1e-12);
  }

  TEST_CASE("class_model_visualisation: quantisation puts every pixel on k/(levels − 1)") {
    for (std::int64_t levels : {256, 5}) {
      ClassVisOptions opt = plain(3);
      opt.quantise_levels = levels;
      opt.lr = 0.013;  // small steps, so the pixels stay inside (0, 1)
      opt.seed = 3;
      ClassVisResult r = class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, {0, 1}, opt);
      int inside = 0;
      for (double v : val(r.images)) {
        const double k = v * static_cast<double>(levels - 1);
        CHECK(std::abs(k - std::round(k)) < 1e-9);
        CHECK((v >= 0 && v <= 1));
        inside += v > 0 && v < 1;
      }
      CHECK(inside > 0);
    }
    // The initial image is projected too: init 0.5004 → 128/255, 1.7 → 1, −0.2 → 0.
    ClassVisOptions opt;
    opt.steps = 0;
    opt.init = f64({0.5004, 1.7, -0.2, 0.2, 0.4, 0.6}, {1, 1, 2, 3});
    ClassVisResult r = class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, 0, opt);
    CHECK_VALUES(r.images.flatten(), {128.0 / 255, 1, 0, 51.0 / 255, 102.0 / 255, 153.0 / 255}, 1e-12);
    REQUIRE(r.logits.size() == 1);
    double want = 0.25;
    for (std::size_t i = 0; i < 6; ++i) want += val(kW[0])[i] * val(r.images)[i];
    CHECK(r.logits[0][0] == doctest::Approx(want));
  }

  TEST_CASE("class_model_visualisation: the blur comes after steps k, 2k, ... and matches the manual sequence") {
    // A model whose gradient is 0: only the blur changes the image, and only at steps 3 and 6.
    ForwardFn flat = linear_on_images(zeros({2, 20}, {.dtype = DType::float64}), f64({0, 0}));
    ClassVisOptions opt = plain(7);
    opt.blur_every = 3;
    opt.blur_sigma = 0.8;
    opt.seed = 9;
    ClassVisOptions start = opt;
    start.steps = 0;
    std::vector<Tensor> seen{class_model_visualisation(flat, {1, 4, 5}, 0, start).images};
    std::vector<std::int64_t> steps;
    ClassVisResult r = class_model_visualisation(flat, {1, 4, 5}, 0, opt, [&](std::int64_t t, const Tensor& images) {
      steps.push_back(t);
      seen.push_back(images);
    });
    CHECK(steps == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7});
    for (std::size_t t = 1; t < seen.size(); ++t) {
      INFO("step " << t);
      const Tensor want = t % 3 == 0 ? gaussian_blur(seen[t - 1], 0.8) : seen[t - 1];
      CHECK_VALUES(seen[t], val(want), 1e-12);
    }
    CHECK_VALUES(r.images, val(seen.back()), 0);  // the callback's last images are the result
    CHECK(val(seen[3]) != val(seen[2]));           // a blur that changes nothing would prove nothing

    // With a gradient: x1 = x0 + lr·w, x2 = blur(x1 + lr·w), x3 = x2 + lr·w (no clamp, no quantisation).
    ClassVisOptions m = plain(3);
    m.clamp = false;
    m.blur_every = 2;
    m.lr = 0.1;
    m.init = rand({1, 1, 2, 3}, {.dtype = DType::float64});
    const Tensor step = 0.1 * kW[0].reshape({1, 1, 2, 3});
    Tensor want = gaussian_blur(m.init + 2.0 * step, 1.0) + step;
    ClassVisResult got = class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, 0, m);
    CHECK_VALUES(got.images, val(want), 1e-12);
    // The overload without a callback runs the same loop.
    CHECK_VALUES(class_model_visualisation(linear_on_images(kW, kB), {1, 2, 3}, 0, m, {}).images, val(got.images), 0);
  }

  TEST_CASE("total_variation: value and gradient by hand; as a regulariser, one step against it") {
    // x = [[1, 2], [4, 8]]: vertical differences 3 and 6, horizontal 1 and 4: TV = 9 + 36 + 1 + 16 = 62.
    Tensor x = f64({1, 2, 4, 8}, {1, 1, 2, 2}).requires_grad_();
    Tensor tv = total_variation(x);
    CHECK(tv.shape() == Shape{1});
    CHECK(tv.item() == 62.0);
    // ∂/∂a = −2(c − a) − 2(b − a) = −8, ∂/∂b = −2(d − b) + 2(b − a) = −10, ∂/∂c = 2(c − a) − 2(d − c) = −2,
    // ∂/∂d = 2(d − b) + 2(d − c) = 20.
    Tensor g = autograd::grad({tv.sum()}, {x})[0];
    CHECK_VALUES(g.flatten(), {-8, -10, -2, 20}, 0);
    // Only horizontal pairs for H = 1: 1² + 2²; per image, the channels adding up: 1² + 3², and 0.
    CHECK(total_variation(f64({0, 1, 3}, {1, 1, 1, 3})).item() == 5.0);
    CHECK_VALUES(total_variation(f64({0, 1, 3, 0, 0, 0, 1, 1}, {2, 2, 1, 2})), {10, 0}, 0);

    // A zero-gradient model, tv 0.5, lr 0.1: one step x − 0.05·∇TV.
    ClassVisOptions opt = plain(1);
    opt.clamp = false;
    opt.total_variation = 0.5;
    opt.lr = 0.1;
    opt.init = f64({1, 2, 4, 8}, {1, 1, 2, 2});
    ForwardFn flat = linear_on_images(zeros({1, 4}, {.dtype = DType::float64}), f64({0}));
    CHECK_VALUES(class_model_visualisation(flat, {1, 2, 2}, 0, opt).images.flatten(), {1.4, 2.5, 4.1, 7.0}, 1e-12);
    CHECK_THROWS_AS(total_variation(f64({1, 2})), Error);
  }

  TEST_CASE("class_model_visualisation: jitter is reproducible per seed and the gradient flows back through the roll") {
    const Tensor w = f64({0.5, -1, 2, -0.3, 0.1, -2, 1, 1, -1, 0.2, 0.3, -0.7}, {1, 12});
    ClassVisOptions opt = plain(6);
    opt.clamp = false;
    opt.lr = 0.05;
    opt.jitter = 2;
    opt.seed = 5;
    auto run = [&](const Tensor& weights, const ClassVisOptions& o) {
      return class_model_visualisation(linear_on_images(weights, f64({0.1})), {1, 3, 4}, 0, o);
    };
    ClassVisResult a = run(w, opt), b = run(w, opt);
    CHECK(val(a.images) == val(b.images));
    CHECK(a.logits == b.logits);
    ClassVisOptions other_seed = opt, no_jitter = opt;
    other_seed.seed = 6;
    no_jitter.jitter = 0;
    const ClassVisResult c = run(w, other_seed), d = run(w, no_jitter);
    // Another seed draws other noise; the same noise without jitter sees the weights unrolled.
    CHECK(val(c.images) != val(a.images));
    ClassVisOptions same_start = opt;
    same_start.init = d.images.detach();  // compare from one start: jitter 0 vs 2
    same_start.steps = 1;
    ClassVisOptions same_start_0 = same_start;
    same_start_0.jitter = 0;
    CHECK(val(run(w, same_start).images) != val(run(w, same_start_0).images));
    // The logits are those of the un-jittered images: the last is w·x + b of the result.
    double want = 0.1;
    for (std::size_t i = 0; i < 12; ++i) want += val(w)[i] * val(a.images)[i];
    CHECK(a.logits.back()[0] == doctest::Approx(want));
    // One step moves the image by lr times the weights rolled back (∂/∂x of w·roll(x)): some roll of w.
    const Tensor moved = (run(w, same_start).images - same_start.init) / 0.05, w_img = w.reshape({1, 1, 3, 4});
    bool is_a_roll = false;
    for (std::int64_t dy = 0; dy < 3; ++dy)
      for (std::int64_t dx = 0; dx < 4; ++dx) {
        Tensor rolled = cat({slice(w_img, 2, dy, 3), slice(w_img, 2, 0, dy)}, 2);
        rolled = cat({slice(rolled, 3, dx, 4), slice(rolled, 3, 0, dx)}, 3);
        is_a_roll = is_a_roll || lumen::testing::allclose(moved, val(rolled), 1e-9);
      }
    CHECK(is_a_roll);
    CHECK(!lumen::testing::allclose(moved, val(w_img), 1e-9));  // and not w unrolled: the draw is not (0, 0)
    // Weights the same at every pixel do not see the roll: jitter changes nothing.
    const Tensor flat_w = full({1, 12}, 0.3, {.dtype = DType::float64});
    CHECK_VALUES(run(flat_w, opt).images, val(run(flat_w, no_jitter).images), 1e-12);
  }

  TEST_CASE("class_model_visualisation: dtype, an empty batch and bad inputs") {
    ForwardFn f = linear_on_images(kW, kB);
    ForwardFn f32 = [f](const Tensor& x) { return f(x.to(DType::float64)); };
    ClassVisOptions opt;
    opt.steps = 2;
    CHECK(class_model_visualisation(f32, {1, 2, 3}, 0, opt).images.dtype() == DType::float32);
    // Init decides N; one class is shared by its images.
    opt.init = full({3, 1, 2, 3}, 0.5, {.dtype = DType::float64});
    CHECK(class_model_visualisation(f, {1, 2, 3}, 1, opt).images.shape() == Shape{3, 1, 2, 3});
    // No targets: no images, and the model is never called.
    ForwardFn never = [](const Tensor&) -> Tensor { throw std::logic_error("called"); };
    ClassVisResult empty_r = class_model_visualisation(never, {1, 2, 3}, std::vector<std::int64_t>{}, plain(2));
    CHECK(empty_r.images.shape() == Shape{0, 1, 2, 3});
    CHECK(empty_r.logits == std::vector<std::vector<double>>(3));

    auto with = [](auto change) {
      ClassVisOptions o = plain(2);
      change(o);
      return o;
    };
    const char* op = "class_model_visualisation";
    CHECK_THROWS_WITH_AS(class_model_visualisation(f, {6}, 0, plain(2)), Catch("image_shape"), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 1, 2, 3}, 0, plain(2)), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {0, 2, 3}, 0, plain(2)), Error);
    CHECK_THROWS_WITH_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.std = {0.0}; })),
                         Catch("std values > 0"), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.std = {-1.0}; })), Error);
    CHECK_THROWS_WITH_AS(class_model_visualisation(f, {3, 1, 2}, 0, with([](auto& o) { o.mean = {0.0, 0.0}; })),
                         Catch("mean values"), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.std = {1.0, 1.0}; })), Error);
    CHECK_THROWS_WITH_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.steps = -1; })),
                         Catch(op), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.quantise_levels = 1; })), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) {
                                                o.blur_every = 2;
                                                o.blur_sigma = 0;
                                              })),
                    Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.jitter = -1; })), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.l2_decay = -1; })), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) { o.lr = NAN; })), Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, 0, with([](auto& o) {
                                                o.init = zeros({2, 1, 3, 2}, {.dtype = DType::float64});
                                              })),
                    Error);
    CHECK_THROWS_AS(class_model_visualisation(f, {1, 2, 3}, {0, 1, 0}, with([](auto& o) {
                                                o.init = zeros({2, 1, 2, 3}, {.dtype = DType::float64});
                                              })),
                    Error);
    CHECK_THROWS_WITH_AS(class_model_visualisation(f, {1, 2, 3}, 5, plain(2)), Catch("out of range"), Error);
  }
}
