#include "xai/concepts.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "kernels/core/error.h"

namespace lumen::xai {

namespace {
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A 2-D tensor [N, D] as a row-major double matrix (a copy).
Mat to_matrix(const Tensor& t, const char* op, const char* what) {
  LUMEN_CHECK(t.defined() && t.dim() == 2, op, "expected ", what, " [N, D], got ", t.defined() ? t.str() : "undefined");
  const std::vector<double> v = t.detach().to(DType::float64).cpu().contiguous().to_vector<double>();
  return Eigen::Map<const Mat>(v.data(), t.size(0), t.size(1));
}

std::vector<double> to_doubles(const Tensor& t, const char* op, const char* what) {
  LUMEN_CHECK(t.defined() && t.dim() == 1, op, "expected ", what, " [N], got ", t.defined() ? t.str() : "undefined");
  return t.detach().to(DType::float64).cpu().contiguous().to_vector<double>();
}

Tensor to_tensor(const Eigen::VectorXd& v) {
  return tensor(std::vector<double>(v.data(), v.data() + v.size()), {v.size()}, {.dtype = DType::float64});
}

// A seeded permutation of 0..n-1, split into (train, test) with round(n · test_fraction) test rows,
// at least `min_each` on each side.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> shuffled_split(std::int64_t n, double test_fraction,
                                                                              std::uint64_t seed, std::int64_t min_each,
                                                                              const char* op) {
  LUMEN_CHECK(test_fraction > 0 && test_fraction < 1, op, "expected test_fraction in (0, 1), got ", test_fraction);
  Generator gen(seed);
  const std::vector<std::int64_t> perm = randperm(n, kCPU, &gen).to_vector<std::int64_t>();
  const auto n_test = static_cast<std::int64_t>(std::llround(static_cast<double>(n) * test_fraction));
  LUMEN_CHECK(n_test >= min_each && n - n_test >= min_each, op, "too few rows: ", n, " split with test_fraction ",
              test_fraction, " gives ", n - n_test, " training and ", n_test, " held-out rows; expected at least ",
              min_each, " on each side");
  return {std::vector<std::int64_t>(perm.begin() + n_test, perm.end()),
          std::vector<std::int64_t>(perm.begin(), perm.begin() + n_test)};
}

Mat rows_of(const Mat& x, const std::vector<std::int64_t>& rows) {
  Mat out(static_cast<Eigen::Index>(rows.size()), x.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = x.row(rows[i]);
  return out;
}

Eigen::VectorXd entries_of(const Eigen::VectorXd& y, const std::vector<std::int64_t>& rows) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) out(static_cast<Eigen::Index>(i)) = y(rows[i]);
  return out;
}

double sample_mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
// Σ (v − mean)² / (n − ddof)
double variance(const std::vector<double>& v, double mean, int ddof) {
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / double(static_cast<std::int64_t>(v.size()) - ddof);
}

void check_finite(const std::vector<double>& v, const char* op, const char* what) {
  for (std::size_t i = 0; i < v.size(); ++i)
    LUMEN_CHECK(std::isfinite(v[i]), op, "expected finite ", what, ", got ", v[i], " at ", i);
}
}  // namespace

// ---- CAV: logistic regression

Cav fit_cav(const Tensor& concept_acts, const Tensor& random_acts, const LinearClassifierOptions& opt) {
  const char* op = "fit_cav";
  const Mat concept_rows = to_matrix(concept_acts, op, "concept activations");
  const Mat random_rows = to_matrix(random_acts, op, "random activations");
  LUMEN_CHECK(concept_rows.cols() == random_rows.cols() && concept_rows.cols() >= 1, op,
              "expected concept and random activations with the same D ≥ 1, got ", concept_acts.shape(), " and ",
              random_acts.shape());
  LUMEN_CHECK(concept_rows.rows() >= 2 && random_rows.rows() >= 2, op,
              "expected at least 2 concept and 2 random rows, got ", concept_rows.rows(), " and ", random_rows.rows());
  LUMEN_CHECK(opt.epochs >= 1 && opt.lr > 0 && opt.l2 >= 0, op, "expected epochs ≥ 1, lr > 0, l2 ≥ 0, got ", opt.epochs,
              ", ", opt.lr, ", ", opt.l2);
  const Eigen::Index n = concept_rows.rows() + random_rows.rows();
  Mat x(n, concept_rows.cols());
  x << concept_rows, random_rows;
  LUMEN_CHECK(x.allFinite(), op, "expected finite activations");
  Eigen::VectorXd y = Eigen::VectorXd::Zero(n);
  y.head(concept_rows.rows()).setOnes();

  const auto [train, test] = shuffled_split(n, opt.test_fraction, opt.seed, 1, op);
  Mat xtr = rows_of(x, train);
  const Eigen::VectorXd ytr = entries_of(y, train);
  // Centre on the training mean, scale by one number (see the header): the direction is unchanged.
  const Eigen::RowVectorXd centre = xtr.colwise().mean();
  xtr.rowwise() -= centre;
  const double rms = std::sqrt(xtr.squaredNorm() / double(xtr.rows()));
  const double scale = rms > 0 ? rms : 1.0;
  xtr /= scale;

  const double m = double(xtr.rows());
  Eigen::VectorXd w = Eigen::VectorXd::Zero(xtr.cols());
  double b = 0;
  for (std::int64_t epoch = 0; epoch < opt.epochs; ++epoch) {
    const Eigen::VectorXd z = (xtr * w).array() + b;
    const Eigen::VectorXd p = (1.0 / (1.0 + (-z.array()).exp())).matrix();
    const Eigen::VectorXd err = p - ytr;  // d(mean log-loss)/dz
    w -= opt.lr * (xtr.transpose() * err / m + opt.l2 * w);
    b -= opt.lr * err.mean();
  }
  const double norm = w.norm();
  LUMEN_CHECK(norm > 0 && std::isfinite(norm), op, "the classifier found no direction (|w| = ", norm,
              "): are the concept and random activations all identical?");

  Mat xte = rows_of(x, test);
  xte.rowwise() -= centre;
  const Eigen::VectorXd zte = ((xte / scale) * w).array() + b;
  const Eigen::VectorXd yte = entries_of(y, test);
  std::int64_t right = 0;
  for (Eigen::Index i = 0; i < zte.size(); ++i) right += ((zte(i) > 0) == (yte(i) > 0.5)) ? 1 : 0;
  return {to_tensor(w / norm), double(right) / double(zte.size())};
}

// ---- sensitivity and scores

Tensor conceptual_sensitivity(nn::Module& model, const std::string& layer, const Tensor& inputs, std::int64_t target_class,
                              const Tensor& cav_direction, LayerSpace space) {
  const char* op = "conceptual_sensitivity";
  LUMEN_CHECK(cav_direction.defined() && cav_direction.dim() == 1, op, "expected a CAV direction [D], got ",
              cav_direction.defined() ? cav_direction.str() : "undefined");
  const Tensor g = layer_gradients(model, layer, inputs, target_class, 256, space);
  LUMEN_CHECK(cav_direction.size(0) == g.size(1), op, "expected a CAV direction of D = ", g.size(1), " (layer '", layer,
              "' gives rows ", g.shape(), "), got ", cav_direction.shape());
  const Tensor v = cav_direction.detach().to(DType::float64).cpu().reshape({-1, 1});
  return matmul(g, v).reshape({g.size(0)});
}

TcavScore tcav_score(const Tensor& sensitivities) {
  const char* op = "tcav_score";
  const std::vector<double> s = to_doubles(sensitivities, op, "sensitivities");
  LUMEN_CHECK(!s.empty(), op, "expected at least one sensitivity");
  check_finite(s, op, "sensitivities");
  double positive = 0, positive_mass = 0, mass = 0;
  for (double v : s) {
    if (v > 0) {
      positive += 1;
      positive_mass += v;
    }
    mass += std::abs(v);
  }
  return {positive / double(s.size()), mass > 0 ? positive_mass / mass : 0.0};
}

// ---- Student's t

namespace {
// The continued fraction of I_x(a, b) (Numerical Recipes §6.4's form), evaluated by the modified Lentz
// method: converges fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double x, double a, double b) {
  constexpr double tiny = 1e-300;
  constexpr double eps = 1e-15;
  auto guard = [](double v) { return std::abs(v) < tiny ? tiny : v; };
  double c = 1.0;
  double d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
  double f = d;
  for (int m = 1; m <= 10000; ++m) {
    // The even step d_{2m} and the odd step d_{2m+1} of the fraction.
    const double even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
    d = 1.0 / guard(1.0 + even * d);
    c = guard(1.0 + even / c);
    f *= d * c;
    const double odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
    d = 1.0 / guard(1.0 + odd * d);
    c = guard(1.0 + odd / c);
    const double delta = d * c;
    f *= delta;
    if (std::abs(delta - 1.0) < eps) return f;
  }
  LUMEN_CHECK(false, "regularized_incomplete_beta", "the continued fraction did not converge for x = ", x, ", a = ", a,
              ", b = ", b);
  return f;
}
}  // namespace

double regularized_incomplete_beta(double x, double a, double b) {
  const char* op = "regularized_incomplete_beta";
  LUMEN_CHECK(a > 0 && b > 0 && std::isfinite(a) && std::isfinite(b), op, "expected finite a, b > 0, got ", a, ", ", b);
  LUMEN_CHECK(x >= 0 && x <= 1, op, "expected x in [0, 1], got ", x);
  if (x == 0 || x == 1) return x;
  // x^a (1−x)^b / (a B(a, b)), in logs.
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * beta_continued_fraction(x, a, b) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(1.0 - x, b, a) / b;
}

double student_t_two_sided_p(double t, double dof) {
  const char* op = "student_t_two_sided_p";
  LUMEN_CHECK(dof > 0 && !std::isnan(t), op, "expected dof > 0 and t not NaN, got t = ", t, ", dof = ", dof);
  if (std::isinf(t)) return 0.0;
  if (std::isinf(dof)) return std::erfc(std::abs(t) / std::sqrt(2.0));  // the normal limit
  return regularized_incomplete_beta(dof / (dof + t * t), dof / 2.0, 0.5);
}

TTest welch_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  const char* op = "welch_t_test";
  LUMEN_CHECK(a.size() >= 2 && b.size() >= 2, op, "expected at least 2 values in each sample, got ", a.size(), " and ",
              b.size());
  check_finite(a, op, "values in a");
  check_finite(b, op, "values in b");
  const double na = double(a.size()), nb = double(b.size());
  const double ma = sample_mean(a), mb = sample_mean(b);
  const double sa = variance(a, ma, 1) / na, sb = variance(b, mb, 1) / nb;  // squared standard errors
  const double se2 = sa + sb;
  if (se2 == 0) {
    const double inf = std::numeric_limits<double>::infinity();
    if (ma == mb) return {0.0, na + nb - 2, 1.0};
    return {ma > mb ? inf : -inf, na + nb - 2, 0.0};
  }
  const double t = (ma - mb) / std::sqrt(se2);
  // Welch–Satterthwaite.
  const double dof = se2 * se2 / (sa * sa / (na - 1) + sb * sb / (nb - 1));
  return {t, dof, student_t_two_sided_p(t, dof)};
}

Significance tcav_significance(const std::vector<double>& concept_scores, const std::vector<double>& random_scores,
                               double alpha, std::int64_t n_layers) {
  const char* op = "tcav_significance";
  LUMEN_CHECK(alpha > 0 && alpha < 1, op, "expected alpha in (0, 1), got ", alpha);
  LUMEN_CHECK(n_layers >= 1, op, "expected n_layers ≥ 1, got ", n_layers);
  LUMEN_CHECK(concept_scores.size() >= 2 && random_scores.size() >= 2, op,
              "expected at least 2 concept and 2 random-vs-random scores, got ", concept_scores.size(), " and ",
              random_scores.size());
  const TTest test = welch_t_test(concept_scores, random_scores);
  const double cm = sample_mean(concept_scores), rm = sample_mean(random_scores);
  return {cm,
          std::sqrt(variance(concept_scores, cm, 1)),
          rm,
          std::sqrt(variance(random_scores, rm, 1)),
          test.p_value,
          test.p_value < alpha / double(n_layers)};
}

// ---- RCV: least squares

Rcv fit_rcv(const Tensor& acts, const std::vector<double>& measure, double test_fraction, std::uint64_t seed, double ridge) {
  const char* op = "fit_rcv";
  const Mat x = to_matrix(acts, op, "activations");
  LUMEN_CHECK(x.cols() >= 1, op, "expected D ≥ 1, got ", acts.shape());
  LUMEN_CHECK(static_cast<std::int64_t>(measure.size()) == x.rows(), op, "expected one measure per row of activations ",
              acts.shape(), ", got ", measure.size());
  LUMEN_CHECK(ridge >= 0, op, "expected ridge ≥ 0, got ", ridge);
  LUMEN_CHECK(x.allFinite(), op, "expected finite activations");
  check_finite(measure, op, "measures");
  const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(measure.data(), x.rows());
  const auto [train, test] = shuffled_split(x.rows(), test_fraction, seed, 2, op);

  // The intercept is solved out by centring on the training means; the ridge touches only the weights.
  Mat xtr = rows_of(x, train);
  Eigen::VectorXd ytr = entries_of(y, train);
  const Eigen::RowVectorXd x_mean = xtr.colwise().mean();
  const double y_mean = ytr.mean();
  xtr.rowwise() -= x_mean;
  ytr.array() -= y_mean;
  const Eigen::MatrixXd gram = xtr.transpose() * xtr + ridge * Eigen::MatrixXd::Identity(x.cols(), x.cols());
  const Eigen::VectorXd w = gram.ldlt().solve(xtr.transpose() * ytr);
  const double intercept = y_mean - x_mean.dot(w);
  const double norm = w.norm();
  LUMEN_CHECK(norm > 0 && std::isfinite(norm), op, "the regression found no direction (|w| = ", norm,
              "): is the measure constant, or are the activations?");

  const Eigen::VectorXd yte = entries_of(y, test);
  const Eigen::VectorXd residual = (rows_of(x, test) * w).array() + intercept - yte.array();
  const double ss_res = residual.squaredNorm();
  const double ss_tot = (yte.array() - yte.mean()).square().sum();
  const double r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
  return {to_tensor(w / norm), r2, ss_res / double(yte.size())};
}

double br_score(double r2, const Tensor& sensitivities) {
  const char* op = "br_score";
  LUMEN_CHECK(std::isfinite(r2), op, "expected a finite R², got ", r2);
  const std::vector<double> s = to_doubles(sensitivities, op, "sensitivities");
  LUMEN_CHECK(!s.empty(), op, "expected at least one sensitivity");
  check_finite(s, op, "sensitivities");
  const double mean = sample_mean(s);
  const double std = std::sqrt(variance(s, mean, 0));
  return std > 0 ? r2 * mean / std : 0.0;
}

}  // namespace lumen::xai
