// The NCCL backend on one GPU per rank (`mpirun -np 2 dist_tests --test-suite=dist_nccl`): its
// collectives against the same definitions as the MPI backend's, and DDP on CUDA parameters. Without a
// GPU or a build with NCCL the suite exits 77 (tests/test_main.cpp), which meson shows as SKIP.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/backends.h"
#include "dist/ddp.h"
#include "nn/layers.h"
#include "nn/losses.h"

using namespace lumen;

#ifdef LUMEN_WITH_NCCL
namespace {
dist::ProcessGroup& nccl() {
  static std::shared_ptr<dist::ProcessGroup> pg = dist::detail::make_nccl_group(120);
  return *pg;
}
Device gpu() { return Device(DeviceType::cuda, nccl().rank() % cuda_device_count()); }
}  // namespace

TEST_SUITE("dist_nccl") {
  TEST_CASE("NCCL all_reduce (sum and mean), broadcast, all_gather and gather on CUDA tensors") {
    const int r = nccl().rank(), n = nccl().size();
    Tensor f = full({1000}, r + 1.0).to(gpu()), d = full({7}, r + 1.0, {.dtype = DType::float64}).to(gpu());
    nccl().all_reduce(f);
    nccl().all_reduce(d, dist::Reduce::mean);
    const double sum = n * (n + 1) / 2.0;
    for (float v : f.cpu().to_vector<float>()) CHECK(v == doctest::Approx(sum));
    for (double v : d.cpu().to_vector<double>()) CHECK(v == doctest::Approx(sum / n));
    Tensor b = full({3}, r * 10.0).to(gpu());
    nccl().broadcast(b, n - 1);
    for (float v : b.cpu().to_vector<float>()) CHECK(v == (n - 1) * 10.0f);
    Tensor mine = full({r + 1, 2}, static_cast<double>(r)).to(gpu());  // uneven rows
    std::vector<float> expect;
    for (int k = 0; k < n; ++k)
      for (int j = 0; j < 2 * (k + 1); ++j) expect.push_back(static_cast<float>(k));
    CHECK(nccl().all_gather(mine).cpu().to_vector<float>() == expect);
    const Tensor at_root = nccl().gather(mine, 0);
    CHECK(at_root.defined() == (r == 0));
    if (r == 0) CHECK(at_root.cpu().to_vector<float>() == expect);
    Tensor on_cpu = f.cpu();
    CHECK_THROWS_WITH_AS(nccl().all_reduce(on_cpu), doctest::Contains("this rank's GPU"), Error);
    nccl().barrier();
  }

  TEST_CASE("DDP over NCCL: CUDA gradients averaged over the ranks") {
    manual_seed(1 + static_cast<std::uint64_t>(nccl().rank()));  // different weights: the broadcast must fix them
    auto layer = std::make_shared<nn::Linear>(8, 3);
    layer->to(gpu());
    auto pg = std::shared_ptr<dist::ProcessGroup>(&nccl(), [](dist::ProcessGroup*) {});
    dist::DistributedDataParallel ddp(layer->parameters(), pg);
    Generator g(9);
    const Tensor x = rand({2 * nccl().size(), 8}, {}, &g), y = randint(0, 3, {2 * nccl().size()}, kCPU, &g);
    // Every rank: its two rows with DDP; and the whole batch on a CPU copy of the synchronised weights.
    nn::Linear reference(8, 3);
    reference.load_state_dict(layer->state_dict());
    const Tensor mine_x = x.narrow(0, 2 * nccl().rank(), 2), mine_y = y.narrow(0, 2 * nccl().rank(), 2);
    nn::cross_entropy((*layer)(mine_x.to(gpu())), mine_y.to(gpu())).backward();
    nn::cross_entropy(reference(x), y).backward();
    const auto pl = layer->parameters(), pr = reference.parameters();
    for (std::size_t i = 0; i < pl.size(); ++i) {
      const auto a = pl[i].grad().cpu().to_vector<float>(), b = pr[i].grad().to_vector<float>();
      for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k] == doctest::Approx(b[k]).epsilon(1e-4));
    }
  }
}
#endif
