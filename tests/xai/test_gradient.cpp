// The gradient family on models whose attributions are known in closed form.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/gradient.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

namespace {

// A linear model with 3 classes over 4 features, and two inputs.
struct Linear3 {
  Tensor w = f64({1, -2, 3, 0.5, -1, 0.25, 2, -3, 0.5, 1.5, -0.5, 2}, {3, 4});
  Tensor b = f64({0.1, -0.2, 0.3});
  std::shared_ptr<nn::Linear> model = lumen::testing::linear_model(w, b);
  Tensor x = f64({0.5, 1, -1, 2, 3, -2, 0.25, 1}, {2, 4});
};

// A smooth nonlinear model (float64): tanh layer then a linear read-out, for convergence tests.
ForwardFn smooth_model() {
  Generator g(11);
  Tensor w1 = normal({6, 4}, 0, 0.4, {.dtype = DType::float64}, &g);
  Tensor w2 = normal({3, 6}, 0, 0.8, {.dtype = DType::float64}, &g);
  return [w1, w2](const Tensor& x) { return matmul(lumen::tanh(matmul(x, w1.t())), w2.t()); };
}

}  // namespace

TEST_SUITE("xai") {

TEST_CASE("integration_points: weights sum to one; Gauss–Legendre nodes as tabulated") {
  for (auto m : {Integration::riemann_left, Integration::riemann_right, Integration::riemann_middle,
                 Integration::riemann_trapezoid, Integration::gauss_legendre}) {
    auto [a, w] = integration_points(m, 7);
    double s = 0;
    for (double v : w) s += v;
    CHECK(s == doctest::Approx(1.0).epsilon(1e-12));
    for (double v : a) CHECK((v >= 0 && v <= 1));
  }
  auto [a, w] = integration_points(Integration::gauss_legendre, 3);
  CHECK(a[0] == doctest::Approx((1 - std::sqrt(0.6)) / 2).epsilon(1e-14));
  CHECK(a[1] == doctest::Approx(0.5).epsilon(1e-14));
  CHECK(w[0] == doctest::Approx(5.0 / 18).epsilon(1e-14));
  CHECK(w[1] == doctest::Approx(8.0 / 18).epsilon(1e-14));
  auto [al, wl] = integration_points(Integration::riemann_left, 4);
  CHECK(al == std::vector<double>{0, 0.25, 0.5, 0.75});
  auto [at, wt] = integration_points(Integration::riemann_trapezoid, 3);
  CHECK(wt == std::vector<double>{0.25, 0.5, 0.25});
  CHECK_THROWS_WITH_AS(integration_points(Integration::riemann_left, 0), Catch("n_steps >= 1"), Error);
}

TEST_CASE("IG on ReLU(ReLU(x1) − 1 − ReLU(x2)) at (3, 1) gives (1.5, −0.5), the paper's example") {
  auto net = lumen::testing::ig_paper_model();
  IntegratedGradients ig(forward_of(*net));
  Tensor x = f64({3, 1}, {1, 2});
  for (auto m : {Integration::riemann_middle, Integration::riemann_trapezoid, Integration::gauss_legendre}) {
    auto [attr, delta] = ig.attribute_with_delta(x, 0, {}, {.n_steps = 500, .method = m});
    CHECK_VALUES(attr.flatten(), {1.5, -0.5}, 0.05);
    CHECK(std::abs(delta.item()) < 0.01);
  }
}

TEST_CASE("linear model: IG = (x − x')·w exactly, saliency = |w|, InputXGradient = x·w") {
  Linear3 lin;
  ForwardFn f = forward_of(*lin.model);
  Target t({2, 0});
  Tensor w_rows = stack({lin.w.select(0, 2), lin.w.select(0, 0)});
  Tensor base = f64({1, 1, 1, 1});
  for (auto m : {Integration::riemann_left, Integration::gauss_legendre}) {
    auto [attr, delta] = IntegratedGradients(f).attribute_with_delta(lin.x, t, base, {.n_steps = 3, .method = m});
    CHECK_VALUES(attr.flatten(), ((lin.x - base) * w_rows).flatten().to_vector<double>(), 1e-12);
    CHECK_VALUES(delta, {0, 0}, 1e-12);
  }
  CHECK_VALUES(Saliency(f).attribute(lin.x, t).flatten(), abs(w_rows).flatten().to_vector<double>());
  CHECK_VALUES(Saliency(f).attribute(lin.x, t, /*abs=*/false).flatten(), w_rows.flatten().to_vector<double>());
  CHECK_VALUES(InputXGradient(f).attribute(lin.x, t).flatten(), (lin.x * w_rows).flatten().to_vector<double>());
}

TEST_CASE("IG completeness: |delta| shrinks with n_steps, Gauss–Legendre fastest") {
  ForwardFn f = smooth_model();
  Tensor x = f64({1.2, -0.7, 0.4, 2.0, -1.0, 0.3, 0.8, -0.2}, {2, 4});
  Tensor base = f64({-0.5, 0.5, 0.0, -1.0});
  IntegratedGradients ig(f);
  auto err = [&](Integration m, std::int64_t n) {
    return amax(ig.attribute_with_delta(x, Target({1, 2}), base, {.n_steps = n, .method = m}).delta.abs()).item();
  };
  const double left8 = err(Integration::riemann_left, 8), left32 = err(Integration::riemann_left, 32);
  const double mid8 = err(Integration::riemann_middle, 8), mid32 = err(Integration::riemann_middle, 32);
  const double gl8 = err(Integration::gauss_legendre, 8), gl16 = err(Integration::gauss_legendre, 16);
  INFO("left " << left8 << " -> " << left32 << ", middle " << mid8 << " -> " << mid32 << ", GL8 " << gl8 << ", GL16 " << gl16);
  CHECK(left32 < left8 / 2);
  CHECK(mid32 < mid8 / 8);  // second order
  CHECK(gl8 < mid8 / 100);
  CHECK(gl16 < gl8 / 100);  // spectral: the error falls faster than any power of n
}

TEST_CASE("IG: internal_batch_size does not change the result; shapes and targets are checked") {
  ForwardFn f = smooth_model();
  Generator g(5);
  Tensor x = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  IntegratedGradients ig(f);
  Tensor all = ig.attribute(x, Target({0, 1, 2}), {}, {.n_steps = 20});
  // Multiples of the 3 samples take the whole-step path (1, 2, 7 steps a pass, the last pass shorter),
  // the others the row-by-row one.
  for (std::int64_t batch : {1, 3, 6, 7, 20, 21, 59})
    CHECK_VALUES(ig.attribute(x, Target({0, 1, 2}), {}, {.n_steps = 20, .internal_batch_size = batch}).flatten(),
                 all.flatten().to_vector<double>(), 1e-12);
  CHECK_THROWS_WITH_AS(ig.attribute(x, Target({0, 1})), Catch("IntegratedGradients: got 2 targets for 3 inputs"), Error);
  CHECK_THROWS_WITH_AS(ig.attribute(x, 0, f64({1, 2})), Catch("fits neither"), Error);
  CHECK_THROWS_WITH_AS(ig.attribute(x, 5), Catch("out of range"), Error);
}

TEST_CASE("NoiseTunnel: SmoothGrad, SmoothGrad² and VarGrad on models with known answers") {
  Linear3 lin;
  Saliency sal(forward_of(*lin.model));
  AttributionFn signed_grad = [&](const Tensor& x, const Target& t) { return sal.attribute(x, t, false); };
  NoiseTunnel nt(signed_grad);
  Generator g(1);
  Tensor w0 = lin.w.select(0, 0);
  // A linear model's gradient is the same everywhere: the mean is w, the mean square w², the variance 0.
  CHECK_VALUES(nt.attribute(lin.x, 0, {.n_samples = 8, .stdev = 0.5, .generator = &g}).select(0, 0),
               w0.to_vector<double>(), 1e-12);
  CHECK_VALUES(nt.attribute(lin.x, 0, {.type = NoiseType::smoothgrad_sq, .n_samples = 8, .generator = &g}).select(0, 1),
               square(w0).to_vector<double>(), 1e-12);
  CHECK_VALUES(nt.attribute(lin.x, 0, {.type = NoiseType::vargrad, .n_samples = 8, .generator = &g}).flatten(),
               std::vector<double>(8, 0.0), 1e-12);
  // f = Σ x²: the gradient 2(x + ε) has mean 2x and variance 4σ².
  ForwardFn sq = [](const Tensor& x) { return square(x).sum({1}, true); };
  NoiseTunnel nt_sq([&](const Tensor& x, const Target& t) { return Saliency(sq).attribute(x, t, false); });
  Tensor x = f64({1, -2, 0.5}, {1, 3});
  Tensor mean = nt_sq.attribute(x, 0, {.n_samples = 4000, .stdev = 0.3, .samples_per_pass = 500, .generator = &g});
  CHECK_VALUES(mean.flatten(), {2, -4, 1}, 0.02);
  Tensor var = nt_sq.attribute(x, 0, {.type = NoiseType::vargrad, .n_samples = 4000, .stdev = 0.3, .generator = &g});
  CHECK_VALUES(var.flatten(), {0.36, 0.36, 0.36}, 0.05);
}

TEST_CASE("GradientShap equals (x − x')·w for a linear model and one baseline; averages baselines") {
  Linear3 lin;
  GradientShap gs(forward_of(*lin.model));
  Generator g(2);
  Tensor base = f64({0.5, 0.5, 0.5, 0.5}, {1, 4});
  Tensor attr = gs.attribute(lin.x, 1, base, {.n_samples = 3, .generator = &g});
  CHECK_VALUES(attr.flatten(), ((lin.x - base) * lin.w.select(0, 1)).flatten().to_vector<double>(), 1e-12);
  // With many baselines, the expectation is (x − E[x'])·w; internal batching draws the same samples.
  Tensor bases = f64({0, 0, 0, 0, 1, 1, 1, 1}, {2, 4});
  Generator g1(9), g2(9);
  Tensor a1 = gs.attribute(lin.x, 1, bases, {.n_samples = 2000, .generator = &g1});
  Tensor a2 = gs.attribute(lin.x, 1, bases, {.n_samples = 2000, .internal_batch_size = 333, .generator = &g2});
  CHECK_VALUES(a2.flatten(), a1.flatten().to_vector<double>(), 1e-12);
  CHECK_VALUES(a1.flatten(), ((lin.x - 0.5) * lin.w.select(0, 1)).flatten().to_vector<double>(), 0.1);
}

}  // TEST_SUITE
