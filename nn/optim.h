#pragma once
// Optimizers and learning-rate schedules, as torch.optim with PyTorch's exact update rules:
//
//   nn::Adam opt(model.parameters(), {.lr = 1e-3});
//   for (...) { opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step(); }
//
// step() updates each parameter that has a gradient, in place, with one fused pass over its data (no
// temporaries per parameter: the update is the hot loop of training). Parameters without a gradient
// are skipped. Kernels exist for CPU float32/float64 parameters.
#include <cstdint>
#include <limits>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"  // StateDict

namespace lumen::nn {

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();  // every parameter's .grad() becomes undefined (PyTorch's set_to_none)
  double lr() const { return lr_; }  // the current lr (schedules change it; options.lr is the initial one)
  void set_lr(double lr) { lr_ = lr; }
  const std::vector<Tensor>& params() const { return params_; }

 protected:
  std::vector<Tensor> params_;
  double lr_;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // L2 penalty: adds weight_decay · p to the gradient
  bool nesterov = false;
  bool maximize = false;
};

// d = g + wd·p;  with momentum: b = d at the first step, then b ← μ·b + (1 - dampening)·d, and
// d = d + μ·b (nesterov) or d = b;  p ← p - lr·d.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions opt);
  void step() override;
  SGDOptions options;

 private:
  std::vector<Tensor> momentum_buffers_;  // undefined until a parameter's first step
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled decay of p
  bool amsgrad = false;       // normalise by the largest second moment seen so far
  bool maximize = false;
};
struct AdamWOptions {  // the same fields; only weight_decay's default differs, as in PyTorch
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
};

// t ← t + 1;  g = g + wd·p (Adam) or p ← p·(1 - lr·wd) (AdamW);
// m ← β1·m + (1 - β1)·g;  v ← β2·v + (1 - β2)·g²;
// p ← p - lr/(1 - β1^t) · m / (√v / √(1 - β2^t) + eps)        (v replaced by max(v) with amsgrad)
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions opt = {});
  void step() override;
  AdamOptions options;

  // The state that makes a resumed run take exactly the steps an uninterrupted one would, named as
  // PyTorch's optimizer.state_dict() flattened: "lr" (float64 scalar, the current lr) and, for each
  // parameter i that has taken a step, "state.<i>.step" (int64 scalar), "state.<i>.exp_avg",
  // "state.<i>.exp_avg_sq" and, with amsgrad, "state.<i>.max_exp_avg_sq" (copies, shaped as the
  // parameter). Safe to store with nn::save_safetensors under a prefix.
  StateDict state_dict() const;
  // Restores what state_dict() returned (copied into fresh tensors on the parameters' device/dtype).
  // Parameters with no "state.<i>" entries start afresh. Throws lumen::Error on an unknown name, a
  // parameter index out of range, a shape that differs from the parameter's, or an incomplete entry.
  void load_state_dict(const StateDict& state);

 protected:
  Adam(std::vector<Tensor> params, AdamOptions opt, bool decoupled_weight_decay);

 private:
  bool decoupled_;
  std::vector<std::int64_t> steps_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_, max_exp_avg_sq_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions opt = {});
};

// ---- learning-rate schedules: call step() once per epoch, after the optimizer's steps.
class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& opt) : opt_(opt), base_lr_(opt.lr()) {}
  virtual ~LRScheduler() = default;
  void step();  // epoch += 1, then sets the optimizer's lr
  double last_lr() const { return opt_.lr(); }
  std::int64_t epoch() const { return epoch_; }
  virtual double lr_at(std::int64_t epoch) const = 0;

 protected:
  Optimizer& opt_;
  double base_lr_;  // the optimizer's lr when the schedule was made
  std::int64_t epoch_ = 0;
};

// lr = base · γ^⌊epoch / step_size⌋
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, std::int64_t step_size, double gamma = 0.1);
  double lr_at(std::int64_t epoch) const override;
  std::int64_t step_size;
  double gamma;
};

// lr = η_min + (base - η_min) · (1 + cos(π · epoch / T_max)) / 2   (which climbs back after T_max, as PyTorch)
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, std::int64_t T_max, double eta_min = 0.0);
  double lr_at(std::int64_t epoch) const override;
  std::int64_t T_max;
  double eta_min;
};

// Lowers the lr when a metric has stopped improving, as torch.optim.lr_scheduler.ReduceLROnPlateau:
// call step(metric) once per epoch. An epoch improves when the metric beats the best so far by the
// threshold (relative: best·(1 ∓ threshold), or absolute: best ∓ threshold; minus for mode min).
// After more than `patience` epochs without improvement, lr ← max(lr·factor, min_lr) (skipped when
// that changes it by no more than eps), then `cooldown` epochs in which bad epochs are not counted.
struct ReduceLROnPlateauOptions {
  bool mode_max = false;  // false: lower is better (a loss); true: higher is better (an accuracy)
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;
  bool threshold_rel = true;
  std::int64_t cooldown = 0;
  double min_lr = 0;
  double eps = 1e-8;
};

class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& opt, ReduceLROnPlateauOptions o = {});
  void step(double metric);
  double last_lr() const { return opt_.lr(); }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  double best() const { return best_; }
  ReduceLROnPlateauOptions options;

 private:
  bool is_better(double metric) const;
  Optimizer& opt_;
  double best_;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0;
};

// ---- gradient clipping (parameters without a gradient are skipped)

// Scales all gradients together so that their joint norm is at most max_norm; returns the norm before
// clipping. norm_type may be any p > 0, or infinity for the largest |g|.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace lumen::nn
