#pragma once
// Picks the implementation of a kernel for the device of its tensors. Every kernel family declares
// its CPU version in namespace kernels::cpu (kernels/cpu/) and, once written, its CUDA version in
// kernels::cuda (kernels/cuda/); the entry point in namespace kernels reads
//   inline void unary(...) { LUMEN_DISPATCH_GPU("unary", x.device(), unary, op, x, out, a, b); }
// Ops in autograd/ only ever call the entry points, so a new device is new kernels, not new ops.
#include "kernels/core/error.h"
#include "kernels/core/tensor_base.h"

namespace lumen::kernels {

[[noreturn]] inline void no_kernel(const char* op, Device d) {
  detail::fail(op, "no kernel for device ", d.str(), " in this build (this op runs on the CPU only so far)");
}

}  // namespace lumen::kernels

// Kernel families with a CUDA version use LUMEN_DISPATCH_GPU; the others LUMEN_DISPATCH, which
// reports a clear error for a CUDA tensor (a family moves over when its kernels/cuda/ file exists).
#define LUMEN_DISPATCH(op, dev, fn, ...) \
  ((dev).is_cpu() ? ::lumen::kernels::cpu::fn(__VA_ARGS__) : ::lumen::kernels::no_kernel(op, dev))
#ifdef LUMEN_WITH_CUDA
#define LUMEN_DISPATCH_GPU(op, dev, fn, ...) \
  ((dev).is_cpu() ? ::lumen::kernels::cpu::fn(__VA_ARGS__) : ::lumen::kernels::cuda::fn(__VA_ARGS__))
#else
#define LUMEN_DISPATCH_GPU(op, dev, fn, ...) LUMEN_DISPATCH(op, dev, fn, __VA_ARGS__)
#endif
