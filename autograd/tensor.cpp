#include "autograd/tensor.h"

#include <atomic>
#include <iomanip>

#include "autograd/engine.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/kernels.h"

namespace lumen {

// ---- autograd state

AutogradMeta& Tensor::mutable_autograd_meta() const {
  auto& slot = impl_ptr()->autograd_meta;
  if (!slot) slot = std::make_unique<AutogradMeta>();
  return static_cast<AutogradMeta&>(*slot);
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  const AutogradMeta* m = autograd_meta();
  return m ? m->grad_fn : none;
}

// ---- host access

double Tensor::item() const {
  LUMEN_CHECK(numel() == 1, "Tensor::item", "expected a tensor with one element, got shape ", shape());
  Tensor c = device().is_cpu() ? *this : to(kCPU);
  return visit_any(c.dtype(), [&]<class T>() { return static_cast<double>(*c.data<T>()); });
}

template <class T> std::vector<T> Tensor::to_vector() const {
  autograd::NoGradGuard no_grad;
  Tensor c = detach().to(kCPU).to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

Tensor& Tensor::requires_grad_(bool on) {
  LUMEN_CHECK(is_leaf(), "Tensor::requires_grad_",
              "only leaf tensors can change requires_grad; use detach() for a non-leaf (", str(), ")");
  LUMEN_CHECK(!on || is_floating(dtype()), "Tensor::requires_grad_", "only floating tensors can require grad, got ",
              dtype_name(dtype()));
  if (on || autograd_meta()) mutable_autograd_meta().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  const AutogradMeta* m = autograd_meta();
  return m && m->grad ? Tensor(m->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  checked();
  if (g.defined())
    LUMEN_CHECK(g.shape() == shape(), "Tensor::set_grad", "gradient of shape ", g.shape(), " for a tensor of shape ",
                shape());
  if (g.defined() || autograd_meta()) mutable_autograd_meta().grad = g.impl_ptr();
}

void Tensor::retain_grad() const {
  LUMEN_CHECK(requires_grad(), "Tensor::retain_grad", "the tensor does not require grad");
  if (is_leaf()) return;
  mutable_autograd_meta().retains_grad = true;
  grad_fn()->retained_output = impl_ptr();
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, grad.defined() ? std::vector<Tensor>{grad} : std::vector<Tensor>{}, retain_graph,
                     create_graph);
}

namespace {
std::atomic<int> g_next_hook{1};
}

int Tensor::register_hook(GradHook hook) const {
  LUMEN_CHECK(requires_grad(), "Tensor::register_hook", "cannot register a hook on a tensor that does not require grad");
  int id = g_next_hook++;
  gradient_edge(*this)->hooks.emplace_back(id, std::move(hook));
  return id;
}

int Tensor::register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const {
  LUMEN_CHECK(requires_grad() && is_leaf(), "Tensor::register_post_accumulate_grad_hook",
              "expected a leaf that requires grad (a parameter), got a tensor that ",
              requires_grad() ? "has a grad_fn" : "does not require grad");
  int id = g_next_hook++;
  gradient_edge(*this)->post_accumulate_hooks.emplace_back(id, std::move(hook));
  return id;
}

void Tensor::remove_hook(int handle) const {
  auto node = gradient_edge(*this);
  if (!node) return;
  std::erase_if(node->hooks, [&](const auto& h) { return h.first == handle; });
  std::erase_if(node->post_accumulate_hooks, [&](const auto& h) { return h.first == handle; });
}

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

TensorOptions options_of(const Tensor& like) { return {like.dtype(), like.device(), false}; }

// ---- conversions (differentiable)

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  if (d.is_cuda()) device_backend(d.type);  // a clear error in a build without CUDA
  Tensor src = contiguous();
  Tensor out = empty(shape(), {dtype(), d});
  Device from = device();
  DeviceBackend& b = device_backend(d.is_cpu() ? from.type : d.type);
  b.copy(out.raw_data(), d, src.raw_data(), from, static_cast<std::size_t>(numel()) * itemsize(dtype()));
  return record("to_device", out, {*this}, {}, [from](const Tensor& g, const auto&) { return grads(g.to(from)); });
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = empty(shape(), {t, device()});
  kernels::copy(*this, out);
  if (!is_floating(t) || !is_floating(dtype())) return out;
  DType from = dtype();
  return record("to_dtype", out, {*this}, {}, [from](const Tensor& g, const auto&) { return grads(g.to(from)); });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), options_of(*this));
  kernels::copy(*this, out);
  return record("clone", out, {*this}, {}, [](const Tensor& g, const auto&) { return grads(g); });
}

// ---- in-place (no autograd)

// Every in-place method starts here: refused on a tensor in a graph while grad mode is on, and the
// version counter bumped, so a graph that saved this tensor (or a view of it) refuses to backward.
static void begin_inplace(const Tensor& t, const char* op) {
  LUMEN_CHECK(!(t.requires_grad() && autograd::grad_enabled()), op,
              "in-place change of a tensor that requires grad while grad mode is on (use autograd::NoGradGuard) (",
              t.str(), ")");
  t.bump_version();
}

Tensor& Tensor::copy_(const Tensor& src) {
  begin_inplace(*this, "copy_");
  Shape b = broadcast_shapes(src.shape(), shape(), "copy_");
  LUMEN_CHECK(b == shape(), "copy_", "source of shape ", src.shape(), " cannot be broadcast to ", shape());
  Tensor s = src.device() == device() ? src : src.detach().to(device());
  kernels::copy(s, *this);
  return *this;
}

Tensor& Tensor::fill_(double value) {
  begin_inplace(*this, "fill_");
  kernels::fill(*this, value);
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  begin_inplace(*this, "add_");
  check_same_device_dtype("add_", *this, other);
  Shape b = broadcast_shapes(other.shape(), shape(), "add_");
  LUMEN_CHECK(b == shape(), "add_", "operand of shape ", other.shape(), " cannot be broadcast to ", shape());
  kernels::axpy(*this, other, alpha);
  return *this;
}

Tensor& Tensor::mul_(double s) {
  begin_inplace(*this, "mul_");
  if (is_contiguous()) {
    kernels::unary(kernels::UnaryOp::mul_scalar, *this, *this, s);
  } else {
    Tensor tmp = empty(shape(), options_of(*this));
    kernels::unary(kernels::UnaryOp::mul_scalar, *this, tmp, s);
    kernels::copy(tmp, *this);
  }
  return *this;
}

// ---- printing

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  os << t.str();
  if (!t.defined() || t.numel() > 1000) return os;
  auto v = t.to_vector<double>();
  os << "\n[";
  std::int64_t last = t.dim() ? t.size(-1) : 1;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i && last && i % last == 0) os << "\n ";
    os << std::setw(10) << std::setprecision(5) << v[i] << (i + 1 < v.size() ? " " : "");
  }
  return os << "]";
}

// ---- factories

Tensor empty(const Shape& shape, TensorOptions opt) {
  Tensor t = allocate(shape, opt.dtype, opt.device);
  if (opt.requires_grad) t.requires_grad_();
  return t;
}

Tensor full(const Shape& shape, double value, TensorOptions opt) {
  bool rg = opt.requires_grad;
  opt.requires_grad = false;
  Tensor t = empty(shape, opt);
  kernels::fill(t, value);
  if (rg) t.requires_grad_();
  return t;
}
Tensor zeros(const Shape& shape, TensorOptions opt) { return full(shape, 0.0, opt); }
Tensor ones(const Shape& shape, TensorOptions opt) { return full(shape, 1.0, opt); }
Tensor scalar_tensor(double value, TensorOptions opt) { return full({}, value, opt); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), options_of(t)); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), options_of(t)); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), options_of(t)); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, options_of(t)); }

Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions opt) {
  Shape s = shape.empty() && values.size() != 1 ? Shape{static_cast<std::int64_t>(values.size())} : shape;
  LUMEN_CHECK(shape_numel(s) == static_cast<std::int64_t>(values.size()), "tensor", values.size(),
              " values do not fill shape ", s);
  Tensor host = empty(s, {DType::float64, kCPU});
  std::copy(values.begin(), values.end(), host.data<double>());
  Tensor t = host.to(opt.dtype).to(opt.device).detach();
  if (opt.requires_grad) t.requires_grad_();
  return t;
}

Tensor tensor_from(const std::vector<std::int64_t>& values, const Shape& shape, Device device) {
  Shape s = shape.empty() && values.size() != 1 ? Shape{static_cast<std::int64_t>(values.size())} : shape;
  LUMEN_CHECK(shape_numel(s) == static_cast<std::int64_t>(values.size()), "tensor_from", values.size(),
              " values do not fill shape ", s);
  Tensor host = empty(s, {DType::int64, kCPU});
  std::copy(values.begin(), values.end(), host.data<std::int64_t>());
  return host.to(device);
}

Tensor arange(std::int64_t n, TensorOptions opt) {
  LUMEN_CHECK(n >= 0, "arange", "expected n >= 0, got ", n);
  Tensor host = empty({n}, {DType::float64, kCPU});
  for (std::int64_t i = 0; i < n; ++i) host.data<double>()[i] = static_cast<double>(i);
  Tensor t = host.to(opt.dtype).to(opt.device).detach();
  if (opt.requires_grad) t.requires_grad_();
  return t;
}

Tensor linspace(double start, double end, std::int64_t steps, TensorOptions opt) {
  LUMEN_CHECK(steps >= 1, "linspace", "expected steps >= 1, got ", steps);
  Tensor host = empty({steps}, {DType::float64, kCPU});  // a checked allocation, not a std::vector
  double* v = host.data<double>();
  for (std::int64_t i = 0; i < steps; ++i) v[i] = steps == 1 ? start : start + (end - start) * i / (steps - 1);
  Tensor t = host.to(opt.dtype).to(opt.device).detach();
  if (opt.requires_grad) t.requires_grad_();
  return t;
}

}  // namespace lumen
