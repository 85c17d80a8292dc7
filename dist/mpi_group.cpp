// The MPI backend: Open MPI's non-blocking collectives, waited for with a deadline. MPI itself waits
// forever for a rank that died or hangs (mpirun notices a rank that exits, but not one that is stuck),
// so every wait here polls and, past the group's timeout, ends the job with a message saying which
// collective on which rank was left waiting.
#define OMPI_SKIP_MPICXX 1  // the C API only: Open MPI's C++ bindings warn under -Wextra
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "dist/backends.h"

namespace lumen::dist::detail {

namespace {

void check_mpi(int err, const char* op, const char* call) {
  if (err == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(err, text, &len);
  throw Error(std::string(op) + ": " + call + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}
#define LUMEN_MPI(op, call) check_mpi((call), (op), #call)

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::float32: return MPI_FLOAT;
    case DType::float64: return MPI_DOUBLE;
    case DType::int64: return MPI_INT64_T;
    default: break;
  }
  throw Error(std::string("dist: no MPI type for ") + dtype_name(t));
}

// MPI counts are ints: larger tensors go as several messages of at most this many elements.
constexpr std::int64_t kMaxCount = std::int64_t(1) << 30;

int as_count(const char* op, std::int64_t n) {
  LUMEN_CHECK(n >= 0 && n <= INT_MAX, op, "a message of ", n, " elements is more than MPI's int counts hold");
  return static_cast<int>(n);
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

// Requests in flight, finished by polling against a deadline.
class MpiWork final : public Work {
 public:
  MpiWork(std::vector<MPI_Request> requests, const char* op, std::size_t bytes, int rank, int size, double timeout_s)
      : requests_(std::move(requests)), op_(op), bytes_(bytes), rank_(rank), size_(size), timeout_s_(timeout_s) {}
  ~MpiWork() override {
    // An unfinished request must not outlive the buffer it writes.
    if (!done_) wait();
  }
  // Runs once every request has finished (the mean's division, the version bump).
  std::function<void()> on_done;

  bool test() override {
    if (done_) return true;
    int flag = 0;
    LUMEN_MPI(op_, MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE));
    if (flag) finish();
    return done_;
  }

  void wait() override {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto pause = std::chrono::microseconds(1);
    while (!test()) {
      const double waited = std::chrono::duration<double>(clock::now() - start).count();
      if (waited > timeout_s_) {
        report_timeout(rank_, size_, op_, bytes_, timeout_s_);
        MPI_Abort(MPI_COMM_WORLD, 3);
        std::_Exit(3);  // MPI_Abort does not return; this is in case it does
      }
      // Open MPI moves a large message in fragments, each only when a rank polls (no progress thread):
      // poll without pause for the first 0.1 s, which covers the collectives of a training step
      // (sleeping between polls made a 2.4 MB all-reduce 15x slower), then back off to 1 ms.
      if (waited > 0.1) {
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
      }
    }
  }

 private:
  void finish() {
    done_ = true;
    if (on_done) on_done();
  }
  std::vector<MPI_Request> requests_;
  const char* op_;
  std::size_t bytes_;
  int rank_, size_;
  double timeout_s_;
  bool done_ = false;
};

class MpiGroup final : public ProcessGroup {
 public:
  explicit MpiGroup(double timeout_s) : timeout_s_(timeout_s) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      // OpenMP threads compute; only the thread that called init talks to MPI.
      LUMEN_MPI("dist::init", MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
      std::atexit(finalize_at_exit);
    }
    // Errors come back as codes (and become lumen::Error) instead of ending the job at once.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    LUMEN_MPI("dist::init", MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  // comm_ is freed by MPI_Finalize at exit: the group may be destroyed after it (static order).

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  double timeout_s() const override { return timeout_s_; }

  void barrier() override {
    MPI_Request r;
    LUMEN_MPI("dist::barrier", MPI_Ibarrier(comm_, &r));
    MpiWork({r}, "dist::barrier", 0, rank_, size_, timeout_s_).wait();
  }

  void broadcast(Tensor& t, int root) override {
    check_tensor("dist::broadcast", t);
    check_root("dist::broadcast", root, size_);
    std::vector<MPI_Request> reqs;
    for_each_chunk(t, [&](void* p, int n) {
      reqs.emplace_back();
      LUMEN_MPI("dist::broadcast", MPI_Ibcast(p, n, mpi_type(t.dtype()), root, comm_, &reqs.back()));
    });
    MpiWork w(std::move(reqs), "dist::broadcast", nbytes(t), rank_, size_, timeout_s_);
    w.wait();
    t.bump_version();
  }

  std::unique_ptr<Work> all_reduce_async(Tensor& t, Reduce op) override {
    check_reduce(t, op);
    std::vector<MPI_Request> reqs;
    for_each_chunk(t, [&](void* p, int n) {
      reqs.emplace_back();
      LUMEN_MPI("dist::all_reduce",
                MPI_Iallreduce(MPI_IN_PLACE, p, n, mpi_type(t.dtype()), MPI_SUM, comm_, &reqs.back()));
    });
    auto w = std::make_unique<MpiWork>(std::move(reqs), "dist::all_reduce", nbytes(t), rank_, size_, timeout_s_);
    const double scale = op == Reduce::mean ? 1.0 / size_ : 1.0;
    w->on_done = [t, scale] {
      if (scale != 1.0) {
        const std::int64_t n = t.numel();
        if (t.dtype() == DType::float32) {
          float* p = t.data<float>();
          const auto s = static_cast<float>(scale);
          for (std::int64_t i = 0; i < n; ++i) p[i] *= s;
        } else {
          double* p = t.data<double>();
          for (std::int64_t i = 0; i < n; ++i) p[i] *= scale;
        }
      }
      t.bump_version();
    };
    return w;
  }

  Tensor all_gather(const Tensor& t) override { return stack_rows("dist::all_gather", t, -1); }
  Tensor gather(const Tensor& t, int root) override {
    check_root("dist::gather", root, size_);
    return stack_rows("dist::gather", t, root);
  }

 private:

  template <class F> static void for_each_chunk(const Tensor& t, F&& f) {
    char* p = static_cast<char*>(t.raw_data());
    const std::int64_t n = t.numel();
    for (std::int64_t s = 0; s < n; s += kMaxCount) {
      const std::int64_t c = std::min(kMaxCount, n - s);
      f(p + s * static_cast<std::int64_t>(itemsize(t.dtype())), static_cast<int>(c));
    }
    if (n == 0) f(p, 0);
  }

  // all_gather (root < 0) or gather to root: the ranks first swap their row counts and a description of
  // a row, so a mismatch is an error naming both shapes rather than a garbled result.
  Tensor stack_rows(const char* op, const Tensor& t, int root) {
    check_tensor(op, t);
    LUMEN_CHECK(t.dim() >= 1, op, "expected at least one dim (the rows to stack), got a scalar");
    const std::int64_t row = t.size(0) > 0 ? t.numel() / t.size(0) : shape_numel(Shape(t.shape().begin() + 1, t.shape().end()));
    const std::int64_t mine[3] = {t.size(0), row, static_cast<std::int64_t>(t.dtype())};
    std::vector<std::int64_t> all(static_cast<std::size_t>(3 * size_));
    MPI_Request r;
    LUMEN_MPI(op, MPI_Iallgather(mine, 3, MPI_INT64_T, all.data(), 3, MPI_INT64_T, comm_, &r));
    MpiWork({r}, op, sizeof mine, rank_, size_, timeout_s_).wait();
    std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
    std::int64_t rows = 0, offset = 0;
    for (int k = 0; k < size_; ++k) {
      const std::int64_t* d = &all[static_cast<std::size_t>(3 * k)];
      LUMEN_CHECK(d[1] == row && d[2] == mine[2], op, "rank ", k, " sends rows of ", d[1], " ",
                  dtype_name(static_cast<DType>(d[2])), " elements, rank ", rank_, " rows of ", row, " ",
                  dtype_name(t.dtype()), " (shape ", t.shape(), "): every rank's rows must agree");
      counts[static_cast<std::size_t>(k)] = as_count(op, d[0] * row);
      displs[static_cast<std::size_t>(k)] = as_count(op, offset);
      offset += d[0] * row;
      rows += d[0];
    }
    as_count(op, offset);
    const bool receives = root < 0 || root == rank_;
    Tensor out = receives ? Tensor(allocate(detail::stacked_shape(op, t, rows), t.dtype(), kCPU, op)) : Tensor();
    const MPI_Datatype type = mpi_type(t.dtype());
    void* recv = receives ? out.raw_data() : nullptr;
    if (root < 0)
      LUMEN_MPI(op, MPI_Iallgatherv(t.raw_data(), as_count(op, t.numel()), type, recv, counts.data(), displs.data(), type,
                                    comm_, &r));
    else
      LUMEN_MPI(op, MPI_Igatherv(t.raw_data(), as_count(op, t.numel()), type, recv, counts.data(), displs.data(), type,
                                 root, comm_, &r));
    MpiWork({r}, op, static_cast<std::size_t>(offset) * itemsize(t.dtype()), rank_, size_, timeout_s_).wait();
    return out;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_mpi_group(double timeout_s) { return std::make_shared<MpiGroup>(timeout_s); }

}  // namespace lumen::dist::detail
