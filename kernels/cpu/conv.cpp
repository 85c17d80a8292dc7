// Convolution on the CPU: im2col + GEMM (Eigen), one image per thread.
//
// im2col unrolls the receptive fields of one image (one group) into a matrix col [K, P], with
// K = C/groups * kh * kw rows (one per weight tap) and P = OH * OW columns (one per output pixel), so
//   forward      out_n [O, P] = W [O, K] · col_n
//   input_grad   col   [K, P] = Wᵀ · g_n,  then col2im adds each entry back onto the pixel it came from
//   weight_grad  dW    [O, K] = Σ_n g_n · col_nᵀ
// (per group: W, g_n and dW restricted to the group's O/groups rows, col to its C/groups channels).
// A 1×1, stride-1, unpadded convolution needs no unrolling: col_n is x_n itself.
//
// Images are independent, so the batch is split across threads and each GEMM runs single-threaded
// inside the parallel region (Eigen sees it is nested); a single image instead lets Eigen's GEMM use
// the threads. Transposes are never materialised: a row-major [K, P] buffer is a column-major [P, K].
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <memory>

#include "kernels/conv.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cpu {
namespace {

template <class T> using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T> using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

Tensor dense(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  Tensor c = empty(t.shape(), options_of(t));
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

// Walks the rows of col [K, P] for the Cg channels of one image x: for each (channel, tap) row and
// each output row oh that reads inside the image, f(r, in, rw, iw0) pairs r[ow] with in[ow * sw + iw0]
// for ow in rw; the stretches of col that read the padding go to pad(p, n). im2col copies along this
// walk, col2im adds back along it.
template <class ColPtr, class XPtr, class Row, class Pad>
void walk_col(const Conv2dGeometry& g, std::int64_t Cg, ColPtr col, XPtr x, Row&& f, Pad&& pad) {
  const std::int64_t P = g.OH * g.OW;
  for (std::int64_t c = 0; c < Cg; ++c)
    for (std::int64_t i = 0; i < g.kh; ++i)
      for (std::int64_t j = 0; j < g.kw; ++j) {
        ColPtr row = col + ((c * g.kh + i) * g.kw + j) * P;
        const std::int64_t ih0 = i * g.dh - g.ph, iw0 = j * g.dw - g.pw;
        const Range rh = valid_range(g.OH, g.sh, ih0, g.H);
        const Range rw = valid_range(g.OW, g.sw, iw0, g.W);
        pad(row, rh.lo * g.OW);
        for (std::int64_t oh = rh.lo; oh < rh.hi; ++oh) {
          ColPtr r = row + oh * g.OW;
          pad(r, rw.lo);
          f(r, x + (c * g.H + oh * g.sh + ih0) * g.W, rw, iw0);
          pad(r + rw.hi, g.OW - rw.hi);
        }
        pad(row + rh.hi * g.OW, (g.OH - rh.hi) * g.OW);
      }
}

// col [K, P] from the Cg channels of one image starting at x; zeros where the kernel overhangs.
template <class T> void im2col(const T* x, const Conv2dGeometry& g, std::int64_t Cg, T* col) {
  walk_col(
      g, Cg, col, x,
      [&](T* r, const T* in, Range rw, std::int64_t iw0) {
        if (g.sw == 1) std::copy(in + rw.lo + iw0, in + rw.hi + iw0, r + rw.lo);
        else for (std::int64_t ow = rw.lo; ow < rw.hi; ++ow) r[ow] = in[ow * g.sw + iw0];
      },
      [](T* p, std::int64_t n) { std::fill(p, p + n, T(0)); });
}

// The adjoint of im2col: adds every entry of col onto the input pixel it was copied from (x must be zeroed).
template <class T> void col2im(const T* col, const Conv2dGeometry& g, std::int64_t Cg, T* x) {
  walk_col(
      g, Cg, col, x,
      [&](const T* r, T* in, Range rw, std::int64_t iw0) {
        if (g.sw == 1) {  // unit stride: a contiguous, vectorisable run
          T* o = in + iw0;
          for (std::int64_t ow = rw.lo; ow < rw.hi; ++ow) o[ow] += r[ow];
        } else {
          for (std::int64_t ow = rw.lo; ow < rw.hi; ++ow) in[ow * g.sw + iw0] += r[ow];
        }
      },
      [](const T*, std::int64_t) {});
}

// 1×1, stride 1, no padding, same size: col_n would be a copy of x_n.
bool pointwise(const Conv2dGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.OH == g.H && g.OW == g.W;
}

// How many threads split the batch: one per image at most, one inside an outer parallel region, and one
// for small convolutions (`macs` multiply-adds in all), where waking threads costs more than it saves.
int image_threads(std::int64_t N, std::int64_t macs) {
  if (omp_in_parallel() || macs < (1 << 20)) return 1;
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(omp_get_max_threads(), N)));
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
#pragma omp for schedule(static)
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

template <class T>
void forward_typed(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Tensor& out, const Conv2dGeometry& g) {
  const Tensor x = dense(x_in), w = dense(w_in), b = dense(b_in);
  const Sizes s(g);
  const bool direct = pointwise(g);
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pb = b.defined() ? b.data<T>() : nullptr;
  T* po = out.data<T>();
  for_each_image<T>(g.N, image_threads(g.N, s.macs), direct ? 0 : s.K * s.P, [&](std::int64_t n, T* col, int) {
    for (std::int64_t gi = 0; gi < g.groups; ++gi) {
      const T* xg = px + (n * g.C + gi * s.Cg) * s.HW;
      if (!direct) im2col(xg, g, s.Cg, col);
      Eigen::Map<const RowMat<T>> Wg(pw + gi * s.Og * s.K, s.Og, s.K), X(direct ? xg : col, s.K, s.P);
      Eigen::Map<RowMat<T>> Y(po + (n * g.O + gi * s.Og) * s.P, s.Og, s.P);
      Y.noalias() = Wg * X;
      if (pb) Y.colwise() += Eigen::Map<const Vec<T>>(pb + gi * s.Og, s.Og);
    }
  });
}

template <class T>
void input_grad_typed(const Tensor& g_in, const Tensor& w_in, const Tensor& dx, const Conv2dGeometry& g) {
  const Tensor go = dense(g_in), w = dense(w_in);
  const Sizes s(g);
  const bool direct = pointwise(g);
  const T* pg = go.data<T>();
  const T* pw = w.data<T>();
  T* pdx = dx.data<T>();
  for_each_image<T>(g.N, image_threads(g.N, s.macs), direct ? 0 : s.K * s.P, [&](std::int64_t n, T* col, int) {
    T* dxn = pdx + n * g.C * s.HW;
    if (!direct) std::fill(dxn, dxn + g.C * s.HW, T(0));
    for (std::int64_t gi = 0; gi < g.groups; ++gi) {
      T* dxg = dxn + gi * s.Cg * s.HW;
      Eigen::Map<const ColMat<T>> WgT(pw + gi * s.Og * s.K, s.K, s.Og);  // Wg [Og, K] row-major, read transposed
      Eigen::Map<const RowMat<T>> G(pg + (n * g.O + gi * s.Og) * s.P, s.Og, s.P);
      Eigen::Map<RowMat<T>>(direct ? dxg : col, s.K, s.P).noalias() = WgT * G;
      if (!direct) col2im(col, g, s.Cg, dxg);
    }
  });
}

template <class T>
void weight_grad_typed(const Tensor& x_in, const Tensor& g_in, const Tensor& dw, const Conv2dGeometry& g) {
  const Tensor x = dense(x_in), go = dense(g_in);
  const Sizes s(g);
  const bool direct = pointwise(g);
  const T* px = x.data<T>();
  const T* pg = go.data<T>();
  T* pdw = dw.data<T>();
  const std::int64_t wsize = g.O * s.K;
  // Each thread sums its images into its own dW (no races); the partial sums are added at the end.
  const int threads = image_threads(g.N, s.macs);
  std::unique_ptr<T[]> partial(new T[(threads - 1) * wsize]);
  std::fill(pdw, pdw + wsize, T(0));
  std::fill(partial.get(), partial.get() + (threads - 1) * wsize, T(0));
  for_each_image<T>(g.N, threads, direct ? 0 : s.K * s.P, [&](std::int64_t n, T* col, int t) {
    T* acc = t == 0 ? pdw : partial.get() + (t - 1) * wsize;
    for (std::int64_t gi = 0; gi < g.groups; ++gi) {
      const T* xg = px + (n * g.C + gi * s.Cg) * s.HW;
      if (!direct) im2col(xg, g, s.Cg, col);
      Eigen::Map<const RowMat<T>> G(pg + (n * g.O + gi * s.Og) * s.P, s.Og, s.P);
      Eigen::Map<const ColMat<T>> XT(direct ? xg : col, s.P, s.K);  // col [K, P] row-major, read transposed
      Eigen::Map<RowMat<T>>(acc + gi * s.Og * s.K, s.Og, s.K).noalias() += G * XT;
    }
  });
  for (int t = 1; t < threads; ++t) {
    const T* p = partial.get() + (t - 1) * wsize;
    for (std::int64_t i = 0; i < wsize; ++i) pdw[i] += p[i];
  }
}

}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& out, const Conv2dGeometry& g) {
  visit_floating(out.dtype(), "conv2d", [&]<class T>() { forward_typed<T>(x, w, bias, out, g); });
}

void conv2d_input_grad(const Tensor& gout, const Tensor& w, const Tensor& dx, const Conv2dGeometry& g) {
  visit_floating(dx.dtype(), "conv2d_input_grad", [&]<class T>() { input_grad_typed<T>(gout, w, dx, g); });
}

void conv2d_weight_grad(const Tensor& x, const Tensor& gout, const Tensor& dw, const Conv2dGeometry& g) {
  visit_floating(dw.dtype(), "conv2d_weight_grad", [&]<class T>() { weight_grad_typed<T>(x, gout, dw, g); });
}

}  // namespace lumen::kernels::cpu
