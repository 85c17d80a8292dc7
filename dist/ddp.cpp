// DistributedDataParallel: bucketed gradient all-reduce started from post-accumulate gradient hooks
// (see ddp.h for the idea).
#include "dist/ddp.h"

#include <chrono>

#include "autograd/engine.h"
#include "autograd/ops.h"

namespace lumen::dist {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

DistributedDataParallel::DistributedDataParallel(std::vector<Tensor> params, std::shared_ptr<ProcessGroup> pg,
                                                 DdpOptions opt)
    : params_(std::move(params)), pg_(std::move(pg)) {
  LUMEN_CHECK(pg_ != nullptr, "DistributedDataParallel", "no process group given");
  LUMEN_CHECK(opt.bucket_mib > 0 && opt.bucket_mib <= 1024, "DistributedDataParallel",
              "expected bucket_mib in (0, 1024], got ", opt.bucket_mib);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    LUMEN_CHECK(p.defined() && p.is_leaf() && p.requires_grad() && p.is_contiguous() &&
                    (p.dtype() == DType::float32 || p.dtype() == DType::float64),
                "DistributedDataParallel", "parameter ", i,
                " must be a contiguous float32/float64 leaf that requires grad, got ", p.defined() ? p.str() : "undefined");
    for (std::size_t j = 0; j < i; ++j)
      LUMEN_CHECK(!p.is_same(params_[j]), "DistributedDataParallel", "parameter ", i, " is parameter ", j,
                  " again (tied weights are listed once)");
  }

  // Every replica starts from rank 0's weights.
  if (opt.broadcast_parameters && pg_->size() > 1) {
    autograd::NoGradGuard no_grad;
    for (Tensor& p : params_) {
      Tensor data = p.detach();
      pg_->broadcast(data, 0);
    }
  }

  // Buckets in reverse registration order (the order backward() tends to finish the gradients), one
  // dtype and device per bucket, closed when the next parameter would pass the cap.
  const auto cap = static_cast<std::int64_t>(opt.bucket_mib * 1024 * 1024);
  bucket_of_.assign(params_.size(), 0);
  std::int64_t bytes = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    const std::int64_t pb = p.numel() * static_cast<std::int64_t>(itemsize(p.dtype()));
    const bool fits = !buckets_.empty() && bytes + pb <= cap &&
                      params_[buckets_.back().params.front()].dtype() == p.dtype() &&
                      params_[buckets_.back().params.front()].device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    b.offsets.push_back(b.params.empty() ? 0 : b.offsets.back() + params_[b.params.back()].numel());
    b.params.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    bytes += pb;
  }
  for (Bucket& b : buckets_) {
    const Tensor& last = params_[b.params.back()];
    b.flat = zeros({b.offsets.back() + last.numel()}, {last.dtype(), last.device(), false});
  }

  arrived_.assign(params_.size(), false);
  for (std::size_t i = 0; i < params_.size(); ++i)
    hooks_.push_back(params_[i].register_post_accumulate_grad_hook([this, i](const Tensor&) { on_gradient(i); }));
}

DistributedDataParallel::~DistributedDataParallel() {
  for (std::size_t i = 0; i < params_.size(); ++i) params_[i].remove_hook(hooks_[i]);
  for (Bucket& b : buckets_)
    if (b.work) {
      try {
        b.work->wait();
      } catch (...) {  // nothing to report to from a destructor; the buffer must outlive the request
      }
    }
}

std::vector<std::size_t> DistributedDataParallel::bucket_of_parameters() const { return bucket_of_; }

void DistributedDataParallel::on_gradient(std::size_t i) {
  if (!sync_) return;  // no_sync: the gradients accumulate locally
  if (!pass_open_) {
    pass_open_ = true;
    std::fill(arrived_.begin(), arrived_.end(), false);
    for (Bucket& b : buckets_) b.ready = 0;
    // Waits for the buckets when backward() ends. If the pass throws instead, the engine drops the
    // callback: the guard it holds then closes the pass, so the next backward() starts afresh.
    struct PassGuard {
      DistributedDataParallel* ddp = nullptr;
      bool ran = false;
      ~PassGuard() {
        if (ran) return;
        for (Bucket& b : ddp->buckets_)
          if (b.work) {
            try {
              b.work->wait();
            } catch (...) {
            }
            b.work.reset();
          }
        ddp->pass_open_ = false;
      }
    };
    auto guard = std::make_shared<PassGuard>();  // made in place: a moved-from copy's destructor would close the pass
    guard->ddp = this;
    autograd::queue_callback([guard] {
      guard->ran = true;
      guard->ddp->finish_backward();
    });
  }
  if (arrived_[i]) return;
  arrived_[i] = true;
  Bucket& b = buckets_[bucket_of_[i]];
  if (++b.ready == b.params.size()) start(b);
  // Polling the buckets in flight lets MPI move their messages along during the backward pass.
  for (Bucket& other : buckets_)
    if (other.work) other.work->test();
}

void DistributedDataParallel::start(Bucket& b) {
  const auto t0 = std::chrono::steady_clock::now();
  {
    autograd::NoGradGuard no_grad;
    for (std::size_t j = 0; j < b.params.size(); ++j) {
      const Tensor& p = params_[b.params[j]];
      Tensor slot = b.flat.narrow(0, b.offsets[j], p.numel());
      const Tensor g = p.grad();
      if (g.defined())
        slot.copy_(g.detach().reshape({p.numel()}));
      else
        slot.zero_();  // a parameter this pass did not reach: it adds nothing to the sum
    }
  }
  stats_.pack_s += seconds_since(t0);
  b.work = pg_->all_reduce_async(b.flat, Reduce::mean);
  ++stats_.buckets_reduced;
}

void DistributedDataParallel::finish_backward() {
  pass_open_ = false;
  // Buckets with a parameter this pass did not reach were never started: every rank starts them now,
  // in the same order, so the collectives still match.
  for (Bucket& b : buckets_)
    if (!b.work) start(b);
  const auto t0 = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) b.work->wait();
  stats_.wait_s += seconds_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  autograd::NoGradGuard no_grad;
  for (Bucket& b : buckets_) {
    b.work.reset();
    for (std::size_t j = 0; j < b.params.size(); ++j) {
      const Tensor& p = params_[b.params[j]];
      Tensor g = p.grad();
      if (!g.defined()) continue;  // unused here, so (same graph on every rank) unused everywhere
      g.copy_(b.flat.narrow(0, b.offsets[j], p.numel()).reshape(g.shape()));
    }
  }
  stats_.pack_s += seconds_since(t1);
  ++stats_.reductions;
}

}  // namespace lumen::dist
