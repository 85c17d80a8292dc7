#pragma once
// Which samples of a data set each rank of a data-parallel job sees, epoch by epoch (PyTorch's
// DistributedSampler). Every rank draws the same permutation of 0..N-1 (the same seed, the same
// generator stream), then takes every num_replicas-th entry starting at its rank:
//
//   permutation  p0 p1 p2 p3 p4 p5 p6 p7      N = 8, 2 ranks
//   rank 0       p0    p2    p4    p6
//   rank 1          p1    p3    p5    p7
//
// So the first b entries of every rank together are the first b·num_replicas entries of the
// permutation: local batches of b rows make up exactly the global batch one process would take with
// batch b·num_replicas, which is what makes data-parallel training equal to single-process training.
//
// Padding rule: when N is not a multiple of num_replicas, the permutation is extended by its own first
// entries (wrapping around) up to the next multiple, so every rank gets ceil(N / num_replicas) samples
// and a few samples are seen twice in that epoch; with drop_last the tail is dropped instead (floor).
// With one replica and no shuffle this is 0..N-1, as a plain DataLoader.
#include <cstdint>

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace lumen::nn {

struct SamplerOptions {
  bool shuffle = true;
  std::uint64_t seed = 0;
  std::int64_t num_replicas = 1;
  std::int64_t rank = 0;
  bool drop_last = false;  // drop the tail instead of padding (see above)
};

class DistributedSampler {
 public:
  DistributedSampler(std::int64_t dataset_size, SamplerOptions opt = {});
  std::int64_t num_samples() const { return per_rank_; }  // this rank's samples per epoch
  std::int64_t total_size() const { return per_rank_ * opt_.num_replicas; }
  // The next epoch's indices for this rank: int64 [num_samples()].
  Tensor next_epoch();

 private:
  std::int64_t n_;
  SamplerOptions opt_;
  std::int64_t per_rank_;
  Generator gen_;
};

}  // namespace lumen::nn
