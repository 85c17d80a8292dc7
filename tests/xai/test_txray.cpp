// TX-Ray filter profiles on hand-made convolution outputs.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "xai/text.h"
#include "xai/txray.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

TEST_SUITE("xai") {

TEST_CASE("TxRayRecorder: each filter's argmax over valid windows, named by the window's first token") {
  TxRayRecorder rec(2);
  // Width 2. Sentence 0 has 5 tokens (4 valid windows), sentence 1 has 2 (1 valid window; the rest is padding).
  const std::vector<std::vector<std::string>> batch{{"the", "cat", "sat", "down", "now"}, {"a", "dog"}};
  Tensor out = f64({0.5, 2.0, 2.0, -1,     // sentence 0, filter 0: max 2 first at window 1 → "cat"
                    -1, -2, -0.5, -3,      // sentence 0, filter 1: never positive → nothing
                    1.5, 9, 9, 9,          // sentence 1, filter 0: only window 0 is valid → "a", 1.5
                    0, 5, 5, 5},           // sentence 1, filter 1: window 0 gives 0, not > 0 → nothing
                   {2, 2, 4});
  rec.record(out, batch, 2);
  // A one-token sentence still has its window 0; an empty one only counts as a sentence.
  rec.record(f64({1, 7, 7, 7, 0.25, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4}, {2, 2, 4}), {{"cat"}, {}}, 2);
  const auto& p = rec.profiles();
  REQUIRE(p.size() == 2);
  CHECK(p[0].sentences == 4);
  CHECK(p[0].active_sentences == 3);
  CHECK(p[0].total_mass == doctest::Approx(4.5).epsilon(1e-15));
  CHECK(p[0].mass.at("cat") == doctest::Approx(3).epsilon(1e-15));
  CHECK(p[0].count.at("cat") == 2);
  CHECK(p[0].mass.at("a") == doctest::Approx(1.5).epsilon(1e-15));
  CHECK(p[0].unique_features() == 2);
  // Shares 1/3 and 2/3: entropy −(⅓ ln ⅓ + ⅔ ln ⅔).
  CHECK(p[0].entropy() == doctest::Approx(-(std::log(1.0 / 3) / 3 + 2 * std::log(2.0 / 3) / 3)).epsilon(1e-12));
  const auto top = p[0].top(1);
  REQUIRE(top.size() == 1);
  CHECK(top[0].first == "cat");
  CHECK(top[0].second == doctest::Approx(2.0 / 3).epsilon(1e-15));
  CHECK(p[0].top(5).size() == 2);
  CHECK(p[1].sentences == 4);
  CHECK(p[1].active_sentences == 1);
  CHECK(p[1].mass.at("cat") == doctest::Approx(0.25).epsilon(1e-15));
  CHECK(p[1].entropy() == 0.0);
  // P = (a ⅓, cat ⅔) against Q = (cat 1): H = √(1 − √⅔) (‖√P − √Q‖² = ⅓ + (√⅔ − 1)² = 2 − 2√⅔).
  const auto dist = distribution(p[0]);
  CHECK(dist.at("a") == doctest::Approx(1.0 / 3).epsilon(1e-15));
  CHECK(hellinger(dist, distribution(p[1])) == doctest::Approx(std::sqrt(1 - std::sqrt(2.0 / 3))).epsilon(1e-12));
}

TEST_CASE("FilterProfile: an inactive filter, ties by name, and bad inputs") {
  TxRayRecorder rec(1);
  CHECK(rec.profiles()[0].entropy() == 0.0);
  CHECK(distribution(rec.profiles()[0]).empty());
  rec.record(f64({2, 0, 0, 2}, {2, 1, 2}), {{"zebra", "x"}, {"apple", "y", "z"}}, 1);
  const auto top = rec.profiles()[0].top(2);
  REQUIRE(top.size() == 2);
  // Sentence 0 peaks at window 0 ("zebra"), sentence 1 at window 1 ("y"), both at 2: ties go by name.
  CHECK(top[0].first == "y");
  CHECK(top[1].first == "zebra");
  CHECK(top[0].second == 0.5);
  CHECK_THROWS_WITH_AS(rec.record(f64({1, 2}, {1, 2, 1}), {{"a"}}, 1), Catch("[N, 1, L]"), Error);
  CHECK_THROWS_WITH_AS(rec.record(f64({1, 2}, {1, 1, 2}), {{"a"}, {"b"}}, 1), Catch("one token list per sentence"), Error);
  CHECK_THROWS_WITH_AS(TxRayRecorder(0), Catch("at least one filter"), Error);
}

}  // TEST_SUITE
