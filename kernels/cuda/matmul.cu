// Batched GEMM on CUDA through cuBLAS (strided batched), one handle per device on its stream.
//
// cuBLAS is column-major and our out [B, M, N] is row-major, which is Cᵀ column-major; so we ask for
// Cᵀ = Bᵀ · Aᵀ. A row-major operand is, read column-major, already its transpose (no op); a
// column-major one (a transposed view) gets op = T. Operands in neither layout are copied first.
// Batch strides may be 0 (a broadcast operand). Exact float32 (no TF32), as on the CPU.
#include <cublas_v2.h>

#include <mutex>
#include <string>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/cuda/runtime.h"
#include "kernels/kernels.h"

namespace lumen::kernels::cuda {
namespace {

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("matmul: ") + call + " failed: " + cublasGetStatusString(status));
}

cublasHandle_t handle(int device) {
  static std::mutex mutex;
  static std::vector<cublasHandle_t> handles;
  cudaStream_t s = stream(device);  // also makes the device current
  std::lock_guard<std::mutex> lock(mutex);
  if (static_cast<std::size_t>(device) >= handles.size()) handles.resize(device + 1, nullptr);
  if (!handles[device]) {
    check_cublas(cublasCreate(&handles[device]), "cublasCreate");
    check_cublas(cublasSetMathMode(handles[device], CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  }
  check_cublas(cublasSetStream(handles[device], s), "cublasSetStream");
  return handles[device];
}

// An operand [B, R, C] as cuBLAS reads it: the matrix is `transposed` (column-major storage, op = T)
// or not (row-major storage, op = N), with leading dimension ld and batch stride.
struct Operand {
  TensorBase t;
  bool transposed;
  long long ld, batch_stride;
};

Operand as_operand(const TensorBase& x) {
  const std::int64_t rows = x.size(1), cols = x.size(2);
  if (x.stride(2) == 1 && (rows == 1 || x.stride(1) >= cols)) return {x, false, rows == 1 ? cols : x.stride(1), x.stride(0)};
  if (x.stride(1) == 1 && (cols == 1 || x.stride(2) >= rows)) return {x, true, cols == 1 ? rows : x.stride(2), x.stride(0)};
  TensorBase c = allocate(x.shape(), x.dtype(), x.device());
  copy(x, c);
  return {c, false, cols, rows * cols};
}

}  // namespace

void matmul(const TensorBase& a_in, const TensorBase& b_in, const TensorBase& out) {
  const std::int64_t batch = out.size(0), M = out.size(1), N = out.size(2), K = a_in.size(2);
  if (out.numel() == 0) return;
  if (K == 0) {
    fill(out, 0.0);
    return;
  }
  const Operand a = as_operand(a_in), b = as_operand(b_in);
  cublasHandle_t h = handle(out.device().index);
  // Cᵀ [N, M] = op(B) [N, K] · op(A) [K, M], column-major; B's row-major storage is Bᵀ column-major.
  const cublasOperation_t opb = b.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opa = a.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  visit_floating(out.dtype(), "matmul", [&]<class T>() {
    const T one = 1, zero = 0;
    if constexpr (std::is_same_v<T, float>)
      check_cublas(cublasSgemmStridedBatched(h, opb, opa, N, M, K, &one, b.t.data<T>(), b.ld, b.batch_stride,
                                             a.t.data<T>(), a.ld, a.batch_stride, &zero, out.data<T>(), N, M * N, batch),
                   "cublasSgemmStridedBatched");
    else
      check_cublas(cublasDgemmStridedBatched(h, opb, opa, N, M, K, &one, b.t.data<T>(), b.ld, b.batch_stride,
                                             a.t.data<T>(), a.ld, a.batch_stride, &zero, out.data<T>(), N, M * N, batch),
                   "cublasDgemmStridedBatched");
  });
}

}  // namespace lumen::kernels::cuda
