// Probe (not built by meson): times the pieces of conv2d forward + backward separately.
//   conv_probe [N C H W O k pad]   (defaults: 32 64 28 28 64 3 1), OMP_NUM_THREADS sets the threads.
// CONV_PROBE_CPU=1 reports process CPU time instead of wall time (steadier on a busy machine).
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <functional>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"

using namespace lumen;

static double best_ms(const std::function<void()>& f, int reps = 15) {
  f();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    static const bool cpu = std::getenv("CONV_PROBE_CPU") != nullptr;
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    f();
    double ms = cpu ? 1e3 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC
                    : std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, ms);
  }
  return best;
}

int main(int argc, char** argv) {
  std::int64_t a[7] = {32, 64, 28, 28, 64, 3, 1};
  for (int i = 1; i < argc && i <= 7; ++i) a[i - 1] = std::atoll(argv[i]);
  const auto [N, C, H, W, O, k, p] = std::tuple{a[0], a[1], a[2], a[3], a[4], a[5], a[6]};
  Generator g(2);
  Tensor x = randn({N, C, H, W}, {}, &g).requires_grad_();
  Tensor w = mul(randn({O, C, k, k}, {}, &g), 0.05).requires_grad_();
  Tensor b = randn({O}, {}, &g).requires_grad_();
  Conv2dOptions opt;
  opt.padding = {p, p};
  Tensor y0 = conv2d(x.detach(), w.detach(), b.detach(), opt);
  Tensor gy = randn(y0.shape(), {}, &g);
  const double flop = 2.0 * N * O * C * k * k * y0.size(2) * y0.size(3) / 1e9;
  double fwd, all, dx, dw, db;
  {
    autograd::NoGradGuard ng;
    fwd = best_ms([&] { conv2d(x, w, b, opt); });
  }
  all = best_ms([&] {
    Tensor y = conv2d(x, w, b, opt);
    autograd::grad({y}, {x, w, b}, {gy});
  });
  dx = best_ms([&] { autograd::grad({conv2d(x, w.detach(), {}, opt)}, {x}, {gy}); }) - fwd;
  dw = best_ms([&] { autograd::grad({conv2d(x.detach(), w, {}, opt)}, {w}, {gy}); }) - fwd;
  db = best_ms([&] { autograd::grad({conv2d(x.detach(), w.detach(), b, opt)}, {b}, {gy}); }) - fwd;
  std::printf("forward %.2f ms (%.0f GFLOP/s)  dx %.2f  dw %.2f  db %.2f  fwd+bwd %.2f ms (%.0f GFLOP/s)\n", fwd,
              flop / fwd * 1e3, dx, dw, db, all, 3 * flop / all * 1e3);
}
