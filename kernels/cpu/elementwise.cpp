// Elementwise CPU kernels. Unary math runs through Eigen array expressions (vectorised exp, log,
// tanh, erf...); binary ops are plain loops over strided runs, which the compiler vectorises for the
// three common layouts (all contiguous, scalar right, scalar left).
#include <Eigen/Core>
#include <cmath>
#include <unsupported/Eigen/SpecialFunctions>

#include "kernels/cpu/loops.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cpu {
namespace {

template <class T> using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;
template <class T> using VecMap = Eigen::Map<Vec<T>>;
template <class T> using CVecMap = Eigen::Map<const Vec<T>>;
template <class T> using CStridedMap = Eigen::Map<const Vec<T>, 0, Eigen::InnerStride<>>;

// o = op(x) as one Eigen expression; x is an Eigen array expression of scalar T, o a map.
template <class T, class O, class X> void unary_assign(UnaryOp op, O&& o, const X& x, T a, T b) {
  switch (op) {
    case UnaryOp::neg: o = -x; return;
    case UnaryOp::exp: o = x.exp(); return;
    case UnaryOp::log: o = x.log(); return;
    case UnaryOp::sqrt: o = x.sqrt(); return;
    case UnaryOp::abs: o = x.abs(); return;
    case UnaryOp::sign: o = x.sign(); return;
    case UnaryOp::erf: o = x.erf(); return;
    case UnaryOp::relu: o = x.max(T(0)); return;
    case UnaryOp::relu_mask: o = (x > T(0)).template cast<T>(); return;
    case UnaryOp::leaky_relu: o = (x > T(0)).select(x, x * a); return;
    case UnaryOp::leaky_slope: o = (x > T(0)).template cast<T>() * (T(1) - a) + a; return;
    case UnaryOp::sigmoid: o = (T(1) + (-x).exp()).inverse(); return;
    case UnaryOp::tanh: o = x.tanh(); return;
    // softplus(x) = log(1 + e^{βx})/β, linear above the threshold where it equals x to float precision
    case UnaryOp::softplus: o = (x * a > b).select(x, (x * a).exp().log1p() / a); return;
    case UnaryOp::gelu: o = T(0.5) * x * (T(1) + (x * T(M_SQRT1_2)).erf()); return;
    case UnaryOp::pow:
      if (a == T(2)) o = x.square();
      else if (a == T(1)) o = x;
      else if (a == T(0.5)) o = x.sqrt();
      else o = x.pow(a);
      return;
    case UnaryOp::clamp: o = x.max(a).min(b); return;
    case UnaryOp::clamp_mask: o = ((x >= a) && (x <= b)).template cast<T>(); return;
    case UnaryOp::add_scalar: o = x + a; return;
    case UnaryOp::mul_scalar: o = x * a; return;
    case UnaryOp::rsub_scalar: o = a - x; return;
    case UnaryOp::reciprocal: o = x.inverse(); return;
    case UnaryOp::square: o = x.square(); return;
  }
}

template <class T> void unary_typed(UnaryOp op, const TensorBase& x, const TensorBase& out, T a, T b) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  strided_loop<2>(out.shape(), {out.strides(), x.strides()}, [&](auto off, std::int64_t n, auto st) {
    VecMap<T> o(po + off[0], n);  // out is contiguous: its inner stride is 1
    if (st[1] == 1)
      unary_assign<T>(op, o, CVecMap<T>(px + off[1], n), a, b);
    else
      unary_assign<T>(op, o, CStridedMap<T>(px + off[1], n, Eigen::InnerStride<>(st[1])), a, b);
  });
}

template <class T, class F> void binary_loop(const TensorBase& a, const TensorBase& b, const TensorBase& out, F f) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  std::array<Shape, 3> strides{out.strides(), broadcast_strides(a, out.shape()), broadcast_strides(b, out.shape())};
  strided_loop<3>(out.shape(), strides, [&](auto off, std::int64_t n, auto st) {
    T* o = po + off[0];
    const T* x = pa + off[1];
    const T* y = pb + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const T yv = *y;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const T xv = *x;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) o[i * st[0]] = f(x[i * st[1]], y[i * st[2]]);
    }
  });
}

template <class T> void binary_typed(BinaryOp op, const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  switch (op) {
    case BinaryOp::add: return binary_loop<T>(a, b, out, [](T x, T y) { return x + y; });
    case BinaryOp::sub: return binary_loop<T>(a, b, out, [](T x, T y) { return x - y; });
    case BinaryOp::mul: return binary_loop<T>(a, b, out, [](T x, T y) { return x * y; });
    case BinaryOp::div: return binary_loop<T>(a, b, out, [](T x, T y) { return x / y; });
    case BinaryOp::pow: return binary_loop<T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
    // NaN propagates, as in PyTorch's maximum/minimum
    case BinaryOp::maximum: return binary_loop<T>(a, b, out, [](T x, T y) { return (x > y || x != x) ? x : y; });
    case BinaryOp::minimum: return binary_loop<T>(a, b, out, [](T x, T y) { return (x < y || x != x) ? x : y; });
    case BinaryOp::gt: return binary_loop<T>(a, b, out, [](T x, T y) { return T(x > y); });
    case BinaryOp::lt: return binary_loop<T>(a, b, out, [](T x, T y) { return T(x < y); });
    case BinaryOp::ge: return binary_loop<T>(a, b, out, [](T x, T y) { return T(x >= y); });
    case BinaryOp::le: return binary_loop<T>(a, b, out, [](T x, T y) { return T(x <= y); });
    case BinaryOp::eq: return binary_loop<T>(a, b, out, [](T x, T y) { return T(x == y); });
    case BinaryOp::ne: return binary_loop<T>(a, b, out, [](T x, T y) { return T(x != y); });
    case BinaryOp::relu_grad: return binary_loop<T>(a, b, out, [](T g, T x) { return x > T(0) ? g : T(0); });
  }
}

}  // namespace

void unary(UnaryOp op, const TensorBase& x, const TensorBase& out, double a, double b) {
  visit_floating(x.dtype(), "unary", [&]<class T>() { unary_typed<T>(op, x, out, T(a), T(b)); });
}

void binary(BinaryOp op, const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  visit_floating(out.dtype(), "binary", [&]<class T>() { binary_typed<T>(op, a, b, out); });
}

void where(const TensorBase& cond, const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  visit_floating(out.dtype(), "where", [&]<class T>() {
    visit_any(cond.dtype(), [&]<class C>() {
      const C* pc = cond.data<C>();
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* po = out.data<T>();
      const Shape& s = out.shape();
      std::array<Shape, 4> st{out.strides(), broadcast_strides(cond, s), broadcast_strides(a, s), broadcast_strides(b, s)};
      strided_loop<4>(s, st, [&](auto off, std::int64_t n, auto in) {
        for (std::int64_t i = 0; i < n; ++i)
          po[off[0] + i * in[0]] = pc[off[1] + i * in[1]] != C(0) ? pa[off[2] + i * in[2]] : pb[off[3] + i * in[3]];
      });
    });
  });
}

void copy(const TensorBase& src, const TensorBase& dst) {
  visit_any(dst.dtype(), [&]<class D>() {
    visit_any(src.dtype(), [&]<class S>() {
      const S* ps = src.data<S>();
      D* pd = dst.data<D>();
      strided_loop<2>(dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())},
                      [&](auto off, std::int64_t n, auto st) {
                        D* d = pd + off[0];
                        const S* s = ps + off[1];
                        if (st[0] == 1 && st[1] == 1)
                          for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(s[i]);
                        else
                          for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] = static_cast<D>(s[i * st[1]]);
                      });
    });
  });
}

void fill(const TensorBase& dst, double value) {
  visit_any(dst.dtype(), [&]<class T>() {
    T* p = dst.data<T>();
    const T v = static_cast<T>(value);
    strided_loop<1>(dst.shape(), {dst.strides()}, [&](auto off, std::int64_t n, auto st) {
      for (std::int64_t i = 0; i < n; ++i) p[off[0] + i * st[0]] = v;
    });
  });
}

void axpy(const TensorBase& dst, const TensorBase& src, double alpha) {
  visit_floating(dst.dtype(), "axpy", [&]<class T>() {
    const T* ps = src.data<T>();
    T* pd = dst.data<T>();
    const T al = static_cast<T>(alpha);
    strided_loop<2>(dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())},
                    [&](auto off, std::int64_t n, auto st) {
                      T* d = pd + off[0];
                      const T* s = ps + off[1];
                      if (st[0] == 1 && st[1] == 1)
                        for (std::int64_t i = 0; i < n; ++i) d[i] += al * s[i];
                      else
                        for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] += al * s[i * st[1]];
                    });
  });
}

}  // namespace lumen::kernels::cpu
