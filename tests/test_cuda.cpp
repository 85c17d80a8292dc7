// The CUDA device backend. Every case needs a GPU and is skipped, with a message, where none is present.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;

namespace {
bool have_gpu() {
  if (cuda_device_count() > 0) return true;
  MESSAGE("SKIPPED: no CUDA device (or lumen built without CUDA): GPU test not run");
  return false;
}
}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("host -> device -> host round trip keeps values, dtype and shape") {
    if (!have_gpu()) return;
    Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor d = a.to(Device("cuda"));
    CHECK(d.device().is_cuda());
    CHECK(d.shape() == Shape{2, 3});
    CHECK_VALUES(d.to(kCPU), {1, 2, 3, 4, 5, 6});
    CHECK_VALUES(a.t().to(Device("cuda:0")).cpu(), {1, 4, 2, 5, 3, 6});  // non-contiguous source
  }

  TEST_CASE("gradients flow back across devices") {
    if (!have_gpu()) return;
    Tensor a = tensor({1, 2}, {2}, {.dtype = DType::float64, .requires_grad = true});
    Tensor back = a.to(Device("cuda")).to(kCPU);
    (back * 3.0).sum().backward();
    CHECK_VALUES(a.grad(), {3, 3});
  }
}

TEST_SUITE("cuda") {
  TEST_CASE("the CPU-only behaviour: a clear error instead of a crash") {
    if (cuda_device_count() > 0) return;
    CHECK_THROWS_AS(ones({2}).to(Device("cuda")), Error);
  }
}
