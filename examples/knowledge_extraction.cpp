// The flagship lesson, end to end: knowledge extraction on ColoredMNIST.
//
// A classifier learns to sort digits by color. Attribution maps show *where* it looks, but not
// *what* about those pixels matters: color or shape? A conditional GAN answers by example: it turns
// an image into a counterfactual of another class, and the classifier checks that the class really
// flipped. Attribution *between* the real image and its counterfactual (discriminative attribution,
// DAPI/QuAC) then finds the few pixels that carry the difference, and the hybrid images built from
// them are scored by the classifier.
//
//   1. ColoredMNIST (8,000 training / 2,000 test digits from data/mnist)
//   2. classifiers: the course's MLP (and the small CNN, for Grad-CAM)    → classifier.png
//   3. attributions of the MLP: IG, saliency; Grad-CAM of the CNN          → attributions.png
//   4. the course's GAN: UNet generator + style encoder, EMA               → gan/samples.png
//   5. counterfactuals for every test image × every class; the flip rate   → counterfactuals.png, flips.png,
//      the interpolation and the style space                                 interpolation.png, style_space.png
//   6. discriminative attribution: D-IG, D-InputXGradient, D-DeepLIFT (+ D-Grad-CAM on the CNN)
//      vs IG, residual, random; masks, hybrids, DAC scores                 → dapi_examples.png, dac_curves.png
//   7. index.html: every step with its numbers; summary.json
//
// Trained models are kept in --out and reused on the next run (--fresh retrains everything; an
// interrupted GAN resumes from its checkpoint).
//
// --stargan runs steps 4-6 with the StarGAN v2 option instead (gan/stargan.h, trained into
// <out>/stargan/): counterfactuals come from random latents through the mapping network, --candidates
// of them per image; the flip rate, figures and discriminative attribution are computed the same way.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "examples/lesson.h"
#include "gan/counterfactuals.h"
#include "gan/stargan.h"
#include "gan/training.h"
#include "nn/checkpoint.h"
#include "nn/colored_mnist.h"
#include "nn/mnist.h"
#include "nn/models.h"
#include "xai/baselines.h"
#include "xai/discriminative.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "figures/grid.h"
#include "figures/png.h"
#include "figures/plot.h"
#include "xai/visualize.h"

using namespace lumen;
namespace fs = std::filesystem;
using lesson::fmt;
using lesson::kClassNames;

namespace {

struct Options {
  std::string data_dir = "data", out_dir = "out/knowledge_extraction";
  int threads = 0;
  std::uint64_t seed = 0;
  bool fresh = false;
  int classifier_epochs = 10;
  // The GAN: gan::budget_recipe() (measured to reach a ≥ 95% flip rate in ~2-3 minutes on 2 cores).
  int gan_epochs = 12;
  std::int64_t fmaps = 12, depth = 2, gan_images = 0;
  double lr_g = 3e-4, ema_beta = 0.99;
  bool sigmoid = false;
  // --stargan: the StarGAN v2 option (gan/stargan.h) instead of the course's GAN in steps 4-6.
  bool stargan = false;
  int stargan_epochs = 7;  // 3,500 steps: measured ~175 s on 2 idle cores (flip rate 0.996 on 1000 test images × 4)
  std::int64_t stargan_channels = 16, stargan_res_blocks = 1, stargan_batch = 16;
  double stargan_lr = 3e-4, stargan_ema = 0.99;
  std::int64_t candidates = 8;       // reference images (or, with --stargan, random latents) tried per counterfactual
  std::int64_t flip_images = 1000;   // test images × 4 targets for the flip rate
  std::int64_t dapi_images = 100;    // test images for discriminative attribution
  std::int64_t ig_steps = 50;
};

// The classifier in out/<name>.safetensors, trained with the course's recipe if absent (or --fresh).
std::shared_ptr<nn::Module> classifier(const std::string& model_name, const fs::path& path, const nn::ColoredMnist& train,
                                       const Options& o, double* train_seconds) {
  manual_seed(o.seed);
  std::shared_ptr<nn::Module> model = nn::make_classifier(model_name);
  *train_seconds = 0;
  if (!o.fresh && fs::exists(path)) {
    nn::load(*model, path.string());
    std::printf("  %s: reusing %s\n", model_name.c_str(), path.c_str());
  } else {
    *train_seconds = lesson::fit_classifier(*model, train, {.epochs = o.classifier_epochs, .seed = o.seed});
    nn::save(*model, path.string(), {{"model", model_name}, {"seed", std::to_string(o.seed)}});
  }
  model->eval();
  return model;
}

Tensor probabilities(nn::Module& model, const Tensor& x) {
  autograd::NoGradGuard no_grad;
  return softmax(model(x), 1);
}

// The first test image of each class.
std::vector<std::int64_t> one_per_class(const Tensor& labels) {
  std::vector<std::int64_t> picks;
  const auto l = labels.to_vector<std::int64_t>();
  for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c)
    for (std::size_t i = 0; i < l.size(); ++i)
      if (l[i] == c) {
        picks.push_back(static_cast<std::int64_t>(i));
        break;
      }
  return picks;
}

// Two principal components of rows [N, D] (centred; Eigen's symmetric eigensolver on the D×D
// covariance): [N, 2] plus the fraction of variance each explains.
std::pair<std::vector<std::array<double, 2>>, std::array<double, 2>> pca2(const Tensor& rows) {
  const auto v = rows.to(DType::float64).contiguous().to_vector<double>();
  const Eigen::Index n = rows.size(0), d = rows.size(1);
  Eigen::MatrixXd x = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(v.data(), n, d);
  x.rowwise() -= x.colwise().mean();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(x.transpose() * x / double(std::max<Eigen::Index>(n - 1, 1)));
  // Eigenvalues come in increasing order: the last two columns are the leading components.
  const Eigen::MatrixXd proj = x * eig.eigenvectors().rightCols(2).rowwise().reverse();
  const double total = eig.eigenvalues().sum();
  std::vector<std::array<double, 2>> out(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = {proj(i, 0), proj(i, 1)};
  return {out, {eig.eigenvalues()(d - 1) / total, d > 1 ? eig.eigenvalues()(d - 2) / total : 0.0}};
}

// A scatter plot: one single-point series per point (each its own color), plus legend entries.
Tensor scatter(const std::vector<std::array<double, 2>>& pts, const std::vector<std::array<float, 3>>& colors,
               const std::vector<std::pair<std::string, std::array<float, 3>>>& legend, const std::string& title,
               const std::string& xlabel, const std::string& ylabel) {
  std::vector<figures::Series> series;
  for (std::size_t i = 0; i < pts.size(); ++i) series.push_back({"", {pts[i][0]}, {pts[i][1]}, colors[i]});
  for (const auto& [name, color] : legend) series.push_back({name, {pts[0][0]}, {pts[0][1]}, color});
  return figures::plot_lines(series, {.title = title, .xlabel = xlabel, .ylabel = ylabel, .width = 520, .height = 440,
                                  .markers = true});
}

std::string img(const std::string& file, const std::string& alt) {
  return "<p><img src=\"" + file + "\" alt=\"" + alt + "\" style=\"max-width:100%;image-rendering:pixelated\"></p>\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Knowledge extraction on ColoredMNIST: classifier, attributions, counterfactual GAN, discriminative "
               "attribution; writes an index.html report"};
  app.add_option("--data", o.data_dir, "data directory holding mnist/ (scripts/get_data.sh)")->capture_default_str();
  app.add_option("--out", o.out_dir, "where models, figures and index.html go")->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->capture_default_str();
  app.add_option("--seed", o.seed, "seeds the colors, the weights and every random choice")->capture_default_str();
  app.add_flag("--fresh", o.fresh, "retrain the classifiers and the GAN even if their checkpoints exist");
  app.add_option("--classifier-epochs", o.classifier_epochs, "epochs of the course's classifier recipe")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--gan-epochs", o.gan_epochs, "GAN epochs over the training images (the course: 15)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--fmaps", o.fmaps, "UNet feature maps at full resolution (the course: 64)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--depth", o.depth, "UNet levels")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr-g", o.lr_g, "Adam lr of the generator and style encoder (the course: 1e-4)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--ema", o.ema_beta, "EMA decay of the generator copy (the course: 0.999)")->capture_default_str();
  app.add_flag("--sigmoid", o.sigmoid,
               "end the UNet with the course's sigmoid (on this mostly-black data it tends to collapse to black)");
  app.add_option("--gan-images", o.gan_images, "train the GAN on the first N training images (0: all 8,000)")
      ->capture_default_str();
  app.add_flag("--stargan", o.stargan,
               "steps 4-6 with the StarGAN v2 option (gan/stargan.h: mapping network, AdaIN generator, per-class "
               "discriminator with R1) trained into <out>/stargan/; counterfactuals from --candidates random latents "
               "instead of reference images");
  app.add_option("--stargan-epochs", o.stargan_epochs, "with --stargan: epochs over the training images")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--stargan-channels", o.stargan_channels, "with --stargan: generator feature maps")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--stargan-res-blocks", o.stargan_res_blocks, "with --stargan: encoder (and AdaIN decoder) residual blocks")
      ->capture_default_str();
  app.add_option("--stargan-batch", o.stargan_batch, "with --stargan: batch size")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--stargan-lr", o.stargan_lr,
                 "with --stargan: Adam lr of G, E and D (the paper: 1e-4); the mapping network's is 1/100 of it")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--stargan-ema", o.stargan_ema, "with --stargan: EMA decay of G, F and E (the paper: 0.999)")
      ->capture_default_str();
  app.add_option("--candidates", o.candidates,
                 "reference images of the target class (with --stargan: random latents) tried per counterfactual")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--flip-images", o.flip_images, "test images turned into every class for the flip rate")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dapi-images", o.dapi_images, "test images for discriminative attribution")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--ig-steps", o.ig_steps, "Integrated Gradients steps")->check(CLI::PositiveNumber)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const auto t_start = std::chrono::steady_clock::now();
  const fs::path out(o.out_dir);

  try {
    fs::create_directories(out);
    std::ostringstream html, json;
    json << "{\n";
    html << "<!doctype html><html><head><meta charset=\"utf-8\"><title>Knowledge extraction on ColoredMNIST</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "code{background:#f4f4f4}</style></head><body>\n"
            "<h1>Knowledge extraction on ColoredMNIST</h1>\n"
            "<p>Every number and figure on this page was produced by <code>examples/knowledge_extraction</code> "
            "(lumen) in this run.</p>\n";

    // ---- 1. data
    std::printf("1. ColoredMNIST\n");
    const nn::MnistSplit split = nn::split_mnist(nn::load_mnist((fs::path(o.data_dir) / "mnist").string()));
    const nn::ColoredMnist train = nn::make_colored_mnist(split.train, o.seed);
    const nn::ColoredMnist test = nn::make_colored_mnist(split.test, o.seed + 1);
    std::printf("  %lld training, %lld test images; the class is the color family, not the digit\n",
                static_cast<long long>(train.size()), static_cast<long long>(test.size()));

    // ---- 2. classifiers
    std::printf("\n2. classifiers (Adam 1e-4, batch 32, %d epochs)\n", o.classifier_epochs);
    double dense_s = 0, cnn_s = 0;
    auto dense = classifier("dense", out / "classifier_dense.safetensors", train, o, &dense_s);
    auto cnn = classifier("cnn", out / "classifier_cnn.safetensors", train, o, &cnn_s);
    const auto [dense_cm, dense_acc] = lesson::normalise_rows(lesson::confusion_counts(*dense, test.images, test.labels));
    const auto [cnn_cm, cnn_acc] = lesson::normalise_rows(lesson::confusion_counts(*cnn, test.images, test.labels));
    std::printf("  test accuracy: MLP %.4f, CNN %.4f\n  MLP confusion ", dense_acc, cnn_acc);
    lesson::print_matrix(dense_cm, "true class", "predicted");
    const std::vector<std::string> short_names{"spr", "sum", "aut", "win"};
    figures::save_png((out / "classifier.png").string(),
                  figures::render_confusion_matrix(tensor(dense_cm, {4, 4}), short_names));
    json << "  \"classifier\": {\"dense_accuracy\": " << dense_acc << ", \"cnn_accuracy\": " << cnn_acc
         << ", \"dense_train_s\": " << dense_s << ", \"cnn_train_s\": " << cnn_s << "},\n";
    html << "<h2>1–2. The data and the classifier</h2>\n<p>Each of the " << train.size()
         << " training digits is tinted with a color drawn from one of four matplotlib colormaps (spring, summer, "
            "autumn, winter); the class is the colormap. The course's MLP (2352→256→120→84→4) reaches a test accuracy of <b>"
         << fmt("%.4f", dense_acc) << "</b>, the small CNN <b>" << fmt("%.4f", cnn_acc)
         << "</b>. Row-normalised confusion matrix of the MLP (rows: true class):</p>\n"
         << img("classifier.png", "confusion matrix");

    // ---- 3. attributions of the classifier
    std::printf("\n3. attributions of the classifier on one test image per class\n");
    const std::vector<std::int64_t> picks = one_per_class(test.labels);
    const Tensor x4 = index_select(test.images, 0, tensor_from(picks));
    const xai::Target t4(std::vector<std::int64_t>{0, 1, 2, 3});
    const xai::ForwardFn f = xai::forward_of(*dense);
    xai::IntegratedGradients ig(f);
    auto [ig_zero, delta_zero] = ig.attribute_with_delta(x4, t4, {}, {.n_steps = o.ig_steps});
    auto [ig_blur, delta_blur] = ig.attribute_with_delta(x4, t4, xai::gaussian_blur(x4, 3.0), {.n_steps = o.ig_steps});
    const Tensor sal = xai::Saliency(f).attribute(x4, t4);
    const Tensor cam = xai::GradCam(*cnn, "features.3").attribute(x4, t4);
    std::vector<std::vector<Tensor>> rows;
    std::vector<std::string> row_labels;
    for (std::int64_t i = 0; i < 4; ++i) {
      rows.push_back({x4[i], xai::overlay(x4[i], sal[i], xai::Sign::absolute, 0.6),
                      xai::heatmap(ig_zero[i], xai::Sign::all), xai::heatmap(ig_blur[i], xai::Sign::all),
                      xai::overlay(x4[i], cam[i], xai::Sign::positive, 0.6)});
      row_labels.push_back(kClassNames[i]);
    }
    figures::save_png((out / "attributions.png").string(),
                  figures::labelled_grid(rows, {"input", "saliency", "IG (zero)", "IG (blurred)", "Grad-CAM (CNN)"},
                                     row_labels, {.upscale = 4, .font_scale = 2}));
    double max_delta = 0;
    for (const Tensor& d : {delta_zero, delta_blur}) max_delta = std::max(max_delta, amax(abs(d)).item());
    std::printf("  IG convergence |delta| <= %.2e (%lld Gauss-Legendre steps)\n", max_delta,
                static_cast<long long>(o.ig_steps));
    json << "  \"ig_max_abs_delta\": " << max_delta << ",\n";
    html << "<h2>3. Where does the classifier look?</h2>\n<p>Saliency, Integrated Gradients (zero and blurred "
            "baselines; largest convergence delta |Σattr − (F(x) − F(x'))| = "
         << fmt("%.2e", max_delta)
         << ") and Grad-CAM on the CNN all light up the digit's strokes. They say <i>where</i>, not <i>what</i>: "
            "the strokes carry both the shape and the color, and the maps cannot tell which one decides.</p>\n"
         << img("attributions.png", "attributions");

    // ---- 4. the GAN (the course's, or with --stargan the StarGAN v2 option)
    std::shared_ptr<gan::GanModels> models;
    gan::Generator* G = nullptr;
    gan::StyleEncoder* S = nullptr;
    std::shared_ptr<gan::StarGanModels> sg;
    std::int64_t gan_steps = 0;
    double gan_seconds = 0, gan_steps_per_s = 0;
    if (o.stargan) {
      std::printf("\n4. the StarGAN v2 option (%lld channels, %lld residual blocks, batch %lld, %d epochs, lr %g, EMA %g)\n",
                  static_cast<long long>(o.stargan_channels), static_cast<long long>(o.stargan_res_blocks),
                  static_cast<long long>(o.stargan_batch), o.stargan_epochs, o.stargan_lr, o.stargan_ema);
      gan::StarGanRunOptions run;
      run.stargan.channels = o.stargan_channels;
      run.stargan.res_blocks = o.stargan_res_blocks;
      run.stargan.batch_size = o.stargan_batch;
      run.stargan.epochs = o.stargan_epochs;
      run.stargan.lr = o.stargan_lr;
      run.stargan.lr_mapping = o.stargan_lr / 100;  // the paper's ratio
      run.stargan.ema_beta = o.stargan_ema;
      // The diversity weight decays to 0 over the whole run (the paper: over its 100k steps).
      const std::int64_t n_gan = o.gan_images > 0 ? std::min<std::int64_t>(o.gan_images, train.size()) : train.size();
      run.stargan.ds_decay_steps = o.stargan_epochs * ((n_gan + o.stargan_batch - 1) / o.stargan_batch);
      run.stargan.seed = o.seed;
      run.data_dir = o.data_dir;
      run.out_dir = (out / "stargan").string();
      run.max_images = o.gan_images;
      run.color_seed = o.seed;
      run.resume = !o.fresh;
      if (o.fresh && fs::exists(out / "stargan" / "checkpoint.safetensors"))
        fs::remove(out / "stargan" / "checkpoint.safetensors");
      const gan::StarGanRunSummary gs = gan::run_stargan_training(run);
      if (gs.steps_run == 0)
        std::printf("  the checkpoint has all %lld steps already (--fresh retrains)\n", static_cast<long long>(gs.steps));
      else
        std::printf("  %lld steps in %.1f s (%.2f steps/s); last losses: adversarial %.4f, style %.4f, cycle %.4f, "
                    "D %.4f\n",
                    static_cast<long long>(gs.steps_run), gs.seconds, gs.steps_per_s, gs.last.adversarial, gs.last.style,
                    gs.last.cycle, gs.last.discriminator());
      sg = gan::load_stargan_models(gs.checkpoint);
      sg->eval();
      gan_steps = gs.steps, gan_seconds = gs.seconds, gan_steps_per_s = gs.steps_per_s;
      json << "  \"stargan\": {\"steps\": " << gs.steps << ", \"seconds\": " << gs.seconds << ", \"steps_per_s\": "
           << gs.steps_per_s << ", \"channels\": " << o.stargan_channels << ", \"res_blocks\": " << o.stargan_res_blocks
           << ", \"batch\": " << o.stargan_batch << ", \"epochs\": " << o.stargan_epochs << ", \"lr\": " << o.stargan_lr
           << ", \"ema\": " << o.stargan_ema << "},\n";
    } else {
      std::printf("\n4. the course's GAN (UNet depth %lld, %lld feature maps, %d epochs)\n", static_cast<long long>(o.depth),
                  static_cast<long long>(o.fmaps), o.gan_epochs);
      gan::RunOptions run;
      run.gan = gan::budget_recipe();
      run.gan.lr_g = o.lr_g;
      run.gan.ema_beta = o.ema_beta;
      run.gan.sigmoid = o.sigmoid;
      run.gan.epochs = o.gan_epochs;
      run.gan.num_fmaps = o.fmaps;
      run.gan.depth = o.depth;
      run.gan.seed = o.seed;
      run.data_dir = o.data_dir;
      run.out_dir = (out / "gan").string();
      run.max_images = o.gan_images;
      run.color_seed = o.seed;
      run.resume = !o.fresh;
      if (o.fresh && fs::exists(out / "gan" / "checkpoint.safetensors")) fs::remove(out / "gan" / "checkpoint.safetensors");
      const gan::RunSummary gs = gan::run_training(run);
      if (gs.steps_run == 0)
        std::printf("  the checkpoint has all %lld steps already (--fresh retrains)\n", static_cast<long long>(gs.steps));
      else
        std::printf("  %lld steps in %.1f s (%.2f steps/s); last losses: cycle %.4f, adversarial %.4f\n",
                    static_cast<long long>(gs.steps_run), gs.seconds, gs.steps_per_s, gs.last.cycle, gs.last.adversarial);
      models = gan::load_gan_models(gs.checkpoint);
      G = models->generator_ema.get();
      S = models->style_encoder_ema.get();
      G->eval();
      S->eval();
      gan_steps = gs.steps, gan_seconds = gs.seconds, gan_steps_per_s = gs.steps_per_s;
      json << "  \"gan\": {\"steps\": " << gs.steps << ", \"seconds\": " << gs.seconds << ", \"steps_per_s\": "
           << gs.steps_per_s << ", \"fmaps\": " << o.fmaps << ", \"depth\": " << o.depth << ", \"epochs\": " << o.gan_epochs
           << "},\n";
    }
    // The counterfactual of x for `target`, chosen among o.candidates reference images (course) or random latents.
    const auto counterfactual_of = [&](const Tensor& x, std::int64_t target, const gan::Prototypes& protos,
                                       std::uint64_t latent_seed) {
      if (sg)
        return gan::counterfactual_v2_candidates(*sg->generator_ema, *sg->mapping_ema, x, target, *dense, o.candidates,
                                                 latent_seed);
      return gan::counterfactual(*G, *S, x, target, protos, {.max_candidates = o.candidates, .classifier = dense.get()});
    };

    // ---- 5. counterfactuals and the flip rate
    std::printf(sg ? "\n5. counterfactuals (style from up to %lld random latents through the mapping network)\n"
                   : "\n5. counterfactuals (style from up to %lld reference images of the target class)\n",
                static_cast<long long>(o.candidates));
    // StarGAN: random latents need no reference images. Latent seeds: flips o.seed + 20, DAPI o.seed + 30.
    const gan::Prototypes protos =
        sg ? gan::Prototypes{} : gan::select_prototypes(train.images, train.labels, 4, o.candidates, dense.get());
    const std::int64_t n_flip = std::min(o.flip_images, test.size());
    const gan::FlipReport flips =
        sg ? gan::evaluate_flips_v2(*sg->generator_ema, *sg->mapping_ema, *dense, test.images.narrow(0, 0, n_flip),
                                    test.labels.narrow(0, 0, n_flip), o.candidates, o.seed + 20)
           : gan::evaluate_flips(*G, *S, *dense, test.images.narrow(0, 0, n_flip), test.labels.narrow(0, 0, n_flip),
                                 protos, o.candidates);
    std::vector<std::vector<double>> flip_counts(4, std::vector<double>(4));
    const auto fc = flips.confusion.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < 16; ++i) flip_counts[i / 4][i % 4] = static_cast<double>(fc[i]);
    const auto [flip_cm, flip_diag] = lesson::normalise_rows(flip_counts);
    std::printf("  flip rate over %lld pairs (%lld images x 4 targets): %.4f (target != source: %.4f)\n  ",
                static_cast<long long>(flips.pairs), static_cast<long long>(n_flip), flips.flip_rate,
                flips.flip_rate_changed);
    lesson::print_matrix(flip_cm, "target class", "classifier's prediction");
    figures::save_png((out / "flips.png").string(), figures::render_confusion_matrix(tensor(flip_cm, {4, 4}), short_names));
    Tensor sources = index_select(test.images, 0, tensor_from(picks));
    if (sg) {  // one fixed latent for every source and class
      Generator zg(o.seed + 21);
      figures::save_png((out / "counterfactuals.png").string(),
                    gan::counterfactual_grid_v2(*sg->generator_ema, *sg->mapping_ema, sources,
                                                randn({1, sg->mapping_ema->latent_dim}, {}, &zg), 3));
    } else {
      figures::save_png((out / "counterfactuals.png").string(), gan::counterfactual_grid(*G, *S, sources, protos, 3));
    }
    json << "  \"flip_rate\": " << flips.flip_rate << ", \"flip_rate_changed\": " << flips.flip_rate_changed
         << ", \"flip_pairs\": " << flips.pairs << ",\n";

    // The course's interpolation: α·x_cf + (1 − α)·x for 15 α in (0, 1), for one image and target.
    const std::int64_t src_class = 0, dst_class = 2;
    const Tensor xs = x4.narrow(0, src_class, 1);
    const gan::Counterfactuals cf1 = counterfactual_of(xs, dst_class, protos, o.seed + 22);
    std::vector<Tensor> blend;
    std::vector<std::string> blend_titles;
    for (int k = 1; k <= 15; ++k) {
      const double a = k / 16.0;
      blend.push_back((a * cf1.images + (1 - a) * xs)[0]);
    }
    const Tensor blend_p = probabilities(*dense, stack(blend));
    for (int k = 0; k < 15; ++k)
      blend_titles.push_back(fmt("%.2f", blend_p[k][src_class].item()) + "|" + fmt("%.2f", blend_p[k][dst_class].item()));
    figures::save_png((out / "interpolation.png").string(),
                  figures::labelled_grid({blend}, blend_titles, {}, {.upscale = 4, .font_scale = 2,
                                     .title = std::string("alpha x_cf + (1 - alpha) x, alpha = 1/16 .. 15/16: p(") +
                                              kClassNames[src_class] + ") | p(" + kClassNames[dst_class] + ")"}));

    // The style space: 2-component PCA of the style vectors of test images, by class and by color.
    const std::int64_t n_style = std::min<std::int64_t>(1000, test.size());
    Tensor styles;
    {
      autograd::NoGradGuard no_grad;
      // StarGAN: the EMA style encoder's head of each image's own class.
      styles = sg ? (*sg->style_encoder_ema)(test.images.narrow(0, 0, n_style), test.labels.narrow(0, 0, n_style))
                  : (*S)(test.images.narrow(0, 0, n_style));
    }
    const auto [pts, explained] = pca2(styles);
    const auto lab = test.labels.narrow(0, 0, n_style).to_vector<std::int64_t>();
    const auto tt = test.t.narrow(0, 0, n_style).to_vector<float>();
    std::vector<std::array<float, 3>> by_class, by_color;
    std::vector<std::pair<std::string, std::array<float, 3>>> class_legend;
    for (std::int64_t c = 0; c < 4; ++c) class_legend.push_back({kClassNames[c], figures::palette(static_cast<std::size_t>(c))});
    for (std::int64_t i = 0; i < n_style; ++i) {
      by_class.push_back(figures::palette(static_cast<std::size_t>(lab[static_cast<std::size_t>(i)])));
      by_color.push_back(nn::colormap_color(lab[static_cast<std::size_t>(i)], tt[static_cast<std::size_t>(i)]));
    }
    const std::string xl = "PC1 (" + fmt("%.0f", 100 * explained[0]) + "%)", yl = "PC2 (" + fmt("%.0f", 100 * explained[1]) + "%)";
    figures::save_png((out / "style_space.png").string(),
                  cat({scatter(pts, by_class, class_legend, "style vectors by class", xl, yl),
                       scatter(pts, by_color, {}, "style vectors by the image's color", xl, yl)}, 2));
    html << "<h2>4–5. Counterfactuals: what would make it another class?</h2>\n<p>"
         << (sg ? "The StarGAN v2 option (a mapping network from a random latent to a per-class style, an AdaIN "
                  "generator, a per-class style encoder, a discriminator with one real/fake logit per class and R1; "
                  "adversarial + style + diversity + cycle losses; EMA copies) trained "
                : "The course's GAN (a UNet generator fed the image and a style vector, a style encoder, a 4-class "
                  "discriminator, cycle + adversarial losses, an EMA generator) trained ")
         << gan_steps << " steps (" << fmt("%.1f", gan_seconds) << " s, " << fmt("%.2f", gan_steps_per_s)
         << " steps/s). Each test image is turned into every class, with the style of up to " << o.candidates
         << (sg ? " random latents mapped to the target class's style" : " reference images of the target class")
         << " (the first the classifier accepts is kept). Rows: source; columns: each target class"
         << (sg ? " (one fixed latent)" : "") << ".</p>\n"
         << img("counterfactuals.png", "counterfactuals")
         << "<p>The classifier judges the counterfactuals of " << n_flip << " test images × 4 targets: the flip rate "
            "(predicted = target) is <b>"
         << fmt("%.4f", flips.flip_rate) << "</b> (" << fmt("%.4f", flips.flip_rate_changed)
         << " over the pairs whose target differs from the source). Rows: target; columns: prediction.</p>\n"
         << img("flips.png", "flip confusion matrix")
         << "<p>Blending an image into its counterfactual: the classifier's belief moves from the source to the "
            "target class; titles are p(source) | p(target).</p>\n"
         << img("interpolation.png", "interpolation")
         << "<p>The style space: the style encoder's vectors of " << n_style << " test images"
         << (sg ? " (StarGAN: the head of each image's own class)" : "") << ", projected on their two "
            "principal components (" << fmt("%.0f", 100 * (explained[0] + explained[1]))
         << "% of the variance), colored by class (left) and by each image's own color (right). Where points of "
            "similar color lie together, the encoder has captured color — what the GAN changes.</p>\n"
         << img("style_space.png", "style space");

    // ---- 6. discriminative attribution
    std::printf("\n6. discriminative attribution on %lld test images\n", static_cast<long long>(o.dapi_images));
    const std::int64_t n_dapi = std::min(o.dapi_images, test.size());
    // Images after those of the flip rate where there are enough (held out from every earlier choice).
    const std::int64_t first = std::min(n_flip, test.size() - n_dapi);
    const Tensor xd = test.images.narrow(0, first, n_dapi).contiguous();
    const auto real = test.labels.narrow(0, first, n_dapi).to_vector<std::int64_t>();
    Generator rng(o.seed + 11);
    const auto shift = randint(1, 4, {n_dapi}, kCPU, &rng).to_vector<std::int64_t>();
    std::vector<std::int64_t> target_cls(static_cast<std::size_t>(n_dapi));
    for (std::int64_t i = 0; i < n_dapi; ++i)
      target_cls[static_cast<std::size_t>(i)] = (real[static_cast<std::size_t>(i)] + shift[static_cast<std::size_t>(i)]) % 4;
    // Counterfactuals per target class, then back in the images' order; keep the pairs that flipped.
    Tensor xcf = zeros_like(xd);
    std::vector<bool> flipped(static_cast<std::size_t>(n_dapi), false);
    for (std::int64_t c = 0; c < 4; ++c) {
      std::vector<std::int64_t> idx;
      for (std::int64_t i = 0; i < n_dapi; ++i)
        if (target_cls[static_cast<std::size_t>(i)] == c) idx.push_back(i);
      if (idx.empty()) continue;
      const Tensor sel = tensor_from(idx);
      const gan::Counterfactuals cf = counterfactual_of(index_select(xd, 0, sel), c, protos, o.seed + 30);
      xcf = index_add(xcf, 0, sel, cf.images);
      const auto pred = cf.predicted.to_vector<std::int64_t>();
      for (std::size_t j = 0; j < idx.size(); ++j) flipped[static_cast<std::size_t>(idx[j])] = pred[j] == c;
    }
    std::vector<std::int64_t> keep;
    for (std::int64_t i = 0; i < n_dapi; ++i)
      if (flipped[static_cast<std::size_t>(i)]) keep.push_back(i);
    LUMEN_CHECK(!keep.empty(), "knowledge_extraction", "no counterfactual flipped the classifier; train the GAN longer");
    const Tensor kept = tensor_from(keep);
    const Tensor xk = index_select(xd, 0, kept), xcfk = index_select(xcf, 0, kept);
    std::vector<std::int64_t> real_k, target_k;
    for (std::int64_t i : keep) {
      real_k.push_back(real[static_cast<std::size_t>(i)]);
      target_k.push_back(target_cls[static_cast<std::size_t>(i)]);
    }
    const xai::Target real_t(real_k), cf_t(target_k);
    std::printf("  %zu of %lld counterfactuals flipped the MLP and are explained\n", keep.size(),
                static_cast<long long>(n_dapi));
    Generator noise(o.seed + 12);
    std::vector<std::pair<std::string, Tensor>> maps = {
        {"D-IG", xai::d_integrated_gradients(f, xk, xcfk, real_t, {.n_steps = o.ig_steps})},
        {"D-InputXGradient", xai::d_input_x_gradient(f, xk, xcfk, real_t)},
        {"D-DeepLIFT", xai::d_deeplift(*dense, xk, xcfk, real_t)},
        {"IG (zero baseline)", ig.attribute(xk, real_t, {}, {.n_steps = o.ig_steps})},
        {"residual |x - x_cf|", xai::residual_attribution(xk, xcfk)},
        {"random", xai::random_attribution(xk, 1.0, &noise)},
    };
    std::vector<xai::DacSummary> dac;
    std::vector<std::vector<xai::DacResult>> dac_all;
    std::vector<figures::Series> curves;
    std::ostringstream table;
    table << "<table><tr><th>method</th><th>mean DAC</th><th>mean optimal mask size</th><th>mean score at it</th></tr>\n";
    std::printf("  %-22s %10s %12s %12s\n", "method (MLP)", "mean DAC", "best size", "best score");
    json << "  \"dac\": {";
    for (std::size_t m = 0; m < maps.size(); ++m) {
      auto results = xai::dac_evaluate(f, xk, xcfk, maps[m].second, cf_t);
      const xai::DacSummary s = xai::summarize_dac(maps[m].first, results);
      std::printf("  %-22s %10.4f %12.4f %12.4f\n", s.method.c_str(), s.mean_dac, s.mean_best_size, s.mean_best_score);
      table << "<tr><td style=\"text-align:left\">" << s.method << "</td><td>" << fmt("%.4f", s.mean_dac) << "</td><td>"
            << fmt("%.4f", s.mean_best_size) << "</td><td>" << fmt("%.4f", s.mean_best_score) << "</td></tr>\n";
      json << (m ? ", " : "") << "\"" << s.method << "\": " << s.mean_dac;
      curves.push_back({s.method, s.grid, s.mean_curve, std::nullopt});
      dac.push_back(s);
      dac_all.push_back(std::move(results));
    }
    json << "},\n";
    // D-Grad-CAM needs convolutions: the same pairs, explained and scored with the CNN.
    const xai::ForwardFn fc_cnn = xai::forward_of(*cnn);
    const Tensor dgc = xai::d_grad_cam(*cnn, "features.3", xk, xcfk, real_t);
    const xai::DacSummary s_gc = xai::summarize_dac("D-Grad-CAM (CNN)", xai::dac_evaluate(fc_cnn, xk, xcfk, dgc, cf_t));
    const xai::DacSummary s_res_cnn = xai::summarize_dac(
        "residual (CNN)", xai::dac_evaluate(fc_cnn, xk, xcfk, xai::residual_attribution(xk, xcfk), cf_t));
    for (const auto* s : {&s_gc, &s_res_cnn}) {
      std::printf("  %-22s %10.4f %12.4f %12.4f\n", s->method.c_str(), s->mean_dac, s->mean_best_size, s->mean_best_score);
      table << "<tr><td style=\"text-align:left\">" << s->method << "</td><td>" << fmt("%.4f", s->mean_dac)
            << "</td><td>" << fmt("%.4f", s->mean_best_size) << "</td><td>" << fmt("%.4f", s->mean_best_score)
            << "</td></tr>\n";
    }
    table << "</table>\n";
    json << "  \"dac_cnn\": {\"D-Grad-CAM\": " << s_gc.mean_dac << ", \"residual\": " << s_res_cnn.mean_dac << "},\n";
    const bool target_met = dac[0].mean_dac > std::max({dac[3].mean_dac, dac[4].mean_dac, dac[5].mean_dac}) &&
                            dac[1].mean_dac > std::max({dac[3].mean_dac, dac[4].mean_dac, dac[5].mean_dac});
    std::printf("  D-IG and D-InputXGradient above IG, residual and random: %s\n", target_met ? "yes" : "NO");
    figures::save_png((out / "dac_curves.png").string(),
                  figures::plot_lines(curves, {.title = "Hybrids: classifier's change in p(counterfactual class)",
                                           .xlabel = "mask size (fraction of the image)",
                                           .ylabel = "p_cf(hybrid) - p_cf(real)", .width = 640, .height = 440}));
    // Examples: real | counterfactual | D-IG | optimal mask | hybrid, for the first four pairs.
    std::vector<std::vector<Tensor>> ex_rows;
    std::vector<std::string> ex_labels;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(4, xk.size(0)); ++i) {
      const xai::DacResult& r = dac_all[0][static_cast<std::size_t>(i)];
      ex_rows.push_back({xk[i], xcfk[i], xai::heatmap(maps[0].second[i], xai::Sign::all), r.best_mask, r.best_hybrid});
      ex_labels.push_back(std::string(kClassNames[real_k[static_cast<std::size_t>(i)]]) + " -> " +
                          kClassNames[target_k[static_cast<std::size_t>(i)]]);
    }
    figures::save_png((out / "dapi_examples.png").string(),
                  figures::labelled_grid(ex_rows, {"real", "counterfactual", "D-IG", "best mask", "hybrid"}, ex_labels,
                                     {.upscale = 4, .font_scale = 2}));
    html << "<h2>6. Discriminative attribution: which pixels make the difference?</h2>\n<p>For " << keep.size()
         << " test images whose counterfactual (to a random other class) flipped the classifier, each method's map "
            "is thresholded at 200 levels; each mask is closed with an elliptical element and blurred, and the hybrid "
            "m·x_cf + (1−m)·x is shown to the classifier. The curve of p_cf(hybrid) − p_cf(x) against the mask size "
            "is summarised by its area (DAC; higher: fewer pixels explain the change). D-IG is Integrated Gradients "
            "with the counterfactual as baseline; D-InputXGradient is ∇f(x)·(x − x_cf).</p>\n"
         << table.str() << "<p>Target of the lesson — D-IG and D-InputXGradient above IG, residual and random: <b>"
         << (target_met ? "met" : "not met") << "</b>.</p>\n"
         << img("dac_curves.png", "DAC curves") << img("dapi_examples.png", "examples")
         << "<p>With D-IG's optimal masks, swapping on average " << fmt("%.1f", 100 * dac[0].mean_best_size)
         << "% of the pixels from the counterfactual into the real image raises p(counterfactual class) by "
         << fmt("%.2f", dac[0].mean_best_score)
         << " on average; the examples show what those pixels are. The counterfactuals keep the digit and change its "
            "color, so a class that flips with so few swapped pixels is read from the color of the strokes, not from "
            "their shape: knowledge that the attribution maps of step 3 alone could not give.</p>\n";

    const double seconds = lesson::seconds_since(t_start);
    json << "  \"dac_target_met\": " << (target_met ? "true" : "false") << ",\n  \"seconds\": " << seconds
         << ", \"threads\": " << omp_get_max_threads() << "\n}\n";
    html << "<p>Whole run: " << fmt("%.1f", seconds) << " s on " << omp_get_max_threads() << " thread(s).</p></body></html>\n";
    lesson::write_text(out / "summary.json", json.str());
    lesson::write_text(out / "index.html", html.str());
    std::printf("\nwrote %s/index.html (and every figure beside it) in %.1f s\n", o.out_dir.c_str(), seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "knowledge_extraction: %s\n", e.what());
    return 1;
  }
  return 0;
}
