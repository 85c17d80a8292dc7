// Step 5 of the global_local lesson: uncertainty maps for a per-pixel task. K UNets (gan/unet.h) from
// different seeds learn to segment the foreground of real MNIST digits (the mask: pixel > 0.5); each
// pixel then has K predictive distributions over {background, foreground}, and the measures of step 4
// become maps. The ensemble's segmentation is its mean thresholded at 0.35 with the small connected
// components removed, scored by Dice against the ground truth.
#include <filesystem>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "examples/global_local/steps.h"
#include "examples/lesson.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "gan/unet.h"
#include "nn/checkpoint.h"
#include "nn/dataloader.h"
#include "nn/losses.h"
#include "nn/mnist.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "nn/transforms.h"
#include "xai/calibration.h"
#include "xai/mask_metrics.h"
#include "xai/uncertainty.h"

namespace lumen::global_local {

namespace fs = std::filesystem;

namespace {

constexpr double kForeground = 0.5;  // a digit's pixel above this is foreground
const gan::UNetOptions kUNet{.in_channels = 1, .out_channels = 1, .depth = 2, .num_fmaps = 8, .sigmoid = false};
const char* kUNetText = "unet depth=2 fmaps=8 logits";

Tensor masks_of(const Tensor& images) { return gt(images, kForeground).to(DType::float32); }

// One member: trained with binary cross-entropy on the logits (Adam 1e-3, batch 64), or reused from out/.
std::shared_ptr<gan::UNet> segmenter(const Options& o, std::int64_t m, const Tensor& images, const Tensor& masks,
                                     report::Report& r, double* seconds) {
  const std::uint64_t seed = o.seed + 100 + static_cast<std::uint64_t>(m);
  manual_seed(seed);
  auto net = std::make_shared<gan::UNet>(kUNet);
  const fs::path path = fs::path(o.out_dir) / ("unet_member" + std::to_string(m) + ".safetensors");
  if (!o.fresh && fs::exists(path)) {
    const char* op = "segmentation";
    const nn::Metadata meta = nn::read_safetensors_metadata(path.string());
    const std::string& config = nn::metadata_text(op, meta, "config", path.string());
    LUMEN_CHECK(config == kUNetText, op, "checkpoint '", path.string(), "': metadata 'config' = '", config,
                "', expected '", kUNetText, "' (--fresh retrains)");
    LUMEN_CHECK(nn::metadata_uint64(op, meta, "seed", path.string()) == seed &&
                    nn::metadata_int(op, meta, "epochs", path.string(), 1, 1'000'000) == o.seg_epochs &&
                    nn::metadata_int(op, meta, "train_images", path.string(), 1, 1'000'000) == images.size(0),
                op, "checkpoint '", path.string(), "' was trained with another seed, --seg-epochs or --seg-train-images "
                "(--fresh retrains)");
    nn::load(*net, path.string());
    r.say("  UNet member " + std::to_string(m) + ": reusing " + path.string());
  } else {
    nn::Adam adam(net->parameters(), {.lr = 1e-3});
    nn::DataLoader loader(images, masks, {.batch_size = 64, .shuffle = true, .seed = seed});
    net->train();
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t e = 1; e <= o.seg_epochs; ++e) {
      lesson::Progress bar("UNet " + std::to_string(m) + " epoch " + std::to_string(e), loader.size(), "batches");
      std::int64_t step = 0;
      double loss_sum = 0;
      for (const nn::Batch& b : loader) {
        adam.zero_grad();
        Tensor loss = nn::bce_with_logits((*net)(b.x), b.y);
        loss.backward();
        adam.step();
        loss_sum += loss.item();
        ++step;
        bar.update(step, "loss " + report::format("%.4f", loss_sum / static_cast<double>(step)));
      }
    }
    *seconds += lesson::seconds_since(t0);
    nn::save(*net, path.string(),
             {{"model", "unet"}, {"config", kUNetText}, {"seed", std::to_string(seed)},
              {"epochs", std::to_string(o.seg_epochs)}, {"train_images", std::to_string(images.size(0))}});
  }
  net->eval();
  return net;
}

// The ensemble's mask of image i: mean foreground probability > threshold, small components removed.
xai::morphology::Mask ensemble_mask(const Tensor& mean_fg, std::int64_t i, const Options& o, bool clean_up) {
  xai::morphology::Mask m = xai::threshold_mask(mean_fg[i], o.seg_threshold);
  return clean_up ? xai::remove_small_components(m, 28, 28, o.seg_min_component) : m;
}

Tensor mask_image(const xai::morphology::Mask& m) {
  const std::vector<double> v(m.begin(), m.end());
  return tensor(v, {1, 28, 28});
}

struct Evaluation {
  double member_dice = 0, raw_dice = 0, dice = 0, mean_mi = 0, error_auroc = 0;
  Tensor mean_fg, total, mi, epkl;  // [N, 28, 28]
};

Evaluation evaluate(const std::vector<std::shared_ptr<gan::UNet>>& nets, const Tensor& images, const Tensor& masks,
                    const Options& o) {
  autograd::NoGradGuard no_grad;
  const std::int64_t n = images.size(0);
  std::vector<Tensor> outs;
  for (const auto& net : nets) outs.push_back(sigmoid((*net)(images)));
  const Tensor fg = stack(outs, 0);  // [K, N, 1, 28, 28]
  const xai::UncertaintyMeasures u = xai::uncertainty_measures(xai::binary_member_probs(fg));
  Evaluation e;
  e.mean_fg = mean(fg, {0}).reshape({n, 28, 28});
  e.total = u.total.reshape({n, 28, 28});
  e.mi = u.mutual_information.reshape({n, 28, 28});
  e.epkl = u.epkl.reshape({n, 28, 28});
  std::vector<double> right, wrong;  // per-pixel EoE of correctly and wrongly segmented pixels
  const auto eoe = e.total.to(DType::float64).to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    const xai::morphology::Mask truth = xai::threshold_mask(masks[i], 0.5);
    for (const auto& f : outs) e.member_dice += xai::dice(xai::threshold_mask(f[i], 0.5), truth);
    e.raw_dice += xai::dice(ensemble_mask(e.mean_fg, i, o, false), truth);
    const xai::morphology::Mask pred = ensemble_mask(e.mean_fg, i, o, true);
    e.dice += xai::dice(pred, truth);
    for (std::size_t p = 0; p < pred.size(); ++p)
      (pred[p] == truth[p] ? right : wrong).push_back(eoe[static_cast<std::size_t>(i) * pred.size() + p]);
  }
  e.member_dice /= static_cast<double>(n * static_cast<std::int64_t>(nets.size()));
  e.raw_dice /= static_cast<double>(n);
  e.dice /= static_cast<double>(n);
  e.mean_mi = mean(e.mi).item();
  e.error_auroc = right.empty() || wrong.empty() ? 0.5 : xai::auroc(right, wrong);
  return e;
}

}  // namespace

void segmentation(const Options& o, report::Report& r) {
  r.step("5. uncertainty maps: " + std::to_string(o.seg_members) + " UNets segmenting MNIST digits");
  const nn::MnistSplit digits = nn::split_mnist(nn::load_mnist((fs::path(o.data_dir) / "mnist").string()));
  const std::int64_t n_train = std::min(o.seg_train_images, digits.train.size());
  const Tensor train_x = digits.train.images.narrow(0, 0, n_train).reshape({n_train, 1, 28, 28});
  const std::int64_t n_test = std::min<std::int64_t>(o.eval_images, digits.test.size());
  const Tensor test_x = digits.test.images.narrow(0, 0, n_test).reshape({n_test, 1, 28, 28});
  const Tensor test_masks = masks_of(test_x);
  double seconds = 0;
  std::vector<std::shared_ptr<gan::UNet>> nets;
  for (std::int64_t m = 0; m < o.seg_members; ++m)
    nets.push_back(segmenter(o, m, train_x, masks_of(train_x), r, &seconds));
  r.number({"segmentation", "train_seconds"}, seconds, "%.1f", " s");

  Generator gen(o.seed + 2000);
  const Tensor noisy_x = nn::add_gaussian_noise(test_x, 0.3, &gen);
  const Evaluation clean = evaluate(nets, test_x, test_masks, o);
  const Evaluation noisy = evaluate(nets, noisy_x, test_masks, o);
  report::Table table({{"test digits", "", -14}, {"member Dice (mean)", "member", 7}, {"ensemble Dice, raw", "raw", 7},
                       {"ensemble Dice", "Dice", 7}, {"mean MI", "MI", 9},
                       {"AUROC of EoE for wrong pixels", "err AUROC", 9}},
                      "  ");
  for (const auto& [key, name, e] : {std::tuple{"clean", "clean", &clean}, std::tuple{"noisy", "noise σ=0.3", &noisy}}) {
    table.row({name, r.number({"segmentation", key, "member_dice"}, e->member_dice, "%.4f"),
               r.number({"segmentation", key, "ensemble_dice_raw"}, e->raw_dice, "%.4f"),
               r.number({"segmentation", key, "ensemble_dice"}, e->dice, "%.4f"),
               r.number({"segmentation", key, "mean_mi"}, e->mean_mi, "%.3g"),
               r.number({"segmentation", key, "error_auroc"}, e->error_auroc, "%.3f")});
  }

  std::vector<std::vector<Tensor>> rows;
  std::vector<std::string> labels;
  const auto map_cell = [](const Tensor& map, double vmax) {
    return figures::upscale(figures::colorize(map, figures::Colormap::inferno, 0.0, vmax), 4);
  };
  for (const auto& [name, x, e] : {std::tuple{"clean", &test_x, &clean}, std::tuple{"noisy", &noisy_x, &noisy}}) {
    for (std::int64_t i = 0; i < 3; ++i) {
      rows.push_back({figures::upscale((*x)[i], 4), figures::upscale(test_masks[i], 4),
                      figures::upscale(mask_image(ensemble_mask(e->mean_fg, i, o, true)), 4),
                      map_cell(e->total[i], std::log(2.0)), map_cell(e->mi[i], std::log(2.0) / 4),
                      map_cell(e->epkl[i], std::log(2.0))});
      labels.push_back(std::string(name) + " " + std::to_string(i));
    }
  }
  r.heading("5. Uncertainty maps for segmentation");
  r.paragraph(std::to_string(o.seg_members) + " UNets (depth 2, 8 feature maps; Adam 1e-3, batch 64, " +
              std::to_string(o.seg_epochs) + " epoch(s) on " + std::to_string(n_train) + " real MNIST digits) from "
              "different seeds segment each digit's foreground (ground truth: pixel > 0.5). The ensemble's mask is "
              "its mean foreground probability thresholded at " + report::format("%g", o.seg_threshold) +
              " with connected components (8-connected) of ≤ " + std::to_string(o.seg_min_component) +
              " pixels removed; Dice = 2|S∩G|/(|S|+|G|), 1 when both are empty. Per pixel, the measures of step 4 "
              "over {background, foreground} give maps: total uncertainty (EoE, 0 to log 2), model uncertainty "
              "(MI; drawn 0 to log(2)/4) and EPKL. On " + std::to_string(n_test) + " test digits, clean and with "
              "Gaussian noise σ = 0.3:");
  r.table(table);
  r.figure("segmentation.png",
           figures::labelled_grid(rows, {"input", "ground truth", "prediction", "EoE", "MI", "EPKL"}, labels,
                                  {.font_scale = 1}),
           "inputs, ground truth, ensemble prediction and per-pixel uncertainty maps of clean and noisy digits");
}

}  // namespace lumen::global_local
