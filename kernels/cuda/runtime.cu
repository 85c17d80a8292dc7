// Checked calls and the per-device streams (see runtime.h), and the registration of the CUDA device
// backend (cuda_device.cu) at start-up.
#include <mutex>
#include <string>
#include <vector>

#include "kernels/core/error.h"
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

Shape broadcast_strides(const TensorBase& t, const Shape& shape) {
  Shape st(shape.size(), 0);
  const std::size_t lead = shape.size() - static_cast<std::size_t>(t.dim());
  for (std::int64_t d = 0; d < t.dim(); ++d)
    st[lead + d] = t.size(d) == 1 ? 0 : t.stride(d);
  return st;
}

namespace {
// Registers the CUDA backend before main() runs. It lives in this file, not in cuda_device.cu, because
// every CUDA kernel calls stream() above: whenever a program uses any op, the linker takes this object
// from the static library, and with it this initialiser (an initialiser in an object nothing refers to
// would be dropped, and CUDA tensors would silently be unavailable).
[[maybe_unused]] const bool registered = (register_device_backend(DeviceType::cuda, &cuda_device_backend()), true);
}  // namespace

}  // namespace lumen::kernels::cuda
