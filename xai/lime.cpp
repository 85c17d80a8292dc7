#include "xai/lime.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "autograd/ops.h"
#include "xai/segmentation.h"

namespace lumen::xai {

LinearFit weighted_linear_fit(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                              std::int64_t rows, std::int64_t cols, const LinearFitOptions& opt) {
  const char* op = "weighted_linear_fit";
  LUMEN_CHECK(rows >= 1 && cols >= 1 && static_cast<std::int64_t>(x.size()) == rows * cols &&
                  static_cast<std::int64_t>(y.size()) == rows && static_cast<std::int64_t>(w.size()) == rows,
              op, "expected x of ", rows, "x", cols, " = ", rows * cols, " values and ", rows, " targets and weights, got ",
              x.size(), ", ", y.size(), " and ", w.size());
  const bool lasso = opt.model == SurrogateModel::lasso;
  const double alpha = opt.alpha >= 0 ? opt.alpha : lasso ? 0.01 : 1.0;
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Mat a = Eigen::Map<const Mat>(x.data(), rows, cols);
  Eigen::VectorXd yv = Eigen::Map<const Eigen::VectorXd>(y.data(), rows);
  Eigen::VectorXd wv = Eigen::Map<const Eigen::VectorXd>(w.data(), rows);
  const double total = wv.sum();
  LUMEN_CHECK(wv.minCoeff() >= 0 && total > 0, op, "expected non-negative weights with a positive sum");
  // The intercept is not regularised, so it drops out once x and y are centred on their weighted means.
  const Eigen::RowVectorXd x_mean = (wv.transpose() * a) / total;
  const double y_mean = wv.dot(yv) / total;
  a.rowwise() -= x_mean;
  yv.array() -= y_mean;
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(cols);
  if (!lasso) {
    const Eigen::MatrixXd gram = a.transpose() * wv.asDiagonal() * a;
    const Eigen::VectorXd rhs = a.transpose() * wv.asDiagonal() * yv;
    if (alpha > 0)
      beta = (gram + alpha * Eigen::MatrixXd::Identity(cols, cols)).ldlt().solve(rhs);
    else  // plain least squares: minimum-norm if the columns are dependent
      beta = (wv.cwiseSqrt().asDiagonal() * a).completeOrthogonalDecomposition().solve(wv.cwiseSqrt().asDiagonal() * yv);
  } else {
    // Cyclic coordinate descent: each β_j in turn is set to its exact minimiser with the others fixed,
    // soft-thresholded by α (what makes lasso coefficients exactly zero).
    const Eigen::VectorXd col_sq = (a.array().square().colwise() * wv.array()).colwise().sum().transpose() / total;
    Eigen::VectorXd r = yv;
    for (std::int64_t it = 0; it < opt.max_iter; ++it) {
      double moved = 0;
      for (std::int64_t j = 0; j < cols; ++j) {
        if (col_sq(j) == 0) continue;
        const double rho = (a.col(j).array() * wv.array() * r.array()).sum() / total + col_sq(j) * beta(j);
        const double next = std::copysign(std::max(std::abs(rho) - alpha, 0.0), rho) / col_sq(j);
        if (next != beta(j)) r -= (next - beta(j)) * a.col(j), moved = std::max(moved, std::abs(next - beta(j)));
        beta(j) = next;
      }
      if (moved <= opt.tol) break;
    }
  }
  return {std::vector<double>(beta.data(), beta.data() + cols), y_mean - x_mean.dot(beta)};
}

namespace {

// Σ w (y − ŷ)² and Σ w of a fit on its own data, after checking the sizes (errors name `op`).
std::pair<double, double> weighted_residual(const std::vector<double>& x, const std::vector<double>& y,
                                            const std::vector<double>& w, std::int64_t rows, std::int64_t cols,
                                            const LinearFit& fit, const char* op) {
  LUMEN_CHECK(rows >= 1 && cols >= 1 && static_cast<std::int64_t>(x.size()) == rows * cols &&
                  static_cast<std::int64_t>(y.size()) == rows && static_cast<std::int64_t>(w.size()) == rows &&
                  static_cast<std::int64_t>(fit.coef.size()) == cols,
              op, "expected x of ", rows, "x", cols, ", ", rows, " targets and weights and ", cols,
              " coefficients, got ", x.size(), ", ", y.size(), ", ", w.size(), " and ", fit.coef.size());
  const auto n = static_cast<std::size_t>(rows), d = static_cast<std::size_t>(cols);
  double residual = 0, total = 0;
  for (std::size_t r = 0; r < n; ++r) {
    double pred = fit.intercept;
    for (std::size_t j = 0; j < d; ++j) pred += x[r * d + j] * fit.coef[j];
    residual += w[r] * (y[r] - pred) * (y[r] - pred);
    total += w[r];
  }
  LUMEN_CHECK(total > 0, op, "expected weights with a positive sum");
  return {residual, total};
}

}  // namespace

double weighted_mse(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                    std::int64_t rows, std::int64_t cols, const LinearFit& fit) {
  const auto [residual, total] = weighted_residual(x, y, w, rows, cols, fit, "weighted_mse");
  return residual / total;
}

double weighted_r2(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                   std::int64_t rows, std::int64_t cols, const LinearFit& fit) {
  const auto [residual, total] = weighted_residual(x, y, w, rows, cols, fit, "weighted_r2");
  const auto n = static_cast<std::size_t>(rows);
  double y_mean = 0;
  for (std::size_t r = 0; r < n; ++r) y_mean += w[r] * y[r];
  y_mean /= total;
  double spread = 0;
  for (std::size_t r = 0; r < n; ++r) spread += w[r] * (y[r] - y_mean) * (y[r] - y_mean);
  if (spread == 0) return residual == 0 ? 1.0 : 0.0;
  return 1.0 - residual / spread;
}

std::vector<std::int64_t> top_k_features(const Tensor& coefficients_row, std::int64_t k, bool by_abs) {
  const Tensor& c = coefficients_row;
  LUMEN_CHECK(c.defined() && (c.dim() == 1 || (c.dim() == 2 && c.size(0) == 1)) && is_floating(c.dtype()),
              "top_k_features", "expected floating coefficients [F] or [1, F], got ", c.defined() ? c.str() : "undefined");
  LUMEN_CHECK(k >= 0, "top_k_features", "expected k >= 0, got ", k);
  std::vector<double> v = c.to_vector<double>();
  for (double& x : v) {
    LUMEN_CHECK(std::isfinite(x), "top_k_features", "expected finite coefficients, got ", x);
    if (by_abs) x = std::abs(x);
  }
  std::vector<std::int64_t> order(v.size());
  for (std::size_t j = 0; j < v.size(); ++j) order[j] = static_cast<std::int64_t>(j);
  auto at = [&](std::int64_t j) { return v[static_cast<std::size_t>(j)]; };
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return at(a) > at(b); });
  order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(k)));
  return order;
}

double jaccard(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  std::vector<std::int64_t> sa = a, sb = b;
  for (auto* s : {&sa, &sb}) std::sort(s->begin(), s->end()), s->erase(std::unique(s->begin(), s->end()), s->end());
  if (sa.empty() && sb.empty()) return 1.0;
  std::vector<std::int64_t> common;
  std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(common));
  const double both = static_cast<double>(common.size());
  return both / (static_cast<double>(sa.size() + sb.size()) - both);
}

double mean_pairwise_jaccard(const std::vector<std::vector<std::int64_t>>& sets) {
  LUMEN_CHECK(sets.size() >= 2, "mean_pairwise_jaccard", "expected at least 2 sets, got ", sets.size());
  double total = 0, pairs = 0;
  for (std::size_t i = 0; i < sets.size(); ++i)
    for (std::size_t j = i + 1; j < sets.size(); ++j) total += jaccard(sets[i], sets[j]), pairs += 1;
  return total / pairs;
}

double lime_count_similarity(std::int64_t on, std::int64_t n_features) {
  LUMEN_CHECK(n_features >= 1 && on >= 0 && on <= n_features, "lime_count_similarity",
              "expected 0 <= on <= n_features with n_features >= 1, got on = ", on, " of ", n_features);
  return double(on);
}

double lime_similarity(std::int64_t on, std::int64_t n_features, double kernel_width) {
  // cos(1, z) = |z| / (√|z| √F) for a 0/1 vector z; the empty vector is as far as it gets.
  const double d = on > 0 ? 1 - std::sqrt(double(on) / double(n_features)) : 1.0;
  return std::exp(-d * d / (kernel_width * kernel_width));
}

namespace {

// LIME with errors named after the calling method (Lime or SharpLime).
LimeResult lime(const ForwardFn& model, const Tensor& inputs, const Target& target, const Baseline& baselines,
                const LimeOptions& opt, const char* op) {
  check_perturbation_inputs(inputs, target, op);
  LUMEN_CHECK(opt.n_samples >= 1, op, "expected n_samples >= 1, got ", opt.n_samples);
  LUMEN_CHECK(opt.kernel_width > 0, op, "expected kernel_width > 0, got ", opt.kernel_width);
  if (is_empty_batch(inputs))  // no samples, so no features either: coefficients [0, 0]
    return {empty_attributions(inputs), empty_attributions(inputs, {0, 0}), empty_attributions(inputs, {0}),
            empty_attributions(inputs, {0}), empty_attributions(inputs, {0})};
  const FeatureMap fm = expand_feature_mask(opt.feature_mask, inputs, op);
  const Tensor base = baselines.expand(inputs, op);
  const std::int64_t fmax = fm.max_count();
  std::vector<double> coefs(static_cast<std::size_t>(fm.n * fmax), 0.0), intercepts, r2, mse, attr(fm.ids.size());
  for (std::int64_t i = 0; i < fm.n; ++i) {
    const std::int64_t f = fm.counts[static_cast<std::size_t>(i)];
    const std::int64_t* ids = fm.ids.data() + i * fm.d;
    const std::vector<double> z =
        bernoulli({opt.n_samples, f}, 0.5, {.dtype = DType::float64}, opt.generator).to_vector<double>();
    auto off = [&](std::int64_t p) {
      std::vector<double> m(static_cast<std::size_t>(fm.d));
      for (std::int64_t e = 0; e < fm.d; ++e) m[static_cast<std::size_t>(e)] = z[static_cast<std::size_t>(p * f + ids[e])] == 0 ? 1.0 : 0.0;
      return m;
    };
    auto s = perturbed_scores(model, inputs.narrow(0, i, 1), base.narrow(0, i, 1), target.slice(i, 1), opt.n_samples,
                              off, opt.perturbations_per_eval);
    std::vector<double> y, w;
    for (std::int64_t p = 0; p < opt.n_samples; ++p) {
      y.push_back(s[static_cast<std::size_t>(p)][0]);
      std::int64_t on = 0;
      for (std::int64_t j = 0; j < f; ++j) on += z[static_cast<std::size_t>(p * f + j)] != 0;
      const double weight = opt.similarity ? opt.similarity(on, f) : lime_similarity(on, f, opt.kernel_width);
      LUMEN_CHECK(std::isfinite(weight) && weight >= 0, op, "the similarity of a sample with ", on, " of ", f,
                  " features kept is ", weight, "; expected a finite weight >= 0");
      w.push_back(weight);
    }
    const LinearFit fit = weighted_linear_fit(z, y, w, opt.n_samples, f, opt.fit);
    std::copy(fit.coef.begin(), fit.coef.end(), coefs.begin() + i * fmax);
    intercepts.push_back(fit.intercept);
    r2.push_back(weighted_r2(z, y, w, opt.n_samples, f, fit));
    mse.push_back(weighted_mse(z, y, w, opt.n_samples, f, fit));
    for (std::int64_t e = 0; e < fm.d; ++e) attr[static_cast<std::size_t>(i * fm.d + e)] = fit.coef[static_cast<std::size_t>(ids[e])];
  }
  TensorOptions o = options_of(inputs);
  return {tensor(attr, inputs.shape(), o), tensor(coefs, {fm.n, fmax}, o), tensor(intercepts, {fm.n}, o),
          tensor(r2, {fm.n}, o), tensor(mse, {fm.n}, o)};
}

}  // namespace

LimeResult Lime::explain(const Tensor& inputs, const Target& target, const Baseline& baselines,
                         const LimeOptions& opt) const {
  return lime(f_, inputs, target, baselines, opt, "Lime");
}

Tensor Lime::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                       const LimeOptions& opt) const {
  return explain(inputs, target, baselines, opt).attributions;
}

SharpLime::SharpLime(ForwardFn f, const Tensor& regions) : f_(std::move(f)) {
  LUMEN_CHECK(regions.defined() && regions.dtype() == DType::int64, "SharpLime", "expected an int64 region map, got ",
              regions.defined() ? regions.str() : "undefined");
  regions_ = relabel_contiguous(regions);
}

SharpLime::SharpLime(ForwardFn f, const std::string& region_mask_path, const figures::PngReadOptions& png)
    : f_(std::move(f)), regions_(load_region_mask(region_mask_path, png)) {}

LimeResult SharpLime::explain(const Tensor& inputs, const Target& target, const Baseline& baselines,
                              const LimeOptions& opt) const {
  LUMEN_CHECK(!opt.feature_mask.defined(), "SharpLime",
              "the regions given at construction are the features; leave LimeOptions::feature_mask undefined");
  LimeOptions with_regions = opt;
  with_regions.feature_mask = regions_;
  return lime(f_, inputs, target, baselines, with_regions, "SharpLime");
}

Tensor SharpLime::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                            const LimeOptions& opt) const {
  return explain(inputs, target, baselines, opt).attributions;
}

}  // namespace lumen::xai
