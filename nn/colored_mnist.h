#pragma once
// ColoredMNIST, as in the DL@MBL course's knowledge-extraction exercise: every gray digit is tinted with a color, and
// the label to learn is the color's class, not the digit. For each image a class c is drawn uniformly
// from 0..3 and t ~ U(0, 1); the color is matplotlib's colormap of that class at t,
//   0 spring (1, t, 1 - t)      1 summer (t, 0.5 + 0.5 t, 0.4)
//   2 autumn (1, t, 0)          3 winter (0, t, 1 - 0.5 t)
// and the RGB image is gray pixel * color. Explanations of a classifier trained on it should point
// at the colored strokes, whatever the digit.
#include <array>
#include <cstdint>

#include "autograd/tensor.h"
#include "nn/mnist.h"

namespace lumen::nn {

constexpr std::int64_t kColoredMnistClasses = 4;

// The RGB color of class c (0..3) at t in [0, 1], in float32 as stored in the images.
std::array<float, 3> colormap_color(std::int64_t c, float t);

struct ColoredMnist {
  Tensor images;  // float32 [N, 3, H, W] in [0, 1]
  Tensor labels;  // int64 [N]: the color class 0..3 (what a model is trained to predict)
  Tensor digits;  // int64 [N]: the digit shown, 0..9
  Tensor t;       // float32 [N]: the colormap position of each image's color
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Colors every image of gray (float32 [N, H, W] in [0, 1]; digits int64 [N]). All N classes are drawn
// first, then all N values of t, from a Generator seeded with `seed`: the same seed and input give
// the same dataset on every run.
ColoredMnist make_colored_mnist(const Tensor& gray, const Tensor& digits, std::uint64_t seed);
inline ColoredMnist make_colored_mnist(const MnistData& mnist, std::uint64_t seed) {
  return make_colored_mnist(mnist.images, mnist.labels, seed);
}

}  // namespace lumen::nn
