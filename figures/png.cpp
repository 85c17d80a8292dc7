#include "figures/png.h"

#include <stb_image_write.h>  // the implementation is in libstb (Debian's libstb-dev); writing only

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

Tensor read_png(const std::string& path, const PngReadOptions& opt) {
  Tensor out;
  std::int64_t w = 0, plane = 0, c = 0;
  read_png_rows(
      path, "read_png", opt,
      [&](const PngHeader& h) {
        out = empty({h.channels, h.height, h.width});
        w = h.width, plane = h.width * h.height, c = h.channels;
      },
      [&](std::int64_t y, const std::uint8_t* row) {  // interleaved [W, C] bytes → planar [C, H, W]
        float* dst = out.data<float>() + y * w;
        for (std::int64_t x = 0; x < w; ++x)
          for (std::int64_t k = 0; k < c; ++k) dst[k * plane + x] = static_cast<float>(row[x * c + k]) / 255.0f;
      });
  return out;
}

}  // namespace lumen::figures
