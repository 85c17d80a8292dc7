// Grad-CAM on a one-convolution model whose map is known in closed form, and on the CNN of the
// DL@MBL knowledge-extraction exercise (nn::ConvModel).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/models.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/backward_rules.h"
#include "xai/discriminative.h"
#include "xai/grad_cam.h"

using namespace lumen;
using namespace lumen::xai;
using Catch = doctest::Contains;

TEST_SUITE("xai") {

TEST_CASE("Grad-CAM of conv → global average pool → linear is ReLU(Σ_k v_tk/(hw) · A_k)") {
  // y_t = Σ_k v_tk · mean(A_k), so ∂y_t/∂A_k = v_tk/(h·w) everywhere and α_k = v_tk/(h·w).
  const lumen::testing::ConvPoolLinear model = lumen::testing::conv_pool_linear(3);
  nn::Sequential& net = *model.net;
  const auto& conv = model.conv;
  const auto& head = model.head;
  Generator g(2);
  Tensor x = normal({2, 2, 5, 6}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor a = conv2d(x, conv->weight, conv->bias, {.padding = {1, 1}});  // [2, 3, 5, 6]
  for (std::int64_t t : {0, 1}) {
    Tensor alpha = (head->weight.select(0, t) / 30.0).reshape({1, 3, 1, 1});
    Tensor want_signed = (alpha * a).sum({1}, true);
    GradCam cam(net, "conv");
    CHECK_VALUES(cam.attribute(x, t, {.relu = false, .upsample = false}).flatten(),
                 want_signed.flatten().to_vector<double>(), 1e-12);
    CHECK_VALUES(cam.attribute(x, t, {.upsample = false}).flatten(), relu(want_signed).flatten().to_vector<double>(),
                 1e-12);
    // Same size as the input: upsampling is the identity.
    CHECK_VALUES(cam.attribute(x, t).flatten(), relu(want_signed).flatten().to_vector<double>(), 1e-12);
  }
}

TEST_CASE("Grad-CAM and Guided Grad-CAM on the exercise's CNN: shapes, signs, errors") {
  manual_seed(1);
  nn::ConvModel model;
  model.eval();
  Generator g(7);
  Tensor x = rand({3, 3, 28, 28}, {}, &g);
  GradCam cam(model, "features.3");
  Tensor m = cam.attribute(x, Target({0, 1, 2}));
  CHECK(m.shape() == Shape{3, 1, 28, 28});
  CHECK(amin(m).item() >= 0.0);
  CHECK(cam.attribute(x, 1, {.upsample = false}).shape() == Shape{3, 1, 14, 14});
  Tensor guided = GuidedGradCam(model, "features.3").attribute(x, Target({0, 1, 2}));
  CHECK(guided.shape() == Shape{3, 3, 28, 28});
  Tensor want = GuidedBackprop(model).attribute(x, Target({0, 1, 2})) * m;
  CHECK_VALUES(guided.flatten(), want.flatten().to_vector<double>(), 1e-6);
  CHECK_THROWS_WITH_AS(GradCam(model, "features.9"), Catch("features.9"), Error);
  CHECK_THROWS_WITH_AS(GradCam(model, "classifier.1").attribute(x, 0), Catch("[N, K, h, w]"), Error);
  // The hook is removed even after an error: the model still runs normally.
  CHECK(model(x).shape() == Shape{3, 4});
}

TEST_CASE("Grad-CAM and D-Grad-CAM of an empty batch: [0, 1, h, w], also without upsampling") {
  const lumen::testing::ConvPoolLinear model = lumen::testing::conv_pool_linear(3, /*with_relu=*/true);
  nn::Sequential& net = *model.net;
  const Tensor none = zeros({1, 2, 5, 6}, {.dtype = DType::float64}).narrow(0, 0, 0);  // [0, 2, 5, 6]
  CHECK(GradCam(net, "conv").attribute(none, 1).shape() == Shape{0, 1, 5, 6});
  CHECK(GradCam(net, "pool").attribute(none, 1, {.upsample = false}).shape() == Shape{0, 1, 1, 1});
  CHECK(d_grad_cam(net, "pool", none, none, 1, {.upsample = false}).shape() == Shape{0, 1, 1, 1});
  CHECK(d_grad_cam(net, "conv", none, none, 1).shape() == Shape{0, 1, 5, 6});
  CHECK(GuidedGradCam(net, "conv").attribute(none, 1).shape() == Shape{0, 2, 5, 6});
  CHECK(net.forward_hook_count() == 0);
  for (const auto& [name, m] : net.named_modules()) CHECK(m->forward_hook_count() == 0);
  // The measuring forward runs in eval mode (BatchNorm statistics stay put) and restores every mode.
  net.train();
  net.submodule("relu").eval();
  CHECK(GradCam(net, "pool").attribute(none, 1, {.upsample = false}).shape() == Shape{0, 1, 1, 1});
  CHECK(net.is_training());
  CHECK(net.submodule("conv").is_training());
  CHECK_FALSE(net.submodule("relu").is_training());
  // Arguments are still checked.
  CHECK_THROWS_WITH_AS(GradCam(net, "conv").attribute(none.flatten(1), 1), Catch("GradCam: expected images"), Error);
  CHECK_THROWS_WITH_AS(GradCam(net, "flatten").attribute(none, 1, {.upsample = false}), Catch("[N, K, h, w]"), Error);
}

}  // TEST_SUITE
