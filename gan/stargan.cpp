#include "gan/stargan.h"

#include <omp.h>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "nn/losses.h"
#include "nn/safetensors.h"
#include "figures/grid.h"

namespace lumen::gan {

namespace {

nn::AdamOptions adam(const StarGanOptions& o, double lr) {
  return {.lr = lr, .beta1 = o.beta1, .beta2 = o.beta2, .weight_decay = o.weight_decay};
}

}  // namespace

// ---- the recipe
StarGan::StarGan(StarGanOptions opt)
    : options(opt),
      models((manual_seed(opt.seed), std::make_shared<StarGanModels>(opt))),
      opt_g(models->generator->parameters(), adam(opt, opt.lr)),
      opt_f(models->mapping->parameters(), adam(opt, opt.lr_mapping)),
      opt_e(models->style_encoder->parameters(), adam(opt, opt.lr)),
      opt_d(models->discriminator->parameters(), adam(opt, opt.lr)),
      sample_gen(opt.seed + 1) {
  LUMEN_CHECK(opt.num_classes >= 1 && opt.ema_beta >= 0 && opt.ema_beta <= 1 && opt.ds_decay_steps >= 0,
              "StarGan", "expected num_classes >= 1, ema_beta in [0, 1] and ds_decay_steps >= 0, got ",
              opt.num_classes, ", ", opt.ema_beta, " and ", opt.ds_decay_steps);
}

double StarGan::lambda_ds_at(std::int64_t step) const {
  if (options.ds_decay_steps <= 0) return options.lambda_ds;
  const double left = 1.0 - static_cast<double>(step) / static_cast<double>(options.ds_decay_steps);
  return options.lambda_ds * (left > 0 ? left : 0.0);
}

StarGanLosses StarGan::train_step(const Tensor& x, const Tensor& y, std::int64_t step) {
  const StarGanOptions& o = options;
  LUMEN_CHECK(x.dim() == 4 && x.size(0) >= 1 && x.size(1) == o.image_channels && x.size(2) == o.image_size &&
                  x.size(3) == o.image_size,
              "StarGan::train_step", "expected x [B, ", o.image_channels, ", ", o.image_size, ", ",
              o.image_size, "], got ", x.shape());
  check_class_indices("StarGan::train_step", y, x.size(0));
  StarGanGenerator& G = *models->generator;
  MappingNetwork& F = *models->mapping;
  StarGanStyleEncoder& E = *models->style_encoder;
  StarGanDiscriminator& D = *models->discriminator;
  const std::int64_t b = x.size(0);
  const TensorOptions fopt = options_of(x);

  const Tensor y_trg = randint(0, o.num_classes, {b}, kCPU, &sample_gen);
  const Tensor z1 = randn({b, o.latent_dim}, fopt, &sample_gen), z2 = randn({b, o.latent_dim}, fopt, &sample_gen);
  StarGanLosses l;

  // ---- discriminator: real logits with R1 (double backward), fakes made without a graph.
  {
    Tensor x_in = x.detach().clone();
    x_in.requires_grad_();
    const Tensor out_real = D(x_in, y);
    const Tensor loss_real = softplus(-out_real).mean();
    const Tensor r1 = r1_penalty(out_real, x_in);
    Tensor x_fake;
    {
      autograd::NoGradGuard no_grad;
      x_fake = G(x, F(z1, y_trg));
    }
    const Tensor loss_fake = softplus(D(x_fake, y_trg)).mean();
    opt_d.zero_grad();
    (loss_real + loss_fake + r1 * o.lambda_r1).backward();
    opt_d.step();
    l.d_real = loss_real.item();
    l.d_fake = loss_fake.item();
    l.r1 = r1.item();
  }

  // ---- generator, mapping network and style encoder (D frozen: no gradient for its weights).
  {
    const Frozen frozen(D);
    l.lambda_ds = lambda_ds_at(step);
    const Tensor s_trg = F(z1, y_trg);
    const Tensor x_fake = G(x, s_trg);
    const Tensor adversarial = softplus(-D(x_fake, y_trg)).mean();
    const Tensor style = nn::l1_loss(E(x_fake, y_trg), s_trg);
    Tensor x_fake2;
    {
      autograd::NoGradGuard no_grad;  // the paper detaches the second sample
      x_fake2 = G(x, F(z2, y_trg));
    }
    const Tensor diversity = nn::l1_loss(x_fake, x_fake2);
    const Tensor s_org = E(x, y);
    const Tensor cycle = nn::l1_loss(G(x_fake, s_org), x);
    const Tensor loss = adversarial + style * o.lambda_sty - diversity * l.lambda_ds + cycle * o.lambda_cyc;
    opt_g.zero_grad();
    opt_f.zero_grad();
    opt_e.zero_grad();
    loss.backward();
    opt_g.step();
    opt_f.step();
    opt_e.step();
    l.adversarial = adversarial.item();
    l.style = style.item();
    l.diversity = diversity.item();
    l.cycle = cycle.item();
  }

  return l;
}

TrainerSettings StarGan::settings() const {
  return {.epochs = options.epochs,
          .batch_size = options.batch_size,
          .seed = options.seed,
          .batch_seed = options.seed + 2,
          .min_batch = 1,
          .ema_beta = options.ema_beta,
          .ema_copy_back = false,  // the paper keeps the EMA copies for inference only
          .log_every = options.log_every,
          .log = options.log,
          .max_steps = options.max_steps};
}

TrainerRegistry StarGan::registry() {
  return {.networks = models.get(),
          .optimizers = {{"g", &opt_g}, {"f", &opt_f}, {"e", &opt_e}, {"d", &opt_d}},
          .generators = {{"sample", &sample_gen}},
          .ema = {{models->generator_ema.get(), models->generator.get()},
                  {models->mapping_ema.get(), models->mapping.get()},
                  {models->style_encoder_ema.get(), models->style_encoder.get()}}};
}

std::string StarGan::format_losses(const StarGanLosses& sum, std::int64_t steps) {
  const double k = static_cast<double>(steps);
  return detail::printf_string("adv %.4f sty %.4f ds %.4f cyc %.4f  | D real %.4f fake %.4f r1 %.4f",
                               sum.adversarial / k, sum.style / k, sum.diversity / k, sum.cycle / k, sum.d_real / k,
                               sum.d_fake / k, sum.r1 / k);
}

Architecture StarGan::architecture(const StarGanOptions& o) {
  return {{"image_channels", o.image_channels}, {"image_size", o.image_size}, {"num_classes", o.num_classes},
          {"latent_dim", o.latent_dim},         {"style_dim", o.style_dim},   {"channels", o.channels},
          {"res_blocks", o.res_blocks},         {"mapping_hidden", o.mapping_hidden}};
}

StarGanOptions StarGan::architecture_of(const CheckpointMetadata& meta, const std::string& path) {
  // Ranges that keep a hostile file from sizing networks beyond memory.
  const auto get = [&](const char* key, std::int64_t min, std::int64_t max) {
    return detail::meta_int(meta, key, path, min, max);
  };
  StarGanOptions o;
  o.image_channels = get("image_channels", 1, 16);
  o.image_size = get("image_size", 4, 1024);
  o.num_classes = get("num_classes", 1, 1000);
  o.latent_dim = get("latent_dim", 1, 4096);
  o.style_dim = get("style_dim", 1, 4096);
  o.channels = get("channels", 1, 1024);
  o.res_blocks = get("res_blocks", 0, 64);
  o.mapping_hidden = get("mapping_hidden", 1, 4096);
  return o;
}

std::shared_ptr<StarGanModels> load_stargan_models(const std::string& path) {
  const CheckpointMetadata meta = nn::read_safetensors_metadata(path);
  detail::check_format(meta, path, StarGan::kFormat);
  auto models = std::make_shared<StarGanModels>(StarGan::architecture_of(meta, path));
  detail::load_networks(*models, path);
  return models;
}

// ---- counterfactuals

Tensor counterfactual_from_latent(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                  std::int64_t target, const Tensor& z) {
  LUMEN_CHECK(target >= 0 && target < mapping.num_classes, "counterfactual_from_latent", "expected a target in [0, ",
              mapping.num_classes, "), got ", target);
  LUMEN_CHECK(x.dim() == 4 && z.defined() && z.dim() == 2 && (z.size(0) == x.size(0) || z.size(0) == 1),
              "counterfactual_from_latent",
              "expected x [N, C, H, W] and z [N or 1, ", mapping.latent_dim, "], got ", x.shape(), " and ",
              z.defined() ? z.shape() : Shape{});
  autograd::NoGradGuard no_grad;
  const Tensor style = mapping(z, class_index(z.size(0), target));
  return clamp(generator(x, style), 0.0, 1.0);
}

Tensor counterfactual_from_latent(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                  std::int64_t target, std::uint64_t seed) {
  LUMEN_CHECK(x.dim() == 4, "counterfactual_from_latent", "expected x [N, C, H, W], got ", x.shape());
  lumen::Generator g(seed);
  const Tensor z = randn({x.size(0), mapping.latent_dim}, options_of(x), &g);
  return counterfactual_from_latent(generator, mapping, x, target, z);
}

Counterfactuals stargan_counterfactual(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                       std::int64_t target, nn::Module& classifier, std::int64_t max_candidates,
                                       std::uint64_t seed) {
  LUMEN_CHECK(max_candidates >= 1, "stargan_counterfactual", "expected max_candidates >= 1, got ", max_candidates);
  auto make = [&](std::int64_t m) {
    return counterfactual_from_latent(generator, mapping, x, target, seed + static_cast<std::uint64_t>(m));
  };
  return select_candidates(max_candidates, make, classifier, target);
}

FlipReport evaluate_stargan_flips(StarGanGenerator& generator, MappingNetwork& mapping, nn::Module& classifier,
                                  const Tensor& images, const Tensor& labels, std::int64_t max_candidates,
                                  std::uint64_t seed, std::int64_t batch) {
  return count_flips(images, labels, mapping.num_classes, batch, [&](const Tensor& x, std::int64_t t) {
    return stargan_counterfactual(generator, mapping, x, t, classifier, max_candidates, seed);
  }, "evaluate_stargan_flips");
}

Tensor stargan_counterfactual_grid(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& sources,
                                   const Tensor& z, std::int64_t scale) {
  LUMEN_CHECK(sources.dim() == 4 && sources.size(0) >= 1 && z.defined() && z.dim() == 2 && z.size(0) == 1,
              "stargan_counterfactual_grid", "expected sources [N >= 1, C, H, W] and z [1, latent_dim], got ",
              sources.shape(), " and ", z.defined() ? z.shape() : Shape{});
  autograd::NoGradGuard no_grad;
  const std::int64_t k = mapping.num_classes, n = sources.size(0);
  std::vector<Tensor> columns{sources};
  for (std::int64_t c = 0; c < k; ++c) columns.push_back(counterfactual_from_latent(generator, mapping, sources, c, z));
  Tensor tiles = stack(columns, 1).reshape({n * (k + 1), sources.size(1), sources.size(2), sources.size(3)});
  return figures::upscale(figures::make_grid(tiles, k + 1, 2, 1.0), scale);
}

// ---- the entry point

RunSummary<StarGanLosses> run_stargan_training(const StarGanRunOptions& opt) {
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const auto [images, labels] = detail::colored_mnist_training_images(opt.data_dir, opt.color_seed, opt.max_images);
  const std::int64_t k = opt.stargan.num_classes;
  LUMEN_CHECK(opt.sample_rows >= k, "run_stargan_training", "expected sample_rows >= ", k, " (one per class), got ",
              opt.sample_rows);
  const Prototypes per_class = select_prototypes(images, labels, k, opt.sample_rows / k);
  const Tensor sample_sources = cat(per_class.images, 0);
  lumen::Generator zg(opt.stargan.seed + 3);
  const Tensor sample_z = randn({1, opt.stargan.latent_dim}, {}, &zg);

  StarGanTrainer trainer(opt.stargan);
  return trainer.run(opt.out_dir, opt.resume, images, labels, [&](StarGanTrainer& t) {
    return stargan_counterfactual_grid(*t.recipe.models->generator_ema, *t.recipe.models->mapping_ema, sample_sources,
                                       sample_z);
  });
}

}  // namespace lumen::gan