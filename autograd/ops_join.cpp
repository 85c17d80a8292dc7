// Joining and padding. cat copies each input into its slice of the output, so its backward is the
// matching narrow of the gradient; constant padding's adjoint is padding by the negated amounts
// (a crop), which makes pad differentiable to any order.
#include <algorithm>
#include <numeric>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "kernels/kernels.h"

namespace lumen {

Tensor cat(const std::vector<Tensor>& xs, std::int64_t dim_in) {
  LUMEN_CHECK(!xs.empty(), "cat", "expected at least one tensor");
  const Tensor& first = xs[0];
  LUMEN_CHECK(first.defined() && first.dim() > 0, "cat", "expected tensors with at least 1 dim");
  const std::int64_t dim = wrap_dim(dim_in, first.dim(), "cat");
  Shape s = first.shape();
  s[dim] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    LUMEN_CHECK(x.defined(), "cat", "tensor ", i, " is undefined");
    LUMEN_CHECK(x.dtype() == first.dtype() && x.device() == first.device(), "cat", "tensor ", i, " is ",
                dtype_name(x.dtype()), " on ", x.device().str(), " but tensor 0 is ", dtype_name(first.dtype()), " on ",
                first.device().str());
    LUMEN_CHECK(x.dim() == first.dim(), "cat", "tensor ", i, " has shape ", x.shape(), " but tensor 0 has shape ",
                first.shape(), " (dims differ)");
    for (std::int64_t d = 0; d < x.dim(); ++d)
      LUMEN_CHECK(d == dim || x.size(d) == first.size(d), "cat", "tensor ", i, " has shape ", x.shape(),
                  " but tensor 0 has shape ", first.shape(), ": sizes must match except in dim ", dim);
    s[dim] = checked_add(s[dim], x.size(dim), "cat", "the size of dim ", dim, " of the result");
  }
  Tensor out = empty(s, options_of(first));
  std::vector<std::int64_t> sizes;
  std::int64_t offset = 0;
  for (const Tensor& x : xs) {
    Shape part = s;
    part[dim] = x.size(dim);
    if (x.numel() > 0) kernels::copy(x, make_view(out, part, out.strides(), offset * out.stride(dim)));
    offset += x.size(dim);
    sizes.push_back(x.size(dim));
  }
  return record("cat", out, xs, {}, [dim, sizes](const Tensor& g, const BackwardArgs& s) {
    std::vector<Tensor> gs;
    std::int64_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      gs.push_back(s.needs(i) ? narrow(g, dim, at, sizes[i]) : Tensor());
      at += sizes[i];
    }
    return gs;
  });
}

Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim_in) {
  LUMEN_CHECK(!xs.empty(), "stack", "expected at least one tensor");
  const std::int64_t dim = wrap_dim(dim_in, xs[0].dim() + 1, "stack");
  for (std::size_t i = 1; i < xs.size(); ++i)
    LUMEN_CHECK(xs[i].shape() == xs[0].shape(), "stack", "tensor ", i, " has shape ", xs[i].shape(),
                " but tensor 0 has shape ", xs[0].shape());
  std::vector<Tensor> parts;
  for (const Tensor& x : xs) parts.push_back(unsqueeze(x, dim));
  return cat(parts, dim);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim_in) {
  LUMEN_CHECK(x.defined() && x.dim() > 0, "split", "expected a tensor with at least 1 dim");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "split");
  std::int64_t total = 0;
  for (auto s : sizes) {
    LUMEN_CHECK(s >= 0, "split", "negative size in ", Shape(sizes));
    total += s;
  }
  LUMEN_CHECK(total == x.size(dim), "split", "sizes ", Shape(sizes), " sum to ", total, " but dim ", dim, " has size ",
              x.size(dim));
  std::vector<Tensor> out;
  std::int64_t at = 0;
  for (auto s : sizes) {
    out.push_back(narrow(x, dim, at, s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim_in) {
  LUMEN_CHECK(split_size > 0, "split", "expected split_size > 0, got ", split_size);
  LUMEN_CHECK(x.defined() && x.dim() > 0, "split", "expected a tensor with at least 1 dim");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "split");
  std::vector<std::int64_t> sizes;
  for (std::int64_t at = 0; at < x.size(dim); at += split_size) sizes.push_back(std::min(split_size, x.size(dim) - at));
  if (sizes.empty()) sizes.push_back(0);  // PyTorch: an empty dim still splits into one (empty) piece
  return split(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim_in) {
  LUMEN_CHECK(chunks > 0, "chunk", "expected chunks > 0, got ", chunks);
  LUMEN_CHECK(x.defined() && x.dim() > 0, "chunk", "expected a tensor with at least 1 dim");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "chunk");
  const std::int64_t n = x.size(dim);
  if (n == 0) return split(x, std::vector<std::int64_t>(chunks, 0), dim);  // PyTorch: `chunks` empty pieces
  return split(x, std::max<std::int64_t>((n + chunks - 1) / chunks, 1), dim);  // PyTorch: ceil(n / chunks) each
}

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value) {
  LUMEN_CHECK(x.defined(), "pad", "got an undefined tensor");
  LUMEN_CHECK(pads.size() % 2 == 0 && static_cast<std::int64_t>(pads.size()) <= 2 * x.dim(), "pad",
              "expected an even number of pads, at most 2 per dim (", 2 * x.dim(), " for shape ", x.shape(), "), got ",
              pads.size());
  // Per dim: output size, and where the kept part of x lands (negative pads crop).
  Shape out_shape = x.shape(), src_start(x.dim(), 0), dst_start(x.dim(), 0), keep = x.shape();
  for (std::size_t i = 0; i < pads.size() / 2; ++i) {
    const std::int64_t d = x.dim() - 1 - static_cast<std::int64_t>(i);
    const std::int64_t lo = pads[2 * i], hi = pads[2 * i + 1];
    out_shape[d] = checked_add(checked_add(x.size(d), lo, "pad", "dim ", d), hi, "pad", "dim ", d);
    LUMEN_CHECK(out_shape[d] >= 0, "pad", "pads ", Shape(pads), " leave a negative size in dim ", d, " of shape ",
                x.shape());
    src_start[d] = std::max<std::int64_t>(0, -lo);
    dst_start[d] = std::max<std::int64_t>(0, lo);
    keep[d] = std::max<std::int64_t>(0, x.size(d) - src_start[d] - std::max<std::int64_t>(0, -hi));
  }
  Tensor out = full(out_shape, value, options_of(x));
  if (shape_numel(keep) > 0) {
    std::int64_t so = x.offset(), doff = 0;
    for (std::int64_t d = 0; d < x.dim(); ++d) {
      so += src_start[d] * x.stride(d);
      doff += dst_start[d] * out.stride(d);
    }
    kernels::copy(make_view(x, keep, x.strides(), so), make_view(out, keep, out.strides(), doff));
  }
  std::vector<std::int64_t> negated(pads.size());
  for (std::size_t i = 0; i < pads.size(); ++i) negated[i] = -pads[i];
  return record("pad", out, {x}, {}, [negated](const Tensor& g, const BackwardArgs&) { return grads(pad(g, negated)); });
}

}  // namespace lumen
