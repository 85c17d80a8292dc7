#pragma once
// The concepts lesson's steps (main.cpp runs them in order). Each prints its console lines and records
// its numbers, figures and tables in the shared report::Report.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "autograd/tensor.h"
#include "examples/report.h"
#include "nn/colored_mnist.h"
#include "nn/mnist.h"
#include "nn/models.h"
#include "nn/vgg.h"
#include "xai/attribution.h"

namespace lumen::concepts {

struct Options {
  std::string data_dir = "data", out_dir = "out/concepts";
  bool fresh = false;
  int threads = 0;
  std::uint64_t seed = 0;
  // 1. the two models: the flagship's CNN on ColoredMNIST, a small VGG on Fashion-MNIST
  int cnn_epochs = 10, fashion_epochs = 3;
  std::int64_t fashion_train_images = 20000, fashion_test_images = 10000;
  // 2.–3. TCAV
  std::int64_t random_sets = 20;     // CAVs per concept (each against its own random set)
  std::int64_t concept_images = 50;  // per concept and per random set
  std::int64_t class_images = 200;   // inputs of the explained class whose sensitivities are counted
  std::int64_t ig_steps = 5;         // the layer-IG variant
  double alpha = 0.05;               // before the Bonferroni correction over layers
  std::int64_t cav_epochs = 200;     // gradient-descent steps of each CAV's logistic regression
  // 4. RCV
  std::int64_t rcv_images = 1000;
  // 5. LIME and Sharp-LIME
  std::int64_t lime_samples = 1000, lime_top_k = 5, stability_seeds = 10, stability_images = 4;
  std::vector<std::int64_t> stability_samples{20, 50, 200, 1000};  // perturbed samples compared for stability
  std::string via_path;     // regions a user drew in the VGG Image Annotator on explained_<via_image>.png
  std::int64_t via_image = 0;
  // 6. localisation metrics
  std::int64_t metric_images = 100, robustness_images = 16;
  std::int64_t metric_ig_steps = 32;  // IG's steps (IG + noise tunnel uses half)
  std::int64_t nt_samples = 10;       // noisy copies of IG + noise tunnel; SmoothGrad and GradientSHAP use twice as many
};

// The VGG on raw pixels in [0, 1]: forward(x) = vgg((x − mean) / std), with the VGG as child "vgg", so
// that every attribution method (and its baseline, black) works in the pixels a person sees, and the
// VGG's layers are "vgg.features.11" and so on.
class RawPixels : public nn::Module {
 public:
  RawPixels(std::shared_ptr<nn::VGG> vgg, double mean, double std)
      : vgg_(register_module("vgg", std::move(vgg))), mean_(mean), std_(std) {}
  Tensor forward(const Tensor& x) override { return (*vgg_)((x - mean_) / std_); }
  std::string type_name() const override { return "RawPixels"; }

 private:
  std::shared_ptr<nn::VGG> vgg_;
  double mean_, std_;
};

// What the steps share: the data (raw pixels in [0, 1]) and the two trained models, in eval mode.
struct Lesson {
  Options o;
  nn::ColoredMnist colored_train, colored_test;  // [N, 3, 28, 28]
  nn::MnistData mnist_test;                      // the gray digits under colored_test, [N, 28, 28]
  nn::MnistData fashion_train, fashion_test;     // [N, 1, 28, 28]
  double fashion_mean = 0, fashion_std = 1;      // the VGG sees (x − mean) / std
  std::shared_ptr<nn::ConvModel> cnn;
  std::shared_ptr<nn::VGG> vgg;
  std::shared_ptr<RawPixels> fashion;  // vgg on raw pixels
  Generator gen;  // one stream for everything drawn after the models, in the order of the steps

  Tensor fashion_input(const Tensor& raw) const { return (raw - fashion_mean) / fashion_std; }
};

inline const std::vector<std::string> kFashionClasses{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
// The layers the concept steps read, shallow to deep, with the names shown in the report. The CNN's
// deepest is its hidden Linear before the ReLU: after the ReLU only a Linear remains, so every input's
// gradient there is the same row of weights, and every sensitivity has one sign (a TCAV score of 0 or 1,
// an RCV sensitivity with std 0).
struct Layer {
  std::string name, title;
};
inline const std::vector<Layer> kCnnLayers{{"features.2", "pool1 [16×14×14]"},
                                           {"features.5", "pool2 [32×7×7]"},
                                           {"classifier.1", "fc [64]"}};
inline const std::vector<Layer> kVggLayers{{"features.3", "block1 [32×14×14]"},
                                           {"features.7", "block2 [64×7×7]"},
                                           {"features.11", "block3 [128×3×3]"}};

// Indices of the first n rows of `labels` equal to c (fewer when there are not as many).
std::vector<std::int64_t> rows_of_class(const Tensor& labels, std::int64_t c, std::int64_t n,
                                        std::int64_t from = 0, std::int64_t to = -1);
Tensor take_rows(const Tensor& t, const std::vector<std::int64_t>& rows);

// 1. ColoredMNIST and Fashion-MNIST, the CNN and the VGG (trained, or reused from out/), their accuracy.
Lesson train_models(const Options& o, report::Report& r);
// 2. TCAV on the ColoredMNIST CNN: color concepts against "digit 7", with significance, gradient and layer IG.
void tcav_colored(Lesson& l, report::Report& r);
// 3. TCAV on the Fashion-MNIST VGG with drawn textures (stripes, zigzags, dots).
void tcav_textures(Lesson& l, report::Report& r);
// 4. Regression concept vectors and Br scores of continuous measures on the ColoredMNIST CNN.
void regression_concepts(Lesson& l, report::Report& r);
// 5. LIME on superpixels and Sharp-LIME on annotations: figures and stability across seeds.
void lime_and_sharp_lime(Lesson& l, report::Report& r);
// 6. Localisation, complexity and faithfulness metrics of every attribution method on both models.
void localisation_metrics(Lesson& l, report::Report& r);

}  // namespace lumen::concepts
