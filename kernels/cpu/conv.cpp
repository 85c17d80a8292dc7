// Convolution on the CPU: im2col + GEMM (Eigen), one image per thread.
//
// im2col unrolls the receptive fields of one image (one group) into a matrix col [K, P], with
// K = C/groups * kh * kw rows (one per weight tap) and P = OH * OW columns (one per output pixel), so
//   forward      out_n [O, P] = W [O, K] · col_n
//   input_grad   col   [K, P] = Wᵀ · g_n,  then col2im adds each entry back onto the pixel it came from
//   weight_grad  dW    [O, K] = Σ_n g_n · col_nᵀ
// (per group: W, g_n and dW restricted to the group's O/groups rows, col to its C/groups channels).
// A 1×1, stride-1, unpadded convolution needs no unrolling: col_n is x_n itself; nor does a packed
// float forward to at most 16 channels (image_direct: an implicit GEMM from the image). With stride 1 the
// input gradient is computed as a forward convolution instead (see input_grad_as_conv).
//
// Images are independent, so the batch is split across threads and each GEMM runs single-threaded;
// a single image's forward is split into fixed blocks of output channels instead. The float GEMMs use
// packed_sgemm (sgemm.h: ~15-30% faster than Eigen's kernel on these shapes) where the build has it,
// Eigen otherwise. Transposes are never materialised: a row-major [K, P] buffer is a column-major
// [P, K], and packed_sgemm takes any strides.
//
// Text convolutions (conv1d over a sentence's transposed embeddings: one row, channels-last, no
// padding) skip im2col altogether: a window of k tokens is k·C consecutive numbers of the input, so
// all three products are GEMMs over windows read in place, many sentences per GEMM (batched_rows).
//
// Bitwise reproducible whatever the thread count: every output is summed by one thread in an order
// fixed by the shapes alone (the weight gradient's partial sums too, see weight_grad_typed), and
// Eigen's own parallel GEMM, whose split and blocking follow the thread count, is not used.
#define EIGEN_DONT_PARALLELIZE
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/sgemm.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cpu {
namespace {

template <class T> using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T> using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

TensorBase dense(const TensorBase& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  TensorBase c = allocate(t.shape(), t.dtype(), t.device());
  copy(t, c);
  return c;
}

// The outputs o in [0, n_out) whose input index o * stride + offset lies in [0, n_in), as [lo, hi).
struct Range {
  std::int64_t lo, hi;
};
Range valid_range(std::int64_t n_out, std::int64_t stride, std::int64_t offset, std::int64_t n_in) {
  std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  std::int64_t hi = offset >= n_in ? 0 : std::min(n_out, (n_in - 1 - offset) / stride + 1);
  return {std::min(lo, hi), hi};
}

// Row k = (c, i, j) of col holds what kernel tap (i, j) sees on channel c: for output pixel (oh, ow)
// the input x[c, oh * sh + ih0, ow * sw + iw0] with ih0 = i * dh - ph, iw0 = j * dw - pw, or 0 in the
// padding. Only the outputs in rh x rw read inside the image.
struct Tap {
  std::int64_t ih0, iw0;
  Range rh, rw;
  bool empty() const { return rh.lo == rh.hi || rw.lo == rw.hi; }
};

// f(k, c, tap) for every row of col.
template <class F> void for_each_tap(const Conv2dGeometry& g, std::int64_t Cg, F&& f) {
  for (std::int64_t c = 0; c < Cg; ++c)
    for (std::int64_t i = 0; i < g.kh; ++i)
      for (std::int64_t j = 0; j < g.kw; ++j) {
        const std::int64_t ih0 = i * g.dh - g.ph, iw0 = j * g.dw - g.pw;
        f((c * g.kh + i) * g.kw + j, c,
          Tap{ih0, iw0, valid_range(g.OH, g.sh, ih0, g.H), valid_range(g.OW, g.sw, iw0, g.W)});
      }
}

// With unit strides and W == OW, row k of col is the input plane shifted by ih0 * W + iw0: its valid
// part is ONE contiguous run, [begin, end) in col, plus entries that wrapped around a row edge and
// really belong to the padding. (The common 3x3 "same" convolution: one long copy instead of OH short ones.)
bool shifted_plane(const Conv2dGeometry& g) { return g.sh == 1 && g.sw == 1 && g.W == g.OW; }

// Zeroes the entries of row k in the wrapped-around columns (before rw.lo, from rw.hi) of each valid
// output row. Column by column: there are only as many such columns as there is padding.
template <class T> void zero_wrapped(T* row, const Conv2dGeometry& g, const Tap& t) {
  auto zero_column = [&](std::int64_t ow) {
    for (std::int64_t oh = t.rh.lo; oh < t.rh.hi; ++oh) row[oh * g.OW + ow] = T(0);
  };
  for (std::int64_t ow = 0; ow < t.rw.lo; ++ow) zero_column(ow);
  for (std::int64_t ow = t.rw.hi; ow < g.OW; ++ow) zero_column(ow);
}

// col [K, P] from the Cg channels of one image starting at x; zeros where the kernel overhangs.
// Only rows [k_begin, k_end) when asked, written from col's start (row k at col + (k - k_begin) * P).
template <class T>
void im2col(const T* x, const Conv2dGeometry& g, std::int64_t Cg, T* col, std::int64_t k_begin = 0,
            std::int64_t k_end = -1) {
  const std::int64_t P = g.OH * g.OW, HW = g.H * g.W;
  const bool shifted = shifted_plane(g);
  for_each_tap(g, Cg, [&](std::int64_t k, std::int64_t c, const Tap& t) {
    if (k < k_begin || (k_end >= 0 && k >= k_end)) return;
    T* row = col + (k - k_begin) * P;
    const T* plane = x + c * HW;
    if (t.empty()) {
      std::fill(row, row + P, T(0));
    } else if (shifted) {
      const std::int64_t begin = t.rh.lo * g.OW + t.rw.lo, end = (t.rh.hi - 1) * g.OW + t.rw.hi;
      const std::int64_t shift = t.ih0 * g.W + t.iw0;
      std::fill(row, row + begin, T(0));
      std::copy(plane + begin + shift, plane + end + shift, row + begin);
      std::fill(row + end, row + P, T(0));
      zero_wrapped(row, g, t);
    } else {
      std::fill(row, row + t.rh.lo * g.OW, T(0));
      for (std::int64_t oh = t.rh.lo; oh < t.rh.hi; ++oh) {
        T* r = row + oh * g.OW;
        const std::int64_t in = (oh * g.sh + t.ih0) * g.W + t.iw0;  // plane[in + ow * sw] pairs with r[ow]
        std::fill(r, r + t.rw.lo, T(0));
        for (std::int64_t ow = t.rw.lo; ow < t.rw.hi; ++ow) r[ow] = plane[in + ow * g.sw];
        std::fill(r + t.rw.hi, r + g.OW, T(0));
      }
      std::fill(row + t.rh.hi * g.OW, row + P, T(0));
    }
  });
}

// The adjoint of im2col: adds every entry of col onto the input pixel it was copied from (x must be
// zeroed); entries that fell in the padding are dropped.
template <class T> void col2im(const T* col, const Conv2dGeometry& g, std::int64_t Cg, T* x) {
  const std::int64_t P = g.OH * g.OW, HW = g.H * g.W;
  for_each_tap(g, Cg, [&](std::int64_t k, std::int64_t c, const Tap& t) {
    for (std::int64_t oh = t.rh.lo; oh < t.rh.hi; ++oh) {
      const T* r = col + k * P + oh * g.OW;
      T* in = x + c * HW + (oh * g.sh + t.ih0) * g.W;  // in[ow * sw + iw0] pairs with r[ow]
      for (std::int64_t ow = t.rw.lo; ow < t.rw.hi; ++ow) in[ow * g.sw + t.iw0] += r[ow];
    }
  });
}

// 1×1, stride 1, no padding, same size: col_n would be a copy of x_n.
bool pointwise(const Conv2dGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.OH == g.H && g.OW == g.W;
}

// A convolution along rows only (H = 1, a 1×k kernel, stride 1: conv1d, as text models use it). Then
// tap j of every channel reads the input row shifted by j·dw: Xᵀ shifted [P, Cg] is the input itself
// (rows 1 apart, channels W apart), which packed_sgemm reads in place, so each tap is one GEMM with no
// im2col copy and no packing of the input. The weights are laid out tap by tap once per call
// (tap_major), so that their operand is read in place too.
bool row_taps(const Conv2dGeometry& g) {
  return g.H == 1 && g.OH == 1 && g.kh == 1 && g.ph == 0 && g.sh == 1 && g.sw == 1 && g.W % 256 != 0;
}

// The output columns [lo, hi) whose tap j reads inside the row, for a row_taps geometry.
std::pair<std::int64_t, std::int64_t> tap_columns(const Conv2dGeometry& g, std::int64_t j) {
  const std::int64_t shift = j * g.dw - g.pw;  // output column p reads input column p + shift
  return {std::max<std::int64_t>(0, -shift), std::min<std::int64_t>(g.OW, g.W - shift)};
}

// w [O, Cg, 1, kw] as [kw, O, Cg]: tap j's [Cg, O] block has unit stride along Cg.
template <class T> std::vector<T> tap_major(const T* w, const Conv2dGeometry& g, std::int64_t Cg) {
  std::vector<T> wt(static_cast<std::size_t>(g.kw * g.O * Cg));
  for (std::int64_t j = 0; j < g.kw; ++j)
    for (std::int64_t o = 0; o < g.O; ++o)
      for (std::int64_t c = 0; c < Cg; ++c) wt[static_cast<std::size_t>((j * g.O + o) * Cg + c)] = w[(o * Cg + c) * g.kw + j];
  return wt;
}

// How many threads split the batch: one per image at most, one inside an outer parallel region, and one
// for small convolutions (`macs` multiply-adds in all), where waking threads costs more than it saves.
int image_threads(std::int64_t N, std::int64_t macs) {
  if (omp_in_parallel() || macs < (1 << 20)) return 1;
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(omp_get_max_threads(), N)));
}

// Whether a conv's products go to packed_sgemm: float, and the kernel compiled in. (Never a choice
// by thread count: the two GEMMs round differently.)
template <class T> bool use_packed() {
  if constexpr (!std::is_same_v<T, float>) return false;
  return packed_sgemm_available();
}

// A batch of one image gives the threads nothing to split, so its forward is cut into blocks of output
// channels: a number fixed by the shape (at most 4, of at least 16 channels), so that, as everywhere
// here, the rounding does not depend on the thread count.
std::int64_t channel_blocks(std::int64_t N, std::int64_t Og, std::int64_t macs) {
  if (N > 1 || macs < (1 << 20)) return 1;
  return std::clamp<std::int64_t>(Og / 16, 1, 4);
}

// C (m × n) (+)= A (m × k) · B (k × n) through packed_sgemm; only called when use_packed<T>() said so.
template <class T>
void packed_product(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t rsa, std::int64_t csa,
                    const T* b, std::int64_t rsb, std::int64_t csb, T* c, std::int64_t rsc, std::int64_t csc, bool accumulate) {
  if constexpr (std::is_same_v<T, float>)
    packed_sgemm(m, n, k, {a, rsa, csa}, {b, rsb, csb}, {c, rsc, csc}, accumulate);
}

// The packed paths unroll an image tap_chunk(P) im2col rows at a time (~1 MiB), each chunk used by its
// GEMM at once, rather than the whole im2col matrix (5 MiB for a 3×3 convolution of 192 channels at
// 28×28) first: measured ~5% faster on the knowledge-extraction GAN's step (bench_nn gan_step) than the whole matrix, ~8% than 256 KiB.
std::int64_t tap_chunk(std::int64_t P) { return std::max<std::int64_t>(8, (std::int64_t{1} << 18) / P); }

// Whether a packed forward to `On` channels goes to packed_sgemm_image (sgemm.h): an implicit GEMM
// with the image's pixels loaded for each tap, no column matrix and no packing, which beats im2col +
// packed_sgemm when there are few outputs (the micro-kernel's 8-column tiles are then mostly padding,
// and im2col's copy is not amortised) and the stride along W is 1 (else every load is a gather).
// Measured per image (one core, best of 40, interleaved with the im2col path; the small CNN's shapes):
// the input gradient of its 3×3 conv from 3 channels at 28×28 (a conv 16 → 3) 29 → 18 µs, of its
// 16 → 32 conv at 14×14 (32 → 16) 27 → 21 µs, its forward 3 → 16 at 28×28 10.1 → 9.5 µs. With more
// outputs it is no faster (64 → 64 at 28×28) or 5–20% slower (3 → 64, 64 → 128 at 14×14, 128 → 256
// at 7×7), and with stride 2 along W twice as slow: those keep im2col.
bool image_direct(const Conv2dGeometry& g, std::int64_t On) {
  return On <= 16 && g.sw == 1 && g.kh <= kImageColumnsMaxKernel && g.kw <= kImageColumnsMaxKernel && !pointwise(g);
}

template <class T>
void packed_image_product(std::int64_t m, std::int64_t n, std::int64_t k, const T* x, const Conv2dGeometry& g, const T* b,
                          std::int64_t rsb, std::int64_t csb, T* c, std::int64_t rsc, std::int64_t csc, bool accumulate) {
  if constexpr (std::is_same_v<T, float>)
    packed_sgemm_image(m, n, k, ImageColumns{x, g.H, g.W, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw},
                       {b, rsb, csb}, {c, rsc, csc}, accumulate);
}

// Calls body(n, scratch, thread) for every image n; each thread owns `scratch_size` uninitialised elements.
template <class T, class F> void for_each_image(std::int64_t N, int threads, std::int64_t scratch_size, F&& body) {
  if (threads <= 1) {
    std::unique_ptr<T[]> scratch(new T[scratch_size]);
    for (std::int64_t n = 0; n < N; ++n) body(n, scratch.get(), 0);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    std::unique_ptr<T[]> scratch(new T[scratch_size]);
    const int t = omp_get_thread_num();
#pragma omp for schedule(dynamic)  // images are equal work, but a core shared with another process is not
    for (std::int64_t n = 0; n < N; ++n) body(n, scratch.get(), t);
  }
}

// Per-group sizes shared by the three kernels.
struct Sizes {
  std::int64_t Cg, Og, K, P, HW, macs;  // macs: multiply-adds of one whole pass (each kernel does as many)
  explicit Sizes(const Conv2dGeometry& g)
      : Cg(g.C / g.groups), Og(g.O / g.groups), K(Cg * g.kh * g.kw), P(g.OH * g.OW), HW(g.H * g.W),
        macs(g.N * g.O * K * P) {}
};

// A row_taps input x [N, C, 1, W] that is a transposed channels-last [N, W, C] (text embeddings):
// read in place, without the copy dense() would make.
bool channels_last_rows(const TensorBase& x, const Conv2dGeometry& g) {
  return x.stride(1) == 1 && x.stride(3) == g.C && x.stride(0) == g.W * g.C;
}

// w [O, Cg, 1, kw] as [kw, Cg, O]: tap j's [O, Cg] block has unit stride along O.
template <class T> std::vector<T> tap_major_by_channel(const T* w, const Conv2dGeometry& g, std::int64_t Cg) {
  std::vector<T> wt(static_cast<std::size_t>(g.kw * Cg * g.O));
  for (std::int64_t j = 0; j < g.kw; ++j)
    for (std::int64_t c = 0; c < Cg; ++c)
      for (std::int64_t o = 0; o < g.O; ++o) wt[static_cast<std::size_t>((j * Cg + c) * g.O + o)] = w[(o * Cg + c) * g.kw + j];
  return wt;
}

// forward_typed on a channels-last input with padding, dilation or groups (batched_rows takes the rest):
// Y [On, P] = bias + Σ_j W_j [On, Cg] · (X shifted by j) [Cg, P], both operands read in place (the
// weights laid out by tap_major_by_channel, the input as it is).
template <class T>
void forward_channels_last(const TensorBase& x, const TensorBase& w, const TensorBase& b, const TensorBase& out,
                           const Conv2dGeometry& g) {
  const Sizes s(g);
  const T* px = x.data<T>();
  const T* pb = b.defined() ? b.data<T>() : nullptr;
  T* po = out.data<T>();
  const std::vector<T> wt = tap_major_by_channel(w.data<T>(), g, s.Cg);
  const int threads = image_threads(g.N, s.macs);
  for_each_image<T>(g.N, threads, 0, [&](std::int64_t n, T*, int) {
    for (std::int64_t gi = 0; gi < g.groups; ++gi) {
      const T* xn = px + n * g.W * g.C + gi * s.Cg;
      T* y = po + (n * g.O + gi * s.Og) * s.P;
      for (std::int64_t o = 0; o < s.Og; ++o) std::fill(y + o * s.P, y + (o + 1) * s.P, pb ? pb[gi * s.Og + o] : T(0));
      for (std::int64_t j = 0; j < g.kw; ++j) {
        const auto [lo, hi] = tap_columns(g, j);
        if (lo < hi)
          packed_product(s.Og, hi - lo, s.Cg, wt.data() + j * s.Cg * g.O + gi * s.Og, 1, g.O,
                         xn + (lo + j * g.dw - g.pw) * g.C, 1, g.C, y + lo, s.P, 1, true);
      }
    }
  });
}

// Text convolutions (a row_taps geometry on a channels-last input, without padding, dilation or groups)
// are batched across images: the batch is one long sequence of N·W rows of C numbers, output column p
// of image n is the window of kw·C consecutive numbers from row n·W + p, and a block of images is one
// GEMM whose m or n is hundreds of rows, instead of one small GEMM per image (~40 rows, packed anew
// each time). The kw − 1 windows of each image that straddle the next are computed and dropped.
bool batched_rows(const TensorBase& x, const Conv2dGeometry& g) {
  return !pointwise(g) && row_taps(g) && channels_last_rows(x, g) && g.pw == 0 && g.dw == 1 && g.groups == 1;
}

// Images per GEMM of the batched path: ~512 rows, so that the block's scratch stays in L2.
std::int64_t images_per_block(const Conv2dGeometry& g) { return std::max<std::int64_t>(1, 512 / g.W); }

// How forward_rows and input_grad_rows cut the batch: into `count` blocks of at most images_per_block
// images, block b the images [b·N/count, (b+1)·N/count), count a multiple of the thread count so that
// the threads get equal shares. (Each of their outputs is one dot product summed in an order fixed by
// the shapes, so the cut changes no bit.)
struct RowBlocks {
  int threads;
  std::int64_t count;
  RowBlocks(const Conv2dGeometry& g, std::int64_t macs) : threads(image_threads(g.N, macs)) {
    const std::int64_t fewest = (g.N + images_per_block(g) - 1) / images_per_block(g);
    count = std::min(g.N, (fewest + threads - 1) / threads * threads);
  }
  std::int64_t first(std::int64_t b, const Conv2dGeometry& g) const { return b * g.N / count; }
};

// The forward of a batched_rows convolution: per block of images, Yᵀ [rows, O] = windows [rows, kw·C] ·
// W [kw·C, O] (the windows packed by packed_sgemm, the weights read in place as tap_major_by_channel lays
// them out) into a scratch, then each image's valid columns, plus the bias, into out [N, O, 1, P].
// Every output is one dot product summed in the same order whatever the blocks or threads.
template <class T>
void forward_rows(const TensorBase& x, const TensorBase& w, const TensorBase& b, const TensorBase& out,
                  const Conv2dGeometry& g) {
  const std::int64_t K = g.kw * g.C, P = g.OW;
  const T* px = x.data<T>();
  const T* pb = b.defined() ? b.data<T>() : nullptr;
  T* po = out.data<T>();
  const std::vector<T> wt = tap_major_by_channel(w.data<T>(), g, g.C);
  const RowBlocks blocks(g, Sizes(g).macs);
  for_each_image<T>(blocks.count, blocks.threads, images_per_block(g) * g.W * g.O, [&](std::int64_t blk, T* yt, int) {
    const std::int64_t n0 = blocks.first(blk, g), n1 = blocks.first(blk + 1, g), rows = (n1 - n0) * g.W - (g.kw - 1);
    packed_product(rows, g.O, K, px + n0 * g.W * g.C, g.C, 1, wt.data(), g.O, 1, yt, 1, rows, false);
    for (std::int64_t n = n0; n < n1; ++n)
      for (std::int64_t o = 0; o < g.O; ++o) {
        const T* src = yt + o * rows + (n - n0) * g.W;
        T* dst = po + (n * g.O + o) * P;
        const T bias = pb ? pb[o] : T(0);
        for (std::int64_t p = 0; p < P; ++p) dst[p] = src[p] + bias;
      }
  });
}

template <class T>
void forward_typed(const TensorBase& x_in, const TensorBase& w_in, const TensorBase& b_in, const TensorBase& out, const Conv2dGeometry& g) {
  if (use_packed<T>() && batched_rows(x_in, g)) return forward_rows<T>(x_in, dense(w_in), dense(b_in), out, g);
  if (use_packed<T>() && !pointwise(g) && row_taps(g) && channels_last_rows(x_in, g) && g.O % 256 != 0)
    return forward_channels_last<T>(x_in, dense(w_in), dense(b_in), out, g);
  const TensorBase x = dense(x_in), w = dense(w_in), b = dense(b_in);
  const Sizes s(g);
  const bool direct = pointwise(g);
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pb = b.defined() ? b.data<T>() : nullptr;
  T* po = out.data<T>();
  const std::int64_t blocks = channel_blocks(g.N, s.Og, s.macs);  // work item = (image, block of Og)
  const int threads = image_threads(g.N * blocks, s.macs);
  const bool packed = use_packed<T>();
  const bool taps = packed && !direct && row_taps(g);
  const std::vector<T> wt = taps ? tap_major(pw, g, s.Cg) : std::vector<T>();
  for_each_image<T>(g.N * blocks, threads, direct || taps ? 0 : s.K * s.P, [&](std::int64_t item, T* col, int) {
    const std::int64_t n = item / blocks, b = item % blocks;
    const std::int64_t o0 = b * s.Og / blocks, On = (b + 1) * s.Og / blocks - o0;  // this item's channels
    for (std::int64_t gi = 0; gi < g.groups; ++gi) {
      const T* xg = px + (n * g.C + gi * s.Cg) * s.HW;
      const T* wg = pw + (gi * s.Og + o0) * s.K;
      const T* bg = pb ? pb + gi * s.Og + o0 : nullptr;
      T* y = po + (n * g.O + gi * s.Og + o0) * s.P;
      if (taps) {  // Yᵀ [P, On] = bias + Σ_j (Xᵀ shifted by j) [P, Cg] · W_jᵀ [Cg, On]
        for (std::int64_t o = 0; o < On; ++o) std::fill(y + o * s.P, y + (o + 1) * s.P, bg ? bg[o] : T(0));
        for (std::int64_t j = 0; j < g.kw; ++j) {
          const auto [lo, hi] = tap_columns(g, j);
          if (lo < hi)
            packed_product(hi - lo, On, s.Cg, xg + lo + j * g.dw - g.pw, 1, s.HW,
                           wt.data() + (j * g.O + gi * s.Og + o0) * s.Cg, 1, s.Cg, y + lo, 1, s.P, true);
        }
        continue;
      }
      if (packed) {  // Yᵀ [P, On] (+)= Xᵀ [P, K] · Wgᵀ [K, On], chunk by chunk of K, onto the bias if any
        if (bg)
          for (std::int64_t o = 0; o < On; ++o) std::fill(y + o * s.P, y + (o + 1) * s.P, bg[o]);
        if (image_direct(g, On)) {
          packed_image_product(s.P, On, s.K, xg, g, wg, 1, s.K, y, 1, s.P, bg != nullptr);
          continue;
        }
        const std::int64_t chunk = direct ? s.K : tap_chunk(s.P);
        for (std::int64_t k0 = 0; k0 < s.K; k0 += chunk) {
          const std::int64_t k1 = std::min(s.K, k0 + chunk);
          if (!direct) im2col(xg, g, s.Cg, col, k0, k1);
          packed_product(s.P, On, k1 - k0, direct ? xg + k0 * s.P : col, 1, s.P, wg + k0, 1, s.K, y, 1, s.P,
                         bg != nullptr || k0 > 0);
        }
        continue;
      }
      if (!direct) im2col(xg, g, s.Cg, col);
      Eigen::Map<const RowMat<T>> Wg(wg, On, s.K), X(direct ? xg : col, s.K, s.P);
      Eigen::Map<RowMat<T>> Y(y, On, s.P);
      Y.noalias() = Wg * X;
      if (bg) Y.colwise() += Eigen::Map<const Vec<T>>(bg, On);
    }
  });
}

// With stride 1 the input gradient is itself a convolution: of g, with the kernel flipped in space and
// its two channel dims swapped, and padding d(k-1) - p on each side (when that is not negative). Run
// through forward, it costs an im2col copy instead of col2im's scatter-adds.
template <class T>
bool input_grad_as_conv(const TensorBase& go, const TensorBase& w, const TensorBase& dx, const Conv2dGeometry& g) {
  const std::int64_t fph = g.dh * (g.kh - 1) - g.ph, fpw = g.dw * (g.kw - 1) - g.pw;
  if (g.sh != 1 || g.sw != 1 || fph < 0 || fpw < 0) return false;
  const Sizes s(g);
  // wf[gi * Cg + c, o, i, j] = w[gi * Og + o, c, kh - 1 - i, kw - 1 - j]
  TensorBase wf = allocate({g.C, s.Og, g.kh, g.kw}, w.dtype(), w.device());
  const T* pw = w.data<T>();
  T* pf = wf.data<T>();
  for (std::int64_t gi = 0; gi < g.groups; ++gi)
    for (std::int64_t o = 0; o < s.Og; ++o)
      for (std::int64_t c = 0; c < s.Cg; ++c)
        for (std::int64_t i = 0; i < g.kh; ++i)
          for (std::int64_t j = 0; j < g.kw; ++j)
            pf[(((gi * s.Cg + c) * s.Og + o) * g.kh + i) * g.kw + j] =
                pw[(((gi * s.Og + o) * s.Cg + c) * g.kh + g.kh - 1 - i) * g.kw + g.kw - 1 - j];
  const Conv2dGeometry f{g.N, g.O, g.OH, g.OW, g.C, g.H, g.W, g.kh, g.kw, 1, 1, fph, fpw, g.dh, g.dw, g.groups};
  forward_typed<T>(go, wf, TensorBase(), dx, f);
  return true;
}

// The output gradient G [N, O, 1, P] of images [n0, n1) as the batched gradients read their windows
// from: `lead` zero rows, then W rows of O numbers per image (the W − P past the last window zero).
// (Bound by memory, not by the scalar transpose: an 8×8-block one measured no faster.)
template <class T>
void gradient_rows(const T* go, const Conv2dGeometry& g, std::int64_t n0, std::int64_t n1, std::int64_t lead, T* rows) {
  std::fill(rows, rows + (lead + (n1 - n0) * g.W) * g.O, T(0));
  for (std::int64_t n = n0; n < n1; ++n) {
    const T* gn = go + n * g.O * g.OW;
    T* dst = rows + (lead + (n - n0) * g.W) * g.O;
    for (std::int64_t o = 0; o < g.O; ++o)
      for (std::int64_t p = 0; p < g.OW; ++p) dst[p * g.O + o] = gn[o * g.OW + p];
  }
}

// The input gradient of a batched_rows convolution into a channels-last dx [N, W, C] (seen as [N, C, 1, W]):
// dx[n, t, c] = Σ_j Σ_o G[n, o, t − j] · W[o, c, j]. G is laid out as rows of O numbers, image after image,
// W rows each (the kw − 1 past P zero) after kw − 1 leading zero rows; then the window of kw·O numbers
// from row r holds G at t = r − j for every tap (reversed), and per block of images
//   dxᵀ [C, rows] = Wf [C, kw·O] · windowsᵀ [kw·O, rows],   Wf(c, (i, o)) = W[o, c, kw − 1 − i],
// with all three operands read and written in place by packed_sgemm (the windows of a tap straddling
// two images read the zero rows between them).
template <class T>
void input_grad_rows(const TensorBase& go, const TensorBase& w, const TensorBase& dx, const Conv2dGeometry& g) {
  const std::int64_t K = g.kw * g.O, lead = g.kw - 1;
  const RowBlocks blocks(g, Sizes(g).macs);
  const T* pg = go.data<T>();
  const T* pw = w.data<T>();
  T* pdx = dx.data<T>();
  std::vector<T> wf(static_cast<std::size_t>(K * g.C));  // Wf(c, q) at wf[q * C + c]
  for (std::int64_t i = 0; i < g.kw; ++i)
    for (std::int64_t o = 0; o < g.O; ++o)
      for (std::int64_t c = 0; c < g.C; ++c)
        wf[static_cast<std::size_t>((i * g.O + o) * g.C + c)] = pw[(o * g.C + c) * g.kw + g.kw - 1 - i];
  for_each_image<T>(blocks.count, blocks.threads, (lead + images_per_block(g) * g.W) * g.O, [&](std::int64_t blk, T* gp, int) {
    const std::int64_t n0 = blocks.first(blk, g), n1 = blocks.first(blk + 1, g), rows = (n1 - n0) * g.W;
    gradient_rows(pg, g, n0, n1, lead, gp);
    packed_product(g.C, rows, K, wf.data(), 1, g.C, gp, 1, g.O, pdx + n0 * g.W * g.C, 1, g.C, false);
  });
}

template <class T>
void input_grad_dense(const TensorBase& go, const TensorBase& w, const TensorBase& dx, const Conv2dGeometry& g) {
  if (input_grad_as_conv<T>(go, w, dx, g)) return;
  const Sizes s(g);
  const T* pg = go.data<T>();
  const T* pw = w.data<T>();
  T* pdx = dx.data<T>();
  const int threads = image_threads(g.N, s.macs);
  const bool packed = use_packed<T>();
  for_each_image<T>(g.N, threads, s.K * s.P, [&](std::int64_t n, T* col, int) {
    T* dxn = pdx + n * g.C * s.HW;
    std::fill(dxn, dxn + g.C * s.HW, T(0));
    for (std::int64_t gi = 0; gi < g.groups; ++gi) {
      const T* wg = pw + gi * s.Og * s.K;
      const T* gn = pg + (n * g.O + gi * s.Og) * s.P;
      if (packed) {  // colᵀ [P, K] = Gᵀ [P, Og] · Wg [Og, K]
        packed_product(s.P, s.K, s.Og, gn, 1, s.P, wg, s.K, 1, col, 1, s.P, false);
      } else {
        Eigen::Map<const ColMat<T>> WgT(wg, s.K, s.Og);  // Wg [Og, K] row-major, read transposed
        Eigen::Map<const RowMat<T>> G(gn, s.Og, s.P);
        Eigen::Map<RowMat<T>>(col, s.K, s.P).noalias() = WgT * G;
      }
      col2im(col, g, s.Cg, dxn + gi * s.Cg * s.HW);
    }
  });
}

template <class T>
void input_grad_typed(const TensorBase& g_in, const TensorBase& w_in, const TensorBase& dx_out, const Conv2dGeometry& g) {
  const TensorBase go = dense(g_in), w = dense(w_in);
  if (use_packed<T>() && batched_rows(dx_out, g)) return input_grad_rows<T>(go, w, dx_out, g);
  // Any other layout of dx is computed dense, then copied into it.
  const TensorBase dx = dx_out.is_contiguous() ? dx_out : allocate(dx_out.shape(), dx_out.dtype(), dx_out.device());
  input_grad_dense<T>(go, w, dx, g);
  if (dx.data<T>() != dx_out.data<T>()) copy(dx, dx_out);
}

// How many partial sums the weight gradient splits a batch into (fewer for a smaller batch): fixed, so
// that the rounding does not depend on the thread count; enough for 4 threads.
constexpr std::int64_t kWeightGradChunks = 4;

// The weight gradient of a batched_rows convolution: dWᵀ [(tap, channel), O] = Σ_rows windowsᵀ [kw·C, rows] ·
// G [rows, O], G laid out as in input_grad_rows (rows of O numbers, zero past P in each image, so the
// windows that straddle two images count for nothing); both read in place, and the kw·C side (a multiple
// of 32 for text embeddings) is the one the micro-kernel's 32-row tiles cover without waste. The
// batch's images are cut into `chunks` fixed chunks as in weight_grad_typed, each summed block by block
// of images_per_block in order into its own partial dW: the same bits whatever the thread count.
template <class T>
void weight_grad_rows(const TensorBase& x, const TensorBase& go, const TensorBase& dw, const Conv2dGeometry& g,
                      std::int64_t chunks) {
  const std::int64_t K = g.kw * g.C, wsize = g.O * K, per = images_per_block(g);
  const T* px = x.data<T>();
  const T* pg = go.data<T>();
  // each chunk's dWᵀ [(j, c), O], column-major (one of zeros for an empty batch)
  std::vector<T> partial(static_cast<std::size_t>(std::max<std::int64_t>(chunks, 1) * wsize));
  for_each_image<T>(chunks, image_threads(chunks, Sizes(g).macs), per * g.W * g.O, [&](std::int64_t chunk, T* gp, int) {
    const std::int64_t first = chunk * g.N / chunks, last = (chunk + 1) * g.N / chunks;
    for (std::int64_t n0 = first; n0 < last; n0 += per) {
      const std::int64_t n1 = std::min(last, n0 + per), rows = (n1 - n0) * g.W - (g.kw - 1);
      gradient_rows(pg, g, n0, n1, 0, gp);
      packed_product(K, g.O, rows, px + n0 * g.W * g.C, 1, g.C, gp, g.O, 1, partial.data() + chunk * wsize, 1, K,
                     n0 > first);
    }
  });
  T* pdw = dw.data<T>();
  // The chunks' partial sums added in chunk order, then laid out as dw [O, C, 1, kw]: two passes in
  // memory order (summing each weight across the chunks' strided copies was a cache miss per add).
  for (std::int64_t ch = 1; ch < chunks; ++ch)
    for (std::int64_t i = 0; i < wsize; ++i) partial[static_cast<std::size_t>(i)] += partial[static_cast<std::size_t>(ch * wsize + i)];
  for (std::int64_t o = 0; o < g.O; ++o)
    for (std::int64_t j = 0; j < g.kw; ++j)
      for (std::int64_t c = 0; c < g.C; ++c) pdw[(o * g.C + c) * g.kw + j] = partial[static_cast<std::size_t>(o * K + j * g.C + c)];
}

template <class T>
void weight_grad_typed(const TensorBase& x_in, const TensorBase& g_in, const TensorBase& dw, const Conv2dGeometry& g) {
  if (use_packed<T>() && batched_rows(x_in, g))
    return weight_grad_rows<T>(x_in, dense(g_in), dw, g, std::min(g.N, kWeightGradChunks));
  const TensorBase x = dense(x_in), go = dense(g_in);
  const Sizes s(g);
  const bool direct = pointwise(g);
  const T* px = x.data<T>();
  const T* pg = go.data<T>();
  T* pdw = dw.data<T>();
  const std::int64_t wsize = g.O * s.K;
  // The images are cut into `chunks` fixed, contiguous chunks; each chunk sums its images into its own
  // copy of dW (no races) and the copies are added in chunk order at the end. The chunks depend on the
  // batch size only, never on the thread count, nor does it matter which thread runs a chunk: the
  // result is the same bits with any number of threads (tests/nn/test_reproducible.cpp).
  // The copies hold each group's [Og, K] block column-major, which Eigen's GEMM fills ~8% faster.
  const std::int64_t chunks = std::min(g.N, kWeightGradChunks);
  const int threads = image_threads(chunks, s.macs);
  const bool packed = use_packed<T>();
  const bool taps = packed && !direct && row_taps(g);
  std::vector<T> partial(chunks * wsize, T(0));
  for_each_image<T>(chunks, threads, direct || taps ? 0 : s.K * s.P, [&](std::int64_t chunk, T* col, int) {
    for (std::int64_t n = chunk * g.N / chunks; n < (chunk + 1) * g.N / chunks; ++n)
      for (std::int64_t gi = 0; gi < g.groups; ++gi) {
        const T* xg = px + (n * g.C + gi * s.Cg) * s.HW;
        const T* gn = pg + (n * g.O + gi * s.Og) * s.P;
        T* dwg = partial.data() + chunk * wsize + gi * s.Og * s.K;
        if (taps) {  // tap j's columns of dWg [Og, K] (column-major) += G [Og, P] · (X shifted by j) [P, Cg]
          for (std::int64_t j = 0; j < g.kw; ++j) {
            const auto [lo, hi] = tap_columns(g, j);
            if (lo < hi)
              packed_product(s.Og, s.Cg, hi - lo, gn + lo, s.P, 1, xg + lo + j * g.dw - g.pw, 1, s.HW, dwg + j * s.Og, 1,
                             g.kw * s.Og, true);
          }
          continue;
        }
        if (packed) {  // dWg [Og, K] (column-major) += G [Og, P] · Xᵀ [P, K], chunk by chunk of K's columns
          const std::int64_t taps = direct ? s.K : tap_chunk(s.P);
          for (std::int64_t k0 = 0; k0 < s.K; k0 += taps) {
            const std::int64_t k1 = std::min(s.K, k0 + taps);
            if (!direct) im2col(xg, g, s.Cg, col, k0, k1);
            packed_product(s.Og, k1 - k0, s.P, gn, s.P, 1, direct ? xg + k0 * s.P : col, 1, s.P, dwg + k0 * s.Og, 1,
                           s.Og, true);
          }
          continue;
        }
        if (!direct) im2col(xg, g, s.Cg, col);
        const T* xn = direct ? xg : col;
        Eigen::Map<const RowMat<T>> G(gn, s.Og, s.P);
        Eigen::Map<const ColMat<T>> XT(xn, s.P, s.K);  // col [K, P] row-major, read transposed
        Eigen::Map<ColMat<T>>(dwg, s.Og, s.K).noalias() += G * XT;
      }
  });
  for (std::int64_t gi = 0; gi < g.groups; ++gi)
    for (std::int64_t o = 0; o < s.Og; ++o)
      for (std::int64_t k = 0; k < s.K; ++k) {
        T sum = 0;
        for (std::int64_t c = 0; c < chunks; ++c) sum += partial[c * wsize + gi * s.Og * s.K + k * s.Og + o];
        pdw[(gi * s.Og + o) * s.K + k] = sum;
      }
}

}  // namespace

void conv2d_forward(const TensorBase& x, const TensorBase& w, const TensorBase& bias, const TensorBase& out, const Conv2dGeometry& g) {
  visit_floating(out.dtype(), "conv2d", [&]<class T>() { forward_typed<T>(x, w, bias, out, g); });
}

void conv2d_input_grad(const TensorBase& gout, const TensorBase& w, const TensorBase& dx, const Conv2dGeometry& g) {
  visit_floating(dx.dtype(), "conv2d_input_grad", [&]<class T>() { input_grad_typed<T>(gout, w, dx, g); });
}

void conv2d_weight_grad(const TensorBase& x, const TensorBase& gout, const TensorBase& dw, const Conv2dGeometry& g) {
  visit_floating(dw.dtype(), "conv2d_weight_grad", [&]<class T>() { weight_grad_typed<T>(x, gout, dw, g); });
}

}  // namespace lumen::kernels::cpu
