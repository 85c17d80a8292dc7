// A first look at lumen: the MLP shape (2352 -> 256 -> 120 -> 84 -> 4) of the DL@MBL course's
// knowledge-extraction exercise on ColoredMNIST (Deep Learning @ the Marine Biological Laboratory,
// Funke lab), trained with plain SGD on a synthetic task — random inputs labelled by a random linear "teacher" — so the
// loss visibly falls. Everything is built from autograd ops; nn/ (modules, Adam, real data) comes next.
//
//   build/examples/demo_mlp                       # 2048 samples, 8 epochs of SGD, lr 0.05
//   build/examples/demo_mlp --epochs 20 --lr 0.1
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "examples/cli.h"

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

int main(int argc, char** argv) {
  std::int64_t n = 2048, batch = 32;
  int epochs = 8, threads = 0;
  double lr = 0.05;
  std::uint64_t seed = 42;
  CLI::App app{"Train the MLP shape of the DL@MBL knowledge-extraction exercise (2352 -> 256 -> 120 -> 84 -> 4) "
               "with plain SGD on random inputs labelled by a random linear teacher; no data needed"};
  app.add_option("--samples", n, "random training inputs")->check(cli::integer(1, 20'000))->capture_default_str();
  app.add_option("--batch-size", batch, "inputs per SGD step (at most --samples)")->check(cli::integer(1, 20'000))
      ->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the inputs")->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--lr", lr, "SGD learning rate")->check(cli::positive(10))->capture_default_str();
  app.add_option("--seed", seed, "seeds the inputs, the teacher, the weights and the shuffling")->check(cli::seed())
      ->capture_default_str();
  app.add_option("--threads", threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->check(cli::threads())
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (batch > n) {
    std::fprintf(stderr, "demo_mlp: --batch-size %lld is larger than --samples %lld\n", static_cast<long long>(batch),
                 static_cast<long long>(n));
    return 1;
  }
  if (threads > 0) omp_set_num_threads(threads);

  Generator gen(seed);
  const std::int64_t classes = 4, dim = 3 * 28 * 28;
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

  std::printf("demo_mlp: %lld random inputs, labels from a random linear teacher; SGD lr %g, batch %lld\n",
              static_cast<long long>(n), lr, static_cast<long long>(batch));
  std::printf("epoch 0: accuracy %.3f (chance: 0.25)\n", accuracy());
  auto t0 = std::chrono::steady_clock::now();
  std::int64_t steps = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
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
  return cli::finish("demo_mlp");
}
