#include "gan/stargan_networks.h"

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "gan/networks.h"

namespace lumen::gan {

namespace {

constexpr double kSlope = 0.2;  // LeakyReLU slope, as the paper
const double kInvSqrt2 = 1.0 / std::sqrt(2.0);

nn::ConvOptions pad(std::int64_t p, std::int64_t stride = 1) { return {.stride = stride, .padding = p}; }

}  // namespace

void check_class_indices(const char* op, const Tensor& y, std::int64_t n) {
  LUMEN_CHECK(y.defined() && y.dim() == 1 && y.size(0) == n && y.dtype() == DType::int64, op,
              "expected int64 class indices [", n, "], got ",
              y.defined() ? y.shape() : Shape{}, y.defined() ? std::string(" (") + dtype_name(y.dtype()) + ")" : " (undefined)");
}

Tensor pick_class(const Tensor& all, const Tensor& y) {
  LUMEN_CHECK(all.dim() >= 2, "pick_class", "expected per-class outputs [N, K, ...], got ", all.shape());
  const std::int64_t n = all.size(0);
  check_class_indices("pick_class", y, n);
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

StarGanStyleEncoder::StarGanStyleEncoder(const StarGanOptions& opt) : style_dim(opt.style_dim), num_classes(opt.num_classes) {
  LUMEN_CHECK(style_dim > 0 && num_classes > 0, "StarGanStyleEncoder", "expected style_dim and num_classes > 0, got ",
              style_dim, " and ", num_classes);
  trunk = register_module("trunk", std::make_shared<ConvTrunk>(opt.image_channels, opt.channels, opt.image_size));
  auto bank = register_module("heads", std::make_shared<nn::Sequential>());
  for (std::int64_t k = 0; k < num_classes; ++k)
    heads.push_back(bank->push_back(std::make_shared<nn::Linear>(trunk->features, style_dim)));
}

Tensor StarGanStyleEncoder::forward(const Tensor& x) {
  const Tensor h = (*trunk)(x);
  std::vector<Tensor> out;
  for (auto& head : heads) out.push_back((*head)(h));
  return stack(out, 1);
}

Tensor StarGanStyleEncoder::operator()(const Tensor& x, const Tensor& y) { return pick_class(nn::Module::operator()(x), y); }

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

// ---- every network, with the EMA copies

StarGanModels::StarGanModels(const StarGanOptions& o) {
  generator = register_module("generator", std::make_shared<StarGanGenerator>(o));
  mapping = register_module("mapping",
                            std::make_shared<MappingNetwork>(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden));
  style_encoder = register_module("style_encoder", std::make_shared<StarGanStyleEncoder>(o));
  discriminator = register_module("discriminator", std::make_shared<StarGanDiscriminator>(o));
  generator_ema = register_module("generator_ema", std::make_shared<StarGanGenerator>(o));
  mapping_ema = register_module(
      "mapping_ema", std::make_shared<MappingNetwork>(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden));
  style_encoder_ema = register_module("style_encoder_ema", std::make_shared<StarGanStyleEncoder>(o));
  copy_weights(*generator_ema, *generator);
  copy_weights(*mapping_ema, *mapping);
  copy_weights(*style_encoder_ema, *style_encoder);
  for (auto* m : std::vector<nn::Module*>{generator_ema.get(), mapping_ema.get(), style_encoder_ema.get()})
    set_requires_grad(*m, false);
}

Tensor StarGanModels::forward(const Tensor&) {
  throw Error("StarGanModels: a container of networks, not callable: use generator, mapping, style_encoder or discriminator");
}

}  // namespace lumen::gan
