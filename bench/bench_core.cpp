// Foundation benchmarks: the same work as bench/torch_core.py, timed the same way, so that
// scripts/bench.sh can put lumen and PyTorch side by side.
//
//   sgemm_512, sgemm_1024  matmul(a, b) of n x n float32 matrices, forward only      GFLOP/s (2 n^3 / t)
//   conv2d_fwd_bwd         conv2d x [32,64,28,28], w [64,64,3,3], bias [64], pad 1;  ms
//                          forward, then backward for dx, dw, db
//   mlp_train_step         2352-256-120-84-4 ReLU MLP, batch 32, cross-entropy,       steps/s
//                          backward, SGD (lr 0.01) update in place
//
// The command line, the timing protocol and the JSON lines are bench/harness.h's.
//
// Usage: bench_core [--threads N] [--min-time S] [--repeats R] [--warmup W] [--only a,b,...]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "autograd/tensor.h"
#include "bench/harness.h"

using namespace lumen;

namespace {

using bench::Args;
using bench::emit;
using bench::measure;
using bench::Result;

void bench_sgemm(std::int64_t n, const Args& args) {
  Generator g(1);
  Tensor a = randn({n, n}, {}, &g), b = randn({n, n}, {}, &g);
  autograd::NoGradGuard ng;
  Result r = measure([&] { Tensor c = matmul(a, b); }, args);
  emit("sgemm_" + std::to_string(n), "throughput", 2.0 * n * n * n / r.median_s / 1e9, "GFLOP/s", true, r, args);
}

void bench_conv(const Args& args) {
  Generator g(2);
  Tensor x = randn({32, 64, 28, 28}, {}, &g);
  x.requires_grad_();
  Tensor w = mul(randn({64, 64, 3, 3}, {}, &g), 0.05);
  w.requires_grad_();
  Tensor b = randn({64}, {}, &g);
  b.requires_grad_();
  Tensor gy = randn({32, 64, 28, 28}, {}, &g);
  Conv2dOptions opt;
  opt.stride = {1, 1};
  opt.padding = {1, 1};
  auto step = [&] {
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    Tensor y = conv2d(x, w, b, opt);
    y.backward(gy);  // dx, dw, db
  };
  step();
  if (!x.grad().defined() || !w.grad().defined() || !b.grad().defined()) {
    std::fprintf(stderr, "bench_core: conv2d backward left a gradient undefined\n");
    std::exit(1);
  }
  Result r = measure(step, args);
  emit("conv2d_fwd_bwd", "time", r.median_s * 1e3, "ms", false, r, args);
}

void bench_mlp(const Args& args) {
  Generator g(3);
  const std::vector<std::int64_t> dims = {2352, 256, 120, 84, 4};
  const std::int64_t batch = 32, classes = dims.back();
  std::vector<Tensor> params;  // W0, b0, W1, b1, ...
  for (std::size_t i = 0; i + 1 < dims.size(); ++i) {
    const double k = 1.0 / std::sqrt(static_cast<double>(dims[i]));  // nn.Linear's init
    params.push_back(uniform({dims[i], dims[i + 1]}, -k, k, {}, &g).requires_grad_());
    params.push_back(uniform({dims[i + 1]}, -k, k, {}, &g).requires_grad_());
  }
  Tensor x = randn({batch, dims[0]}, {}, &g);
  Tensor targets = randint(0, classes, {batch}, kCPU, &g);
  const double lr = 0.01;

  auto loss_fn = [&] {
    Tensor h = x;
    for (std::size_t l = 0; l < params.size() / 2; ++l) {
      h = matmul(h, params[2 * l]) + params[2 * l + 1];
      if (2 * l + 2 < params.size()) h = relu(h);
    }
    Tensor logp = log_softmax(h, 1);
    return neg(mean(sum(mul(one_hot(targets, classes), logp), {1})));  // cross-entropy
  };
  auto step = [&] {
    for (Tensor& p : params) p.set_grad(Tensor());  // zero_grad(set_to_none=True)
    Tensor loss = loss_fn();
    loss.backward();
    autograd::NoGradGuard ng;
    for (Tensor& p : params) p.add_(p.grad(), -lr);
  };
  double loss_start = loss_fn().item();
  Result r = measure(step, args);
  double loss_end = loss_fn().item();
  emit("mlp_train_step", "throughput", 1.0 / r.median_s, "steps/s", true, r, args,
       {{"loss_start", loss_start}, {"loss_end", loss_end}});
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<bench::Benchmark> benchmarks = {
      {"sgemm_512", [](const Args& args) { bench_sgemm(512, args); }},
      {"sgemm_1024", [](const Args& args) { bench_sgemm(1024, args); }},
      {"conv2d_fwd_bwd", bench_conv},
      {"mlp_train_step", bench_mlp},
  };
  return bench::run("bench_core", bench::parse_args(argc, argv, "bench_core", benchmarks), benchmarks);
}
