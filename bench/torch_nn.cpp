// libtorch's column of scripts/bench_nn.sh: bench/torch_nn.py's benchmarks written against PyTorch's
// own C++ frontend (Debian's libtorch-dev 1.13), so that the table also shows PyTorch without the
// Python interpreter in the loop. Built only with -Dlibtorch=enabled (or auto, where libtorch is found).
//
//   dense_train_step  the course's MLP (Flatten, 2352-256-120-84-4, ReLUs)    one step: forward,   steps/s
//   conv_train_step   lumen's ConvModel (2 conv + 2 linear)                   cross-entropy, backward, Adam
//   ig_dense, ig_conv Integrated Gradients (50 Gauss-Legendre steps, zero baseline, class 1, one
//                     batched pass) on 8 images                                                   images/s
//   occlusion_dense/_conv  Occlusion (3x4x4 zero window, stride 4, 49 windows per pass)          images/s
//   gan_step          one step of the course's GAN (UNet depth 2, 64 fmaps, batch 32)              steps/s
//
// Each function mirrors its namesake in torch_nn.py line for line: the same modules built in the same
// order (so torch::manual_seed(3) draws the same initial weights as Python, and the same data from a
// generator seeded 4: loss_start equals torch_nn.py's), the same optimizer settings, gradients reset
// to none. The command line, the timing protocol and the JSON lines are bench/harness.h's; every line
// carries the parameter count(s), which scripts/bench_nn.sh compares with lumen's and Python's.
// Not ported (yet): mc_dropout, class_vis, tcav, text_cnn_step, ig_text.
//
// Usage: torch_nn_cpp [--threads N] [--min-time S] [--repeats R] [--warmup W] [--only a,b]
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "bench/harness.h"

namespace F = torch::nn::functional;
namespace nn = torch::nn;
using lumen::bench::Args;
using lumen::bench::emit;
using lumen::bench::measure;
using lumen::bench::Result;

namespace {

// The layers are appended one statement at a time: arguments of one call are evaluated in an
// unspecified order, and the order of construction is the order of the random draws.
void add_dense_layers(nn::Sequential& m, std::int64_t outputs) {
  m->push_back(nn::Flatten());
  m->push_back(nn::Linear(2352, 256));
  m->push_back(nn::ReLU());
  m->push_back(nn::Linear(256, 120));
  m->push_back(nn::ReLU());
  m->push_back(nn::Linear(120, 84));
  m->push_back(nn::ReLU());
  if (outputs != 4) nn::Linear(84, 4);  // torch_nn.py builds the 4-way head, then replaces it: same draws
  m->push_back(nn::Linear(84, outputs));
}

nn::Conv2d conv3x3(std::int64_t cin, std::int64_t cout) { return nn::Conv2d(nn::Conv2dOptions(cin, cout, 3).padding(1)); }

// torch_nn.py's make_model: "dense" (with `outputs` classes) or the small CNN. The CNN is one flat
// Sequential (libtorch cannot hold a Sequential in a Sequential): the same layers in the same order as
// Python's Sequential(features, classifier).
nn::Sequential make_model(const std::string& name, std::int64_t outputs = 4) {
  nn::Sequential model;
  if (name == "dense") {
    add_dense_layers(model, outputs);
    return model;
  }
  model->push_back(conv3x3(3, 16));
  model->push_back(nn::ReLU());
  model->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  model->push_back(conv3x3(16, 32));
  model->push_back(nn::ReLU());
  model->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  model->push_back(nn::Flatten());
  model->push_back(nn::Linear(32 * 7 * 7, 64));
  model->push_back(nn::ReLU());
  model->push_back(nn::Linear(64, 4));
  return model;
}

double count_params(const std::vector<torch::Tensor>& params) {
  double n = 0;
  for (const auto& p : params) n += static_cast<double>(p.numel());
  return n;
}

// opt.zero_grad(set_to_none=True): libtorch 1.13's Optimizer::zero_grad() only zeroes the gradients.
void zero_grad_to_none(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

// torch.Generator().manual_seed(seed): the generator of the benchmark's data.
at::Generator data_generator(std::uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>();
  g.set_current_seed(seed);
  return g;
}

void bench_train_step(const std::string& bench_name, const std::string& model_name, const Args& args) {
  torch::manual_seed(3);
  nn::Sequential model = make_model(model_name);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-4));
  at::Generator g = data_generator(4);
  const torch::Tensor x = torch::rand({32, 3, 28, 28}, g);
  const torch::Tensor y = torch::randint(0, 4, {32}, g);
  auto loss_now = [&] {
    torch::NoGradGuard no_grad;
    return F::cross_entropy(model->forward(x), y).item<double>();
  };
  auto step = [&] {
    zero_grad_to_none(opt);
    F::cross_entropy(model->forward(x), y).backward();
    opt.step();
  };
  const double loss_start = loss_now();
  const Result r = measure(step, args);
  const double loss_end = loss_now();
  emit(bench_name, "throughput", 1.0 / r.median_s, "steps/s", true, r, args,
       {{"loss_start", loss_start}, {"loss_end", loss_end}, {"params", count_params(model->parameters())}});
}

// numpy.polynomial.legendre.leggauss(n) mapped to [0, 1] (Captum's default IG rule): Newton's method
// on P_n from the usual first guesses, nodes ascending as numpy returns them.
std::pair<std::vector<double>, std::vector<double>> leggauss01(int n) {
  std::vector<double> nodes(n), weights(n);
  for (int i = 0; i < n; ++i) {
    double x = std::cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = x;  // P_{k-1}, P_k by the three-term recurrence
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1, p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1);
      const double dx = p1 / dp;
      x -= dx;
      if (std::abs(dx) < 1e-15) break;
    }
    nodes[n - 1 - i] = (x + 1) / 2;  // the guesses run from +1 down
    weights[n - 1 - i] = 1 / ((1 - x * x) * dp * dp);  // 2 / ((1 - x²) P_n'(x)²), halved for [0, 1]
  }
  return {nodes, weights};
}

// IG as Captum computes it, natively: every interpolation step in one batch, one autograd::grad.
torch::Tensor integrated_gradients(nn::Sequential& model, const torch::Tensor& x, std::int64_t target,
                                   std::int64_t n_steps = 50) {
  const auto [alphas, weights] = leggauss01(static_cast<int>(n_steps));
  const std::int64_t n = x.size(0);
  const torch::Tensor baseline = torch::zeros_like(x);
  const torch::Tensor a = torch::tensor(alphas).to(x.scalar_type()).repeat_interleave(n).view({-1, 1, 1, 1});
  const torch::Tensor path =
      (baseline.repeat({n_steps, 1, 1, 1}) + a * (x - baseline).repeat({n_steps, 1, 1, 1})).requires_grad_();
  const torch::Tensor score = model->forward(path).select(1, target).sum();
  const torch::Tensor grad = torch::autograd::grad({score}, {path})[0];
  const torch::Tensor w = torch::tensor(weights).to(x.scalar_type()).repeat_interleave(n).view({-1, 1, 1, 1});
  return (x - baseline) * (grad * w).view({n_steps, n, x.size(1), x.size(2), x.size(3)}).sum(0);
}

// Occlusion as Captum computes it: zero a 3 x window x window patch, score difference, averaged over
// the windows covering each pixel.
torch::Tensor occlusion(nn::Sequential& model, const torch::Tensor& x, std::int64_t target, std::int64_t window = 4,
                        std::int64_t stride = 4, std::size_t per_eval = 49) {
  torch::NoGradGuard no_grad;
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const torch::Tensor base = model->forward(x).select(1, target);
  torch::Tensor total = torch::zeros_like(x), count = torch::zeros_like(x);
  std::vector<std::pair<std::int64_t, std::int64_t>> spots;
  for (std::int64_t i = 0; i + window <= h; i += stride)
    for (std::int64_t j = 0; j + window <= w; j += stride) spots.emplace_back(i, j);
  for (std::size_t s = 0; s < spots.size(); s += per_eval) {
    const std::int64_t k_n = static_cast<std::int64_t>(std::min(per_eval, spots.size() - s));
    const torch::Tensor batch = x.repeat({k_n, 1, 1, 1});
    torch::Tensor masks = torch::zeros({k_n, 1, c, h, w}, x.options());
    for (std::int64_t k = 0; k < k_n; ++k) {
      const auto [i, j] = spots[s + k];
      masks.select(0, k).narrow(2, i, window).narrow(3, j, window).fill_(1);
    }
    masks = masks.expand({k_n, n, c, h, w}).reshape({-1, c, h, w});
    const torch::Tensor out = model->forward(batch * (1 - masks)).select(1, target).view({k_n, n});
    const torch::Tensor diff = (base.unsqueeze(0) - out).view({k_n, n, 1, 1, 1});
    const torch::Tensor m5 = masks.view({k_n, n, c, h, w});
    total += (diff * m5).sum(0);
    count += m5.narrow(1, 0, 1).sum(0);
  }
  return total / count.clamp_min(1);
}

void bench_attribution(const std::string& bench_name, const std::string& what, const std::string& model_name,
                       const Args& args) {
  torch::manual_seed(3);
  nn::Sequential model = make_model(model_name);
  model->eval();
  at::Generator g = data_generator(4);
  const torch::Tensor x = torch::rand({8, 3, 28, 28}, g);
  torch::Tensor attr;
  auto step = [&] { attr = what == "ig" ? integrated_gradients(model, x, 1) : occlusion(model, x, 1); };
  const Result r = measure(step, args);
  emit(bench_name, "throughput", 8.0 / r.median_s, "images/s", true, r, args,
       {{"checksum", attr.abs().sum().item<double>()}, {"params", count_params(model->parameters())}});
}

// The course's UNet as torch_nn.py's (gan/unet.cpp): depth 2, fmaps f then 2f, max-pool, nearest
// upsampling, skip concatenation, 1x1 output conv, sigmoid.
nn::Sequential conv_block(std::int64_t cin, std::int64_t cout) {
  nn::Sequential block;
  block->push_back(conv3x3(cin, cout));
  block->push_back(nn::ReLU());
  block->push_back(conv3x3(cout, cout));
  block->push_back(nn::ReLU());
  return block;
}

struct UNetImpl : nn::Module {
  // Members are initialised in declaration order: down, bottom, up, final, as Python's __init__.
  UNetImpl(std::int64_t cin, std::int64_t cout, std::int64_t fmaps = 64)
      : down(register_module("down", conv_block(cin, fmaps))),
        bottom(register_module("bottom", conv_block(fmaps, 2 * fmaps))),
        up(register_module("up", conv_block(3 * fmaps, fmaps))),
        final(register_module("final", nn::Conv2d(nn::Conv2dOptions(fmaps, cout, 1)))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor skip = down->forward(x);
    torch::Tensor h = bottom->forward(F::max_pool2d(skip, F::MaxPool2dFuncOptions(2)));
    h = F::interpolate(h, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
    h = up->forward(torch::cat({skip, h}, 1));
    return torch::sigmoid(final->forward(h));
  }

  nn::Sequential down, bottom, up;
  nn::Conv2d final;
};
TORCH_MODULE(UNet);

void set_requires_grad(nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.requires_grad_(on);
}

// One step of the course's GAN, as torch_nn.py's bench_gan_step (gan::CourseGan::train_step): G + style
// encoder (cycle L1 + adversarial CE, Adam 1e-4), D (1/2[CE(D(x), y) - CE(D(x_fake), y_t)], Adam 1e-5),
// EMA 0.999 of G and of the encoder.
void bench_gan_step(const std::string& bench_name, const Args& args) {
  // The EMA copies (Python: deepcopy, which draws nothing) are built before the seed and then
  // overwritten, so that the networks and the permutations see Python's random draws.
  UNet unet_ema(3 + 3, 3);
  nn::Sequential enc_ema = make_model("dense", 3);
  torch::manual_seed(3);
  UNet unet(3 + 3, 3);
  nn::Sequential enc = make_model("dense", 3);
  nn::Sequential disc = make_model("dense");
  const std::vector<std::pair<nn::Module*, nn::Module*>> ema_pairs = {{unet_ema.get(), unet.get()},
                                                                       {enc_ema.get(), enc.get()}};
  {
    torch::NoGradGuard no_grad;
    for (const auto& [ema, m] : ema_pairs) {
      const auto pe = ema->parameters(), p = m->parameters();
      for (std::size_t i = 0; i < p.size(); ++i) pe[i].copy_(p[i]);
    }
  }
  std::vector<torch::Tensor> g_params = unet->parameters();
  for (const auto& p : enc->parameters()) g_params.push_back(p);
  torch::optim::Adam opt_g(g_params, torch::optim::AdamOptions(1e-4));
  torch::optim::Adam opt_d(disc->parameters(), torch::optim::AdamOptions(1e-5));
  at::Generator g = data_generator(4);
  const torch::Tensor x = torch::rand({32, 3, 28, 28}, g);
  const torch::Tensor y = torch::randint(0, 4, {32}, g);
  double cycle_loss = 0;

  auto gen = [&](const torch::Tensor& img, const torch::Tensor& style) {
    return unet->forward(torch::cat({img, style.unsqueeze(2).unsqueeze(3).expand({-1, -1, 28, 28})}, 1));
  };
  auto step = [&] {
    const torch::Tensor perm = torch::randperm(32);
    const torch::Tensor x_t = x.index_select(0, perm), y_t = y.index_select(0, perm);
    set_requires_grad(*disc, false);
    zero_grad_to_none(opt_g);
    const torch::Tensor s_t = enc->forward(x_t), s_x = enc->forward(x);
    const torch::Tensor x_fake = gen(x, s_t);
    const torch::Tensor cycle = F::l1_loss(gen(x_fake, s_x), x);
    (cycle + F::cross_entropy(disc->forward(x_fake), y_t)).backward();
    opt_g.step();
    set_requires_grad(*disc, true);
    zero_grad_to_none(opt_d);
    const torch::Tensor d_real = F::cross_entropy(disc->forward(x), y);
    const torch::Tensor d_fake = F::cross_entropy(disc->forward(x_fake.detach()), y_t);
    (0.5 * (d_real - d_fake)).backward();
    opt_d.step();
    {
      torch::NoGradGuard no_grad;
      for (const auto& [ema, m] : ema_pairs) {
        const auto pe = ema->parameters(), p = m->parameters();
        for (std::size_t i = 0; i < p.size(); ++i) pe[i].mul_(0.999).add_(p[i], 0.001);
      }
    }
    cycle_loss = cycle.item<double>();
  };
  const Result r = measure(step, args);
  emit(bench_name, "throughput", 1.0 / r.median_s, "steps/s", true, r, args,
       {{"cycle_loss", cycle_loss},
        {"params_g", count_params(unet->parameters())},
        {"params_e", count_params(enc->parameters())},
        {"params_d", count_params(disc->parameters())}});
}

}  // namespace

int main(int argc, char** argv) {
  auto train = [](std::string name, std::string model) -> lumen::bench::Benchmark {
    return {name, [=](const Args& args) { bench_train_step(name, model, args); }};
  };
  auto attribution = [](std::string name, std::string what, std::string model) -> lumen::bench::Benchmark {
    return {name, [=](const Args& args) { bench_attribution(name, what, model, args); }};
  };
  const std::vector<lumen::bench::Benchmark> benchmarks = {
      train("dense_train_step", "dense"),
      train("conv_train_step", "cnn"),
      attribution("ig_dense", "ig", "dense"),
      attribution("ig_conv", "ig", "cnn"),
      attribution("occlusion_dense", "occlusion", "dense"),
      attribution("occlusion_conv", "occlusion", "cnn"),
      {"gan_step", [](const Args& args) { bench_gan_step("gan_step", args); }},
  };
  const Args args = lumen::bench::parse_args(argc, argv, "torch_nn_cpp", benchmarks);
  // As torch_harness.py's run(): intra-op threads as asked (OpenMP, and MKL where built with it), one
  // inter-op thread. OpenBLAS's own pool follows OPENBLAS_NUM_THREADS, which the script sets.
  if (args.threads > 0) torch::set_num_threads(args.threads);
  at::set_num_interop_threads(1);
  std::printf("{\"name\": \"info\", \"impl\": \"libtorch\", \"version\": \"%d.%d.%d\", \"threads\": %d, "
              "\"protocol\": \"median of %d runs, >= %gs timed, %d warm-up\"}\n",
              TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH, torch::get_num_threads(), args.repeats,
              args.min_time, args.warmup);
  std::fflush(stdout);
  return lumen::bench::run_selected("torch_nn_cpp", args, benchmarks);
}
