#pragma once
// The core kernels: elementwise math with broadcasting, copies, reductions, softmax, batched GEMM and
// random fills. Kernels work below autograd: they read input tensors of any strides and write into an
// output the caller allocated (contiguous unless said otherwise). They check nothing that the op
// layer (autograd/ops) already checked.
#include <cstdint>

#include "kernels/core/tensor_base.h"
#include "kernels/dispatch.h"

namespace lumen::kernels {

// y = f(x; a, b). Parameters: leaky_relu/leaky_slope a = negative slope; softplus a = beta, b = threshold;
// pow a = exponent; clamp/clamp_mask a = lo, b = hi; add_scalar/mul_scalar/rsub_scalar a = scalar.
enum class UnaryOp {
  neg, exp, log, sqrt, abs, sign, erf, relu, relu_mask, leaky_relu, leaky_slope, sigmoid, tanh, softplus,
  gelu, pow, clamp, clamp_mask, add_scalar, mul_scalar, rsub_scalar, reciprocal, square
};
// out = a (op) b with a and b broadcast to out's shape. Comparisons write 1 or 0.
// relu_grad(g, x) = x > 0 ? g : 0: ReLU's backward in one pass (instead of a mask, then a product).
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum, gt, lt, ge, le, eq, ne, relu_grad };
enum class ReduceOp { sum, max, min };

// Each device implements the same set, declared once here for both namespaces.
#define LUMEN_CORE_KERNELS_DECLARE \
void unary(UnaryOp op, const TensorBase& x, const TensorBase& out, double a, double b); \
void binary(BinaryOp op, const TensorBase& a, const TensorBase& b, const TensorBase& out); \
void where(const TensorBase& cond, const TensorBase& a, const TensorBase& b, const TensorBase& out); \
void copy(const TensorBase& src, const TensorBase& dst); \
void fill(const TensorBase& dst, double value); \
void axpy(const TensorBase& dst, const TensorBase& src, double alpha); \
void reduce(ReduceOp op, const TensorBase& x, const Shape& dims, const TensorBase& out); \
void arg_reduce(ReduceOp op, const TensorBase& x, std::int64_t dim, const TensorBase& values, const TensorBase& indices); \
void softmax(const TensorBase& x, std::int64_t dim, bool log, const TensorBase& out); \
void matmul(const TensorBase& a, const TensorBase& b, const TensorBase& out); \
void random_uniform(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi); \
void random_normal(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double mean, double std); \
void random_int(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, std::int64_t lo, std::int64_t hi); \
  /* end */

namespace cpu {
LUMEN_CORE_KERNELS_DECLARE
}  // namespace cpu
#ifdef LUMEN_WITH_CUDA
namespace cuda {
LUMEN_CORE_KERNELS_DECLARE
}  // namespace cuda
#endif
#undef LUMEN_CORE_KERNELS_DECLARE

inline void unary(UnaryOp op, const TensorBase& x, const TensorBase& out, double a = 0, double b = 0) {
  LUMEN_DISPATCH_GPU("unary", x.device(), unary, op, x, out, a, b);
}
inline void binary(BinaryOp op, const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  LUMEN_DISPATCH_GPU("binary", out.device(), binary, op, a, b, out);
}
inline void where(const TensorBase& cond, const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  LUMEN_DISPATCH_GPU("where", out.device(), where, cond, a, b, out);
}
// dst = src elementwise (same shape, any strides, converting dtype). Both on one device; cross-device
// copies go through Tensor::to (autograd/tensor.h).
inline void copy(const TensorBase& src, const TensorBase& dst) { LUMEN_DISPATCH_GPU("copy", dst.device(), copy, src, dst); }
inline void fill(const TensorBase& dst, double value) { LUMEN_DISPATCH_GPU("fill", dst.device(), fill, dst, value); }
// dst += alpha * src (same shape; src may be any strides, dst contiguous). Gradient accumulation, optimizers.
inline void axpy(const TensorBase& dst, const TensorBase& src, double alpha) {
  LUMEN_DISPATCH_GPU("axpy", dst.device(), axpy, dst, src, alpha);
}
// out has x's shape with `dims` (sorted, unique) set to 1.
inline void reduce(ReduceOp op, const TensorBase& x, const Shape& dims, const TensorBase& out) {
  LUMEN_DISPATCH_GPU("reduce", x.device(), reduce, op, x, dims, out);
}
// max/min along one dim: values and int64 indices shaped like x with dim set to 1.
inline void arg_reduce(ReduceOp op, const TensorBase& x, std::int64_t dim, const TensorBase& values, const TensorBase& indices) {
  LUMEN_DISPATCH_GPU("arg_reduce", x.device(), arg_reduce, op, x, dim, values, indices);
}
inline void softmax(const TensorBase& x, std::int64_t dim, bool log, const TensorBase& out) {
  LUMEN_DISPATCH_GPU("softmax", x.device(), softmax, x, dim, log, out);
}
// a [B, M, K] x b [B, K, N] -> out [B, M, N]. a and b may have any strides (batch stride 0 broadcasts).
inline void matmul(const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  LUMEN_DISPATCH_GPU("matmul", out.device(), matmul, a, b, out);
}
// Counter-based (Philox 4x32-10): element i of the fill depends only on (seed, offset + i), so any
// device and any thread count give the same numbers.
inline void random_uniform(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi) {
  LUMEN_DISPATCH_GPU("random_uniform", out.device(), random_uniform, out, seed, offset, lo, hi);
}
inline void random_normal(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
  LUMEN_DISPATCH_GPU("random_normal", out.device(), random_normal, out, seed, offset, mean, std);
}
// Integers in [lo, hi).
inline void random_int(const TensorBase& out, std::uint64_t seed, std::uint64_t offset, std::int64_t lo, std::int64_t hi) {
  LUMEN_DISPATCH_GPU("random_int", out.device(), random_int, out, seed, offset, lo, hi);
}

}  // namespace lumen::kernels
