// A first look at lumen: the MLP shape (2352 -> 256 -> 120 -> 84 -> 4) of the DL@MBL course's
// knowledge-extraction exercise on ColoredMNIST (Deep Learning @ the Marine Biological Laboratory,
// Funke lab), trained with plain SGD on a synthetic task — random inputs labelled by a random linear "teacher" — so the
// loss visibly falls. Everything is built from autograd ops; nn/ (modules, Adam, real data) comes next.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"

using namespace lumen;

struct Linear {
  Tensor w, b;  // w: [in, out], so that y = x w + b
  Linear(std::int64_t in, std::int64_t out, Generator& g) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // PyTorch's default for nn.Linear
    w = uniform({in, out}, -bound, bound, {}, &g).requires_grad_();
    b = uniform({out}, -bound, bound, {}, &g).requires_grad_();
  }
  Tensor operator()(const Tensor& x) const { return matmul(x, w) + b; }
};

int main() {
  Generator gen(42);
  const std::int64_t n = 2048, batch = 32, classes = 4, dim = 3 * 28 * 28;
  Tensor x = randn({n, dim}, {}, &gen);
  Tensor teacher = randn({dim, classes}, {}, &gen);
  Tensor y = argmax(matmul(x, teacher), 1).to(DType::float32);  // labels 0..3, kept as floats for indexing

  std::vector<Linear> layers{{dim, 256, gen}, {256, 120, gen}, {120, 84, gen}, {84, classes, gen}};
  auto forward = [&](Tensor h) {
    for (std::size_t i = 0; i < layers.size(); ++i) {
      h = layers[i](h);
      if (i + 1 < layers.size()) h = relu(h);
    }
    return h;
  };
  auto accuracy = [&] {
    autograd::NoGradGuard ng;
    return mean(eq(argmax(forward(x), 1).to(DType::float32), y)).item();
  };

  std::printf("demo_mlp: %lld random inputs, labels from a random linear teacher; SGD lr 0.05, batch %lld\n",
              static_cast<long long>(n), static_cast<long long>(batch));
  std::printf("epoch 0: accuracy %.3f (chance: 0.25)\n", accuracy());
  const double lr = 0.05;
  auto t0 = std::chrono::steady_clock::now();
  std::int64_t steps = 0;
  for (int epoch = 1; epoch <= 8; ++epoch) {
    Tensor order = randperm(n, kCPU, &gen);
    double total = 0;
    for (std::int64_t s = 0; s + batch <= n; s += batch, ++steps) {
      Tensor idx = order.narrow(0, s, batch);
      Tensor xb = index_select(x, 0, idx), yb = index_select(y, 0, idx).to(DType::int64);
      // Cross-entropy: minus the mean log-probability of the true class.
      Tensor loss = -mean(gather(log_softmax(forward(xb), 1), 1, yb.unsqueeze(1)));
      loss.backward();
      autograd::NoGradGuard ng;
      for (Linear& l : layers)
        for (Tensor* p : {&l.w, &l.b}) {
          p->add_(p->grad(), -lr);
          p->set_grad(Tensor());
        }
      total += loss.item();
    }
    std::printf("epoch %d: mean loss %.4f, accuracy %.3f\n", epoch, total / static_cast<double>(n / batch), accuracy());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%lld SGD steps in %.2f s (%.0f steps/s)\n", static_cast<long long>(steps), secs, steps / secs);
  return 0;
}
