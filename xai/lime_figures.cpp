#include "xai/lime_figures.h"

#include <algorithm>
#include <vector>

#include "figures/canvas.h"
#include "kernels/core/error.h"
#include "xai/lime.h"

namespace lumen::xai {

namespace {

// The image as RGB [3, H, W] float32 values (gray repeated), clamped to [0, 1].
std::vector<float> rgb_of(const Tensor& image, const char* op, std::int64_t& h, std::int64_t& w) {
  Tensor img = figures::detail::pixels(figures::detail::as_chw(image, op));
  const std::int64_t c = img.size(0);
  h = img.size(1), w = img.size(2);
  const float* src = img.data<float>();
  std::vector<float> out(static_cast<std::size_t>(3 * h * w));
  for (std::int64_t k = 0; k < 3; ++k)
    for (std::int64_t e = 0; e < h * w; ++e)
      out[static_cast<std::size_t>(k * h * w + e)] = std::clamp(src[(c == 1 ? 0 : k) * h * w + e], 0.0f, 1.0f);
  return out;
}

std::vector<std::int64_t> segment_ids(const Tensor& segments, std::int64_t h, std::int64_t w, const char* op) {
  LUMEN_CHECK(segments.defined() && segments.dtype() == DType::int64 && segments.dim() == 2 &&
                  segments.size(0) == h && segments.size(1) == w,
              op, "expected int64 segments [", h, ", ", w, "] to match the image, got ",
              segments.defined() ? segments.str() : "undefined");
  return segments.to_vector<std::int64_t>();
}

// Paints the pixels with a 4-neighbour in another segment.
void paint_boundaries(std::vector<float>& rgb, const std::vector<std::int64_t>& ids, std::int64_t h, std::int64_t w,
                      std::array<float, 3> color) {
  auto id = [&](std::int64_t i, std::int64_t j) { return ids[static_cast<std::size_t>(i * w + j)]; };
  std::vector<char> edge(static_cast<std::size_t>(h * w), 0);
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j) {
      const std::int64_t v = id(i, j);
      edge[static_cast<std::size_t>(i * w + j)] = (i > 0 && id(i - 1, j) != v) || (i + 1 < h && id(i + 1, j) != v) ||
                                                 (j > 0 && id(i, j - 1) != v) || (j + 1 < w && id(i, j + 1) != v);
    }
  const auto plane = static_cast<std::size_t>(h * w);
  for (std::size_t e = 0; e < plane; ++e)
    if (edge[e])
      for (std::size_t k = 0; k < 3; ++k) rgb[k * plane + e] = color[k];
}

Tensor to_tensor(const std::vector<float>& rgb, std::int64_t h, std::int64_t w) {
  Tensor out = empty({3, h, w});
  std::copy(rgb.begin(), rgb.end(), out.data<float>());
  return out;
}

}  // namespace

Tensor mark_boundaries(const Tensor& image, const Tensor& segments, std::array<float, 3> color) {
  std::int64_t h = 0, w = 0;
  std::vector<float> rgb = rgb_of(image, "mark_boundaries", h, w);
  paint_boundaries(rgb, segment_ids(segments, h, w, "mark_boundaries"), h, w, color);
  return to_tensor(rgb, h, w);
}

Tensor lime_top_features(const Tensor& image, const Tensor& segments, const Tensor& coefficients_row, std::int64_t k,
                         bool positive_only, bool hide_rest) {
  const char* op = "lime_top_features";
  std::int64_t h = 0, w = 0;
  const std::vector<float> rgb = rgb_of(image, op, h, w);
  const std::vector<std::int64_t> ids = segment_ids(segments, h, w, op);
  const Tensor& row = coefficients_row;
  LUMEN_CHECK(row.defined() && (row.dim() == 1 || (row.dim() == 2 && row.size(0) == 1)) && is_floating(row.dtype()),
              op, "expected floating coefficients [F] or [1, F], got ", row.defined() ? row.str() : "undefined");
  LUMEN_CHECK(k >= 0, op, "expected k >= 0, got ", k);
  const std::vector<double> coef = row.to_vector<double>();
  const auto f = static_cast<std::int64_t>(coef.size());
  for (std::int64_t id : ids)
    LUMEN_CHECK(id >= 0 && id < f, op, "segment id ", id, " has no coefficient; expected ids 0..", f - 1);

  // shown[id]: 0 = hidden, 1 = shown as is / tinted green, 2 = tinted red.
  std::vector<std::int64_t> shown(static_cast<std::size_t>(f), 0);
  std::int64_t taken = 0;
  for (std::int64_t j : top_k_features(coefficients_row, f, /*by_abs=*/!positive_only)) {  // checks the row
    const double c = coef[static_cast<std::size_t>(j)];
    if (taken == k || c == 0 || (positive_only && c < 0)) continue;
    shown[static_cast<std::size_t>(j)] = c > 0 ? 1 : 2, ++taken;
  }

  const std::int64_t n = h * w;
  std::vector<float> out(rgb.size());
  std::vector<std::int64_t> mask(static_cast<std::size_t>(n));
  for (std::int64_t e = 0; e < n; ++e) {
    const std::int64_t s = shown[static_cast<std::size_t>(ids[static_cast<std::size_t>(e)])];
    mask[static_cast<std::size_t>(e)] = s;
    const float gray = (rgb[static_cast<std::size_t>(e)] + rgb[static_cast<std::size_t>(n + e)] +
                        rgb[static_cast<std::size_t>(2 * n + e)]) / 3.0f;
    for (std::int64_t ch = 0; ch < 3; ++ch) {
      const float v = rgb[static_cast<std::size_t>(ch * n + e)];
      const float tint = (s == 1 && ch == 1) || (s == 2 && ch == 0) ? 1.0f : 0.0f;
      out[static_cast<std::size_t>(ch * n + e)] = s == 0 ? (hide_rest ? 0.0f : gray)
                                                  : positive_only ? v
                                                                  : 0.5f * v + 0.5f * tint;
    }
  }
  paint_boundaries(out, mask, h, w, {1, 1, 0});
  return to_tensor(out, h, w);
}

}  // namespace lumen::xai
