// The StarGAN v2 option (gan/stargan_networks.h, gan/stargan.h): R1 by double backward against
// finite differences (its value and its gradient in the discriminator's weights), the networks'
// shapes and per-class heads, AdaIN's statistics, a few training steps on small synthetic data,
// checkpoint/resume with the one trainer (StarGanTrainer), and counterfactuals from random latents
// chosen among candidates by a toy classifier.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "gan/stargan.h"
#include "nn/safetensors.h"
#include "tests/fixtures/fixtures.h"
#include "tests/gan/gan_test_util.h"

using namespace lumen;
using namespace lumen::gan;
using lumen::testing::TempDir;
using namespace lumen::gan::testing;

namespace {

bool close(double a, double b, double rel, double abs_tol = 1e-12) {
  return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b)) + abs_tol;
}

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

StarGanOptions small() {
  return {.latent_dim = 8, .style_dim = 8, .channels = 8, .mapping_hidden = 16, .seed = 3};
}

// A tiny 8×8 configuration for fit/resume.
StarGanOptions tiny8(std::int64_t epochs) {
  return {.image_size = 8, .latent_dim = 4, .style_dim = 4, .channels = 4, .res_blocks = 1, .mapping_hidden = 8,
          .seed = 21, .epochs = epochs, .batch_size = 4, .log_every = 0};
}

// logits = 10 · (mean of each of the 3 channels): the class is the dominant color channel.
class ChannelClassifier : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return mean(x, {2, 3}) * 10.0; }
  std::string type_name() const override { return "ChannelClassifier"; }
};

// logits = 10 · the 3 channels of the centre pixel: one pixel varies more from latent to latent.
class PixelClassifier : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override {
    return x.narrow(2, x.size(2) / 2, 1).narrow(3, x.size(3) / 2, 1).reshape({x.size(0), x.size(1)}) * 10.0;
  }
  std::string type_name() const override { return "PixelClassifier"; }
};

}  // namespace

TEST_SUITE("gan") {
  TEST_CASE("StarGAN v2: R1 by double backward equals finite differences, in the input and in the weights") {
    manual_seed(11);
    StarGanDiscriminator D({.image_size = 8, .num_classes = 2, .channels = 2});
    D.to(DType::float64);
    lumen::Generator g(5);
    const Tensor x = uniform({2, 3, 8, 8}, 0.0, 1.0, {DType::float64}, &g).contiguous();
    const Tensor y = tensor_from({1, 0});
    const double h = 1e-6;

    // ½ · mean_n ||∂ΣD/∂x_n||², the input gradient by central differences.
    auto d_sum = [&](const Tensor& xi) {
      autograd::NoGradGuard no_grad;
      return D(xi, y).sum().item();
    };
    Tensor xp = x.clone();
    double* px = xp.data<double>();
    double sq = 0;
    for (std::int64_t j = 0; j < xp.numel(); ++j) {
      const double v = px[j];
      px[j] = v + h;
      const double fp = d_sum(xp);
      px[j] = v - h;
      const double fm = d_sum(xp);
      px[j] = v;
      const double gj = (fp - fm) / (2 * h);
      sq += gj * gj;
    }
    const double r1_fd = 0.5 * sq / 2.0;
    const Tensor r1 = r1_penalty(D, x, y);
    CHECK(r1.requires_grad());
    CHECK(r1.item() > 0);
    INFO("R1 ", r1.item(), " vs finite differences ", r1_fd);
    CHECK(close(r1.item(), r1_fd, 1e-6));

    // ∂R1/∂w through the double backward vs central differences of R1 in a few weights.
    D.zero_grad();
    r1.backward();
    const nn::StateDict params = D.named_parameters();
    int checked = 0;
    for (const auto& [name, p] : params) {
      if (name != "trunk.conv0.weight" && name != "trunk.conv2.weight" && name != "trunk.conv3.weight" &&
          name != "head.weight")
        continue;
      INFO(name);
      REQUIRE(p.grad().defined());
      const std::vector<double> grad = p.grad().contiguous().to_vector<double>();
      for (std::int64_t k : {std::int64_t{0}, p.numel() / 2, p.numel() - 1}) {
        Tensor w = p;  // the same storage
        double* pw = w.data<double>();
        const double v = pw[k];
        pw[k] = v + h;
        const double fp = r1_penalty(D, x, y).item();
        pw[k] = v - h;
        const double fm = r1_penalty(D, x, y).item();
        pw[k] = v;
        const double fd = (fp - fm) / (2 * h);
        INFO(name, "[", k, "]: double backward ", grad[static_cast<std::size_t>(k)], " vs finite differences ", fd);
        CHECK(close(grad[static_cast<std::size_t>(k)], fd, 1e-5, 1e-12));
        ++checked;
      }
    }
    CHECK(checked == 12);
    // D is piecewise linear in x: its input gradient, and so R1, does not depend on the biases.
    for (const auto& [name, p] : params)
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
        INFO(name);
        CHECK((!p.grad().defined() || amax(abs(p.grad())).item() == 0.0));
      }
  }

  TEST_CASE("StarGAN v2: mapping network, style encoder, generator and discriminator shapes; per-class heads") {
    const StarGanOptions o = small();
    manual_seed(1);
    MappingNetwork F(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden);
    StarGanStyleEncoder E(o);
    StarGanGenerator G(o);
    StarGanDiscriminator D(o);
    CHECK(F.heads.size() == 4);
    CHECK(E.heads.size() == 4);

    const Tensor z = randn({5, 8});
    const Tensor y = tensor_from({0, 3, 1, 2, 3});
    const Tensor all = F(z);
    CHECK(all.shape() == Shape{5, 4, 8});
    const Tensor s = F(z, y);
    CHECK(s.shape() == Shape{5, 8});
    const std::vector<std::int64_t> yv = y.to_vector<std::int64_t>();
    for (std::int64_t n = 0; n < 5; ++n) {
      CHECK(same_values(s[n], all[n][yv[n]]));
      const Tensor direct = (*F.heads[yv[n]])((*F.trunk)(z.narrow(0, n, 1)))[0];  // head_y(trunk(z))
      CHECK(amax(abs(s[n] - direct)).item() < 1e-6);
    }

    auto [x, labels] = tinted(5, 2);
    CHECK(E(x).shape() == Shape{5, 4, 8});
    CHECK(E(x, y).shape() == Shape{5, 8});
    CHECK(same_values(E(x, y)[1], E(x)[1][3]));
    CHECK(G(x, s).shape() == Shape{5, 3, 28, 28});
    CHECK(G(x, s.narrow(0, 0, 1)).shape() == Shape{5, 3, 28, 28});  // one style for the batch
    const Tensor logits = D(x);
    CHECK(logits.shape() == Shape{5, 4});
    const Tensor picked = D(x, y);
    CHECK(picked.shape() == Shape{5});
    for (std::int64_t n = 0; n < 5; ++n) CHECK(picked[n].item() == logits[n][yv[n]].item());

    CHECK_THROWS_AS(D(x, tensor({0, 1, 2, 3, 0})), Error);      // float labels
    CHECK_THROWS_AS(D(x, tensor_from({0, 1})), Error);          // wrong count
    CHECK_THROWS_AS(G(x, randn({5, 3})), Error);                // wrong style size
    CHECK_THROWS_AS(D(randn({2, 3, 16, 16})), Error);           // not image_size
  }

  TEST_CASE("StarGAN v2: AdaIN normalises each plane, then scales by 1 + γ and shifts by β") {
    manual_seed(2);
    AdaIN a(4, 3);
    lumen::Generator g(9);
    const Tensor x = normal({2, 3, 5, 5}, 2.0, 3.0, {}, &g);
    const Tensor s = randn({2, 4}, {}, &g);
    {
      autograd::NoGradGuard no_grad;
      a.fc->weight.zero_();
      a.fc->bias.zero_();
    }
    Tensor out = a(x, s);
    CHECK(out.shape() == x.shape());
    for (double m : mean(out, {2, 3}).to_vector<float>()) CHECK(std::abs(m) < 1e-5);
    for (double v : var(out, {2, 3}, 0).to_vector<float>()) CHECK(v == doctest::Approx(1.0).epsilon(1e-4));

    {  // γ = 1 and β = 0.5 for every channel: mean 0.5, variance (1 + γ)² = 4
      autograd::NoGradGuard no_grad;
      a.fc->bias.copy_(tensor({1, 1, 1, 0.5, 0.5, 0.5}));
    }
    out = a(x, s);
    for (double m : mean(out, {2, 3}).to_vector<float>()) CHECK(m == doctest::Approx(0.5).epsilon(1e-5));
    for (double v : var(out, {2, 3}, 0).to_vector<float>()) CHECK(v == doctest::Approx(4.0).epsilon(1e-4));
    CHECK_THROWS_AS(a(x, randn({2, 5})), Error);
  }

  TEST_CASE("StarGanTrainer: a few steps give finite losses, positive R1, and move every network") {
    auto [x, y] = tinted(8, 4);
    StarGanOptions o = small();
    o.ds_decay_steps = 10;
    StarGanTrainer t(o);
    CHECK(t.recipe.lambda_ds_at(0) == doctest::Approx(1.0));
    CHECK(t.recipe.lambda_ds_at(5) == doctest::Approx(0.5));
    CHECK(t.recipe.lambda_ds_at(20) == 0.0);
    StarGanModels& m = *t.recipe.models;
    const Tensor g0 = m.generator->parameters()[0].clone(), f0 = m.mapping->parameters()[0].clone();
    const Tensor e0 = m.style_encoder->parameters()[0].clone(), d0 = m.discriminator->parameters()[0].clone();
    const Tensor ema0 = m.generator_ema->parameters()[0].clone();
    CHECK(same_values(g0, ema0));
    for (int i = 0; i < 3; ++i) {
      const StarGanLosses l = t.train_step(x, y);
      for (double v : {l.d_real, l.d_fake, l.r1, l.adversarial, l.style, l.diversity, l.cycle}) CHECK(std::isfinite(v));
      CHECK(l.r1 > 0);
      CHECK(l.diversity > 0);  // two latents give two different images
      CHECK(l.cycle > 0);
      CHECK(l.lambda_ds == doctest::Approx(1.0 - 0.1 * i));
      CHECK(l.discriminator(2.0) == doctest::Approx(l.d_real + l.d_fake + 2 * l.r1));
    }
    CHECK(t.step() == 3);
    CHECK_FALSE(same_values(m.generator->parameters()[0], g0));
    CHECK_FALSE(same_values(m.mapping->parameters()[0], f0));
    CHECK_FALSE(same_values(m.style_encoder->parameters()[0], e0));
    CHECK_FALSE(same_values(m.discriminator->parameters()[0], d0));
    // The EMA copy moved, by much less than the generator itself (β = 0.999).
    const double moved = (m.generator->parameters()[0] - g0).abs().sum().item();
    const double ema_moved = (m.generator_ema->parameters()[0] - g0).abs().sum().item();
    CHECK(ema_moved > 0);
    CHECK(ema_moved < 0.05 * moved);
    CHECK_THROWS_AS(t.train_step(x, tensor_from({0, 1})), Error);
  }

  TEST_CASE("counterfactual_from_latent: a clamped image per input, reproducible from the seed") {
    manual_seed(4);
    const StarGanOptions o = small();
    StarGanGenerator G(o);
    MappingNetwork F(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden);
    auto [x, y] = tinted(3, 6);
    const Tensor a = counterfactual_from_latent(G, F, x, 2, std::uint64_t{7});
    CHECK(a.shape() == x.shape());
    CHECK_FALSE(a.requires_grad());
    CHECK(amin(a).item() >= 0.0);
    CHECK(amax(a).item() <= 1.0);
    CHECK(same_values(a, counterfactual_from_latent(G, F, x, 2, std::uint64_t{7})));
    CHECK_FALSE(same_values(a, counterfactual_from_latent(G, F, x, 1, std::uint64_t{7})));  // another class's head
    const Tensor z = randn({1, o.latent_dim});  // one latent for the whole batch
    CHECK(counterfactual_from_latent(G, F, x, 0, z).shape() == x.shape());
    CHECK_THROWS_AS(counterfactual_from_latent(G, F, x, 4, z), Error);
  }

  TEST_CASE("StarGanTrainer: an interrupted run resumed from its checkpoint ends exactly as an uninterrupted one") {
    // One thread, the quickest here (the result is the same with any number: tests/nn/test_reproducible.cpp).
    const SingleThread one_thread;
    lumen::Generator g(9);
    const Tensor x = rand({10, 3, 8, 8}, {}, &g), y = randint(0, 4, {10}, kCPU, &g);  // batches 4, 4, 2
    StarGanTrainer full(tiny8(2));
    std::int64_t epoch_ends = 0;
    full.fit(x, y, [&](StarGanTrainer&) { ++epoch_ends; });
    CHECK(epoch_ends == 2);
    CHECK(full.step() == 6);
    CHECK(full.epoch() == 2);
    CHECK(std::isfinite(full.last_losses().cycle));
    const nn::StateDict want = full.recipe.models->state_dict();

    TempDir dir("stargan-resume");
    for (std::int64_t stop : {2, 3, 4}) {  // mid-epoch, at the epoch boundary, mid second epoch
      CAPTURE(stop);
      StarGanOptions o = tiny8(2);
      o.max_steps = stop;
      StarGanTrainer first(o);
      first.fit(x, y);
      CHECK(first.step() == stop);
      first.save_checkpoint(dir / "ckpt.safetensors");

      StarGanTrainer resumed(tiny8(2));
      resumed.load_checkpoint(dir / "ckpt.safetensors");
      CHECK(resumed.step() == stop);
      CHECK(resumed.epoch() == stop / 3);
      CHECK(resumed.step_in_epoch() == stop % 3);
      resumed.fit(x, y);
      CHECK(resumed.step() == 6);
      const nn::StateDict got = resumed.recipe.models->state_dict();
      CHECK(differing_entries(got, want) == 0);
      const StarGan &r = resumed.recipe, &f = full.recipe;
      for (auto [a, b] : {std::pair{&r.opt_g, &f.opt_g}, std::pair{&r.opt_f, &f.opt_f}, std::pair{&r.opt_e, &f.opt_e},
                          std::pair{&r.opt_d, &f.opt_d}}) {
        CHECK(differing_entries(a->state_dict(), b->state_dict()) == 0);
      }
    }

    // The networks alone load from the checkpoint, built from its metadata; a mismatched architecture throws.
    full.save_checkpoint(dir / "full.safetensors");
    auto models = load_stargan_models(dir / "full.safetensors");
    CHECK(models->mapping->latent_dim == 4);
    CHECK(same_values(models->generator_ema->parameters()[3], full.recipe.models->generator_ema->parameters()[3]));
    StarGanOptions wider = tiny8(2);
    wider.channels = 6;
    StarGanTrainer other(wider);
    CHECK_THROWS_WITH_AS(other.load_checkpoint(dir / "full.safetensors"), doctest::Contains("holds channels 4"), Error);
  }

  TEST_CASE("stargan_counterfactual: candidate m from latent seed + m; first flip kept, else best p(target)") {
    manual_seed(5);
    StarGanOptions o = tiny8(1);
    o.num_classes = 3;
    StarGanGenerator G(o);
    MappingNetwork F(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden);
    lumen::Generator g(13);
    const Tensor x = rand({12, 3, 8, 8}, {}, &g);
    {  // stronger styles, so that the latent changes the classifier's answer (both selection branches)
      autograd::NoGradGuard no_grad;
      for (auto& block : G.decoder)
        for (auto* n : {block->norm1.get(), block->norm2.get()}) n->fc->weight.copy_(n->fc->weight * 30.0);
    }
    PixelClassifier clf;
    const std::uint64_t seed = 40;
    const std::int64_t m_max = 5;
    std::int64_t later_flips = 0, never_flipped = 0;  // both branches of the selection are exercised
    for (std::int64_t target = 0; target < 3; ++target) {
      CAPTURE(target);
      const Counterfactuals cf = stargan_counterfactual(G, F, x, target, clf, m_max, seed);
      REQUIRE(cf.images.shape() == x.shape());
      const auto cand = cf.candidate.to_vector<std::int64_t>();
      const auto pred = cf.predicted.to_vector<std::int64_t>();
      const auto pt = cf.p_target.to_vector<float>();
      std::vector<std::vector<float>> p_all;  // p(target) of every candidate
      std::vector<std::vector<std::int64_t>> pred_all;
      std::vector<Tensor> imgs;
      for (std::int64_t m = 0; m < m_max; ++m) {
        imgs.push_back(counterfactual_from_latent(G, F, x, target, seed + static_cast<std::uint64_t>(m)));
        autograd::NoGradGuard no_grad;
        const Tensor logits = clf(imgs.back());
        p_all.push_back(softmax(logits, 1).select(1, target).contiguous().to_vector<float>());
        pred_all.push_back(argmax(logits, 1).to_vector<std::int64_t>());
      }
      for (std::int64_t i = 0; i < x.size(0); ++i) {
        CAPTURE(i);
        const std::int64_t m = cand[i];
        REQUIRE(m >= 0);
        REQUIRE(m < m_max);
        CHECK(same_values(cf.images[i], imgs[m][i]));
        CHECK(pred[i] == pred_all[m][i]);
        CHECK(pt[i] == p_all[m][i]);
        std::int64_t first_flip = -1;
        for (std::int64_t k = 0; k < m_max && first_flip < 0; ++k)
          if (pred_all[k][i] == target) first_flip = k;
        later_flips += first_flip > 0;
        never_flipped += first_flip < 0;
        if (first_flip >= 0) {
          CHECK(m == first_flip);
        } else {
          for (std::int64_t k = 0; k < m_max; ++k) CHECK(pt[i] >= p_all[k][i]);
        }
      }
    }
    MESSAGE("later flips ", later_flips, ", never flipped ", never_flipped);
    CHECK(later_flips > 0);
    CHECK(never_flipped > 0);
    // One candidate: counterfactual_from_latent from the seed itself.
    const Counterfactuals one = stargan_counterfactual(G, F, x, 1, clf, 1, seed);
    CHECK(same_values(one.images, counterfactual_from_latent(G, F, x, 1, seed)));
    for (std::int64_t m : one.candidate.to_vector<std::int64_t>()) CHECK(m == 0);
    CHECK_THROWS_AS(stargan_counterfactual(G, F, x, 1, clf, 0, seed), Error);
  }

  TEST_CASE("evaluate_stargan_flips: a K×K confusion of targets × predictions and consistent flip rates") {
    manual_seed(6);
    StarGanOptions o = tiny8(1);
    o.num_classes = 3;
    StarGanGenerator G(o);
    MappingNetwork F(o.latent_dim, o.style_dim, o.num_classes, o.mapping_hidden);
    lumen::Generator g(17);
    const Tensor x = rand({7, 3, 8, 8}, {}, &g);
    const Tensor y = tensor_from({0, 1, 2, 0, 1, 2, 0});
    ChannelClassifier clf;
    const FlipReport r = evaluate_stargan_flips(G, F, clf, x, y, /*max_candidates=*/3, /*seed=*/2, /*batch=*/100);
    REQUIRE(r.confusion.shape() == Shape{3, 3});
    CHECK(r.pairs == 21);
    const auto c = r.confusion.to_vector<std::int64_t>();
    std::int64_t diag = 0;
    for (std::int64_t t = 0; t < 3; ++t) {
      CHECK(c[t * 3] + c[t * 3 + 1] + c[t * 3 + 2] == 7);  // each target: every image once
      diag += c[t * 3 + t];
    }
    CHECK(r.flip_rate == doctest::Approx(diag / 21.0));
    // One batch: the same as stargan_counterfactual per target.
    const auto yv = y.to_vector<std::int64_t>();
    std::int64_t changed = 0, changed_flips = 0;
    for (std::int64_t t = 0; t < 3; ++t) {
      const auto pred = stargan_counterfactual(G, F, x, t, clf, 3, 2).predicted.to_vector<std::int64_t>();
      for (std::size_t i = 0; i < pred.size(); ++i)
        if (yv[i] != t) ++changed, changed_flips += pred[i] == t;
    }
    CHECK(r.flip_rate_changed == doctest::Approx(static_cast<double>(changed_flips) / changed));
    const FlipReport small_batches = evaluate_stargan_flips(G, F, clf, x, y, 3, 2, /*batch=*/3);
    CHECK(small_batches.pairs == 21);
    std::int64_t total = 0;
    for (std::int64_t v : small_batches.confusion.to_vector<std::int64_t>()) total += v;
    CHECK(total == 21);
    CHECK_THROWS_AS(evaluate_stargan_flips(G, F, clf, x, y.narrow(0, 0, 5)), Error);
  }
}
