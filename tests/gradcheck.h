#pragma once
// Gradient checks against central finite differences, in float64.
//
// gradcheck(f, inputs): for random projections v of the output, compares the autograd vector-Jacobian
// product  d<f(x), v>/dx  with  (<f(x + h e_j), v> - <f(x - h e_j), v>) / 2h  for every input element j.
// gradgradcheck(f, inputs): runs gradcheck on x, v -> d<f(x), v>/dx computed with create_graph, which
// checks the backward of the backward (second derivatives, and that backward is linear in v).
// Inputs must be contiguous float64 leaves; test non-contiguous layouts by permuting/slicing inside f.
#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// What a check found: ok, or its first mismatch (for gradcheck: input, element, analytic vs numeric).
struct CheckResult {
  bool ok = true;
  std::string message;
};

CheckResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
                      double rtol = 1e-4, int projections = 2);
CheckResult gradgradcheck(const Fn& f, const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-4,
                          double rtol = 1e-3);

// Random float64 leaf requiring grad (values in [lo, hi)), seeded per call site for reproducibility.
Tensor leaf(const Shape& shape, double lo = -1.0, double hi = 1.0, std::uint64_t seed = 1);

}  // namespace lumen::testing

// doctest helpers: CHECK_GRAD(f, {inputs...}) and CHECK_GRADGRAD(f, {inputs...}).
#define CHECK_GRAD(f, ...)                                                   \
  do {                                                                       \
    auto r_ = ::lumen::testing::gradcheck(f, __VA_ARGS__);                   \
    INFO(r_.message);                                                        \
    CHECK(r_.ok);                                                            \
  } while (0)
#define CHECK_GRADGRAD(f, ...)                                               \
  do {                                                                       \
    auto r_ = ::lumen::testing::gradgradcheck(f, __VA_ARGS__);               \
    INFO(r_.message);                                                        \
    CHECK(r_.ok);                                                            \
  } while (0)
