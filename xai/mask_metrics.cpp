#include "xai/mask_metrics.h"

#include <vector>

#include "kernels/core/checked.h"
#include "kernels/core/error.h"

namespace lumen::xai {

namespace {
void check_binary(const morphology::Mask& m, const char* op, const char* what) {
  for (std::size_t i = 0; i < m.size(); ++i)
    LUMEN_CHECK(m[i] <= 1, op, "expected a 0/1 ", what, " mask, got ", int(m[i]), " at ", i);
}
}  // namespace

double dice(const morphology::Mask& prediction, const morphology::Mask& truth) {
  LUMEN_CHECK(prediction.size() == truth.size(), "dice", "expected masks of the same size, got ", prediction.size(),
              " and ", truth.size(), " pixels");
  check_binary(prediction, "dice", "prediction");
  check_binary(truth, "dice", "truth");
  std::int64_t both = 0, sizes = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    both += prediction[i] & truth[i];
    sizes += prediction[i] + truth[i];
  }
  return sizes == 0 ? 1.0 : 2.0 * static_cast<double>(both) / static_cast<double>(sizes);
}

morphology::Mask remove_small_components(const morphology::Mask& mask, std::int64_t height, std::int64_t width,
                                         std::int64_t max_size, int connectivity) {
  const char* op = "remove_small_components";
  LUMEN_CHECK(height >= 1 && width >= 1, op, "expected height, width >= 1, got ", height, "×", width);
  const std::int64_t pixels = checked_mul(height, width, op, "height × width");
  LUMEN_CHECK(static_cast<std::int64_t>(mask.size()) == pixels, op, "expected a ", height, "×", width, " mask (",
              pixels, " bytes), got ", mask.size(), " bytes");
  LUMEN_CHECK(connectivity == 4 || connectivity == 8, op, "expected connectivity 4 or 8, got ", connectivity);
  LUMEN_CHECK(max_size >= 0, op, "expected max_size >= 0, got ", max_size);
  check_binary(mask, op, "input");

  morphology::Mask out = mask;
  std::vector<std::uint8_t> seen(mask.size(), 0);
  std::vector<std::int64_t> component, stack;
  for (std::int64_t start = 0; start < pixels; ++start) {
    if (!mask[static_cast<std::size_t>(start)] || seen[static_cast<std::size_t>(start)]) continue;
    // Flood fill (explicit stack: a component may be the whole image).
    component.clear();
    stack.assign(1, start);
    seen[static_cast<std::size_t>(start)] = 1;
    while (!stack.empty()) {
      const std::int64_t p = stack.back();
      stack.pop_back();
      component.push_back(p);
      const std::int64_t y = p / width, x = p % width;
      for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
          if ((dy == 0 && dx == 0) || (connectivity == 4 && dy != 0 && dx != 0)) continue;
          const std::int64_t ny = y + dy, nx = x + dx;
          if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
          const auto q = static_cast<std::size_t>(ny * width + nx);
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack.push_back(static_cast<std::int64_t>(q));
          }
        }
    }
    if (static_cast<std::int64_t>(component.size()) <= max_size)
      for (std::int64_t p : component) out[static_cast<std::size_t>(p)] = 0;
  }
  return out;
}

morphology::Mask threshold_mask(const Tensor& map, double threshold) {
  LUMEN_CHECK(map.defined() && (map.dim() == 2 || (map.dim() == 3 && map.size(0) == 1)), "threshold_mask",
              "expected a map [H, W] or [1, H, W], got ", map.defined() ? map.str() : "undefined");
  LUMEN_CHECK(is_floating(map.dtype()), "threshold_mask", "expected a floating-point map, got ", map.str());
  const auto values = map.to_vector<double>();
  morphology::Mask out(values.size(), 0);
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i] > threshold ? 1 : 0;
  return out;
}

}  // namespace lumen::xai
