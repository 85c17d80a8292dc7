#include "gan/training.h"

#include <omp.h>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "nn/losses.h"
#include "nn/safetensors.h"

namespace lumen::gan {

namespace {

GeneratorOptions generator_options(const GanOptions& o) {
  return {.image_channels = 3, .style_size = o.style_size, .depth = o.depth, .num_fmaps = o.num_fmaps,
          .sigmoid = o.sigmoid};
}

std::vector<Tensor> concat(std::vector<Tensor> a, const std::vector<Tensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
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
  // The EMA copies start equal, as copy.deepcopy in the DL@MBL knowledge-extraction exercise ("the course").
  copy_weights(*generator_ema, *generator);
  copy_weights(*style_encoder_ema, *style_encoder);
}

Tensor GanModels::forward(const Tensor&) {
  throw Error("GanModels: a container of networks, not callable: use generator, style_encoder or discriminator");
}

std::shared_ptr<GanModels> load_gan_models(const std::string& path) {
  const CheckpointMetadata meta = nn::read_safetensors_metadata(path);
  detail::check_format(meta, path, CourseGan::kFormat);
  auto models = std::make_shared<GanModels>(CourseGan::architecture_of(meta, path));
  detail::load_networks(*models, path);
  return models;
}

// ---- the recipe

CourseGan::CourseGan(GanOptions opt)
    : options(opt),
      models((manual_seed(opt.seed), std::make_shared<GanModels>(opt))),
      opt_g(concat(models->generator->parameters(), models->style_encoder->parameters()), {.lr = opt.lr_g}),
      opt_d(models->discriminator->parameters(), {.lr = opt.lr_d}),
      perm_gen(opt.seed + 2) {
  LUMEN_CHECK(opt.batch_size >= 2 && opt.epochs >= 0 && opt.ema_beta >= 0 && opt.ema_beta <= 1, "CourseGan",
              "expected batch_size >= 2, epochs >= 0 and ema_beta in [0, 1], got ", opt.batch_size, ", ", opt.epochs,
              " and ", opt.ema_beta);
  if (opt.group && opt.group->size() > 1) {  // one process: no hooks, no collectives
    dist::check_even_split("CourseGan", "the batch", opt.batch_size, opt.group->size());
    ddp_g = std::make_unique<dist::DistributedDataParallel>(opt_g.params(), opt.group);
    ddp_d = std::make_unique<dist::DistributedDataParallel>(opt_d.params(), opt.group);
    // The wrappers started every rank from rank 0's weights (the same seed made them equal anyway):
    // the EMA copies follow.
    copy_weights(*models->generator_ema, *models->generator);
    copy_weights(*models->style_encoder_ema, *models->style_encoder);
  }
}

StepLosses CourseGan::train_step(const Tensor& batch_x, const Tensor& batch_y, std::int64_t /*step*/) {
  LUMEN_CHECK(batch_x.dim() == 4 && batch_x.size(1) == 3 && batch_y.dim() == 1 && batch_y.size(0) == batch_x.size(0) &&
                  batch_x.size(0) >= 2 && batch_y.dtype() == DType::int64,
              "CourseGan::train_step", "expected x [B >= 2, 3, H, W] and int64 y [B], got ", batch_x.shape(), " and ",
              batch_y.shape(), " (", dtype_name(batch_y.dtype()), ")");
  Generator& G = *models->generator;
  StyleEncoder& E = *models->style_encoder;
  Discriminator& D = *models->discriminator;

  // Targets: the classes and styles of the batch's own images, shuffled.
  const std::int64_t B = batch_x.size(0);
  Tensor perm = randperm(B, kCPU, &perm_gen);
  Tensor x = batch_x, y = batch_y;  // handles, not copies
  if (ddp_g) {  // data parallel: the same permutation on every rank, which keeps its own rows of both
    const int ranks = options.group->size();
    dist::check_even_split("CourseGan::train_step", "the batch", B, ranks);
    const dist::Range rows = dist::shard(B, options.group->rank(), ranks);
    perm = perm.narrow(0, rows.begin, rows.size());
    x = batch_x.narrow(0, rows.begin, rows.size());
    y = batch_y.narrow(0, rows.begin, rows.size());
  }
  const Tensor x_t = index_select(batch_x, 0, perm), y_t = index_select(batch_y, 0, perm);

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
  if (ddp_g) {  // the whole batch's losses: the mean of the ranks' means over equal shards
    Tensor all = tensor(std::vector<double>{l.cycle, l.adversarial, l.d_real, l.d_fake}, {4}, {.dtype = DType::float64});
    options.group->all_reduce(all, dist::Reduce::mean);
    const std::vector<double> v = all.to_vector<double>();
    l = {.cycle = v[0], .adversarial = v[1], .d_real = v[2], .d_fake = v[3]};
  }
  return l;
}

TrainerSettings CourseGan::settings() const {
  return {.epochs = options.epochs,
          .batch_size = options.batch_size,
          .seed = options.seed,
          .batch_seed = options.seed + 1,
          .min_batch = 2,  // the targets are the batch's other images
          .ema_beta = options.ema_beta,
          .ema_copy_back = true,  // the course's end of epoch: G and E continue from their smoothed weights
          .log_every = options.log_every,
          .log = options.log,
          .max_steps = options.max_steps,
          .group = options.group.get()};
}

TrainerRegistry CourseGan::registry() {
  return {.networks = models.get(),
          .optimizers = {{"g", &opt_g}, {"d", &opt_d}},
          .generators = {{"perm", &perm_gen}},
          .ema = {{models->generator_ema.get(), models->generator.get()},
                  {models->style_encoder_ema.get(), models->style_encoder.get()}}};
}

std::string CourseGan::format_losses(const StepLosses& sum, std::int64_t steps) {
  const double k = static_cast<double>(steps);
  return detail::printf_string("cycle %.4f  adv %.4f  | D real %.4f fake %.4f loss %.4f", sum.cycle / k,
                               sum.adversarial / k, sum.d_real / k, sum.d_fake / k, sum.discriminator() / k);
}

Architecture CourseGan::architecture(const GanOptions& o) {
  return {{"num_fmaps", o.num_fmaps},
          {"depth", o.depth},
          {"style_size", o.style_size},
          {"num_classes", o.num_classes},
          {"sigmoid", o.sigmoid ? 1 : 0}};
}

GanOptions CourseGan::architecture_of(const CheckpointMetadata& meta, const std::string& path) {
  // Ranges that keep a hostile file from sizing networks beyond memory: the widest UNet level,
  // num_fmaps · 2^(depth - 1) feature maps, stays within 4096.
  const auto get = [&](const char* key, std::int64_t min, std::int64_t max) {
    return detail::meta_int(meta, key, path, min, max);
  };
  GanOptions o;
  o.depth = get("depth", 1, 8);
  o.num_fmaps = get("num_fmaps", 1, std::int64_t(4096) >> (o.depth - 1));
  o.style_size = get("style_size", 1, 1024);
  o.num_classes = get("num_classes", 2, 1000);
  o.sigmoid = meta.count("sigmoid") ? get("sigmoid", 0, 1) != 0 : true;  // checkpoints from before the option: the sigmoid
  return o;
}

// ---- the course's recipe on ColoredMNIST

RunSummary<StepLosses> run_training(const RunOptions& opt) {
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const auto [images, labels] = detail::colored_mnist_training_images(opt.data_dir, opt.color_seed, opt.max_images);
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

  CourseGanTrainer trainer(opt.gan);
  return trainer.run(opt.out_dir, opt.resume, images, labels, [&](CourseGanTrainer& t) {
    return counterfactual_grid(*t.recipe.models->generator, *t.recipe.models->style_encoder, sample_sources, styles);
  });
}

}  // namespace lumen::gan
