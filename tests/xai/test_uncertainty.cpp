// Uncertainty measures on hand-made distributions (closed forms and a 2-member, 3-class case computed
// by hand), their gradients, MC dropout (reproducible, chunk-independent, modes restored), ensembles,
// per-pixel distributions of binary segmenters and the UncertaintyModule that attribution explains.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <stdexcept>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/grad_cam.h"
#include "xai/uncertainty.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using lumen::testing::val;
using Catch = doctest::Contains;

namespace {

// Linear(4→8) → Dropout(p, gen) → Linear(8→3), float64, weights drawn after manual_seed(5).
struct DropoutMlp {
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  std::shared_ptr<nn::Dropout> dropout;
};
DropoutMlp dropout_mlp(double p, Generator* gen) {
  DropoutMlp m;
  manual_seed(5);
  m.net->push_back("fc1", std::make_shared<nn::Linear>(4, 8));
  m.dropout = m.net->push_back("drop", std::make_shared<nn::Dropout>(p, gen));
  m.net->push_back("fc2", std::make_shared<nn::Linear>(8, 3));
  m.net->to(DType::float64);
  return m;
}

Tensor inputs_4d(std::int64_t n) {
  manual_seed(9);
  return randn({n, 4}, {.dtype = DType::float64});
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : val(t)) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

TEST_SUITE("xai_uncertainty") {

// ---- the measures

TEST_CASE("uncertainty_measures: a 2-member, 3-class case by hand") {
  // p1 = (0.5, 0.3, 0.2), p2 = (0.1, 0.6, 0.3): p̄ = (0.3, 0.45, 0.25).
  // EoE = −(0.3 ln 0.3 + 0.45 ln 0.45 + 0.25 ln 0.25)                    = 1.0670938948757507
  // ExE = ½[H(p1) + H(p2)] = ½[1.0296530140645737 + 0.8979457248567798] = 0.9637993694606768
  // MI  = EoE − ExE                                                       = 0.1032945254150739
  // EPKL = −Σ_k p̄_k ½(ln p1k + ln p2k) − ExE = ¼[KL(p1‖p2) + KL(p2‖p1)]  = 0.22306645748811005
  // RMI = EPKL − MI                                                       = 0.11977193207303616
  // var(pred): c* = 1, members 0.3 and 0.6 around 0.45: 0.15²             = 0.0225
  // mean var: (0.2² + 0.15² + 0.05²) / 3 = (0.04 + 0.0225 + 0.0025) / 3   = 0.021666...
  const Tensor p = f64({0.5, 0.3, 0.2, 0.1, 0.6, 0.3}, {2, 1, 3});
  const auto u = uncertainty_measures(p);
  CHECK(u.mean_probs.shape() == Shape{1, 3});
  CHECK_VALUES(u.mean_probs, {0.3, 0.45, 0.25}, 1e-12);
  CHECK(u.total.shape() == Shape{1});
  CHECK_VALUES(u.confidence, {-0.45}, 1e-12);
  CHECK_VALUES(u.total, {1.0670938948757507}, 1e-9);
  CHECK_VALUES(u.data, {0.9637993694606768}, 1e-9);
  CHECK_VALUES(u.mutual_information, {0.1032945254150739}, 1e-9);
  CHECK_VALUES(u.epkl, {0.22306645748811005}, 1e-9);
  CHECK_VALUES(u.reverse_mi, {0.11977193207303616}, 1e-9);
  CHECK_VALUES(u.predicted_variance, {0.0225}, 1e-12);
  CHECK_VALUES(u.mean_variance, {0.065 / 3}, 1e-12);
}

TEST_CASE("uncertainty_measures: identical members have no model uncertainty") {
  // Three identical members, two samples: MI = EPKL = RMI = 0 and both variances 0; EoE = ExE.
  const Tensor one = f64({0.7, 0.2, 0.1, 0.25, 0.25, 0.5}, {1, 2, 3});
  const auto u = uncertainty_measures(cat({one, one, one}, 0));
  CHECK_VALUES(u.mutual_information, {0, 0}, 1e-12);
  CHECK_VALUES(u.epkl, {0, 0}, 1e-12);
  CHECK_VALUES(u.reverse_mi, {0, 0}, 1e-12);
  CHECK_VALUES(u.predicted_variance, {0, 0}, 1e-15);
  CHECK_VALUES(u.mean_variance, {0, 0}, 1e-15);
  CHECK_VALUES(u.total, val(u.data), 1e-12);
  CHECK_VALUES(u.confidence, {-0.7, -0.5}, 1e-12);
  CHECK_VALUES(u.total, {-(0.7 * std::log(0.7) + 0.2 * std::log(0.2) + 0.1 * std::log(0.1)), 1.5 * std::log(2.0)}, 1e-9);
}

TEST_CASE("uncertainty_measures: disagreeing one-hot members, uniform members") {
  // (1, 0) and (0, 1): p̄ = (½, ½), so EoE = ln 2, ExE ≈ 0, MI ≈ ln 2; EPKL = −½ ln ε (the 0 under the log).
  const double eps = 1e-10;
  const auto u = uncertainty_measures(f64({1, 0, 0, 1}, {2, 1, 2}), eps);
  CHECK_VALUES(u.mutual_information, {std::log(2.0)}, 1e-8);
  CHECK_VALUES(u.data, {0}, 1e-8);
  CHECK_VALUES(u.epkl, {-0.5 * std::log(eps)}, 1e-8);
  CHECK_VALUES(u.predicted_variance, {0.25}, 1e-12);  // member probabilities 1 and 0 of class 0
  CHECK_VALUES(u.mean_variance, {0.25}, 1e-12);
  // Uniform over K = 4: EoE = ExE = ln 4, confidence −¼.
  const auto w = uncertainty_measures(full({2, 1, 4}, 0.25, {.dtype = DType::float64}));
  CHECK_VALUES(w.total, {std::log(4.0)}, 1e-9);
  CHECK_VALUES(w.data, {std::log(4.0)}, 1e-9);
  CHECK_VALUES(w.confidence, {-0.25}, 1e-12);
  // One member: the model's own entropy, no model uncertainty.
  const auto single = uncertainty_measures(f64({0.9, 0.1}, {1, 1, 2}));
  CHECK_VALUES(single.total, {-(0.9 * std::log(0.9) + 0.1 * std::log(0.1))}, 1e-9);
  CHECK_VALUES(single.mutual_information, {0}, 1e-12);
}

TEST_CASE("uncertainty_measures: an empty batch gives empty measures") {
  const auto u = uncertainty_measures(zeros({3, 0, 4}, {.dtype = DType::float64}));
  CHECK(u.mean_probs.shape() == Shape{0, 4});
  for (Measure m : {Measure::confidence, Measure::total, Measure::data, Measure::mutual_information, Measure::epkl,
                    Measure::reverse_mi, Measure::predicted_variance, Measure::mean_variance})
    CHECK(measure(u, m).shape() == Shape{0});
}

TEST_CASE("measure and measure_name pick the field") {
  const auto u = uncertainty_measures(f64({0.5, 0.3, 0.2, 0.1, 0.6, 0.3}, {2, 1, 3}));
  CHECK(measure(u, Measure::confidence).is_same(u.confidence));
  CHECK(measure(u, Measure::total).is_same(u.total));
  CHECK(measure(u, Measure::data).is_same(u.data));
  CHECK(measure(u, Measure::mutual_information).is_same(u.mutual_information));
  CHECK(measure(u, Measure::epkl).is_same(u.epkl));
  CHECK(measure(u, Measure::reverse_mi).is_same(u.reverse_mi));
  CHECK(measure(u, Measure::predicted_variance).is_same(u.predicted_variance));
  CHECK(measure(u, Measure::mean_variance).is_same(u.mean_variance));
  CHECK(std::string(measure_name(Measure::confidence)) == "confidence");
  CHECK(std::string(measure_name(Measure::total)) == "EoE");
  CHECK(std::string(measure_name(Measure::data)) == "ExE");
  CHECK(std::string(measure_name(Measure::mutual_information)) == "MI");
  CHECK(std::string(measure_name(Measure::epkl)) == "EPKL");
  CHECK(std::string(measure_name(Measure::reverse_mi)) == "RMI");
  CHECK(std::string(measure_name(Measure::predicted_variance)) == "var(pred)");
  CHECK(std::string(measure_name(Measure::mean_variance)) == "mean var");
  CHECK_THROWS_WITH_AS(measure_name(static_cast<Measure>(42)), Catch("measure_name"), lumen::Error);
}

TEST_CASE("uncertainty measures are differentiable; MI's gradient vanishes at identical members") {
  manual_seed(3);
  Tensor logits = randn({3, 2, 4}, {.dtype = DType::float64, .requires_grad = true});
  auto u = uncertainty_measures(softmax(logits, 2));
  const Tensor g = autograd::grad({u.mutual_information.sum()}, {logits})[0];
  CHECK(g.shape() == logits.shape());
  CHECK(std::isfinite(max_abs(g)));
  CHECK(max_abs(g) > 1e-6);  // distinct members: MI moves with the logits
  // Finite difference of MI in one logit agrees with the gradient.
  {
    autograd::NoGradGuard no_grad;
    const double h = 1e-6;
    Tensor plus = logits.detach().clone(), minus = logits.detach().clone();
    plus.data<double>()[5] += h;
    minus.data<double>()[5] -= h;
    const double fd = (uncertainty_measures(softmax(plus, 2)).mutual_information.sum().item() -
                       uncertainty_measures(softmax(minus, 2)).mutual_information.sum().item()) / (2 * h);
    CHECK(val(g)[5] == doctest::Approx(fd).epsilon(1e-5));
  }
  // Identical members: MI is at its minimum 0, so its gradient is 0.
  Tensor same = expand(randn({1, 2, 4}, {.dtype = DType::float64}), {3, 2, 4}).contiguous().requires_grad_();
  const Tensor g0 = autograd::grad({uncertainty_measures(softmax(same, 2)).mutual_information.sum()}, {same})[0];
  CHECK(max_abs(g0) < 1e-9);
  // The other measures have gradients too (predicted_variance through the gathered column).
  for (Measure m : {Measure::confidence, Measure::total, Measure::epkl, Measure::predicted_variance}) {
    auto v = uncertainty_measures(softmax(logits, 2));
    const Tensor gm = autograd::grad({measure(v, m).sum()}, {logits})[0];
    CHECK(std::isfinite(max_abs(gm)));
    CHECK(max_abs(gm) > 0);
  }
}

TEST_CASE("uncertainty_measures: bad input") {
  CHECK_THROWS_WITH_AS(uncertainty_measures(f64({0.5, 0.5}, {1, 2})), Catch("uncertainty_measures"), lumen::Error);
  CHECK_THROWS_WITH_AS(uncertainty_measures(Tensor()), Catch("uncertainty_measures"), lumen::Error);
  CHECK_THROWS_WITH_AS(uncertainty_measures(zeros({0, 2, 3}, {.dtype = DType::float64})), Catch("at least one member"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(uncertainty_measures(zeros({2, 2, 0}, {.dtype = DType::float64})), Catch("uncertainty_measures"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(uncertainty_measures(zeros({2, 2, 3}, {.dtype = DType::int64})), Catch("floating"), lumen::Error);
  CHECK_THROWS_WITH_AS(uncertainty_measures(full({1, 1, 2}, 0.5, {.dtype = DType::float64}), -1.0), Catch("eps"),
                       lumen::Error);
}

// ---- MC dropout

TEST_CASE("mc_dropout_probs: p = 0 gives identical passes and no model uncertainty") {
  auto m = dropout_mlp(0.0, nullptr);
  const Tensor x = inputs_4d(5);
  autograd::NoGradGuard no_grad;
  const Tensor p = mc_dropout_probs(*m.net, x, 6);
  CHECK(p.shape() == Shape{6, 5, 3});
  m.net->eval();
  const Tensor expected = softmax((*m.net)(x), 1);
  for (std::int64_t t = 0; t < 6; ++t) CHECK_VALUES(p[t], val(expected), 1e-12);
  CHECK(max_abs(uncertainty_measures(p).mutual_information) < 1e-9);
}

TEST_CASE("mc_dropout_probs: p = 0.5 with a seeded generator is stochastic, reproducible and chunk-independent") {
  Generator gen(17);
  auto m = dropout_mlp(0.5, &gen);
  m.net->eval();  // the scope turns the dropout on anyway
  const Tensor x = inputs_4d(5);
  autograd::NoGradGuard no_grad;
  const Tensor a = mc_dropout_probs(*m.net, x, 4);
  CHECK(a.shape() == Shape{4, 5, 3});
  CHECK(max_abs(a[0] - a[1]) > 1e-3);  // passes differ
  CHECK(max_abs(uncertainty_measures(a).mutual_information) > 1e-6);
  CHECK_VALUES(sum(a, {2}), std::vector<double>(20, 1.0), 1e-12);
  gen.manual_seed(17);
  const Tensor b = mc_dropout_probs(*m.net, x, 4);
  CHECK(max_abs(a - b) == 0);  // the same seed, the same passes
  gen.manual_seed(17);
  const Tensor chunked = mc_dropout_probs(*m.net, x, 4, /*max_rows=*/3);  // chunks cut through passes
  CHECK(max_abs(a - chunked) < 1e-15);
  gen.manual_seed(17);
  const Tensor one_row = mc_dropout_probs(*m.net, x, 4, /*max_rows=*/1);
  CHECK(max_abs(a - one_row) < 1e-15);
  CHECK_FALSE(m.net->is_training());
  CHECK_FALSE(m.dropout->is_training());
}

TEST_CASE("mc_dropout_probs: only Dropout trains during the call; every mode is restored") {
  // [N, 2, 3, 3] → BatchNorm2d → Flatten → Dropout → Linear(18 → 3). BatchNorm is in training mode
  // before the call and the Dropout in eval: during the call it is the other way round.
  manual_seed(4);
  Generator gen(8);
  auto net = std::make_shared<nn::Sequential>();
  auto bn = net->push_back("bn", std::make_shared<nn::BatchNorm2d>(2));
  net->push_back("flatten", std::make_shared<nn::Flatten>());
  auto drop = net->push_back("drop", std::make_shared<nn::Dropout>(0.5, &gen));
  net->push_back("head", std::make_shared<nn::Linear>(18, 3));
  net->to(DType::float64);
  net->train();
  drop->eval();
  bool bn_trained = true, drop_trained = false;
  auto h1 = bn->register_forward_hook([&](nn::Module& mod, const Tensor&, const Tensor&) { bn_trained = mod.is_training(); });
  auto h2 = drop->register_forward_hook([&](nn::Module& mod, const Tensor&, const Tensor&) { drop_trained = mod.is_training(); });
  const Tensor x = randn({3, 2, 3, 3}, {.dtype = DType::float64});
  const auto running_before = val(bn->running_mean);
  {
    autograd::NoGradGuard no_grad;
    const Tensor p = mc_dropout_probs(*net, x, 3);
    CHECK(p.shape() == Shape{3, 3, 3});
  }
  CHECK_FALSE(bn_trained);
  CHECK(drop_trained);
  CHECK(val(bn->running_mean) == running_before);  // eval: the running statistics did not move
  CHECK(bn->num_batches_tracked.item() == 0);
  CHECK(net->is_training());
  CHECK(bn->is_training());
  CHECK_FALSE(drop->is_training());
  // Restored when the forward throws, too.
  auto h3 = net->find("head")->register_forward_hook(
      [](nn::Module&, const Tensor&, const Tensor&) -> Tensor { throw std::runtime_error("boom"); });
  CHECK_THROWS_AS(mc_dropout_probs(*net, x, 2), std::runtime_error);
  CHECK(bn->is_training());
  CHECK_FALSE(drop->is_training());
}

TEST_CASE("McDropoutScope: a Dropout model itself, and the scope's lifetime") {
  nn::Dropout d(0.3);
  d.eval();
  {
    McDropoutScope scope(d);
    CHECK(d.is_training());
  }
  CHECK_FALSE(d.is_training());
}

TEST_CASE("repeated_probs: chunks of at most max_rows rows, pass t is block t") {
  // f gives each row the logits (0, v) with v = the input plus 10·(how many forwards ran before): the
  // chunking is visible in the values.
  std::vector<std::int64_t> rows_seen;
  ForwardFn f = [&](const Tensor& x) {
    const double shift = 10.0 * static_cast<double>(rows_seen.size());
    rows_seen.push_back(x.size(0));
    return cat({zeros_like(x), x + shift}, 1);
  };
  const Tensor x = f64({0, 1, 2, 3, 4}, {5, 1});
  const Tensor p = repeated_probs(f, x, /*passes=*/4, /*max_rows=*/3);
  CHECK(rows_seen == std::vector<std::int64_t>{3, 3, 3, 3, 3, 3, 2});
  CHECK(p.shape() == Shape{4, 5, 2});
  // Row r of the repeated batch (sample r mod 5) ran in forward r / 3.
  auto sigmoid_of = [](double v) { return 1 / (1 + std::exp(-v)); };
  std::vector<double> want;
  for (std::int64_t r = 0; r < 20; ++r) {
    const double v = static_cast<double>(r % 5) + 10.0 * static_cast<double>(r / 3);
    want.push_back(1 - sigmoid_of(v));
    want.push_back(sigmoid_of(v));
  }
  CHECK_VALUES(p, want, 1e-12);
  // Records a graph when grad mode is on.
  Tensor xg = f64({0.5, -1}, {2, 1}).requires_grad_();
  rows_seen.clear();
  const Tensor pg = repeated_probs(f, xg, 2);
  CHECK(pg.requires_grad());
  CHECK(std::isfinite(max_abs(autograd::grad({pg.select(2, 1).sum()}, {xg})[0])));
  // An empty batch: one forward, [passes, 0, K].
  rows_seen.clear();
  CHECK(repeated_probs(f, zeros({0, 1}, {.dtype = DType::float64}), 3).shape() == Shape{3, 0, 2});
}

TEST_CASE("repeated_probs and mc_dropout_probs: bad input") {
  ForwardFn f = [](const Tensor& x) { return x; };
  const Tensor x = f64({1, 2, 3, 4}, {2, 2});
  CHECK_THROWS_WITH_AS(repeated_probs(f, x, 0), Catch("repeated_probs: expected passes >= 1"), lumen::Error);
  CHECK_THROWS_WITH_AS(repeated_probs(f, x, 2, 0), Catch("repeated_probs: expected max_rows >= 1"), lumen::Error);
  CHECK_THROWS_WITH_AS(repeated_probs(ForwardFn(), x, 2), Catch("repeated_probs"), lumen::Error);
  CHECK_THROWS_WITH_AS(repeated_probs(f, Tensor(), 2), Catch("repeated_probs"), lumen::Error);
  CHECK_THROWS_WITH_AS(repeated_probs([](const Tensor& t) { return t.sum({1}); }, x, 2), Catch("logits"), lumen::Error);
  CHECK_THROWS_WITH_AS(repeated_probs(f, x, std::int64_t{1} << 62, 8), Catch("overflows"), lumen::Error);
  auto m = dropout_mlp(0.5, nullptr);
  CHECK_THROWS_WITH_AS(mc_dropout_probs(*m.net, inputs_4d(2), 0), Catch("mc_dropout_probs"), lumen::Error);
  CHECK_THROWS_WITH_AS(mc_dropout_probs(*m.net, inputs_4d(2), 2, -1), Catch("mc_dropout_probs"), lumen::Error);
}

// ---- ensembles

TEST_CASE("ensemble_probs: the softmax of each member, members put in eval mode") {
  auto a = lumen::testing::linear_model(f64({1, 0, 0, 1}, {2, 2}), f64({0, 0}, {2}));
  auto b = lumen::testing::linear_model(f64({0, 0, 2, 0}, {2, 2}), f64({1, 0}, {2}));
  a->train();
  const Tensor x = f64({1, 2, -1, 0}, {2, 2});
  const Tensor p = ensemble_probs({a.get(), b.get()}, x);
  CHECK(p.shape() == Shape{2, 2, 2});
  CHECK_FALSE(a->is_training());
  // a: logits (1, 2) and (−1, 0); b: (1, 2) and (1, −2). softmax(u, v) = (1 − σ(v − u), σ(v − u)).
  auto s = [](double d) { return 1 / (1 + std::exp(-d)); };
  CHECK_VALUES(p, {1 - s(1), s(1), 1 - s(1), s(1), 1 - s(1), s(1), 1 - s(-3), s(-3)}, 1e-12);
}

TEST_CASE("ensemble_probs: bad input") {
  auto a = lumen::testing::linear_model(f64({1, 0, 0, 1}, {2, 2}), f64({0, 0}, {2}));
  auto three = lumen::testing::linear_model(f64({1, 0, 0, 1, 1, 1}, {3, 2}), f64({0, 0, 0}, {3}));
  const Tensor x = f64({1, 2}, {1, 2});
  CHECK_THROWS_WITH_AS(ensemble_probs({}, x), Catch("ensemble_probs"), lumen::Error);
  CHECK_THROWS_WITH_AS(ensemble_probs({a.get(), nullptr}, x), Catch("member 1 is null"), lumen::Error);
  CHECK_THROWS_WITH_AS(ensemble_probs({a.get(), three.get()}, x), Catch("ensemble_probs: member 1 gives 3 classes"),
                       lumen::Error);
  nn::Flatten flat(0);
  CHECK_THROWS_WITH_AS(ensemble_probs({&flat}, x), Catch("ensemble_probs"), lumen::Error);
}

// ---- binary segmenters

TEST_CASE("binary_member_probs: per-pixel two-class distributions") {
  // M = 2 members, N = 1 image of 1×2 pixels... as [M, N, 1, H, W] = [2, 1, 1, 1, 2].
  const Tensor fg = f64({0.9, 0.5, 0.9, 0.5}, {2, 1, 1, 1, 2});
  const Tensor p = binary_member_probs(fg);
  CHECK(p.shape() == Shape{2, 2, 2});
  CHECK_VALUES(p, {0.1, 0.9, 0.5, 0.5, 0.1, 0.9, 0.5, 0.5}, 1e-12);
  // Per-pixel measures: the members agree, so no MI; the 0.5 pixel has EoE = ln 2.
  const auto u = uncertainty_measures(p);
  CHECK_VALUES(u.total, {-(0.9 * std::log(0.9) + 0.1 * std::log(0.1)), std::log(2.0)}, 1e-9);
  CHECK_VALUES(u.mutual_information, {0, 0}, 1e-12);
  // [M, N, H, W] gives the same; members that disagree on a pixel have MI there.
  const Tensor q = binary_member_probs(f64({1, 0.5, 0, 0.5}, {2, 1, 1, 2}));
  CHECK(q.shape() == Shape{2, 2, 2});
  CHECK_VALUES(uncertainty_measures(q).mutual_information, {std::log(2.0), 0}, 1e-8);
  // Differentiable.
  Tensor leaf = f64({0.3, 0.6}, {2, 1, 1, 1}).requires_grad_();
  const Tensor g = autograd::grad({binary_member_probs(leaf).select(2, 1).sum()}, {leaf})[0];
  CHECK_VALUES(g, {1, 1}, 1e-12);
}

TEST_CASE("binary_member_probs: bad input") {
  CHECK_THROWS_WITH_AS(binary_member_probs(zeros({2, 1, 2, 3, 3}, {.dtype = DType::float64})),
                       Catch("binary_member_probs"), lumen::Error);
  CHECK_THROWS_WITH_AS(binary_member_probs(zeros({2, 3, 3}, {.dtype = DType::float64})), Catch("binary_member_probs"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(binary_member_probs(Tensor()), Catch("binary_member_probs"), lumen::Error);
}

// ---- UncertaintyModule

TEST_CASE("UncertaintyModule: one measure of its members, [N, 1], and their layers by name") {
  auto a = lumen::testing::two_hidden_mlp().net;
  auto b = lumen::testing::two_hidden_mlp().net;
  {
    manual_seed(30);  // make b differ from a
    autograd::NoGradGuard no_grad;
    for (auto& t : b->parameters()) t.copy_(randn(t.shape(), {.dtype = DType::float64}));
  }
  a->train();
  UncertaintyModule u({a, b}, Measure::mutual_information);
  CHECK_FALSE(a->is_training());
  CHECK(u.type_name() == "UncertaintyModule");
  CHECK(u.members().size() == 2);
  CHECK(u.find("members.0") == a);
  CHECK(u.find("members.1.l2") == b->find("l2"));
  CHECK(u.str().find("measure=MI") != std::string::npos);
  manual_seed(31);
  const Tensor x = randn({3, 4}, {.dtype = DType::float64});
  const Tensor out = u(x);
  CHECK(out.shape() == Shape{3, 1});
  const auto expected = uncertainty_measures(ensemble_probs({a.get(), b.get()}, x)).mutual_information;
  CHECK_VALUES(out.reshape({3}), val(expected), 1e-12);
  CHECK(max_abs(out) > 1e-6);
  // A parameter of a member is a parameter of the module (named through "members").
  CHECK(u.named_parameters()[0].first == "members.0.l1.weight");
}

TEST_CASE("UncertaintyModule: one member gives its predictive entropy; Grad-CAM reaches a member's layer") {
  auto m = lumen::testing::conv_pool_linear(12, /*with_relu=*/true);
  UncertaintyModule u({m.net}, Measure::total);
  manual_seed(13);
  const Tensor x = randn({2, 2, 5, 5}, {.dtype = DType::float64});
  const Tensor probs = softmax((*m.net)(x), 1);
  const auto pv = val(probs);
  std::vector<double> entropy;
  for (std::size_t i = 0; i < 2; ++i)
    entropy.push_back(-(pv[2 * i] * std::log(pv[2 * i]) + pv[2 * i + 1] * std::log(pv[2 * i + 1])));
  CHECK_VALUES(u(x).reshape({2}), entropy, 1e-9);
  const Tensor cam = GradCam(u, "members.0.conv").attribute(x, /*target=*/0);
  CHECK(cam.shape() == Shape{2, 1, 5, 5});
  CHECK(std::isfinite(max_abs(cam)));
}

TEST_CASE("UncertaintyModule: bad input") {
  CHECK_THROWS_WITH_AS(UncertaintyModule({}, Measure::total), Catch("UncertaintyModule"), lumen::Error);
  CHECK_THROWS_WITH_AS(UncertaintyModule({nullptr}, Measure::total), Catch("MemberList: member 0 is null"),
                       lumen::Error);
  auto a = lumen::testing::linear_model(f64({1, 0, 0, 1}, {2, 2}), f64({0, 0}, {2}));
  auto three = lumen::testing::linear_model(f64({1, 0, 0, 1, 1, 1}, {3, 2}), f64({0, 0, 0}, {3}));
  UncertaintyModule u({a, three}, Measure::total);
  CHECK_THROWS_WITH_AS(u(f64({1, 2}, {1, 2})), Catch("UncertaintyModule: member 1 gives 3 classes"), lumen::Error);
  CHECK_THROWS_WITH_AS((*u.find("members"))(f64({1, 2}, {1, 2})), Catch("MemberList::forward"), lumen::Error);
}

}  // TEST_SUITE
