#pragma once
// Pooling and resampling kernels on NCHW tensors, plane by plane (a plane is one [H, W] image of one
// channel).
//
// Max pooling picks one input per output: its kernel returns the values and the flat index h * W + w
// of each pick within its plane; plane_scatter_add / plane_gather move values along those indices
// (backward and double backward).
//
// avg_pool2d, adaptive_avg_pool2d and both upsamplings are linear and *separable*: each output is
// sum_{i, j} a_h[oh, i] * a_w[ow, j] * x[i, j] for two sparse 1-D matrices a_h, a_w. So one kernel,
// resample2d (out = A_h X A_wᵀ per plane), and its adjoint (dx = A_hᵀ G A_w) serve them all; the ops
// differ only in the 1-D taps they build.
#include <cstdint>
#include <vector>

#include "kernels/core/tensor_base.h"
#include "kernels/dispatch.h"

namespace lumen::kernels {

// A sparse [out_size, in_size] matrix by rows: output o is sum_k weight[k] * input[index[k]] over
// k in [start[o], start[o + 1]).
struct Taps {
  std::int64_t in_size = 0;
  std::vector<std::int64_t> start{0};
  std::vector<std::int64_t> index;
  std::vector<double> weight;
  std::int64_t out_size() const { return static_cast<std::int64_t>(start.size()) - 1; }
  void add(std::int64_t i, double w) { index.push_back(i), weight.push_back(w); }
  void end_row() { start.push_back(static_cast<std::int64_t>(index.size())); }
};

struct MaxPool2dGeometry {
  std::int64_t kh, kw, sh, sw, ph, pw;
};

namespace cpu {
void max_pool2d(const TensorBase& x, const TensorBase& out, const TensorBase& indices, const MaxPool2dGeometry& g);
void plane_scatter_add(const TensorBase& src, const TensorBase& indices, const TensorBase& out);
void plane_gather(const TensorBase& x, const TensorBase& indices, const TensorBase& out);
void resample2d(const TensorBase& x, const Taps& th, const Taps& tw, const TensorBase& out);
void resample2d_adjoint(const TensorBase& g, const Taps& th, const Taps& tw, const TensorBase& dx);
}  // namespace cpu

// Inputs may have any strides; outputs are contiguous and allocated by the caller.
// x [N, C, H, W] -> out and int64 indices [N, C, OH, OW]. Padding counts as -inf; NaN wins, as in PyTorch.
inline void max_pool2d(const TensorBase& x, const TensorBase& out, const TensorBase& indices, const MaxPool2dGeometry& g) {
  LUMEN_DISPATCH("max_pool2d", x.device(), max_pool2d, x, out, indices, g);
}
// out [N, C, H, W] = 0, then out[n, c].flat[indices[n, c, j]] += src[n, c, j] for every j.
inline void plane_scatter_add(const TensorBase& src, const TensorBase& indices, const TensorBase& out) {
  LUMEN_DISPATCH("plane_scatter_add", out.device(), plane_scatter_add, src, indices, out);
}
// out[n, c, j] = x[n, c].flat[indices[n, c, j]]; out has the indices' shape.
inline void plane_gather(const TensorBase& x, const TensorBase& indices, const TensorBase& out) {
  LUMEN_DISPATCH("plane_gather", out.device(), plane_gather, x, indices, out);
}
// x [N, C, th.in_size, tw.in_size] -> out [N, C, th.out_size(), tw.out_size()].
inline void resample2d(const TensorBase& x, const Taps& th, const Taps& tw, const TensorBase& out) {
  LUMEN_DISPATCH("resample2d", out.device(), resample2d, x, th, tw, out);
}
// The adjoint: g [N, C, th.out_size(), tw.out_size()] -> dx [N, C, th.in_size, tw.in_size] (overwritten).
inline void resample2d_adjoint(const TensorBase& g, const Taps& th, const Taps& tw, const TensorBase& dx) {
  LUMEN_DISPATCH("resample2d_adjoint", dx.device(), resample2d_adjoint, g, th, tw, dx);
}

}  // namespace lumen::kernels
