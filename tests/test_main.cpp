// doctest's main, plus one rule: the "cuda" suite, run on its own (as meson does), exits with 77 —
// meson's SKIP — where no GPU is present, so the skip is visible in the test summary.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "kernels/core/device.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--test-suite=cuda") == 0 && lumen::cuda_device_count() == 0) {
      std::puts("SKIPPED: no CUDA device here (or lumen built without CUDA); the GPU tests did not run");
      return 77;
    }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
