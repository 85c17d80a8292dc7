// Training-step benchmarks of the course's classifiers (nn/models.h): the same work as
// bench/torch_nn.py, timed the same way, so that scripts/bench_nn.sh can put lumen and PyTorch side
// by side.
//
//   dense_train_step  DenseModel (2352-256-120-84-4 MLP)   one step: forward, cross-entropy,     steps/s
//   conv_train_step   ConvModel (2 conv + 2 linear)        backward, Adam (lr 1e-4) update
//
// Both on a fixed batch of 32 random images [32, 3, 28, 28] in [0, 1] with random labels 0..3, in
// float32. Protocol (bench_core.cpp's): warm-up iterations, then `repeats` timed runs of `iters`
// iterations each, `iters` chosen so that one run takes >= min_time / repeats; the value comes from
// the median run. Output: one JSON object per line (an "info" line first).
//
// Usage: bench_nn [--threads N] [--min-time S] [--repeats R] [--warmup W] [--only a,b]
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
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
#include "autograd/random.h"
#include "nn/losses.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "gan/training.h"
#include "xai/gradient.h"
#include "xai/perturbation.h"

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
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
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
    const double grow = std::min(10.0, 1.2 * per_run / std::max(dt, 1e-9));
    iters = std::max(iters + 1, static_cast<long>(std::ceil(iters * grow)));
  }
  std::vector<double> times;
  for (int r = 0; r < a.repeats; ++r) {
    double t0 = now();
    for (long i = 0; i < iters; ++i) step();
    times.push_back((now() - t0) / static_cast<double>(iters));
  }
  std::sort(times.begin(), times.end());
  const std::size_t n = times.size();
  return {n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]), times.front(), iters};
}

// One training step of make_classifier(model) on a fixed batch; prints its JSON line.
void bench_train_step(const std::string& bench_name, const std::string& model_name, const Args& args) {
  manual_seed(3);
  std::shared_ptr<nn::Module> model = nn::make_classifier(model_name);
  nn::Adam opt(model->parameters(), {.lr = 1e-4});
  Generator g(4);
  const Tensor x = rand({32, 3, 28, 28}, {}, &g);
  const Tensor y = randint(0, 4, {32}, kCPU, &g);
  auto loss_now = [&] {
    autograd::NoGradGuard ng;
    return nn::cross_entropy((*model)(x), y).item();
  };
  auto step = [&] {
    opt.zero_grad();
    nn::cross_entropy((*model)(x), y).backward();
    opt.step();
  };
  const double loss_start = loss_now();
  const Result r = measure(step, args);
  const double loss_end = loss_now();  // training happened: the loss on the batch fell
  std::printf(
      "{\"name\": \"%s\", \"metric\": \"throughput\", \"value\": %.4f, \"unit\": \"steps/s\", "
      "\"higher_is_better\": true, \"median_ms\": %.4f, \"best_ms\": %.4f, \"iters\": %ld, \"repeats\": %d, "
      "\"loss_start\": %.6f, \"loss_end\": %.6g}\n",
      bench_name.c_str(), 1.0 / r.median_s, r.median_s * 1e3, r.best_s * 1e3, r.iters, args.repeats, loss_start,
      loss_end);
  std::fflush(stdout);
}

// Attribution throughput: `what` ("ig" or "occlusion") on a fixed batch of 8 random images for the
// class-1 score of a seeded make_classifier(model_name) in eval mode; prints images/s.
//   ig         IntegratedGradients, 50 Gauss–Legendre steps, zero baseline, all 400 rows in one pass
//   occlusion  Occlusion, window 3×4×4, stride 4 (49 windows per image), zero baseline, 49 per pass
void bench_attribution(const std::string& bench_name, const std::string& what, const std::string& model_name,
                       const Args& args) {
  manual_seed(3);
  std::shared_ptr<nn::Module> model = nn::make_classifier(model_name);
  model->eval();
  Generator g(4);
  const Tensor x = rand({8, 3, 28, 28}, {}, &g);
  const xai::ForwardFn f = xai::forward_of(*model);
  Tensor attr;
  std::function<void()> step;
  if (what == "ig")
    step = [&] { attr = xai::IntegratedGradients(f).attribute(x, 1, {}, {.n_steps = 50}); };
  else
    step = [&] {
      attr = xai::Occlusion(f).attribute(x, 1, {}, {.window = {3, 4, 4}, .strides = {3, 4, 4}, .perturbations_per_eval = 49});
    };
  const Result r = measure(step, args);
  std::printf(
      "{\"name\": \"%s\", \"metric\": \"throughput\", \"value\": %.4f, \"unit\": \"images/s\", "
      "\"higher_is_better\": true, \"median_ms\": %.4f, \"best_ms\": %.4f, \"iters\": %ld, \"repeats\": %d, "
      "\"checksum\": %.6g}\n",
      bench_name.c_str(), 8.0 / r.median_s, r.median_s * 1e3, r.best_s * 1e3, r.iters, args.repeats,
      attr.abs().sum().item());
  std::fflush(stdout);
}

// One step of the course's GAN (gan::CourseGanTrainer::train_step: generator + style encoder update with
// cycle L1 + adversarial CE, discriminator update, EMA of both): UNet depth 2, 64 feature maps,
// batch 32 of random images with random labels.
void bench_gan_step(const std::string& bench_name, const Args& args) {
  gan::GanOptions opt;
  opt.num_fmaps = 64;
  opt.depth = 2;
  opt.log = nullptr;
  gan::CourseGanTrainer trainer(opt);
  Generator g(4);
  const Tensor x = rand({32, 3, 28, 28}, {}, &g);
  const Tensor y = randint(0, 4, {32}, kCPU, &g);
  gan::StepLosses last;
  const Result r = measure([&] { last = trainer.train_step(x, y); }, args);
  std::printf(
      "{\"name\": \"%s\", \"metric\": \"throughput\", \"value\": %.4f, \"unit\": \"steps/s\", "
      "\"higher_is_better\": true, \"median_ms\": %.4f, \"best_ms\": %.4f, \"iters\": %ld, \"repeats\": %d, "
      "\"cycle_loss\": %.6g}\n",
      bench_name.c_str(), 1.0 / r.median_s, r.median_s * 1e3, r.best_s * 1e3, r.iters, args.repeats, last.cycle);
  std::fflush(stdout);
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "bench_nn: %s\nusage: bench_nn [--threads N] [--min-time S] [--repeats R] [--warmup W] "
                       "[--only dense_train_step,conv_train_step,ig_dense,ig_conv,occlusion_dense,occlusion_conv,gan_step]\n", msg);
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

  // name, what, model
  const std::vector<std::array<std::string, 3>> benches = {
      {"dense_train_step", "train", "dense"}, {"conv_train_step", "train", "cnn"}, {"ig_dense", "ig", "dense"},
      {"ig_conv", "ig", "cnn"}, {"occlusion_dense", "occlusion", "dense"}, {"occlusion_conv", "occlusion", "cnn"}, {"gan_step", "gan", ""}};
  int failures = 0;
  for (const auto& [name, what, model] : benches) {
    if (!args.only.empty() && !args.only.count(name)) continue;
    try {
      if (what == "train")
        bench_train_step(name, model, args);
      else if (what == "gan")
        bench_gan_step(name, args);
      else
        bench_attribution(name, what, model, args);
    } catch (const std::exception& e) {  // report and go on with the others
      std::printf("{\"name\": \"%s\", \"error\": \"see stderr\"}\n", name.c_str());
      std::fflush(stdout);
      std::fprintf(stderr, "bench_nn: %s failed: %s\n", name.c_str(), e.what());
      ++failures;
    }
  }
  return failures ? 1 : 0;
}
