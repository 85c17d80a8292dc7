// ShapleyValueSampling and exact_shapley_values on games whose Shapley values are known.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"
#include "xai/perturbation.h"
#include "xai/shapley.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

namespace {

// f(x) = x·w + 0.5 over the flattened sample (class 0), and its negation (class 1).
ForwardFn linear(const Tensor& w) {
  return [w](const Tensor& x) {
    Tensor s = matmul(x.flatten(1), w.unsqueeze(1)) + 0.5;
    return cat({s, -s}, 1);
  };
}

// A game g on one sample's values, as a model [N, D] -> [N, 2] (g, −g), float64.
using Game = std::function<double(const std::vector<double>&)>;
ForwardFn game_model(Game g) {
  return [g](const Tensor& x) {
    const std::int64_t n = x.size(0), d = x.numel() / n;
    const std::vector<double> v = x.to_vector<double>();
    std::vector<double> out;
    for (std::int64_t i = 0; i < n; ++i) {
      const double s = g(std::vector<double>(v.begin() + i * d, v.begin() + (i + 1) * d));
      out.insert(out.end(), {s, -s});
    }
    return tensor(out, {n, 2}, {.dtype = DType::float64});
  };
}

// Products and a max of 4 features: no feature's contribution is additive.
double nonlinear_game(const std::vector<double>& x) {
  return x[0] * x[1] + std::max(x[2], x[3]) + x[1] * x[2] * x[3];
}

}  // namespace

TEST_SUITE("xai_perturbation") {

TEST_CASE("ShapleyValueSampling: on a linear model every permutation gives w·(x − baseline)") {
  Tensor w = f64({3, -2, 0.5, 1, -4, 2});
  Tensor x = f64({1, 2, -1, 0.5, 1, 1, 2, 1, 1, -1, 0.5, 3}, {2, 6});
  Generator g(3);
  // Any single permutation is exact: a feature's marginal contribution does not depend on the others.
  ShapResult r = ShapleyValueSampling(linear(w)).explain(x, Target({0, 1}), 0.5, {.n_samples = 1, .generator = &g});
  Tensor want = (x - 0.5) * w * f64({1, -1}, {2, 1});
  CHECK(r.values.shape() == Shape{2, 6});
  CHECK_VALUES(r.values.flatten(), want.flatten().to_vector<double>(), 1e-12);
  CHECK_VALUES(r.attributions.flatten(), want.flatten().to_vector<double>(), 1e-12);
  const double b0 = 0.5 * w.sum().item() + 0.5;
  CHECK_VALUES(r.base_values, {b0, -b0}, 1e-12);
  // Grouped features: each group's value is the sum over its elements, spread over the group.
  Tensor groups = tensor_from({0, 0, 1, 1, 2, 2}, {6});
  ShapResult grouped = ShapleyValueSampling(linear(w)).explain(
      x, 0, 0.5, {.feature_mask = groups, .n_samples = 3, .perturbations_per_eval = 2, .generator = &g});
  Tensor per_elem = (x - 0.5) * w;
  Tensor group_sums = sum(per_elem.reshape({2, 3, 2}), {2});
  CHECK_VALUES(grouped.values.flatten(), group_sums.flatten().to_vector<double>(), 1e-12);
  CHECK(grouped.attributions.to_vector<double>()[6 + 3] ==
        doctest::Approx(group_sums.to_vector<double>()[3 + 1]).epsilon(1e-12));
}

TEST_CASE("exact_shapley_values: a hand-computed 3-feature game") {
  // v(S) of f = x0·x1 + max(x1, x2) at x = (2, 3, 1) against 0: v(∅) = v{0} = 0, v{1} = 3, v{2} = 1,
  // v{0,1} = 9, v{0,2} = 1, v{1,2} = 3, v{0,1,2} = 9. With weights 1/3, 1/6, 1/3 for |S| = 0, 1, 2:
  //   φ0 = 1/6·6 + 1/3·6                       = 3
  //   φ1 = 1/3·3 + 1/6·9 + 1/6·2 + 1/3·8       = 5.5
  //   φ2 = 1/3·1 + 1/6·1                       = 0.5          (Σ = 9 = v(all) − v(∅))
  ForwardFn f = game_model([](const std::vector<double>& x) { return x[0] * x[1] + std::max(x[1], x[2]); });
  Tensor x = f64({2, 3, 1}, {1, 3});
  ShapResult r = exact_shapley_values(f, x, 0, {}, {});
  CHECK_VALUES(r.values, {3, 5.5, 0.5}, 1e-12);
  CHECK_VALUES(r.base_values, {0}, 1e-12);
  ShapResult negated = exact_shapley_values(f, x, 1, {}, {});
  CHECK_VALUES(negated.values, {-3, -5.5, -0.5}, 1e-12);
  // KernelShap's enumeration solves for the same values by regression.
  CHECK_VALUES(KernelShap(f).explain(x, 0).values, {3, 5.5, 0.5}, 1e-9);
}

TEST_CASE("ShapleyValueSampling: efficiency holds exactly, whatever the permutations drawn") {
  ForwardFn f = game_model(nonlinear_game);
  Generator g(11);
  Tensor x = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  Tensor base = f64({0.1, -0.2, 0.3, 0.0});
  ShapResult r = ShapleyValueSampling(f).explain(x, Target({0, 1, 0}), base, {.n_samples = 3, .generator = &g});
  const std::vector<double> fx = f(x).to_vector<double>();
  const double fb = nonlinear_game({0.1, -0.2, 0.3, 0.0});
  const std::vector<double> sums = sum(r.values, {1}).to_vector<double>();
  const std::vector<double> base_values = r.base_values.to_vector<double>();
  const std::vector<double> sign{1, -1, 1};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(sums[i] == doctest::Approx(sign[i] * (fx[2 * i] - fb)).epsilon(1e-12));
    CHECK(base_values[i] == doctest::Approx(sign[i] * fb).epsilon(1e-12));
  }
}

TEST_CASE("ShapleyValueSampling: many permutations approach the exact values of a nonlinear game") {
  ForwardFn f = game_model(nonlinear_game);
  const std::vector<double> xv{1, 2, 3, 0.5}, bv{0, 0, 0, 0};
  Tensor x = f64(xv, {1, 4});
  ShapResult exact = exact_shapley_values(f, x, 0, {}, {});
  // The values are not those of an additive model: sampling has something to approximate.
  const std::vector<double> want = exact.values.to_vector<double>();
  CHECK(want[2] != doctest::Approx(nonlinear_game({0, 0, 3, 0})));
  // Tolerance: a feature's marginal contribution lies in a range R_j (found below by enumerating the
  // coalitions), so its variance over permutations is at most R_j²/4 (Popoviciu) and the mean of n
  // permutations has a standard error at most R_j / (2√n). We allow 4 of those.
  const std::int64_t n = 400;
  Generator g(12);
  ShapResult sampled = ShapleyValueSampling(f).explain(x, 0, {}, {.n_samples = n, .generator = &g});
  const std::vector<double> got = sampled.values.to_vector<double>();
  for (std::int64_t j = 0; j < 4; ++j) {
    double lo = 1e300, hi = -1e300;
    for (int s = 0; s < 16; ++s) {
      if ((s >> j) & 1) continue;
      std::vector<double> without(4), with(4);
      for (int k = 0; k < 4; ++k) without[k] = ((s >> k) & 1) ? xv[k] : bv[k], with[k] = without[k];
      with[static_cast<std::size_t>(j)] = xv[static_cast<std::size_t>(j)];
      const double gain = nonlinear_game(with) - nonlinear_game(without);
      lo = std::min(lo, gain), hi = std::max(hi, gain);
    }
    const double tol = 4 * (hi - lo) / (2 * std::sqrt(double(n)));
    INFO("feature " << j << ": range of marginal contributions " << hi - lo);
    CHECK(std::abs(got[static_cast<std::size_t>(j)] - want[static_cast<std::size_t>(j)]) <= tol);
  }
  // And exactly efficient, as any sampled result.
  CHECK(sum(sampled.values).item() == doctest::Approx(nonlinear_game(xv)).epsilon(1e-12));
}

TEST_CASE("ShapleyValueSampling and exact_shapley_values: bad masks, too many features, bad options") {
  ForwardFn f = linear(f64({1, 2, 3}));
  Tensor x = f64({1, 2, 3}, {1, 3});
  Tensor gap = tensor_from({0, 2, 2}, {3});  // id 1 missing
  CHECK_THROWS_WITH_AS(ShapleyValueSampling(f).explain(x, 0, {}, {.feature_mask = gap}), Catch("ShapleyValueSampling"),
                       Error);
  CHECK_THROWS_WITH_AS(exact_shapley_values(f, x, 0, {}, gap), Catch("lacks id 1"), Error);
  CHECK_THROWS_WITH_AS(exact_shapley_values(f, x, 0, {}, tensor_from({0, 1}, {2})), Catch("does not broadcast"), Error);
  CHECK_THROWS_WITH_AS(ShapleyValueSampling(f).explain(x, 0, {}, {.n_samples = 0}), Catch("n_samples"), Error);
  ForwardFn wide = linear(ones({21}, {.dtype = DType::float64}));
  CHECK_THROWS_WITH_AS(exact_shapley_values(wide, ones({1, 21}, {.dtype = DType::float64}), 0, {}, {}),
                       Catch("21 features"), Error);
  // 21 elements in 20 groups is fine (the last group holds two elements of weight 1).
  std::vector<std::int64_t> ids;
  for (std::int64_t e = 0; e < 21; ++e) ids.push_back(std::min<std::int64_t>(e, 19));
  ShapResult r = exact_shapley_values(wide, ones({1, 21}, {.dtype = DType::float64}), 0, {}, tensor_from(ids, {21}));
  CHECK(r.values.to_vector<double>()[19] == doctest::Approx(2).epsilon(1e-9));  // a sum of 2^19 weighted gains
}

TEST_CASE("ShapleyValueSampling and exact_shapley_values: an empty batch gives empty results") {
  ForwardFn f = linear(f64({1, 2}));
  Tensor empty = zeros({0, 2}, {.dtype = DType::float64});
  ShapResult r = ShapleyValueSampling(f).explain(empty, 0);
  CHECK(r.attributions.shape() == Shape{0, 2});
  CHECK(r.values.shape() == Shape{0, 0});
  CHECK(exact_shapley_values(f, empty, 0, {}, {}).base_values.shape() == Shape{0});
}

}  // TEST_SUITE
