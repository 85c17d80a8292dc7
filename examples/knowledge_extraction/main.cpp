// The flagship lesson, end to end: knowledge extraction on ColoredMNIST, after the exercise
// "Knowledge Extraction from a Pre-trained Neural Network" of the DL@MBL course (Deep Learning @ the
// Marine Biological Laboratory, Funke lab).
//
// A classifier learns to sort digits by color. Attribution maps show *where* it looks, but not
// *what* about those pixels matters: color or shape? A conditional GAN answers by example: it turns
// an image into a counterfactual of another class, and the classifier checks that the class really
// flipped. Attribution *between* the real image and its counterfactual (discriminative attribution,
// DAPI/QuAC) then finds the few pixels that carry the difference, and the hybrid images built from
// them are scored by the classifier.
//
//   1. ColoredMNIST (8,000 training / 2,000 test digits from data/mnist)   data_and_classifiers.cpp
//   2. classifiers: the exercise's MLP (and the small CNN, for Grad-CAM)    → classifier.png
//   3. attributions of the MLP: IG, saliency; Grad-CAM of the CNN          → attributions.png    attributions.cpp
//   4. the exercise's GAN: UNet generator + style encoder, EMA             → gan/samples.png     gan.cpp
//   5. counterfactuals for every test image × every class; the flip rate   → counterfactuals.png, flips.png,
//      the interpolation and the style space                                 interpolation.png, style_space.png
//                                                                                                 counterfactuals.cpp
//   6. discriminative attribution: D-IG, D-InputXGradient, D-DeepLIFT (+ D-Grad-CAM on the CNN)
//      vs IG, residual, random; masks, hybrids, DAC scores                 → dapi_examples.png, dac_curves.png
//                                                                                                 discriminative.cpp
//   then index.html with every step's numbers and figures, and summary.json (examples/report.h)
//
// Trained models are kept in --out and reused on the next run (--fresh retrains everything; an
// interrupted GAN resumes from its checkpoint).
//
// --stargan runs steps 4-6 with the StarGAN v2 option instead (gan/stargan.h, trained into
// <out>/stargan/): counterfactuals come from random latents through the mapping network, --candidates
// of them per image; the flip rate, figures and discriminative attribution are computed the same way.
//
// Data parallel over MPI (started by mpirun, or --distributed):
//
//   mpirun -np 2 build/examples/knowledge_extraction --threads 1
//
// every rank runs the same steps: the classifiers and the exercise's GAN train data parallel (each
// rank its shard of every batch, DDP averaging the gradients), the flip rate's and the discriminative
// attribution's images are split across the ranks and the results gathered, so the numbers are one
// process's up to float rounding. Rank 0 alone prints and writes (models, figures, summary.json,
// index.html). The StarGAN v2 option trains in one process only.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "dist/checkpoint.h"
#include "dist/process_group.h"
#include "examples/cli.h"
#include "examples/knowledge_extraction/steps.h"
#include "examples/lesson.h"

using namespace lumen;
using namespace lumen::knowledge_extraction;

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Knowledge extraction on ColoredMNIST (the DL@MBL exercise): classifier, attributions, "
               "counterfactual GAN, discriminative attribution; writes an index.html report"};
  app.add_option("--data", o.data_dir, "data directory holding mnist/ (scripts/get_data.sh)")->capture_default_str();
  app.add_option("--out", o.out_dir, "where models, figures and index.html go (created; checked first)")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->check(cli::threads())
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seeds the colors, the weights and every random choice")->check(cli::seed())
      ->capture_default_str();
  app.add_flag("--fresh", o.fresh, "retrain the classifiers and the GAN even if their checkpoints exist");
  app.add_option("--classifier-epochs", o.classifier_epochs, "epochs of the exercise's classifier recipe")
      ->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--gan-epochs", o.gan_epochs, "GAN epochs over the training images (the exercise: 15)")
      ->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--fmaps", o.fmaps, "UNet feature maps at full resolution (the exercise: 64)")
      ->check(cli::integer(1, 256))->capture_default_str();
  app.add_option("--depth", o.depth, "UNet levels (28 × 28 images: at most 3)")->check(cli::integer(1, 3))->capture_default_str();
  app.add_option("--lr-g", o.lr_g, "Adam lr of the generator and style encoder (the exercise: 1e-4)")
      ->check(cli::positive(1))->capture_default_str();
  app.add_option("--ema", o.ema_beta, "EMA decay of the generator copy (the exercise: 0.999)")->check(cli::real(0, 1))
      ->capture_default_str();
  app.add_flag("--sigmoid", o.sigmoid,
               "end the UNet with the exercise's sigmoid (on this mostly-black data it tends to collapse to black)");
  app.add_option("--gan-images", o.gan_images, "train the GAN on the first N training images (0: all 8,000)")
      ->check(cli::integer(0, 8000))->capture_default_str();
  app.add_flag("--stargan", o.stargan,
               "steps 4-6 with the StarGAN v2 option (gan/stargan.h: mapping network, AdaIN generator, per-class "
               "discriminator with R1) trained into <out>/stargan/; counterfactuals from --candidates random latents "
               "instead of reference images");
  app.add_option("--stargan-epochs", o.stargan_epochs, "with --stargan: epochs over the training images")
      ->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--stargan-channels", o.stargan_channels, "with --stargan: generator feature maps")
      ->check(cli::integer(1, 256))->capture_default_str();
  app.add_option("--stargan-res-blocks", o.stargan_res_blocks, "with --stargan: encoder (and AdaIN decoder) residual blocks")
      ->check(cli::integer(0, 16))->capture_default_str();
  app.add_option("--stargan-batch", o.stargan_batch, "with --stargan: batch size")
      ->check(cli::integer(1, 8000))->capture_default_str();
  app.add_option("--stargan-lr", o.stargan_lr,
                 "with --stargan: Adam lr of G, E and D (the paper: 1e-4); the mapping network's is 1/100 of it")
      ->check(cli::positive(1))->capture_default_str();
  app.add_option("--stargan-ema", o.stargan_ema, "with --stargan: EMA decay of G, F and E (the paper: 0.999)")
      ->check(cli::real(0, 1))->capture_default_str();
  app.add_option("--candidates", o.candidates,
                 "reference images of the target class (with --stargan: random latents) tried per counterfactual")
      ->check(cli::integer(1, 1000))->capture_default_str();
  app.add_option("--flip-images", o.flip_images, "test images turned into every class for the flip rate")
      ->check(cli::integer(1, 2000))->capture_default_str();
  app.add_option("--dapi-images", o.dapi_images, "test images for discriminative attribution")
      ->check(cli::integer(1, 2000))->capture_default_str();
  app.add_option("--ig-steps", o.ig_steps, "Integrated Gradients steps")->check(cli::integer(1, 1000))
      ->capture_default_str();
  bool distributed = false;
  app.add_flag("--distributed", distributed,
               "data parallel over MPI (on when started by mpirun): the training, the flip rate and the "
               "discriminative attribution split their work across the ranks; rank 0 writes");
  CLI11_PARSE(app, argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  try {
    if (distributed || dist::launched_by_mpi()) {
      const auto pg = dist::init({.backend = dist::Backend::mpi});
      o.rank = pg->rank(), o.ranks = pg->size();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "knowledge_extraction: %s\n", e.what());
    return 1;
  }
  if (o.stargan && o.ranks > 1) {
    if (o.rank == 0)
      std::fprintf(stderr, "knowledge_extraction: --stargan trains in one process only, but this job has %d ranks; "
                           "run it without mpirun (the exercise's GAN trains data parallel)\n", o.ranks);
    return 1;
  }
  // The other ranks compute their share of every step and say nothing: their console goes nowhere
  // (errors still reach stderr).
  if (o.rank != 0 && !std::freopen("/dev/null", "w", stdout)) return 1;
  // Before any work: the report's folder and the GAN's checkpoint folder in it, made by rank 0; every
  // rank learns whether it could (dist::on_rank0), so that all stop together if not.
  const std::string gan_dir = (std::filesystem::path(o.out_dir) / (o.stargan ? "stargan" : "gan")).string();
  try {
    dist::on_rank0(dist::world(), "the output folder " + o.out_dir, [&] {
      if (!cli::prepare_output_dir("knowledge_extraction", o.out_dir) ||
          !cli::prepare_output_dir("knowledge_extraction", gan_dir))
        throw Error("no output folder");  // the reason is printed already
    });
  } catch (const std::exception&) {
    return 1;
  }
  const auto t_start = std::chrono::steady_clock::now();

  try {
    // Rank 0's report alone is written (a report without a folder is never written: see r.write below).
    report::Report r(o.rank == 0 ? o.out_dir : "", "Knowledge extraction on ColoredMNIST",
                     "<p>Every number and figure on this page was produced by <code>examples/knowledge_extraction</code> "
                     "(lumen) in this run, after the DL@MBL exercise \"Knowledge Extraction from a Pre-trained Neural "
                     "Network\".</p>\n");
    const Data data = load_data(o, r);
    const Classifiers models = train_classifiers(o, data, r);
    const ClassExamples examples = attribute_classifiers(o, data, models, r);
    const TrainedGan gan = train_gan(o, data, r);
    const FlipResults flips = make_counterfactuals(o, data, models, examples, gan, r);
    discriminative_attribution(o, data, models, gan, flips, r);

    const double seconds = lesson::seconds_since(t_start);
    const std::string whole = r.number({"seconds"}, seconds, "%.1f", " s");
    const std::string threads = r.count({"threads"}, omp_get_max_threads());
    const std::string processes = r.count({"processes"}, o.ranks);
    r.paragraph("Whole run: " + whole + " on " + threads + " thread(s)" +
                (o.ranks > 1 ? " in each of " + processes + " processes (data parallel over MPI)" : "") + ".");
    if (o.rank != 0) return cli::finish("knowledge_extraction");
    r.headline("MLP test accuracy", {"classifier", "dense_accuracy"});
    r.headline("counterfactual flip rate", {"flip_rate"});
    r.headline("DAC of D-IG", {"dac", "D-IG"});
    r.headline("DAC of IG (zero baseline)", {"dac", "IG (zero baseline)"});
    r.headline("discriminative maps beat IG, residual and random", {"dac_target_met"});
    r.write();
    r.say("\nwrote " + o.out_dir + "/index.html (and every figure beside it) in " + whole);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "knowledge_extraction: %s\n", e.what());
    return 1;
  }
  return cli::finish("knowledge_extraction");
}
