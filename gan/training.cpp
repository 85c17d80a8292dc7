#include "gan/training.h"

#include <omp.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "nn/colored_mnist.h"
#include "nn/dataloader.h"
#include "nn/losses.h"
#include "nn/mnist.h"
#include "nn/safetensors.h"
#include "gan/run_loop.h"
#include "gan/trainer_util.h"

namespace lumen::gan {

namespace fs = std::filesystem;

namespace {

using detail::meta_int;
using detail::network_tensors;
using detail::set_requires_grad;
using detail::with_prefix;

GeneratorOptions generator_options(const GanOptions& o) {
  return {.image_channels = 3, .style_size = o.style_size, .depth = o.depth, .num_fmaps = o.num_fmaps,
          .sigmoid = o.sigmoid};
}

std::vector<Tensor> concat(std::vector<Tensor> a, const std::vector<Tensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::int64_t meta_int(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& path) {
  return meta_int(meta, key, path, "GanTrainer::load_checkpoint", "GanTrainer");
}

// The architecture a checkpoint was written with, from its metadata.
GanOptions architecture_of(const std::map<std::string, std::string>& meta, const std::string& path) {
  GanOptions o;
  o.num_fmaps = meta_int(meta, "num_fmaps", path);
  o.depth = meta_int(meta, "depth", path);
  o.style_size = meta_int(meta, "style_size", path);
  o.num_classes = meta_int(meta, "num_classes", path);
  o.sigmoid = meta.count("sigmoid") ? meta_int(meta, "sigmoid", path) != 0 : true;
  return o;
}

}  // namespace

GanOptions budget_recipe() {
  GanOptions o;
  o.epochs = 12;
  o.num_fmaps = 12;
  o.sigmoid = false;
  o.lr_g = 3e-4;
  o.lr_d = 1e-5;
  o.ema_beta = 0.99;
  return o;
}

// ---- networks

GanModels::GanModels(const GanOptions& opt) {
  LUMEN_CHECK(opt.style_size > 0 && opt.num_classes > 1, "GanModels", "expected style_size > 0 and num_classes > 1, got ",
              opt.style_size, " and ", opt.num_classes);
  generator = register_module("generator", std::make_shared<Generator>(generator_options(opt)));
  style_encoder = register_module("style_encoder", std::make_shared<StyleEncoder>(opt.style_size));
  discriminator = register_module("discriminator", std::make_shared<Discriminator>(opt.num_classes));
  generator_ema = register_module("generator_ema", std::make_shared<Generator>(generator_options(opt)));
  style_encoder_ema = register_module("style_encoder_ema", std::make_shared<StyleEncoder>(opt.style_size));
  copy_weights(*generator_ema, *generator);  // the course's deepcopy
  copy_weights(*style_encoder_ema, *style_encoder);
}

Tensor GanModels::forward(const Tensor&) {
  throw Error("GanModels: a container of networks, not callable: use generator, style_encoder or discriminator");
}

std::shared_ptr<GanModels> load_gan_models(const std::string& path) {
  auto models = std::make_shared<GanModels>(architecture_of(nn::read_safetensors_metadata(path), path));
  models->load_state_dict(network_tensors(nn::load_safetensors(path)), /*strict=*/true);
  return models;
}

// ---- trainer

GanTrainer::GanTrainer(GanOptions opt)
    : options(opt),
      models((manual_seed(opt.seed), std::make_shared<GanModels>(opt))),
      opt_g(concat(models->generator->parameters(), models->style_encoder->parameters()), {.lr = opt.lr_g}),
      opt_d(models->discriminator->parameters(), {.lr = opt.lr_d}),
      perm_gen(opt.seed + 2) {
  LUMEN_CHECK(opt.batch_size >= 2 && opt.epochs >= 0 && opt.ema_beta >= 0 && opt.ema_beta <= 1, "GanTrainer",
              "expected batch_size >= 2, epochs >= 0 and ema_beta in [0, 1], got ", opt.batch_size, ", ", opt.epochs,
              " and ", opt.ema_beta);
}

StepLosses GanTrainer::train_step(const Tensor& x, const Tensor& y) {
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == 3 && y.dim() == 1 && y.size(0) == x.size(0) && x.size(0) >= 2 &&
                  y.dtype() == DType::int64,
              "GanTrainer::train_step", "expected x [B >= 2, 3, H, W] and int64 y [B], got ", x.shape(), " and ",
              y.shape(), " (", dtype_name(y.dtype()), ")");
  Generator& G = *models->generator;
  StyleEncoder& E = *models->style_encoder;
  Discriminator& D = *models->discriminator;

  // Targets: the classes and styles of the batch's own images, shuffled.
  const Tensor perm = randperm(x.size(0), kCPU, &perm_gen);
  const Tensor x_t = index_select(x, 0, perm), y_t = index_select(y, 0, perm);

  // ---- generator (and style encoder). D is frozen so that no gradient is computed for its weights.
  StepLosses l;
  set_requires_grad(D, false);
  opt_g.zero_grad();
  const Tensor s_t = E(x_t), s_x = E(x);
  const Tensor x_fake = G(x, s_t);
  const Tensor x_cycled = G(x_fake, s_x);  // back to x's own style: must give x again
  const Tensor cycle = nn::l1_loss(x, x_cycled);
  const Tensor adversarial = nn::cross_entropy(D(x_fake), y_t);  // D must take the fake for its target
  (cycle + adversarial).backward();
  opt_g.step();
  set_requires_grad(D, true);
  l.cycle = cycle.item();
  l.adversarial = adversarial.item();

  // ---- discriminator, on the fakes made before G's update (as the course).
  // The course's formula, as stated: ½[CE(D(x), y) − CE(D(x_fake), y_t)]. The second term is a
  // *negative* cross-entropy: D is rewarded for making fakes unlike their target class, and that
  // reward is unbounded (−CE → −∞ as p(y_t | fake) → 0), unlike the usual bounded real/fake loss.
  // It works in the course because D learns 10× slower than G (lr 1e-5 vs 1e-4) and G keeps moving
  // the fakes; a D that ran away would drive L_D (and the logged "loss_d") towards −∞.
  opt_d.zero_grad();
  const Tensor d_real = nn::cross_entropy(D(x), y);
  const Tensor d_fake = nn::cross_entropy(D(x_fake.detach()), y_t);
  ((d_real - d_fake) * 0.5).backward();
  opt_d.step();
  l.d_real = d_real.item();
  l.d_fake = d_fake.item();

  ema_update(*models->generator_ema, G, options.ema_beta);
  ema_update(*models->style_encoder_ema, E, options.ema_beta);
  last_ = l;
  return l;
}

void GanTrainer::fit(const Tensor& images, const Tensor& labels, const std::function<void(GanTrainer&)>& on_epoch_end) {
  nn::DataLoader loader(images, labels, {.batch_size = options.batch_size, .shuffle = true, .seed = options.seed + 1});
  for (std::int64_t e = 0; e < epoch_; ++e) loader.start_epoch();  // replay the finished epochs' orders
  const std::int64_t steps_per_epoch = loader.size();
  while (epoch_ < options.epochs) {
    loader.start_epoch();
    detail::LossWindow<StepLosses> window;
    for (; step_in_epoch_ < steps_per_epoch; ++step_in_epoch_, ++step_) {
      if (options.max_steps > 0 && step_ >= options.max_steps) return;
      nn::Batch b = loader.batch(step_in_epoch_);
      if (b.x.size(0) < 2) continue;  // a last batch of one image has no other target to take
      window.add(train_step(b.x, b.y));
      if (options.log && window.due(options.log_every, step_in_epoch_ + 1 == steps_per_epoch)) {
        const StepLosses& sum = window.sum;
        const double k = static_cast<double>(window.steps);
        std::fprintf(options.log,
                     "epoch %lld/%lld step %lld/%lld  cycle %.4f  adv %.4f  | D real %.4f fake %.4f loss %.4f  "
                     "%.2f steps/s\n",
                     static_cast<long long>(epoch_ + 1), static_cast<long long>(options.epochs),
                     static_cast<long long>(step_in_epoch_ + 1), static_cast<long long>(steps_per_epoch),
                     sum.cycle / k, sum.adversarial / k, sum.d_real / k, sum.d_fake / k, sum.discriminator() / k,
                     window.steps_per_s());
        std::fflush(options.log);
        window.reset();
      }
    }
    // The course's end of epoch: the generator continues from its smoothed weights.
    copy_weights(*models->generator, *models->generator_ema);
    copy_weights(*models->style_encoder, *models->style_encoder_ema);
    ++epoch_;
    step_in_epoch_ = 0;
    if (on_epoch_end) on_epoch_end(*this);
  }
}

void GanTrainer::save_checkpoint(const std::string& path) const {
  nn::StateDict all = models->state_dict();
  for (auto& [k, t] : opt_g.state_dict()) all.emplace_back("optim_g." + k, t);
  for (auto& [k, t] : opt_d.state_dict()) all.emplace_back("optim_d." + k, t);
  const auto s = [](auto v) { return std::to_string(v); };
  nn::save_safetensors(path, all,
                       {{"format", "lumen counterfactual GAN (gan/training.h)"},
                        {"epoch", s(epoch_)},
                        {"step", s(step_)},
                        {"step_in_epoch", s(step_in_epoch_)},
                        {"perm_seed", s(perm_gen.seed())},
                        {"perm_offset", s(perm_gen.offset())},
                        {"num_fmaps", s(options.num_fmaps)},
                        {"depth", s(options.depth)},
                        {"style_size", s(options.style_size)},
                        {"num_classes", s(options.num_classes)},
                        {"sigmoid", options.sigmoid ? "1" : "0"},
                        {"batch_size", s(options.batch_size)},
                        {"seed", s(options.seed)}});
}

void GanTrainer::load_checkpoint(const std::string& path) {
  const auto meta = nn::read_safetensors_metadata(path);
  const GanOptions arch = architecture_of(meta, path);
  LUMEN_CHECK(arch.num_fmaps == options.num_fmaps && arch.depth == options.depth && arch.style_size == options.style_size &&
                  arch.num_classes == options.num_classes && arch.sigmoid == options.sigmoid,
              "GanTrainer::load_checkpoint", "'", path, "' holds num_fmaps ", arch.num_fmaps, ", depth ", arch.depth,
              ", style_size ", arch.style_size, ", num_classes ", arch.num_classes, ", sigmoid ", arch.sigmoid,
              " but this trainer has ", options.num_fmaps, ", ", options.depth, ", ", options.style_size, ", ",
              options.num_classes, ", ", options.sigmoid);
  const std::map<std::string, Tensor> all = nn::load_safetensors(path);
  models->load_state_dict(network_tensors(all), /*strict=*/true);
  opt_g.load_state_dict(with_prefix(all, "optim_g."));
  opt_d.load_state_dict(with_prefix(all, "optim_d."));
  epoch_ = meta_int(meta, "epoch", path);
  step_ = meta_int(meta, "step", path);
  step_in_epoch_ = meta_int(meta, "step_in_epoch", path);
  perm_gen.manual_seed(static_cast<std::uint64_t>(meta_int(meta, "perm_seed", path)));
  perm_gen.advance(static_cast<std::uint64_t>(meta_int(meta, "perm_offset", path)));
}

// ---- the course's recipe on ColoredMNIST

std::int64_t steps_of(const GanTrainer& t) { return t.step(); }  // for detail::run_epochs

RunSummary run_training(const RunOptions& opt) {
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const nn::MnistSplit split = nn::split_mnist(nn::load_mnist((fs::path(opt.data_dir) / "mnist").string()));
  nn::ColoredMnist train = nn::make_colored_mnist(split.train, opt.color_seed);
  Tensor images = train.images, labels = train.labels;
  if (opt.max_images > 0 && opt.max_images < train.size()) {
    images = images.narrow(0, 0, opt.max_images).contiguous();
    labels = labels.narrow(0, 0, opt.max_images).contiguous();
  }
  const std::int64_t k = opt.gan.num_classes;
  LUMEN_CHECK(opt.sample_rows >= k, "run_training", "expected sample_rows >= ", k, " (one per class), got ",
              opt.sample_rows);
  // Row 0 of each class is the style reference of the samples; the next ones are sources.
  const std::int64_t per_class = opt.sample_rows / k;
  const Prototypes refs = select_prototypes(images, labels, k, 1 + per_class);
  Prototypes styles;
  std::vector<Tensor> sources;
  for (const Tensor& r : refs.images) {
    styles.images.push_back(r.narrow(0, 0, 1));
    if (r.size(0) > 1) sources.push_back(r.narrow(0, 1, r.size(0) - 1));
  }
  const Tensor sample_sources = cat(sources, 0);

  GanTrainer trainer(opt.gan);
  return detail::run_epochs<GanTrainer, RunSummary>(trainer, opt.out_dir, opt.resume, opt.gan.log, images, labels,
                                                    [&](GanTrainer& t) {
                                                      return counterfactual_grid(*t.models->generator,
                                                                                 *t.models->style_encoder,
                                                                                 sample_sources, styles);
                                                    });
}

}  // namespace lumen::gan
