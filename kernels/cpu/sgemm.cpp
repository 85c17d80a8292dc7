// Goto/BLIS-style float GEMM: pack, then a register-tiled micro-kernel (see sgemm.h for why).
//
// Blocking, for a core with 32 KiB L1d and 1 MiB L2 (AMD Zen 4; fine on Intel's AVX-512 cores too):
//   for each NC-wide column block of B        (its packed KC×NC panel lives in L3)
//     for each KC-deep slice of k              (pack B's slice: NR-wide micro-panels, k-major)
//       for each MC-tall row block of A        (pack A's block: MR-tall micro-panels, k-major, in L2)
//         for each NR-wide micro-panel of B    (stays in L1 while ...)
//           for each MR-tall micro-panel of A  (... the A micro-panels stream past it from L2)
//             C[MR×NR] (+)= Apanel · Bpanel   (the micro-kernel: 16 zmm accumulators)
// Packing copies an operand's block into the exact order the micro-kernel reads it (sequential loads
// whatever the strides; ragged edges zero-padded). A whole micro-panel that can be read in place (A
// with unit row stride, B with either stride 1) is not copied: a convolution's im2col matrix is used
// only O times, and copying it cost a fifth of the product. Measured on the GAN's convolution shapes
// (one Zen 4 core, ~115 GFLOP/s FMA peak): 100-110 GFLOP/s, Eigen 3.4 75-85.
#include "kernels/cpu/sgemm.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

namespace lumen::kernels::cpu {

#if defined(__AVX512F__) && defined(__AVX512VL__)
namespace {

constexpr std::int64_t MR = 32;  // rows of a micro-tile: two zmm registers of 16 floats
constexpr std::int64_t NR = 8;   // columns of a micro-tile: 2 × 8 = 16 accumulators, 2 A loads, 1 broadcast
constexpr std::int64_t KC = 384;
constexpr std::int64_t MC = 12 * MR;
constexpr std::int64_t NC = 2048;
constexpr std::int64_t kMaxKernel = kImageColumnsMaxKernel;

// dst[i * W + j] = src[j * rs + i] for i, j < 8: eight rows of eight become eight columns.
void transpose8x8(const float* src, std::int64_t rs, float* dst, std::int64_t W) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * rs);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * W, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * W, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

// dst[p * W + i] = src[i * rs + p * cs] for i < rows, 0 for rows <= i < W; p < depth (W is 8, 16 or 32).
// Three cases by which stride is 1: contiguous rows (a masked copy per p), contiguous depth (8×8
// transposes), neither (scalar gather).
void pack_panel(const float* src, std::int64_t rs, std::int64_t cs, std::int64_t rows, std::int64_t depth,
                std::int64_t W, float* dst) {
  if (rs == 1) {  // masked vector loads: the zero padding comes free, and no call per 128-byte row
    for (std::int64_t p = 0; p < depth; ++p) {
      const float* s = src + p * cs;
      float* d = dst + p * W;
      if (W == 8) {
        _mm256_store_ps(d, _mm256_maskz_loadu_ps(static_cast<__mmask8>((1u << rows) - 1), s));
        continue;
      }
      for (std::int64_t i = 0; i < W; i += 16) {
        const std::int64_t left = std::clamp<std::int64_t>(rows - i, 0, 16);
        _mm512_store_ps(d + i, _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << left) - 1), s + i));
      }
    }
    return;
  }
  std::int64_t i0 = 0;
  if (cs == 1)
    for (; i0 + 8 <= rows; i0 += 8) {
      std::int64_t p = 0;
      for (; p + 8 <= depth; p += 8) transpose8x8(src + i0 * rs + p, rs, dst + p * W + i0, W);
      for (; p < depth; ++p)
        for (std::int64_t i = i0; i < i0 + 8; ++i) dst[p * W + i] = src[i * rs + p];
    }
  for (std::int64_t p = 0; p < depth; ++p) {
    for (std::int64_t i = i0; i < rows; ++i) dst[p * W + i] = src[i * rs + p * cs];
    std::fill(dst + p * W + rows, dst + (p + 1) * W, 0.0f);
  }
}

// Where the micro-kernel reads its operands. A(i, p) at a[p * lda + i] for i < 16V: a packed panel
// (lda = 16V) or, when A's rows are contiguous, A itself. B(p, j) at b[p * rsb + j * csb]: a packed
// panel (rsb = NR, csb = 1) or B itself. Reading an operand in place skips a copy whose cost, for a
// convolution's im2col matrix (used only O times), is a fifth of the product's.
struct PanelA {
  const float* a;
  std::int64_t lda;
};
struct PanelB {
  const float* b;
  std::int64_t rsb, csb;
};

// c[i + j * ldc] (+)= Σ_p A(i, p) · B(p, j) for i < 16V, j < NR.
template <int V>
void micro_kernel(std::int64_t kc, PanelA A, PanelB B, float* c, std::int64_t ldc, bool accumulate) {
  __m512 acc[V][NR];
  for (int v = 0; v < V; ++v)
    for (int j = 0; j < NR; ++j) acc[v][j] = _mm512_setzero_ps();
  const float* b[NR];
  for (int j = 0; j < NR; ++j) b[j] = B.b + j * B.csb;
  const float* a = A.a;
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < kc; ++p) {
    __m512 av[V];
    for (int v = 0; v < V; ++v) av[v] = _mm512_loadu_ps(a + 16 * v);
    for (int j = 0; j < NR; ++j) {
      const __m512 bj = _mm512_set1_ps(*b[j]);
      for (int v = 0; v < V; ++v) acc[v][j] = _mm512_fmadd_ps(av[v], bj, acc[v][j]);
      b[j] += B.rsb;
    }
    a += A.lda;
  }
  for (int j = 0; j < NR; ++j)
    for (int v = 0; v < V; ++v) {
      float* cp = c + j * ldc + 16 * v;
      _mm512_storeu_ps(cp, accumulate ? _mm512_add_ps(_mm512_loadu_ps(cp), acc[v][j]) : acc[v][j]);
    }
}

// One micro-tile of W (32 or 16) rows: straight into C when it is whole and C's columns are
// contiguous, otherwise through a scratch tile (ragged edge, or C stored row-major).
void tile(std::int64_t kc, PanelA a, std::int64_t W, PanelB b, float* c, std::int64_t rsc, std::int64_t csc,
          std::int64_t rows, std::int64_t cols, bool accumulate) {
  auto kernel = [&](float* out, std::int64_t ld, bool acc) {
    if (W == 2 * 16)
      micro_kernel<2>(kc, a, b, out, ld, acc);
    else
      micro_kernel<1>(kc, a, b, out, ld, acc);
  };
  if (rsc == 1 && rows == W && cols == NR) return kernel(c, csc, accumulate);
  alignas(64) float scratch[MR * NR];
  kernel(scratch, W, false);
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i) {
      float& out = c[i * rsc + j * csc];
      out = accumulate ? out + scratch[j * W + i] : scratch[j * W + i];
    }
}

// Per-thread packing buffers, 64-byte aligned for the kernel's aligned loads.
float* packing_buffer(std::int64_t which, std::int64_t size) {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<float, Free> buffers[2];
  if (!buffers[which]) buffers[which].reset(static_cast<float*>(std::aligned_alloc(64, size * sizeof(float))));
  if (!buffers[which]) throw std::bad_alloc();
  return buffers[which].get();
}

// Up to 16 consecutive output pixels [q0, q0 + n) of an ImageColumns, and what one tap reads there:
// one masked load when the 16 pixels are one run of the input, a gather otherwise (a run crossing
// into an output row whose input row is elsewhere). Which lanes read inside the image is precomputed
// per kernel row i (mh) and column j (mw), so a tap costs one mask AND and one load.
struct Pixels16 {
  __m512i base;  // oh·sh·W + ow·sw per lane
  bool run;      // base is base0 + lane for the live lanes
  std::int64_t base0;
  __mmask16 mh[kMaxKernel], mw[kMaxKernel];
  Pixels16() = default;
  Pixels16(const ImageColumns& g, std::int64_t q0, std::int64_t n) {
    alignas(64) std::int32_t ohs[16], ows[16];
    std::int64_t oh = q0 / g.OW, ow = q0 % g.OW;  // of lane l, the dead lanes repeating the last live one
    for (std::int64_t l = 0; l < 16; ++l) {
      ohs[l] = static_cast<std::int32_t>(oh * g.sh);
      ows[l] = static_cast<std::int32_t>(ow * g.sw);
      if (l + 1 < n && ++ow == g.OW) ow = 0, ++oh;
    }
    const __m512i vh = _mm512_load_si512(ohs), vw = _mm512_load_si512(ows);
    base = _mm512_add_epi32(_mm512_mullo_epi32(vh, _mm512_set1_epi32(static_cast<std::int32_t>(g.W))), vw);
    run = g.sw == 1 && (ohs[0] == ohs[15] || (g.sh == 1 && g.W == g.OW));
    base0 = std::int64_t{ohs[0]} * g.W + ows[0];
    const __mmask16 live = static_cast<__mmask16>((1u << n) - 1);
    const __m512i H = _mm512_set1_epi32(static_cast<std::int32_t>(g.H)), W = _mm512_set1_epi32(static_cast<std::int32_t>(g.W));
    for (std::int64_t i = 0; i < g.kh; ++i)
      mh[i] = _mm512_mask_cmplt_epu32_mask(
          live, _mm512_add_epi32(vh, _mm512_set1_epi32(static_cast<std::int32_t>(i * g.dh - g.ph))), H);
    for (std::int64_t j = 0; j < g.kw; ++j)
      mw[j] = _mm512_cmplt_epu32_mask(_mm512_add_epi32(vw, _mm512_set1_epi32(static_cast<std::int32_t>(j * g.dw - g.pw))), W);
  }
  // What tap (c, i, j) sees, off = c·H·W + (i·dh − ph)·W + j·dw − pw; 0 in the padding and the dead lanes.
  __m512 load(const ImageColumns& g, std::int64_t i, std::int64_t j, std::int64_t off) const {
    const __mmask16 m = static_cast<__mmask16>(mh[i] & mw[j]);
    if (run) return _mm512_maskz_loadu_ps(m, g.x + off + base0);
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, _mm512_add_epi32(base, _mm512_set1_epi32(static_cast<std::int32_t>(off))),
                                    g.x, 4);
  }
};

// Taps q = (c·kh + i)·kw + j in order, from q0: f(q − q0, i, j, off) with off as Pixels16::load wants it.
template <class F> void for_taps(const ImageColumns& g, std::int64_t q0, std::int64_t count, F&& f) {
  const std::int64_t taps = g.kh * g.kw;
  std::int64_t c = q0 / taps, i = q0 % taps / g.kw, j = q0 % g.kw;
  std::int64_t chw = c * g.H * g.W;
  for (std::int64_t t = 0; t < count; ++t) {
    f(t, i, j, chw + (i * g.dh - g.ph) * g.W + j * g.dw - g.pw);
    if (++j == g.kw) {
      j = 0;
      if (++i == g.kh) i = 0, chw += g.H * g.W;
    }
  }
}

// Implicit GEMM with no packing at all: C [pixels, n] (+)= A [pixels, K] · B [K, n], a tile of 16V
// pixels × N outputs in registers, A's 16 pixels loaded straight from the image for each tap (one
// masked load), B's row broadcast from w [K, N] (tap-major, zero-padded to N columns).
template <int V, int N>
void image_tile(const ImageColumns& g, std::int64_t p0, std::int64_t rows, std::int64_t k, const float* w, float* c,
                std::int64_t ldc, std::int64_t cols, bool accumulate) {
  Pixels16 px[V];
  for (int v = 0; v < V; ++v) px[v] = Pixels16(g, p0 + 16 * v, std::clamp<std::int64_t>(rows - 16 * v, 0, 16));
  __m512 acc[V][N];
  for (int v = 0; v < V; ++v)
    for (int o = 0; o < N; ++o) acc[v][o] = _mm512_setzero_ps();
  for_taps(g, 0, k, [&](std::int64_t q, std::int64_t i, std::int64_t j, std::int64_t off) {
    __m512 a[V];
    for (int v = 0; v < V; ++v) a[v] = px[v].load(g, i, j, off);
    const float* wq = w + q * N;
    for (int o = 0; o < N; ++o) {
      const __m512 b = _mm512_set1_ps(wq[o]);
      for (int v = 0; v < V; ++v) acc[v][o] = _mm512_fmadd_ps(a[v], b, acc[v][o]);
    }
  });
  for (int v = 0; v < V; ++v) {
    const std::int64_t n = std::clamp<std::int64_t>(rows - 16 * v, 0, 16);
    const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
    for (int o = 0; o < N && o < cols; ++o) {
      float* cp = c + o * ldc + 16 * v;
      _mm512_mask_storeu_ps(cp, m, accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, cp), acc[v][o]) : acc[v][o]);
    }
  }
}

template <int V, int N>
void image_direct(std::int64_t m, std::int64_t n0, std::int64_t cols, std::int64_t k, const ImageColumns& g, StridedMatrix b,
                  MutableStridedMatrix c, bool accumulate) {
  std::vector<float> big;  // w[q * N + o] = B(q, n0 + o), zero past cols
  float* w = k * N <= KC * NC ? packing_buffer(1, KC * NC) : (big.resize(static_cast<std::size_t>(k * N)), big.data());
  for (std::int64_t q = 0; q < k; ++q)
    for (std::int64_t o = 0; o < N; ++o) w[q * N + o] = o < cols ? b.data[q * b.row_stride + (n0 + o) * b.col_stride] : 0.0f;
  for (std::int64_t p0 = 0; p0 < m; p0 += 16 * V)
    image_tile<V, N>(g, p0, std::min<std::int64_t>(16 * V, m - p0), k, w, c.data + p0 + n0 * c.col_stride, c.col_stride, cols,
                     accumulate);
}

}  // namespace

bool packed_sgemm_available() { return true; }

void packed_sgemm(std::int64_t m, std::int64_t n, std::int64_t k, StridedMatrix a, StridedMatrix b,
                  MutableStridedMatrix c, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t i = 0; i < m; ++i) c.data[i * c.row_stride + j * c.col_stride] = 0.0f;
    return;
  }
  float* pa = packing_buffer(0, MC * KC);
  float* pb = packing_buffer(1, KC * NC);
  // In place when one of the operand's strides is 1 (B: either; A: along i) and the panel is whole.
  const bool b_in_place = b.row_stride == 1 || b.col_stride == 1;
  // A's panel rows are lda = a.col_stride apart: a multiple of 1 KiB maps them all to a few cache sets
  // (sgemm 1024×1024 lost 15% to that), so such an A is packed.
  const bool a_in_place = a.row_stride == 1 && a.col_stride % 256 != 0;
  for (std::int64_t jc = 0; jc < n; jc += NC) {
    const std::int64_t nc = std::min(NC, n - jc);
    for (std::int64_t pc = 0; pc < k; pc += KC) {
      const std::int64_t kc = std::min(KC, k - pc);
      const bool acc = accumulate || pc > 0;
      // Micro-panel jr of B's slice: B(pc + p, jc + jr + j).
      auto panel_b = [&](std::int64_t jr) -> PanelB {
        const float* at = b.data + pc * b.row_stride + (jc + jr) * b.col_stride;
        if (b_in_place && nc - jr >= NR) return {at, b.row_stride, b.col_stride};
        return {pb + jr * kc, NR, 1};
      };
      for (std::int64_t jr = 0; jr < nc; jr += NR)
        if (panel_b(jr).b == pb + jr * kc)
          pack_panel(b.data + pc * b.row_stride + (jc + jr) * b.col_stride, b.col_stride, b.row_stride,
                     std::min(NR, nc - jr), kc, NR, pb + jr * kc);
      for (std::int64_t ic = 0; ic < m; ic += MC) {
        const std::int64_t mc = std::min(MC, m - ic);
        auto width = [&](std::int64_t ir) { return mc - ir > 16 ? MR : 16; };  // a last panel of <= 16 rows is 16 wide
        // Micro-panel ir of A's block: A(ic + ir + i, pc + p).
        auto panel_a = [&](std::int64_t ir) -> PanelA {
          const float* at = a.data + (ic + ir) * a.row_stride + pc * a.col_stride;
          if (a_in_place && std::min(MR, mc - ir) == width(ir)) return {at, a.col_stride};
          return {pa + ir * kc, width(ir)};
        };
        for (std::int64_t ir = 0; ir < mc; ir += MR)
          if (panel_a(ir).a == pa + ir * kc)
            pack_panel(a.data + (ic + ir) * a.row_stride + pc * a.col_stride, a.row_stride, a.col_stride,
                       std::min(MR, mc - ir), kc, width(ir), pa + ir * kc);
        for (std::int64_t jr = 0; jr < nc; jr += NR)
          for (std::int64_t ir = 0; ir < mc; ir += MR)
            tile(kc, panel_a(ir), width(ir), panel_b(jr), c.data + (ic + ir) * c.row_stride + (jc + jr) * c.col_stride,
                 c.row_stride, c.col_stride, std::min(MR, mc - ir), std::min(NR, nc - jr), acc);
      }
    }
  }
}

void packed_sgemm_image(std::int64_t m, std::int64_t n, std::int64_t k, const ImageColumns& a, StridedMatrix b,
                        MutableStridedMatrix c, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  for (std::int64_t n0 = 0; n0 < n; n0 += 16) {  // a 32 × N tile for up to 8 outputs, else 16 × 16
    const std::int64_t cols = std::min<std::int64_t>(16, n - n0);
    switch (cols) {
      case 1: image_direct<2, 1>(m, n0, cols, k, a, b, c, accumulate); break;
      case 2: image_direct<2, 2>(m, n0, cols, k, a, b, c, accumulate); break;
      case 3: image_direct<2, 3>(m, n0, cols, k, a, b, c, accumulate); break;
      case 4: image_direct<2, 4>(m, n0, cols, k, a, b, c, accumulate); break;
      case 5: case 6: image_direct<2, 6>(m, n0, cols, k, a, b, c, accumulate); break;
      case 7: case 8: image_direct<2, 8>(m, n0, cols, k, a, b, c, accumulate); break;
      default: image_direct<1, 16>(m, n0, cols, k, a, b, c, accumulate); break;
    }
  }
}

#else  // no AVX-512: callers use Eigen

bool packed_sgemm_available() { return false; }

void packed_sgemm(std::int64_t, std::int64_t, std::int64_t, StridedMatrix, StridedMatrix, MutableStridedMatrix, bool) {
  throw std::logic_error("packed_sgemm: this build has no AVX-512 micro-kernel (check packed_sgemm_available())");
}

void packed_sgemm_image(std::int64_t, std::int64_t, std::int64_t, const ImageColumns&, StridedMatrix, MutableStridedMatrix, bool) {
  throw std::logic_error("packed_sgemm_image: this build has no AVX-512 (check packed_sgemm_available())");
}

#endif

}  // namespace lumen::kernels::cpu
