#pragma once
// How far a model's confidence can be trusted, and how well an uncertainty measure ranks its errors:
// expected/maximum calibration error over confidence bins, the AUROC of an uncertainty score for
// telling two sets apart (in- vs out-of-distribution, or errors vs correct predictions), and the
// accuracy–rejection (retention) curve. Plain numbers in, plain numbers out:
//
//   auto cal = xai::calibration(confidences, correct);            // cal.ece, cal.mce, cal.bins (reliability diagram)
//   double ood = xai::auroc(uncertainty_in_dist, uncertainty_ood); // 1: every OOD sample more uncertain
//   auto rc = xai::retention_curve(uncertainty, correct);          // rc.auc between rc.random_auc and rc.oracle_auc
#include <cstdint>
#include <vector>

namespace lumen::xai {

// Means over the bin's samples (0 when the bin is empty).
struct CalibrationBin {
  double lower, upper;
  std::int64_t count;
  double confidence, accuracy;
};
struct Calibration {
  double ece;  // Σ_b (n_b / N)·|acc_b − conf_b|
  double mce;  // max_b |acc_b − conf_b| over the non-empty bins
  std::vector<CalibrationBin> bins;
};
// Equal-width bins over [0, 1] with edges b/B: bin b = (b/B, (b+1)/B], the first also takes 0 (as the
// usual ECE code, conf > lower && conf <= upper). correct holds 0/1. Checks: sizes equal, N ≥ 1,
// confidences in [0, 1], bins ≥ 1.
Calibration calibration(const std::vector<double>& confidence, const std::vector<std::uint8_t>& correct,
                        std::int64_t bins = 15);

// The probability that a random positive scores higher than a random negative, ties counting ½
// (the Mann–Whitney U / (n₊·n₋)), from average ranks in O(n log n). Both sets non-empty, no NaN.
double auroc(const std::vector<double>& negative_scores, const std::vector<double>& positive_scores);

// Accuracy when the most uncertain fraction r of the samples is rejected, for r = i/points, i = 0 ..
// points − 1. At least one sample is always kept: keep = max(1, round((1 − r)·N)), halves rounded up.
// Ties in uncertainty are broken by index (a stable sort): of equally uncertain samples the later ones
// are rejected first, so a constant uncertainty keeps the first `keep` samples.
// auc = the trapezoid integral of accuracy over r ∈ [0, (points − 1)/points] divided by that range's
// length (the mean height of the curve: a constant curve's auc is that constant; with points = 1 it is
// accuracy[0]). oracle_auc is the same for the curve that rejects the errors first, random_auc for an
// uninformative uncertainty (the expected curve is constant: the overall accuracy), so a measure's auc
// sits between random_auc and oracle_auc the more it knows about the errors.
struct RetentionCurve {
  std::vector<double> rejected, accuracy;
  double auc, oracle_auc, random_auc;
};
RetentionCurve retention_curve(const std::vector<double>& uncertainty, const std::vector<std::uint8_t>& correct,
                               std::int64_t points = 100);

}  // namespace lumen::xai
