// Elementwise CUDA kernels: one grid-stride kernel per arity over an Indexer (runtime.h), so any
// strides and numpy broadcasting work the same way for every op; the op itself is a switch that is
// uniform across a launch. The math mirrors kernels/cpu/elementwise.cpp line for line.
#include <cmath>

#include "kernels/core/dtype.h"
#include "kernels/cuda/runtime.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cuda {
namespace {

template <class T> __device__ T unary_op(UnaryOp op, T x, T a, T b) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return exp(x);
    case UnaryOp::log: return log(x);
    case UnaryOp::sqrt: return sqrt(x);
    case UnaryOp::abs: return fabs(x);
    case UnaryOp::sign: return T((x > T(0)) - (x < T(0)));
    case UnaryOp::erf: return erf(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::relu_mask: return T(x > T(0));
    case UnaryOp::leaky_relu: return x > T(0) ? x : x * a;
    case UnaryOp::leaky_slope: return x > T(0) ? T(1) : a;
    case UnaryOp::sigmoid: return T(1) / (T(1) + exp(-x));
    case UnaryOp::tanh: return tanh(x);
    case UnaryOp::softplus: return x * a > b ? x : log1p(exp(x * a)) / a;
    case UnaryOp::gelu: return T(0.5) * x * (T(1) + erf(x * T(M_SQRT1_2)));
    case UnaryOp::pow:
      if (a == T(2)) return x * x;
      if (a == T(1)) return x;
      if (a == T(0.5)) return sqrt(x);
      return pow(x, a);
    case UnaryOp::clamp: return fmin(fmax(x, a), b);
    case UnaryOp::clamp_mask: return T(x >= a && x <= b);
    case UnaryOp::add_scalar: return x + a;
    case UnaryOp::mul_scalar: return x * a;
    case UnaryOp::rsub_scalar: return a - x;
    case UnaryOp::reciprocal: return T(1) / x;
    case UnaryOp::square: return x * x;
  }
  return x;
}

template <class T> __device__ T binary_op(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::add: return x + y;
    case BinaryOp::sub: return x - y;
    case BinaryOp::mul: return x * y;
    case BinaryOp::div: return x / y;
    case BinaryOp::pow: return pow(x, y);
    case BinaryOp::maximum: return (x > y || x != x) ? x : y;  // NaN propagates, as in PyTorch
    case BinaryOp::minimum: return (x < y || x != x) ? x : y;
    case BinaryOp::gt: return T(x > y);
    case BinaryOp::lt: return T(x < y);
    case BinaryOp::ge: return T(x >= y);
    case BinaryOp::le: return T(x <= y);
    case BinaryOp::eq: return T(x == y);
    case BinaryOp::ne: return T(x != y);
    case BinaryOp::relu_grad: return y > T(0) ? x : T(0);
  }
  return x;
}

template <class T> __global__ void unary_kernel(UnaryOp op, Indexer<2> ix, const T* x, T* out, T a, T b) {
  LUMEN_GRID_STRIDE(i, ix.numel) {
    std::int64_t off[2];
    ix.offsets(i, off);
    out[off[0]] = unary_op<T>(op, x[off[1]], a, b);
  }
}

template <class T> __global__ void binary_kernel(BinaryOp op, Indexer<3> ix, const T* a, const T* b, T* out) {
  LUMEN_GRID_STRIDE(i, ix.numel) {
    std::int64_t off[3];
    ix.offsets(i, off);
    out[off[0]] = binary_op<T>(op, a[off[1]], b[off[2]]);
  }
}

template <class T, class C> __global__ void where_kernel(Indexer<4> ix, const C* cond, const T* a, const T* b, T* out) {
  LUMEN_GRID_STRIDE(i, ix.numel) {
    std::int64_t off[4];
    ix.offsets(i, off);
    out[off[0]] = cond[off[1]] != C(0) ? a[off[2]] : b[off[3]];
  }
}

template <class D, class S> __global__ void copy_kernel(Indexer<2> ix, const S* src, D* dst) {
  LUMEN_GRID_STRIDE(i, ix.numel) {
    std::int64_t off[2];
    ix.offsets(i, off);
    dst[off[0]] = static_cast<D>(src[off[1]]);
  }
}

template <class T> __global__ void fill_kernel(Indexer<1> ix, T* dst, T value) {
  LUMEN_GRID_STRIDE(i, ix.numel) {
    std::int64_t off[1];
    ix.offsets(i, off);
    dst[off[0]] = value;
  }
}

template <class T> __global__ void axpy_kernel(Indexer<2> ix, T* dst, const T* src, T alpha) {
  LUMEN_GRID_STRIDE(i, ix.numel) {
    std::int64_t off[2];
    ix.offsets(i, off);
    dst[off[0]] += alpha * src[off[1]];
  }
}

}  // namespace

void unary(UnaryOp op, const TensorBase& x, const TensorBase& out, double a, double b) {
  visit_floating(x.dtype(), "unary", [&]<class T>() {
    const auto ix = make_indexer<2>("unary", out.shape(), {out.strides(), broadcast_strides(x, out.shape())});
    if (ix.numel == 0) return;
    unary_kernel<T><<<blocks_for(ix.numel), 256, 0, stream_of(out)>>>(op, ix, x.data<T>(), out.data<T>(), T(a), T(b));
    check_launch("unary");
  });
}

void binary(BinaryOp op, const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  visit_floating(out.dtype(), "binary", [&]<class T>() {
    const Shape& s = out.shape();
    const auto ix = make_indexer<3>("binary", s, {out.strides(), broadcast_strides(a, s), broadcast_strides(b, s)});
    if (ix.numel == 0) return;
    binary_kernel<T><<<blocks_for(ix.numel), 256, 0, stream_of(out)>>>(op, ix, a.data<T>(), b.data<T>(), out.data<T>());
    check_launch("binary");
  });
}

void where(const TensorBase& cond, const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  visit_floating(out.dtype(), "where", [&]<class T>() {
    visit_any(cond.dtype(), [&]<class C>() {
      const Shape& s = out.shape();
      const auto ix = make_indexer<4>(
          "where", s, {out.strides(), broadcast_strides(cond, s), broadcast_strides(a, s), broadcast_strides(b, s)});
      if (ix.numel == 0) return;
      where_kernel<T, C><<<blocks_for(ix.numel), 256, 0, stream_of(out)>>>(ix, cond.data<C>(), a.data<T>(), b.data<T>(),
                                                                          out.data<T>());
      check_launch("where");
    });
  });
}

void copy(const TensorBase& src, const TensorBase& dst) {
  visit_any(dst.dtype(), [&]<class D>() {
    visit_any(src.dtype(), [&]<class S>() {
      const auto ix = make_indexer<2>("copy", dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())});
      if (ix.numel == 0) return;
      copy_kernel<D, S><<<blocks_for(ix.numel), 256, 0, stream_of(dst)>>>(ix, src.data<S>(), dst.data<D>());
      check_launch("copy");
    });
  });
}

void fill(const TensorBase& dst, double value) {
  visit_any(dst.dtype(), [&]<class T>() {
    const auto ix = make_indexer<1>("fill", dst.shape(), {dst.strides()});
    if (ix.numel == 0) return;
    fill_kernel<T><<<blocks_for(ix.numel), 256, 0, stream_of(dst)>>>(ix, dst.data<T>(), static_cast<T>(value));
    check_launch("fill");
  });
}

void axpy(const TensorBase& dst, const TensorBase& src, double alpha) {
  visit_floating(dst.dtype(), "axpy", [&]<class T>() {
    const auto ix = make_indexer<2>("axpy", dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())});
    if (ix.numel == 0) return;
    axpy_kernel<T><<<blocks_for(ix.numel), 256, 0, stream_of(dst)>>>(ix, dst.data<T>(), src.data<T>(), static_cast<T>(alpha));
    check_launch("axpy");
  });
}

}  // namespace lumen::kernels::cuda
