// The CUDA device backend beyond single ops: transfers, gradients across devices, random fills, a
// small network. Every op against the CPU is a row of the op table, whose GPU column is in this suite
// too (tests/test_op_table.cpp). Every case needs a GPU and is skipped, with a message, where none is present.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;

namespace {
bool have_gpu() {
  if (cuda_device_count() > 0) return true;
  MESSAGE("SKIPPED: no CUDA device (or lumen built without CUDA): GPU test not run");
  return false;
}

const Device kGPU("cuda");
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
  TEST_CASE("argmax ties pick the first index, as on the CPU") {
    if (!have_gpu()) return;
    Tensor ties = f64({1, 3, 3, 0, 2, 2}, {2, 3});
    CHECK_VALUES(argmax(ties.to(kGPU), 1).to(kCPU).to(DType::float64), {1, 1});
  }

  TEST_CASE("seeded random fills give the CPU's numbers") {
    if (!have_gpu()) return;
    for (DType dt : {DType::float32, DType::float64}) {
      Generator g1(7), g2(7);
      CHECK(allclose(rand({1000}, {.dtype = dt, .device = kGPU}, &g1).to(kCPU),
                     rand({1000}, {.dtype = dt}, &g2).to(DType::float64).to_vector<double>(), 0));
      CHECK(allclose(randn({1000}, {.dtype = dt, .device = kGPU}, &g1).to(kCPU),
                     randn({1000}, {.dtype = dt}, &g2).to(DType::float64).to_vector<double>(), 1e-6));
    }
    Generator g1(8), g2(8);
    CHECK(randint(0, 10, {500}, kGPU, &g1).to(kCPU).to_vector<std::int64_t>() ==
          randint(0, 10, {500}, kCPU, &g2).to_vector<std::int64_t>());
  }

  TEST_CASE("a small MLP: loss and gradients equal the CPU's") {
    if (!have_gpu()) return;
    Generator g(9);
    Tensor x = randn({16, 30}, {.dtype = DType::float64}, &g), w1 = mul(randn({30, 20}, {.dtype = DType::float64}, &g), 0.2);
    Tensor w2 = mul(randn({20, 4}, {.dtype = DType::float64}, &g), 0.2), y = one_hot(randint(0, 4, {16}, kCPU, &g), 4, DType::float64);
    auto run = [&](Device d) {
      Tensor a = w1.to(d).detach().requires_grad_(), b = w2.to(d).detach().requires_grad_();
      Tensor logits = matmul(relu(matmul(x.to(d), a)), b);
      Tensor loss = neg(mean(sum(log_softmax(logits, 1) * y.to(d), {1})));
      std::vector<Tensor> gr = autograd::grad({loss}, {a, b});
      return std::vector<Tensor>{loss.to(kCPU), gr[0].to(kCPU), gr[1].to(kCPU)};
    };
    const auto cpu = run(kCPU), gpu = run(kGPU);
    for (int i = 0; i < 3; ++i) CHECK(allclose(gpu[i], cpu[i].to_vector<double>(), 1e-10));
  }
}

TEST_SUITE("cuda") {
  TEST_CASE("the CPU-only behaviour: a clear error instead of a crash") {
    if (cuda_device_count() > 0) return;
    CHECK_THROWS_AS(ones({2}).to(Device("cuda")), Error);
  }
}
