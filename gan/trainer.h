#pragma once
// One resumable trainer for both GANs of gan/: the counterfactual GAN of the DL@MBL
// knowledge-extraction exercise (gan/training.h) and the StarGAN v2 option (gan/stargan.h).
//
// A GAN comes as a *recipe* (the GanRecipe concept below): its networks and optimizers, one
// train_step, and a loss struct it knows how to print. GanTrainer<Recipe> does everything else,
// once for both:
//
//   - the loop: epochs of batches shuffled by an nn::DataLoader seeded with the recipe's batch seed,
//     replayed up to the current position, stopping before max_steps;
//   - the position (epoch, step, step_in_epoch); the step count moves in one place (step_on);
//   - the EMA copies: moved towards their networks after every step, and copied back into them at
//     the end of every epoch when the recipe asks (the exercise's GAN does, StarGAN v2 does not);
//   - progress lines: the mean losses since the last line (formatted by the recipe) and steps/s;
//   - checkpoints: one safetensors file with every network (EMA copies included) under its name,
//     each named optimizer's state under "optim_<name>.", and in the metadata the recipe's format,
//     the position (and steps_per_epoch), each named random generator's seed and offset
//     ("<name>_seed", "<name>_offset"), batch_size, seed and the architecture. Loading one checks every
//     field against the run first, then continues exactly as the uninterrupted run would have,
//     mid-epoch included;
//   - run(): a training run in a directory (resume, samples.png and the checkpoint after every epoch,
//     the training time alone in a RunSummary);
//   - data parallelism, when the recipe's settings name a process group of several ranks: every rank
//     runs this same loop over the same global batches (the recipe shards each batch and averages the
//     gradients, see CourseGan), so the position, the EMA and the checkpoints are the same on every
//     rank; rank 0 alone prints and writes (dist::on_rank0), every rank resumes from the one file.
#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/random.h"
#include "dist/process_group.h"
#include "gan/networks.h"
#include "nn/dataloader.h"
#include "nn/optim.h"
#include "nn/safetensors.h"

namespace lumen::gan {

using CheckpointMetadata = std::map<std::string, std::string>;
// The architecture as (metadata key, value) pairs: written to checkpoints, compared on load.
using Architecture = std::vector<std::pair<std::string, std::int64_t>>;

// How the trainer drives a recipe, read from the recipe's options.
struct TrainerSettings {
  std::int64_t epochs = 0, batch_size = 1;
  std::uint64_t seed = 0;        // the recipe's seed (written to checkpoints)
  std::uint64_t batch_seed = 0;  // shuffles the batches
  std::int64_t min_batch = 1;    // a smaller batch is passed over by fit (it still counts as a step)
  double ema_beta = 0.999;
  bool ema_copy_back = false;    // copy the EMA weights back into the networks after every epoch
  std::int64_t log_every = 0;    // a progress line every this many steps (0: none)
  std::FILE* log = nullptr;
  std::int64_t max_steps = 0;    // fit stops before this total step count (0: no limit)
  // Data parallel over this group when it has several ranks (the recipe shards each global batch of
  // batch_size); nullptr: one process, no collective at all.
  dist::ProcessGroup* group = nullptr;
};

// What a recipe hands the trainer: pointers into the recipe, for checkpoints and the EMA.
struct TrainerRegistry {
  nn::Module* networks = nullptr;                                         // every network, EMA copies included
  std::vector<std::pair<std::string, nn::Adam*>> optimizers;              // saved as "optim_<name>.*"
  std::vector<std::pair<std::string, lumen::Generator*>> generators;      // the random draws of train_step
  std::vector<std::pair<nn::Module*, nn::Module*>> ema;                   // (average, the network it follows)
};

// A GAN the trainer can run. `Options` builds it; `options` is kept; `Losses` is one step's losses
// (+= sums them for the progress line, format_losses prints the mean of `steps` summed ones);
// train_step(x, y, step) takes the optimisation step number `step` (0-based) of the run;
// architecture_of reads the architecture back from a checkpoint's metadata (as Options).
template <class R>
concept GanRecipe =
    std::constructible_from<R, typename R::Options> &&
    requires(R& r, const R& cr, const Tensor& t, std::int64_t step, typename R::Losses& sum,
             const typename R::Losses& l, const CheckpointMetadata& meta, const std::string& path) {
      { R::kFormat } -> std::convertible_to<std::string>;
      { cr.options } -> std::convertible_to<typename R::Options>;
      { cr.settings() } -> std::same_as<TrainerSettings>;
      { r.registry() } -> std::same_as<TrainerRegistry>;
      { r.train_step(t, t, step) } -> std::same_as<typename R::Losses>;
      { sum += l };
      { R::format_losses(l, step) } -> std::same_as<std::string>;
      { R::architecture(cr.options) } -> std::same_as<Architecture>;
      { R::architecture_of(meta, path) } -> std::same_as<typename R::Options>;
    };

template <class Losses> struct RunSummary {
  std::int64_t epochs = 0, steps = 0;  // the position reached
  std::int64_t steps_run = 0;          // steps taken by this call (not counting a resumed run's earlier ones)
  double seconds = 0;                  // training time of this call (data loading and outputs excluded)
  double steps_per_s = 0;
  Losses last;
  std::string checkpoint, samples;     // paths written
};

// ---- the parts that do not depend on the recipe (gan/trainer.cpp)

namespace detail {

double seconds_since(std::chrono::steady_clock::time_point t0);

// printf into a std::string of the length needed (for the recipes' format_losses).
template <class... Args> std::string printf_string(const char* format, Args... args) {
  std::string out(static_cast<std::size_t>(std::snprintf(nullptr, 0, format, args...)), '\0');
  std::snprintf(out.data(), out.size() + 1, format, args...);
  return out;
}

// meta[key] of a checkpoint as an integer in [min, max] (nn::metadata_int): errors name the file, the
// field, its text and the range.
std::int64_t meta_int(const CheckpointMetadata& meta, const std::string& key, const std::string& path,
                      std::int64_t min, std::int64_t max);
// Throws unless meta's "format" is `writer` (a recipe's kFormat).
void check_format(const CheckpointMetadata& meta, const std::string& path, const std::string& writer);

// Where a checkpoint's run stood. steps_per_epoch is 0 in checkpoints written before it was recorded.
struct Position {
  std::int64_t epoch = 0, step = 0, step_in_epoch = 0, steps_per_epoch = 0;
};
// The position in meta, checked against the run's settings before anything is loaded: its batch_size
// and seed must be the run's, its epoch within [0, epochs].
Position read_position(const CheckpointMetadata& meta, const std::string& path, const TrainerSettings& s);
// Throws unless fit, at steps_per_epoch steps per epoch, reaches position p (read from path): each
// step count in range, step == epoch · steps_per_epoch + step_in_epoch.
void check_position(const Position& p, std::int64_t epochs, std::int64_t steps_per_epoch, const std::string& path);

// The ranks of s.group (1 without one), and whether this process is the one that prints and writes.
int ranks(const TrainerSettings& s);
bool is_rank0(const TrainerSettings& s);
// write() on rank 0 of s.group, every rank learning whether it succeeded (dist::on_rank0); without a
// group, write() alone.
void on_rank0(const TrainerSettings& s, const std::string& what, const std::function<void()>& write);
// Data parallel: throws unless every batch fit trains on (batch_size, and the last batch of an epoch
// of n images unless it is passed over) splits evenly over the ranks, so that the mean of the ranks'
// equal-sized shards' gradients is the gradient of the whole batch. One process: does nothing.
void check_batches_split(const TrainerSettings& s, std::int64_t n);
// run() of a recipe without a process group in a job of several ranks (mpirun): every rank would
// train the same model alone and write the same files, so it is refused, naming the recipe.
void check_single_process_run(const TrainerSettings& s, const std::string& recipe);

// Writes networks, optimizers and metadata (to which the generators' seeds and offsets are added).
void write_checkpoint(const std::string& path, const TrainerRegistry& reg, CheckpointMetadata meta);
// Restores networks (strictly), optimizers and generators (whose seeds must be the run's) from path,
// whose metadata is meta.
void read_checkpoint(const std::string& path, const CheckpointMetadata& meta, const TrainerRegistry& reg);
// Throws unless the checkpoint's architecture (theirs) is this trainer's (ours), naming the first difference.
void check_architecture(const Architecture& theirs, const Architecture& ours, const std::string& path);

// The networks of a checkpoint into `networks` (strict: every name must match), optimizer states left out.
void load_networks(nn::Module& networks, const std::string& path);

// The steps since the last progress line: their summed losses and their rate.
template <class Losses> struct LossWindow {
  Losses sum{};
  std::int64_t steps = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  void add(const Losses& l) { sum += l, ++steps; }
  // A line is due every `every` steps and at the end of an epoch (`last`); every <= 0: never.
  bool due(std::int64_t every, bool last) const { return every > 0 && (steps == every || last); }
  double steps_per_s() const { return static_cast<double>(steps) / std::max(seconds_since(start), 1e-9); }
};

// The file paths of a run in out_dir (created by rank 0).
struct RunPaths {
  std::string checkpoint, samples;
};
RunPaths prepare_run_dir(const std::string& out_dir, const TrainerSettings& s);
void save_samples(const std::string& path, const Tensor& image);

// What both GANs' run functions train on: ColoredMNIST's training split (split_mnist's 8,000 images
// of data_dir/mnist, colored with color_seed), its first max_images only if max_images > 0.
struct TrainingImages {
  Tensor images, labels;
};
TrainingImages colored_mnist_training_images(const std::string& data_dir, std::uint64_t color_seed,
                                             std::int64_t max_images);

}  // namespace detail

template <GanRecipe R>
class GanTrainer {
 public:
  using Recipe = R;
  using Losses = typename R::Losses;

  // Builds the recipe (its networks, EMA copies and optimizers) from its options.
  explicit GanTrainer(typename R::Options options) : recipe(std::move(options)), registry_(recipe.registry()) {}
  GanTrainer(const GanTrainer&) = delete;  // registry_ points into recipe
  GanTrainer& operator=(const GanTrainer&) = delete;

  // One step of the recipe on (x, y) and the EMA update; step() += 1.
  Losses train_step(const Tensor& x, const Tensor& y) { return *step_on(x, y, /*skip=*/false); }

  // Trains on (images [N, ...], int64 labels [N]) from the current position to the recipe's epochs (or
  // max_steps). on_epoch_end runs after each epoch (and its EMA copy-back), e.g. to write samples and
  // a checkpoint. A resumed run sees the batches the uninterrupted one would.
  void fit(const Tensor& images, const Tensor& labels, const std::function<void(GanTrainer&)>& on_epoch_end = {});

  void save_checkpoint(const std::string& path) const;
  // Restores networks, optimizers, random generators and position. The metadata must be this run's:
  // the format, the architecture, batch_size and seed equal to the recipe's, the epoch within its
  // epochs (lumen::Error naming the file and the field otherwise); the next fit checks the position
  // against the number of steps per epoch of its images.
  void load_checkpoint(const std::string& path);

  // fit in out_dir: resumes from out_dir/checkpoint.safetensors if `resume` and it exists; after
  // every epoch writes samples(*this) to samples.png and the checkpoint (and the checkpoint again if
  // stopped mid-epoch by max_steps).
  RunSummary<Losses> run(const std::string& out_dir, bool resume, const Tensor& images, const Tensor& labels,
                         const std::function<Tensor(GanTrainer&)>& samples);

  std::int64_t epoch() const { return epoch_; }                  // completed epochs
  std::int64_t step() const { return step_; }                    // steps taken in all
  std::int64_t step_in_epoch() const { return step_in_epoch_; }  // steps taken in the current epoch
  const Losses& last_losses() const { return last_; }

  R recipe;

 private:
  // The one place the position moves: a step on (x, y), or over it when `skip`. Returns its losses.
  std::optional<Losses> step_on(const Tensor& x, const Tensor& y, bool skip);

  TrainerRegistry registry_;
  std::int64_t epoch_ = 0, step_ = 0, step_in_epoch_ = 0;
  std::int64_t steps_per_epoch_ = 0;  // of the data fit last ran on (0: not yet), written to checkpoints
  // The checkpoint the position was loaded from, until fit has checked it against the data.
  std::string loaded_from_;
  std::int64_t loaded_steps_per_epoch_ = 0;
  Losses last_{};
};

// ---- GanTrainer's members

template <GanRecipe R>
std::optional<typename R::Losses> GanTrainer<R>::step_on(const Tensor& x, const Tensor& y, bool skip) {
  std::optional<Losses> losses;
  if (!skip) {
    losses = last_ = recipe.train_step(x, y, step_);
    const double beta = recipe.settings().ema_beta;
    for (const auto& [average, network] : registry_.ema) ema_update(*average, *network, beta);
  }
  ++step_;
  return losses;
}

template <GanRecipe R>
void GanTrainer<R>::fit(const Tensor& images, const Tensor& labels,
                        const std::function<void(GanTrainer&)>& on_epoch_end) {
  const TrainerSettings s = recipe.settings();
  LUMEN_CHECK(s.batch_size >= 1 && s.epochs >= 0, "GanTrainer::fit", "expected batch_size >= 1 and epochs >= 0, got ",
              s.batch_size, " and ", s.epochs);
  detail::check_batches_split(s, images.size(0));
  // Every rank iterates over the same global batches: the recipe takes its shard of each.
  nn::DataLoader loader(images, labels, {.batch_size = s.batch_size, .shuffle = true, .seed = s.batch_seed});
  const std::int64_t steps_per_epoch = loader.size();
  if (!loaded_from_.empty()) {  // a position from a file: one that this run on these images reaches?
    detail::check_position({epoch_, step_, step_in_epoch_, loaded_steps_per_epoch_}, s.epochs, steps_per_epoch,
                           loaded_from_);
    loaded_from_.clear();
  }
  steps_per_epoch_ = steps_per_epoch;
  for (std::int64_t e = 0; e < epoch_; ++e) loader.start_epoch();  // replay the finished epochs' orders
  while (epoch_ < s.epochs) {
    loader.start_epoch();
    detail::LossWindow<Losses> window;
    for (; step_in_epoch_ < steps_per_epoch; ++step_in_epoch_) {
      if (s.max_steps > 0 && step_ >= s.max_steps) return;
      const nn::Batch b = loader.batch(step_in_epoch_);
      // A batch too small for the recipe (the exercise's GAN needs a second image as the target)
      // counts as a step but adds nothing to the progress window.
      const std::optional<Losses> losses = step_on(b.x, b.y, /*skip=*/b.x.size(0) < s.min_batch);
      if (!losses) continue;
      window.add(*losses);
      if (s.log && detail::is_rank0(s) && window.due(s.log_every, step_in_epoch_ + 1 == steps_per_epoch)) {
        std::fprintf(s.log, "epoch %lld/%lld step %lld/%lld  %s  %.2f steps/s\n", static_cast<long long>(epoch_ + 1),
                     static_cast<long long>(s.epochs), static_cast<long long>(step_in_epoch_ + 1),
                     static_cast<long long>(steps_per_epoch), R::format_losses(window.sum, window.steps).c_str(),
                     window.steps_per_s());
        std::fflush(s.log);
        window = {};
      }
    }
    if (s.ema_copy_back)  // the networks continue from their smoothed weights
      for (const auto& [average, network] : registry_.ema) copy_weights(*network, *average);
    ++epoch_;
    step_in_epoch_ = 0;
    if (on_epoch_end) on_epoch_end(*this);
  }
}

template <GanRecipe R>
void GanTrainer<R>::save_checkpoint(const std::string& path) const {
  const TrainerSettings s = recipe.settings();
  const auto str = [](auto v) { return std::to_string(v); };
  CheckpointMetadata meta = {{"format", R::kFormat},
                             {"epoch", str(epoch_)},
                             {"step", str(step_)},
                             {"step_in_epoch", str(step_in_epoch_)},
                             {"batch_size", str(s.batch_size)},
                             {"seed", str(s.seed)}};
  if (steps_per_epoch_ > 0) meta["steps_per_epoch"] = str(steps_per_epoch_);
  for (const auto& [key, value] : R::architecture(recipe.options)) meta[key] = str(value);
  // The replicas are equal: rank 0 writes (atomically: nn::save_safetensors), the others wait for it.
  detail::on_rank0(s, "the checkpoint " + path, [&] { detail::write_checkpoint(path, registry_, std::move(meta)); });
}

template <GanRecipe R>
void GanTrainer<R>::load_checkpoint(const std::string& path) {
  // Every number of the metadata is checked before it sizes a network or a loop.
  const CheckpointMetadata meta = nn::read_safetensors_metadata(path);
  detail::check_format(meta, path, R::kFormat);
  detail::check_architecture(R::architecture(R::architecture_of(meta, path)), R::architecture(recipe.options), path);
  const detail::Position p = detail::read_position(meta, path, recipe.settings());
  detail::read_checkpoint(path, meta, registry_);
  epoch_ = p.epoch;
  step_ = p.step;
  step_in_epoch_ = p.step_in_epoch;
  steps_per_epoch_ = loaded_steps_per_epoch_ = p.steps_per_epoch;
  loaded_from_ = path;
}

template <GanRecipe R>
RunSummary<typename R::Losses> GanTrainer<R>::run(const std::string& out_dir, bool resume, const Tensor& images,
                                                  const Tensor& labels,
                                                  const std::function<Tensor(GanTrainer&)>& samples) {
  using clock = std::chrono::steady_clock;
  const TrainerSettings s = recipe.settings();
  detail::check_single_process_run(s, R::kFormat);
  const detail::RunPaths paths = detail::prepare_run_dir(out_dir, s);
  RunSummary<Losses> summary;
  summary.checkpoint = paths.checkpoint;
  summary.samples = paths.samples;
  std::FILE* log = detail::is_rank0(s) ? s.log : nullptr;
  if (resume && std::filesystem::exists(summary.checkpoint)) {
    load_checkpoint(summary.checkpoint);
    if (log)
      std::fprintf(log, "resumed from %s at epoch %lld, step %lld\n", summary.checkpoint.c_str(),
                   static_cast<long long>(epoch_), static_cast<long long>(step_));
  }
  const std::int64_t first_step = step_;
  double output_s = 0;  // writing samples and checkpoints is not training time
  const auto t0 = clock::now();
  fit(images, labels, [&](GanTrainer& t) {
    const auto t_out = clock::now();
    detail::on_rank0(s, "the samples " + summary.samples, [&] { detail::save_samples(summary.samples, samples(t)); });
    t.save_checkpoint(summary.checkpoint);
    output_s += detail::seconds_since(t_out);
  });
  summary.seconds = detail::seconds_since(t0) - output_s;
  summary.epochs = epoch_;
  summary.steps = step_;
  summary.steps_run = step_ - first_step;
  summary.steps_per_s = summary.seconds > 0 ? static_cast<double>(summary.steps_run) / summary.seconds : 0.0;
  summary.last = last_;
  if (step_in_epoch_ > 0) save_checkpoint(summary.checkpoint);  // stopped mid-epoch (max_steps)
  return summary;
}

}  // namespace lumen::gan
