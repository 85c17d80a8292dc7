// The op table's runner: builds a row's inputs in any dtype, layout and device from the same drawn
// values, and runs the checks of tests/op_table.h on them.
#include "tests/op_table.h"

#include <cmath>
#include <functional>
#include <iomanip>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"

namespace lumen::testing {

const std::vector<OpRow>& op_table() {
  static const std::vector<OpRow> table = [] {
    std::vector<OpRow> all;
    for (auto family : {elementwise_rows, reduce_rows, shape_rows, index_rows, linalg_rows, conv_pool_rows})
      for (OpRow& row : family()) all.push_back(std::move(row));
    return all;
  }();
  return table;
}

std::string layout_name(Layout layout) { return layout == Layout::contiguous ? "contiguous inputs" : "strided inputs"; }

namespace {

// FNV-1a of the row's name: each row draws its own values, the same in every run and every build.
std::uint64_t seed_of(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

Tensor draw(const Shape& shape, const Domain& d, Generator& gen) {
  Tensor u = uniform(shape, d.lo, d.hi, {DType::float64}, &gen);
  if (!d.random_sign) return u;
  Tensor sign = gt(rand(shape, {DType::float64}, &gen), 0.5) * 2.0 - 1.0;  // ±1
  return u * sign;
}

// The strided layout of an input of `shape`: a view of a base tensor with the dims reversed and the
// last one doubled, read back transposed with step 2, so no dim is contiguous and every other element
// of the base is never read.
Shape strided_base_shape(const Shape& shape) {
  Shape base(shape.rbegin(), shape.rend());
  base[0] *= 2;
  return base;
}
Tensor strided_view(const Tensor& base, const Shape& shape) {
  const auto n = static_cast<std::int64_t>(shape.size());
  Shape reversed;
  for (std::int64_t d = n - 1; d >= 0; --d) reversed.push_back(d);
  return slice(base.permute(reversed), n - 1, 0, 2 * shape.back(), 2);
}

// A row's inputs ready for one run: `leaves` are the differentiable inputs' storage (float64 leaves
// for gradcheck; the base tensor in the strided layout) and f(leaves) is the row's output.
struct Prepared {
  std::vector<Tensor> leaves;
  Fn f;
};

Prepared prepare(const OpRow& row, DType dtype, Layout layout, Device device) {
  Generator values(seed_of(row.name)), filler(seed_of(row.name) + 1);
  std::vector<Tensor> storage;  // one per input; leaves and constants alike
  Prepared p;
  for (const Input& in : row.inputs) {
    const bool is_index = !in.index.empty();
    Tensor v = is_index ? tensor_from(in.index, in.shape) : draw(in.shape, in.domain, values);
    if (layout == Layout::strided && !in.shape.empty()) {
      Tensor base = is_index ? zeros(strided_base_shape(in.shape), {DType::int64})
                             : draw(strided_base_shape(in.shape), in.domain, filler);
      strided_view(base, in.shape).copy_(v);
      v = base;
    }
    if (!is_index) v = v.to(dtype);
    v = v.to(device);
    if (in.differentiable) {
      v = v.detach().requires_grad_();
      p.leaves.push_back(v);
    }
    storage.push_back(v);
  }
  p.f = [fn = row.fn, inputs = row.inputs, storage, layout](const std::vector<Tensor>& leaves) {
    std::vector<Tensor> args;
    std::size_t k = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& s = inputs[i].differentiable ? leaves[k++] : storage[i];
      const bool view = layout == Layout::strided && !inputs[i].shape.empty();
      args.push_back(view ? strided_view(s, inputs[i].shape) : s);
    }
    return fn(args);
  };
  return p;
}

CheckResult fail(const std::string& what) { return {false, what}; }

// got == want elementwise within tol · (1 + |want|), as tests/test_util.h allclose.
CheckResult compare(const std::string& what, const Tensor& got, const Tensor& want, double tol) {
  if (!got.defined() || !want.defined()) {
    if (got.defined() == want.defined()) return {};
    return fail(what + ": defined on one side only");
  }
  if (got.shape() != want.shape()) {
    std::ostringstream os;
    os << what << ": shape " << got.shape() << " vs " << want.shape();
    return fail(os.str());
  }
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= tol * (1 + std::abs(w[i])))) {
      std::ostringstream os;
      os << std::setprecision(10) << what << ": element " << i << ": " << g[i] << " vs " << w[i] << " (tolerance " << tol << ")";
      return fail(os.str());
    }
  return {};
}

// d<y, v>/d(leaves) with v drawn from the row's seed: the gradients both sides of a comparison take.
std::vector<Tensor> projected_gradients(const OpRow& row, const Tensor& y, const std::vector<Tensor>& leaves) {
  Generator gen(seed_of(row.name) + 2);
  Tensor v = normal(y.shape(), 0.0, 1.0, {DType::float64}, &gen).to(y.dtype()).to(y.device());
  return autograd::grad({y}, leaves, {v}, {.allow_unused = true});
}

CheckResult compare_gradients(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double tol) {
  for (std::size_t i = 0; i < want.size(); ++i) {
    const Tensor g = got[i].defined() ? got[i].to(kCPU) : got[i];
    if (CheckResult r = compare("gradient of differentiable input " + std::to_string(i), g, want[i], tol); !r.ok)
      return r;
  }
  return {};
}

// Runs `step`, which must stop at a kernel the device lacks.
CheckResult expect_no_kernel(const std::string& what, const std::function<void()>& step) {
  try {
    step();
  } catch (const Error& e) {
    if (std::string(e.what()).find("no kernel for device") != std::string::npos) return {};
    return fail(what + ": expected the \"no kernel for device\" error, got: " + e.what());
  }
  return fail(what + " ran on the device: its kernels exist now, so update the row's cuda mark");
}

bool has_finite_difference_checks(const OpRow& row) {
  return row.finite_differences && row.derivative != Derivative::none;
}

}  // namespace

CheckResult check_gradient(const OpRow& row, Layout layout) {
  if (!has_finite_difference_checks(row)) return {};
  Prepared p = prepare(row, DType::float64, layout, kCPU);
  if (p.leaves.empty()) return fail("a differentiable row needs a differentiable input");
  return gradcheck(p.f, p.leaves, 1e-6, row.grad_atol, row.grad_rtol);
}

CheckResult check_second_gradient(const OpRow& row, Layout layout) {
  if (!has_finite_difference_checks(row) || row.derivative == Derivative::first) return {};
  Prepared p = prepare(row, DType::float64, layout, kCPU);
  Fn f = p.f;
  if (row.derivative == Derivative::second_of_square) f = [g = p.f](const std::vector<Tensor>& x) { return square(g(x)); };
  return gradgradcheck(f, p.leaves, 1e-6, 10 * row.grad_atol, 10 * row.grad_rtol);
}

CheckResult check_float32_agrees(const OpRow& row, Layout layout) {
  Prepared p64 = prepare(row, DType::float64, layout, kCPU), p32 = prepare(row, DType::float32, layout, kCPU);
  const Tensor y64 = p64.f(p64.leaves), y32 = p32.f(p32.leaves);
  if (CheckResult r = compare("float32 forward", y32, y64, row.f32_tol); !r.ok) return r;
  if (row.derivative == Derivative::none) return {};
  return compare_gradients(projected_gradients(row, y32, p32.leaves), projected_gradients(row, y64, p64.leaves),
                           row.f32_tol);
}

CheckResult check_strided_matches_contiguous(const OpRow& row) {
  Prepared c = prepare(row, DType::float64, Layout::contiguous, kCPU);
  Prepared s = prepare(row, DType::float64, Layout::strided, kCPU);
  return compare("strided-input forward", s.f(s.leaves), c.f(c.leaves), 1e-12);
}

namespace {

std::string shape_text(const Shape& s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

// The default empty case (op_table.h, EmptyCase): the row's batch emptied.
CheckResult derive_empty_case(const OpRow& row, EmptyCase& c) {
  Prepared p = prepare(row, DType::float64, Layout::contiguous, kCPU);
  const Shape out = p.f(p.leaves).shape();
  bool emptied = false;
  c = {};
  for (const Input& in : row.inputs) {
    Shape s = in.shape;
    if (!out.empty() && !s.empty() && s[0] == out[0]) {
      s[0] = 0;
      emptied = true;
    }
    c.shapes.push_back(s);
  }
  if (!emptied)
    return fail("no input shares the output's leading dim " + shape_text(out) +
                ", so its empty case cannot be derived: declare .empty");
  c.output = out;
  c.output[0] = 0;
  return {};
}

// All elements of a tensor equal v (nan matches nan).
bool all_equal(const Tensor& t, double v) {
  for (double x : t.to_vector<double>())
    if (!(x == v || (std::isnan(x) && std::isnan(v)))) return false;
  return true;
}

}  // namespace

CheckResult check_empty(const OpRow& row) {
  EmptyCase c;
  if (row.empty) c = *row.empty;
  else if (CheckResult r = derive_empty_case(row, c); !r.ok) return r;
  if (c.shapes.size() != row.inputs.size()) return fail("the empty case needs one shape per input");
  const Fn& f = c.fn ? c.fn : row.fn;
  Generator gen(seed_of(row.name) + 3);
  std::vector<Tensor> args, leaves;
  for (std::size_t i = 0; i < row.inputs.size(); ++i) {
    const Input& in = row.inputs[i];
    const Shape& s = c.shapes[i];
    Tensor v;
    if (!in.index.empty()) {
      const auto n = static_cast<std::size_t>(shape_numel(s));
      if (n != in.index.size() && n != 0) return fail("index input " + std::to_string(i) + " of the empty case: " +
                                                     shape_text(s) + " holds neither the row's values nor none");
      v = n == 0 ? empty(s, {DType::int64}) : tensor_from(in.index, s);
    } else {
      v = draw(s, in.domain, gen);
      if (in.differentiable) {
        v.requires_grad_();
        leaves.push_back(v);
      }
    }
    args.push_back(v);
  }
  if (!c.error.empty()) {
    try {
      f(args);
    } catch (const Error& e) {
      if (std::string(e.what()).find(c.error) != std::string::npos) return {};
      return fail("the empty case threw \"" + std::string(e.what()) + "\", expected an error containing \"" + c.error +
                  "\"");
    }
    return fail("the empty case ran, expected an error containing \"" + c.error + "\"");
  }
  Tensor y;
  try {
    y = f(args);
  } catch (const Error& e) {
    return fail(std::string("the empty case's forward threw: ") + e.what());
  }
  if (y.shape() != c.output)
    return fail("the empty case's result has shape " + shape_text(y.shape()) + ", PyTorch's " + shape_text(c.output));
  if (c.value && !all_equal(y, *c.value))
    return fail("the empty case's result is not all " + std::to_string(*c.value) + " (PyTorch's value)");
  if (row.derivative == Derivative::none || leaves.empty()) return {};
  std::vector<Tensor> g;
  try {
    g = autograd::grad({y}, leaves, {ones_like(y)}, {.allow_unused = true});
  } catch (const Error& e) {
    return fail(std::string("the empty case's backward threw: ") + e.what());
  }
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const std::string which = "the empty case's gradient of differentiable input " + std::to_string(i);
    if (!g[i].defined()) return fail(which + " is undefined");
    if (g[i].shape() != leaves[i].shape())
      return fail(which + " has shape " + shape_text(g[i].shape()) + ", the input " + shape_text(leaves[i].shape()));
    if (y.numel() == 0 && !all_equal(g[i], 0.0)) return fail(which + " is not zero, but the result is empty");
  }
  return {};
}

CheckResult check_on_device(const OpRow& row, Layout layout, DType dtype, Device device) {
  Prepared cpu = prepare(row, dtype, layout, kCPU), dev = prepare(row, dtype, layout, device);
  if (row.cuda == Cuda::none) return expect_no_kernel("the forward", [&] { dev.f(dev.leaves); });
  const double tol = dtype == DType::float64 ? row.gpu_f64_tol : row.gpu_f32_tol;
  const Tensor want = cpu.f(cpu.leaves), got = dev.f(dev.leaves);
  if (got.device() != device) return fail("the output is on " + got.device().str() + ", not " + device.str());
  if (CheckResult r = compare("device forward", got.to(kCPU), want, tol); !r.ok) return r;
  if (row.derivative == Derivative::none) return {};
  if (row.cuda == Cuda::forward_only)
    return expect_no_kernel("the backward", [&] { projected_gradients(row, got, dev.leaves); });
  return compare_gradients(projected_gradients(row, got, dev.leaves), projected_gradients(row, want, cpu.leaves), tol);
}

}  // namespace lumen::testing
