#pragma once
// The standard layers, as torch.nn: same constructor arguments, same parameter names and layouts,
// same default initialisation, so a PyTorch state_dict loads into the lumen twin of a network.
//
//   nn::Sequential net{std::make_shared<nn::Conv2d>(3, 16, 3, nn::ConvOptions{.padding = 1}),
//                      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
//                      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(16 * 14 * 14, 4)};
//   Tensor logits = net(x);  // x: [N, 3, 28, 28]
//
// Every forward is built from differentiable ops, so gradients of gradients work through any layer.
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/module.h"

namespace lumen::nn {

// A 2-D size (kernel, stride, padding...): from one number for both dims, or {h, w}.
struct Size2 {
  std::int64_t h, w;
  Size2(std::int64_t k) : h(k), w(k) {}  // NOLINT: implicit on purpose, Conv2d(3, 16, 3)
  Size2(std::int64_t h_, std::int64_t w_) : h(h_), w(w_) {}
  std::pair<std::int64_t, std::int64_t> pair() const { return {h, w}; }
};

// y = x Wᵀ + b with W [out, in] (PyTorch's layout); x may have any leading dims.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// Linear: weight [out, in] and bias [out], both U(-1/√in, 1/√in) (PyTorch's kaiming_uniform_ a=√5).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  std::int64_t in_features, out_features;
  Tensor weight, bias;  // bias undefined when built without
};

struct ConvOptions {
  Size2 stride = 1;
  Size2 padding = 0;
  Size2 dilation = 1;
  std::int64_t groups = 1;
  Size2 output_padding = 0;  // ConvTranspose2d only: extra rows/cols on one side of the output
  bool bias = true;
};

// Conv2d: weight [out, in/groups, kh, kw], bias [out]; U(-1/√fan_in, 1/√fan_in), fan_in = in/groups·kh·kw.
class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, ConvOptions opt = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  std::int64_t in_channels, out_channels;
  Size2 kernel_size;
  ConvOptions options;
  Tensor weight, bias;
};

// ConvTranspose2d (the gradient of a conv w.r.t. its input, used to upsample): weight
// [in, out/groups, kh, kw], bias [out]; PyTorch's init, whose fan_in is out/groups·kh·kw.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, ConvOptions opt = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;
  std::int64_t in_channels, out_channels;
  Size2 kernel_size;
  ConvOptions options;
  Tensor weight, bias;
};

struct Conv1dModuleOptions {
  std::int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

// Conv1d over [N, C, L]: weight [out, in/groups, k], bias [out]; U(-1/√fan_in, 1/√fan_in), fan_in = in/groups·k.
class Conv1d : public Module {
 public:
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, Conv1dModuleOptions opt = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv1d"; }
  std::string extra_repr() const override;
  std::int64_t in_channels, out_channels, kernel_size;
  Conv1dModuleOptions options;
  Tensor weight, bias;
};

// k-max pooling (Kalchbrenner et al. 2014): the k largest values along dim, kept in their original
// order (so the pooled sequence still reads left to right). k = 1 is max over time. Ties go to the
// lower index; the gradient flows to the chosen elements.
Tensor kmax_pool1d(const Tensor& x, std::int64_t k, std::int64_t dim = -1);

struct PoolOptions {
  std::optional<Size2> stride = std::nullopt;  // defaults to the kernel size
  Size2 padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // AvgPool2d only: padded zeros count in the average
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2 kernel_size, PoolOptions opt = {});
  Tensor forward(const Tensor& x) override { return max_pool2d(x, options); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  Pool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2 kernel_size, PoolOptions opt = {});
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, options); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  Pool2dOptions options;
};

// Averages each channel down to a fixed output size whatever the input size (1 for global pooling).
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : output_size(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size.pair()); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  Size2 output_size;
};

// Flattens dims start..end into one (by default all but the batch dim).
class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim, end_dim); }
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;
  std::int64_t start_dim, end_dim;
};

// ---- activations (stateless; modules so that hooks can be put on them)

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, negative_slope); }
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;
  double negative_slope;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override { return lumen::tanh(x); }
  std::string type_name() const override { return "Tanh"; }
};

class GELU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return gelu(x); }
  std::string type_name() const override { return "GELU"; }
};

// Zeroes each element with probability p and scales the rest by 1/(1-p) in training; identity in eval.
// Draws from `gen` (the default generator when null), so a seeded run is reproducible.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override { return dropout(x, p, training_, gen); }
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p;
  Generator* gen;
};

// ---- normalisation

// BatchNorm2d over [N, C, H, W]: in training, normalises each channel with the batch mean and biased
// variance, and updates running_mean/var ← (1 - momentum)·running + momentum·batch (the running var
// takes the unbiased batch variance, as PyTorch). In eval, uses the running statistics.
// Buffers: running_mean [C] (0), running_var [C] (1), num_batches_tracked (int64 scalar), as PyTorch.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;
  std::int64_t num_features;
  double eps, momentum;
  bool affine, track_running_stats;
  Tensor weight, bias;                                   // [C]: 1 and 0 (when affine)
  Tensor running_mean, running_var, num_batches_tracked;  // when track_running_stats
};

// InstanceNorm2d: normalises each (sample, channel) plane over H, W with its own statistics, in
// training and eval alike (no running statistics). Affine weight/bias [C] optional (off by default).
class InstanceNorm2d : public Module {
 public:
  explicit InstanceNorm2d(std::int64_t num_features, double eps = 1e-5, bool affine = false);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InstanceNorm2d"; }
  std::string extra_repr() const override;
  std::int64_t num_features;
  double eps;
  bool affine;
  Tensor weight, bias;
};

// LayerNorm: normalises over the trailing dims given by normalized_shape (biased variance), then an
// elementwise affine of that shape (weight 1, bias 0).
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight, bias;
};

// ---- lookup and resampling

// Embedding: int64 indices [...] -> rows of weight [num_embeddings, embedding_dim], drawn N(0, 1).
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim);
  Tensor forward(const Tensor& indices) override { return embedding(weight, indices); }
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  std::int64_t num_embeddings, embedding_dim;
  Tensor weight;
};

enum class UpsampleMode { nearest, bilinear };
struct UpsampleOptions {
  std::optional<Size2> size = std::nullopt;           // the output size, or
  std::optional<double> scale_factor = std::nullopt;  // output = floor(input · scale_factor)
  UpsampleMode mode = UpsampleMode::nearest;
  bool align_corners = false;  // bilinear only
};

// Upsample [N, C, H, W] to a size or by a scale factor. Sampling positions are derived from the
// output size (input/output ratio); for integer scale factors that is exactly PyTorch's result.
class Upsample : public Module {
 public:
  explicit Upsample(UpsampleOptions opt);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Upsample"; }
  std::string extra_repr() const override;
  UpsampleOptions options;
};

// ---- containers

// Runs its children in order, each through operator() (so their hooks fire). Children are named
// "0", "1", ... as in PyTorch, unless push_back is given a name.
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<ModulePtr> modules);
  template <class M> std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    return register_module(std::to_string(named_children().size()), std::move(m));
  }
  template <class M> std::shared_ptr<M> push_back(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
  Tensor forward(const Tensor& x) override;
  ModulePtr operator[](std::size_t i) const;
  std::size_t size() const { return named_children().size(); }
  std::string type_name() const override { return "Sequential"; }
};

// Holds modules under the names "0", "1", ... (PyTorch's nn.ModuleList), so that their parameters
// and hooks have paths like "convs.1", without a forward of its own: its owner decides how the
// children are called (in parallel branches, say), and calling the list itself is an error.
class ModuleList : public Module {
 public:
  template <class M> std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    return register_module(std::to_string(named_children().size()), std::move(m));
  }
  Tensor forward(const Tensor& x) override;  // throws: a list has no forward
  ModulePtr operator[](std::size_t i) const;
  std::size_t size() const { return named_children().size(); }
  std::string type_name() const override { return "ModuleList"; }
};

}  // namespace lumen::nn
