#include "nn/models.h"

namespace lumen::nn {

DenseModel::DenseModel() {
  push_back("flatten", std::make_shared<Flatten>());  // [N, 3, 28, 28] → [N, 2352]
  fc1 = push_back("fc1", std::make_shared<Linear>(kInputs, 256));
  push_back("relu1", std::make_shared<ReLU>());
  fc2 = push_back("fc2", std::make_shared<Linear>(256, 120));
  push_back("relu2", std::make_shared<ReLU>());
  fc3 = push_back("fc3", std::make_shared<Linear>(120, 84));
  push_back("relu3", std::make_shared<ReLU>());
  fc4 = push_back("fc4", std::make_shared<Linear>(84, kClasses));  // logits: no activation
}

ConvModel::ConvModel() {
  const ConvOptions same{.padding = 1};  // 3×3 with padding 1 keeps H×W; each pool halves it
  features = push_back("features", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
                                       std::make_shared<Conv2d>(3, 16, 3, same), std::make_shared<ReLU>(),
                                       std::make_shared<MaxPool2d>(2),  // 28 → 14
                                       std::make_shared<Conv2d>(16, 32, 3, same), std::make_shared<ReLU>(),
                                       std::make_shared<MaxPool2d>(2)}));  // 14 → 7
  classifier = push_back("classifier", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
                                           std::make_shared<Flatten>(), std::make_shared<Linear>(32 * 7 * 7, 64),
                                           std::make_shared<ReLU>(), std::make_shared<Linear>(64, kClasses)}));
}

std::shared_ptr<Module> make_classifier(const std::string& name) {
  if (name == "dense") return std::make_shared<DenseModel>();
  if (name == "cnn") return std::make_shared<ConvModel>();
  throw Error("make_classifier: unknown model \"" + name + "\": expected \"dense\" or \"cnn\"");
}

}  // namespace lumen::nn
