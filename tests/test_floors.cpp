// The floors below autograd stand on their own: a TensorBase is allocated, viewed and computed on with
// the ground floor and the kernels alone (this file includes nothing of autograd's but to show how
// a kernel's result becomes a Tensor), device backends come from a registry, and the optimizer
// updates are kernels behind the dispatcher.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autograd/tensor.h"
#include "kernels/core/tensor_base.h"
#include "kernels/kernels.h"
#include "kernels/optim.h"

using namespace lumen;
using Catch = doctest::Contains;

namespace {
std::vector<float> values(const TensorBase& t) {
  REQUIRE(t.is_contiguous());
  const float* p = t.data<float>();
  return {p, p + t.numel()};
}
}  // namespace

TEST_SUITE("tensor") {
  TEST_CASE("the ground floor: a TensorBase is strided data, computed on by kernels without autograd") {
    TensorBase a = allocate({2, 3}, DType::float32, kCPU);
    CHECK(a.shape() == Shape{2, 3});
    CHECK(a.strides() == Shape{3, 1});
    CHECK(a.impl()->autograd_meta == nullptr);
    kernels::fill(a, 2.0);
    TensorBase col = make_view(a, {2}, {3}, 1);  // column 1, a strided view of the same storage
    CHECK(col.impl()->storage == a.impl()->storage);
    CHECK_FALSE(col.is_contiguous());
    TensorBase out = allocate({2}, DType::float32, kCPU);
    kernels::binary(kernels::BinaryOp::mul, col, col, out);
    CHECK(values(out) == std::vector<float>{4.f, 4.f});
    CHECK_THROWS_WITH_AS(allocate({-1}, DType::float32, kCPU), Catch("negative dimension"), Error);
  }

  TEST_CASE("a kernel's result becomes a Tensor without a copy, and autograd state only when asked for") {
    TensorBase base = allocate({3}, DType::float64, kCPU);
    kernels::fill(base, 1.5);
    Tensor t = base;
    CHECK(t.impl() == base.impl());
    CHECK_FALSE(t.requires_grad());
    CHECK(t.autograd_meta() == nullptr);  // plain data carries no autograd state
    t.requires_grad_();
    REQUIRE(t.autograd_meta() != nullptr);
    CHECK(t.requires_grad());
    CHECK(t.detach().autograd_meta() == nullptr);
    t.requires_grad_(false);
    CHECK_FALSE(t.requires_grad());
  }

  TEST_CASE("device backends come from a registry: the CPU built in, CUDA registered by its backend") {
    CHECK(device_available(DeviceType::cpu));
    CHECK(device_backend(DeviceType::cpu).device_count() == 1);
#ifdef LUMEN_WITH_CUDA
    // Registered at start-up by kernels/cuda/runtime.cu (whether or not a GPU is present).
    CHECK_NOTHROW(device_backend(DeviceType::cuda));
#else
    CHECK_THROWS_WITH_AS(device_backend(DeviceType::cuda), Catch("this build of lumen has no CUDA backend"), Error);
    CHECK_FALSE(device_available(DeviceType::cuda));
#endif
    CHECK_THROWS_WITH_AS(register_device_backend(DeviceType::cpu, nullptr), Catch("the CPU backend is built in"),
                         Error);
  }
}

TEST_SUITE("optim") {
  TEST_CASE("the fused update kernels: SGD with momentum and Adam, one step by hand") {
    TensorBase p = allocate({2}, DType::float32, kCPU), g = allocate({2}, DType::float32, kCPU);
    TensorBase buf = allocate({2}, DType::float32, kCPU);
    p.data<float>()[0] = 1.f, p.data<float>()[1] = -2.f;
    g.data<float>()[0] = 0.5f, g.data<float>()[1] = 0.25f;
    // first step: b = d = g + wd·p, p ← p - lr·b
    kernels::sgd_update(p, g, buf, {.lr = 0.1, .momentum = 0.9, .dampening = 0, .weight_decay = 0.1, .nesterov = false,
                                    .maximize = false, .first_step = true});
    CHECK(values(buf)[0] == doctest::Approx(0.5 + 0.1 * 1).epsilon(1e-6));
    CHECK(values(buf)[1] == doctest::Approx(0.25 + 0.1 * -2).epsilon(1e-5));
    CHECK(values(p)[0] == doctest::Approx(1 - 0.1 * 0.6).epsilon(1e-6));
    CHECK(values(p)[1] == doctest::Approx(-2 - 0.1 * 0.05).epsilon(1e-6));

    TensorBase q = allocate({1}, DType::float64, kCPU), gq = allocate({1}, DType::float64, kCPU);
    TensorBase m = allocate({1}, DType::float64, kCPU), v = allocate({1}, DType::float64, kCPU);
    kernels::fill(q, 1.0), kernels::fill(gq, 2.0), kernels::fill(m, 0.0), kernels::fill(v, 0.0);
    kernels::adam_update(q, gq, m, v, TensorBase(), {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                                     .weight_decay = 0, .decoupled = false, .maximize = false,
                                                     .step = 1});
    // Step 1: m̂ = g, v̂ = g², so p moves by lr · g / (|g| + ε) = lr.
    CHECK(m.data<double>()[0] == doctest::Approx(0.2));
    CHECK(v.data<double>()[0] == doctest::Approx(0.004));
    CHECK(q.data<double>()[0] == doctest::Approx(1 - 0.01 * 2 / (2 + 1e-8)));
  }
}
