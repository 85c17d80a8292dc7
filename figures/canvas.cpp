#include "figures/canvas.h"

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

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines(1);
  for (char ch : s)
    if (ch == '\n') lines.emplace_back();
    else lines.back() += ch;
  return lines;
}

// The length of s's first `chars` code points in bytes (a cut there splits no UTF-8 sequence).
std::size_t utf8_prefix(const std::string& s, std::size_t chars) {
  std::size_t i = 0;
  for (std::size_t k = 0; k < chars && i < s.size(); ++k)
    do ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80);
  return i;
}

}  // namespace

std::int64_t Canvas::text_width(const std::string& s, double size) {
  std::int64_t w = 0;
  for (const std::string& l : split_lines(s)) w = std::max(w, line_width(l, size));
  return w;
}

std::int64_t Canvas::text_height(const std::string& s, double size) {
  if (s.empty()) return 0;
  const FontMetrics m = font_metrics(size);
  const auto n = static_cast<std::int64_t>(split_lines(s).size());
  return (n - 1) * m.advance + m.ascent + m.descent;
}

void Canvas::text(const std::string& s, std::int64_t y0, std::int64_t x0, double size, Rgb rgb) {
  const std::int64_t advance = font_metrics(size).advance;
  std::int64_t y = y0;
  for (const std::string& l : split_lines(s)) {
    rasterize_line(l, size, [&](std::int64_t fy, std::int64_t fx, float a) { blend(y + fy, x0 + fx, rgb, a); });
    y += advance;
  }
}

void Canvas::text_up(const std::string& s, std::int64_t y0, std::int64_t x0, double size, Rgb rgb) {
  // Pixel (fy, fx) of the upright text_width-wide box lands at (y0 + width - 1 - fx, x0 + fy).
  const std::int64_t width = text_width(s, size), advance = font_metrics(size).advance;
  std::int64_t line_y = 0;
  for (const std::string& l : split_lines(s)) {
    rasterize_line(l, size, [&](std::int64_t fy, std::int64_t fx, float a) {
      blend(y0 + width - 1 - fx, x0 + line_y + fy, rgb, a);
    });
    line_y += advance;
  }
}

std::vector<std::string> wrap_text(const std::string& s, std::int64_t max_width, double size) {
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
      if (Canvas::text_width(joined, size) <= max_width) {
        cur = joined;
        continue;
      }
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      // A word too wide on its own is cut between characters.
      while (Canvas::text_width(word, size) > max_width && utf8_prefix(word, 1) < word.size()) {
        std::size_t k = 1;  // code points kept on this line: at least one
        while (utf8_prefix(word, k + 1) < word.size() &&
               Canvas::text_width(word.substr(0, utf8_prefix(word, k + 1)), size) <= max_width)
          ++k;
        out.push_back(word.substr(0, utf8_prefix(word, k)));
        word = word.substr(utf8_prefix(word, k));
      }
      cur = word;
    }
    out.push_back(cur);
  }
  return out;
}

}  // namespace lumen::figures::detail
