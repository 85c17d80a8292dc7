// The exercise's GAN (CourseGan, gan/training.h) trained data parallel under `mpirun -np 2` (and as one
// process, where the group has one rank and no DDP is made): every rank takes the same global batches
// and permutations and trains on its shard of rows, DDP averages the gradients, so the weights equal
// those of one process on the whole batch. Each case also trains that one process in the same test (a
// CourseGan without a group), so both runs see the same data. Every rank runs every case in order.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/process_group.h"
#include "gan/stargan.h"
#include "gan/training.h"
#include "nn/dataloader.h"
#include "tests/gan/gan_test_util.h"

using namespace lumen;
using namespace lumen::gan;

namespace {

dist::ProcessGroup& pg() { return dist::world(); }

// 60 images [3, 28, 28] with labels 0..3, the same on every rank (a fixed seed): batches of 12 (which
// split over 1, 2, 3 or 4 ranks) give 5 steps per epoch, so a run of 4 steps stops before the end of
// the epoch, whose EMA copy-back would replace the networks by their (slowly moving) averages and hide
// the differences compared here.
std::pair<Tensor, Tensor> synthetic(std::int64_t n = 60) {
  lumen::Generator g(11);
  Tensor x = rand({n, 3, 28, 28}, {}, &g);
  Tensor y = randint(0, 4, {n}, kCPU, &g);
  return {x, y};
}

// Learning rates of 1e-3 (the recipe's are 1e-4 and 1e-5) so that 4 Adam steps move every network by
// far more than the tolerance; an EMA decay of 0.5 so that the EMA copies move too.
GanOptions options(std::int64_t epochs, std::int64_t max_steps, std::shared_ptr<dist::ProcessGroup> group) {
  return {.epochs = epochs, .batch_size = 12, .lr_g = 1e-3, .lr_d = 1e-3, .ema_beta = 0.5, .num_fmaps = 4, .seed = 21,
          .log_every = 0, .max_steps = max_steps, .group = std::move(group)};
}

// The largest difference between two state dicts of the same networks (EMA copies included).
double max_difference(const nn::StateDict& a, const nn::StateDict& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].first == b[i].first);
    m = std::max(m, amax(abs(a[i].second - b[i].second)).item());
  }
  return m;
}

// A folder every rank agrees on: named after rank 0's process id, so that concurrent test runs differ.
std::filesystem::path shared_dir(const std::string& tag) {
  Tensor id = full({1}, static_cast<double>(::getpid()), {.dtype = DType::int64});
  pg().broadcast(id, 0);
  return std::filesystem::temp_directory_path() /
         ("lumen-" + tag + "-" + std::to_string(static_cast<std::int64_t>(id.item())));
}

}  // namespace

TEST_SUITE("dist") {
  TEST_CASE("CourseGan data parallel equals one process on the whole batch; shards without DDP do not") {
    const testing::SingleThread one_thread;  // the ranks share the machine's cores
    const auto [x, y] = synthetic();
    CourseGanTrainer parallel(options(1, 4, dist::init()));
    CHECK((parallel.recipe.ddp_g != nullptr) == (pg().size() > 1));  // one process: no DDP at all
    parallel.fit(x, y);
    CHECK(parallel.step() == 4);
    if (parallel.recipe.ddp_g) {
      CHECK(parallel.recipe.ddp_g->stats().reductions == 4);
      CHECK(parallel.recipe.ddp_d->stats().reductions == 4);
    }

    CourseGanTrainer one(options(1, 4, nullptr));  // the whole batch in this process, as W = 1
    one.fit(x, y);
    const nn::StateDict want = one.recipe.models->state_dict();
    // Adam's first steps are about ±lr wherever |g| >> eps, so a gradient near 0 that rounds differently
    // (other sums: halves of the batch, then their mean) can move a weight by up to lr: 1e-4 allows
    // that for a few weights of the 1e-3 steps, which the runs below miss by far more.
    const double parallel_diff = max_difference(parallel.recipe.models->state_dict(), want);
    MESSAGE("data parallel vs one process: max |difference| ", parallel_diff);
    CHECK(parallel_diff < 1e-4);
    // The losses returned are the whole batch's (the ranks' means averaged), as one process's.
    CHECK(parallel.last_losses().cycle == doctest::Approx(one.last_losses().cycle).epsilon(1e-4));
    CHECK(parallel.last_losses().d_fake == doctest::Approx(one.last_losses().d_fake).epsilon(1e-4));

    // The comparison can fail: rank 0's shard of each batch (of 2 ranks), trained without DDP.
    CourseGanTrainer alone(options(1, 4, nullptr));
    nn::DataLoader loader(x, y, {.batch_size = 12, .shuffle = true, .seed = alone.recipe.settings().batch_seed});
    loader.start_epoch();
    const dist::Range half = dist::shard(12, 0, 2);
    for (std::int64_t i = 0; i < 4; ++i) {
      const nn::Batch b = loader.batch(i);
      alone.train_step(b.x.narrow(0, half.begin, half.size()), b.y.narrow(0, half.begin, half.size()));
    }
    const double alone_diff = max_difference(alone.recipe.models->state_dict(), want);
    MESSAGE("half of each batch without DDP vs one process: max |difference| ", alone_diff);
    CHECK(alone_diff > 1e-3);
  }

  TEST_CASE("CourseGan data parallel: a checkpoint written by rank 0 mid-run resumes on every rank") {
    const testing::SingleThread one_thread;
    const auto [x, y] = synthetic();
    const std::filesystem::path dir = shared_dir("dist-gan");
    if (pg().rank() == 0) std::filesystem::create_directories(dir);
    const std::string path = (dir / "checkpoint.safetensors").string();

    CourseGanTrainer uninterrupted(options(2, 0, dist::init()));  // 10 steps, an EMA copy-back after 5
    uninterrupted.fit(x, y);
    CHECK(uninterrupted.step() == 10);

    for (std::int64_t stop : {3, 7}) {  // mid first epoch, mid second epoch
      CAPTURE(stop);
      CourseGanTrainer first(options(2, stop, dist::init()));
      first.fit(x, y);
      first.save_checkpoint(path);  // rank 0 writes; every rank returns once the file is complete
      CHECK(std::filesystem::exists(path));

      CourseGanTrainer resumed(options(2, 0, dist::init()));
      resumed.load_checkpoint(path);  // every rank reads the one file
      CHECK(resumed.step() == stop);
      resumed.fit(x, y);
      CHECK(resumed.step() == 10);
      // The same collectives in the same order as the uninterrupted run: the same bits.
      CHECK(testing::differing_entries(resumed.recipe.models->state_dict(), uninterrupted.recipe.models->state_dict()) == 0);
      CHECK(testing::differing_entries(resumed.recipe.opt_d.state_dict(), uninterrupted.recipe.opt_d.state_dict()) == 0);
      pg().barrier();  // every rank has read it before the next round rewrites it
    }
    pg().barrier();
    if (pg().rank() == 0) std::filesystem::remove_all(dir);
  }

  TEST_CASE("GAN training over several ranks: uneven batches and one-process recipes are refused") {
    if (pg().size() == 1) return;
    const auto [x, y] = synthetic();
    const int w = pg().size();
    GanOptions uneven = options(1, 0, dist::init());
    uneven.batch_size = 2 * w + 1;
    CHECK_THROWS_WITH_AS(CourseGan{uneven}, doctest::Contains("does not split evenly"), Error);
    // Batches of 2w images, the last one of w + 1: that one must split too.
    GanOptions last = options(1, 0, dist::init());
    last.batch_size = 2 * w;
    const auto [x_odd, y_odd] = synthetic(2 * last.batch_size + w + 1);
    CourseGanTrainer t(last);
    CHECK_THROWS_WITH_AS(t.fit(x_odd, y_odd), doctest::Contains("the last batch"), Error);
    CHECK(t.step() == 0);  // refused before the first step
    // A run without a process group under mpirun would train on every rank and write the same files.
    if (dist::launched_by_mpi()) {
      const std::filesystem::path dir = shared_dir("dist-gan-refused");
      CourseGanTrainer course(options(1, 0, nullptr));
      CHECK_THROWS_WITH_AS(course.run(dir.string(), false, x, y, [](CourseGanTrainer&) { return Tensor(); }),
                           doctest::Contains("trains in one process only"), Error);
      StarGanTrainer stargan(StarGanOptions{.latent_dim = 4, .style_dim = 4, .channels = 4, .res_blocks = 1,
                                            .mapping_hidden = 8, .epochs = 1, .log_every = 0});
      CHECK_THROWS_WITH_AS(stargan.run(dir.string(), false, x, y, [](StarGanTrainer&) { return Tensor(); }),
                           doctest::Contains("StarGAN"), Error);
      CHECK_FALSE(std::filesystem::exists(dir));  // refused before anything was written
    }
  }
}
