// The shared vocabulary of the attribution methods (xai/attribution.h) and the baselines
// (xai/baselines.h): target selection on expanded batches, baseline broadcasting, the Gaussian blur.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/attribution.h"
#include "xai/backward_rules.h"
#include "xai/baselines.h"
#include "xai/gradient.h"
#include "xai/lime.h"
#include "xai/perturbation.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

TEST_SUITE("xai") {

TEST_CASE("Target::select picks one column per row, repeating per-sample targets over expanded batches") {
  Tensor scores = f64({0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}, {4, 3});
  CHECK_VALUES(Target(2).select(scores), {2, 12, 22, 32});
  CHECK_VALUES(Target({0, 1}).select(scores), {0, 11, 20, 31});  // rows 2, 3 belong to samples 0, 1
  CHECK_THROWS_WITH_AS(Target({0, 1, 2}).select(scores), Catch("multiple"), Error);
  CHECK_THROWS_WITH_AS(Target(3).select(scores), Catch("out of range"), Error);
  CHECK(Target({4, 5, 6}).slice(1, 2).classes() == std::vector<std::int64_t>{5, 6});
  CHECK(Target::from_tensor(tensor_from({1, 3})).classes() == std::vector<std::int64_t>{1, 3});
}

TEST_CASE("target_gradient is each row's gradient of its own target score") {
  // f(x) = [Σx², Σx³] per row; the gradient of class 1 is 3x², of class 0 2x.
  ForwardFn f = [](const Tensor& x) { return stack({square(x).sum({1}), x.pow(3.0).sum({1})}, 1); };
  Tensor x = f64({1, 2, 3, 4}, {2, 2});
  CHECK_VALUES(target_gradient(f, x, Target({1, 0})), {3, 12, 6, 8});
  auto [scores, g] = target_scores_and_gradient(f, x, 0);
  CHECK_VALUES(scores, {5, 25});
  CHECK_FALSE(x.requires_grad());
}

TEST_CASE("check_target and expand_baseline say what they expected") {
  Tensor x = zeros({3, 2, 2});
  CHECK_THROWS_WITH_AS(check_target(Target({0, 1}), x, "Method"), Catch("Method: got 2 targets for 3 inputs"), Error);
  CHECK(expand_baseline({}, x, "m").shape() == Shape{3, 2, 2});
  CHECK(expand_baseline(ones({2, 2}), x, "m").shape() == Shape{3, 2, 2});
  CHECK(expand_baseline(ones({1, 2, 2}), x, "m").shape() == Shape{3, 2, 2});
  CHECK_THROWS_WITH_AS(expand_baseline(ones({2, 3}), x, "IG"), Catch("fits neither"), Error);
  CHECK_VALUES(repeat_batch(f64({1, 2}, {2, 1}), 3).flatten(), {1, 2, 1, 2, 1, 2});
}

TEST_CASE("Baseline: one value or a tensor, broadcast to the inputs' shape and dtype; {} is zeros") {
  Tensor x = zeros({2, 3}, {.dtype = DType::float64});
  CHECK_VALUES(Baseline().expand(x, "m").flatten(), std::vector<double>(6, 0.0), 0);
  CHECK_VALUES(Baseline(0.5).expand(x, "m").flatten(), std::vector<double>(6, 0.5), 0);
  Tensor one_sample = tensor({1, 2, 3}, {3});  // float32, like one sample
  Tensor b = Baseline(one_sample).expand(x, "m");
  CHECK(b.dtype() == DType::float64);
  CHECK_VALUES(b.flatten(), {1, 2, 3, 1, 2, 3}, 0);
  CHECK_VALUES(Baseline(Tensor()).expand(x, "m").flatten(), std::vector<double>(6, 0.0), 0);  // undefined: zeros
  CHECK_THROWS_WITH_AS(Baseline(ones({2})).expand(x, "Occlusion"), Catch("Occlusion: baseline of shape [2]"), Error);
}

TEST_CASE("gaussian_blur: normalised taps, constant images unchanged, a delta becomes the kernel") {
  Tensor k = gaussian_kernel1d(1.0, 3);
  CHECK(k.sum().item() == doctest::Approx(1.0));
  CHECK(k.to_vector<double>()[3] > k.to_vector<double>()[2]);
  CHECK_VALUES(gaussian_blur(full({1, 2, 5, 6}, 0.25, {.dtype = DType::float64}), 1.5).flatten(),
               std::vector<double>(60, 0.25), 1e-12);
  // A unit impulse far from the borders spreads into the outer product of the 1-D taps.
  Tensor img = zeros({1, 1, 11, 11}, {.dtype = DType::float64});
  img.select(2, 5).select(2, 5).fill_(1.0);
  Tensor out = gaussian_blur(img, 1.0, 3);
  auto taps = k.to_vector<double>();
  CHECK(out.select(0, 0).select(0, 0).select(0, 5).select(0, 5).item() == doctest::Approx(taps[3] * taps[3]));
  CHECK(out.select(0, 0).select(0, 0).select(0, 4).select(0, 7).item() == doctest::Approx(taps[2] * taps[5]));
  CHECK(out.sum().item() == doctest::Approx(1.0));
  // Reflection at the border keeps the mass inside: a corner impulse still sums to 1.
  Tensor corner = zeros({1, 6, 6}, {.dtype = DType::float64});
  corner.select(1, 0).select(1, 0).fill_(1.0);
  CHECK(gaussian_blur(corner, 1.0).sum().item() == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(gaussian_blur(zeros({4, 4}), 1.0), Catch("gaussian_blur"), Error);
}

TEST_CASE("uniform_baseline has the inputs' shape and range") {
  Generator g(3);
  Tensor b = uniform_baseline(zeros({2, 3, 4, 4}), 0.0, 1.0, &g);
  CHECK(b.shape() == Shape{2, 3, 4, 4});
  CHECK(amin(b).item() >= 0.0);
  CHECK(amax(b).item() < 1.0);
}

TEST_CASE("an empty batch: no model call, and every extra output is empty too") {
  // Before, Target({}).select divided by zero (0 per-sample targets), as did Saliency's backward.
  CHECK_THROWS_WITH_AS(Target(std::vector<std::int64_t>{}).select(f64({1, 2}, {1, 2})), Catch("no targets"), Error);
  CHECK_THROWS_WITH_AS(Target(std::vector<std::int64_t>{}).at(0), Catch("Target::at: there are no targets"), Error);
  std::int64_t calls = 0;
  ForwardFn counting = [&calls](const Tensor& x) {
    ++calls;
    return matmul(x, f64({1, 2, 3, 4, 5, 6}, {3, 2}));
  };
  const Tensor none = f64({1, 2, 3}, {1, 3}).narrow(0, 0, 0);  // [0, 3]
  CHECK(target_gradient(counting, none, 1).shape() == Shape{0, 3});
  CHECK(target_scores(counting, none, 1).shape() == Shape{0});
  auto [ig, ig_delta] = IntegratedGradients(counting).attribute_with_delta(none, Target(std::vector<std::int64_t>{}));
  CHECK(ig.shape() == Shape{0, 3});
  CHECK(ig_delta.shape() == Shape{0});
  ShapResult shap = KernelShap(counting).explain(none, 0);
  CHECK(shap.attributions.shape() == Shape{0, 3});
  CHECK(shap.values.shape() == Shape{0, 0});
  CHECK(shap.base_values.shape() == Shape{0});
  LimeResult lime = Lime(counting).explain(none, 0);
  CHECK(lime.coefficients.shape() == Shape{0, 0});
  CHECK(lime.intercepts.shape() == Shape{0});
  CHECK(calls == 0);
  auto net = lumen::testing::ig_paper_model();
  auto [dl, dl_delta] = DeepLift(*net).attribute_with_delta(f64({3, 1}, {1, 2}).narrow(0, 0, 0), 0);
  CHECK(dl.shape() == Shape{0, 2});
  CHECK(dl_delta.shape() == Shape{0});
  // Options are still checked.
  CHECK_THROWS_WITH_AS(IntegratedGradients(counting).attribute(none, 0, {}, {.n_steps = 0}), Catch("n_steps >= 1"), Error);
  CHECK_THROWS_WITH_AS(Occlusion(counting).attribute(none, 0, {}, {.window = {4}}), Catch("Occlusion: window [4]"), Error);
  CHECK_THROWS_WITH_AS(Saliency(counting).attribute(none, Target({1, 2})), Catch("2 targets for 0 inputs"), Error);
}

}  // TEST_SUITE
