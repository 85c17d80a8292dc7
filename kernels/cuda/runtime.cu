// Checked calls and the per-device streams (see runtime.h).
#include <mutex>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "kernels/cuda/runtime.h"

namespace lumen::kernels::cuda {

void check(cudaError_t err, const char* op, const char* call) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call does not report it again
  throw Error(std::string(op) + ": " + call + " failed: " + cudaGetErrorString(err));
}

cudaStream_t stream(int device) {
  static std::mutex mutex;
  static std::vector<cudaStream_t> streams;
  check(cudaSetDevice(device), "cuda stream", "cudaSetDevice");
  std::lock_guard<std::mutex> lock(mutex);
  if (static_cast<std::size_t>(device) >= streams.size()) streams.resize(device + 1, nullptr);
  if (!streams[device]) check(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking), "cuda stream", "cudaStreamCreate");
  return streams[device];
}

Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape st(shape.size(), 0);
  const std::size_t lead = shape.size() - static_cast<std::size_t>(t.dim());
  for (std::int64_t d = 0; d < t.dim(); ++d)
    st[lead + d] = t.size(d) == 1 ? 0 : t.stride(d);
  return st;
}

}  // namespace lumen::kernels::cuda
