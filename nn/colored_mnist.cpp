#include "nn/colored_mnist.h"

#include "autograd/random.h"

namespace lumen::nn {

std::array<float, 3> colormap_color(std::int64_t c, float t) {
  switch (c) {
    case 0: return {1.0f, t, 1.0f - t};                  // spring
    case 1: return {t, 0.5f + 0.5f * t, 0.4f};           // summer
    case 2: return {1.0f, t, 0.0f};                      // autumn
    case 3: return {0.0f, t, 1.0f - 0.5f * t};           // winter
  }
  lumen::detail::fail("colormap_color", "expected a class in 0..3, got ", c);
}

ColoredMnist make_colored_mnist(const Tensor& gray_in, const Tensor& digits, std::uint64_t seed) {
  LUMEN_CHECK(gray_in.defined() && gray_in.dim() == 3 && gray_in.dtype() == DType::float32, "make_colored_mnist",
              "expected float32 gray images [N, H, W], got ", gray_in.str());
  const std::int64_t n = gray_in.size(0), hw = gray_in.size(1) * gray_in.size(2);
  LUMEN_CHECK(digits.defined() && digits.dim() == 1 && digits.size(0) == n, "make_colored_mnist",
              "expected digit labels [", n, "] to match the images, got ", digits.str());

  Generator gen(seed);
  ColoredMnist out;
  out.labels = randint(0, kColoredMnistClasses, {n}, kCPU, &gen);
  out.t = rand({n}, {.dtype = DType::float32}, &gen);
  out.digits = digits.detach().cpu().to(DType::int64).contiguous();
  out.images = empty({n, 3, gray_in.size(1), gray_in.size(2)}, {.dtype = DType::float32});

  const Tensor gray = gray_in.detach().cpu().contiguous();
  const float* g = gray.data<float>();
  const std::int64_t* c = out.labels.data<std::int64_t>();
  const float* t = out.t.data<float>();
  float* img = out.images.data<float>();
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    const std::array<float, 3> rgb = colormap_color(c[i], t[i]);
    for (int ch = 0; ch < 3; ++ch) {
      float* dst = img + (i * 3 + ch) * hw;
      const float* src = g + i * hw;
      for (std::int64_t p = 0; p < hw; ++p) dst[p] = src[p] * rgb[ch];
    }
  }
  return out;
}

}  // namespace lumen::nn
