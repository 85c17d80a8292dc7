// Reductions and softmax. A reduction's backward broadcasts the output gradient back over the reduced
// dims (expand); max/min send it to the chosen elements; softmax's is written with its own output.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/kernels.h"

namespace lumen {

namespace {

// Sorted, unique, non-negative dims; an empty list means every dim.
Shape normalize_dims(const Tensor& x, const Shape& dims, const char* op) {
  Shape out;
  if (dims.empty()) {
    for (std::int64_t d = 0; d < x.dim(); ++d) out.push_back(d);
    return out;
  }
  for (auto d : dims) out.push_back(wrap_dim(d, x.dim(), op));
  std::sort(out.begin(), out.end());
  LUMEN_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, "dim listed twice in ", dims);
  return out;
}

Shape keepdim_shape(const Tensor& x, const Shape& dims) {
  Shape s = x.shape();
  for (auto d : dims) s[d] = 1;
  return s;
}

Shape dropped_shape(const Tensor& x, const Shape& dims) {
  Shape s;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) s.push_back(x.size(d));
  return s;
}

// A fresh keepdim-shaped result viewed without the reduced dims (it is not yet part of any graph).
Tensor drop_dims(const Tensor& fresh, const Tensor& x, const Shape& dims, bool keepdim) {
  if (keepdim) return fresh;
  Shape s = dropped_shape(x, dims);
  return make_view(fresh, s, contiguous_strides(s), fresh.offset());
}

// The gradient of a reduced output, viewed with the reduced dims back as size 1.
Tensor restore_dims(const Tensor& g, const Shape& keep_shape) { return g.shape() == keep_shape ? g : reshape(g, keep_shape); }

void check_reducible(const char* op, const Tensor& x) {
  LUMEN_CHECK(x.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(is_floating(x.dtype()), op, "expected a floating tensor, got ", dtype_name(x.dtype()));
}

Tensor reduce_extreme(kernels::ReduceOp op, const char* name, const Tensor& x, const Shape& dims_in, bool keepdim) {
  check_reducible(name, x);
  Shape dims = normalize_dims(x, dims_in, name);
  for (auto d : dims) LUMEN_CHECK(x.size(d) > 0, name, "cannot reduce over an empty dim ", d, " of shape ", x.shape());
  Shape ks = keepdim_shape(x, dims);
  Tensor out = empty(ks, options_of(x));
  kernels::reduce(op, x, dims, out);
  Tensor y = drop_dims(out, x, dims, keepdim);
  Shape reduced;  // dims that really shrank (size > 1)
  for (auto d : dims)
    if (x.size(d) != 1) reduced.push_back(d);
  return record(name, y, {x}, {x, out.detach()}, [ks, reduced](const Tensor& g, const BackwardArgs& s) {
    // Every element equal to the extreme shares the gradient equally (as PyTorch's amax/amin).
    Tensor mask = eq(s[0], s[1]);
    Tensor count = reduced.empty() ? mask : sum(mask, reduced, true);
    return grads(restore_dims(g, ks) * mask / count);
  });
}

std::pair<Tensor, Tensor> arg_extreme(kernels::ReduceOp op, const char* name, const Tensor& x, std::int64_t dim_in,
                                      bool keepdim) {
  check_reducible(name, x);
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), name);
  if (x.dim() > 0) LUMEN_CHECK(x.size(dim) > 0, name, "cannot reduce over an empty dim ", dim, " of shape ", x.shape());
  Shape ks = x.dim() ? keepdim_shape(x, {dim}) : Shape{};
  Tensor values = empty(ks, options_of(x));
  Tensor indices = empty(ks, {DType::int64, x.device()});
  if (x.dim() == 0) {
    kernels::copy(x, values);
    kernels::fill(indices, 0);
  } else {
    kernels::arg_reduce(op, x, dim, values, indices);
  }
  Shape dims = x.dim() ? Shape{dim} : Shape{};
  Tensor v = drop_dims(values, x, dims, keepdim);
  Tensor i = drop_dims(indices, x, dims, keepdim);
  v = record(name, v, {x}, {indices}, [dim, ks, xs = x.shape()](const Tensor& g, const BackwardArgs& s) {
    if (xs.empty()) return grads(g.reshape(xs));
    return grads(gather_backward(restore_dims(g, ks), dim, s[0], xs));
  });
  return {v, i};
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  check_reducible("sum", x);
  Shape dims = normalize_dims(x, dims_in, "sum");
  Shape ks = keepdim_shape(x, dims);
  Tensor out = empty(ks, options_of(x));
  if (x.dim() == 0) kernels::copy(x, out);
  else kernels::reduce(kernels::ReduceOp::sum, x, dims, out);
  Tensor y = drop_dims(out, x, dims, keepdim);
  return record("sum", y, {x}, {}, [ks, xs = x.shape()](const Tensor& g, const BackwardArgs&) {
    return grads(expand(restore_dims(g, ks), xs));
  });
}

Tensor mean(const Tensor& x, const Shape& dims_in, bool keepdim) {
  check_reducible("mean", x);
  Shape dims = normalize_dims(x, dims_in, "mean");
  std::int64_t n = 1;
  for (auto d : dims) n *= x.size(d);
  // The mean of nothing is nan, as in PyTorch (0 / 0).
  return sum(x, dims, keepdim) * (n > 0 ? 1.0 / static_cast<double>(n) : std::nan(""));
}

Tensor var(const Tensor& x, const Shape& dims_in, std::int64_t correction, bool keepdim) {
  check_reducible("var", x);
  Shape dims = normalize_dims(x, dims_in, "var");
  std::int64_t n = 1;
  for (auto d : dims) n *= x.size(d);
  LUMEN_CHECK(n == 0 || n - correction > 0, "var", "need more than ", correction, " elements, got ", n, " in shape ",
              x.shape());
  Tensor centered = x - mean(x, dims, true);
  // The variance of nothing is nan, as in PyTorch.
  return sum(square(centered), dims, keepdim) * (n > 0 ? 1.0 / static_cast<double>(n - correction) : std::nan(""));
}

Tensor logsumexp(const Tensor& x, const Shape& dims_in, bool keepdim) {
  check_reducible("logsumexp", x);
  Shape dims = normalize_dims(x, dims_in, "logsumexp");
  // Nothing to shift by: log of a sum of nothing is -inf, as in PyTorch (and an empty result stays empty).
  if (x.numel() == 0) return log(sum(exp(x), dims, keepdim));
  // Shift by the (constant) max for stability; an all -inf slice keeps shift 0 and gives -inf.
  Tensor m = amax(x.detach(), dims, true);
  m = where(eq(abs(m), full({}, INFINITY, options_of(m))), zeros({}, options_of(m)), m);
  Tensor r = log(sum(exp(x - m), dims, true)) + m;
  return keepdim ? r : reshape(r, dropped_shape(x, dims));
}

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) {
  return reduce_extreme(kernels::ReduceOp::max, "amax", x, dims, keepdim);
}
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) {
  return reduce_extreme(kernels::ReduceOp::min, "amin", x, dims, keepdim);
}

std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim) {
  return arg_extreme(kernels::ReduceOp::max, "max", x, dim, keepdim);
}
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim) {
  return arg_extreme(kernels::ReduceOp::min, "min", x, dim, keepdim);
}
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  return arg_extreme(kernels::ReduceOp::max, "argmax", x.detach(), dim, keepdim).second;
}
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) {
  return arg_extreme(kernels::ReduceOp::min, "argmin", x.detach(), dim, keepdim).second;
}

Tensor softmax(const Tensor& x, std::int64_t dim_in) {
  check_reducible("softmax", x);
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "softmax");
  Tensor y = empty(x.shape(), options_of(x));
  if (x.dim() == 0) kernels::fill(y, 1.0);
  else kernels::softmax(x, dim, false, y);
  return record("softmax", y, {x}, {y}, [dim](const Tensor& g, const BackwardArgs& s) {
    const Tensor& p = s[0];
    if (p.dim() == 0) return grads(g * 0.0);
    return grads(p * (g - sum(g * p, {dim}, true)));  // J = diag(p) - p pᵀ
  });
}

Tensor log_softmax(const Tensor& x, std::int64_t dim_in) {
  check_reducible("log_softmax", x);
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "log_softmax");
  Tensor y = empty(x.shape(), options_of(x));
  if (x.dim() == 0) kernels::fill(y, 0.0);
  else kernels::softmax(x, dim, true, y);
  return record("log_softmax", y, {x}, {y}, [dim](const Tensor& g, const BackwardArgs& s) {
    if (s[0].dim() == 0) return grads(g * 0.0);
    return grads(g - exp(s[0]) * sum(g, {dim}, true));  // J = I - softmax 1ᵀ
  });
}

// ---- method forms

Tensor Tensor::sum() const { return lumen::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return lumen::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return lumen::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return lumen::mean(*this, dims, keepdim); }

}  // namespace lumen
