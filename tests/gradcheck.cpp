#include "tests/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"

namespace lumen::testing {

Tensor leaf(const Shape& shape, double lo, double hi, std::uint64_t seed) {
  Generator g(seed * 7919 + shape_numel(shape));
  return uniform(shape, lo, hi, {DType::float64}, &g).requires_grad_();
}

namespace {

double project(const Tensor& y, const Tensor& v) {
  autograd::NoGradGuard ng;
  return sum(mul(y.contiguous(), v)).item();
}

}  // namespace

CheckResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps, double atol, double rtol,
                      int projections) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].is_contiguous() || inputs[i].dtype() != DType::float64 || !inputs[i].is_leaf())
      return {false, "gradcheck: input " + std::to_string(i) + " must be a contiguous float64 leaf"};
  Generator gen(12345);
  for (int p = 0; p < projections; ++p) {
    Tensor y = f(inputs);
    if (!y.requires_grad()) return {false, "gradcheck: the output does not require grad"};
    Tensor v = normal(y.shape(), 0.0, 1.0, {DType::float64}, &gen);
    std::vector<Tensor> want;
    for (const Tensor& in : inputs) want.push_back(in);
    std::vector<Tensor> g = autograd::grad({y}, want, {v}, {.allow_unused = true});
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      double* x = inputs[i].data<double>();
      std::vector<double> analytic = g[i].to_vector<double>();
      if (static_cast<std::int64_t>(analytic.size()) != inputs[i].numel())
        return {false, "gradcheck: gradient of input " + std::to_string(i) + " has the wrong size"};
      for (std::int64_t j = 0; j < inputs[i].numel(); ++j) {
        const double orig = x[j];
        x[j] = orig + eps;
        double up = project(f(inputs), v);
        x[j] = orig - eps;
        double down = project(f(inputs), v);
        x[j] = orig;
        double numeric = (up - down) / (2 * eps);
        if (!(std::abs(numeric - analytic[j]) <= atol + rtol * std::abs(numeric))) {
          std::ostringstream os;
          os << "gradcheck: input " << i << " element " << j << ": analytic " << analytic[j] << " vs numeric "
             << numeric << " (projection " << p << ")";
          return {false, os.str()};
        }
      }
    }
  }
  return {true, ""};
}

CheckResult gradgradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  Tensor y0 = f(inputs);
  Tensor v = leaf(y0.shape(), -1.0, 1.0, 99);
  std::vector<Tensor> all = inputs;
  all.push_back(v);
  const std::size_t n = inputs.size();
  Fn first_derivative = [f, n](const std::vector<Tensor>& xs) {
    std::vector<Tensor> ins(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n));
    Tensor y = f(ins);
    std::vector<Tensor> g = autograd::grad({y}, ins, {xs[n]}, {.create_graph = true, .allow_unused = true});
    std::vector<Tensor> flat;
    for (auto& t : g) flat.push_back(reshape(t, {-1}));
    return cat(flat, 0);
  };
  return gradcheck(first_derivative, all, eps, atol, rtol, 1);
}

}  // namespace lumen::testing
