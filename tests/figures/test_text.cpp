// Figure text (figures/font.h, figures/canvas.h): DejaVu Sans through FreeType, antialiased, UTF-8
// with malformed input replaced, sizes in pixels, thread-safe; and the bitmap fallback a machine
// without the font gets. scripts/setup.sh installs fonts-dejavu-core, so the FreeType path is required.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "figures/canvas.h"
#include "figures/font.h"
#include "figures/grid.h"
#include "tests/figures/pixel_checks.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using namespace lumen::figures;
namespace fd = lumen::figures::detail;
using fd::Canvas;
using lumen::testing::pixels::at;
using lumen::testing::pixels::count_not;
using lumen::testing::pixels::near;
using lumen::testing::pixels::Rgb;
using lumen::testing::pixels::values;

namespace {

// The gray levels of an image drawn in black on white (channel 0).
std::set<int> gray_levels(const Tensor& img) {
  std::set<int> levels;
  for (float v : img.narrow(0, 0, 1).contiguous().to_vector<float>()) levels.insert(static_cast<int>(std::lround(v * 255)));
  return levels;
}

Tensor drawn(const std::string& s, double size) {
  Canvas c(Canvas::text_height(s, size) + 8, Canvas::text_width(s, size) + 8, 1.0f);
  c.text(s, 4, 4, size, {0, 0, 0});
  return c.to_tensor();
}

}  // namespace

TEST_SUITE("figures") {
  TEST_CASE("text: DejaVu Sans through FreeType, antialiased") {
    REQUIRE_MESSAGE(fd::font_is_vector(), "DejaVu Sans not found: apt-get install fonts-dejavu-core (scripts/setup.sh)");
    const Tensor t = drawn("Quick brown fox", 16);
    const std::set<int> levels = gray_levels(t);
    CHECK(levels.count(255) == 1);  // background
    CHECK(*levels.begin() < 60);    // stroke cores are (nearly) black
    std::size_t between = 0;        // edges blend: many intermediate grays, not a 1-bit bitmap
    for (int v : levels) between += v > 30 && v < 225;
    CHECK(between > 20);
    // Metrics at 16 px: DejaVu's ascender and descender are 0.928 and 0.236 em, capitals 0.729 em.
    const fd::FontMetrics m = fd::font_metrics(16);
    CHECK(m.ascent == doctest::Approx(15).epsilon(0.07));
    CHECK(m.descent >= 3);
    CHECK(m.descent <= 5);
    CHECK(m.cap_height >= 11);
    CHECK(m.cap_height <= 13);
    CHECK(Canvas::text_height("Hg", 16) == m.ascent + m.descent);
    CHECK(Canvas::text_height("a\nb", 16) == m.advance + m.ascent + m.descent);
    // Ink stays inside the box (with a pixel of overhang at most) and reaches below the baseline for 'g'.
    const Tensor g = drawn("g", 32);
    const fd::FontMetrics m32 = fd::font_metrics(32);
    CHECK(count_not(g, 4 + m32.ascent + 2, g.size(1), 0, g.size(2)) > 5);
    CHECK(count_not(g, 0, 3, 0, g.size(2)) == 0);
  }

  TEST_CASE("text: widths grow with the length and the size; wrapping keeps within the width") {
    REQUIRE(fd::font_is_vector());
    CHECK(Canvas::text_width("", 12) == 0);
    CHECK(Canvas::text_height("", 12) == 0);
    const std::int64_t w1 = Canvas::text_width("accuracy", 12), w2 = Canvas::text_width("accuracy accuracy", 12);
    CHECK(w1 > 30);
    CHECK(w2 > 2 * w1);  // and a space
    CHECK(Canvas::text_width("accuracy", 24) == doctest::Approx(2 * w1).epsilon(0.08));
    CHECK(Canvas::text_width("iiii", 12) < Canvas::text_width("WWWW", 12));  // proportional
    CHECK(Canvas::text_width("ab\nabcdef", 12) == Canvas::text_width("abcdef", 12));
    for (const std::string& line : fd::wrap_text("deletion and insertion curves of every method", 90, 12))
      CHECK(Canvas::text_width(line, 12) <= 90);
    // A word wider than the limit is cut between characters, never inside a UTF-8 sequence.
    for (const std::string& piece : fd::wrap_text("αβγδεζηθικλμνξοπρστυφχψω", 40, 12)) {
      CHECK(fd::sanitize_utf8(piece) == piece);
      CHECK(!piece.empty());
    }
  }

  TEST_CASE("text: UTF-8 draws its own glyphs; malformed bytes become U+FFFD without crashing") {
    REQUIRE(fd::font_is_vector());
    // Greek, an arrow, a minus sign: glyphs of their own, unlike '?'.
    CHECK(Canvas::text_width("α → β", 14) > Canvas::text_width("a", 14) * 3);
    const Tensor mu = drawn("μ", 20), question = drawn("?", 20);
    CHECK(count_not(mu, 0, mu.size(1), 0, mu.size(2)) > 10);
    CHECK(!(mu.shape() == question.shape() && near(at(mu, 12, 8), at(question, 12, 8)) &&
            count_not(mu, 0, mu.size(1), 0, mu.size(2)) == count_not(question, 0, question.size(1), 0, question.size(2))));
    // Decoding: replacements for every kind of malformed input, valid sequences kept.
    CHECK(fd::decode_utf8("a\xc3\xa9") == std::u32string{U'a', U'é'});
    CHECK(fd::decode_utf8("\xff") == std::u32string{0xFFFD});                        // never a lead byte
    CHECK(fd::decode_utf8("\x80x") == std::u32string{0xFFFD, U'x'});                 // stray continuation
    CHECK(fd::decode_utf8("\xc3") == std::u32string{0xFFFD});                        // truncated
    CHECK(fd::decode_utf8("\xc0\xaf") == std::u32string{0xFFFD, 0xFFFD});            // overlong '/'
    CHECK(fd::decode_utf8("\xed\xa0\x80") == std::u32string{0xFFFD, 0xFFFD, 0xFFFD});  // a surrogate
    CHECK(fd::decode_utf8("\xf4\x90\x80\x80").front() == 0xFFFD);                    // past U+10FFFF
    CHECK(fd::decode_utf8(std::string("a\tb\x01", 4)) == std::u32string{U'a', 0xFFFD, U'b', 0xFFFD});
    CHECK(fd::sanitize_utf8("x\xe2\x82") == "x\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(fd::sanitize_utf8("π ≈ 3.14") == "π ≈ 3.14");
    // Hostile input renders.
    const std::string hostile("\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\x00z", 15);
    const Tensor h = text_image(hostile, 1, 1);
    CHECK(h.size(2) > 10);
    CHECK(count_not(h, 0, h.size(1), 0, h.size(2)) > 10);
  }

  TEST_CASE("text: drawn the same from many threads at once") {
    const Tensor want = drawn("thread-safe αβγ 0.123", 13);
    std::vector<Tensor> got(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i)
      threads.emplace_back([&, i] { got[i] = drawn(i % 2 ? "thread-safe αβγ 0.123" : "other sizes", i % 2 ? 13.0 : 9.0 + i); });
    for (auto& t : threads) t.join();
    for (std::size_t i = 1; i < got.size(); i += 2) CHECK(values(got[i]) == values(want));
  }

  TEST_CASE("text: without the font, the bitmap fallback (and back)") {
    REQUIRE_FALSE(fd::use_font_file("/nonexistent/lumen-test-font.ttf"));  // warns once on stderr
    CHECK_FALSE(fd::font_is_vector());
    // stb_easy_font at an integer scale: "Hi" is 7 pixels of ink wide, a line 9 tall (7 + descenders).
    CHECK(text_image("Hi", 1, 0).shape() == Shape{3, 9, 7});
    CHECK(text_image("Hi", 2, 0).shape() == Shape{3, 18, 14});
    const Tensor t = text_image("Hi", 1, 0);
    CHECK(gray_levels(t).size() == 2);  // a 1-bit font: ink and background only
    CHECK(text_image("\xce\xbc\xff", 1, 0).size(2) > 0);  // non-ASCII draws as '?'
    CHECK(count_not(text_image("\xce\xbc", 1, 0), 0, 9, 0, 5) > 4);
    // Every glyph complete, even quad-hungry ones after others ('0' advances 6, '.' 3: '8' starts at 9).
    const Tensor eight = text_image("8", 1, 0), tail = text_image("0.8", 1, 0);
    CHECK(count_not(eight, 0, 9, 0, 4) == count_not(tail, 0, 9, 9, 13));
    CHECK(count_not(eight, 0, 9, 0, 4) >= 12);
    // A file that is not a font falls back too; then the default font is back.
    const lumen::testing::TempDir dir("font");
    lumen::testing::write_bytes(dir / "broken.ttf", "not a font");
    CHECK_FALSE(fd::use_font_file(dir / "broken.ttf"));
    CHECK(fd::use_font_file(fd::kDefaultFont));
    CHECK(fd::use_font_file(""));  // $LUMEN_FONT or the default, as at the start
    CHECK(text_image("Hi", 1, 0).size(1) > 9);
  }
}
