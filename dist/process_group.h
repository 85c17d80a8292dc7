#pragma once
// A process group: the ranks of one job and the collectives between them, as torch.distributed's.
// Data parallelism needs only these: every rank trains on its own shard of each batch, then an
// all-reduce averages the gradients so that every rank takes the same optimizer step.
//
//   auto pg = dist::init();                 // MPI when launched by mpirun, else one process (size 1)
//   pg->all_reduce(t, dist::Reduce::mean);  // t becomes the mean of every rank's t, on every rank
//
// Backends: "single" (one process: every collective is the identity), "mpi" (Open MPI, processes on
// CPUs and across nodes; built where meson finds MPI) and "nccl" (one GPU per rank; built with CUDA,
// bootstrapped over MPI). Collectives are called by every rank in the same order with tensors of the
// same shape and dtype (all_gather and gather: the same shape but for dim 0); a rank that calls a
// different one, dies or hangs makes the others wait, and a wait longer than timeout_s() ends the
// whole job with a message naming the collective and the rank (not a silent hang).
#include <cstdint>
#include <memory>
#include <string>

#include "autograd/tensor.h"

namespace lumen::dist {

enum class Reduce { sum, mean };
enum class Backend { automatic, single, mpi, nccl };

// A collective in flight. wait() returns once it has finished on this rank (the tensor then holds the
// result); test() says whether it has, without blocking, and lets the backend make progress.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // Seconds a collective may wait for the other ranks before the job is ended.
  virtual double timeout_s() const = 0;

  virtual void barrier() = 0;
  // t (contiguous, the same shape on every rank) takes root's values on every rank.
  virtual void broadcast(Tensor& t, int root = 0) = 0;
  // t (contiguous) becomes the elementwise sum (or mean) over the ranks, on every rank. The async form
  // returns at once; t must not be read or written until the Work has finished.
  virtual std::unique_ptr<Work> all_reduce_async(Tensor& t, Reduce op = Reduce::sum) = 0;
  void all_reduce(Tensor& t, Reduce op = Reduce::sum) { all_reduce_async(t, op)->wait(); }
  // Every rank's t stacked along dim 0 in rank order, on every rank. The ranks may hold different
  // numbers of rows (an uneven split of a data set); the other dims and the dtype must agree.
  virtual Tensor all_gather(const Tensor& t) = 0;
  // The same, on root only; the other ranks get an undefined tensor.
  virtual Tensor gather(const Tensor& t, int root = 0) = 0;
};

struct InitOptions {
  Backend backend = Backend::automatic;
  // 0: the environment's LUMEN_DIST_TIMEOUT (seconds) or else 300.
  double timeout_s = 0;
};

// Whether this process was started by an MPI launcher (mpirun/mpiexec: OMPI_COMM_WORLD_SIZE, PMI_SIZE
// or PMIX_RANK in the environment).
bool launched_by_mpi();
// Whether this build has the MPI / NCCL backend.
bool has_mpi();
bool has_nccl();

// The process group of this job, made on the first call and the same object after: automatic picks
// MPI when launched by an MPI launcher (an error if this build has no MPI) and a one-process group
// otherwise. Asking for another backend later is an error. MPI is finalised at exit.
std::shared_ptr<ProcessGroup> init(InitOptions opt = {});
// init()'s group (init() with its defaults on the first call): what library code asks (rank 0 writes
// the checkpoint) without deciding how the job was started.
ProcessGroup& world();

// The contiguous share [begin, end) of n items of rank `rank` out of `size`: the first n % size ranks
// hold one item more. Attribution and evaluation loops split their images this way and gather the
// results in rank order, which is the single process's order.
struct Range {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};
Range shard(std::int64_t n, int rank, int size);

// Data parallel: throws unless a batch of `rows` splits into equal shards over `ranks` (equal shards
// make the mean of the ranks' mean losses the whole batch's mean loss). `what` names the batch.
void check_even_split(const char* op, const std::string& what, std::int64_t rows, int ranks);

// Seconds from the environment's LUMEN_DIST_TIMEOUT (a positive number), or fallback.
double timeout_from_env(double fallback = 300.0);

}  // namespace lumen::dist
