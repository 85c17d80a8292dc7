// The counterfactual GAN of the DL@MBL knowledge-extraction exercise (CourseGan, gan/training.h) run by
// the one trainer (gan/trainer.h), and its counterfactuals (gan/counterfactuals.h): a few steps on
// small synthetic color data must give finite losses; a run interrupted at any step and resumed from
// its checkpoint must end with exactly the weights of an uninterrupted run; a last batch of one image
// is passed over but counted; the candidate selection of counterfactuals is checked on a toy classifier.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "gan/counterfactuals.h"
#include "gan/training.h"
#include "nn/safetensors.h"
#include "tests/fixtures/fixtures.h"
#include "tests/gan/gan_test_util.h"

using namespace lumen;
using namespace lumen::gan;
using lumen::testing::TempDir;
using namespace lumen::gan::testing;

namespace {

// n images [n, 3, 28, 28] of noise tinted by their class (0 red, 1 green, 2 blue, 3 yellow), labels [n].
std::pair<Tensor, Tensor> tinted(std::int64_t n, std::uint64_t seed) {
  lumen::Generator g(seed);
  Tensor labels = randint(0, 4, {n}, kCPU, &g);
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  const double colors[4][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}};
  std::vector<double> c;
  for (std::int64_t l : y) c.insert(c.end(), colors[l], colors[l] + 3);
  return {rand({n, 1, 28, 28}, {}, &g) * tensor(c, {n, 3, 1, 1}), labels};
}

GanOptions tiny(std::int64_t epochs) {
  return {.epochs = epochs, .batch_size = 8, .num_fmaps = 4, .seed = 21, .log_every = 0};
}

// logits = 10 · (mean of each of the 3 channels): the class is the dominant color channel.
class ChannelClassifier : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return mean(x, {2, 3}) * 10.0; }
  std::string type_name() const override { return "ChannelClassifier"; }
};

Tensor solid(const std::vector<std::array<double, 3>>& colors) {  // [N, 3, 2, 2] of flat colors
  std::vector<double> v;
  for (const auto& c : colors)
    for (double ch : c) v.insert(v.end(), 4, ch);
  return tensor(v, {static_cast<std::int64_t>(colors.size()), 3, 2, 2});
}

}  // namespace

TEST_SUITE("gan") {
  TEST_CASE("CourseGanTrainer: a few steps give finite losses, move the weights and the EMA copies") {
    auto [x, y] = tinted(16, 1);
    CourseGanTrainer t(tiny(1));
    GanModels& m = *t.recipe.models;
    const Tensor g0 = m.generator->parameters()[0].clone();
    const Tensor ema0 = m.generator_ema->parameters()[0].clone();
    const Tensor d0 = m.discriminator->parameters()[0].clone();
    CHECK(same_values(g0, ema0));  // the EMA copy starts equal
    for (int i = 0; i < 3; ++i) {
      const StepLosses l = t.train_step(x.narrow(0, 8 * (i % 2), 8), y.narrow(0, 8 * (i % 2), 8));
      CHECK(std::isfinite(l.cycle));
      CHECK(std::isfinite(l.adversarial));
      CHECK(std::isfinite(l.d_real));
      CHECK(std::isfinite(l.d_fake));
      CHECK(l.cycle > 0);
      CHECK(l.discriminator() == doctest::Approx(0.5 * (l.d_real - l.d_fake)));
    }
    const Tensor g1 = m.generator->parameters()[0], ema1 = m.generator_ema->parameters()[0];
    CHECK_FALSE(same_values(g0, g1));
    CHECK_FALSE(same_values(m.discriminator->parameters()[0], d0));
    // The EMA moved by about (1 − 0.999³) of the way: much less than the model itself.
    const double moved = sum(abs(g1 - g0)).item(), ema_moved = sum(abs(ema1 - ema0)).item();
    CHECK(ema_moved > 0);
    CHECK(ema_moved < 0.01 * moved);
    // The discriminator got gradients only in its own step (it was frozen for the generator's).
    for (const Tensor& p : m.discriminator->parameters()) CHECK(p.requires_grad());
    CHECK_THROWS_WITH_AS(t.train_step(x.narrow(0, 0, 1), y.narrow(0, 0, 1)), doctest::Contains("B >= 2"), Error);
  }

  TEST_CASE("CourseGanTrainer: the same weights with 1 and 2 threads") {
    // The kernels' parallel sums are cut into chunks fixed by the shapes, not by the thread count
    // (tests/nn/test_reproducible.cpp); 12 feature maps and batches of 16 make the convolutions and
    // the elementwise kernels large enough to run on several threads.
    auto [x, y] = tinted(32, 3);
    auto weights = [&](int threads) {
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      CourseGanTrainer t({.epochs = 1, .batch_size = 16, .num_fmaps = 12, .seed = 21, .log_every = 0});
      t.fit(x, y);
      omp_set_num_threads(before);
      return t.recipe.models->state_dict();
    };
    const nn::StateDict one = weights(1);
    CHECK(differing_entries(weights(2), one) == 0);
  }

  TEST_CASE("CourseGanTrainer: an interrupted run resumed from its checkpoint ends exactly as an uninterrupted one") {
    // One thread, the quickest here (the result is the same with any number, see the test above).
    const SingleThread one_thread;
    auto [x, y] = tinted(20, 2);  // batches of 8, 8, 4: 3 steps per epoch
    CourseGanTrainer full(tiny(2));
    std::int64_t epoch_ends = 0;
    full.fit(x, y, [&](CourseGanTrainer&) { ++epoch_ends; });
    CHECK(epoch_ends == 2);
    CHECK(full.step() == 6);
    CHECK(full.epoch() == 2);
    const nn::StateDict want = full.recipe.models->state_dict();

    TempDir dir("gan-resume");
    for (std::int64_t stop : {2, 3, 4}) {  // mid-epoch, at the epoch boundary, mid second epoch
      CAPTURE(stop);
      GanOptions o = tiny(2);
      o.max_steps = stop;
      CourseGanTrainer first(o);
      first.fit(x, y);
      CHECK(first.step() == stop);
      first.save_checkpoint(dir / "ckpt.safetensors");

      CourseGanTrainer resumed(tiny(2));
      resumed.load_checkpoint(dir / "ckpt.safetensors");
      CHECK(resumed.step() == stop);
      CHECK(resumed.epoch() == stop / 3);
      resumed.fit(x, y);
      CHECK(resumed.step() == 6);
      const nn::StateDict got = resumed.recipe.models->state_dict();
      CHECK(differing_entries(got, want) == 0);
      CHECK(differing_entries(resumed.recipe.opt_g.state_dict(), full.recipe.opt_g.state_dict()) == 0);
    }

    // The networks alone load from the checkpoint, built from its metadata.
    full.save_checkpoint(dir / "full.safetensors");
    auto models = load_gan_models(dir / "full.safetensors");
    CHECK(models->generator->unet->options.num_fmaps == 4);
    CHECK(same_values(models->generator_ema->parameters()[3], full.recipe.models->generator_ema->parameters()[3]));
    GanOptions wider = tiny(2);
    wider.num_fmaps = 6;
    CourseGanTrainer other(wider);
    CHECK_THROWS_WITH_AS(other.load_checkpoint(dir / "full.safetensors"), doctest::Contains("holds num_fmaps 4"), Error);
    GanOptions raw = tiny(2);
    raw.sigmoid = false;
    CourseGanTrainer raw_trainer(raw);
    CHECK_THROWS_WITH_AS(raw_trainer.load_checkpoint(dir / "full.safetensors"), doctest::Contains("sigmoid 1"), Error);
    CHECK(budget_recipe().sigmoid == false);
  }

  TEST_CASE("CourseGanTrainer: a last batch of one image is passed over but counted; progress lines") {
    auto [x, y] = tinted(17, 4);  // batches of 8, 8, 1
    std::FILE* log = std::tmpfile();
    REQUIRE(log != nullptr);
    GanOptions o = tiny(1);
    o.log_every = 2;
    o.log = log;
    CourseGanTrainer t(o);
    t.fit(x, y);
    CHECK(t.step() == 3);  // the batch of one counts as a step without training on it
    CHECK(t.epoch() == 1);
    std::rewind(log);
    std::vector<std::string> lines;
    for (char buf[256]; std::fgets(buf, sizeof buf, log);) lines.emplace_back(buf);
    std::fclose(log);
    // One line after step 2; none at the end of the epoch, whose last step trained nothing.
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("epoch 1/1 step 2/3  cycle ", 0) == 0);
    CHECK(lines[0].find("| D real ") != std::string::npos);
    CHECK(lines[0].find(" steps/s\n") != std::string::npos);
  }

  TEST_CASE("select_candidates: first flip kept, else the best p(target); stops once all flipped") {
    ChannelClassifier clf;
    const std::int64_t blue = 2;
    // Three inputs, three candidates each (rows: inputs).
    const std::vector<Tensor> cands = {
        solid({{0, 0, 1}, {1, 0, 0}, {1, 0, 0}}),        // input 0 flips at once
        solid({{1, 0, 0}, {0.6, 0, 0.5}, {1, 0, 0.1}}),  // input 1, 2: closer to blue, not flipped
        solid({{0, 1, 0}, {0, 0, 1}, {1, 0, 0.05}}),     // input 1 flips; input 2 worse than candidate 1
    };
    std::int64_t made = 0;
    Counterfactuals cf = select_candidates(3, [&](std::int64_t m) { ++made; return cands[m]; }, clf, blue);
    CHECK(made == 3);
    CHECK(cf.candidate.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2, 1});
    CHECK(cf.predicted.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 2, 0});
    CHECK(same_values(cf.images.select(0, 0), cands[0].select(0, 0)));
    CHECK(same_values(cf.images.select(0, 1), cands[2].select(0, 1)));
    CHECK(same_values(cf.images.select(0, 2), cands[1].select(0, 2)));
    const std::vector<float> p = cf.p_target.to_vector<float>();
    CHECK(p[0] > 0.5f);
    CHECK(p[2] < 0.5f);
    const double e = std::exp(10 * 0.1), want = e / (std::exp(10.0) + 1 + e);  // softmax of (10, 0, 1)
    CHECK(p[2] == doctest::Approx(want).epsilon(1e-5));

    // Once every input has flipped no further candidate is made.
    made = 0;
    cf = select_candidates(3, [&](std::int64_t) { ++made; return solid({{0, 0, 1}, {0, 0, 1}}); }, clf, blue);
    CHECK(made == 1);
    CHECK_THROWS_WITH_AS(select_candidates(1, [&](std::int64_t) { return cands[0]; }, clf, 5),
                         doctest::Contains("target in [0, K)"), Error);
  }

  TEST_CASE("counterfactuals with the GAN's networks: prototypes, candidates, grid and flip report") {
    auto [x, y] = tinted(24, 3);
    manual_seed(5);
    gan::Generator g({.num_fmaps = 4});
    StyleEncoder enc;
    ChannelClassifier clf;  // 3 logits: red, green, blue
    // Prototypes ranked by the classifier: for class 3 (yellow) p(3) is 0 for all, so data order holds.
    Prototypes protos = select_prototypes(x, y, 3, 2, &clf);
    REQUIRE(protos.num_classes() == 3);
    const std::vector<std::int64_t> yv = y.to_vector<std::int64_t>();
    for (std::int64_t c = 0; c < 3; ++c) {
      CHECK(protos.images[c].size(0) == 2);
      // Highest p(c) first: the brighter image of class c comes first.
      Tensor p = softmax(clf(protos.images[c]), 1).select(1, c);
      CHECK(p[0].item() >= p[1].item());
    }
    CHECK_THROWS_WITH_AS(select_prototypes(x, y, 6, 1), doctest::Contains("class 4 has no image"), Error);

    Counterfactuals one = counterfactual(g, enc, x.narrow(0, 0, 5), 1, protos);
    CHECK(one.images.shape() == Shape{5, 3, 28, 28});
    CHECK_FALSE(one.p_target.defined());
    Counterfactuals two = counterfactual(g, enc, x.narrow(0, 0, 5), 1, protos, {.max_candidates = 5, .classifier = &clf});
    for (std::int64_t m : two.candidate.to_vector<std::int64_t>()) CHECK((m == 0 || m == 1));  // only 2 prototypes
    CHECK_THROWS_WITH_AS(counterfactual(g, enc, x, 1, protos, {.max_candidates = 2}),
                         doctest::Contains("needs a classifier"), Error);
    CHECK_THROWS_WITH_AS(counterfactual(g, enc, x, 3, protos), doctest::Contains("out of range"), Error);

    // A generator without the final sigmoid can leave [0, 1]; its counterfactuals are clamped.
    gan::Generator raw({.num_fmaps = 4, .sigmoid = false});
    {
      autograd::NoGradGuard no_grad;
      Tensor b = raw.unet->final_conv->bias;
      b.copy_(tensor({5.0, -5.0, 0.0}));
    }
    const Tensor raw_out = raw(x.narrow(0, 0, 3), enc(protos.images[0].narrow(0, 0, 1)));
    CHECK(amax(raw_out).item() > 1.0);
    CHECK(amin(raw_out).item() < 0.0);
    const Tensor clamped = counterfactual(raw, enc, x.narrow(0, 0, 3), 0, protos).images;
    CHECK(amax(clamped).item() <= 1.0);
    CHECK(amin(clamped).item() >= 0.0);

    Tensor grid = counterfactual_grid(g, enc, x.narrow(0, 0, 2), protos, 2);
    CHECK(grid.shape() == Shape{3, (2 * 30 + 2) * 2, (4 * 30 + 2) * 2});  // rows: 2 sources; columns: source + 3

    // The report agrees with the counterfactuals made directly (here in uneven batches of 5).
    FlipReport r = evaluate_flips(g, enc, clf, x.narrow(0, 0, 12), y.narrow(0, 0, 12), protos, 2, 5);
    CHECK(r.pairs == 36);
    REQUIRE(r.confusion.shape() == Shape{3, 3});
    const std::vector<std::int64_t> counts = r.confusion.to_vector<std::int64_t>();
    std::int64_t trace = 0;
    for (std::int64_t t = 0; t < 3; ++t) {
      const std::vector<std::int64_t> pred =
          counterfactual(g, enc, x.narrow(0, 0, 12), t, protos, {.max_candidates = 2, .classifier = &clf})
              .predicted.to_vector<std::int64_t>();
      std::vector<std::int64_t> row(3, 0);
      for (std::int64_t p : pred) ++row[p];
      CHECK(std::vector<std::int64_t>(counts.begin() + 3 * t, counts.begin() + 3 * t + 3) == row);
      trace += row[t];
    }
    CHECK(r.flip_rate == doctest::Approx(trace / 36.0));
    CHECK(r.flip_rate_changed >= 0.0);
    CHECK(r.flip_rate_changed <= 1.0);
  }
}
