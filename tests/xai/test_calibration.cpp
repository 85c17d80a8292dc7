// Calibration (ECE/MCE), AUROC and accuracy–rejection curves on hand-made data whose answers are known,
// and AUROC against the O(n²) pair count on random data with ties.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/random.h"
#include "xai/calibration.h"

using namespace lumen;
using namespace lumen::xai;
using Catch = doctest::Contains;

TEST_SUITE("xai_uncertainty") {

// ---- calibration

TEST_CASE("calibration: perfectly calibrated data has ECE 0") {
  // Ten samples at confidence 0.8, eight right; ten at 0.3, three right.
  std::vector<double> conf(10, 0.8);
  conf.insert(conf.end(), 10, 0.3);
  std::vector<std::uint8_t> correct = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
  const auto c = calibration(conf, correct);
  CHECK(c.ece == doctest::Approx(0).epsilon(1e-12));
  CHECK(c.mce == doctest::Approx(0).epsilon(1e-12));
  REQUIRE(c.bins.size() == 15);
  std::int64_t total = 0;
  for (const auto& b : c.bins) total += b.count;
  CHECK(total == 20);
  CHECK(c.bins[4].count == 10);   // 0.3 ∈ (4/15, 5/15]
  CHECK(c.bins[11].count == 10);  // 0.8 ∈ (11/15, 12/15]
  CHECK(c.bins[11].accuracy == doctest::Approx(0.8));
  CHECK(c.bins[0].count == 0);
  CHECK(c.bins[0].confidence == 0);
  CHECK(c.bins[0].accuracy == 0);
}

TEST_CASE("calibration: confidence 1 and half wrong gives ECE = MCE = 0.5") {
  const auto c = calibration({1, 1, 1, 1}, {1, 0, 1, 0});
  CHECK(c.ece == doctest::Approx(0.5));
  CHECK(c.mce == doctest::Approx(0.5));
  CHECK(c.bins.back().count == 4);
  CHECK(c.bins.back().confidence == 1);
  CHECK(c.bins.back().accuracy == 0.5);
}

TEST_CASE("calibration: two bins by hand") {
  // Bin 0 = [0, 0.5]: confidences 0.2 and 0.5 (mean 0.35), one right (0.5): gap 0.15.
  // Bin 1 = (0.5, 1]: 0.6 and 0.9 (mean 0.75), both right: gap 0.25.
  // ECE = ½·0.15 + ½·0.25 = 0.2, MCE = 0.25.
  const auto c = calibration({0.2, 0.5, 0.6, 0.9}, {0, 1, 1, 1}, 2);
  REQUIRE(c.bins.size() == 2);
  CHECK(c.bins[0].lower == 0);
  CHECK(c.bins[0].upper == 0.5);
  CHECK(c.bins[1].upper == 1);
  CHECK(c.bins[0].count == 2);
  CHECK(c.bins[0].confidence == doctest::Approx(0.35));
  CHECK(c.bins[0].accuracy == doctest::Approx(0.5));
  CHECK(c.bins[1].confidence == doctest::Approx(0.75));
  CHECK(c.bins[1].accuracy == doctest::Approx(1));
  CHECK(c.ece == doctest::Approx(0.2));
  CHECK(c.mce == doctest::Approx(0.25));
}

TEST_CASE("calibration: bin edges (b/B, (b+1)/B], the first bin takes 0") {
  const double edge = 1.0 / 15;
  const auto c = calibration({0.0, edge, std::nextafter(edge, 1.0), 2.0 / 15, 14.0 / 15, 1.0}, {1, 1, 1, 1, 1, 1});
  CHECK(c.bins[0].count == 2);  // 0 and exactly 1/15
  CHECK(c.bins[1].count == 2);  // just above 1/15, and exactly 2/15
  CHECK(c.bins[13].count == 1);  // exactly 14/15
  CHECK(c.bins[14].count == 1);  // 1
  for (std::int64_t b = 0; b < 15; ++b) {
    CHECK(c.bins[static_cast<std::size_t>(b)].lower == static_cast<double>(b) / 15);
    CHECK(c.bins[static_cast<std::size_t>(b)].upper == static_cast<double>(b + 1) / 15);
  }
  // Every k/B for several B lands in bin k − 1 (bin 0 for k = 0).
  for (std::int64_t bins : {3, 7, 10, 15, 20, 100}) {
    std::vector<double> conf;
    for (std::int64_t k = 0; k <= bins; ++k) conf.push_back(static_cast<double>(k) / static_cast<double>(bins));
    const auto cb = calibration(conf, std::vector<std::uint8_t>(conf.size(), 1), bins);
    CHECK(cb.bins[0].count == 2);
    for (std::size_t b = 1; b < cb.bins.size(); ++b) CHECK(cb.bins[b].count == 1);
  }
}

TEST_CASE("calibration: bad input") {
  CHECK_THROWS_WITH_AS(calibration({0.5}, {1, 0}), Catch("calibration: expected as many"), lumen::Error);
  CHECK_THROWS_WITH_AS(calibration({}, {}), Catch("calibration: expected at least one sample"), lumen::Error);
  CHECK_THROWS_WITH_AS(calibration({1.5}, {1}), Catch("calibration: expected confidences in [0, 1]"), lumen::Error);
  CHECK_THROWS_WITH_AS(calibration({-0.1}, {1}), Catch("calibration"), lumen::Error);
  CHECK_THROWS_WITH_AS(calibration({std::nan("")}, {1}), Catch("calibration"), lumen::Error);
  CHECK_THROWS_WITH_AS(calibration({0.5}, {1}, 0), Catch("calibration: expected bins >= 1"), lumen::Error);
  CHECK_THROWS_WITH_AS(calibration({0.5}, {2}), Catch("calibration: expected correct[i] in {0, 1}"), lumen::Error);
}

// ---- AUROC

TEST_CASE("auroc: separation, reversal, ties") {
  CHECK(auroc({0.1, 0.2, 0.3}, {0.5, 0.7}) == 1);
  CHECK(auroc({0.5, 0.7}, {0.1, 0.2, 0.3}) == 0);
  CHECK(auroc({1, 1, 1}, {1, 1}) == 0.5);
  // neg {1, 2, 3}, pos {2, 3, 4}: pos 2 beats 1 and ties 2 (1.5); pos 3 beats 1, 2 and ties 3 (2.5);
  // pos 4 beats all (3): 7 of 9 pairs.
  CHECK(auroc({1, 2, 3}, {2, 3, 4}) == doctest::Approx(7.0 / 9));
  CHECK(auroc({-std::numeric_limits<double>::infinity()}, {std::numeric_limits<double>::infinity()}) == 1);
}

TEST_CASE("auroc equals the O(n²) pair count on random data with ties") {
  Generator gen(77);
  for (int trial = 0; trial < 3; ++trial) {
    // Scores rounded to one decimal, so many ties.
    auto draw = [&](std::int64_t n, double shift) {
      std::vector<double> v;
      for (double x : randn({n}, {.dtype = DType::float64}, &gen).to_vector<double>())
        v.push_back(std::round((x + shift) * 10) / 10);
      return v;
    };
    const auto neg = draw(60 + trial, 0.0), pos = draw(45, 0.7);
    double pairs = 0;
    for (double p : pos)
      for (double n : neg) pairs += p > n ? 1.0 : p == n ? 0.5 : 0.0;
    CHECK(auroc(neg, pos) == doctest::Approx(pairs / static_cast<double>(pos.size() * neg.size())).epsilon(1e-12));
  }
}

TEST_CASE("auroc: bad input") {
  CHECK_THROWS_WITH_AS(auroc({}, {1}), Catch("auroc: expected non-empty"), lumen::Error);
  CHECK_THROWS_WITH_AS(auroc({1}, {}), Catch("auroc"), lumen::Error);
  CHECK_THROWS_WITH_AS(auroc({1, std::nan("")}, {1}), Catch("auroc: expected scores without NaN"), lumen::Error);
}

// ---- retention curves

TEST_CASE("retention_curve: errors most uncertain reach accuracy 1, auc = oracle_auc") {
  // Ten samples, the last three wrong and the most uncertain; points = 10 keeps 10, 9, ..., 1.
  std::vector<double> unc = {0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.8, 0.9, 0.7};
  std::vector<std::uint8_t> correct = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  const auto rc = retention_curve(unc, correct, 10);
  REQUIRE(rc.rejected.size() == 10);
  CHECK(rc.rejected[3] == doctest::Approx(0.3));
  CHECK(rc.accuracy[0] == doctest::Approx(0.7));
  CHECK(rc.accuracy[1] == doctest::Approx(7.0 / 9));
  CHECK(rc.accuracy[2] == doctest::Approx(7.0 / 8));
  for (std::size_t i = 3; i < 10; ++i) CHECK(rc.accuracy[i] == 1);
  CHECK(rc.auc == doctest::Approx(rc.oracle_auc).epsilon(1e-12));
  CHECK(rc.random_auc == doctest::Approx(0.7));
  // By hand: trapezoids of width 0.1 over (0.7, 7/9, 7/8, 1, ..., 1), divided by 0.9.
  const double area = 0.1 * ((0.7 + 7.0 / 9) / 2 + (7.0 / 9 + 7.0 / 8) / 2 + (7.0 / 8 + 1) / 2 + 6);
  CHECK(rc.auc == doctest::Approx(area / 0.9).epsilon(1e-12));
  // The reverse ranking (errors least uncertain) sits below random.
  std::vector<double> reversed;
  for (double u : unc) reversed.push_back(-u);
  const auto bad = retention_curve(reversed, correct, 10);
  CHECK(bad.auc < bad.random_auc);
  CHECK(bad.accuracy.back() == 0);  // the one kept sample is an error
}

TEST_CASE("retention_curve: constant uncertainty keeps the first samples (stable order)") {
  // correct = (0, 1, 1, 1), points = 4: keep 4, 3, 2, 1 of the samples in index order:
  // accuracy 3/4, 2/3, 1/2, 0. auc = ¼·(17/24 + 14/24 + 6/24) / ¾ = 37/72.
  // oracle: 3/4, 1, 1, 1 → ¼·(7/8 + 1 + 1) / ¾ = 23/24; random = 3/4.
  const auto rc = retention_curve({0.5, 0.5, 0.5, 0.5}, {0, 1, 1, 1}, 4);
  CHECK(rc.rejected == std::vector<double>{0, 0.25, 0.5, 0.75});
  CHECK(rc.accuracy[0] == doctest::Approx(0.75));
  CHECK(rc.accuracy[1] == doctest::Approx(2.0 / 3));
  CHECK(rc.accuracy[2] == doctest::Approx(0.5));
  CHECK(rc.accuracy[3] == 0);
  CHECK(rc.auc == doctest::Approx(37.0 / 72).epsilon(1e-12));
  CHECK(rc.oracle_auc == doctest::Approx(23.0 / 24).epsilon(1e-12));
  CHECK(rc.random_auc == 0.75);
}

TEST_CASE("retention_curve: rounding of the kept count and at least one sample kept") {
  // N = 3, points = 2: keep 3, then round(1.5) = 2 (halves up). correct (1, 0, 1) by uncertainty order 0, 2, 1.
  const auto rc = retention_curve({0.1, 0.9, 0.2}, {1, 0, 1}, 2);
  CHECK(rc.accuracy == std::vector<double>{2.0 / 3, 1.0});
  // N = 1: round((1 − r)·1) is 0 for r ≥ ¾, yet one sample stays.
  const auto one = retention_curve({0.3}, {1}, 4);
  CHECK(one.accuracy == std::vector<double>{1, 1, 1, 1});
  // points = 1: the curve is one point, its auc that point.
  const auto single = retention_curve({0.3, 0.1}, {0, 1}, 1);
  CHECK(single.accuracy == std::vector<double>{0.5});
  CHECK(single.auc == 0.5);
  CHECK(single.oracle_auc == 0.5);
}

TEST_CASE("retention_curve: bad input") {
  CHECK_THROWS_WITH_AS(retention_curve({0.1}, {1, 0}), Catch("retention_curve: expected as many"), lumen::Error);
  CHECK_THROWS_WITH_AS(retention_curve({}, {}), Catch("retention_curve: expected at least one sample"), lumen::Error);
  CHECK_THROWS_WITH_AS(retention_curve({0.1}, {1}, 0), Catch("retention_curve: expected points >= 1"), lumen::Error);
  CHECK_THROWS_WITH_AS(retention_curve({0.1}, {3}), Catch("retention_curve"), lumen::Error);
  CHECK_THROWS_WITH_AS(retention_curve({std::nan("")}, {1}), Catch("retention_curve: expected uncertainties without NaN"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(retention_curve({0.1}, {1}, std::int64_t{1} << 62), Catch("overflows"), lumen::Error);
}

}  // TEST_SUITE
