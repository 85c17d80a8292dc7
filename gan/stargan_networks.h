#pragma once
// The networks of the StarGAN v2 option of the counterfactual GAN (Choi et al. 2020, "StarGAN v2:
// Diverse Image Synthesis for Multiple Domains"), sized for 28×28 ColoredMNIST on a 2-core CPU. Beyond
// the GAN of the DL@MBL knowledge-extraction exercise (gan/training.h): styles come from a per-class
// mapping network (random latent z → style of class y) or a per-class style encoder, the generator
// injects them with AdaIN, and the discriminator has one real/fake logit per class, regularised with
// R1 (a gradient penalty computed by double backward).
//
//   MappingNetwork        z [N, latent_dim] → styles of every class [N, K, style_dim] (forward);
//                         F(z, y) = head_y(trunk(z)) → [N, style_dim]. Children "trunk", "heads.<k>".
//   StarGanStyleEncoder   image [N, C, H, W] → [N, K, style_dim] (forward); E(x, y) picks head y.
//   StarGanGenerator      G(x, s): from_rgb conv → one stride-2 conv (H/2 × W/2) → encoder residual
//                         blocks (InstanceNorm) → decoder residual blocks with AdaIN(s) → transposed
//                         conv back to H × W → LeakyReLU → 1×1 conv to C channels. No final activation:
//                         the output is raw (see GanOptions::sigmoid on why a sigmoid stays black on
//                         ColoredMNIST); counterfactual_from_latent clamps to [0, 1].
//   StarGanDiscriminator  image → K logits [N, K] (forward); D(x, y) = logit y → [N].
//
// E and D share the trunk's shape (ConvTrunk): conv3×3 → LReLU → conv4×4/2 → LReLU → conv4×4/2 →
// LReLU → conv over the whole (H/4 × W/4) map → LReLU → [N, 2·channels]. H and W must be multiples
// of 4 and equal to options.image_size.
//
// All weights are drawn from lumen's default generator: call manual_seed first for a reproducible set.
// Training, checkpoints and counterfactuals: gan/stargan.h.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/module.h"

namespace lumen::gan {

struct StarGanOptions {
  // ---- architecture
  std::int64_t image_channels = 3;
  std::int64_t image_size = 28;     // H = W; a multiple of 4
  std::int64_t num_classes = 4;
  std::int64_t latent_dim = 16;
  std::int64_t style_dim = 16;
  std::int64_t channels = 32;       // generator feature maps; E and D use channels and 2·channels
  std::int64_t res_blocks = 2;      // encoder blocks, and as many AdaIN decoder blocks
  std::int64_t mapping_hidden = 64;
  // ---- training (the paper's values unless noted)
  double lr = 1e-4;                 // G, E and D
  double lr_mapping = 1e-6;         // F
  double beta1 = 0.0, beta2 = 0.99;
  double weight_decay = 1e-4;
  double lambda_r1 = 1.0;
  double lambda_sty = 1.0;
  double lambda_ds = 1.0;           // its initial value, decayed linearly to 0 over ds_decay_steps
  std::int64_t ds_decay_steps = 0;  // 0: no decay
  double lambda_cyc = 1.0;
  double ema_beta = 0.999;
  std::uint64_t seed = 0;           // weights (seed), the latents/targets of each step (seed + 1), batch order (seed + 2)
  // ---- the trainer (StarGanTrainer; StarGan::train_step ignores these)
  std::int64_t epochs = 5;
  std::int64_t batch_size = 8;      // the paper's
  std::int64_t log_every = 50;      // a progress line every this many steps (0: none)
  std::FILE* log = stderr;
  std::int64_t max_steps = 0;       // fit() stops before this total step count (0: no limit)
};

// Every class's output of a head bank picked per sample: all [N, K, ...] and int64 y [N] → [N, ...].
Tensor pick_class(const Tensor& all, const Tensor& y);
// An int64 [n] tensor of `target` (for F(z, class_index(n, 2)) etc.).
Tensor class_index(std::int64_t n, std::int64_t target);
// Throws (naming op) unless y is int64 class indices [n].
void check_class_indices(const char* op, const Tensor& y, std::int64_t n);

class MappingNetwork : public nn::Module {
 public:
  MappingNetwork(std::int64_t latent_dim = 16, std::int64_t style_dim = 16, std::int64_t num_classes = 4,
                 std::int64_t hidden = 64);
  Tensor forward(const Tensor& z) override;                   // [N, latent_dim] → [N, K, style_dim]
  Tensor operator()(const Tensor& z, const Tensor& y);        // → [N, style_dim]
  using nn::Module::operator();
  std::string type_name() const override { return "MappingNetwork"; }
  std::int64_t latent_dim, style_dim, num_classes;
  std::shared_ptr<nn::Sequential> trunk;  // Linear, ReLU, Linear, ReLU
  std::vector<std::shared_ptr<nn::Sequential>> heads;  // per class: Linear, ReLU, Linear
};

// The shared convolutional trunk of StarGanStyleEncoder and StarGanDiscriminator (see the top of the file).
class ConvTrunk : public nn::Sequential {
 public:
  ConvTrunk(std::int64_t in_channels, std::int64_t channels, std::int64_t image_size);
  Tensor forward(const Tensor& x) override;  // [N, C, S, S] → [N, 2·channels]
  std::string type_name() const override { return "ConvTrunk"; }
  std::int64_t in_channels, image_size, features;
};

class StarGanStyleEncoder : public nn::Module {
 public:
  explicit StarGanStyleEncoder(const StarGanOptions& opt = {});
  Tensor forward(const Tensor& x) override;             // → [N, K, style_dim]
  Tensor operator()(const Tensor& x, const Tensor& y);  // → [N, style_dim]
  using nn::Module::operator();
  std::string type_name() const override { return "StarGanStyleEncoder"; }
  std::int64_t style_dim, num_classes;
  std::shared_ptr<ConvTrunk> trunk;
  std::vector<std::shared_ptr<nn::Linear>> heads;
};

class StarGanDiscriminator : public nn::Module {
 public:
  explicit StarGanDiscriminator(const StarGanOptions& opt = {});
  Tensor forward(const Tensor& x) override;             // → [N, K] real/fake logits
  Tensor operator()(const Tensor& x, const Tensor& y);  // → [N]: logit y of each sample
  using nn::Module::operator();
  std::string type_name() const override { return "StarGanDiscriminator"; }
  std::int64_t num_classes;
  std::shared_ptr<ConvTrunk> trunk;
  std::shared_ptr<nn::Linear> head;  // one output per class
};

// Adaptive instance normalisation: each (sample, channel) plane of x [N, C, H, W] normalised over H, W
// (biased variance, eps 1e-5), then scaled by (1 + γ) and shifted by β, [γ, β] = fc(style) [N, 2C].
class AdaIN : public nn::Module {
 public:
  AdaIN(std::int64_t style_dim, std::int64_t num_features);
  Tensor operator()(const Tensor& x, const Tensor& style);
  Tensor forward(const Tensor& x) override;  // not callable without a style (lumen::Error)
  std::string type_name() const override { return "AdaIN"; }
  std::int64_t num_features;
  std::shared_ptr<nn::InstanceNorm2d> norm;
  std::shared_ptr<nn::Linear> fc;
};

// Residual block at constant size: (x + conv(act(norm(conv(act(norm(x))))))) / √2. The encoder's uses
// InstanceNorm2d (affine), the decoder's AdaIN.
class ResBlock : public nn::Module {
 public:
  explicit ResBlock(std::int64_t channels);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResBlock"; }
  std::shared_ptr<nn::InstanceNorm2d> norm1, norm2;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
};

class AdaINResBlock : public nn::Module {
 public:
  AdaINResBlock(std::int64_t channels, std::int64_t style_dim);
  Tensor operator()(const Tensor& x, const Tensor& style);
  Tensor forward(const Tensor& x) override;  // not callable without a style
  std::string type_name() const override { return "AdaINResBlock"; }
  std::shared_ptr<AdaIN> norm1, norm2;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
};

class StarGanGenerator : public nn::Module {
 public:
  explicit StarGanGenerator(const StarGanOptions& opt = {});
  // G(x, s): x [N, C, H, W] (H, W even), style [N, style_dim] or [1, style_dim] → [N, C, H, W].
  Tensor operator()(const Tensor& x, const Tensor& style);
  Tensor forward(const Tensor& x) override;  // not callable without a style
  using nn::Module::operator();
  std::string type_name() const override { return "StarGanGenerator"; }
  std::int64_t image_channels, style_dim;
  std::shared_ptr<nn::Conv2d> from_rgb, down;
  std::vector<std::shared_ptr<ResBlock>> encoder;
  std::vector<std::shared_ptr<AdaINResBlock>> decoder;
  std::shared_ptr<nn::ConvTranspose2d> up;
  std::shared_ptr<nn::Conv2d> to_rgb;
};

// R1 = ½ · mean over the batch of ||∂ Σ d_out / ∂x_in||², x_in a leaf requiring grad that d_out
// [N] was computed from (each sample's logit depends on its own image only). The gradient is taken
// with create_graph, so R1 backpropagates into the discriminator's weights (double backward).
Tensor r1_penalty(const Tensor& d_out, const Tensor& x_in);
// The same from scratch: D(x.detach() as a fresh leaf, y).
Tensor r1_penalty(StarGanDiscriminator& D, const Tensor& x, const Tensor& y);

// Every network, as one module (one state_dict), with the EMA copies of G, F and E.
class StarGanModels : public nn::Module {
 public:
  explicit StarGanModels(const StarGanOptions& opt);
  Tensor forward(const Tensor&) override;  // not callable: use the networks
  std::string type_name() const override { return "StarGanModels"; }
  std::shared_ptr<StarGanGenerator> generator, generator_ema;
  std::shared_ptr<MappingNetwork> mapping, mapping_ema;
  std::shared_ptr<StarGanStyleEncoder> style_encoder, style_encoder_ema;
  std::shared_ptr<StarGanDiscriminator> discriminator;
};

}  // namespace lumen::gan
