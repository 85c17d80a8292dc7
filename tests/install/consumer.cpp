// A program outside lumen's tree, built against an installed lumen with nothing but
//   c++ consumer.cpp $(pkg-config --cflags --libs lumen)
// (tests/install/check_install.py): trains a tiny MLP on XOR, then explains it with Integrated Gradients.
#include <cstdio>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "xai/gradient.h"

using namespace lumen;

int main() {
  const Tensor x = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor y = tensor_from({0, 1, 1, 0});
  manual_seed(0);
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(16, 2)});
  nn::Adam opt(model->parameters(), {.lr = 0.05});
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    nn::cross_entropy((*model)(x), y).backward();
    opt.step();
  }
  const double accuracy =
      mean(eq(argmax((*model)(x), 1).to(DType::float32), y.to(DType::float32))).item();
  xai::IntegratedGradients ig(xai::forward_of(*model));
  const xai::AttributionAndDelta a = ig.attribute_with_delta(x, xai::Target::from_tensor(y));
  const double delta = a.delta.abs().sum().item();  // Σ attributions − (F(x) − F(x')), all 4 inputs
  std::printf("accuracy %.2f, IG completeness error %.2g\n", accuracy, delta);
  // F(x) − F(x') is ~9 here; ReLU's kinks leave the 50-point quadrature an error of a few 1e-3.
  return accuracy == 1.0 && delta < 0.02 ? 0 : 1;
}
