#pragma once
// The diagnostic properties of Atanasova et al., "A Diagnostic Study of Explainability Techniques for
// Text Classification" (EMNLP 2020), and the classification scores they are read through. The
// choices follow the paper and its code (github.com/copenlu/xai-benchmark, saliency_eval/):
//
//   faithfulness          mask 0, 10, ..., 100 % of the tokens, most salient first (top_positions),
//                         and take the area under macro-F1 over the masked fraction (trapezoid_auc):
//                         the faster the performance falls, the more faithful (lower = better)
//   human agreement       mean average precision of the saliency ranking against annotated tokens
//                         (average_precision; instances without an annotated token are skipped)
//   confidence indication whether the saliency differences between the predicted and the other
//                         classes predict the model's confidence (confidence_indication)
//   consistency           saliency differences (mean_abs_difference) between similar and dissimilar
//                         instance pairs should follow their activation differences
//                         (dataset_consistency_pairs picks the pairs)
#include <cstdint>
#include <string>
#include <vector>

#include "xai/evaluation.h"  // trapezoid_auc, shared with the deletion/insertion curves

namespace lumen::xai {

// The fraction of predictions equal to gold (same non-zero length).
double accuracy(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& gold);

// The mean over the classes 0..num_classes−1 of F1 = 2 tp / (2 tp + fp + fn): scikit-learn's
// f1_score(gold, predicted, labels=range(num_classes), average='macro'). A class with no true and no
// predicted sample (0/0) has F1 0, scikit-learn's zero_division default, and still counts in the
// mean; scikit-learn without labels= would average only the classes present (the same when every
// class occurs in gold, as on the test sets of the paper). Labels must lie in [0, num_classes).
double macro_f1(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& gold,
                std::int64_t num_classes);

// scikit-learn's average_precision_score for one ranking: scores (higher = more relevant), relevant
// 0/1. AP = Σ_k (R_k − R_{k−1}) P_k over the thresholds at the distinct scores, highest first (tied
// items enter together, as in scikit-learn). NaN when no item is relevant: AP is undefined there, and
// the caller skips such instances (as the paper's human agreement does for unannotated ones).
double average_precision(const std::vector<double>& scores, const std::vector<int>& relevant);

// Confidence indication (Atanasova et al. 2020, §3; saliency_eval/confidence.py). Per instance n with
// predicted class p and saliency s [K][T] (one row per class), three features
//   f_agg = Σ_t agg_{c ≠ p} (s_{p,t} − s_{c,t}),  agg = max, mean, min
// (with K = 2 all three are the same sum, as in their code). The features are min-max scaled over
// the instances (a constant feature becomes 0, as scikit-learn's MinMaxScaler), and a least-squares
// linear regression with intercept predicts predicted_probability on ShuffleSplit(n_splits,
// test_size = test_fraction) splits: each split is a fresh random permutation, the first
// ⌈test_fraction · N⌉ instances testing and the rest training (as scikit-learn; the permutations come
// from lumen's Generator(seed), so not numpy's). Their code uses n_splits = 5 and scikit-learn's
// default test_size 0.1 (our defaults too). Returns the mean and the (population) standard
// deviation over the splits of the test MAE, and the mean over the splits of the test max error;
// lower = the saliency indicates the confidence better. (The paper reports the std over trained
// models; the splits' std is what one model gives.)
struct ConfidenceIndication {
  double mae_mean, mae_std, max_error_mean;
};
ConfidenceIndication confidence_indication(const std::vector<std::vector<std::vector<double>>>& saliency,
                                           const std::vector<std::int64_t>& predicted,
                                           const std::vector<double>& predicted_probability,
                                           std::int64_t n_splits = 5, double test_fraction = 0.1,
                                           std::uint64_t seed = 0);

// trapezoid_auc(x, y) is xai/evaluation.h's (included above): the area under y(x) by the trapezoid
// rule, x non-decreasing, in x's units times y's. For faithfulness: x = 0, 10, ..., 100 (% of tokens
// masked), y = macro-F1.

// The `count` positions with the highest score among the first `length` entries (ties to the lower
// index), highest first; all `length` of them when count > length. Scores must not be NaN.
std::vector<std::int64_t> top_positions(const std::vector<double>& scores, std::int64_t length, std::int64_t count);

// mean |a − b| after zero-padding the shorter vector to the longer one's length (saliency differences
// between instances of different lengths). Throws when both are empty (no mean to take).
double mean_abs_difference(const std::vector<double>& a, const std::vector<double>& b);

// Dataset consistency's instance pairs. For each instance i < min(max_instances, N), in order: the
// same-label instance j ≠ i with the largest word overlap, and the different-label instance with the
// smallest, the overlap being the Jaccard index of the two token sets (1 for two empty sets); ties go
// to the lower index. Each i gives its same-label pair, then its different-label pair (either is left
// out when no such instance exists). Atanasova et al.'s sampler ranks all pairs by the size of the
// token sets' intersection (after removing stop words); Jaccard does not favour long instances.
struct InstancePair {
  std::int64_t a, b;
  bool same_label;
  double overlap;
};
std::vector<InstancePair> dataset_consistency_pairs(const std::vector<std::vector<std::string>>& tokens,
                                                    const std::vector<std::int64_t>& labels,
                                                    std::int64_t max_instances);

}  // namespace lumen::xai
