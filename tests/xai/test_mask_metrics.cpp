// Dice, small-component removal (4- and 8-connectivity) and thresholding, on hand-drawn masks.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "xai/mask_metrics.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using morphology::Mask;
using Catch = doctest::Contains;

namespace {
// A mask from rows of '#' (1) and '.' (0).
Mask draw(const std::vector<std::string>& rows) {
  Mask m;
  for (const auto& r : rows)
    for (char c : r) m.push_back(c == '#' ? 1 : 0);
  return m;
}
}  // namespace

TEST_SUITE("xai_uncertainty") {

TEST_CASE("dice: hand cases") {
  CHECK(dice({1, 1, 0, 0}, {1, 0, 1, 0}) == 0.5);  // 2·1 / (2 + 2)
  CHECK(dice({1, 1, 1, 0}, {1, 1, 0, 0}) == doctest::Approx(0.8));  // 2·2 / (3 + 2)
  CHECK(dice({1, 0, 1}, {1, 0, 1}) == 1);
  CHECK(dice({1, 0}, {0, 1}) == 0);
  CHECK(dice({0, 0, 0}, {0, 0, 0}) == 1);  // both empty
  CHECK(dice({0, 0}, {1, 0}) == 0);
  CHECK(dice({}, {}) == 1);
}

TEST_CASE("dice: bad input") {
  CHECK_THROWS_WITH_AS(dice({1, 0}, {1}), Catch("dice: expected masks of the same size"), lumen::Error);
  CHECK_THROWS_WITH_AS(dice({2, 0}, {1, 0}), Catch("dice: expected a 0/1 prediction mask"), lumen::Error);
  CHECK_THROWS_WITH_AS(dice({1, 0}, {1, 255}), Catch("dice: expected a 0/1 truth mask"), lumen::Error);
}

TEST_CASE("remove_small_components: a 9-pixel blob goes, a 10-pixel blob stays") {
  const Mask m = draw({
      "###.......",
      "###.......",
      "###.......",
      "..........",
      "....#####.",
      "....#####.",
  });
  const Mask want = draw({
      "..........",
      "..........",
      "..........",
      "..........",
      "....#####.",
      "....#####.",
  });
  CHECK(remove_small_components(m, 6, 10) == want);
  CHECK(remove_small_components(m, 6, 10, 9, 4) == want);
  CHECK(remove_small_components(m, 6, 10, 8) == m);    // nothing as small as 8
  CHECK(remove_small_components(m, 6, 10, 0) == m);    // max_size 0 removes nothing
  CHECK(remove_small_components(m, 6, 10, 10) == Mask(60, 0));
}

TEST_CASE("remove_small_components: diagonal neighbours are joined under 8-, separate under 4-connectivity") {
  const Mask m = draw({
      "#....",
      ".#...",
      "..#..",
      ".....",
  });
  CHECK(remove_small_components(m, 4, 5, 2, 8) == m);  // one component of 3 pixels
  CHECK(remove_small_components(m, 4, 5, 2) == m);     // 8 is the default
  CHECK(remove_small_components(m, 4, 5, 2, 4) == Mask(20, 0));  // three single pixels
  // A pixel sharing an edge is a neighbour under both.
  const Mask pair = draw({"##.", "..#"});
  CHECK(remove_small_components(pair, 2, 3, 2, 4) == Mask(6, 0));  // components of 2 and 1 pixels
  CHECK(remove_small_components(pair, 2, 3, 1, 4) == draw({"##.", "..."}));
  CHECK(remove_small_components(pair, 2, 3, 2, 8) == pair);
  // The whole image as one component (the flood fill's worst case).
  CHECK(remove_small_components(Mask(64 * 64, 1), 64, 64, 4095) == Mask(64 * 64, 1));
  CHECK(remove_small_components(Mask(64 * 64, 1), 64, 64, 4096) == Mask(64 * 64, 0));
}

TEST_CASE("remove_small_components: bad input") {
  CHECK_THROWS_WITH_AS(remove_small_components(Mask(5, 0), 2, 3), Catch("remove_small_components: expected a 2×3 mask"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(remove_small_components(Mask(6, 0), 2, 3, 9, 6),
                       Catch("remove_small_components: expected connectivity 4 or 8"), lumen::Error);
  CHECK_THROWS_WITH_AS(remove_small_components(Mask(6, 0), 2, 3, -1), Catch("expected max_size >= 0"), lumen::Error);
  CHECK_THROWS_WITH_AS(remove_small_components(Mask(6, 2), 2, 3), Catch("0/1"), lumen::Error);
  CHECK_THROWS_WITH_AS(remove_small_components(Mask(0), 0, 3), Catch("remove_small_components"), lumen::Error);
  CHECK_THROWS_WITH_AS(remove_small_components(Mask(1), std::int64_t{1} << 40, std::int64_t{1} << 40),
                       Catch("overflows"), lumen::Error);
}

TEST_CASE("threshold_mask: value > threshold") {
  const Tensor map = f64({0.1, 0.5, 0.6, -1}, {2, 2});
  CHECK(threshold_mask(map, 0.5) == Mask{0, 0, 1, 0});
  CHECK(threshold_mask(map.reshape({1, 2, 2}), 0.0) == Mask{1, 1, 1, 0});
  CHECK(threshold_mask(f64({std::nan(""), 1}, {1, 2}), 0.5) == Mask{0, 1});
  // A non-contiguous view reads in row-major order of its shape.
  CHECK(threshold_mask(map.t(), 0.3) == Mask{0, 1, 1, 0});
  CHECK(threshold_mask(tensor({0.2, 0.9}, {1, 2}), 0.5) == Mask{0, 1});  // float32
}

TEST_CASE("threshold_mask: bad input") {
  CHECK_THROWS_WITH_AS(threshold_mask(f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}), 0.5), Catch("threshold_mask"),
                       lumen::Error);
  CHECK_THROWS_WITH_AS(threshold_mask(f64({1, 2}, {2}), 0.5), Catch("threshold_mask"), lumen::Error);
  CHECK_THROWS_WITH_AS(threshold_mask(Tensor(), 0.5), Catch("threshold_mask"), lumen::Error);
  CHECK_THROWS_WITH_AS(threshold_mask(tensor_from({1, 2}, {1, 2}), 0.5), Catch("floating"), lumen::Error);
}

}  // TEST_SUITE
