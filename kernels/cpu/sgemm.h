// A single-threaded float GEMM with an AVX-512 micro-kernel, for the convolutions' per-image products.
//
// Why not Eigen here: Eigen 3.4's GEMM kernel is fixed at 48×4 register tiles (12 accumulators) and
// reaches ~65% of this CPU's FMA peak on the convolution shapes; a 32×8 tile (16 accumulators) with
// the classic Goto/BLIS blocking reaches ~85%. Everything else (double, other CPUs, the multithreaded
// single-image case) stays on Eigen.
//
// Operands are plain strided views (element (i, j) at data[i * row_stride + j * col_stride]), so a
// row-major, column-major or transposed matrix costs no copy: the packing step reads any of them.
#pragma once

#include <cstdint>

namespace lumen::kernels::cpu {

struct StridedMatrix {
  const float* data;
  std::int64_t row_stride, col_stride;
};

struct MutableStridedMatrix {
  float* data;
  std::int64_t row_stride, col_stride;
};

// Whether this build has the micro-kernel (it needs the compiler to target AVX-512F and VL).
bool packed_sgemm_available();

// C (m × n) = A (m × k) · B (k × n), or C += A · B when `accumulate`. Single-threaded: callers run
// independent products (one image each) on their own threads. Throws std::logic_error when
// packed_sgemm_available() is false.
void packed_sgemm(std::int64_t m, std::int64_t n, std::int64_t k, StridedMatrix a, StridedMatrix b,
                  MutableStridedMatrix c, bool accumulate);

}  // namespace lumen::kernels::cpu
