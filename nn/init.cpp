// Initialisers: each draws a fresh tensor of the right distribution and copies it in (init is not hot,
// so clarity wins over saving the temporary).
#include "nn/init.h"

#include <cmath>

#include "autograd/engine.h"

namespace lumen::nn::init {

double calculate_gain(Nonlinearity nl, double param) {
  switch (nl) {
    case Nonlinearity::linear:
    case Nonlinearity::conv:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + param * param));
  }
  return 1.0;
}

std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t) {
  LUMEN_CHECK(t.dim() >= 2, "init", "fan in and fan out need a tensor with at least 2 dims, got shape ", t.shape());
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor uniform_(Tensor t, double a, double b, Generator* gen) {
  autograd::NoGradGuard no_grad;
  t.copy_(uniform(t.shape(), a, b, options_of(t), gen));
  return t;
}

Tensor normal_(Tensor t, double mean, double std, Generator* gen) {
  autograd::NoGradGuard no_grad;
  t.copy_(normal(t.shape(), mean, std, options_of(t), gen));
  return t;
}

Tensor constant_(Tensor t, double value) {
  autograd::NoGradGuard no_grad;
  t.fill_(value);
  return t;
}
Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

namespace {
double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity nl) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  const double fan = static_cast<double>(mode == FanMode::fan_in ? fan_in : fan_out);
  LUMEN_CHECK(fan > 0, "init::kaiming", "zero fan for shape ", t.shape());
  return calculate_gain(nl, a) / std::sqrt(fan);
}
double xavier_std(const Tensor& t, double gain) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  return gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
}
}  // namespace

Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nl, Generator* gen) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nl);  // U(-b, b) has std b/√3
  return uniform_(std::move(t), -bound, bound, gen);
}

Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nl, Generator* gen) {
  const double std = kaiming_std(t, a, mode, nl);
  return normal_(std::move(t), 0.0, std, gen);
}

Tensor xavier_uniform_(Tensor t, double gain, Generator* gen) {
  const double bound = std::sqrt(3.0) * xavier_std(t, gain);
  return uniform_(std::move(t), -bound, bound, gen);
}

Tensor xavier_normal_(Tensor t, double gain, Generator* gen) {
  const double std = xavier_std(t, gain);
  return normal_(std::move(t), 0.0, std, gen);
}

}  // namespace lumen::nn::init
