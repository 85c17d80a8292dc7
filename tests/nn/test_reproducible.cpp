// Training gives the same bits whatever the number of OpenMP threads: the CPU kernels cut every
// parallel sum into chunks fixed by the shapes alone, never by the thread count, and compute every
// element the same whichever chunk it falls in (kernels/cpu/loops.h, conv.cpp, matmul.cpp). Not covered: CUDA (kernels/cuda/: its reductions and
// cuBLAS choose their own orders, so a GPU run is not bitwise equal to a CPU run, nor promised to be
// equal across GPUs).
#include <doctest/doctest.h>
#include <omp.h>

#include <cstring>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/losses.h"
#include "nn/models.h"
#include "nn/optim.h"

using namespace lumen;
using namespace lumen::nn;

namespace {

// n OpenMP threads until the end of the scope.
class Threads {
 public:
  explicit Threads(int n) : before_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~Threads() { omp_set_num_threads(before_); }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;

 private:
  int before_;
};

// The bytes of each tensor, to compare bit for bit (-0 and +0, or two NaNs, are not "equal" here).
std::vector<std::vector<char>> bytes(const std::vector<Tensor>& ts) {
  std::vector<std::vector<char>> out;
  for (const Tensor& t : ts) {
    Tensor c = t.detach().contiguous();
    const char* p = static_cast<const char*>(c.raw_data());
    out.emplace_back(p, p + c.numel() * static_cast<std::int64_t>(itemsize(c.dtype())));
  }
  return out;
}

// A model's parameters after Adam steps on batches of 32, 32 and 5 random images (the last batch of
// an epoch is often short), run with `threads` threads.
template <class Model> std::vector<std::vector<char>> trained(int threads) {
  const Threads scope(threads);
  manual_seed(7);
  Model model;
  Adam opt(model.parameters(), {.lr = 1e-3});
  Generator g(8);
  for (std::int64_t batch : {32, 32, 5}) {
    Tensor x = rand({batch, 3, 28, 28}, {}, &g);
    Tensor y = randint(0, Model::kClasses, {batch}, kCPU, &g);
    opt.zero_grad();
    cross_entropy(model(x), y).backward();
    opt.step();
  }
  return bytes(model.parameters());
}

// f's results with 1, 2 and 3 threads are the same bits; a difference is reported by result and byte.
template <class F> void check_thread_independent(F&& f) {
  auto run = [&](int threads) {
    const Threads scope(threads);
    return bytes(f());
  };
  const auto one = run(1);
  for (int threads : {2, 3}) {
    const auto got = run(threads);
    REQUIRE(got.size() == one.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      std::size_t at = 0;
      while (at < got[i].size() && got[i][at] == one[i][at]) ++at;
      INFO("result ", i, " with ", threads, " threads differs from byte ", at, " of ", got[i].size());
      CHECK(got[i] == one[i]);
    }
  }
}

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("reproducible: the CNN trains to the same bits with 1, 2 and 3 threads") {
    const auto one = trained<ConvModel>(1);
    CHECK(trained<ConvModel>(2) == one);
    CHECK(trained<ConvModel>(3) == one);
  }

  TEST_CASE("reproducible: the DenseModel trains to the same bits with 1, 2 and 3 threads") {
    const auto one = trained<DenseModel>(1);
    CHECK(trained<DenseModel>(2) == one);
    CHECK(trained<DenseModel>(3) == one);
  }

  TEST_CASE("reproducible: elementwise math on a long tensor (vectorised body, scalar ends of each chunk)") {
    Generator g(3);
    const Tensor x = randn({300007}, {}, &g);
    check_thread_independent([&] { return std::vector<Tensor>{exp(x), tanh(x), sigmoid(x), log(abs(x)), erf(x)}; });
  }

  TEST_CASE("reproducible: a single image's convolution, forward and backward") {
    Generator g(4);
    const Tensor x = randn({1, 16, 28, 28}, {}, &g).requires_grad_();  // 7.2M multiply-adds: worth the threads
    const Tensor w = (randn({64, 16, 3, 3}, {}, &g) * 0.1).requires_grad_();
    const Tensor b = randn({64}, {}, &g).requires_grad_();
    Conv2dOptions same;
    same.padding = {1, 1};
    Conv2dOptions strided;
    strided.stride = {2, 2};
    check_thread_independent([&] {
      std::vector<Tensor> out;
      for (const Conv2dOptions& o : {same, strided}) {
        Tensor y = conv2d(x, w, b, o);
        auto grads = autograd::grad({(y * y).sum()}, {x, w, b});
        out.push_back(y);
        out.insert(out.end(), grads.begin(), grads.end());
      }
      return out;
    });
  }

  TEST_CASE("reproducible: float64 products, which Eigen computes (split into blocks when large)") {
    Generator g(5);
    const Tensor a = randn({301, 203}, {.dtype = DType::float64}, &g);
    const Tensor b = randn({203, 157}, {.dtype = DType::float64}, &g);
    const Tensor batched = randn({3, 301, 203}, {.dtype = DType::float64}, &g);
    check_thread_independent([&] { return std::vector<Tensor>{matmul(a, b), matmul(a.t(), a), matmul(batched, b)}; });
  }
}
