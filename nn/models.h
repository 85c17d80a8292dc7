#pragma once
// The classifiers of the DL@MBL course's knowledge-extraction exercise (Funke lab) for ColoredMNIST (3×28×28 images, 4 color classes), reused by the
// attribution and GAN lessons. Both are Sequentials, so `model(x)` runs every child through its
// hooks and any layer can be found by its dotted name:
//
//   DenseModel  "flatten", "fc1", "relu1", "fc2", "relu2", "fc3", "relu3", "fc4"
//               2352 → 256 → 120 → 84 → 4, exactly the exercise's MLP
//   ConvModel   "features":   0 Conv2d(3,16,3,p1)  1 ReLU  2 MaxPool2d(2)
//                             3 Conv2d(16,32,3,p1) 4 ReLU  5 MaxPool2d(2)      → [N, 32, 7, 7]
//               "classifier": 0 Flatten 1 Linear(1568, 64) 2 ReLU 3 Linear(64, 4)
//
// Grad-CAM hooks a convolution's output, e.g. model.find("features.3") (or its ReLU, "features.4").
// Weights are drawn from the default generator: call lumen::manual_seed first for a reproducible
// model. The parameter names are PyTorch's for the same nn.Sequential(OrderedDict(...)) layout.
#include <memory>
#include <string>

#include "nn/layers.h"

namespace lumen::nn {

class DenseModel : public Sequential {
 public:
  static constexpr std::int64_t kInputs = 3 * 28 * 28, kClasses = 4;
  DenseModel();
  std::string type_name() const override { return "DenseModel"; }
  std::shared_ptr<Linear> fc1, fc2, fc3, fc4;  // typed handles on the named children
};

class ConvModel : public Sequential {
 public:
  static constexpr std::int64_t kClasses = 4;
  ConvModel();
  std::string type_name() const override { return "ConvModel"; }
  std::shared_ptr<Sequential> features, classifier;
};

// "dense" → DenseModel, "cnn" → ConvModel; anything else throws lumen::Error listing the names.
std::shared_ptr<Module> make_classifier(const std::string& name);

}  // namespace lumen::nn
