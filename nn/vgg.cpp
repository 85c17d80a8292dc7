#include "nn/vgg.h"

#include <sstream>

#include "kernels/core/checked.h"
#include "nn/init.h"

namespace lumen::nn {

namespace {

constexpr std::int64_t M = kMaxPool;

// The entries of `features` that a conv entry of the configuration becomes: conv, [bn,] relu.
std::int64_t layers_per_conv(bool batch_norm) { return batch_norm ? 3 : 2; }

void check_options(const VggOptions& o) {
  const char* op = "VGG";
  LUMEN_CHECK(!o.config.empty(), op, "expected a configuration (VggOptions::config), got an empty one");
  bool has_conv = false;
  for (std::size_t i = 0; i < o.config.size(); ++i) {
    const std::int64_t v = o.config[i];
    LUMEN_CHECK(v > 0 || v == kMaxPool, op, "config[", i, "] = ", v,
                ": expected a positive channel count or kMaxPool (", kMaxPool, ")");
    has_conv = has_conv || v > 0;
  }
  LUMEN_CHECK(has_conv, op, "the configuration has no convolution, only max-pools");
  LUMEN_CHECK(o.in_channels > 0, op, "expected in_channels > 0, got ", o.in_channels);
  LUMEN_CHECK(o.num_classes > 0, op, "expected num_classes > 0, got ", o.num_classes);
  LUMEN_CHECK(o.hidden > 0, op, "expected hidden > 0, got ", o.hidden);
  LUMEN_CHECK(o.avgpool_size.h > 0 && o.avgpool_size.w > 0, op, "expected a positive avgpool_size, got (",
              o.avgpool_size.h, ", ", o.avgpool_size.w, ")");
}

// torchvision's VGG._initialize_weights, over the modules in the same (pre-)order.
void init_weights(Module& net) {
  for (auto& [name, m] : net.named_modules()) {
    if (auto* conv = dynamic_cast<Conv2d*>(m.get())) {
      init::kaiming_normal_(conv->weight, 0.0, init::FanMode::fan_out, init::Nonlinearity::relu);
      if (conv->bias.defined()) init::zeros_(conv->bias);
    } else if (auto* bn = dynamic_cast<BatchNorm2d*>(m.get())) {
      if (bn->affine) init::ones_(bn->weight), init::zeros_(bn->bias);
    } else if (auto* fc = dynamic_cast<Linear*>(m.get())) {
      init::normal_(fc->weight, 0.0, 0.01);
      if (fc->bias.defined()) init::zeros_(fc->bias);
    }
  }
}

std::string config_str(const VggConfig& config) {
  std::string s = "[";
  for (std::size_t i = 0; i < config.size(); ++i)
    s += (i ? ", " : "") + (config[i] == kMaxPool ? std::string("M") : std::to_string(config[i]));
  return s + "]";
}

}  // namespace

VggConfig vgg_config(const std::string& name) {
  if (name == "A" || name == "vgg11") return {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  if (name == "B" || name == "vgg13") return {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  if (name == "D" || name == "vgg16")
    return {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};
  if (name == "E" || name == "vgg19")
    return {64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M};
  throw Error("vgg_config: unknown configuration \"" + name +
              "\": expected \"A\"/\"vgg11\", \"B\"/\"vgg13\", \"D\"/\"vgg16\" or \"E\"/\"vgg19\"");
}

VGG::VGG(VggOptions opt) : options(std::move(opt)) {
  check_options(options);
  features = register_module("features", std::make_shared<Sequential>());
  std::int64_t channels = options.in_channels;
  for (const std::int64_t v : options.config) {
    if (v == kMaxPool) {
      features->push_back(std::make_shared<MaxPool2d>(2, PoolOptions{.stride = Size2(2)}));
      continue;
    }
    features->push_back(std::make_shared<Conv2d>(channels, v, 3, ConvOptions{.padding = 1}));
    if (options.batch_norm) features->push_back(std::make_shared<BatchNorm2d>(v));
    features->push_back(std::make_shared<ReLU>());
    channels = v;
  }
  avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(options.avgpool_size));
  const std::int64_t flat = checked_mul(checked_mul(channels, options.avgpool_size.h, "VGG", "classifier input"),
                                        options.avgpool_size.w, "VGG", "classifier input");
  Generator* gen = options.dropout_generator;
  classifier = register_module(
      "classifier",
      std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
          std::make_shared<Linear>(flat, options.hidden), std::make_shared<ReLU>(),
          std::make_shared<Dropout>(options.dropout, gen), std::make_shared<Linear>(options.hidden, options.hidden),
          std::make_shared<ReLU>(), std::make_shared<Dropout>(options.dropout, gen),
          std::make_shared<Linear>(options.hidden, options.num_classes)}));
  init_weights(*this);
}

void VGG::check_input(const Tensor& x) const {
  LUMEN_CHECK(x.defined(), "VGG", "got an undefined tensor");
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == options.in_channels, "VGG", "expected input [N, ", options.in_channels,
              ", H, W], got ", x.shape());
  // Each MaxPool2d(2, 2) halves H and W (rounding down) and needs at least 2 of each: H, W >= 2^pools.
  std::int64_t pools = 0;
  for (const std::int64_t v : options.config) pools += v == kMaxPool;
  const bool fits = pools < 63 && (x.size(2) >> pools) >= 1 && (x.size(3) >> pools) >= 1;
  LUMEN_CHECK(fits, "VGG", "input ", x.shape(), " is too small for the ", pools,
              " max-pools of its configuration: H and W must be at least ",
              pools < 63 ? std::to_string(std::int64_t{1} << pools) : "2^" + std::to_string(pools));
}

Tensor VGG::embed(const Tensor& x) {
  check_input(x);
  return flatten((*avgpool)((*features)(x)), 1);
}

Tensor VGG::forward(const Tensor& x) { return (*classifier)(embed(x)); }

std::string VGG::extra_repr() const {
  std::ostringstream s;
  s << "config=" << config_str(options.config) << ", in_channels=" << options.in_channels
    << ", num_classes=" << options.num_classes << ", batch_norm=" << (options.batch_norm ? "true" : "false")
    << ", avgpool_size=(" << options.avgpool_size.h << ", " << options.avgpool_size.w << ")"
    << ", hidden=" << options.hidden << ", dropout=" << options.dropout;
  return s.str();
}

std::int64_t VGG::last_conv_index() const {
  // The last conv entry of the configuration, counted in features' layers.
  std::int64_t index = 0, last = -1;
  for (const std::int64_t v : options.config) {
    if (v > 0) last = index;
    index += v == kMaxPool ? 1 : layers_per_conv(options.batch_norm);
  }
  return last;
}

std::int64_t VGG::last_relu_index() const { return last_conv_index() + layers_per_conv(options.batch_norm) - 1; }

namespace {
std::shared_ptr<VGG> make_vgg(const char* name, std::int64_t num_classes, bool batch_norm) {
  return std::make_shared<VGG>(
      VggOptions{.config = vgg_config(name), .num_classes = num_classes, .batch_norm = batch_norm});
}
}  // namespace

std::shared_ptr<VGG> vgg11(std::int64_t num_classes, bool batch_norm) { return make_vgg("A", num_classes, batch_norm); }
std::shared_ptr<VGG> vgg13(std::int64_t num_classes, bool batch_norm) { return make_vgg("B", num_classes, batch_norm); }
std::shared_ptr<VGG> vgg16(std::int64_t num_classes, bool batch_norm) { return make_vgg("D", num_classes, batch_norm); }
std::shared_ptr<VGG> vgg19(std::int64_t num_classes, bool batch_norm) { return make_vgg("E", num_classes, batch_norm); }

}  // namespace lumen::nn
