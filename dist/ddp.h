#pragma once
// Data-parallel training, as PyTorch's DistributedDataParallel. Every rank holds the whole model and
// trains on its own shard of each global batch; after backward() every rank's .grad() holds the mean
// of the ranks' gradients, so the same optimizer step keeps the replicas equal.
//
//   auto pg = dist::init();
//   dist::DistributedDataParallel ddp(model->parameters(), pg);   // broadcasts rank 0's weights
//   for (batch of this rank) { adam.zero_grad(); loss(model(x)).backward(); adam.step(); }
//
// How (the lesson): each parameter gets a post-accumulate gradient hook. Parameters are grouped into
// buckets of about bucket_mib MiB, in reverse order of registration, which is roughly the order in
// which backward() finishes their gradients (the last layer's first). When the last gradient of a
// bucket arrives, the bucket is packed into one flat buffer and its all-reduce starts at once, while
// backward() goes on computing the earlier layers' gradients: communication overlaps computation.
// backward() ends with a callback that waits for every bucket and copies the means back into .grad().
//
// With a mean loss over the local batch of B/N rows, the mean of the N ranks' gradients is the
// gradient of the mean loss over the global batch of B rows: the same step as one process on the
// whole batch, up to the order of float sums.
#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/tensor.h"
#include "dist/process_group.h"

namespace lumen::dist {

struct DdpOptions {
  double bucket_mib = 4;          // bucket size (PyTorch's bucket_cap_mb: 25 for big GPU models)
  bool broadcast_parameters = true;  // start from rank 0's weights (different seeds would diverge)
};

// Counters of one DDP wrapper, for the lesson's measurements.
struct DdpStats {
  std::int64_t reductions = 0;        // backward passes whose gradients were averaged
  std::int64_t buckets_reduced = 0;   // all-reduces started
  double wait_s = 0;                  // time backward() spent waiting for all-reduces at its end
  double pack_s = 0;                  // time spent copying gradients into and out of buckets
};

class DistributedDataParallel {
 public:
  // params: the parameters to keep in sync (a model's parameters(); several models' for a GAN's
  // optimizer). Each must be a float32 or float64 CPU leaf (CUDA with the NCCL backend) that requires grad.
  DistributedDataParallel(std::vector<Tensor> params, std::shared_ptr<ProcessGroup> pg, DdpOptions opt = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  // While a NoSync lives, backward() only accumulates local gradients (gradient accumulation over
  // micro-batches); the first backward() after it averages the accumulated sums.
  class [[nodiscard]] NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp) : ddp_(ddp), prev_(ddp.sync_) { ddp.sync_ = false; }
    ~NoSync() { ddp_.sync_ = prev_; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool prev_;
  };
  NoSync no_sync() { return NoSync(*this); }

  ProcessGroup& group() const { return *pg_; }
  const DdpStats& stats() const { return stats_; }
  std::size_t bucket_count() const { return buckets_.size(); }
  // Which bucket each parameter is in (the order given to the constructor).
  std::vector<std::size_t> bucket_of_parameters() const;

 private:
  struct Bucket {
    std::vector<std::size_t> params;  // indices into params_, in the order packed
    std::vector<std::int64_t> offsets;
    Tensor flat;                      // the packed gradients, reduced in place
    std::size_t ready = 0;            // gradients arrived in this backward pass
    std::unique_ptr<Work> work;       // the all-reduce in flight
  };
  void on_gradient(std::size_t param);
  void start(Bucket& b);
  void finish_backward();

  std::vector<Tensor> params_;
  std::shared_ptr<ProcessGroup> pg_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;  // param index -> bucket index
  std::vector<bool> arrived_;          // this pass: which parameters' hooks fired
  std::vector<int> hooks_;
  bool sync_ = true;
  bool pass_open_ = false;             // a hook of this backward pass queued finish_backward
  DdpStats stats_;
};

}  // namespace lumen::dist
