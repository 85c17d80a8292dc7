#include "gan/trainer.h"

#include <filesystem>

#include "kernels/core/error.h"
#include "nn/colored_mnist.h"
#include "nn/mnist.h"
#include "figures/png.h"

namespace lumen::gan::detail {

namespace fs = std::filesystem;

namespace {

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
                      const std::string& writer) {
  const auto it = meta.find(key);
  LUMEN_CHECK(it != meta.end(), "GanTrainer::load_checkpoint", "'", path, "' has no '", key,
              "' in its metadata: not a checkpoint of the ", writer);
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    LUMEN_CHECK(false, "GanTrainer::load_checkpoint", "'", path, "': metadata '", key, "' = '", it->second,
                "' is not an integer");
  }
  return 0;
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

CheckpointMetadata read_checkpoint(const std::string& path, const TrainerRegistry& reg, const std::string& writer) {
  CheckpointMetadata meta = nn::read_safetensors_metadata(path);
  const std::map<std::string, Tensor> all = nn::load_safetensors(path);
  reg.networks->load_state_dict(network_tensors(all), /*strict=*/true);
  for (const auto& [name, adam] : reg.optimizers) adam->load_state_dict(with_prefix(all, kOptimPrefix + name + "."));
  for (const auto& [name, gen] : reg.generators) {
    gen->manual_seed(static_cast<std::uint64_t>(meta_int(meta, name + "_seed", path, writer)));
    gen->advance(static_cast<std::uint64_t>(meta_int(meta, name + "_offset", path, writer)));
  }
  return meta;
}

void check_architecture(const Architecture& theirs, const Architecture& ours, const std::string& path) {
  for (std::size_t i = 0; i < theirs.size() && i < ours.size(); ++i)
    LUMEN_CHECK(theirs[i] == ours[i], "GanTrainer::load_checkpoint", "'", path, "' holds ", theirs[i].first, " ",
                theirs[i].second, " but this trainer has ", ours[i].second);
}

void load_networks(nn::Module& networks, const std::string& path) {
  networks.load_state_dict(network_tensors(nn::load_safetensors(path)), /*strict=*/true);
}

RunPaths prepare_run_dir(const std::string& out_dir) {
  fs::create_directories(out_dir);
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
