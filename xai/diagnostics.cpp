#include "xai/diagnostics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "autograd/random.h"
#include "xai/lime.h"

namespace lumen::xai {

double accuracy(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& gold) {
  LUMEN_CHECK(!gold.empty() && predicted.size() == gold.size(), "accuracy",
              "expected as many predictions as gold labels (at least one), got ", predicted.size(), " and ",
              gold.size());
  std::size_t right = 0;
  for (std::size_t i = 0; i < gold.size(); ++i) right += predicted[i] == gold[i];
  return double(right) / double(gold.size());
}

double macro_f1(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& gold,
                std::int64_t num_classes) {
  const char* op = "macro_f1";
  LUMEN_CHECK(!gold.empty() && predicted.size() == gold.size(), op,
              "expected as many predictions as gold labels (at least one), got ", predicted.size(), " and ",
              gold.size());
  LUMEN_CHECK(num_classes >= 1, op, "expected num_classes >= 1, got ", num_classes);
  const auto k = static_cast<std::size_t>(num_classes);
  std::vector<double> tp(k, 0), fp(k, 0), fn(k, 0);
  for (std::size_t i = 0; i < gold.size(); ++i) {
    const std::int64_t p = predicted[i], g = gold[i];
    LUMEN_CHECK(p >= 0 && p < num_classes && g >= 0 && g < num_classes, op, "sample ", i, " has prediction ", p,
                " and gold ", g, "; expected labels in [0, ", num_classes, ")");
    if (p == g) {
      tp[static_cast<std::size_t>(p)] += 1;
    } else {
      fp[static_cast<std::size_t>(p)] += 1;
      fn[static_cast<std::size_t>(g)] += 1;
    }
  }
  double total = 0;
  for (std::size_t c = 0; c < k; ++c) {
    const double denominator = 2 * tp[c] + fp[c] + fn[c];
    total += denominator > 0 ? 2 * tp[c] / denominator : 0.0;  // 0/0: scikit-learn's zero_division default
  }
  return total / double(k);
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& relevant) {
  const char* op = "average_precision";
  LUMEN_CHECK(!scores.empty() && scores.size() == relevant.size(), op,
              "expected one relevance per score (at least one), got ", scores.size(), " scores and ",
              relevant.size(), " relevances");
  double positives = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    LUMEN_CHECK(relevant[i] == 0 || relevant[i] == 1, op, "relevance ", i, " is ", relevant[i], "; expected 0 or 1");
    LUMEN_CHECK(!std::isnan(scores[i]), op, "score ", i, " is NaN");
    positives += relevant[i];
  }
  if (positives == 0) return std::numeric_limits<double>::quiet_NaN();
  std::vector<std::size_t> order(scores.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
  // One threshold per distinct score: everything scoring at least it is retrieved at once.
  double ap = 0, tp = 0, retrieved = 0;
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start;
    double gained = 0;
    while (end < order.size() && scores[order[end]] == scores[order[start]]) gained += relevant[order[end]], ++end;
    tp += gained;
    retrieved += double(end - start);
    ap += (gained / positives) * (tp / retrieved);
    start = end;
  }
  return ap;
}

ConfidenceIndication confidence_indication(const std::vector<std::vector<std::vector<double>>>& saliency,
                                           const std::vector<std::int64_t>& predicted,
                                           const std::vector<double>& predicted_probability, std::int64_t n_splits,
                                           double test_fraction, std::uint64_t seed) {
  const char* op = "confidence_indication";
  const auto n = static_cast<std::int64_t>(saliency.size());
  LUMEN_CHECK(predicted.size() == saliency.size() && predicted_probability.size() == saliency.size(), op,
              "expected one prediction and probability per instance (", n, "), got ", predicted.size(), " and ",
              predicted_probability.size());
  LUMEN_CHECK(n_splits >= 1, op, "expected n_splits >= 1, got ", n_splits);
  LUMEN_CHECK(test_fraction > 0 && test_fraction < 1, op, "expected 0 < test_fraction < 1, got ", test_fraction);
  const auto n_test = static_cast<std::int64_t>(std::ceil(test_fraction * double(n)));
  LUMEN_CHECK(n_test >= 1 && n - n_test >= 2, op, "a test fraction ", test_fraction, " of ", n,
              " instances leaves ", n - n_test, " to train on; expected at least 2 training instances");
  // Per instance: Σ_t max, mean and min over the other classes of s_{p,t} − s_{c,t}.
  constexpr std::int64_t kFeatures = 3;
  std::vector<double> x(static_cast<std::size_t>(n * kFeatures));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& s = saliency[static_cast<std::size_t>(i)];
    const std::int64_t p = predicted[static_cast<std::size_t>(i)];
    const auto k = static_cast<std::int64_t>(s.size());
    LUMEN_CHECK(k >= 2 && p >= 0 && p < k, op, "instance ", i, " has saliency for ", k, " classes and predicted class ",
                p, "; expected at least 2 classes and the prediction among them");
    const std::size_t t_len = s[0].size();
    for (const auto& row : s)
      LUMEN_CHECK(row.size() == t_len, op, "instance ", i, "'s classes have saliency of lengths ", t_len, " and ",
                  row.size(), "; expected one length per instance");
    double* f = x.data() + i * kFeatures;
    for (std::size_t t = 0; t < t_len; ++t) {
      double hi = -std::numeric_limits<double>::infinity(), lo = std::numeric_limits<double>::infinity(), mean = 0;
      for (std::int64_t c = 0; c < k; ++c) {
        if (c == p) continue;
        const double d = s[static_cast<std::size_t>(p)][t] - s[static_cast<std::size_t>(c)][t];
        hi = std::max(hi, d), lo = std::min(lo, d), mean += d / double(k - 1);
      }
      f[0] += hi, f[1] += mean, f[2] += lo;
    }
  }
  for (std::int64_t j = 0; j < kFeatures; ++j) {  // MinMaxScaler: a constant column becomes 0
    auto at = [&](std::int64_t i) -> double& { return x[static_cast<std::size_t>(i * kFeatures + j)]; };
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::int64_t i = 0; i < n; ++i) lo = std::min(lo, at(i)), hi = std::max(hi, at(i));
    const double range = hi > lo ? hi - lo : 1.0;
    for (std::int64_t i = 0; i < n; ++i) at(i) = (at(i) - lo) / range;
  }
  Generator gen(seed);
  std::vector<double> maes, max_errors;
  for (std::int64_t split = 0; split < n_splits; ++split) {
    const std::vector<std::int64_t> perm = randperm(n, kCPU, &gen).to_vector<std::int64_t>();
    std::vector<double> xs, ys;
    for (std::int64_t r = n_test; r < n; ++r) {
      const auto i = static_cast<std::size_t>(perm[static_cast<std::size_t>(r)]);
      xs.insert(xs.end(), x.begin() + static_cast<std::ptrdiff_t>(i * kFeatures),
                x.begin() + static_cast<std::ptrdiff_t>((i + 1) * kFeatures));
      ys.push_back(predicted_probability[i]);
    }
    // Plain least squares (alpha 0: minimum-norm when features coincide, as with K = 2).
    const LinearFit fit = weighted_linear_fit(xs, ys, std::vector<double>(ys.size(), 1.0), n - n_test, kFeatures,
                                              {.alpha = 0});
    double abs_sum = 0, worst = 0;
    for (std::int64_t r = 0; r < n_test; ++r) {
      const auto i = static_cast<std::size_t>(perm[static_cast<std::size_t>(r)]);
      double pred = fit.intercept;
      for (std::size_t j = 0; j < kFeatures; ++j) pred += fit.coef[j] * x[i * kFeatures + j];
      const double err = std::abs(predicted_probability[i] - pred);
      abs_sum += err, worst = std::max(worst, err);
    }
    maes.push_back(abs_sum / double(n_test));
    max_errors.push_back(worst);
  }
  auto mean_of = [](const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += e;
    return s / double(v.size());
  };
  const double mae_mean = mean_of(maes);
  double var = 0;
  for (double e : maes) var += (e - mae_mean) * (e - mae_mean);
  return {mae_mean, std::sqrt(var / double(maes.size())), mean_of(max_errors)};
}

std::vector<std::int64_t> top_positions(const std::vector<double>& scores, std::int64_t length, std::int64_t count) {
  LUMEN_CHECK(length >= 0 && length <= static_cast<std::int64_t>(scores.size()) && count >= 0, "top_positions",
              "expected 0 <= length <= ", scores.size(), " scores and count >= 0, got length ", length, ", count ", count);
  std::vector<std::int64_t> order(static_cast<std::size_t>(length));
  for (std::int64_t i = 0; i < length; ++i) {
    LUMEN_CHECK(!std::isnan(scores[static_cast<std::size_t>(i)]), "top_positions", "score ", i, " is NaN");
    order[static_cast<std::size_t>(i)] = i;
  }
  auto at = [&](std::int64_t i) { return scores[static_cast<std::size_t>(i)]; };
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return at(a) > at(b); });
  order.resize(static_cast<std::size_t>(std::min(count, length)));
  return order;
}

double mean_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = std::max(a.size(), b.size());
  LUMEN_CHECK(n > 0, "mean_abs_difference", "expected at least one value, got two empty vectors");
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += std::abs((i < a.size() ? a[i] : 0.0) - (i < b.size() ? b[i] : 0.0));
  return total / double(n);
}

std::vector<InstancePair> dataset_consistency_pairs(const std::vector<std::vector<std::string>>& tokens,
                                                    const std::vector<std::int64_t>& labels,
                                                    std::int64_t max_instances) {
  LUMEN_CHECK(tokens.size() == labels.size(), "dataset_consistency_pairs", "expected one label per instance, got ",
              tokens.size(), " instances and ", labels.size(), " labels");
  LUMEN_CHECK(max_instances >= 0, "dataset_consistency_pairs", "expected max_instances >= 0, got ", max_instances);
  const auto n = static_cast<std::int64_t>(tokens.size());
  std::vector<std::set<std::string>> sets;
  for (const auto& t : tokens) sets.emplace_back(t.begin(), t.end());
  auto overlap = [&](std::int64_t i, std::int64_t j) {
    const auto& a = sets[static_cast<std::size_t>(i)];
    const auto& b = sets[static_cast<std::size_t>(j)];
    if (a.empty() && b.empty()) return 1.0;
    std::size_t both = 0;
    for (const auto& w : a) both += b.count(w);
    return double(both) / double(a.size() + b.size() - both);
  };
  std::vector<InstancePair> pairs;
  for (std::int64_t i = 0; i < std::min(max_instances, n); ++i) {
    std::int64_t same = -1, other = -1;
    double best_same = -1, best_other = 2;
    for (std::int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double o = overlap(i, j);
      if (labels[static_cast<std::size_t>(j)] == labels[static_cast<std::size_t>(i)]) {
        if (o > best_same) best_same = o, same = j;  // strict: ties stay with the lower index
      } else if (o < best_other) {
        best_other = o, other = j;
      }
    }
    if (same >= 0) pairs.push_back({i, same, true, best_same});
    if (other >= 0) pairs.push_back({i, other, false, best_other});
  }
  return pairs;
}

}  // namespace lumen::xai
