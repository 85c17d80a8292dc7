// Lesson 2 of the knowledge-extraction course: ask the trained ColoredMNIST classifier *why*. Every
// attribution method of xai/ explains one test image of each color class; then the explanations
// themselves are put to the test (deletion/insertion curves, infidelity, the randomisation check).
//
//   build/examples/train_classifier                       # out/classifier/model.safetensors (MLP)
//   build/examples/train_classifier --model cnn --out out/classifier-cnn
//   build/examples/explain                                # writes out/explain/
//
// Figures (PNG, in --out): ig_baselines.png (Integrated Gradients with zero, uniform-noise and
// blurred baselines, as in the course), methods_dense.png, methods_cnn.png (Grad-CAM needs the CNN;
// skipped if its checkpoint is missing), deletion.png, insertion.png, sanity.png; tables:
// evaluation.md, sanity.md; and summary.json with every number printed.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/checkpoint.h"
#include "nn/colored_mnist.h"
#include "nn/mnist.h"
#include "nn/models.h"
#include "nn/safetensors.h"
#include "xai/backward_rules.h"
#include "xai/baselines.h"
#include "xai/evaluation.h"
#include "xai/grad_cam.h"
#include "xai/gradient.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "figures/png.h"
#include "xai/lime.h"
#include "xai/perturbation.h"
#include "figures/plot.h"
#include "xai/segmentation.h"
#include "xai/visualize.h"

using namespace lumen;
namespace fs = std::filesystem;

namespace {

const char* kClassNames[nn::kColoredMnistClasses] = {"spring", "summer", "autumn", "winter"};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A classifier from a checkpoint written by train_classifier; null if the file does not exist.
std::shared_ptr<nn::Module> load_classifier(const std::string& path, const std::string& expected_model) {
  if (!fs::exists(path)) return nullptr;
  const auto meta = nn::read_safetensors_metadata(path);
  const std::string name = meta.count("model") ? meta.at("model") : expected_model;
  LUMEN_CHECK(name == expected_model, "explain", path, " holds a '", name, "' model, expected '", expected_model, "'");
  std::shared_ptr<nn::Module> model = nn::make_classifier(name);
  nn::load(*model, path);
  model->eval();
  return model;
}

// Softmax probabilities of the model for images, without a graph.
Tensor probabilities(nn::Module& model, const Tensor& images) {
  autograd::NoGradGuard no_grad;
  return softmax(model(images), 1);
}

// The methods shown for a model, each as "title" + a function of (inputs, target). Signed methods
// are drawn with the diverging colormap, unsigned ones as magnitudes.
struct Method {
  std::string title;
  xai::AttributionFn fn;
  xai::Sign sign = xai::Sign::all;
};

// figure | the diverging colorbar of the signed maps (normalised attribution, −1 … 1), centred.
Tensor with_colorbar(const Tensor& figure) {
  const std::int64_t h = figure.size(1);
  const Tensor bar = figures::colorbar(figures::Colormap::bwr, -1.0, 1.0, std::min<std::int64_t>(h - 40, 300), 16, 5, 2);
  Tensor column = ones({3, h, bar.size(2) + 16});
  const std::int64_t top = (h - bar.size(1)) / 2;
  column.narrow(1, top, bar.size(1)).narrow(2, 8, bar.size(2)).copy_(bar);
  return cat({figure, column}, 2);
}

// One figure: a row per image, the input then one overlay per method.
Tensor methods_figure(const std::vector<Method>& methods, const Tensor& images, const xai::Target& target,
                      const std::vector<std::string>& row_labels, const std::string& title,
                      std::map<std::string, Tensor>* keep = nullptr) {
  std::vector<std::vector<Tensor>> rows(static_cast<std::size_t>(images.size(0)));
  std::vector<std::string> columns{"input"};
  for (std::int64_t i = 0; i < images.size(0); ++i) rows[static_cast<std::size_t>(i)].push_back(images[i]);
  for (const Method& m : methods) {
    const Tensor attr = m.fn(images, target);
    if (keep) (*keep)[m.title] = attr;
    columns.push_back(m.title);
    for (std::int64_t i = 0; i < images.size(0); ++i)
      rows[static_cast<std::size_t>(i)].push_back(m.sign == xai::Sign::all ? xai::heatmap(attr[i], xai::Sign::all)
                                                                          : xai::overlay(images[i], attr[i], m.sign, 0.6));
  }
  return with_colorbar(figures::labelled_grid(rows, columns, row_labels, {.upscale = 4, .font_scale = 2, .title = title}));
}

// A model-independent "explanation": the gradient magnitude of the image itself (Sobel filters).
// It looks plausible on digits, but cannot pass the randomisation check: it never asks the model.
Tensor edge_detector(const Tensor& images) {
  const Tensor gray = images.mean({1}, true);
  const Tensor kx = tensor({-1, 0, 1, -2, 0, 2, -1, 0, 1}, {1, 1, 3, 3}, options_of(gray));
  const Tensor ky = kx.transpose(2, 3).contiguous();
  const Tensor gx = conv2d(gray, kx, {}, {.padding = {1, 1}}), gy = conv2d(gray, ky, {}, {.padding = {1, 1}});
  return sqrt(square(gx) + square(gy) + 1e-12).expand(images.shape()).contiguous();
}

void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "data", dense_path = "out/classifier/model.safetensors",
              cnn_path = "out/classifier-cnn/model.safetensors", out_dir = "out/explain";
  int threads = 0;
  std::int64_t n_steps = 50, eval_images = 100, lime_samples = 1000;
  std::uint64_t seed = 0;
  CLI::App app{"Explain the ColoredMNIST classifier with every attribution method, and evaluate the explanations"};
  app.add_option("--data", data_dir, "data directory holding mnist/ (made by scripts/get_data.sh)")->capture_default_str();
  app.add_option("--dense", dense_path, "checkpoint of the MLP (train_classifier)")->capture_default_str();
  app.add_option("--cnn", cnn_path, "checkpoint of the CNN (train_classifier --model cnn); optional")
      ->capture_default_str();
  app.add_option("--out", out_dir, "where the figures and tables go")->capture_default_str();
  app.add_option("--steps", n_steps, "Integrated Gradients steps (Gauss-Legendre)")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--eval-images", eval_images, "test images for deletion/insertion, infidelity, sanity check")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lime-samples", lime_samples, "perturbed samples per image for LIME")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the noise baselines, SmoothGrad and LIME")->capture_default_str();
  app.add_option("--threads", threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) omp_set_num_threads(threads);
  const auto t_start = std::chrono::steady_clock::now();

  try {
    // ---- the classifiers and the test set they were evaluated on (colored with their seed + 1)
    std::shared_ptr<nn::Module> dense = load_classifier(dense_path, "dense");
    if (!dense) {
      std::fprintf(stderr, "explain: no classifier at %s; run build/examples/train_classifier first\n", dense_path.c_str());
      return 1;
    }
    std::shared_ptr<nn::Module> cnn = load_classifier(cnn_path, "cnn");
    const auto meta = nn::read_safetensors_metadata(dense_path);
    const std::uint64_t data_seed = meta.count("seed") ? std::stoull(meta.at("seed")) : 0;
    const fs::path mnist_dir = fs::path(data_dir) / "mnist";
    const nn::MnistSplit split = nn::split_mnist(nn::load_mnist(mnist_dir.string()));
    const nn::ColoredMnist test = nn::make_colored_mnist(split.test, data_seed + 1);
    fs::create_directories(out_dir);
    const fs::path out(out_dir);
    std::ostringstream summary;
    summary << "{\n";

    // One test image per class: the first of each.
    std::vector<std::int64_t> picks;
    const auto labels = test.labels.to_vector<std::int64_t>();
    for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c)
      for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] == c) {
          picks.push_back(static_cast<std::int64_t>(i));
          break;
        }
    const Tensor images = index_select(test.images, 0, tensor_from(picks));
    const xai::Target target(std::vector<std::int64_t>{0, 1, 2, 3});
    const Tensor probs = probabilities(*dense, images);
    std::vector<std::string> row_labels;
    for (std::int64_t c = 0; c < 4; ++c)
      row_labels.push_back(std::string(kClassNames[c]) + " p=" + fmt("%.2f", probs[c][c].item()));
    std::printf("explaining test images %lld %lld %lld %lld (one per class) with the MLP of %s\n",
                static_cast<long long>(picks[0]), static_cast<long long>(picks[1]), static_cast<long long>(picks[2]),
                static_cast<long long>(picks[3]), dense_path.c_str());

    // ---- 1. Integrated Gradients with the course's three baselines
    const xai::ForwardFn f = xai::forward_of(*dense);
    xai::IntegratedGradients ig(f);
    Generator gen(seed);
    const Tensor uniform = xai::uniform_baseline(images, 0.0, 1.0, &gen);
    const Tensor blurred = xai::gaussian_blur(images, 3.0);
    std::vector<std::vector<Tensor>> ig_rows(4);
    std::printf("\nIntegrated Gradients, %lld Gauss-Legendre steps: convergence delta = sum(attr) - (F(x) - F(x'))\n",
                static_cast<long long>(n_steps));
    std::printf("%-10s %12s %12s %12s\n", "image", "zero", "uniform", "blurred");
    std::vector<Tensor> deltas;
    for (const Tensor& base : {zeros_like(images), uniform, blurred}) {
      auto [attr, delta] = ig.attribute_with_delta(images, target, base, {.n_steps = n_steps});
      deltas.push_back(delta);
      for (std::int64_t i = 0; i < 4; ++i) {
        ig_rows[static_cast<std::size_t>(i)].push_back(base[i]);
        ig_rows[static_cast<std::size_t>(i)].push_back(xai::heatmap(attr[i], xai::Sign::all));
      }
    }
    summary << "  \"ig_convergence_delta\": {";
    const char* base_names[3] = {"zero", "uniform", "blurred"};
    for (int b = 0; b < 3; ++b) {
      summary << (b ? ", " : "") << "\"" << base_names[b] << "\": [";
      for (std::int64_t i = 0; i < 4; ++i) summary << (i ? ", " : "") << deltas[static_cast<std::size_t>(b)][i].item();
      summary << "]";
    }
    summary << "},\n";
    for (std::int64_t i = 0; i < 4; ++i) {
      std::printf("%-10s", kClassNames[i]);
      for (int b = 0; b < 3; ++b) std::printf(" %12.2e", deltas[static_cast<std::size_t>(b)][i].item());
      std::printf("\n");
      ig_rows[static_cast<std::size_t>(i)].insert(ig_rows[static_cast<std::size_t>(i)].begin(), images[i]);
    }
    figures::save_png((out / "ig_baselines.png").string(),
                  with_colorbar(figures::labelled_grid(ig_rows,
                                     {"input", "zero baseline", "IG", "uniform baseline", "IG", "blurred baseline", "IG"},
                                     row_labels,
                                     {.upscale = 4, .font_scale = 2,
                                      .title = "Integrated Gradients: the baseline decides what 'absence' means"})));

    // ---- 2. every method on the MLP
    xai::Saliency saliency(f);
    xai::InputXGradient ixg(f);
    xai::GuidedBackprop guided(*dense);
    xai::Deconvolution deconv(*dense);
    xai::DeepLift deeplift(*dense);
    xai::Occlusion occlusion(f);
    xai::Lime lime(f);
    const Tensor grid = xai::grid_feature_mask(28, 28, 4, 4);
    std::vector<Method> dense_methods = {
        {"Saliency", [&](const Tensor& x, const xai::Target& t) { return saliency.attribute(x, t); }, xai::Sign::absolute},
        {"InputXGradient", [&](const Tensor& x, const xai::Target& t) { return ixg.attribute(x, t); }},
        {"IG (zero)", [&](const Tensor& x, const xai::Target& t) { return ig.attribute(x, t, {}, {.n_steps = n_steps}); }},
        {"SmoothGrad",
         [&](const Tensor& x, const xai::Target& t) {
           return xai::NoiseTunnel([&](const Tensor& xx, const xai::Target& tt) { return saliency.attribute(xx, tt); })
               .attribute(x, t, {.n_samples = 25, .stdev = 0.15, .generator = &gen});
         },
         xai::Sign::absolute},
        {"GuidedBackprop", [&](const Tensor& x, const xai::Target& t) { return guided.attribute(x, t); }},
        {"Deconvolution", [&](const Tensor& x, const xai::Target& t) { return deconv.attribute(x, t); }},
        {"DeepLift", [&](const Tensor& x, const xai::Target& t) { return deeplift.attribute(x, t); }},
        {"Occlusion",
         [&](const Tensor& x, const xai::Target& t) {
           return occlusion.attribute(x, t, {.window = {3, 4, 4}, .strides = {3, 2, 2}, .perturbations_per_eval = 64});
         }},
        {"LIME (4x4 grid)",
         [&](const Tensor& x, const xai::Target& t) {
           return lime.attribute(x, t, {.feature_mask = grid, .n_samples = lime_samples, .generator = &gen});
         }},
    };
    std::map<std::string, Tensor> dense_attr;
    figures::save_png((out / "methods_dense.png").string(),
                  methods_figure(dense_methods, images, target, row_labels, "The MLP: where is the evidence for each class?",
                                 &dense_attr));

    // ---- 3. the CNN: Grad-CAM and Guided Grad-CAM on its last convolution, LIME on superpixels
    if (cnn) {
      const xai::ForwardFn fc = xai::forward_of(*cnn);
      xai::GradCam gradcam(*cnn, "features.3");
      xai::GuidedGradCam guided_gradcam(*cnn, "features.3");
      xai::IntegratedGradients ig_cnn(fc);
      xai::Occlusion occ_cnn(fc);
      xai::Lime lime_cnn(fc);
      const Tensor superpixels = xai::superpixel_mask(images, {.n_segments = 40});
      std::vector<Method> cnn_methods = {
          {"Grad-CAM", [&](const Tensor& x, const xai::Target& t) { return gradcam.attribute(x, t); }, xai::Sign::positive},
          {"Guided Grad-CAM", [&](const Tensor& x, const xai::Target& t) { return guided_gradcam.attribute(x, t); }},
          {"GuidedBackprop", [&](const Tensor& x, const xai::Target& t) { return xai::GuidedBackprop(*cnn).attribute(x, t); }},
          {"IG (zero)", [&](const Tensor& x, const xai::Target& t) { return ig_cnn.attribute(x, t, {}, {.n_steps = n_steps}); }},
          {"Occlusion",
           [&](const Tensor& x, const xai::Target& t) {
             return occ_cnn.attribute(x, t, {.window = {3, 4, 4}, .strides = {3, 2, 2}, .perturbations_per_eval = 64});
           }},
          {"LIME (superpixels)",
           [&](const Tensor& x, const xai::Target& t) {
             return lime_cnn.attribute(x, t, {.feature_mask = superpixels, .n_samples = lime_samples, .generator = &gen});
           }},
      };
      const Tensor cnn_probs = probabilities(*cnn, images);
      std::vector<std::string> cnn_labels;
      for (std::int64_t c = 0; c < 4; ++c)
        cnn_labels.push_back(std::string(kClassNames[c]) + " p=" + fmt("%.2f", cnn_probs[c][c].item()));
      figures::save_png((out / "methods_cnn.png").string(),
                    methods_figure(cnn_methods, images, target, cnn_labels, "The CNN: Grad-CAM on features.3 (conv 16->32)"));
    } else {
      std::printf("\nno CNN checkpoint at %s: skipping Grad-CAM (train_classifier --model cnn --out %s)\n",
                  cnn_path.c_str(), fs::path(cnn_path).parent_path().c_str());
    }

    // ---- 4. are the explanations faithful? deletion/insertion curves and infidelity on many images
    const std::int64_t n_eval = std::min<std::int64_t>(eval_images, test.size());
    const Tensor eval_x = test.images.narrow(0, 0, n_eval);
    const xai::Target eval_t = xai::Target::from_tensor(test.labels.narrow(0, 0, n_eval));
    Generator rgen(seed + 7);
    std::vector<Method> evaluated = {dense_methods[0], dense_methods[1], dense_methods[2], dense_methods[3],
                                     dense_methods[6], dense_methods[7],
                                     {"random", [&](const Tensor& x, const xai::Target&) {
                                        return rand(x.shape(), options_of(x), &rgen);
                                      }}};
    const std::int64_t n_sens = std::min<std::int64_t>(n_eval, 20);  // max-sensitivity reruns each method 11 times
    const Tensor sens_x = eval_x.narrow(0, 0, n_sens);
    const xai::Target sens_t = eval_t.slice(0, n_sens);
    std::vector<figures::Series> del_series, ins_series;
    std::ostringstream table;
    table << "| method | deletion AUC (lower is better) | insertion AUC (higher is better) | infidelity (lower is better) "
             "| max-sensitivity (lower is better) |\n|---|---:|---:|---:|---:|\n";
    std::printf("\nfaithfulness on %lld test images (target: the true class; probabilities; zeros replace deleted "
                "pixels, insertion starts from a blur; max-sensitivity on the first 20)\n%-16s %14s %14s %14s %16s\n", static_cast<long long>(n_eval), "method", "deletion AUC",
                "insertion AUC", "infidelity", "max-sensitivity");
    summary << "  \"faithfulness\": {";
    bool first = true;
    for (const Method& m : evaluated) {
      const Tensor attr = m.fn(eval_x, eval_t);
      const auto del = xai::deletion_curve(f, eval_x, attr, eval_t, {.steps = 28});
      const auto ins = xai::insertion_curve(f, eval_x, attr, eval_t, {.steps = 28, .blur_sigma = 3.0});
      const double infid = xai::infidelity(f, eval_x, attr, eval_t, {.n_perturb = 10, .normalize = true}).mean().item();
      // Stability under a ±0.02 perturbation of every pixel (10 draws): the method runs 11 times.
      const double sens = xai::max_sensitivity(m.fn, sens_x, sens_t, {.n_perturb = 10}).mean().item();
      del_series.push_back({m.title, del.mean.fractions, del.mean.values, std::nullopt});
      ins_series.push_back({m.title, ins.mean.fractions, ins.mean.values, std::nullopt});
      std::printf("%-16s %14.4f %14.4f %14.3e %16.4f\n", m.title.c_str(), del.mean.auc, ins.mean.auc, infid, sens);
      table << "| " << m.title << " | " << fmt("%.4f", del.mean.auc) << " | " << fmt("%.4f", ins.mean.auc) << " | "
            << fmt("%.3e", infid) << " | " << fmt("%.4f", sens) << " |\n";
      summary << (first ? "" : ", ") << "\"" << m.title << "\": {\"deletion_auc\": " << del.mean.auc
              << ", \"insertion_auc\": " << ins.mean.auc << ", \"infidelity\": " << infid
              << ", \"max_sensitivity\": " << sens << "}";
      first = false;
    }
    summary << "},\n";
    write_text(out / "evaluation.md", table.str());
    figures::save_png((out / "deletion.png").string(),
                  figures::plot_lines(del_series, {.title = "Deletion: most important pixels removed first",
                                               .xlabel = "fraction of pixels deleted", .ylabel = "p(true class)",
                                               .width = 640, .height = 440, .ylim = std::pair{0.0, 1.0}}));
    figures::save_png((out / "insertion.png").string(),
                  figures::plot_lines(ins_series, {.title = "Insertion into a blurred image",
                                               .xlabel = "fraction of pixels inserted", .ylabel = "p(true class)",
                                               .width = 640, .height = 440, .ylim = std::pair{0.0, 1.0}}));

    // ---- 5. the randomisation sanity check: does the explanation depend on the model at all?
    const std::int64_t n_sanity = std::min<std::int64_t>(n_eval, 32);
    const Tensor sx = eval_x.narrow(0, 0, n_sanity);
    const xai::Target st = eval_t.slice(0, n_sanity);
    std::vector<std::pair<std::string, xai::ModelAttributionFn>> sanity_methods = {
        {"Saliency", [](nn::Module& m, const Tensor& x, const xai::Target& t) {
           return xai::Saliency(xai::forward_of(m)).attribute(x, t);
         }},
        {"IG (zero)", [&](nn::Module& m, const Tensor& x, const xai::Target& t) {
           return xai::IntegratedGradients(xai::forward_of(m)).attribute(x, t, {}, {.n_steps = n_steps});
         }},
        {"GuidedBackprop", [](nn::Module& m, const Tensor& x, const xai::Target& t) {
           return xai::GuidedBackprop(m).attribute(x, t);
         }},
        {"edge detector", [](nn::Module&, const Tensor& x, const xai::Target&) { return edge_detector(x); }},
    };
    std::vector<figures::Series> sanity_series;
    std::ostringstream sanity_table;
    std::printf("\nmodel-parameter randomisation (cascading, from the output layer), %lld images: mean Spearman rank "
                "correlation of |attribution| with the original\n", static_cast<long long>(n_sanity));
    summary << "  \"sanity_check\": {";
    first = true;
    for (const auto& [name, method] : sanity_methods) {
      const auto result = xai::model_randomization_check(*dense, method, sx, st, {.seed = seed});
      figures::Series s{name, {}, {}, std::nullopt};
      if (first) {
        sanity_table << "| method |";
        for (const auto& row : result.rows) sanity_table << " " << row.layer << " |";
        sanity_table << " verdict |\n|---|";
        for (std::size_t i = 0; i < result.rows.size(); ++i) sanity_table << "---:|";
        sanity_table << "---|\n";
        std::printf("%-16s", "method");
        for (const auto& row : result.rows) std::printf(" %9s", row.layer.c_str());
        std::printf("\n");
      }
      std::printf("%-16s", name.c_str());
      sanity_table << "| " << name << " |";
      summary << (first ? "" : ", ") << "\"" << name << "\": [";
      for (std::size_t i = 0; i < result.rows.size(); ++i) {
        s.xs.push_back(static_cast<double>(i));
        s.ys.push_back(result.rows[i].mean_abs);
        std::printf(" %9.3f", result.rows[i].mean_abs);
        sanity_table << " " << fmt("%.3f", result.rows[i].mean_abs) << " |";
        summary << (i ? ", " : "") << result.rows[i].mean_abs;
      }
      summary << "]";
      // Passing: once every layer is random, the explanation no longer resembles the original.
      const bool passes = result.rows.back().mean_abs < 0.5;
      std::printf("   %s\n", passes ? "passes (the map changes with the weights)" : "FAILS (the map stays like the original)");
      sanity_table << " " << (passes ? "passes" : "fails") << " |\n";
      sanity_series.push_back(std::move(s));
      first = false;
    }
    summary << "},\n";
    write_text(out / "sanity.md", sanity_table.str());
    figures::save_png((out / "sanity.png").string(),
                  figures::plot_lines(sanity_series, {.title = "Cascading randomisation: 0 = original, then fc4, fc3...",
                                                  .xlabel = "layers randomised", .ylabel = "Spearman rank correlation",
                                                  .width = 640, .height = 440, .ylim = std::pair{-0.2, 1.05},
                                                  .markers = true}));

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    summary << "  \"seconds\": " << seconds << ", \"threads\": " << omp_get_max_threads() << "\n}\n";
    write_text(out / "summary.json", summary.str());
    std::printf("\nwrote %s/{ig_baselines, methods_dense%s, deletion, insertion, sanity}.png, evaluation.md, sanity.md, "
                "summary.json in %.1f s\n", out_dir.c_str(), cnn ? ", methods_cnn" : "", seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "explain: %s\n", e.what());
    return 1;
  }
  return 0;
}
