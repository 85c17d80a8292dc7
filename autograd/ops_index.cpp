// Indexing ops. Each pair is adjoint: gather's backward is scatter_add, scatter_add's (for src) is
// gather; index_select's backward is index_add and back. So gradients of gradients come for free.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/index.h"
#include "kernels/kernels.h"

namespace lumen {

namespace {

void check_index_tensor(const char* op, const Tensor& x, const Tensor& index) {
  LUMEN_CHECK(x.defined() && index.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(index.dtype() == DType::int64, op, "expected an int64 index tensor, got ", dtype_name(index.dtype()));
  LUMEN_CHECK(index.device() == x.device(), op, "index is on ", index.device().str(), " but the input is on ",
              x.device().str());
}

// Every index within [0, size): a bad index is an error, never an out-of-bounds read. Scans the
// index in place when it is already a contiguous host tensor (the usual case: no copy).
void check_range(const char* op, const Tensor& index, std::int64_t dim, std::int64_t size) {
  if (index.numel() == 0) return;
  const Tensor c = index.cpu().contiguous();
  const std::int64_t* p = c.data<std::int64_t>();
  const std::int64_t* bad = std::find_if(p, p + c.numel(), [size](std::int64_t v) { return v < 0 || v >= size; });
  LUMEN_CHECK(bad == p + c.numel(), op, "index ", *bad, " is out of bounds for dim ", dim, " with size ", size);
}

// gather/scatter_add: same ndim, and index no larger than `other` outside dim.
void check_gather_shapes(const char* op, const Tensor& x, std::int64_t dim, const Tensor& index, const char* what) {
  LUMEN_CHECK(index.dim() == x.dim(), op, "index ", index.shape(), " must have as many dims as the ", what, " ",
              x.shape());
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (d != dim)
      LUMEN_CHECK(index.size(d) <= x.size(d), op, "index ", index.shape(), " is larger than the ", what, " ",
                  x.shape(), " in dim ", d);
}

// t zero-padded at the high end of each dim up to shape s.
Tensor pad_to(const Tensor& t, const Shape& s) {
  std::vector<std::int64_t> pads;
  for (std::int64_t d = t.dim() - 1; d >= 0; --d) {
    pads.push_back(0);
    pads.push_back(s[d] - t.size(d));
  }
  return pad(t, pads);
}

}  // namespace

Tensor gather(const Tensor& x, std::int64_t dim_in, const Tensor& index) {
  check_index_tensor("gather", x, index);
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "gather");
  check_gather_shapes("gather", x, dim, index, "input");
  check_range("gather", index, dim, x.dim() ? x.size(dim) : 1);
  Tensor out = empty(index.shape(), options_of(x));
  kernels::gather(x, dim, index, out);
  if (!is_floating(x.dtype())) return out;
  return record("gather", out, {x}, {index}, [dim, xs = x.shape()](const Tensor& g, const BackwardArgs& s) {
    return grads(gather_backward(g, dim, s[0], xs));
  });
}

Tensor gather_backward(const Tensor& g, std::int64_t dim_in, const Tensor& index, const Shape& input_shape) {
  check_index_tensor("gather_backward", g, index);
  Tensor out = zeros(input_shape, options_of(g));
  const std::int64_t dim = wrap_dim(dim_in, out.dim(), "gather_backward");
  check_gather_shapes("gather_backward", out, dim, index, "input");
  LUMEN_CHECK(g.shape() == index.shape(), "gather_backward", "gradient has shape ", g.shape(),
              ", expected the index's shape ", index.shape());
  check_range("gather_backward", index, dim, out.dim() ? out.size(dim) : 1);
  kernels::scatter_add(out, dim, index, g);
  return record("gather_backward", out, {g}, {index}, [dim](const Tensor& gg, const BackwardArgs& s) {
    return grads(gather(gg, dim, s[0]));
  });
}

Tensor scatter_add(const Tensor& x, std::int64_t dim_in, const Tensor& index, const Tensor& src) {
  check_index_tensor("scatter_add", x, index);
  check_same_device_dtype("scatter_add", x, src);
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "scatter_add");
  check_gather_shapes("scatter_add", x, dim, index, "input");
  check_gather_shapes("scatter_add", src, dim, index, "src");
  if (index.dim()) LUMEN_CHECK(index.size(dim) <= src.size(dim), "scatter_add", "index ", index.shape(),
                               " is larger than src ", src.shape(), " in dim ", dim);
  check_range("scatter_add", index, dim, x.dim() ? x.size(dim) : 1);
  Tensor out = x.detach().clone();
  kernels::scatter_add(out, dim, index, src);
  return record("scatter_add", out, {x, src}, {index},
                [dim, ss = src.shape()](const Tensor& g, const BackwardArgs& s) {
                  Tensor gsrc;
                  if (s.needs(1)) {  // src elements the index did not cover got no gradient
                    Tensor picked = gather(g, dim, s[0]);
                    gsrc = picked.shape() == ss ? picked : pad_to(picked, ss);
                  }
                  return grads(s.needs(0) ? g : Tensor(), gsrc);
                });
}


Tensor index_select(const Tensor& x, std::int64_t dim_in, const Tensor& index) {
  check_index_tensor("index_select", x, index);
  LUMEN_CHECK(index.dim() <= 1, "index_select", "expected a 1-D index, got shape ", index.shape());
  LUMEN_CHECK(x.dim() >= 1, "index_select", "cannot index a 0-dim tensor");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "index_select");
  check_range("index_select", index, dim, x.size(dim));
  Shape s = x.shape();
  s[dim] = index.numel();
  Tensor out = empty(s, options_of(x));
  kernels::index_select(x, dim, index, out);
  if (!is_floating(x.dtype())) return out;
  return record("index_select", out, {x}, {index}, [dim, xs = x.shape()](const Tensor& g, const BackwardArgs& s) {
    return grads(index_select_backward(g, dim, s[0], xs));
  });
}

Tensor index_select_backward(const Tensor& g, std::int64_t dim_in, const Tensor& index, const Shape& input_shape) {
  check_index_tensor("index_select_backward", g, index);
  LUMEN_CHECK(index.dim() <= 1, "index_select_backward", "expected a 1-D index, got shape ", index.shape());
  Tensor out = zeros(input_shape, options_of(g));
  LUMEN_CHECK(out.dim() >= 1, "index_select_backward", "cannot index a 0-dim tensor");
  const std::int64_t dim = wrap_dim(dim_in, out.dim(), "index_select_backward");
  Shape want = input_shape;
  want[static_cast<std::size_t>(dim)] = index.numel();
  LUMEN_CHECK(g.shape() == want, "index_select_backward", "gradient has shape ", g.shape(), ", expected ", want);
  check_range("index_select_backward", index, dim, out.size(dim));
  kernels::index_add(out, dim, index, g);
  return record("index_select_backward", out, {g}, {index}, [dim](const Tensor& gg, const BackwardArgs& s) {
    return grads(index_select(gg, dim, s[0]));
  });
}

Tensor index_add(const Tensor& x, std::int64_t dim_in, const Tensor& index, const Tensor& src) {
  check_index_tensor("index_add", x, index);
  check_same_device_dtype("index_add", x, src);
  LUMEN_CHECK(index.dim() <= 1, "index_add", "expected a 1-D index, got shape ", index.shape());
  LUMEN_CHECK(x.dim() >= 1, "index_add", "cannot index a 0-dim tensor");
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "index_add");
  Shape want = x.shape();
  want[dim] = index.numel();
  LUMEN_CHECK(src.shape() == want, "index_add", "src has shape ", src.shape(), ", expected ", want);
  check_range("index_add", index, dim, x.size(dim));
  Tensor out = x.detach().clone();
  kernels::index_add(out, dim, index, src);
  return record("index_add", out, {x, src}, {index}, [dim](const Tensor& g, const BackwardArgs& s) {
    return grads(s.needs(0) ? g : Tensor(), s.needs(1) ? index_select(g, dim, s[0]) : Tensor());
  });
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  check_index_tensor("embedding", weight, indices);
  LUMEN_CHECK(weight.dim() == 2, "embedding", "expected a weight of shape [num_embeddings, dim], got ", weight.shape());
  check_range("embedding", indices, 0, weight.size(0));  // so the error names embedding, not index_select
  Shape s = indices.shape();
  s.push_back(weight.size(1));
  return reshape(index_select(weight, 0, reshape(indices, {-1})), s);
}

Tensor one_hot(const Tensor& indices, std::int64_t num_classes, DType dtype) {
  LUMEN_CHECK(indices.defined(), "one_hot", "got an undefined tensor");
  LUMEN_CHECK(indices.dtype() == DType::int64, "one_hot", "expected int64 class indices, got ",
              dtype_name(indices.dtype()));
  LUMEN_CHECK(num_classes > 0, "one_hot", "expected num_classes > 0, got ", num_classes);
  const auto idx = indices.to_vector<std::int64_t>();
  for (std::int64_t v : idx)
    LUMEN_CHECK(v >= 0 && v < num_classes, "one_hot", "class index ", v, " is out of range [0, ", num_classes, ")");
  Shape s = indices.shape();
  s.push_back(num_classes);
  Tensor out = zeros(s, {dtype, kCPU});  // built on the host, then moved: one_hot is not differentiable
  visit_any(dtype, [&]<class T>() {
    T* p = out.data<T>();
    for (std::size_t i = 0; i < idx.size(); ++i) p[static_cast<std::int64_t>(i) * num_classes + idx[i]] = T(1);
  });
  return out.to(indices.device());
}

namespace {

// "a comes before b" in topk's order: the larger (or smaller) value first, nan beyond every number as
// PyTorch, and on a tie the lower index.
template <class T> bool ranks_before(T a, std::int64_t ia, T b, std::int64_t ib, bool largest) {
  if constexpr (std::is_floating_point_v<T>) {
    const bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) {
      if (na && nb) return ia < ib;
      return largest ? na : nb;  // nan is the largest
    }
  }
  if (a != b) return largest ? a > b : a < b;
  return ia < ib;
}

// The indices topk picks, computed on the host: for each line along dim, the k first in rank order.
Tensor topk_indices(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted) {
  const Tensor c = x.detach().cpu().contiguous();
  const std::int64_t n = c.size(dim);
  std::int64_t outer = 1, inner = 1;  // products of sizes of an existing tensor: no overflow
  for (std::int64_t d = 0; d < dim; ++d) outer *= c.size(d);
  for (std::int64_t d = dim + 1; d < c.dim(); ++d) inner *= c.size(d);
  Shape s = c.shape();
  s[dim] = k;
  Tensor idx = empty(s, {DType::int64, kCPU});
  std::int64_t* out = idx.data<std::int64_t>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  visit_any(c.dtype(), [&]<class T>() {
    const T* p = c.data<T>();
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t i = 0; i < inner; ++i) {
        const T* line = p + o * n * inner + i;
        auto before = [&](std::int64_t a, std::int64_t b) {
          return ranks_before(line[a * inner], a, line[b * inner], b, largest);
        };
        std::iota(order.begin(), order.end(), std::int64_t{0});
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        if (!sorted) std::sort(order.begin(), order.begin() + k);
        std::int64_t* dst = out + o * k * inner + i;
        for (std::int64_t j = 0; j < k; ++j) dst[j * inner] = order[static_cast<std::size_t>(j)];
      }
  });
  return idx.to(x.device());
}

}  // namespace

std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim_in, bool largest, bool sorted) {
  LUMEN_CHECK(x.defined(), "topk", "got an undefined tensor");
  LUMEN_CHECK(x.dim() >= 1, "topk", "expected a tensor with at least one dim, got shape ", x.shape());
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), "topk");
  LUMEN_CHECK(k >= 0 && k <= x.size(dim), "topk", "k = ", k, " is out of range [0, ", x.size(dim), "] for dim ", dim,
              " of shape ", x.shape());
  Tensor indices = topk_indices(x, k, dim, largest, sorted);
  return {gather(x, dim, indices), indices};
}

}  // namespace lumen
