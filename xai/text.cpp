#include "xai/text.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.h"

namespace lumen::xai {

const char* to_string(TokenAggregation a) {
  switch (a) {
    case TokenAggregation::sum: return "sum";
    case TokenAggregation::mean: return "mean";
    case TokenAggregation::l1: return "l1";
    case TokenAggregation::l2: return "l2";
  }
  return "unknown";
}

Tensor aggregate_tokens(const Tensor& attributions, TokenAggregation a) {
  const Tensor& x = attributions;
  LUMEN_CHECK(x.defined() && x.dim() == 3 && (x.dtype() == DType::float32 || x.dtype() == DType::float64),
              "aggregate_tokens", "expected float32/float64 attributions [N, T, D], got ",
              x.defined() ? x.str() : "undefined");
  switch (a) {
    case TokenAggregation::sum: return sum(x, {2});
    case TokenAggregation::mean: return mean(x, {2});
    case TokenAggregation::l1: return sum(abs(x), {2});
    case TokenAggregation::l2: return sqrt(sum(x * x, {2}));
  }
  LUMEN_CHECK(false, "aggregate_tokens", "unknown TokenAggregation ", static_cast<int>(a));
  return {};
}

Tensor token_feature_mask(std::int64_t T, std::int64_t D) {
  std::int64_t n = 0;
  LUMEN_CHECK(T >= 1 && D >= 1 && !__builtin_mul_overflow(T, D, &n), "token_feature_mask",
              "expected T >= 1 tokens and D >= 1 embedding dims (with T·D representable), got T = ", T, ", D = ", D);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t d = 0; d < D; ++d) ids[static_cast<std::size_t>(t * D + d)] = t;
  return tensor_from(ids, {T, D});
}

namespace {

// Σ mass after checking every mass is finite and >= 0 and the sum positive (errors name the side).
double checked_total(const std::map<std::string, double>& m, const char* side) {
  double total = 0;
  for (const auto& [key, mass] : m) {
    LUMEN_CHECK(std::isfinite(mass) && mass >= 0, "hellinger", "distribution ", side, " gives key '", key,
                "' the mass ", mass, "; expected finite masses >= 0");
    total += mass;
  }
  LUMEN_CHECK(total > 0, "hellinger", "distribution ", side, " has ", m.size(),
              " keys and no positive mass; expected a positive total to normalise");
  return total;
}

}  // namespace

double hellinger(const std::map<std::string, double>& p, const std::map<std::string, double>& q) {
  const double tp = checked_total(p, "P"), tq = checked_total(q, "Q");
  double sq = 0;
  auto add = [&](double a, double b) {
    const double d = std::sqrt(a / tp) - std::sqrt(b / tq);
    sq += d * d;
  };
  for (const auto& [key, mass] : p) {
    const auto other = q.find(key);
    add(mass, other == q.end() ? 0.0 : other->second);
  }
  for (const auto& [key, mass] : q)
    if (!p.count(key)) add(0.0, mass);
  return std::min(1.0, std::sqrt(sq / 2));  // rounding could overshoot 1 by an ulp on disjoint supports
}

}  // namespace lumen::xai
