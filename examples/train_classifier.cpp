// Lesson 1 of the DL@MBL course's knowledge-extraction exercise (Deep Learning @ the Marine
// Biological Laboratory, Funke lab): train a classifier on ColoredMNIST, whose label is the color of
// the digit (spring, summer, autumn, winter), not the digit. The later lessons ask this model *why*
// it decides as it does; here we only make sure it decides well.
//
// Recipe (the exercise's): the 8,000 training digits of data/mnist colored with --seed, the 2,000
// held-out digits colored with --seed + 1 as the test set; Adam lr 1e-4, batch 32, 10 epochs,
// cross-entropy. Writes to --out: confusion.png, samples.png, model.safetensors, summary.json, index.html.
//
//   build/examples/train_classifier                     # DenseModel, the default recipe
//   build/examples/train_classifier --model cnn --epochs 3
//   mpirun -np 2 build/examples/train_classifier --threads 1   # data parallel: the same model, 2 processes
//
// Under mpirun (or with --distributed) every rank trains on its half of each batch of --batch-size
// images and DDP averages the gradients (dist/ddp.h): the model equals the single-process one up to
// float rounding. The test images are split across the ranks and the counts summed; rank 0 writes.
#include <omp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/process_group.h"
#include "examples/cli.h"
#include "examples/lesson.h"
#include "examples/report.h"
#include "figures/grid.h"
#include "figures/plot.h"
#include "nn/checkpoint.h"
#include "nn/colored_mnist.h"
#include "nn/dataloader.h"
#include "nn/losses.h"
#include "nn/mnist.h"
#include "nn/models.h"
#include "nn/optim.h"

using namespace lumen;
namespace fs = std::filesystem;

namespace {

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
  bool distributed = false;

  CLI::App app{"Train the classifier of the DL@MBL knowledge-extraction exercise on ColoredMNIST (the label is the "
               "digit's color)"};
  app.add_option("--data", data_dir, "data directory holding mnist/ (made by scripts/get_data.sh)")
      ->capture_default_str();
  app.add_option("--model", model_name, "dense (the exercise's MLP) or cnn (a small CNN for Grad-CAM)")
      ->check(CLI::IsMember({"dense", "cnn"}))
      ->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the 8,000 training images")->check(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "images per Adam step")->check(cli::integer(1, 8000))
      ->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")->check(cli::positive(10))->capture_default_str();
  app.add_option("--seed", seed, "seeds the weights, the shuffling and the training colors (test: seed + 1)")
      ->check(cli::seed())->capture_default_str();
  app.add_option("--out", out_dir, "where the PNGs, the checkpoint and summary.json go (created; checked first)")
      ->capture_default_str();
  app.add_option("--threads", threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->check(cli::threads())
      ->capture_default_str();
  app.add_flag("--distributed", distributed,
               "data parallel over MPI (on when started by mpirun): each rank trains on its share of every batch");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) omp_set_num_threads(threads);
  int rank = 0, ranks = 1;
  try {
    distributed = distributed || dist::launched_by_mpi();
    if (distributed) {
      const auto pg = dist::init({.backend = dist::Backend::mpi});
      rank = pg->rank(), ranks = pg->size();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_classifier: %s\n", e.what());
    return 1;
  }
  // Rank 0 alone writes; a rank that fails here ends, and mpirun ends the others.
  if (rank == 0 && !cli::prepare_output_dir("train_classifier", out_dir)) return 1;  // not after training

  const fs::path mnist_dir = fs::path(data_dir) / "mnist";
  if (!fs::exists(mnist_dir / "train-images-idx3-ubyte.gz") && !fs::exists(mnist_dir / "train-images-idx3-ubyte")) {
    std::fprintf(stderr, "train_classifier: no MNIST in %s; scripts/get_data.sh makes it (then rerun)\n",
                 mnist_dir.c_str());
    return 1;
  }

  try {
    // ---- data: the fixed 8,000 / 2,000 split, colored with different seeds
    report::Report r(rank == 0 ? out_dir : "", "The ColoredMNIST classifier",
                     "<p>Trained by <code>examples/train_classifier</code> (lumen) in this run, with the recipe of the "
                     "DL@MBL knowledge-extraction exercise.</p>\n");
    const nn::MnistSplit split = nn::split_mnist(nn::load_mnist(mnist_dir.string()));
    const nn::ColoredMnist train = nn::make_colored_mnist(split.train, seed);
    const nn::ColoredMnist test = nn::make_colored_mnist(split.test, seed + 1);
    if (rank == 0)
      r.say("ColoredMNIST: " + std::to_string(train.size()) + " training and " + std::to_string(test.size()) +
            " test images [3, 28, 28], 4 color classes; " + std::to_string(omp_get_max_threads()) + " thread(s)" +
            (distributed ? " in each of " + std::to_string(ranks) + " processes (data parallel over MPI)" : ""));

    // ---- model, optimizer, batches
    manual_seed(seed);
    std::shared_ptr<nn::Module> model = nn::make_classifier(model_name);
    if (rank == 0) r.say(model->type_name() + ": " + std::to_string(model->num_parameters()) + " parameters");
    const double train_s = lesson::fit_classifier(
        *model, train, {.epochs = epochs, .batch_size = batch_size, .lr = lr, .seed = seed, .distributed = distributed});
    const double images_per_s = static_cast<double>(epochs) * train.size() / train_s;

    // ---- evaluation: accuracy and the row-normalised confusion matrix
    const auto [normalised, accuracy] = lesson::normalise_rows(lesson::confusion_counts(*model, test.images, test.labels, nn::kColoredMnistClasses, distributed));
    if (rank != 0) return cli::finish("train_classifier");  // rank 0 reports and writes
    const std::int64_t k = nn::kColoredMnistClasses;
    const auto hits = static_cast<std::int64_t>(std::round(accuracy * static_cast<double>(test.size())));
    r.text({"model"}, model_name);
    const std::string acc = r.number({"accuracy"}, accuracy, "%.4f");
    const std::string secs = r.number({"seconds"}, train_s, "%.2f", " s");
    const std::string rate = r.number({"images_per_s"}, images_per_s, "%.0f", " images/s");
    r.count({"epochs"}, epochs);
    r.count({"batch_size"}, batch_size);
    r.number({"lr"}, lr, "%g");
    r.seed({"seed"}, seed);
    r.count({"threads"}, omp_get_max_threads());
    r.count({"processes"}, ranks);
    r.say("\ntrained " + std::to_string(epochs) + " epochs in " + secs + " (" + rate + "); test accuracy " + acc + " (" +
          std::to_string(hits) + "/" + std::to_string(test.size()) + ")\n");
    r.say("confusion matrix " + lesson::matrix_text(normalised, "true class", "predicted") + "\n");

    // ---- outputs
    r.paragraph("The " + model->type_name() + " (" + std::to_string(model->num_parameters()) + " parameters), trained " +
                std::to_string(epochs) + " epochs in " + secs + " (" + rate + "), reaches a test accuracy of <b>" + acc +
                "</b>. Row-normalised confusion matrix (rows: true class):");
    r.figure("confusion.png", figures::render_confusion_matrix(tensor(normalised, {k, k}), lesson::kShortClassNames),
             "confusion matrix");
    r.paragraph("Training images, one row per class (spring, summer, autumn, winter):");
    r.figure("samples.png", sample_grid(train, 8), "samples");
    nn::save(*model, (r.out_dir() / "model.safetensors").string(),
             {{"model", model_name}, {"accuracy", acc}, {"seed", std::to_string(seed)},
              {"epochs", std::to_string(epochs)}, {"dataset", "ColoredMNIST: train seed, test seed + 1"}});
    r.headline("model", {"model"});
    r.headline("test accuracy", {"accuracy"});
    r.headline("training time", {"seconds"});
    r.write();
    r.say("wrote " + out_dir + "/{confusion.png, samples.png, model.safetensors, summary.json, index.html}");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_classifier: %s\n", e.what());
    return 1;
  }
  return cli::finish("train_classifier");
}
