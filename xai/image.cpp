#include "xai/image.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"  // stb_easy_font's helpers are static; a few go unused
#include <stb_easy_font.h>  // header-only with static functions: included in this file only
#pragma GCC diagnostic pop
#include <stb_image_write.h>  // the implementation is in libstb (Debian's libstb-dev)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "autograd/ops.h"
#include "xai/canvas.h"

namespace lumen::xai {

namespace detail {

Tensor pixels(const Tensor& t) {
  Tensor c = t.detach().cpu();
  if (c.dtype() != DType::float32) c = c.to(DType::float32);
  return c.contiguous();
}

Tensor as_chw(const Tensor& image, const char* op) {
  LUMEN_CHECK(image.defined() && (image.dim() == 2 || image.dim() == 3 || (image.dim() == 4 && image.size(0) == 1)),
              op, "expected an image [H, W] or [C, H, W], got ", image.defined() ? image.str() : "undefined");
  Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image.dim() == 4 ? image.squeeze(0) : image;
  LUMEN_CHECK(chw.size(0) == 1 || chw.size(0) == 3, op, "expected 1 or 3 channels, got shape ", image.shape());
  LUMEN_CHECK(is_floating(chw.dtype()), op, "expected a floating image, got ", image.str());
  return chw;
}

namespace {

// stb_easy_font's quads for one line (printable ASCII only: anything else would index past its
// tables, so it becomes '?'), as (x, y, width, height) in font pixels.
std::vector<std::array<int, 4>> glyph_quads(const std::string& line) {
  std::string clean = line;
  for (char& ch : clean)
    if (ch < 32 || ch > 126) ch = '?';
  std::vector<char> vbuf(clean.size() * 12 * 64 + 64);  // ≤ 11 quads of 64 bytes a glyph ('X'); stb truncates silently
  const int n = stb_easy_font_print(0, 0, clean.data(), nullptr, vbuf.data(), static_cast<int>(vbuf.size()));
  std::vector<std::array<int, 4>> quads;
  for (int q = 0; q < n; ++q) {
    float v[4][4];  // 4 vertices of (x, y, z, rgba): corners 0 and 2 are opposite
    std::memcpy(v, vbuf.data() + q * 64, sizeof v);
    const int x0 = static_cast<int>(v[0][0]), y0 = static_cast<int>(v[0][1]);
    quads.push_back({x0, y0, static_cast<int>(v[2][0]) - x0, static_cast<int>(v[2][1]) - y0});
  }
  return quads;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines(1);
  for (char ch : s)
    if (ch == '\n') lines.emplace_back();
    else lines.back() += ch;
  return lines;
}

std::int64_t line_width(const std::string& line) {
  int w = 0;
  for (const auto& q : glyph_quads(line)) w = std::max(w, q[0] + q[2]);
  return w;
}

}  // namespace

std::int64_t Canvas::text_width(const std::string& s, std::int64_t scale) {
  std::int64_t w = 0;
  for (const std::string& l : split_lines(s)) w = std::max(w, line_width(l));
  return w * scale;
}

std::int64_t Canvas::text_height(const std::string& s, std::int64_t scale) {
  if (s.empty()) return 0;
  const auto n = static_cast<std::int64_t>(split_lines(s).size());
  return ((n - 1) * kLineHeight + kGlyphHeight) * scale;
}

void Canvas::text(const std::string& s, std::int64_t y0, std::int64_t x0, std::int64_t scale, Rgb rgb) {
  std::int64_t y = y0;
  for (const std::string& l : split_lines(s)) {
    for (const auto& q : glyph_quads(l)) rect(y + q[1] * scale, x0 + q[0] * scale, q[3] * scale, q[2] * scale, rgb);
    y += kLineHeight * scale;
  }
}

void Canvas::text_up(const std::string& s, std::int64_t y0, std::int64_t x0, std::int64_t scale, Rgb rgb) {
  // Font pixel (fx, fy) of a text_width × text_height box lands at (y0 + W - fx - 1, x0 + fy).
  const std::int64_t wpx = text_width(s, 1);
  std::int64_t line_y = 0;
  for (const std::string& l : split_lines(s)) {
    for (const auto& q : glyph_quads(l))
      rect(y0 + (wpx - q[0] - q[2]) * scale, x0 + (line_y + q[1]) * scale, q[2] * scale, q[3] * scale, rgb);
    line_y += kLineHeight;
  }
}

std::vector<std::string> wrap_text(const std::string& s, std::int64_t max_width, std::int64_t scale) {
  std::vector<std::string> out;
  for (const std::string& para : split_lines(s)) {
    std::string cur;
    std::size_t i = 0;
    while (i <= para.size()) {
      const std::size_t j = std::min(para.find(' ', i), para.size());
      std::string word = para.substr(i, j - i);
      i = j + 1;
      if (word.empty()) continue;
      const std::string joined = cur.empty() ? word : cur + " " + word;
      if (Canvas::text_width(joined, scale) <= max_width) {
        cur = joined;
        continue;
      }
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      // A word too wide on its own is cut between characters.
      while (Canvas::text_width(word, scale) > max_width && word.size() > 1) {
        std::size_t k = 1;
        while (k + 1 < word.size() && Canvas::text_width(word.substr(0, k + 1), scale) <= max_width) ++k;
        out.push_back(word.substr(0, k));
        word = word.substr(k);
      }
      cur = word;
    }
    out.push_back(cur);
  }
  return out;
}

}  // namespace detail

using detail::as_chw;
using detail::Canvas;
using detail::pixels;

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

  const std::int64_t s = std::max<std::int64_t>(1, cell / 26);  // font scale: "0.98" fills most of a cell
  std::int64_t label_w = 0;
  for (const std::string& l : labels) label_w = std::max(label_w, Canvas::text_width(l, s));
  const std::int64_t left = s + (labels.empty() ? 0 : label_w + 2 * s);   // room for the row labels
  const std::int64_t top = s + (labels.empty() ? 0 : 10 * s);             // and the column labels
  Canvas img(top + k * cell + s, left + k * cell + s, 1.0f);
  const std::array<float, 3> dark{0.1f, 0.1f, 0.1f}, light{1.0f, 1.0f, 1.0f};

  for (std::int64_t i = 0; i < k; ++i) {
    if (!labels.empty()) {
      const std::string& l = labels[static_cast<std::size_t>(i)];
      img.text(l, top + i * cell + (cell - 7 * s) / 2, left - 2 * s - Canvas::text_width(l, s), s, dark);
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
      img.text(text, top + i * cell + (cell - 7 * s) / 2, left + j * cell + (cell - Canvas::text_width(text, s)) / 2,
               s, luminance > 0.5f ? dark : light);
    }
  }
  return img.to_tensor();
}

}  // namespace lumen::xai
