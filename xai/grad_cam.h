#pragma once
// Grad-CAM (Selvaraju et al. 2017): which regions of a convolutional layer's feature map drive the
// target score. With A the layer's output [N, K, h, w] and y the target score:
//
//   α_k   = mean over (i, j) of ∂y/∂A_k[i, j]         how much channel k matters (gradient, pooled)
//   map   = ReLU(Σ_k α_k A_k)                           [N, 1, h, w], positive evidence only
//
// then upsampled to the input's size. The activations are read by a forward hook on the layer and
// the gradient is autograd::grad with respect to that intermediate tensor: no copy of the model.
// Guided Grad-CAM multiplies the upsampled map with GuidedBackprop's fine-grained gradient.
#include <cstdint>
#include <string>
#include <utility>

#include "nn/module.h"
#include "xai/attribution.h"

namespace lumen::xai {

struct GradCamOptions {
  bool relu = true;                // keep positive evidence only (the paper); false gives the signed map
  bool upsample = true;            // to the inputs' H×W; false returns the layer's h×w
  // Bilinear (as image libraries resize, e.g. cv2.resize) or nearest upsampling.
  // Deliberately unlike Captum, whose LayerAttribution.interpolate defaults to nearest: set false to
  // get Captum's maps.
  bool bilinear = true;
};

class GradCam {
 public:
  // layer: a module of model whose output is [N, K, h, w] (a convolution or its activation).
  GradCam(nn::Module& model, nn::Module& layer) : model_(model), layer_(layer) {}
  GradCam(nn::Module& model, const std::string& layer_name)
      : model_(model), layer_(model.submodule(layer_name)) {}
  // Returns [N, 1, H, W] (or [N, 1, h, w] without upsampling), in the inputs' dtype.
  Tensor attribute(const Tensor& inputs, const Target& target, const GradCamOptions& opt = {}) const;

 private:
  nn::Module& model_;
  nn::Module& layer_;
};

class GuidedGradCam {
 public:
  GuidedGradCam(nn::Module& model, nn::Module& layer) : model_(model), cam_(model, layer) {}
  GuidedGradCam(nn::Module& model, const std::string& layer_name) : model_(model), cam_(model, layer_name) {}
  // GuidedBackprop(x) · upsampled GradCam(x), broadcast over channels: shaped like the inputs.
  Tensor attribute(const Tensor& inputs, const Target& target) const;

 private:
  nn::Module& model_;
  GradCam cam_;
};

// The h × w of `layer`'s output for images of the inputs' size, from one forward of a single zero
// image, without a graph and in eval mode (every module's mode restored after): the size of an empty
// batch's map when it is not upsampled.
std::pair<std::int64_t, std::int64_t> layer_map_size(nn::Module& model, nn::Module& layer, const Tensor& inputs);

}  // namespace lumen::xai
