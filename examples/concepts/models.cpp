// Step 1 of the concepts lesson: the two models whose concepts the later steps look for. The
// ColoredMNIST CNN's answer is known by construction (its class is the color, not the digit); the
// Fashion-MNIST VGG's is not, which is where a concept method has something to find.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "examples/concepts/steps.h"
#include "examples/lesson.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"

namespace lumen::concepts {

namespace fs = std::filesystem;

std::vector<std::int64_t> rows_of_class(const Tensor& labels, std::int64_t c, std::int64_t n, std::int64_t from,
                                        std::int64_t to) {
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  const std::int64_t end = to < 0 ? static_cast<std::int64_t>(y.size()) : std::min<std::int64_t>(to, y.size());
  std::vector<std::int64_t> rows;
  for (std::int64_t i = from; i < end && static_cast<std::int64_t>(rows.size()) < n; ++i)
    if (y[static_cast<std::size_t>(i)] == c) rows.push_back(i);
  return rows;
}

Tensor take_rows(const Tensor& t, const std::vector<std::int64_t>& rows) {
  return index_select(t, 0, tensor_from(rows, {static_cast<std::int64_t>(rows.size())}));
}

namespace {

// The VGG of the lesson: torchvision's vgg*_bn layout with one conv per block, sized for 28×28 inputs.
// features: 0 Conv 1 BN 2 ReLU 3 MaxPool | 4 Conv 5 BN 6 ReLU 7 MaxPool | 8 Conv 9 BN 10 ReLU 11 MaxPool.
const char* kVggConfig = "32,M,64,M,128,M;bn;avgpool=3;hidden=128;dropout=0.5";
nn::VggOptions vgg_options() {
  return nn::VggOptions{.config = {32, nn::kMaxPool, 64, nn::kMaxPool, 128, nn::kMaxPool}, .in_channels = 1,
                        .num_classes = 10, .batch_norm = true, .avgpool_size = 3, .hidden = 128, .dropout = 0.5};
}

// A kept model is reused only if it is this run's: the same model, seed, epochs and number of images.
void check_metadata(const std::string& path, const nn::Metadata& expected) {
  const char* op = "train_models";
  const nn::Metadata meta = nn::read_safetensors_metadata(path);
  for (const auto& [key, value] : expected) {
    const std::string& found = nn::metadata_text(op, meta, key, path);
    LUMEN_CHECK(found == value, op, "checkpoint '", path, "': metadata '", key, "' = '", found, "', expected '", value,
                "' for this run (--fresh retrains)");
  }
}

// model from path when it is this run's, else trained by `fit` and saved. Returns the training seconds.
template <typename Fit>
double trained_or_reused(nn::Module& model, const fs::path& path, const nn::Metadata& meta, bool fresh,
                         report::Report& r, Fit fit) {
  if (!fresh && fs::exists(path)) {
    check_metadata(path.string(), meta);
    nn::load(model, path.string());
    r.say("  reusing " + path.string());
    model.eval();
    return 0;
  }
  const double seconds = fit();
  nn::save(model, path.string(), meta);
  model.eval();
  return seconds;
}

double accuracy(nn::Module& model, const Tensor& images, const Tensor& labels, std::int64_t classes) {
  return lesson::normalise_rows(lesson::confusion_counts(model, images, labels, classes)).second;
}

}  // namespace

Lesson train_models(const Options& o, report::Report& r) {
  r.step("1. the models: a CNN on ColoredMNIST, a VGG on Fashion-MNIST");
  Lesson l;
  l.o = o;
  const nn::MnistSplit split = nn::split_mnist(nn::load_mnist((fs::path(o.data_dir) / "mnist").string()));
  l.colored_train = nn::make_colored_mnist(split.train, o.seed);
  l.colored_test = nn::make_colored_mnist(split.test, o.seed + 1);
  l.mnist_test = split.test;
  const std::string fashion_dir = (fs::path(o.data_dir) / "fashion-mnist").string();
  l.fashion_train = nn::load_fashion_mnist(fashion_dir, true);
  l.fashion_test = nn::load_fashion_mnist(fashion_dir, false);
  const std::int64_t n_train = std::min(o.fashion_train_images, l.fashion_train.size());
  l.fashion_train.images = l.fashion_train.images.narrow(0, 0, n_train).reshape({n_train, 1, 28, 28});
  l.fashion_train.labels = l.fashion_train.labels.narrow(0, 0, n_train);
  const std::int64_t n_test = std::min(o.fashion_test_images, l.fashion_test.size());
  l.fashion_test.images = l.fashion_test.images.narrow(0, 0, n_test).reshape({n_test, 1, 28, 28});
  l.fashion_test.labels = l.fashion_test.labels.narrow(0, 0, n_test);
  l.fashion_mean = mean(l.fashion_train.images).item();
  l.fashion_std = std::sqrt(var(l.fashion_train.images, {}, /*correction=*/0).item());

  manual_seed(o.seed);
  l.cnn = std::make_shared<nn::ConvModel>();
  const std::string seed = std::to_string(o.seed);
  const double cnn_s = trained_or_reused(
      *l.cnn, fs::path(o.out_dir) / "cnn.safetensors",
      {{"model", "cnn"}, {"seed", seed}, {"epochs", std::to_string(o.cnn_epochs)}}, o.fresh, r, [&] {
        r.say("  ColoredMNIST CNN: the flagship's recipe (Adam 1e-4, batch 32, " + std::to_string(o.cnn_epochs) +
              " epochs)");
        return lesson::fit_classifier(*l.cnn, l.colored_train, {.epochs = o.cnn_epochs, .seed = o.seed});
      });
  manual_seed(o.seed);
  l.vgg = std::make_shared<nn::VGG>(vgg_options());
  const double vgg_s = trained_or_reused(
      *l.vgg, fs::path(o.out_dir) / "fashion_vgg.safetensors",
      {{"model", "vgg"}, {"config", kVggConfig}, {"seed", seed}, {"epochs", std::to_string(o.fashion_epochs)},
       {"train_images", std::to_string(n_train)}},
      o.fresh, r, [&] {
        r.say("  Fashion-MNIST VGG: Adam 2e-3 annealed to 0 (cosine), batch 64, " + std::to_string(o.fashion_epochs) +
              " epochs on " + std::to_string(n_train) + " images");
        return lesson::fit_classifier(*l.vgg, l.fashion_input(l.fashion_train.images), l.fashion_train.labels,
                                      {.epochs = o.fashion_epochs, .batch_size = 64, .lr = 2e-3, .seed = o.seed,
                                       .cosine = true});
      });
  l.fashion = std::make_shared<RawPixels>(l.vgg, l.fashion_mean, l.fashion_std);
  l.fashion->eval();
  r.number({"models", "train_seconds"}, cnn_s + vgg_s, "%.1f", " s");
  const std::string cnn_acc = r.number(
      {"models", "cnn_accuracy"},
      accuracy(*l.cnn, l.colored_test.images, l.colored_test.labels, nn::kColoredMnistClasses), "%.4f");
  const std::string vgg_acc = r.number(
      {"models", "vgg_accuracy"}, accuracy(*l.vgg, l.fashion_input(l.fashion_test.images), l.fashion_test.labels, 10),
      "%.4f");
  r.say("  test accuracy: ColoredMNIST CNN " + cnn_acc + " (" + std::to_string(l.colored_test.size()) +
        " images), Fashion-MNIST VGG " + vgg_acc + " (" + std::to_string(l.fashion_test.size()) + " images)");
  l.gen = Generator(o.seed + 1000);

  r.heading("1. Two models, one whose answer is known");
  r.paragraph(
      "<b>ColoredMNIST</b>: every MNIST digit is tinted with a color drawn from one of four matplotlib colormaps "
      "(spring, summer, autumn, winter) and the class is the colormap, so a faithful concept method must find "
      "<i>color</i>, never the digit's shape. The model is the flagship's small CNN (<code>features</code>: "
      "Conv(3→16) ReLU MaxPool, Conv(16→32) ReLU MaxPool; <code>classifier</code>: Linear(1568→64) ReLU Linear(64→4)), "
      "test accuracy <b>" + cnn_acc + "</b>. <b>Fashion-MNIST</b>: a VGG built like torchvision's "
      "<code>vgg*_bn</code> with one Conv(3×3) BatchNorm ReLU MaxPool block of 32, 64 and 128 channels, trained on " +
      std::to_string(n_train) + " images, test accuracy <b>" + vgg_acc + "</b>. Layers read by the concept steps: " +
      kCnnLayers[0].name + ", " + kCnnLayers[1].name + ", " + kCnnLayers[2].name + " of the CNN and " +
      kVggLayers[0].name + ", " + kVggLayers[1].name + ", " + kVggLayers[2].name + " of the VGG (the pooled output "
      "of each block).");
  return l;
}

}  // namespace lumen::concepts
