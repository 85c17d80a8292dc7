#pragma once
// Mini-batches over a dataset held in memory as tensors: x [N, ...] and optionally y [N, ...].
// Each pass over the loader is one epoch:
//
//   DataLoader loader(images, labels, {.batch_size = 64, .seed = 1});
//   for (int epoch = 0; epoch < 5; ++epoch)
//     for (const Batch& b : loader) train_step(b.x, b.y);   // b.x [64, 28, 28], b.y [64]
//
// With shuffle on, each epoch's order is a fresh randperm from the loader's own Generator, so the
// sequence of epochs is the same on every run with the same seed, and differs from epoch to epoch.
// With num_replicas > 1 each rank iterates over its own shard (nn/sampler.h).
// Batches are new contiguous CPU tensors (rows copied with memcpy), safe to keep after the loop.
#include <cstdint>
#include <iterator>

#include "autograd/random.h"
#include "autograd/tensor.h"
#include "nn/sampler.h"

namespace lumen::nn {

struct Batch {
  Tensor x;
  Tensor y;  // undefined when the loader has no targets
  Tensor indices;  // int64 [B]: which samples of the dataset these rows are
};

struct DataLoaderOptions {
  std::int64_t batch_size = 64;  // rows per batch of this rank (data parallel: the global batch / ranks)
  bool shuffle = true;
  bool drop_last = false;  // drop the last, smaller batch instead of yielding it
  std::uint64_t seed = 0;
  // Data parallelism: this rank's shard of every epoch (nn/sampler.h: DistributedSampler, which also
  // states the padding rule). One replica: the whole data set.
  std::int64_t num_replicas = 1;
  std::int64_t rank = 0;
};

class DataLoader {
 public:
  // x and y stay shared (not copied); they must be CPU tensors with the same size(0).
  DataLoader(Tensor x, Tensor y, DataLoaderOptions opt = {});
  explicit DataLoader(Tensor x, DataLoaderOptions opt = {}) : DataLoader(std::move(x), Tensor(), opt) {}

  std::int64_t num_samples() const { return n_; }  // of the whole data set
  std::int64_t samples_per_epoch() const { return sampler_.num_samples(); }  // this rank's
  std::int64_t size() const;  // batches per epoch
  std::int64_t epochs_started() const { return epoch_; }

  // Starts the next epoch: draws its order. begin() does this, so every range-for is one epoch.
  void start_epoch();
  // Batch i (0 <= i < size()) of the current epoch.
  Batch batch(std::int64_t i) const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Iterator(const DataLoader* loader, std::int64_t i) : loader_(loader), i_(i) {
      if (loader_ && i_ < loader_->size()) current_ = loader_->batch(i_);
    }
    const Batch& operator*() const { return current_; }
    const Batch* operator->() const { return &current_; }
    Iterator& operator++() {
      if (++i_ < loader_->size()) current_ = loader_->batch(i_);
      return *this;
    }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }

   private:
    const DataLoader* loader_;
    std::int64_t i_;
    Batch current_;
  };
  Iterator begin() {
    start_epoch();
    return Iterator(this, 0);
  }
  Iterator end() const { return Iterator(nullptr, size()); }

 private:
  Tensor gather_rows(const Tensor& src, const std::int64_t* rows, std::int64_t count) const;

  Tensor x_, y_;
  DataLoaderOptions opt_;
  std::int64_t n_ = 0;
  std::int64_t epoch_ = 0;
  DistributedSampler sampler_;
  Tensor order_;  // int64 [samples_per_epoch()]: the current epoch's sample order
};

}  // namespace lumen::nn
