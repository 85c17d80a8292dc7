// Training-step benchmarks of the course's classifiers (nn/models.h): the same work as
// bench/torch_nn.py, timed the same way, so that scripts/bench_nn.sh can put lumen and PyTorch side
// by side.
//
//   dense_train_step  DenseModel (2352-256-120-84-4 MLP)   one step: forward, cross-entropy,     steps/s
//   conv_train_step   ConvModel (2 conv + 2 linear)        backward, Adam (lr 1e-4) update
//
// Both on a fixed batch of 32 random images [32, 3, 28, 28] in [0, 1] with random labels 0..3, in
// float32. The command line, the timing protocol and the JSON lines are bench/harness.h's.
//
// Usage: bench_nn [--threads N] [--min-time S] [--repeats R] [--warmup W] [--only a,b]
#include <functional>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/random.h"
#include "bench/harness.h"
#include "nn/losses.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "gan/training.h"
#include "xai/gradient.h"
#include "xai/perturbation.h"

using namespace lumen;

namespace {

using bench::Args;
using bench::emit;
using bench::measure;
using bench::Result;

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
  emit(bench_name, "throughput", 1.0 / r.median_s, "steps/s", true, r, args,
       {{"loss_start", loss_start}, {"loss_end", loss_end}});
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
  emit(bench_name, "throughput", 8.0 / r.median_s, "images/s", true, r, args, {{"checksum", attr.abs().sum().item()}});
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
  emit(bench_name, "throughput", 1.0 / r.median_s, "steps/s", true, r, args, {{"cycle_loss", last.cycle}});
}

}  // namespace

int main(int argc, char** argv) {
  auto train = [](std::string name, std::string model) -> bench::Benchmark {
    return {name, [=](const Args& args) { bench_train_step(name, model, args); }};
  };
  auto attribution = [](std::string name, std::string what, std::string model) -> bench::Benchmark {
    return {name, [=](const Args& args) { bench_attribution(name, what, model, args); }};
  };
  const std::vector<bench::Benchmark> benchmarks = {
      train("dense_train_step", "dense"),
      train("conv_train_step", "cnn"),
      attribution("ig_dense", "ig", "dense"),
      attribution("ig_conv", "ig", "cnn"),
      attribution("occlusion_dense", "occlusion", "dense"),
      attribution("occlusion_conv", "occlusion", "cnn"),
      {"gan_step", [](const Args& args) { bench_gan_step("gan_step", args); }},
  };
  return bench::run("bench_nn", bench::parse_args(argc, argv, "bench_nn", benchmarks), benchmarks);
}
