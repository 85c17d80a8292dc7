// Step 1 of the global_local lesson: Fashion-MNIST and a deep ensemble of small VGGs. Member 0 is "the
// model" that steps 2–3 explain; all members together are the ensemble of steps 4, 6 and 7.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "examples/global_local/steps.h"
#include "examples/lesson.h"
#include "nn/checkpoint.h"
#include "nn/losses.h"
#include "nn/safetensors.h"

namespace lumen::global_local {

namespace fs = std::filesystem;

Tensor Lesson::normalise(const Tensor& raw) const { return (raw - pixel_mean) / pixel_std; }

nn::VggOptions fashion_vgg_options() {
  // features: three blocks Conv(3×3) BatchNorm ReLU MaxPool with 32, 64, 128 channels (torchvision's
  // vgg*_bn blocks, one conv each): 28 → 14 → 7 → 3; avgpool to 3×3; classifier 1152 → 256 → 256 → 10
  // with torchvision's ReLU + Dropout(0.5) between. Batch norm is what makes 4 epochs enough.
  return nn::VggOptions{.config = {32, nn::kMaxPool, 64, nn::kMaxPool, 128, nn::kMaxPool}, .in_channels = 1,
                        .num_classes = 10, .batch_norm = true, .avgpool_size = 3, .hidden = 256, .dropout = 0.5};
}

namespace {

const char* kConfigText = "32,M,64,M,128,M;bn;avgpool=3;hidden=256;dropout=0.5";

// A kept member is reused only if it is this run's: the same configuration, seed, epochs and data size.
void check_metadata(const nn::Metadata& meta, const std::string& path, const Options& o, std::uint64_t seed) {
  const char* op = "train_models";
  const std::string& config = nn::metadata_text(op, meta, "config", path);
  LUMEN_CHECK(config == kConfigText, op, "checkpoint '", path, "': metadata 'config' = '", config, "', expected '",
              kConfigText, "' (--fresh retrains)");
  const std::uint64_t s = nn::metadata_uint64(op, meta, "seed", path);
  LUMEN_CHECK(s == seed, op, "checkpoint '", path, "': metadata 'seed' = ", s, ", expected ", seed, " (--fresh retrains)");
  const std::int64_t epochs = nn::metadata_int(op, meta, "epochs", path, 1, 1'000'000);
  LUMEN_CHECK(epochs == o.epochs, op, "checkpoint '", path, "': metadata 'epochs' = ", epochs,
              ", expected this run's --epochs ", o.epochs, " (--fresh retrains)");
  const std::int64_t n = nn::metadata_int(op, meta, "train_images", path, 1, 1'000'000);
  LUMEN_CHECK(n == o.train_images, op, "checkpoint '", path, "': metadata 'train_images' = ", n,
              ", expected this run's --train-images ", o.train_images, " (--fresh retrains)");
}

// Mean cross-entropy and top-1 accuracy of the softmax probabilities probs [N, K].
std::pair<double, double> nll_and_accuracy(const Tensor& probs, const Tensor& labels) {
  const Tensor picked = gather(probs, 1, labels.reshape({-1, 1})).reshape({-1});
  const double nll = -mean(log(picked + 1e-12)).item();
  const auto pred = argmax(probs, 1).to_vector<std::int64_t>();
  const auto truth = labels.to_vector<std::int64_t>();
  std::int64_t hits = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) hits += pred[i] == truth[i];
  return {nll, static_cast<double>(hits) / static_cast<double>(pred.size())};
}

}  // namespace

Lesson train_models(const Options& o, report::Report& r) {
  r.step("1. Fashion-MNIST and a deep ensemble of " + std::to_string(o.members) + " VGG-style networks");
  const std::string dir = (fs::path(o.data_dir) / "fashion-mnist").string();
  Lesson l{o, nn::load_fashion_mnist(dir, true), nn::load_fashion_mnist(dir, false), 0.0, 1.0, {}};
  const std::int64_t n_train = std::min(o.train_images, l.train.size());
  l.train.images = l.train.images.narrow(0, 0, n_train).reshape({n_train, 1, 28, 28});
  l.train.labels = l.train.labels.narrow(0, 0, n_train);
  const std::int64_t n_test = std::min(o.test_images, l.test.size());
  l.test.images = l.test.images.narrow(0, 0, n_test).reshape({n_test, 1, 28, 28});
  l.test.labels = l.test.labels.narrow(0, 0, n_test);
  l.pixel_mean = mean(l.train.images).item();
  l.pixel_std = std::sqrt(var(l.train.images, {}, /*correction=*/0).item());
  r.say("  " + std::to_string(n_train) + " training and " + std::to_string(l.test.size()) +
        " test images; pixel mean " + report::format("%.4f", l.pixel_mean) + ", std " + report::format("%.4f", l.pixel_std));
  const Tensor train_x = l.normalise(l.train.images);

  double train_seconds = 0;
  for (std::int64_t m = 0; m < o.members; ++m) {
    const std::uint64_t seed = o.seed + static_cast<std::uint64_t>(m);
    manual_seed(seed);  // the member's initial weights and its dropout masks
    auto model = std::make_shared<nn::VGG>(fashion_vgg_options());
    const fs::path path = fs::path(o.out_dir) / ("vgg_member" + std::to_string(m) + ".safetensors");
    if (!o.fresh && fs::exists(path)) {
      check_metadata(nn::read_safetensors_metadata(path.string()), path.string(), o, seed);
      nn::load(*model, path.string());
      r.say("  member " + std::to_string(m) + ": reusing " + path.string());
    } else {
      r.say("  member " + std::to_string(m) + " (seed " + std::to_string(seed) + "): Adam " +
            report::format("%g", o.lr) + " annealed to 0 (cosine), batch " + std::to_string(o.batch_size) + ", " +
            std::to_string(o.epochs) + " epochs");
      train_seconds += lesson::fit_classifier(*model, train_x, l.train.labels,
                                              {.epochs = static_cast<int>(o.epochs), .batch_size = o.batch_size,
                                               .lr = o.lr, .seed = seed, .cosine = true});
      nn::save(*model, path.string(),
               {{"model", "vgg"}, {"config", kConfigText}, {"seed", std::to_string(seed)},
                {"epochs", std::to_string(o.epochs)}, {"train_images", std::to_string(n_train)}});
    }
    model->eval();
    l.members.push_back(model);
  }
  r.number({"models", "train_seconds"}, train_seconds, "%.1f", " s");

  // Test cross-entropy and accuracy of each member and of the ensemble's mean prediction.
  autograd::NoGradGuard no_grad;
  const Tensor test_x = l.normalise(l.test.images);
  Tensor sum_probs;
  report::Table table({{"model", "", -10}, {"mean cross-entropy", "CE", 8}, {"top-1 accuracy", "acc", 8}}, "  ");
  std::string model_acc;
  for (std::size_t m = 0; m < l.members.size(); ++m) {
    std::vector<Tensor> parts;
    for (std::int64_t s = 0; s < l.test.size(); s += 1000)
      parts.push_back(softmax((*l.members[m])(test_x.narrow(0, s, std::min<std::int64_t>(1000, l.test.size() - s))), 1));
    const Tensor probs = cat(parts, 0);
    sum_probs = sum_probs.defined() ? sum_probs + probs : probs;
    const auto [nll, acc] = nll_and_accuracy(probs, l.test.labels);
    const std::string key = "member" + std::to_string(m);
    const std::string acc_text = r.number({"models", key, "accuracy"}, acc, "%.4f");
    if (m == 0) model_acc = acc_text;
    table.row({"member " + std::to_string(m), r.number({"models", key, "cross_entropy"}, nll, "%.4f"), acc_text});
  }
  const auto [ens_nll, ens_acc] = nll_and_accuracy(sum_probs / static_cast<double>(l.members.size()), l.test.labels);
  const std::string ens_acc_text = r.number({"models", "ensemble", "accuracy"}, ens_acc, "%.4f");
  table.row({"ensemble", r.number({"models", "ensemble", "cross_entropy"}, ens_nll, "%.4f"), ens_acc_text});

  r.heading("1. The model: a small VGG on Fashion-MNIST");
  r.paragraph("A VGG built like torchvision's <code>vgg*_bn</code> (<code>features</code>: three blocks of "
              "Conv(3×3) BatchNorm ReLU MaxPool(2) with 32, 64 and 128 channels; <code>avgpool</code>: adaptive "
              "average pool to 3×3; <code>classifier</code>: Linear(1152→256) ReLU Dropout(0.5) Linear(256→256) ReLU "
              "Dropout(0.5) Linear(256→10)), trained on " + std::to_string(n_train) +
              " real Fashion-MNIST images with Adam (lr " + report::format("%g", o.lr) + " annealed to 0 on a cosine, "
              "batch " + std::to_string(o.batch_size) + ", " + std::to_string(o.epochs) + " epochs), " +
              std::to_string(o.members) + " times from different seeds. Member 0 is <i>the model</i> of steps 2–3 "
              "(test accuracy <b>" + model_acc + "</b>); all of them form the deep ensemble (accuracy <b>" +
              ens_acc_text + "</b>). Evaluated on " + std::to_string(n_test) + " test images:");
  r.table(table);

  // The top-5 classes of a few test images (the first of classes 0, 3, 6, 9) under the model.
  report::Table top5({{"test image", "image", 6}, {"true class", "true", -12}, {"top-5 classes (probability)", "top-5", 0}},
                     "  ");
  const auto labels = l.test.labels.to_vector<std::int64_t>();
  for (std::int64_t want : {0, 3, 6, 9}) {
    const auto it = std::find(labels.begin(), labels.end(), want);
    const std::int64_t i = it - labels.begin();
    const Tensor p = softmax((*l.model())(test_x.narrow(0, i, 1)), 1).reshape({-1});
    const auto probs = p.to_vector<float>();
    std::vector<std::int64_t> order(probs.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](auto a, auto b) { return probs[a] > probs[b]; });
    std::string cell;
    for (int k = 0; k < 5; ++k) {
      const std::string pk = report::format("%.3f", probs[order[k]]);
      r.append({"models", "top5", std::to_string(i), "probabilities"}, probs[order[k]], "%.4f");
      r.append({"models", "top5", std::to_string(i), "classes"}, static_cast<double>(order[k]), "%.0f");
      cell += (k ? ", " : "") + kFashionClasses[order[k]] + " " + pk;
    }
    top5.row({std::to_string(i), kFashionClasses[want], cell});
  }
  r.paragraph("The model's five most probable classes for the first test image of four classes:");
  r.table(top5);
  return l;
}

}  // namespace lumen::global_local
