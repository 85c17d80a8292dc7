#include "xai/class_visualisation.h"

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "xai/baselines.h"

namespace lumen::xai {

namespace {

constexpr const char* kOp = "class_model_visualisation";

void check_options(const Shape& image_shape, const ClassVisOptions& opt) {
  LUMEN_CHECK(image_shape.size() == 3 && image_shape[0] > 0 && image_shape[1] > 0 && image_shape[2] > 0, kOp,
              "expected image_shape {C, H, W} of positive sizes, got ", image_shape);
  const auto c = static_cast<std::size_t>(image_shape[0]);
  LUMEN_CHECK(opt.mean.size() == 1 || opt.mean.size() == c, kOp, "expected 1 or C = ", c, " mean values, got ",
              opt.mean.size());
  LUMEN_CHECK(opt.std.size() == 1 || opt.std.size() == c, kOp, "expected 1 or C = ", c, " std values, got ",
              opt.std.size());
  for (double m : opt.mean) LUMEN_CHECK(std::isfinite(m), kOp, "expected finite mean values, got ", m);
  for (double s : opt.std) LUMEN_CHECK(std::isfinite(s) && s > 0, kOp, "expected std values > 0, got ", s);
  LUMEN_CHECK(opt.steps >= 0, kOp, "expected steps >= 0, got ", opt.steps);
  LUMEN_CHECK(std::isfinite(opt.lr), kOp, "expected a finite lr, got ", opt.lr);
  LUMEN_CHECK(opt.blur_every >= 0, kOp, "expected blur_every >= 0 (0: never), got ", opt.blur_every);
  LUMEN_CHECK(opt.blur_every == 0 || (std::isfinite(opt.blur_sigma) && opt.blur_sigma > 0), kOp,
              "expected blur_sigma > 0, got ", opt.blur_sigma);
  LUMEN_CHECK(opt.quantise_levels == 0 || opt.quantise_levels >= 2, kOp,
              "expected quantise_levels 0 (off) or >= 2, got ", opt.quantise_levels);
  LUMEN_CHECK(std::isfinite(opt.l2_decay) && opt.l2_decay >= 0, kOp, "expected l2_decay >= 0, got ", opt.l2_decay);
  LUMEN_CHECK(std::isfinite(opt.total_variation) && opt.total_variation >= 0, kOp,
              "expected total_variation >= 0, got ", opt.total_variation);
  LUMEN_CHECK(opt.jitter >= 0, kOp, "expected jitter >= 0, got ", opt.jitter);
}

// mean or std as [1, C, 1, 1] (one value repeated over the channels).
Tensor per_channel(const std::vector<double>& v, std::int64_t c, const Tensor& like) {
  std::vector<double> values(static_cast<std::size_t>(c), v[0]);
  if (v.size() > 1) values = v;
  return tensor(values, {1, c, 1, 1}, options_of(like));
}

// Every value rounded to the nearest k/(levels − 1): what a uint8 round trip does for levels = 256.
Tensor quantise(const Tensor& raw, std::int64_t levels) {
  Tensor v = raw.cpu().to(DType::float64).contiguous().clone();
  const double top = static_cast<double>(levels - 1);
  double* p = v.data<double>();
  for (std::int64_t i = 0; i < v.numel(); ++i) p[i] = std::round(p[i] * top) / top;
  return v.to(raw.dtype()).to(raw.device());
}

// The projections after each step (and on the initial image, without the blur).
Tensor project(Tensor raw, const ClassVisOptions& opt, bool blur) {
  if (opt.clamp) raw = clamp(raw, 0.0, 1.0);
  if (blur) raw = gaussian_blur(raw, opt.blur_sigma);
  if (opt.quantise_levels > 0) raw = quantise(raw, opt.quantise_levels);
  return raw;
}

// torch.roll over H and W: out[.., i, j] = x[.., (i − dy) mod H, (j − dx) mod W]; differentiable.
Tensor roll_hw(const Tensor& x, std::int64_t dy, std::int64_t dx) {
  auto shifted = [&](std::int64_t n, std::int64_t d) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = (((i - d) % n) + n) % n;
    return tensor_from(idx, {}, x.device());
  };
  return index_select(index_select(x, 2, shifted(x.size(2), dy)), 3, shifted(x.size(3), dx));
}

std::vector<double> as_vector(const Tensor& scores) { return scores.to(DType::float64).to_vector<double>(); }

}  // namespace

Tensor total_variation(const Tensor& images) {
  LUMEN_CHECK(images.defined() && images.dim() == 4 && is_floating(images.dtype()), "total_variation",
              "expected floating images [N, C, H, W], got ", images.defined() ? images.str() : "undefined");
  const std::int64_t h = images.size(2), w = images.size(3);
  Tensor tv = zeros({images.size(0)}, options_of(images));
  if (h > 1) tv = tv + sum(square(narrow(images, 2, 1, h - 1) - narrow(images, 2, 0, h - 1)), {1, 2, 3});
  if (w > 1) tv = tv + sum(square(narrow(images, 3, 1, w - 1) - narrow(images, 3, 0, w - 1)), {1, 2, 3});
  return tv;
}

ClassVisResult class_model_visualisation(const ForwardFn& f, const Shape& image_shape, const Target& classes,
                                         const ClassVisOptions& opt) {
  return class_model_visualisation(f, image_shape, classes, opt, {});
}

ClassVisResult class_model_visualisation(const ForwardFn& f, const Shape& image_shape, const Target& classes,
                                         const ClassVisOptions& opt,
                                         const std::function<void(std::int64_t, const Tensor&)>& on_step) {
  check_options(image_shape, opt);
  Generator gen(opt.seed);
  Tensor raw;
  if (opt.init.defined()) {
    const Tensor& init = opt.init;
    LUMEN_CHECK(init.dim() == 4 && Shape(init.shape().begin() + 1, init.shape().end()) == image_shape &&
                    is_floating(init.dtype()),
                kOp, "expected floating init images [N, ", image_shape[0], ", ", image_shape[1], ", ", image_shape[2],
                "], got ", init.str());
    LUMEN_CHECK(classes.count() == 1 || classes.count() == init.size(0), kOp, "got ", classes.count(),
                " classes for ", init.size(0), " initial images; expected 1 or one per image");
    raw = init.detach();
  } else {
    LUMEN_CHECK(is_floating(opt.dtype), kOp, "expected a floating dtype, got ", dtype_name(opt.dtype));
    raw = rand({classes.count(), image_shape[0], image_shape[1], image_shape[2]}, {.dtype = opt.dtype}, &gen);
  }
  const std::int64_t n = raw.size(0);

  autograd::NoGradGuard no_grad;  // only the ascent direction below builds a graph
  const Tensor mean = per_channel(opt.mean, image_shape[0], raw), std = per_channel(opt.std, image_shape[0], raw);
  raw = project(raw, opt, false);
  Tensor x = (raw - mean) / std;

  ClassVisResult result;
  result.logits.reserve(static_cast<std::size_t>(opt.steps + 1));
  for (std::int64_t t = 1; t <= opt.steps; ++t) {
    Tensor ascent;
    if (n == 0) {
      ascent = zeros_like(x);  // nothing to optimise: the model is never called
      result.logits.emplace_back();
    } else {
      autograd::GradModeGuard on(true);
      Tensor xv = x.detach().requires_grad_();
      Tensor seen = xv;
      if (opt.jitter > 0) {
        const auto d = randint(-opt.jitter, opt.jitter + 1, {2}, kCPU, &gen).to_vector<std::int64_t>();
        seen = roll_hw(xv, d[0], d[1]);
      }
      Tensor scores = classes.select(f(seen), kOp);
      result.logits.push_back(as_vector(opt.jitter > 0 ? target_scores(f, x, classes) : scores.detach()));
      Tensor objective = scores.sum();
      if (opt.l2_decay > 0) objective = objective - opt.l2_decay * sum(square(xv));
      if (opt.total_variation > 0) objective = objective - opt.total_variation * total_variation(xv).sum();
      ascent = autograd::grad({objective}, {xv})[0];
    }
    raw = project((x + opt.lr * ascent) * std + mean, opt, opt.blur_every > 0 && t % opt.blur_every == 0);
    x = (raw - mean) / std;
    if (on_step) on_step(t, raw);
  }
  result.logits.push_back(n == 0 ? std::vector<double>{} : as_vector(target_scores(f, x, classes)));
  result.images = raw;
  return result;
}

}  // namespace lumen::xai
