#pragma once
// Binary morphology on small masks, as the DAPI/QuAC evaluation uses it to turn a thresholded
// attribution into a compact region: a closing (dilation, then erosion) with an elliptical
// structuring element fills holes and gaps narrower than the element and leaves convex blobs alone.
//
// Masks are row-major H×W bytes (0 or 1). The element of radius r is OpenCV's
// getStructuringElement(MORPH_ELLIPSE, (2r+1, 2r+1)): row dy (|dy| ≤ r) covers the columns
// |dx| ≤ round(sqrt(r² − dy²)), e.g. r = 1 is the 3×3 cross and r = 2 is a 5×5 disk without its
// four corner triples. Borders follow cv2.morphologyEx's defaults: outside the image counts as
// background for the dilation and as foreground for the erosion, so a closing never removes pixels
// (closing(m) ⊇ m), a blob touching the border is not eaten away, and a strip between a blob and
// the border narrower than the element is filled like any other gap.
// Elements (r ≤ 6) and closings of random masks, borders included, were checked to match OpenCV 4.6
// exactly. Cost: O(H·W·(2r+1)) per operation (each element row is one range query on a row's prefix sums).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/core/error.h"

namespace lumen::xai::morphology {

using Mask = std::vector<std::uint8_t>;

// The half-width of each of the element's 2r + 1 rows (dy = −r .. r).
inline std::vector<std::int64_t> ellipse_half_widths(std::int64_t radius) {
  LUMEN_CHECK(radius >= 0, "ellipse_element", "expected a radius >= 0, got ", radius);
  std::vector<std::int64_t> half;
  for (std::int64_t dy = -radius; dy <= radius; ++dy)
    half.push_back(std::lround(std::sqrt(double(radius * radius - dy * dy))));
  return half;
}

// The element as a (2r+1)×(2r+1) mask.
inline Mask ellipse_element(std::int64_t radius) {
  const auto half = ellipse_half_widths(radius);
  const std::int64_t k = 2 * radius + 1;
  Mask e(static_cast<std::size_t>(k * k), 0);
  for (std::int64_t i = 0; i < k; ++i)
    for (std::int64_t dx = -half[static_cast<std::size_t>(i)]; dx <= half[static_cast<std::size_t>(i)]; ++dx)
      e[static_cast<std::size_t>(i * k + radius + dx)] = 1;
  return e;
}

namespace detail {
inline void check_mask(const Mask& m, std::int64_t h, std::int64_t w, const char* op) {
  LUMEN_CHECK(h >= 1 && w >= 1 && static_cast<std::int64_t>(m.size()) == h * w, op, "expected an ", h, "×", w,
              " mask (", h * w, " bytes), got ", m.size(), " bytes");
}
// out[i, j] = 1 iff some pixel equal to `value` lies under the element centred at (i, j); pixels
// outside the image never count.
inline Mask any_under_element(const Mask& m, std::int64_t h, std::int64_t w, std::int64_t radius, std::uint8_t value) {
  const auto half = ellipse_half_widths(radius);
  // prefix[i][j]: how many of row i's first j pixels equal value.
  std::vector<std::int64_t> prefix(static_cast<std::size_t>(h * (w + 1)), 0);
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j)
      prefix[static_cast<std::size_t>(i * (w + 1) + j + 1)] =
          prefix[static_cast<std::size_t>(i * (w + 1) + j)] + (m[static_cast<std::size_t>(i * w + j)] == value);
  Mask out(m.size(), 0);
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j)
      for (std::int64_t dy = -radius; dy <= radius; ++dy) {
        const std::int64_t r = i + dy;
        if (r < 0 || r >= h) continue;
        const std::int64_t dx = half[static_cast<std::size_t>(dy + radius)];
        const std::int64_t lo = std::max<std::int64_t>(j - dx, 0), hi = std::min<std::int64_t>(j + dx + 1, w);
        if (prefix[static_cast<std::size_t>(r * (w + 1) + hi)] > prefix[static_cast<std::size_t>(r * (w + 1) + lo)]) {
          out[static_cast<std::size_t>(i * w + j)] = 1;
          break;
        }
      }
  return out;
}
}  // namespace detail

// 1 wherever the element centred there touches a 1.
inline Mask dilate(const Mask& m, std::int64_t h, std::int64_t w, std::int64_t radius) {
  detail::check_mask(m, h, w, "dilate");
  return detail::any_under_element(m, h, w, radius, 1);
}

// 1 wherever the element centred there covers only 1s (or the outside): the dual of dilation,
// since the element is symmetric.
inline Mask erode(const Mask& m, std::int64_t h, std::int64_t w, std::int64_t radius) {
  detail::check_mask(m, h, w, "erode");
  Mask hit_zero = detail::any_under_element(m, h, w, radius, 0);
  for (auto& v : hit_zero) v = static_cast<std::uint8_t>(1 - v);
  return hit_zero;
}

// Dilation, then erosion (cv2.MORPH_CLOSE). radius 0 returns the mask unchanged.
inline Mask close(const Mask& m, std::int64_t h, std::int64_t w, std::int64_t radius) {
  detail::check_mask(m, h, w, "close");
  if (radius == 0) return m;
  return erode(dilate(m, h, w, radius), h, w, radius);
}

}  // namespace lumen::xai::morphology
