#pragma once
// Internal to the figure code (not public): the font figure text is drawn with. DejaVu Sans through
// FreeType, antialiased, at any pixel size; the file is $LUMEN_FONT if set, else Debian's
// fonts-dejavu-core. When it cannot be loaded, text falls back to stb_easy_font's 8-pixel bitmap
// glyphs (ASCII only, at an integer scale) after one warning on stderr, so figures still render.
// Every function may be called from several threads at once (lessons draw under OpenMP).
#include <cstdint>
#include <functional>
#include <string>

namespace lumen::figures::detail {

// The default font file (Debian's fonts-dejavu-core).
inline constexpr const char* kDefaultFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

// The vertical metrics of one line of text at a size, in whole pixels: a line's box is
// ascent + descent tall with its baseline `ascent` below the top; lines are `advance` apart.
// cap_height is the height of capitals and digits above the baseline, for centring numbers on ticks.
struct FontMetrics {
  std::int64_t ascent, descent, advance, cap_height;
};

// Whether figure text is drawn with the FreeType font (false: the bitmap fallback).
bool font_is_vector();

// Loads the font from `path` instead (tests use it to reach the fallback); an empty path means
// the default ($LUMEN_FONT or kDefaultFont). Returns font_is_vector(). Not to be called while other
// threads draw.
bool use_font_file(const std::string& path);

FontMetrics font_metrics(double size);

// The advance width of one line of UTF-8 text (no '\n') in pixels, rounded up.
std::int64_t line_width(const std::string& line, double size);

// Calls paint(y, x, coverage) for every pixel of one line of text whose box has its top-left at
// (0, 0): y from 0 (the top of the box) with the baseline at ascent, coverage in (0, 1]. Ink may
// reach a pixel or two outside the box (overhanging glyphs).
void rasterize_line(const std::string& line, double size,
                    const std::function<void(std::int64_t, std::int64_t, float)>& paint);

// s as valid UTF-8: malformed sequences (stray continuation bytes, overlong forms, surrogates, code
// points past U+10FFFF, truncated sequences) and control characters other than '\n' become U+FFFD.
std::string sanitize_utf8(const std::string& s);

// The code points of s, decoded as sanitize_utf8 does.
std::u32string decode_utf8(const std::string& s);

}  // namespace lumen::figures::detail
