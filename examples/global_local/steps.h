#pragma once
// The global_local lesson's steps (main.cpp runs them in order). Each prints its console lines and
// records its numbers, figures and tables in the shared report::Report.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "examples/report.h"
#include "nn/mnist.h"
#include "nn/vgg.h"

namespace lumen::global_local {

struct Options {
  std::string data_dir = "data", out_dir = "out/global_local";
  bool fresh = false;
  int threads = 0;
  std::uint64_t seed = 0;
  // 1. the VGG-style classifiers (member 0 is "the model"; all of them are the deep ensemble)
  std::int64_t members = 5, epochs = 4, batch_size = 64, train_images = 60000, test_images = 10000;
  double lr = 2e-3;
  // 2. class model visualisation (the course project's recipe) and its regularisers
  std::int64_t vis_steps = 149, blur_every = 5, jitter = 1;
  double vis_lr = 10.0, blur_sigma = 1.0;
  // the regularised row: a smaller step, so that L2 decay and total variation shape the image rather than
  // the clamp (at lr 10 every pixel saturates within a step or two)
  double reg_lr = 1.0, l2_decay = 0.01, total_variation = 0.01;
  // 3. saliency maps: how channels are reduced ("max", "sum", "mean")
  std::string saliency_reduce = "max";
  // 4.–7. uncertainty
  std::int64_t mc_passes = 100, eval_images = 2000;
  // 5. segmentation ensemble
  std::int64_t seg_members = 5, seg_epochs = 2, seg_train_images = 8000;
  double seg_threshold = 0.35;
  std::int64_t seg_min_component = 9;  // components of at most this many pixels are removed
  // The course project's own setting: torchvision's VGG16 with ImageNet weights (converted once to
  // safetensors) on 224×224 images; when given, only steps 2–3 run, on it.
  std::string vgg16_path;
  std::vector<std::string> images;                                // PNG files explained by VGG16
  std::vector<std::int64_t> imagenet_classes{130, 340, 954};       // flamingo, zebra, banana
};

inline const std::vector<std::string> kFashionClasses{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// What the steps share: the data (raw pixels in [0, 1]) and the trained ensemble.
struct Lesson {
  Options o;
  nn::MnistData train, test;  // Fashion-MNIST, images [N, 1, 28, 28]
  double pixel_mean = 0, pixel_std = 1;  // of the training pixels: the models see (x − mean) / std
  std::vector<std::shared_ptr<nn::VGG>> members;  // members[0] is the model of steps 1–3
  Tensor normalise(const Tensor& raw) const;
  std::shared_ptr<nn::VGG> model() const { return members.front(); }
};

// The three ways of predicting with uncertainty that steps 4, 6 and 7 compare, each as members'
// softmax outputs [M, N, 10]: the model alone (M = 1), MC dropout (M = passes) and the ensemble.
struct Predictions {
  Tensor softmax, mc_dropout, ensemble;
};
// For raw images [N, 1, 28, 28] in [0, 1]; MC dropout runs the model's features once and its
// classifier (where the dropout is) `passes` times, which is the same distribution as whole passes.
Predictions predict(const Lesson& l, const Tensor& raw);
// The three, for the tables: summary.json key, display name, member of Predictions.
struct Way {
  const char* key;
  const char* name;
  Tensor Predictions::*probs;
};
inline constexpr Way kWays[] = {{"softmax", "softmax", &Predictions::softmax},
                                {"mc_dropout", "MC dropout", &Predictions::mc_dropout},
                                {"ensemble", "ensemble", &Predictions::ensemble}};
// 1 where the mean prediction's argmax is the label.
std::vector<std::uint8_t> correct_of(const Tensor& mean_probs, const Tensor& labels);
std::vector<double> as_doubles(const Tensor& t);

// The VGG configuration of the lesson: three blocks for 28×28 inputs, torchvision's classifier layout.
nn::VggOptions fashion_vgg_options();

// 1. Fashion-MNIST, the ensemble (trained, or reused from out/), its test cross-entropy, accuracy, top-5.
Lesson train_models(const Options& o, report::Report& r);
// 2. Class model visualisation, without and with blur (and with the regularisers).
void class_visualisation(Lesson& l, report::Report& r);
// 3. Class saliency maps and guided backpropagation.
void saliency_maps(Lesson& l, report::Report& r);
// 4. MC dropout and the deep ensemble on the test set: every uncertainty measure.
void uncertainty(Lesson& l, report::Report& r);
// 5. Uncertainty maps of a UNet ensemble segmenting MNIST digits.
void segmentation(const Options& o, report::Report& r);
// 6. Robustness to data shift: accuracy, calibration, OOD detection, error-retention.
void data_shift(Lesson& l, report::Report& r);
// With --vgg16: class model visualisation, saliency and guided backprop of torchvision's VGG16.
void imagenet_vgg16(const Options& o, report::Report& r);
// 7. Explaining uncertainty: IG and Grad-CAM of the predictive entropy and of the ensemble's MI.
void explain_uncertainty(Lesson& l, report::Report& r);

}  // namespace lumen::global_local
