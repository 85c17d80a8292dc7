#include "figures/canvas.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"  // stb_easy_font's helpers are static; a few go unused
#include <stb_easy_font.h>  // header-only with static functions: included in this file only
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstring>

namespace lumen::figures::detail {

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

}  // namespace lumen::figures::detail
