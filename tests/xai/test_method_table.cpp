// One table of attribution methods, checked for the properties every method must have (Captum's
// test_config idea): each row is a method with fixed options, each TEST_CASE a property, each
// SUBCASE one method, so a failure names both. The properties:
//
//   single target        a class for the whole batch = that class repeated per sample
//   per-sample targets   row i of attribute(x, {t_0, t_1, ...}) = row i of attribute(x, t_i), and
//                        the target matters (two classes give two different maps)
//   internal batching    every internal batch size gives the unbatched result
//   exceptions           a forward that throws on its k-th call propagates, and leaves the model
//                        as it was: no hooks left behind, same parameters, outputs and mode
//   model unchanged      after a normal call, in eval and in training mode
//   empty batch          a batch of 0 samples gives the attributions a batch of N gives, with N = 0
//                        (e.g. [0, 4], or [0, 1, 5, 6] for Grad-CAM), for one class and for an
//                        empty per-sample list, and leaves the model as it was (no hooks left)
//
// The last TEST_CASE is the meta-test: each property check, run on a deliberately broken method,
// reports the breakage (so none of them is a check that cannot fail).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "tests/test_util.h"
#include "tests/xai/toy_models.h"
#include "xai/backward_rules.h"
#include "xai/discriminative.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/lime.h"
#include "xai/perturbation.h"
#include "xai/shapley.h"

using namespace lumen;
using namespace lumen::xai;

namespace {

// The identity, except that when armed it throws on its k-th call: put in front of a model, it
// makes "the model's forward fails halfway through a method" happen on demand.
class Tripwire : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override {
    ++calls;
    LUMEN_CHECK(fire_at == 0 || calls != fire_at, "Tripwire", "forward call ", calls, " fails on purpose");
    return x;
  }
  std::string type_name() const override { return "Tripwire"; }
  std::int64_t calls = 0;
  std::int64_t fire_at = 0;  // 0 = never
};

// A toy model behind a tripwire, with inputs, counterfactuals and targets for it.
struct Fixture {
  std::shared_ptr<Tripwire> trip = std::make_shared<Tripwire>();
  std::shared_ptr<nn::Sequential> model = std::make_shared<nn::Sequential>();
  Tensor x;                 // [3, ...]
  Tensor counterfactuals;   // like x (the D-* methods' references)
  std::int64_t classes = 2;
};

Fixture mlp_fixture() {  // [3, 4] -> [3, 2], Linear/ReLU (tests/xai/toy_models.h)
  Fixture f;
  f.model->push_back("trip", f.trip);
  f.model->push_back("net", lumen::testing::two_hidden_mlp().net);
  Generator g(5);
  f.x = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  f.counterfactuals = normal({3, 4}, 0, 1, {.dtype = DType::float64}, &g);
  return f;
}

Fixture cnn_fixture() {  // [3, 2, 5, 6] -> [3, 2], conv → ReLU → pool → linear (toy_models.h)
  Fixture f;
  f.model->push_back("trip", f.trip);
  f.model->push_back("net", lumen::testing::conv_pool_linear(3, /*with_relu=*/true).net);
  Generator g(6);
  f.x = normal({3, 2, 5, 6}, 0, 1, {.dtype = DType::float64}, &g);
  f.counterfactuals = normal({3, 2, 5, 6}, 0, 1, {.dtype = DType::float64}, &g);
  return f;
}

// A method with fixed options. `batch` is its internal batch size (0 = the method's default);
// stochastic methods seed their own Generator on every call, so two calls draw the same numbers.
using Run = std::function<Tensor(nn::Module& model, const Fixture& fx, const Tensor& x, const Target& t,
                                 std::int64_t batch)>;
struct MethodCase {
  std::string name;
  Fixture (*fixture)();
  Run run;
  bool batched = false;  // has an internal batch size
};

ForwardFn fn(nn::Module& m) { return forward_of(m); }
// perturbations_per_eval must be >= 1: batch 0 ("the default") becomes the method's default.
std::int64_t per_eval(std::int64_t batch, std::int64_t method_default) { return batch > 0 ? batch : method_default; }

std::vector<MethodCase> method_table() {
  const std::vector<std::int64_t> region_ids{0, 0, 1, 1};
  return {
      {"Saliency", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
         return Saliency(fn(m)).attribute(x, t);
       }},
      {"InputXGradient", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
         return InputXGradient(fn(m)).attribute(x, t);
       }},
      {"IntegratedGradients (Gauss-Legendre)", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         return IntegratedGradients(fn(m)).attribute(x, t, 0.25, {.n_steps = 8, .internal_batch_size = batch});
       },
       true},
      {"IntegratedGradients (Riemann trapezoid)", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         return IntegratedGradients(fn(m)).attribute(
             x, t, {}, {.n_steps = 8, .method = Integration::riemann_trapezoid, .internal_batch_size = batch});
       },
       true},
      {"NoiseTunnel (SmoothGrad)", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(1);
         Saliency sal(fn(m));
         return NoiseTunnel([&](const Tensor& xx, const Target& tt) { return sal.attribute(xx, tt, false); })
             .attribute(x, t, {.n_samples = 5, .stdev = 0.3, .samples_per_pass = batch, .generator = &g});
       },
       true},
      {"NoiseTunnel (SmoothGrad squared)", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(2);
         InputXGradient ixg(fn(m));
         return NoiseTunnel([&](const Tensor& xx, const Target& tt) { return ixg.attribute(xx, tt); })
             .attribute(x, t, {.type = NoiseType::smoothgrad_sq, .n_samples = 5, .stdev = 0.3,
                               .samples_per_pass = batch, .generator = &g});
       },
       true},
      {"NoiseTunnel (VarGrad)", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(3);
         Saliency sal(fn(m));
         return NoiseTunnel([&](const Tensor& xx, const Target& tt) { return sal.attribute(xx, tt, false); })
             .attribute(x, t, {.type = NoiseType::vargrad, .n_samples = 5, .stdev = 0.3, .samples_per_pass = batch,
                               .generator = &g});
       },
       true},
      {"GradientShap", mlp_fixture,
       [](nn::Module& m, const Fixture& fx, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(4);
         return GradientShap(fn(m)).attribute(
             x, t, fx.counterfactuals, {.n_samples = 4, .stdev = 0.1, .internal_batch_size = batch, .generator = &g});
       },
       true},
      {"DeepLift", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
         return DeepLift(m).attribute(x, t, 0.25);
       }},
      {"GuidedBackprop", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
         return GuidedBackprop(m).attribute(x, t);
       }},
      {"Deconvolution", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
         return Deconvolution(m).attribute(x, t);
       }},
      {"GradCam", cnn_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
         return GradCam(m, "net.conv").attribute(x, t, {.relu = false});
       }},
      {"GuidedGradCam", cnn_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
         return GuidedGradCam(m, "net.conv").attribute(x, t);
       }},
      {"Occlusion", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         return Occlusion(fn(m)).attribute(x, t, -0.5, {.window = {2}, .perturbations_per_eval = per_eval(batch, 1)});
       },
       true},
      {"FeatureAblation", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         return FeatureAblation(fn(m)).attribute(x, t, 0.5, {.perturbations_per_eval = per_eval(batch, 1)});
       },
       true},
      {"KernelShap (exact)", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         return KernelShap(fn(m)).attribute(x, t, {}, {.perturbations_per_eval = per_eval(batch, 64)});
       },
       true},
      {"KernelShap (sampled)", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(5);
         return KernelShap(fn(m)).attribute(
             x, t, 0.1,
             {.enumerate_up_to = 0, .n_samples = 10, .perturbations_per_eval = per_eval(batch, 64), .generator = &g});
       },
       true},
      {"ShapleyValueSampling", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(8);
         return ShapleyValueSampling(fn(m)).attribute(
             x, t, 0.1, {.n_samples = 3, .perturbations_per_eval = per_eval(batch, 64), .generator = &g});
       },
       true},
      {"Lime", mlp_fixture,
       [](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(6);
         return Lime(fn(m)).attribute(x, t, {}, {.n_samples = 20, .perturbations_per_eval = per_eval(batch, 64),
                                                 .generator = &g});
       },
       true},
      {"SharpLime", mlp_fixture,
       [region_ids](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
         Generator g(7);
         return SharpLime(fn(m), tensor_from(region_ids, {4}))
             .attribute(x, t, 0.2, {.n_samples = 20, .perturbations_per_eval = per_eval(batch, 64), .generator = &g});
       },
       true},
      {"D-IntegratedGradients", mlp_fixture,
       [](nn::Module& m, const Fixture& fx, const Tensor& x, const Target& t, std::int64_t batch) {
         return d_integrated_gradients(fn(m), x, fx.counterfactuals.narrow(0, 0, x.size(0)), t,
                                       {.n_steps = 8, .internal_batch_size = batch});
       },
       true},
      {"D-InputXGradient", mlp_fixture,
       [](nn::Module& m, const Fixture& fx, const Tensor& x, const Target& t, std::int64_t) {
         return d_input_x_gradient(fn(m), x, fx.counterfactuals.narrow(0, 0, x.size(0)), t);
       }},
      {"D-DeepLift", mlp_fixture,
       [](nn::Module& m, const Fixture& fx, const Tensor& x, const Target& t, std::int64_t) {
         return d_deeplift(m, x, fx.counterfactuals.narrow(0, 0, x.size(0)), t);
       }},
      {"D-GradCam", cnn_fixture,
       [](nn::Module& m, const Fixture& fx, const Tensor& x, const Target& t, std::int64_t) {
         return d_grad_cam(m, "net.conv", x, fx.counterfactuals.narrow(0, 0, x.size(0)), t);
       }},
  };
}

// ---- the property checks: each returns "" when the property holds, else what went wrong

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double d = 0;
  for (std::size_t i = 0; i < va.size(); ++i) d = std::max(d, std::abs(va[i] - vb[i]));
  return d;
}

constexpr double kTol = 1e-12;  // float64 toy models: rows and passes may only reorder roundings

std::string describe_mismatch(const char* what, const Tensor& a, const Tensor& b) {
  std::ostringstream os;
  if (a.shape() != b.shape())
    os << what << ": shapes " << a.shape() << " and " << b.shape();
  else if (double d = max_abs_diff(a, b); !(d <= kTol))
    os << what << ": values differ by up to " << d;
  return os.str();
}

// A method's output is a batch of maps: [N, ...] with the inputs' N, finite and not all zero.
std::string check_output(const Tensor& a, const Tensor& x) {
  std::ostringstream os;
  if (!a.defined() || a.dim() < 2 || a.size(0) != x.size(0)) {
    os << "expected attributions [" << x.size(0) << ", ...], got " << (a.defined() ? a.str() : "undefined");
    return os.str();
  }
  bool finite = true, nonzero = false;
  for (double v : a.to_vector<double>()) finite = finite && std::isfinite(v), nonzero = nonzero || v != 0;
  if (!finite) return "non-finite attributions";
  if (!nonzero) return "all attributions are zero";
  return "";
}

std::string single_target_problem(const MethodCase& c) {
  Fixture fx = c.fixture();
  const Tensor one = c.run(*fx.model, fx, fx.x, Target(1), 0);
  if (auto p = check_output(one, fx.x); !p.empty()) return p;
  return describe_mismatch("Target(1) vs Target({1, 1, 1})", one, c.run(*fx.model, fx, fx.x, Target({1, 1, 1}), 0));
}

std::string per_sample_targets_problem(const MethodCase& c) {
  Fixture fx = c.fixture();
  const std::vector<std::int64_t> classes{1, 0, 1};
  const Tensor mixed = c.run(*fx.model, fx, fx.x, Target(classes), 0);
  if (auto p = check_output(mixed, fx.x); !p.empty()) return p;
  const Tensor class0 = c.run(*fx.model, fx, fx.x, Target(0), 0), class1 = c.run(*fx.model, fx, fx.x, Target(1), 0);
  if (max_abs_diff(class0, class1) <= kTol) return "the target does not change the attributions";
  for (std::int64_t i = 0; i < fx.x.size(0); ++i) {
    const Tensor& whole = classes[static_cast<std::size_t>(i)] == 0 ? class0 : class1;
    const std::string what = "row " + std::to_string(i) + " of Target({1, 0, 1}) vs of Target(" +
                             std::to_string(classes[static_cast<std::size_t>(i)]) + ")";
    if (auto p = describe_mismatch(what.c_str(), mixed.select(0, i), whole.select(0, i)); !p.empty()) return p;
  }
  return "";
}

std::string internal_batch_problem(const MethodCase& c) {
  Fixture fx = c.fixture();
  const Target t({1, 0, 1});
  const Tensor whole = c.run(*fx.model, fx, fx.x, t, 0);
  for (std::int64_t batch : {1, 2, 7}) {
    const std::string what = "internal batch size " + std::to_string(batch) + " vs the default";
    if (auto p = describe_mismatch(what.c_str(), c.run(*fx.model, fx, fx.x, t, batch), whole); !p.empty()) return p;
  }
  return "";
}

// What "the model as it was" means: parameters and buffers bit for bit, which parameters have a
// .grad(), every module's training flag, the hooks on every module, and the outputs on the inputs.
struct ModelState {
  std::vector<std::vector<double>> tensors;
  std::vector<bool> has_grad;
  std::vector<bool> training;
  std::size_t hooks = 0;
  std::vector<double> outputs;
};

ModelState model_state(Fixture& fx) {
  ModelState s;
  for (const auto& [name, t] : fx.model->state_dict()) s.tensors.push_back(t.to_vector<double>());
  for (const Tensor& p : fx.model->parameters()) s.has_grad.push_back(p.grad().defined());
  s.training.push_back(fx.model->is_training());
  s.hooks = fx.model->forward_hook_count();
  for (const auto& [name, m] : fx.model->named_modules()) {
    s.training.push_back(m->is_training());
    s.hooks += m->forward_hook_count();
  }
  const std::int64_t armed = fx.trip->fire_at;
  fx.trip->fire_at = 0;
  {
    autograd::NoGradGuard no_grad;
    s.outputs = (*fx.model)(fx.x).to_vector<double>();
  }
  fx.trip->fire_at = armed;
  return s;
}

std::string state_changes(const ModelState& before, const ModelState& after) {
  std::string out;
  auto note = [&](bool changed, const char* what) {
    if (changed) out += (out.empty() ? "" : "; ") + std::string(what);
  };
  note(after.hooks != before.hooks, "forward hooks left on the model");
  note(after.tensors != before.tensors, "parameters or buffers changed");
  note(after.has_grad != before.has_grad, "parameter .grad() written");
  note(after.training != before.training, "training/eval mode changed");
  note(after.outputs != before.outputs, "the model's outputs changed");
  return out;
}

std::string model_unchanged_problem(const MethodCase& c) {
  for (bool training : {false, true}) {
    Fixture fx = c.fixture();
    fx.model->train(training);
    const ModelState before = model_state(fx);
    c.run(*fx.model, fx, fx.x, Target({1, 0, 1}), 0);
    if (auto changes = state_changes(before, model_state(fx)); !changes.empty())
      return std::string(training ? "in training mode: " : "in eval mode: ") + changes;
  }
  return "";
}

std::string exception_problem(const MethodCase& c) {
  Fixture fx = c.fixture();
  const Target t({1, 0, 1});
  c.run(*fx.model, fx, fx.x, t, 0);
  const std::int64_t calls = fx.trip->calls;  // forwards in one call of the method
  if (calls == 0) return "the method never ran the model";
  for (std::int64_t k : {std::int64_t{1}, calls}) {
    const ModelState before = model_state(fx);
    fx.trip->calls = 0;
    fx.trip->fire_at = k;
    std::string error;
    try {
      c.run(*fx.model, fx, fx.x, t, 0);
    } catch (const Error& e) {
      error = e.what();
    }
    fx.trip->fire_at = 0;
    const std::string at = "forward " + std::to_string(k) + " of " + std::to_string(calls) + " throwing: ";
    if (error.find("fails on purpose") == std::string::npos)
      return at + (error.empty() ? "no error came out of the method" : "a different error came out: " + error);
    if (auto changes = state_changes(before, model_state(fx)); !changes.empty()) return at + changes;
  }
  return "";
}

// An empty batch gives the shape a batch of N gives, with N = 0, and leaves the model as it was.
std::string empty_batch_problem(const MethodCase& c) {
  Fixture fx = c.fixture();
  Shape want = c.run(*fx.model, fx, fx.x, Target(1), 0).shape();
  want[0] = 0;
  const Tensor empty = fx.x.narrow(0, 0, 0);
  for (const Target& t : {Target(1), Target(std::vector<std::int64_t>{})}) {
    const std::string with = t.count() == 1 ? "with Target(1): " : "with no per-sample targets: ";
    const ModelState before = model_state(fx);
    Tensor a;
    try {
      a = c.run(*fx.model, fx, empty, t, 0);
    } catch (const Error& e) {
      return with + "expected empty attributions, got the error " + e.what();
    }
    if (!a.defined() || a.shape() != want)
      return with + "expected attributions of shape " + shape_str(want) + ", got " +
             (a.defined() ? a.str() : std::string("undefined"));
    if (auto changes = state_changes(before, model_state(fx)); !changes.empty()) return with + changes;
  }
  return "";
}

using Property = std::string (*)(const MethodCase&);

// Runs `property` on every row of the table (that `applies`), one SUBCASE per method.
void check_every_method(Property property, bool (*applies)(const MethodCase&) = nullptr) {
  for (const MethodCase& c : method_table()) {
    if (applies && !applies(c)) continue;
    SUBCASE(c.name.c_str()) {
      const std::string problem = property(c);
      CHECK_MESSAGE(problem.empty(), c.name << ": " << problem);
    }
  }
}

}  // namespace

TEST_SUITE("xai") {

TEST_CASE("method table: a single target equals that target repeated per sample") {
  check_every_method(single_target_problem);
}

TEST_CASE("method table: per-sample targets explain each row for its own class") {
  check_every_method(per_sample_targets_problem);
}

TEST_CASE("method table: internal batching gives the unbatched result") {
  check_every_method(internal_batch_problem, [](const MethodCase& c) { return c.batched; });
}

TEST_CASE("method table: a forward that throws leaves no hooks and the model as it was") {
  check_every_method(exception_problem);
}

TEST_CASE("method table: the model is unchanged afterwards, in eval and in training mode") {
  check_every_method(model_unchanged_problem);
}

TEST_CASE("method table: an empty batch gives empty attributions of the right shape, and no hooks left") {
  check_every_method(empty_batch_problem);
}

TEST_CASE("method table: each property check catches a method broken in that property") {
  const MethodCase honest = method_table().front();
  REQUIRE(honest.name == "Saliency");
  // Saliency with a flaw: `body` gets the model, the inputs and the targets.
  using Body = std::function<Tensor(nn::Module& m, const Tensor& x, const Target& t)>;
  auto broken = [](const char* what, Body body) {
    return MethodCase{std::string("Saliency that ") + what, mlp_fixture,
                      [body](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t) {
                        return body(m, x, t);
                      }};
  };
  auto saliency = [](nn::Module& m, const Tensor& x, const Target& t) { return Saliency(fn(m)).attribute(x, t); };
  auto observe = [](nn::Module&, const Tensor&, const Tensor&) {};

  // Leaves a hook registered (a handle given up with detach() instead of held for the call).
  const MethodCase leaks_hook = broken("leaks a hook", [&](nn::Module& m, const Tensor& x, const Target& t) {
    m.submodule("net.r1").register_forward_hook(observe).detach();
    return saliency(m, x, t);
  });
  CHECK(model_unchanged_problem(leaks_hook).find("forward hooks left") != std::string::npos);

  // Removes its hook only when nothing throws (the pre-RAII pattern without try/catch): passes
  // when nothing fails, caught by the exception property.
  std::vector<nn::HookHandle> pending;
  const MethodCase not_exception_safe =
      broken("removes its hook only on success", [&](nn::Module& m, const Tensor& x, const Target& t) {
        pending.push_back(m.submodule("net.r1").register_forward_hook(observe));
        Tensor a = saliency(m, x, t);
        pending.clear();
        return a;
      });
  CHECK(model_unchanged_problem(not_exception_safe).empty());
  CHECK(exception_problem(not_exception_safe).find("forward hooks left") != std::string::npos);
  pending.clear();

  const MethodCase swallows =
      broken("swallows the model's error", [&](nn::Module& m, const Tensor& x, const Target& t) {
        try {
          return saliency(m, x, t);
        } catch (const Error&) {
          return zeros_like(x);
        }
      });
  CHECK(exception_problem(swallows).find("no error came out") != std::string::npos);

  const MethodCase edits_weight = broken("nudges a weight", [&](nn::Module& m, const Tensor& x, const Target& t) {
    autograd::NoGradGuard no_grad;
    Tensor w = m.parameters().front();
    w.copy_(w + 1e-9);
    return saliency(m, x, t);
  });
  CHECK(model_unchanged_problem(edits_weight).find("parameters or buffers changed") != std::string::npos);

  const MethodCase switches_mode =
      broken("switches to eval mode", [&](nn::Module& m, const Tensor& x, const Target& t) {
        m.eval();
        return saliency(m, x, t);
      });
  CHECK(model_unchanged_problem(switches_mode).find("in training mode: training/eval mode changed") !=
        std::string::npos);

  const MethodCase writes_grad = broken("calls backward()", [&](nn::Module& m, const Tensor& x, const Target& t) {
    t.select(m(x)).sum().backward();
    return saliency(m, x, t);
  });
  CHECK(model_unchanged_problem(writes_grad).find(".grad() written") != std::string::npos);

  const MethodCase first_target_only =
      broken("uses the first target for every row",
             [&](nn::Module& m, const Tensor& x, const Target& t) { return saliency(m, x, Target(t.at(0))); });
  CHECK(single_target_problem(first_target_only).empty());
  CHECK(per_sample_targets_problem(first_target_only).find("row 1") != std::string::npos);

  const MethodCase ignores_target = broken(
      "ignores the target", [&](nn::Module& m, const Tensor& x, const Target&) { return saliency(m, x, Target(0)); });
  CHECK(per_sample_targets_problem(ignores_target).find("does not change") != std::string::npos);

  const MethodCase shared_class_zero =
      broken("reads a shared target as class 0", [&](nn::Module& m, const Tensor& x, const Target& t) {
        return saliency(m, x, t.count() == 1 ? Target(0) : t);
      });
  CHECK(single_target_problem(shared_class_zero).find("Target(1) vs Target({1, 1, 1})") != std::string::npos);

  const MethodCase batch_dependent{
      "Saliency that depends on its batch size", mlp_fixture,
      [&](nn::Module& m, const Fixture&, const Tensor& x, const Target& t, std::int64_t batch) {
        return saliency(m, x, t) + 1e-9 * double(batch);
      },
      true};
  CHECK(internal_batch_problem(batch_dependent).find("internal batch size 1") != std::string::npos);

  const MethodCase zeros =
      broken("returns zeros", [](nn::Module&, const Tensor& x, const Target&) { return zeros_like(x); });
  CHECK(single_target_problem(zeros) == "all attributions are zero");

  const MethodCase nothing_for_empty =
      broken("returns nothing for an empty batch", [&](nn::Module& m, const Tensor& x, const Target& t) {
        return x.size(0) == 0 ? Tensor() : saliency(m, x, t);
      });
  CHECK(empty_batch_problem(nothing_for_empty).find("expected attributions of shape [0, 4]") != std::string::npos);
  const MethodCase rejects_empty =
      broken("rejects an empty batch", [&](nn::Module& m, const Tensor& x, const Target& t) {
        LUMEN_CHECK(x.size(0) > 0, "Saliency", "empty batch");
        return saliency(m, x, t);
      });
  CHECK(empty_batch_problem(rejects_empty).find("got the error") != std::string::npos);
  const MethodCase wrong_empty_shape =
      broken("returns [0] for an empty batch", [&](nn::Module& m, const Tensor& x, const Target& t) {
        return x.size(0) == 0 ? empty({0}) : saliency(m, x, t);
      });
  CHECK(empty_batch_problem(wrong_empty_shape).find("expected attributions of shape [0, 4], got") != std::string::npos);
  const MethodCase hooks_on_empty =
      broken("leaks a hook on an empty batch", [&](nn::Module& m, const Tensor& x, const Target& t) {
        if (x.size(0) == 0) m.submodule("net.r1").register_forward_hook(observe).detach();
        return x.size(0) == 0 ? empty_attributions(x) : saliency(m, x, t);
      });
  CHECK(empty_batch_problem(hooks_on_empty).find("forward hooks left") != std::string::npos);
  const MethodCase per_sample_empty_crashes =
      broken("reads the first target of an empty list", [&](nn::Module& m, const Tensor& x, const Target& t) {
        if (x.size(0) == 0) (void)t.at(0);
        return x.size(0) == 0 ? empty_attributions(x) : saliency(m, x, t);
      });
  CHECK(empty_batch_problem(per_sample_empty_crashes).find("with no per-sample targets: expected empty") !=
        std::string::npos);

  // And the honest method passes every check.
  CHECK(single_target_problem(honest).empty());
  CHECK(per_sample_targets_problem(honest).empty());
  CHECK(model_unchanged_problem(honest).empty());
  CHECK(exception_problem(honest).empty());
  CHECK(empty_batch_problem(honest).empty());
}

}  // TEST_SUITE
