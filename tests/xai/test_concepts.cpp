// TCAV and RCV on cases whose answers are known: separable Gaussian blobs (the CAV is their axis), a
// two-layer ReLU network whose gradients are computed by hand, Student-t values from closed forms, a
// table and numerical integration, and an exactly linear measure (R² = 1).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "tests/xai/toy_models.h"
#include "xai/concepts.h"

using namespace lumen;
using namespace lumen::xai;
using Catch = doctest::Contains;

namespace {
const TensorOptions f64{.dtype = DType::float64};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

using lumen::testing::hand_inputs;
using lumen::testing::hand_model;
const std::vector<double> v_hand = {0.48, 0.6, 0.64};  // a unit vector

// The density of Student's t, integrated by Simpson's rule: an independent check of the p-values.
double two_sided_p_by_integration(double t, double dof) {
  const double c = std::exp(std::lgamma((dof + 1) / 2) - std::lgamma(dof / 2)) / std::sqrt(dof * M_PI);
  auto pdf = [&](double x) { return c * std::pow(1 + x * x / dof, -(dof + 1) / 2); };
  const int n = 4000;
  const double h = std::abs(t) / n;
  double s = pdf(0) + pdf(std::abs(t));
  for (int i = 1; i < n; ++i) s += (i % 2 ? 4 : 2) * pdf(i * h);
  return 1 - 2 * s * h / 3;
}
}  // namespace

TEST_SUITE("xai_concepts") {

// ---- activations

TEST_CASE("layer_activations: the hooked layer's output, flattened, in batches, modes restored") {
  auto net = hand_model();
  net->train();
  const Tensor acts = layer_activations(*net, "a", hand_inputs(), /*batch=*/1);
  CHECK(acts.shape() == Shape{2, 3});
  CHECK(acts.to_vector<double>() == std::vector<double>{1, 2, 2, -1, 0.5, -1.5});
  CHECK_FALSE(acts.requires_grad());
  CHECK(net->is_training());
  CHECK(net->find("a")->is_training());
  CHECK(net->find("a")->forward_hook_count() == 0);
  CHECK(layer_activations(*net, "relu", hand_inputs()).to_vector<double>() == std::vector<double>{1, 2, 2, 0, 0.5, 0});

  auto conv = testing::conv_pool_linear(3);  // conv output [N, 3, 4, 4] -> [N, 48]
  CHECK(layer_activations(*conv.net, "conv", randn({5, 2, 4, 4}, f64), 2).shape() == Shape{5, 48});
}

TEST_CASE("layer_activations: bad inputs") {
  auto net = hand_model();
  CHECK_THROWS_WITH_AS(layer_activations(*net, "nope", hand_inputs()), Catch("'nope'"), lumen::Error);
  CHECK_THROWS_WITH_AS(layer_activations(*net, "a", zeros({0, 2}, f64)), Catch("N ≥ 1"), lumen::Error);
  CHECK_THROWS_WITH_AS(layer_activations(*net, "a", hand_inputs(), 0), Catch("batch"), lumen::Error);
}

// ---- CAV

TEST_CASE("fit_cav: two separable blobs along u give ±u, pointing to the concept, with accuracy 1") {
  const std::vector<double> u = {1.0 / 3, 2.0 / 3, -2.0 / 3, 0, 0};
  Generator gen(7);
  const Tensor shift = tensor(u, {1, 5}, f64) * 8.0;  // 8σ apart: separable
  const Tensor concept_acts = randn({60, 5}, f64, &gen) + shift;
  const Tensor random_acts = randn({60, 5}, f64, &gen) * 0.8;
  for (double offset : {0.0, 10.0}) {  // a shared offset (activations are rarely centred) changes nothing
    const Cav cav = fit_cav(concept_acts + offset, random_acts + offset, {.seed = 3});
    const std::vector<double> d = cav.direction.to_vector<double>();
    REQUIRE(d.size() == 5);
    CHECK(dot(d, d) == doctest::Approx(1).epsilon(1e-12));
    CHECK(dot(d, u) > 0.95);  // towards the concept, not away from it
    CHECK(cav.accuracy == 1.0);
  }
  // Swapping the roles flips the direction.
  const Cav flipped = fit_cav(random_acts, concept_acts, {.seed = 3});
  CHECK(dot(flipped.direction.to_vector<double>(), u) < -0.95);
}

TEST_CASE("fit_cav: identical distributions give chance accuracy, reproducibly") {
  Generator gen(11);
  const Tensor a = randn({200, 5}, f64, &gen);
  const Tensor b = randn({200, 5}, f64, &gen);
  const Cav cav = fit_cav(a, b, {.seed = 5});
  CHECK(cav.accuracy > 0.35);
  CHECK(cav.accuracy < 0.65);
  const Cav again = fit_cav(a, b, {.seed = 5});
  CHECK(again.accuracy == cav.accuracy);
  CHECK(again.direction.to_vector<double>() == cav.direction.to_vector<double>());
}

TEST_CASE("fit_cav: bad inputs") {
  const Tensor a = randn({10, 4}, f64);
  CHECK_THROWS_WITH_AS(fit_cav(a, randn({10, 3}, f64)), Catch("same D"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_cav(a, randn({1, 4}, f64)), Catch("at least 2"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_cav(randn({10}, f64), a), Catch("[N, D]"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_cav(a, a, {.test_fraction = 1.0}), Catch("test_fraction"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_cav(a, a, {.lr = 0}), Catch("lr > 0"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_cav(zeros({3, 2}, f64), zeros({3, 2}, f64)), Catch("no direction"), lumen::Error);
}

// ---- sensitivity

TEST_CASE("conceptual_sensitivity: the hand-computed gradient · v") {
  auto net = hand_model();
  const Tensor v = tensor(v_hand, {3}, f64);
  // Class 0: x1's gradient (1, 2, 3) · v = 3.6; x2's (0, 2, 0) · v = 1.2.
  const Tensor s0 = conceptual_sensitivity(*net, "a", hand_inputs(), 0, v);
  CHECK(s0.shape() == Shape{2});
  CHECK(s0.to_vector<double>()[0] == doctest::Approx(3.6).epsilon(1e-12));
  CHECK(s0.to_vector<double>()[1] == doctest::Approx(1.2).epsilon(1e-12));
  // Class 1: x1's gradient (−1, 0, 1) · v = 0.16; x2's (0, 0, 0) · v = 0.
  const Tensor s1 = conceptual_sensitivity(*net, "a", hand_inputs(), 1, v);
  CHECK(s1.to_vector<double>()[0] == doctest::Approx(0.16).epsilon(1e-12));
  CHECK(s1.to_vector<double>()[1] == 0.0);
  // After the ReLU the gradient is W_b's row for every input: 3.6 both.
  const Tensor sr = conceptual_sensitivity(*net, "relu", hand_inputs(), 0, v);
  CHECK(sr.to_vector<double>()[0] == doctest::Approx(3.6).epsilon(1e-12));
  CHECK(sr.to_vector<double>()[1] == doctest::Approx(3.6).epsilon(1e-12));
  CHECK(net->find("a")->forward_hook_count() == 0);
}

TEST_CASE("conceptual_sensitivity: bad inputs") {
  auto net = hand_model();
  const Tensor v = tensor(v_hand, {3}, f64);
  CHECK_THROWS_WITH_AS(conceptual_sensitivity(*net, "missing.layer", hand_inputs(), 0, v), Catch("'missing.layer'"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(conceptual_sensitivity(*net, "a", hand_inputs(), 0, tensor({1, 0}, {2}, f64)), Catch("D = 3"),
                       lumen::Error);
  CHECK_THROWS_AS(conceptual_sensitivity(*net, "a", hand_inputs(), 2, v), lumen::Error);  // 2 classes
  CHECK(net->find("a")->forward_hook_count() == 0);  // removed although the call threw
}

// ---- scores

TEST_CASE("tcav_score: hand cases") {
  const TcavScore s = tcav_score(tensor({1, -2, 3, 0}, {4}, f64));
  CHECK(s.score == 0.5);
  CHECK(s.magnitude == doctest::Approx(4.0 / 6.0));
  const TcavScore zero = tcav_score(zeros({3}, f64));
  CHECK(zero.score == 0.0);
  CHECK(zero.magnitude == 0.0);
  CHECK(tcav_score(tensor({2, 5}, {2}, f64)).magnitude == 1.0);
  CHECK_THROWS_AS(tcav_score(zeros({0}, f64)), lumen::Error);
  CHECK_THROWS_AS(tcav_score(zeros({2, 2}, f64)), lumen::Error);
}

TEST_CASE("regularized_incomplete_beta: closed forms") {
  CHECK(regularized_incomplete_beta(0.3, 1, 1) == doctest::Approx(0.3).epsilon(1e-13));
  CHECK(regularized_incomplete_beta(0.7, 2, 1) == doctest::Approx(0.49).epsilon(1e-13));          // x^a
  CHECK(regularized_incomplete_beta(0.2, 1, 3) == doctest::Approx(1 - 0.512).epsilon(1e-13));     // 1 − (1−x)^b
  CHECK(regularized_incomplete_beta(0.5, 3.5, 3.5) == doctest::Approx(0.5).epsilon(1e-13));       // symmetry
  CHECK(regularized_incomplete_beta(0, 2, 3) == 0.0);
  CHECK(regularized_incomplete_beta(1, 2, 3) == 1.0);
  CHECK_THROWS_AS(regularized_incomplete_beta(1.5, 1, 1), lumen::Error);
  CHECK_THROWS_AS(regularized_incomplete_beta(0.5, 0, 1), lumen::Error);
}

TEST_CASE("student_t_two_sided_p: closed forms and a table value") {
  CHECK(student_t_two_sided_p(1, 1) == doctest::Approx(0.5).epsilon(1e-12));  // Cauchy
  CHECK(student_t_two_sided_p(2, 2) == doctest::Approx(1 - 2 / std::sqrt(6.0)).epsilon(1e-12));
  CHECK(student_t_two_sided_p(-2, 2) == doctest::Approx(1 - 2 / std::sqrt(6.0)).epsilon(1e-12));
  CHECK(student_t_two_sided_p(2.228139, 10) == doctest::Approx(0.05).epsilon(1e-6));  // t_{0.975, 10}
  CHECK(student_t_two_sided_p(1.959964, 1e8) == doctest::Approx(0.05).epsilon(1e-5));  // the normal limit
  CHECK(student_t_two_sided_p(0, 5) == doctest::Approx(1.0));
  CHECK_THROWS_AS(student_t_two_sided_p(1, 0), lumen::Error);
}

TEST_CASE("welch_t_test: t and dof by the formula, p by integrating the density") {
  const std::vector<double> a = {1, 2, 3, 4, 5}, b = {2, 4, 6, 8, 10};
  // var a = 2.5, var b = 10: se² = 0.5 + 2, t = (3 − 6)/√2.5, dof = 2.5² / (0.5²/4 + 2²/4).
  const TTest r = welch_t_test(a, b);
  CHECK(r.t == doctest::Approx(-3 / std::sqrt(2.5)).epsilon(1e-12));
  CHECK(r.dof == doctest::Approx(6.25 / 1.0625).epsilon(1e-12));
  CHECK(r.p_value == doctest::Approx(two_sided_p_by_integration(r.t, r.dof)).epsilon(1e-9));
  const TTest swapped = welch_t_test(b, a);
  CHECK(swapped.t == doctest::Approx(-r.t));
  CHECK(swapped.p_value == doctest::Approx(r.p_value));

  const TTest same = welch_t_test({1, 1, 1}, {1, 1});
  CHECK(same.t == 0.0);
  CHECK(same.p_value == 1.0);
  CHECK(welch_t_test({2, 2}, {1, 1}).p_value == 0.0);
  CHECK_THROWS_WITH_AS(welch_t_test({1}, b), Catch("at least 2"), lumen::Error);
  CHECK_THROWS_AS(welch_t_test({1, std::numeric_limits<double>::quiet_NaN()}, b), lumen::Error);
}

TEST_CASE("tcav_significance: different samples significant, equal not, Bonferroni tips a borderline case") {
  const std::vector<double> concept_scores = {0.9, 0.85, 0.95, 0.88, 0.92};
  const std::vector<double> random_scores = {0.5, 0.45, 0.55, 0.52, 0.48};
  const Significance s = tcav_significance(concept_scores, random_scores);
  CHECK(s.significant);
  CHECK(s.mean == doctest::Approx(0.9));
  CHECK(s.random_mean == doctest::Approx(0.5));
  CHECK(s.std == doctest::Approx(std::sqrt((0.0 + 0.0025 + 0.0025 + 0.0004 + 0.0004) / 4)));
  CHECK(s.p_value < 1e-6);

  const Significance same = tcav_significance(random_scores, random_scores);
  CHECK_FALSE(same.significant);
  CHECK(same.p_value == doctest::Approx(1.0));

  // Equal variances 2.5, shift 2.5: t = −2.5, dof = 8, p ≈ 0.037 ∈ (0.05/3, 0.05).
  const std::vector<double> a = {1, 2, 3, 4, 5}, b = {3.5, 4.5, 5.5, 6.5, 7.5};
  const Significance one = tcav_significance(a, b, 0.05, 1);
  REQUIRE(one.p_value == doctest::Approx(two_sided_p_by_integration(2.5, 8)).epsilon(1e-9));
  REQUIRE(one.p_value > 0.05 / 3);
  REQUIRE(one.p_value < 0.05);
  CHECK(one.significant);
  CHECK_FALSE(tcav_significance(a, b, 0.05, 3).significant);

  CHECK_THROWS_WITH_AS(tcav_significance(a, b, 0.0), Catch("alpha"), lumen::Error);
  CHECK_THROWS_WITH_AS(tcav_significance(a, b, 0.05, 0), Catch("n_layers"), lumen::Error);
  CHECK_THROWS_AS(tcav_significance({0.5}, b), lumen::Error);
}

// ---- RCV

TEST_CASE("fit_rcv: an exactly linear measure gives R² = 1 and the normalised weights") {
  Generator gen(13);
  const Tensor acts = randn({40, 3}, f64, &gen);
  const std::vector<double> x = acts.to_vector<double>();
  std::vector<double> measure(40);
  for (int i = 0; i < 40; ++i) measure[i] = 2 * x[3 * i] - x[3 * i + 1] + 0.5 * x[3 * i + 2] + 3;
  const Rcv rcv = fit_rcv(acts, measure, 0.3, 1);
  CHECK(rcv.r2 == doctest::Approx(1).epsilon(1e-9));
  CHECK(rcv.mse < 1e-12);
  const std::vector<double> d = rcv.direction.to_vector<double>();
  const double norm = std::sqrt(4 + 1 + 0.25);
  CHECK(d[0] == doctest::Approx(2 / norm).epsilon(1e-6));
  CHECK(d[1] == doctest::Approx(-1 / norm).epsilon(1e-6));
  CHECK(d[2] == doctest::Approx(0.5 / norm).epsilon(1e-6));
}

TEST_CASE("fit_rcv: a measure of pure noise explains nothing held out") {
  Generator gen(17);
  const Tensor acts = randn({60, 5}, f64, &gen);
  const std::vector<double> measure = randn({60}, f64, &gen).to_vector<double>();
  const Rcv rcv = fit_rcv(acts, measure, 0.3, 2);
  CHECK(rcv.r2 < 0.2);
  CHECK(rcv.mse > 0.3);
}

TEST_CASE("fit_rcv: bad inputs") {
  const Tensor acts = randn({10, 2}, f64);
  CHECK_THROWS_WITH_AS(fit_rcv(acts, std::vector<double>(9, 1.0)), Catch("one measure per row"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_rcv(randn({4, 2}, f64), {1, 2, 3, 4}), Catch("too few rows"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_rcv(randn({10}, f64), std::vector<double>(10, 1.0)), Catch("[N, D]"), lumen::Error);
  CHECK_THROWS_WITH_AS(fit_rcv(acts, std::vector<double>(10, 1.0)), Catch("no direction"), lumen::Error);
  CHECK_THROWS_AS(fit_rcv(acts, std::vector<double>(10, 1.0), 0.0), lumen::Error);
}

TEST_CASE("br_score: R² · mean / population std") {
  CHECK(br_score(0.5, tensor({1, 3}, {2}, f64)) == doctest::Approx(1.0));
  CHECK(br_score(0.8, tensor({-1, -3}, {2}, f64)) == doctest::Approx(-1.6));
  CHECK(br_score(0.9, tensor({2, 2, 2}, {3}, f64)) == 0.0);
  CHECK_THROWS_AS(br_score(0.5, zeros({0}, f64)), lumen::Error);
  CHECK_THROWS_AS(br_score(std::nan(""), tensor({1, 3}, {2}, f64)), lumen::Error);
}

}  // TEST_SUITE
