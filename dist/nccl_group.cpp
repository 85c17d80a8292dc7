// The NCCL backend: one GPU per rank, the data moved by NCCL (kernels/nccl.h) on lumen's stream of
// that GPU, everything else (the communicator's id, row counts) over the MPI group it is started from.
// As in the MPI backend, every wait polls with a deadline: a collective whose peer died or hangs spins
// on the GPU forever, so past the group's timeout the communicator is aborted and the job ended with a
// message naming the collective and the rank.

// Only MPI's C API is used here; Open MPI's C++ bindings (mpi.h pulls them in) warn under -Wextra.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "dist/backends.h"
#include "kernels/core/device.h"
#include "kernels/nccl.h"

namespace lumen::dist::detail {

namespace {

// What a Work reports when it cannot finish: the collective, its size, this rank.
struct Where {
  const char* op;
  std::size_t bytes;
  int rank, size;
  double timeout_s;
};

// The job cannot go on: the communicator is aborted and the other ranks would wait for this one. So it
// ends here, at once on every rank (MPI_Abort), with the MPI backend's message for a timeout.
[[noreturn]] void end_job(const Where& w, const Error& e) {
  const auto* aborted = dynamic_cast<const kernels::nccl::Aborted*>(&e);
  if (aborted && aborted->timed_out)
    report_timeout(w.rank, w.size, w.op, w.bytes, w.timeout_s);
  else
    std::fprintf(stderr, "lumen::dist: rank %d of %d: %s (%zu bytes) failed: %s. Ending the job.\n", w.rank, w.size,
                 w.op, w.bytes, e.what());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 3);
  std::_Exit(3);  // MPI_Abort does not return; this is in case it does
}

// Queues a collective: f calls the communicator. NCCL's failures and timeouts while queuing (a peer
// that does not connect) end the job; errors in the arguments stay lumen::Error.
template <class F> kernels::nccl::Completion queue(const Where& w, F&& f) {
  try {
    return f();
  } catch (const kernels::nccl::Aborted& e) {
    end_job(w, e);
  }
}

// A collective queued on the GPU, finished when the event recorded after it fires.
class NcclWork final : public Work {
 public:
  NcclWork(kernels::nccl::Completion completion, const Where& where)
      : completion_(std::move(completion)), where_(where) {}
  ~NcclWork() override {
    // The buffers are safe without this (the stream orders their reuse), but a hang left unwaited would
    // surface later as a blocking stream synchronise (a copy to the CPU) that never returns.
    if (!done_) wait();
  }
  // Runs once the collective has finished (the version bump).
  std::function<void()> on_done;

  bool test() override {
    if (done_) return true;
    try {
      if (completion_.test()) finish();
    } catch (const Error& e) {
      end_job(where_, e);  // NCCL's error (the communicator is aborted) or a CUDA error: nothing can finish
    }
    return done_;
  }

  void wait() override {
    if (done_) return;
    try {
      completion_.wait();
    } catch (const Error& e) {
      end_job(where_, e);
    }
    finish();
  }

 private:
  void finish() {
    done_ = true;
    if (on_done) on_done();
  }
  kernels::nccl::Completion completion_;
  Where where_;
  bool done_ = false;
};

class NcclGroup final : public ProcessGroup {
 public:
  explicit NcclGroup(double timeout_s) : mpi_(make_mpi_group(timeout_s)), timeout_s_(timeout_s) {
    rank_ = mpi_->rank();
    size_ = mpi_->size();
    const char* op = "dist::init";
    // Every rank learns every rank's GPU count, so that a rank without a GPU is an error on all of them
    // rather than a wait of the others for its communicator.
    Tensor gpus(allocate({1}, DType::int64, kCPU, op));
    gpus.data<std::int64_t>()[0] = cuda_device_count();
    const Tensor all = mpi_->all_gather(gpus);
    for (int k = 0; k < size_; ++k)
      LUMEN_CHECK(all.data<std::int64_t>()[k] > 0, op, "the NCCL backend needs a GPU per rank, but rank ", k, " of ",
                  size_, " sees no CUDA device (driver, CUDA_VISIBLE_DEVICES); the MPI backend runs on CPUs");
    device_ = Device(DeviceType::cuda, rank_ % static_cast<int>(all.data<std::int64_t>()[rank_]));

    // Rank 0's id reaches the others as the 16 int64 of a CPU tensor, over MPI (with the timeout).
    kernels::nccl::UniqueId id{};
    static_assert(sizeof id == 16 * sizeof(std::int64_t));
    if (rank_ == 0) id = kernels::nccl::make_unique_id();
    Tensor id_words(allocate({16}, DType::int64, kCPU, op));
    std::memcpy(id_words.raw_data(), id.data(), sizeof id);
    mpi_->broadcast(id_words, 0);
    std::memcpy(id.data(), id_words.raw_data(), sizeof id);
    try {
      comm_ = std::make_unique<kernels::nccl::Communicator>(id, rank_, size_, device_.index, timeout_s_);
    } catch (const Error& e) {
      // The other ranks are waiting for this one inside NCCL's set-up: end the job rather than this rank.
      end_job(where("dist::init (the NCCL communicator)", 0), e);
    }
  }
  ~NcclGroup() override {
    // Deliberately not destroyed: the group lives in a static until exit, whose destructor runs after
    // the CUDA runtime's own teardown (registered later, at the first CUDA call), where NCCL's calls
    // would fail or crash. The process's exit frees the GPU's resources.
    (void)comm_.release();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  double timeout_s() const override { return timeout_s_; }

  void barrier() override {
    // A one-element all-reduce finishes on this rank only once every rank has queued it; its event also
    // fires only after everything queued before it on this GPU's stream, so it is a stream sync as well.
    // The element's value is never read.
    const Where w = where("dist::barrier", 0);
    Tensor one(allocate({1}, DType::float32, device_, w.op));
    NcclWork(queue(w, [&] { return comm_->all_reduce_sum(w.op, one.raw_data(), 1, DType::float32); }), w).wait();
  }

  void broadcast(Tensor& t, int root) override {
    const Where w = where("dist::broadcast", nbytes(t));
    check(w.op, t);
    check_root(w.op, root, size_);
    NcclWork(queue(w, [&] { return comm_->broadcast(w.op, t.raw_data(), t.numel(), t.dtype(), root); }), w).wait();
    t.bump_version();
  }

  std::unique_ptr<Work> all_reduce_async(Tensor& t, Reduce reduce) override {
    const Where w = where("dist::all_reduce", nbytes(t));
    check(w.op, t);
    check_reduce(t, reduce);
    // The mean is the sum times 1/size, on the GPU right after the sum: the MPI backend's arithmetic.
    const double scale = reduce == Reduce::mean ? 1.0 / size_ : 1.0;
    auto work = std::make_unique<NcclWork>(
        queue(w, [&] { return comm_->all_reduce_sum(w.op, t.raw_data(), t.numel(), t.dtype(), scale); }), w);
    work->on_done = [t] { t.bump_version(); };
    return work;
  }

  Tensor all_gather(const Tensor& t) override { return stack_rows("dist::all_gather", t, -1); }
  Tensor gather(const Tensor& t, int root) override {
    check_root("dist::gather", root, size_);
    return stack_rows("dist::gather", t, root);
  }

 private:
  Where where(const char* op, std::size_t bytes) const { return {op, bytes, rank_, size_, timeout_s_}; }
  void check(const char* op, const Tensor& t) const {
    check_tensor(op, t);
    LUMEN_CHECK(t.device() == device_, op, "the NCCL backend moves tensors on this rank's GPU (rank ", rank_, ": ",
                device_.str(), "), got a tensor on ", t.device().str());
  }

  // all_gather (root < 0) or gather to root. The ranks first swap their row counts and a description
  // of a row over MPI (as the MPI backend does), so a mismatch is an error naming both shapes rather
  // than a garbled result, and every rank knows where each rank's rows go.
  Tensor stack_rows(const char* op, const Tensor& t, int root) {
    check(op, t);
    LUMEN_CHECK(t.dim() >= 1, op, "expected at least one dim (the rows to stack), got a scalar");
    const std::int64_t row = t.size(0) > 0 ? t.numel() / t.size(0) : shape_numel(Shape(t.shape().begin() + 1, t.shape().end()));
    Tensor mine(allocate({1, 3}, DType::int64, kCPU, op));
    std::int64_t* m = mine.data<std::int64_t>();
    m[0] = t.size(0);
    m[1] = row;
    m[2] = static_cast<std::int64_t>(t.dtype());
    const Tensor all = mpi_->all_gather(mine);  // [size, 3]
    const std::int64_t* a = all.data<std::int64_t>();
    std::vector<std::int64_t> counts(static_cast<std::size_t>(size_));
    std::int64_t rows = 0, elems = 0;
    for (int k = 0; k < size_; ++k) {
      const std::int64_t* d = a + 3 * k;
      LUMEN_CHECK(d[1] == row && d[2] == m[2], op, "rank ", k, " sends rows of ", d[1], " ",
                  dtype_name(static_cast<DType>(d[2])), " elements, rank ", rank_, " rows of ", row, " ",
                  dtype_name(t.dtype()), " (shape ", t.shape(), "): every rank's rows must agree");
      counts[static_cast<std::size_t>(k)] = d[0] * row;
      elems += d[0] * row;
      rows += d[0];
    }
    const bool receives = root < 0 || root == rank_;
    Tensor out = receives ? Tensor(allocate(stacked_shape(op, t, rows), t.dtype(), device_, op)) : Tensor();
    void* recv = receives ? out.raw_data() : nullptr;
    const Where w = where(op, static_cast<std::size_t>(elems) * itemsize(t.dtype()));
    NcclWork(queue(w,
                   [&] {
                     return root < 0 ? comm_->all_gather(op, t.raw_data(), recv, counts, t.dtype())
                                     : comm_->gather(op, t.raw_data(), recv, counts, t.dtype(), root);
                   }),
             w)
        .wait();
    return out;
  }

  std::shared_ptr<ProcessGroup> mpi_;  // the bootstrap, and the small exchanges that need the CPU anyway
  std::unique_ptr<kernels::nccl::Communicator> comm_;
  Device device_;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_nccl_group(double timeout_s) { return std::make_shared<NcclGroup>(timeout_s); }

}  // namespace lumen::dist::detail
