// Elementwise ops and activations. Binary ops broadcast; their backward sums the gradient back to
// each input's shape (sum_to), the adjoint of broadcasting.
#include <cmath>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/kernels.h"

namespace lumen {

using kernels::BinaryOp;
using kernels::UnaryOp;

// ---- shape helpers

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    LUMEN_CHECK(da == db || da == 1 || db == 1, op, "shapes ", a, " and ", b,
                " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void check_same_device_dtype(const char* op, const Tensor& a, const Tensor& b) {
  LUMEN_CHECK(a.defined() && b.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(a.dtype() == b.dtype() && a.device() == b.device(), op,
              "expected tensors of the same dtype and device, got ", dtype_name(a.dtype()), " on ", a.device().str(),
              " and ", dtype_name(b.dtype()), " on ", b.device().str());
}

namespace {

void check_floating(const char* op, const Tensor& x) {
  LUMEN_CHECK(x.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(is_floating(x.dtype()), op, "expected a floating tensor (float32 or float64), got ", dtype_name(x.dtype()));
}

Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  check_floating(name, a);
  check_same_device_dtype(name, a, b);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), options_of(a));
  kernels::binary(op, a, b, out);
  return out;
}

// A kernel's result with no history: masks and other non-differentiable helpers.
Tensor unary_forward(UnaryOp op, const char* name, const Tensor& x, double p = 0, double q = 0) {
  check_floating(name, x);
  Tensor out = empty(x.shape(), options_of(x));
  kernels::unary(op, x, out, p, q);
  return out;
}

Tensor zero_like_scalar(const Tensor& t) { return zeros({}, options_of(t)); }
Tensor one_like_scalar(const Tensor& t) { return ones({}, options_of(t)); }

}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const std::int64_t lead = g.dim() - static_cast<std::int64_t>(shape.size());
  LUMEN_CHECK(lead >= 0, "sum_to", "cannot reduce shape ", g.shape(), " to ", shape);
  Shape dims;
  for (std::int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.size(d) != 1)) dims.push_back(d);
  Tensor r = dims.empty() ? g : sum(g, dims, true);
  return reshape(r, shape);
}

// ---- binary

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::add, "add", a, b);
  return record("add", out, {a, b}, {}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const BackwardArgs& s) {
    return grads(s.needs(0) ? sum_to(g, sa) : Tensor(), s.needs(1) ? sum_to(g, sb) : Tensor());
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::sub, "sub", a, b);
  return record("sub", out, {a, b}, {}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const BackwardArgs& s) {
    return grads(s.needs(0) ? sum_to(g, sa) : Tensor(), s.needs(1) ? sum_to(neg(g), sb) : Tensor());
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::mul, "mul", a, b);
  return record("mul", out, {a, b}, {a, b}, [](const Tensor& g, const BackwardArgs& s) {
    return grads(s.needs(0) ? sum_to(g * s[1], s[0].shape()) : Tensor(),
                 s.needs(1) ? sum_to(g * s[0], s[1].shape()) : Tensor());
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::div, "div", a, b);
  return record("div", out, {a, b}, {a, b}, [](const Tensor& g, const BackwardArgs& s) {
    // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
    return grads(s.needs(0) ? sum_to(g / s[1], s[0].shape()) : Tensor(),
                 s.needs(1) ? sum_to(neg(g * s[0]) / square(s[1]), s[1].shape()) : Tensor());
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::pow, "pow", a, b);
  return record("pow", out, {a, b}, {a, b, out}, [](const Tensor& g, const BackwardArgs& s) {
    const Tensor &x = s[0], &e = s[1], &y = s[2];
    Tensor ga, gb;
    if (s.needs(0)) ga = sum_to(g * e * pow(x, e - 1.0), x.shape());  // e x^(e-1)
    if (s.needs(1))  // x^e log x, taken as 0 where x == 0 (the limit for e > 0)
      gb = sum_to(where(eq(x, zero_like_scalar(x)), zero_like_scalar(x), g * y * log(x)), e.shape());
    return grads(ga, gb);
  });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::maximum, "maximum", a, b);
  return record("maximum", out, {a, b}, {a, b}, [](const Tensor& g, const BackwardArgs& s) {
    Tensor share_a = gt(s[0], s[1]) + eq(s[0], s[1]) * 0.5;  // ties split the gradient
    return grads(s.needs(0) ? sum_to(g * share_a, s[0].shape()) : Tensor(),
                 s.needs(1) ? sum_to(g * rsub(share_a, 1.0), s[1].shape()) : Tensor());
  });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::minimum, "minimum", a, b);
  return record("minimum", out, {a, b}, {a, b}, [](const Tensor& g, const BackwardArgs& s) {
    Tensor share_a = lt(s[0], s[1]) + eq(s[0], s[1]) * 0.5;
    return grads(s.needs(0) ? sum_to(g * share_a, s[0].shape()) : Tensor(),
                 s.needs(1) ? sum_to(g * rsub(share_a, 1.0), s[1].shape()) : Tensor());
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_floating("where", a);
  check_same_device_dtype("where", a, b);
  LUMEN_CHECK(cond.defined() && cond.device() == a.device(), "where", "condition must be on ", a.device().str());
  Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(s, options_of(a));
  kernels::where(cond, a, b, out);
  Tensor c = cond.detach();
  return record("where", out, {a, b}, {c}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const BackwardArgs& s) {
    Tensor z = zero_like_scalar(g);
    return grads(s.needs(0) ? sum_to(where(s[0], g, z), sa) : Tensor(),
                 s.needs(1) ? sum_to(where(s[0], z, g), sb) : Tensor());
  });
}

#define LUMEN_COMPARISON(name, op)                                                       \
  Tensor name(const Tensor& a, const Tensor& b) { return binary_forward(op, #name, a, b).detach(); } \
  Tensor name##_scalar_impl(const Tensor& a, double v) { return name(a, full({}, v, options_of(a))); }
LUMEN_COMPARISON(gt, BinaryOp::gt)
LUMEN_COMPARISON(lt, BinaryOp::lt)
LUMEN_COMPARISON(ge, BinaryOp::ge)
LUMEN_COMPARISON(le, BinaryOp::le)
LUMEN_COMPARISON(eq, BinaryOp::eq)
LUMEN_COMPARISON(ne, BinaryOp::ne)
#undef LUMEN_COMPARISON
Tensor gt(const Tensor& a, double s) { return gt_scalar_impl(a, s); }
Tensor lt(const Tensor& a, double s) { return lt_scalar_impl(a, s); }

// ---- with a scalar

Tensor add(const Tensor& a, double v) {
  Tensor out = unary_forward(UnaryOp::add_scalar, "add", a, v);
  return record("add_scalar", out, {a}, {}, [](const Tensor& g, const BackwardArgs&) { return grads(g); });
}

Tensor mul(const Tensor& a, double v) {
  Tensor out = unary_forward(UnaryOp::mul_scalar, "mul", a, v);
  return record("mul_scalar", out, {a}, {}, [v](const Tensor& g, const BackwardArgs&) { return grads(g * v); });
}

Tensor rsub(const Tensor& a, double v) {
  Tensor out = unary_forward(UnaryOp::rsub_scalar, "rsub", a, v);
  return record("rsub", out, {a}, {}, [](const Tensor& g, const BackwardArgs&) { return grads(neg(g)); });
}

Tensor pow(const Tensor& a, double p) {
  Tensor out = unary_forward(UnaryOp::pow, "pow", a, p);
  return record("pow_scalar", out, {a}, {a}, [p](const Tensor& g, const BackwardArgs& s) {
    if (p == 0.0) return grads(zeros_like(g));
    return grads(g * pow(s[0], p - 1.0) * p);  // p x^(p-1)
  });
}

// ---- unary math

Tensor neg(const Tensor& x) {
  Tensor out = unary_forward(UnaryOp::neg, "neg", x);
  return record("neg", out, {x}, {}, [](const Tensor& g, const BackwardArgs&) { return grads(neg(g)); });
}

Tensor exp(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::exp, "exp", x);
  return record("exp", y, {x}, {y}, [](const Tensor& g, const BackwardArgs& s) { return grads(g * s[0]); });
}

Tensor log(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::log, "log", x);
  return record("log", y, {x}, {x}, [](const Tensor& g, const BackwardArgs& s) { return grads(g / s[0]); });
}

Tensor sqrt(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::sqrt, "sqrt", x);
  return record("sqrt", y, {x}, {y}, [](const Tensor& g, const BackwardArgs& s) { return grads(g * 0.5 / s[0]); });
}

Tensor abs(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::abs, "abs", x);
  return record("abs", y, {x}, {x}, [](const Tensor& g, const BackwardArgs& s) { return grads(g * sign(s[0])); });
}

Tensor square(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::square, "square", x);
  return record("square", y, {x}, {x}, [](const Tensor& g, const BackwardArgs& s) { return grads(g * s[0] * 2.0); });
}

Tensor reciprocal(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::reciprocal, "reciprocal", x);
  return record("reciprocal", y, {x}, {y},
                [](const Tensor& g, const BackwardArgs& s) { return grads(neg(g * square(s[0]))); });  // -1/x²
}

Tensor erf(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::erf, "erf", x);
  return record("erf", y, {x}, {x}, [](const Tensor& g, const BackwardArgs& s) {
    return grads(g * exp(neg(square(s[0]))) * (2.0 / std::sqrt(M_PI)));  // 2/√π e^{-x²}
  });
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  LUMEN_CHECK(!(lo > hi), "clamp", "expected lo <= hi, got ", lo, " > ", hi);
  Tensor y = unary_forward(UnaryOp::clamp, "clamp", x, lo, hi);
  return record("clamp", y, {x}, {x}, [lo, hi](const Tensor& g, const BackwardArgs& s) {
    return grads(g * unary_forward(UnaryOp::clamp_mask, "clamp", s[0], lo, hi));
  });
}

Tensor sign(const Tensor& x) { return unary_forward(UnaryOp::sign, "sign", x); }

// ---- activations

// ReLU's backward as an op of its own, g · 1[x > 0] in one kernel pass. It is linear in g (its own
// gradient w.r.t. g is relu_backward again) and piecewise constant in x (zero gradient there).
Tensor relu_backward(const Tensor& g, const Tensor& x) {
  Tensor out = binary_forward(BinaryOp::relu_grad, "relu_backward", g, x);
  return record("relu_backward", out, {g, x}, {x}, [](const Tensor& gg, const BackwardArgs& s) {
    return grads(s.needs(0) ? relu_backward(gg, s[0]) : Tensor(), Tensor());
  });
}

Tensor relu(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::relu, "relu", x);
  return record("relu", y, {x}, {x}, [](const Tensor& g, const BackwardArgs& s) {
    return grads(relu_backward(g, s[0]));  // g where x > 0
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = unary_forward(UnaryOp::leaky_relu, "leaky_relu", x, slope);
  return record("leaky_relu", y, {x}, {x}, [slope](const Tensor& g, const BackwardArgs& s) {
    return grads(g * unary_forward(UnaryOp::leaky_slope, "leaky_relu", s[0], slope));
  });
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::sigmoid, "sigmoid", x);
  return record("sigmoid", y, {x}, {y}, [](const Tensor& g, const BackwardArgs& s) {
    return grads(g * s[0] * rsub(s[0], 1.0));  // σ(1-σ)
  });
}

Tensor tanh(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::tanh, "tanh", x);
  return record("tanh", y, {x}, {y}, [](const Tensor& g, const BackwardArgs& s) {
    return grads(g * rsub(square(s[0]), 1.0));  // 1 - tanh²
  });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  LUMEN_CHECK(beta > 0, "softplus", "expected beta > 0, got ", beta);
  Tensor y = unary_forward(UnaryOp::softplus, "softplus", x, beta, threshold);
  return record("softplus", y, {x}, {x}, [beta, threshold](const Tensor& g, const BackwardArgs& s) {
    // σ(βx) below the threshold; 1 above it, where softplus is the identity
    Tensor bx = s[0] * beta;
    return grads(g * where(gt(bx, threshold), one_like_scalar(g), sigmoid(bx)));
  });
}

Tensor gelu(const Tensor& x) {
  Tensor y = unary_forward(UnaryOp::gelu, "gelu", x);
  return record("gelu", y, {x}, {x}, [](const Tensor& g, const BackwardArgs& s) {
    const Tensor& v = s[0];
    Tensor cdf = (erf(v * M_SQRT1_2) + 1.0) * 0.5;                     // Φ(x)
    Tensor pdf = exp(square(v) * -0.5) * (1.0 / std::sqrt(2 * M_PI));  // φ(x)
    return grads(g * (cdf + v * pdf));
  });
}

// ---- method forms

Tensor Tensor::exp() const { return lumen::exp(*this); }
Tensor Tensor::log() const { return lumen::log(*this); }
Tensor Tensor::pow(double p) const { return lumen::pow(*this, p); }
Tensor Tensor::abs() const { return lumen::abs(*this); }
Tensor Tensor::sqrt() const { return lumen::sqrt(*this); }
Tensor Tensor::operator-() const { return neg(*this); }

}  // namespace lumen
