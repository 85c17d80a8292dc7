#pragma once
// The StarGAN v2 option of the counterfactual GAN (Choi et al. 2020, "StarGAN v2: Diverse Image
// Synthesis for Multiple Domains"): how it trains (StarGan, a GanRecipe of gan/trainer.h, run by
// StarGanTrainer) and the counterfactuals it makes from random latents. Its networks are in
// gan/stargan_networks.h; the GAN of the DL@MBL knowledge-extraction exercise it extends is in
// gan/training.h.
//
//   StarGanTrainer t(options);  t.fit(images, labels);  t.save_checkpoint(path);   // or run_stargan_training
//   auto models = load_stargan_models(path);
//   Counterfactuals cf = stargan_counterfactual(*models->generator_ema, *models->mapping_ema, x, target,
//                                               classifier, /*max_candidates=*/8);
#include <cstdint>
#include <memory>
#include <string>

#include "autograd/random.h"
#include "gan/counterfactuals.h"
#include "gan/stargan_networks.h"
#include "gan/trainer.h"
#include "nn/optim.h"

namespace lumen::gan {

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
// Adam(β1 0, β2 0.99, weight decay 1e-4) per network; F at lr_mapping. After each step the trainer
// moves the EMA copies towards G, F and E (ema_beta); unlike the exercise's GAN, it does not copy
// them back into the networks (as the paper). Batches are shuffled with seed + 2.
//
// Checkpoints hold every network of StarGanModels (EMA copies included) under its name, the four
// Adam states ("optim_g.*", "optim_f.*", "optim_e.*", "optim_d.*") and, in the metadata, the
// position (epoch, step, step_in_epoch, the latent generator's "sample_seed" and "sample_offset")
// and the architecture.
class StarGan {
 public:
  using Options = StarGanOptions;
  using Losses = StarGanLosses;
  static constexpr const char* kFormat = "lumen StarGAN v2 (gan/stargan.h)";

  // Seeds lumen's default generator with opt.seed and builds the networks (EMA copies equal).
  explicit StarGan(StarGanOptions opt);
  // One D step then one G step on x [B, C, S, S], int64 y [B]; `step` (the run's step number, from
  // 0) sets the diversity weight.
  StarGanLosses train_step(const Tensor& x, const Tensor& y, std::int64_t step);
  double lambda_ds_at(std::int64_t step) const;  // λ_ds, decayed linearly to 0 over ds_decay_steps

  TrainerSettings settings() const;
  TrainerRegistry registry();  // optimizers "g", "f", "e", "d"; generator "sample"; EMA of G, F, E
  static std::string format_losses(const StarGanLosses& sum, std::int64_t steps);
  static Architecture architecture(const StarGanOptions& o);  // image_channels, image_size, ..., mapping_hidden
  static StarGanOptions architecture_of(const CheckpointMetadata& meta, const std::string& path);

  StarGanOptions options;
  std::shared_ptr<StarGanModels> models;
  nn::Adam opt_g, opt_f, opt_e, opt_d;
  lumen::Generator sample_gen;  // the latents and targets
};

using StarGanTrainer = GanTrainer<StarGan>;

// The networks of a checkpoint written by StarGanTrainer, built from the architecture in its metadata.
std::shared_ptr<StarGanModels> load_stargan_models(const std::string& path);

// ---- counterfactuals from random latents

// A counterfactual of x [N, C, H, W] for class `target` from a random latent: clamp(G(x, F(z, target)),
// 0, 1), without a graph. z is [N, latent_dim] or [1, latent_dim] (shared by the batch); the seed form
// draws z ~ N(0, I) [N, latent_dim] from lumen::Generator(seed).
Tensor counterfactual_from_latent(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                  std::int64_t target, const Tensor& z);
Tensor counterfactual_from_latent(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                  std::int64_t target, std::uint64_t seed);

// The StarGAN counterpart of counterfactual (gan/counterfactuals.h): counterfactuals of x [N, C, H, W]
// for class `target` from random latents. Candidate m (m = 0 .. max_candidates − 1) is
// counterfactual_from_latent(G, F, x, target, seed + m); each input keeps its first candidate the
// classifier assigns to `target`, else the one of highest p(target) (select_candidates).
Counterfactuals stargan_counterfactual(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                       std::int64_t target, nn::Module& classifier, std::int64_t max_candidates = 1,
                                       std::uint64_t seed = 0);

// evaluate_flips for the StarGAN v2 option: every image of (images, labels) turned into every class
// 0..K−1 (K = mapping.num_classes) with stargan_counterfactual (each batch of `batch` images uses the
// latents of seeds seed .. seed + max_candidates − 1) and classified.
FlipReport evaluate_stargan_flips(StarGanGenerator& generator, MappingNetwork& mapping, nn::Module& classifier,
                                  const Tensor& images, const Tensor& labels, std::int64_t max_candidates = 1,
                                  std::uint64_t seed = 0, std::int64_t batch = 500);

// A picture of counterfactuals: one row per source (sources [N, C, H, W]): the source, then
// counterfactual_from_latent for each class 0..K−1 from the one latent z [1, latent_dim], tiled with
// figures::make_grid and upscaled ×scale: an RGB image [3, H', W'] for figures::save_png.
Tensor stargan_counterfactual_grid(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& sources,
                                   const Tensor& z, std::int64_t scale = 2);

// ---- an entry point for examples: StarGAN v2 on ColoredMNIST (as gan::run_training for the exercise's GAN)

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

// Loads ColoredMNIST's training split (split_mnist's 8,000 images, colored with color_seed), trains
// (resuming if asked), and after every epoch writes samples.png (stargan_counterfactual_grid of the
// first images of each class with the EMA networks, from the fixed latent randn [1, latent_dim] of
// lumen::Generator(seed + 3)) and checkpoint.safetensors.
RunSummary<StarGanLosses> run_stargan_training(const StarGanRunOptions& opt);

}  // namespace lumen::gan
