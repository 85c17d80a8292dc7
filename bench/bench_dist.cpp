// Data parallelism on one machine: the same training steps (global batch 32) in one process or split
// over the ranks of `mpirun -np N` with DDP averaging the gradients. scripts/bench_dist.sh runs
// "1 process × 2 threads" and "2 processes × 1 thread" interleaved and compares them.
//
//   bench_dist [--threads T] [--steps S] [--repeats R] [--warmup W] [--only dense_step,cnn_step,gan_step]
//
// Protocol: W untimed steps, then R timed runs of S steps (fixed counts: every rank must take the same
// number of steps, or the all-reduces would not match); each run starts at a barrier and lasts until
// the slowest rank is done. Reported: the median run's steps/s, and the share of the step time that
// backward() spent waiting for the all-reduces at its end plus packing gradients into buckets (the
// communication not hidden behind computation), from rank 0. One JSON line per benchmark, rank 0 only.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/ddp.h"
#include "dist/process_group.h"
#include "gan/training.h"
#include "nn/losses.h"
#include "nn/models.h"
#include "nn/optim.h"

using namespace lumen;

namespace {

struct Args {
  int threads = 0, steps = 20, repeats = 5, warmup = 3;
  std::set<std::string> only;
};

constexpr std::int64_t kGlobalBatch = 32;

// A training step plus what it knows about its communication (seconds so far, 0 without DDP).
struct Stepper {
  std::function<void()> step;
  std::function<double()> comm_s;  // waiting for all-reduces + packing buckets, seconds so far
  std::function<double()> wait_s;  // the waiting alone
  std::int64_t parameters = 0;  // elements whose gradients are averaged every step
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void report(const std::string& name, const Args& a, const Stepper& s, dist::ProcessGroup& pg) {
  for (int i = 0; i < a.warmup; ++i) s.step();
  std::vector<double> rates;
  double comm_share = 0, wait_share = 0;
  for (int r = 0; r < a.repeats; ++r) {
    pg.barrier();
    const double c0 = s.comm_s(), w0 = s.wait_s(), t0 = now_s();
    for (int i = 0; i < a.steps; ++i) s.step();
    const double mine = now_s() - t0, comm = s.comm_s() - c0;
    Tensor times = tensor({mine}, {1, 1}, {.dtype = DType::float64});
    const auto all = pg.all_gather(times).to_vector<double>();
    const double slowest = *std::max_element(all.begin(), all.end());
    rates.push_back(a.steps / slowest);
    comm_share += comm / mine / a.repeats;
    wait_share += (s.wait_s() - w0) / mine / a.repeats;
  }
  std::sort(rates.begin(), rates.end());
  if (pg.rank() != 0) return;
  std::printf(
      "{\"name\": \"%s\", \"processes\": %d, \"threads\": %d, \"global_batch\": %lld, \"steps_per_s\": %.3f, "
      "\"best_steps_per_s\": %.3f, \"comm_share\": %.4f, \"wait_share\": %.4f, \"parameters\": %lld, \"steps\": %d, \"repeats\": %d}\n",
      name.c_str(), pg.size(), omp_get_max_threads(), static_cast<long long>(kGlobalBatch), rates[rates.size() / 2],
      rates.back(), comm_share, wait_share, static_cast<long long>(s.parameters), a.steps, a.repeats);
  std::fflush(stdout);
}

// This rank's rows of a fixed random global batch (the same numbers on every rank).
std::pair<Tensor, Tensor> local_batch(dist::ProcessGroup& pg) {
  Generator g(4);
  const Tensor x = rand({kGlobalBatch, 3, 28, 28}, {}, &g);
  const Tensor y = randint(0, 4, {kGlobalBatch}, kCPU, &g);
  const dist::Range mine = dist::shard(kGlobalBatch, pg.rank(), pg.size());
  return {x.narrow(0, mine.begin, mine.size()).contiguous(), y.narrow(0, mine.begin, mine.size()).contiguous()};
}

void classifier_bench(const std::string& name, const std::string& model_name, const Args& a) {
  auto pg = dist::init();
  manual_seed(1);
  auto model = nn::make_classifier(model_name);
  std::unique_ptr<dist::DistributedDataParallel> ddp;
  if (pg->size() > 1) ddp = std::make_unique<dist::DistributedDataParallel>(model->parameters(), pg);
  nn::Adam adam(model->parameters(), {.lr = 1e-4});
  const auto [x, y] = local_batch(*pg);
  Stepper s{[&, x = x, y = y] {
              adam.zero_grad();
              nn::cross_entropy((*model)(x), y).backward();
              adam.step();
            },
            [&] { return ddp ? ddp->stats().wait_s + ddp->stats().pack_s : 0.0; },
            [&] { return ddp ? ddp->stats().wait_s : 0.0; },
            model->num_parameters()};
  report(name, a, s, *pg);
}

void gan_bench(const std::string& name, const Args& a) {
  auto pg = dist::init();
  gan::GanOptions opt = gan::budget_recipe();  // the flagship's GAN (num_fmaps 12)
  opt.log = nullptr;
  opt.group = pg;  // every rank takes the global batch and trains on its shard of it
  gan::CourseGanTrainer trainer(opt);
  Generator g(4);
  const Tensor x = rand({kGlobalBatch, 3, 28, 28}, {}, &g);
  const Tensor y = randint(0, 4, {kGlobalBatch}, kCPU, &g);
  const gan::CourseGan& gan = trainer.recipe;
  const auto comm = [](const std::unique_ptr<dist::DistributedDataParallel>& d) {
    return d ? d->stats().wait_s + d->stats().pack_s : 0.0;
  };
  const auto wait = [](const std::unique_ptr<dist::DistributedDataParallel>& d) { return d ? d->stats().wait_s : 0.0; };
  Stepper s{[&] { trainer.train_step(x, y); }, [&] { return comm(gan.ddp_g) + comm(gan.ddp_d); },
            [&] { return wait(gan.ddp_g) + wait(gan.ddp_d); },
            gan.models->generator->num_parameters() + gan.models->style_encoder->num_parameters() +
                gan.models->discriminator->num_parameters()};
  report(name, a, s, *pg);
}

int parse_int(const char* text, const char* flag) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (!end || *end || v < 0 || v > 1000000) {
    std::fprintf(stderr, "bench_dist: %s expects a count, got '%s'\n", flag, text);
    std::exit(2);
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  const std::vector<std::string> names{"dense_step", "cnn_step", "gan_step"};
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: bench_dist [--threads T] [--steps S] [--repeats R] [--warmup W] [--only a,b]\n");
      return 2;
    }
    const char* v = argv[++i];
    if (flag == "--threads") a.threads = parse_int(v, "--threads");
    else if (flag == "--steps") a.steps = std::max(1, parse_int(v, "--steps"));
    else if (flag == "--repeats") a.repeats = std::max(1, parse_int(v, "--repeats"));
    else if (flag == "--warmup") a.warmup = parse_int(v, "--warmup");
    else if (flag == "--only") {
      std::stringstream ss(v);
      for (std::string n; std::getline(ss, n, ',');) {
        if (std::find(names.begin(), names.end(), n) == names.end()) {
          std::fprintf(stderr, "bench_dist: unknown benchmark '%s' (dense_step, cnn_step, gan_step)\n", n.c_str());
          return 2;
        }
        a.only.insert(n);
      }
    } else {
      std::fprintf(stderr, "bench_dist: unknown argument '%s'\n", flag.c_str());
      return 2;
    }
  }
  if (a.threads > 0) omp_set_num_threads(a.threads);
  try {
    const auto want = [&](const char* n) { return a.only.empty() || a.only.count(n); };
    if (want("dense_step")) classifier_bench("dense_step", "dense", a);
    if (want("cnn_step")) classifier_bench("cnn_step", "cnn", a);
    if (want("gan_step")) gan_bench("gan_step", a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dist: %s\n", e.what());
    return 1;
  }
  return 0;
}
