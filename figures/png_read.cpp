#include "figures/png_read.h"

#include <png.h>    // Debian's libpng (libpng-dev)
#include <zlib.h>   // crc32, for the IHDR check

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "kernels/core/error.h"

namespace lumen::figures {

namespace {

// What the decoder owns, freed by the destructor on every path, errors included. libpng reports an
// error by calling on_error, which must not return: it longjmps back to the setjmp in decode_rows.
// So nothing with a destructor may live in decode_rows' own frame; it all lives here.
struct Decoder {
  std::FILE* file = nullptr;
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::unique_ptr<std::uint8_t[]> row;  // one decoded row (not zero-filled: libpng writes all of it)
  char error[256] = "unknown libpng error";
  ~Decoder() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    if (file) std::fclose(file);
  }
};

void on_error(png_structp png, png_const_charp message) {
  auto* d = static_cast<Decoder*>(png_get_error_ptr(png));
  std::snprintf(d->error, sizeof d->error, "%s", message);  // no allocation: we are inside libpng
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}  // e.g. a damaged text chunk: the pixels are unaffected

std::uint32_t big_endian(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// A name for what a file that is not a PNG looks like, from its first bytes.
const char* guess_format(const unsigned char* b, std::size_t n) {
  if (n == 0) return "an empty file";
  if (n >= 4 && std::memcmp(b, "GIF8", 4) == 0) return "a GIF image";
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "a JPEG image";
  if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "a BMP image";
  if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return "a PNM image";
  return "not a PNG (no PNG signature)";
}

const char* color_type_name(int t) {
  switch (t) {
    case 0: return "gray";
    case 2: return "RGB";
    case 3: return "palette";
    case 4: return "gray + alpha";
    case 6: return "RGBA";
    default: return "invalid";
  }
}

// The libpng calls, with the setjmp their errors land on. Returns false on a libpng error (message in
// d.error). C++ exceptions from the callbacks pass through: they are thrown from this frame, not
// from inside libpng.
bool decode_rows(Decoder& d, const PngHeader& h, const std::function<void(const PngHeader&)>& header,
                 const std::function<void(std::int64_t, const std::uint8_t*)>& row) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  png_init_io(d.png, d.file);
  png_set_user_limits(d.png, 0x7fffffff, 0x7fffffff);  // our own cap was checked on the IHDR
  png_read_info(d.png, d.info);
  header(h);
  for (std::int64_t y = 0; y < h.height; ++y) {
    png_read_row(d.png, d.row.get(), nullptr);
    row(y, d.row.get());
  }
  png_read_end(d.png, nullptr);  // the rest of the file: the last CRCs and IEND
  return true;
}

}  // namespace

void read_png_rows(const std::string& path, const char* op, const PngReadOptions& opt,
                   const std::function<void(const PngHeader&)>& header,
                   const std::function<void(std::int64_t y, const std::uint8_t* row)>& row) {
  LUMEN_CHECK(opt.max_pixels >= 1, op, "expected max_pixels >= 1, got ", opt.max_pixels);
  Decoder d;
  d.file = std::fopen(path.c_str(), "rb");
  LUMEN_CHECK(d.file != nullptr, op, "cannot read '", path, "': ", std::strerror(errno));

  // The signature and the IHDR chunk (length 13, "IHDR", 13 bytes, CRC), checked by hand so that
  // nothing is allocated for an image before its size is known to be within the cap.
  unsigned char b[33];
  const std::size_t got = std::fread(b, 1, sizeof b, d.file);
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  LUMEN_CHECK(got >= 8 && std::memcmp(b, kSignature, 8) == 0, op, "'", path, "' is ", guess_format(b, got),
              "; expected a PNG file");
  LUMEN_CHECK(got == sizeof b && big_endian(b + 8) == 13 && std::memcmp(b + 12, "IHDR", 4) == 0 &&
                  crc32(0, b + 12, 17) == big_endian(b + 29),
              op, "'", path, "' is a damaged PNG: it does not start with a complete, intact IHDR chunk");
  const std::uint32_t width = big_endian(b + 16), height = big_endian(b + 20);
  const int bit_depth = b[24], color_type = b[25], interlace = b[28];
  LUMEN_CHECK(width >= 1 && height >= 1 && width <= 0x7fffffff && height <= 0x7fffffff, op, "'", path,
              "' is a damaged PNG: its IHDR says ", width, " x ", height, " pixels");
  const std::uint64_t pixels = std::uint64_t{width} * height;  // < 2^62: no overflow
  LUMEN_CHECK(pixels <= static_cast<std::uint64_t>(opt.max_pixels), op, "'", path, "' is ", width, " x ", height,
              " = ", pixels, " pixels, more than the cap of ", opt.max_pixels, " (PngReadOptions::max_pixels)");
  LUMEN_CHECK(bit_depth == 8 && (color_type == 0 || color_type == 2 || color_type == 4 || color_type == 6), op, "'",
              path, "' is ", bit_depth == 8 ? "an " : "a ", bit_depth, "-bit ", color_type_name(color_type),
              " PNG; expected 8 bits per channel, gray, gray + alpha, RGB or RGBA");
  LUMEN_CHECK(interlace == 0, op, "'", path, "' is an interlaced PNG; expected a non-interlaced one");
  const PngHeader h{width, height, color_type == 0 ? 1 : color_type == 4 ? 2 : color_type == 2 ? 3 : 4};

  try {
    d.row.reset(new std::uint8_t[static_cast<std::size_t>(h.width * h.channels)]);
    std::rewind(d.file);
    d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, on_error, on_warning);
    if (d.png) d.info = png_create_info_struct(d.png);
    LUMEN_CHECK(d.png && d.info, op, "cannot read '", path, "': libpng could not start (out of memory?)");
    if (!decode_rows(d, h, header, row))
      throw Error(std::string(op) + ": '" + path + "' is a damaged PNG: " + d.error);
  } catch (const std::bad_alloc&) {
    throw Error(std::string(op) + ": out of memory reading '" + path + "' (" + std::to_string(width) + " x " +
                std::to_string(height) + " pixels)");
  }
}

}  // namespace lumen::figures
