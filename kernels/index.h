#pragma once
// Indexing kernels: gather/scatter-add along a dim (element-wise indices) and index_select/index_add
// (whole slices picked by a 1-D index). Indices are int64 and already bounds-checked by the op layer.
// Inputs may have any strides; the outputs updated in place must not overlap themselves (no stride-0
// dims), since different positions would then add into one element from different threads. The two
// in-place kernels bump out's version counter (kernels/core/storage.h).
#include "kernels/core/tensor_base.h"
#include "kernels/dispatch.h"

namespace lumen::kernels {

namespace cpu {
void gather(const TensorBase& x, std::int64_t dim, const TensorBase& index, const TensorBase& out);
void scatter_add(const TensorBase& out, std::int64_t dim, const TensorBase& index, const TensorBase& src);
void index_select(const TensorBase& x, std::int64_t dim, const TensorBase& index, const TensorBase& out);
void index_add(const TensorBase& out, std::int64_t dim, const TensorBase& index, const TensorBase& src);
}  // namespace cpu

// out[p] = x[p with p[dim] = index[p]]; out is shaped like index.
inline void gather(const TensorBase& x, std::int64_t dim, const TensorBase& index, const TensorBase& out) {
  LUMEN_DISPATCH("gather", x.device(), gather, x, dim, index, out);
}
// out[p with p[dim] = index[p]] += src[p], for p over index's shape (out is updated in place).
inline void scatter_add(const TensorBase& out, std::int64_t dim, const TensorBase& index, const TensorBase& src) {
  out.bump_version();
  LUMEN_DISPATCH("scatter_add", out.device(), scatter_add, out, dim, index, src);
}
// out[..., k, ...] = x[..., index[k], ...] along dim.
inline void index_select(const TensorBase& x, std::int64_t dim, const TensorBase& index, const TensorBase& out) {
  LUMEN_DISPATCH("index_select", x.device(), index_select, x, dim, index, out);
}
// out[..., index[k], ...] += src[..., k, ...] along dim (out is updated in place).
inline void index_add(const TensorBase& out, std::int64_t dim, const TensorBase& index, const TensorBase& src) {
  out.bump_version();
  LUMEN_DISPATCH("index_add", out.device(), index_add, out, dim, index, src);
}

}  // namespace lumen::kernels
