#pragma once
// Reading pixels of rendered figures in tests (tests/figures/, tests/xai/test_visualize.cpp).
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::testing::pixels {

using Rgb = std::array<float, 3>;

// Pixel (y, x) of an RGB image [3, H, W].
inline Rgb at(const Tensor& img, std::int64_t y, std::int64_t x) {
  const std::int64_t h = img.size(1), w = img.size(2);
  const float* p = img.contiguous().data<float>();
  return {p[y * w + x], p[(h + y) * w + x], p[(2 * h + y) * w + x]};
}

inline bool near(Rgb a, Rgb b, float tol = 1e-5f) {
  for (int k = 0; k < 3; ++k)
    if (std::abs(a[k] - b[k]) > tol) return false;
  return true;
}

// Pixels in rows [y0, y1) × columns [x0, x1) that are not `bg`.
inline std::int64_t count_not(const Tensor& img, std::int64_t y0, std::int64_t y1, std::int64_t x0, std::int64_t x1,
                              Rgb bg = {1, 1, 1}) {
  std::int64_t n = 0;
  for (std::int64_t y = y0; y < y1; ++y)
    for (std::int64_t x = x0; x < x1; ++x) n += !near(at(img, y, x), bg);
  return n;
}

inline std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace lumen::testing::pixels
