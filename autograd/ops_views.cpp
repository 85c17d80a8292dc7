// View ops: new shape/strides/offset over the same storage, no data moved. Their backward puts the
// gradient back in the input's shape: reshape back, inverse permutation, sum over expanded dims,
// or a zero tensor with the gradient written into the sliced region.
#include <algorithm>
#include <numeric>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "kernels/kernels.h"

namespace lumen {

namespace {

void check_defined(const char* op, const Tensor& x) { LUMEN_CHECK(x.defined(), op, "got an undefined tensor"); }

// Replaces a single -1 by what makes the element count match.
Shape infer_shape(const Shape& shape, std::int64_t numel, const char* op) {
  Shape s = shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      LUMEN_CHECK(infer < 0, op, "only one dim can be -1 in ", shape);
      infer = static_cast<std::int64_t>(i);
    } else {
      LUMEN_CHECK(s[i] >= 0, op, "invalid size ", s[i], " in ", shape);
      known = checked_mul(known, s[i], op, "shape ", shape);
    }
  }
  if (infer >= 0) {
    LUMEN_CHECK(known > 0 && numel % known == 0, op, "shape ", shape, " is invalid for ", numel, " elements");
    s[infer] = numel / known;
  }
  LUMEN_CHECK(shape_numel(s, op) == numel, op, "shape ", shape, " is invalid for input of ", numel, " elements");
  contiguous_strides(s, op);  // [0, 2^40, 2^40] has 0 elements but no strides
  return s;
}

// Strides that read x's elements in row-major order with the new shape, if x's layout allows it
// (PyTorch's rule: each run of merged dims must be contiguous within itself).
bool view_strides(const Tensor& x, const Shape& target, Shape& out) {
  out.assign(target.size(), 0);
  if (x.numel() == 0) {
    out = contiguous_strides(target);
    return true;
  }
  const Shape& os = x.shape();
  const Shape& ost = x.strides();
  std::int64_t view_d = static_cast<std::int64_t>(target.size()) - 1;
  std::int64_t chunk_base_stride = ost.empty() ? 1 : ost.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(os.size()) - 1; d >= 0; --d) {
    tensor_numel *= os[d];
    if (d == 0 || (os[d - 1] != 1 && ost[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || target[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= target[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = ost[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Tensor view_op(const char* name, const Tensor& x, Shape shape, Shape strides, std::int64_t offset) {
  Tensor out = make_view(x, std::move(shape), std::move(strides), offset);
  return record(name, out, {x}, {}, [xs = x.shape()](const Tensor& g, const BackwardArgs&) { return grads(reshape(g, xs)); });
}

// zeros of `shape` with g written at positions start, start+step, ... of dim: the adjoint of slice.
Tensor slice_backward(const Tensor& g, const Shape& shape, std::int64_t dim, std::int64_t start, std::int64_t step) {
  Tensor out = zeros(shape, options_of(g));
  Shape st = out.strides();
  st[dim] *= step;
  kernels::copy(g, make_view(out, g.shape(), st, start * out.stride(dim)));
  return record("slice_backward", out, {g}, {}, [dim, start, step, len = g.size(dim)](const Tensor& gg, const BackwardArgs&) {
    return grads(slice(gg, dim, start, start + (len - 1) * step + 1, step));
  });
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  check_defined("view", x);
  Shape s = infer_shape(shape, x.numel(), "view");
  Shape st;
  LUMEN_CHECK(view_strides(x, s, st), "view", "shape ", s, " is not compatible with the input's shape ", x.shape(),
              " and strides ", x.strides(), " (use reshape, which copies)");
  return view_op("view", x, s, st, x.offset());
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined("reshape", x);
  Shape s = infer_shape(shape, x.numel(), "reshape");
  Shape st;
  if (view_strides(x, s, st)) return view_op("reshape", x, s, st, x.offset());
  Tensor c = x.contiguous();
  return view_op("reshape", c, s, contiguous_strides(s), c.offset());
}

Tensor permute(const Tensor& x, const Shape& dims) {
  check_defined("permute", x);
  LUMEN_CHECK(static_cast<std::int64_t>(dims.size()) == x.dim(), "permute", "expected ", x.dim(), " dims, got ", dims);
  Shape perm, inv(dims.size()), s, st;
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    std::int64_t d = wrap_dim(dims[i], x.dim(), "permute");
    LUMEN_CHECK(!seen[d], "permute", "dims ", dims, " are not a permutation");
    seen[d] = true;
    perm.push_back(d);
    inv[d] = static_cast<std::int64_t>(i);
    s.push_back(x.size(d));
    st.push_back(x.stride(d));
  }
  Tensor out = make_view(x, s, st, x.offset());
  return record("permute", out, {x}, {}, [inv](const Tensor& g, const BackwardArgs&) { return grads(permute(g, inv)); });
}

Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1) {
  check_defined("transpose", x);
  Shape perm(x.dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[wrap_dim(d0, x.dim(), "transpose")], perm[wrap_dim(d1, x.dim(), "transpose")]);
  return permute(x, perm);
}

Tensor slice(const Tensor& x, std::int64_t dim_in, std::int64_t start, std::int64_t end, std::int64_t step) {
  check_defined("slice", x);
  LUMEN_CHECK(x.dim() > 0, "slice", "cannot slice a 0-dim tensor");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "slice");
  LUMEN_CHECK(step > 0, "slice", "expected step > 0, got ", step);
  const std::int64_t n = x.size(dim);
  step = std::min(step, std::max<std::int64_t>(n, 1));  // same elements; keeps stride * step in range
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape s = x.shape(), st = x.strides();
  s[dim] = (end - start + step - 1) / step;
  st[dim] *= step;
  Tensor out = make_view(x, s, st, x.offset() + start * x.stride(dim));
  return record("slice", out, {x}, {}, [xs = x.shape(), dim, start, step](const Tensor& g, const BackwardArgs&) {
    return grads(slice_backward(g, xs, dim, start, step));
  });
}

Tensor narrow(const Tensor& x, std::int64_t dim_in, std::int64_t start, std::int64_t length) {
  check_defined("narrow", x);
  LUMEN_CHECK(x.dim() > 0, "narrow", "cannot narrow a 0-dim tensor");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "narrow");
  const std::int64_t n = x.size(dim);
  if (start < 0) start += n;
  LUMEN_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow", "range [", start, ", ", start + length,
              ") is out of bounds for dim ", dim, " of size ", n, " (shape ", x.shape(), ")");
  return slice(x, dim, start, start + length, 1);
}

Tensor select(const Tensor& x, std::int64_t dim_in, std::int64_t index) {
  check_defined("select", x);
  LUMEN_CHECK(x.dim() > 0, "select", "cannot select from a 0-dim tensor");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "select");
  const std::int64_t n = x.size(dim);
  LUMEN_CHECK(index >= -n && index < n, "select", "index ", index, " is out of range for dim ", dim, " of size ", n);
  return squeeze(narrow(x, dim, index < 0 ? index + n : index, 1), dim);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  check_defined("expand", x);
  LUMEN_CHECK(static_cast<std::int64_t>(shape.size()) >= x.dim(), "expand", "cannot expand shape ", x.shape(), " to ",
              shape, " (fewer dims)");
  const std::int64_t lead = static_cast<std::int64_t>(shape.size()) - x.dim();
  Shape s(shape.size()), st(shape.size(), 0);
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
    if (d < lead) {
      LUMEN_CHECK(shape[d] >= 0, "expand", "size -1 is not allowed for the new leading dim ", d, " in ", shape);
      s[d] = shape[d];
      continue;
    }
    const std::int64_t have = x.size(d - lead);
    const std::int64_t want = shape[d] == -1 ? have : shape[d];
    LUMEN_CHECK(want == have || have == 1, "expand", "cannot expand shape ", x.shape(), " to ", shape, " (dim ", d,
                ": ", have, " vs ", want, ")");
    s[d] = want;
    st[d] = want == have ? x.stride(d - lead) : 0;
  }
  if (s == x.shape()) return view_op("expand", x, s, x.strides(), x.offset());
  Tensor out = make_view(x, s, st, x.offset(), "expand");
  return record("expand", out, {x}, {}, [xs = x.shape()](const Tensor& g, const BackwardArgs&) { return grads(sum_to(g, xs)); });
}

Tensor squeeze(const Tensor& x) {
  check_defined("squeeze", x);
  Shape s, st;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (x.size(d) != 1) {
      s.push_back(x.size(d));
      st.push_back(x.stride(d));
    }
  return view_op("squeeze", x, s, st, x.offset());
}

Tensor squeeze(const Tensor& x, std::int64_t dim_in) {
  check_defined("squeeze", x);
  if (x.dim() == 0) return view_op("squeeze", x, {}, {}, x.offset());
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "squeeze");
  Shape s = x.shape(), st = x.strides();
  if (s[dim] == 1) {
    s.erase(s.begin() + dim);
    st.erase(st.begin() + dim);
  }
  return view_op("squeeze", x, s, st, x.offset());
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim_in) {
  check_defined("unsqueeze", x);
  const std::int64_t dim = wrap_dim(dim_in, x.dim() + 1, "unsqueeze");
  Shape s = x.shape(), st = x.strides();
  std::int64_t inner = dim < x.dim() ? x.stride(dim) * x.size(dim) : 1;
  s.insert(s.begin() + dim, 1);
  st.insert(st.begin() + dim, inner);
  return view_op("unsqueeze", x, s, st, x.offset());
}

Tensor flatten(const Tensor& x, std::int64_t start, std::int64_t end) {
  check_defined("flatten", x);
  if (x.dim() == 0) return reshape(x, {1});
  start = wrap_dim(start, x.dim(), "flatten");
  end = wrap_dim(end, x.dim(), "flatten");
  LUMEN_CHECK(start <= end, "flatten", "start dim ", start, " is after end dim ", end);
  Shape s(x.shape().begin(), x.shape().begin() + start);
  std::int64_t merged = 1;
  for (std::int64_t d = start; d <= end; ++d) merged = checked_mul(merged, x.size(d), "flatten", "shape ", x.shape());
  s.push_back(merged);
  s.insert(s.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, s);
}

// ---- method forms

Tensor Tensor::reshape(const Shape& s) const { return lumen::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return lumen::view(*this, s); }
Tensor Tensor::permute(const Shape& dims) const { return lumen::permute(*this, dims); }
Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const { return lumen::transpose(*this, d0, d1); }
Tensor Tensor::t() const {
  LUMEN_CHECK(dim() == 2, "t", "expected a 2-D tensor, got shape ", shape());
  return lumen::transpose(*this, 0, 1);
}
Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  return lumen::narrow(*this, d, start, length);
}
Tensor Tensor::select(std::int64_t d, std::int64_t index) const { return lumen::select(*this, d, index); }
Tensor Tensor::expand(const Shape& s) const { return lumen::expand(*this, s); }
Tensor Tensor::squeeze(std::int64_t d) const { return lumen::squeeze(*this, d); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return lumen::unsqueeze(*this, d); }
Tensor Tensor::flatten(std::int64_t start, std::int64_t end) const { return lumen::flatten(*this, start, end); }

}  // namespace lumen
