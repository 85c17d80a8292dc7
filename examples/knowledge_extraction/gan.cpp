// Step 4 of the knowledge-extraction lesson (the DL@MBL exercise): the GAN that turns an image into
// a counterfactual of another class: the exercise's (a UNet generator fed the image and a style
// vector), or with --stargan the StarGAN v2 option. Checkpoints in <out>/gan or <out>/stargan.
// Data parallel (--distributed / mpirun), the exercise's GAN trains over every rank (gan/training.h:
// each rank its shard of every batch, DDP averaging the gradients); the StarGAN v2 option trains in
// one process only (main refuses it over several ranks).
#include <algorithm>
#include <filesystem>

#include "dist/checkpoint.h"
#include "examples/knowledge_extraction/steps.h"
#include "examples/report.h"

namespace lumen::knowledge_extraction {

namespace fs = std::filesystem;

namespace {

// --fresh: the checkpoint of an earlier run would be resumed, so it goes. Rank 0 removes it and every
// rank waits, so that no rank finds it afterwards.
void remove_checkpoint_if_fresh(const Options& o, const fs::path& dir) {
  if (!o.fresh) return;
  dist::on_rank0(dist::world(), "the old checkpoint in " + dir.string(), [&] {
    if (fs::exists(dir / "checkpoint.safetensors")) fs::remove(dir / "checkpoint.safetensors");
  });
}

// run(): an error about the kept checkpoint (another run's: other seed, epochs, images...) says how
// to start afresh.
template <typename Run>
auto resuming(const fs::path& dir, const Run& run) {
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  try {
    return run();
  } catch (const Error& e) {
    if (std::string(e.what()).find("'" + checkpoint + "'") == std::string::npos) throw;
    throw Error(std::string(e.what()) + " (--fresh retrains)");
  }
}

// The console line of a finished training run.
template <typename Summary>
std::string trained_line(const Summary& gs, const std::string& losses) {
  if (gs.steps_run == 0)
    return "  the checkpoint has all " + std::to_string(gs.steps) + " steps already (--fresh retrains)";
  return "  " + std::to_string(gs.steps_run) + " steps in " + report::format("%.1f", gs.seconds) + " s (" +
         report::format("%.2f", gs.steps_per_s) + " steps/s); last losses: " + losses;
}

TrainedGan train_stargan(const Options& o, const Data& data, report::Report& r) {
  r.step("4. the StarGAN v2 option (" + std::to_string(o.stargan_channels) + " channels, " +
         std::to_string(o.stargan_res_blocks) + " residual blocks, batch " + std::to_string(o.stargan_batch) + ", " +
         std::to_string(o.stargan_epochs) + " epochs, lr " + report::format("%g", o.stargan_lr) + ", EMA " +
         report::format("%g", o.stargan_ema) + ")");
  const fs::path dir = fs::path(o.out_dir) / "stargan";
  gan::StarGanRunOptions run;
  run.stargan.channels = o.stargan_channels;
  run.stargan.res_blocks = o.stargan_res_blocks;
  run.stargan.batch_size = o.stargan_batch;
  run.stargan.epochs = o.stargan_epochs;
  run.stargan.lr = o.stargan_lr;
  run.stargan.lr_mapping = o.stargan_lr / 100;  // the paper's ratio
  run.stargan.ema_beta = o.stargan_ema;
  // The diversity weight decays to 0 over the whole run (the paper: over its 100k steps).
  const std::int64_t n_gan = o.gan_images > 0 ? std::min<std::int64_t>(o.gan_images, data.train.size()) : data.train.size();
  run.stargan.ds_decay_steps = o.stargan_epochs * ((n_gan + o.stargan_batch - 1) / o.stargan_batch);
  run.stargan.seed = o.seed;
  run.data_dir = o.data_dir;
  run.out_dir = dir.string();
  run.max_images = o.gan_images;
  run.color_seed = o.seed;
  run.resume = !o.fresh;
  remove_checkpoint_if_fresh(o, dir);
  const gan::RunSummary gs = resuming(dir, [&] { return gan::run_stargan_training(run); });
  r.say(trained_line(gs, "adversarial " + report::format("%.4f", gs.last.adversarial) + ", style " +
                             report::format("%.4f", gs.last.style) + ", cycle " + report::format("%.4f", gs.last.cycle) +
                             ", D " + report::format("%.4f", gs.last.discriminator())));
  TrainedGan g;
  g.stargan = gan::load_stargan_models(gs.checkpoint);
  g.stargan->eval();
  const std::string steps = r.count({"stargan", "steps"}, gs.steps);
  const std::string seconds = r.number({"stargan", "seconds"}, gs.seconds, "%.1f", " s");
  g.trained = steps + " steps (" + seconds + ", " + r.number({"stargan", "steps_per_s"}, gs.steps_per_s, "%.2f", " steps/s") + ")";
  r.count({"stargan", "channels"}, o.stargan_channels);
  r.count({"stargan", "res_blocks"}, o.stargan_res_blocks);
  r.count({"stargan", "batch"}, o.stargan_batch);
  r.count({"stargan", "epochs"}, o.stargan_epochs);
  r.number({"stargan", "lr"}, o.stargan_lr, "%g");
  r.number({"stargan", "ema"}, o.stargan_ema, "%g");
  return g;
}

TrainedGan train_exercise_gan(const Options& o, report::Report& r) {
  r.step("4. the exercise's GAN (UNet depth " + std::to_string(o.depth) + ", " + std::to_string(o.fmaps) +
         " feature maps, " + std::to_string(o.gan_epochs) + " epochs)");
  const fs::path dir = fs::path(o.out_dir) / "gan";
  gan::RunOptions run;
  run.gan = gan::budget_recipe();
  run.gan.lr_g = o.lr_g;
  run.gan.ema_beta = o.ema_beta;
  run.gan.sigmoid = o.sigmoid;
  run.gan.epochs = o.gan_epochs;
  run.gan.num_fmaps = o.fmaps;
  run.gan.depth = o.depth;
  run.gan.seed = o.seed;
  if (o.ranks > 1) run.gan.group = dist::init();  // one process: no group, no DDP
  run.data_dir = o.data_dir;
  run.out_dir = dir.string();
  run.max_images = o.gan_images;
  run.color_seed = o.seed;
  run.resume = !o.fresh;
  remove_checkpoint_if_fresh(o, dir);
  const gan::RunSummary gs = resuming(dir, [&] { return gan::run_training(run); });
  r.say(trained_line(gs, "cycle " + report::format("%.4f", gs.last.cycle) + ", adversarial " +
                             report::format("%.4f", gs.last.adversarial)));
  TrainedGan g;
  g.unet = gan::load_gan_models(gs.checkpoint);
  g.unet->generator_ema->eval();
  g.unet->style_encoder_ema->eval();
  const std::string steps = r.count({"gan", "steps"}, gs.steps);
  const std::string seconds = r.number({"gan", "seconds"}, gs.seconds, "%.1f", " s");
  g.trained = steps + " steps (" + seconds + ", " + r.number({"gan", "steps_per_s"}, gs.steps_per_s, "%.2f", " steps/s") + ")";
  r.count({"gan", "fmaps"}, o.fmaps);
  r.count({"gan", "depth"}, o.depth);
  r.count({"gan", "epochs"}, o.gan_epochs);
  return g;
}

}  // namespace

TrainedGan train_gan(const Options& o, const Data& data, report::Report& r) {
  return o.stargan ? train_stargan(o, data, r) : train_exercise_gan(o, r);
}

gan::Counterfactuals TrainedGan::counterfactual(const Tensor& x, std::int64_t target, const gan::Prototypes& protos,
                                                std::uint64_t latent_seed, nn::Module& classifier,
                                                std::int64_t candidates) const {
  if (stargan)
    return gan::stargan_counterfactual(*stargan->generator_ema, *stargan->mapping_ema, x, target, classifier,
                                             candidates, latent_seed);
  return gan::counterfactual(*unet->generator_ema, *unet->style_encoder_ema, x, target, protos,
                             {.max_candidates = candidates, .classifier = &classifier});
}

}  // namespace lumen::knowledge_extraction
