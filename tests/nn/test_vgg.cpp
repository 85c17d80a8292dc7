// VGG (nn/vgg.h) against torchvision: logits of torchvision's own VGG class on a small configuration
// (tests/reference/make_vgg_reference.py), torchvision's configurations, names and parameter counts,
// the init of VGG(init_weights=True), and bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/vgg.h"
#include "tests/nn/reference.h"

using namespace lumen;
using namespace lumen::nn;

namespace {

constexpr std::int64_t M = kMaxPool;

// make_vgg_reference.py's CFG, IN_CHANNELS, CLASSES, HIDDEN and AVGPOOL: keep in sync.
VggOptions reference_options(bool batch_norm) {
  return {.config = {8, M, 16, 16, M, 32}, .in_channels = 3, .num_classes = 10, .batch_norm = batch_norm,
          .avgpool_size = 2, .hidden = 16};
}

// The tensors of one fixture case, "<case>.state.<name>" → "<name>".
std::map<std::string, Tensor> fixture_state(const std::string& c) {
  std::map<std::string, Tensor> state;
  const std::string prefix = c + ".state.";
  for (const auto& [name, t] : testing::reference("vgg_reference.safetensors").tensors)
    if (name.rfind(prefix, 0) == 0) state[name.substr(prefix.size())] = t;
  return state;
}

// A VGG small enough to run in a test: two pools, a 2x2 average pool and a 6-wide classifier.
VggOptions tiny(bool batch_norm = false) {
  return {.config = {4, M, 6, M}, .in_channels = 2, .num_classes = 3, .batch_norm = batch_norm, .avgpool_size = 2,
          .hidden = 6};
}

// Parameters of the conv layers of a configuration (3x3 kernels plus biases), and of the classifier.
std::int64_t conv_parameters(const VggConfig& config, std::int64_t in_channels, bool batch_norm) {
  std::int64_t n = 0, c = in_channels;
  for (std::int64_t v : config)
    if (v > 0) n += v * c * 9 + v + (batch_norm ? 2 * v : 0), c = v;
  return n;
}
std::int64_t classifier_parameters(std::int64_t flat, std::int64_t hidden, std::int64_t classes) {
  return flat * hidden + hidden + hidden * hidden + hidden + hidden * classes + classes;
}

double stddev(const Tensor& t) {
  const auto v = t.to_vector<double>();
  double mean = 0, sq = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean) / static_cast<double>(v.size());
  return std::sqrt(sq);
}

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("vgg: logits of torchvision's VGG on a small configuration, without and with batch norm") {
    for (const char* c : {"plain", "bn"}) {
      CAPTURE(c);
      const bool bn = std::string(c) == "bn";
      VGG net(reference_options(bn));
      const auto state = fixture_state(c);
      REQUIRE(state.size() == (bn ? 34u : 14u));
      net.load_state_dict(state);  // strict: every torchvision name is one of ours and the reverse
      net.eval();
      const auto& ref = testing::reference("vgg_reference.safetensors");
      CHECK_CLOSE(net(ref.at(std::string(c) + ".x")), ref.at(std::string(c) + ".logits"), 1e-5, 1e-5);
      if (bn) CHECK(net.find("features.12")->state_dict().back().second.item() == 7);  // int64 num_batches_tracked
    }
  }

  TEST_CASE("vgg: torchvision's configurations, and the names it accepts") {
    const VggConfig d = {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};  // cfgs["D"]
    CHECK(vgg_config("D") == d);
    CHECK(vgg_config("vgg16") == d);
    CHECK(vgg_config("A") == VggConfig{64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M});
    CHECK(vgg_config("vgg11") == vgg_config("A"));
    CHECK(vgg_config("vgg13") == vgg_config("B"));
    CHECK(vgg_config("vgg19") == vgg_config("E"));
    CHECK(vgg_config("B").size() == 15);
    CHECK(vgg_config("E").size() == 21);
    CHECK_THROWS_WITH_AS(
        vgg_config("vgg17"),
        doctest::Contains("\"A\"/\"vgg11\", \"B\"/\"vgg13\", \"D\"/\"vgg16\" or \"E\"/\"vgg19\""), Error);
    CHECK_THROWS_AS(vgg_config("d"), Error);
  }

  TEST_CASE("vgg: vgg16's parameter count and names are torchvision's") {
    // vgg16() itself allocates 553 MB and draws 138M numbers twice, too slow for a unit test: build it
    // with a narrow head and add the count of torchvision's 25088 → 4096 → 4096 → 1000 head.
    VGG narrow({.config = vgg_config("D"), .avgpool_size = 1, .hidden = 8});
    const std::int64_t convs = conv_parameters(vgg_config("D"), 3, false);
    CHECK(convs == 14'714'688);  // torchvision: sum(p.numel() for p in vgg16().features.parameters())
    CHECK(narrow.num_parameters() == convs + classifier_parameters(512, 8, 1000));
    CHECK(convs + classifier_parameters(512 * 7 * 7, 4096, 1000) == 138'357'544);
    CHECK(conv_parameters(vgg_config("D"), 3, true) + classifier_parameters(512 * 7 * 7, 4096, 1000) ==
          138'365'992);  // vgg16_bn

    CHECK(narrow.last_conv_index() == 28);
    CHECK(narrow.last_relu_index() == 29);
    CHECK(narrow.features->size() == 31);
    CHECK(dynamic_cast<Conv2d*>(narrow.find("features.28").get()) != nullptr);
    CHECK(dynamic_cast<ReLU*>(narrow.find("features.29").get()) != nullptr);
    CHECK(dynamic_cast<MaxPool2d*>(narrow.find("features.30").get()) != nullptr);
    std::map<std::string, Shape> shapes;
    for (const auto& [name, t] : narrow.state_dict()) shapes[name] = t.shape();
    CHECK(shapes.size() == 32);  // 13 convs and 3 linears, weight and bias each
    CHECK(shapes.at("features.0.weight") == Shape{64, 3, 3, 3});
    CHECK(shapes.at("features.28.weight") == Shape{512, 512, 3, 3});
    CHECK(shapes.at("features.28.bias") == Shape{512});
    CHECK(shapes.at("classifier.0.weight") == Shape{8, 512});
    CHECK(shapes.at("classifier.6.bias") == Shape{1000});
    CHECK(narrow.state_dict().front().first == "features.0.weight");

    VGG narrow_bn({.config = vgg_config("D"), .batch_norm = true, .avgpool_size = 1, .hidden = 8});
    CHECK(narrow_bn.last_conv_index() == 40);  // torchvision's vgg16_bn: features.40 conv, 41 bn, 42 relu
    CHECK(narrow_bn.last_relu_index() == 42);
    CHECK(narrow_bn.features->size() == 44);
    CHECK(dynamic_cast<BatchNorm2d*>(narrow_bn.find("features.41").get()) != nullptr);
    CHECK(narrow_bn.find("features.41.running_var") == nullptr);  // a buffer, not a module
    bool has_running_var = false;
    for (const auto& [name, t] : narrow_bn.state_dict()) has_running_var |= name == "features.41.running_var";
    CHECK(has_running_var);

    VGG narrow11({.config = vgg_config("vgg11"), .avgpool_size = 1, .hidden = 8});
    CHECK(narrow11.last_conv_index() == 18);  // torchvision's vgg11: features.18 is its 8th conv
    CHECK(narrow11.state_dict()[4].first == "features.6.weight");
  }

  TEST_CASE("vgg: the children, their layout, and hooks on every ReLU") {
    VGG net(tiny());
    REQUIRE(net.named_children().size() == 3);
    CHECK(net.named_children()[0].first == "features");
    CHECK(net.named_children()[1].first == "avgpool");
    CHECK(net.named_children()[2].first == "classifier");
    CHECK(net.classifier->size() == 7);
    CHECK(dynamic_cast<Linear*>((*net.classifier)[0].get())->in_features == 6 * 2 * 2);
    CHECK(dynamic_cast<ReLU*>((*net.classifier)[4].get()) != nullptr);
    CHECK(dynamic_cast<Dropout*>((*net.classifier)[5].get())->p == 0.5);
    CHECK(dynamic_cast<Linear*>((*net.classifier)[6].get())->out_features == 3);
    CHECK(net.avgpool->output_size.h == 2);

    // forward runs every layer through operator(): a hook on each ReLU (what GuidedBackprop does) fires
    int relus = 0, calls = 0;
    std::vector<HookHandle> handles;
    for (auto& [name, m] : net.named_modules())
      if (dynamic_cast<ReLU*>(m.get())) {
        ++relus;
        handles.push_back(m->register_forward_hook([&calls](Module&, const Tensor&, const Tensor&) { ++calls; }));
      }
    CHECK(relus == 4);  // 2 convs + 2 in the classifier
    Tensor captured;
    auto h = net.features->submodule(std::to_string(net.last_relu_index()))
                 .register_forward_hook([&](Module&, const Tensor&, const Tensor& out) { captured = out; });
    net.eval();
    (void)net(randn({1, 2, 8, 8}));
    CHECK(calls == 4);
    CHECK(captured.shape() == Shape{1, 6, 4, 4});  // after one pool, before the second
  }

  TEST_CASE("vgg: embed is the classifier's input; forward is classifier(embed)") {
    manual_seed(3);
    VGG net(tiny(true));
    net.eval();
    Tensor x = randn({3, 2, 9, 11});  // odd sizes: 9x11 → 4x5 → 2x2, then the 2x2 average pool
    Tensor e = net.embed(x);
    CHECK(e.shape() == Shape{3, 6 * 2 * 2});
    CHECK_CLOSE(net(x), (*net.classifier)(e), 0, 0);
    CHECK_CLOSE(e, flatten(adaptive_avg_pool2d((*net.features)(x), {2, 2}), 1), 0, 0);
  }

  TEST_CASE("vgg: dropout is active only in training, and draws from the generator it is given") {
    Generator g1(11), g2(11);
    VggOptions a = tiny(), b = tiny();
    a.dropout_generator = &g1;
    b.dropout_generator = &g2;
    manual_seed(6);
    VGG net_a(a);
    manual_seed(6);
    VGG net_b(b);
    Tensor x = randn({4, 2, 8, 8});
    net_a.eval();
    const Tensor y_eval = net_a(x);
    CHECK_CLOSE(net_a(x), y_eval, 0, 0);  // eval: deterministic
    net_a.train();
    net_b.train();
    const Tensor y1 = net_a(x), y2 = net_a(x);
    CHECK(!testing::mismatch(y1, y2, 0, 1e-6).empty());      // two different masks
    CHECK(!testing::mismatch(y1, y_eval, 0, 1e-6).empty());  // and not the eval output
    CHECK_CLOSE(net_b(x), y1, 0, 0);  // same seed, same weights: the same first mask

    VggOptions no_drop = tiny();
    no_drop.dropout = 0;
    VGG net_c(no_drop);
    const Tensor train_out = net_c(x);
    net_c.eval();
    CHECK_CLOSE(train_out, net_c(x), 0, 0);  // p = 0: training changes nothing
  }

  TEST_CASE("vgg: initialised as torchvision's VGG(init_weights=True)") {
    manual_seed(7);
    VGG net({.config = {64, M, 64}, .in_channels = 16, .num_classes = 500, .batch_norm = true, .avgpool_size = 2,
             .hidden = 256});
    auto* conv = dynamic_cast<Conv2d*>(net.find("features.4").get());
    REQUIRE(conv != nullptr);
    // kaiming_normal_(fan_out, relu): std = √2 / √(64·9); 36864 draws, so within 3%
    CHECK(stddev(conv->weight) == doctest::Approx(std::sqrt(2.0 / (64 * 9))).epsilon(0.03));
    CHECK(amax(conv->bias.abs()).item() == 0);
    auto* bn = dynamic_cast<BatchNorm2d*>(net.find("features.5").get());
    CHECK(amin(bn->weight).item() == 1);
    CHECK(amax(bn->bias.abs()).item() == 0);
    for (const char* fc : {"classifier.0", "classifier.3", "classifier.6"}) {
      CAPTURE(fc);
      auto* linear = dynamic_cast<Linear*>(net.find(fc).get());
      CHECK(stddev(linear->weight) == doctest::Approx(0.01).epsilon(0.03));  // normal(0, 0.01)
      CHECK(amax(linear->bias.abs()).item() == 0);
    }
    CHECK(net.str().find("VGG(config=[64, M, 64], in_channels=16, num_classes=500, batch_norm=true, "
                         "avgpool_size=(2, 2), hidden=256, dropout=0.5\n") == 0);
  }

  TEST_CASE("vgg: bad options and inputs") {
    CHECK_THROWS_WITH_AS(VGG({.config = {}}), doctest::Contains("got an empty one"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8, 0}}), doctest::Contains("config[1] = 0"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8, -2}}), doctest::Contains("config[1] = -2"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {M, M}}), doctest::Contains("no convolution"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8}, .num_classes = 0}), doctest::Contains("num_classes > 0"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8}, .in_channels = -1}), doctest::Contains("in_channels > 0"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8}, .hidden = 0}), doctest::Contains("hidden > 0"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8}, .avgpool_size = {1, 0}}), doctest::Contains("avgpool_size"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8}, .dropout = 1.5}), doctest::Contains("Dropout"), Error);
    CHECK_THROWS_WITH_AS(VGG({.config = {8}, .avgpool_size = {std::int64_t{1} << 32, std::int64_t{1} << 32}}),
                         doctest::Contains("overflows"), Error);

    VGG net(tiny());
    CHECK_THROWS_WITH_AS(net(randn({1, 2, 3, 8})),
                         doctest::Contains("VGG: input [1, 2, 3, 8] is too small for the 2 max-pools of its "
                                           "configuration: H and W must be at least 4"),
                         Error);
    CHECK_THROWS_WITH_AS(net.embed(randn({1, 2, 8, 2})), doctest::Contains("at least 4"), Error);
    CHECK_NOTHROW(net(randn({1, 2, 4, 5})));  // the smallest that fits
    CHECK_THROWS_WITH_AS(net(randn({1, 3, 8, 8})), doctest::Contains("expected input [N, 2, H, W], got [1, 3, 8, 8]"),
                         Error);
    CHECK_THROWS_WITH_AS(net(randn({2, 8, 8})), doctest::Contains("expected input [N, 2, H, W]"), Error);
    CHECK_THROWS_WITH_AS(net(Tensor{}), doctest::Contains("undefined"), Error);

    // a state_dict of another configuration is refused by name
    VGG other({.config = {4, M, 8, M}, .in_channels = 2, .num_classes = 3, .avgpool_size = 2, .hidden = 6});
    CHECK_THROWS_WITH_AS(net.load_state_dict(other.state_dict()), doctest::Contains("features.3.weight"), Error);
  }
}
