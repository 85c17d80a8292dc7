// Training-step benchmarks of the course's classifiers (nn/models.h): the same work as
// bench/torch_nn.py, timed the same way, so that scripts/bench_nn.sh can put lumen and PyTorch side
// by side.
//
//   dense_train_step  DenseModel (2352-256-120-84-4 MLP)   one step: forward, cross-entropy,     steps/s
//   conv_train_step   ConvModel (2 conv + 2 linear)        backward, Adam (lr 1e-4) update
//
// Both on a fixed batch of 32 random images [32, 3, 28, 28] in [0, 1] with random labels 0..3, in
// float32. Then attribution (IG, occlusion), the course's GAN step, and examples/global_local's
// methods on its small VGG: MC dropout (T = 100 passes over 100 images, images/s) and class model
// visualisation (10 classes, 20 steps, steps/s); the TCAV pass (gradients of 1,000 images at one
// layer of ConvModel times 20 CAVs, images/s); examples/explain_text's text CNN: a training step
// (text_cnn_step) and IG over 16 sentences' embeddings (ig_text). The command line, the timing protocol and the JSON
// lines are bench/harness.h's.
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
#include "nn/text_models.h"
#include "nn/vgg.h"
#include "gan/training.h"
#include "xai/class_visualisation.h"
#include "xai/layer_gradients.h"
#include "xai/gradient.h"
#include "xai/perturbation.h"
#include "xai/uncertainty.h"

using namespace lumen;

namespace {

// As examples/global_local (the lesson may switch it; bench/torch_nn.py's LESSON_BATCH_NORM must follow).
constexpr bool kLessonBatchNorm = true;

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
       {{"loss_start", loss_start}, {"loss_end", loss_end}, {"params", static_cast<double>(model->num_parameters())}});
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
  emit(bench_name, "throughput", 8.0 / r.median_s, "images/s", true, r, args,
       {{"checksum", attr.abs().sum().item()}, {"params", static_cast<double>(model->num_parameters())}});
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
  const gan::GanModels& nets = *trainer.recipe.models;  // the trained networks, not their EMA copies
  emit(bench_name, "throughput", 1.0 / r.median_s, "steps/s", true, r, args,
       {{"cycle_loss", last.cycle},
        {"params_g", static_cast<double>(nets.generator->num_parameters())},
        {"params_e", static_cast<double>(nets.style_encoder->num_parameters())},
        {"params_d", static_cast<double>(nets.discriminator->num_parameters())}});
}

// examples/global_local's VGG: two conv blocks (32, 64) on 1×28×28, avgpool 7, classifier 3136-256-256-10
// with dropout 0.5; seeded, in eval mode.
std::shared_ptr<nn::VGG> lesson_vgg() {
  manual_seed(3);
  // examples/global_local's fashion_vgg_options(): three Conv[BN] ReLU MaxPool blocks, classifier 1152-256-256-10.
  auto vgg = std::make_shared<nn::VGG>(nn::VggOptions{.config = {32, nn::kMaxPool, 64, nn::kMaxPool, 128, nn::kMaxPool},
                                                      .in_channels = 1,
                                                      .num_classes = 10,
                                                      .batch_norm = kLessonBatchNorm,
                                                      .avgpool_size = 3,
                                                      .hidden = 256,
                                                      .dropout = 0.5});
  vgg->eval();
  return vgg;
}

// MC dropout as the lesson does it: the features are deterministic, so they are computed once; the
// classifier then runs T = 100 times on them with only its Dropout layers active (one batched pass of
// T·100 rows), softmax → [T, 100, 10], then the uncertainty measures of those passes. images/s.
void bench_mc_dropout(const std::string& bench_name, const Args& args) {
  const std::shared_ptr<nn::VGG> vgg = lesson_vgg();
  Generator g(4);
  const Tensor x = rand({100, 1, 28, 28}, {}, &g);
  xai::UncertaintyMeasures u;
  auto step = [&] {
    autograd::NoGradGuard no_grad;
    u = xai::uncertainty_measures(xai::mc_dropout_probs(*vgg->classifier, vgg->embed(x), 100));
  };
  const Result r = measure(step, args);
  emit(bench_name, "throughput", 100.0 / r.median_s, "images/s", true, r, args,
       {{"checksum", u.total.sum().item()}, {"mi_sum", u.mutual_information.sum().item()}});
}

// Class model visualisation of the lesson's VGG (eval mode), one image per class 0..9, with the course
// recipe: lr 10 on the normalised image (Fashion-MNIST mean/std), clamp, 256 levels, blur σ = 1 every
// 5 steps; 20 steps per call. steps/s.
void bench_class_vis(const std::string& bench_name, const Args& args) {
  const std::shared_ptr<nn::VGG> vgg = lesson_vgg();
  const xai::ForwardFn f = xai::forward_of(*vgg);
  xai::ClassVisOptions opt;
  opt.steps = 20;
  opt.lr = 10.0;
  opt.blur_every = 5;
  opt.blur_sigma = 1.0;
  opt.mean = {0.2860};
  opt.std = {0.3530};
  opt.seed = 4;
  const xai::Target classes({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  xai::ClassVisResult res;
  const Result r = measure([&] { res = xai::class_model_visualisation(f, {1, 28, 28}, classes, opt); }, args);
  double first = 0, last = 0;  // mean target logit before and after: the ascent happened
  for (double v : res.logits.front()) first += v / 10.0;
  for (double v : res.logits.back()) last += v / 10.0;
  emit(bench_name, "throughput", static_cast<double>(opt.steps) / r.median_s, "steps/s", true, r, args,
       {{"logit_start", first}, {"logit_end", last}, {"checksum", res.images.sum().item()}});
}

// The TCAV pass: the directional derivatives of 1,000 images [1000, 3, 28, 28] along 20 CAVs at one
// layer: each image's gradient of the class-0 logit w.r.t. "features.4" (the ReLU after the second
// conv, 32·14·14 = 6272 per image) of a seeded ConvModel in eval mode, flattened to float64
// [1000, 6272], times 20 unit directions [6272, 20] (one matmul). images/s.
void bench_tcav(const std::string& bench_name, const Args& args) {
  manual_seed(3);
  std::shared_ptr<nn::Module> model = nn::make_classifier("cnn");
  model->eval();
  Generator g(4);
  const Tensor x = rand({1000, 3, 28, 28}, {}, &g);
  Tensor v = randn({32 * 14 * 14, 20}, {.dtype = DType::float64}, &g);
  v = v / v.pow(2).sum({0}, true).sqrt();
  Tensor s;
  const Result r = measure([&] { s = matmul(xai::layer_gradients(*model, "features.4", x, 0), v); }, args);
  emit(bench_name, "throughput", 1000.0 / r.median_s, "images/s", true, r, args,
       {{"checksum", s.abs().sum().item()}, {"positive", gt(s, 0.0).to(DType::float64).mean().item()}});
}

// examples/explain_text's text CNN (nn::TextCNN, widths 2, 3, 4 × 50) on a vocabulary of 5,000 with
// embeddings of 64, sentences of 40 token ids drawn from 2..4999 (no padding).
constexpr std::int64_t kTextVocab = 5000, kTextDim = 64, kTextLen = 40;

std::shared_ptr<nn::TextCNN> text_cnn() {
  manual_seed(3);
  return std::make_shared<nn::TextCNN>(nn::TextCNNOptions{.vocab_size = kTextVocab, .embedding_dim = kTextDim});
}

// One training step: batch 64, cross-entropy, AdamW (lr 1e-3), dropout on. steps/s.
void bench_text_cnn_step(const std::string& bench_name, const Args& args) {
  auto model = text_cnn();
  model->train();
  nn::AdamW opt(model->parameters(), {.lr = 1e-3});
  Generator g(4);
  const Tensor ids = randint(2, kTextVocab, {64, kTextLen}, kCPU, &g);
  const Tensor y = randint(0, 2, {64}, kCPU, &g);
  const Result r = measure([&] {
    opt.zero_grad();
    nn::cross_entropy((*model)(ids), y).backward();
    opt.step();
  }, args);
  model->eval();
  autograd::NoGradGuard ng;
  emit(bench_name, "throughput", 1.0 / r.median_s, "steps/s", true, r, args,
       {{"loss_end", nn::cross_entropy((*model)(ids), y).item()}});
}

// IG of the class-1 logit w.r.t. the embeddings of 16 sentences: 50 Gauss–Legendre steps, the <pad>
// embedding as baseline, all 800 rows in one pass. sentences/s.
void bench_ig_text(const std::string& bench_name, const Args& args) {
  auto model = text_cnn();
  model->eval();
  Generator g(4);
  const Tensor ids = randint(2, kTextVocab, {16, kTextLen}, kCPU, &g);
  const xai::ForwardFn f = [&](const Tensor& e) { return model->classify(e, {}); };
  Tensor attr;
  const Result r = measure([&] {
    Tensor x, baseline;
    {
      autograd::NoGradGuard ng;
      x = model->embed(ids);
      baseline = select(model->embedding->weight, 0, 0).detach();  // [D]: broadcast to every token
      baseline = expand(reshape(baseline, {1, kTextDim}), {kTextLen, kTextDim}).clone();
    }
    attr = xai::IntegratedGradients(f).attribute(x, 1, baseline, {.n_steps = 50});
  }, args);
  emit(bench_name, "throughput", 16.0 / r.median_s, "sentences/s", true, r, args, {{"checksum", attr.abs().sum().item()}});
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
      {"mc_dropout", [](const Args& args) { bench_mc_dropout("mc_dropout", args); }},
      {"class_vis", [](const Args& args) { bench_class_vis("class_vis", args); }},
      {"tcav", [](const Args& args) { bench_tcav("tcav", args); }},
      {"text_cnn_step", [](const Args& args) { bench_text_cnn_step("text_cnn_step", args); }},
      {"ig_text", [](const Args& args) { bench_ig_text("ig_text", args); }},
  };
  return bench::run("bench_nn", bench::parse_args(argc, argv, "bench_nn", benchmarks), benchmarks);
}
