// Evaluation of explanations, on models whose right answer is known: linear scores (the exact
// contribution of each feature is w·x, the gradient is w), hand-computed curves and rank
// correlations, and the randomisation test on a small named MLP.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "nn/models.h"
#include "tests/test_util.h"
#include "xai/evaluation.h"

using namespace lumen;
using namespace lumen::xai;
using lumen::testing::f64;
using Catch = doctest::Contains;

namespace {

// f(x) = flatten(x) Wᵀ: a linear model [N, ...] -> [N, K].
ForwardFn linear_model(const Tensor& w) {
  return [w](const Tensor& x) { return matmul(x.reshape({x.size(0), -1}), w.t()); };
}

// Each row of W picked by the target, shaped like the inputs: the exact gradient of a linear model.
Tensor rows_of(const Tensor& w, const Target& target, const Tensor& inputs) {
  std::vector<Tensor> rows;
  for (std::int64_t i = 0; i < inputs.size(0); ++i) rows.push_back(w[target.at(i)].reshape(Shape(inputs.shape().begin() + 1, inputs.shape().end())));
  return stack(rows);
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

// fc1 -> relu1 -> fc2 -> relu2 -> fc3, named as DenseModel's layers.
std::shared_ptr<nn::Sequential> small_mlp(std::int64_t in, std::int64_t hidden, std::int64_t out) {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("fc1", std::make_shared<nn::Linear>(in, hidden));
  net->push_back("relu1", std::make_shared<nn::ReLU>());
  net->push_back("fc2", std::make_shared<nn::Linear>(hidden, hidden));
  net->push_back("relu2", std::make_shared<nn::ReLU>());
  net->push_back("fc3", std::make_shared<nn::Linear>(hidden, out));
  net->eval();
  return net;
}

std::vector<std::vector<double>> snapshot(const nn::Module& m) {
  std::vector<std::vector<double>> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(values(t));
  return out;
}

double stddev(const Tensor& t) {
  auto v = values(t);
  double mean = 0, var = 0;
  for (double e : v) mean += e / static_cast<double>(v.size());
  for (double e : v) var += (e - mean) * (e - mean) / static_cast<double>(v.size());
  return std::sqrt(var);
}

}  // namespace

TEST_SUITE("xai_evaluation") {

// ---- rank correlations

TEST_CASE("average_ranks share tied ranks") {
  auto r = average_ranks({10, 20, 20, 5});
  CHECK(r == std::vector<double>{2, 3.5, 3.5, 1});
  CHECK(average_ranks({7, 7, 7}) == std::vector<double>{2, 2, 2});
}

TEST_CASE("spearman and pearson: known values, ties, monotone, reversed") {
  // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.8207826816681233 (ranks 1,2,3.5,5,3.5).
  CHECK(spearman(f64({1, 2, 3, 4, 5}), f64({5, 6, 7, 8, 7})) == doctest::Approx(0.8207826816681233).epsilon(1e-12));
  // Ties on both sides: ranks (1.5,1.5,3,4) and (1,2.5,2.5,4): cov 3.75, variances 4.5 -> 5/6.
  CHECK(spearman(f64({1, 1, 2, 3}), f64({1, 2, 2, 3})) == doctest::Approx(5.0 / 6.0).epsilon(1e-12));
  // Monotone but not linear: Spearman 1, Pearson below 1.
  Tensor x = f64({0.5, 1, 2, 3, 4});
  CHECK(spearman(x, x.pow(3.0)) == doctest::Approx(1.0));
  CHECK(pearson(x, x.pow(3.0)) < 0.99);
  CHECK(spearman(x, -x.exp()) == doctest::Approx(-1.0));
  // Pearson by hand: [1,2,3] vs [1,2,4]: cov 3, sums of squares 2 and 42/9.
  CHECK(pearson(f64({1, 2, 3}), f64({1, 2, 4})) == doctest::Approx(3.0 / std::sqrt(2.0 * 42.0 / 9.0)).epsilon(1e-12));
  // Shapes may differ as long as the counts agree (attribution maps vs flat vectors).
  CHECK(spearman(f64({1, 2, 3, 4}, {2, 2}), f64({1, 2, 3, 4})) == doctest::Approx(1.0));
  // Undefined for a constant side, as scipy.
  CHECK(std::isnan(spearman(f64({1, 1, 1}), f64({1, 2, 3}))));
  CHECK_THROWS_WITH_AS(spearman(f64({1, 2, 3}), f64({1, 2})), Catch("spearman"), Error);
}

// ---- deletion / insertion

TEST_CASE("deletion and insertion curves: hand-computed values on a 4-feature linear score") {
  // score = x·w with contributions x⊙w = [1, -4, 9, 2] (total 8); class 1 scores 0.
  Tensor x = f64({1, 2, 3, 4}, {1, 4});
  Tensor w = f64({1, -2, 3, 0.5, 0, 0, 0, 0}, {2, 4});
  ForwardFn f = linear_model(w);
  Tensor attr = x * w[0].unsqueeze(0);
  CurveOptions raw{.steps = 4, .probabilities = false};

  // |attr| order: 9, -4, 2, 1; removing them leaves 8, -1, 3, 1, 0.
  auto del = deletion_curve(f, x, attr, 0, raw);
  CHECK(del.per_sample[0].fractions == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(del.per_sample[0].values == std::vector<double>{8, -1, 3, 1, 0});
  CHECK(del.per_sample[0].auc == doctest::Approx(1.75));
  CHECK(del.mean.auc == doctest::Approx(1.75));

  // Signed order: 9, 2, 1, -4.
  CurveOptions signed_raw = raw;
  signed_raw.aggregate = Aggregate::signed_sum;
  auto del_signed = deletion_curve(f, x, attr, 0, signed_raw);
  CHECK(del_signed.per_sample[0].values == std::vector<double>{8, -1, -3, -4, 0});
  CHECK(del_signed.mean.auc == doctest::Approx(-1.0));

  // Insertion from zeros in |attr| order: 0, 9, 5, 7, 8.
  auto ins = insertion_curve(f, x, attr, 0, raw);
  CHECK(ins.per_sample[0].values == std::vector<double>{0, 9, 5, 7, 8});
  CHECK(ins.mean.auc == doctest::Approx(6.25));

  // 3 steps over 4 features: k = round(s·4/3) = 0, 1, 3, 4.
  CurveOptions three = raw;
  three.steps = 3;
  auto del3 = deletion_curve(f, x, attr, 0, three);
  CHECK(del3.mean.fractions == std::vector<double>{0, 0.25, 0.75, 1});
  CHECK(del3.mean.values == std::vector<double>{8, -1, 1, 0});

  // A baseline of ones: a removed feature contributes w_i instead of x_i w_i (w·1 = 2.5 at the end).
  CurveOptions ones_base = raw;
  ones_base.baseline = f64({1, 1, 1, 1});
  auto del1 = deletion_curve(f, x, attr, 0, ones_base);
  CHECK(del1.mean.values == std::vector<double>{8, 2, 4, 2.5, 2.5});

  // Probabilities: the softmax of (s, 0) is the logistic of s.
  CurveOptions prob = raw;
  prob.probabilities = true;
  auto delp = deletion_curve(f, x, attr, 0, prob);
  std::vector<double> want;
  for (double s : {8.0, -1.0, 3.0, 1.0, 0.0}) want.push_back(1.0 / (1.0 + std::exp(-s)));
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(delp.mean.values[i] == doctest::Approx(want[i]).epsilon(1e-12));
}

TEST_CASE("deletion falls fastest and insertion rises fastest for the exact attribution") {
  // Images [8, 3, 4, 4]; class 0's score uses 4 pixels (all channels), class 1 scores 0.
  Generator g(11);
  const std::int64_t n = 8;
  Tensor x = rand({n, 3, 4, 4}, {.dtype = DType::float64}, &g);
  std::vector<double> wv(2 * 48, 0.0);
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t p : {1, 6, 9, 15}) wv[static_cast<std::size_t>(c * 16 + p)] = 1.5 + 0.25 * static_cast<double>(p % 4);
  Tensor w = f64(wv, {2, 48});
  ForwardFn f = linear_model(w);
  Tensor perfect = x * w[0].reshape({1, 3, 4, 4});  // each element's exact contribution
  Tensor random_attr = rand({n, 3, 4, 4}, {.dtype = DType::float64}, &g);
  Tensor reversed = -perfect;  // signed: the relevant pixels come last
  CurveOptions opt{.steps = 16, .aggregate = Aggregate::signed_sum};

  const double del_perfect = deletion_curve(f, x, perfect, 0, opt).mean.auc;
  const double del_random = deletion_curve(f, x, random_attr, 0, opt).mean.auc;
  const double del_reversed = deletion_curve(f, x, reversed, 0, opt).mean.auc;
  CHECK(del_perfect < del_random);
  CHECK(del_random < del_reversed);

  const double ins_perfect = insertion_curve(f, x, perfect, 0, opt).mean.auc;
  const double ins_random = insertion_curve(f, x, random_attr, 0, opt).mean.auc;
  const double ins_reversed = insertion_curve(f, x, reversed, 0, opt).mean.auc;
  CHECK(ins_perfect > ins_random);
  CHECK(ins_random > ins_reversed);

  // With exact contributions the class-0 logit is 0 once the 4 pixels are gone: p = 1/2 from 4/16 on.
  auto curve = deletion_curve(f, x, perfect, 0, opt).per_sample[3];
  for (std::size_t s = 4; s < curve.values.size(); ++s) CHECK(curve.values[s] == doctest::Approx(0.5));
  CHECK(curve.values[0] > 0.9);

  // Batching is an implementation detail: one row per forward gives the same curves.
  CurveOptions one_row = opt;
  one_row.batch_size = 1;
  auto a = deletion_curve(f, x, random_attr, 0, opt), b = deletion_curve(f, x, random_attr, 0, one_row);
  for (std::int64_t i = 0; i < n; ++i) CHECK(a.per_sample[i].values == b.per_sample[i].values);

  // Per-sample targets: class 1's probability is 1 - class 0's, and its raw score is 0 throughout.
  Target alternating{0, 1, 0, 1, 0, 1, 0, 1};
  auto mixed = deletion_curve(f, x, perfect, alternating, opt), class0 = deletion_curve(f, x, perfect, 0, opt);
  for (std::size_t s = 0; s < mixed.mean.values.size(); ++s) {
    CHECK(mixed.per_sample[0].values[s] == doctest::Approx(class0.per_sample[0].values[s]));
    CHECK(mixed.per_sample[1].values[s] == doctest::Approx(1.0 - class0.per_sample[1].values[s]));
  }
  CurveOptions raw = opt;
  raw.probabilities = false;
  CHECK(deletion_curve(f, x, perfect, alternating, raw).per_sample[1].auc == 0.0);

  // A blurred start for insertion keeps the image's shape; the curve still ends at the full image.
  CurveOptions blur = opt;
  blur.blur_sigma = 1.0;
  auto ins_blur = insertion_curve(f, x, perfect, 0, blur);
  auto del_none = deletion_curve(f, x, perfect, 0, opt);
  CHECK(ins_blur.mean.values.back() == doctest::Approx(del_none.mean.values.front()));
}

TEST_CASE("an empty batch: no curves (their mean is NaN), infidelity and max-sensitivity [0], nothing is called") {
  // The evaluations follow the attribution methods' convention (xai/attribution.h): an empty batch has
  // nothing to evaluate, and the model (or the method) is not run on it.
  int calls = 0;
  const ForwardFn counting = [&](const Tensor& x) {
    ++calls;
    return x.reshape({x.size(0), -1}).sum({1}, true);
  };
  const Tensor x = zeros({0, 1, 3, 4}, {.dtype = DType::float64});
  const CurveResult del = deletion_curve(counting, x, x, 0, {.steps = 4});
  CHECK(del.per_sample.empty());
  CHECK(del.mean.fractions == std::vector<double>{0, 3.0 / 12, 6.0 / 12, 9.0 / 12, 1});  // 12 pixels: k = 0, 3, 6, 9, 12
  REQUIRE(del.mean.values.size() == 5);
  for (double v : del.mean.values) CHECK(std::isnan(v));
  CHECK(std::isnan(del.mean.auc));
  CHECK(insertion_curve(counting, x, x, 0).per_sample.empty());
  CHECK(infidelity(counting, x, x, 0).shape() == Shape{0});
  int attr_calls = 0;
  const AttributionFn attr = [&](const Tensor& in, const Target&) {
    ++attr_calls;
    return in;
  };
  CHECK(max_sensitivity(attr, x, 0).shape() == Shape{0});
  CHECK(calls == 0);
  CHECK(attr_calls == 0);
  // The randomisation check runs the method (which returns [0, ...]) and has no correlations to average.
  auto mlp = small_mlp(12, 4, 2);
  const Tensor w_before = mlp->parameters()[0].clone();
  const ModelAttributionFn grads = [](nn::Module& m, const Tensor& in, const Target& t) {
    return target_gradient(forward_of(m), in, t);
  };
  const RandomizationResult sanity = model_randomization_check(*mlp, grads, zeros({0, 12}), 0);
  CHECK(sanity.rows.size() == 1 + randomizable_layers(*mlp).size());
  for (const RandomizationRow& row : sanity.rows) {
    CHECK(row.spearman_abs.shape() == Shape{0});
    CHECK(std::isnan(row.mean_abs));
  }
  CHECK(values(mlp->parameters()[0]) == values(w_before));
  // The arguments are still checked as for N samples, and a sample must have a feature to delete.
  CHECK_THROWS_WITH_AS(deletion_curve(counting, x, zeros({0, 1, 3, 3}), 0), Catch("do not match the inputs' shape"),
                       Error);
  CHECK_THROWS_WITH_AS(deletion_curve(counting, zeros({2, 0}), zeros({2, 0}), 0),
                       Catch("deletion_curve: expected at least one feature per sample"), Error);
}

TEST_CASE("deletion/insertion reject mismatched shapes") {
  Tensor x = zeros({2, 4}, {.dtype = DType::float64});
  ForwardFn f = linear_model(zeros({3, 4}, {.dtype = DType::float64}));
  CHECK_THROWS_WITH_AS(deletion_curve(f, x, zeros({2, 5}), 0), Catch("deletion_curve: attributions of shape [2, 5]"),
                       Error);
  CHECK_THROWS_WITH_AS(insertion_curve(f, x, zeros_like(x), 0, {.baseline = zeros({3})}), Catch("insertion_curve"),
                       Error);
  CHECK_THROWS_WITH_AS(insertion_curve(f, x, zeros_like(x), 0, {.blur_sigma = 2.0}), Catch("[N, C, H, W]"), Error);
  CHECK_THROWS_WITH_AS(deletion_curve(f, x, zeros_like(x), {0, 1, 2}), Catch("deletion_curve"), Error);
  CHECK_THROWS_WITH_AS(deletion_curve(f, x, zeros_like(x), 3), Catch("out of range"), Error);
}

// ---- infidelity

TEST_CASE("infidelity is zero for a linear model's gradient and grows for wrong attributions") {
  Generator g(5);
  Tensor w = randn({3, 6}, {.dtype = DType::float64}, &g);
  ForwardFn f = [w](const Tensor& x) { return matmul(x, w.t()) + 0.7; };
  Tensor x = randn({4, 6}, {.dtype = DType::float64}, &g);
  Target target{0, 1, 2, 0};
  Tensor exact = rows_of(w, target, x);
  InfidelityOptions opt{.n_perturb = 20, .stddev = 0.1};

  // Iᵀw = f(x) - f(x - I) exactly for a linear f.
  Tensor exact_infid = infidelity(f, x, exact, target, opt);
  CHECK(exact_infid.shape() == Shape{4});
  for (double v : values(exact_infid)) CHECK(v < 1e-24);

  // Twice the gradient: the error is (Iᵀw)², about σ²‖w‖² per sample.
  Tensor doubled = infidelity(f, x, 2.0 * exact, target, opt);
  for (double v : values(doubled)) CHECK(v > 1e-4);
  // normalize judges only the direction, so the scaled gradient is exact again.
  InfidelityOptions norm = opt;
  norm.normalize = true;
  for (double v : values(infidelity(f, x, 2.0 * exact, target, norm))) CHECK(v < 1e-24);
  // A random direction is wrong even after the best rescaling.
  Tensor noise_attr = randn({4, 6}, {.dtype = DType::float64}, &g);
  for (double v : values(infidelity(f, x, noise_attr, target, norm))) CHECK(v > 1e-4);

  // Seeded, and independent of the batching (up to the rounding of differently sized products).
  InfidelityOptions small_batches = opt;
  small_batches.batch_size = 3;
  auto whole = values(infidelity(f, x, noise_attr, target, opt));
  auto chunked = values(infidelity(f, x, noise_attr, target, small_batches));
  CHECK(whole == values(infidelity(f, x, noise_attr, target, opt)));
  for (std::size_t i = 0; i < whole.size(); ++i) CHECK(chunked[i] == doctest::Approx(whole[i]).epsilon(1e-9));
  InfidelityOptions other_seed = opt;
  other_seed.seed = 1;
  CHECK(values(infidelity(f, x, noise_attr, target, other_seed)) != whole);
  CHECK_THROWS_WITH_AS(infidelity(f, x, zeros({4, 5}), target), Catch("infidelity: attributions of shape"), Error);
}

// ---- max-sensitivity

TEST_CASE("max-sensitivity: constant gradient 0, nonlinear positive and bounded, radius 0 gives 0") {
  Generator g(9);
  Tensor w = randn({2, 5}, {.dtype = DType::float64}, &g);
  ForwardFn lin = linear_model(w);
  Tensor x = randn({3, 5}, {.dtype = DType::float64}, &g);
  AttributionFn lin_saliency = [&](const Tensor& in, const Target& t) { return target_gradient(lin, in, t); };
  SensitivityOptions opt{.n_perturb = 8, .radius = 0.1};
  for (double v : values(max_sensitivity(lin_saliency, x, Target{0, 1, 0}, opt))) CHECK(v == doctest::Approx(0.0));

  // f = [Σx², 0]: saliency 2x, so the relative change is ‖δ‖/‖x‖ ≤ r·√5/‖x‖.
  ForwardFn sq = [](const Tensor& in) { return stack({square(in).sum({1}), zeros({in.size(0)}, options_of(in))}, 1); };
  AttributionFn sq_saliency = [&](const Tensor& in, const Target& t) { return target_gradient(sq, in, t); };
  auto sens = values(max_sensitivity(sq_saliency, x, 0, opt));
  auto xv = values(x);
  for (std::size_t i = 0; i < 3; ++i) {
    double norm = 0;
    for (std::size_t q = 0; q < 5; ++q) norm += xv[i * 5 + q] * xv[i * 5 + q];
    CHECK(sens[i] > 0.01 / std::sqrt(norm));
    CHECK(sens[i] <= 0.1 * std::sqrt(5.0) / std::sqrt(norm) + 1e-12);
  }
  SensitivityOptions still = opt;
  still.radius = 0.0;
  for (double v : values(max_sensitivity(sq_saliency, x, 0, still))) CHECK(v == 0.0);

  // The method must keep the batch size.
  AttributionFn broken = [](const Tensor& in, const Target&) { return in.narrow(0, 0, 1); };
  CHECK_THROWS_WITH_AS(max_sensitivity(broken, x, 0, opt), Catch("max_sensitivity"), Error);
}

// ---- model randomisation

TEST_CASE("randomizable_layers lists parameterised layers from the output down") {
  manual_seed(1);
  CHECK(randomizable_layers(*small_mlp(4, 4, 2)) == std::vector<std::string>{"fc3", "fc2", "fc1"});
  nn::ConvModel conv;
  CHECK(randomizable_layers(conv) ==
        std::vector<std::string>{"classifier.3", "classifier.1", "features.3", "features.0"});
}

TEST_CASE("model randomisation: gradients decorrelate, a model-independent map does not, weights come back") {
  manual_seed(3);
  auto net = small_mlp(32, 32, 3);
  Generator g(4);
  Tensor x = randn({8, 32}, {}, &g);
  Target target{0, 1, 2, 0, 1, 2, 0, 1};
  const auto before = snapshot(*net);

  ModelAttributionFn gradient = [](nn::Module& m, const Tensor& in, const Target& t) {
    return target_gradient(forward_of(m), in, t);
  };
  auto res = model_randomization_check(*net, gradient, x, target);
  REQUIRE(res.rows.size() == 4);
  CHECK(res.rows[0].layer == "original");
  CHECK(res.rows[1].layer == "fc3");
  CHECK(res.rows[3].layer == "fc1");
  CHECK(res.at("original").mean_abs == doctest::Approx(1.0));
  CHECK(res.at("original").mean_signed == doctest::Approx(1.0));
  CHECK(res.at("fc3").spearman_abs.shape() == Shape{8});
  CHECK(res.at("fc1").mean_abs < 0.5);
  CHECK(res.at("fc1").mean_signed < 0.5);
  CHECK(snapshot(*net) == before);  // restored exactly
  CHECK_THROWS_WITH_AS(res.at("fc9"), Catch("'original', 'fc3', 'fc2', 'fc1'"), Error);

  // An "edge detector" that never looks at the model passes every step unchanged: the failure mode.
  ModelAttributionFn edges = [](nn::Module&, const Tensor& in, const Target&) {
    return abs(in - cat({in.narrow(1, 1, 31), in.narrow(1, 0, 1)}, 1));
  };
  for (auto mode : {Randomization::cascading, Randomization::independent}) {
    auto flat = model_randomization_check(*net, edges, x, target, {.mode = mode});
    for (const auto& row : flat.rows) {
      CHECK(row.mean_abs == doctest::Approx(1.0));
      CHECK(row.mean_signed == doctest::Approx(1.0));
    }
  }
  CHECK(snapshot(*net) == before);
}

TEST_CASE("model randomisation: cascading vs independent, re-init scale, restore on exception") {
  manual_seed(5);
  auto net = small_mlp(16, 16, 3);
  Tensor x = randn({4, 16});
  const auto before = snapshot(*net);
  auto fc3 = std::dynamic_pointer_cast<nn::Linear>(net->find("fc3"));
  auto fc2 = std::dynamic_pointer_cast<nn::Linear>(net->find("fc2"));
  const auto fc3_original = values(fc3->weight);
  const double fc2_std = stddev(fc2->weight);

  // Record, at each call, whether fc3 still holds its original weights.
  std::vector<bool> fc3_original_at_call;
  std::vector<double> fc2_std_at_call;
  ModelAttributionFn spy = [&](nn::Module& m, const Tensor& in, const Target& t) {
    fc3_original_at_call.push_back(values(fc3->weight) == fc3_original);
    fc2_std_at_call.push_back(stddev(fc2->weight));
    return target_gradient(forward_of(m), in, t);
  };
  model_randomization_check(*net, spy, x, 0, {.mode = Randomization::cascading});
  CHECK(fc3_original_at_call == std::vector<bool>{true, false, false, false});
  fc3_original_at_call.clear();
  model_randomization_check(*net, spy, x, 0, {.mode = Randomization::independent});
  CHECK(fc3_original_at_call == std::vector<bool>{true, false, true, true});

  // normal_same_std keeps the weights' scale (fc2 is randomised before the 3rd call).
  fc2_std_at_call.clear();
  model_randomization_check(*net, spy, x, 0, {.reinit = Reinit::normal_same_std, .seed = 7});
  CHECK(fc2_std_at_call[0] == doctest::Approx(fc2_std));
  CHECK(fc2_std_at_call[2] == doctest::Approx(fc2_std).epsilon(0.2));
  CHECK(fc2_std_at_call[2] != fc2_std);
  // Only the layers asked for, in the order given.
  auto picked = model_randomization_check(*net, spy, x, 0, {.layers = {"fc1"}});
  REQUIRE(picked.rows.size() == 2);
  CHECK(picked.rows[1].layer == "fc1");
  CHECK_THROWS_WITH_AS(model_randomization_check(*net, spy, x, 0, {.layers = {"relu1"}}),
                       Catch("'relu1' has no parameters"), Error);
  CHECK(snapshot(*net) == before);

  // A method that fails half-way: the error propagates and the weights are still restored.
  int calls = 0;
  ModelAttributionFn flaky = [&](nn::Module& m, const Tensor& in, const Target& t) {
    if (++calls == 3) throw std::runtime_error("method failed");
    return target_gradient(forward_of(m), in, t);
  };
  CHECK_THROWS_WITH_AS(model_randomization_check(*net, flaky, x, 0), "method failed", std::runtime_error);
  CHECK(snapshot(*net) == before);
}

}  // TEST_SUITE
