// Atanasova et al. 2020's diagnostic properties and the scores they are read through.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "tests/test_util.h"
#include "xai/diagnostics.h"

using namespace lumen;
using namespace lumen::xai;
using Catch = doctest::Contains;

TEST_SUITE("xai") {

TEST_CASE("accuracy and macro_f1 (a class absent from both sides counts as F1 0)") {
  CHECK(accuracy({0, 1, 1, 2}, {0, 1, 2, 2}) == 0.75);
  // predicted (0, 0, 1, 1) against gold (0, 1, 1, 1): class 0 tp 1 fp 1 fn 0 → F1 2/3; class 1 tp 2
  // fp 0 fn 1 → F1 4/5. scikit-learn's f1_score(average='macro') = (2/3 + 4/5) / 2 = 11/15.
  CHECK(macro_f1({0, 0, 1, 1}, {0, 1, 1, 1}, 2) == doctest::Approx(11.0 / 15).epsilon(1e-15));
  // With a third class that never occurs: F1 0 (zero_division), so (2/3 + 4/5 + 0) / 3.
  CHECK(macro_f1({0, 0, 1, 1}, {0, 1, 1, 1}, 3) == doctest::Approx(22.0 / 45).epsilon(1e-15));
  CHECK(macro_f1({2, 1, 0}, {2, 1, 0}, 3) == 1.0);
  CHECK_THROWS_WITH_AS(macro_f1({0, 3}, {0, 1}, 3), Catch("labels in [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(accuracy({0}, {0, 1}), Catch("accuracy"), Error);
}

TEST_CASE("average_precision: scikit-learn's values, ties entering together, NaN without relevant items") {
  // scikit-learn's documented example: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333.
  CHECK(average_precision({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}) == doctest::Approx(0.5 * 1 + 0.5 * 2.0 / 3).epsilon(1e-15));
  // Tied scores form one threshold: at 0.5, recall 1/2 with precision 1/2; at 0.1, recall 1 with 2/3.
  CHECK(average_precision({0.5, 0.5, 0.1}, {1, 0, 1}) == doctest::Approx(0.25 + 1.0 / 3).epsilon(1e-15));
  // Breaking the tie in favour of the relevant item gives more (the tie is not resolved by position).
  CHECK(average_precision({0.6, 0.5, 0.1}, {1, 0, 1}) == doctest::Approx(0.5 + 1.0 / 3).epsilon(1e-15));
  CHECK(average_precision({3, 2, 1}, {1, 1, 1}) == 1.0);
  CHECK(std::isnan(average_precision({0.2, 0.1}, {0, 0})));
  CHECK_THROWS_WITH_AS(average_precision({0.2, 0.1}, {0, 2}), Catch("expected 0 or 1"), Error);
}

TEST_CASE("confidence_indication: an exact linear function of the features is predicted without error") {
  // K = 3, T = 1, predicted class 0, saliency (a, 0, b): the differences to the other classes are a and
  // a − b, so f_max = max(a, a − b), f_mean = a − b/2, f_min = min(a, a − b); a probability linear in
  // f_max and f_min is linear in the (scaled) features.
  Generator g(3);
  const std::vector<double> a = uniform({60}, -1, 1, {.dtype = DType::float64}, &g).to_vector<double>();
  const std::vector<double> b = uniform({60}, -1, 1, {.dtype = DType::float64}, &g).to_vector<double>();
  std::vector<std::vector<std::vector<double>>> sal;
  std::vector<std::int64_t> pred(60, 0);
  std::vector<double> prob, noisy;
  const std::vector<double> noise = uniform({60}, -0.2, 0.2, {.dtype = DType::float64}, &g).to_vector<double>();
  for (std::size_t i = 0; i < 60; ++i) {
    sal.push_back({{a[i]}, {0.0}, {b[i]}});
    prob.push_back(0.5 + 0.1 * std::max(a[i], a[i] - b[i]) + 0.05 * std::min(a[i], a[i] - b[i]));
    noisy.push_back(prob.back() + noise[i]);
  }
  ConfidenceIndication exact = confidence_indication(sal, pred, prob);
  CHECK(exact.mae_mean < 1e-12);
  CHECK(exact.mae_std < 1e-12);
  CHECK(exact.max_error_mean < 1e-12);
  // Noise of ±0.2 the features cannot explain: mean absolute error about 0.1, the max above the mean.
  ConfidenceIndication off = confidence_indication(sal, pred, noisy, 5, 0.2, 7);
  CHECK(off.mae_mean > 0.03);
  CHECK(off.mae_mean < 0.2);
  CHECK(off.max_error_mean > off.mae_mean);
  CHECK(off.mae_std > 0);
  // K = 2: all three features are Σ_t (s_p − s_other), on instances of different lengths.
  std::vector<std::vector<std::vector<double>>> two;
  std::vector<std::int64_t> p2;
  std::vector<double> prob2;
  for (std::size_t i = 0; i < 30; ++i) {
    const double d = a[i] - b[i];
    two.push_back(i % 2 ? std::vector<std::vector<double>>{{0.0, d}, {d, 0.0}}  // predicted 1: Σ(s_1 − s_0) = 0
                        : std::vector<std::vector<double>>{{d, 1.0, 2.0}, {0.0, 1.0, 2.0}});  // predicted 0: Σ = d
    p2.push_back(i % 2 ? 1 : 0);
    prob2.push_back(i % 2 ? 0.6 : 0.6 + 0.2 * d);
  }
  CHECK(confidence_indication(two, p2, prob2, 4, 0.25, 1).max_error_mean < 1e-12);
  CHECK_THROWS_WITH_AS(confidence_indication(sal, pred, prob, 5, 1.5), Catch("test_fraction"), Error);
  CHECK_THROWS_WITH_AS(confidence_indication({{{1.0}}}, {0}, {0.5}), Catch("confidence_indication"), Error);
}

TEST_CASE("trapezoid_auc, top_positions and mean_abs_difference") {
  CHECK(trapezoid_auc({0, 10, 20}, {1, 0.5, 0.5}) == doctest::Approx(12.5).epsilon(1e-15));
  CHECK(trapezoid_auc({0, 100}, {0.8, 0.8}) == doctest::Approx(80).epsilon(1e-15));
  CHECK_THROWS_WITH_AS(trapezoid_auc({0, 10, 5}, {1, 1, 1}), Catch("non-decreasing"), Error);
  CHECK(trapezoid_auc({5}, {1}) == 0.0);
  CHECK_THROWS_WITH_AS(trapezoid_auc({0, 1}, {1}), Catch("trapezoid_auc"), Error);
  // Position 4 lies past the length; 1 and 2 tie, the lower index first.
  CHECK(top_positions({0.1, 0.5, 0.5, 0.9, 2.0}, 4, 3) == std::vector<std::int64_t>{3, 1, 2});
  CHECK(top_positions({0.1, 0.5, 0.5, 0.9, 2.0}, 4, 10) == std::vector<std::int64_t>{3, 1, 2, 0});
  CHECK(top_positions({0.1, 0.5}, 2, 0).empty());
  CHECK_THROWS_WITH_AS(top_positions({0.1, 0.5}, 3, 1), Catch("top_positions"), Error);
  CHECK(mean_abs_difference({1, 2, 3}, {1, 0}) == doctest::Approx(5.0 / 3).epsilon(1e-15));
  CHECK(mean_abs_difference({1}, {}) == 1.0);
  CHECK_THROWS_WITH_AS(mean_abs_difference({}, {}), Catch("mean_abs_difference"), Error);
}

TEST_CASE("dataset_consistency_pairs: the most similar same-label and least similar other-label instance") {
  const std::vector<std::vector<std::string>> tokens{
      {"a", "b", "c"}, {"a", "b", "d", "b"}, {"x", "y"}, {"a", "b", "c"}, {"x"}};
  const std::vector<std::int64_t> labels{0, 0, 1, 1, 1};
  const auto pairs = dataset_consistency_pairs(tokens, labels, 3);
  REQUIRE(pairs.size() == 6);
  auto is = [](const InstancePair& p, std::int64_t a, std::int64_t b, bool same, double overlap) {
    return p.a == a && p.b == b && p.same_label == same && std::abs(p.overlap - overlap) < 1e-15;
  };
  CHECK(is(pairs[0], 0, 1, true, 0.5));   // {a, b} of {a, b, c, d}
  CHECK(is(pairs[1], 0, 2, false, 0.0));  // 2 and 4 share nothing with 0: the lower index
  CHECK(is(pairs[2], 1, 0, true, 0.5));
  CHECK(is(pairs[3], 1, 2, false, 0.0));
  CHECK(is(pairs[4], 2, 4, true, 0.5));   // {x} of {x, y}; 3 shares nothing
  CHECK(is(pairs[5], 2, 0, false, 0.0));
  // An instance whose label nobody else has gets only its other-label pair.
  const auto lonely = dataset_consistency_pairs({{"a"}, {"a"}}, {0, 1}, 5);
  REQUIRE(lonely.size() == 2);
  CHECK(is(lonely[0], 0, 1, false, 1.0));
  CHECK_THROWS_WITH_AS(dataset_consistency_pairs(tokens, {0, 1}, 3), Catch("one label per instance"), Error);
}

}  // TEST_SUITE
