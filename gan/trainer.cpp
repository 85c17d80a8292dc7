#include "gan/trainer.h"

#include <filesystem>

#include "dist/checkpoint.h"
#include "kernels/core/error.h"
#include "nn/checkpoint.h"
#include "nn/colored_mnist.h"
#include "nn/mnist.h"
#include "figures/png.h"

namespace lumen::gan::detail {

namespace fs = std::filesystem;

namespace {

const char* kOp = "gan::load_checkpoint";
constexpr std::int64_t kMaxSteps = std::int64_t(1) << 50;  // far beyond any run; keeps step arithmetic exact
const std::string kOptimPrefix = "optim_";

// The entries under `prefix`, with it removed (one optimizer's state).
nn::StateDict with_prefix(const std::map<std::string, Tensor>& all, const std::string& prefix) {
  nn::StateDict out;
  for (const auto& [k, t] : all)
    if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), t);
  return out;
}

// The networks' tensors of a checkpoint: everything but the optimizers' entries.
std::map<std::string, Tensor> network_tensors(std::map<std::string, Tensor> all) {
  for (auto it = all.begin(); it != all.end();)
    it = it->first.rfind(kOptimPrefix, 0) == 0 ? all.erase(it) : std::next(it);
  return all;
}

}  // namespace

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::int64_t meta_int(const CheckpointMetadata& meta, const std::string& key, const std::string& path,
                      std::int64_t min, std::int64_t max) {
  return nn::metadata_int(kOp, meta, key, path, min, max);
}

void check_format(const CheckpointMetadata& meta, const std::string& path, const std::string& writer) {
  const auto it = meta.find("format");
  LUMEN_CHECK(it != meta.end() && it->second == writer, kOp, "checkpoint '", path, "': metadata 'format' is ",
              it == meta.end() ? std::string("missing") : "'" + it->second + "'", ": not a checkpoint of the ", writer);
}

Position read_position(const CheckpointMetadata& meta, const std::string& path, const TrainerSettings& s) {
  const std::int64_t batch_size = meta_int(meta, "batch_size", path, 1, kMaxSteps);
  LUMEN_CHECK(batch_size == s.batch_size, kOp, "checkpoint '", path, "': metadata 'batch_size' = ", batch_size,
              ", expected this run's ", s.batch_size);
  const std::uint64_t seed = nn::metadata_uint64(kOp, meta, "seed", path);
  LUMEN_CHECK(seed == s.seed, kOp, "checkpoint '", path, "': metadata 'seed' = ", seed, ", expected this run's ",
              s.seed);
  Position p;
  p.epoch = meta_int(meta, "epoch", path, 0, s.epochs);
  p.step = meta_int(meta, "step", path, 0, kMaxSteps);
  p.step_in_epoch = meta_int(meta, "step_in_epoch", path, 0, kMaxSteps);
  if (meta.count("steps_per_epoch")) p.steps_per_epoch = meta_int(meta, "steps_per_epoch", path, 1, kMaxSteps);
  return p;
}

void check_position(const Position& p, std::int64_t epochs, std::int64_t steps_per_epoch, const std::string& path) {
  LUMEN_CHECK(p.steps_per_epoch == 0 || p.steps_per_epoch == steps_per_epoch, kOp, "checkpoint '", path,
              "': metadata 'steps_per_epoch' = ", p.steps_per_epoch, ", expected this run's ", steps_per_epoch,
              " (the number of training images or the batch size differ)");
  const std::int64_t last = p.epoch < epochs ? steps_per_epoch - 1 : 0;  // a finished run stands at step 0
  LUMEN_CHECK(p.step_in_epoch <= last, kOp, "checkpoint '", path, "': metadata 'step_in_epoch' = ", p.step_in_epoch,
              ", expected an integer in [0, ", last, "] (epoch ", p.epoch, " of ", epochs, ", ", steps_per_epoch,
              " steps per epoch)");
  const std::int64_t expected = p.epoch * steps_per_epoch + p.step_in_epoch;
  LUMEN_CHECK(p.step == expected, kOp, "checkpoint '", path, "': metadata 'step' = ", p.step, ", expected ", expected,
              " (epoch ", p.epoch, " × ", steps_per_epoch, " steps per epoch + step_in_epoch ", p.step_in_epoch, ")");
}

int ranks(const TrainerSettings& s) { return s.group ? s.group->size() : 1; }

bool is_rank0(const TrainerSettings& s) { return !s.group || s.group->rank() == 0; }

void on_rank0(const TrainerSettings& s, const std::string& what, const std::function<void()>& write) {
  if (s.group)
    dist::on_rank0(*s.group, what, write);
  else
    write();
}

void check_batches_split(const TrainerSettings& s, std::int64_t n) {
  const std::int64_t w = ranks(s), last = n % s.batch_size;
  if (w == 1) return;
  dist::check_even_split("GanTrainer::fit", "the batch", s.batch_size, static_cast<int>(w));
  if (last >= s.min_batch)  // a shorter last batch is trained on too
    dist::check_even_split("GanTrainer::fit", "the last batch of each epoch (" + std::to_string(n) + " images % " +
                                                  std::to_string(s.batch_size) + ")",
                           last, static_cast<int>(w));
}

void check_single_process_run(const TrainerSettings& s, const std::string& recipe) {
  if (s.group || !dist::launched_by_mpi()) return;  // a plain process never starts MPI here
  const int w = dist::world().size();
  LUMEN_CHECK(w == 1, "GanTrainer::run", "this job has ", w, " ranks but the ", recipe,
              " has no process group: it trains in one process only (every rank would train it alone and write the "
              "same files); run it without mpirun");
}

void write_checkpoint(const std::string& path, const TrainerRegistry& reg, CheckpointMetadata meta) {
  nn::StateDict all = reg.networks->state_dict();
  for (const auto& [name, adam] : reg.optimizers)
    for (auto& [k, t] : adam->state_dict()) all.emplace_back(kOptimPrefix + name + "." + k, t);
  for (const auto& [name, gen] : reg.generators) {
    meta[name + "_seed"] = std::to_string(gen->seed());
    meta[name + "_offset"] = std::to_string(gen->offset());
  }
  nn::save_safetensors(path, all, meta);
}

void read_checkpoint(const std::string& path, const CheckpointMetadata& meta, const TrainerRegistry& reg) {
  for (const auto& [name, gen] : reg.generators) {  // checked before the tensors are read
    const std::uint64_t seed = nn::metadata_uint64(kOp, meta, name + "_seed", path);
    LUMEN_CHECK(seed == gen->seed(), kOp, "checkpoint '", path, "': metadata '", name, "_seed' = ", seed,
                ", expected this run's ", gen->seed());
    nn::metadata_uint64(kOp, meta, name + "_offset", path);
  }
  const std::map<std::string, Tensor> all = nn::load_safetensors(path);
  reg.networks->load_state_dict(network_tensors(all), /*strict=*/true);
  for (const auto& [name, adam] : reg.optimizers) adam->load_state_dict(with_prefix(all, kOptimPrefix + name + "."));
  for (const auto& [name, gen] : reg.generators) {
    gen->manual_seed(gen->seed());  // back to the stream's start, then to where the run stood
    gen->advance(nn::metadata_uint64(kOp, meta, name + "_offset", path));
  }
}

void check_architecture(const Architecture& theirs, const Architecture& ours, const std::string& path) {
  for (std::size_t i = 0; i < theirs.size() && i < ours.size(); ++i)
    LUMEN_CHECK(theirs[i] == ours[i], "GanTrainer::load_checkpoint", "'", path, "' holds ", theirs[i].first, " ",
                theirs[i].second, " but this trainer has ", ours[i].second);
}

void load_networks(nn::Module& networks, const std::string& path) {
  networks.load_state_dict(network_tensors(nn::load_safetensors(path)), /*strict=*/true);
}

RunPaths prepare_run_dir(const std::string& out_dir, const TrainerSettings& s) {
  on_rank0(s, "the folder " + out_dir, [&] { fs::create_directories(out_dir); });
  return {.checkpoint = (fs::path(out_dir) / "checkpoint.safetensors").string(),
          .samples = (fs::path(out_dir) / "samples.png").string()};
}

void save_samples(const std::string& path, const Tensor& image) { figures::save_png(path, image); }

TrainingImages colored_mnist_training_images(const std::string& data_dir, std::uint64_t color_seed,
                                             std::int64_t max_images) {
  const nn::MnistSplit split = nn::split_mnist(nn::load_mnist((fs::path(data_dir) / "mnist").string()));
  const nn::ColoredMnist train = nn::make_colored_mnist(split.train, color_seed);
  if (max_images <= 0 || max_images >= train.size()) return {train.images, train.labels};
  return {train.images.narrow(0, 0, max_images).contiguous(), train.labels.narrow(0, 0, max_images).contiguous()};
}

}  // namespace lumen::gan::detail
