// One core: packed_sgemm (kernels/cpu/sgemm.h) against Eigen 3.4's single-threaded GEMM on the course
// GAN's convolution shapes (forward: m = output pixels, n = output channels, k = C·3·3; weight
// gradient: m = output channels, n = C·3·3, k = pixels) and 1024³; GFLOP/s = 2mnk / best time.
//   ninja -C build-bench bench/sgemm_probe && build-bench/bench/sgemm_probe
// On this project's 2-core AMD EPYC (Zen 4) VM: packed 90-110, Eigen 75-85, FMA peak ~115 per core.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "kernels/cpu/sgemm.h"

using namespace lumen::kernels::cpu;
using Clock = std::chrono::steady_clock;
using ColMat = Eigen::MatrixXf;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class F> double best_gflops(double flop, F&& f) {
  f();
  const int reps = std::max(3, static_cast<int>(3e9 / flop));
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / reps);
  }
  return flop / best / 1e9;
}

// A column-major (the im2col matrix read transposed) or row-major (a weight-gradient's G).
void compare(const char* what, int m, int n, int k, bool a_row_major) {
  const ColMat A = ColMat::Random(m, k), B = ColMat::Random(k, n);
  const RowMat Ar = A;
  ColMat C(m, n);
  const double flop = 2.0 * m * n * k;
  const double eigen = best_gflops(flop, [&] {
    if (a_row_major)
      C.noalias() = Ar * B;
    else
      C.noalias() = A * B;
  });
  const StridedMatrix a = a_row_major ? StridedMatrix{Ar.data(), k, 1} : StridedMatrix{A.data(), 1, m};
  const double packed = best_gflops(flop, [&] { packed_sgemm(m, n, k, a, {B.data(), 1, k}, {C.data(), 1, m}, false); });
  std::printf("%-28s m %5d n %5d k %5d   Eigen %6.1f   packed %6.1f GFLOP/s\n", what, m, n, k, eigen, packed);
}

int main() {
  if (!packed_sgemm_available()) {
    std::printf("this build has no AVX-512 micro-kernel: nothing to compare\n");
    return 0;
  }
  compare("forward, 3x3 192->64 @28", 784, 64, 1728, false);
  compare("forward, 3x3 64->64 @28", 784, 64, 576, false);
  compare("forward, 3x3 128->128 @14", 196, 128, 1152, false);
  compare("forward, 3x3 6->64 @28", 784, 64, 54, false);
  compare("weight grad, 192->64 @28", 64, 1728, 784, true);
  compare("weight grad, 128->128 @14", 128, 1152, 196, true);
  compare("square", 1024, 1024, 1024, false);
}
