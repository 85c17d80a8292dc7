#include "exercises/checks.h"

#include <cmath>
#include <exception>
#include <random>
#include <sstream>
#include <vector>

#include "autograd/engine.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/xai/toy_models.h"
#include "xai/concepts.h"
#include "xai/discriminative.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/text.h"

namespace lumen::exercises {

namespace {

const TensorOptions f64{.dtype = DType::float64};

// Runs a check's steps; an exception from the answer (an unwritten exercise, a shape error) fails it.
template <class Steps> CheckResult guarded(Steps&& steps) {
  try {
    return steps();
  } catch (const std::exception& e) {
    return {false, std::string("threw: ") + e.what()};
  }
}

// got ≈ want elementwise (|got − want| <= tol · (1 + |want|)), with the same shape.
CheckResult close(const std::string& what, const Tensor& got, const Tensor& want, double tol) {
  std::ostringstream os;
  if (!got.defined()) return {false, what + ": got an undefined tensor"};
  if (got.shape() != want.shape()) {
    os << what << ": got shape " << got.shape() << ", expected " << want.shape();
    return {false, os.str()};
  }
  const auto g = got.detach().to(DType::float64).contiguous().to_vector<double>();
  const auto w = want.detach().to(DType::float64).contiguous().to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= tol * (1 + std::abs(w[i])))) {
      os << what << ": element " << i << " is " << g[i] << ", expected " << w[i];
      return {false, os.str()};
    }
  return {true, ""};
}

CheckResult close(const std::string& what, double got, double want, double tol = 1e-12) {
  if (std::abs(got - want) <= tol * (1 + std::abs(want))) return {true, ""};
  std::ostringstream os;
  os << what << ": got " << got << ", expected " << want;
  return {false, os.str()};
}

CheckResult labelled(const char* what, CheckResult r) {
  if (!r.ok) r.message = std::string(what) + ": " + r.message;
  return r;
}

// Whether answer() throws a lumen::Error (the contract for input that has no answer).
template <class F> bool throws_error(F&& answer) {
  try {
    answer();
  } catch (const Error&) {
    return true;
  }
  return false;
}

// An op whose forward is the library's and whose backward is the answer under test, so the engine
// (and gradcheck through it) runs the answer exactly where it would run the real backward.
Tensor tanh_with(const TanhBackward& backward, const Tensor& x) {
  Tensor y;
  {
    autograd::NoGradGuard forward_only;  // record() below attaches the history, with the answer's backward
    y = tanh(x);
  }
  return record("exercise_tanh", y, {x}, {y},
                [backward](const Tensor& g, const BackwardArgs& s) { return grads(backward(s[0], g)); });
}

Tensor matmul_with(const MatmulBackward& backward, const Tensor& a, const Tensor& b) {
  Tensor c;
  {
    autograd::NoGradGuard forward_only;
    c = matmul(a, b);
  }
  return record("exercise_matmul", c, {a, b}, {a, b}, [backward](const Tensor& g, const BackwardArgs& s) {
    auto [da, db] = backward(s[0], s[1], g);
    return grads(da, db);
  });
}

const char* const kGradcheck = "gradcheck (your backward against central differences)";
const char* const kGradgradcheck =
    "gradgradcheck (the backward of your backward: is it built from lumen's differentiable ops?)";

}  // namespace

CheckResult check_tanh_backward(const TanhBackward& answer) {
  return guarded([&]() -> CheckResult {
    const Tensor x = testing::leaf({3, 4}, -2.0, 2.0, 1);
    Generator gen(3);
    const Tensor g = normal(x.shape(), 0.0, 1.0, f64, &gen);
    const Tensor want = autograd::grad({tanh(x)}, {x}, {g})[0];
    if (auto r = close("∂L/∂x against lumen::tanh's gradient", answer(tanh(x).detach(), g), want, 1e-12); !r.ok) return r;
    const testing::Fn op = [&](const std::vector<Tensor>& in) { return tanh_with(answer, in[0]); };
    if (auto r = testing::gradcheck(op, {x}); !r.ok) return labelled(kGradcheck, r);
    return labelled(kGradgradcheck, testing::gradgradcheck(op, {x}));
  });
}

CheckResult check_matmul_backward(const MatmulBackward& answer) {
  return guarded([&]() -> CheckResult {
    const Tensor a = testing::leaf({3, 4}, -1.0, 1.0, 1), b = testing::leaf({4, 2}, -1.0, 1.0, 2);
    Generator gen(4);
    const Tensor g = normal({3, 2}, 0.0, 1.0, f64, &gen);
    const auto want = autograd::grad({matmul(a, b)}, {a, b}, {g});
    const auto [da, db] = answer(a.detach(), b.detach(), g);
    if (auto r = close("∂L/∂A against lumen::matmul's gradient", da, want[0], 1e-12); !r.ok) return r;
    if (auto r = close("∂L/∂B against lumen::matmul's gradient", db, want[1], 1e-12); !r.ok) return r;
    const testing::Fn op = [&](const std::vector<Tensor>& in) { return matmul_with(answer, in[0], in[1]); };
    if (auto r = testing::gradcheck(op, {a, b}); !r.ok) return labelled(kGradcheck, r);
    const Tensor batch_a = testing::leaf({2, 3, 4}, -1.0, 1.0, 3), batch_b = testing::leaf({2, 4, 5}, -1.0, 1.0, 4);
    if (auto r = testing::gradcheck(op, {batch_a, batch_b}); !r.ok)
      return labelled("gradcheck of a batched product [2, 3, 4] · [2, 4, 5]", r);
    return labelled(kGradgradcheck, testing::gradgradcheck(op, {a, b}));
  });
}

CheckResult check_riemann_integrated_gradients(const PathAttribution& answer) {
  return guarded([&]() -> CheckResult {
    Generator gen(5);
    const Tensor x = uniform({3, 4}, -1.0, 1.0, f64, &gen), base = uniform({3, 4}, -1.0, 1.0, f64, &gen);
    // F(x) = Σ_i x_i²: the path gradient 2(x' + α(x − x')) is linear in α, so the midpoints
    // integrate it exactly (a left or right sum would not) and IG = (x − x')(x + x') = x² − x'².
    const xai::ForwardFn sum_of_squares = [](const Tensor& t) { return square(t).sum({1}, /*keepdim=*/true); };
    if (auto r = close("IG of F(x) = Σ x² (known answer x² − x'²)", answer(sum_of_squares, x, base, 0, 4),
                       square(x) - square(base), 1e-12);
        !r.ok)
      return r;
    const testing::TwoHiddenMlp model = testing::two_hidden_mlp();
    const xai::ForwardFn f = xai::forward_of(*model.net);
    const xai::Target targets({0, 1, 1});
    const Tensor want = xai::IntegratedGradients(f).attribute(
        x, targets, base, {.n_steps = 16, .method = xai::Integration::riemann_middle});
    return close("IG of a ReLU network, one target per sample, against xai::IntegratedGradients (riemann_middle)",
                 answer(f, x, base, targets, 16), want, 1e-10);
  });
}

CheckResult check_grad_cam_map(const GradCamMap& answer) {
  return guarded([&]() -> CheckResult {
    // α = (mean G_0, mean G_1) = (0.25, −1); 0.25 A_0 − A_1 = [[0, 1], [0, −3]]; ReLU keeps the 1.
    const Tensor acts = tensor({4, 8, 12, 0, 1, 1, 3, 3}, {1, 2, 2, 2}, f64);
    const Tensor grad = tensor({1, 0, 0, 0, 0, -2, -2, 0}, {1, 2, 2, 2}, f64);
    if (auto r = close("the map worked out by hand", answer(acts, grad), tensor({0, 1, 0, 0}, {1, 1, 2, 2}, f64), 1e-12);
        !r.ok)
      return r;
    // A small CNN's first ReLU, read by a hook, and ∂y/∂A by autograd, as xai::GradCam does.
    const auto net = testing::conv_maxpool_net(6);
    Generator gen(6);
    const Tensor x = normal({2, 2, 8, 8}, 0.0, 1.0, f64, &gen);
    const xai::Target targets({0, 2});
    Tensor layer_out, layer_grad;
    {
      autograd::GradModeGuard on(true);
      nn::HookHandle hook = net->submodule("relu1").register_forward_hook(
          [&layer_out](nn::Module&, const Tensor&, const Tensor& out) { layer_out = out; });
      const Tensor scores = targets.select((*net)(x.detach().requires_grad_()));
      layer_grad = autograd::grad({scores.sum()}, {layer_out})[0];
    }
    const Tensor want = xai::GradCam(*net, "relu1").attribute(x, targets, {.upsample = false});
    return close("a CNN's map against xai::GradCam", answer(layer_out.detach(), layer_grad), want, 1e-10);
  });
}

CheckResult check_d_integrated_gradients(const PathAttribution& answer) {
  return guarded([&]() -> CheckResult {
    // A linear model: ∇f_A = w_A everywhere, so D-IG = (x − x_cf) ⊙ w_A, signed.
    const Tensor w = tensor({1, -2, 3, -1, 0, 2}, {2, 3}, f64);
    const auto linear = testing::linear_model(w, tensor({0.5, -0.5}, {2}, f64));
    const Tensor x = tensor({1, 2, 3, 0, -1, 1}, {2, 3}, f64), cf = tensor({0, 1, 1, 1, 1, 1}, {2, 3}, f64);
    const xai::Target real({1, 0});
    const Tensor want_linear = (x - cf) * index_select(w, 0, tensor_from({1, 0}, {2}));
    if (auto r = close("D-IG of a linear model (known answer (x − x_cf) ⊙ w_A)",
                       answer(xai::forward_of(*linear), x, cf, real, 4), want_linear, 1e-12);
        !r.ok)
      return r;
    const testing::TwoHiddenMlp model = testing::two_hidden_mlp();
    const xai::ForwardFn f = xai::forward_of(*model.net);
    Generator gen(7);
    const Tensor xs = uniform({3, 4}, -1.0, 1.0, f64, &gen), cfs = uniform({3, 4}, -1.0, 1.0, f64, &gen);
    const xai::Target reals({1, 0, 1});
    const Tensor want = xai::d_integrated_gradients(f, xs, cfs, reals,
                                                    {.n_steps = 16, .method = xai::Integration::riemann_middle});
    return close("D-IG of a ReLU network against xai::d_integrated_gradients (riemann_middle)",
                 answer(f, xs, cfs, reals, 16), want, 1e-10);
  });
}

CheckResult check_tcav_score(const TcavScore& answer) {
  return guarded([&]() -> CheckResult {
    // S = G · v = (1, 1, −1, 0, 0): two of five positive; the zeros do not count.
    const Tensor g = tensor({1, 0, 0, 1, -1, 0, 0, 0, 2, -2}, {5, 2}, f64);
    if (auto r = close("TCAV of S = (1, 1, −1, 0, 0)", answer(g, tensor({1, 1}, {2}, f64)), 0.4); !r.ok) return r;
    // S = (0, −1, 0, 0, 2) along v = (0, −1): one of five.
    if (auto r = close("TCAV of S = (0, −1, 0, 0, 2)", answer(g, tensor({0, -1}, {2}, f64)), 0.2); !r.ok) return r;
    Generator gen(8);
    const Tensor grads = normal({40, 6}, 0.0, 1.0, f64, &gen), v = normal({6}, 0.0, 1.0, f64, &gen);
    if (auto r = close("TCAV of random gradients against xai::tcav_score", answer(grads, v),
                       xai::tcav_score(matmul(grads, v)).score);
        !r.ok)
      return r;
    if (!throws_error([&] { answer(zeros({0, 2}, f64), tensor({1, 1}, {2}, f64)); }))
      return {false, "an empty batch (N = 0) must throw a lumen::Error: a fraction of nothing is undefined"};
    return {true, ""};
  });
}

CheckResult check_hellinger(const Distance& answer) {
  using Dist = std::map<std::string, double>;
  return guarded([&]() -> CheckResult {
    const double root_half = std::sqrt(0.5);
    const std::vector<std::tuple<const char*, Dist, Dist, double>> known = {
        {"equal distributions", {{"a", 1}, {"b", 2}}, {{"a", 1}, {"b", 2}}, 0.0},
        {"the same distribution, unnormalised", {{"a", 1}, {"b", 3}}, {{"a", 2}, {"b", 6}}, 0.0},
        {"disjoint supports", {{"a", 1}}, {{"b", 5}}, 1.0},
        {"(1/4, 3/4) against (3/4, 1/4): (√3 − 1)/2", {{"a", 1}, {"b", 3}}, {{"a", 3}, {"b", 1}}, (std::sqrt(3.0) - 1) / 2},
        {"a key only Q has", {{"a", 1}}, {{"a", 1}, {"b", 1}},
         std::sqrt(0.5 * ((1 - root_half) * (1 - root_half) + 0.5))},
    };
    for (const auto& [what, p, q, want] : known)
      if (auto r = close(what, answer(p, q), want); !r.ok) return r;
    std::mt19937 rng(9);
    std::uniform_real_distribution<double> mass(0.0, 3.0);
    Dist p, q;
    for (int k = 0; k < 12; ++k) {  // keys 0..7 in P, 4..11 in Q: overlapping supports
      if (k < 8) p["token" + std::to_string(k)] = mass(rng);
      if (k >= 4) q["token" + std::to_string(k)] = mass(rng);
    }
    if (auto r = close("random distributions against xai::hellinger", answer(p, q), xai::hellinger(p, q)); !r.ok)
      return r;
    if (!throws_error([&] { answer({{"a", -1}, {"b", 2}}, {{"a", 1}}); }))
      return {false, "a negative mass must throw a lumen::Error"};
    if (!throws_error([&] { answer({{"a", 0}}, {{"a", 1}}); }))
      return {false, "a side with no positive mass must throw a lumen::Error (it cannot be normalised)"};
    if (!throws_error([&] { answer({}, {{"a", 1}}); })) return {false, "an empty side must throw a lumen::Error"};
    return {true, ""};
  });
}

}  // namespace lumen::exercises
