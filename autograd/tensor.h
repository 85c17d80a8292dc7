#pragma once
// Tensor: a cheap shared handle (one shared_ptr) over TensorImpl, which holds a Storage plus the
// shape, strides (in elements) and offset that say how to read it. Copying a Tensor copies the handle;
// views share the Storage. Autograd state lives here too: requires_grad, the accumulated .grad(), and
// grad_fn, the graph node of the op that produced the tensor (see graph.h).
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "autograd/device.h"
#include "autograd/dtype.h"
#include "autograd/error.h"
#include "autograd/storage.h"

namespace lumen {

using Shape = std::vector<std::int64_t>;
std::string shape_str(const Shape& s);
std::int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

class Node;

struct TensorOptions {
  DType dtype = DType::float32;
  Device device = kCPU;
  bool requires_grad = false;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  std::int64_t offset = 0;  // in elements
  DType dtype = DType::float32;

  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;           // accumulated by backward() (leaves, or retain_grad)
  std::shared_ptr<Node> grad_fn;              // op that produced this tensor; null for leaves
  std::shared_ptr<Node> grad_accumulator;     // for leaves: the node where their gradient arrives
  bool retains_grad = false;                  // non-leaf asked to keep .grad()
};

using GradHook = std::function<class Tensor(const class Tensor&)>;

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage, used for "no gradient"
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // --- metadata
  const Shape& shape() const { return checked().shape; }
  const Shape& strides() const { return checked().strides; }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape().size()); }
  std::int64_t size(std::int64_t d) const;    // negative d counts from the end
  std::int64_t stride(std::int64_t d) const;
  std::int64_t offset() const { return checked().offset; }
  std::int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().storage->device(); }
  bool is_contiguous() const;
  std::string str() const;  // "Tensor[float32, cpu, shape [2, 3]]"

  // --- data access (the first element of this view)
  void* raw_data() const;
  template <class T> T* data() const {
    LUMEN_CHECK(dtype_of<T>() == dtype(), "Tensor::data", "requested ", dtype_name(dtype_of<T>()),
                " but the tensor is ", dtype_name(dtype()));
    return static_cast<T*>(raw_data());
  }
  double item() const;  // single-element tensor on any device
  template <class T> std::vector<T> to_vector() const;  // copies to host, row-major

  // --- autograd
  bool requires_grad() const { return checked().requires_grad; }
  Tensor& requires_grad_(bool on = true);  // leaves only
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return checked().grad_fn; }
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  void retain_grad() const;  // keep .grad() on a non-leaf after backward()
  // Accumulates d(this)/d(leaf) * grad into every leaf's .grad(). grad may be omitted for a scalar.
  void backward(const Tensor& grad = {}, bool retain_graph = false, bool create_graph = false) const;
  // Calls hook with the gradient flowing into this tensor; a defined return value replaces it.
  int register_hook(GradHook hook) const;
  void remove_hook(int handle) const;
  Tensor detach() const;  // same storage, no history

  // --- conversion and copies (differentiable)
  Tensor to(Device d) const;
  Tensor to(DType t) const;
  Tensor cpu() const { return to(kCPU); }
  Tensor contiguous() const;
  Tensor clone() const;

  // --- in-place, outside autograd (initialisers, optimizers, .grad accumulation). Refused on a
  // tensor that requires grad while grad mode is on, as in-place changes would corrupt its graph.
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double s);

  // --- method forms of common ops (defined in ops.cpp; see ops.h for the rest)
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

 private:
  const TensorImpl& checked() const {
    if (!impl_) throw Error("Tensor: use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
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

// A tensor reading base's storage with the given shape, strides and offset. No autograd: this is the
// primitive under the differentiable view ops of ops.h, and a tool for kernels.
Tensor make_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset);

}  // namespace lumen
