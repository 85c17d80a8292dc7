// The metadata of a GAN checkpoint is checked against the run before it is used: a file whose epoch
// is 10^12 made the resumed run replay 10^12 epochs of batch orders (it looped until killed), and
// "12abc" read as 12. Each field of a checkpoint is damaged in turn; loading (or the fit after it, for
// what depends on the images) must fail with an error naming the file, the field and what was expected.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "gan/stargan.h"
#include "gan/training.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using namespace lumen::gan;
using lumen::testing::TempDir;
using Catch = doctest::Contains;

namespace {

GanOptions tiny(std::int64_t epochs) {
  return {.epochs = epochs, .batch_size = 8, .num_fmaps = 4, .seed = 21, .log_every = 0};
}

// 20 random images [20, 3, 28, 28] with labels: batches of 8, 8, 4, so 3 steps per epoch.
std::pair<Tensor, Tensor> images() {
  lumen::Generator g(3);
  return {rand({20, 3, 28, 28}, {}, &g), randint(0, 4, {20}, kCPU, &g)};
}

// A copy of the checkpoint at src in dst with meta[key] = value (or without key when value is null).
void retag(const std::string& src, const std::string& dst, const std::string& key, const char* value) {
  const std::map<std::string, Tensor> all = nn::load_safetensors(src);
  nn::Metadata meta = nn::read_safetensors_metadata(src);
  if (value) meta[key] = value;
  else meta.erase(key);
  nn::save_safetensors(dst, {all.begin(), all.end()}, meta);
}

}  // namespace

TEST_SUITE("gan") {
  TEST_CASE("GAN checkpoints: a damaged metadata field is an error naming the file and the field") {
    auto [x, y] = images();
    TempDir dir("gan-meta");
    const std::string good = dir / "good.safetensors", bad = dir / "bad.safetensors";
    {
      GanOptions o = tiny(2);
      o.max_steps = 4;  // mid-way through the second epoch
      CourseGanTrainer t(o);
      t.fit(x, y);
      t.save_checkpoint(good);
    }
    {  // the undamaged file resumes
      CourseGanTrainer t(tiny(2));
      t.load_checkpoint(good);
      t.fit(x, y);
      CHECK(t.step() == 6);
    }

    struct Case {
      const char* key;
      const char* value;   // nullptr: the field is removed
      const char* expect;  // part of the error
    };
    // Checked when the file is loaded.
    const std::vector<Case> at_load = {
        {"epoch", "1000000000000", "metadata 'epoch' = '1000000000000', expected an integer in [0, 2]"},
        {"epoch", "-1", "metadata 'epoch' = '-1', expected an integer in [0, 2]"},
        {"epoch", "1x", "metadata 'epoch' = '1x', expected an integer"},
        {"epoch", nullptr, "has no metadata 'epoch'"},
        {"step", "", "metadata 'step' = '', expected an integer"},
        {"step_in_epoch", "-2", "metadata 'step_in_epoch' = '-2', expected an integer"},
        {"batch_size", "16", "metadata 'batch_size' = 16, expected this run's 8"},
        {"seed", "abc", "metadata 'seed' = 'abc', expected an integer in [0, 18446744073709551615]"},
        {"seed", "18446744073709551616", "metadata 'seed' = '18446744073709551616', expected an integer"},
        {"seed", "22", "metadata 'seed' = 22, expected this run's 21"},
        {"perm_seed", "x", "metadata 'perm_seed' = 'x', expected an integer"},
        {"perm_seed", "7", "metadata 'perm_seed' = 7, expected this run's 23"},
        {"perm_offset", "-1", "metadata 'perm_offset' = '-1', expected an integer"},
        {"num_fmaps", "4x", "metadata 'num_fmaps' = '4x', expected an integer"},
        {"format", "lumen StarGAN v2 (gan/stargan.h)", "not a checkpoint of the lumen counterfactual GAN"},
        {"steps_per_epoch", "0", "metadata 'steps_per_epoch' = '0', expected an integer in [1, "},
    };
    for (const Case& c : at_load) {
      CAPTURE(c.key);
      CAPTURE(c.value);
      retag(good, bad, c.key, c.value);
      CourseGanTrainer t(tiny(2));
      CHECK_THROWS_WITH_AS(t.load_checkpoint(bad), Catch(("checkpoint '" + bad + "'").c_str()), Error);
      CHECK_THROWS_WITH_AS(t.load_checkpoint(bad), Catch(c.expect), Error);
    }
    // Checked by the fit that follows, which knows the number of steps per epoch (3 here).
    const std::vector<Case> at_fit = {
        {"step", "5", "metadata 'step' = 5, expected 4 (epoch 1 × 3 steps per epoch + step_in_epoch 1)"},
        {"step_in_epoch", "3", "metadata 'step_in_epoch' = 3, expected an integer in [0, 2]"},
        {"steps_per_epoch", "4", "metadata 'steps_per_epoch' = 4, expected this run's 3"},
    };
    for (const Case& c : at_fit) {
      CAPTURE(c.key);
      CAPTURE(c.value);
      retag(good, bad, c.key, c.value);
      CourseGanTrainer t(tiny(2));
      t.load_checkpoint(bad);
      CHECK_THROWS_WITH_AS(t.fit(x, y), Catch(("checkpoint '" + bad + "'").c_str()), Error);
      CourseGanTrainer u(tiny(2));
      u.load_checkpoint(bad);
      CHECK_THROWS_WITH_AS(u.fit(x, y), Catch(c.expect), Error);
    }
    // The same file trained on other images (2 steps per epoch) is not this run's.
    CourseGanTrainer t(tiny(2));
    t.load_checkpoint(good);
    CHECK_THROWS_WITH_AS(t.fit(x.narrow(0, 0, 16), y.narrow(0, 0, 16)), Catch("expected this run's 2"), Error);
  }

  TEST_CASE("GAN checkpoints: the networks alone are built only from an architecture within range") {
    TempDir dir("gan-meta");
    const std::string good = dir / "good.safetensors", bad = dir / "bad.safetensors";
    CourseGanTrainer(tiny(1)).save_checkpoint(good);
    CHECK(load_gan_models(good)->generator->unet->options.num_fmaps == 4);
    for (const auto& [key, value] : std::vector<std::pair<const char*, const char*>>{
             {"num_fmaps", "4000000000"}, {"depth", "30"}, {"num_classes", "1"}, {"style_size", "0"}, {"sigmoid", "2"}}) {
      CAPTURE(key);
      retag(good, bad, key, value);
      CHECK_THROWS_WITH_AS(load_gan_models(bad), Catch(("metadata '" + std::string(key) + "' = '" + value +
                                                        "', expected an integer in").c_str()),
                           Error);
    }
    retag(good, bad, "format", "something else");
    CHECK_THROWS_WITH_AS(load_gan_models(bad), Catch("not a checkpoint of the lumen counterfactual GAN"), Error);
    CHECK_THROWS_WITH_AS(load_stargan_models(good), Catch("not a checkpoint of the lumen StarGAN v2"), Error);
  }
}
