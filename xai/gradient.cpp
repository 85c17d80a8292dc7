#include "xai/gradient.h"

#include <cmath>
#include <functional>
#include <numbers>

#include "autograd/engine.h"
#include "autograd/ops.h"

namespace lumen::xai {

Tensor Saliency::attribute(const Tensor& inputs, const Target& target, bool abs) const {
  check_target(target, inputs, "Saliency");
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  Tensor g = target_gradient(f_, inputs, target);
  return abs ? g.abs() : g;
}

Tensor InputXGradient::attribute(const Tensor& inputs, const Target& target) const {
  check_target(target, inputs, "InputXGradient");
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  return inputs.detach() * target_gradient(f_, inputs, target);
}

// ---- integration rules

namespace {
// P_n(z) and P_n'(z): the three-term recurrence k P_k = (2k − 1) z P_{k−1} − (k − 1) P_{k−2} from
// P_0 = 1, P_1 = z, then the derivative (1 − z²) P_n' = n (P_{n−1} − z P_n).
std::pair<double, double> legendre(std::int64_t n, double z) {
  double p0 = 1, p1 = z;
  for (std::int64_t k = 2; k <= n; ++k) {
    const double pk = ((2.0 * double(k) - 1) * z * p1 - (double(k) - 1) * p0) / double(k);
    p0 = p1;
    p1 = pk;
  }
  const double dp = n == 1 ? 1.0 : double(n) * (z * p1 - p0) / (z * z - 1);
  return {p1, dp};
}

// Gauss–Legendre nodes and weights on [-1, 1]: the roots of the Legendre polynomial P_n, found by
// Newton's method from Chebyshev-like starting points (the classic Numerical Recipes approach).
void gauss_legendre(std::int64_t n, std::vector<double>& nodes, std::vector<double>& weights) {
  nodes.assign(static_cast<std::size_t>(n), 0.0);
  weights.assign(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < (n + 1) / 2; ++i) {
    double z = std::cos(std::numbers::pi * (double(i) + 0.75) / (double(n) + 0.5));
    for (int iter = 0; iter < 100; ++iter) {
      const auto [p, dp] = legendre(n, z);
      const double dz = p / dp;
      z -= dz;
      if (std::abs(dz) < 1e-15) break;
    }
    // P_n' at the converged root gives the weight 2 / ((1 − z²) P_n'(z)²).
    const double dp = legendre(n, z).second;
    const double w = 2.0 / ((1 - z * z) * dp * dp);
    nodes[static_cast<std::size_t>(i)] = -z;
    nodes[static_cast<std::size_t>(n - 1 - i)] = z;
    weights[static_cast<std::size_t>(i)] = weights[static_cast<std::size_t>(n - 1 - i)] = w;
  }
}
}  // namespace

std::pair<std::vector<double>, std::vector<double>> integration_points(Integration method, std::int64_t n) {
  LUMEN_CHECK(n >= 1, "integration_points", "expected n_steps >= 1, got ", n);
  LUMEN_CHECK(method != Integration::riemann_trapezoid || n >= 2, "integration_points",
              "the trapezoid rule needs n_steps >= 2, got ", n);
  std::vector<double> alphas(static_cast<std::size_t>(n)), weights(static_cast<std::size_t>(n), 1.0 / double(n));
  const double dn = double(n);
  for (std::int64_t k = 0; k < n; ++k) {
    double& a = alphas[static_cast<std::size_t>(k)];
    switch (method) {
      case Integration::riemann_left: a = double(k) / dn; break;
      case Integration::riemann_right: a = double(k + 1) / dn; break;
      case Integration::riemann_middle: a = (double(k) + 0.5) / dn; break;
      case Integration::riemann_trapezoid:
        a = double(k) / (dn - 1);
        weights[static_cast<std::size_t>(k)] = (k == 0 || k == n - 1 ? 0.5 : 1.0) / (dn - 1);
        break;
      case Integration::gauss_legendre: break;
    }
  }
  if (method == Integration::gauss_legendre) {
    gauss_legendre(n, alphas, weights);
    for (std::size_t k = 0; k < alphas.size(); ++k) {  // [-1, 1] -> [0, 1]
      alphas[k] = 0.5 * (alphas[k] + 1);
      weights[k] *= 0.5;
    }
  }
  return {alphas, weights};
}

// ---- the path-gradient loop shared by Integrated Gradients and GradientSHAP

namespace {
// A column [rows, 1, 1, ...] that broadcasts one value per row against rows of `like`'s sample shape.
Tensor per_row(const std::vector<double>& v, const Tensor& like) {
  Shape s(static_cast<std::size_t>(like.dim()), 1);
  s[0] = static_cast<std::int64_t>(v.size());
  return tensor(v, s, {.dtype = like.dtype(), .device = like.device()});
}

std::int64_t rows_per_pass(std::int64_t requested, std::int64_t total) {
  return requested > 0 ? std::min(requested, total) : total;
}

// One chunk of an expanded batch: the points the gradient is taken at, and the factor each row's
// gradient is multiplied by before it is added into its sample.
struct PathChunk {
  Tensor points;
  Tensor factor;
};
// (first row, number of rows, the rows' sample indices as an int64 tensor) -> the chunk.
using PathChunkFn = std::function<PathChunk(std::int64_t start, std::int64_t rows, const Tensor& samples)>;

// Σ_r factor_r · ∇f_target(points_r) per sample, over the `total` rows of an expanded batch in which
// row r belongs to sample r mod N (N = x.size(0)), evaluated `internal_batch_size` rows per
// forward/backward pass (0 = all at once; the sum does not depend on it).
Tensor sum_path_gradients(const ForwardFn& f, const Tensor& x, const Target& target, std::int64_t total,
                          std::int64_t internal_batch_size, const PathChunkFn& chunk) {
  const std::int64_t n = x.size(0);
  Tensor sum = zeros_like(x);
  const std::int64_t pass = rows_per_pass(internal_batch_size, total);
  for (std::int64_t start = 0; start < total; start += pass) {
    const std::int64_t rows = std::min(pass, total - start);
    std::vector<std::int64_t> sample, classes;
    for (std::int64_t r = start; r < start + rows; ++r) {
      sample.push_back(r % n);
      classes.push_back(target.at(r % n));
    }
    const Tensor idx = tensor_from(sample, {}, x.device());
    const PathChunk c = chunk(start, rows, idx);
    const Tensor g = target_gradient(f, c.points, Target(classes));  // autograd::grad
    sum = index_add(sum, 0, idx, g * c.factor);
  }
  return sum;
}
}  // namespace

// ---- Integrated Gradients

Tensor IntegratedGradients::attribute(const Tensor& inputs, const Target& target, const Baseline& baselines,
                                      const IGOptions& opt) const {
  check_target(target, inputs, "IntegratedGradients");
  LUMEN_CHECK(opt.internal_batch_size >= 0, "IntegratedGradients", "expected internal_batch_size >= 0, got ",
              opt.internal_batch_size);
  const auto [alphas, weights] = integration_points(opt.method, opt.n_steps);
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  const Tensor x = inputs.detach();
  const Tensor b = baselines.expand(x, "IntegratedGradients");
  const Tensor d = x - b;
  const std::int64_t n = x.size(0), pass = rows_per_pass(opt.internal_batch_size, opt.n_steps * n);

  if (pass % n == 0) {
    // Whole steps per pass (always, unless internal_batch_size cuts a step): steps [k0, k0 + S) are
    // one broadcast interpolation over [S, N, ...], one autograd::grad, and one weighted sum over the
    // steps, the product w [1, S] · ∇f [S, N·F].
    const std::int64_t per_pass = pass / n;
    std::vector<std::int64_t> classes;
    for (std::int64_t r = 0; r < pass; ++r) classes.push_back(target.at(r % n));
    Shape points_shape = x.shape(), column(static_cast<std::size_t>(x.dim() + 1), 1);
    Tensor grad_sum;
    for (std::int64_t k0 = 0; k0 < opt.n_steps; k0 += per_pass) {
      const std::int64_t S = std::min(per_pass, opt.n_steps - k0);
      const auto at = [&](const std::vector<double>& v) {
        return std::vector<double>(v.begin() + k0, v.begin() + k0 + S);
      };
      points_shape[0] = S * n;
      column[0] = S;
      const Tensor alpha = tensor(at(alphas), column, {.dtype = x.dtype(), .device = x.device()});
      const Tensor points = reshape(unsqueeze(b, 0) + alpha * unsqueeze(d, 0), points_shape);  // the interpolation
      const Tensor g = target_gradient(f_, points, Target(std::vector<std::int64_t>(classes.begin(), classes.begin() + S * n)));
      const Tensor w = tensor(at(weights), {1, S}, {.dtype = x.dtype(), .device = x.device()});
      const Tensor part = reshape(matmul(w, reshape(g, {S, -1})), x.shape());  // Σ_k w_k ∇f(x' + α_k (x − x'))
      grad_sum = grad_sum.defined() ? grad_sum + part : part;
    }
    return d * grad_sum;
  }

  // A pass that ends inside a step: the rows of the expanded batch (row r = k·N + i is sample i at α_k)
  // gathered pass by pass, each gradient weighted by its w_k and added into its sample.
  auto step = [&](std::int64_t start, std::int64_t rows, const Tensor& idx) {
    std::vector<double> alpha, weight;
    for (std::int64_t r = start; r < start + rows; ++r) {
      alpha.push_back(alphas[static_cast<std::size_t>(r / n)]);
      weight.push_back(weights[static_cast<std::size_t>(r / n)]);
    }
    const Tensor xs = index_select(x, 0, idx), bs = index_select(b, 0, idx);
    return PathChunk{bs + per_row(alpha, xs) * (xs - bs), per_row(weight, xs)};  // the interpolation
  };
  return d * sum_path_gradients(f_, x, target, opt.n_steps * n, opt.internal_batch_size, step);
}

AttributionAndDelta IntegratedGradients::attribute_with_delta(const Tensor& inputs, const Target& target,
                                                              const Baseline& baselines, const IGOptions& opt) const {
  Tensor attr = attribute(inputs, target, baselines, opt);
  if (is_empty_batch(inputs)) return {attr, empty_attributions(inputs, {0})};
  // Completeness: Σ attr should equal F(x) − F(x'); the difference is the integration error.
  // (Rows N..2N−1 are the baselines; Target::select maps row r to sample r mod N.)
  const Tensor x = inputs.detach();
  const Tensor b = baselines.expand(x, "IntegratedGradients");
  const std::int64_t n = x.size(0);
  const Tensor ends = target_scores(f_, cat({x, b}, 0), target);
  const Tensor gap = ends.narrow(0, 0, n) - ends.narrow(0, n, n);
  const Tensor delta = attr.flatten(1).sum({1}) - gap.to(attr.dtype());
  return {attr, delta};
}

// ---- NoiseTunnel

Tensor NoiseTunnel::attribute(const Tensor& inputs, const Target& target, const NoiseOptions& opt) const {
  check_target(target, inputs, "NoiseTunnel");
  LUMEN_CHECK(opt.n_samples >= 1 && opt.stdev >= 0 && opt.samples_per_pass >= 0, "NoiseTunnel",
              "expected n_samples >= 1, stdev >= 0 and samples_per_pass >= 0, got ", opt.n_samples, ", ", opt.stdev,
              ", ", opt.samples_per_pass);
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  const Tensor x = inputs.detach();
  const std::int64_t n = x.size(0);
  const std::int64_t per_pass = rows_per_pass(opt.samples_per_pass, opt.n_samples);
  Tensor sum = zeros_like(x), sum_sq = zeros_like(x);
  for (std::int64_t done = 0; done < opt.n_samples; done += per_pass) {
    const std::int64_t s = std::min(per_pass, opt.n_samples - done);
    // s noisy copies, block by block, with each row's target repeated to match.
    Tensor noisy = repeat_batch(x, s);
    noisy = noisy + normal(noisy.shape(), 0.0, opt.stdev, options_of(noisy), opt.generator);
    std::vector<std::int64_t> classes;
    for (std::int64_t r = 0; r < s * n; ++r) classes.push_back(target.at(r % n));
    Tensor a = method_(noisy, Target(classes)).detach();
    Shape blocks = x.shape();
    blocks.insert(blocks.begin(), s);
    a = a.reshape(blocks);
    sum = sum + a.sum({0});
    sum_sq = sum_sq + square(a).sum({0});
  }
  const double k = double(opt.n_samples);
  switch (opt.type) {
    case NoiseType::smoothgrad: return sum / k;
    case NoiseType::smoothgrad_sq: return sum_sq / k;
    case NoiseType::vargrad: return sum_sq / k - square(sum / k);  // E[a²] − E[a]²
  }
  return {};
}

// ---- GradientSHAP

Tensor GradientShap::attribute(const Tensor& inputs, const Target& target, const Tensor& baselines,
                               const GradientShapOptions& opt) const {
  check_target(target, inputs, "GradientShap");
  LUMEN_CHECK(opt.n_samples >= 1 && opt.stdev >= 0 && opt.internal_batch_size >= 0, "GradientShap",
              "expected n_samples >= 1, stdev >= 0 and internal_batch_size >= 0");
  if (is_empty_batch(inputs)) return empty_attributions(inputs);
  const Tensor x = inputs.detach();
  Tensor dist = baselines.defined() ? baselines.detach() : zeros_like(x.narrow(0, 0, 1));
  if (dist.dim() == x.dim() - 1) dist = dist.unsqueeze(0);
  LUMEN_CHECK(dist.dim() == x.dim() && Shape(dist.shape().begin() + 1, dist.shape().end()) ==
                                            Shape(x.shape().begin() + 1, x.shape().end()),
              "GradientShap", "baselines ", dist.shape(), " must be [B, ...] with the inputs' sample shape, inputs ",
              x.shape());
  dist = dist.to(x.dtype());
  const std::int64_t n = x.size(0), total = opt.n_samples * n, nb = dist.size(0);
  // Every draw up front (so internal_batch_size cannot change them): a baseline index and α per row.
  const std::vector<std::int64_t> pick = randint(0, nb, {total}, kCPU, opt.generator).to_vector<std::int64_t>();
  const std::vector<double> alpha = rand({total}, {.dtype = DType::float64}, opt.generator).to_vector<double>();
  Shape rows_shape = x.shape();
  rows_shape[0] = total;
  const Tensor noise = opt.stdev > 0 ? normal(rows_shape, 0.0, opt.stdev, options_of(x), opt.generator) : Tensor();

  // Row r = k·N + i is draw k for sample i: the gradient at a random point between the (noisy) input
  // and a random baseline, times their difference.
  auto draw = [&](std::int64_t start, std::int64_t rows, const Tensor& idx) {
    std::vector<std::int64_t> base;
    std::vector<double> a;
    for (std::int64_t r = start; r < start + rows; ++r) {
      base.push_back(pick[static_cast<std::size_t>(r)]);
      a.push_back(alpha[static_cast<std::size_t>(r)]);
    }
    Tensor xs = index_select(x, 0, idx);
    if (noise.defined()) xs = xs + noise.narrow(0, start, rows);
    const Tensor bs = index_select(dist, 0, tensor_from(base, {}, x.device()));
    return PathChunk{bs + per_row(a, xs) * (xs - bs), xs - bs};
  };
  const Tensor sum = sum_path_gradients(f_, x, target, total, opt.internal_batch_size, draw);
  return sum / double(opt.n_samples);
}

}  // namespace lumen::xai
