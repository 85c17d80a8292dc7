// The counterfactual GAN's networks (gan/unet.h, gan/networks.h): shapes, value ranges, parameter
// counts worked out by hand (they pin down the skip concatenation), the EMA arithmetic, weight copies,
// and nn::Adam's state round trip that exact resumption rests on.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "gan/networks.h"
#include "gan/unet.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "tests/fixtures/fixtures.h"
#include "tests/gradcheck.h"

using namespace lumen;
using namespace lumen::gan;
using lumen::testing::TempDir;

namespace {

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.contiguous().to_vector<float>() == b.contiguous().to_vector<float>();
}

void fill_param(const Tensor& p, const std::vector<double>& v) {
  autograd::NoGradGuard no_grad;
  Tensor q = p;
  q.copy_(tensor(v, p.shape()));
}

}  // namespace

TEST_SUITE("gan") {
  TEST_CASE("UNet: output shape, sigmoid range, and parameter counts by hand (depth 2 and 3)") {
    manual_seed(3);
    UNet net({.in_channels = 6, .out_channels = 3, .depth = 2, .num_fmaps = 4});
    Tensor y = net(rand({2, 6, 28, 28}) * 4.0 - 2.0);
    CHECK(y.shape() == Shape{2, 3, 28, 28});
    const std::vector<float> v = y.to_vector<float>();
    CHECK(*std::min_element(v.begin(), v.end()) > 0.0f);
    CHECK(*std::max_element(v.begin(), v.end()) < 1.0f);
    // left 0: 6→4→4, left 1 (bottleneck): 4→8→8, right 0: (4 skip + 8 upsampled)→4→4, final 1×1 4→3.
    const std::int64_t left0 = (4 * 6 * 9 + 4) + (4 * 4 * 9 + 4), left1 = (8 * 4 * 9 + 8) + (8 * 8 * 9 + 8),
                       right0 = (4 * 12 * 9 + 4) + (4 * 4 * 9 + 4), final = 3 * 4 + 3;
    CHECK(net.num_parameters() == left0 + left1 + right0 + final);
    CHECK(net.submodule("right_convs.0.conv_pass.0").named_parameters()[0].second.shape() == Shape{4, 12, 3, 3});
    CHECK(net.find("final_conv") != nullptr);
    CHECK(net.encoder_fmaps(1) == std::pair<std::int64_t, std::int64_t>{4, 8});
    CHECK(net.decoder_fmaps(0) == std::pair<std::int64_t, std::int64_t>{12, 4});

    // Depth 3 pools twice (28 → 14 → 7); the decoder at level 1 takes 8 skip + 16 upsampled channels.
    UNet deep({.in_channels = 3, .out_channels = 2, .depth = 3, .num_fmaps = 4, .sigmoid = false});
    CHECK(deep(rand({1, 3, 28, 28})).shape() == Shape{1, 2, 28, 28});
    const std::int64_t l2 = (16 * 8 * 9 + 16) + (16 * 16 * 9 + 16), r1 = (8 * 24 * 9 + 8) + (8 * 8 * 9 + 8);
    const std::int64_t l0 = (4 * 3 * 9 + 4) + (4 * 4 * 9 + 4), l1 = left1, r0 = right0, fin = 2 * 4 + 2;
    CHECK(deep.num_parameters() == l0 + l1 + l2 + r0 + r1 + fin);
    CHECK_THROWS_WITH_AS(deep(rand({1, 3, 30, 30})), doctest::Contains("divisible by 2^(depth-1) = 4"), Error);
    CHECK_THROWS_WITH_AS(net(rand({1, 3, 28, 28})), doctest::Contains("UNet"), Error);
  }

  TEST_CASE("UNet: the skip connection carries full-resolution detail to the decoder") {
    manual_seed(4);
    UNet net({.in_channels = 3, .out_channels = 3, .depth = 2, .num_fmaps = 4});
    Tensor x = rand({1, 3, 28, 28});
    Tensor before = net(x);
    // Zeroing the decoder weights that read the skip channels (inputs 0..3 of right_convs.0's first
    // conv) must change the output: the skip is wired in, first in the concatenation.
    Tensor w = net.submodule("right_convs.0.conv_pass.0").named_parameters()[0].second;
    {
      autograd::NoGradGuard no_grad;
      Tensor skip_part = w.narrow(1, 0, 4);
      skip_part.zero_();
    }
    CHECK_FALSE(same_values(before, net(x)));
    // An input change at one pixel moves the output there even when the bottleneck path is cut
    // (weights reading the upsampled channels 4..11 zeroed): the skip path alone reaches the output.
    {
      autograd::NoGradGuard no_grad;
      manual_seed(5);
      Tensor w2 = w;
      w2.copy_(randn(w.shape()) * 0.3);
      Tensor up_part = w2.narrow(1, 4, 8);
      up_part.zero_();
    }
    Tensor a = net(x);
    Tensor x2 = x.clone();
    {
      autograd::NoGradGuard no_grad;
      Tensor px = x2.select(0, 0).select(1, 14).select(1, 14);
      px.fill_(0.0);
    }
    Tensor b = net(x2);
    CHECK_FALSE(same_values(a, b));
  }

  TEST_CASE("UNet and Generator: gradients match finite differences (float64, input and style)") {
    manual_seed(8);
    UNet net({.in_channels = 3, .out_channels = 2, .depth = 2, .num_fmaps = 2});
    net.to(DType::float64);
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return net(in[0]); },
               {testing::leaf({2, 3, 4, 4}, -1.0, 1.0, 3)});
    gan::Generator g({.style_size = 2, .depth = 2, .num_fmaps = 2});
    g.to(DType::float64);
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return g(in[0], in[1]); },
               {testing::leaf({2, 3, 4, 4}, 0.0, 1.0, 4), testing::leaf({2, 2}, -1.0, 1.0, 5)});
  }

  TEST_CASE("Generator: style broadcast over the image, output in (0, 1), networks' shapes and names") {
    manual_seed(6);
    gan::Generator g({.style_size = 3, .depth = 2, .num_fmaps = 4});
    StyleEncoder enc;
    Discriminator disc;
    Tensor x = rand({5, 3, 28, 28});
    Tensor s = enc(x);
    CHECK(s.shape() == Shape{5, 3});
    CHECK(disc(x).shape() == Shape{5, 4});
    CHECK(enc.style_size() == 3);
    CHECK(enc.num_parameters() == 2352 * 256 + 256 + 256 * 120 + 120 + 120 * 84 + 84 + 84 * 3 + 3);
    CHECK(disc.find("fc4") != nullptr);
    CHECK(g.unet->options.in_channels == 6);
    CHECK(g.named_parameters()[0].first == "unet.left_convs.0.conv_pass.0.weight");

    Tensor y = g(x, s);
    CHECK(y.shape() == Shape{5, 3, 28, 28});
    const std::vector<float> v = y.to_vector<float>();
    CHECK(*std::min_element(v.begin(), v.end()) > 0.0f);
    CHECK(*std::max_element(v.begin(), v.end()) < 1.0f);

    // concat_style: channels 3.. hold the style, constant over H×W; a [1, S] style is shared.
    Tensor style = tensor({0.5, -1.0, 2.0}, {1, 3});
    Tensor c = concat_style(x.narrow(0, 0, 2), style);
    CHECK(c.shape() == Shape{2, 6, 28, 28});
    CHECK(same_values(c.narrow(1, 0, 3), x.narrow(0, 0, 2)));
    CHECK(same_values(c.narrow(1, 4, 1), full({2, 1, 28, 28}, -1.0)));
    CHECK(same_values(g(x.narrow(0, 0, 2), style), g(x.narrow(0, 0, 2), style.expand({2, 3}))));
    CHECK_THROWS_WITH_AS(g(x, rand({5, 2})), doctest::Contains("Generator: expected x [N, 3, H, W] and style [N, 3]"),
                         Error);
  }

  TEST_CASE("ema_update: p_ema ← β p_ema + (1 − β) p exactly, buffers copied; copy_weights") {
    nn::Sequential a{std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::BatchNorm2d>(2)};
    nn::Sequential b{std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::BatchNorm2d>(2)};
    auto pa = a.named_parameters(), pb = b.named_parameters();
    fill_param(pa[0].second, {1, 2, 3, 4});  // the EMA copy
    fill_param(pb[0].second, {2, 4, -3, 0});  // the trained model
    fill_param(pa[1].second, {0, 8});
    fill_param(pb[1].second, {4, 0});
    fill_param(b.named_buffers()[0].second, {0.25, -0.5});  // running_mean
    ema_update(a, b, 0.75);  // values exact in binary: the update must be too
    CHECK(pa[0].second.to_vector<float>() == std::vector<float>{1.25f, 2.5f, 1.5f, 3.0f});
    CHECK(pa[1].second.to_vector<float>() == std::vector<float>{1.0f, 6.0f});
    CHECK(a.named_buffers()[0].second.to_vector<float>() == std::vector<float>{0.25f, -0.5f});
    CHECK(pb[0].second.to_vector<float>() == std::vector<float>{2, 4, -3, 0});  // the model is untouched
    ema_update(a, b, 1.0);  // β = 1 keeps the average
    CHECK(pa[1].second.to_vector<float>() == std::vector<float>{1.0f, 6.0f});
    ema_update(a, b, 0.0);  // β = 0 is a copy
    CHECK(pa[0].second.to_vector<float>() == std::vector<float>{2, 4, -3, 0});

    // copy_weights keeps dst's tensor handles (optimizers hold them) and copies everything.
    manual_seed(1);
    gan::Generator g1({.num_fmaps = 4});
    manual_seed(2);
    gan::Generator g2({.num_fmaps = 4});
    const Tensor handle = g1.parameters()[0];
    CHECK_FALSE(same_values(g1.parameters()[0], g2.parameters()[0]));
    copy_weights(g1, g2);
    CHECK(g1.parameters()[0].is_same(handle));
    const auto s1 = g1.state_dict(), s2 = g2.state_dict();
    for (std::size_t i = 0; i < s1.size(); ++i) CHECK(same_values(s1[i].second, s2[i].second));

    gan::Generator other({.num_fmaps = 5});
    CHECK_THROWS_WITH_AS(copy_weights(g1, other), doctest::Contains("copy_weights"), Error);
    CHECK_THROWS_WITH_AS(ema_update(a, g1), doctest::Contains("ema_update: the modules differ"), Error);
  }

  TEST_CASE("Adam state_dict round trip (through safetensors) gives identical next steps") {
    for (bool amsgrad : {false, true}) {
      CAPTURE(amsgrad);
      manual_seed(11);
      nn::Linear m1(5, 3), m2(5, 3);
      copy_weights(m2, m1);
      nn::Adam o1(m1.parameters(), {.lr = 1e-2, .weight_decay = 0.1, .amsgrad = amsgrad});
      lumen::Generator data_gen(7);
      auto step = [&](nn::Module& m, nn::Adam& o, const Tensor& x, const Tensor& y) {
        o.zero_grad();
        nn::cross_entropy(m(x), y).backward();
        o.step();
      };
      std::vector<std::pair<Tensor, Tensor>> batches;
      for (int i = 0; i < 6; ++i) batches.emplace_back(randn({4, 5}, {}, &data_gen), randint(0, 3, {4}, kCPU, &data_gen));
      for (int i = 0; i < 3; ++i) step(m1, o1, batches[i].first, batches[i].second);
      o1.set_lr(5e-3);  // a schedule's change is part of the state

      TempDir dir("gan-adam");
      nn::save_safetensors(dir / "adam.safetensors", o1.state_dict());
      copy_weights(m2, m1);
      nn::Adam o2(m2.parameters(), {.lr = 1e-2, .weight_decay = 0.1, .amsgrad = amsgrad});
      nn::StateDict loaded;
      for (auto& [k, t] : nn::load_safetensors(dir / "adam.safetensors")) loaded.emplace_back(k, t);
      o2.load_state_dict(loaded);
      CHECK(o2.lr() == 5e-3);
      for (int i = 3; i < 6; ++i) {
        step(m1, o1, batches[i].first, batches[i].second);
        step(m2, o2, batches[i].first, batches[i].second);
      }
      CHECK(same_values(m1.weight, m2.weight));
      CHECK(same_values(m1.bias, m2.bias));
      const auto s1 = o1.state_dict(), s2 = o2.state_dict();
      REQUIRE(s1.size() == s2.size());
      for (std::size_t i = 0; i < s1.size(); ++i) {
        CHECK(s1[i].first == s2[i].first);
        CHECK(s1[i].second.to(DType::float64).to_vector<double>() == s2[i].second.to(DType::float64).to_vector<double>());
      }
    }
    // A fresh optimizer has only "lr"; a bad state is refused by name.
    nn::Linear m(2, 2);
    nn::Adam o(m.parameters());
    CHECK(o.state_dict().size() == 1);
    CHECK_THROWS_WITH_AS(o.load_state_dict({{"state.0.exp_avg", zeros({3})}}), doctest::Contains("has shape [3]"), Error);
    CHECK_THROWS_WITH_AS(o.load_state_dict({{"state.7.step", tensor_from({1})}}), doctest::Contains("parameter 7"), Error);
    CHECK_THROWS_WITH_AS(o.load_state_dict({{"momentum", zeros({1})}}), doctest::Contains("unexpected entry 'momentum'"),
                         Error);
    CHECK_THROWS_WITH_AS(o.load_state_dict({{"state.0.step", tensor_from({1})}}), doctest::Contains("incomplete"), Error);
  }
}
