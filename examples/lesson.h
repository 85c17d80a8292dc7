#pragma once
// What the lesson binaries share: a progress bar, the classifier training loop of the DL@MBL course's
// knowledge-extraction exercise, its evaluation, and the confusion matrix as text. Header-only; the
// reports the lessons write (console, summary.json, index.html) are examples/report.h's.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/ddp.h"
#include "dist/process_group.h"
#include "nn/colored_mnist.h"
#include "nn/dataloader.h"
#include "nn/losses.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace lumen::lesson {

inline const char* kClassNames[nn::kColoredMnistClasses] = {"spring", "summer", "autumn", "winter"};
// Short enough for a confusion matrix's cells.
inline const std::vector<std::string> kShortClassNames{"spr", "sum", "aut", "win"};

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One line, redrawn in place with '\r': "epoch 3/10 [#####.....] 120/250  loss 0.0213  acc 0.996  9811 img/s".
// When stderr is not a terminal (a log file, CI) only the finished line of each epoch is printed.
class ProgressBar {
 public:
  // shown = false: draws nothing (the ranks of a data-parallel job but rank 0).
  ProgressBar(int epoch, int epochs, std::int64_t steps, bool shown = true)
      : epoch_(epoch), epochs_(epochs), steps_(steps), shown_(shown) {}
  void update(std::int64_t step, double loss, double acc, std::int64_t images, bool done = false) {
    if (!shown_) return;
    const double dt = seconds_since(t0_);
    if (!done && (!tty_ || dt - last_ < 0.1)) return;  // redraw at most 10 times a second
    last_ = dt;
    const int width = 24, filled = static_cast<int>(width * step / steps_);
    std::fprintf(stderr, "\repoch %d/%d [%s%s] %lld/%lld  loss %.4f  acc %.3f  %.0f img/s", epoch_, epochs_,
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 static_cast<long long>(step), static_cast<long long>(steps_), loss, acc, images / std::max(dt, 1e-9));
    if (done) std::fprintf(stderr, "  %.2f s\n", dt);
    std::fflush(stderr);
  }

 private:
  int epoch_, epochs_;
  std::int64_t steps_;
  bool shown_;
  bool tty_ = isatty(fileno(stderr));
  double last_ = -1;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// A progress bar for any loop: "class visualisation [#####.....] 60/149  7.9 steps/s" (the rate's unit is
// `unit`), redrawn in place at most 10 times a second on a terminal; elsewhere only the finished line.
class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit = "steps")
      : label_(std::move(label)), unit_(std::move(unit)), total_(std::max<std::int64_t>(total, 1)) {}
  void update(std::int64_t done, const std::string& extra = "") {
    const double dt = seconds_since(t0_);
    const bool finished = done >= total_;
    if (!finished && (!tty_ || dt - last_ < 0.1)) return;
    last_ = dt;
    const int width = 24, filled = static_cast<int>(width * std::min(done, total_) / total_);
    std::fprintf(stderr, "\r  %s [%s%s] %lld/%lld  %.1f %s/s%s%s", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<long long>(done), static_cast<long long>(total_),
                 done / std::max(dt, 1e-9), unit_.c_str(), extra.empty() ? "" : "  ", extra.c_str());
    if (finished) std::fprintf(stderr, "  %.1f s\n", dt);
    std::fflush(stderr);
  }

 private:
  std::string label_, unit_;
  std::int64_t total_;
  bool tty_ = isatty(fileno(stderr));
  double last_ = -1;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// How many rows of logits have their largest value at the label.
inline std::int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  const std::vector<std::int64_t> pred = argmax(logits.detach(), 1).to_vector<std::int64_t>();
  const std::vector<std::int64_t> truth = labels.to_vector<std::int64_t>();
  std::int64_t hits = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) hits += pred[i] == truth[i];
  return hits;
}

struct FitOptions {
  int epochs = 10;
  std::int64_t batch_size = 32;
  double lr = 1e-4;
  std::uint64_t seed = 0;  // the shuffling
  bool cosine = false;     // anneal the lr to 0 over all the steps (cosine), instead of keeping it constant
  // Data parallel over dist::world() (under mpirun): each rank trains on its shard of every global
  // batch of batch_size rows, and DDP averages the gradients, so the model is the one a single process
  // would train with the same batch_size. The progress bar shows rank 0's shard.
  bool distributed = false;
};

// The exercise's recipe: Adam, cross-entropy, shuffled batches, a progress bar per epoch (and, as an
// option, a cosine learning-rate schedule). Returns the training time in seconds.
inline double fit_classifier(nn::Module& model, const Tensor& images, const Tensor& labels, const FitOptions& opt) {
  dist::ProcessGroup& pg = dist::world();
  const int ranks = opt.distributed ? pg.size() : 1, rank = opt.distributed ? pg.rank() : 0;
  dist::check_even_split("fit_classifier", "the batch", opt.batch_size, ranks);
  std::unique_ptr<dist::DistributedDataParallel> ddp;  // one process: no hooks at all
  if (ranks > 1) ddp = std::make_unique<dist::DistributedDataParallel>(model.parameters(), dist::init());
  nn::Adam adam(model.parameters(), {.lr = opt.lr});
  nn::DataLoader loader(images, labels, {.batch_size = opt.batch_size / ranks, .shuffle = true, .seed = opt.seed,
                                         .num_replicas = ranks, .rank = rank});
  nn::CosineAnnealingLR schedule(adam, std::max<std::int64_t>(1, opt.epochs * loader.size()));
  model.train();
  const auto t0 = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    ProgressBar bar(epoch, opt.epochs, loader.size(), rank == 0);
    double loss_sum = 0;
    std::int64_t seen = 0, correct = 0, step = 0;
    for (const nn::Batch& b : loader) {
      adam.zero_grad();
      Tensor logits = model(b.x);
      Tensor loss = nn::cross_entropy(logits, b.y);
      loss.backward();
      adam.step();
      if (opt.cosine) schedule.step();
      // Running statistics of the epoch, from the logits we already have (no extra forward pass).
      const std::int64_t n = b.y.size(0);
      loss_sum += loss.item() * static_cast<double>(n);
      correct += count_correct(logits, b.y);
      seen += n;
      ++step;
      bar.update(step, loss_sum / seen, static_cast<double>(correct) / seen, seen, step == loader.size());
    }
  }
  model.eval();
  return seconds_since(t0);
}
inline double fit_classifier(nn::Module& model, const nn::ColoredMnist& train, const FitOptions& opt) {
  return fit_classifier(model, train.images, train.labels, opt);
}

// counts[true][predicted] over (images, labels), in batches without recording a graph. The model
// is left in eval mode. distributed: each rank of dist::world() counts its share of the images and the
// counts are summed over the ranks (every rank gets the totals).
inline std::vector<std::vector<double>> confusion_counts(nn::Module& model, const Tensor& images, const Tensor& labels,
                                                         std::int64_t k = nn::kColoredMnistClasses,
                                                         bool distributed = false) {
  autograd::NoGradGuard no_grad;
  model.eval();
  dist::ProcessGroup& pg = dist::world();
  const dist::Range mine = distributed ? dist::shard(labels.size(0), pg.rank(), pg.size())
                                       : dist::Range{0, labels.size(0)};
  const std::int64_t batch = 500;
  std::vector<double> flat(static_cast<std::size_t>(k * k), 0.0);
  for (std::int64_t s = mine.begin; s < mine.end; s += batch) {
    const std::int64_t b = std::min(batch, mine.end - s);
    const auto pred = argmax(model(images.narrow(0, s, b)), 1).to_vector<std::int64_t>();
    const auto truth = labels.narrow(0, s, b).to_vector<std::int64_t>();
    for (std::int64_t i = 0; i < b; ++i) flat[static_cast<std::size_t>(truth[static_cast<std::size_t>(i)] * k +
                                                                      pred[static_cast<std::size_t>(i)])] += 1;
  }
  if (distributed && pg.size() > 1) {
    Tensor t = tensor(flat, {}, {.dtype = DType::float64});
    pg.all_reduce(t);
    flat = t.to_vector<double>();
  }
  std::vector<std::vector<double>> counts(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < k; ++i)
    counts[static_cast<std::size_t>(i)].assign(flat.begin() + i * k, flat.begin() + (i + 1) * k);
  return counts;
}

// Row-normalised copy (each row sums to 1; an empty row stays 0), flattened row-major, and the
// trace over the total (the accuracy).
inline std::pair<std::vector<double>, double> normalise_rows(const std::vector<std::vector<double>>& counts) {
  std::vector<double> out;
  double hits = 0, total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    double row = 0;
    for (double v : counts[i]) row += v;
    hits += counts[i][i];
    total += row;
    for (double v : counts[i]) out.push_back(row > 0 ? v / row : 0.0);
  }
  return {out, total > 0 ? hits / total : 0.0};
}

// A row-normalised K×K matrix with the class names, as lines of text (the first says what rows and
// columns are; no newline at the end).
inline std::string matrix_text(const std::vector<double>& m, const char* rows_are, const char* cols_are) {
  const std::size_t k = nn::kColoredMnistClasses;
  std::string s = std::string("(rows: ") + rows_are + ", columns: " + cols_are + "; each row sums to 1)\n        ";
  char cell[32];
  for (const char* name : kClassNames) std::snprintf(cell, sizeof cell, " %7s", name), s += cell;
  for (std::size_t i = 0; i < k; ++i) {
    std::snprintf(cell, sizeof cell, "\n%8s", kClassNames[i]);
    s += cell;
    for (std::size_t j = 0; j < k; ++j) std::snprintf(cell, sizeof cell, " %7.4f", m[i * k + j]), s += cell;
  }
  return s;
}

}  // namespace lumen::lesson
