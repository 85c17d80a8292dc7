// Random fills on CUDA: the same Philox formulas as kernels/cpu/random.cpp, element i from
// (seed, offset + i), so a seeded tensor has the same values on either device.
#include <cmath>

#include "kernels/core/dtype.h"
#include "kernels/cuda/runtime.h"
#include "kernels/kernels.h"
#include "kernels/philox.h"

namespace lumen::kernels::cuda {
namespace {

template <class T> __global__ void uniform_kernel(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double lo, double hi) {
  LUMEN_GRID_STRIDE(i, n) {
    const Philox4 r = philox4x32(offset + i, seed);
    const double u = std::is_same_v<T, float> ? uniform_float(r.v[0]) : uniform_double(r.v[0], r.v[1]);
    p[i] = static_cast<T>(lo + (hi - lo) * u);
  }
}

template <class T> __global__ void normal_kernel(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
  LUMEN_GRID_STRIDE(i, n) {
    const Philox4 r = philox4x32(offset + i, seed);
    const double u1 = 1.0 - uniform_double(r.v[0], r.v[1]);
    const double u2 = uniform_double(r.v[2], r.v[3]);
    p[i] = static_cast<T>(mean + std * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
  }
}

template <class T> __global__ void int_kernel(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset, std::int64_t lo, std::uint64_t range) {
  LUMEN_GRID_STRIDE(i, n) {
    const Philox4 r = philox4x32(offset + i, seed);
    const std::uint64_t w = (static_cast<std::uint64_t>(r.v[0]) << 32) | r.v[1];
    p[i] = static_cast<T>(lo + static_cast<std::int64_t>(w % range));
  }
}

}  // namespace

void random_uniform(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi) {
  visit_floating(out.dtype(), "rand", [&]<class T>() {
    if (out.numel() == 0) return;
    uniform_kernel<T><<<blocks_for(out.numel()), 256, 0, stream_of(out)>>>(out.data<T>(), out.numel(), seed, offset, lo, hi);
    check_launch("rand");
  });
}

void random_normal(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
  visit_floating(out.dtype(), "randn", [&]<class T>() {
    if (out.numel() == 0) return;
    normal_kernel<T><<<blocks_for(out.numel()), 256, 0, stream_of(out)>>>(out.data<T>(), out.numel(), seed, offset, mean, std);
    check_launch("randn");
  });
}

void random_int(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, std::int64_t lo, std::int64_t hi) {
  visit_any(out.dtype(), [&]<class T>() {
    if (out.numel() == 0) return;
    int_kernel<T><<<blocks_for(out.numel()), 256, 0, stream_of(out)>>>(out.data<T>(), out.numel(), seed, offset, lo,
                                                                      static_cast<std::uint64_t>(hi - lo));
    check_launch("randint");
  });
}

}  // namespace lumen::kernels::cuda
