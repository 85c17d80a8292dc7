// Indexing kernels on the CPU. gather/scatter_add walk "rows": all coordinates but `dim` fixed, the
// index varying along dim; rows never share output elements for scatter_add, so they run in parallel
// without races. index_select/index_add move whole contiguous slices.
#include <cstring>

#include "kernels/cpu/loops.h"
#include "kernels/index.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cpu {
namespace {

// Calls f(row, offsets...) for every combination of the coordinates of `shape` other than `dim`,
// where offsets are the element offsets of that row's start in each strided operand.
template <std::size_t N, class F>
void for_each_row(const Shape& shape, std::int64_t dim, const std::array<const Shape*, N>& strides, F&& f) {
  std::int64_t rows = 1;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d)
    if (d != dim) rows *= shape[d];
  const std::int64_t len = shape.empty() ? 1 : shape[dim];
  parallel_for(rows, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(len, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t r = b; r < e; ++r) {
                   std::array<std::int64_t, N> off{};
                   std::int64_t rem = r;
                   for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 1; d >= 0; --d) {
                     if (d == dim) continue;
                     const std::int64_t i = rem % shape[d];
                     rem /= shape[d];
                     for (std::size_t k = 0; k < N; ++k) off[k] += i * (*strides[k])[d];
                   }
                   f(off);
                 }
               });
}

Tensor dense(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = empty(t.shape(), options_of(t));
  copy(t, c);
  return c;
}

}  // namespace

void gather(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& out) {
  visit_any(x.dtype(), [&]<class T>() {
    const T* px = x.data<T>();
    const std::int64_t* pi = index.data<std::int64_t>();
    T* po = out.data<T>();
    const std::int64_t len = index.dim() ? index.size(dim) : 1;
    const std::int64_t xs = x.dim() ? x.stride(dim) : 0, is = index.dim() ? index.stride(dim) : 0,
                       os = out.dim() ? out.stride(dim) : 0;
    for_each_row<3>(index.shape(), dim, {&x.strides(), &index.strides(), &out.strides()}, [&](auto off) {
      for (std::int64_t k = 0; k < len; ++k) po[off[2] + k * os] = px[off[0] + pi[off[1] + k * is] * xs];
    });
  });
}

void scatter_add(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src) {
  visit_floating(out.dtype(), "scatter_add", [&]<class T>() {
    const T* ps = src.data<T>();
    const std::int64_t* pi = index.data<std::int64_t>();
    T* po = out.data<T>();
    const std::int64_t len = index.dim() ? index.size(dim) : 1;
    const std::int64_t os = out.dim() ? out.stride(dim) : 0, is = index.dim() ? index.stride(dim) : 0,
                       ss = src.dim() ? src.stride(dim) : 0;
    for_each_row<3>(index.shape(), dim, {&out.strides(), &index.strides(), &src.strides()}, [&](auto off) {
      for (std::int64_t k = 0; k < len; ++k) po[off[0] + pi[off[1] + k * is] * os] += ps[off[2] + k * ss];
    });
  });
}

void index_select(const Tensor& x_in, std::int64_t dim, const Tensor& index_in, const Tensor& out) {
  Tensor x = dense(x_in), index = dense(index_in);
  const std::int64_t n = index.numel(), size = x.size(dim);
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < dim; ++d) outer *= x.size(d);
  for (std::int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  const std::size_t bytes = static_cast<std::size_t>(inner) * itemsize(x.dtype());
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  const std::int64_t* pi = index.data<std::int64_t>();
  parallel_for(outer * n, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(inner, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t r = b; r < e; ++r) {
                   const std::int64_t o = r / n, k = r % n;
                   std::memcpy(po + r * bytes, px + (o * size + pi[k]) * bytes, bytes);
                 }
               });
}

void index_add(const Tensor& out, std::int64_t dim, const Tensor& index_in, const Tensor& src_in) {
  Tensor src = dense(src_in), index = dense(index_in);
  visit_floating(out.dtype(), "index_add", [&]<class T>() {
    const std::int64_t n = index.numel(), size = out.size(dim);
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < dim; ++d) outer *= out.size(d);
    for (std::int64_t d = dim + 1; d < out.dim(); ++d) inner *= out.size(d);
    const T* ps = src.data<T>();
    T* po = out.data<T>();
    const std::int64_t* pi = index.data<std::int64_t>();
    // Repeated indices hit the same output slice, so threads split the (outer, inner) space and each
    // walks every k: no two threads ever write the same element.
    parallel_for(outer * inner, kParallelGrain / std::max<std::int64_t>(n, 1) + 1, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t p = b; p < e; ++p) {
          const std::int64_t o = p / inner, j = p % inner;
          po[(o * size + pi[k]) * inner + j] += ps[(o * n + k) * inner + j];
        }
    });
  });
}

}  // namespace lumen::kernels::cpu
