#pragma once
// The counterfactual GAN of the DL@MBL knowledge-extraction exercise ("Knowledge Extraction from a
// Pre-trained Neural Network"; "the course" below), trained as the course does. For a batch (x, y):
//
//   perm = randperm(B);  x_t = x[perm], y_t = y[perm]       targets: another image of the batch
//   s_t = E(x_t);  s_x = E(x)                               styles (E: the style encoder)
//   x_fake = G(x, s_t)                                      x redrawn in the target's style
//   generator     L_G = L1(x, G(x_fake, s_x)) + CE(D(x_fake), y_t)       (cycle + adversarial)
//   discriminator L_D = ½ [CE(D(x), y) − CE(D(x_fake.detach()), y_t)]
//
// G and E share one Adam (lr 1e-4), D has its own (lr 1e-5). After every step an EMA copy of G and E
// is updated (β = 0.999); at the end of every epoch the EMA weights are copied back into G and E,
// as the course does.
//
// CourseGan is the recipe (networks, optimizers, train_step, StepLosses); CourseGanTrainer
// (gan/trainer.h) runs it. Its checkpoints hold every network (including the EMA copies) under its
// GanModels name ("generator.unet.left_convs.0.conv_pass.0.weight", ...), the two optimizers'
// states ("optim_g.*", "optim_d.*") and, in the metadata, the position (epoch, step, the permutation
// generator's seed and offset) and the architecture. Resuming from one continues exactly as the
// uninterrupted run would have (the same batches, permutations and updates), at any step, mid-epoch
// included. nn::load(models, path, /*strict=*/false) reads just the networks.
//
// Data parallel (GanOptions::group with W ranks, e.g. dist::init() under mpirun): every rank sees the
// same global batch of B images (B % W == 0) and draws the same permutation (perm_gen is seeded alike
// everywhere), then keeps its contiguous shard of rows, dist::shard(B, rank, W):
//
//   x, y  →  x[rows], y[rows]          x_t, y_t  →  x[perm[rows]], y[perm[rows]]
//
// Each loss is a mean over the shard's B/W rows, so the mean over the ranks of their gradients, which
// one DistributedDataParallel for G + E and one for D compute during backward(), is the gradient of
// the whole batch: every rank takes the step one process would take on the whole batch (up to the
// order of float sums), and the EMA updates are the same everywhere.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "autograd/random.h"
#include "dist/ddp.h"
#include "dist/process_group.h"
#include "gan/counterfactuals.h"
#include "gan/networks.h"
#include "gan/trainer.h"
#include "nn/optim.h"

namespace lumen::gan {

struct GanOptions {
  std::int64_t epochs = 5;
  std::int64_t batch_size = 32;
  double lr_g = 1e-4;   // generator and style encoder
  double lr_d = 1e-5;   // discriminator
  double ema_beta = 0.999;
  std::int64_t num_fmaps = 12;  // UNet feature maps at full resolution (the course: 64)
  std::int64_t depth = 2;
  std::int64_t style_size = 3;
  std::int64_t num_classes = 4;
  // The generator's final sigmoid (the course's). On ColoredMNIST (mostly black images) L1 through a
  // sigmoid drives every logit far negative within a few hundred Adam steps and the generator stays
  // black (measured: logits ≈ −600 after 100 steps at lr 1e-3, still collapsing at 3e-5); without it
  // the UNet learns the identity in a few hundred steps. Counterfactuals are clamped to [0, 1] either way.
  bool sigmoid = true;
  std::uint64_t seed = 0;       // weights (seed), batch order (seed + 1), target permutations (seed + 2)
  std::int64_t log_every = 50;  // a progress line every this many steps (0: none)
  std::FILE* log = stderr;
  std::int64_t max_steps = 0;   // fit() stops before this total step count (0: no limit)
  // Train data parallel over this group's ranks (see above); nullptr or one rank: one process, no DDP.
  std::shared_ptr<dist::ProcessGroup> group = nullptr;
};

// The settings measured to reach the project's target (flip rate >= 95% on the 2,000 test images × 4
// targets, GAN training well within 5 minutes on 2 cores): the course's losses and D lr, with
// num_fmaps 12, no final sigmoid (see GanOptions::sigmoid), lr_g 3e-4, ema_beta 0.99 (the course's
// 0.999 assumes 1,875-step epochs: with 250-step epochs the end-of-epoch copy-back would undo most
// of the epoch) and 12 epochs of the 8,000 training images (3,000 steps, ~140 s at ~21 steps/s).
GanOptions budget_recipe();

// Every network of the GAN, as one module so that one state_dict/checkpoint holds them all.
class GanModels : public nn::Module {
 public:
  explicit GanModels(const GanOptions& opt);
  Tensor forward(const Tensor&) override;  // not callable: use the networks
  std::string type_name() const override { return "GanModels"; }
  std::shared_ptr<Generator> generator, generator_ema;
  std::shared_ptr<StyleEncoder> style_encoder, style_encoder_ema;
  std::shared_ptr<Discriminator> discriminator;
};

// The networks of a checkpoint written by GanTrainer, built from the architecture in its metadata.
std::shared_ptr<GanModels> load_gan_models(const std::string& path);

struct StepLosses {
  double cycle = 0, adversarial = 0;  // the generator's terms
  double d_real = 0, d_fake = 0;      // CE(D(x), y) and CE(D(x_fake), y_t) as seen by the discriminator
  double generator() const { return cycle + adversarial; }
  double discriminator() const { return 0.5 * (d_real - d_fake); }
  StepLosses& operator+=(const StepLosses& o) {
    cycle += o.cycle, adversarial += o.adversarial, d_real += o.d_real, d_fake += o.d_fake;
    return *this;
  }
};

// The exercise's GAN as a GanRecipe (gan/trainer.h): its networks, optimizers and step. Train it with
// CourseGanTrainer, which adds the loop, the EMA (copied back every epoch) and checkpoints.
class CourseGan {
 public:
  using Options = GanOptions;
  using Losses = StepLosses;
  static constexpr const char* kFormat = "lumen counterfactual GAN (gan/training.h)";

  // Seeds lumen's default generator with opt.seed, builds the networks (EMA copies equal to the
  // originals) and the optimizers.
  explicit CourseGan(GanOptions opt);

  // One step of the exercise on a batch x [B, 3, H, W], int64 y [B] (B >= 2); `step` is not used.
  // Data parallel: the same global batch on every rank (B % ranks == 0); the losses returned are
  // the whole batch's (the ranks' means averaged), as one process would print them.
  StepLosses train_step(const Tensor& x, const Tensor& y, std::int64_t step);

  TrainerSettings settings() const;  // batches from seed + 1, at least 2 images
  TrainerRegistry registry();        // optimizers "g", "d"; generator "perm"; EMA of G and E
  static std::string format_losses(const StepLosses& sum, std::int64_t steps);
  static Architecture architecture(const GanOptions& o);  // num_fmaps, depth, style_size, num_classes, sigmoid
  static GanOptions architecture_of(const CheckpointMetadata& meta, const std::string& path);

  GanOptions options;
  std::shared_ptr<GanModels> models;
  nn::Adam opt_g, opt_d;
  lumen::Generator perm_gen;  // draws each batch's target permutation
  // Data parallel only (a group of several ranks): average the gradients of G + E and of D.
  std::unique_ptr<dist::DistributedDataParallel> ddp_g, ddp_d;
};

using CourseGanTrainer = GanTrainer<CourseGan>;

// ---- an entry point for examples: the course's recipe on ColoredMNIST

struct RunOptions {
  GanOptions gan;
  std::string data_dir = "data";      // holds mnist/ (scripts/get_data.sh)
  std::string out_dir = "out/gan";    // checkpoint.safetensors and samples.png (rewritten every epoch)
  std::int64_t max_images = 0;        // train on the first N of the 8,000 training images (0: all)
  std::uint64_t color_seed = 0;       // the training colors: keep the classifier's (train_classifier --seed)
  bool resume = true;                 // continue from out_dir/checkpoint.safetensors when it exists
  int threads = 0;                    // OpenMP threads (0: leave as is)
  std::int64_t sample_rows = 8;       // source images in samples.png (rows; 2 per class by default)
};

// Loads ColoredMNIST's training split (split_mnist's 8,000 images, colored with color_seed), trains
// (resuming if asked), and after every epoch writes samples.png (counterfactual_grid of the first
// images of each class, styles from the first training image of each class) and checkpoint.safetensors.
RunSummary<StepLosses> run_training(const RunOptions& opt);

}  // namespace lumen::gan
