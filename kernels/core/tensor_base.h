#pragma once
// The ground floor's tensor: strided data and nothing else. TensorImpl is a Storage plus the shape,
// strides (in elements), offset and dtype that say how to read it; TensorBase is a cheap shared handle
// over one (copying it copies the handle; views share the Storage). This is all a kernel sees.
//
// Autograd is a floor above: it keeps its per-tensor state (requires_grad, .grad(), grad_fn) in the
// one slot TensorImpl leaves for it, `autograd_meta`, whose type only autograd/tensor.h defines — as
// PyTorch's c10 TensorImpl does. The Tensor users hold (autograd/tensor.h) is a TensorBase with the
// methods that record history; a TensorBase converts to a Tensor without a copy.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/core/device.h"
#include "kernels/core/dtype.h"
#include "kernels/core/error.h"
#include "kernels/core/storage.h"

namespace lumen {

using Shape = std::vector<std::int64_t>;
std::string shape_str(const Shape& s);
// The element count and the row-major strides of a shape, overflow-checked (kernels/core/checked.h):
// a shape whose count or strides do not fit in int64 is an error naming op. Strides count a 0-size
// dim as 1, as PyTorch's do, so [0, 2^40, 2^40] has no strides either. (Overloads rather than
// default arguments keep objects built against the one-argument forms linking.)
std::int64_t shape_numel(const Shape& s, const char* op);
std::int64_t shape_numel(const Shape& s);  // op "numel"
Shape contiguous_strides(const Shape& s, const char* op);
Shape contiguous_strides(const Shape& s);  // op "contiguous_strides"
// d in [-ndim, ndim) as an index in [0, ndim) (a 0-dim tensor takes -1 and 0, as in PyTorch); anything
// else is an error naming op.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);

// Whatever the floor above attaches to a tensor; the ground floor only owns and frees it.
struct AutogradMetaInterface {
  virtual ~AutogradMetaInterface() = default;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  std::int64_t offset = 0;  // in elements
  DType dtype = DType::float32;
  std::unique_ptr<AutogradMetaInterface> autograd_meta;  // null: no autograd state (the common case)
};

class TensorBase {
 public:
  TensorBase() = default;  // undefined: no storage, used for "no gradient"
  explicit TensorBase(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const TensorBase& o) const { return impl_ == o.impl_; }

  // --- metadata
  const Shape& shape() const { return checked().shape; }
  const Shape& strides() const { return checked().strides; }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape().size()); }
  std::int64_t size(std::int64_t d) const;  // negative d counts from the end
  std::int64_t stride(std::int64_t d) const;
  std::int64_t offset() const { return checked().offset; }
  std::int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().storage->device(); }
  bool is_contiguous() const;
  std::string str() const;  // "Tensor[float32, cpu, shape [2, 3]]"

  // --- version counter (kernels/core/storage.h): shared with every view of the same storage, bumped
  // by each in-place write lumen offers (Tensor's *_ methods, the optimizer updates, the in-place
  // index kernels). Code that writes an existing tensor another way calls bump_version() itself.
  std::uint64_t version() const { return checked().storage->version(); }
  void bump_version() const { checked().storage->bump_version(); }

  // --- data access (the first element of this view). Writes through these pointers are invisible to
  // the version counter: autograd cannot tell that a tensor saved for backward was changed this way.
  void* raw_data() const;
  template <class T> T* data() const {
    LUMEN_CHECK(dtype_of<T>() == dtype(), "Tensor::data", "requested ", dtype_name(dtype_of<T>()),
                " but the tensor is ", dtype_name(dtype()));
    return static_cast<T*>(raw_data());
  }

 protected:
  const TensorImpl& checked() const {
    if (!impl_) throw Error("Tensor: use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

// A new contiguous tensor of uninitialised memory: how kernels make their scratch and results. A
// negative dim, a count, stride or byte count that overflows, or memory the device cannot give is an
// error naming op.
TensorBase allocate(const Shape& shape, DType dtype, Device device, const char* op);
TensorBase allocate(const Shape& shape, DType dtype, Device device);  // op "empty"

// A tensor reading base's storage with the given shape, strides and offset; no autograd state. The
// primitive under the differentiable view ops (autograd/ops.h), and a tool for kernels. A shape whose
// element count overflows (expand can ask for one) is an error naming op.
TensorBase make_view(const TensorBase& base, Shape shape, Shape strides, std::int64_t offset, const char* op);
TensorBase make_view(const TensorBase& base, Shape shape, Shape strides, std::int64_t offset);  // op "view"

}  // namespace lumen
