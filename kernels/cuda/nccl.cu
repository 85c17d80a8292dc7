// NCCL collectives on lumen's per-device stream (kernels/nccl.h), every NCCL and CUDA call checked.
//
// The communicator is non-blocking (ncclConfig_t::blocking = 0): a call that needs the peers first
// (joining, connecting on first use) returns ncclInProgress and NCCL finishes queuing it in a thread of
// its own, while ncclCommGetAsyncError reports the state: ncclInProgress, ncclSuccess once the work is
// on the stream, or an error. Each call is polled to ncclSuccess (with the deadline) before it returns,
// so its event is recorded after its kernels, and the next call finds the communicator ready. A blocking
// communicator would wait for an unresponsive peer inside NCCL, where no timeout can reach.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>

#include "kernels/cuda/runtime.h"
#include "kernels/nccl.h"

#if NCCL_VERSION_CODE < NCCL_VERSION(2, 14, 0)
#error "lumen's NCCL backend needs NCCL 2.14 or later (non-blocking communicators, ncclGetLastError)"
#endif

namespace lumen::kernels::nccl {

static_assert(sizeof(ncclUniqueId) == std::tuple_size<UniqueId>::value, "kernels/nccl.h: UniqueId is not NCCL's size");

namespace detail {

struct CommState {
  ncclComm_t comm = nullptr;
  int rank = 0, size = 1, device = 0;
  double timeout_s = 0;
  bool aborted = false;

  void abort() {
    if (aborted) return;
    aborted = true;
    // Unchecked: the communicator is gone either way, and the caller is already reporting an error.
    if (comm) ncclCommAbort(comm);
    comm = nullptr;
  }
  ~CommState() { abort(); }
};

struct CompletionState {
  std::shared_ptr<CommState> comm;  // kept alive: test() asks it for NCCL's errors, wait() aborts it
  cudaEvent_t event = nullptr;
  const char* op = "";
  bool done = false;
  ~CompletionState() {
    if (event) cudaEventDestroy(event);  // unchecked: a destructor
  }
};

}  // namespace detail

namespace {

using detail::CommState;

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f s", s);
  return text;
}

// Polls against a deadline: spins first (a training step's collectives take microseconds), then sleeps,
// backing off to 1 ms, as the MPI backend's waits do.
class Deadline {
 public:
  explicit Deadline(double timeout_s) : timeout_s_(timeout_s) {}
  bool passed() const { return std::chrono::duration<double>(clock::now() - start_).count() > timeout_s_; }
  void pause() {
    if (++polls_ <= 1000) return;
    std::this_thread::sleep_for(sleep_);
    sleep_ = std::min(sleep_ * 2, std::chrono::microseconds(1000));
  }

 private:
  using clock = std::chrono::steady_clock;
  clock::time_point start_ = clock::now();
  double timeout_s_;
  int polls_ = 0;
  std::chrono::microseconds sleep_{1};
};

// NCCL's message for r, with the specific cause it logged (ncclGetLastError, e.g. "Duplicate GPU
// detected"), which the result code alone does not say.
std::string nccl_message(ncclResult_t r) {
  std::string msg = ncclGetErrorString(r);
  const char* last = ncclGetLastError(nullptr);
  if (last && *last) msg += std::string(" (") + last + ")";
  return msg;
}

// Every NCCL failure aborts the communicator: a failed call leaves a non-blocking communicator in an
// error state, and the other ranks would wait for this one anyway.
[[noreturn]] void abort_with(CommState& s, const char* op, const std::string& call, ncclResult_t r) {
  const std::string msg = std::string(op) + ": " + call + " failed: " + nccl_message(r) + "; the NCCL communicator was aborted";
  s.abort();
  throw Aborted(msg, false);
}

[[noreturn]] void abort_timed_out(CommState& s, const char* op, const std::string& what) {
  s.abort();
  throw Aborted(std::string(op) + ": " + what + " did not finish within " + seconds(s.timeout_s) +
                    " (another rank died, hangs or called a different collective); the NCCL communicator was aborted",
                true);
}

// Returns once the call that returned r has been carried out (its work queued on the stream).
void settle(CommState& s, const char* op, const std::string& call, ncclResult_t r) {
  Deadline deadline(s.timeout_s);
  while (r == ncclInProgress) {
    if (deadline.passed()) abort_timed_out(s, op, call);
    deadline.pause();
    const ncclResult_t q = ncclCommGetAsyncError(s.comm, &r);
    if (q != ncclSuccess) abort_with(s, op, "ncclCommGetAsyncError", q);
  }
  if (r != ncclSuccess) abort_with(s, op, call, r);
}
#define LUMEN_NCCL(state, op, call) settle((state), (op), #call, (call))

// The first failure among the calls of a group (which do not abort: see grouped).
struct FirstFailure {
  ncclResult_t result = ncclSuccess;
  const char* call = "";
  void note(ncclResult_t r, const char* what) {
    if (r != ncclSuccess && result == ncclSuccess) result = r, call = what;
  }
};
#define LUMEN_NCCL_IN_GROUP(first, call) (first).note((call), #call)

// Runs f's calls between ncclGroupStart and ncclGroupEnd, as one launch. f returns its first failure
// instead of aborting: the communicator may only be aborted once the group is closed, or NCCL's
// group state would point at a freed communicator.
template <class F> void grouped(CommState& s, const char* op, F&& f) {
  const ncclResult_t start = ncclGroupStart();
  if (start != ncclSuccess) abort_with(s, op, "ncclGroupStart", start);
  const FirstFailure first = f();
  const ncclResult_t end = ncclGroupEnd();
  if (first.result != ncclSuccess) abort_with(s, op, first.call, first.result);
  settle(s, op, "ncclGroupEnd", end);
}

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::float32: return ncclFloat32;
    case DType::float64: return ncclFloat64;
    case DType::int64: return ncclInt64;
  }
  throw Error(std::string("nccl: no NCCL type for ") + dtype_name(t));
}

void* at(void* base, std::int64_t elems, DType t) {
  return static_cast<char*>(base) + elems * static_cast<std::int64_t>(itemsize(t));
}

// Every call starts here: an aborted communicator is freed and must not be touched again. Returns
// lumen's stream of the device, which is made current (NCCL and the kernels below take it).
cudaStream_t begin(const CommState& s, const char* op) {
  if (s.aborted) throw Aborted(std::string(op) + ": the NCCL communicator was aborted after an earlier error or timeout", false);
  return cuda::stream(s.device);
}

void check_counts(const CommState& s, const char* op, const std::vector<std::int64_t>& counts) {
  LUMEN_CHECK(counts.size() == static_cast<std::size_t>(s.size), op, "expected one count per rank (", s.size,
              "), got ", counts.size());
  for (std::size_t k = 0; k < counts.size(); ++k)
    LUMEN_CHECK(counts[k] >= 0, op, "rank ", k, " has a negative count ", counts[k]);
}

void check_root(const CommState& s, const char* op, int root) {
  LUMEN_CHECK(root >= 0 && root < s.size, op, "root ", root, " is not a rank of a group of size ", s.size);
}

Completion record(const std::shared_ptr<CommState>& s, const char* op, cudaStream_t stream) {
  auto c = std::make_unique<detail::CompletionState>();
  c->comm = s;
  c->op = op;
  LUMEN_CUDA_CHECK(op, cudaEventCreateWithFlags(&c->event, cudaEventDisableTiming));
  LUMEN_CUDA_CHECK(op, cudaEventRecord(c->event, stream));
  return Completion(std::move(c));
}

template <class T> __global__ void scale_kernel(T* p, std::int64_t n, T s) {
  LUMEN_GRID_STRIDE(i, n) p[i] *= s;
}

}  // namespace

UniqueId make_unique_id() {
  ncclUniqueId uid;
  const ncclResult_t r = ncclGetUniqueId(&uid);
  if (r != ncclSuccess) throw Error("nccl unique id: ncclGetUniqueId failed: " + nccl_message(r));
  UniqueId id;
  std::memcpy(id.data(), uid.internal, id.size());
  return id;
}

// --- Completion

Completion::Completion(std::unique_ptr<detail::CompletionState> state) : state_(std::move(state)) {}
Completion::Completion(Completion&&) noexcept = default;
Completion& Completion::operator=(Completion&&) noexcept = default;
Completion::~Completion() = default;

bool Completion::test() {
  LUMEN_CHECK(state_ != nullptr, "nccl::Completion", "used after it was moved from");
  detail::CompletionState& c = *state_;
  if (c.done) return true;
  // Checked before the event: the kernels of an aborted communicator end early and fire the event
  // over data they never finished.
  if (c.comm->aborted)
    throw Aborted(std::string(c.op) + ": the NCCL communicator was aborted after an error or timeout", false);
  const cudaError_t e = cudaEventQuery(c.event);
  if (e == cudaSuccess) {
    c.done = true;
    return true;
  }
  if (e != cudaErrorNotReady) cuda::check(e, c.op, "cudaEventQuery");
  // Some CUDA versions also leave "not ready" as the last error, which the next kernel's launch check
  // would then report as its own (PyTorch clears it the same way).
  cudaGetLastError();
  // A lost peer or a network error shows here, not in the event: the kernels just keep waiting.
  ncclResult_t state = ncclSuccess;
  const ncclResult_t q = ncclCommGetAsyncError(c.comm->comm, &state);
  if (q != ncclSuccess) abort_with(*c.comm, c.op, "ncclCommGetAsyncError", q);
  if (state != ncclSuccess && state != ncclInProgress) abort_with(*c.comm, c.op, "the NCCL communicator", state);
  return false;
}

void Completion::wait() {
  Deadline deadline(state_ ? state_->comm->timeout_s : 0);
  while (!test()) {
    if (deadline.passed()) abort_timed_out(*state_->comm, state_->op, "the collective");
    deadline.pause();
  }
}

// --- Communicator

Communicator::Communicator(const UniqueId& id, int rank, int size, int device, double timeout_s)
    : state_(std::make_shared<CommState>()) {
  const char* op = "nccl communicator";
  LUMEN_CHECK(size >= 1 && rank >= 0 && rank < size, op, "rank ", rank, " is not a rank of a group of size ", size);
  LUMEN_CHECK(timeout_s > 0, op, "expected a positive timeout, got ", timeout_s);
  state_->rank = rank;
  state_->size = size;
  state_->device = device;
  state_->timeout_s = timeout_s;
  cuda::stream(device);  // makes the device current, which ncclCommInitRankConfig binds the communicator to
  ncclUniqueId uid;
  std::memcpy(uid.internal, id.data(), id.size());
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const ncclResult_t r = ncclCommInitRankConfig(&comm, size, uid, rank, &config);
  state_->comm = comm;  // null when the call failed at once; otherwise aborted (freed) on failure
  settle(*state_, op,
         "ncclCommInitRankConfig (rank " + std::to_string(rank) + " of " + std::to_string(size) + ", cuda:" +
             std::to_string(device) + ")",
         r);
}

Communicator::~Communicator() = default;  // the state aborts the communicator once no Completion holds it

int Communicator::rank() const { return state_->rank; }
int Communicator::size() const { return state_->size; }
int Communicator::device() const { return state_->device; }
void Communicator::abort() { state_->abort(); }
bool Communicator::aborted() const { return state_->aborted; }

Completion Communicator::all_reduce_sum(const char* op, void* data, std::int64_t count, DType dtype, double scale) {
  cudaStream_t stream = begin(*state_, op);
  LUMEN_CHECK(count >= 0, op, "negative element count ", count);
  LUMEN_CHECK(scale == 1.0 || is_floating(dtype), op, "cannot scale an ", dtype_name(dtype), " sum by ", scale);
  if (count > 0) {
    LUMEN_NCCL(*state_, op, ncclAllReduce(data, data, static_cast<std::size_t>(count), nccl_type(dtype), ncclSum,
                                          state_->comm, stream));
    if (scale != 1.0) {
      visit_floating(dtype, op, [&]<class T>() {
        scale_kernel<T><<<cuda::blocks_for(count), 256, 0, stream>>>(static_cast<T*>(data), count, static_cast<T>(scale));
      });
      cuda::check_launch(op);
    }
  }
  return record(state_, op, stream);
}

Completion Communicator::broadcast(const char* op, void* data, std::int64_t count, DType dtype, int root) {
  cudaStream_t stream = begin(*state_, op);
  LUMEN_CHECK(count >= 0, op, "negative element count ", count);
  check_root(*state_, op, root);
  if (count > 0)
    LUMEN_NCCL(*state_, op, ncclBroadcast(data, data, static_cast<std::size_t>(count), nccl_type(dtype), root,
                                          state_->comm, stream));
  return record(state_, op, stream);
}

Completion Communicator::all_gather(const char* op, const void* send, void* recv,
                                    const std::vector<std::int64_t>& counts, DType dtype) {
  cudaStream_t stream = begin(*state_, op);
  check_counts(*state_, op, counts);
  const ncclDataType_t type = nccl_type(dtype);
  const bool equal = std::all_of(counts.begin(), counts.end(), [&](std::int64_t c) { return c == counts[0]; });
  if (equal) {
    if (counts[0] > 0)
      LUMEN_NCCL(*state_, op, ncclAllGather(send, recv, static_cast<std::size_t>(counts[0]), type, state_->comm, stream));
  } else {
    // One broadcast per rank into its slice (the root's own slice too), all in one launch. Every rank
    // skips the same empty slices, as every rank holds the same counts.
    grouped(*state_, op, [&] {
      FirstFailure first;
      std::int64_t offset = 0;
      for (int k = 0; k < state_->size; ++k) {
        const std::int64_t n = counts[static_cast<std::size_t>(k)];
        if (n > 0) {
          void* slice = at(recv, offset, dtype);
          LUMEN_NCCL_IN_GROUP(first, ncclBroadcast(k == state_->rank ? send : slice, slice, static_cast<std::size_t>(n),
                                                   type, k, state_->comm, stream));
        }
        offset += n;
      }
      return first;
    });
  }
  return record(state_, op, stream);
}

Completion Communicator::gather(const char* op, const void* send, void* recv, const std::vector<std::int64_t>& counts,
                                DType dtype, int root) {
  cudaStream_t stream = begin(*state_, op);
  check_counts(*state_, op, counts);
  check_root(*state_, op, root);
  const ncclDataType_t type = nccl_type(dtype);
  const int rank = state_->rank;
  if (rank == root) {
    std::vector<std::int64_t> offsets;
    std::int64_t offset = 0;
    for (std::int64_t n : counts) {
      offsets.push_back(offset);
      offset += n;
    }
    const std::int64_t mine = counts[static_cast<std::size_t>(root)];
    if (mine > 0)
      LUMEN_CUDA_CHECK(op, cudaMemcpyAsync(at(recv, offsets[static_cast<std::size_t>(root)], dtype), send,
                                           static_cast<std::size_t>(mine) * itemsize(dtype), cudaMemcpyDeviceToDevice,
                                           stream));
    grouped(*state_, op, [&] {
      FirstFailure first;
      for (int k = 0; k < state_->size; ++k) {
        const std::int64_t n = counts[static_cast<std::size_t>(k)];
        if (k != root && n > 0)
          LUMEN_NCCL_IN_GROUP(first, ncclRecv(at(recv, offsets[static_cast<std::size_t>(k)], dtype),
                                              static_cast<std::size_t>(n), type, k, state_->comm, stream));
      }
      return first;
    });
  } else if (const std::int64_t n = counts[static_cast<std::size_t>(rank)]; n > 0) {
    grouped(*state_, op, [&] {
      FirstFailure first;
      LUMEN_NCCL_IN_GROUP(first, ncclSend(send, static_cast<std::size_t>(n), type, root, state_->comm, stream));
      return first;
    });
  }
  return record(state_, op, stream);
}

}  // namespace lumen::kernels::nccl
