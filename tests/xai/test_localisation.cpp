// Localisation and complexity metrics (xai/localisation.h) on a 2×3 relevance map whose scores are
// worked out by hand in the comments.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "xai/localisation.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

namespace {

// r = [[0.1, 0.5, -0.2],
//      [0.5, 0.0,  0.3]]   (pixels 0..5 row-major; the maximum 0.5 is at pixels 1 and 3)
const std::vector<double> kR = {0.1, 0.5, -0.2, 0.5, 0.0, 0.3};

// Two samples of r, each split over two channels as 2r and −r (which sum exactly to r).
Tensor two_channel_batch() {
  std::vector<double> v;
  for (int n = 0; n < 2; ++n) {
    for (double x : kR) v.push_back(2 * x);
    for (double x : kR) v.push_back(-x);
  }
  return f64(v, {2, 2, 2, 3});
}

// Sample 0: inside = pixels {1, 2, 5}; sample 1: inside = pixel {3} only.
Tensor masks() { return tensor_from({0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0}, {2, 2, 3}); }

}  // namespace

TEST_SUITE("xai_evaluation") {

TEST_CASE("pointing_game: the first maximum in row-major order decides") {
  // Both samples peak at pixels 1 and 3 (0.5); the first, pixel 1, is inside mask 0 but not mask 1.
  Tensor p = pointing_game(two_channel_batch(), masks());
  CHECK(p.dtype() == DType::float64);
  CHECK(p.shape() == Shape{2});
  CHECK_VALUES(p, {1, 0});
}

TEST_CASE("relevance_mass_accuracy: the inside share of the positive relevance") {
  // Positive relevance 0.1 + 0.5 + 0.5 + 0.3 = 1.4; inside mask 0: 0.5 + 0.3 (−0.2 counts 0) = 0.8,
  // inside mask 1: 0.5.
  CHECK_VALUES(relevance_mass_accuracy(two_channel_batch(), masks()), {0.8 / 1.4, 0.5 / 1.4}, 1e-12);
  // No positive relevance at all: 0.
  CHECK_VALUES(relevance_mass_accuracy(f64({-1, 0, -2, 0}, {1, 2, 2}), tensor_from({1, 0, 0, 0}, {2, 2})), {0});
}

TEST_CASE("relevance_rank_accuracy: ties ranked in row-major order") {
  // Ranking, stable: pixel 1 (0.5), 3 (0.5), 5 (0.3), 0 (0.1), 4 (0), 2 (−0.2).
  // Mask 0, K = 3: top 3 = {1, 3, 5}, inside {1, 5} → 2/3. Mask 1, K = 1: top 1 = {1}, outside → 0.
  CHECK_VALUES(relevance_rank_accuracy(two_channel_batch(), masks()), {2.0 / 3.0, 0}, 1e-12);
  // An empty mask has no K: NaN.
  Tensor r = relevance_rank_accuracy(f64(kR, {1, 2, 3}), zeros({2, 3}));
  CHECK(std::isnan(r.item()));
}

TEST_CASE("localisation_auc: Mann–Whitney with ties counted one half") {
  // Mask 0: inside {0.5, −0.2, 0.3} against outside {0.1, 0.5, 0.0}: 0.5 beats 0.1 and 0.0 and ties
  // 0.5 (2.5), −0.2 beats nothing (0), 0.3 beats 0.1 and 0.0 (2): 4.5 of 9 pairs = 0.5.
  // Mask 1: inside {0.5} beats 0.1, −0.2, 0.0, 0.3 and ties 0.5: 4.5 of 5 = 0.9.
  CHECK_VALUES(localisation_auc(two_channel_batch(), masks()), {0.5, 0.9}, 1e-12);
  // A perfect separation is 1, a reversed one 0; an empty or full mask has no AUC.
  Tensor a = f64({3, 2, 1, 0}, {1, 2, 2});
  CHECK_VALUES(localisation_auc(a, tensor_from({1, 1, 0, 0}, {2, 2})), {1});
  CHECK_VALUES(localisation_auc(a, tensor_from({0, 0, 1, 1}, {2, 2})), {0});
  CHECK(std::isnan(localisation_auc(a, zeros({2, 2})).item()));
  CHECK(std::isnan(localisation_auc(a, ones({2, 2})).item()));
}

TEST_CASE("sparseness: the Gini index of |r|") {
  // |r| sorted: 0, 0.1, 0.2, 0.3, 0.5, 0.5 with weights 2i − n − 1 = −5, −3, −1, 1, 3, 5:
  // −0.3 − 0.2 + 0.3 + 1.5 + 2.5 = 3.8, over n Σ|r| = 6 · 1.6 = 9.6.
  CHECK_VALUES(sparseness(two_channel_batch()), {3.8 / 9.6, 3.8 / 9.6}, 1e-12);
  // One pixel holds everything: (n − 1) / n; uniform: 0; all zero: 0.
  CHECK_VALUES(sparseness(f64({0, 0, -7, 0}, {1, 2, 2})), {0.75}, 1e-12);
  CHECK_VALUES(sparseness(f64({2, -2, 2, 2}, {1, 2, 2})), {0}, 1e-12);
  CHECK_VALUES(sparseness(zeros({1, 2, 2})), {0});
}

TEST_CASE("complexity: the entropy of |r| / Σ|r|") {
  // p = (0.1, 0.5, 0.2, 0.5, 0, 0.3) / 1.6; −Σ p ln p (the 0 adds nothing).
  double h = 0;
  for (double x : {0.1, 0.5, 0.2, 0.5, 0.3}) h -= x / 1.6 * std::log(x / 1.6);
  CHECK(h == doctest::Approx(1.474056825273205).epsilon(1e-12));  // the same sum in Python
  CHECK_VALUES(complexity(two_channel_batch()), {h, h}, 1e-12);
  CHECK_VALUES(complexity(f64({0, 0, -7, 0}, {1, 2, 2})), {0});
  CHECK_VALUES(complexity(f64({2, -2, 2, 2}, {1, 2, 2})), {std::log(4.0)}, 1e-12);
  CHECK_VALUES(complexity(zeros({1, 2, 2})), {0});
}

TEST_CASE("localisation metrics: a [H, W] mask is broadcast; float masks count nonzero as inside") {
  Tensor r = f64(kR, {1, 2, 3});
  Tensor m = f64({0, 0.5, -1, 0, 0, 2}, {2, 3});  // pixels {1, 2, 5}, as mask 0
  CHECK_VALUES(pointing_game(r, m), {1});
  CHECK_VALUES(relevance_mass_accuracy(r, m), {0.8 / 1.4}, 1e-12);
  std::vector<double> twice = kR;
  twice.insert(twice.end(), kR.begin(), kR.end());
  CHECK_VALUES(localisation_auc(f64(twice, {2, 2, 3}), m), {0.5, 0.5}, 1e-12);  // both samples see the mask
}

TEST_CASE("localisation metrics: empty batch and bad input") {
  CHECK(pointing_game(zeros({0, 3, 4, 4}), zeros({4, 4})).shape() == Shape{0});
  CHECK(sparseness(zeros({0, 4, 4})).shape() == Shape{0});
  CHECK_THROWS_WITH_AS(pointing_game(zeros({4, 4}), zeros({4, 4})),
                       Catch("pointing_game: expected attributions [N, C, H, W] or [N, H, W]"), Error);
  CHECK_THROWS_WITH_AS(relevance_mass_accuracy(zeros({2, 4, 4}), zeros({3, 4, 4})),
                       Catch("do not fit attributions of 2 maps of 4x4 pixels"), Error);
  CHECK_THROWS_WITH_AS(localisation_auc(zeros({1, 4, 4}), zeros({4, 5})), Catch("localisation_auc: masks"), Error);
  CHECK_THROWS_WITH_AS(relevance_rank_accuracy(zeros({1, 4, 4}), Tensor()), Catch("expected masks [N, H, W]"), Error);
  CHECK_THROWS_WITH_AS(complexity(f64({1, NAN}, {1, 1, 2})), Catch("complexity: expected finite attributions"), Error);
  CHECK_THROWS_WITH_AS(sparseness(tensor_from({1, 2}, {1, 1, 2})), Catch("sparseness: expected floating"), Error);
  CHECK_THROWS_WITH_AS(pointing_game(zeros({1, 2, 2}), f64({NAN, 0, 0, 0}, {2, 2})), Catch("without NaN"), Error);
}

}  // TEST_SUITE
