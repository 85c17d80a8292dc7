#include "gan/networks.h"

#include "autograd/engine.h"
#include "autograd/ops.h"

namespace lumen::gan {

DenseMLP::DenseMLP(std::int64_t inputs, std::int64_t outputs) {
  LUMEN_CHECK(inputs > 0 && outputs > 0, "DenseMLP", "expected inputs and outputs > 0, got ", inputs, " and ", outputs);
  push_back("flatten", std::make_shared<nn::Flatten>());
  fc1 = push_back("fc1", std::make_shared<nn::Linear>(inputs, 256));
  push_back("relu1", std::make_shared<nn::ReLU>());
  fc2 = push_back("fc2", std::make_shared<nn::Linear>(256, 120));
  push_back("relu2", std::make_shared<nn::ReLU>());
  fc3 = push_back("fc3", std::make_shared<nn::Linear>(120, 84));
  push_back("relu3", std::make_shared<nn::ReLU>());
  fc4 = push_back("fc4", std::make_shared<nn::Linear>(84, outputs));
}

Generator::Generator(GeneratorOptions opt) : options(opt) {
  LUMEN_CHECK(opt.image_channels > 0 && opt.style_size > 0, "Generator",
              "expected image_channels and style_size > 0, got ", opt.image_channels, " and ", opt.style_size);
  unet = register_module("unet", std::make_shared<UNet>(UNetOptions{.in_channels = opt.image_channels + opt.style_size,
                                                                    .out_channels = opt.image_channels,
                                                                    .depth = opt.depth,
                                                                    .num_fmaps = opt.num_fmaps,
                                                                    .sigmoid = opt.sigmoid}));
}

Tensor concat_style(const Tensor& x, const Tensor& style) {
  LUMEN_CHECK(x.dim() == 4 && style.dim() == 2 && (style.size(0) == x.size(0) || style.size(0) == 1), "concat_style",
              "expected x [N, C, H, W] and style [N, S] or [1, S], got ", x.shape(), " and ", style.shape());
  const std::int64_t n = x.size(0), s = style.size(1);
  // expand is a view; cat materialises the planes once.
  Tensor planes = style.reshape({style.size(0), s, 1, 1}).expand({n, s, x.size(2), x.size(3)});
  return cat({x, planes}, 1);
}

Tensor Generator::operator()(const Tensor& x, const Tensor& style) {
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == options.image_channels && style.dim() == 2 &&
                  style.size(1) == options.style_size,
              "Generator", "expected x [N, ", options.image_channels, ", H, W] and style [N, ", options.style_size,
              "], got ", x.shape(), " and ", style.shape());
  return nn::Module::operator()(concat_style(x, style));
}

namespace {

// The (name, tensor) lists of dst and src must pair up one to one.
void check_pairs(const char* op, const nn::StateDict& dst, const nn::StateDict& src) {
  LUMEN_CHECK(dst.size() == src.size(), op, "the modules differ: ", dst.size(), " vs ", src.size(), " tensors");
  for (std::size_t i = 0; i < dst.size(); ++i)
    LUMEN_CHECK(dst[i].first == src[i].first && dst[i].second.shape() == src[i].second.shape(), op,
                "tensor ", i, " differs: '", dst[i].first, "' ", dst[i].second.shape(), " vs '", src[i].first, "' ",
                src[i].second.shape());
}

}  // namespace

void ema_update(nn::Module& ema_model, const nn::Module& model, double beta) {
  LUMEN_CHECK(beta >= 0 && beta <= 1, "ema_update", "expected beta in [0, 1], got ", beta);
  autograd::NoGradGuard no_grad;
  const nn::StateDict ema = ema_model.named_parameters(), cur = model.named_parameters();
  check_pairs("ema_update", ema, cur);
  for (std::size_t i = 0; i < ema.size(); ++i) {
    Tensor e = ema[i].second;  // a handle on the same storage: updated in place
    e.mul_(beta).add_(cur[i].second, 1.0 - beta);
  }
  const nn::StateDict ema_b = ema_model.named_buffers(), cur_b = model.named_buffers();
  check_pairs("ema_update", ema_b, cur_b);
  for (std::size_t i = 0; i < ema_b.size(); ++i) {
    Tensor e = ema_b[i].second;
    e.copy_(cur_b[i].second);
  }
}

void copy_weights(nn::Module& dst, const nn::Module& src) {
  autograd::NoGradGuard no_grad;
  const nn::StateDict d = dst.state_dict(), s = src.state_dict();
  check_pairs("copy_weights", d, s);
  for (std::size_t i = 0; i < d.size(); ++i) {
    Tensor t = d[i].second;
    t.copy_(s[i].second);
  }
}

void set_requires_grad(nn::Module& m, bool on) {
  for (Tensor p : m.parameters()) p.requires_grad_(on);
}

}  // namespace lumen::gan
