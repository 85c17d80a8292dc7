// doctest's main, plus one rule: the "cuda" and "dist_nccl" suites, run on their own (as meson does),
// exit with 77 — meson's SKIP — where no GPU is present (or, for NCCL, lumen was built without it), so
// the skip is visible in the test summary.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "kernels/core/device.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--test-suite=cuda") == 0 && lumen::cuda_device_count() == 0) {
      std::puts("SKIPPED: no CUDA device here (or lumen built without CUDA); the GPU tests did not run");
      return 77;
    }
    if (std::strcmp(argv[i], "--test-suite=dist_nccl") == 0) {
#ifdef LUMEN_WITH_NCCL
      const bool can_run = lumen::cuda_device_count() > 0;
#else
      const bool can_run = false;
#endif
      if (!can_run) {
        std::puts("SKIPPED: no CUDA device here (or lumen built without NCCL); the NCCL tests did not run");
        return 77;
      }
    }
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
