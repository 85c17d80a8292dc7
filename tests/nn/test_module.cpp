// The Module API: names and order of parameters and state, train/eval, forward hooks (observe,
// replace, remove: what Grad-CAM and pruning rely on), lookup by dotted path, load_state_dict errors,
// conversions, and checkpoints on safetensors.
#include <doctest/doctest.h>

#include <stdexcept>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "tests/fixtures/fixtures.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::nn;
using Catch = doctest::Contains;

namespace {

// A small CNN laid out as torchvision models are: features (a Sequential) then a classifier.
struct Net : Module {
  std::shared_ptr<Sequential> features;
  std::shared_ptr<Linear> classifier;
  explicit Net(std::int64_t hidden = 4) {
    features = register_module(
        "features", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
                        std::make_shared<Conv2d>(3, hidden, 3, ConvOptions{.padding = 1}),  // 0
                        std::make_shared<BatchNorm2d>(hidden),                              // 1
                        std::make_shared<ReLU>(),                                           // 2
                        std::make_shared<Conv2d>(hidden, 4, 3, ConvOptions{.padding = 1}),  // 3
                        std::make_shared<ReLU>(),                                           // 4
                        std::make_shared<AdaptiveAvgPool2d>(1),                             // 5
                        std::make_shared<Flatten>()}));                                     // 6
    classifier = register_module("classifier", std::make_shared<Linear>(4, 2));
  }
  Tensor forward(const Tensor& x) override { return (*classifier)((*features)(x)); }
  std::string type_name() const override { return "Net"; }
};

// The DL@MBL knowledge-extraction exercise's DenseModel: 3·28·28 -> 256 -> 120 -> 84 -> 4.
struct DenseModel : Module {
  std::shared_ptr<Sequential> layers = register_module(
      "layers", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
                    std::make_shared<Flatten>(), std::make_shared<Linear>(2352, 256), std::make_shared<ReLU>(),
                    std::make_shared<Linear>(256, 120), std::make_shared<ReLU>(), std::make_shared<Linear>(120, 84),
                    std::make_shared<ReLU>(), std::make_shared<Linear>(84, 4)}));
  Tensor forward(const Tensor& x) override { return (*layers)(x); }
  std::string type_name() const override { return "DenseModel"; }
};

std::vector<std::string> names(const StateDict& s) {
  std::vector<std::string> out;
  for (const auto& [n, t] : s) out.push_back(n);
  return out;
}

bool same_values(const Tensor& a, const Tensor& b) { return a.to_vector<double>() == b.to_vector<double>(); }

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("Module: named_parameters, state_dict and named_modules use PyTorch's dotted names and order") {
    Net net;
    CHECK(names(net.named_parameters()) ==
          std::vector<std::string>{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                   "features.3.weight", "features.3.bias", "classifier.weight", "classifier.bias"});
    CHECK(names(net.state_dict()) ==
          std::vector<std::string>{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                   "features.1.running_mean", "features.1.running_var",
                                   "features.1.num_batches_tracked", "features.3.weight", "features.3.bias",
                                   "classifier.weight", "classifier.bias"});
    CHECK(names(net.named_buffers()) == std::vector<std::string>{"features.1.running_mean", "features.1.running_var",
                                                                 "features.1.num_batches_tracked"});
    std::vector<std::string> modules;
    for (const auto& [n, m] : net.named_modules()) modules.push_back(n);
    CHECK(modules == std::vector<std::string>{"features", "features.0", "features.1", "features.2", "features.3",
                                              "features.4", "features.5", "features.6", "classifier"});
    CHECK(net.parameters().size() == 8);
    CHECK(net.parameters()[6].is_same(net.classifier->weight));  // the very tensors, not copies
    CHECK(net.num_parameters() == (3 * 4 * 9 + 4) + (4 + 4) + (4 * 4 * 9 + 4) + (4 * 2 + 2));
    for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
  }

  TEST_CASE("Module: the exercise's DenseModel has 2352·256+256 + 256·120+120 + 120·84+84 + 84·4+4 parameters") {
    DenseModel m;
    CHECK(m.num_parameters() == 2352 * 256 + 256 + 256 * 120 + 120 + 120 * 84 + 84 + 84 * 4 + 4);
    CHECK(m.num_parameters() == 643712);
    CHECK(m(zeros({5, 3, 28, 28})).shape() == Shape{5, 4});
  }

  TEST_CASE("Module: find and submodule walk dotted paths; submodule's error says what exists") {
    Net net;
    auto conv = std::dynamic_pointer_cast<Conv2d>(net.find("features.3"));
    REQUIRE(conv != nullptr);
    CHECK(conv->in_channels == 4);
    CHECK(net.find("classifier") == net.classifier);
    CHECK(net.find("features.9") == nullptr);
    CHECK(net.find("features.3.weight") == nullptr);  // a parameter, not a module
    CHECK(&net.submodule("features.1") == (*net.features)[1].get());
    CHECK_THROWS_WITH_AS(net.submodule("features.9"),
                         Catch("'9' is not a child of 'features' (Sequential), whose children are [0, 1, 2, 3, 4, 5, 6]"),
                         Error);
    CHECK_THROWS_WITH_AS(net.submodule("head"), Catch("whose children are [features, classifier]"), Error);
  }

  TEST_CASE("Module: registration refuses duplicate names and dots; tied weights are listed once") {
    struct Tied : Module {
      Tensor w;
      Tied() {
        w = register_parameter("w", ones({2}));
        register_parameter("w_again", w);
      }
      Tensor forward(const Tensor& x) override { return x * w; }
      std::string type_name() const override { return "Tied"; }
    } tied;
    CHECK(tied.parameters().size() == 1);
    CHECK(tied.state_dict().size() == 2);
    CHECK_THROWS_WITH_AS(tied.register_parameter("w", ones({1})), Catch("'w' is already registered in Tied"), Error);
    CHECK_THROWS_WITH_AS(tied.register_buffer("a.b", ones({1})), Catch("invalid name 'a.b'"), Error);
  }

  TEST_CASE("Module: train() and eval() switch BatchNorm and Dropout recursively") {
    manual_seed(2);
    Net net;
    auto& bn = dynamic_cast<BatchNorm2d&>(net.submodule("features.1"));
    Tensor x = randn({2, 3, 5, 5});
    CHECK(bn.is_training());
    net(x);
    CHECK(bn.num_batches_tracked.item() == 1);
    CHECK(!same_values(bn.running_mean, zeros({4})));
    net.eval();
    for (const auto& [n, m] : net.named_modules()) CHECK(!m->is_training());
    Tensor rm = bn.running_mean.clone();
    Tensor y1 = net(x), y2 = net(x.narrow(0, 0, 1));
    CHECK(same_values(bn.running_mean, rm));  // eval leaves the statistics alone...
    CHECK(bn.num_batches_tracked.item() == 1);
    CHECK_VALUES(y2, y1.narrow(0, 0, 1).to_vector<double>(), 1e-6);  // ...and a sample's output no longer
    net.train();                                                     // depends on the rest of the batch
    CHECK(bn.is_training());

    Sequential seq{std::make_shared<Dropout>(0.5), std::make_shared<Identity>()};
    Tensor ones4 = ones({64});
    CHECK(!same_values(seq(ones4), ones4));
    seq.eval();
    CHECK(same_values(seq(ones4), ones4));
  }

  TEST_CASE("forward hooks: observe, replace, remove, and one-shot hooks that remove themselves") {
    manual_seed(4);
    Net net;
    net.eval();
    Tensor x = randn({2, 3, 6, 6});
    Tensor before = net(x);

    // Observe: the activation of features.3 and what the classifier receives.
    Tensor act, cls_in;
    HookHandle h1 = net.submodule("features.3").register_forward_hook(
        [&](Module&, const Tensor&, const Tensor& out) { act = out; });
    HookHandle h2 = net.classifier->register_forward_hook([&](Module& m, const Tensor& in, const Tensor&) {
      CHECK(&m == net.classifier.get());
      cls_in = in;
      return std::optional<Tensor>{};
    });
    CHECK(same_values(net(x), before));
    REQUIRE(act.defined());
    CHECK(act.shape() == Shape{2, 4, 6, 6});
    CHECK(cls_in.shape() == Shape{2, 4});
    CHECK_VALUES(cls_in, mean(relu(act), {2, 3}).to_vector<double>(), 1e-6);

    // Replace: zero the ReLU's output (prune every unit); the logits become the classifier's bias.
    HookHandle h3 = net.submodule("features.4").register_forward_hook(
        [](Module&, const Tensor&, const Tensor& out) { return zeros_like(out); });
    Tensor pruned = net(x);
    auto b = net.classifier->bias.to_vector<double>();
    CHECK_VALUES(pruned, {b[0], b[1], b[0], b[1]}, 1e-6);

    // Remove: back to the original output; removing twice is harmless.
    h3.remove();
    h3.remove();
    CHECK(same_values(net(x), before));
    h1.remove();
    h2.remove();
    act = Tensor();
    net(x);
    CHECK(!act.defined());

    // A hook that removes itself runs once.
    int calls = 0;
    auto handle = std::make_shared<HookHandle>();
    *handle = net.classifier->register_forward_hook([&, handle](Module&, const Tensor&, const Tensor&) {
      ++calls;
      handle->remove();
    });
    net(x);
    net(x);
    CHECK(calls == 1);
  }

  TEST_CASE("hook handles own their hook: removed on destruction or move-assignment, kept by detach()") {
    manual_seed(4);
    Net net;
    net.eval();
    Tensor x = randn({2, 3, 6, 6});
    Module& relu = net.submodule("features.4");
    auto zero = [](Module&, const Tensor&, const Tensor& out) { return zeros_like(out); };
    const Tensor before = net(x);
    {
      HookHandle h = relu.register_forward_hook(zero);
      CHECK(h.active());
      CHECK(relu.forward_hook_count() == 1);
      CHECK_FALSE(same_values(net(x), before));
    }
    CHECK(relu.forward_hook_count() == 0);  // the handle went out of scope
    CHECK(same_values(net(x), before));
    // Also when the scope is left by an exception.
    try {
      HookHandle h = relu.register_forward_hook(zero);
      throw Error("on purpose");
    } catch (const Error&) {
    }
    CHECK(relu.forward_hook_count() == 0);
    // Moving transfers ownership; move-assigning over a handle removes the hook it held.
    HookHandle a = relu.register_forward_hook(zero);
    HookHandle b = std::move(a);
    CHECK_FALSE(a.active());
    CHECK(b.active());
    CHECK(relu.forward_hook_count() == 1);
    b = relu.register_forward_hook([](Module&, const Tensor&, const Tensor&) {});
    CHECK(relu.forward_hook_count() == 1);
    CHECK(same_values(net(x), before));  // the zeroing hook is gone, the observing one stays
    b.remove();
    CHECK_FALSE(b.active());
    // detach(): the hook outlives its handle, for the module's lifetime.
    relu.register_forward_hook(zero).detach();
    CHECK(relu.forward_hook_count() == 1);
    CHECK_FALSE(same_values(net(x), before));
  }

  TEST_CASE("forward hooks: Grad-CAM reads an activation and the gradient of a class score w.r.t. it") {
    manual_seed(5);
    Net net;
    net.eval();
    Tensor act;
    auto h = net.submodule("features.3").register_forward_hook([&](Module&, const Tensor&, const Tensor& out) {
      act = out;
      act.retain_grad();
    });
    Tensor x = randn({1, 3, 6, 6});
    Tensor score = net(x).select(1, 1).sum();
    Tensor grad_act = autograd::grad({score}, {act}, {}, {.retain_graph = true})[0];
    score.backward();
    CHECK(act.grad().shape() == Shape{1, 4, 6, 6});
    CHECK(same_values(act.grad(), grad_act));
    // Grad-CAM's weights: the spatial mean of the gradient per channel; the map: relu(Σ_k w_k A_k).
    Tensor cam = relu(sum(mean(grad_act, {2, 3}, true) * act, {1}));
    CHECK(cam.shape() == Shape{1, 6, 6});
    h.remove();
  }

  TEST_CASE("load_state_dict: copies in place; missing, unexpected and mis-shaped tensors are named") {
    manual_seed(6);
    Net a, b;
    Tensor w_handle = b.classifier->weight;
    b.load_state_dict(a.state_dict());
    StateDict sa = a.state_dict(), sb = b.state_dict();
    for (std::size_t i = 0; i < sa.size(); ++i) CHECK(same_values(sa[i].second, sb[i].second));
    CHECK(same_values(w_handle, a.classifier->weight));  // same handle, new values
    CHECK(w_handle.is_same(b.classifier->weight));

    StateDict s = a.state_dict();
    s.pop_back();                                 // classifier.bias
    s.emplace_back("head.weight", zeros({1}));    // not in the model
    s[0].second = zeros({4, 3, 3, 3});            // features.0.weight is [4, 3, 3, 3]: fine
    s[6].second = zeros({2, 2});                  // features.1.num_batches_tracked: wrong shape
    CHECK_THROWS_WITH_AS(b.load_state_dict(s), Catch("missing: classifier.bias"), Error);
    CHECK_THROWS_WITH_AS(b.load_state_dict(s), Catch("unexpected: head.weight"), Error);
    CHECK_THROWS_WITH_AS(b.load_state_dict(s),
                         Catch("shape mismatch: features.1.num_batches_tracked (given [2, 2], expected [])"), Error);
    s[6].second = zeros({}, {.dtype = DType::int64});
    CHECK_THROWS_AS(b.load_state_dict(s), Error);  // strict
    b.load_state_dict(s, false);                  // not strict: missing and unexpected are allowed
    CHECK(same_values(b.find("features.0")->state_dict()[0].second, zeros({4, 3, 3, 3})));
    s[0].second = zeros({4, 3, 3});
    CHECK_THROWS_WITH_AS(b.load_state_dict(s, false), Catch("features.0.weight (given [4, 3, 3], expected [4, 3, 3, 3])"),
                         Error);
  }

  TEST_CASE("checkpoints: save and load round trip through safetensors, with metadata and clear errors") {
    lumen::testing::TempDir dir("nn-ckpt");
    manual_seed(7);
    Net a;
    a(randn({4, 3, 5, 5}));  // moves BatchNorm's running statistics away from their defaults
    save(a, dir / "net.safetensors", {{"epoch", "3"}});
    CHECK(read_safetensors_metadata(dir / "net.safetensors").at("epoch") == "3");

    Net b;
    load(b, dir / "net.safetensors");
    auto sa = a.state_dict(), sb = b.state_dict();
    for (std::size_t i = 0; i < sa.size(); ++i) {
      INFO(sa[i].first);
      CHECK(sb[i].second.dtype() == sa[i].second.dtype());
      CHECK(same_values(sb[i].second, sa[i].second));
    }
    a.eval();
    b.eval();
    Tensor x = randn({2, 3, 5, 5});
    CHECK(same_values(a(x), b(x)));

    Net wider(8);
    CHECK_THROWS_WITH_AS(load(wider, dir / "net.safetensors"),
                         Catch("features.0.weight (given [4, 3, 3, 3], expected [8, 3, 3, 3])"), Error);
    const std::string path = dir / "net.safetensors";
    CHECK_THROWS_WITH_AS(load(wider, path), Catch(path.c_str()), Error);
    DenseModel dense;
    CHECK_THROWS_WITH_AS(load(dense, dir / "net.safetensors"), Catch("missing: layers.1.weight"), Error);
    CHECK_THROWS_AS(load(b, dir / "absent.safetensors"), Error);
  }

  TEST_CASE("Module: zero_grad, to(float64) keeps every handle valid, printing") {
    manual_seed(8);
    Net net;
    std::vector<Tensor> held = net.parameters();  // as an optimizer holds them
    sum(net(randn({2, 3, 4, 4}))).backward();
    for (const Tensor& p : held) CHECK(p.grad().defined());
    net.to(DType::float64);
    for (const Tensor& p : held) {
      CHECK(p.dtype() == DType::float64);
      CHECK(p.grad().dtype() == DType::float64);
    }
    CHECK(held[6].is_same(net.classifier->weight));
    auto& bn = dynamic_cast<BatchNorm2d&>(net.submodule("features.1"));
    CHECK(bn.num_batches_tracked.dtype() == DType::int64);  // integer buffers keep their type
    CHECK(net(randn({2, 3, 4, 4}, {.dtype = DType::float64})).dtype() == DType::float64);
    net.zero_grad();
    for (const Tensor& p : held) CHECK(!p.grad().defined());
    net.to(kCPU);  // already there: nothing changes

    std::string s = net.str();
    CHECK(s.find("Net(\n  (features): Sequential(\n    (0): Conv2d(3, 4, kernel_size=3, stride=1, padding=1)") == 0);
    CHECK(s.find("(classifier): Linear(in_features=4, out_features=2, bias=true)") != std::string::npos);
    CHECK(s.find("(1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)") !=
          std::string::npos);
  }

  TEST_CASE("Module::apply visits every module, children before parents (custom init, as DCGAN's)") {
    Net net;
    std::vector<std::string> order;
    net.apply([&](Module& m) {
      order.push_back(m.type_name());
      if (auto* c = dynamic_cast<Conv2d*>(&m)) init::constant_(c->weight, 0.02);
    });
    CHECK(order.size() == 10);
    CHECK(order[0] == "Conv2d");
    CHECK(order[7] == "Sequential");
    CHECK(order.back() == "Net");
    CHECK(net.find("features.3")->state_dict()[0].second.mean().item() == doctest::Approx(0.02));
  }

  TEST_CASE("Sequential: push_back numbers children, operator[] and size, named entries") {
    Sequential seq;
    auto lin = seq.push_back(std::make_shared<Linear>(3, 2));
    seq.push_back(std::make_shared<Tanh>());
    seq.push_back("head", std::make_shared<Linear>(2, 1));
    CHECK(seq.size() == 3);
    CHECK(seq[0] == lin);
    CHECK(names(seq.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "head.weight", "head.bias"});
    CHECK(seq(ones({5, 3})).shape() == Shape{5, 1});
    CHECK_THROWS_WITH_AS(seq[3], Catch("index 3 out of range for 3 modules"), Error);
  }

  TEST_CASE("ModeRestorer and EvalScope put every module's own mode back, exceptions included") {
    nn::Sequential net{std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::Dropout>(0.5),
                       std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{std::make_shared<nn::ReLU>()})};
    net.train();
    net[1]->eval();  // a mixed state: the parent training, one child not
    const auto modes = [&] {
      std::vector<bool> m{net.is_training()};
      for (const auto& [name, c] : net.named_modules()) m.push_back(c->is_training());
      return m;
    };
    const std::vector<bool> before = modes();
    {
      nn::EvalScope eval(net);
      for (bool m : modes()) CHECK(!m);
    }
    CHECK(modes() == before);
    try {
      nn::ModeRestorer keep(net);
      net[0]->eval();
      net[2]->train(false);
      throw std::runtime_error("measurement failed");
    } catch (const std::runtime_error&) {
    }
    CHECK(modes() == before);
    CHECK(before == std::vector<bool>{true, true, false, true, true});
  }
}
