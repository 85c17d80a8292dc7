// Optimizers: the bookkeeping (state created at a parameter's first step, step counts, checks,
// state dicts). The update arithmetic is a fused kernel per parameter (kernels/optim.h), dispatched
// on the parameter's device like every other kernel.
#include "nn/optim.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "kernels/optim.h"

namespace lumen::nn {

namespace {

// The gradient of p in the form the update kernels read: same dtype, contiguous.
Tensor update_grad(const char* who, const Tensor& p) {
  Tensor g = p.grad();
  if (!g.defined()) return g;
  LUMEN_CHECK(p.is_contiguous(), who, "expected a contiguous parameter, got ", p.str());
  LUMEN_CHECK(g.dtype() == p.dtype(), who, "gradient dtype ", dtype_name(g.dtype()), " differs from the parameter's ",
              dtype_name(p.dtype()));
  return g.is_contiguous() ? g : g.contiguous();
}

}  // namespace

// ---- Optimizer

Optimizer::Optimizer(std::vector<Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
  LUMEN_CHECK(lr >= 0, "Optimizer", "expected lr >= 0, got ", lr);
  std::set<const TensorImpl*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    LUMEN_CHECK(p.defined() && is_floating(p.dtype()), "Optimizer", "parameter ", i, " is not a defined floating tensor");
    LUMEN_CHECK(p.is_leaf(), "Optimizer", "parameter ", i, " is not a leaf tensor (", p.str(), ")");
    LUMEN_CHECK(seen.insert(p.impl()).second, "Optimizer", "parameter ", i,
                " appears twice in the list: it would be updated twice per step");
  }
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.set_grad(Tensor());
}

// ---- SGD

SGD::SGD(std::vector<Tensor> params, SGDOptions opt)
    : Optimizer(std::move(params), opt.lr), options(opt), momentum_buffers_(params_.size()) {
  LUMEN_CHECK(opt.momentum >= 0 && opt.weight_decay >= 0, "SGD", "expected momentum >= 0 and weight_decay >= 0");
  LUMEN_CHECK(!opt.nesterov || (opt.momentum > 0 && opt.dampening == 0), "SGD",
              "nesterov momentum requires momentum > 0 and dampening = 0");
}

void SGD::step() {
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    Tensor g = update_grad("SGD", p);
    if (!g.defined()) continue;
    Tensor& buf = momentum_buffers_[i];
    const bool first = options.momentum != 0 && !buf.defined();
    if (first) buf = empty_like(p);
    kernels::sgd_update(p, g, buf, {lr_, options.momentum, options.dampening, options.weight_decay, options.nesterov,
                                    options.maximize, first});
  }
}

// ---- Adam, AdamW

Adam::Adam(std::vector<Tensor> params, AdamOptions opt) : Adam(std::move(params), opt, false) {}

Adam::Adam(std::vector<Tensor> params, AdamOptions opt, bool decoupled)
    : Optimizer(std::move(params), opt.lr),
      options(opt),
      decoupled_(decoupled),
      steps_(params_.size(), 0),
      exp_avg_(params_.size()),
      exp_avg_sq_(params_.size()),
      max_exp_avg_sq_(params_.size()) {
  LUMEN_CHECK(opt.beta1 >= 0 && opt.beta1 < 1 && opt.beta2 >= 0 && opt.beta2 < 1, decoupled ? "AdamW" : "Adam",
              "expected betas in [0, 1), got (", opt.beta1, ", ", opt.beta2, ")");
  LUMEN_CHECK(opt.eps >= 0 && opt.weight_decay >= 0, decoupled ? "AdamW" : "Adam",
              "expected eps >= 0 and weight_decay >= 0");
}

void Adam::step() {
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    Tensor g = update_grad(decoupled_ ? "AdamW" : "Adam", p);
    if (!g.defined()) continue;
    if (!exp_avg_[i].defined()) {  // state is created at a parameter's first step, as PyTorch
      exp_avg_[i] = zeros_like(p);
      exp_avg_sq_[i] = zeros_like(p);
      if (options.amsgrad) max_exp_avg_sq_[i] = zeros_like(p);
    }
    kernels::adam_update(p, g, exp_avg_[i], exp_avg_sq_[i], max_exp_avg_sq_[i],
                         {lr_, options.beta1, options.beta2, options.eps, options.weight_decay, decoupled_,
                          options.maximize, ++steps_[i]});
  }
}

StateDict Adam::state_dict() const {
  StateDict out;
  out.emplace_back("lr", scalar_tensor(lr_, {.dtype = DType::float64}));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!exp_avg_[i].defined()) continue;  // no step yet: nothing to save
    const std::string k = "state." + std::to_string(i) + ".";
    out.emplace_back(k + "step", tensor_from({steps_[i]}, {}));
    out.emplace_back(k + "exp_avg", exp_avg_[i].clone());
    out.emplace_back(k + "exp_avg_sq", exp_avg_sq_[i].clone());
    if (max_exp_avg_sq_[i].defined()) out.emplace_back(k + "max_exp_avg_sq", max_exp_avg_sq_[i].clone());
  }
  return out;
}

void Adam::load_state_dict(const StateDict& state) {
  const char* op = decoupled_ ? "AdamW::load_state_dict" : "Adam::load_state_dict";
  autograd::NoGradGuard no_grad;
  const std::size_t n = params_.size();
  std::vector<std::int64_t> steps(n, 0);
  std::vector<Tensor> m(n), v(n), vmax(n);
  std::vector<bool> has_step(n, false);
  double lr = lr_;
  for (const auto& [name, t] : state) {
    LUMEN_CHECK(t.defined(), op, "entry '", name, "' is an undefined tensor");
    if (name == "lr") {
      LUMEN_CHECK(t.numel() == 1, op, "'lr' must hold one value, got shape ", t.shape());
      lr = t.item();
      continue;
    }
    // "state.<i>.<field>"
    const std::size_t dot = name.find('.', 6);
    LUMEN_CHECK(name.rfind("state.", 0) == 0 && dot != std::string::npos && dot > 6, op, "unexpected entry '", name,
                "': expected 'lr' or 'state.<i>.<step|exp_avg|exp_avg_sq|max_exp_avg_sq>'");
    std::size_t i = 0;
    try {
      i = std::stoul(name.substr(6, dot - 6));
    } catch (const std::exception&) {
      LUMEN_CHECK(false, op, "entry '", name, "': '", name.substr(6, dot - 6), "' is not a parameter index");
    }
    LUMEN_CHECK(i < n, op, "entry '", name, "' names parameter ", i, " but the optimizer has ", n, " parameters");
    const std::string field = name.substr(dot + 1);
    const Tensor& p = params_[i];
    if (field == "step") {
      LUMEN_CHECK(t.numel() == 1, op, "'", name, "' must hold one value, got shape ", t.shape());
      steps[i] = static_cast<std::int64_t>(t.item());
      has_step[i] = true;
      continue;
    }
    Tensor* slot = field == "exp_avg" ? &m[i] : field == "exp_avg_sq" ? &v[i] : field == "max_exp_avg_sq" ? &vmax[i] : nullptr;
    LUMEN_CHECK(slot != nullptr, op, "unexpected entry '", name,
                "': expected a field step, exp_avg, exp_avg_sq or max_exp_avg_sq");
    LUMEN_CHECK(t.shape() == p.shape(), op, "'", name, "' has shape ", t.shape(), " but parameter ", i, " has shape ",
                p.shape());
    *slot = empty_like(p);
    slot->copy_(t.to(p.dtype()).to(p.device()));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const bool any = has_step[i] || m[i].defined() || v[i].defined() || vmax[i].defined();
    if (!any) continue;
    LUMEN_CHECK(has_step[i] && m[i].defined() && v[i].defined(), op, "parameter ", i,
                " has an incomplete state: expected step, exp_avg and exp_avg_sq");
    LUMEN_CHECK(vmax[i].defined() == options.amsgrad, op, "parameter ", i,
                options.amsgrad ? " lacks max_exp_avg_sq, which amsgrad needs" : " has max_exp_avg_sq but amsgrad is off");
  }
  steps_ = std::move(steps);
  exp_avg_ = std::move(m);
  exp_avg_sq_ = std::move(v);
  max_exp_avg_sq_ = std::move(vmax);
  lr_ = lr;
}

static AdamOptions as_adam(const AdamWOptions& o) {
  return {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad, o.maximize};
}
AdamW::AdamW(std::vector<Tensor> params, AdamWOptions opt) : Adam(std::move(params), as_adam(opt), true) {}

// ---- schedules

void LRScheduler::step() {
  ++epoch_;
  opt_.set_lr(lr_at(epoch_));
}

StepLR::StepLR(Optimizer& opt, std::int64_t step_size_, double gamma_) : LRScheduler(opt), step_size(step_size_), gamma(gamma_) {
  LUMEN_CHECK(step_size > 0, "StepLR", "expected step_size > 0, got ", step_size);
}
double StepLR::lr_at(std::int64_t epoch) const {
  return base_lr_ * std::pow(gamma, static_cast<double>(epoch / step_size));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, std::int64_t T_max_, double eta_min_)
    : LRScheduler(opt), T_max(T_max_), eta_min(eta_min_) {
  LUMEN_CHECK(T_max > 0, "CosineAnnealingLR", "expected T_max > 0, got ", T_max);
}
double CosineAnnealingLR::lr_at(std::int64_t epoch) const {
  return eta_min + (base_lr_ - eta_min) * (1 + std::cos(M_PI * static_cast<double>(epoch) / static_cast<double>(T_max))) / 2;
}

// ---- clipping

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  LUMEN_CHECK(norm_type > 0, "clip_grad_norm_", "expected norm_type > 0, got ", norm_type);
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  // Per-tensor norms (in the gradients' dtype, as PyTorch), then the norm of those norms.
  const bool inf = std::isinf(norm_type);
  double total = 0;
  for (const Tensor& g : grads) {
    if (inf) total = std::max(total, amax(abs(g)).item());
    else if (norm_type == 2) total += std::pow(sqrt(sum(square(g))).item(), 2.0);
    else total += std::pow(pow(sum(pow(abs(g), norm_type)), 1.0 / norm_type).item(), norm_type);
  }
  if (!inf) total = std::pow(total, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (Tensor& g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  LUMEN_CHECK(clip_value >= 0, "clip_grad_value_", "expected clip_value >= 0, got ", clip_value);
  autograd::NoGradGuard no_grad;
  for (const Tensor& p : params)
    if (Tensor g = p.grad(); g.defined()) g.copy_(clamp(g, -clip_value, clip_value));
}

// ---- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, ReduceLROnPlateauOptions o)
    : options(o), opt_(opt), best_(o.mode_max ? -std::numeric_limits<double>::infinity()
                                              : std::numeric_limits<double>::infinity()) {
  LUMEN_CHECK(o.factor < 1.0 && o.factor >= 0.0, "ReduceLROnPlateau", "factor must be in [0, 1), got ", o.factor);
  LUMEN_CHECK(o.patience >= 0 && o.cooldown >= 0, "ReduceLROnPlateau", "patience and cooldown must be >= 0, got ",
              o.patience, " and ", o.cooldown);
  LUMEN_CHECK(o.threshold >= 0 && o.min_lr >= 0 && o.eps >= 0, "ReduceLROnPlateau",
              "threshold, min_lr and eps must be >= 0, got ", o.threshold, ", ", o.min_lr, ", ", o.eps);
}

bool ReduceLROnPlateau::is_better(double a) const {
  const double t = options.threshold;
  if (options.mode_max) return options.threshold_rel ? a > best_ * (1.0 + t) : a > best_ + t;
  return options.threshold_rel ? a < best_ * (1.0 - t) : a < best_ - t;
}

void ReduceLROnPlateau::step(double metric) {
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {  // bad epochs right after a reduction do not count
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > options.patience) {
    const double old_lr = opt_.lr(), new_lr = std::max(old_lr * options.factor, options.min_lr);
    if (old_lr - new_lr > options.eps) opt_.set_lr(new_lr);
    cooldown_counter_ = options.cooldown;
    num_bad_epochs_ = 0;
  }
}

}  // namespace lumen::nn
