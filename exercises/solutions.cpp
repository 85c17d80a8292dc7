// The reference answers: each exercise done with the library's own code, so the default build's
// `exercises` test proves every exercise solvable and its checks satisfiable by the real thing.
// Built instead of 01_…07_*.cpp unless -Dexercises=true. Read them after writing your own.
#include <memory>
#include <vector>

#include "autograd/ops.h"
#include "exercises/exercises.h"
#include "nn/layers.h"
#include "xai/concepts.h"
#include "xai/discriminative.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "xai/text.h"

namespace lumen::exercises {

// The backward of lumen::tanh, as recorded in autograd/ops_elementwise.cpp.
Tensor tanh_backward(const Tensor& y, const Tensor& grad_output) { return grad_output * rsub(square(y), 1.0); }

// The backward of lumen::matmul (autograd/ops_linalg.cpp), without the sum_to its broadcasting needs.
std::pair<Tensor, Tensor> matmul_backward(const Tensor& a, const Tensor& b, const Tensor& grad_output) {
  return {matmul(grad_output, transpose(b, -1, -2)), matmul(transpose(a, -1, -2), grad_output)};
}

Tensor riemann_integrated_gradients(const xai::ForwardFn& f, const Tensor& inputs, const Tensor& baselines,
                                    const xai::Target& target, std::int64_t n_steps) {
  return xai::IntegratedGradients(f).attribute(inputs, target, baselines,
                                               {.n_steps = n_steps, .method = xai::Integration::riemann_middle});
}

namespace {
// Scores each row by ⟨G, A⟩ for a fixed G: ∂score/∂A = G exactly.
class InnerProductScore : public nn::Module {
 public:
  explicit InnerProductScore(Tensor g) : g_(std::move(g)) {}
  Tensor forward(const Tensor& a) override { return (a * g_).flatten(1).sum({1}, /*keepdim=*/true); }
  std::string type_name() const override { return "InnerProductScore"; }

 private:
  Tensor g_;
};
}  // namespace

// xai::GradCam on a model whose "layer" outputs A (it is the input itself) and whose score has the
// gradient G there: GradCam then sees exactly this exercise's activations and gradient.
Tensor grad_cam_map(const Tensor& activations, const Tensor& gradients) {
  nn::Sequential model;
  auto layer = model.push_back("layer", std::make_shared<nn::Identity>());
  model.push_back("score", std::make_shared<InnerProductScore>(gradients.detach()));
  return xai::GradCam(model, *layer).attribute(activations, /*target=*/0, {.upsample = false});
}

Tensor d_integrated_gradients(const xai::ForwardFn& f, const Tensor& inputs, const Tensor& counterfactuals,
                              const xai::Target& real, std::int64_t n_steps) {
  return xai::d_integrated_gradients(f, inputs, counterfactuals, real,
                                     {.n_steps = n_steps, .method = xai::Integration::riemann_middle});
}

double tcav_score(const Tensor& layer_gradients, const Tensor& cav_direction) {
  return xai::tcav_score(matmul(layer_gradients, cav_direction)).score;
}

double hellinger(const std::map<std::string, double>& p, const std::map<std::string, double>& q) {
  return xai::hellinger(p, q);
}

}  // namespace lumen::exercises
