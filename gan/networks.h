#pragma once
// The networks of the counterfactual GAN of the DL@MBL knowledge-extraction exercise ("the course"
// below), and the weight-averaging and freezing helpers both of gan/'s GANs train with.
//
//   StyleEncoder   image [N, 3, 28, 28] → style [N, style_size]: the DenseModel MLP
//                  (flatten 2352 → 256 → 120 → 84 → style_size, ReLU between), children
//                  "flatten", "fc1", "relu1", ..., "fc4" as nn::DenseModel.
//   Discriminator  image → 4 class logits: the same MLP with num_classes outputs. It learns to name
//                  the class of real images and to refuse fakes their target class.
//   Generator      (x [N, 3, H, W], style [N, S]) → image [N, 3, H, W] in (0, 1): the style is
//                  broadcast over H×W and concatenated to x on channels, then a UNet (child "unet",
//                  in_channels 3 + S) redraws the image.
//
// All weights are drawn from lumen's default generator: call manual_seed first for a reproducible set.
#include <cstdint>
#include <memory>
#include <string>

#include "gan/unet.h"
#include "nn/layers.h"

namespace lumen::gan {

// The course's DenseModel MLP with any number of outputs; StyleEncoder and Discriminator name it.
class DenseMLP : public nn::Sequential {
 public:
  DenseMLP(std::int64_t inputs, std::int64_t outputs);
  std::shared_ptr<nn::Linear> fc1, fc2, fc3, fc4;
};

class StyleEncoder : public DenseMLP {
 public:
  explicit StyleEncoder(std::int64_t style_size = 3, std::int64_t inputs = 3 * 28 * 28) : DenseMLP(inputs, style_size) {}
  std::string type_name() const override { return "StyleEncoder"; }
  std::int64_t style_size() const { return fc4->out_features; }
};

class Discriminator : public DenseMLP {
 public:
  explicit Discriminator(std::int64_t num_classes = 4, std::int64_t inputs = 3 * 28 * 28) : DenseMLP(inputs, num_classes) {}
  std::string type_name() const override { return "Discriminator"; }
};

struct GeneratorOptions {
  std::int64_t image_channels = 3;
  std::int64_t style_size = 3;
  std::int64_t depth = 2;
  std::int64_t num_fmaps = 12;  // the course's UNet has 64
  bool sigmoid = true;          // the course's final activation; false: raw outputs (see GanOptions)
};

class Generator : public nn::Module {
 public:
  explicit Generator(GeneratorOptions opt = {});
  // G(x, style): x [N, C, H, W], style [N, S] (or [1, S], shared by the batch) → [N, C, H, W].
  Tensor operator()(const Tensor& x, const Tensor& style);
  using nn::Module::operator();
  // The UNet on an input that already carries the style planes: [N, C + S, H, W] → [N, C, H, W].
  Tensor forward(const Tensor& x_and_style) override { return (*unet)(x_and_style); }
  std::string type_name() const override { return "Generator"; }
  GeneratorOptions options;
  std::shared_ptr<UNet> unet;
};

// x ⊕ style broadcast over H×W: [N, C, H, W] and [N or 1, S] → [N, C + S, H, W].
Tensor concat_style(const Tensor& x, const Tensor& style);

// The exponential moving average of a model's weights, for the course's smoothed generator:
//   p_ema ← β·p_ema + (1 − β)·p  for every parameter (in place, no graph), and buffers copied.
// Both modules must have the same parameter names and shapes (lumen::Error otherwise).
void ema_update(nn::Module& ema_model, const nn::Module& model, double beta = 0.999);

// dst's parameters and buffers become copies of src's (in place: optimizers holding dst's tensors stay
// valid). Same names and shapes required.
void copy_weights(nn::Module& dst, const nn::Module& src);

// Switches gradients for every parameter of m on or off (a frozen discriminator during G's step).
void set_requires_grad(nn::Module& m, bool on);

// m's parameters frozen for a scope (no gradient computed for them), unfrozen at its end, even if it throws.
class Frozen {
 public:
  explicit Frozen(nn::Module& m) : m_(m) { set_requires_grad(m_, false); }
  ~Frozen() { set_requires_grad(m_, true); }
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;

 private:
  nn::Module& m_;
};

}  // namespace lumen::gan
