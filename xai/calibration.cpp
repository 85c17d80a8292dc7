#include "xai/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/core/checked.h"
#include "kernels/core/error.h"

namespace lumen::xai {

namespace {
void check_correct(const std::vector<std::uint8_t>& correct, const char* op) {
  for (std::size_t i = 0; i < correct.size(); ++i)
    LUMEN_CHECK(correct[i] <= 1, op, "expected correct[i] in {0, 1}, got ", int(correct[i]), " at ", i);
}

// The area under values(xs) by the trapezoid rule, divided by the range of xs (one point: its value).
double mean_height(const std::vector<double>& xs, const std::vector<double>& values) {
  if (xs.size() == 1) return values[0];
  double area = 0;
  for (std::size_t i = 1; i < xs.size(); ++i) area += (xs[i] - xs[i - 1]) * (values[i] + values[i - 1]) / 2;
  return area / (xs.back() - xs.front());
}
}  // namespace

Calibration calibration(const std::vector<double>& confidence, const std::vector<std::uint8_t>& correct,
                        std::int64_t bins) {
  const char* op = "calibration";
  LUMEN_CHECK(confidence.size() == correct.size(), op, "expected as many confidences as correct flags, got ",
              confidence.size(), " and ", correct.size());
  LUMEN_CHECK(!confidence.empty(), op, "expected at least one sample");
  LUMEN_CHECK(bins >= 1, op, "expected bins >= 1, got ", bins);
  check_correct(correct, op);
  const auto b_count = static_cast<std::size_t>(bins);
  std::vector<double> conf_sum(b_count, 0), acc_sum(b_count, 0);
  std::vector<std::int64_t> count(b_count, 0);
  auto lower = [&](std::int64_t b) { return static_cast<double>(b) / static_cast<double>(bins); };
  for (std::size_t i = 0; i < confidence.size(); ++i) {
    const double c = confidence[i];
    LUMEN_CHECK(c >= 0 && c <= 1, op, "expected confidences in [0, 1], got ", c, " at ", i);
    // A first guess, then moved to the bin whose edges (b/B, (b+1)/B] hold c exactly.
    std::int64_t b = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(c * static_cast<double>(bins))) - 1,
                                              0, bins - 1);
    while (b > 0 && c <= lower(b)) --b;
    while (b < bins - 1 && c > lower(b + 1)) ++b;
    const auto k = static_cast<std::size_t>(b);
    conf_sum[k] += c;
    acc_sum[k] += correct[i];
    ++count[k];
  }
  Calibration out{0, 0, {}};
  const auto n = static_cast<double>(confidence.size());
  for (std::int64_t b = 0; b < bins; ++b) {
    const auto k = static_cast<std::size_t>(b);
    CalibrationBin bin{lower(b), lower(b + 1), count[k], 0, 0};
    if (count[k] > 0) {
      bin.confidence = conf_sum[k] / static_cast<double>(count[k]);
      bin.accuracy = acc_sum[k] / static_cast<double>(count[k]);
      const double gap = std::abs(bin.accuracy - bin.confidence);
      out.ece += static_cast<double>(count[k]) / n * gap;
      out.mce = std::max(out.mce, gap);
    }
    out.bins.push_back(bin);
  }
  return out;
}

double auroc(const std::vector<double>& negative_scores, const std::vector<double>& positive_scores) {
  const char* op = "auroc";
  LUMEN_CHECK(!negative_scores.empty() && !positive_scores.empty(), op,
              "expected non-empty negative and positive sets, got ", negative_scores.size(), " and ",
              positive_scores.size(), " scores");
  struct Scored {
    double score;
    bool positive;
  };
  std::vector<Scored> all;
  all.reserve(negative_scores.size() + positive_scores.size());
  for (double s : negative_scores) all.push_back({s, false});
  for (double s : positive_scores) all.push_back({s, true});
  for (const auto& s : all) LUMEN_CHECK(!std::isnan(s.score), op, "expected scores without NaN");
  std::sort(all.begin(), all.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });
  // Sum of the positives' 1-based ranks, tied scores sharing their average rank.
  double positive_rank_sum = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].score == all[i].score) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t t = i; t < j; ++t)
      if (all[t].positive) positive_rank_sum += average_rank;
    i = j;
  }
  const auto np = static_cast<double>(positive_scores.size()), nn = static_cast<double>(negative_scores.size());
  return (positive_rank_sum - np * (np + 1) / 2) / (np * nn);
}

RetentionCurve retention_curve(const std::vector<double>& uncertainty, const std::vector<std::uint8_t>& correct,
                               std::int64_t points) {
  const char* op = "retention_curve";
  LUMEN_CHECK(uncertainty.size() == correct.size(), op, "expected as many uncertainties as correct flags, got ",
              uncertainty.size(), " and ", correct.size());
  LUMEN_CHECK(!uncertainty.empty(), op, "expected at least one sample");
  LUMEN_CHECK(points >= 1, op, "expected points >= 1, got ", points);
  check_correct(correct, op);
  for (double u : uncertainty) LUMEN_CHECK(!std::isnan(u), op, "expected uncertainties without NaN");
  const auto n = static_cast<std::int64_t>(uncertainty.size());
  checked_mul(checked_mul(2, points, op, "2 × points"), n, op, "2 × points × N");

  // Least uncertain first; equal uncertainties keep their index order.
  std::vector<std::size_t> order(uncertainty.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return uncertainty[a] < uncertainty[b]; });
  std::vector<std::int64_t> kept_correct(uncertainty.size() + 1, 0);  // among the first k of the order
  for (std::size_t k = 0; k < order.size(); ++k) kept_correct[k + 1] = kept_correct[k] + correct[order[k]];
  const std::int64_t total_correct = kept_correct.back();

  RetentionCurve rc;
  std::vector<double> oracle;
  for (std::int64_t i = 0; i < points; ++i) {
    // round((points − i)·N / points), halves up, in integers.
    const std::int64_t keep = std::max<std::int64_t>(1, (2 * (points - i) * n + points) / (2 * points));
    rc.rejected.push_back(static_cast<double>(i) / static_cast<double>(points));
    rc.accuracy.push_back(static_cast<double>(kept_correct[static_cast<std::size_t>(keep)]) / static_cast<double>(keep));
    oracle.push_back(static_cast<double>(std::min(total_correct, keep)) / static_cast<double>(keep));
  }
  rc.auc = mean_height(rc.rejected, rc.accuracy);
  rc.oracle_auc = mean_height(rc.rejected, oracle);
  rc.random_auc = static_cast<double>(total_correct) / static_cast<double>(n);
  return rc;
}

}  // namespace lumen::xai
