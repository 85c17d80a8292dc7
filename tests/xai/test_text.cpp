// Token aggregation, token feature masks and the Hellinger distance.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "xai/perturbation.h"
#include "xai/text.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

TEST_SUITE("xai") {

TEST_CASE("aggregate_tokens: sum, mean, l1 and l2 of each token's embedding attribution") {
  // One sample, two tokens with D = 3: (1, −2, 2) and (0, 3, −4).
  Tensor a = f64({1, -2, 2, 0, 3, -4}, {1, 2, 3});
  CHECK(aggregate_tokens(a, TokenAggregation::sum).shape() == Shape{1, 2});
  CHECK_VALUES(aggregate_tokens(a, TokenAggregation::sum), {1, -1}, 1e-12);
  CHECK_VALUES(aggregate_tokens(a, TokenAggregation::mean), {1.0 / 3, -1.0 / 3}, 1e-12);
  CHECK_VALUES(aggregate_tokens(a, TokenAggregation::l1), {5, 7}, 1e-12);
  CHECK_VALUES(aggregate_tokens(a, TokenAggregation::l2), {3, 5}, 1e-12);
  Tensor a32 = a.to(DType::float32);
  CHECK(aggregate_tokens(a32, TokenAggregation::l2).dtype() == DType::float32);
  CHECK(std::string(to_string(TokenAggregation::l1)) == "l1");
  CHECK(std::string(to_string(TokenAggregation::mean)) == "mean");
  CHECK_THROWS_WITH_AS(aggregate_tokens(f64({1, 2}, {1, 2}), TokenAggregation::sum), Catch("[N, T, D]"), Error);
}

TEST_CASE("token_feature_mask: one feature per token, broadcast over a batch") {
  Tensor m = token_feature_mask(3, 2);
  CHECK(m.dtype() == DType::int64);
  CHECK(m.shape() == Shape{3, 2});
  CHECK(m.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 1, 1, 2, 2});
  // Ablating a whole token of a linear model removes Σ_d w_{t,d} x_{t,d}.
  Tensor x = f64({1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6}, {2, 3, 2});
  Tensor w = f64({1, 0.5, -1, 2, 0, 3});
  ForwardFn f = [w](const Tensor& in) {
    Tensor s = matmul(in.flatten(1), w.unsqueeze(1));
    return cat({s, -s}, 1);
  };
  Tensor attr = FeatureAblation(f).attribute(x, 0, {}, {.feature_mask = m});
  CHECK_VALUES(aggregate_tokens(attr, TokenAggregation::mean), {2, 5, 18, -2, -5, -18}, 1e-12);
  CHECK_THROWS_WITH_AS(token_feature_mask(0, 2), Catch("token_feature_mask"), Error);
}

TEST_CASE("hellinger: 0 for equal distributions, 1 for disjoint ones, a hand-worked case between") {
  const std::map<std::string, double> p{{"a", 1}, {"b", 3}};
  CHECK(hellinger(p, p) == doctest::Approx(0).epsilon(1e-15));
  CHECK(hellinger(p, {{"a", 10}, {"b", 30}}) == doctest::Approx(0).scale(1).epsilon(1e-12));  // normalised first
  CHECK(hellinger(p, {{"c", 1}, {"d", 2}}) == 1.0);
  // P = (1/2, 1/2), Q = (1, 0): ‖√P − √Q‖² = (√½ − 1)² + ½ = 2 − √2, so H = √(1 − √2/2).
  const double h = hellinger({{"a", 1}, {"b", 1}}, {{"a", 1}});
  CHECK(h == doctest::Approx(std::sqrt(1 - std::sqrt(2.0) / 2)).epsilon(1e-12));
  CHECK(h == doctest::Approx(hellinger({{"a", 1}}, {{"a", 1}, {"b", 1}})).epsilon(1e-15));  // symmetric
  CHECK(hellinger({{"a", 1}, {"z", 0}}, {{"a", 2}}) == doctest::Approx(0).scale(1).epsilon(1e-15));  // 0 mass = missing
  CHECK_THROWS_WITH_AS(hellinger({{"a", -1}, {"b", 2}}, p), Catch("mass -1"), Error);
  CHECK_THROWS_WITH_AS(hellinger(p, {{"a", 0}}), Catch("no positive mass"), Error);
  CHECK_THROWS_WITH_AS(hellinger({}, p), Catch("no positive mass"), Error);
}

}  // TEST_SUITE
