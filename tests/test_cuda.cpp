// The CUDA device backend. Every case needs a GPU and is skipped, with a message, where none is present.
#include <doctest/doctest.h>

#include <functional>

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

// f on the CPU and on the GPU (inputs moved there) agree within tol (relative, as allclose).
void same_on_gpu(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                 double tol) {
  std::vector<Tensor> gpu;
  for (const Tensor& t : inputs) gpu.push_back(t.to(kGPU));
  const Tensor want = f(inputs), got = f(gpu);
  CHECK(got.device().is_cuda());
  CHECK(got.shape() == want.shape());
  CHECK(allclose(got.to(kCPU), want.to(DType::float64).to_vector<double>(), tol));
}

double tol_of(DType dt) { return dt == DType::float64 ? 1e-12 : 1e-5; }
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
  // Every kernel of kernels/cuda against its CPU reference: both float types, contiguous,
  // transposed and broadcast inputs.
  TEST_CASE("elementwise kernels equal the CPU's") {
    if (!have_gpu()) return;
    Generator g(1);
    for (DType dt : {DType::float32, DType::float64}) {
      INFO(dtype_name(dt));
      const double tol = tol_of(dt);
      Tensor x = randn({4, 5, 6}, {.dtype = dt}, &g), y = randn({4, 5, 6}, {.dtype = dt}, &g);
      Tensor pos = add(rand({4, 5, 6}, {.dtype = dt}, &g), 0.1);
      Tensor row = randn({6}, {.dtype = dt}, &g);                        // broadcast along the leading dims
      Tensor xt = randn({6, 5, 4}, {.dtype = dt}, &g).permute({2, 1, 0});  // non-contiguous
      using V = std::vector<Tensor>;
      for (auto f : std::vector<std::function<Tensor(const V&)>>{
               [](const V& v) { return neg(v[0]); }, [](const V& v) { return exp(v[0]); },
               [](const V& v) { return abs(v[0]); }, [](const V& v) { return sign(v[0]); },
               [](const V& v) { return erf(v[0]); }, [](const V& v) { return relu(v[0]); },
               [](const V& v) { return leaky_relu(v[0], 0.2); }, [](const V& v) { return sigmoid(v[0]); },
               [](const V& v) { return tanh(v[0]); }, [](const V& v) { return softplus(v[0], 2.0, 3.0); },
               [](const V& v) { return gelu(v[0]); }, [](const V& v) { return clamp(v[0], -0.5, 0.7); },
               [](const V& v) { return square(v[0]); }, [](const V& v) { return rsub(v[0], 2.5); },
               [](const V& v) { return add(v[0], v[1]); }, [](const V& v) { return sub(v[0], v[2]); },
               [](const V& v) { return mul(v[0], v[2]); }, [](const V& v) { return div(v[0], v[1]); },
               [](const V& v) { return maximum(v[0], v[1]); }, [](const V& v) { return minimum(v[2], v[0]); },
               [](const V& v) { return gt(v[0], v[1]); }, [](const V& v) { return eq(v[0], v[0]); },
               [](const V& v) { return relu_backward(v[1], v[0]); },
               [](const V& v) { return where(gt(v[0], v[1]), v[0], v[2]); }, [](const V& v) { return v[3] * 2.0 + v[0]; },
               [](const V& v) { return v[3].contiguous(); }})
        same_on_gpu(f, {x, y, row, xt}, tol);
      same_on_gpu([](const V& v) { return log(v[0]) + sqrt(v[0]) + reciprocal(v[0]) + pow(v[0], 1.7); }, {pos}, tol);
      same_on_gpu([](const V& v) { return pow(v[0], v[1]); }, {pos, y}, tol);
      same_on_gpu([](const V& v) { return v[0].to(DType::int64).to(DType::float64); }, {mul(x, 10.0)}, 0);  // dtype copies
    }
  }

  TEST_CASE("reductions, arg-reductions and softmax equal the CPU's") {
    if (!have_gpu()) return;
    Generator g(2);
    for (DType dt : {DType::float32, DType::float64}) {
      INFO(dtype_name(dt));
      const double tol = dt == DType::float64 ? 1e-12 : 1e-4;
      using V = std::vector<Tensor>;
      Tensor x = randn({3, 70, 5}, {.dtype = dt}, &g);
      Tensor wide = randn({2, 3000}, {.dtype = dt}, &g);  // rows longer than a warp's stride
      for (auto f : std::vector<std::function<Tensor(const V&)>>{
               [](const V& v) { return sum(v[0]); }, [](const V& v) { return sum(v[0], {1}); },
               [](const V& v) { return mean(v[0], {0, 2}, true); }, [](const V& v) { return amax(v[0], {1}); },
               [](const V& v) { return amin(v[0], {0}); }, [](const V& v) { return max(v[0], 1).first; },
               [](const V& v) { return argmax(v[0], 1).to(DType::float64); },
               [](const V& v) { return argmin(v[0], 2).to(DType::float64); },
               [](const V& v) { return softmax(v[0], 1); }, [](const V& v) { return log_softmax(v[0], 2); },
               [](const V& v) { return softmax(v[0].transpose(0, 2), 0); }, [](const V& v) { return sum(v[1], {1}); },
               [](const V& v) { return log_softmax(v[1], 1); }, [](const V& v) { return argmax(v[1], 1).to(DType::float64); }})
        same_on_gpu(f, {x, wide}, tol);
    }
    // ties pick the first index, as on the CPU
    Tensor ties = f64({1, 3, 3, 0, 2, 2}, {2, 3});
    CHECK_VALUES(argmax(ties.to(kGPU), 1).to(kCPU).to(DType::float64), {1, 1});
  }

  TEST_CASE("matmul through cuBLAS equals the CPU's, for every operand layout and broadcast batches") {
    if (!have_gpu()) return;
    Generator g(3);
    for (DType dt : {DType::float32, DType::float64}) {
      INFO(dtype_name(dt));
      const double tol = dt == DType::float64 ? 1e-12 : 1e-4;
      using V = std::vector<Tensor>;
      Tensor a = randn({3, 17, 40}, {.dtype = dt}, &g), b = randn({3, 40, 9}, {.dtype = dt}, &g);
      Tensor b2 = randn({40, 9}, {.dtype = dt}, &g);
      for (auto f : std::vector<std::function<Tensor(const V&)>>{
               [](const V& v) { return matmul(v[0], v[1]); },
               [](const V& v) { return matmul(v[1].transpose(1, 2), v[0].transpose(1, 2)); },
               [](const V& v) { return matmul(v[0], v[2]); },                                  // broadcast batch
               [](const V& v) { return matmul(v[0].transpose(1, 2).contiguous().transpose(1, 2), v[1]); },
               [](const V& v) { return matmul(v[0].select(0, 1), v[2]); },
               [](const V& v) { return matmul(v[0].select(0, 0).select(0, 3), v[2]); }})  // vector @ matrix
        same_on_gpu(f, {a, b, b2}, tol);
    }
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

  TEST_CASE("an op without a CUDA kernel yet says so") {
    if (!have_gpu()) return;
    Tensor x = ones({1, 1, 4, 4}).to(kGPU), w = ones({1, 1, 3, 3}).to(kGPU);
    CHECK_THROWS_WITH_AS(conv2d(x, w), doctest::Contains("no kernel for device cuda:0"), Error);
  }
}

TEST_SUITE("cuda") {
  TEST_CASE("the CPU-only behaviour: a clear error instead of a crash") {
    if (cuda_device_count() > 0) return;
    CHECK_THROWS_AS(ones({2}).to(Device("cuda")), Error);
  }
}
