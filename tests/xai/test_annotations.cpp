// Expert regions (xai/annotations.h): VIA annotation files rasterised pixel by pixel (the committed
// tests/fixtures/via_annotation.json and damaged copies), foreground masks, partial annotations and
// the Sharp-LIME composite, on masks small enough to count by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/fixtures/fixtures.h"
#include "tests/test_util.h"
#include "xai/annotations.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using lumen::testing::TempDir;
using lumen::testing::write_bytes;
using Catch = doctest::Contains;

namespace {

// An int64 [h, w] map with `id` on rows [i0, i1) × columns [j0, j1) painted over `ids`.
void paint(std::vector<std::int64_t>& ids, std::int64_t w, std::int64_t i0, std::int64_t i1, std::int64_t j0,
           std::int64_t j1, std::int64_t id) {
  for (std::int64_t i = i0; i < i1; ++i)
    for (std::int64_t j = j0; j < j1; ++j) ids[static_cast<std::size_t>(i * w + j)] = id;
}

std::int64_t nonzero(const Tensor& t) {
  std::int64_t n = 0;
  for (std::int64_t v : t.to_vector<std::int64_t>()) n += v != 0;
  return n;
}

// A VIA export (no project wrapper) of one image with the given regions.
std::string via_export(const std::string& regions) {
  return R"({"img.png10": {"filename": "img.png", "size": 10, "file_attributes": {}, "regions": )" + regions + "}}";
}

std::string shape(const std::string& attributes) {
  return R"([{"shape_attributes": )" + attributes + R"(, "region_attributes": {}}])";
}

}  // namespace

TEST_SUITE("xai_perturbation") {

TEST_CASE("load_via_annotation: the fixture's triangle and rectangle, pixel by pixel") {
  Tensor a = load_via_annotation(lumen::testing::fixture("via_annotation.json"), "digit_a.png", 28, 28);
  CHECK(a.dtype() == DType::int64);
  CHECK(a.shape() == Shape{28, 28});
  // Triangle (4, 4), (12, 4), (4, 12): centres (j + ½, i + ½) with x >= 4, y >= 4 and x + y < 16 (the
  // hypotenuse is a right-hand edge, so centres on it are outside): row i = 4..10 holds columns
  // 4..14 − i, 7 + 6 + ... + 1 = 28 pixels, id 1. Rect x 16, y 18, 6 × 4: columns 16..21 of rows
  // 18..21, id 2.
  std::vector<std::int64_t> want(28 * 28, 0);
  for (std::int64_t i = 4; i <= 10; ++i) paint(want, 28, i, i + 1, 4, 15 - i, 1);
  paint(want, 28, 18, 22, 16, 22, 2);
  CHECK(a.to_vector<std::int64_t>() == want);
  CHECK(nonzero(a) == 28 + 24);
}

TEST_CASE("load_via_annotation: later regions overwrite earlier ones (rect, then circle)") {
  Tensor b = load_via_annotation(lumen::testing::fixture("via_annotation.json"), "digit_b.png", 28, 28);
  // Rect x 2, y 2, 4 × 3: rows 2..4, columns 2..5. Circle at (5, 5), r 1.5: the centres within 1.5 of
  // (5, 5) are (4.5 | 5.5, 4.5 | 5.5) (distance² 0.5; the next, e.g. (3.5, 4.5), is at 2.5 > 2.25):
  // rows 4..5, columns 4..5, which takes row 4's columns 4 and 5 from the rect.
  std::vector<std::int64_t> want(28 * 28, 0);
  paint(want, 28, 2, 5, 2, 6, 1);
  paint(want, 28, 4, 6, 4, 6, 2);
  CHECK(b.to_vector<std::int64_t>() == want);
}

TEST_CASE("load_via_annotation: VIA exports, VIA 1 region objects, ellipses, shapes past the border") {
  TempDir dir("via");
  // An ellipse rx 3, ry 1 at (5, 5): (dx / 3)² + (dy / 1)² <= 1 holds for dy = ±0.5 and dx up to
  // ±2.5, so rows 4..5, columns 2..7; turned by theta = π/2 it stands upright: rows 2..7, columns 4..5.
  const std::string flat = R"({"name": "ellipse", "cx": 5, "cy": 5, "rx": 3, "ry": 1})";
  const std::string upright = R"({"name": "ellipse", "cx": 5, "cy": 5, "rx": 3, "ry": 1, "theta": 1.5707963267948966})";
  write_bytes(dir / "flat.json", via_export(shape(flat)));
  write_bytes(dir / "upright.json", via_export(shape(upright)));
  std::vector<std::int64_t> want(10 * 10, 0);
  paint(want, 10, 4, 6, 2, 8, 1);
  CHECK(load_via_annotation(dir / "flat.json", "", 10, 10).to_vector<std::int64_t>() == want);
  std::fill(want.begin(), want.end(), 0);
  paint(want, 10, 2, 8, 4, 6, 1);
  CHECK(load_via_annotation(dir / "upright.json", "img.png", 10, 10).to_vector<std::int64_t>() == want);

  // VIA 1 keeps regions in an object keyed "0", "1", ...: file order gives the ids. A rect hanging
  // over the top-left corner keeps only its pixels inside the image.
  write_bytes(dir / "via1.json", via_export(R"({"0": {"shape_attributes": {"name": "rect", "x": -3, "y": -2, "width": 5, "height": 4}},
      "1": {"shape_attributes": {"name": "polygon", "all_points_x": [6, 9, 9, 6], "all_points_y": [7, 7, 9, 9]}}})"));
  std::fill(want.begin(), want.end(), 0);
  paint(want, 10, 0, 2, 0, 2, 1);
  paint(want, 10, 7, 9, 6, 9, 2);
  CHECK(load_via_annotation(dir / "via1.json", "", 10, 10).to_vector<std::int64_t>() == want);

  // An image without regions is all 0.
  write_bytes(dir / "none.json", via_export("[]"));
  CHECK(nonzero(load_via_annotation(dir / "none.json", "", 4, 4)) == 0);
}

TEST_CASE("load_via_annotation: which image, and damaged or hostile files") {
  const std::string fixture = lumen::testing::fixture("via_annotation.json");
  CHECK_THROWS_WITH_AS(load_via_annotation(fixture, "", 28, 28), Catch("holds several images; name the one wanted"),
                       Error);
  CHECK_THROWS_WITH_AS(load_via_annotation(fixture, "digit_c.png", 28, 28),
                       Catch("has no image with filename 'digit_c.png'"), Error);
  CHECK_THROWS_WITH_AS(load_via_annotation(fixture, "digit_a.png", 0, 28), Catch("expected height and width"), Error);

  TempDir dir("via-bad");
  auto fails_with = [&](const std::string& text, const std::string& message) {
    write_bytes(dir / "bad.json", text);
    INFO(text);
    CHECK_THROWS_WITH_AS(load_via_annotation(dir / "bad.json", "", 8, 8), Catch(message.c_str()), Error);
    const std::string named = "load_via_annotation: '" + dir / "bad.json" + "'";  // every error names the file
    CHECK_THROWS_WITH_AS(load_via_annotation(dir / "bad.json", "", 8, 8), Catch(named.c_str()), Error);
  };
  fails_with(via_export(shape(R"({"name": "polygon", "all_points_x": "1,2,3", "all_points_y": [1, 2, 3]})")),
             "shape_attributes.all_points_x: expected an array of numbers, got string");
  fails_with(via_export(shape(R"({"name": "polygon", "all_points_x": [1, "2", 3], "all_points_y": [1, 2, 3]})")),
             "all_points_x[1]: expected a number, got string");
  fails_with(via_export(shape(R"({"name": "polygon", "all_points_x": [1, 2], "all_points_y": [1, 2]})")),
             "same length, at least 3");
  fails_with(via_export(shape(R"({"name": "polygon", "all_points_x": [1, 2, 3], "all_points_y": [1, 2]})")),
             "same length, at least 3");
  fails_with(via_export(shape(R"({"name": "rect", "x": 1, "y": 1, "width": 1e30, "height": 2})")),
             "width: expected a finite number within ±1e7");
  fails_with(via_export(shape(R"({"name": "rect", "x": 1, "y": 1, "width": 1e999, "height": 2})")),
             "not valid JSON");  // nlohmann refuses a number that overflows a double
  fails_with(via_export(shape(R"({"name": "rect", "x": 1, "y": 1, "width": -2, "height": 2})")),
             "non-negative width and height");
  fails_with(via_export(shape(R"({"name": "circle", "cx": 1, "cy": 1})")), "shape_attributes: missing \"r\"");
  fails_with(via_export(shape(R"({"name": "point", "cx": 1, "cy": 1})")), "shape \"point\" is not supported");
  fails_with(via_export(shape(R"({"name": 3})")), "name: expected a string, got number");
  fails_with(via_export(R"([{"region_attributes": {}}])"), "regions[0]: missing \"shape_attributes\"");
  fails_with(via_export(R"("none")"), "regions: expected an array of regions, got string");
  fails_with(R"({"img.png10": {"filename": "img.png", "size": 10}})", "missing \"regions\"");
  fails_with(R"({"img.png10": {"size": 10, "regions": []}})", "[\"img.png10\"]: missing \"filename\"");
  fails_with(R"({"_via_img_metadata": [1, 2]})", "_via_img_metadata: expected an object of images, got array");
  fails_with("[1, 2, 3]", "expected a JSON object at the top, got array");
  fails_with("{}", "holds no images");
  fails_with(via_export(shape(R"({"name": "rect", "x": NaN, "y": 1, "width": 1, "height": 1})")), "not valid JSON");
  const std::string whole = via_export(shape(R"({"name": "rect", "x": 1, "y": 1, "width": 1, "height": 1})"));
  fails_with(whole.substr(0, whole.size() / 2), "not valid JSON");  // truncated
  fails_with("", "not valid JSON");
  fails_with(std::string(100, '[') + std::string(100, ']'), "nested deeper than 64 levels");
  fails_with(std::string((16 << 20) + 1, ' '), "larger than the 16 MiB allowed");
  CHECK_THROWS_WITH_AS(load_via_annotation(dir / "missing.json", "", 8, 8), Catch("no such file"), Error);
  // A zigzag of 100 points whose every edge spans all 65,536 rows of a 1-pixel-wide image: 6.5 million
  // crossings to hold, over the 2^22 allowed.
  std::string xs, ys;
  for (int k = 0; k < 100; ++k) {
    xs += (k ? ", " : "") + std::to_string(k % 2);
    ys += (k ? ", " : "") + std::string(k % 2 ? "70000" : "-10");
  }
  write_bytes(dir / "zigzag.json",
              via_export(shape(R"({"name": "polygon", "all_points_x": [)" + xs + R"(], "all_points_y": [)" + ys + "]}")));
  CHECK_THROWS_WITH_AS(load_via_annotation(dir / "zigzag.json", "", 65536, 1), Catch("polygon too jagged"), Error);
}

TEST_CASE("foreground_annotation: the largest channel above the threshold") {
  // Pixels: (0.9, 0, 0), (0.2, 0.3, 0.6), (0.5, 0.5, 0.5), (NaN, 0, 0); threshold 0.5 (strict).
  Tensor img = f64({0.9, 0.2, 0.5, NAN, 0, 0.3, 0.5, 0, 0, 0.6, 0.5, 0}, {3, 2, 2});
  CHECK(foreground_annotation(img, 0.5).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1, 0, 0});
  Tensor gray = f64({0.1, 0.7, 0.4, 0.8}, {2, 2});
  Tensor fg = foreground_annotation(gray, 0.4);
  CHECK(fg.dtype() == DType::int64);
  CHECK(fg.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 0, 1});
  CHECK_THROWS_WITH_AS(foreground_annotation(zeros({1, 2, 2, 2}), 0.5), Catch("foreground_annotation: expected"), Error);
}

TEST_CASE("partial_annotation: the annotated pixels left of the median column") {
  // A full 2 × 4 block of id 7: columns 0, 0, 1, 1, 2, 2, 3, 3, median 1.5: columns 0 and 1 stay.
  Tensor block = tensor_from(std::vector<std::int64_t>(8, 7), {2, 4});
  CHECK(partial_annotation(block).to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 7, 0, 0, 7, 7, 0, 0});
  // Columns 0, 0, 0, 5: median 0, so "< 0" keeps nothing and "<= 0" keeps the three in column 0.
  Tensor lopsided = tensor_from({1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, {3, 6});
  CHECK(partial_annotation(lopsided).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0});
  CHECK(nonzero(partial_annotation(zeros({3, 3}, {.dtype = DType::int64}))) == 0);
  CHECK_THROWS_WITH_AS(partial_annotation(zeros({3, 3})), Catch("partial_annotation: expected an int64 mask"), Error);
}

TEST_CASE("composite_regions: grid cells outside the annotation, the annotation as the last region") {
  // 4 × 4, grid 2 × 2 (cells 0 1 / 2 3 of 2 × 2 pixels); annotated: pixel (0, 0) and all of cell 3.
  // Cell 3 disappears, so the annotation (first numbered 4) becomes 3.
  Tensor ann = tensor_from({1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 2}, {4, 4});
  CHECK(composite_regions(ann, 2, 2).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{3, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3});
  // The default 6 × 6 grid on 7 × 7: 36 cells (rows i · 6 / 7: 0, 0, 1, 2, 3, 4, 5) and the annotation.
  std::vector<std::int64_t> one(49, 0);
  one[0] = 5;  // pixel (0, 0), in cell 0 (rows and columns 0..1), which keeps its other 3 pixels
  const std::vector<std::int64_t> c = composite_regions(tensor_from(one, {7, 7})).to_vector<std::int64_t>();
  CHECK(*std::max_element(c.begin(), c.end()) == 36);
  CHECK(c[0] == 36);
  CHECK((c[1] == 0 && c[7] == 0 && c[8] == 0));
  CHECK(c[2] == 1);   // (0, 2): cell column 2 · 6 / 7 = 1
  CHECK(c[24] == 14);  // (3, 3): cell (2, 2), the only pixel of that cell
  CHECK(c[48] == 35);
  CHECK_THROWS_WITH_AS(composite_regions(ann, 5, 2), Catch("composite_regions: expected a grid of 1..4 rows"), Error);
}

}  // TEST_SUITE
