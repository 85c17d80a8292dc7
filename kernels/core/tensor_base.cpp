#include "kernels/core/tensor_base.h"

#include <algorithm>
#include <sstream>

#include "kernels/core/checked.h"

namespace lumen {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

std::int64_t shape_numel(const Shape& s, const char* op) {
  std::int64_t n = 1;
  for (auto d : s) n = checked_mul(n, d, op, "shape ", s, " has more elements than int64 holds");
  return n;
}

std::int64_t shape_numel(const Shape& s) { return shape_numel(s, "numel"); }

Shape contiguous_strides(const Shape& s, const char* op) {
  Shape st(s.size());
  std::int64_t acc = 1;
  for (std::int64_t d = static_cast<std::int64_t>(s.size()) - 1; d >= 0; --d) {
    st[d] = acc;
    if (d > 0) acc = checked_mul(acc, std::max<std::int64_t>(s[d], 1), op, "the strides of shape ", s);
  }
  return st;
}

Shape contiguous_strides(const Shape& s) { return contiguous_strides(s, "contiguous_strides"); }

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t n = std::max<std::int64_t>(ndim, 1);
  LUMEN_CHECK(dim >= -n && dim < n, op, "dim ", dim, " is out of range for a tensor with ", ndim, " dims");
  return dim < 0 ? dim + n : dim;
}

std::int64_t TensorBase::size(std::int64_t d) const { return shape()[wrap_dim(d, dim(), "Tensor::size")]; }
std::int64_t TensorBase::stride(std::int64_t d) const { return strides()[wrap_dim(d, dim(), "Tensor::stride")]; }

bool TensorBase::is_contiguous() const {
  const auto& s = shape();
  const auto& st = strides();
  std::int64_t expected = 1;
  for (std::int64_t d = dim() - 1; d >= 0; --d) {
    if (s[d] != 1 && st[d] != expected) return false;
    expected *= s[d];
  }
  return true;
}

std::string TensorBase::str() const {
  if (!defined()) return "Tensor[undefined]";
  std::ostringstream os;
  os << "Tensor[" << dtype_name(dtype()) << ", " << device().str() << ", shape " << shape() << "]";
  return os.str();
}

void* TensorBase::raw_data() const {
  const auto& i = checked();
  return static_cast<char*>(i.storage->data()) + i.offset * static_cast<std::int64_t>(itemsize(i.dtype));
}

TensorBase allocate(const Shape& shape, DType dtype, Device device, const char* op) {
  for (auto d : shape) LUMEN_CHECK(d >= 0, op, "negative dimension in shape ", shape);
  Shape strides = contiguous_strides(shape, op);
  const std::int64_t nbytes = checked_mul(shape_numel(shape, op), static_cast<std::int64_t>(itemsize(dtype)), op,
                                          "the byte count of shape ", shape, " of ", dtype_name(dtype));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(nbytes), device);
  impl->shape = shape;
  impl->strides = std::move(strides);
  impl->dtype = dtype;
  return TensorBase(std::move(impl));
}

TensorBase allocate(const Shape& shape, DType dtype, Device device) { return allocate(shape, dtype, device, "empty"); }

TensorBase make_view(const TensorBase& base, Shape shape, Shape strides, std::int64_t offset, const char* op) {
  for (auto d : shape) LUMEN_CHECK(d >= 0, op, "negative dimension in shape ", shape);
  shape_numel(shape, op);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return TensorBase(std::move(impl));
}

TensorBase make_view(const TensorBase& base, Shape shape, Shape strides, std::int64_t offset) {
  return make_view(base, std::move(shape), std::move(strides), offset, "view");
}

}  // namespace lumen
