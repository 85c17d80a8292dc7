// A layer's gradients, plain and integrated, in both layer spaces, on models whose gradients are known
// in closed form: a two-layer ReLU network set by hand, and conv → [ReLU] → global pooling → linear.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "tests/xai/toy_models.h"
#include "xai/concepts.h"
#include "xai/layer_gradients.h"

using namespace lumen;
using namespace lumen::xai;
using Catch = doctest::Contains;

namespace {
const TensorOptions f64{.dtype = DType::float64};

using lumen::testing::hand_inputs;
using lumen::testing::hand_model;

void check_close(const Tensor& got, const std::vector<double>& want, double eps = 1e-12) {
  const std::vector<double> g = got.to_vector<double>();
  REQUIRE(g.size() == want.size());
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(want[i]).epsilon(eps));
}
}  // namespace

TEST_SUITE("xai_concepts") {

TEST_CASE("layer_gradients: the hand-computed gradients, float64, in batches, hooks removed, modes restored") {
  auto net = hand_model();
  net->train();
  const Tensor g0 = layer_gradients(*net, "a", hand_inputs(), 0);
  CHECK(g0.dtype() == DType::float64);
  CHECK(g0.shape() == Shape{2, 3});
  check_close(g0, {1, 2, 3, 0, 2, 0});
  check_close(layer_gradients(*net, "a", hand_inputs(), 1, /*batch=*/1), {-1, 0, 1, 0, 0, 0});
  check_close(layer_gradients(*net, "relu", hand_inputs(), 0, 1), {1, 2, 3, 1, 2, 3});  // W_b's row for every input
  CHECK_FALSE(g0.requires_grad());
  CHECK(net->is_training());
  CHECK(net->find("a")->forward_hook_count() == 0);
  CHECK(autograd::grad_enabled());  // the hook switched the mode on mid-forward; the caller's is back
  // conceptual_sensitivity is G · v.
  check_close(conceptual_sensitivity(*net, "a", hand_inputs(), 0, tensor({0.48, 0.6, 0.64}, {3}, f64)), {3.6, 1.2});
}

TEST_CASE("layer_gradients: a float32 model, and a class whose logit ignores the layer") {
  auto m = testing::conv_pool_linear(5);
  m.net->to(DType::float32);
  const Tensor x = randn({3, 2, 4, 4});
  const Tensor g = layer_gradients(*m.net, "conv", x, 1);
  CHECK(g.dtype() == DType::float64);
  CHECK(g.shape() == Shape{3, 48});
  // With the head's class-1 row zeroed, logit 1 is the bias alone: every gradient is 0.
  {
    autograd::NoGradGuard no_grad;
    m.head->weight.narrow(0, 1, 1).zero_();
  }
  CHECK(layer_gradients(*m.net, "conv", x, 1).abs().sum().item() == 0.0);
}

TEST_CASE("LayerSpace::channels: pooled activations and the spatial sum of the gradient") {
  // Without a ReLU, y_t = Σ_k v_tk · mean(A_k): the per-channel gradient is v_tk itself.
  auto linear = testing::conv_pool_linear(3);
  const Tensor x = randn({5, 2, 4, 4}, f64);
  const Tensor pooled = layer_activations(*linear.net, "conv", x, 2, LayerSpace::channels);
  CHECK(pooled.shape() == Shape{5, 3});
  check_close(pooled, layer_activations(*linear.net, "flatten", x).to_vector<double>());  // the model's own pooling
  const std::vector<double> v = linear.head->weight.to_vector<double>();  // [2, 3]
  const Tensor g = layer_gradients(*linear.net, "conv", x, 1, 2, LayerSpace::channels);
  CHECK(g.shape() == Shape{5, 3});
  for (int n = 0; n < 5; ++n)
    for (int k = 0; k < 3; ++k) CHECK(g.to_vector<double>()[n * 3 + k] == doctest::Approx(v[3 + k]).epsilon(1e-12));

  // With a ReLU after the conv: ∂y_t/∂A_k[h, w] = v_tk/16 · 1[A_k[h, w] > 0], summed: v_tk · (positive
  // positions)/16; and the sensitivity to moving every position along u is that · u.
  auto relu = testing::conv_pool_linear(3, /*with_relu=*/true);
  const std::vector<double> a = layer_activations(*relu.net, "conv", x).to_vector<double>();  // [5, 3·16]
  const std::vector<double> w = relu.head->weight.to_vector<double>();
  const Tensor gr = layer_gradients(*relu.net, "conv", x, 0, 256, LayerSpace::channels);
  const std::vector<double> u = {0.6, -0.8, 0.0};
  const std::vector<double> s = conceptual_sensitivity(*relu.net, "conv", x, 0, tensor(u, {3}, f64), LayerSpace::channels)
                                    .to_vector<double>();
  for (int n = 0; n < 5; ++n) {
    double expected_s = 0;
    for (int k = 0; k < 3; ++k) {
      int positive = 0;
      for (int p = 0; p < 16; ++p) positive += a[n * 48 + k * 16 + p] > 0 ? 1 : 0;
      const double expected = w[k] * positive / 16.0;
      CHECK(gr.to_vector<double>()[n * 3 + k] == doctest::Approx(expected).epsilon(1e-12));
      expected_s += expected * u[k];
    }
    CHECK(s[n] == doctest::Approx(expected_s).epsilon(1e-12));
  }
  CHECK_THROWS_WITH_AS(layer_gradients(*relu.net, "flatten", x, 0, 256, LayerSpace::channels),
                       Catch("LayerSpace::channels"), lumen::Error);
  CHECK_THROWS_WITH_AS(layer_activations(*relu.net, "flatten", x, 256, LayerSpace::channels), Catch("[N, C, ...positions]"),
                       lumen::Error);
}

TEST_CASE("layer_integrated_gradients: equals layer_gradients where the rest of the model is linear") {
  auto net = hand_model();
  for (Integration method : {Integration::gauss_legendre, Integration::riemann_trapezoid})
    check_close(layer_integrated_gradients(*net, "relu", hand_inputs(), 0, 5, method),
                layer_gradients(*net, "relu", hand_inputs(), 0).to_vector<double>());
  auto conv = testing::conv_pool_linear(4, /*with_relu=*/true);
  const Tensor x = randn({3, 2, 4, 4}, f64);
  for (LayerSpace space : {LayerSpace::flat, LayerSpace::channels})
    check_close(layer_integrated_gradients(*conv.net, "relu", x, 1, 5, Integration::gauss_legendre, 2, space),
                layer_gradients(*conv.net, "relu", x, 1, 256, space).to_vector<double>());
}

TEST_CASE("layer_integrated_gradients: by hand, from the layer's output for a zero input") {
  // At layer "a", a' = f_a(0) = b_a = (0, 0, −1). For x1, a = (1, 2, 2): on the path a' + α(a − a'),
  // units 0 and 1 are active for α > 0, unit 2 (−1 + 3α) only for α > 1/3; so class 0's integrated
  // gradient is (1, 2, 3 · Σ_{α_k > 1/3} w_k). (A zero layer baseline would keep unit 2 always active: 3.)
  // For x2, a = (−1, 0.5, −1.5): only unit 1 is active on the whole path: (0, 2, 0), as its gradient.
  auto net = hand_model();
  // Midpoints α = 1/6, 1/2, 5/6 with weights 1/3: two of three past 1/3.
  check_close(layer_integrated_gradients(*net, "a", hand_inputs(), 0, 3, Integration::riemann_middle),
              {1, 2, 2, 0, 2, 0});
  const auto [alphas, weights] = integration_points(Integration::gauss_legendre, 5);
  double past = 0;
  for (std::size_t k = 0; k < alphas.size(); ++k) past += alphas[k] > 1.0 / 3 ? weights[k] : 0.0;
  REQUIRE(past > 0.6);  // 0.642: the nodes 0.5, 0.77, 0.95
  REQUIRE(past < 0.7);
  const Tensor lig = layer_integrated_gradients(*net, "a", hand_inputs(), 0);  // 5 Gauss–Legendre points
  check_close(lig, {1, 2, 3 * past, 0, 2, 0});
  check_close(layer_integrated_gradients(*net, "a", hand_inputs(), 0, 5, Integration::gauss_legendre, /*batch=*/1),
              lig.to_vector<double>());
  CHECK(net->find("a")->forward_hook_count() == 0);
}

TEST_CASE("layer gradients: bad inputs") {
  auto net = hand_model();
  CHECK_THROWS_WITH_AS(layer_gradients(*net, "nope", hand_inputs(), 0), Catch("'nope'"), lumen::Error);
  CHECK_THROWS_WITH_AS(layer_gradients(*net, "a", zeros({0, 2}, f64), 0), Catch("N ≥ 1"), lumen::Error);
  CHECK_THROWS_WITH_AS(layer_gradients(*net, "a", hand_inputs(), 0, 0), Catch("batch"), lumen::Error);
  CHECK_THROWS_AS(layer_gradients(*net, "a", hand_inputs(), 2), lumen::Error);  // 2 classes
  CHECK_THROWS_WITH_AS(layer_integrated_gradients(*net, "a", hand_inputs(), 0, 0), Catch("n_steps"), lumen::Error);
  CHECK(net->find("a")->forward_hook_count() == 0);  // removed although the calls threw

  // A module used twice in one forward has no single output to read.
  auto twice = std::make_shared<nn::Sequential>();
  auto relu = std::make_shared<nn::ReLU>();
  twice->push_back("first", relu);
  twice->push_back("head", std::make_shared<nn::Linear>(2, 2));
  twice->push_back("again", relu);
  CHECK_THROWS_WITH_AS(layer_gradients(*twice, "first", randn({3, 2}), 0), Catch("ran 2 times"), lumen::Error);
  CHECK_THROWS_WITH_AS(layer_activations(*twice, "first", randn({3, 2})), Catch("ran 2 times"), lumen::Error);
}

}  // TEST_SUITE
