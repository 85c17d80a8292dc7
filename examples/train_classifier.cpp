// Lesson 1 of the knowledge-extraction course: train a classifier on ColoredMNIST, whose label is the
// color of the digit (spring, summer, autumn, winter), not the digit. The later lessons ask this model
// *why* it decides as it does; here we only make sure it decides well.
//
// Recipe (the course's): the 8,000 training digits of data/mnist colored with --seed, the 2,000
// held-out digits colored with --seed + 1 as the test set; Adam lr 1e-4, batch 32, 10 epochs,
// cross-entropy. Writes to --out: confusion.png, samples.png, model.safetensors, summary.json.
//
//   build/examples/train_classifier                     # DenseModel, the default recipe
//   build/examples/train_classifier --model cnn --epochs 3
#include <omp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/checkpoint.h"
#include "nn/colored_mnist.h"
#include "nn/dataloader.h"
#include "nn/losses.h"
#include "nn/mnist.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "figures/grid.h"
#include "figures/plot.h"
#include "figures/png.h"
#include "examples/lesson.h"

using namespace lumen;
namespace fs = std::filesystem;

namespace {

using lesson::kClassNames;

// samples_per_class training images of each class, one row per class.
Tensor sample_grid(const nn::ColoredMnist& data, std::int64_t samples_per_class) {
  const std::vector<std::int64_t> labels = data.labels.to_vector<std::int64_t>();
  std::vector<Tensor> rows;
  for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c) {
    std::int64_t found = 0;
    for (std::size_t i = 0; i < labels.size() && found < samples_per_class; ++i) {
      if (labels[i] != c) continue;
      rows.push_back(data.images.select(0, static_cast<std::int64_t>(i)));
      ++found;
    }
  }
  return figures::upscale(figures::make_grid(stack(rows), samples_per_class, 2, 1.0), 2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "data", model_name = "dense", out_dir = "out/classifier";
  int epochs = 10, threads = 0;
  std::int64_t batch_size = 32;
  double lr = 1e-4;
  std::uint64_t seed = 0;

  CLI::App app{"Train the course's classifier on ColoredMNIST (the label is the digit's color)"};
  app.add_option("--data", data_dir, "data directory holding mnist/ (made by scripts/get_data.sh)")
      ->capture_default_str();
  app.add_option("--model", model_name, "dense (the course's MLP) or cnn (a small CNN for Grad-CAM)")
      ->check(CLI::IsMember({"dense", "cnn"}))
      ->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the 8,000 training images")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "images per Adam step")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "seeds the weights, the shuffling and the training colors (test: seed + 1)")
      ->capture_default_str();
  app.add_option("--out", out_dir, "where the PNGs, the checkpoint and summary.json go")->capture_default_str();
  app.add_option("--threads", threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) omp_set_num_threads(threads);

  const fs::path mnist_dir = fs::path(data_dir) / "mnist";
  if (!fs::exists(mnist_dir / "train-images-idx3-ubyte.gz") && !fs::exists(mnist_dir / "train-images-idx3-ubyte")) {
    std::fprintf(stderr, "train_classifier: no MNIST in %s; scripts/get_data.sh makes it (then rerun)\n",
                 mnist_dir.c_str());
    return 1;
  }

  try {
    // ---- data: the fixed 8,000 / 2,000 split, colored with different seeds
    const nn::MnistSplit split = nn::split_mnist(nn::load_mnist(mnist_dir.string()));
    const nn::ColoredMnist train = nn::make_colored_mnist(split.train, seed);
    const nn::ColoredMnist test = nn::make_colored_mnist(split.test, seed + 1);
    std::printf("ColoredMNIST: %lld training and %lld test images [3, 28, 28], 4 color classes; %d thread(s)\n",
                static_cast<long long>(train.size()), static_cast<long long>(test.size()), omp_get_max_threads());

    // ---- model, optimizer, batches
    manual_seed(seed);
    std::shared_ptr<nn::Module> model = nn::make_classifier(model_name);
    std::printf("%s: %lld parameters\n", model->type_name().c_str(), static_cast<long long>(model->num_parameters()));
    const double train_s = lesson::fit_classifier(*model, train, {.epochs = epochs, .batch_size = batch_size,
                                                                   .lr = lr, .seed = seed});
    const double images_per_s = static_cast<double>(epochs) * train.size() / train_s;

    // ---- evaluation: accuracy and the row-normalised confusion matrix
    const auto [normalised, accuracy] = lesson::normalise_rows(lesson::confusion_counts(*model, test.images, test.labels));
    const std::int64_t k = nn::kColoredMnistClasses;
    const double hits = std::round(accuracy * static_cast<double>(test.size()));
    std::printf("\ntrained %d epochs in %.2f s (%.0f images/s); test accuracy %.4f (%lld/%lld)\n\n", epochs, train_s,
                images_per_s, accuracy, static_cast<long long>(hits), static_cast<long long>(test.size()));
    std::printf("confusion matrix ");
    lesson::print_matrix(normalised, "true class", "predicted");
    std::printf("\n");

    // ---- outputs
    fs::create_directories(out_dir);
    const fs::path out(out_dir);
    figures::save_png((out / "confusion.png").string(),
                      figures::render_confusion_matrix(tensor(normalised, {k, k}), {"spr", "sum", "aut", "win"}));
    figures::save_png((out / "samples.png").string(), sample_grid(train, 8));
    char acc_str[32];
    std::snprintf(acc_str, sizeof acc_str, "%.4f", accuracy);
    nn::save(*model, (out / "model.safetensors").string(),
             {{"model", model_name}, {"accuracy", acc_str}, {"seed", std::to_string(seed)},
              {"epochs", std::to_string(epochs)}, {"dataset", "ColoredMNIST: train seed, test seed + 1"}});
    char json[512];
    std::snprintf(json, sizeof json,
                  "{\"model\": \"%s\", \"accuracy\": %.4f, \"seconds\": %.3f, \"images_per_s\": %.1f, \"epochs\": %d, "
                  "\"batch_size\": %lld, \"lr\": %g, \"seed\": %llu, \"threads\": %d}\n",
                  model_name.c_str(), accuracy, train_s, images_per_s, epochs, static_cast<long long>(batch_size), lr,
                  static_cast<unsigned long long>(seed), omp_get_max_threads());
    std::ofstream(out / "summary.json") << json;
    std::printf("wrote %s/{confusion.png, samples.png, model.safetensors, summary.json}\n", out_dir.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_classifier: %s\n", e.what());
    return 1;
  }
  return 0;
}
