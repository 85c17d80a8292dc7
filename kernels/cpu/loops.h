#pragma once
// Loops shared by the CPU kernels: a parallel-for over a range, and an N-operand strided loop that
// walks any shapes/strides (broadcast operands have stride 0) as few long inner runs as possible.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/core/tensor_base.h"

namespace lumen::kernels::cpu {

// Below this many elements a loop runs on one thread: waking threads costs more than it saves.
inline constexpr std::int64_t kParallelGrain = 32768;

// Calls f(begin, end) over chunks of [0, n), in parallel when the work is large enough: one chunk per
// thread, of at least `grain`. The chunks follow the thread count, so f must compute each index the
// same whatever range it is given (true of every caller but one: see parallel_pieces).
template <class F> void parallel_for(std::int64_t n, std::int64_t grain, F&& f) {
  if (n <= 0) return;
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || n <= grain) {
    f(std::int64_t{0}, n);
    return;
  }
  std::int64_t chunks = std::min<std::int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    std::int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) f(b, e);
  }
}

// Calls f(begin, end) over the pieces [0, piece), [piece, 2 piece), ... of [0, n), each thread taking a
// run of them: pieces fixed by n alone, never by the thread count. For a vectorised body that treats
// the ends of its range apart (Eigen's exp is a polynomial in the body, std::exp at the scalar ends),
// where chunks that moved with the threads would change those elements' rounding. `piece` should be a
// multiple of 16, so that every piece starts as aligned as the first.
template <class F> void parallel_pieces(std::int64_t n, std::int64_t piece, F&& f) {
  if (n <= 0) return;
  const std::int64_t pieces = (n + piece - 1) / piece;
  const int threads = omp_in_parallel() ? 1 : static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), pieces));
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (std::int64_t c = 0; c < pieces; ++c) f(c * piece, std::min(n, (c + 1) * piece));
}

// Strides of t as seen from a tensor of shape `shape` (right-aligned broadcasting: stride 0 where t
// has size 1 or lacks the dim).
inline Shape broadcast_strides(const TensorBase& t, const Shape& shape) {
  Shape s(shape.size(), 0);
  std::int64_t off = static_cast<std::int64_t>(shape.size()) - t.dim();
  for (std::int64_t d = 0; d < t.dim(); ++d)
    s[off + d] = t.size(d) == 1 ? 0 : t.stride(d);
  return s;
}

// Walks `shape` with N operands whose element strides are given, merging dims that are contiguous
// for every operand. body(offsets, n, inner_strides) handles one run of n elements.
template <std::size_t N, class Body>
void strided_loop(const Shape& shape, const std::array<Shape, N>& strides, Body&& body) {
  for (auto n : shape)
    if (n == 0) return;  // nothing to visit
  // Drop size-1 dims and merge dim d into the next inner one where every operand allows it.
  std::vector<std::int64_t> sz;
  std::vector<std::array<std::int64_t, N>> st;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<std::int64_t, N> s{};
    for (std::size_t k = 0; k < N; ++k) s[k] = strides[k][d];
    sz.push_back(shape[d]);
    st.push_back(s);
  }
  // Visit the dims in the order of the first operand's strides, largest first, when it broadcasts
  // nothing and no operand disagrees with that order: tensors in the same permuted layout (a
  // convolution's channels-last gradients) then merge into one contiguous run. Each element is
  // computed alone, so the order changes no result.
  std::vector<std::size_t> order(sz.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return st[a][0] > st[b][0]; });
  bool agree = std::none_of(st.begin(), st.end(), [](const auto& s) { return s[0] == 0; });
  for (std::size_t i = 1; i < order.size(); ++i)
    for (std::size_t k = 0; k < N; ++k)
      agree &= st[order[i]][k] <= st[order[i - 1]][k] || st[order[i]][k] == 0 || st[order[i - 1]][k] == 0;
  if (agree && !std::is_sorted(order.begin(), order.end())) {
    std::vector<std::int64_t> sz2;
    std::vector<std::array<std::int64_t, N>> st2;
    for (std::size_t d : order) {
      sz2.push_back(sz[d]);
      st2.push_back(st[d]);
    }
    sz.swap(sz2);
    st.swap(st2);
  }
  for (std::int64_t d = static_cast<std::int64_t>(sz.size()) - 2; d >= 0; --d) {
    bool mergeable = true;
    for (std::size_t k = 0; k < N; ++k) mergeable &= st[d][k] == st[d + 1][k] * sz[d + 1];
    if (mergeable) {
      sz[d] *= sz[d + 1];
      st[d] = st[d + 1];
      sz.erase(sz.begin() + d + 1);
      st.erase(st.begin() + d + 1);
    }
  }
  std::array<std::int64_t, N> zero{};
  if (sz.empty()) {
    body(zero, std::int64_t{1}, zero);
    return;
  }
  const std::int64_t inner = sz.back();
  const std::array<std::int64_t, N> inner_st = st.back();
  const std::int64_t outer_dims = static_cast<std::int64_t>(sz.size()) - 1;
  if (outer_dims == 0) {  // one long run: split it into fixed pieces (an eighth of the grain each)
    if (inner <= kParallelGrain) {
      body(zero, inner, inner_st);
      return;
    }
    parallel_pieces(inner, kParallelGrain / 8, [&](std::int64_t b, std::int64_t e) {
      std::array<std::int64_t, N> off{};
      for (std::size_t k = 0; k < N; ++k) off[k] = b * inner_st[k];
      body(off, e - b, inner_st);
    });
    return;
  }
  std::int64_t outer = 1;
  for (std::int64_t d = 0; d < outer_dims; ++d) outer *= sz[d];
  parallel_for(outer, std::max<std::int64_t>(1, kParallelGrain / inner), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t o = b; o < e; ++o) {
      std::array<std::int64_t, N> off{};
      std::int64_t rem = o;
      for (std::int64_t d = outer_dims - 1; d >= 0; --d) {
        std::int64_t i = rem % sz[d];
        rem /= sz[d];
        for (std::size_t k = 0; k < N; ++k) off[k] += i * st[d][k];
      }
      body(off, inner, inner_st);
    }
  });
}

}  // namespace lumen::kernels::cpu
