// Lesson 2 of the DL@MBL course's knowledge-extraction exercise (Deep Learning @ the Marine
// Biological Laboratory, Funke lab): ask the trained ColoredMNIST classifier *why*. Every attribution
// method of xai/ explains one test image of each color class; then the explanations themselves are
// put to the test (deletion/insertion curves, infidelity, the randomisation check).
//
//   build/examples/train_classifier                       # out/classifier/model.safetensors (MLP)
//   build/examples/train_classifier --model cnn --out out/classifier-cnn
//   build/examples/explain                                # writes out/explain/
//
// Steps: 1. Integrated Gradients with zero, uniform-noise and blurred baselines, as in the exercise
// (ig_baselines.png), 2. every method on the MLP (methods_dense.png), 3. Grad-CAM & co on the CNN
// (methods_cnn.png; skipped if its checkpoint is missing): methods.cpp. 4. faithfulness (deletion.png,
// insertion.png, evaluation.md), 5. the randomisation check (sanity.png, sanity.md): evaluation.cpp.
// index.html shows them all; summary.json has every number printed.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/cli.h"
#include "examples/explain/steps.h"
#include "examples/lesson.h"
#include "nn/checkpoint.h"
#include "nn/mnist.h"
#include "nn/models.h"
#include "nn/safetensors.h"

using namespace lumen;
using namespace lumen::explain;
namespace fs = std::filesystem;

namespace {

// A classifier from a checkpoint written by train_classifier; null if the file does not exist. Its
// metadata is checked first: the model it holds and, where recorded, the seed (a number) of its colors.
std::shared_ptr<nn::Module> load_classifier(const std::string& path, const std::string& expected_model) {
  if (!fs::exists(path)) return nullptr;
  const nn::Metadata meta = nn::read_safetensors_metadata(path);
  const std::string name = meta.count("model") ? meta.at("model") : expected_model;
  LUMEN_CHECK(name == expected_model, "load_classifier", "checkpoint '", path, "': metadata 'model' = '", name,
              "', expected '", expected_model, "'");
  if (meta.count("seed")) nn::metadata_uint64("load_classifier", meta, "seed", path);
  std::shared_ptr<nn::Module> model = nn::make_classifier(name);
  nn::load(*model, path);
  model->eval();
  return model;
}

// The first test image of each class.
std::vector<std::int64_t> one_per_class(const Tensor& test_labels) {
  std::vector<std::int64_t> picks;
  const auto labels = test_labels.to_vector<std::int64_t>();
  for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c)
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == c) {
        picks.push_back(static_cast<std::int64_t>(i));
        break;
      }
  return picks;
}

// The classifiers and the test set they were evaluated on (colored with their seed + 1).
Lesson load(const Options& o, std::shared_ptr<nn::Module> dense, report::Report& r) {
  const nn::Metadata meta = nn::read_safetensors_metadata(o.dense_path);
  const std::uint64_t data_seed = meta.count("seed") ? nn::metadata_uint64("load_classifier", meta, "seed", o.dense_path) : 0;
  const nn::MnistSplit split = nn::split_mnist(nn::load_mnist((fs::path(o.data_dir) / "mnist").string()));
  Lesson l{o, std::move(dense), load_classifier(o.cnn_path, "cnn"), nn::make_colored_mnist(split.test, data_seed + 1), {},
           std::vector<std::int64_t>{0, 1, 2, 3}, {}, Generator(o.seed)};
  const std::vector<std::int64_t> picks = one_per_class(l.test.labels);
  l.images = index_select(l.test.images, 0, tensor_from(picks));
  Tensor probs;
  {
    autograd::NoGradGuard no_grad;
    probs = softmax((*l.dense)(l.images), 1);
  }
  for (std::int64_t c = 0; c < 4; ++c)
    l.row_labels.push_back(std::string(lesson::kClassNames[c]) + " p=" + report::format("%.2f", probs[c][c].item()));
  r.say("explaining test images " + std::to_string(picks[0]) + " " + std::to_string(picks[1]) + " " +
        std::to_string(picks[2]) + " " + std::to_string(picks[3]) + " (one per class) with the MLP of " + o.dense_path);
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Explain the ColoredMNIST classifier of the DL@MBL knowledge-extraction exercise with every "
               "attribution method, and evaluate the explanations"};
  app.add_option("--data", o.data_dir, "data directory holding mnist/ (made by scripts/get_data.sh)")->capture_default_str();
  app.add_option("--dense", o.dense_path, "checkpoint of the MLP (train_classifier)")->capture_default_str();
  app.add_option("--cnn", o.cnn_path, "checkpoint of the CNN (train_classifier --model cnn); optional")
      ->capture_default_str();
  app.add_option("--out", o.out_dir, "where the figures, tables and index.html go (created; checked first)")->capture_default_str();
  app.add_option("--steps", o.n_steps, "Integrated Gradients steps (Gauss-Legendre)")->check(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--eval-images", o.eval_images, "test images for deletion/insertion, infidelity, sanity check")
      ->check(cli::integer(1, 2000))->capture_default_str();
  app.add_option("--lime-samples", o.lime_samples, "perturbed samples per image for LIME")
      ->check(cli::integer(1, 100'000))->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the noise baselines, SmoothGrad and LIME")->check(cli::seed())
      ->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->check(cli::threads())
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  if (!cli::prepare_output_dir("explain", o.out_dir)) return 1;  // before the minutes of work
  const auto t_start = std::chrono::steady_clock::now();

  try {
    std::shared_ptr<nn::Module> dense = load_classifier(o.dense_path, "dense");
    if (!dense) {
      std::fprintf(stderr, "explain: no classifier at %s; run build/examples/train_classifier first\n",
                   o.dense_path.c_str());
      return 1;
    }
    report::Report r(o.out_dir, "Explaining the ColoredMNIST classifier",
                     "<p>Every number and figure on this page was produced by <code>examples/explain</code> (lumen) in "
                     "this run, for the MLP of <code>" + report::escape_html(o.dense_path) + "</code>.</p>\n");
    Lesson l = load(o, std::move(dense), r);
    ig_baselines(l, r);
    const std::vector<Method> mlp = mlp_methods(l, r);
    cnn_methods(l, r);
    faithfulness(l, mlp, r);
    sanity_check(l, r);

    const std::string seconds = r.number({"seconds"}, lesson::seconds_since(t_start), "%.1f", " s");
    const std::string threads = r.count({"threads"}, omp_get_max_threads());
    r.paragraph("Whole run: " + seconds + " on " + threads + " thread(s).");
    r.headline("insertion AUC of IG (zero)", {"faithfulness", "IG (zero)", "insertion_auc"});
    r.headline("insertion AUC of random maps", {"faithfulness", "random", "insertion_auc"});
    r.headline("deletion AUC of IG (zero)", {"faithfulness", "IG (zero)", "deletion_auc"});
    r.headline("deletion AUC of random maps", {"faithfulness", "random", "deletion_auc"});
    r.write();
    r.say("\nwrote " + o.out_dir + "/{ig_baselines, methods_dense" + (l.cnn ? ", methods_cnn" : "") +
          ", deletion, insertion, sanity}.png, evaluation.md, sanity.md, summary.json, index.html in " + seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "explain: %s\n", e.what());
    return 1;
  }
  return cli::finish("explain");
}
