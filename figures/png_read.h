#pragma once
// Reading PNG files that may come from anywhere (a region mask drawn by a person, an image to
// explain), with Debian's libpng. Only the PNGs lumen documents are accepted:
//
//   8 bits per channel, not interlaced: gray, gray + alpha, RGB or RGBA,
//   at most max_pixels pixels.
//
// Everything is checked before memory is spent on the image: the signature, then the IHDR chunk
// (its CRC, the kind of PNG, width × height against the cap); then rows are decoded one at a time,
// so a caller that keeps less than the decoded bytes never holds the whole image. libpng's errors
// (damaged data, bad CRCs, truncation) and running out of memory become lumen::Error naming the
// file. Anything else — 16-bit, palette, 1/2/4-bit gray, interlaced, or not a PNG at all (a GIF,
// TGA or PNM renamed .png) — is a lumen::Error saying what the file is and what is expected.
// (stb_image, which accepts all of those, is kept for writing PNGs only: it is not made for files
// from untrusted sources.)
#include <cstdint>
#include <functional>
#include <string>

namespace lumen::figures {

struct PngReadOptions {
  // The largest image accepted, width × height: 2^24 = 16,777,216 pixels (e.g. 4096 × 4096).
  std::int64_t max_pixels = std::int64_t{1} << 24;
};

struct PngHeader {
  std::int64_t width = 0, height = 0;
  std::int64_t channels = 0;  // 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
};

// Decodes `path`: header(h) once, after every check and before any row, then row(y, bytes) for
// y = 0 .. height − 1 with width × channels interleaved bytes (valid during the call only). `op`
// names the caller in the errors. Throws lumen::Error naming the file; an exception thrown by a
// callback passes through (std::bad_alloc becomes lumen::Error too).
void read_png_rows(const std::string& path, const char* op, const PngReadOptions& opt,
                   const std::function<void(const PngHeader&)>& header,
                   const std::function<void(std::int64_t y, const std::uint8_t* row)>& row);

}  // namespace lumen::figures
