#include "xai/baselines.h"

#include <cmath>

#include "autograd/ops.h"

namespace lumen::xai {

Tensor uniform_baseline(const Tensor& inputs, double lo, double hi, Generator* gen) {
  return uniform(inputs.shape(), lo, hi, options_of(inputs), gen);
}

Tensor gaussian_kernel1d(double sigma, std::int64_t radius) {
  LUMEN_CHECK(sigma > 0 && radius >= 0, "gaussian_kernel1d", "expected sigma > 0 and radius >= 0, got sigma ",
              sigma, ", radius ", radius);
  std::vector<double> taps(static_cast<std::size_t>(2 * radius + 1));
  double total = 0;
  for (std::int64_t i = -radius; i <= radius; ++i)
    total += taps[static_cast<std::size_t>(i + radius)] = std::exp(-0.5 * double(i * i) / (sigma * sigma));
  for (double& t : taps) t /= total;
  return tensor(taps, {}, {.dtype = DType::float64});
}

namespace {
// Indices 0..n-1 padded by r on each side with scipy's "reflect" rule (d c b a | a b c d | d c b a):
// the edge pixel is repeated, so a constant image stays constant.
Tensor reflect_index(std::int64_t n, std::int64_t r, Device device) {
  std::vector<std::int64_t> idx;
  for (std::int64_t i = -r; i < n + r; ++i) {
    std::int64_t j = i;
    const std::int64_t period = 2 * n;
    j = ((j % period) + period) % period;  // the reflected sequence repeats every 2n
    idx.push_back(j < n ? j : period - 1 - j);
  }
  return tensor_from(idx, {}, device);
}
}  // namespace

Tensor gaussian_blur(const Tensor& images, double sigma, std::int64_t radius) {
  LUMEN_CHECK(images.defined() && (images.dim() == 3 || images.dim() == 4), "gaussian_blur",
              "expected images [N, C, H, W] or [C, H, W], got ", images.defined() ? images.str() : "undefined");
  LUMEN_CHECK(sigma > 0, "gaussian_blur", "expected sigma > 0, got ", sigma);
  if (radius < 0) radius = static_cast<std::int64_t>(std::ceil(3.0 * sigma));
  const bool single = images.dim() == 3;
  Tensor x = single ? images.unsqueeze(0) : images;
  const std::int64_t c = x.size(1), h = x.size(2), w = x.size(3);
  Tensor taps = gaussian_kernel1d(sigma, radius).to(x.dtype()).to(x.device());
  // Depthwise (groups = C) convolutions with a 1×k row kernel, then a k×1 column kernel.
  Tensor row_k = taps.reshape({1, 1, 1, 2 * radius + 1}).expand({c, 1, 1, 2 * radius + 1}).contiguous();
  Tensor col_k = taps.reshape({1, 1, 2 * radius + 1, 1}).expand({c, 1, 2 * radius + 1, 1}).contiguous();
  Conv2dOptions depthwise;
  depthwise.groups = c;
  x = index_select(x, 3, reflect_index(w, radius, x.device()));
  x = conv2d(x, row_k, {}, depthwise);
  x = index_select(x, 2, reflect_index(h, radius, x.device()));
  x = conv2d(x, col_k, {}, depthwise);
  return single ? x.squeeze(0) : x;
}

}  // namespace lumen::xai
