#pragma once
// Small helpers for the op tests.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"

namespace lumen::testing {

inline Tensor f64(std::vector<double> v, Shape shape = {}) { return tensor(v, shape, {.dtype = DType::float64}); }

// A float64 vector, a leaf that requires grad unless rg is false; and a tensor's values (the engine tests).
inline Tensor vec(std::vector<double> v, bool rg = true) {
  return tensor(v, {static_cast<std::int64_t>(v.size())}, {.dtype = DType::float64, .requires_grad = rg});
}
inline std::vector<double> val(const Tensor& t) { return t.to_vector<double>(); }

// Every element of t within tol of want (and the sizes agree).
inline bool allclose(const Tensor& t, const std::vector<double>& want, double tol = 1e-6) {
  auto got = t.to_vector<double>();
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])))) return false;
  return true;
}

}  // namespace lumen::testing

#define CHECK_VALUES(t, ...)                                                         \
  do {                                                                               \
    const ::lumen::Tensor values_ = (t);                                             \
    INFO("got " << values_);                                                         \
    CHECK(::lumen::testing::allclose(values_, __VA_ARGS__));                         \
  } while (0)
