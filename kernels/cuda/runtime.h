#pragma once
// What every CUDA kernel file shares: checked calls (errors name the op and the failing call), one
// stream per device (kernels and copies are ordered on it, which is what makes the caching allocator's
// reuse of a freed block safe), the cuBLAS handle, and the strided indexer of the elementwise kernels.
#include <cuda_runtime.h>

#include <array>
#include <cstdint>

#include "kernels/core/tensor_base.h"

namespace lumen::kernels::cuda {

// The CUDA device backend (kernels/core/device.h): caching allocator and copies (cuda_device.cu).
// runtime.cu registers it at start-up; everything else reaches it through lumen::device_backend.
DeviceBackend& cuda_device_backend();

// Throws lumen::Error "<op>: <call> failed: <CUDA's message>" unless err is cudaSuccess.
void check(cudaError_t err, const char* op, const char* call);
#define LUMEN_CUDA_CHECK(op, call) ::lumen::kernels::cuda::check((call), (op), #call)
// After a kernel launch: reports a bad configuration (the launch itself is asynchronous).
inline void check_launch(const char* op) { check(cudaGetLastError(), op, "kernel launch"); }

// Makes `device` current and returns its stream (created on first use).
cudaStream_t stream(int device);
inline cudaStream_t stream_of(const TensorBase& t) { return stream(t.device().index); }

// Grid size for a grid-stride loop over n elements with `threads` per block.
inline unsigned blocks_for(std::int64_t n, int threads = 256) {
  const std::int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

#ifdef __CUDACC__
// for (i = this thread's first index; i < n; i += all threads in the grid): any n, any grid size.
#define LUMEN_GRID_STRIDE(i, n) \
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < (n); i += std::int64_t(gridDim.x) * blockDim.x)
#endif

// Offsets of N operands for a flat index into an output shape (row-major), for up to kMaxDims dims;
// a stride of 0 broadcasts. Passed to kernels by value.
constexpr int kMaxDims = 8;
template <int N> struct Indexer {
  int ndim = 0;
  std::int64_t numel = 1;
  std::int64_t size[kMaxDims] = {};
  std::int64_t stride[N][kMaxDims] = {};

#ifdef __CUDACC__
  __device__ void offsets(std::int64_t i, std::int64_t (&off)[N]) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const std::int64_t c = i % size[d];
      i /= size[d];
      for (int k = 0; k < N; ++k) off[k] += c * stride[k][d];
    }
  }
#endif
};

// The strides of t read as `shape` (numpy broadcasting: missing leading dims and size-1 dims get 0).
Shape broadcast_strides(const TensorBase& t, const Shape& shape);

template <int N> Indexer<N> make_indexer(const char* op, const Shape& shape, const std::array<Shape, N>& strides) {
  if (shape.size() > static_cast<std::size_t>(kMaxDims))
    detail::fail(op, "CUDA kernels take at most ", kMaxDims, " dims, got ", shape.size());
  Indexer<N> ix;
  ix.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < ix.ndim; ++d) {
    ix.size[d] = shape[d];
    ix.numel *= shape[d];
    for (int k = 0; k < N; ++k) ix.stride[k][d] = strides[k][d];
  }
  return ix;
}

}  // namespace lumen::kernels::cuda
