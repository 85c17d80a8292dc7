#pragma once
// Optimizer updates as kernels: each is one fused pass over a parameter (and its state), in the same
// order of float operations as PyTorch's single-tensor implementation, so trajectories agree to
// rounding. nn/optim.cpp keeps the bookkeeping (state, step counts, checks); the arithmetic is here,
// behind the dispatcher, so a CUDA version is a new kernels/cuda/ file, not a change to nn/.
// All tensors are contiguous, of one floating dtype, on one device.
#include <cstdint>
#include <initializer_list>

#include "kernels/core/tensor_base.h"
#include "kernels/dispatch.h"

namespace lumen::kernels {

struct SgdStep {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
  bool first_step;  // the momentum buffer is (re)initialised to d instead of blended
};

struct AdamStep {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW: weight decay scales p; Adam: added to the gradient (L2)
  bool maximize;
  std::int64_t step;  // step count of this parameter, from 1 (bias corrections)
};

// The updates change p and the state in place: their version counters say so (kernels/core/storage.h),
// so a graph that saved a parameter before the step refuses to backward with the new values.
inline void bump_versions(std::initializer_list<TensorBase> written) {
  for (const TensorBase& t : written)
    if (t.defined()) t.bump_version();
}

namespace cpu {
void sgd_update(const TensorBase& p, const TensorBase& g, const TensorBase& momentum_buffer, const SgdStep& s);
void adam_update(const TensorBase& p, const TensorBase& g, const TensorBase& exp_avg, const TensorBase& exp_avg_sq,
                 const TensorBase& max_exp_avg_sq, const AdamStep& s);
}  // namespace cpu

// d = ±g + wd·p;  with a momentum buffer b (undefined: no momentum): b = d at the first step, then
// b ← μ·b + (1 - dampening)·d, and d = d + μ·b (nesterov) or d = b;  p ← p - lr·d.
inline void sgd_update(const TensorBase& p, const TensorBase& g, const TensorBase& momentum_buffer, const SgdStep& s) {
  bump_versions({p, momentum_buffer});
  LUMEN_DISPATCH("SGD", p.device(), sgd_update, p, g, momentum_buffer, s);
}
// m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;  p ← p - lr/(1-β1ᵗ) · m / (√v̂/√(1-β2ᵗ) + ε), with v̂ = v,
// or the running max of v (amsgrad: max_exp_avg_sq defined).
inline void adam_update(const TensorBase& p, const TensorBase& g, const TensorBase& exp_avg,
                        const TensorBase& exp_avg_sq, const TensorBase& max_exp_avg_sq, const AdamStep& s) {
  bump_versions({p, exp_avg, exp_avg_sq, max_exp_avg_sq});
  LUMEN_DISPATCH(s.decoupled ? "AdamW" : "Adam", p.device(), adam_update, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, s);
}

}  // namespace lumen::kernels
