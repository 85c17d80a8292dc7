// The optimizer updates of kernels/optim.h on the CPU: one parallel pass per parameter.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/loops.h"
#include "kernels/optim.h"

namespace lumen::kernels::cpu {

namespace {

template <class T> void sgd_typed(const TensorBase& p, const TensorBase& g, const TensorBase& buf, const SgdStep& s) {
  T* pp = p.data<T>();
  const T* pg = g.data<T>();
  T* pb = buf.defined() ? buf.data<T>() : nullptr;
  const T sign = s.maximize ? T(-1) : T(1), wd = T(s.weight_decay), mu = T(s.momentum), keep = T(1 - s.dampening),
          neg_lr = T(-s.lr);
  const bool nesterov = s.nesterov, first_step = s.first_step;
  parallel_for(p.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      T d = sign * pg[i];
      if (wd != T(0)) d = d + wd * pp[i];
      if (pb) {
        pb[i] = first_step ? d : pb[i] * mu + keep * d;
        d = nesterov ? d + mu * pb[i] : pb[i];
      }
      pp[i] = pp[i] + neg_lr * d;
    }
  });
}

template <class T>
void adam_typed(const TensorBase& p, const TensorBase& g, const TensorBase& m, const TensorBase& v,
                const TensorBase& vmax, const AdamStep& s) {
  T* pp = p.data<T>();
  const T* pg = g.data<T>();
  T* pm = m.data<T>();
  T* pv = v.data<T>();
  T* pvmax = vmax.defined() ? vmax.data<T>() : nullptr;
  const double t = static_cast<double>(s.step);
  const T sign = s.maximize ? T(-1) : T(1), b1 = T(s.beta1), b2 = T(s.beta2), one_b1 = T(1 - s.beta1),
          one_b2 = T(1 - s.beta2), eps = T(s.eps);
  const T l2 = s.decoupled ? T(0) : T(s.weight_decay);
  const T decay = T(1 - s.lr * (s.decoupled ? s.weight_decay : 0.0));
  const T neg_step_size = T(-(s.lr / (1 - std::pow(s.beta1, t))));  // lr / bias correction 1
  const T bc2_sqrt = T(std::sqrt(1 - std::pow(s.beta2, t)));        // √(bias correction 2)
  // Copied into locals with restrict pointers: through [&] every constant is a reference that a
  // store to p, m or v might alias, so the compiler reloads them each iteration and cannot vectorize.
  const bool amsgrad = pvmax != nullptr;
  parallel_for(p.numel(), kParallelGrain, [=](std::int64_t b, std::int64_t e) {
    T* __restrict P = pp;
    const T* __restrict G = pg;
    T* __restrict M = pm;
    T* __restrict V = pv;
    T* __restrict VM = pvmax;
    const T sg = sign, b1_ = b1, b2_ = b2, ob1 = one_b1, ob2 = one_b2, ep = eps, l2_ = l2, dc = decay,
            nss = neg_step_size, bc2 = bc2_sqrt;
    for (std::int64_t i = b; i < e; ++i) {
      T gi = sg * G[i];
      if (l2_ != T(0)) gi = gi + l2_ * P[i];
      if (dc != T(1)) P[i] = P[i] * dc;
      M[i] = M[i] * b1_ + ob1 * gi;
      V[i] = V[i] * b2_ + ob2 * gi * gi;
      T second = V[i];
      if (amsgrad) second = VM[i] = std::max(VM[i], V[i]);
      const T denom = std::sqrt(second) / bc2 + ep;
      P[i] = P[i] + nss * (M[i] / denom);
    }
  });
}

}  // namespace

void sgd_update(const TensorBase& p, const TensorBase& g, const TensorBase& momentum_buffer, const SgdStep& s) {
  visit_floating(p.dtype(), "SGD", [&]<class T>() { sgd_typed<T>(p, g, momentum_buffer, s); });
}

void adam_update(const TensorBase& p, const TensorBase& g, const TensorBase& exp_avg, const TensorBase& exp_avg_sq,
                 const TensorBase& max_exp_avg_sq, const AdamStep& s) {
  visit_floating(p.dtype(), s.decoupled ? "AdamW" : "Adam",
                 [&]<class T>() { adam_typed<T>(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, s); });
}

}  // namespace lumen::kernels::cpu
