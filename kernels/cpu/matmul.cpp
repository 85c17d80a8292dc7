// Batched GEMM: float through packed_sgemm (kernels/cpu/sgemm.h) where the CPU has AVX-512, everything
// else through Eigen. Each operand matrix is mapped in place when one of its two last dims is
// unit-stride (row-major, or column-major, which is how a transposed view looks), so backward's
// a^T and b^T cost no copy. Small batched products run one matrix per thread; a single large product
// is split into row or column blocks, one per thread, each a single-threaded Eigen GEMM. (Eigen's own
// parallel GEMM makes its threads spin-wait on each other: with any other load on a 2-core machine a
// thread that loses its core stalls the other, and a step can become 10-100x slower.)
//
// Bitwise reproducible whatever the thread count: each output element is summed by one GEMM call in
// an order fixed by the shapes. packed_sgemm rounds an element the same in any block of rows or columns
// (its k slices are fixed), so its blocks may follow the threads; Eigen's does not (a row's rounding
// depends on where it falls in the product), so its blocks are fixed by the shape (fixed_blocks).
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>

#include <algorithm>
#include <type_traits>

#include "kernels/cpu/loops.h"
#include "kernels/cpu/sgemm.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cpu {
namespace {

// Calls f(begin, end) on a fixed split of [0, n): at most 4 blocks of at least 32, whatever the thread
// count (see above), run in parallel.
template <class F> void fixed_blocks(std::int64_t n, F&& f) {
  const std::int64_t blocks = std::clamp<std::int64_t>(n / 32, 1, 4);
  const int threads = omp_in_parallel() ? 1 : static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), blocks));
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (std::int64_t b = 0; b < blocks; ++b) f(n * b / blocks, n * (b + 1) / blocks);
}

template <class T, int Order> using MatMap =
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, 0, Eigen::OuterStride<>>;

// A 3-D operand whose matrices Eigen can read directly (copied to contiguous if not).
struct Operand {
  TensorBase t;
  bool col_major;
  std::int64_t ld;
};

Operand as_operand(const TensorBase& x) {
  const std::int64_t rows = x.size(1), cols = x.size(2);
  if (x.stride(2) == 1 && (rows == 1 || x.stride(1) >= cols)) return {x, false, rows == 1 ? cols : x.stride(1)};
  if (x.stride(1) == 1 && (cols == 1 || x.stride(2) >= rows)) return {x, true, cols == 1 ? rows : x.stride(2)};
  TensorBase c = allocate(x.shape(), x.dtype(), x.device());
  copy(x, c);
  return {c, false, cols};
}

// Product i of a float batch through packed_sgemm (sgemm.h), computed as Cᵀ = Bᵀ · Aᵀ: C's contiguous
// rows become the kernel's contiguous columns, so whole tiles are stored straight into C. Large
// products are split across threads as in gemm_batch below.
void packed_one(const Operand& a, const Operand& b, float* c, std::int64_t i, std::int64_t M, std::int64_t N,
                std::int64_t K, bool parallel_batches) {
  // (row stride, column stride) of A(r, p) and B(p, j) as stored
  const std::int64_t ars = a.col_major ? 1 : a.ld, acs = a.col_major ? a.ld : 1;
  const std::int64_t brs = b.col_major ? 1 : b.ld, bcs = b.col_major ? b.ld : 1;
  const float* pa = a.t.data<float>() + i * a.t.stride(0);
  const float* pb = b.t.data<float>() + i * b.t.stride(0);
  auto block = [&](std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
    // Cᵀ(j, r) = Σ_p Bᵀ(j, p) Aᵀ(p, r) for rows r0..r1, columns c0..c1 of C
    packed_sgemm(c1 - c0, r1 - r0, K, {pb + c0 * bcs, bcs, brs}, {pa + r0 * ars, acs, ars}, {c + r0 * N + c0, 1, N},
                 false);
  };
  if (parallel_batches || M * N * K < (1 << 18))
    block(0, M, 0, N);
  else if (M >= N)
    parallel_for(M, 32, [&](std::int64_t r0, std::int64_t r1) { block(r0, r1, 0, N); });
  else
    parallel_for(N, 32, [&](std::int64_t c0, std::int64_t c1) { block(0, M, c0, c1); });
}

template <class T, int OA, int OB>
void gemm_batch(const Operand& a, const Operand& b, const TensorBase& out, std::int64_t batch, bool parallel_batches) {
  const std::int64_t M = out.size(1), N = out.size(2), K = a.t.size(2);
  const T* pa = a.t.template data<T>();
  const T* pb = b.t.template data<T>();
  T* po = out.data<T>();
  auto one = [&](std::int64_t i) {
    if constexpr (std::is_same_v<T, float>)
      if (packed_sgemm_available()) return packed_one(a, b, po + i * M * N, i, M, N, K, parallel_batches);
    MatMap<T, OA> A(pa + i * a.t.stride(0), M, K, Eigen::OuterStride<>(a.ld));
    MatMap<T, OB> B(pb + i * b.t.stride(0), K, N, Eigen::OuterStride<>(b.ld));
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> C(po + i * M * N, M, N);
    if (M * N * K < (1 << 18)) {  // not `|| parallel_batches`: the blocks must not depend on the threads
      C.noalias() = A * B;
      return;
    }
    // Split the longer output side; blocks of at least 32 rows/cols keep each GEMM efficient (inside a
    // parallel region, fixed_blocks runs them one after the other).
    if (M >= N)
      fixed_blocks(M, [&](std::int64_t r0, std::int64_t r1) {
        C.middleRows(r0, r1 - r0).noalias() = A.middleRows(r0, r1 - r0) * B;
      });
    else
      fixed_blocks(N, [&](std::int64_t c0, std::int64_t c1) {
        C.middleCols(c0, c1 - c0).noalias() = A * B.middleCols(c0, c1 - c0);
      });
  };
  if (parallel_batches) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < batch; ++i) one(i);
  } else {
    for (std::int64_t i = 0; i < batch; ++i) one(i);
  }
}

}  // namespace

void matmul(const TensorBase& a, const TensorBase& b, const TensorBase& out) {
  visit_floating(out.dtype(), "matmul", [&]<class T>() {
    const std::int64_t batch = out.size(0), M = out.size(1), N = out.size(2), K = a.size(2);
    if (K == 0) {
      fill(out, 0.0);
      return;
    }
    Operand oa = as_operand(a), ob = as_operand(b);
    // Many small products: one per thread. Otherwise each product is split across threads.
    const bool parallel_batches = batch > 1 && M * N * K < (1 << 21) && omp_get_max_threads() > 1;
    constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
    if (!oa.col_major && !ob.col_major) gemm_batch<T, R, R>(oa, ob, out, batch, parallel_batches);
    else if (!oa.col_major && ob.col_major) gemm_batch<T, R, C>(oa, ob, out, batch, parallel_batches);
    else if (oa.col_major && !ob.col_major) gemm_batch<T, C, R>(oa, ob, out, batch, parallel_batches);
    else gemm_batch<T, C, C>(oa, ob, out, batch, parallel_batches);
  });
}

}  // namespace lumen::kernels::cpu
