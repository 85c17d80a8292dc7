// Pooling and resampling on the CPU: every kernel works on one [H, W] plane at a time, and the
// N * C planes are split across threads (planes never write to each other, so no races).
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

#include "kernels/cpu/loops.h"
#include "kernels/kernels.h"
#include "kernels/pool.h"

namespace lumen::kernels::cpu {
namespace {

TensorBase dense(const TensorBase& t) {
  if (t.is_contiguous()) return t;
  TensorBase c = allocate(t.shape(), t.dtype(), t.device());
  copy(t, c);
  return c;
}

// f(p) for every plane p < n, in parallel when the planes hold enough work (`work` elements each).
template <class F> void for_planes(std::int64_t n, std::int64_t work, F&& f) {
  parallel_for(n, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(work, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t p = b; p < e; ++p) f(p);
               });
}

std::int64_t plane(const TensorBase& t) { return t.size(2) * t.size(3); }

// The winner of a against a challenger b that comes later in the window: b only if strictly larger
// or NaN (NaN propagates, and ties keep the first, as in PyTorch).
template <class T> inline void challenge(T& best, std::int64_t& arg, T v, std::int64_t at) {
  const bool take = v > best || v != v;
  best = take ? v : best;
  arg = take ? at : arg;
}

// One output row of the common 2×2, stride 2, unpadded window: rows a and b of the input (flat
// offsets ia and ib in the plane), n outputs. Selects instead of branches and restrict pointers, so
// the compiler vectorises it.
template <class T>
void max_pool_2x2_row(const T* __restrict a, const T* __restrict b, T* __restrict out, std::int64_t* __restrict idx,
                      std::int64_t n, std::int64_t ia, std::int64_t ib) {
  for (std::int64_t j = 0; j < n; ++j) {
    T best = a[2 * j];
    std::int64_t arg = ia + 2 * j;
    challenge(best, arg, a[2 * j + 1], ia + 2 * j + 1);
    challenge(best, arg, b[2 * j], ib + 2 * j);
    challenge(best, arg, b[2 * j + 1], ib + 2 * j + 1);
    out[j] = best;
    idx[j] = arg;
  }
}

#if defined(__AVX512F__) && defined(__AVX512VL__)
// max_pool_2x2_row for float, 8 outputs at a time with masks for the tail: the rows of a small CNN's
// planes (7 or 14 outputs) are too short for the compiler's vector loop, and its scalar remainder
// branches on every comparison. The same challenges in the same order, so the same results.
inline void max_pool_2x2_row_avx512(const float* a, const float* b, float* out, std::int64_t* idx, std::int64_t n,
                                    std::int64_t ia, std::int64_t ib) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const __m512i lane2 = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);  // input offset of each output's window
  for (std::int64_t j = 0; j < n; j += 8) {
    const std::int64_t count = std::min<std::int64_t>(8, n - j);
    const __mmask8 m = static_cast<__mmask8>((1u << count) - 1);
    const __mmask16 m2 = static_cast<__mmask16>((1u << (2 * count)) - 1);
    const __m512 va = _mm512_maskz_loadu_ps(m2, a + 2 * j), vb = _mm512_maskz_loadu_ps(m2, b + 2 * j);
    const __m512i base_a = _mm512_add_epi64(lane2, _mm512_set1_epi64(ia + 2 * j));
    const __m512i base_b = _mm512_add_epi64(lane2, _mm512_set1_epi64(ib + 2 * j));
    __m256 best = _mm512_castps512_ps256(_mm512_permutexvar_ps(even, va));
    __m512i arg = base_a;
    auto challenge8 = [&](__m256 v, __m512i at) {
      const __mmask8 take = _mm256_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm256_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      best = _mm256_mask_blend_ps(take, best, v);
      arg = _mm512_mask_blend_epi64(take, arg, at);
    };
    const __m512i one = _mm512_set1_epi64(1);
    challenge8(_mm512_castps512_ps256(_mm512_permutexvar_ps(odd, va)), _mm512_add_epi64(base_a, one));
    challenge8(_mm512_castps512_ps256(_mm512_permutexvar_ps(even, vb)), base_b);
    challenge8(_mm512_castps512_ps256(_mm512_permutexvar_ps(odd, vb)), _mm512_add_epi64(base_b, one));
    _mm256_mask_storeu_ps(out + j, m, best);
    _mm512_mask_storeu_epi64(idx + j, m, arg);
  }
}
#endif

// The common 2×2, stride 2, unpadded window (every CNN here): no bounds to clip, four reads per output.
template <class T> void max_pool_2x2(const T* px, T* po, std::int64_t* pi, std::int64_t planes, std::int64_t H,
                                     std::int64_t W, std::int64_t OH, std::int64_t OW) {
  for_planes(planes, OH * OW * 4, [&](std::int64_t p) {
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      const std::int64_t r0 = 2 * oh * W;
#if defined(__AVX512F__) && defined(__AVX512VL__)
      if constexpr (std::is_same_v<T, float>) {
        max_pool_2x2_row_avx512(px + p * H * W + r0, px + p * H * W + r0 + W, po + p * OH * OW + oh * OW,
                                pi + p * OH * OW + oh * OW, OW, r0, r0 + W);
        continue;
      }
#endif
      max_pool_2x2_row(px + p * H * W + r0, px + p * H * W + r0 + W, po + p * OH * OW + oh * OW,
                       pi + p * OH * OW + oh * OW, OW, r0, r0 + W);
    }
  });
}

template <class T> void max_pool_typed(const TensorBase& x_in, const TensorBase& out, const TensorBase& indices, const MaxPool2dGeometry& g) {
  const TensorBase x = dense(x_in);
  const std::int64_t H = x.size(2), W = x.size(3), OH = out.size(2), OW = out.size(3);
  const T* px = x.data<T>();
  T* po = out.data<T>();
  std::int64_t* pi = indices.data<std::int64_t>();
  if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && 2 * OH <= H && 2 * OW <= W)
    return max_pool_2x2(px, po, pi, x.size(0) * x.size(1), H, W, OH, OW);
  for_planes(x.size(0) * x.size(1), OH * OW * g.kh * g.kw, [&](std::int64_t p) {
    const T* xp = px + p * H * W;
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      // the window clipped to the image: the padding is -inf and can never win
      const std::int64_t h0 = std::max<std::int64_t>(oh * g.sh - g.ph, 0), h1 = std::min(oh * g.sh - g.ph + g.kh, H);
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        const std::int64_t w0 = std::max<std::int64_t>(ow * g.sw - g.pw, 0), w1 = std::min(ow * g.sw - g.pw + g.kw, W);
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t arg = h0 * W + w0;
        for (std::int64_t h = h0; h < h1; ++h)
          for (std::int64_t w = w0; w < w1; ++w) {
            const T v = xp[h * W + w];
            if (v > best || std::isnan(v)) best = v, arg = h * W + w;  // NaN propagates, as in PyTorch
          }
        po[p * OH * OW + oh * OW + ow] = best;
        pi[p * OH * OW + oh * OW + ow] = arg;
      }
    }
  });
}

// Separable resampling of one plane, out = A_h X A_wᵀ: first along w into tmp [H, OW], then along h.
template <class T> struct Resampler {
  const Taps &th, &tw;
  std::vector<T> wh, ww;  // the tap weights in T, converted once
  std::int64_t fh, fw;    // nearest upsampling by whole factors (both > 0): plain copies, no tap loops
  Resampler(const Taps& h, const Taps& w)
      : th(h), tw(w), wh(h.weight.begin(), h.weight.end()), ww(w.weight.begin(), w.weight.end()),
        fh(repeat_factor(h)), fw(repeat_factor(w)) {}

  // f when output o is exactly input o / f (one tap of weight 1 each), else 0.
  static std::int64_t repeat_factor(const Taps& t) {
    if (t.in_size == 0 || t.out_size() % t.in_size != 0) return 0;
    const std::int64_t f = t.out_size() / t.in_size;
    for (std::int64_t o = 0; o < t.out_size(); ++o)
      if (t.start[o + 1] != t.start[o] + 1 || t.index[t.start[o]] != o / f || t.weight[t.start[o]] != 1.0) return 0;
    return f;
  }

  void forward(const T* x, T* out, T* tmp) const {
    const std::int64_t H = th.in_size, W = tw.in_size, OH = th.out_size(), OW = tw.out_size();
    if (fh && fw) {
      for (std::int64_t h = 0; h < H; ++h) {
        T* o = out + h * fh * OW;
        for (std::int64_t w = 0; w < W; ++w) std::fill(o + w * fw, o + (w + 1) * fw, x[h * W + w]);
        for (std::int64_t r = 1; r < fh; ++r) std::copy(o, o + OW, o + r * OW);
      }
      return;
    }
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        T s = 0;
        for (std::int64_t k = tw.start[ow]; k < tw.start[ow + 1]; ++k) s += ww[k] * x[h * W + tw.index[k]];
        tmp[h * OW + ow] = s;
      }
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      T* o = out + oh * OW;
      std::fill(o, o + OW, T(0));
      for (std::int64_t k = th.start[oh]; k < th.start[oh + 1]; ++k) {
        const T* r = tmp + th.index[k] * OW;
        for (std::int64_t ow = 0; ow < OW; ++ow) o[ow] += wh[k] * r[ow];
      }
    }
  }

  // dx = A_hᵀ G A_w: the same two passes in reverse, each scattering where forward gathered.
  void adjoint(const T* g, T* dx, T* tmp) const {
    const std::int64_t H = th.in_size, W = tw.in_size, OH = th.out_size(), OW = tw.out_size();
    if (fh && fw) {  // each input pixel sums its fh × fw block
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t w = 0; w < W; ++w) {
          T s = 0;
          for (std::int64_t r = 0; r < fh; ++r)
            for (std::int64_t c = 0; c < fw; ++c) s += g[(h * fh + r) * OW + w * fw + c];
          dx[h * W + w] = s;
        }
      return;
    }
    std::fill(tmp, tmp + H * OW, T(0));
    for (std::int64_t oh = 0; oh < OH; ++oh)
      for (std::int64_t k = th.start[oh]; k < th.start[oh + 1]; ++k) {
        T* r = tmp + th.index[k] * OW;
        for (std::int64_t ow = 0; ow < OW; ++ow) r[ow] += wh[k] * g[oh * OW + ow];
      }
    std::fill(dx, dx + H * W, T(0));
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        const T v = tmp[h * OW + ow];
        for (std::int64_t k = tw.start[ow]; k < tw.start[ow + 1]; ++k) dx[h * W + tw.index[k]] += ww[k] * v;
      }
  }
};

// Runs fn(resampler, src_plane, dst_plane, tmp) over all planes of src -> dst.
template <class T, class F> void resample_planes(const TensorBase& src_in, const TensorBase& dst, const Taps& th, const Taps& tw, F fn) {
  const TensorBase src = dense(src_in);
  const Resampler<T> r(th, tw);
  const std::int64_t ps = plane(src), pd = plane(dst), tmp_size = th.in_size * tw.out_size();
  const T* s = src.data<T>();
  T* d = dst.data<T>();
  parallel_for(dst.size(0) * dst.size(1), std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(ps + pd + tmp_size, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 std::vector<T> tmp(tmp_size);
                 for (std::int64_t p = b; p < e; ++p) fn(r, s + p * ps, d + p * pd, tmp.data());
               });
}

}  // namespace

void max_pool2d(const TensorBase& x, const TensorBase& out, const TensorBase& indices, const MaxPool2dGeometry& g) {
  visit_floating(out.dtype(), "max_pool2d", [&]<class T>() { max_pool_typed<T>(x, out, indices, g); });
}

void plane_scatter_add(const TensorBase& src_in, const TensorBase& indices, const TensorBase& out) {
  visit_floating(out.dtype(), "plane_scatter_add", [&]<class T>() {
    const TensorBase src = dense(src_in), idx = dense(indices);
    const std::int64_t n = plane(idx), m = plane(out);
    const T* ps = src.data<T>();
    const std::int64_t* pi = idx.data<std::int64_t>();
    T* po = out.data<T>();
    for_planes(out.size(0) * out.size(1), n + m, [&](std::int64_t p) {
      T* o = po + p * m;
      std::fill(o, o + m, T(0));
      for (std::int64_t j = 0; j < n; ++j) o[pi[p * n + j]] += ps[p * n + j];
    });
  });
}

void plane_gather(const TensorBase& x_in, const TensorBase& indices, const TensorBase& out) {
  visit_floating(out.dtype(), "plane_gather", [&]<class T>() {
    const TensorBase x = dense(x_in), idx = dense(indices);
    const std::int64_t n = plane(idx), m = plane(x);
    const T* px = x.data<T>();
    const std::int64_t* pi = idx.data<std::int64_t>();
    T* po = out.data<T>();
    for_planes(out.size(0) * out.size(1), n, [&](std::int64_t p) {
      for (std::int64_t j = 0; j < n; ++j) po[p * n + j] = px[p * m + pi[p * n + j]];
    });
  });
}

void resample2d(const TensorBase& x, const Taps& th, const Taps& tw, const TensorBase& out) {
  visit_floating(out.dtype(), "resample2d", [&]<class T>() {
    resample_planes<T>(x, out, th, tw, [](const Resampler<T>& r, const T* s, T* d, T* tmp) { r.forward(s, d, tmp); });
  });
}

void resample2d_adjoint(const TensorBase& g, const Taps& th, const Taps& tw, const TensorBase& dx) {
  visit_floating(dx.dtype(), "resample2d_adjoint", [&]<class T>() {
    resample_planes<T>(g, dx, th, tw, [](const Resampler<T>& r, const T* s, T* d, T* tmp) { r.adjoint(s, d, tmp); });
  });
}

}  // namespace lumen::kernels::cpu
