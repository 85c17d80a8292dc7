// Reductions and softmax on the CPU. Each one sees its input as a row-major matrix: either
// [kept, reduced] (reduce along rows) or [reduced, kept] (reduce down columns, as for a bias gradient
// summed over the batch). Inputs in any other layout are first copied into the first form.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/cpu/loops.h"
#include "kernels/kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace lumen::kernels::cpu {
namespace {

template <class T> using RowMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

bool dense_row_major(const Shape& shape, const Shape& strides) {
  std::int64_t expected = 1;
  for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

// x viewed with its dims reordered by `perm`, as a (possibly strided) tensor.
TensorBase permuted(const TensorBase& x, const Shape& perm) {
  Shape s, st;
  for (auto p : perm) {
    s.push_back(x.size(p));
    st.push_back(x.stride(p));
  }
  return make_view(x, s, st, x.offset());
}

// Contiguous data of x laid out as [kept dims..., `moved` dims...] (row-major).
TensorBase with_dims_last(const TensorBase& x, const Shape& moved) {
  Shape perm;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (std::find(moved.begin(), moved.end(), d) == moved.end()) perm.push_back(d);
  perm.insert(perm.end(), moved.begin(), moved.end());
  TensorBase v = permuted(x, perm);
  if (dense_row_major(v.shape(), v.strides())) return v;
  TensorBase c = allocate(v.shape(), x.dtype(), x.device());
  copy(v, c);
  return c;
}

template <class T> T reduce_init(ReduceOp op) {
  if (op == ReduceOp::sum) return T(0);
  return op == ReduceOp::max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
}

template <class T> void reduce_typed(ReduceOp op, const TensorBase& x, const Shape& dims, const TensorBase& out) {
  std::int64_t R = 1;
  for (auto d : dims) R *= x.size(d);
  const std::int64_t M = out.numel();
  T* po = out.data<T>();
  if (M == 0) return;
  if (R == 0) {  // a reduction of nothing: the identity (sum 0; the ops refuse max/min of nothing)
    std::fill(po, po + M, reduce_init<T>(op));
    return;
  }

  // Reduced dims leading and the rest dense: reduce down the columns of an [R, M] matrix.
  bool leading = true;
  for (std::size_t i = 0; i < dims.size(); ++i) leading &= dims[i] == static_cast<std::int64_t>(i);
  if (leading && M > 1 && dense_row_major(x.shape(), x.strides())) {
    const T* px = x.data<T>();
    parallel_for(M, std::max<std::int64_t>(16, kParallelGrain / R), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t j = b; j < e; ++j) po[j] = reduce_init<T>(op);
      for (std::int64_t i = 0; i < R; ++i) {
        const T* row = px + i * M;
        if (op == ReduceOp::sum)
          for (std::int64_t j = b; j < e; ++j) po[j] += row[j];
        else if (op == ReduceOp::max)
          for (std::int64_t j = b; j < e; ++j) po[j] = row[j] > po[j] || row[j] != row[j] ? row[j] : po[j];
        else
          for (std::int64_t j = b; j < e; ++j) po[j] = row[j] < po[j] || row[j] != row[j] ? row[j] : po[j];
      }
    });
    return;
  }
  // Reduced dims leading and trailing around a block of kept ones, all dense: x is an [A, M, B] array
  // reduced over A and B, e.g. a per-channel sum over {0, 2, 3} of [N, C, H, W] (batch norm, a conv's
  // bias gradient). Each output sums its A contiguous runs of B in place, with no transposing copy.
  std::int64_t first_kept = 0, last_kept = x.dim();  // the kept block is [first_kept, last_kept)
  while (first_kept < x.dim() && std::find(dims.begin(), dims.end(), first_kept) != dims.end()) ++first_kept;
  while (last_kept > first_kept && std::find(dims.begin(), dims.end(), last_kept - 1) != dims.end()) --last_kept;
  const bool block = static_cast<std::int64_t>(dims.size()) == x.dim() - (last_kept - first_kept);
  if (block && first_kept > 0 && last_kept < x.dim() && dense_row_major(x.shape(), x.strides())) {
    std::int64_t A = 1, B = 1;
    for (std::int64_t d = 0; d < first_kept; ++d) A *= x.size(d);
    for (std::int64_t d = last_kept; d < x.dim(); ++d) B *= x.size(d);
    const T* px = x.data<T>();
    parallel_for(M, std::max<std::int64_t>(1, kParallelGrain / R), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t m = b; m < e; ++m) {
        T acc = reduce_init<T>(op);
        bool nan = false;
        for (std::int64_t a = 0; a < A; ++a) {
          RowMap<T> run(px + (a * M + m) * B, B);
          if (op == ReduceOp::sum) acc += run.sum();
          else if (run.isNaN().any()) nan = true;
          else acc = op == ReduceOp::max ? std::max(acc, run.maxCoeff()) : std::min(acc, run.minCoeff());
        }
        po[m] = nan ? std::numeric_limits<T>::quiet_NaN() : acc;
      }
    });
    return;
  }
  TensorBase xc = with_dims_last(x, dims);
  const T* px = xc.data<T>();
  parallel_for(M, std::max<std::int64_t>(1, kParallelGrain / R), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t m = b; m < e; ++m) {
      RowMap<T> row(px + m * R, R);
      if (op == ReduceOp::sum) po[m] = row.sum();
      else if (row.isNaN().any()) po[m] = std::numeric_limits<T>::quiet_NaN();
      else po[m] = op == ReduceOp::max ? row.maxCoeff() : row.minCoeff();
    }
  });
}

}  // namespace

void reduce(ReduceOp op, const TensorBase& x, const Shape& dims, const TensorBase& out) {
  visit_floating(x.dtype(), "reduce", [&]<class T>() { reduce_typed<T>(op, x, dims, out); });
}

namespace {

// The index arg_reduce picks in a row: the first extreme, or the first NaN if the row has one.
template <class T> std::int64_t arg_extreme(ReduceOp op, const T* row, std::int64_t R) {
  // The extreme by a vectorised reduction (NaN if the row has one), then the first index holding it:
  // the same answer as a scan keeping the first strict improvement (ties go to the first), several
  // times faster on the short rows of a max over time.
  const RowMap<T> v(row, R);
  const T extreme = op == ReduceOp::max ? v.template maxCoeff<Eigen::PropagateNaN>()
                                        : v.template minCoeff<Eigen::PropagateNaN>();
  std::int64_t best = 0;
  if (extreme != extreme) {
    while (row[best] == row[best]) ++best;
  } else {
    while (row[best] != extreme) ++best;
  }
  return best;
}

#if defined(__AVX512F__)
// The same for float rows, 16 lanes at a time with the tail masked: the max over time of a text CNN
// (rows of ~40) spent most of its time in Eigen's NaN-propagating reduction and the scalar scan.
template <> std::int64_t arg_extreme<float>(ReduceOp op, const float* row, std::int64_t R) {
  const bool is_max = op == ReduceOp::max;
  const __m512 neutral = _mm512_set1_ps(is_max ? -std::numeric_limits<float>::infinity()
                                               : std::numeric_limits<float>::infinity());
  auto lanes = [R](std::int64_t i) {
    return static_cast<__mmask16>(i + 16 <= R ? 0xFFFF : (1u << (R - i)) - 1);
  };
  __m512 acc = neutral;
  __mmask16 nan = 0;
  for (std::int64_t i = 0; i < R; i += 16) {
    const __m512 x = _mm512_mask_loadu_ps(neutral, lanes(i), row + i);
    nan |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    acc = is_max ? _mm512_max_ps(acc, x) : _mm512_min_ps(acc, x);
  }
  if (nan) {
    std::int64_t best = 0;
    while (row[best] == row[best]) ++best;
    return best;
  }
  const __m512 extreme = _mm512_set1_ps(is_max ? _mm512_reduce_max_ps(acc) : _mm512_reduce_min_ps(acc));
  for (std::int64_t i = 0;; i += 16)
    if (const __mmask16 hit = _mm512_mask_cmp_ps_mask(lanes(i), _mm512_maskz_loadu_ps(lanes(i), row + i), extreme, _CMP_EQ_OQ))
      return i + __builtin_ctz(hit);
}
#endif

}  // namespace

void arg_reduce(ReduceOp op, const TensorBase& x, std::int64_t dim, const TensorBase& values, const TensorBase& indices) {
  visit_floating(x.dtype(), "arg_reduce", [&]<class T>() {
    TensorBase xc = with_dims_last(x, {dim});
    const std::int64_t R = x.size(dim), M = values.numel();
    const T* px = xc.data<T>();
    T* pv = values.data<T>();
    std::int64_t* pi = indices.data<std::int64_t>();
    parallel_for(M, std::max<std::int64_t>(1, kParallelGrain / R), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t m = b; m < e; ++m) {
        const T* row = px + m * R;
        const std::int64_t best = arg_extreme(op, row, R);
        pv[m] = row[best];
        pi[m] = best;
      }
    });
  });
}

void softmax(const TensorBase& x, std::int64_t dim, bool log, const TensorBase& out) {
  visit_floating(x.dtype(), "softmax", [&]<class T>() {
    const bool direct = dim == x.dim() - 1 && x.is_contiguous();
    TensorBase xc = direct ? x : with_dims_last(x, {dim});
    TensorBase oc = direct ? out : allocate(xc.shape(), x.dtype(), x.device());
    const std::int64_t R = x.size(dim), M = x.numel() / std::max<std::int64_t>(R, 1);
    const T* px = xc.data<T>();
    T* po = oc.data<T>();
    parallel_for(M, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(R, 1)),
                 [&](std::int64_t b, std::int64_t e) {
                   for (std::int64_t m = b; m < e; ++m) {
                     RowMap<T> row(px + m * R, R);
                     Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> o(po + m * R, R);
                     const T mx = row.maxCoeff();
                     o = (row - mx).exp();
                     const T s = o.sum();
                     if (log) o = row - mx - std::log(s);
                     else o /= s;
                   }
                 });
    if (!direct) {
      // oc is laid out [other dims..., dim]: view it back in x's dim order and copy into out.
      Shape perm;
      for (std::int64_t d = 0; d < x.dim(); ++d)
        if (d != dim) perm.push_back(d);
      perm.push_back(dim);
      Shape inv(perm.size());
      for (std::size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<std::int64_t>(i);
      copy(permuted(oc, inv), out);
    }
  });
}

}  // namespace lumen::kernels::cpu
