// Optimizers, schedules and clipping against PyTorch: five steps of each optimizer on a fixed
// least-squares problem (tests/reference/make_nn_reference.py) must land on PyTorch's parameters after
// every step; the schedules must give PyTorch's lr sequence; clipping PyTorch's norms and gradients.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "tests/nn/reference.h"

using namespace lumen;
using namespace lumen::nn;
using lumen::testing::reference;
using Catch = doctest::Contains;

namespace {

const lumen::testing::Reference& ref() { return reference("nn_optim.safetensors"); }

using MakeOpt = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

// The problem: minimise mse(X wᵀ + b, Y) from (w0, b0); compare w and b with PyTorch after each step.
void check_trajectory(const std::string& name, const MakeOpt& make) {
  INFO("optimizer " << name);
  Tensor w = ref().at("problem.w0").clone().requires_grad_(), b = ref().at("problem.b0").clone().requires_grad_();
  const Tensor &X = ref().at("problem.X"), &Y = ref().at("problem.Y");
  auto opt = make({w, b});
  for (int k = 0; k < 5; ++k) {
    INFO("after step " << k + 1);
    opt->zero_grad();
    mse_loss(linear(X, w, b), Y).backward();
    opt->step();
    CHECK_CLOSE(w, ref().at(name + ".w." + std::to_string(k)), 1e-6, 1e-7);
    CHECK_CLOSE(b, ref().at(name + ".b." + std::to_string(k)), 1e-6, 1e-7);
  }
}

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("SGD matches PyTorch: plain, momentum with dampening and weight decay, nesterov") {
    check_trajectory("sgd", [](auto p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1}); });
    check_trajectory("sgd_momentum", [](auto p) {
      return std::make_unique<SGD>(p, SGDOptions{.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
    });
    check_trajectory("sgd_nesterov", [](auto p) {
      return std::make_unique<SGD>(p, SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
    });
  }

  TEST_CASE("Adam and AdamW match PyTorch: defaults, weight decay, amsgrad, other betas") {
    check_trajectory("adam", [](auto p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 0.01}); });
    check_trajectory("adam_wd_amsgrad", [](auto p) {
      return std::make_unique<Adam>(
          p, AdamOptions{.lr = 0.02, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true});
    });
    check_trajectory("adamw", [](auto p) { return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01}); });
    check_trajectory("adamw_wd", [](auto p) {
      return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.03, .beta1 = 0.85, .beta2 = 0.95, .weight_decay = 0.5});
    });
  }

  TEST_CASE("StepLR and CosineAnnealingLR give PyTorch's lr sequence") {
    auto sequence = [](auto make_sched) {
      Tensor p = zeros({1}).requires_grad_();
      SGD opt({p}, {.lr = 0.1});
      auto sched = make_sched(opt);
      std::vector<double> lrs{opt.lr()};
      for (int e = 0; e < 12; ++e) {
        opt.step();
        sched.step();
        lrs.push_back(opt.lr());
      }
      return tensor(lrs, {}, {.dtype = DType::float64});
    };
    CHECK_CLOSE(sequence([](Optimizer& o) { return StepLR(o, 3, 0.5); }), ref().at("steplr.lrs"), 1e-12, 1e-15);
    CHECK_CLOSE(sequence([](Optimizer& o) { return CosineAnnealingLR(o, 5, 0.01); }), ref().at("cosine.lrs"), 1e-12,
                1e-15);
  }

  TEST_CASE("ReduceLROnPlateau gives PyTorch's lr and bad-epoch sequences (min/rel with cooldown and min_lr, max/abs, "
            "defaults)") {
    const auto metrics = ref().at("plateau.metrics").to_vector<double>();
    auto run = [&](const std::string& name, ReduceLROnPlateauOptions o, double sign) {
      INFO(name);
      Tensor p = zeros({1}).requires_grad_();
      SGD opt({p}, {.lr = 0.1});
      ReduceLROnPlateau sched(opt, o);
      std::vector<double> lrs, bad;
      for (double m : metrics) {
        sched.step(sign * m);
        lrs.push_back(sched.last_lr());
        bad.push_back(static_cast<double>(sched.num_bad_epochs()));
      }
      CHECK_CLOSE(tensor(lrs, {}, {.dtype = DType::float64}), ref().at(name + ".lrs"), 1e-12, 1e-15);
      CHECK_CLOSE(tensor(bad, {}, {.dtype = DType::float64}), ref().at(name + ".bad"), 0, 0);
      return opt.lr();
    };
    CHECK(run("plateau_min", {.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.02}, 1.0) == 0.02);
    CHECK(run("plateau_max_abs", {.mode_max = true, .factor = 0.3, .patience = 1, .threshold = 0.05,
                                  .threshold_rel = false}, -1.0) < 1e-5);
    CHECK(run("plateau_default", {}, 1.0) == doctest::Approx(0.01));
    Tensor p = zeros({1}).requires_grad_();
    SGD opt({p}, {.lr = 0.1});
    CHECK_THROWS_WITH_AS(ReduceLROnPlateau(opt, {.factor = 1.0}), Catch("ReduceLROnPlateau: factor must be in [0, 1)"),
                         Error);
  }

  TEST_CASE("clip_grad_norm_ matches PyTorch (2-norm and inf-norm); clip_grad_value_ clamps") {
    for (auto [name, max_norm, norm_type] : {std::tuple{"clip2", 1.5, 2.0},
                                             std::tuple{"clipinf", 0.5, std::numeric_limits<double>::infinity()}}) {
      INFO(name);
      const std::string c = name;
      Tensor p1 = zeros({3, 4}).requires_grad_(), p2 = zeros({5}).requires_grad_(), unused = zeros({2}).requires_grad_();
      p1.set_grad(ref().at(c + ".g1").clone());
      p2.set_grad(ref().at(c + ".g2").clone());
      double total = clip_grad_norm_({p1, unused, p2}, max_norm, norm_type);
      CHECK(total == doctest::Approx(ref().at(c + ".total").item()).epsilon(1e-6));
      CHECK_CLOSE(p1.grad(), ref().at(c + ".g1_after"), 1e-6, 1e-7);
      CHECK_CLOSE(p2.grad(), ref().at(c + ".g2_after"), 1e-6, 1e-7);
    }
    Tensor p = zeros({4}).requires_grad_();
    p.set_grad(tensor({-3, -0.5, 0.2, 7}));
    CHECK(clip_grad_norm_({p}, 100.0) == doctest::Approx(std::sqrt(9 + 0.25 + 0.04 + 49)));
    CHECK_CLOSE(p.grad(), tensor({-3, -0.5, 0.2, 7}), 0, 0);  // below max_norm: untouched
    clip_grad_value_({p}, 1.0);
    CHECK_CLOSE(p.grad(), tensor({-1, -0.5, 0.2, 1}), 1e-7, 0);
  }

  TEST_CASE("optimizers: zero_grad clears, parameters without gradient are skipped, float64 works") {
    Tensor a = tensor({1, 2}, {}, {.dtype = DType::float64, .requires_grad = true});
    Tensor frozen = tensor({5, 5}, {}, {.dtype = DType::float64, .requires_grad = true});
    Adam opt({a, frozen}, {.lr = 0.1});
    for (int i = 0; i < 300; ++i) {  // minimise |a - (3, -1)|²
      opt.zero_grad();
      sum(square(a - tensor({3, -1}, {}, {.dtype = DType::float64}))).backward();
      CHECK(!frozen.grad().defined());
      opt.step();
    }
    CHECK_CLOSE(a, tensor({3, -1}), 0, 1e-3);
    CHECK_CLOSE(frozen, tensor({5, 5}), 0, 0);
    opt.zero_grad();
    CHECK(!a.grad().defined());
  }

  TEST_CASE("optimizers: set_lr takes effect (schedules), and bad arguments are refused") {
    Tensor p = tensor({1.0}).requires_grad_();
    SGD opt({p}, {.lr = 0.5});
    p.set_grad(tensor({1.0}));
    opt.set_lr(0.25);
    opt.step();
    CHECK(p.item() == doctest::Approx(0.75));
    CHECK_THROWS_WITH_AS(SGD({p, p}, {}), Catch("appears twice"), Error);
    CHECK_THROWS_WITH_AS(SGD({p}, {.momentum = 0, .nesterov = true}), Catch("nesterov momentum requires momentum > 0"),
                         Error);
    CHECK_THROWS_WITH_AS(Adam({p}, {.beta1 = 1.0}), Catch("expected betas in [0, 1)"), Error);
    CHECK_THROWS_WITH_AS(SGD({p * 2.0}, {}), Catch("not a leaf"), Error);
  }

  TEST_CASE("training: an MLP with Adam and cross-entropy separates a synthetic 4-class problem") {
    manual_seed(11);
    Generator gen(12);
    Tensor x = randn({256, 10}, {}, &gen);
    Tensor teacher = randn({10, 4}, {}, &gen);
    Tensor y = argmax(matmul(x, teacher), 1);
    Sequential net{std::make_shared<Linear>(10, 32), std::make_shared<ReLU>(), std::make_shared<Linear>(32, 4)};
    Adam opt(net.parameters(), {.lr = 0.01});
    StepLR sched(opt, 100, 0.5);
    double first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
      opt.zero_grad();
      Tensor loss = cross_entropy(net(x), y);
      loss.backward();
      opt.step();
      sched.step();
      (step == 0 ? first : last) = loss.item();
    }
    CHECK(last < 0.2 * first);
    autograd::NoGradGuard ng;
    CHECK(mean(eq(argmax(net(x), 1).to(DType::float32), y.to(DType::float32))).item() > 0.95);
  }
}
