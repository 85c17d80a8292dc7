// The CUDA device backend of autograd/device.h: allocation and host<->device copies, every call
// checked. Kernels for the ops come with the CUDA backend issue (kernels/cuda/*.cu); until then an op
// on a CUDA tensor reports that no kernel exists.
#include <cuda_runtime.h>

#include <string>

#include "autograd/device.h"
#include "autograd/error.h"

namespace lumen {
namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw Error(std::string("cuda: ") + what + " failed: " + cudaGetErrorString(err));
}

struct CudaBackend final : DeviceBackend {
  void* allocate(std::size_t nbytes, int index) override {
    check(cudaSetDevice(index), "cudaSetDevice");
    void* p = nullptr;
    check(cudaMalloc(&p, nbytes == 0 ? 1 : nbytes), "cudaMalloc");
    return p;
  }
  void deallocate(void* ptr, std::size_t, int index) override {
    cudaSetDevice(index);
    cudaFree(ptr);  // never throws from a destructor path
  }
  void copy(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t nbytes) override {
    if (nbytes == 0) return;
    cudaMemcpyKind kind = dst_dev.is_cpu() ? cudaMemcpyDeviceToHost
                          : src_dev.is_cpu() ? cudaMemcpyHostToDevice
                                             : cudaMemcpyDeviceToDevice;
    check(cudaMemcpy(dst, src, nbytes, kind), "cudaMemcpy");
  }
  int device_count() override {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no device" error
      return 0;
    }
    return n;
  }
  void synchronize(int index) override {
    check(cudaSetDevice(index), "cudaSetDevice");
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
};

}  // namespace

DeviceBackend* cuda_device_backend() {
  static CudaBackend backend;
  return &backend;
}

}  // namespace lumen
