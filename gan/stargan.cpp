#include "gan/stargan.h"

#include <omp.h>

#include <chrono>
#include <cmath>
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
#include "figures/grid.h"

namespace lumen::gan {

namespace {

using detail::meta_int;
using detail::network_tensors;
using detail::set_requires_grad;
using detail::with_prefix;

constexpr double kSlope = 0.2;  // LeakyReLU slope, as the paper
const double kInvSqrt2 = 1.0 / std::sqrt(2.0);

nn::ConvOptions pad(std::int64_t p, std::int64_t stride = 1) { return {.stride = stride, .padding = p}; }

void check_labels(const char* op, const Tensor& y, std::int64_t n) {
  LUMEN_CHECK(y.defined() && y.dim() == 1 && y.size(0) == n && y.dtype() == DType::int64, op,
              "expected int64 class indices [", n, "], got ",
              y.defined() ? y.shape() : Shape{}, y.defined() ? std::string(" (") + dtype_name(y.dtype()) + ")" : " (undefined)");
}

// Freezes a module's parameters for a scope (no gradient computed for them), even if the scope throws.
class Frozen {
 public:
  explicit Frozen(nn::Module& m) : m_(m) { set_requires_grad(m_, false); }
  ~Frozen() { set_requires_grad(m_, true); }
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;

 private:
  nn::Module& m_;
};

nn::AdamOptions adam(const StarGanOptions& o, double lr) {
  return {.lr = lr, .beta1 = o.beta1, .beta2 = o.beta2, .weight_decay = o.weight_decay};
}

std::int64_t meta_int(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& path) {
  return meta_int(meta, key, path, "StarGanTrainer::load_checkpoint", "StarGanTrainer");
}

// The architecture fields of StarGanOptions, by their metadata names.
const char* const kArchKeys[] = {"image_channels", "image_size", "num_classes", "latent_dim",
                                 "style_dim",      "channels",   "res_blocks",  "mapping_hidden"};

std::vector<std::int64_t*> arch_fields(StarGanOptions& o) {
  return {&o.image_channels, &o.image_size, &o.num_classes, &o.latent_dim,
          &o.style_dim,      &o.channels,   &o.res_blocks,  &o.mapping_hidden};
}

StarGanOptions architecture_of(const std::map<std::string, std::string>& meta, const std::string& path) {
  StarGanOptions o;
  const auto fields = arch_fields(o);
  for (std::size_t i = 0; i < fields.size(); ++i) *fields[i] = meta_int(meta, kArchKeys[i], path);
  return o;
}

}  // namespace

Tensor pick_class(const Tensor& all, const Tensor& y) {
  LUMEN_CHECK(all.dim() >= 2, "pick_class", "expected per-class outputs [N, K, ...], got ", all.shape());
  const std::int64_t n = all.size(0);
  check_labels("pick_class", y, n);
  Shape idx_shape = all.shape(), view_shape(all.dim(), 1);
  idx_shape[1] = 1;
  view_shape[0] = n;
  const Tensor index = y.reshape(view_shape).expand(idx_shape).contiguous();
  return gather(all, 1, index).squeeze(1);
}

Tensor class_index(std::int64_t n, std::int64_t target) {
  return tensor_from(std::vector<std::int64_t>(static_cast<std::size_t>(n), target), {n});
}

// ---- mapping network

MappingNetwork::MappingNetwork(std::int64_t latent_dim_, std::int64_t style_dim_, std::int64_t num_classes_,
                               std::int64_t hidden)
    : latent_dim(latent_dim_), style_dim(style_dim_), num_classes(num_classes_) {
  LUMEN_CHECK(latent_dim > 0 && style_dim > 0 && num_classes > 0 && hidden > 0, "MappingNetwork",
              "expected latent_dim, style_dim, num_classes and hidden > 0, got ", latent_dim, ", ", style_dim, ", ",
              num_classes, " and ", hidden);
  trunk = register_module("trunk", std::make_shared<nn::Sequential>());
  trunk->push_back(std::make_shared<nn::Linear>(latent_dim, hidden));
  trunk->push_back(std::make_shared<nn::ReLU>());
  trunk->push_back(std::make_shared<nn::Linear>(hidden, hidden));
  trunk->push_back(std::make_shared<nn::ReLU>());
  auto bank = register_module("heads", std::make_shared<nn::Sequential>());  // a named list, not run in order
  for (std::int64_t k = 0; k < num_classes; ++k) {
    auto h = bank->push_back(std::make_shared<nn::Sequential>());
    h->push_back(std::make_shared<nn::Linear>(hidden, hidden));
    h->push_back(std::make_shared<nn::ReLU>());
    h->push_back(std::make_shared<nn::Linear>(hidden, style_dim));
    heads.push_back(h);
  }
}

Tensor MappingNetwork::forward(const Tensor& z) {
  LUMEN_CHECK(z.dim() == 2 && z.size(1) == latent_dim, "MappingNetwork", "expected z [N, ", latent_dim, "], got ",
              z.shape());
  const Tensor h = (*trunk)(z);
  std::vector<Tensor> out;
  for (auto& head : heads) out.push_back((*head)(h));
  return stack(out, 1);
}

Tensor MappingNetwork::operator()(const Tensor& z, const Tensor& y) { return pick_class(nn::Module::operator()(z), y); }

// ---- convolutional trunk, style encoder, discriminator

ConvTrunk::ConvTrunk(std::int64_t in_channels_, std::int64_t channels, std::int64_t image_size_)
    : in_channels(in_channels_), image_size(image_size_), features(2 * channels) {
  LUMEN_CHECK(in_channels > 0 && channels > 0 && image_size >= 4 && image_size % 4 == 0, "ConvTrunk",
              "expected in_channels, channels > 0 and image_size a multiple of 4 (>= 4), got ", in_channels, ", ",
              channels, " and ", image_size);
  push_back("conv0", std::make_shared<nn::Conv2d>(in_channels, channels, 3, pad(1)));
  push_back("act0", std::make_shared<nn::LeakyReLU>(kSlope));
  push_back("conv1", std::make_shared<nn::Conv2d>(channels, channels, 4, pad(1, 2)));  // S/2
  push_back("act1", std::make_shared<nn::LeakyReLU>(kSlope));
  push_back("conv2", std::make_shared<nn::Conv2d>(channels, features, 4, pad(1, 2)));  // S/4
  push_back("act2", std::make_shared<nn::LeakyReLU>(kSlope));
  push_back("conv3", std::make_shared<nn::Conv2d>(features, features, image_size / 4));  // 1×1
  push_back("act3", std::make_shared<nn::LeakyReLU>(kSlope));
  push_back("flatten", std::make_shared<nn::Flatten>());
}

Tensor ConvTrunk::forward(const Tensor& x) {
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == in_channels && x.size(2) == image_size && x.size(3) == image_size,
              "ConvTrunk", "expected images [N, ", in_channels, ", ", image_size, ", ", image_size, "], got ", x.shape());
  return nn::Sequential::forward(x);
}

StyleEncoderV2::StyleEncoderV2(const StarGanOptions& opt) : style_dim(opt.style_dim), num_classes(opt.num_classes) {
  LUMEN_CHECK(style_dim > 0 && num_classes > 0, "StyleEncoderV2", "expected style_dim and num_classes > 0, got ",
              style_dim, " and ", num_classes);
  trunk = register_module("trunk", std::make_shared<ConvTrunk>(opt.image_channels, opt.channels, opt.image_size));
  auto bank = register_module("heads", std::make_shared<nn::Sequential>());
  for (std::int64_t k = 0; k < num_classes; ++k)
    heads.push_back(bank->push_back(std::make_shared<nn::Linear>(trunk->features, style_dim)));
}

Tensor StyleEncoderV2::forward(const Tensor& x) {
  const Tensor h = (*trunk)(x);
  std::vector<Tensor> out;
  for (auto& head : heads) out.push_back((*head)(h));
  return stack(out, 1);
}

Tensor StyleEncoderV2::operator()(const Tensor& x, const Tensor& y) { return pick_class(nn::Module::operator()(x), y); }

StarGanDiscriminator::StarGanDiscriminator(const StarGanOptions& opt) : num_classes(opt.num_classes) {
  LUMEN_CHECK(num_classes > 0, "StarGanDiscriminator", "expected num_classes > 0, got ", num_classes);
  trunk = register_module("trunk", std::make_shared<ConvTrunk>(opt.image_channels, opt.channels, opt.image_size));
  head = register_module("head", std::make_shared<nn::Linear>(trunk->features, num_classes));
}

Tensor StarGanDiscriminator::forward(const Tensor& x) { return (*head)((*trunk)(x)); }

Tensor StarGanDiscriminator::operator()(const Tensor& x, const Tensor& y) {
  return pick_class(nn::Module::operator()(x), y);
}

// ---- AdaIN and the generator

AdaIN::AdaIN(std::int64_t style_dim, std::int64_t num_features_) : num_features(num_features_) {
  LUMEN_CHECK(style_dim > 0 && num_features > 0, "AdaIN", "expected style_dim and num_features > 0, got ", style_dim,
              " and ", num_features);
  norm = register_module("norm", std::make_shared<nn::InstanceNorm2d>(num_features, 1e-5, /*affine=*/false));
  fc = register_module("fc", std::make_shared<nn::Linear>(style_dim, 2 * num_features));
}

Tensor AdaIN::operator()(const Tensor& x, const Tensor& style) {
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == num_features && style.dim() == 2 && style.size(1) == fc->in_features &&
                  (style.size(0) == x.size(0) || style.size(0) == 1),
              "AdaIN", "expected x [N, ", num_features, ", H, W] and style [N or 1, ", fc->in_features, "], got ",
              x.shape(), " and ", style.shape());
  const Tensor h = (*fc)(style).reshape({style.size(0), 2 * num_features, 1, 1});
  const Tensor gamma = h.narrow(1, 0, num_features), beta = h.narrow(1, num_features, num_features);
  return (*norm)(x) * (gamma + 1.0) + beta;
}

Tensor AdaIN::forward(const Tensor&) { throw Error("AdaIN: needs a style: call norm(x, style)"); }

ResBlock::ResBlock(std::int64_t c) {
  norm1 = register_module("norm1", std::make_shared<nn::InstanceNorm2d>(c, 1e-5, /*affine=*/true));
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(c, c, 3, pad(1)));
  norm2 = register_module("norm2", std::make_shared<nn::InstanceNorm2d>(c, 1e-5, /*affine=*/true));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(c, c, 3, pad(1)));
}

Tensor ResBlock::forward(const Tensor& x) {
  Tensor r = (*conv1)(leaky_relu((*norm1)(x), kSlope));
  r = (*conv2)(leaky_relu((*norm2)(r), kSlope));
  return (x + r) * kInvSqrt2;
}

AdaINResBlock::AdaINResBlock(std::int64_t c, std::int64_t style_dim) {
  norm1 = register_module("norm1", std::make_shared<AdaIN>(style_dim, c));
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(c, c, 3, pad(1)));
  norm2 = register_module("norm2", std::make_shared<AdaIN>(style_dim, c));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(c, c, 3, pad(1)));
}

Tensor AdaINResBlock::operator()(const Tensor& x, const Tensor& s) {
  Tensor r = (*conv1)(leaky_relu((*norm1)(x, s), kSlope));
  r = (*conv2)(leaky_relu((*norm2)(r, s), kSlope));
  return (x + r) * kInvSqrt2;
}

Tensor AdaINResBlock::forward(const Tensor&) { throw Error("AdaINResBlock: needs a style: call block(x, style)"); }

StarGanGenerator::StarGanGenerator(const StarGanOptions& opt) : image_channels(opt.image_channels), style_dim(opt.style_dim) {
  const std::int64_t c = opt.channels;
  LUMEN_CHECK(image_channels > 0 && style_dim > 0 && c > 0 && opt.res_blocks >= 0, "StarGanGenerator",
              "expected image_channels, style_dim, channels > 0 and res_blocks >= 0, got ", image_channels, ", ",
              style_dim, ", ", c, " and ", opt.res_blocks);
  from_rgb = register_module("from_rgb", std::make_shared<nn::Conv2d>(image_channels, c, 3, pad(1)));
  down = register_module("down", std::make_shared<nn::Conv2d>(c, c, 4, pad(1, 2)));  // H/2
  for (std::int64_t i = 0; i < opt.res_blocks; ++i)
    encoder.push_back(register_module("encoder" + std::to_string(i), std::make_shared<ResBlock>(c)));
  for (std::int64_t i = 0; i < opt.res_blocks; ++i)
    decoder.push_back(register_module("decoder" + std::to_string(i), std::make_shared<AdaINResBlock>(c, style_dim)));
  up = register_module("up", std::make_shared<nn::ConvTranspose2d>(c, c, 4, pad(1, 2)));  // back to H
  to_rgb = register_module("to_rgb", std::make_shared<nn::Conv2d>(c, image_channels, 1));
}

Tensor StarGanGenerator::operator()(const Tensor& x, const Tensor& style) {
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == image_channels && x.size(2) % 2 == 0 && x.size(3) % 2 == 0 &&
                  style.dim() == 2 && style.size(1) == style_dim && (style.size(0) == x.size(0) || style.size(0) == 1),
              "StarGanGenerator", "expected x [N, ", image_channels, ", H, W] with H, W even and style [N or 1, ",
              style_dim, "], got ", x.shape(), " and ", style.shape());
  Tensor h = (*down)(leaky_relu((*from_rgb)(x), kSlope));
  for (auto& b : encoder) h = (*b)(h);
  for (auto& b : decoder) h = (*b)(h, style);
  h = leaky_relu((*up)(h), kSlope);
  return (*to_rgb)(h);
}

Tensor StarGanGenerator::forward(const Tensor&) {
  throw Error("StarGanGenerator: needs a style: call generator(x, style)");
}

// ---- R1

Tensor r1_penalty(const Tensor& d_out, const Tensor& x_in) {
  LUMEN_CHECK(d_out.dim() == 1 && x_in.dim() >= 1 && x_in.size(0) == d_out.size(0) && x_in.requires_grad(),
              "r1_penalty", "expected logits [N] and the input [N, ...] they came from (requiring grad), got ",
              d_out.shape(), " and ", x_in.shape());
  const Tensor g = autograd::grad({d_out.sum()}, {x_in}, {}, {.create_graph = true})[0];
  return square(g).reshape({g.size(0), -1}).sum({1}).mean() * 0.5;
}

Tensor r1_penalty(StarGanDiscriminator& D, const Tensor& x, const Tensor& y) {
  Tensor x_in = x.detach().clone();
  x_in.requires_grad_();
  return r1_penalty(D(x_in, y), x_in);
}

// ---- trainer

StarGanModels::StarGanModels(const StarGanOptions& o) {
  generator = register_module("generator", std::make_shared<StarGanGenerator>(o));
  mapping = register_module("mapping",
                            std::make_shared<MappingNetwork>(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden));
  style_encoder = register_module("style_encoder", std::make_shared<StyleEncoderV2>(o));
  discriminator = register_module("discriminator", std::make_shared<StarGanDiscriminator>(o));
  generator_ema = register_module("generator_ema", std::make_shared<StarGanGenerator>(o));
  mapping_ema = register_module(
      "mapping_ema", std::make_shared<MappingNetwork>(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden));
  style_encoder_ema = register_module("style_encoder_ema", std::make_shared<StyleEncoderV2>(o));
  copy_weights(*generator_ema, *generator);
  copy_weights(*mapping_ema, *mapping);
  copy_weights(*style_encoder_ema, *style_encoder);
  for (auto* m : std::vector<nn::Module*>{generator_ema.get(), mapping_ema.get(), style_encoder_ema.get()})
    set_requires_grad(*m, false);
}

Tensor StarGanModels::forward(const Tensor&) {
  throw Error("StarGanModels: a container of networks, not callable: use generator, mapping, style_encoder or discriminator");
}

StarGanTrainer::StarGanTrainer(StarGanOptions opt)
    : options(opt),
      models((manual_seed(opt.seed), std::make_shared<StarGanModels>(opt))),
      opt_g(models->generator->parameters(), adam(opt, opt.lr)),
      opt_f(models->mapping->parameters(), adam(opt, opt.lr_mapping)),
      opt_e(models->style_encoder->parameters(), adam(opt, opt.lr)),
      opt_d(models->discriminator->parameters(), adam(opt, opt.lr)),
      sample_gen(opt.seed + 1) {
  LUMEN_CHECK(opt.num_classes >= 1 && opt.ema_beta >= 0 && opt.ema_beta <= 1 && opt.ds_decay_steps >= 0,
              "StarGanTrainer", "expected num_classes >= 1, ema_beta in [0, 1] and ds_decay_steps >= 0, got ",
              opt.num_classes, ", ", opt.ema_beta, " and ", opt.ds_decay_steps);
}

double StarGanTrainer::lambda_ds_at(std::int64_t step) const {
  if (options.ds_decay_steps <= 0) return options.lambda_ds;
  const double left = 1.0 - static_cast<double>(step) / static_cast<double>(options.ds_decay_steps);
  return options.lambda_ds * (left > 0 ? left : 0.0);
}

StarGanLosses StarGanTrainer::train_step(const Tensor& x, const Tensor& y) {
  const StarGanOptions& o = options;
  LUMEN_CHECK(x.dim() == 4 && x.size(0) >= 1 && x.size(1) == o.image_channels && x.size(2) == o.image_size &&
                  x.size(3) == o.image_size,
              "StarGanTrainer::train_step", "expected x [B, ", o.image_channels, ", ", o.image_size, ", ",
              o.image_size, "], got ", x.shape());
  check_labels("StarGanTrainer::train_step", y, x.size(0));
  StarGanGenerator& G = *models->generator;
  MappingNetwork& F = *models->mapping;
  StyleEncoderV2& E = *models->style_encoder;
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
    l.lambda_ds = lambda_ds_at(step_);
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

  ema_update(*models->generator_ema, G, o.ema_beta);
  ema_update(*models->mapping_ema, F, o.ema_beta);
  ema_update(*models->style_encoder_ema, E, o.ema_beta);
  ++step_;
  last_ = l;
  return l;
}

void StarGanTrainer::fit(const Tensor& images, const Tensor& labels,
                         const std::function<void(StarGanTrainer&)>& on_epoch_end) {
  LUMEN_CHECK(options.batch_size >= 1 && options.epochs >= 0, "StarGanTrainer::fit",
              "expected batch_size >= 1 and epochs >= 0, got ", options.batch_size, " and ", options.epochs);
  nn::DataLoader loader(images, labels, {.batch_size = options.batch_size, .shuffle = true, .seed = options.seed + 2});
  for (std::int64_t e = 0; e < epoch_; ++e) loader.start_epoch();  // replay the finished epochs' orders
  const std::int64_t steps_per_epoch = loader.size();
  while (epoch_ < options.epochs) {
    loader.start_epoch();
    detail::LossWindow<StarGanLosses> window;
    for (; step_in_epoch_ < steps_per_epoch; ++step_in_epoch_) {
      if (options.max_steps > 0 && step_ >= options.max_steps) return;
      const nn::Batch b = loader.batch(step_in_epoch_);
      window.add(train_step(b.x, b.y));  // step_ += 1
      if (options.log && window.due(options.log_every, step_in_epoch_ + 1 == steps_per_epoch)) {
        const StarGanLosses& sum = window.sum;
        const double k = static_cast<double>(window.steps);
        std::fprintf(options.log,
                     "epoch %lld/%lld step %lld/%lld  adv %.4f sty %.4f ds %.4f cyc %.4f  | D real %.4f fake %.4f "
                     "r1 %.4f  %.2f steps/s\n",
                     static_cast<long long>(epoch_ + 1), static_cast<long long>(options.epochs),
                     static_cast<long long>(step_in_epoch_ + 1), static_cast<long long>(steps_per_epoch),
                     sum.adversarial / k, sum.style / k, sum.diversity / k, sum.cycle / k, sum.d_real / k,
                     sum.d_fake / k, sum.r1 / k, window.steps_per_s());
        std::fflush(options.log);
        window.reset();
      }
    }
    ++epoch_;
    step_in_epoch_ = 0;
    if (on_epoch_end) on_epoch_end(*this);
  }
}

void StarGanTrainer::save_checkpoint(const std::string& path) const {
  nn::StateDict all = models->state_dict();
  const std::pair<const char*, const nn::Adam*> optims[] = {
      {"optim_g.", &opt_g}, {"optim_f.", &opt_f}, {"optim_e.", &opt_e}, {"optim_d.", &opt_d}};
  for (const auto& [prefix, o] : optims)
    for (auto& [k, t] : o->state_dict()) all.emplace_back(prefix + k, t);
  const auto s = [](auto v) { return std::to_string(v); };
  std::map<std::string, std::string> meta = {{"format", "lumen StarGAN v2 (gan/stargan.h)"},
                                             {"epoch", s(epoch_)},
                                             {"step", s(step_)},
                                             {"step_in_epoch", s(step_in_epoch_)},
                                             {"sample_seed", s(sample_gen.seed())},
                                             {"sample_offset", s(sample_gen.offset())},
                                             {"batch_size", s(options.batch_size)},
                                             {"seed", s(options.seed)}};
  StarGanOptions arch = options;
  const auto fields = arch_fields(arch);
  for (std::size_t i = 0; i < fields.size(); ++i) meta[kArchKeys[i]] = s(*fields[i]);
  nn::save_safetensors(path, all, meta);
}

void StarGanTrainer::load_checkpoint(const std::string& path) {
  const auto meta = nn::read_safetensors_metadata(path);
  StarGanOptions arch = architecture_of(meta, path), mine = options;
  const auto theirs = arch_fields(arch), ours = arch_fields(mine);
  for (std::size_t i = 0; i < theirs.size(); ++i)
    LUMEN_CHECK(*theirs[i] == *ours[i], "StarGanTrainer::load_checkpoint", "'", path, "' holds ", kArchKeys[i], " ",
                *theirs[i], " but this trainer has ", *ours[i]);
  const std::map<std::string, Tensor> all = nn::load_safetensors(path);
  models->load_state_dict(network_tensors(all), /*strict=*/true);
  opt_g.load_state_dict(with_prefix(all, "optim_g."));
  opt_f.load_state_dict(with_prefix(all, "optim_f."));
  opt_e.load_state_dict(with_prefix(all, "optim_e."));
  opt_d.load_state_dict(with_prefix(all, "optim_d."));
  epoch_ = meta_int(meta, "epoch", path);
  step_ = meta_int(meta, "step", path);
  step_in_epoch_ = meta_int(meta, "step_in_epoch", path);
  sample_gen.manual_seed(static_cast<std::uint64_t>(meta_int(meta, "sample_seed", path)));
  sample_gen.advance(static_cast<std::uint64_t>(meta_int(meta, "sample_offset", path)));
}

std::shared_ptr<StarGanModels> load_stargan_models(const std::string& path) {
  auto models = std::make_shared<StarGanModels>(architecture_of(nn::read_safetensors_metadata(path), path));
  models->load_state_dict(network_tensors(nn::load_safetensors(path)), /*strict=*/true);
  return models;
}

// ---- counterfactuals

Tensor counterfactual_v2(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x, std::int64_t target,
                         const Tensor& z) {
  LUMEN_CHECK(target >= 0 && target < mapping.num_classes, "counterfactual_v2", "expected a target in [0, ",
              mapping.num_classes, "), got ", target);
  LUMEN_CHECK(x.dim() == 4 && z.defined() && z.dim() == 2 && (z.size(0) == x.size(0) || z.size(0) == 1), "counterfactual_v2",
              "expected x [N, C, H, W] and z [N or 1, ", mapping.latent_dim, "], got ", x.shape(), " and ",
              z.defined() ? z.shape() : Shape{});
  autograd::NoGradGuard no_grad;
  const Tensor style = mapping(z, class_index(z.size(0), target));
  return clamp(generator(x, style), 0.0, 1.0);
}

Tensor counterfactual_v2(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x, std::int64_t target,
                         std::uint64_t seed) {
  LUMEN_CHECK(x.dim() == 4, "counterfactual_v2", "expected x [N, C, H, W], got ", x.shape());
  lumen::Generator g(seed);
  return counterfactual_v2(generator, mapping, x, target, randn({x.size(0), mapping.latent_dim}, options_of(x), &g));
}

Counterfactuals counterfactual_v2_candidates(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& x,
                                             std::int64_t target, nn::Module& classifier, std::int64_t max_candidates,
                                             std::uint64_t seed) {
  LUMEN_CHECK(max_candidates >= 1, "counterfactual_v2_candidates", "expected max_candidates >= 1, got ",
              max_candidates);
  auto make = [&](std::int64_t m) {
    return counterfactual_v2(generator, mapping, x, target, seed + static_cast<std::uint64_t>(m));
  };
  return select_candidates(max_candidates, make, classifier, target);
}

FlipReport evaluate_flips_v2(StarGanGenerator& generator, MappingNetwork& mapping, nn::Module& classifier,
                             const Tensor& images, const Tensor& labels, std::int64_t max_candidates,
                             std::uint64_t seed, std::int64_t batch) {
  return count_flips(images, labels, mapping.num_classes, batch, [&](const Tensor& x, std::int64_t t) {
    return counterfactual_v2_candidates(generator, mapping, x, t, classifier, max_candidates, seed);
  }, "evaluate_flips_v2");
}

Tensor counterfactual_grid_v2(StarGanGenerator& generator, MappingNetwork& mapping, const Tensor& sources,
                              const Tensor& z, std::int64_t scale) {
  LUMEN_CHECK(sources.dim() == 4 && sources.size(0) >= 1 && z.defined() && z.dim() == 2 && z.size(0) == 1,
              "counterfactual_grid_v2", "expected sources [N >= 1, C, H, W] and z [1, latent_dim], got ",
              sources.shape(), " and ", z.defined() ? z.shape() : Shape{});
  autograd::NoGradGuard no_grad;
  const std::int64_t k = mapping.num_classes, n = sources.size(0);
  std::vector<Tensor> columns{sources};
  for (std::int64_t c = 0; c < k; ++c) columns.push_back(counterfactual_v2(generator, mapping, sources, c, z));
  Tensor tiles = stack(columns, 1).reshape({n * (k + 1), sources.size(1), sources.size(2), sources.size(3)});
  return figures::upscale(figures::make_grid(tiles, k + 1, 2, 1.0), scale);
}

// ---- the entry point

std::int64_t steps_of(const StarGanTrainer& t) { return t.steps(); }  // for detail::run_epochs

StarGanRunSummary run_stargan_training(const StarGanRunOptions& opt) {
  namespace fs = std::filesystem;
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const nn::MnistSplit split = nn::split_mnist(nn::load_mnist((fs::path(opt.data_dir) / "mnist").string()));
  const nn::ColoredMnist train = nn::make_colored_mnist(split.train, opt.color_seed);
  Tensor images = train.images, labels = train.labels;
  if (opt.max_images > 0 && opt.max_images < train.size()) {
    images = images.narrow(0, 0, opt.max_images).contiguous();
    labels = labels.narrow(0, 0, opt.max_images).contiguous();
  }
  const std::int64_t k = opt.stargan.num_classes;
  LUMEN_CHECK(opt.sample_rows >= k, "run_stargan_training", "expected sample_rows >= ", k, " (one per class), got ",
              opt.sample_rows);
  const Prototypes per_class = select_prototypes(images, labels, k, opt.sample_rows / k);
  const Tensor sample_sources = cat(per_class.images, 0);
  lumen::Generator zg(opt.stargan.seed + 3);
  const Tensor sample_z = randn({1, opt.stargan.latent_dim}, {}, &zg);

  StarGanTrainer trainer(opt.stargan);
  return detail::run_epochs<StarGanTrainer, StarGanRunSummary>(
      trainer, opt.out_dir, opt.resume, opt.stargan.log, images, labels, [&](StarGanTrainer& t) {
        return counterfactual_grid_v2(*t.models->generator_ema, *t.models->mapping_ema, sample_sources, sample_z);
      });
}

}  // namespace lumen::gan
