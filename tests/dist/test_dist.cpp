// The dist/ layer under `mpirun -np 2` (and as one process, where every collective is the identity):
// the collectives against their definitions, the sampler's shards, data-parallel training against one
// process on the whole batch, and attribution split across ranks against one process. Every rank runs
// every case in the same order, so the collectives match.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/checkpoint.h"
#include "dist/ddp.h"
#include "dist/process_group.h"
#include "nn/dataloader.h"
#include "nn/losses.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "xai/gradient.h"

using namespace lumen;

namespace {

dist::ProcessGroup& pg() { return dist::world(); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to(DType::float64).to_vector<double>(), y = b.to(DType::float64).to_vector<double>();
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

double max_param_diff(const nn::Module& a, const nn::Module& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  REQUIRE(pa.size() == pb.size());
  double m = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) m = std::max(m, max_abs_diff(pa[i], pb[i]));
  return m;
}

// A synthetic classification set with the classifiers' input shape: what matters here is that every
// rank holds the same numbers, so data parallelism can be compared with one process.
std::pair<Tensor, Tensor> toy_data(std::int64_t n) {
  Generator g(42);
  Tensor x = rand({n, 3, 28, 28}, {}, &g);
  Tensor y = randint(0, 4, {n}, kCPU, &g);
  return {x, y};
}

// Copies a's parameters into b (the same architecture).
void copy_parameters(const nn::Module& a, nn::Module& b) { b.load_state_dict(a.state_dict()); }

// steps Adam steps of `model` on the global batches of one epoch of (x, y): on this rank's shard with
// DDP when ddp is given, on the whole batch otherwise.
void train(nn::Module& model, const Tensor& x, const Tensor& y, std::int64_t global_batch, int steps, bool ddp) {
  const int ranks = ddp ? pg().size() : 1, rank = ddp ? pg().rank() : 0;
  std::unique_ptr<dist::DistributedDataParallel> wrapper;
  if (ddp) wrapper = std::make_unique<dist::DistributedDataParallel>(model.parameters(), dist::init(),
                                                                      dist::DdpOptions{.bucket_mib = 0.25});
  nn::Adam adam(model.parameters(), {.lr = 1e-3});
  nn::DataLoader loader(x, y, {.batch_size = global_batch / ranks, .seed = 7, .num_replicas = ranks, .rank = rank});
  int done = 0;
  for (const nn::Batch& b : loader) {
    if (done++ == steps) break;
    adam.zero_grad();
    nn::cross_entropy(model(b.x), b.y).backward();
    adam.step();
  }
}

}  // namespace

TEST_SUITE("dist") {
  TEST_CASE("all_reduce: the sum and the mean over the ranks, on every rank, for each dtype") {
    const int r = pg().rank(), n = pg().size();
    Tensor f = full({5}, r + 1.0), d = full({2, 3}, r + 1.0, {.dtype = DType::float64});
    Tensor i = full({4}, static_cast<double>(r + 1), {.dtype = DType::int64});
    pg().all_reduce(f);
    pg().all_reduce(d, dist::Reduce::mean);
    pg().all_reduce(i);
    const double sum = n * (n + 1) / 2.0;
    for (float v : f.to_vector<float>()) CHECK(v == doctest::Approx(sum));
    for (double v : d.to_vector<double>()) CHECK(v == doctest::Approx(sum / n));
    for (std::int64_t v : i.to_vector<std::int64_t>()) CHECK(v == static_cast<std::int64_t>(sum));
    CHECK_THROWS_WITH_AS(pg().all_reduce(i, dist::Reduce::mean), doctest::Contains("Reduce::sum"), Error);
    Tensor strided = zeros({4, 4}).transpose(0, 1);
    CHECK_THROWS_WITH_AS(pg().all_reduce(strided), doctest::Contains("contiguous"), Error);
  }

  TEST_CASE("the asynchronous all_reduce finishes on wait, and test() says when") {
    Tensor t = full({1000}, pg().rank() + 1.0);
    auto work = pg().all_reduce_async(t);
    work->wait();
    CHECK(work->test());
    CHECK(t.to_vector<float>()[999] == doctest::Approx(pg().size() * (pg().size() + 1) / 2.0));
  }

  TEST_CASE("broadcast: every rank gets root's tensor") {
    const int root = pg().size() - 1;
    Tensor t = full({3, 2}, pg().rank() * 10.0);
    pg().broadcast(t, root);
    for (float v : t.to_vector<float>()) CHECK(v == root * 10.0f);
    CHECK_THROWS_WITH_AS(pg().broadcast(t, pg().size()), doctest::Contains("not a rank"), Error);
  }

  TEST_CASE("all_gather and gather stack the ranks' rows in rank order, uneven counts included") {
    const int r = pg().rank(), n = pg().size();
    Tensor mine = full({r + 1, 2}, static_cast<double>(r), {.dtype = DType::float64});  // rank r: r + 1 rows of r
    std::vector<double> expect;
    for (int k = 0; k < n; ++k)
      for (int j = 0; j < 2 * (k + 1); ++j) expect.push_back(k);
    const Tensor all = pg().all_gather(mine);
    CHECK(all.shape() == Shape{n * (n + 1) / 2, 2});
    CHECK(all.to_vector<double>() == expect);
    const Tensor at_root = pg().gather(mine, 0);
    CHECK(at_root.defined() == (r == 0));
    if (r == 0) CHECK(at_root.to_vector<double>() == expect);
    // A rank with no rows takes part too.
    const Tensor none = pg().all_gather(zeros({r == 0 ? 0 : 1, 3}));
    CHECK(none.size(0) == n - 1);
    pg().barrier();
  }

  TEST_CASE("all_gather: rows that disagree between ranks are an error on every rank") {
    if (pg().size() == 1) return;
    Tensor mine = zeros({1, pg().rank() == 0 ? 2 : 3});
    CHECK_THROWS_WITH_AS(pg().all_gather(mine), doctest::Contains("every rank's rows must agree"), Error);
  }

  TEST_CASE("shard splits n items into contiguous ranges in rank order, the first ranks one longer") {
    CHECK(dist::shard(10, 0, 3).begin == 0);
    CHECK(dist::shard(10, 0, 3).end == 4);
    CHECK(dist::shard(10, 1, 3).begin == 4);
    CHECK(dist::shard(10, 2, 3).end == 10);
    CHECK(dist::shard(2, 2, 3).size() == 0);
    CHECK_THROWS_AS(dist::shard(5, 3, 3), Error);
  }

  TEST_CASE("DistributedSampler: the ranks' shards cover every index exactly once per epoch") {
    const int r = pg().rank(), n = pg().size();
    const std::int64_t N = 12 * n;
    nn::DistributedSampler sampler(N, {.seed = 3, .num_replicas = n, .rank = r});
    for (int epoch = 0; epoch < 3; ++epoch) {
      Tensor all = pg().all_gather(sampler.next_epoch());
      auto idx = all.to_vector<std::int64_t>();
      std::sort(idx.begin(), idx.end());
      std::vector<std::int64_t> every(static_cast<std::size_t>(N));
      std::iota(every.begin(), every.end(), 0);
      CHECK(idx == every);
    }
  }

  TEST_CASE("DistributedSampler: the padding rule and drop_last, for every rank of three") {
    // 7 samples, 3 ranks: the permutation p is extended by p0, p1 to 9 entries; rank r takes p[r::3].
    Generator g(5);
    const auto p = randperm(7, kCPU, &g).to_vector<std::int64_t>();
    std::vector<std::int64_t> seen;
    for (int r = 0; r < 3; ++r) {
      nn::DistributedSampler s(7, {.seed = 5, .num_replicas = 3, .rank = r});
      CHECK(s.num_samples() == 3);
      const auto mine = s.next_epoch().to_vector<std::int64_t>();
      for (std::size_t j = 0; j < mine.size(); ++j) CHECK(mine[j] == p[(r + 3 * j) % 7]);
      seen.insert(seen.end(), mine.begin(), mine.end());
      nn::DistributedSampler dropped(7, {.seed = 5, .num_replicas = 3, .rank = r, .drop_last = true});
      CHECK(dropped.num_samples() == 2);
    }
    std::sort(seen.begin(), seen.end());
    CHECK(std::unique(seen.begin(), seen.end()) - seen.begin() == 7);  // all 7, two of them twice
    // One replica without shuffling: 0..N-1, as a plain DataLoader.
    CHECK(nn::DistributedSampler(4, {.shuffle = false}).next_epoch().to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{0, 1, 2, 3});
  }

  TEST_CASE("DDP starts every rank from rank 0's weights") {
    manual_seed(100 + static_cast<std::uint64_t>(pg().rank()));  // different weights on every rank
    auto model = nn::make_classifier("dense");
    dist::DistributedDataParallel ddp(model->parameters(), dist::init());
    for (const Tensor& p : model->parameters()) {
      Tensor gathered = pg().all_gather(p.detach().reshape({1, p.numel()}));
      for (int k = 1; k < pg().size(); ++k) CHECK(max_abs_diff(gathered.select(0, k), gathered.select(0, 0)) == 0);
    }
  }

  TEST_CASE("DDP on the DenseModel and the CNN equals one process on the global batch") {
    const auto [x, y] = toy_data(96);
    for (const char* name : {"dense", "cnn"}) {
      CAPTURE(name);
      manual_seed(1);
      auto reference = nn::make_classifier(name);
      auto model = nn::make_classifier(name);
      copy_parameters(*reference, *model);
      train(*reference, x, y, /*global_batch=*/24, /*steps=*/4, /*ddp=*/false);  // 24: splits over 1, 2, 3, 4 ranks
      train(*model, x, y, 24, 4, /*ddp=*/true);
      // Adam's first steps are ±lr wherever |g| >> eps, so a gradient near 0 that rounds differently moves a
      // weight by up to lr (1e-3): 1e-4 allows that for a few weights; the shards without DDP miss by more.
      CHECK(max_param_diff(*model, *reference) < 1e-4);
      if (pg().size() > 1) {
        // The same shards without the all-reduce drift apart: the comparison above can fail.
        auto alone = nn::make_classifier(name);
        manual_seed(1);
        auto start = nn::make_classifier(name);
        copy_parameters(*start, *alone);
        nn::Adam adam(alone->parameters(), {.lr = 1e-3});
        nn::DataLoader loader(x, y, {.batch_size = 24 / pg().size(), .seed = 7, .num_replicas = pg().size(), .rank = pg().rank()});
        int done = 0;
        for (const nn::Batch& b : loader) {
          if (done++ == 4) break;
          adam.zero_grad();
          nn::cross_entropy((*alone)(b.x), b.y).backward();
          adam.step();
        }
        CHECK(max_param_diff(*alone, *reference) > 1e-3);
      }
    }
  }

  TEST_CASE("DDP's buckets: several, each started during backward, before the first layer's gradient") {
    manual_seed(2);
    auto model = nn::make_classifier("dense");  // fc1 is 2352×… floats: more than a 0.25 MiB bucket
    dist::DistributedDataParallel ddp(model->parameters(), dist::init(), {.bucket_mib = 0.25});
    CHECK(ddp.bucket_count() >= 2);
    const Tensor first = model->parameters().front();  // fc1.weight: its gradient comes last
    std::int64_t started_before_first = -1;
    const int h = first.register_post_accumulate_grad_hook(
        [&](const Tensor&) { started_before_first = ddp.stats().buckets_reduced; });
    const auto [x, y] = toy_data(8);
    nn::cross_entropy((*model)(x), y).backward();
    first.remove_hook(h);
    CHECK(started_before_first >= 1);  // the later layers' buckets were already in flight
    CHECK(ddp.stats().buckets_reduced == static_cast<std::int64_t>(ddp.bucket_count()));
    CHECK(ddp.stats().reductions == 1);
  }

  TEST_CASE("DDP's no_sync accumulates locally; the next backward averages the sums") {
    manual_seed(3);
    auto model = nn::make_classifier("dense");
    auto reference = nn::make_classifier("dense");
    dist::DistributedDataParallel ddp(model->parameters(), dist::init());
    copy_parameters(*model, *reference);  // after the broadcast: rank 0's weights
    const auto [x, y] = toy_data(8 * pg().size());
    const auto micro = [&](int rank, int k) { return std::pair{x.narrow(0, 8 * rank + 4 * k, 4), y.narrow(0, 8 * rank + 4 * k, 4)}; };
    {
      auto scope = ddp.no_sync();
      auto [a, ya] = micro(pg().rank(), 0);
      nn::cross_entropy((*model)(a), ya).backward();
      CHECK(ddp.stats().reductions == 0);
    }
    auto [b, yb] = micro(pg().rank(), 1);
    nn::cross_entropy((*model)(b), yb).backward();
    CHECK(ddp.stats().reductions == 1);
    // One process: the mean over the ranks of each rank's two micro-batch gradients summed.
    for (int r = 0; r < pg().size(); ++r)
      for (int k = 0; k < 2; ++k) {
        auto [m, ym] = micro(r, k);
        (nn::cross_entropy((*reference)(m), ym) * (1.0 / pg().size())).backward();
      }
    const auto pm = model->parameters(), pr = reference->parameters();
    for (std::size_t i = 0; i < pm.size(); ++i) CHECK(max_abs_diff(pm[i].grad(), pr[i].grad()) < 1e-6);
  }

  TEST_CASE("checkpoints: rank 0 writes, every rank resumes the same model") {
    const auto dir = std::filesystem::temp_directory_path() / "lumen_dist_test";
    // Every rank agrees on the path: rank 0's job id is not needed, the directory is per test run.
    const std::string path = (dir / "model.safetensors").string();
    if (pg().rank() == 0) std::filesystem::create_directories(dir);
    manual_seed(4);
    auto model = nn::make_classifier("dense");
    dist::DistributedDataParallel ddp(model->parameters(), dist::init());
    dist::save_checkpoint(*model, path, {{"step", "3"}});
    auto resumed = nn::make_classifier("dense");
    nn::load(*resumed, path);
    CHECK(max_param_diff(*model, *resumed) == 0);
    pg().barrier();  // every rank has read it before rank 0 removes it
    if (pg().rank() == 0) std::filesystem::remove_all(dir);
  }

  TEST_CASE("Integrated Gradients split across ranks and gathered equals one process") {
    manual_seed(5);
    auto model = nn::make_classifier("dense");
    dist::DistributedDataParallel sync(model->parameters(), dist::init());  // rank 0's weights everywhere
    model->eval();
    const auto [x, y] = toy_data(7);  // 7 images: an uneven split
    const std::vector<std::int64_t> labels = y.to_vector<std::int64_t>();
    xai::IntegratedGradients ig(xai::forward_of(*model));
    const dist::Range mine = dist::shard(x.size(0), pg().rank(), pg().size());
    const std::vector<std::int64_t> my_labels(labels.begin() + mine.begin, labels.begin() + mine.end);
    const Tensor part = mine.size() > 0 ? ig.attribute(x.narrow(0, mine.begin, mine.size()), my_labels, {}, {.n_steps = 8})
                                        : zeros({0, 3, 28, 28});
    const Tensor gathered = pg().gather(part, 0);
    if (pg().rank() == 0) {
      const Tensor whole = ig.attribute(x, labels, {}, {.n_steps = 8});
      CHECK(max_abs_diff(gathered, whole) < 1e-6);
    }
  }
}
