#include "figures/font.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"  // stb_easy_font's helpers are static; a few go unused
#include <stb_easy_font.h>  // header-only with static functions: included in this file only
#pragma GCC diagnostic pop

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace lumen::figures::detail {

// ---- UTF-8

std::u32string decode_utf8(const std::string& s) {
  constexpr char32_t kReplacement = 0xFFFD;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::u32string out;
  std::size_t i = 0;
  while (i < n) {
    const unsigned lead = p[i];
    std::size_t len = 1;
    char32_t cp = lead, least = 0;
    if (lead >= 0xF0 && lead < 0xF8) len = 4, cp = lead & 0x07, least = 0x10000;
    else if (lead >= 0xE0 && lead < 0xF0) len = 3, cp = lead & 0x0F, least = 0x800;
    else if (lead >= 0xC0 && lead < 0xE0) len = 2, cp = lead & 0x1F, least = 0x80;
    else if (lead >= 0x80) len = 0;  // a continuation byte, or 0xF8..0xFF: never a lead
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    ok = ok && cp >= least && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {  // one replacement per bad byte, then resynchronise on the next
      out += kReplacement;
      ++i;
      continue;
    }
    // Controls (tabs too) have no glyph, and XML (the SVG charts) forbids most of them and U+FFFE/F.
    if ((cp < 0x20 && cp != '\n') || cp == 0x7F || cp == 0xFFFE || cp == 0xFFFF) cp = kReplacement;
    out += cp;
    i += len;
  }
  return out;
}

std::string sanitize_utf8(const std::string& s) {
  std::string out;
  for (char32_t c : decode_utf8(s)) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

namespace {

// ---- the bitmap fallback: stb_easy_font at an integer scale (about 10 pixels per step)

std::int64_t bitmap_scale(double size) { return std::max<std::int64_t>(1, static_cast<std::int64_t>(size / 10.0)); }

// stb_easy_font's quads for one line (printable ASCII only: anything else would index past its tables,
// so it becomes '?'), as (x, y, width, height) in font pixels.
std::vector<std::array<int, 4>> glyph_quads(const std::string& line) {
  std::string clean;
  for (char32_t c : decode_utf8(line)) clean += c >= 32 && c <= 126 ? static_cast<char>(c) : '?';
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

// ---- FreeType

// One glyph at one size: its coverage bitmap, placed relative to the pen on the baseline.
struct Glyph {
  FT_UInt index = 0;
  FT_Pos advance = 0;  // 26.6 pixels, unhinted (as a browser lays out the SVG's text)
  int left = 0, top = 0, width = 0, rows = 0;
  std::vector<unsigned char> coverage;
};

// The loaded face and its caches, behind one mutex: a FreeType face is not thread-safe, and its
// current size is shared state.
struct Font {
  std::mutex mutex;
  bool loaded = false;
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  std::map<std::pair<FT_F26Dot6, char32_t>, std::shared_ptr<const Glyph>> glyphs;
  std::map<FT_F26Dot6, FontMetrics> metrics;

  ~Font() { unload(); }

  void unload() {
    glyphs.clear();
    metrics.clear();
    if (face) FT_Done_Face(face);
    if (library) FT_Done_FreeType(library);
    face = nullptr, library = nullptr;
  }

  // (Re)loads from path (empty: the default), warning on stderr when it falls back to the bitmap font.
  void load(const std::string& requested) {
    unload();
    loaded = true;
    const char* env = std::getenv("LUMEN_FONT");
    const std::string path = !requested.empty() ? requested : env && *env ? env : kDefaultFont;
    const char* why = nullptr;
    if (FT_Init_FreeType(&library) != 0) why = "FreeType failed to initialise";
    else if (FT_New_Face(library, path.c_str(), 0, &face) != 0) why = "missing or not a font FreeType reads";
    else if (!FT_IS_SCALABLE(face)) why = "not a scalable (outline) font";
    if (!why) return;
    unload();
    std::fprintf(stderr,
                 "lumen: cannot use the font '%s' (%s); figure text falls back to the 8-pixel bitmap font "
                 "(apt-get install fonts-dejavu-core, or set LUMEN_FONT to a .ttf file)\n",
                 path.c_str(), why);
  }

  void ensure_loaded() {
    if (!loaded) load("");
  }

  static FT_F26Dot6 key(double size) { return std::max<FT_F26Dot6>(64, std::llround(size * 64.0)); }

  void set_size(FT_F26Dot6 size) { FT_Set_Char_Size(face, 0, size, 72, 72); }  // 72 dpi: points = pixels

  // The glyph for c, or for U+FFFD (then '?') where the font has none.
  std::shared_ptr<const Glyph> glyph(char32_t c, FT_F26Dot6 size) {
    auto& slot = glyphs[{size, c}];
    if (slot) return slot;
    set_size(size);
    FT_UInt index = FT_Get_Char_Index(face, c);
    if (index == 0) index = FT_Get_Char_Index(face, 0xFFFD);
    if (index == 0) index = FT_Get_Char_Index(face, '?');
    auto g = std::make_shared<Glyph>();
    g->index = index;
    // Light hinting snaps outlines vertically only: crisp baselines and x-heights, shapes and
    // advances as designed.
    if (FT_Load_Glyph(face, index, FT_LOAD_TARGET_LIGHT) == 0 &&
        FT_Render_Glyph(face->glyph, FT_RENDER_MODE_LIGHT) == 0) {
      const FT_GlyphSlot s = face->glyph;
      g->advance = s->linearHoriAdvance >> 10;  // 16.16 → 26.6
      const FT_Bitmap& b = s->bitmap;
      if (b.pixel_mode == FT_PIXEL_MODE_GRAY && b.pitch >= 0) {
        g->left = s->bitmap_left, g->top = s->bitmap_top;
        g->width = static_cast<int>(b.width), g->rows = static_cast<int>(b.rows);
        g->coverage.resize(static_cast<std::size_t>(g->width) * static_cast<std::size_t>(g->rows));
        for (int r = 0; r < g->rows; ++r)
          std::memcpy(g->coverage.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(g->width),
                      b.buffer + static_cast<std::ptrdiff_t>(r) * b.pitch, static_cast<std::size_t>(g->width));
        if (b.num_grays != 256)  // other gray depths: stretch to 0..255
          for (auto& v : g->coverage) v = static_cast<unsigned char>(std::min(255, v * 255 / std::max(1, b.num_grays - 1)));
      }
    }
    slot = g;
    return slot;
  }

  FontMetrics metrics_of(FT_F26Dot6 size) {
    auto it = metrics.find(size);
    if (it != metrics.end()) return it->second;
    set_size(size);
    const FT_Size_Metrics& m = face->size->metrics;
    FontMetrics fm{(m.ascender + 63) / 64, (-m.descender + 63) / 64, (m.height + 32) / 64, 0};
    fm.advance = std::max(fm.advance, fm.ascent + fm.descent);
    fm.cap_height = glyph('H', size)->top;
    return metrics[size] = fm;
  }

  // The glyphs of one line and their left edges: the pen advances by the unhinted advances and the
  // font's kerning, and each glyph is drawn at the whole pixel nearest its pen position.
  struct Placed {
    std::shared_ptr<const Glyph> glyph;
    std::int64_t x;
  };
  std::pair<std::vector<Placed>, FT_Pos> layout(const std::string& line, double size) {
    const FT_F26Dot6 sz = key(size);
    std::vector<Placed> placed;
    FT_Pos pen = 0;
    FT_UInt previous = 0;
    set_size(sz);  // for the kerning (glyph() sets the same size)
    for (char32_t c : decode_utf8(line)) {
      if (c == '\n') c = 0xFFFD;  // callers split lines first
      auto g = glyph(c, sz);
      if (previous && g->index && FT_HAS_KERNING(face)) {
        FT_Vector delta{};
        if (FT_Get_Kerning(face, previous, g->index, FT_KERNING_UNFITTED, &delta) == 0) pen += delta.x;
      }
      placed.push_back({g, (pen + 32) / 64});
      pen += g->advance;
      previous = g->index;
    }
    return {placed, pen};
  }
};

Font& font() {
  static Font f;
  return f;
}

}  // namespace

bool font_is_vector() {
  Font& f = font();
  std::lock_guard lock(f.mutex);
  f.ensure_loaded();
  return f.face != nullptr;
}

bool use_font_file(const std::string& path) {
  Font& f = font();
  std::lock_guard lock(f.mutex);
  f.load(path);
  return f.face != nullptr;
}

FontMetrics font_metrics(double size) {
  Font& f = font();
  std::lock_guard lock(f.mutex);
  f.ensure_loaded();
  if (!f.face) {
    const std::int64_t s = bitmap_scale(size);
    return {7 * s, 2 * s, 11 * s, 7 * s};
  }
  return f.metrics_of(Font::key(size));
}

std::int64_t line_width(const std::string& line, double size) {
  Font& f = font();
  std::lock_guard lock(f.mutex);
  f.ensure_loaded();
  if (!f.face) {
    int w = 0;  // the ink's extent
    for (const auto& q : glyph_quads(line)) w = std::max(w, q[0] + q[2]);
    return w * bitmap_scale(size);
  }
  return (f.layout(line, size).second + 63) / 64;
}

void rasterize_line(const std::string& line, double size,
                    const std::function<void(std::int64_t, std::int64_t, float)>& paint) {
  Font& f = font();
  std::unique_lock lock(f.mutex);
  f.ensure_loaded();
  if (!f.face) {
    const std::int64_t s = bitmap_scale(size);
    const auto quads = glyph_quads(line);
    lock.unlock();
    for (const auto& q : quads)
      for (std::int64_t y = q[1] * s; y < (q[1] + q[3]) * s; ++y)
        for (std::int64_t x = q[0] * s; x < (q[0] + q[2]) * s; ++x) paint(y, x, 1.0f);
    return;
  }
  const std::int64_t ascent = f.metrics_of(Font::key(size)).ascent;
  const auto placed = f.layout(line, size).first;
  lock.unlock();  // the glyphs are immutable and shared: painting needs no lock
  for (const auto& [g, pen_x] : placed)
    for (int r = 0; r < g->rows; ++r)
      for (int c = 0; c < g->width; ++c) {
        const unsigned char v = g->coverage[static_cast<std::size_t>(r) * static_cast<std::size_t>(g->width) + static_cast<std::size_t>(c)];
        if (v) paint(ascent - g->top + r, pen_x + g->left + c, static_cast<float>(v) / 255.0f);
      }
}

}  // namespace lumen::figures::detail
