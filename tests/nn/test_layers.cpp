// Layers and losses against PyTorch: each case loads the weights and input that
// tests/reference/make_nn_reference.py gave torch.nn, and checks the output, the gradients w.r.t. the
// input and every parameter, and the buffers after the call (BatchNorm's running statistics). Then
// default initialisation statistics, double backward through the norms, and error messages.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "tests/gradcheck.h"
#include "tests/nn/reference.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::nn;
using lumen::testing::reference;
using Catch = doctest::Contains;

namespace {

constexpr double kTol = 1e-5;  // float32: rtol and atol

const lumen::testing::Reference& ref() { return reference("nn_layers.safetensors"); }

// Loads case c's state into m (strictly: the parameter and buffer names must be PyTorch's), runs
// m(x) in the given mode, backpropagates the recorded upstream gradient and compares everything.
void check_layer(const std::string& c, Module& m, bool training = true) {
  INFO("case " << c);
  StateDict state;
  std::size_t param_grads = 0;
  for (const auto& [k, v] : ref().tensors) {
    if (k.starts_with(c + ".state.")) state.emplace_back(k.substr(c.size() + 7), v);
    if (k.starts_with(c + ".grad.")) ++param_grads;
  }
  m.load_state_dict(state);
  m.train(training);
  Tensor x = ref().at(c + ".x").clone();
  const bool floating = is_floating(x.dtype());
  if (floating) x.requires_grad_();
  Tensor y = m(x);
  CHECK_CLOSE(y, ref().at(c + ".y"), kTol, kTol);
  y.backward(ref().at(c + ".gy"));
  if (floating) CHECK_CLOSE(x.grad(), ref().at(c + ".gx"), kTol, kTol);
  CHECK(m.named_parameters().size() == param_grads);
  for (const auto& [name, p] : m.named_parameters()) {
    INFO("gradient of " << name);
    CHECK_CLOSE(p.grad(), ref().at(c + ".grad." + name), kTol, kTol);
  }
  for (const auto& [name, b] : m.named_buffers()) {
    INFO("buffer " << name);
    CHECK_CLOSE(b, ref().at(c + ".after." + name), kTol, kTol);
  }
}

// A loss case: value and gradient (of sum(loss * gy) when the loss is not reduced).
template <class F> void check_loss(const std::string& c, F&& loss_fn) {
  INFO("case " << c);
  Tensor x = ref().at(c + ".x").clone().requires_grad_();
  Tensor loss = loss_fn(x, ref().at(c + ".target"));
  CHECK_CLOSE(loss, ref().at(c + ".loss"), kTol, kTol);
  if (ref().has(c + ".gy")) loss.backward(ref().at(c + ".gy"));
  else loss.backward();
  CHECK_CLOSE(x.grad(), ref().at(c + ".gx"), kTol, kTol);
}

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("Linear matches PyTorch (2-D and 3-D input, with and without bias)") {
    Linear a(5, 3), b(5, 3), c(5, 3, false);
    check_layer("linear", a);
    check_layer("linear3d", b);
    check_layer("linear_nobias", c);
  }

  TEST_CASE("Conv2d matches PyTorch (stride, padding, groups, dilation, rectangular kernel)") {
    Conv2d a(4, 6, 3, {.stride = 2, .padding = 1, .groups = 2});
    check_layer("conv", a);
    Conv2d b(3, 4, {3, 2}, {.stride = {1, 2}, .padding = {2, 1}, .dilation = 2});
    check_layer("conv_dilated", b);
  }

  TEST_CASE("Conv1d matches PyTorch (stride, padding, groups; dilation without bias); PyTorch's repr and init") {
    Conv1d a(4, 6, 3, {.stride = 2, .padding = 1, .groups = 2});
    check_layer("conv1d", a);
    Conv1d b(3, 5, 2, {.padding = 2, .dilation = 2, .bias = false});
    check_layer("conv1d_dilated", b);
    CHECK(a.str() == "Conv1d(4, 6, kernel_size=(3,), stride=(2,), padding=(1,), groups=2)");
    CHECK(b.str() == "Conv1d(3, 5, kernel_size=(2,), stride=(1,), padding=(2,), dilation=(2,), bias=false)");
    manual_seed(4);
    Conv1d big(64, 32, 5);  // fan_in 320: the weight spans ±1/√320
    const double bound = 1.0 / std::sqrt(320.0);
    const Tensor w = big.weight;
    CHECK(amax(abs(w)).item() <= bound);
    CHECK(amax(abs(w)).item() > 0.95 * bound);
    CHECK(amax(abs(big.bias)).item() <= bound);
    CHECK_THROWS_WITH_AS(Conv1d(3, 4, 3, {.groups = 2}), Catch("Conv1d: channels 3 -> 4 must both be divisible"), Error);
    CHECK_THROWS_WITH_AS(a(zeros({2, 3, 9})), Catch("conv1d: input [2, 3, 9] has 3 channels"), Error);
  }

  TEST_CASE("ConvTranspose2d matches PyTorch (stride, padding, output_padding, groups)") {
    ConvTranspose2d m(4, 6, 3, {.stride = 2, .padding = 1, .groups = 2, .output_padding = 1});
    check_layer("convT", m);
  }

  TEST_CASE("pooling layers match PyTorch") {
    MaxPool2d a(3, {.stride = 2, .padding = 1});
    check_layer("maxpool", a);
    MaxPool2d b(2, {.ceil_mode = true});
    check_layer("maxpool_ceil", b);
    AvgPool2d c(3, {.stride = 2, .padding = 1});
    check_layer("avgpool", c);
    AvgPool2d d(3, {.stride = 2, .padding = 1, .count_include_pad = false});
    check_layer("avgpool_nopad", d);
    AdaptiveAvgPool2d e({3, 2});
    check_layer("adaptive", e);
  }

  TEST_CASE("BatchNorm2d matches PyTorch: training (output, gradients, running stats) and eval") {
    BatchNorm2d train_bn(3, 1e-5, 0.2);
    check_layer("bn_train", train_bn, true);
    CHECK(train_bn.num_batches_tracked.item() == 1);
    BatchNorm2d eval_bn(3);
    check_layer("bn_eval", eval_bn, false);
    CHECK(eval_bn.num_batches_tracked.item() == 7);  // eval leaves the buffers alone
  }

  TEST_CASE("InstanceNorm2d and LayerNorm match PyTorch") {
    InstanceNorm2d a(3, 1e-5, true), b(3);
    check_layer("in_affine", a);
    check_layer("in_plain", b);
    LayerNorm c({4, 5});
    check_layer("layernorm", c);
  }

  TEST_CASE("Embedding matches PyTorch (repeated indices accumulate)") {
    Embedding m(10, 4);
    check_layer("embedding", m);
  }

  TEST_CASE("Upsample matches PyTorch (nearest and bilinear, by scale and by size)") {
    Upsample a({.scale_factor = 2.0});
    check_layer("up_nearest", a);
    Upsample b({.size = Size2{5, 7}});
    check_layer("up_nearest_size", b);
    Upsample c({.scale_factor = 2.0, .mode = UpsampleMode::bilinear});
    check_layer("up_bilinear", c);
    Upsample d({.size = Size2{5, 7}, .mode = UpsampleMode::bilinear, .align_corners = true});
    check_layer("up_bilinear_ac", d);
  }

  TEST_CASE("activations match PyTorch") {
    LeakyReLU a(0.2);
    check_layer("leaky_relu", a);
    Sigmoid b;
    check_layer("sigmoid", b);
    Tanh c;
    check_layer("tanh", c);
    GELU d;
    check_layer("gelu", d);
  }

  TEST_CASE("cross_entropy and nll_loss match PyTorch") {
    check_loss("ce_mean", [](auto& x, auto& t) { return cross_entropy(x, t); });
    check_loss("ce_sum", [](auto& x, auto& t) { return cross_entropy(x, t, Reduction::sum); });
    check_loss("ce_none", [](auto& x, auto& t) { return cross_entropy(x, t, Reduction::none); });
    check_loss("ce_smooth", [](auto& x, auto& t) { return cross_entropy(x, t, Reduction::mean, 0.1); });
    check_loss("ce_smooth_sum", [](auto& x, auto& t) { return CrossEntropyLoss{Reduction::sum, 0.25}(x, t); });
    check_loss("ce_probs", [](auto& x, auto& t) { return cross_entropy(x, t); });
    check_loss("ce_spatial", [](auto& x, auto& t) { return cross_entropy(x, t); });
    check_loss("nll", [](auto& x, auto& t) { return NLLLoss{}(x, t); });
  }

  TEST_CASE("bce_with_logits, mse_loss and l1_loss match PyTorch") {
    check_loss("bce", [](auto& x, auto& t) { return bce_with_logits(x, t); });
    check_loss("bce_none", [](auto& x, auto& t) { return bce_with_logits(x, t, Reduction::none); });
    check_loss("bce_pw", [](auto& x, auto& t) { return BCEWithLogitsLoss{.pos_weight = ref().at("bce_pw.pos_weight")}(x, t); });
    check_loss("mse", [](auto& x, auto& t) { return MSELoss{}(x, t); });
    check_loss("mse_sum", [](auto& x, auto& t) { return mse_loss(x, t, Reduction::sum); });
    check_loss("l1", [](auto& x, auto& t) { return L1Loss{}(x, t); });
    check_loss("l1_none", [](auto& x, auto& t) { return l1_loss(x, t, Reduction::none); });
  }

  TEST_CASE("bce_with_logits is finite and exact far from zero, and its gradient is sigmoid(x) - y at x = 0") {
    Tensor x = tensor({-200, 0, 200}, {3}, {.requires_grad = true});
    Tensor y = tensor({1, 1, 0});
    Tensor l = bce_with_logits(x, y, Reduction::none);
    CHECK_CLOSE(l, tensor({200, std::log(2.0), 200}), 1e-6, 1e-6);
    l.sum().backward();
    CHECK_CLOSE(x.grad(), tensor({-1, -0.5, 1}), 1e-6, 1e-6);
  }

  TEST_CASE("losses: clear errors for wrong targets") {
    Tensor logits = zeros({2, 3});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, tensor_from({0, 3})), Catch("class index 3 out of range for 3 classes"),
                         Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, tensor_from({0, 1, 2})), Catch("target of shape [3]"), Error);
    CHECK_THROWS_WITH_AS(nll_loss(logits, zeros({2})), Catch("expected int64 class indices"), Error);
    CHECK_THROWS_WITH_AS(mse_loss(zeros({2, 3}), zeros({3, 2})), Catch("mse_loss: input of shape [2, 3]"), Error);
  }

  TEST_CASE("double backward through Linear, BatchNorm2d, InstanceNorm2d and LayerNorm (float64 gradgradcheck)") {
    using lumen::testing::leaf;
    manual_seed(3);
    Linear lin(4, 3);
    lin.to(DType::float64);
    CHECK_GRADGRAD([&](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                   {leaf({2, 4}, -1, 1, 1), leaf({3, 4}, -1, 1, 2), leaf({3}, -1, 1, 3)});
    CHECK_GRAD([&](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
               {leaf({2, 2, 4}, -1, 1, 4), leaf({3, 4}, -1, 1, 5), leaf({3}, -1, 1, 6)});
    BatchNorm2d bn(2);
    bn.to(DType::float64);
    CHECK_GRADGRAD([&](const std::vector<Tensor>& v) { return bn(v[0]); }, {leaf({3, 2, 2, 2}, -1, 1, 7)});
    InstanceNorm2d in(2, 1e-5, true);
    in.to(DType::float64);
    CHECK_GRADGRAD([&](const std::vector<Tensor>& v) { return in(v[0]); }, {leaf({2, 2, 2, 3}, -1, 1, 8)});
    LayerNorm ln({3});
    ln.to(DType::float64);
    CHECK_GRADGRAD([&](const std::vector<Tensor>& v) { return ln(v[0]) * v[1]; },
                   {leaf({2, 3}, -1, 1, 9), leaf({2, 3}, -1, 1, 10)});
  }

  TEST_CASE("Dropout: zeroes about p of the elements in training and scales the rest; identity in eval") {
    Generator gen(5);
    Dropout d(0.25, &gen);
    Tensor x = ones({100, 100});
    auto v = d(x).to_vector<double>();
    std::int64_t zeros_count = std::count(v.begin(), v.end(), 0.0);
    CHECK(zeros_count > 2300);
    CHECK(zeros_count < 2700);
    for (double e : v) CHECK((e == 0.0 || std::abs(e - 1.0 / 0.75) < 1e-6));
    d.eval();
    CHECK(d(x).is_same(x));
  }

  TEST_CASE("layers: shapes through a small CNN and clear errors for wrong input") {
    manual_seed(0);
    Sequential net{std::make_shared<Conv2d>(3, 8, 3, ConvOptions{.padding = 1}), std::make_shared<BatchNorm2d>(8),
                   std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2),
                   std::make_shared<ConvTranspose2d>(8, 4, 2, ConvOptions{.stride = 2}),
                   std::make_shared<AdaptiveAvgPool2d>(1), std::make_shared<Flatten>(), std::make_shared<Linear>(4, 2)};
    CHECK(net(randn({2, 3, 8, 8})).shape() == Shape{2, 2});
    Linear lin(5, 3);
    CHECK_THROWS_WITH_AS(lin(zeros({2, 4})), Catch("does not match weight [out, in] = [3, 5]"), Error);
    BatchNorm2d bn(4);
    CHECK_THROWS_WITH_AS(bn(zeros({2, 3, 2, 2})), Catch("expected input [N, 4, H, W], got [2, 3, 2, 2]"), Error);
    CHECK_THROWS_WITH_AS(bn(zeros({1, 4, 1, 1})), Catch("more than 1 value per channel"), Error);
    LayerNorm ln({4});
    CHECK_THROWS_WITH_AS(ln(zeros({2, 3})), Catch("does not end with normalized_shape [4]"), Error);
    CHECK_THROWS_WITH_AS(Conv2d(3, 4, 3, {.groups = 2}), Catch("divisible by groups = 2"), Error);
  }

  TEST_CASE("default init: Linear, Conv2d and ConvTranspose2d draw U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch") {
    manual_seed(1);
    // Bounds exact; mean, spread and a 10-bin histogram within 4 standard errors of U(-bound, bound).
    auto check_uniform = [](const Tensor& t, double bound) {
      auto v = t.to_vector<double>();
      const double n = static_cast<double>(v.size());
      double mean = 0, sq = 0, lo = 1e9, hi = -1e9;
      std::vector<int> bins(10, 0);
      for (double e : v) {
        mean += e / n;
        sq += e * e / n;
        lo = std::min(lo, e);
        hi = std::max(hi, e);
        bins[std::clamp(static_cast<int>((e + bound) / (2 * bound) * 10), 0, 9)]++;
      }
      CHECK(lo >= -bound);
      CHECK(hi <= bound);
      CHECK(hi - lo > 1.98 * bound);  // and the whole range is used
      CHECK(std::abs(mean) < 4 * bound / std::sqrt(3 * n));
      CHECK(std::sqrt(sq) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(4 * 0.45 / std::sqrt(n)));
      for (int b : bins) CHECK(std::abs(b / n - 0.1) < 4 * std::sqrt(0.09 / n));  // flat histogram
    };
    Linear lin(1000, 500);
    check_uniform(lin.weight, 1 / std::sqrt(1000.0));
    auto b = lin.bias.to_vector<double>();
    CHECK(*std::max_element(b.begin(), b.end()) <= 1 / std::sqrt(1000.0));
    CHECK(*std::min_element(b.begin(), b.end()) >= -1 / std::sqrt(1000.0));
    Conv2d conv(16, 64, 3, {.groups = 2});
    check_uniform(conv.weight, 1 / std::sqrt(8 * 9.0));
    ConvTranspose2d convt(64, 32, 3);
    check_uniform(convt.weight, 1 / std::sqrt(32 * 9.0));  // PyTorch's fan_in of [in, out, k, k] is out·k²
  }

  TEST_CASE("default init: norms start at weight 1, bias 0, running var 1; Embedding draws N(0, 1)") {
    BatchNorm2d bn(4);
    CHECK_VALUES(bn.weight, {1, 1, 1, 1});
    CHECK_VALUES(bn.bias, {0, 0, 0, 0});
    CHECK_VALUES(bn.running_mean, {0, 0, 0, 0});
    CHECK_VALUES(bn.running_var, {1, 1, 1, 1});
    LayerNorm ln({2, 3});
    CHECK_VALUES(ln.weight, {1, 1, 1, 1, 1, 1});
    Embedding emb(500, 100);
    auto v = emb.weight.to_vector<double>();
    double mean = 0, sq = 0;
    for (double e : v) mean += e / v.size(), sq += e * e / v.size();
    CHECK(std::abs(mean) < 0.01);
    CHECK(std::sqrt(sq - mean * mean) == doctest::Approx(1.0).epsilon(0.01));
  }

  TEST_CASE("init functions: gains, fans, kaiming and xavier spreads, seeded by a generator") {
    CHECK(init::calculate_gain(init::Nonlinearity::relu) == doctest::Approx(std::sqrt(2.0)));
    CHECK(init::calculate_gain(init::Nonlinearity::tanh) == doctest::Approx(5.0 / 3));
    CHECK(init::calculate_gain(init::Nonlinearity::leaky_relu, std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3)));
    CHECK(init::fan_in_and_fan_out(zeros({8, 4, 3, 3})) == std::pair<std::int64_t, std::int64_t>{36, 72});
    auto std_of = [](const Tensor& t) {
      auto v = t.to_vector<double>();
      double sq = 0;
      for (double e : v) sq += e * e / v.size();
      return std::sqrt(sq);
    };
    Generator g1(7), g2(7);
    Tensor w = zeros({400, 300}).requires_grad_();  // works on parameters: runs under NoGradGuard
    init::kaiming_normal_(w, 0, init::FanMode::fan_in, init::Nonlinearity::relu, &g1);
    CHECK(std_of(w) == doctest::Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
    Tensor w2 = zeros({400, 300});
    init::kaiming_normal_(w2, 0, init::FanMode::fan_in, init::Nonlinearity::relu, &g2);
    CHECK(w.to_vector<float>() == w2.to_vector<float>());  // same seed, same draw
    init::kaiming_uniform_(w, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
    CHECK(std_of(w) == doctest::Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
    init::xavier_uniform_(w, 2.0);
    CHECK(std_of(w) == doctest::Approx(2.0 * std::sqrt(2.0 / 700)).epsilon(0.02));
    init::xavier_normal_(w);
    CHECK(std_of(w) == doctest::Approx(std::sqrt(2.0 / 700)).epsilon(0.02));
    init::constant_(w, 0.5);
    CHECK(w.sum().item() == doctest::Approx(0.5 * 400 * 300));
    CHECK_THROWS_WITH_AS(init::xavier_uniform_(zeros({3})), Catch("at least 2 dims"), Error);
  }
}
