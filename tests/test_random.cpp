// The random generator: reproducibility (seeds, stream offsets, thread counts, dtypes) and the
// distributions' moments. Statistical checks use n = 100k draws and a tolerance of 5 standard errors
// of the estimate, so a correct generator fails them with probability < 1e-6 for any seed (and with a
// fixed seed, never), while a biased one (a shifted mean, a wrong spread) fails them.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "kernels/philox.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

namespace {

constexpr std::int64_t kN = 100000;

struct Moments {
  double mean = 0, var = 0;
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= static_cast<double>(v.size() - 1);
  return m;
}
double fraction(const std::vector<double>& v, const std::function<bool(double)>& pred) {
  return static_cast<double>(std::count_if(v.begin(), v.end(), pred)) / static_cast<double>(v.size());
}
// 5 standard errors of a frequency estimate of probability p from n draws.
double freq_tol(double p, std::int64_t n) { return 5 * std::sqrt(p * (1 - p) / static_cast<double>(n)); }

// Every generator-driven factory, drawing from g.
const std::vector<std::pair<const char*, std::function<Tensor(Generator&)>>>& draws() {
  static const std::vector<std::pair<const char*, std::function<Tensor(Generator&)>>> fs = {
      {"rand", [](Generator& g) { return rand({1000}, {}, &g); }},
      {"rand64", [](Generator& g) { return rand({1000}, {.dtype = DType::float64}, &g); }},
      {"randn", [](Generator& g) { return randn({1000}, {}, &g); }},
      {"uniform", [](Generator& g) { return uniform({1000}, -2, 3, {}, &g); }},
      {"normal", [](Generator& g) { return normal({1000}, 1, 2, {}, &g); }},
      {"randint", [](Generator& g) { return randint(0, 100, {1000}, kCPU, &g); }},
      {"randperm", [](Generator& g) { return randperm(1000, kCPU, &g); }},
      {"bernoulli", [](Generator& g) { return bernoulli({1000}, 0.3, {}, &g); }},
      {"bernoulli(p)", [](Generator& g) { return bernoulli(full({1000}, 0.5), &g); }},
      {"dropout", [](Generator& g) { return dropout(ones({1000}), 0.5, true, &g); }},
  };
  return fs;
}

}  // namespace

TEST_SUITE("random") {
  TEST_CASE("same seed gives the same tensors; another seed other tensors; draws advance") {
    for (const auto& [name, f] : draws()) {
      INFO(name);
      Generator a(7), b(7), c(8);
      auto va = f(a).to_vector<double>();
      CHECK(va == f(b).to_vector<double>());
      CHECK(va != f(c).to_vector<double>());
      CHECK(va != f(a).to_vector<double>());  // the second draw from a continues the stream
      CHECK(a.offset() > 0);
    }
    manual_seed(3);  // the default generator too
    auto first = randn({100}).to_vector<double>();
    manual_seed(3);
    CHECK(randn({100}).to_vector<double>() == first);
  }

  TEST_CASE("a draw of n takes the next n stream positions") {
    Generator g(11), h(11);
    auto whole = rand({100}, {.dtype = DType::float64}, &g).to_vector<double>();
    CHECK(g.offset() == 100);
    auto lo = rand({40}, {.dtype = DType::float64}, &h).to_vector<double>();
    auto hi = rand({60}, {.dtype = DType::float64}, &h).to_vector<double>();
    lo.insert(lo.end(), hi.begin(), hi.end());
    CHECK(lo == whole);
    g.manual_seed(11);
    CHECK(g.offset() == 0);
    CHECK(rand({100}, {.dtype = DType::float64}, &g).to_vector<double>() == whole);
  }

  TEST_CASE("fills are element i = philox4x32(offset + i, seed), at every length and stream offset") {
    // The contract kernels/philox.h states, which CUDA and the CPU share: checked word for word here,
    // across the parallel split (4096 elements a piece) and from a stream already advanced.
    for (std::int64_t n : {1, 15, 16, 17, 40, 4096 + 33}) {
      Generator g(0x123456789abcdefULL);
      g.advance(5);  // blocks that start mid-stream
      const std::uint64_t seed = g.seed(), offset = g.offset();
      const std::vector<float> u = rand({n}, {}, &g).to_vector<float>();
      const std::vector<double> u64 = rand({n}, {.dtype = DType::float64}, &g).to_vector<double>();
      const std::vector<std::int64_t> k = randint(0, 1000, {n}, kCPU, &g).to_vector<std::int64_t>();
      bool same = true;
      for (std::int64_t i = 0; i < n; ++i) {
        const auto at = [&](std::int64_t start) { return philox4x32(offset + std::uint64_t(start + i), seed); };
        const Philox4 a = at(0), b = at(n), c = at(2 * n);
        same &= u[std::size_t(i)] == uniform_float(a.v[0]);
        same &= u64[std::size_t(i)] == uniform_double(b.v[0], b.v[1]);
        same &= k[std::size_t(i)] == std::int64_t(((std::uint64_t(c.v[0]) << 32) | c.v[1]) % 1000);
      }
      INFO("n " << n);
      CHECK(same);
    }
  }

  TEST_CASE("rand: U[0, 1) moments") {
    Generator g(21);
    auto v = rand({kN}, {.dtype = DType::float64}, &g).to_vector<double>();
    CHECK(*std::min_element(v.begin(), v.end()) >= 0.0);
    CHECK(*std::max_element(v.begin(), v.end()) < 1.0);
    Moments m = moments(v);
    CHECK(std::abs(m.mean - 0.5) < 5 * std::sqrt(1.0 / 12 / kN));
    // SE of the sample variance: sqrt((mu4 - sigma^4) / n), mu4 = 1/80 for U[0, 1).
    CHECK(std::abs(m.var - 1.0 / 12) < 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / kN));
    CHECK(std::abs(fraction(v, [](double x) { return x < 0.1; }) - 0.1) < freq_tol(0.1, kN));
    auto u = uniform({kN}, -2, 3, {.dtype = DType::float64}, &g).to_vector<double>();
    CHECK(*std::min_element(u.begin(), u.end()) >= -2.0);
    CHECK(std::abs(moments(u).mean - 0.5) < 5 * 5 * std::sqrt(1.0 / 12 / kN));
  }

  TEST_CASE("randn: N(0, 1) moments and tails") {
    Generator g(22);
    auto v = randn({kN}, {.dtype = DType::float64}, &g).to_vector<double>();
    Moments m = moments(v);
    CHECK(std::abs(m.mean) < 5 / std::sqrt(double(kN)));
    CHECK(std::abs(m.var - 1) < 5 * std::sqrt(2.0 / kN));  // var of s^2 is 2 sigma^4 / n for a normal
    CHECK(std::abs(fraction(v, [](double x) { return std::abs(x) > 1.959964; }) - 0.05) < freq_tol(0.05, kN));
    CHECK(std::abs(fraction(v, [](double x) { return x < -1.0; }) - 0.158655) < freq_tol(0.158655, kN));
    auto w = normal({kN}, 3, 2, {.dtype = DType::float64}, &g).to_vector<double>();
    CHECK(std::abs(moments(w).mean - 3) < 5 * 2 / std::sqrt(double(kN)));
    CHECK(std::abs(moments(w).var - 4) < 5 * 4 * std::sqrt(2.0 / kN));
  }

  TEST_CASE("randint: within [lo, hi), every value about equally often") {
    Generator g(23);
    Tensor t = randint(-3, 4, {70000}, kCPU, &g);
    CHECK(t.dtype() == DType::int64);
    auto v = t.to_vector<std::int64_t>();
    for (std::int64_t k = -3; k < 4; ++k) {
      INFO("value " << k);
      double f = static_cast<double>(std::count(v.begin(), v.end(), k)) / static_cast<double>(v.size());
      CHECK(std::abs(f - 1.0 / 7) < freq_tol(1.0 / 7, 70000));
    }
    CHECK(std::count_if(v.begin(), v.end(), [](std::int64_t x) { return x < -3 || x >= 4; }) == 0);
    CHECK(randint(5, 6, {10}, kCPU, &g).to_vector<std::int64_t>() == std::vector<std::int64_t>(10, 5));
  }

  TEST_CASE("randperm is a permutation") {
    Generator g(24);
    auto p = randperm(1000, kCPU, &g).to_vector<std::int64_t>();
    std::vector<std::int64_t> id(1000);
    std::iota(id.begin(), id.end(), 0);
    CHECK(p != id);
    std::sort(p.begin(), p.end());
    CHECK(p == id);
    CHECK(randperm(0, kCPU, &g).numel() == 0);
    CHECK(randperm(1, kCPU, &g).to_vector<std::int64_t>() == std::vector<std::int64_t>{0});
    // each of 3! orders about equally often: checks the shuffle is unbiased, not only a permutation
    std::map<std::vector<std::int64_t>, int> counts;
    for (int i = 0; i < 6000; ++i) counts[randperm(3, kCPU, &g).to_vector<std::int64_t>()]++;
    CHECK(counts.size() == 6);
    for (const auto& [perm, n] : counts) CHECK(std::abs(n / 6000.0 - 1.0 / 6) < freq_tol(1.0 / 6, 6000));
  }

  TEST_CASE("bernoulli: frequency p") {
    Generator g(25);
    auto v = bernoulli({kN}, 0.3, {.dtype = DType::float64}, &g).to_vector<double>();
    CHECK(fraction(v, [](double x) { return x != 0 && x != 1; }) == 0);
    CHECK(std::abs(fraction(v, [](double x) { return x == 1; }) - 0.3) < freq_tol(0.3, kN));
    // elementwise probabilities: 0 and 1 are certain, 0.8 about 80% of the time
    Tensor p = tensor({0.0, 1.0, 0.8}).reshape({1, 3}).expand({kN, 3});
    Tensor b = bernoulli(p, &g);
    CHECK(b.shape() == Shape{kN, 3});
    CHECK(b.select(1, 0).sum().item() == 0);
    CHECK(b.select(1, 1).sum().item() == kN);
    CHECK(std::abs(b.select(1, 2).mean().item() - 0.8) < freq_tol(0.8, kN));
  }

  TEST_CASE("dropout: mask frequency, scaling, identity in eval, gradient = mask") {
    Generator g(26);
    const double p = 0.25;
    Tensor x = uniform({kN}, 1, 2, {.dtype = DType::float64}, &g);  // no zeros in x
    auto xv = x.to_vector<double>();
    auto y = dropout(x, p, true, &g).to_vector<double>();
    CHECK(std::abs(fraction(y, [](double v) { return v == 0; }) - p) < freq_tol(p, kN));
    bool scaled = true;
    for (std::size_t i = 0; i < y.size(); ++i)
      if (y[i] != 0) scaled &= std::abs(y[i] - xv[i] / (1 - p)) < 1e-12;
    CHECK(scaled);
    CHECK(dropout(x, p, false, &g).to_vector<double>() == xv);
    CHECK(dropout(x, 0.0, true, &g).to_vector<double>() == xv);
    CHECK(dropout(x, 1.0, true, &g).sum().item() == 0);

    Tensor xl = x.detach().requires_grad_();
    Tensor out = dropout(xl, 0.4, true, &g);
    out.sum().backward();
    auto ov = out.to_vector<double>();
    auto gv = xl.grad().to_vector<double>();
    bool grad_is_mask = true;  // the mask used, recovered from the output: out / x
    for (std::size_t i = 0; i < ov.size(); ++i) grad_is_mask &= std::abs(gv[i] - ov[i] / xv[i]) < 1e-12;
    CHECK(grad_is_mask);
    CHECK(std::abs(fraction(gv, [](double v) { return v == 0; }) - 0.4) < freq_tol(0.4, kN));
  }

  TEST_CASE("float32 and float64 draws agree within float precision") {
    Generator a(31), b(31);
    auto f = rand({10000}, {.dtype = DType::float32}, &a).to_vector<double>();
    auto d = rand({10000}, {.dtype = DType::float64}, &b).to_vector<double>();
    double worst = 0;
    for (std::size_t i = 0; i < f.size(); ++i) worst = std::max(worst, std::abs(f[i] - d[i]));
    CHECK(worst <= std::ldexp(1.0, -24));  // float32 keeps the top 24 of the same bits
    CHECK(worst > 0);                      // and float64 really has more of them
    auto nf = randn({1000}, {.dtype = DType::float32}, &a).to_vector<double>();
    auto nd = randn({1000}, {.dtype = DType::float64}, &b).to_vector<double>();
    double worst_n = 0;  // the same double, rounded to float
    for (std::size_t i = 0; i < nf.size(); ++i) worst_n = std::max(worst_n, std::abs(nf[i] - nd[i]) / (1 + std::abs(nd[i])));
    CHECK(worst_n <= std::ldexp(1.0, -24));
  }

  TEST_CASE("same numbers on any thread count") {
    const int threads = omp_get_max_threads();
    auto run = [](int n) {
      omp_set_num_threads(n);
      Generator g(41);
      std::vector<std::vector<double>> out;
      out.push_back(rand({kN}, {}, &g).to_vector<double>());  // large enough to be split across threads
      out.push_back(randn({kN}, {.dtype = DType::float64}, &g).to_vector<double>());
      out.push_back(randint(0, 1000, {kN}, kCPU, &g).to_vector<double>());
      out.push_back(dropout(ones({kN}), 0.5, true, &g).to_vector<double>());
      return out;
    };
    auto one = run(1), two = run(2);
    omp_set_num_threads(threads);
    CHECK(one == two);
  }

  TEST_CASE("errors") {
    CHECK_THROWS_WITH_AS(rand({2}, {.dtype = DType::int64}), Catch("uniform: expected a floating dtype, got int64"), Error);
    CHECK_THROWS_WITH_AS(randint(3, 3, {2}), Catch("randint: expected low < high, got [3, 3)"), Error);
    CHECK_THROWS_WITH_AS(bernoulli({2}, 1.5), Catch("bernoulli: expected 0 <= p <= 1, got 1.5"), Error);
    CHECK_THROWS_WITH_AS(dropout(ones({2}), -0.1), Catch("dropout: expected 0 <= p <= 1, got -0.1"), Error);
    CHECK_THROWS_WITH_AS(randperm(-1), Catch("randperm: expected n >= 0, got -1"), Error);
  }
}
