// dist::init, world() and the one-process group; the MPI and NCCL groups are in their own files.
#include "dist/process_group.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "autograd/ops.h"
#include "dist/backends.h"

namespace lumen::dist {

namespace detail {

namespace {

// World size 1: every collective leaves t as it is (the sum over one rank), so code written for N
// ranks runs unchanged in one process.
class SingleGroup final : public ProcessGroup {
 public:
  explicit SingleGroup(double timeout_s) : timeout_s_(timeout_s) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  double timeout_s() const override { return timeout_s_; }
  void barrier() override {}
  void broadcast(Tensor& t, int root) override {
    check_tensor("dist::broadcast", t);
    check_root("dist::broadcast", root, 1);
  }
  std::unique_ptr<Work> all_reduce_async(Tensor& t, Reduce op) override {
    check_reduce(t, op);
    struct Done final : Work {
      bool test() override { return true; }
      void wait() override {}
    };
    return std::make_unique<Done>();
  }
  Tensor all_gather(const Tensor& t) override {
    check_tensor("dist::all_gather", t);
    return t.detach().clone();
  }
  Tensor gather(const Tensor& t, int root) override {
    check_tensor("dist::gather", t);
    check_root("dist::gather", root, 1);
    return t.detach().clone();
  }

 private:
  double timeout_s_;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_single_group(double timeout_s) { return std::make_shared<SingleGroup>(timeout_s); }

void check_tensor(const char* op, const Tensor& t) {
  LUMEN_CHECK(t.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(t.is_contiguous(), op, "expected a contiguous tensor, got shape ", t.shape(), " strides ", t.strides());
  LUMEN_CHECK(t.dtype() == DType::float32 || t.dtype() == DType::float64 || t.dtype() == DType::int64, op,
              "expected float32, float64 or int64, got ", dtype_name(t.dtype()));
}

void check_reduce(const Tensor& t, Reduce op) {
  check_tensor("dist::all_reduce", t);
  LUMEN_CHECK(op == Reduce::sum || t.dtype() != DType::int64, "dist::all_reduce",
              "the mean of int64 tensors is not an integer: reduce with Reduce::sum");
}

void check_root(const char* op, int root, int size) {
  LUMEN_CHECK(root >= 0 && root < size, op, "root ", root, " is not a rank of a group of size ", size);
}

std::size_t nbytes(const Tensor& t) { return static_cast<std::size_t>(t.numel()) * itemsize(t.dtype()); }

void report_timeout(int rank, int size, const char* op, std::size_t bytes, double timeout_s) {
  std::fprintf(stderr,
               "lumen::dist: rank %d of %d: %s (%zu bytes) did not finish within %.0f s: another rank died, hangs or "
               "called a different collective. Ending the job (LUMEN_DIST_TIMEOUT sets the limit).\n",
               rank, size, op, bytes, timeout_s);
  std::fflush(stderr);
}

Shape stacked_shape(const char* op, const Tensor& t, std::int64_t total_rows) {
  LUMEN_CHECK(t.dim() >= 1, op, "expected at least one dim (the rows to stack), got a scalar");
  Shape s = t.shape();
  s[0] = total_rows;
  return s;
}

}  // namespace detail

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(var)) return true;
  return false;
}

bool has_mpi() {
#ifdef LUMEN_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool has_nccl() {
#ifdef LUMEN_WITH_NCCL
  return true;
#else
  return false;
#endif
}

void check_even_split(const char* op, const std::string& what, std::int64_t rows, int ranks) {
  LUMEN_CHECK(ranks >= 1 && rows % ranks == 0, op, what, " of ", rows, " images does not split evenly over ", ranks,
              " ranks (data parallel: each rank takes an equal share)");
}

double timeout_from_env(double fallback) {
  const char* text = std::getenv("LUMEN_DIST_TIMEOUT");
  if (!text || !*text) return fallback;
  char* end = nullptr;
  errno = 0;
  const double s = std::strtod(text, &end);
  LUMEN_CHECK(errno == 0 && end && *end == '\0' && s > 0 && s <= 1e6, "dist::init",
              "LUMEN_DIST_TIMEOUT must be a number of seconds in (0, 1e6], got '", text, "'");
  return s;
}

namespace {
std::mutex g_mutex;
std::shared_ptr<ProcessGroup> g_world;
Backend g_backend = Backend::automatic;

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::automatic: return "automatic";
    case Backend::single: return "single";
    case Backend::mpi: return "mpi";
    case Backend::nccl: return "nccl";
  }
  return "?";
}
}  // namespace

std::shared_ptr<ProcessGroup> init(InitOptions opt) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_world) {
    LUMEN_CHECK(opt.backend == Backend::automatic || opt.backend == g_backend, "dist::init", "the process group is ",
                g_world->backend(), " already; cannot make it ", backend_name(opt.backend));
    return g_world;
  }
  const double timeout = opt.timeout_s > 0 ? opt.timeout_s : timeout_from_env();
  Backend b = opt.backend;
  if (b == Backend::automatic) b = launched_by_mpi() ? Backend::mpi : Backend::single;
  switch (b) {
    case Backend::single: g_world = detail::make_single_group(timeout); break;
    case Backend::mpi:
#ifdef LUMEN_WITH_MPI
      g_world = detail::make_mpi_group(timeout);
#else
      throw Error("dist::init: launched by mpirun (or asked for MPI) but this build of lumen has no MPI backend: "
                  "apt-get install libopenmpi-dev openmpi-bin, then reconfigure (meson setup --reconfigure)");
#endif
      break;
    case Backend::nccl:
#ifdef LUMEN_WITH_NCCL
      g_world = detail::make_nccl_group(timeout);
#else
      throw Error("dist::init: the NCCL backend needs a build with CUDA, NCCL and MPI");
#endif
      break;
    case Backend::automatic: break;
  }
  g_backend = b;
  return g_world;
}

ProcessGroup& world() { return *init(); }

Range shard(std::int64_t n, int rank, int size) {
  LUMEN_CHECK(n >= 0 && size >= 1 && rank >= 0 && rank < size, "dist::shard", "expected n >= 0 and 0 <= rank < size, got n ",
              n, ", rank ", rank, ", size ", size);
  const std::int64_t base = n / size, extra = n % size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace lumen::dist
