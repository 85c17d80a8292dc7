// Occlusion, FeatureAblation and KernelShap on models whose answers are known: additive models (each
// feature's contribution is exact), a hand-worked occlusion window average, and Shapley values
// computed by brute force over all coalitions.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"
#include "xai/perturbation.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

namespace {

// f(x) = [Σ_i w_i x_i + v_i x_i², −Σ_i x_i] over the flattened sample: additive, so removing a group
// of elements drops the score by exactly that group's terms.
struct Additive {
  Tensor w, v;
  explicit Additive(std::int64_t d, DType dt = DType::float64) {
    Generator g(3);
    w = normal({d}, 0, 1, {.dtype = dt}, &g);
    v = normal({d}, 0, 0.5, {.dtype = dt}, &g);
  }
  ForwardFn fn() const {
    return [w = w, v = v](const Tensor& x) {
      Tensor flat = x.flatten(1);
      Tensor a = (flat * w + flat * flat * v).sum({1}, true);
      return cat({a, -flat.sum({1}, true)}, 1);
    };
  }
  // Each element's own term minus its term at the baseline: class 0's exact per-element contribution.
  Tensor contribution(const Tensor& x, const Tensor& b) const {
    Tensor fx = x.flatten(1), fb = b.flatten(1);
    return (fx * w + fx * fx * v - fb * w - fb * fb * v).reshape(x.shape());
  }
};

Tensor random_inputs(const Shape& shape, std::uint64_t seed, DType dt = DType::float64) {
  Generator g(seed);
  return normal(shape, 0, 1, {.dtype = dt}, &g);
}

// Exact Shapley values of f's target-0 score for one sample x [1, F] against baseline b [1, F], by
// the definition: φ_i = Σ_{S ∌ i} |S|! (F − |S| − 1)! / F! · (v(S ∪ {i}) − v(S)).
std::vector<double> brute_force_shapley(const ForwardFn& f, const Tensor& x, const Tensor& b) {
  const auto xs = x.to_vector<double>(), bs = b.to_vector<double>();
  const auto n = static_cast<std::int64_t>(xs.size());
  auto value = [&](std::int64_t set) {
    std::vector<double> z(xs.size());
    for (std::int64_t j = 0; j < n; ++j) z[static_cast<std::size_t>(j)] = (set >> j) & 1 ? xs[static_cast<std::size_t>(j)] : bs[static_cast<std::size_t>(j)];
    return f(f64(z, {1, n})).select(1, 0).item();
  };
  auto fact = [](std::int64_t k) { return std::tgamma(double(k) + 1); };
  std::vector<double> phi(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t set = 0; set < (std::int64_t{1} << n); ++set) {
      if ((set >> i) & 1) continue;
      const auto s = static_cast<std::int64_t>(__builtin_popcountll(static_cast<unsigned long long>(set)));
      phi[static_cast<std::size_t>(i)] += fact(s) * fact(n - s - 1) / fact(n) * (value(set | (std::int64_t{1} << i)) - value(set));
    }
  return phi;
}

}  // namespace

TEST_SUITE("xai_perturbation") {

TEST_CASE("FeatureAblation: single elements recover an additive model's terms; groups get their sum") {
  Additive m(12);
  Tensor x = random_inputs({2, 3, 2, 2}, 5);
  Tensor b = random_inputs({3, 2, 2}, 6);  // one sample's shape, shared by the batch
  FeatureAblation fa(m.fn());
  Tensor want = m.contribution(x, b.unsqueeze(0).expand(x.shape()));
  for (std::int64_t per : {1, 5, 12, 40}) {
    Tensor attr = fa.attribute(x, 0, b, {.perturbations_per_eval = per});
    CHECK(attr.shape() == x.shape());
    CHECK_VALUES(attr.flatten(), want.flatten().to_vector<double>(), 1e-12);
  }
  // Channels grouped per pixel ([2, 2] mask broadcast over the channels): each element gets its
  // pixel's total over the 3 channels, the drop when the whole pixel goes.
  Tensor mask = tensor_from({0, 1, 2, 3}, {2, 2});
  Tensor attr = fa.attribute(x, 0, b, {.feature_mask = mask, .perturbations_per_eval = 3});
  Tensor pixel_total = want.sum({1}, true).expand(x.shape());
  CHECK_VALUES(attr.flatten(), pixel_total.flatten().to_vector<double>(), 1e-12);
  // Class 1 is −Σx: ablating to a constant 0.5 gives −(x − 0.5) per element.
  Tensor a1 = fa.attribute(x, 1, 0.5);
  CHECK_VALUES(a1.flatten(), (0.5 - x).flatten().to_vector<double>(), 1e-12);
}

TEST_CASE("FeatureAblation: per-sample masks and targets, value vs tensor baseline, float32") {
  Additive m(4);
  Tensor x = random_inputs({2, 4}, 7);
  // Sample 0: features {0,1},{2,3}; sample 1: one feature for everything.
  Tensor mask = tensor_from({0, 0, 1, 1, 0, 0, 0, 0}, {2, 4});
  FeatureAblation fa(m.fn());
  Tensor attr = fa.attribute(x, Target({0, 1}), 0.25, {.feature_mask = mask});
  Tensor same = fa.attribute(x, Target({0, 1}), full({4}, 0.25, {.dtype = DType::float64}), {.feature_mask = mask});
  CHECK_VALUES(attr.flatten(), same.flatten().to_vector<double>(), 0);
  auto c = m.contribution(x, full_like(x, 0.25)).to_vector<double>();
  auto xs = x.to_vector<double>();
  const double g0 = c[0] + c[1], g1 = c[2] + c[3];
  double s1 = 0;
  for (int i = 4; i < 8; ++i) s1 -= xs[static_cast<std::size_t>(i)] - 0.25;
  CHECK_VALUES(attr.flatten(), {g0, g0, g1, g1, s1, s1, s1, s1}, 1e-12);

  Additive m32(4, DType::float32);
  Tensor x32 = x.to(DType::float32);
  Tensor a32 = FeatureAblation(m32.fn()).attribute(x32, 0);
  CHECK(a32.dtype() == DType::float32);
  CHECK_VALUES(a32.flatten(), m32.contribution(x32, zeros_like(x32)).flatten().to_vector<double>(), 1e-5);
}

TEST_CASE("FeatureAblation: bad masks, baselines and targets throw naming the method") {
  Additive m(4);
  FeatureAblation fa(m.fn());
  Tensor x = random_inputs({2, 4}, 8);
  CHECK_THROWS_WITH_AS(fa.attribute(x, 0, {}, {.feature_mask = tensor_from({0, 2, 2, 0}, {4})}),
                       Catch("lacks id 1"), Error);
  CHECK_THROWS_WITH_AS(fa.attribute(x, 0, {}, {.feature_mask = tensor_from({0, -1, 1, 0}, {4})}), Catch(">= 0"), Error);
  CHECK_THROWS_WITH_AS(fa.attribute(x, 0, {}, {.feature_mask = tensor_from({0, 1, 2}, {3})}),
                       Catch("FeatureAblation: feature mask of shape [3] does not broadcast"), Error);
  CHECK_THROWS_WITH_AS(fa.attribute(x, 0, {}, {.feature_mask = f64({0, 1, 2, 3})}), Catch("int64"), Error);
  CHECK_THROWS_WITH_AS(fa.attribute(x, 0, f64({1, 2, 3})), Catch("baseline of shape [3]"), Error);
  CHECK_THROWS_WITH_AS(fa.attribute(x, Target({0, 1, 0}), {}), Catch("3 targets for 2 inputs"), Error);
  CHECK_THROWS_WITH_AS(fa.attribute(x, 0, {}, {.perturbations_per_eval = 0}), Catch("perturbations_per_eval >= 1"), Error);
  CHECK_THROWS_AS(fa.attribute(x, 5), Error);  // class out of range
}

TEST_CASE("Occlusion: 1-D windows averaged by hand") {
  // f = Σ w_i x_i, w = (1, 2, 3, 4), x = 1, baseline 0: a window's drop is the sum of its weights.
  ForwardFn f = [](const Tensor& x) { return matmul(x, f64({1, 2, 3, 4}, {4, 1})); };
  Occlusion occ(f);
  Tensor x = f64({1, 1, 1, 1}, {1, 4});
  // Windows {0,1}, {1,2}, {2,3} drop 3, 5, 7: element 1 averages 3 and 5, element 2 averages 5 and 7.
  CHECK_VALUES(occ.attribute(x, 0, {}, {.window = {2}}), {3, 4, 6, 7}, 1e-14);
  CHECK_VALUES(occ.attribute(x, 0, {}, {.window = {2}, .strides = {2}}), {3, 3, 7, 7}, 1e-14);
  // Stride 3 exceeds the window: windows {0, 1} and, clipped at the end, {3}; element 2 lies in
  // no window and gets 0 (as in Captum). (Checked in parts: GCC 12.2 with -march=native on AVX-512
  // miscompiles literals like std::vector<double>{3, 3, 0, 0} into {3, 3, 3, 3}, an SLP bug.)
  Tensor strided = occ.attribute(x, 0, {}, {.window = {2}, .strides = {3}});
  CHECK_VALUES(strided.narrow(1, 0, 2), {3, 3}, 1e-14);
  CHECK_VALUES(strided.narrow(1, 2, 1), {0}, 0);
  CHECK_VALUES(strided.narrow(1, 3, 1), {4}, 1e-14);
  CHECK_VALUES(occ.attribute(x, 0, {}, {.window = {4}}), {10, 10, 10, 10}, 1e-14);
  // Baseline 1 = the input: nothing changes.
  CHECK_VALUES(occ.attribute(x, 0, 1.0, {.window = {2}}), {0, 0, 0, 0}, 0);
}

TEST_CASE("Occlusion: a stride that does not divide the input adds a last, clipped window (Captum)") {
  // f = Σ w_i x_i, w = (1, 2, 3, 4, 5), x = 1, baseline 0; window 2, stride 2: windows {0, 1}, {2, 3}
  // and the clipped {4}, dropping 3, 7 and 5. Before, the last element was left at 0.
  ForwardFn f = [](const Tensor& x) { return matmul(x, f64({1, 2, 3, 4, 5}, {5, 1})); };
  Tensor x = f64({1, 1, 1, 1, 1}, {1, 5});
  Tensor a = Occlusion(f).attribute(x, 0, {}, {.window = {2}, .strides = {2}});
  CHECK_VALUES(a.narrow(1, 0, 2), {3, 3}, 1e-14);
  CHECK_VALUES(a.narrow(1, 2, 3), {7, 7, 5}, 1e-14);
  // Window 3, stride 2 on 6 elements: windows {0, 1, 2}, {2, 3, 4} and the clipped {4, 5}, dropping
  // 6, 12 and 11 (w = 1..6); elements 2 and 4 average two windows.
  ForwardFn f6 = [](const Tensor& x) { return matmul(x, f64({1, 2, 3, 4, 5, 6}, {6, 1})); };
  Tensor b = Occlusion(f6).attribute(f64(std::vector<double>(6, 1.0), {1, 6}), 0, {}, {.window = {3}, .strides = {2}});
  CHECK_VALUES(b.narrow(1, 0, 3), {6, 6, 9}, 1e-14);
  CHECK_VALUES(b.narrow(1, 3, 3), {12, 11.5, 11}, 1e-14);
  // 2-D, 3 × 3 with 2 × 2 windows and stride 2: 4 windows (2 clipped to 2 × 1 or 1 × 2, 1 to 1 × 1),
  // each pixel in exactly one, so with unit weights each pixel's attribution is its window's size.
  ForwardFn sum = [](const Tensor& x) { return x.flatten(1).sum({1}, true); };
  Tensor c = Occlusion(sum).attribute(ones({1, 3, 3}, {.dtype = DType::float64}), 0, {}, {.window = {2, 2}, .strides = {2}});
  CHECK_VALUES(c.flatten().narrow(0, 0, 3), {4, 4, 2}, 1e-14);
  CHECK_VALUES(c.flatten().narrow(0, 3, 3), {4, 4, 2}, 1e-14);
  CHECK_VALUES(c.flatten().narrow(0, 6, 3), {2, 2, 1}, 1e-14);
}

TEST_CASE("Occlusion: 1-element windows recover an additive model; larger windows match a direct loop") {
  Additive m(2 * 3 * 4);
  Tensor x = random_inputs({3, 2, 3, 4}, 9);
  Tensor b = random_inputs({3, 2, 3, 4}, 10);  // a baseline per sample
  Occlusion occ(m.fn());
  Tensor want = m.contribution(x, b);
  for (std::int64_t per : {1, 7, 100}) {
    Tensor attr = occ.attribute(x, 0, b, {.window = {1, 1, 1}, .perturbations_per_eval = per});
    CHECK_VALUES(attr.flatten(), want.flatten().to_vector<double>(), 1e-12);
  }
  // Windows 2×2×2 with strides (1, 1, 2): each element's mean window total, computed directly.
  const std::int64_t c = 2, h = 3, w = 4;
  auto cv = want.to_vector<double>();
  std::vector<double> sum(cv.size(), 0.0), count(static_cast<std::size_t>(c * h * w), 0.0);
  for (std::int64_t n = 0; n < 3; ++n)
    for (std::int64_t y0 = 0; y0 + 2 <= h; ++y0)
      for (std::int64_t x0 = 0; x0 + 2 <= w; x0 += 2) {
        double total = 0;
        for (std::int64_t ch = 0; ch < c; ++ch)
          for (std::int64_t y = y0; y < y0 + 2; ++y)
            for (std::int64_t xx = x0; xx < x0 + 2; ++xx) total += cv[static_cast<std::size_t>(((n * c + ch) * h + y) * w + xx)];
        for (std::int64_t ch = 0; ch < c; ++ch)
          for (std::int64_t y = y0; y < y0 + 2; ++y)
            for (std::int64_t xx = x0; xx < x0 + 2; ++xx) {
              sum[static_cast<std::size_t>(((n * c + ch) * h + y) * w + xx)] += total;
              if (n == 0) count[static_cast<std::size_t>((ch * h + y) * w + xx)] += 1;
            }
      }
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] /= count[i % count.size()];
  for (std::int64_t per : {1, 4}) {
    Tensor attr = occ.attribute(x, 0, b, {.window = {2, 2, 2}, .strides = {1, 1, 2}, .perturbations_per_eval = per});
    CHECK_VALUES(attr.flatten(), sum, 1e-12);
  }
  // A single stride value applies to every dim.
  Tensor a1 = occ.attribute(x, 0, b, {.window = {2, 2, 2}, .strides = {1}});
  Tensor a2 = occ.attribute(x, 0, b, {.window = {2, 2, 2}, .strides = {1, 1, 1}});
  CHECK_VALUES(a1.flatten(), a2.flatten().to_vector<double>(), 0);
}

TEST_CASE("Occlusion: value and tensor baselines agree; float32 stays float32; shape errors") {
  Additive m(6);
  Tensor x = random_inputs({2, 6}, 11);
  Occlusion occ(m.fn());
  Tensor a = occ.attribute(x, Target({0, 1}), -0.5, {.window = {2}});
  Tensor b = occ.attribute(x, Target({0, 1}), full({2, 6}, -0.5, {.dtype = DType::float64}), {.window = {2}});
  CHECK_VALUES(a.flatten(), b.flatten().to_vector<double>(), 0);
  Additive m32(6, DType::float32);
  Tensor x32 = x.to(DType::float32);
  Tensor a32 = Occlusion(m32.fn()).attribute(x32, 0, {}, {.window = {1}});
  CHECK(a32.dtype() == DType::float32);
  CHECK_VALUES(a32, m32.contribution(x32, zeros_like(x32)).flatten().to_vector<double>(), 1e-5);

  CHECK_THROWS_WITH_AS(occ.attribute(x, 0, {}, {.window = {2, 2}}), Catch("Occlusion: window [2, 2] must give one extent"), Error);
  CHECK_THROWS_WITH_AS(occ.attribute(x, 0, {}, {.window = {7}}), Catch("does not fit one sample of shape [6]"), Error);
  CHECK_THROWS_WITH_AS(occ.attribute(x, 0, {}, {.window = {2}, .strides = {0}}), Catch("stride >= 1"), Error);
  CHECK_THROWS_WITH_AS(occ.attribute(x, 0, {}, {.window = {2}, .strides = {1, 1}}), Catch("strides [1, 1]"), Error);
  CHECK_THROWS_WITH_AS(occ.attribute(tensor_from({1, 2}, {1, 2}), 0, {}, {.window = {1}}), Catch("float32 or float64"), Error);
  CHECK_THROWS_WITH_AS(occ.attribute(f64({1, 2}), 0, {}, {.window = {1}}), Catch("[N, ...]"), Error);
}

TEST_CASE("KernelShap: additive models give each feature's contribution, enumerated or sampled") {
  Additive m(10);
  Tensor x = random_inputs({2, 10}, 12);
  Tensor b = random_inputs({10}, 13);
  KernelShap ks(m.fn());
  Tensor want = m.contribution(x, b.unsqueeze(0).expand(x.shape()));
  // F = 10 ≤ 12: all 1022 coalitions.
  ShapResult r = ks.explain(x, 0, b, {.perturbations_per_eval = 100});
  CHECK_VALUES(r.attributions.flatten(), want.flatten().to_vector<double>(), 1e-10);
  CHECK_VALUES(r.values.flatten(), want.flatten().to_vector<double>(), 1e-10);
  Tensor fb = m.fn()(b.unsqueeze(0)).select(1, 0);
  CHECK_VALUES(r.base_values, {fb.item(), fb.item()}, 1e-12);
  // Sampled (60 coalitions for 10 features): the fit is still exact because the model is additive.
  Generator g(1);
  Tensor s = ks.attribute(x, 0, b, {.enumerate_up_to = 0, .n_samples = 60, .generator = &g});
  CHECK_VALUES(s.flatten(), want.flatten().to_vector<double>(), 1e-9);
  // Grouped features: pairs of elements; a group's value is the sum of its terms.
  Tensor mask = tensor_from({0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, {10});
  ShapResult gr = ks.explain(x, 0, b, {.feature_mask = mask});
  CHECK(gr.values.shape() == Shape{2, 5});
  auto wv = want.to_vector<double>();
  std::vector<double> pairs;
  for (std::size_t i = 0; i < wv.size(); i += 2) pairs.push_back(wv[i] + wv[i + 1]);
  CHECK_VALUES(gr.values.flatten(), pairs, 1e-10);
}

TEST_CASE("KernelShap: interacting features match brute-force Shapley values") {
  // f = x0·x1 + x1·x2·x3 + exp(x0)·x3 (class 0), and x0 − x3 (class 1).
  ForwardFn f = [](const Tensor& x) {
    Tensor c0 = x.select(1, 0), c1 = x.select(1, 1), c2 = x.select(1, 2), c3 = x.select(1, 3);
    return stack({c0 * c1 + c1 * c2 * c3 + lumen::exp(c0) * c3, c0 - c3}, 1);
  };
  Tensor x = f64({1.5, -2, 0.5, 3, 0.2, 1, -1, 2}, {2, 4});
  Tensor b = f64({0.1, 0.2, -0.3, 0.4});
  ShapResult r = KernelShap(f).explain(x, 0, b, {.perturbations_per_eval = 5});
  for (std::int64_t i = 0; i < 2; ++i) {
    auto want = brute_force_shapley(f, x.narrow(0, i, 1), b);
    CHECK_VALUES(r.values[i], want, 1e-10);
  }
  // Efficiency holds exactly even when the coalitions are sampled on a non-additive model.
  ForwardFn g = [](const Tensor& x) {
    Tensor p = x.select(1, 0) * x.select(1, 1) * x.select(1, 2) + lumen::tanh(x.sum({1}));
    return p.unsqueeze(1);
  };
  Tensor x9 = random_inputs({1, 9}, 14);
  Generator gen(2);
  ShapResult s = KernelShap(g).explain(x9, 0, {}, {.enumerate_up_to = 0, .n_samples = 30, .generator = &gen});
  const double total = g(x9).item() - g(zeros_like(x9)).item();
  CHECK(s.values.sum().item() == doctest::Approx(total).epsilon(1e-10));
  CHECK(s.base_values.item() == doctest::Approx(g(zeros_like(x9)).item()).epsilon(1e-12));
}

TEST_CASE("KernelShap: a small sample stays near the exact values, enough samples enumerate; errors") {
  ForwardFn f = [](const Tensor& x) { return (x.select(1, 0) * x.select(1, 1) + x.select(1, 2) * x.select(1, 3) * x.select(1, 4)).unsqueeze(1); };
  Tensor x = f64({1, 2, -1, 0.5, 2}, {1, 5});
  auto exact = brute_force_shapley(f, x, zeros({5}, {.dtype = DType::float64}));
  KernelShap ks(f);
  Generator g(3);
  // 5 features = 30 proper coalitions: a sample of 24 with repeats stays close, not exact.
  Tensor est = ks.explain(x, 0, {}, {.enumerate_up_to = 0, .n_samples = 24, .generator = &g}).values;
  CHECK_VALUES(est, exact, 0.5);
  // n_samples ≥ 2^F − 2: enumerated, hence exact.
  CHECK_VALUES(ks.explain(x, 0, {}, {.enumerate_up_to = 0, .n_samples = 30}).values, exact, 1e-10);

  CHECK_THROWS_WITH_AS(ks.attribute(x, 0, {}, {.n_samples = 0}), Catch("KernelShap: expected n_samples >= 1"), Error);
  CHECK_THROWS_WITH_AS(ks.attribute(x, 0, {}, {.feature_mask = tensor_from({0, 1, 1, 3, 0}, {5})}), Catch("lacks id 2"), Error);
  CHECK_THROWS_WITH_AS(ks.attribute(x, 0, {}, {.feature_mask = tensor_from({0, 1}, {2, 1})}), Catch("does not broadcast"), Error);
}

}  // TEST_SUITE
