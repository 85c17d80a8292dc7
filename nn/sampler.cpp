#include "nn/sampler.h"

#include <vector>

namespace lumen::nn {

DistributedSampler::DistributedSampler(std::int64_t dataset_size, SamplerOptions opt)
    : n_(dataset_size), opt_(opt), gen_(opt.seed) {
  LUMEN_CHECK(n_ >= 0 && opt.num_replicas >= 1 && opt.rank >= 0 && opt.rank < opt.num_replicas, "DistributedSampler",
              "expected dataset_size >= 0 and 0 <= rank < num_replicas, got ", n_, ", rank ", opt.rank, " of ",
              opt.num_replicas);
  per_rank_ = opt.drop_last ? n_ / opt.num_replicas : (n_ + opt.num_replicas - 1) / opt.num_replicas;
  LUMEN_CHECK(per_rank_ > 0 || n_ == 0, "DistributedSampler", "drop_last leaves no sample for each of ",
              opt.num_replicas, " ranks out of ", n_);
}

Tensor DistributedSampler::next_epoch() {
  // The same draw as a one-process DataLoader's, so one replica reproduces it exactly.
  const Tensor order = opt_.shuffle ? randperm(n_, kCPU, &gen_) : arange(n_, {.dtype = DType::int64});
  const std::int64_t* p = order.data<std::int64_t>();
  std::vector<std::int64_t> mine(static_cast<std::size_t>(per_rank_));
  for (std::int64_t j = 0; j < per_rank_; ++j) {
    const std::int64_t k = opt_.rank + j * opt_.num_replicas;  // position in the padded permutation
    mine[static_cast<std::size_t>(j)] = p[k % n_];              // past the end: wrap to the start
  }
  return tensor_from(mine);
}

}  // namespace lumen::nn
