// kernels/cpu/sgemm: the AVX-512 float GEMM behind the convolutions, against a float64 triple loop
// over every operand layout it reads in place or packs (row-major, column-major, neither), ragged
// edges in all three dimensions, several k slices, and accumulation.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/sgemm.h"

using namespace lumen::kernels::cpu;

namespace {

// A dense buffer holding an r × c matrix in one of three layouts; element (i, j) at i * rs + j * cs.
struct Layout {
  std::int64_t rs, cs, size;
  static Layout make(int kind, std::int64_t r, std::int64_t c) {
    if (kind == 0) return {c, 1, r * c};                    // row-major
    if (kind == 1) return {1, r, r * c};                    // column-major
    return {2 * c + 1, 2, (r - 1) * (2 * c + 1) + 2 * c - 1};  // no unit stride (every other column, padded rows)
  }
};

struct Product {
  std::int64_t m, n, k;
  int la, lb, lc;
  bool accumulate;
};

// max |C - C_ref| / (1 + |C_ref|) for one product.
double worst_error(const Product& p, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  const Layout A = Layout::make(p.la, p.m, p.k), B = Layout::make(p.lb, p.k, p.n), C = Layout::make(p.lc, p.m, p.n);
  std::vector<float> a(A.size), b(B.size), c(C.size);
  for (float& v : a) v = u(rng);
  for (float& v : b) v = u(rng);
  for (float& v : c) v = u(rng);
  std::vector<double> want(p.m * p.n);
  for (std::int64_t i = 0; i < p.m; ++i)
    for (std::int64_t j = 0; j < p.n; ++j) {
      double s = p.accumulate ? c[i * C.rs + j * C.cs] : 0.0;
      for (std::int64_t q = 0; q < p.k; ++q) s += double(a[i * A.rs + q * A.cs]) * b[q * B.rs + j * B.cs];
      want[i * p.n + j] = s;
    }
  packed_sgemm(p.m, p.n, p.k, {a.data(), A.rs, A.cs}, {b.data(), B.rs, B.cs}, {c.data(), C.rs, C.cs}, p.accumulate);
  double worst = 0;
  for (std::int64_t i = 0; i < p.m; ++i)
    for (std::int64_t j = 0; j < p.n; ++j)
      worst = std::max(worst, std::abs(c[i * C.rs + j * C.cs] - want[i * p.n + j]) / (1 + std::abs(want[i * p.n + j])));
  return worst;
}

}  // namespace

TEST_SUITE("sgemm") {
  TEST_CASE("packed_sgemm equals a float64 triple loop for every layout, edge and accumulate") {
    if (!packed_sgemm_available()) {
      MESSAGE("SKIPPED: this build has no AVX-512 micro-kernel (the convolutions use Eigen instead)");
      CHECK_THROWS_AS(packed_sgemm(1, 1, 1, {}, {}, {}, false), std::logic_error);
      return;
    }
    std::mt19937 rng(5);
    // m: one 16-row panel, a ragged 32-row one, whole panels, several MC blocks; n: < NR, ragged, whole;
    // k: 1, < and > one KC slice (384).
    const std::int64_t ms[] = {1, 16, 17, 33, 64, 400, 785};
    const std::int64_t ns[] = {1, 7, 8, 13, 64};
    const std::int64_t ks[] = {1, 9, 384, 385, 800};
    int checked = 0;
    for (std::int64_t m : ms)
      for (std::int64_t n : ns)
        for (std::int64_t k : ks) {
          // every layout combination is too many for the big shapes: rotate through them
          const int combo = checked++;
          const Product p{m, n, k, combo % 3, (combo / 3) % 3, (combo / 9) % 3, combo % 2 == 1};
          INFO("m " << m << " n " << n << " k " << k << " layouts " << p.la << p.lb << p.lc << " acc " << p.accumulate);
          CHECK(worst_error(p, rng) < 2e-5 * std::sqrt(double(k)));
        }
    for (int la = 0; la < 3; ++la)
      for (int lb = 0; lb < 3; ++lb)
        for (int lc = 0; lc < 3; ++lc)
          for (bool acc : {false, true}) {
            INFO("layouts " << la << lb << lc << " acc " << acc);
            CHECK(worst_error({70, 19, 400, la, lb, lc, acc}, rng) < 1e-4);
          }
  }

  TEST_CASE("k = 0 gives zeros, or leaves C alone when accumulating") {
    if (!packed_sgemm_available()) {
      MESSAGE("SKIPPED: this build has no AVX-512 micro-kernel");
      return;
    }
    std::vector<float> c(6, 3.0f);
    packed_sgemm(2, 3, 0, {nullptr, 0, 1}, {nullptr, 3, 1}, {c.data(), 3, 1}, true);
    CHECK(c == std::vector<float>(6, 3.0f));
    packed_sgemm(2, 3, 0, {nullptr, 0, 1}, {nullptr, 3, 1}, {c.data(), 3, 1}, false);
    CHECK(c == std::vector<float>(6, 0.0f));
  }
}
