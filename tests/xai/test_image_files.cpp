// Image files from anywhere: load_region_mask and figures::read_png (both over figures/png_read.h,
// libpng) on the committed fixtures of tests/fixtures/png/ (make_png_fixtures.py): the documented
// kinds of PNG decode exactly; damaged PNGs, other kinds of PNG and other formats renamed .png, and
// images over the pixel cap, are each a lumen::Error naming the file. (stb_image, which read these
// files before, accepted most of the hostile ones: truncated data, huge headers, renamed GIF/TGA/PNM.)
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "figures/png.h"
#include "tests/fixtures/fixtures.h"
#include "tests/test_util.h"
#include "xai/segmentation.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::fixture;
using Catch = doctest::Contains;

namespace {
std::string png(const std::string& name) { return fixture("png/" + name); }
std::vector<std::int64_t> ids(const Tensor& t) { return t.to_vector<std::int64_t>(); }
Catch has(const std::string& text) { return Catch(text.c_str()); }
}  // namespace

TEST_SUITE("xai") {

TEST_CASE("load_region_mask reads 8-bit gray, gray + alpha, RGB and RGBA masks; ids follow the values") {
  Tensor gray = load_region_mask(png("gray.png"));  // columns of 200, 0, 90
  CHECK(gray.shape() == Shape{4, 6});
  CHECK(gray.dtype() == DType::int64);
  for (std::int64_t y = 0; y < 4; ++y) CHECK(ids(gray[y]) == std::vector<std::int64_t>{2, 2, 0, 0, 1, 1});
  // (10, 255) (10, 0) / (10, 255) (20, 255): alpha is part of the value.
  CHECK(ids(load_region_mask(png("gray_alpha.png"))) == std::vector<std::int64_t>{1, 0, 1, 2});
  // red blue / red green: blue < green < red as packed values.
  CHECK(ids(load_region_mask(png("rgb.png"))) == std::vector<std::int64_t>{2, 0, 2, 1});
  CHECK(ids(load_region_mask(png("rgba.png"))) == std::vector<std::int64_t>{1, 0, 2});
  // read_png gives the same files' bytes / 255, planar.
  Tensor rgb = figures::read_png(png("rgb.png"));
  CHECK(rgb.shape() == Shape{3, 2, 2});
  CHECK(rgb.to_vector<float>() == std::vector<float>{1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0});
  CHECK(figures::read_png(png("gray_alpha.png")).shape() == Shape{2, 2, 2});
}

TEST_CASE("load_region_mask and read_png refuse hostile or unsupported files with an error naming the file") {
  struct Bad {
    const char* file;
    const char* says;  // part of the message, after the file's name
  };
  const std::vector<Bad> bad{
      {"truncated.png", "is a damaged PNG"},
      {"bad_crc.png", "is a damaged PNG"},
      {"bad_zlib.png", "is a damaged PNG"},
      {"short_image_data.png", "is a damaged PNG"},
      {"bad_ihdr_crc.png", "is a damaged PNG: it does not start with a complete, intact IHDR chunk"},
      {"signature_only.png", "is a damaged PNG: it does not start with a complete, intact IHDR chunk"},
      {"empty.png", "is an empty file; expected a PNG file"},
      {"huge.png", "is 100000 x 100000 = 10000000000 pixels, more than the cap of 16777216"},
      {"wide.png", "is 2147483647 x 1 = 2147483647 pixels, more than the cap"},
      {"gray16.png", "is a 16-bit gray PNG; expected 8 bits per channel"},
      {"palette.png", "is an 8-bit palette PNG; expected 8 bits per channel, gray, gray + alpha, RGB or RGBA"},
      {"gray1bit.png", "is a 1-bit gray PNG"},
      {"interlaced.png", "is an interlaced PNG"},
      {"gif_renamed.png", "is a GIF image; expected a PNG file"},
      {"pnm_renamed.png", "is a PNM image; expected a PNG file"},
      {"tga_renamed.png", "is not a PNG (no PNG signature); expected a PNG file"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.file);
    const std::string path = png(b.file);
    CHECK_THROWS_WITH_AS(load_region_mask(path), has("load_region_mask: '" + path + "' " + b.says), Error);
    CHECK_THROWS_WITH_AS(figures::read_png(path), has("read_png: '" + path + "' " + b.says), Error);
  }
  // The ones libpng refuses say why, in libpng's words.
  CHECK_THROWS_WITH_AS(load_region_mask(png("bad_crc.png")), Catch("is a damaged PNG: IDAT: CRC error"), Error);
  CHECK_THROWS_WITH_AS(load_region_mask(png("truncated.png")), Catch("is a damaged PNG: Read Error"), Error);
  CHECK_THROWS_WITH_AS(load_region_mask(png("missing.png")), Catch("load_region_mask: cannot read '"), Error);
  CHECK_THROWS_WITH_AS(load_region_mask(png("missing.png")), Catch("missing.png': No such file"), Error);
}

TEST_CASE("the pixel cap is an option, checked before decoding; masks hold at most 256 regions") {
  const std::string gray = png("gray.png");  // 6 x 4 = 24 pixels
  CHECK(load_region_mask(gray, {.max_pixels = 24}).shape() == Shape{4, 6});
  CHECK_THROWS_WITH_AS(load_region_mask(gray, {.max_pixels = 23}),
                       has("'" + gray + "' is 6 x 4 = 24 pixels, more than the cap of 23 (PngReadOptions::max_pixels)"),
                       Error);
  CHECK_THROWS_WITH_AS(figures::read_png(gray, {.max_pixels = 0}), Catch("read_png: expected max_pixels >= 1"), Error);
  // With the cap raised, the 80 GB mask of huge.png is either refused by the allocator (and
  // std::bad_alloc becomes lumen::Error) or allocated and never filled: libpng finds the data missing.
  const std::string huge = png("huge.png");
  CHECK_THROWS_WITH_AS(load_region_mask(huge, {.max_pixels = std::int64_t{1} << 40}), has(huge), Error);
  const std::string many = png("rgb_300_colours.png");
  CHECK_THROWS_WITH_AS(load_region_mask(many),
                       has("'" + many + "' has more than 256 distinct pixel values; a region mask holds at most 256"),
                       Error);
  CHECK(figures::read_png(many).shape() == Shape{3, 1, 300});  // an image may have any number of colours
}

}  // TEST_SUITE
