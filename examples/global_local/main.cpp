// The global_local lesson: global and local explanations of a VGG-style network, and how sure it is.
// It reproduces a classic course project on VGG16 (class model visualisation, class saliency maps,
// guided backpropagation, Monte Carlo dropout) and the uncertainty part of a computer-vision summer
// school (deep ensembles, uncertainty maps, robustness to data shift) on real Fashion-MNIST and MNIST,
// with every number measured in the run.
//
//   build/examples/global_local            # writes out/global_local/{index.html, summary.json, *.png}
//   build/examples/global_local --fresh    # retrains the models kept in out/global_local/
//
// Steps: 1. the models (models.cpp); 2. class model visualisation, 3. saliency and guided backprop
// (visualisation.cpp); 4. MC dropout and the ensemble, 7. explaining uncertainty (uncertainty.cpp);
// 5. segmentation uncertainty maps (segmentation.cpp); 6. data shift (shift.cpp).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "examples/cli.h"
#include "examples/global_local/steps.h"
#include "examples/lesson.h"

using namespace lumen;
using namespace lumen::global_local;

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Global and local explanations of a VGG-style network on Fashion-MNIST (class model visualisation, "
               "saliency, guided backprop) and its uncertainty (MC dropout, deep ensembles, segmentation uncertainty "
               "maps, data shift)"};
  app.add_option("--data", o.data_dir, "data directory holding fashion-mnist/ and mnist/ (scripts/get_data.sh)")
      ->capture_default_str();
  app.add_option("--out", o.out_dir, "where models, figures, summary.json and index.html go (created; checked first)")
      ->capture_default_str();
  app.add_flag("--fresh", o.fresh, "retrain the models even if out/ holds them");
  app.add_option("--seed", o.seed, "seed of member 0 (member m uses seed + m) and of the noise")->check(cli::seed())
      ->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->check(cli::threads())
      ->capture_default_str();
  app.add_option("--members", o.members, "VGGs in the deep ensemble (member 0 is the explained model)")
      ->check(cli::integer(1, 100))->capture_default_str();
  app.add_option("--epochs", o.epochs, "training epochs per member")->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "training batch size")->check(cli::integer(1, 60000))->capture_default_str();
  app.add_option("--lr", o.lr, "Adam learning rate")->check(cli::positive(10))->capture_default_str();
  app.add_option("--train-images", o.train_images, "Fashion-MNIST training images used (the first n)")
      ->check(cli::integer(1, 60000))->capture_default_str();
  app.add_option("--test-images", o.test_images, "Fashion-MNIST test images used (the first n)")
      ->check(cli::integer(2, 10000))->capture_default_str();
  app.add_option("--vis-steps", o.vis_steps, "class model visualisation: gradient-ascent steps")
      ->check(cli::integer(1, 100000))->capture_default_str();
  app.add_option("--vis-lr", o.vis_lr, "class model visualisation: learning rate on the normalised image")
      ->check(cli::positive(1e6))->capture_default_str();
  app.add_option("--blur-every", o.blur_every, "class model visualisation: Gaussian blur every k steps")
      ->check(cli::integer(1, 100000))->capture_default_str();
  app.add_option("--blur-sigma", o.blur_sigma, "class model visualisation: the blur's standard deviation (pixels)")
      ->check(cli::positive(100))->capture_default_str();
  app.add_option("--reg-lr", o.reg_lr, "regularised row: learning rate on the normalised image")
      ->check(cli::positive(1e6))->capture_default_str();
  app.add_option("--l2-decay", o.l2_decay, "regularised row: L2 decay of the normalised image")
      ->check(cli::real(0, 1e6))->capture_default_str();
  app.add_option("--jitter", o.jitter, "regularised row: random shift of up to this many pixels per step")
      ->check(cli::integer(0, 27))->capture_default_str();
  app.add_option("--tv", o.total_variation, "regularised row: total variation weight")
      ->check(cli::real(0, 1e6))->capture_default_str();
  app.add_option("--saliency-reduce", o.saliency_reduce, "saliency maps: reduction over channels")
      ->check(cli::one_of({"max", "sum", "mean"}))->capture_default_str();
  app.add_option("--mc-passes", o.mc_passes, "MC dropout: stochastic passes T")->check(cli::integer(1, 10000))
      ->capture_default_str();
  app.add_option("--eval-images", o.eval_images, "test images for the uncertainty, shift and segmentation steps")
      ->check(cli::integer(2, 10000))->capture_default_str();
  app.add_option("--seg-members", o.seg_members, "UNets in the segmentation ensemble")->check(cli::integer(1, 100))
      ->capture_default_str();
  app.add_option("--seg-epochs", o.seg_epochs, "training epochs per UNet")->check(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--seg-train-images", o.seg_train_images, "MNIST digits the UNets train on")
      ->check(cli::integer(1, 8000))->capture_default_str();
  app.add_option("--seg-threshold", o.seg_threshold, "threshold of the ensemble's mean foreground probability")
      ->check(cli::real(0, 1))->capture_default_str();
  app.add_option("--seg-min-component", o.seg_min_component, "remove connected components of at most this many pixels")
      ->check(cli::integer(0, 784))->capture_default_str();
  app.add_option("--vgg16", o.vgg16_path, "torchvision's VGG16 weights as safetensors "
                 "(scripts/convert_torchvision_vgg.py): run steps 2-3 on it at 224x224 instead of the lesson")
      ->check(CLI::ExistingFile);
  app.add_option("--image", o.images, "with --vgg16: a PNG to explain (repeat the option for more)")
      ->check(CLI::ExistingFile);
  app.add_option("--imagenet-class", o.imagenet_classes, "with --vgg16: ImageNet classes to visualise (0-999)")
      ->check(cli::integer(0, 999))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  if (!cli::prepare_output_dir("global_local", o.out_dir)) return 1;  // before the minutes of work
  const auto t_start = std::chrono::steady_clock::now();

  try {
    report::Report r(o.out_dir, "Global and local explanations of a VGG, and how sure it is",
                     "<p>Every number and figure on this page was produced by <code>examples/global_local</code> "
                     "(lumen) in this run, on real Fashion-MNIST and MNIST images.</p>\n");
    if (!o.vgg16_path.empty()) {
      imagenet_vgg16(o, r);
      r.write();
      r.say("\nwrote " + o.out_dir + "/index.html, summary.json and its figures");
      return cli::finish("global_local");
    }
    Lesson l = train_models(o, r);
    class_visualisation(l, r);
    saliency_maps(l, r);
    uncertainty(l, r);
    segmentation(o, r);
    data_shift(l, r);
    explain_uncertainty(l, r);

    const std::string seconds = r.number({"seconds"}, lesson::seconds_since(t_start), "%.1f", " s");
    const std::string threads = r.count({"threads"}, omp_get_max_threads());
    r.paragraph("Whole run: " + seconds + " on " + threads + " thread(s).");
    r.headline("model (member 0) accuracy", {"models", "member0", "accuracy"});
    r.headline("ensemble accuracy", {"models", "ensemble", "accuracy"});
    r.headline("MC dropout ECE", {"uncertainty", "mc_dropout", "ece"});
    r.headline("segmentation Dice (ensemble)", {"segmentation", "clean", "ensemble_dice"});
    r.headline("MNIST as out-of-distribution: AUROC of the ensemble's MI", {"data_shift", "mnist", "auroc", "ensemble_mi"});
    r.write();
    r.say("\nwrote " + o.out_dir + "/index.html, summary.json and its figures in " + seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "global_local: %s\n", e.what());
    return 1;
  }
  return cli::finish("global_local");
}
