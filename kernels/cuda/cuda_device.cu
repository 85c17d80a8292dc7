// The CUDA device backend of kernels/core/device.h: a caching allocator and host<->device copies on the
// device's stream, every call checked.
//
// Caching: cudaMalloc and cudaFree synchronise the device and cost tens of microseconds, far more than
// a small kernel, so freed blocks go to a free list per (device, rounded size) and are handed out again.
// Reuse is safe without events because every kernel and copy of a device runs on its one stream: work
// queued before the free is ordered before any use of the block's next owner. When cudaMalloc runs out,
// the cached blocks are released and the allocation is tried once more.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kernels/core/device.h"
#include "kernels/core/error.h"
#include "kernels/cuda/runtime.h"

namespace lumen {
namespace {

using kernels::cuda::check;
using kernels::cuda::stream;

// Sizes are rounded so that freed blocks fit later requests of nearly the same size: to 512 bytes
// below 1 MiB, to 1 MiB multiples above (at most 1 MiB, or under 50%, of slack).
std::size_t rounded(std::size_t n) {
  if (n == 0) n = 1;
  const std::size_t q = n < (std::size_t{1} << 20) ? 512 : (std::size_t{1} << 20);
  return (n + q - 1) / q * q;
}

class CachingAllocator {
 public:
  void* allocate(std::size_t nbytes, int device) {
    const std::size_t size = rounded(nbytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find({device, size});
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        return p;
      }
    }
    check(cudaSetDevice(device), "cuda allocate", "cudaSetDevice");
    void* p = nullptr;
    if (cudaMalloc(&p, size) != cudaSuccess) {
      cudaGetLastError();
      release_cached(device);
      check(cudaMalloc(&p, size), "cuda allocate", ("cudaMalloc of " + std::to_string(size) + " bytes").c_str());
    }
    return p;
  }

  void deallocate(void* p, std::size_t nbytes, int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_[{device, rounded(nbytes)}].push_back(p);
  }

  void release_cached(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    cudaSetDevice(device);
    cudaDeviceSynchronize();
    for (auto& [key, blocks] : free_)
      if (key.first == device) {
        for (void* p : blocks) cudaFree(p);
        blocks.clear();
      }
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<int, std::size_t>, std::vector<void*>> free_;
};

struct CudaBackend final : DeviceBackend {
  CachingAllocator cache;

  void* allocate(std::size_t nbytes, int index) override { return cache.allocate(nbytes, index); }
  void deallocate(void* ptr, std::size_t nbytes, int index) override { cache.deallocate(ptr, nbytes, index); }
  void copy(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t nbytes) override {
    if (nbytes == 0) return;
    const int index = dst_dev.is_cuda() ? dst_dev.index : src_dev.index;
    const cudaMemcpyKind kind = dst_dev.is_cpu()   ? cudaMemcpyDeviceToHost
                                : src_dev.is_cpu() ? cudaMemcpyHostToDevice
                                                   : cudaMemcpyDeviceToDevice;
    cudaStream_t s = stream(index);
    check(cudaMemcpyAsync(dst, src, nbytes, kind, s), "to(device)", "cudaMemcpyAsync");
    // The host side may read or free its buffer as soon as we return.
    if (kind != cudaMemcpyDeviceToDevice) check(cudaStreamSynchronize(s), "to(device)", "cudaStreamSynchronize");
  }
  int device_count() override {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the "no device" error
      return 0;
    }
    return n;
  }
  void synchronize(int index) override { check(cudaStreamSynchronize(stream(index)), "synchronize", "cudaStreamSynchronize"); }
};

}  // namespace

namespace kernels::cuda {
DeviceBackend& cuda_device_backend() {
  static CudaBackend backend;
  return backend;
}
}  // namespace kernels::cuda

}  // namespace lumen
