#pragma once
// Small models whose attributions are known in closed form, shared by the xai tests.
#include <memory>

#include <cstdint>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
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

// Linear(4→5) → ReLU → Linear(5→3) → ReLU → Linear(3→2), float64, eval, weights drawn after
// manual_seed(21): a small ReLU network for the backward-rule methods, with handles on its layers.
struct TwoHiddenMlp {
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  std::shared_ptr<nn::Linear> l1, l2, l3;
};
inline TwoHiddenMlp two_hidden_mlp() {
  TwoHiddenMlp m;
  manual_seed(21);
  m.l1 = m.net->push_back("l1", std::make_shared<nn::Linear>(4, 5));
  m.net->push_back("r1", std::make_shared<nn::ReLU>());
  m.l2 = m.net->push_back("l2", std::make_shared<nn::Linear>(5, 3));
  m.net->push_back("r2", std::make_shared<nn::ReLU>());
  m.l3 = m.net->push_back("l3", std::make_shared<nn::Linear>(3, 2));
  m.net->to(DType::float64);
  m.net->eval();
  return m;
}

// conv(2→3, 3×3, padding 1) [→ ReLU] → global average pool → flatten → linear(3→2), float64, eval,
// weights drawn after manual_seed(seed). Without the ReLU, y_t = Σ_k v_tk · mean(A_k) with A the
// conv's output [N, 3, h, w], so ∂y_t/∂A_k = v_tk / (h·w) everywhere: Grad-CAM and D-Grad-CAM in
// closed form. The modules are named "conv", ("relu"), "pool", "flatten", "head".
struct ConvPoolLinear {
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> head;
};
inline ConvPoolLinear conv_pool_linear(std::uint64_t seed, bool with_relu = false) {
  ConvPoolLinear m;
  manual_seed(seed);
  m.conv = m.net->push_back("conv", std::make_shared<nn::Conv2d>(2, 3, 3, nn::ConvOptions{.padding = 1}));
  m.head = std::make_shared<nn::Linear>(3, 2);
  if (with_relu) m.net->push_back("relu", std::make_shared<nn::ReLU>());
  m.net->push_back("pool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
  m.net->push_back("flatten", std::make_shared<nn::Flatten>());
  m.net->push_back("head", m.head);
  m.net->to(DType::float64);
  m.net->eval();
  return m;
}

// conv(2→4, 3×3, padding 1) → ReLU → MaxPool2d → conv(4→4, 3×3, padding 1) → ReLU → MaxPool2d →
// flatten → linear(→3), float64, eval, weights drawn after manual_seed(seed): the course's ConvModel
// in miniature. Pools are 2×2 (stride 2) on [N, 2, 8, 8] inputs, or with overlap, 3×3 with stride 2
// and padding 1 (8 → 4 → 2 either way).
inline std::shared_ptr<nn::Sequential> conv_maxpool_net(std::uint64_t seed, bool overlapping_pools = false) {
  manual_seed(seed);
  auto pool = [&] {
    return overlapping_pools ? std::make_shared<nn::MaxPool2d>(3, nn::PoolOptions{.stride = 2, .padding = 1})
                             : std::make_shared<nn::MaxPool2d>(2);
  };
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("conv1", std::make_shared<nn::Conv2d>(2, 4, 3, nn::ConvOptions{.padding = 1}));
  net->push_back("relu1", std::make_shared<nn::ReLU>());
  net->push_back("pool1", pool());
  net->push_back("conv2", std::make_shared<nn::Conv2d>(4, 4, 3, nn::ConvOptions{.padding = 1}));
  net->push_back("relu2", std::make_shared<nn::ReLU>());
  net->push_back("pool2", pool());
  net->push_back("flatten", std::make_shared<nn::Flatten>());
  net->push_back("head", std::make_shared<nn::Linear>(16, 3));
  net->to(DType::float64);
  net->eval();
  return net;
}

// Linear(2→3) "a" → ReLU "relu" → Linear(3→2) "b", float64, with
// W_a = [[1, 0], [0, 1], [1, 1]], b_a = (0, 0, −1), W_b = [[1, 2, 3], [−1, 0, 1]], b_b = 0:
// ∂logit_k/∂a_j = W_b[k, j] · 1[a_j > 0] (the concept tests' layer "relu" or "a").
inline std::shared_ptr<nn::Sequential> hand_model() {
  const TensorOptions f64{.dtype = DType::float64};
  auto a = std::make_shared<nn::Linear>(2, 3);
  auto b = std::make_shared<nn::Linear>(3, 2);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("a", a);
  net->push_back("relu", std::make_shared<nn::ReLU>());
  net->push_back("b", b);
  net->to(DType::float64);
  autograd::NoGradGuard no_grad;
  a->weight.copy_(tensor({1, 0, 0, 1, 1, 1}, {3, 2}, f64));
  a->bias.copy_(tensor({0, 0, -1}, {3}, f64));
  b->weight.copy_(tensor({1, 2, 3, -1, 0, 1}, {2, 3}, f64));
  b->bias.copy_(tensor({0, 0}, {2}, f64));
  net->eval();
  return net;
}

// Inputs of hand_model: x1 = (1, 2) gives a = (1, 2, 2), all active; x2 = (−1, 0.5) gives a = (−1, 0.5, −1.5),
// only unit 1 active.
inline Tensor hand_inputs() { return tensor({1, 2, -1, 0.5}, {2, 2}, {.dtype = DType::float64}); }

}  // namespace lumen::testing
