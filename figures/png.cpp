#include "figures/png.h"

#include <stb_image.h>        // the implementations are in libstb (Debian's libstb-dev)
#include <stb_image_write.h>

#include <string>
#include <vector>

#include "figures/canvas.h"
#include "kernels/core/atomic_file.h"

namespace lumen::figures {

void save_png(const std::string& path, const Tensor& image) {
  Tensor chw = detail::pixels(detail::as_chw(image, "save_png"));
  const std::int64_t c = chw.size(0), h = chw.size(1), w = chw.size(2);
  // PNG wants interleaved 8-bit rows: [H, W, C].
  std::vector<unsigned char> bytes(static_cast<std::size_t>(c * h * w));
  const float* src = chw.data<float>();
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t i = 0; i < h * w; ++i) {
      const float v = src[k * h * w + i];
      const float clamped = v > 0 ? (v < 1 ? v : 1) : 0;  // NaN lands on 0 as well
      bytes[static_cast<std::size_t>(i * c + k)] = static_cast<unsigned char>(clamped * 255.0f + 0.5f);
    }
  // Encoded in memory, then written through an AtomicFile: stb's own file writer reports no error cause
  // and leaves a partial file behind.
  std::string png;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  LUMEN_CHECK(stbi_write_png_to_func(append, &png, static_cast<int>(w), static_cast<int>(h), static_cast<int>(c),
                                     bytes.data(), static_cast<int>(w * c)) != 0,
              "save_png", "cannot encode the ", w, "x", h, " image for '", path, "'");
  write_file_atomically(path, png, "save_png");
}

Tensor read_png(const std::string& path) {
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load(path.c_str(), &w, &h, &c, 0);
  LUMEN_CHECK(px != nullptr, "read_png", "cannot read an image from '", path,
              "': ", stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
  Tensor out = empty({c, h, w});
  float* dst = out.data<float>();
  const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
  for (std::size_t i = 0; i < plane; ++i)  // interleaved [H, W, C] bytes → planar [C, H, W]
    for (std::size_t k = 0; k < static_cast<std::size_t>(c); ++k)
      dst[k * plane + i] = static_cast<float>(px[i * static_cast<std::size_t>(c) + k]) / 255.0f;
  stbi_image_free(px);
  return out;
}

}  // namespace lumen::figures
