// The TCAV protocol end to end on a model whose concepts are known because they are set by hand: a
// 1×1 convolution computing "redness" R − (G + B)/2 and "greenness" G − (R + B)/2 per pixel, ReLU,
// global average pooling and an identity head, so that logit 0 is the image's mean redness and logit 1
// its mean greenness. Red-tinted shapes must then matter to class 0 (TCAV score ≈ 1, significant) and
// against class 1 after the ReLU (≈ 0, significant too: the two-sided test flags a concept that lowers
// a class); the shape of a square in random colours must not matter to either.
#include <doctest/doctest.h>

#include <memory>
#include <numeric>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "xai/tcav.h"

using namespace lumen;
using namespace lumen::xai;
using Catch = doctest::Contains;

namespace {
const TensorOptions f64{.dtype = DType::float64};
constexpr std::int64_t kSide = 8;
constexpr std::uint64_t kColours = 99;  // the colours of the random sets and of the squares

std::shared_ptr<nn::Sequential> colour_model() {
  auto conv = std::make_shared<nn::Conv2d>(3, 2, 1);
  auto head = std::make_shared<nn::Linear>(2, 2);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("conv", conv);
  net->push_back("relu", std::make_shared<nn::ReLU>());
  net->push_back("pool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
  net->push_back("flatten", std::make_shared<nn::Flatten>());
  net->push_back("head", head);
  net->to(DType::float64);
  autograd::NoGradGuard no_grad;
  conv->weight.copy_(tensor({1, -0.5, -0.5, -0.5, 1, -0.5}, {2, 3, 1, 1}, f64));
  conv->bias.zero_();
  head->weight.copy_(tensor({1, 0, 0, 1}, {2, 2}, f64));
  head->bias.zero_();
  net->eval();
  return net;
}

enum class Form { square, dots, either };  // a 3×3 square, or 9 pixels scattered at random
enum class Colour { red, any };            // red-tinted (R ≥ 0.6, G, B ≤ 0.3) or uniform in [0, 1]³

// n images [n, 3, 8, 8]: black, with one shape of 9 pixels in one colour at a random place; the
// colours come from colour_seed, the forms and places from seed. Sets drawn with the same colour_seed
// hold the same colours, so that they differ only in form and place: with colours drawn anew, one
// set's chance excess of redness is shared by every CAV fitted against it, and those would then agree.
Tensor draw(std::int64_t n, Form form, Colour colour, std::uint64_t seed, std::uint64_t colour_seed) {
  Generator gen(seed), colour_gen(colour_seed);
  const std::vector<double> u = rand({n, 3}, f64, &gen).to_vector<double>();
  const std::vector<double> c = rand({n, 3}, f64, &colour_gen).to_vector<double>();
  std::vector<double> pixels(static_cast<std::size_t>(n * 3 * kSide * kSide), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* r = &u[static_cast<std::size_t>(i * 3)];
    const double* k = &c[static_cast<std::size_t>(i * 3)];
    const double rgb[3] = {colour == Colour::red ? 0.6 + 0.4 * k[0] : k[0], colour == Colour::red ? 0.3 * k[1] : k[1],
                           colour == Colour::red ? 0.3 * k[2] : k[2]};
    const bool square = form == Form::square || (form == Form::either && r[0] < 0.5);
    std::vector<std::int64_t> where;  // pixel indices y·8 + x
    if (square) {
      const auto top = static_cast<std::int64_t>(r[1] * (kSide - 2)), left = static_cast<std::int64_t>(r[2] * (kSide - 2));
      for (std::int64_t y = top; y < top + 3; ++y)
        for (std::int64_t x = left; x < left + 3; ++x) where.push_back(y * kSide + x);
    } else {
      const std::vector<std::int64_t> perm = randperm(kSide * kSide, kCPU, &gen).to_vector<std::int64_t>();
      where.assign(perm.begin(), perm.begin() + 9);
    }
    for (int ch = 0; ch < 3; ++ch)
      for (std::int64_t p : where) pixels[static_cast<std::size_t>((i * 3 + ch) * kSide * kSide + p)] = rgb[ch];
  }
  return tensor(pixels, {n, 3, kSide, kSide}, f64);
}

TcavRequest request_for(const Tensor& concept_images, std::int64_t target_class) {
  TcavRequest r;
  r.layers = {"conv", "relu"};
  r.concept_images = concept_images;
  for (std::uint64_t i = 0; i < 21; ++i) r.random_sets.push_back(draw(30, Form::either, Colour::any, 100 + i, kColours));
  r.class_inputs = draw(40, Form::either, Colour::red, 7, 8);
  r.target_class = target_class;
  r.cav.seed = 1;
  return r;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
}  // namespace

TEST_SUITE("xai_concepts") {

TEST_CASE("run_tcav: red-tinted shapes drive the redness class, significantly; a square in random colours does not") {
  auto net = colour_model();
  const Tensor red = draw(30, Form::either, Colour::red, 1, 2);
  const Tensor square = draw(30, Form::square, Colour::any, 3, kColours);

  const std::vector<TcavLayerResult> towards = run_tcav(*net, request_for(red, 0));
  REQUIRE(towards.size() == 2);
  for (const TcavLayerResult& l : towards) {
    CAPTURE(l.layer);
    CHECK(l.scores.size() == 20);
    CHECK(l.random_scores.size() == 20);
    CHECK(l.cav_accuracies.size() == 20);
    CHECK(mean(l.cav_accuracies) > 0.65);  // redness, unlike form, can be told from random colours
    CHECK(l.significance.mean > 0.95);
    CHECK(l.significance.significant);
    CHECK(l.significance.p_value < 0.05 / 2);
  }
  CHECK(towards[0].layer == "conv");
  CHECK(towards[1].layer == "relu");

  // Greenness: after the ReLU its logit falls along the red CAVs (score ≈ 0, significant). Before the
  // ReLU, no pixel of a red input has greenness > 0, so every gradient is 0: every S = 0, scores 0 for
  // the concept and the random CAVs alike, nothing to tell apart.
  const std::vector<TcavLayerResult> against = run_tcav(*net, request_for(red, 1));
  CHECK(against[0].significance.mean == 0.0);
  CHECK(against[0].significance.random_mean == 0.0);
  CHECK_FALSE(against[0].significance.significant);
  CHECK(against[1].significance.mean < 0.05);
  CHECK(against[1].significance.significant);

  for (std::int64_t target : {0, 1}) {
    for (const TcavLayerResult& l : run_tcav(*net, request_for(square, target))) {
      CAPTURE(l.layer);
      CAPTURE(target);
      CHECK(mean(l.cav_accuracies) < 0.6);  // a linear probe cannot tell the squares from the other forms
      CHECK_FALSE(l.significance.significant);
      CHECK(l.significance.p_value > 0.05);
    }
  }
}

TEST_CASE("run_tcav: with layer integrated gradients, the same where the rest of the model is linear") {
  auto net = colour_model();
  TcavRequest r = request_for(draw(30, Form::either, Colour::red, 1, 2), 0);
  const std::vector<TcavLayerResult> plain = run_tcav(*net, r);
  r.layer_ig = true;
  const std::vector<TcavLayerResult> integrated = run_tcav(*net, r);
  // After the ReLU, pooling and the head are linear: the integrated gradient is the gradient.
  CHECK(integrated[1].scores == plain[1].scores);
  CHECK(integrated[1].random_scores == plain[1].random_scores);
  CHECK(integrated[0].significance.significant);
  CHECK(integrated[0].significance.mean > 0.95);
}

TEST_CASE("run_tcav: the same request gives the same result") {
  auto net = colour_model();
  const TcavRequest r = request_for(draw(30, Form::either, Colour::red, 1, 2), 0);
  const std::vector<TcavLayerResult> a = run_tcav(*net, r), b = run_tcav(*net, r);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].scores == b[i].scores);
    CHECK(a[i].magnitudes == b[i].magnitudes);
    CHECK(a[i].random_scores == b[i].random_scores);
    CHECK(a[i].random_cav_accuracies == b[i].random_cav_accuracies);
    CHECK(a[i].significance.p_value == b[i].significance.p_value);
  }
}

TEST_CASE("run_tcav: bad requests") {
  auto net = colour_model();
  TcavRequest r = request_for(draw(10, Form::square, Colour::any, 3, kColours), 0);
  TcavRequest few = r;
  few.random_sets.resize(2);
  CHECK_THROWS_WITH_AS(run_tcav(*net, few), Catch("at least 3 random sets"), lumen::Error);
  TcavRequest none = r;
  none.layers.clear();
  CHECK_THROWS_WITH_AS(run_tcav(*net, none), Catch("at least one layer"), lumen::Error);
  TcavRequest empty = r;
  empty.random_sets[4] = zeros({0, 3, kSide, kSide}, f64);
  CHECK_THROWS_WITH_AS(run_tcav(*net, empty), Catch("random set 4"), lumen::Error);
  TcavRequest missing = r;
  missing.layers = {"conv", "nope"};
  CHECK_THROWS_WITH_AS(run_tcav(*net, missing), Catch("'nope'"), lumen::Error);
}

}  // TEST_SUITE
