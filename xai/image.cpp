#include "xai/image.h"

#include <stb_image_write.h>  // the implementation is in libstb (Debian's libstb-dev)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "autograd/ops.h"

namespace lumen::xai {

namespace {

// A float32 CPU copy, contiguous, with no history: what the pixel loops below read.
Tensor pixels(const Tensor& t) {
  Tensor c = t.detach().cpu();
  if (c.dtype() != DType::float32) c = c.to(DType::float32);
  return c.contiguous();
}

// [H, W] → [1, H, W]; checks the image layout every function here expects.
Tensor as_chw(const Tensor& image, const char* op) {
  LUMEN_CHECK(image.defined() && (image.dim() == 2 || image.dim() == 3), op,
              "expected an image [H, W] or [C, H, W], got ", image.defined() ? image.str() : "undefined");
  Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image;
  LUMEN_CHECK(chw.size(0) == 1 || chw.size(0) == 3, op, "expected 1 or 3 channels, got shape ", image.shape());
  LUMEN_CHECK(is_floating(chw.dtype()), op, "expected a floating image, got ", image.str());
  return chw;
}

// An RGB canvas in planar layout (as the tensors), with the few drawing calls the matrix needs.
struct Canvas {
  std::int64_t h, w;
  std::vector<float> px;  // [3, h, w]
  Canvas(std::int64_t h_, std::int64_t w_, float fill) : h(h_), w(w_), px(static_cast<std::size_t>(3 * h * w), fill) {}

  void rect(std::int64_t y0, std::int64_t x0, std::int64_t hh, std::int64_t ww, std::array<float, 3> rgb) {
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t y = std::max<std::int64_t>(y0, 0); y < std::min(y0 + hh, h); ++y)
        for (std::int64_t x = std::max<std::int64_t>(x0, 0); x < std::min(x0 + ww, w); ++x)
          px[static_cast<std::size_t>((c * h + y) * w + x)] = rgb[static_cast<std::size_t>(c)];
  }

  // A 3×5 bitmap font, each glyph 5 rows of 3 bits (the high bit is the left column).
  static const std::uint8_t* glyph(char ch) {
    static const std::uint8_t digits[10][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                               {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                               {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
    static const std::uint8_t dot[5] = {0, 0, 0, 0, 2}, minus[5] = {0, 0, 7, 0, 0};
    if (ch >= '0' && ch <= '9') return digits[ch - '0'];
    if (ch == '.') return dot;
    if (ch == '-') return minus;
    return nullptr;  // drawn as a blank
  }
  static std::int64_t text_width(const std::string& s, std::int64_t scale) {
    return s.empty() ? 0 : (4 * static_cast<std::int64_t>(s.size()) - 1) * scale;  // 3 columns + 1 of space
  }
  void text(const std::string& s, std::int64_t y0, std::int64_t x0, std::int64_t scale, std::array<float, 3> rgb) {
    for (std::size_t i = 0; i < s.size(); ++i)
      if (const std::uint8_t* g = glyph(s[i]))
        for (std::int64_t r = 0; r < 5; ++r)
          for (std::int64_t c = 0; c < 3; ++c)
            if (g[r] >> (2 - c) & 1)
              rect(y0 + r * scale, x0 + (4 * static_cast<std::int64_t>(i) + c) * scale, scale, scale, rgb);
  }

  Tensor to_tensor() const {
    Tensor t = empty({3, h, w});
    std::memcpy(t.data<float>(), px.data(), px.size() * sizeof(float));
    return t;
  }
};

}  // namespace

void save_png(const std::string& path, const Tensor& image) {
  Tensor chw = pixels(as_chw(image, "save_png"));
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
  const std::string tmp = path + ".tmp";
  if (!stbi_write_png(tmp.c_str(), static_cast<int>(w), static_cast<int>(h), static_cast<int>(c), bytes.data(),
                      static_cast<int>(w * c)))
    throw Error("save_png: cannot write " + tmp + " (does its directory exist?)");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("save_png: cannot rename " + tmp + " to " + path);
  }
}

Tensor make_grid(const Tensor& images, std::int64_t nrow, std::int64_t padding, double pad_value) {
  LUMEN_CHECK(images.defined() && images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3), "make_grid",
              "expected images [N, C, H, W] with C = 1 or 3, got ", images.defined() ? images.str() : "undefined");
  LUMEN_CHECK(nrow >= 1 && padding >= 0, "make_grid", "expected nrow >= 1 and padding >= 0, got ", nrow, " and ",
              padding);
  Tensor x = pixels(images);
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t cols = std::min(nrow, std::max<std::int64_t>(n, 1)), rows = (n + nrow - 1) / nrow;
  const std::int64_t H = rows * (h + padding) + padding, W = cols * (w + padding) + padding;
  Canvas grid(H, W, static_cast<float>(pad_value));
  const float* src = x.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t y0 = padding + (i / nrow) * (h + padding), x0 = padding + (i % nrow) * (w + padding);
    for (std::int64_t k = 0; k < 3; ++k) {
      const float* plane = src + (i * c + (c == 1 ? 0 : k)) * h * w;  // gray fills all three channels
      for (std::int64_t y = 0; y < h; ++y)
        std::memcpy(&grid.px[static_cast<std::size_t>((k * H + y0 + y) * W + x0)], plane + y * w,
                    static_cast<std::size_t>(w) * sizeof(float));
    }
  }
  return grid.to_tensor();
}

Tensor upscale(const Tensor& image, std::int64_t factor) {
  LUMEN_CHECK(factor >= 1, "upscale", "expected a factor >= 1, got ", factor);
  Tensor chw = as_chw(image, "upscale").detach();
  Tensor big = upsample_nearest2d(chw.unsqueeze(0), {chw.size(1) * factor, chw.size(2) * factor}).squeeze(0);
  return image.dim() == 2 ? big.squeeze(0) : big;
}

std::array<float, 3> blues(double v) {
  // Piecewise-linear through three colors of matplotlib's "Blues".
  static const float stops[3][3] = {{0.97f, 0.98f, 1.00f}, {0.42f, 0.68f, 0.84f}, {0.03f, 0.19f, 0.42f}};
  const double t = std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 1.0) * 2.0;
  const int i = t >= 1.0 ? 1 : 0;
  const float f = static_cast<float>(t - i);
  std::array<float, 3> rgb{};
  for (int k = 0; k < 3; ++k) rgb[k] = stops[i][k] + f * (stops[i + 1][k] - stops[i][k]);
  return rgb;
}

Tensor render_confusion_matrix(const Tensor& matrix, const std::vector<std::string>& labels, std::int64_t cell) {
  LUMEN_CHECK(matrix.defined() && matrix.dim() == 2 && matrix.size(0) == matrix.size(1), "render_confusion_matrix",
              "expected a square matrix [K, K], got ", matrix.defined() ? matrix.str() : "undefined");
  const std::int64_t k = matrix.size(0);
  LUMEN_CHECK(labels.empty() || static_cast<std::int64_t>(labels.size()) == k, "render_confusion_matrix",
              "expected ", k, " labels, got ", labels.size());
  LUMEN_CHECK(cell >= 8, "render_confusion_matrix", "expected cell >= 8 pixels, got ", cell);
  const std::vector<float> m = pixels(matrix).to_vector<float>();

  const std::int64_t s = std::max<std::int64_t>(1, cell / 18);  // font scale: "0.98" fills most of a cell
  std::int64_t label_w = 0;
  for (const std::string& l : labels) label_w = std::max(label_w, Canvas::text_width(l, s));
  const std::int64_t left = s + (labels.empty() ? 0 : label_w + 2 * s);   // room for the row labels
  const std::int64_t top = s + (labels.empty() ? 0 : 7 * s);              // and the column labels
  Canvas img(top + k * cell + s, left + k * cell + s, 1.0f);
  const std::array<float, 3> dark{0.1f, 0.1f, 0.1f}, light{1.0f, 1.0f, 1.0f};

  for (std::int64_t i = 0; i < k; ++i) {
    if (!labels.empty()) {
      const std::string& l = labels[static_cast<std::size_t>(i)];
      img.text(l, top + i * cell + (cell - 5 * s) / 2, left - 2 * s - Canvas::text_width(l, s), s, dark);
      img.text(l, s, left + i * cell + (cell - Canvas::text_width(l, s)) / 2, s, dark);
    }
    for (std::int64_t j = 0; j < k; ++j) {
      const float v = m[static_cast<std::size_t>(i * k + j)];
      const std::array<float, 3> rgb = blues(v);
      // A 1-pixel white gap separates the cells; the text is white on dark cells, dark on light ones.
      img.rect(top + i * cell + 1, left + j * cell + 1, cell - 2, cell - 2, rgb);
      char text[32];
      std::snprintf(text, sizeof text, "%.2f", static_cast<double>(v));
      const float luminance = 0.3f * rgb[0] + 0.59f * rgb[1] + 0.11f * rgb[2];
      img.text(text, top + i * cell + (cell - 5 * s) / 2, left + j * cell + (cell - Canvas::text_width(text, s)) / 2,
               s, luminance > 0.5f ? dark : light);
    }
  }
  return img.to_tensor();
}

}  // namespace lumen::xai
