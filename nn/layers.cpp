// The layers of nn/layers.h: construction with PyTorch's default init, and forward.
#include "nn/layers.h"

#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/graph.h"
#include "nn/init.h"

namespace lumen::nn {

namespace {

std::string size_str(Size2 s) {
  return s.h == s.w ? std::to_string(s.h) : "(" + std::to_string(s.h) + ", " + std::to_string(s.w) + ")";
}
const char* bool_str(bool b) { return b ? "true" : "false"; }

// PyTorch's reset_parameters for Linear and the convs: kaiming_uniform_(w, a=√5), whose bound is
// 1/√fan_in, and the bias U(-1/√fan_in, 1/√fan_in) with the weight's fan_in.
void default_init(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

Conv2dOptions conv_options(const ConvOptions& o) {
  Conv2dOptions c;
  c.stride = o.stride.pair();
  c.padding = o.padding.pair();
  c.dilation = o.dilation.pair();
  c.groups = o.groups;
  c.output_padding = o.output_padding.pair();
  return c;
}

std::string conv_repr(std::int64_t in, std::int64_t out, Size2 k, const ConvOptions& o, bool transposed) {
  std::ostringstream s;
  s << in << ", " << out << ", kernel_size=" << size_str(k) << ", stride=" << size_str(o.stride);
  if (o.padding.h || o.padding.w) s << ", padding=" << size_str(o.padding);
  if (transposed && (o.output_padding.h || o.output_padding.w)) s << ", output_padding=" << size_str(o.output_padding);
  if (o.dilation.h != 1 || o.dilation.w != 1) s << ", dilation=" << size_str(o.dilation);
  if (o.groups != 1) s << ", groups=" << o.groups;
  if (!o.bias) s << ", bias=false";
  return s.str();
}

Pool2dOptions pool_options(Size2 kernel, const PoolOptions& o) {
  Pool2dOptions p;
  p.kernel = kernel.pair();
  p.stride = o.stride ? o.stride->pair() : kernel.pair();
  p.padding = o.padding.pair();
  p.ceil_mode = o.ceil_mode;
  p.count_include_pad = o.count_include_pad;
  return p;
}

std::string pool_repr(const Pool2dOptions& p) {
  std::ostringstream s;
  s << "kernel_size=" << size_str({p.kernel.first, p.kernel.second}) << ", stride="
    << size_str({p.stride->first, p.stride->second}) << ", padding=" << size_str({p.padding.first, p.padding.second});
  if (p.ceil_mode) s << ", ceil_mode=true";
  return s.str();
}

// (x - mean) / √(var + eps) over `dims`, with the biased variance: the core of every norm layer.
// Returns the normalised tensor and the batch statistics (for BatchNorm's running averages).
struct Normalized {
  Tensor y, mean, var;
};
Normalized normalize(const Tensor& x, const Shape& dims, double eps) {
  Tensor mu = mean(x, dims, true);
  Tensor centered = x - mu;
  Tensor v = mean(square(centered), dims, true);
  return {centered * reciprocal(sqrt(v + eps)), mu, v};
}

// A per-channel [C] tensor shaped to broadcast against [N, C, H, W].
Tensor channel(const Tensor& t) { return t.view({1, t.size(0), 1, 1}); }

}  // namespace

// ---- Linear

// Its own op rather than matmul(x, w.t()) + b: the generic path would produce dW transposed ([in,
// out], the layout of w.t()) and the gradient accumulator would copy it back into W's layout on every
// step; here dW = gᵀx is computed directly in W's [out, in] layout. The backward is written with
// differentiable ops, so double backward works as everywhere else.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  LUMEN_CHECK(x.defined() && weight.defined() && weight.dim() == 2, "linear", "expected x and a 2-D weight, got ",
              weight.defined() ? shape_str(weight.shape()) : "undefined");
  LUMEN_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear", "input of shape ", x.shape(),
              " does not match weight [out, in] = ", weight.shape(), ": expected x.shape[-1] == ", weight.size(1));
  if (bias.defined())
    LUMEN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear", "bias of shape ", bias.shape(),
                " for weight ", weight.shape(), ": expected [", weight.size(0), "]");
  Tensor y = matmul(x.detach(), weight.detach().t());  // fresh, outside the graph: the bias goes in in place
  if (bias.defined()) y.add_(bias.detach());
  return record("linear", y, {x, weight, bias}, {x, weight}, [](const Tensor& g, const BackwardArgs& s) {
    const Tensor &x = s[0], &w = s[1];
    Tensor gx, gw, gb;
    if (s.needs(0)) gx = matmul(g, w);
    const Tensor g2 = g.dim() == 2 ? g : reshape(g, {-1, g.size(-1)});  // leading dims as one batch dim
    if (s.needs(1)) gw = matmul(g2.t(), x.dim() == 2 ? x : reshape(x, {-1, x.size(-1)}));
    if (s.needs(2)) gb = sum(g2, {0});
    return grads(gx, gw, gb);
  });
}

Linear::Linear(std::int64_t in, std::int64_t out, bool has_bias) : in_features(in), out_features(out) {
  LUMEN_CHECK(in > 0 && out > 0, "Linear", "expected positive sizes, got ", in, " -> ", out);
  weight = register_parameter("weight", empty({out, in}));
  if (has_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + bool_str(bias.defined());
}

// ---- convolutions

Conv2d::Conv2d(std::int64_t in, std::int64_t out, Size2 k, ConvOptions opt)
    : in_channels(in), out_channels(out), kernel_size(k), options(opt) {
  LUMEN_CHECK(opt.groups > 0 && in % opt.groups == 0 && out % opt.groups == 0, "Conv2d", "channels ", in, " -> ", out,
              " must both be divisible by groups = ", opt.groups);
  weight = register_parameter("weight", empty({out, in / opt.groups, k.h, k.w}));
  if (opt.bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, conv_options(options)); }
std::string Conv2d::extra_repr() const { return conv_repr(in_channels, out_channels, kernel_size, options, false); }

ConvTranspose2d::ConvTranspose2d(std::int64_t in, std::int64_t out, Size2 k, ConvOptions opt)
    : in_channels(in), out_channels(out), kernel_size(k), options(opt) {
  LUMEN_CHECK(opt.groups > 0 && in % opt.groups == 0 && out % opt.groups == 0, "ConvTranspose2d", "channels ", in,
              " -> ", out, " must both be divisible by groups = ", opt.groups);
  weight = register_parameter("weight", empty({in, out / opt.groups, k.h, k.w}));
  if (opt.bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) { return conv_transpose2d(x, weight, bias, conv_options(options)); }
std::string ConvTranspose2d::extra_repr() const {
  return conv_repr(in_channels, out_channels, kernel_size, options, true);
}

Conv1d::Conv1d(std::int64_t in, std::int64_t out, std::int64_t k, Conv1dModuleOptions opt)
    : in_channels(in), out_channels(out), kernel_size(k), options(opt) {
  LUMEN_CHECK(in > 0 && out > 0 && k > 0, "Conv1d", "expected positive channels and kernel size, got ", in, " -> ", out,
              ", kernel_size=", k);
  LUMEN_CHECK(opt.groups > 0 && in % opt.groups == 0 && out % opt.groups == 0, "Conv1d", "channels ", in, " -> ", out,
              " must both be divisible by groups = ", opt.groups);
  weight = register_parameter("weight", empty({out, in / opt.groups, k}));
  if (opt.bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor Conv1d::forward(const Tensor& x) {
  const Conv1dModuleOptions& o = options;
  return conv1d(x, weight, bias, {.stride = o.stride, .padding = o.padding, .dilation = o.dilation, .groups = o.groups});
}

// PyTorch's: "4, 6, kernel_size=(3,), stride=(1,)" and the options that differ from the defaults.
std::string Conv1d::extra_repr() const {
  std::ostringstream s;
  s << in_channels << ", " << out_channels << ", kernel_size=(" << kernel_size << ",), stride=(" << options.stride
    << ",)";
  if (options.padding) s << ", padding=(" << options.padding << ",)";
  if (options.dilation != 1) s << ", dilation=(" << options.dilation << ",)";
  if (options.groups != 1) s << ", groups=" << options.groups;
  if (!options.bias) s << ", bias=false";
  return s.str();
}

// topk with sorted=false already returns the chosen indices in increasing order, so the gather keeps
// the sequence order.
Tensor kmax_pool1d(const Tensor& x, std::int64_t k, std::int64_t dim) {
  LUMEN_CHECK(x.defined() && x.dim() >= 1, "kmax_pool1d", "expected a tensor with at least one dim");
  LUMEN_CHECK(k >= 1 && k <= x.size(dim), "kmax_pool1d", "k = ", k, " is out of range [1, ", x.size(dim),
              "] for dim ", dim, " of shape ", x.shape());
  return topk(x, k, dim, true, false).first;
}

// ---- pooling, reshaping

MaxPool2d::MaxPool2d(Size2 k, PoolOptions opt) : options(pool_options(k, opt)) {}
std::string MaxPool2d::extra_repr() const { return pool_repr(options); }

AvgPool2d::AvgPool2d(Size2 k, PoolOptions opt) : options(pool_options(k, opt)) {}
std::string AvgPool2d::extra_repr() const { return pool_repr(options); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + size_str(output_size); }

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

std::string LeakyReLU::extra_repr() const {
  std::ostringstream s;
  s << "negative_slope=" << negative_slope;
  return s.str();
}

Dropout::Dropout(double p_, Generator* g) : p(p_), gen(g) {
  LUMEN_CHECK(p >= 0 && p <= 1, "Dropout", "expected 0 <= p <= 1, got ", p);
}
std::string Dropout::extra_repr() const {
  std::ostringstream s;
  s << "p=" << p;
  return s.str();
}

// ---- normalisation

BatchNorm2d::BatchNorm2d(std::int64_t c, double eps_, double momentum_, bool affine_, bool track)
    : num_features(c), eps(eps_), momentum(momentum_), affine(affine_), track_running_stats(track) {
  if (affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (track) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {.dtype = DType::int64}));
  }
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == num_features, "BatchNorm2d", "expected input [N, ", num_features,
              ", H, W], got ", x.shape());
  Tensor y;
  if (training_ || !track_running_stats) {
    const std::int64_t n = x.size(0) * x.size(2) * x.size(3);
    LUMEN_CHECK(n > 1, "BatchNorm2d", "expected more than 1 value per channel when training, got input ", x.shape());
    Normalized r = normalize(x, {0, 2, 3}, eps);
    y = r.y;
    if (training_ && track_running_stats) {
      autograd::NoGradGuard no_grad;
      const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);  // running var is unbiased
      running_mean.mul_(1.0 - momentum).add_(r.mean.detach().reshape({num_features}), momentum);
      running_var.mul_(1.0 - momentum).add_(r.var.detach().reshape({num_features}), momentum * unbias);
      num_batches_tracked.fill_(num_batches_tracked.item() + 1);
    }
  } else {
    y = (x - channel(running_mean)) * reciprocal(sqrt(channel(running_var) + eps));
  }
  return affine ? y * channel(weight) + channel(bias) : y;
}

std::string BatchNorm2d::extra_repr() const {
  std::ostringstream s;
  s << num_features << ", eps=" << eps << ", momentum=" << momentum << ", affine=" << bool_str(affine)
    << ", track_running_stats=" << bool_str(track_running_stats);
  return s.str();
}

InstanceNorm2d::InstanceNorm2d(std::int64_t c, double eps_, bool affine_) : num_features(c), eps(eps_), affine(affine_) {
  if (affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
}

Tensor InstanceNorm2d::forward(const Tensor& x) {
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == num_features, "InstanceNorm2d", "expected input [N, ", num_features,
              ", H, W], got ", x.shape());
  Tensor y = normalize(x, {2, 3}, eps).y;
  return affine ? y * channel(weight) + channel(bias) : y;
}

std::string InstanceNorm2d::extra_repr() const {
  std::ostringstream s;
  s << num_features << ", eps=" << eps << ", affine=" << bool_str(affine);
  return s.str();
}

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine_)
    : normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine_) {
  LUMEN_CHECK(!normalized_shape.empty(), "LayerNorm", "normalized_shape must not be empty");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  LUMEN_CHECK(x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape, "LayerNorm",
              "input of shape ", x.shape(), " does not end with normalized_shape ", normalized_shape);
  Shape dims;
  for (std::int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  Tensor y = normalize(x, dims, eps).y;
  return elementwise_affine ? y * weight + bias : y;
}

std::string LayerNorm::extra_repr() const {
  std::ostringstream s;
  s << shape_str(normalized_shape) << ", eps=" << eps << ", elementwise_affine=" << bool_str(elementwise_affine);
  return s.str();
}

// ---- embedding, upsampling

Embedding::Embedding(std::int64_t n, std::int64_t d) : num_embeddings(n), embedding_dim(d) {
  weight = register_parameter("weight", empty({n, d}));
  init::normal_(weight);
}

std::string Embedding::extra_repr() const { return std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim); }

Upsample::Upsample(UpsampleOptions opt) : options(opt) {
  LUMEN_CHECK(opt.size.has_value() != opt.scale_factor.has_value(), "Upsample",
              "give exactly one of size and scale_factor");
  LUMEN_CHECK(!opt.scale_factor || *opt.scale_factor > 0, "Upsample", "expected a positive scale_factor, got ",
              opt.scale_factor.value_or(0));
}

Tensor Upsample::forward(const Tensor& x) {
  LUMEN_CHECK(x.dim() == 4, "Upsample", "expected input [N, C, H, W], got ", x.shape());
  std::pair<std::int64_t, std::int64_t> out;
  if (options.size) out = options.size->pair();
  else
    out = {static_cast<std::int64_t>(std::floor(static_cast<double>(x.size(2)) * *options.scale_factor)),
           static_cast<std::int64_t>(std::floor(static_cast<double>(x.size(3)) * *options.scale_factor))};
  return options.mode == UpsampleMode::nearest ? upsample_nearest2d(x, out)
                                               : upsample_bilinear2d(x, out, options.align_corners);
}

std::string Upsample::extra_repr() const {
  std::ostringstream s;
  if (options.size) s << "size=" << size_str(*options.size);
  else s << "scale_factor=" << *options.scale_factor;
  s << ", mode=" << (options.mode == UpsampleMode::nearest ? "nearest" : "bilinear");
  if (options.mode == UpsampleMode::bilinear) s << ", align_corners=" << bool_str(options.align_corners);
  return s.str();
}

// ---- Sequential

Sequential::Sequential(std::initializer_list<ModulePtr> modules) {
  for (const ModulePtr& m : modules) push_back(m);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& [name, m] : named_children()) h = (*m)(h);
  return h;
}

ModulePtr Sequential::operator[](std::size_t i) const {
  LUMEN_CHECK(i < size(), "Sequential", "index ", i, " out of range for ", size(), " modules");
  return named_children()[i].second;
}

Tensor ModuleList::forward(const Tensor&) {
  LUMEN_CHECK(false, "ModuleList", "has no forward: call its children (", size(), " modules) one by one");
  return {};
}

ModulePtr ModuleList::operator[](std::size_t i) const {
  LUMEN_CHECK(i < size(), "ModuleList", "index ", i, " out of range for ", size(), " modules");
  return named_children()[i].second;
}

}  // namespace lumen::nn
