// Reductions and softmax on CUDA. As on the CPU (kernels/cpu/reduce.cpp) the input is first laid out
// as a row-major [kept, reduced] matrix (a copy kernel when it is not already); then one warp reduces
// one row: each lane folds a strided share of the row, and five __shfl_down_sync steps fold the 32
// lanes (a tree, no shared memory). NaN and tie rules are the CPU's.
#include <algorithm>
#include <cmath>

#include "kernels/core/dtype.h"
#include "kernels/cuda/runtime.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr unsigned kFull = 0xffffffffu;

unsigned row_blocks(std::int64_t rows) {
  return static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

template <class T> __device__ T reduce_init(ReduceOp op) {
  return op == ReduceOp::sum ? T(0) : op == ReduceOp::max ? T(-INFINITY) : T(INFINITY);
}

template <class T> __device__ T combine(ReduceOp op, T acc, T v) {
  if (op == ReduceOp::sum) return acc + v;
  if (v != v) return v;  // NaN wins
  if (acc != acc) return acc;
  return op == ReduceOp::max ? (v > acc ? v : acc) : (v < acc ? v : acc);
}

template <class T> __global__ void reduce_rows(ReduceOp op, const T* x, T* out, std::int64_t M, std::int64_t R) {
  const std::int64_t row = std::int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= M) return;  // the whole warp leaves together
  T acc = reduce_init<T>(op);
  for (std::int64_t r = lane; r < R; r += 32) acc = combine(op, acc, x[row * R + r]);
  for (int o = 16; o > 0; o /= 2) acc = combine(op, acc, __shfl_down_sync(kFull, acc, o));
  if (lane == 0) out[row] = acc;
}

// The better of two candidates (index -1: none) under the CPU's rule: the first NaN, else the first
// extreme value.
template <class T> __device__ void better(ReduceOp op, T& bv, long long& bi, T v, long long i) {
  if (i < 0) return;
  if (bi < 0) {
    bv = v, bi = i;
    return;
  }
  const bool bnan = bv != bv, vnan = v != v;
  bool take;
  if (bnan || vnan) take = vnan && (!bnan || i < bi);
  else take = (op == ReduceOp::max ? v > bv : v < bv) || (v == bv && i < bi);
  if (take) bv = v, bi = i;
}

template <class T>
__global__ void arg_reduce_rows(ReduceOp op, const T* x, T* values, std::int64_t* indices, std::int64_t M, std::int64_t R) {
  const std::int64_t row = std::int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= M) return;
  T bv = T(0);
  long long bi = -1;
  for (std::int64_t r = lane; r < R; r += 32) better(op, bv, bi, x[row * R + r], static_cast<long long>(r));
  for (int o = 16; o > 0; o /= 2) {
    const T v = __shfl_down_sync(kFull, bv, o);
    const long long i = __shfl_down_sync(kFull, bi, o);
    better(op, bv, bi, v, i);
  }
  if (lane == 0) values[row] = bv, indices[row] = bi;
}

template <class T> __global__ void softmax_rows(const T* x, T* out, std::int64_t M, std::int64_t R, bool log_out) {
  const std::int64_t row = std::int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= M) return;
  const T* xr = x + row * R;
  T* orow = out + row * R;
  T mx = T(-INFINITY);
  for (std::int64_t r = lane; r < R; r += 32) mx = fmax(mx, xr[r]);
  for (int o = 16; o > 0; o /= 2) mx = fmax(mx, __shfl_xor_sync(kFull, mx, o));
  T s = 0;
  for (std::int64_t r = lane; r < R; r += 32) s += exp(xr[r] - mx);
  for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(kFull, s, o);
  const T ls = log(s);
  for (std::int64_t r = lane; r < R; r += 32) orow[r] = log_out ? xr[r] - mx - ls : exp(xr[r] - mx) / s;
}

// x with its dims reordered by perm, as a view.
TensorBase permuted(const TensorBase& x, const Shape& perm) {
  Shape s, st;
  for (auto p : perm) s.push_back(x.size(p)), st.push_back(x.stride(p));
  return make_view(x, s, st, x.offset());
}

bool dense_row_major(const TensorBase& t) {
  std::int64_t expected = 1;
  for (std::int64_t d = t.dim() - 1; d >= 0; --d) {
    if (t.size(d) != 1 && t.stride(d) != expected) return false;
    expected *= t.size(d);
  }
  return true;
}

// The permutation putting `moved` last, and x's data contiguous in that order.
Shape dims_last(const TensorBase& x, const Shape& moved) {
  Shape perm;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (std::find(moved.begin(), moved.end(), d) == moved.end()) perm.push_back(d);
  perm.insert(perm.end(), moved.begin(), moved.end());
  return perm;
}
TensorBase with_dims_last(const TensorBase& x, const Shape& moved) {
  TensorBase v = permuted(x, dims_last(x, moved));
  if (dense_row_major(v)) return v;
  TensorBase c = allocate(v.shape(), x.dtype(), x.device());
  copy(v, c);
  return c;
}

}  // namespace

void reduce(ReduceOp op, const TensorBase& x, const Shape& dims, const TensorBase& out) {
  visit_floating(x.dtype(), "reduce", [&]<class T>() {
    std::int64_t R = 1;
    for (auto d : dims) R *= x.size(d);
    const std::int64_t M = out.numel();
    if (M == 0) return;
    const TensorBase xc = with_dims_last(x, dims);
    reduce_rows<T><<<row_blocks(M), 32 * kWarpsPerBlock, 0, stream_of(out)>>>(op, xc.data<T>(), out.data<T>(), M, R);
    check_launch("reduce");
  });
}

void arg_reduce(ReduceOp op, const TensorBase& x, std::int64_t dim, const TensorBase& values, const TensorBase& indices) {
  visit_floating(x.dtype(), "arg_reduce", [&]<class T>() {
    const std::int64_t R = x.size(dim), M = values.numel();
    if (M == 0) return;
    const TensorBase xc = with_dims_last(x, {dim});
    arg_reduce_rows<T><<<row_blocks(M), 32 * kWarpsPerBlock, 0, stream_of(values)>>>(
        op, xc.data<T>(), values.data<T>(), indices.data<std::int64_t>(), M, R);
    check_launch("arg_reduce");
  });
}

void softmax(const TensorBase& x, std::int64_t dim, bool log, const TensorBase& out) {
  visit_floating(x.dtype(), "softmax", [&]<class T>() {
    const std::int64_t R = x.size(dim), M = x.numel() / std::max<std::int64_t>(R, 1);
    if (x.numel() == 0) return;
    const bool direct = dim == x.dim() - 1 && x.is_contiguous();
    const TensorBase xc = direct ? x : with_dims_last(x, {dim});
    const TensorBase oc = direct ? out : allocate(xc.shape(), x.dtype(), x.device());
    softmax_rows<T><<<row_blocks(M), 32 * kWarpsPerBlock, 0, stream_of(out)>>>(xc.data<T>(), oc.data<T>(), M, R, log);
    check_launch("softmax");
    if (!direct) {  // oc is [other dims..., dim]: view it back in x's order
      const Shape perm = dims_last(x, {dim});
      Shape inv(perm.size());
      for (std::size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<std::int64_t>(i);
      copy(permuted(oc, inv), out);
    }
  });
}

}  // namespace lumen::kernels::cuda
