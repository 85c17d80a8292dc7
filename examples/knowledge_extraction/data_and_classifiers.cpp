// Steps 1 and 2 of the knowledge-extraction lesson (the DL@MBL exercise): the ColoredMNIST data and
// the classifiers whose knowledge the later steps extract.
#include <filesystem>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/checkpoint.h"
#include "examples/knowledge_extraction/steps.h"
#include "examples/lesson.h"
#include "figures/plot.h"
#include "nn/checkpoint.h"
#include "nn/mnist.h"
#include "nn/models.h"
#include "nn/safetensors.h"

namespace lumen::knowledge_extraction {

namespace fs = std::filesystem;

Data load_data(const Options& o, report::Report& r) {
  r.step("1. ColoredMNIST");
  const nn::MnistSplit split = nn::split_mnist(nn::load_mnist((fs::path(o.data_dir) / "mnist").string()));
  Data d{nn::make_colored_mnist(split.train, o.seed), nn::make_colored_mnist(split.test, o.seed + 1)};
  r.say("  " + std::to_string(d.train.size()) + " training, " + std::to_string(d.test.size()) +
        " test images; the class is the color family, not the digit");
  return d;
}

namespace {

// A kept classifier is reused only if it is this run's: the same model, seed and (where recorded) epochs.
void check_metadata(const nn::Metadata& meta, const std::string& path, const std::string& model_name,
                    const Options& o) {
  const char* op = "train_classifiers";
  const std::string& model = nn::metadata_text(op, meta, "model", path);
  LUMEN_CHECK(model == model_name, op, "checkpoint '", path, "': metadata 'model' = '", model, "', expected '",
              model_name, "'");
  const std::uint64_t seed = nn::metadata_uint64(op, meta, "seed", path);
  LUMEN_CHECK(seed == o.seed, op, "checkpoint '", path, "': metadata 'seed' = ", seed, ", expected this run's --seed ",
              o.seed, " (--fresh retrains)");
  if (meta.count("epochs")) {  // not recorded before
    const std::int64_t epochs = nn::metadata_int(op, meta, "epochs", path, 1, 1'000'000);
    LUMEN_CHECK(epochs == o.classifier_epochs, op, "checkpoint '", path, "': metadata 'epochs' = ", epochs,
                ", expected this run's --classifier-epochs ", o.classifier_epochs, " (--fresh retrains)");
  }
}

// The classifier in out/<name>.safetensors, trained with the exercise's recipe if absent (or --fresh).
// Returns it in eval mode, with the training time (0 when reused).
std::shared_ptr<nn::Module> classifier(const std::string& model_name, const fs::path& path, const nn::ColoredMnist& train,
                                       const Options& o, report::Report& r, double* train_seconds) {
  manual_seed(o.seed);
  std::shared_ptr<nn::Module> model = nn::make_classifier(model_name);
  *train_seconds = 0;
  if (!o.fresh && fs::exists(path)) {
    check_metadata(nn::read_safetensors_metadata(path.string()), path.string(), model_name, o);
    nn::load(*model, path.string());
    r.say("  " + model_name + ": reusing " + path.string());
  } else {
    *train_seconds = lesson::fit_classifier(*model, train,
                                            {.epochs = o.classifier_epochs, .seed = o.seed, .distributed = o.ranks > 1});
    // Rank 0 writes (the replicas are equal); every rank goes on once the file is complete.
    dist::save_checkpoint(*model, path.string(), {{"model", model_name}, {"seed", std::to_string(o.seed)},
                                                  {"epochs", std::to_string(o.classifier_epochs)}});
  }
  model->eval();
  return model;
}

}  // namespace

Classifiers train_classifiers(const Options& o, const Data& data, report::Report& r) {
  r.step("2. classifiers (Adam 1e-4, batch 32, " + std::to_string(o.classifier_epochs) + " epochs)");
  const fs::path out(o.out_dir);
  double dense_s = 0, cnn_s = 0;
  Classifiers m;
  m.dense = classifier("dense", out / "classifier_dense.safetensors", data.train, o, r, &dense_s);
  m.cnn = classifier("cnn", out / "classifier_cnn.safetensors", data.train, o, r, &cnn_s);
  // Data parallel: each rank counts its share of the test images; the counts are summed.
  const std::int64_t k = nn::kColoredMnistClasses;
  const auto [dense_cm, dense_acc] =
      lesson::normalise_rows(lesson::confusion_counts(*m.dense, data.test.images, data.test.labels, k, o.ranks > 1));
  const auto [cnn_cm, cnn_acc] =
      lesson::normalise_rows(lesson::confusion_counts(*m.cnn, data.test.images, data.test.labels, k, o.ranks > 1));
  const std::string dense_text = r.number({"classifier", "dense_accuracy"}, dense_acc, "%.4f");
  const std::string cnn_text = r.number({"classifier", "cnn_accuracy"}, cnn_acc, "%.4f");
  r.number({"classifier", "dense_train_s"}, dense_s, "%.1f", " s");
  r.number({"classifier", "cnn_train_s"}, cnn_s, "%.1f", " s");
  r.say("  test accuracy: MLP " + dense_text + ", CNN " + cnn_text + "\n  MLP confusion " +
        lesson::matrix_text(dense_cm, "true class", "predicted"));
  if (o.rank != 0) return m;  // the figure is rank 0's to draw and write

  r.heading("1–2. The data and the classifier");
  r.paragraph("Each of the " + std::to_string(data.train.size()) +
              " training digits is tinted with a color drawn from one of four matplotlib colormaps (spring, summer, "
              "autumn, winter); the class is the colormap. The exercise's MLP (2352→256→120→84→4) reaches a test "
              "accuracy of <b>" + dense_text + "</b>, the small CNN <b>" + cnn_text +
              "</b>. Row-normalised confusion matrix of the MLP (rows: true class):");
  r.figure("classifier.png", figures::render_confusion_matrix(tensor(dense_cm, {4, 4}), lesson::kShortClassNames),
           "confusion matrix");
  return m;
}

}  // namespace lumen::knowledge_extraction
