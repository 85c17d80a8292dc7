// Indexing kernels on the CPU, all on top of two loops over positions p of the index's shape:
//   gather:      out[p] = x[p with p[dim] = index[p]]
//   scatter_add: out[p with p[dim] = index[p]] += src[p]
// index_select/index_add are the same with a 1-D index broadcast (stride 0) over the other dims.
// Gather writes each out[p] once, so it parallelises over every position. Scatter-add may hit one
// output element from several p, but only from p's that differ in `dim` alone; so threads split the
// other dims and each walks the whole of `dim` itself: no races, no atomics, and a deterministic sum.
#include <cstdlib>

#include "kernels/cpu/loops.h"
#include "kernels/index.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cpu {
namespace {

// A 1-D index [n] seen as shaped like `shape`, varying along `dim` only.
TensorBase broadcast_index(const TensorBase& index, const Shape& shape, std::int64_t dim) {
  Shape st(shape.size(), 0);
  st[dim] = index.dim() ? index.stride(0) : 0;
  return make_view(index, shape, st, index.offset());
}

// Walks the positions of `shape` with `dim` held at 0, as runs along the innermost remaining dim
// (size-1 dims dropped, neighbours merged where every operand allows), in parallel. body(off, n,
// inner) handles n positions starting at element offsets off, stepping by inner; `len` (the size of
// `dim`) is the work per position, for the grain.
template <std::size_t N, class Body>
void for_each_run_but(const Shape& shape, std::int64_t dim, const std::array<Shape, N>& strides, std::int64_t len,
                      Body&& body) {
  std::vector<std::int64_t> sz;
  std::vector<std::array<std::int64_t, N>> st;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<std::int64_t>(d) == dim || shape[d] == 1) continue;
    std::array<std::int64_t, N> s{};
    for (std::size_t k = 0; k < N; ++k) s[k] = strides[k][d];
    if (!sz.empty()) {  // merge into the previous dim if it steps exactly over this one
      bool mergeable = true;
      for (std::size_t k = 0; k < N; ++k) mergeable &= st.back()[k] == s[k] * shape[d];
      if (mergeable) {
        sz.back() *= shape[d];
        st.back() = s;
        continue;
      }
    }
    sz.push_back(shape[d]);
    st.push_back(s);
  }
  if (sz.empty()) {  // a single position
    sz.push_back(1);
    st.push_back({});
  }
  std::int64_t total = 1;
  for (auto n : sz) total *= n;
  const std::int64_t inner = sz.back(), outer_dims = static_cast<std::int64_t>(sz.size()) - 1;
  parallel_for(total, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(len, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t r = b; r < e;) {
                   // Offsets of position r; then the rest of its inner run (clipped to the chunk).
                   std::array<std::int64_t, N> off{};
                   std::int64_t rem = r / inner;
                   for (std::int64_t d = outer_dims - 1; d >= 0; --d) {
                     const std::int64_t i = rem % sz[d];
                     rem /= sz[d];
                     for (std::size_t k = 0; k < N; ++k) off[k] += i * st[d][k];
                   }
                   const std::int64_t i0 = r % inner, n = std::min(e - r, inner - i0);
                   for (std::size_t k = 0; k < N; ++k) off[k] += i0 * st.back()[k];
                   body(off, n, st.back());
                   r += n;
                 }
               });
}

// dst[i * ds] = src[i * ss] (or +=) for i < n; the contiguous case is a loop the compiler vectorises.
template <bool Add, class T> void copy_run(T* dst, std::int64_t ds, const T* src, std::int64_t ss, std::int64_t n) {
  auto put = [](T& d, T v) {
    if constexpr (Add) d += v;
    else d = v;
  };
  if (ds == 1 && ss == 1)
    for (std::int64_t i = 0; i < n; ++i) put(dst[i], src[i]);
  else
    for (std::int64_t i = 0; i < n; ++i) put(dst[i * ds], src[i * ss]);
}

// x's strides with `dim` zeroed: the index supplies that coordinate.
Shape strides_without(const TensorBase& t, std::int64_t dim) {
  Shape s = t.strides();
  if (!s.empty()) s[dim] = 0;
  return s;
}

void gather_impl(const TensorBase& x, std::int64_t dim, const TensorBase& index, const TensorBase& out) {
  if (index.numel() == 0) return;
  visit_any(x.dtype(), [&]<class T>() {
    const T* px = x.data<T>();
    const std::int64_t* pi = index.data<std::int64_t>();
    T* po = out.data<T>();
    const std::int64_t xd = x.dim() ? x.stride(dim) : 0;
    strided_loop<3>(index.shape(), {strides_without(x, dim), index.strides(), out.strides()},
                    [&](const auto& off, std::int64_t n, const auto& s) {
                      if (s[1] == 0)  // one index for the whole run (index_select, embedding): a slice copy
                        copy_run<false>(po + off[2], s[2], px + off[0] + pi[off[1]] * xd, s[0], n);
                      else
                        for (std::int64_t i = 0; i < n; ++i)
                          po[off[2] + i * s[2]] = px[off[0] + i * s[0] + pi[off[1] + i * s[1]] * xd];
                    });
  });
}

void scatter_add_impl(const TensorBase& out, std::int64_t dim, const TensorBase& index, const TensorBase& src) {
  if (index.numel() == 0) return;
  visit_any(out.dtype(), [&]<class T>() {
    const T* ps = src.data<T>();
    const std::int64_t* pi = index.data<std::int64_t>();
    T* po = out.data<T>();
    const bool scalar = index.dim() == 0;
    const std::int64_t len = scalar ? 1 : index.size(dim), od = scalar ? 0 : out.stride(dim),
                       id = scalar ? 0 : index.stride(dim), sd = scalar ? 0 : src.stride(dim);
    for_each_run_but<3>(index.shape(), dim, {strides_without(out, dim), index.strides(), src.strides()}, len,
                        [&](const auto& off, std::int64_t n, const auto& s) {
                          auto add = [&](std::int64_t i, std::int64_t k) {
                            po[off[0] + i * s[0] + pi[off[1] + i * s[1] + k * id] * od] += ps[off[2] + i * s[2] + k * sd];
                          };
                          // Put whichever of the run and `dim` is closer to contiguous in the inner loop.
                          if (std::abs(sd) < std::abs(s[2]))
                            for (std::int64_t i = 0; i < n; ++i)
                              for (std::int64_t k = 0; k < len; ++k) add(i, k);
                          else if (s[1] == 0)  // one index per k (index_add, embedding backward): slice adds
                            for (std::int64_t k = 0; k < len; ++k)
                              copy_run<true>(po + off[0] + pi[off[1] + k * id] * od, s[0], ps + off[2] + k * sd, s[2], n);
                          else
                            for (std::int64_t k = 0; k < len; ++k)
                              for (std::int64_t i = 0; i < n; ++i) add(i, k);
                        });
  });
}

}  // namespace

void gather(const TensorBase& x, std::int64_t dim, const TensorBase& index, const TensorBase& out) {
  gather_impl(x, dim, index, out);
}

void scatter_add(const TensorBase& out, std::int64_t dim, const TensorBase& index, const TensorBase& src) {
  scatter_add_impl(out, dim, index, src);
}

void index_select(const TensorBase& x, std::int64_t dim, const TensorBase& index, const TensorBase& out) {
  gather_impl(x, dim, broadcast_index(index, out.shape(), dim), out);
}

void index_add(const TensorBase& out, std::int64_t dim, const TensorBase& index, const TensorBase& src) {
  scatter_add_impl(out, dim, broadcast_index(index, src.shape(), dim), src);
}

}  // namespace lumen::kernels::cpu
