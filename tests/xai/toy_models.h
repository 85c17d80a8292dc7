#pragma once
// Small models whose attributions are known in closed form, shared by the xai tests.
#include <memory>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "nn/layers.h"

namespace lumen::testing {

// F(x) = ReLU(ReLU(x1) − 1 − ReLU(x2)), the example of the Integrated Gradients paper, as a
// Sequential of modules (so the backward-rule methods see its ReLUs): [N, 2] -> [N, 1], float64.
// At x = (3, 1) with a zero baseline, IG = DeepLift = (1.5, −0.5).
inline std::shared_ptr<nn::Sequential> ig_paper_model() {
  auto first = std::make_shared<nn::Linear>(2, 2, /*bias=*/false);
  auto second = std::make_shared<nn::Linear>(2, 1);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("split", first);
  net->push_back("relu1", std::make_shared<nn::ReLU>());
  net->push_back("combine", second);
  net->push_back("relu2", std::make_shared<nn::ReLU>());
  net->to(DType::float64);
  autograd::NoGradGuard no_grad;  // setting weights is not part of any graph
  first->weight.copy_(tensor({1, 0, 0, 1}, {2, 2}, {.dtype = DType::float64}));
  second->weight.copy_(tensor({1, -1}, {1, 2}, {.dtype = DType::float64}));
  second->bias.copy_(tensor({-1}, {1}, {.dtype = DType::float64}));
  net->eval();
  return net;
}

// y = x Wᵀ + b: [N, D] -> [N, K], float64, with W's rows the per-class weights.
inline std::shared_ptr<nn::Linear> linear_model(const Tensor& w, const Tensor& b) {
  auto m = std::make_shared<nn::Linear>(w.size(1), w.size(0));
  m->to(DType::float64);
  autograd::NoGradGuard no_grad;
  m->weight.copy_(w);
  m->bias.copy_(b);
  m->eval();
  return m;
}

}  // namespace lumen::testing
