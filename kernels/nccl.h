#pragma once
// NCCL collectives on raw device buffers, for the NCCL process group of dist/ (dist/nccl_group.cpp).
// Implemented in kernels/cuda/nccl.cu, which is built only with LUMEN_WITH_NCCL (CUDA, MPI and libnccl
// found); this header has no CUDA types so that dist/ can include it.
//
// Every call is queued on lumen's own stream of the communicator's device (kernels/cuda/runtime.h):
// it is then ordered after the kernels that wrote its buffers and before those that read them, and the
// caching allocator may hand a freed buffer to the next tensor without waiting for NCCL.
//
// Nothing here waits without a deadline. A collective whose peer died or hangs never finishes: its
// kernel spins on the GPU, and before that NCCL's host side may wait for the peer to connect. So the
// communicator is NCCL's non-blocking kind (no call blocks; NCCL reports "in progress" and is polled),
// each call returns a Completion (a CUDA event recorded after it) that is polled rather than
// synchronised on, and past the timeout the communicator is aborted, which also ends its kernels.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/core/error.h"

namespace lumen::kernels::nccl {

// ncclUniqueId's bytes. One rank makes it and sends it to the others (dist/ sends it over MPI) before
// every rank makes its Communicator from it.
using UniqueId = std::array<char, 128>;
UniqueId make_unique_id();

// The communicator was aborted, by this call or an earlier one: a wait passed the timeout (timed_out)
// or NCCL reported an error (a lost peer, a failed call). It cannot be used again, and the other ranks
// would wait for this one: the caller ends the job.
struct Aborted : Error {
  Aborted(const std::string& what, bool timed_out) : Error(what), timed_out(timed_out) {}
  bool timed_out;
};

namespace detail {
struct CommState;        // the ncclComm_t, its rank, size, device and timeout (nccl.cu)
struct CompletionState;  // the CUDA event and the communicator it belongs to (nccl.cu)
}  // namespace detail

// The work a Communicator call queued: finished once the event recorded after it has fired.
class [[nodiscard]] Completion {
 public:
  explicit Completion(std::unique_ptr<detail::CompletionState> state);
  Completion(Completion&&) noexcept;
  Completion& operator=(Completion&&) noexcept;
  ~Completion();  // releases the event; the queued work carries on

  // Whether the work has finished, without blocking. Throws Aborted when NCCL reports an error on the
  // communicator (it is aborted first) or it was aborted before, lumen::Error for a CUDA error.
  bool test();
  // Polls test() until the work finishes; past the communicator's timeout, aborts it and throws
  // Aborted (timed_out).
  void wait();

 private:
  std::unique_ptr<detail::CompletionState> state_;
};

// One rank's NCCL communicator. Buffers are device pointers on device(); counts are elements of dtype
// (float32, float64 or int64); op names the caller's operation in errors ("dist::all_reduce"). Each
// call returns once NCCL has queued its work, or throws Aborted when NCCL fails or takes longer than
// timeout_s to queue it (connecting to a peer that does not answer).
class Communicator {
 public:
  // Rank `rank` of `size` on CUDA device `device`; every rank passes the same id. Returns once every
  // rank has joined; Aborted past timeout_s, which is also the limit of every later wait.
  Communicator(const UniqueId& id, int rank, int size, int device, double timeout_s);
  // Aborts the communicator (frees it locally) once no Completion refers to it: ncclCommDestroy would
  // be a collective, and a rank destroying it alone would wait for the others. Finish the work first.
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int size() const;
  int device() const;
  // Stops the communicator's kernels and frees it; later calls throw Aborted. Idempotent.
  void abort();
  bool aborted() const;

  // The elementwise sum over the ranks of count elements at data, in place on every rank, then times
  // scale (1/size for a mean; floating dtypes only), multiplied in the dtype as the MPI backend does.
  Completion all_reduce_sum(const char* op, void* data, std::int64_t count, DType dtype, double scale = 1.0);
  // root's count elements at data, in place on every rank.
  Completion broadcast(const char* op, void* data, std::int64_t count, DType dtype, int root);
  // counts[k] elements from each rank k (send holds counts[rank()] of them) laid out one after another
  // in rank order in recv (the sum of counts), on every rank. The counts may differ between ranks, but
  // every rank passes the same counts.
  Completion all_gather(const char* op, const void* send, void* recv, const std::vector<std::int64_t>& counts,
                        DType dtype);
  // The same into root's recv only; the other ranks' recv is not used (may be null).
  Completion gather(const char* op, const void* send, void* recv, const std::vector<std::int64_t>& counts,
                    DType dtype, int root);

 private:
  std::shared_ptr<detail::CommState> state_;  // shared with the Completions, which abort it on errors
};

}  // namespace lumen::kernels::nccl
