// Foundation benchmarks: the same work as bench/torch_core.py, timed the same way, so that
// scripts/bench.sh can put lumen and PyTorch side by side.
//
//   sgemm_512, sgemm_1024  matmul(a, b) of n x n float32 matrices, forward only      GFLOP/s (2 n^3 / t)
//   conv2d_fwd_bwd         conv2d x [32,64,28,28], w [64,64,3,3], bias [64], pad 1;  ms
//                          forward, then backward for dx, dw, db
//   mlp_train_step         2352-256-120-84-4 ReLU MLP, batch 32, cross-entropy,       steps/s
//                          backward, SGD (lr 0.01) update in place
//
// Protocol: warm-up iterations, then `repeats` timed runs of `iters` iterations each, with `iters`
// chosen so that one run takes >= min_time / repeats; the reported value comes from the median run
// (best_ms is also printed). Output: one JSON object per line.
//
// Usage: bench_core [--threads N] [--min-time S] [--repeats R] [--warmup W] [--only a,b,...]
// (--threads defaults to OMP_NUM_THREADS / the OpenMP default.)
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "autograd/tensor.h"

using namespace lumen;

namespace {

struct Args {
  int threads = 0;
  double min_time = 1.0;
  int repeats = 5;
  int warmup = 5;
  std::set<std::string> only;
};

struct Result {
  double median_s, best_s;
  long iters;
};

double now() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

Result measure(const std::function<void()>& step, const Args& a) {
  for (int i = 0; i < a.warmup; ++i) step();
  const double per_run = a.min_time / a.repeats;
  long iters = 1;
  for (;;) {  // calibrate: iterations per run so that one run lasts >= per_run
    double t0 = now();
    for (long i = 0; i < iters; ++i) step();
    double dt = now() - t0;
    if (dt >= per_run) break;
    iters = std::max(iters + 1, static_cast<long>(std::ceil(iters * std::min(10.0, 1.2 * per_run / std::max(dt, 1e-9)))));
  }
  std::vector<double> times;
  for (int r = 0; r < a.repeats; ++r) {
    double t0 = now();
    for (long i = 0; i < iters; ++i) step();
    times.push_back((now() - t0) / static_cast<double>(iters));
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  double med = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  return {med, sorted.front(), iters};
}

void emit(const std::string& name, const char* metric, double value, const char* unit, bool higher, const Result& r,
          int repeats, const std::string& extra = "") {
  std::printf(
      "{\"name\": \"%s\", \"metric\": \"%s\", \"value\": %.4f, \"unit\": \"%s\", \"higher_is_better\": %s, "
      "\"median_ms\": %.4f, \"best_ms\": %.4f, \"iters\": %ld, \"repeats\": %d%s}\n",
      name.c_str(), metric, value, unit, higher ? "true" : "false", r.median_s * 1e3, r.best_s * 1e3, r.iters, repeats,
      extra.c_str());
  std::fflush(stdout);
}

void bench_sgemm(std::int64_t n, const Args& args) {
  Generator g(1);
  Tensor a = randn({n, n}, {}, &g), b = randn({n, n}, {}, &g);
  autograd::NoGradGuard ng;
  Result r = measure([&] { Tensor c = matmul(a, b); }, args);
  emit("sgemm_" + std::to_string(n), "throughput", 2.0 * n * n * n / r.median_s / 1e9, "GFLOP/s", true, r,
       args.repeats);
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
  emit("conv2d_fwd_bwd", "time", r.median_s * 1e3, "ms", false, r, args.repeats);
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
  std::ostringstream extra;
  extra << ", \"loss_start\": " << loss_start << ", \"loss_end\": " << loss_end;
  emit("mlp_train_step", "throughput", 1.0 / r.median_s, "steps/s", true, r, args.repeats, extra.str());
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "bench_core: %s\nusage: bench_core [--threads N] [--min-time S] [--repeats R] [--warmup W] "
                       "[--only sgemm_512,sgemm_1024,conv2d_fwd_bwd,mlp_train_step]\n", msg);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + s).c_str());
      return argv[++i];
    };
    if (s == "--threads") args.threads = std::stoi(value());
    else if (s == "--min-time") args.min_time = std::stod(value());
    else if (s == "--repeats") args.repeats = std::max(1, std::stoi(value()));
    else if (s == "--warmup") args.warmup = std::max(0, std::stoi(value()));
    else if (s == "--only") {
      std::stringstream ss(value());
      for (std::string name; std::getline(ss, name, ',');)
        if (!name.empty()) args.only.insert(name);
    } else usage(("unknown argument " + s).c_str());
  }
  if (args.threads > 0) omp_set_num_threads(args.threads);

  std::printf("{\"name\": \"info\", \"impl\": \"lumen\", \"threads\": %d, \"eigen\": \"%d.%d.%d\", \"simd\": \"%s\", "
              "\"protocol\": \"median of %d runs, >= %gs timed, %d warm-up\"}\n",
              omp_get_max_threads(), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION,
              Eigen::SimdInstructionSetsInUse(), args.repeats, args.min_time, args.warmup);
  std::fflush(stdout);

  const std::vector<std::pair<std::string, std::function<void()>>> benches = {
      {"sgemm_512", [&] { bench_sgemm(512, args); }},
      {"sgemm_1024", [&] { bench_sgemm(1024, args); }},
      {"conv2d_fwd_bwd", [&] { bench_conv(args); }},
      {"mlp_train_step", [&] { bench_mlp(args); }},
  };
  int failures = 0;
  for (const auto& [name, fn] : benches) {
    if (!args.only.empty() && !args.only.count(name)) continue;
    try {
      fn();
    } catch (const std::exception& e) {  // report and go on with the others
      std::printf("{\"name\": \"%s\", \"error\": \"%s\"}\n", name.c_str(), "see stderr");
      std::fflush(stdout);
      std::fprintf(stderr, "bench_core: %s failed: %s\n", name.c_str(), e.what());
      ++failures;
    }
  }
  return failures ? 1 : 0;
}
