#pragma once
// The StarGAN v2 option of the counterfactual GAN (Choi et al. 2020, "StarGAN v2: Diverse Image
// Synthesis for Multiple Domains"), sized for 28×28 ColoredMNIST on a 2-core CPU. Beyond the course:
// styles come from a per-class mapping network (random latent z → style of class y) or a per-class
// style encoder, the generator injects them with AdaIN, and the discriminator has one real/fake
// logit per class, regularised with R1 (a gradient penalty computed by double backward).
//
//   MappingNetwork      z [N, latent_dim] → styles of every class [N, K, style_dim] (forward);
//                       F(z, y) = head_y(trunk(z)) → [N, style_dim]. Children "trunk", "heads.<k>".
//   StyleEncoderV2      image [N, C, H, W] → [N, K, style_dim] (forward); E(x, y) picks head y.
//   StarGanGenerator    G(x, s): from_rgb conv → one stride-2 conv (H/2 × W/2) → encoder residual
//                       blocks (InstanceNorm) → decoder residual blocks with AdaIN(s) → transposed
//                       conv back to H × W → LeakyReLU → 1×1 conv to C channels. No final activation:
//                       the output is raw (see GanOptions::sigmoid on why a sigmoid stays black on
//                       ColoredMNIST); counterfactual_v2 clamps to [0, 1].
//   StarGanDiscriminator  image → K logits [N, K] (forward); D(x, y) = logit y → [N].
//
// E and D share the trunk's shape (ConvTrunk): conv3×3 → LReLU → conv4×4/2 → LReLU → conv4×4/2 →
// LReLU → conv over the whole (H/4 × W/4) map → LReLU → [N, 2·channels]. H and W must be multiples
// of 4 and equal to options.image_size.
//
// All weights are drawn from lumen's default generator: call manual_seed first for a reproducible set.
//
// Training end to end: StarGanTrainer::fit (epochs of shuffled batches), save/load_checkpoint (exact
// resumption, mid-epoch included), and run_stargan_training (ColoredMNIST, samples.png and a checkpoint
// every epoch), as gan/training.h does for the course's GAN. Counterfactuals from random latents:
// counterfactual_v2, counterfactual_v2_candidates (chosen by a classifier) and evaluate_flips_v2.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "gan/counterfactuals.h"
#include "gan/networks.h"
#include "nn/layers.h"
#include "nn/optim.h"

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
  // ---- fit() (StarGanTrainer::fit; train_step ignores these)
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

// The shared convolutional trunk of StyleEncoderV2 and StarGanDiscriminator (see the top of the file).
class ConvTrunk : public nn::Sequential {
 public:
  ConvTrunk(std::int64_t in_channels, std::int64_t channels, std::int64_t image_size);
  Tensor forward(const Tensor& x) override;  // [N, C, S, S] → [N, 2·channels]
  std::string type_name() const override { return "ConvTrunk"; }
  std::int64_t in_channels, image_size, features;
};

class StyleEncoderV2 : public nn::Module {
 public:
  explicit StyleEncoderV2(const StarGanOptions& opt = {});
  Tensor forward(const Tensor& x) override;             // → [N, K, style_dim]
  Tensor operator()(const Tensor& x, const Tensor& y);  // → [N, style_dim]
  using nn::Module::operator();
  std::string type_name() const override { return "StyleEncoderV2"; }
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
  std::shared_ptr<StyleEncoderV2> style_encoder, style_encoder_ema;
  std::shared_ptr<StarGanDiscriminator> discriminator;
};

struct StarGanLosses {
  // discriminator: softplus(−D(x, y)), softplus(D(G(x, s̃), ỹ)), R1 (unweighted)
  double d_real = 0, d_fake = 0, r1 = 0;
  // generator: softplus(−D(G(x, s̃), ỹ)), L1 style reconstruction, L1 diversity, L1 cycle
  double adversarial = 0, style = 0, diversity = 0, cycle = 0;
  double lambda_ds = 0;  // the diversity weight used at this step
  double discriminator(double lambda_r1 = 1.0) const { return d_real + d_fake + lambda_r1 * r1; }
  StarGanLosses& operator+=(const StarGanLosses& o) {  // sums every term (lambda_ds too), for averages
    d_real += o.d_real, d_fake += o.d_fake, r1 += o.r1, adversarial += o.adversarial, style += o.style;
    diversity += o.diversity, cycle += o.cycle, lambda_ds += o.lambda_ds;
    return *this;
  }
};

// Latent-guided StarGAN v2 training: every step, for a batch (x, y),
//   ỹ ~ U{0..K−1}, z1, z2 ~ N(0, I);  s̃ = F(z1, ỹ), s̃2 = F(z2, ỹ)
//   D:  L_D = softplus(−D(x, y)) + softplus(D(G(x, s̃), ỹ)) + λ_r1 · R1(x, y)        (means over the batch)
//   G, F, E:  L_G = softplus(−D(G(x, s̃), ỹ)) + λ_sty |E(G(x, s̃), ỹ) − s̃|
//                   − λ_ds |G(x, s̃) − G(x, s̃2)| + λ_cyc |G(G(x, s̃), E(x, y)) − x|
// G(x, s̃2) is computed without a graph (as the paper's detach). The paper's reference-guided steps
// (s̃ = E(x_ref, ỹ)) are left out to halve the cost; E still learns through the style and cycle terms.
// Adam(β1 0, β2 0.99, weight decay 1e-4) per network; F at lr_mapping. After each step the EMA copies
// move towards G, F and E (ema_beta).
class StarGanTrainer {
 public:
  // Seeds lumen's default generator with opt.seed and builds the networks (EMA copies equal).
  explicit StarGanTrainer(StarGanOptions opt);
  // One D step then one G step on x [B, C, S, S], int64 y [B]; steps() += 1.
  StarGanLosses train_step(const Tensor& x, const Tensor& y);
  double lambda_ds_at(std::int64_t step) const;
  std::int64_t steps() const { return step_; }

  // Trains on (images [N, C, S, S], int64 labels [N]) from the current position to options.epochs (or
  // options.max_steps), in batches of options.batch_size from an nn::DataLoader shuffled with seed + 2
  // and replayed up to the current position, so a resumed run sees the batches the uninterrupted one
  // would. on_epoch_end runs after each epoch (e.g. to write samples and a checkpoint). Unlike the
  // course's GAN, the EMA weights are not copied back into the networks (as the paper).
  void fit(const Tensor& images, const Tensor& labels,
           const std::function<void(StarGanTrainer&)>& on_epoch_end = {});

  // One safetensors file: every network of StarGanModels (EMA copies included) under its name, the four
  // Adam states ("optim_g.*", "optim_f.*", "optim_e.*", "optim_d.*") and, in the metadata, the position
  // (epoch, step, step_in_epoch, the latent generator's seed and offset) and the architecture.
  void save_checkpoint(const std::string& path) const;
  // Restores networks, optimizers and position. The architecture must match (lumen::Error otherwise).
  void load_checkpoint(const std::string& path);

  std::int64_t epoch() const { return epoch_; }                  // completed epochs
  std::int64_t step_in_epoch() const { return step_in_epoch_; }  // steps taken in the current epoch
  const StarGanLosses& last_losses() const { return last_; }

  StarGanOptions options;
  std::shared_ptr<StarGanModels> models;
  nn::Adam opt_g, opt_f, opt_e, opt_d;
  lumen::Generator sample_gen;  // the latents and targets

 private:
  std::int64_t step_ = 0, epoch_ = 0, step_in_epoch_ = 0;
  StarGanLosses last_;
};

// The networks of a checkpoint written by StarGanTrainer, built from the architecture in its metadata.
std::shared_ptr<StarGanModels> load_stargan_models(const std::string& path);

// A counterfactual of x [N, C, H, W] for class `target` from a random latent: clamp(G(x, F(z, target)),
// 0, 1), without a graph. z is [N, latent_dim] or [1, latent_dim] (shared by the batch); the seed form
// draws z ~ N(0, I) [N, latent_dim] from lumen::Generator(seed).
Tensor counterfactual_v2(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x, std::int64_t target,
                         const Tensor& z);
Tensor counterfactual_v2(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x, std::int64_t target,
                         std::uint64_t seed);

// Counterfactuals of x [N, C, H, W] for class `target` from random latents: candidate m (m = 0 ..
// max_candidates − 1) is counterfactual_v2(G, F, x, target, seed + m); each input keeps its first
// candidate the classifier assigns to `target`, else the one of highest p(target) (select_candidates).
Counterfactuals counterfactual_v2_candidates(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                             std::int64_t target, nn::Module& classifier,
                                             std::int64_t max_candidates = 1, std::uint64_t seed = 0);

// evaluate_flips for the StarGAN v2 option: every image of (images, labels) turned into every class
// 0..K−1 (K = mapping.num_classes) with counterfactual_v2_candidates (each batch of `batch` images uses
// the latents of seeds seed .. seed + max_candidates − 1) and classified.
FlipReport evaluate_flips_v2(StarGanGenerator& generator, MappingNetwork& mapping, nn::Module& classifier,
                             const Tensor& images, const Tensor& labels, std::int64_t max_candidates = 1,
                             std::uint64_t seed = 0, std::int64_t batch = 500);

// A picture of counterfactuals: one row per source (sources [N, C, H, W]): the source, then
// counterfactual_v2 for each class 0..K−1 from the one latent z [1, latent_dim], tiled with
// figures::make_grid and upscaled ×scale: an RGB image [3, H', W'] for figures::save_png.
Tensor counterfactual_grid_v2(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& sources,
                              const Tensor& z, std::int64_t scale = 2);

// ---- an entry point for examples: StarGAN v2 on ColoredMNIST (as gan::run_training for the course's GAN)

struct StarGanRunOptions {
  StarGanOptions stargan;
  std::string data_dir = "data";        // holds mnist/ (scripts/get_data.sh)
  std::string out_dir = "out/stargan";  // checkpoint.safetensors and samples.png (rewritten every epoch)
  std::int64_t max_images = 0;          // train on the first N of the 8,000 training images (0: all)
  std::uint64_t color_seed = 0;         // the training colors: keep the classifier's
  bool resume = true;                   // continue from out_dir/checkpoint.safetensors when it exists
  int threads = 0;                      // OpenMP threads (0: leave as is)
  std::int64_t sample_rows = 8;         // source images in samples.png (rows; 2 per class by default)
};

struct StarGanRunSummary {
  std::int64_t epochs = 0, steps = 0;  // the position reached
  std::int64_t steps_run = 0;          // steps taken by this call
  double seconds = 0;                  // training time of this call (data loading and outputs excluded)
  double steps_per_s = 0;
  StarGanLosses last;
  std::string checkpoint, samples;     // paths written
};

// Loads ColoredMNIST's training split (split_mnist's 8,000 images, colored with color_seed), trains
// (resuming if asked), and after every epoch writes samples.png (counterfactual_grid_v2 of the first
// images of each class with the EMA networks, from the fixed latent randn [1, latent_dim] of
// lumen::Generator(seed + 3)) and checkpoint.safetensors.
StarGanRunSummary run_stargan_training(const StarGanRunOptions& opt);

}  // namespace lumen::gan
