// Random fills from the Philox stream (kernels/philox.h); outputs are contiguous.
#include <cmath>

#include "kernels/cpu/loops.h"
#include "kernels/kernels.h"
#include "kernels/philox.h"

namespace lumen::kernels::cpu {

void random_uniform(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi) {
  visit_floating(out.dtype(), "rand", [&]<class T>() {
    T* p = out.data<T>();
    parallel_for(out.numel(), 4096, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        Philox4 r = philox4x32(offset + i, seed);
        double u = std::is_same_v<T, float> ? uniform_float(r.v[0]) : uniform_double(r.v[0], r.v[1]);
        p[i] = static_cast<T>(lo + (hi - lo) * u);
      }
    });
  });
}

void random_normal(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
  visit_floating(out.dtype(), "randn", [&]<class T>() {
    T* p = out.data<T>();
    parallel_for(out.numel(), 4096, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        // Box-Muller on two uniforms; 1 - u keeps the log's argument in (0, 1].
        Philox4 r = philox4x32(offset + i, seed);
        double u1 = 1.0 - uniform_double(r.v[0], r.v[1]);
        double u2 = uniform_double(r.v[2], r.v[3]);
        p[i] = static_cast<T>(mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
      }
    });
  });
}

void random_int(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, std::int64_t lo, std::int64_t hi) {
  const std::uint64_t range = static_cast<std::uint64_t>(hi - lo);
  visit_any(out.dtype(), [&]<class T>() {
    T* p = out.data<T>();
    parallel_for(out.numel(), 4096, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        Philox4 r = philox4x32(offset + i, seed);
        std::uint64_t w = (static_cast<std::uint64_t>(r.v[0]) << 32) | r.v[1];
        p[i] = static_cast<T>(lo + static_cast<std::int64_t>(w % range));  // bias < range / 2^64
      }
    });
  });
}

}  // namespace lumen::kernels::cpu
