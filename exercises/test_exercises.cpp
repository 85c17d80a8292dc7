// The exercise track's suites (STUDY.md).
//   "exercises"        each exercise's check on the answers this build links: yours with
//                      -Dexercises=true, the reference solutions (solutions.cpp) otherwise;
//   "exercise_checks"  each check on a deliberately wrong answer, which it must reject: a check that
//                      passed anything would prove nothing.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "exercises/checks.h"
#include "exercises/exercises.h"
#include "xai/gradient.h"

using namespace lumen;
using namespace lumen::exercises;

// Fails with the check's message: what is wrong, or that the exercise is not written yet.
#define CHECK_PASSES(result)                   \
  do {                                         \
    const CheckResult r_ = (result);           \
    if (!r_.ok) FAIL_CHECK(r_.message);        \
  } while (0)

TEST_SUITE("exercises") {

TEST_CASE("exercise 1: tanh_backward") { CHECK_PASSES(check_tanh_backward(tanh_backward)); }
TEST_CASE("exercise 2: matmul_backward") { CHECK_PASSES(check_matmul_backward(matmul_backward)); }
TEST_CASE("exercise 3: riemann_integrated_gradients") {
  CHECK_PASSES(check_riemann_integrated_gradients(riemann_integrated_gradients));
}
TEST_CASE("exercise 4: grad_cam_map") { CHECK_PASSES(check_grad_cam_map(grad_cam_map)); }
TEST_CASE("exercise 5: d_integrated_gradients") {
  CHECK_PASSES(check_d_integrated_gradients(d_integrated_gradients));
}
TEST_CASE("exercise 6: tcav_score") { CHECK_PASSES(check_tcav_score(tcav_score)); }
TEST_CASE("exercise 7: hellinger") { CHECK_PASSES(check_hellinger(hellinger)); }

}  // TEST_SUITE("exercises")

// Each wrong answer is a mistake a student could make; the check must fail on it, and at the step
// meant to catch it (`because`: a part of the check's message, which is printed either way).
#define CHECK_REJECTS(result, because)                                                         \
  do {                                                                                         \
    const CheckResult r_ = (result);                                                           \
    MESSAGE("the check says: " << r_.message);                                                 \
    CHECK_MESSAGE(!r_.ok, "the check accepted this wrong answer");                             \
    CHECK_MESSAGE(r_.message.find(because) != std::string::npos,                               \
                  "rejected, but not by the step meant to catch it (\"" << because << "\")");   \
  } while (0)

TEST_SUITE("exercise_checks") {

TEST_CASE("exercise 1: the tanh_backward check rejects g ⊙ (1 − y), the square forgotten") {
  CHECK_REJECTS(check_tanh_backward([](const Tensor& y, const Tensor& g) { return g * rsub(y, 1.0); }),
                "against lumen::tanh's gradient");
}

TEST_CASE("exercise 1: the tanh_backward check rejects right values without a graph (not made of ops)") {
  CHECK_REJECTS(check_tanh_backward([](const Tensor& y, const Tensor& g) {
                  return (g * rsub(square(y), 1.0)).detach();  // first derivatives right, the second lost
                }),
                "gradgradcheck");
}

TEST_CASE("exercise 2: the matmul_backward check rejects products in the wrong order (Bᵀ G, G Aᵀ)") {
  CHECK_REJECTS(check_matmul_backward([](const Tensor& a, const Tensor& b, const Tensor& g) {
                  return std::pair{matmul(transpose(b, -1, -2), g), matmul(g, transpose(a, -1, -2))};
                }),
                "not compatible");
}

TEST_CASE("exercise 2: the matmul_backward check rejects ∂L/∂B summed over the batch") {
  // Right for one matrix, and for a B shared by the batch; wrong when each product has its own B.
  CHECK_REJECTS(check_matmul_backward([](const Tensor& a, const Tensor& b, const Tensor& g) {
                  const Tensor db = matmul(transpose(a, -1, -2), g);
                  return std::pair{matmul(g, transpose(b, -1, -2)),
                                   b.dim() == 3 ? db.sum({0}, true).expand(b.shape()) : db};
                }),
                "batched");
}

TEST_CASE("exercise 3: the riemann_integrated_gradients check rejects the mean path gradient, × (x − x') forgotten") {
  CHECK_REJECTS(check_riemann_integrated_gradients(
                    [](const xai::ForwardFn& f, const Tensor& x, const Tensor& base, const xai::Target& t, std::int64_t n) {
                      const Tensor ig = xai::IntegratedGradients(f).attribute(
                          x, t, base, {.n_steps = n, .method = xai::Integration::riemann_middle});
                      return ig / (x - base);
                    }),
                "known answer");
}

TEST_CASE("exercise 3: the riemann_integrated_gradients check rejects the left Riemann sum") {
  CHECK_REJECTS(check_riemann_integrated_gradients(
                    [](const xai::ForwardFn& f, const Tensor& x, const Tensor& base, const xai::Target& t, std::int64_t n) {
                      return xai::IntegratedGradients(f).attribute(
                          x, t, base, {.n_steps = n, .method = xai::Integration::riemann_left});
                    }),
                "known answer");
}

TEST_CASE("exercise 4: the grad_cam_map check rejects weights summed over positions instead of averaged") {
  CHECK_REJECTS(check_grad_cam_map([](const Tensor& a, const Tensor& g) {
                  return relu((g.sum({2, 3}, true) * a).sum({1}, true));
                }),
                "by hand");
}

TEST_CASE("exercise 4: the grad_cam_map check rejects the map without its ReLU") {
  CHECK_REJECTS(check_grad_cam_map([](const Tensor& a, const Tensor& g) {
                  return (g.mean({2, 3}, true) * a).sum({1}, true);
                }),
                "by hand");
}

TEST_CASE("exercise 5: the d_integrated_gradients check rejects the roles swapped (x_cf explained from x)") {
  CHECK_REJECTS(check_d_integrated_gradients(
                    [](const xai::ForwardFn& f, const Tensor& x, const Tensor& cf, const xai::Target& real,
                       std::int64_t n) {
                      return xai::IntegratedGradients(f).attribute(
                          cf, real, /*baselines=*/x, {.n_steps = n, .method = xai::Integration::riemann_middle});
                    }),
                "known answer");
}

TEST_CASE("exercise 6: the tcav_score check rejects counting S >= 0") {
  CHECK_REJECTS(check_tcav_score([](const Tensor& g, const Tensor& v) {
                  const auto s = matmul(g, v).to_vector<double>();
                  double positive = 0;
                  for (double x : s) positive += x >= 0;
                  return positive / double(s.size());
                }),
                "S = (1, 1, −1, 0, 0)");
}

TEST_CASE("exercise 7: the hellinger check rejects a sum over P's keys only") {
  CHECK_REJECTS(check_hellinger([](const std::map<std::string, double>& p, const std::map<std::string, double>& q) {
                  double tp = 0, tq = 0, sq = 0;
                  for (const auto& [k, m] : p) tp += m;
                  for (const auto& [k, m] : q) tq += m;
                  for (const auto& [k, m] : p) {
                    const double d = std::sqrt(m / tp) - std::sqrt(q.count(k) ? q.at(k) / tq : 0.0);
                    sq += d * d;
                  }
                  return std::sqrt(sq / 2);
                }),
                "disjoint supports");
}

}  // TEST_SUITE("exercise_checks")
