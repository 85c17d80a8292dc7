#include "autograd/random.h"

#include <limits>
#include <numeric>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/kernels.h"

namespace lumen {

Generator& default_generator() {
  static Generator g;
  return g;
}
void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

namespace {
Generator& pick(Generator* g) { return g ? *g : default_generator(); }

Tensor fresh(const Shape& shape, TensorOptions opt, const char* op) {
  LUMEN_CHECK(is_floating(opt.dtype), op, "expected a floating dtype, got ", dtype_name(opt.dtype));
  return empty(shape, {opt.dtype, opt.device});
}

Tensor finish(Tensor t, bool requires_grad) { return requires_grad ? t.requires_grad_() : t; }
}  // namespace

Tensor uniform(const Shape& shape, double lo, double hi, TensorOptions opt, Generator* gen) {
  LUMEN_CHECK(lo <= hi, "uniform", "expected lo <= hi, got ", lo, " > ", hi);
  Tensor t = fresh(shape, opt, "uniform");
  Generator& g = pick(gen);
  kernels::random_uniform(t, g.seed(), g.advance(t.numel()), lo, hi);
  return finish(t, opt.requires_grad);
}

Tensor normal(const Shape& shape, double mean, double std, TensorOptions opt, Generator* gen) {
  LUMEN_CHECK(std >= 0, "normal", "expected std >= 0, got ", std);
  Tensor t = fresh(shape, opt, "normal");
  Generator& g = pick(gen);
  kernels::random_normal(t, g.seed(), g.advance(t.numel()), mean, std);
  return finish(t, opt.requires_grad);
}

Tensor rand(const Shape& shape, TensorOptions opt, Generator* gen) { return uniform(shape, 0.0, 1.0, opt, gen); }
Tensor randn(const Shape& shape, TensorOptions opt, Generator* gen) { return normal(shape, 0.0, 1.0, opt, gen); }

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Device device, Generator* gen) {
  LUMEN_CHECK(low < high, "randint", "expected low < high, got [", low, ", ", high, ")");
  Tensor t = empty(shape, {DType::int64, device});
  Generator& g = pick(gen);
  kernels::random_int(t, g.seed(), g.advance(t.numel()), low, high);
  return t;
}

Tensor randperm(std::int64_t n, Device device, Generator* gen) {
  LUMEN_CHECK(n >= 0, "randperm", "expected n >= 0, got ", n);
  // Fisher-Yates driven by one draw of n integers; j_i is uniform in [0, i] via the 64-bit word mod (i+1).
  Tensor draws = randint(0, std::numeric_limits<std::int64_t>::max(), {n}, kCPU, gen);
  Tensor out = empty({n}, {DType::int64, kCPU});
  std::int64_t* p = out.data<std::int64_t>();
  const std::int64_t* r = draws.data<std::int64_t>();
  std::iota(p, p + n, 0);
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[r[i] % (i + 1)]);
  return out.to(device);
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  LUMEN_CHECK(p.defined() && is_floating(p.dtype()), "bernoulli", "expected a floating tensor of probabilities");
  Tensor u = rand(p.shape(), options_of(p), gen);
  return lt(u, p.detach());
}

Tensor bernoulli(const Shape& shape, double p, TensorOptions opt, Generator* gen) {
  LUMEN_CHECK(p >= 0 && p <= 1, "bernoulli", "expected 0 <= p <= 1, got ", p);
  return lt(rand(shape, {opt.dtype, opt.device}, gen), p);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  LUMEN_CHECK(p >= 0 && p <= 1, "dropout", "expected 0 <= p <= 1, got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  // Keep-mask scaled by 1/(1-p): the expected output equals the input.
  Tensor mask = bernoulli(x.shape(), 1.0 - p, options_of(x), gen) * (1.0 / (1.0 - p));
  return x * mask;
}

}  // namespace lumen
