#pragma once
// The vocabulary every attribution method shares, modelled on Captum:
//
//   xai::IntegratedGradients ig(xai::forward_of(model));
//   Tensor attr = ig.attribute(images, /*target=*/labels, /*baselines=*/zeros_like(images));
//
// A method is built from a forward function (any callable [N, ...] -> [N, K] scores, usually a
// model) and explains, for each sample, the score of one output column, its target. Attributions
// are shaped like the inputs (layer methods: like the layer's output, or upsampled to the input).
//
// The primitive under the whole gradient family is `target_gradient`: a forward pass, pick each
// row's target score, and autograd::grad of their sum with respect to the inputs. Rows do not
// interact in a model without batch statistics (eval mode), so the gradient of the sum is each
// row's own gradient.
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::nn {
class Module;
}

namespace lumen::xai {

// [N, ...] -> [N, K]: what the methods call. Must be a pure function of its input (eval mode).
using ForwardFn = std::function<Tensor(const Tensor&)>;

// Any attribution method as a function (inputs [N, ...], their targets) -> attributions: what
// NoiseTunnel and the evaluation metrics take.
class Target;
using AttributionFn = std::function<Tensor(const Tensor& inputs, const Target& target)>;

// m(x), hooks included (so layer methods can observe it). Holds a reference: m must outlive it.
ForwardFn forward_of(nn::Module& m);

// Which output column each sample is explained for: one class for the whole batch, or one per sample.
// Methods that evaluate an expanded batch lay it out block by block ([step 0: samples 0..N-1], [step
// 1: ...]), so row r of an expanded batch belongs to sample r mod N; select() relies on that.
class Target {
 public:
  Target(std::int64_t cls) : classes_{cls} {}  // NOLINT: implicit, attribute(x, 3)
  Target(std::vector<std::int64_t> per_sample) : classes_(std::move(per_sample)) {}  // NOLINT
  Target(std::initializer_list<std::int64_t> per_sample) : classes_(per_sample) {}
  // From an int64 tensor [N] (e.g. a batch's labels).
  static Target from_tensor(const Tensor& labels);

  // scores [R, K] -> [R] (differentiable): row r's score in column target(r mod N). Throws naming
  // `op` if a class is out of range or R is not a multiple of the number of per-sample targets.
  Tensor select(const Tensor& scores, const char* op = "Target::select") const;
  // The class of sample i (i taken mod the number of targets). Throws if there are none (the
  // per-sample targets of an empty batch, which no method asks for).
  std::int64_t at(std::int64_t i) const {
    LUMEN_CHECK(!classes_.empty(), "Target::at", "there are no targets (an empty per-sample list)");
    return classes_[static_cast<std::size_t>(i) % classes_.size()];
  }
  std::int64_t count() const { return static_cast<std::int64_t>(classes_.size()); }
  // The targets for samples [start, start + n) (one shared class stays one shared class).
  Target slice(std::int64_t start, std::int64_t n) const;
  const std::vector<std::int64_t>& classes() const { return classes_; }

 private:
  std::vector<std::int64_t> classes_;
};

// Checks that a per-sample target has one class per row of inputs (N = inputs.size(0)).
void check_target(const Target& target, const Tensor& inputs, const char* op);

// An empty batch [0, ...] has nothing to explain. Every method defines it as Captum does (there, the
// gradient of an empty sum is empty): after checking its arguments as usual, it returns what it
// returns for N samples with N = 0 (attributions [0, ...], deltas [0], ...) without running the model
// or installing any hook. These helpers are that convention's one place.
bool is_empty_batch(const Tensor& inputs);  // a batch [N, ...] with N = 0
// Uninitialised (there is nothing to initialise) [0, ...] in the inputs' dtype and device: shaped like
// the inputs, or like `shape` (whose first size must be 0).
Tensor empty_attributions(const Tensor& inputs);
Tensor empty_attributions(const Tensor& inputs, const Shape& shape);

// d(Σ_r score_r)/d(inputs), score_r = f(inputs)[r, target(r)]: each row's gradient of its own
// target score. No .grad() is touched and the inputs need not require grad. These three return empty
// results for an empty batch without calling f.
Tensor target_gradient(const ForwardFn& f, const Tensor& inputs, const Target& target);
// The same, also returning the scores [R] (detached).
std::pair<Tensor, Tensor> target_scores_and_gradient(const ForwardFn& f, const Tensor& inputs, const Target& target);
// The target scores [R] without building a graph.
Tensor target_scores(const ForwardFn& f, const Tensor& inputs, const Target& target);

// inputs repeated `times` times along dim 0, block by block (the layout Target::select expects).
Tensor repeat_batch(const Tensor& inputs, std::int64_t times);
// A baseline for inputs: undefined -> zeros; a tensor shaped like one sample or like the batch is
// broadcast to the batch's shape. Throws naming `op` on a shape that fits neither.
Tensor expand_baseline(const Tensor& baseline, const Tensor& inputs, const char* op);

// The reference ("absence of signal") a method measures the inputs against. Every method that has
// one takes it the same way: as an argument of attribute(), as Captum's methods all do (never an
// option), right after the target: `method.attribute(inputs, target, baselines, options)`. It is
// one value everywhere or a tensor shaped like one sample or like the inputs; `{}` is zeros.
// (GradientShap differs in kind, not in place: it takes a distribution [B, ...] of baselines.)
struct Baseline {
  Baseline(double v = 0.0) : value(v) {}       // NOLINT: implicit, attribute(x, t, 0.5)
  Baseline(Tensor t) : tensor(std::move(t)) {}  // NOLINT: implicit, attribute(x, t, blurred)
  double value = 0.0;
  Tensor tensor;  // wins over value when defined
  // The baseline broadcast to the inputs' shape, dtype and device (detached).
  Tensor expand(const Tensor& inputs, const char* op) const;
};

// What the methods with a completeness property (IntegratedGradients, DeepLift) return from
// attribute_with_delta. Other methods' results read the same way (LimeResult, ShapResult: the
// attributions first, then what else the method knows).
struct AttributionAndDelta {
  Tensor attributions;  // shaped like the inputs
  Tensor delta;         // [N]: Σ attributions − (F(x) − F(x')), the completeness error
};

}  // namespace lumen::xai
