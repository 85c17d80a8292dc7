#include "nn/dataloader.h"

#include <cstring>
#include <numeric>

namespace lumen::nn {

namespace {
std::int64_t rows_of(const Tensor& x) {
  LUMEN_CHECK(x.defined() && x.dim() >= 1, "DataLoader", "expected samples x [N, ...], got ",
              x.defined() ? x.str() : "undefined");
  return x.size(0);
}
}  // namespace

DataLoader::DataLoader(Tensor x, Tensor y, DataLoaderOptions opt)
    : opt_(opt),
      sampler_(rows_of(x), {.shuffle = opt.shuffle, .seed = opt.seed, .num_replicas = opt.num_replicas, .rank = opt.rank}) {
  LUMEN_CHECK(opt.batch_size >= 1, "DataLoader", "expected batch_size >= 1, got ", opt.batch_size);
  LUMEN_CHECK(x.device().is_cpu(), "DataLoader", "expected the dataset on the CPU (move each batch instead), got ",
              x.str());
  n_ = x.size(0);
  // Contiguous copies once here make every row one memcpy later. detach: a dataset has no history.
  x_ = x.detach().contiguous();
  if (y.defined()) {
    LUMEN_CHECK(y.dim() >= 1 && y.size(0) == n_ && y.device().is_cpu(), "DataLoader",
                "expected CPU targets y with size(0) == ", n_, " like x, got ", y.str());
    y_ = y.detach().contiguous();
  }
  order_ = arange(sampler_.num_samples(), {.dtype = DType::int64});
}

std::int64_t DataLoader::size() const {
  const std::int64_t n = sampler_.num_samples();
  return opt_.drop_last ? n / opt_.batch_size : (n + opt_.batch_size - 1) / opt_.batch_size;
}

void DataLoader::start_epoch() {
  order_ = sampler_.next_epoch();
  ++epoch_;
}

Tensor DataLoader::gather_rows(const Tensor& src, const std::int64_t* rows, std::int64_t count) const {
  Shape shape = src.shape();
  shape[0] = count;
  Tensor out = empty(shape, {.dtype = src.dtype()});
  const std::size_t row_bytes = static_cast<std::size_t>(src.numel() / std::max<std::int64_t>(n_, 1)) *
                                itemsize(src.dtype());
  const char* from = static_cast<const char*>(src.raw_data());
  char* to = static_cast<char*>(out.raw_data());
  for (std::int64_t i = 0; i < count; ++i) std::memcpy(to + i * row_bytes, from + rows[i] * row_bytes, row_bytes);
  return out;
}

Batch DataLoader::batch(std::int64_t i) const {
  LUMEN_CHECK(i >= 0 && i < size(), "DataLoader::batch", "expected 0 <= i < ", size(), ", got ", i);
  const std::int64_t start = i * opt_.batch_size;
  const std::int64_t count = std::min(opt_.batch_size, sampler_.num_samples() - start);
  const std::int64_t* rows = order_.data<std::int64_t>() + start;
  Batch b;
  b.indices = tensor_from(std::vector<std::int64_t>(rows, rows + count));
  b.x = gather_rows(x_, rows, count);
  if (y_.defined()) b.y = gather_rows(y_, rows, count);
  return b;
}

}  // namespace lumen::nn
