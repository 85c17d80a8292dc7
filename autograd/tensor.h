#pragma once
// Tensor: what users hold. A TensorBase (kernels/core/tensor_base.h: storage, shape, strides, offset,
// dtype; views share storage) plus autograd: requires_grad, the accumulated .grad(), and grad_fn, the
// graph node of the op that produced the tensor (see graph.h). That state lives in AutogradMeta, in
// the slot the ground floor's TensorImpl leaves for it, created only for tensors that take part in
// autograd. The methods here that compute (reshape, sum, to, ...) are differentiable ops: they record
// history (autograd/ops_*.cpp, autograd/tensor.cpp).
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/core/tensor_base.h"

namespace lumen {

class Node;

struct TensorOptions {
  DType dtype = DType::float32;
  Device device = kCPU;
  bool requires_grad = false;
};

// A tensor's autograd state (TensorImpl::autograd_meta).
struct AutogradMeta final : AutogradMetaInterface {
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;           // accumulated by backward() (leaves, or retain_grad)
  std::shared_ptr<Node> grad_fn;              // op that produced this tensor; null for leaves
  std::shared_ptr<Node> grad_accumulator;     // for leaves: the node where their gradient arrives
  bool retains_grad = false;                  // non-leaf asked to keep .grad()
};

using GradHook = std::function<class Tensor(const class Tensor&)>;
using PostAccumulateGradHook = std::function<void(const class Tensor& leaf)>;

class Tensor : public TensorBase {
 public:
  Tensor() = default;  // undefined: no storage, used for "no gradient"
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : TensorBase(std::move(impl)) {}
  // A kernel's result (or any TensorBase) is a Tensor with no history: same impl, nothing copied.
  Tensor(TensorBase base) : TensorBase(std::move(base)) {}

  // --- data access to host memory (copies from any device, converts the dtype)
  double item() const;  // single-element tensor on any device
  template <class T> std::vector<T> to_vector() const;  // row-major

  // --- autograd
  bool requires_grad() const {
    const AutogradMeta* m = autograd_meta();
    return m && m->requires_grad;
  }
  Tensor& requires_grad_(bool on = true);  // leaves only
  bool is_leaf() const { return grad_fn() == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const;
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  void retain_grad() const;  // keep .grad() on a non-leaf after backward()
  // Accumulates d(this)/d(leaf) * grad into every leaf's .grad(). grad may be omitted for a scalar.
  void backward(const Tensor& grad = {}, bool retain_graph = false, bool create_graph = false) const;
  // Calls hook with the gradient flowing into this tensor; a defined return value replaces it.
  int register_hook(GradHook hook) const;
  void remove_hook(int handle) const;
  // Leaves only: calls hook(leaf) each time backward() has added a gradient into leaf.grad(), so the
  // hook sees the accumulated sum (data-parallel training starts its all-reduce here). autograd::grad
  // touches no .grad() and calls none. remove_hook(handle) removes it.
  int register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const;
  Tensor detach() const;  // same storage, no history

  // --- conversion and copies (differentiable)
  Tensor to(Device d) const;
  Tensor to(DType t) const;
  Tensor cpu() const { return to(kCPU); }
  Tensor contiguous() const;
  Tensor clone() const;

  // --- in-place, outside autograd (initialisers, optimizers, .grad accumulation). Refused on a
  // tensor that requires grad while grad mode is on, as in-place changes would corrupt its graph.
  // Each bumps the version counter (TensorBase::version), so a backward that needs the old values fails.
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double s);

  // The autograd state, or null when the tensor has none (no grad, no history).
  AutogradMeta* autograd_meta() const { return static_cast<AutogradMeta*>(checked().autograd_meta.get()); }
  AutogradMeta& mutable_autograd_meta() const;  // created on first use

  // --- method forms of common ops (defined in ops_*.cpp beside the ops; see ops.h for the rest)
  Tensor reshape(const Shape& s) const;
  Tensor view(const Shape& s) const;
  Tensor permute(const Shape& dims) const;
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  Tensor t() const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor expand(const Shape& s) const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor flatten(std::int64_t start = 0, std::int64_t end = -1) const;
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor pow(double p) const;
  Tensor abs() const;
  Tensor sqrt() const;
  Tensor matmul(const Tensor& other) const;
  Tensor operator-() const;
  Tensor operator[](std::int64_t i) const { return select(0, i); }
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// --- factories
Tensor empty(const Shape& shape, TensorOptions opt = {});
Tensor zeros(const Shape& shape, TensorOptions opt = {});
Tensor ones(const Shape& shape, TensorOptions opt = {});
Tensor full(const Shape& shape, double value, TensorOptions opt = {});
Tensor scalar_tensor(double value, TensorOptions opt = {});
// Row-major values; shape defaults to 1-D of values.size(). Checks that the counts agree.
Tensor tensor(const std::vector<double>& values, const Shape& shape = {}, TensorOptions opt = {});
Tensor tensor_from(const std::vector<std::int64_t>& values, const Shape& shape = {}, Device device = kCPU);
Tensor arange(std::int64_t n, TensorOptions opt = {});
Tensor linspace(double start, double end, std::int64_t steps, TensorOptions opt = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);

// Same dtype and device as `like`.
TensorOptions options_of(const Tensor& like);

}  // namespace lumen
