// The concepts lesson: concept-based explanations and the local methods of a computer-vision summer
// school (TCAV with significance, regression concept vectors, LIME and Sharp-LIME, Grad-CAM, IG with a
// noise tunnel) on two models of real images, one of which has a known answer: a ColoredMNIST CNN,
// whose class is the color, and a Fashion-MNIST VGG.
//
//   build/examples/concepts            # writes out/concepts/{index.html, summary.json, *.png}
//   build/examples/concepts --fresh    # retrains the models kept in out/concepts/
//
// Steps: 1. the models (models.cpp); 2.–3. TCAV (tcav.cpp); 4. RCV (rcv.cpp); 5. LIME and Sharp-LIME
// (lime.cpp); 6. localisation metrics of every method (localisation.cpp).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "examples/cli.h"
#include "examples/concepts/steps.h"
#include "examples/lesson.h"

using namespace lumen;
using namespace lumen::concepts;

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Concept-based explanations (TCAV with significance tests, regression concept vectors), LIME and "
               "Sharp-LIME on annotations, and localisation metrics of every attribution method, on a ColoredMNIST "
               "CNN (whose answer is known: color) and a Fashion-MNIST VGG"};
  app.add_option("--data", o.data_dir, "data directory holding mnist/ and fashion-mnist/ (scripts/get_data.sh)")
      ->capture_default_str();
  app.add_option("--out", o.out_dir, "where models, figures, summary.json and index.html go (created; checked first)")
      ->capture_default_str();
  app.add_flag("--fresh", o.fresh, "retrain the models even if out/ holds them");
  app.add_option("--seed", o.seed, "seed of the models and of every random draw")->check(cli::seed())->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->check(cli::threads())
      ->capture_default_str();
  app.add_option("--cnn-epochs", o.cnn_epochs, "ColoredMNIST CNN: training epochs")->check(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--fashion-epochs", o.fashion_epochs, "Fashion-MNIST VGG: training epochs")
      ->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--fashion-train-images", o.fashion_train_images, "Fashion-MNIST VGG: training images (the first n)")
      ->check(cli::integer(1, 60000))->capture_default_str();
  app.add_option("--fashion-test-images", o.fashion_test_images, "Fashion-MNIST test images used (the first n)")
      ->check(cli::integer(10, 10000))->capture_default_str();
  app.add_option("--random-sets", o.random_sets, "TCAV: CAVs per concept and layer, each against its own random set")
      ->check(cli::integer(2, 1000))->capture_default_str();
  app.add_option("--concept-images", o.concept_images, "TCAV: images per concept and per random set")
      ->check(cli::integer(4, 500))->capture_default_str();
  app.add_option("--class-images", o.class_images, "TCAV: inputs of the explained class")
      ->check(cli::integer(2, 1000))->capture_default_str();
  app.add_option("--ig-steps", o.ig_steps, "TCAV: steps of the layer-IG variant")->check(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--alpha", o.alpha, "TCAV: significance level before the Bonferroni correction")
      ->check(cli::real(1e-12, 0.5))->capture_default_str();
  app.add_option("--cav-epochs", o.cav_epochs, "TCAV: gradient-descent steps of each CAV's logistic regression")
      ->check(cli::integer(1, 100000))->capture_default_str();
  app.add_option("--rcv-images", o.rcv_images, "RCV: test images whose measures are regressed")
      ->check(cli::integer(20, 2000))->capture_default_str();
  app.add_option("--lime-samples", o.lime_samples, "LIME: perturbed samples per explanation in the figures")
      ->check(cli::integer(10, 100000))->capture_default_str();
  app.add_option("--lime-top-k", o.lime_top_k, "LIME: features shown and compared for stability")
      ->check(cli::integer(1, 100))->capture_default_str();
  app.add_option("--stability-seeds", o.stability_seeds, "LIME stability: seeds compared")
      ->check(cli::integer(2, 100))->capture_default_str();
  app.add_option("--stability-images", o.stability_images, "LIME stability: images (half per model)")
      ->check(cli::integer(2, 100))->capture_default_str();
  app.add_option("--stability-samples", o.stability_samples, "LIME stability: the numbers of perturbed samples compared")
      ->check(cli::integer(10, 100000))->capture_default_str();
  app.add_option("--via", o.via_path, "Sharp-LIME also on the polygons of this VGG Image Annotator (VIA) JSON file, "
                 "drawn on the explained_<i>.png images a previous run wrote")
      ->check(CLI::ExistingFile);
  app.add_option("--via-image", o.via_image, "with --via: which explained_<i>.png the polygons were drawn on")
      ->check(cli::integer(0, 3))->capture_default_str();
  app.add_option("--metric-images", o.metric_images, "localisation metrics: test images per model")
      ->check(cli::integer(4, 10000))->capture_default_str();
  app.add_option("--robustness-images", o.robustness_images,
                 "max-sensitivity and randomisation check: the first n of those images")
      ->check(cli::integer(2, 10000))->capture_default_str();
  app.add_option("--metric-ig-steps", o.metric_ig_steps, "localisation metrics: IG steps (IG + noise tunnel: half)")
      ->check(cli::integer(2, 10000))->capture_default_str();
  app.add_option("--nt-samples", o.nt_samples,
                 "localisation metrics: noisy copies for IG + noise tunnel (SmoothGrad and GradientSHAP: twice as many)")
      ->check(cli::integer(1, 1000))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  if (!cli::prepare_output_dir("concepts", o.out_dir)) return 1;  // before the minutes of work
  const auto t_start = std::chrono::steady_clock::now();

  try {
    report::Report r(o.out_dir, "Concept-based explanations, Sharp-LIME and localisation metrics",
                     "<p>Every number and figure on this page was produced by <code>examples/concepts</code> (lumen) "
                     "in this run, on real MNIST and Fashion-MNIST images.</p>\n");
    Lesson l = train_models(o, r);
    tcav_colored(l, r);
    tcav_textures(l, r);
    regression_concepts(l, r);
    lime_and_sharp_lime(l, r);
    localisation_metrics(l, r);

    const std::string seconds = r.number({"seconds"}, lesson::seconds_since(t_start), "%.1f", " s");
    const std::string threads = r.count({"threads"}, omp_get_max_threads());
    r.paragraph("Whole run: " + seconds + " on " + threads + " thread(s).");
    r.headline("CNN accuracy (ColoredMNIST)", {"models", "cnn_accuracy"});
    r.headline("VGG accuracy (Fashion-MNIST)", {"models", "vgg_accuracy"});
    r.headline("TCAV: lowest score of a class for its own tint", {"tcav_colored", "own_tint_min_score"});
    r.headline("RCV: mean |Br| of the color measures", {"rcv", "headline", "color_mean_abs_br"});
    r.headline("RCV: mean |Br| of the shape and texture measures", {"rcv", "headline", "shape_texture_mean_abs_br"});
    r.write();
    r.say("\nwrote " + o.out_dir + "/index.html, summary.json and its figures in " + seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "concepts: %s\n", e.what());
    return 1;
  }
  return cli::finish("concepts");
}
