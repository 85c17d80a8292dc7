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

// A convolution's transposed column matrix, never materialised: one image's (one group's) channels
// x [C, H, W], and A(p, q) = x[c, oh·sh + i·dh − ph, ow·sw + j·dw − pw] (0 in the padding) for output
// pixel p = oh·OW + ow and tap q = (c·kh + i)·kw + j: A is [OH·OW, C·kh·kw]. kh, kw <= kImageColumnsMaxKernel.
constexpr std::int64_t kImageColumnsMaxKernel = 32;
struct ImageColumns {
  const float* x;
  std::int64_t H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw;
};

// C (m × n) (+)= A · B with A an ImageColumns (m = OH·OW, k = C·kh·kw) and C's rows contiguous
// (c.row_stride == 1): an implicit GEMM that loads A's pixels straight from the image for every tap
// (no column matrix, no packing), 32 pixels × up to 8 outputs or 16 × 16 per register tile. Meant for
// few outputs (n <= 16: a convolution to a few channels, or the input gradient of one from a few) and
// unit stride along W (else every load is a gather), where it beats im2col + packed_sgemm; for more
// outputs the packed micro-kernel's larger tiles win. Same availability as packed_sgemm.
void packed_sgemm_image(std::int64_t m, std::int64_t n, std::int64_t k, const ImageColumns& a, StridedMatrix b,
                        MutableStridedMatrix c, bool accumulate);

}  // namespace lumen::kernels::cpu
