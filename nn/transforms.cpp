#include "nn/transforms.h"

#include <cmath>
#include <numbers>

#include "autograd/engine.h"
#include "autograd/ops.h"

namespace lumen::nn {

namespace {

void check_images(const Tensor& images, const char* op) {
  LUMEN_CHECK(images.defined() && (images.dim() == 3 || images.dim() == 4), op,
              "expected images [N, C, H, W] or [N, H, W], got ", images.defined() ? images.str() : "undefined");
  LUMEN_CHECK(is_floating(images.dtype()), op, "expected float32 or float64 images, got ", images.str());
}

void check_factor(double factor, const char* op) {
  LUMEN_CHECK(std::isfinite(factor) && factor >= 0, op, "expected a factor >= 0, got ", factor);
}

}  // namespace

Tensor rotate(const Tensor& images, double degrees, double fill) {
  check_images(images, "rotate");
  LUMEN_CHECK(std::isfinite(degrees) && std::isfinite(fill), "rotate", "expected finite degrees and fill, got ",
              degrees, " and ", fill);
  autograd::NoGradGuard no_grad;
  Tensor src = images.detach().cpu().to(DType::float64).contiguous();
  const std::int64_t h = images.size(-2), w = images.size(-1), planes = h * w == 0 ? 0 : src.numel() / (h * w);
  Tensor out = empty(src.shape(), {.dtype = DType::float64});
  const double* in = src.data<double>();
  double* dst = out.data<double>();
  // The inverse map, from an output pixel to where it reads, in coordinates centred on the image
  // (y down): rotating the picture counter-clockwise on screen reads (cos·x − sin·y, sin·x + cos·y).
  const double theta = degrees * std::numbers::pi / 180.0, c = std::cos(theta), s = std::sin(theta);
  const double cx = 0.5 * static_cast<double>(w - 1), cy = 0.5 * static_cast<double>(h - 1);
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j) {
      const double x = static_cast<double>(j) - cx, y = static_cast<double>(i) - cy;
      const double xs = c * x - s * y + cx, ys = s * x + c * y + cy;
      const double x0 = std::floor(xs), y0 = std::floor(ys), fx = xs - x0, fy = ys - y0;
      // The four neighbours and their bilinear weights; a neighbour outside the input reads `fill`.
      const double weights[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
      const double xn[4] = {x0, x0 + 1, x0, x0 + 1}, yn[4] = {y0, y0, y0 + 1, y0 + 1};
      for (std::int64_t p = 0; p < planes; ++p) {
        double v = 0;
        for (int k = 0; k < 4; ++k) {
          const bool inside = xn[k] >= 0 && xn[k] <= static_cast<double>(w - 1) && yn[k] >= 0 &&
                              yn[k] <= static_cast<double>(h - 1);
          const double value =
              inside ? in[p * h * w + static_cast<std::int64_t>(yn[k]) * w + static_cast<std::int64_t>(xn[k])] : fill;
          v += weights[k] * value;
        }
        dst[p * h * w + i * w + j] = v;
      }
    }
  return out.to(images.dtype()).to(images.device());
}

Tensor add_gaussian_noise(const Tensor& images, double sigma, Generator* gen) {
  check_images(images, "add_gaussian_noise");
  LUMEN_CHECK(std::isfinite(sigma) && sigma >= 0, "add_gaussian_noise", "expected sigma >= 0, got ", sigma);
  autograd::NoGradGuard no_grad;
  Tensor x = images.detach();
  return clamp(x + sigma * randn(x.shape(), options_of(x), gen), 0.0, 1.0);
}

Tensor adjust_contrast(const Tensor& images, double factor) {
  check_images(images, "adjust_contrast");
  check_factor(factor, "adjust_contrast");
  const std::int64_t channels = images.dim() == 4 ? images.size(1) : 1;
  LUMEN_CHECK(channels == 1 || channels == 3, "adjust_contrast", "expected 1 or 3 channels, got ", images.str());
  autograd::NoGradGuard no_grad;
  Tensor x = images.detach();
  Tensor gray_mean;  // per image, broadcastable against x
  if (images.dim() == 3) {
    gray_mean = mean(x, {1, 2}, true);
  } else if (channels == 1) {
    gray_mean = mean(x, {1, 2, 3}, true);
  } else {
    Tensor gray = 0.2989 * select(x, 1, 0) + 0.587 * select(x, 1, 1) + 0.114 * select(x, 1, 2);
    gray_mean = mean(gray, {1, 2}, true).unsqueeze(1);
  }
  return clamp(factor * x + (1.0 - factor) * gray_mean, 0.0, 1.0);
}

Tensor adjust_brightness(const Tensor& images, double factor) {
  check_images(images, "adjust_brightness");
  check_factor(factor, "adjust_brightness");
  autograd::NoGradGuard no_grad;
  return clamp(factor * images.detach(), 0.0, 1.0);
}

}  // namespace lumen::nn
