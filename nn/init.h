#pragma once
// Weight initialisers, as torch.nn.init. Each fills its tensor in place (under NoGradGuard, so it works
// on parameters that require grad) and returns it. The random ones draw from `gen`, or from the default
// generator (lumen::manual_seed) when it is null.
//
// Fans: for a weight [out, in, k...], fan_in = in * prod(k) and fan_out = out * prod(k), as PyTorch
// computes them (for a transposed conv's [in, out/groups, k...] that makes fan_in = out/groups * prod(k),
// PyTorch's convention too).
#include <utility>

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace lumen::nn::init {

enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu };
enum class FanMode { fan_in, fan_out };

// The gain that keeps activations' variance steady through the nonlinearity: 1 for linear/conv/
// sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu.
double calculate_gain(Nonlinearity nl, double param = 0.01);
std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t);  // t has >= 2 dims

Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0, Generator* gen = nullptr);
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);

// He et al. 2015: std = gain / √fan, gain = calculate_gain(nl, a); uniform bound √3 · std.
// PyTorch's Linear/Conv default is kaiming_uniform_(w, √5), whose bound works out to 1/√fan_in.
Tensor kaiming_uniform_(Tensor t, double a = 0.0, FanMode mode = FanMode::fan_in,
                        Nonlinearity nl = Nonlinearity::leaky_relu, Generator* gen = nullptr);
Tensor kaiming_normal_(Tensor t, double a = 0.0, FanMode mode = FanMode::fan_in,
                       Nonlinearity nl = Nonlinearity::leaky_relu, Generator* gen = nullptr);
// Glorot & Bengio 2010: std = gain · √(2 / (fan_in + fan_out)); uniform bound √3 · std.
Tensor xavier_uniform_(Tensor t, double gain = 1.0, Generator* gen = nullptr);
Tensor xavier_normal_(Tensor t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace lumen::nn::init
