#pragma once
// VGG (Simonyan & Zisserman 2015) with torchvision's module names and layout, so torchvision's
// pretrained state_dict loads into it by name ("features.28.weight", "classifier.6.bias"):
//
//   "features"    Sequential built from a configuration: each positive entry is Conv2d(c, n, 3, p1)
//                 [+ BatchNorm2d(n)] + ReLU, each kMaxPool a MaxPool2d(2, 2); indices as torchvision's
//   "avgpool"     AdaptiveAvgPool2d(7, 7)
//   "classifier"  0 Linear(512·7·7, 4096) 1 ReLU 2 Dropout 3 Linear(4096, 4096) 4 ReLU 5 Dropout
//                 6 Linear(4096, classes)
//
//   auto net = nn::vgg16();                                    // 138,357,544 parameters
//   net->load_state_dict(nn::load_safetensors("vgg16.safetensors"));  // scripts/convert_torchvision_vgg.py
//   net->eval();
//   Tensor logits = (*net)(x);                                 // x: [N, 3, 224, 224], ImageNet-normalised
//   auto& conv = net->features->submodule(std::to_string(net->last_conv_index()));  // Grad-CAM's layer
//
// Every layer is a module run through operator(), so forward hooks see every conv and nn::ReLU
// (Grad-CAM, GuidedBackprop). Weights are initialised as torchvision's VGG(init_weights=True), from
// the default generator (lumen::manual_seed first for a reproducible model).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace lumen::nn {

// One entry per layer of `features`, as torchvision's cfgs: a positive number = Conv2d(…, k=3, padding=1)
// with that many output channels (+ BatchNorm2d when batch_norm) + ReLU; kMaxPool (the 'M' of
// torchvision) = MaxPool2d(2, 2).
inline constexpr std::int64_t kMaxPool = -1;
using VggConfig = std::vector<std::int64_t>;

// torchvision's configurations by name: "A"/"vgg11", "B"/"vgg13", "D"/"vgg16", "E"/"vgg19"; throws
// lumen::Error listing the names.
VggConfig vgg_config(const std::string& name);

struct VggOptions {
  VggConfig config;  // required
  std::int64_t in_channels = 3;
  std::int64_t num_classes = 1000;
  bool batch_norm = false;
  Size2 avgpool_size = 7;   // AdaptiveAvgPool2d output (torchvision: (7, 7))
  std::int64_t hidden = 4096;  // classifier width (torchvision: 4096)
  double dropout = 0.5;        // p of the classifier's two Dropout layers
  Generator* dropout_generator = nullptr;  // passed to both Dropout layers
};

class VGG : public Module {
 public:
  explicit VGG(VggOptions opt);
  // features → avgpool → flatten(1) → classifier: logits [N, num_classes] for x [N, in_channels, H, W].
  Tensor forward(const Tensor& x) override;
  // features → avgpool → flatten(1): the classifier's input [N, C·a·a].
  Tensor embed(const Tensor& x);
  std::string type_name() const override { return "VGG"; }
  std::string extra_repr() const override;

  VggOptions options;
  std::shared_ptr<Sequential> features, classifier;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool;

  std::int64_t last_conv_index() const;  // index in features of the last Conv2d (28 in vgg16): Grad-CAM's usual layer
  std::int64_t last_relu_index() const;  // index of the ReLU after it (29 in vgg16)

 private:
  void check_input(const Tensor& x) const;  // channels, and H, W large enough for every max-pool
};

// torchvision's vgg11/13/16/19 (batch_norm: the *_bn variants), freshly initialised.
std::shared_ptr<VGG> vgg11(std::int64_t num_classes = 1000, bool batch_norm = false);
std::shared_ptr<VGG> vgg13(std::int64_t num_classes = 1000, bool batch_norm = false);
std::shared_ptr<VGG> vgg16(std::int64_t num_classes = 1000, bool batch_norm = false);
std::shared_ptr<VGG> vgg19(std::int64_t num_classes = 1000, bool batch_norm = false);

}  // namespace lumen::nn
