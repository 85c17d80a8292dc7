#pragma once
// The part of run_training (gan/training.cpp) and run_stargan_training (gan/stargan.cpp) that does not
// depend on the GAN: resume from out_dir/checkpoint.safetensors, fit, write samples.png and the
// checkpoint after every epoch, and time the training alone. Internal to gan/.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "autograd/tensor.h"
#include "figures/png.h"

namespace lumen::gan::detail {

// Trainer: fit(images, labels, on_epoch_end), save_checkpoint, load_checkpoint, epoch(), step_in_epoch(),
// last_losses(); steps_of(trainer) gives its step count. Summary: RunSummary or StarGanRunSummary.
// samples(trainer) returns the image written to samples.png.
template <class Trainer, class Summary, class Samples>
Summary run_epochs(Trainer& trainer, const std::string& out_dir, bool resume, std::FILE* log, const Tensor& images,
                   const Tensor& labels, Samples&& samples) {
  namespace fs = std::filesystem;
  using clock = std::chrono::steady_clock;
  const auto since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
  fs::create_directories(out_dir);
  Summary summary;
  summary.checkpoint = (fs::path(out_dir) / "checkpoint.safetensors").string();
  summary.samples = (fs::path(out_dir) / "samples.png").string();
  if (resume && fs::exists(summary.checkpoint)) {
    trainer.load_checkpoint(summary.checkpoint);
    if (log)
      std::fprintf(log, "resumed from %s at epoch %lld, step %lld\n", summary.checkpoint.c_str(),
                   static_cast<long long>(trainer.epoch()), static_cast<long long>(steps_of(trainer)));
  }
  const std::int64_t first_step = steps_of(trainer);
  double output_s = 0;
  const auto t0 = clock::now();
  trainer.fit(images, labels, [&](Trainer& t) {
    const auto t_out = clock::now();
    figures::save_png(summary.samples, samples(t));
    t.save_checkpoint(summary.checkpoint);
    output_s += since(t_out);
  });
  summary.seconds = since(t0) - output_s;
  summary.epochs = trainer.epoch();
  summary.steps = steps_of(trainer);
  summary.steps_run = steps_of(trainer) - first_step;
  summary.steps_per_s = summary.seconds > 0 ? static_cast<double>(summary.steps_run) / summary.seconds : 0.0;
  summary.last = trainer.last_losses();
  if (trainer.step_in_epoch() > 0) trainer.save_checkpoint(summary.checkpoint);  // stopped mid-epoch (max_steps)
  return summary;
}

}  // namespace lumen::gan::detail
