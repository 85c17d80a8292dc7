// GuidedBackprop, Deconvolution and DeepLift: modified backward rules installed through forward
// hooks, checked against hand-derived formulas, and the model left as it was afterwards.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/models.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/backward_rules.h"
#include "xai/gradient.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;

namespace {

// Linear(4→5) → ReLU → Linear(5→3) → ReLU → Linear(3→2), float64, seeded (tests/xai/toy_models.h).
struct TwoHidden : lumen::testing::TwoHiddenMlp {
  TwoHidden() : TwoHiddenMlp(lumen::testing::two_hidden_mlp()) {}
  // The backward pass by hand for one input row x [4] and class t, with `rule` applied to the
  // gradient g arriving at each ReLU whose pre-activation was z: the ordinary rule is g·1[z>0].
  template <class Rule> Tensor by_hand(const Tensor& x, std::int64_t t, Rule rule) const {
    Tensor z1 = matmul(l1->weight, x) + l1->bias, h1 = relu(z1);
    Tensor z2 = matmul(l2->weight, h1) + l2->bias;
    Tensor g = l3->weight.select(0, t);        // ∂y/∂h2
    g = rule(g, z2);                           // through r2
    g = matmul(l2->weight.t(), g);             // ∂/∂h1
    g = rule(g, z1);                           // through r1
    return matmul(l1->weight.t(), g);          // ∂/∂x
  }
};

}  // namespace

TEST_SUITE("xai") {

TEST_CASE("GuidedBackprop keeps positive gradients at active units; Deconvolution ignores the mask") {
  TwoHidden m;
  Generator g(4);
  Tensor x = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor guided = GuidedBackprop(*m.net).attribute(x, Target({0, 1, 1}));
  Tensor deconv = Deconvolution(*m.net).attribute(x, Target({0, 1, 1}));
  std::vector<std::int64_t> t{0, 1, 1};
  for (std::int64_t i = 0; i < 3; ++i) {
    auto want_guided = m.by_hand(x.select(0, i), t[i], [](const Tensor& gr, const Tensor& z) { return relu(gr) * gt(z, 0.0); });
    auto want_deconv = m.by_hand(x.select(0, i), t[i], [](const Tensor& gr, const Tensor&) { return relu(gr); });
    CHECK_VALUES(guided.select(0, i), want_guided.to_vector<double>(), 1e-12);
    CHECK_VALUES(deconv.select(0, i), want_deconv.to_vector<double>(), 1e-12);
  }
}

TEST_CASE("the rules are gone afterwards: same forward, ordinary gradients") {
  TwoHidden m;
  Generator g(6);
  Tensor x = normal({4, 4}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor before = (*m.net)(x);
  Tensor grad_before = Saliency(forward_of(*m.net)).attribute(x, 1, false);
  {
    ReluRuleScope scope(*m.net, guided_relu);
    CHECK(scope.hooked() == 2);
    CHECK_VALUES((*m.net)(x).flatten(), before.flatten().to_vector<double>(), 0);  // forward values unchanged
  }
  GuidedBackprop(*m.net).attribute(x, 1);
  DeepLift(*m.net).attribute(x, 1);
  CHECK_VALUES((*m.net)(x).flatten(), before.flatten().to_vector<double>(), 0);
  Tensor grad_after = Saliency(forward_of(*m.net)).attribute(x, 1, false);
  CHECK_VALUES(grad_after.flatten(), grad_before.flatten().to_vector<double>(), 0);
  for (std::int64_t i = 0; i < 4; ++i)
    CHECK_VALUES(grad_after.select(0, i),
                 m.by_hand(x.select(0, i), 1, [](const Tensor& gr, const Tensor& z) { return gr * gt(z, 0.0); })
                     .to_vector<double>(), 1e-12);
}

TEST_CASE("the modified ReLUs have ReLU's values and the stated backward, also twice differentiated") {
  Tensor x = f64({-1, 2, 3}).requires_grad_();
  Tensor gy = f64({1, -1, 2});
  CHECK_VALUES(autograd::grad({guided_relu(x)}, {x}, {gy})[0], {0, 0, 2});
  CHECK_VALUES(autograd::grad({deconv_relu(x)}, {x}, {gy})[0], {1, 0, 2});
  CHECK_VALUES(guided_relu(x), {0, 2, 3});
}

TEST_CASE("DeepLift (rescale) on ReLU(ReLU(x1) − 1 − ReLU(x2)) at (3, 1) is exactly (1.5, −0.5)") {
  auto net = lumen::testing::ig_paper_model();
  auto [attr, delta] = DeepLift(*net).attribute_with_delta(f64({3, 1}, {1, 2}), 0);
  CHECK_VALUES(attr.flatten(), {1.5, -0.5}, 1e-12);
  CHECK_VALUES(delta, {0}, 1e-12);
  // The gradient alone would say (1, −1): DeepLift's multipliers see the baseline.
}

TEST_CASE("DeepLift is complete on ReLU/Sigmoid/Tanh networks: Σ attributions = F(x) − F(x')") {
  manual_seed(8);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("a", std::make_shared<nn::Linear>(5, 8));
  net->push_back("relu", std::make_shared<nn::ReLU>());
  net->push_back("b", std::make_shared<nn::Linear>(8, 6));
  net->push_back("tanh", std::make_shared<nn::Tanh>());
  net->push_back("c", std::make_shared<nn::Linear>(6, 4));
  net->push_back("sigmoid", std::make_shared<nn::Sigmoid>());
  net->push_back("d", std::make_shared<nn::Linear>(4, 3));
  net->to(DType::float64);
  net->eval();
  Generator g(1);
  Tensor x = normal({4, 5}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor base = normal({5}, 0, 1, {.dtype = DType::float64}, &g);
  auto [attr, delta] = DeepLift(*net).attribute_with_delta(x, Target({0, 1, 2, 0}), base);
  CHECK_VALUES(delta, {0, 0, 0, 0}, 1e-10);
  // Baseline = input: every multiplier is the derivative and every attribution is zero.
  CHECK_VALUES(DeepLift(*net).attribute(x, 1, x).flatten(), std::vector<double>(20, 0.0), 1e-12);
}

TEST_CASE("DeepLift's max-pooling rule on one window: Δy goes to the baseline's argmax when it wins") {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("pool", std::make_shared<nn::MaxPool2d>(2));
  net->push_back("flatten", std::make_shared<nn::Flatten>());
  net->to(DType::float64);
  net->eval();
  // x = [[1, 5], [2, 0]] (max 5), x' = [[7, 0], [0, 0]] (max 7): Δy = −2, all of it sent to x''s
  // argmax (0, 0), where Δz = −6: multiplier 1/3, attribution −2. The gradient would give 5 at (0, 1).
  Tensor x = f64({1, 5, 2, 0}, {1, 1, 2, 2}), base = f64({7, 0, 0, 0}, {1, 1, 2, 2});
  auto [attr, delta] = DeepLift(*net).attribute_with_delta(x, 0, base);
  CHECK_VALUES(attr.flatten(), {-2, 0, 0, 0}, 1e-12);
  CHECK_VALUES(delta, {0}, 1e-12);
  auto [grad_attr, grad_delta] = DeepLift(*net, 1e-10, MaxPoolRule::gradient).attribute_with_delta(x, 0, base);
  CHECK_VALUES(grad_attr.flatten(), {0, 5, 0, 0}, 1e-12);
  CHECK_VALUES(grad_delta, {7}, 1e-12);
  // x wins (baseline 0): Δy = 5 to x's argmax, as the gradient does.
  CHECK_VALUES(DeepLift(*net).attribute(x, 0).flatten(), {0, 5, 0, 0}, 1e-12);
}

TEST_CASE("DeepLift is complete on CNNs with max-pooling (Captum's rule), where the gradient rule is not") {
  Generator g(2);
  Tensor x = normal({4, 2, 8, 8}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor base = normal({4, 2, 8, 8}, 0, 1, {.dtype = DType::float64}, &g);
  const Target t({0, 1, 2, 0});
  for (bool overlapping : {false, true}) {
    CAPTURE(overlapping);
    auto net = lumen::testing::conv_maxpool_net(3, overlapping);
    auto [attr, delta] = DeepLift(*net).attribute_with_delta(x, t, base);
    Tensor gap = attr.flatten(1).sum({1}) - delta;  // F(x) − F(x')
    const auto d = delta.to_vector<double>(), gp = gap.to_vector<double>();
    auto [old_attr, old_delta] = DeepLift(*net, 1e-10, MaxPoolRule::gradient).attribute_with_delta(x, t, base);
    double worst_old = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
      CHECK(std::abs(d[i]) <= 1e-12 * (1 + std::abs(gp[i])));
      worst_old = std::max(worst_old, std::abs(old_delta.to_vector<double>()[i]) / std::abs(gp[i]));
    }
    CHECK(worst_old > 1e-3);  // the gradient through max-pooling misses part of F(x) − F(x')
  }
}

TEST_CASE("DeepLift on the course's ConvModel (float32): completeness to float precision") {
  manual_seed(4);
  nn::ConvModel model;
  model.eval();
  Generator g(9);
  Tensor x = rand({3, 3, 28, 28}, {}, &g);
  Tensor base = rand({3, 3, 28, 28}, {}, &g);
  const Target t({0, 1, 3});
  auto [attr, delta] = DeepLift(model).attribute_with_delta(x, t, base);
  const auto d = delta.to_vector<double>();
  const auto gap = (target_scores(forward_of(model), x, t) - target_scores(forward_of(model), base, t)).to_vector<double>();
  const auto old = DeepLift(model, 1e-10, MaxPoolRule::gradient).attribute_with_delta(x, t, base).delta.to_vector<double>();
  for (std::size_t i = 0; i < d.size(); ++i) {
    INFO("sample " << i << ": delta " << d[i] << ", gradient rule's " << old[i] << ", F(x) - F(x') " << gap[i]);
    CHECK(std::abs(d[i]) <= 1e-5 * std::abs(gap[i]));
  }
}

}  // TEST_SUITE
