// LIME's pictures (xai/lime_figures.h) on 4 × 4 images with two segments, every pixel checked.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/figures/pixel_checks.h"
#include "tests/test_util.h"
#include "xai/lime_figures.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using lumen::testing::pixels::at;
using lumen::testing::pixels::near;
using lumen::testing::pixels::Rgb;
using Catch = doctest::Contains;

namespace {

// A 4 × 4 image of one colour (0.2, 0.4, 0.6): its gray is 0.4.
Tensor plain_image() {
  std::vector<double> v;
  for (double c : {0.2, 0.4, 0.6})
    for (int e = 0; e < 16; ++e) v.push_back(c);
  return f64(v, {3, 4, 4});
}

// Segment 0 = columns 0..1, segment 1 = columns 2..3.
Tensor halves() { return tensor_from({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}, {4, 4}); }

// Every pixel of column j is `want`.
bool column_is(const Tensor& img, std::int64_t j, Rgb want) {
  for (std::int64_t i = 0; i < 4; ++i)
    if (!near(at(img, i, j), want)) return false;
  return true;
}

const Rgb kYellow{1, 1, 0}, kOriginal{0.2f, 0.4f, 0.6f}, kGray{0.4f, 0.4f, 0.4f}, kBlack{0, 0, 0};

}  // namespace

TEST_SUITE("xai_visualize") {

TEST_CASE("mark_boundaries: pixels with a 4-neighbour in another segment") {
  // Segment 1 = the top-left 2 × 2 block. On a boundary ('#'): the block's pixels that touch the rest
  // along an edge, and the rest's pixels that touch the block; (0, 0) and (2, 2) do not (they meet
  // the other segment only at a corner, or not at all).
  Tensor seg = tensor_from({1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {4, 4});
  const std::vector<std::string> want = {".##.", "###.", "##..", "...."};
  Tensor img = mark_boundaries(plain_image(), seg);
  CHECK(img.shape() == Shape{3, 4, 4});
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 4; ++j) {
      INFO("pixel (" << i << ", " << j << ")");
      CHECK(near(at(img, i, j), want[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] == '#' ? kYellow : kOriginal));
    }
  // Two halves: columns 1 and 2, one on each side; a gray image comes back RGB; any colour.
  Tensor gray = mark_boundaries(full({4, 4}, 0.3), halves(), {0, 0, 1});
  CHECK(gray.shape() == Shape{3, 4, 4});
  CHECK(column_is(gray, 0, {0.3f, 0.3f, 0.3f}));
  CHECK(column_is(gray, 1, {0, 0, 1}));
  CHECK(column_is(gray, 2, {0, 0, 1}));
  CHECK(column_is(gray, 3, {0.3f, 0.3f, 0.3f}));
  CHECK_THROWS_WITH_AS(mark_boundaries(plain_image(), zeros({4, 4})), Catch("mark_boundaries: expected int64 segments [4, 4]"),
                       Error);
  CHECK_THROWS_WITH_AS(mark_boundaries(plain_image(), tensor_from({0, 1}, {1, 2})), Catch("to match the image"), Error);
}

TEST_CASE("lime_top_features: positive features kept, the rest gray or black, the outline yellow") {
  Tensor coef = f64({0.5, -0.8});
  Tensor img = lime_top_features(plain_image(), halves(), coef, 1);
  CHECK(column_is(img, 0, kOriginal));  // segment 0: the positive one, kept
  CHECK(column_is(img, 1, kYellow));    // the outline between shown and not shown
  CHECK(column_is(img, 2, kYellow));
  CHECK(column_is(img, 3, kGray));      // segment 1: negative, never shown with positive_only
  Tensor hidden = lime_top_features(plain_image(), halves(), coef.unsqueeze(0), 5, true, /*hide_rest=*/true);
  CHECK(column_is(hidden, 0, kOriginal));
  CHECK(column_is(hidden, 3, kBlack));
  // Nothing positive: all gray and no outline.
  Tensor none = lime_top_features(plain_image(), halves(), f64({-0.5, -0.8}), 2);
  for (std::int64_t j = 0; j < 4; ++j) CHECK(column_is(none, j, kGray));
}

TEST_CASE("lime_top_features: signed, the top |coefficients| tinted green or red") {
  Tensor coef = f64({0.5, -0.8});
  // k = 1: segment 1 (|−0.8| is larger) tinted red: ½ (0.2, 0.4, 0.6) + ½ (1, 0, 0) = (0.6, 0.2, 0.3).
  Tensor one = lime_top_features(plain_image(), halves(), coef, 1, /*positive_only=*/false);
  CHECK(column_is(one, 0, kGray));
  CHECK(column_is(one, 1, kYellow));
  CHECK(column_is(one, 3, {0.6f, 0.2f, 0.3f}));
  // k = 2: segment 0 green, ½ (0.2, 0.4, 0.6) + ½ (0, 1, 0) = (0.1, 0.7, 0.3); green meets red in yellow.
  Tensor both = lime_top_features(plain_image(), halves(), coef, 2, false, true);
  CHECK(column_is(both, 0, {0.1f, 0.7f, 0.3f}));
  CHECK(column_is(both, 1, kYellow));
  CHECK(column_is(both, 2, kYellow));
  CHECK(column_is(both, 3, {0.6f, 0.2f, 0.3f}));
  // k = 0 shows nothing; a segment without a coefficient is an error.
  CHECK(column_is(lime_top_features(plain_image(), halves(), coef, 0, false, true), 2, kBlack));
  CHECK_THROWS_WITH_AS(lime_top_features(plain_image(), halves(), f64({0.5}, {1}), 1),
                       Catch("lime_top_features: segment id 1 has no coefficient"), Error);
  CHECK_THROWS_WITH_AS(lime_top_features(plain_image(), halves(), coef, -1), Catch("expected k >= 0"), Error);
}

}  // TEST_SUITE
