#pragma once
// Seeded, reproducible random numbers. A Generator is a seed plus an offset into the Philox stream
// (kernels/philox.h); each draw of n numbers takes the next n positions. The same seed therefore gives
// the same tensors on every run, thread count and device.
#include <cstdint>

#include "autograd/tensor.h"

namespace lumen {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) : seed_(seed) {}
  void manual_seed(std::uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }
  // Reserves n stream positions and returns the first.
  std::uint64_t advance(std::uint64_t n) {
    std::uint64_t o = offset_;
    offset_ += n;
    return o;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

// The generator used when none is passed.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

Tensor rand(const Shape& shape, TensorOptions opt = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions opt = {}, Generator* gen = nullptr);  // N(0, 1)
Tensor uniform(const Shape& shape, double lo, double hi, TensorOptions opt = {}, Generator* gen = nullptr);
Tensor normal(const Shape& shape, double mean, double std, TensorOptions opt = {}, Generator* gen = nullptr);
// Integers in [low, high), int64 unless opt.dtype says otherwise.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Device device = kCPU, Generator* gen = nullptr);
Tensor randperm(std::int64_t n, Device device = kCPU, Generator* gen = nullptr);  // int64
// 1 with probability p (elementwise), else 0; same dtype/device as p. Not differentiable.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
Tensor bernoulli(const Shape& shape, double p, TensorOptions opt = {}, Generator* gen = nullptr);
// Zeroes each element with probability p and scales the rest by 1/(1-p) in training; identity otherwise.
// The gradient flows through the same mask.
Tensor dropout(const Tensor& x, double p, bool training = true, Generator* gen = nullptr);

}  // namespace lumen
