// conv2d and conv_transpose2d, built on three differentiable ops that are each other's backward.
// For a fixed geometry, the convolution y = conv(x, w) is bilinear, and so are its two gradients:
//
//   conv(x, w)          -> y     backward:  dx = input_grad(g, w),   dw = weight_grad(x, g)
//   input_grad(g, w)    -> dx    backward:  dg = conv(gg, w),        dw = weight_grad(gg, g)
//   weight_grad(x, g)   -> dw    backward:  dx = input_grad(g, gw),  dg = conv(x, gw)
//
// (each line follows from <conv(x, w), g> = <x, input_grad(g, w)> = <w, weight_grad(x, g)>).
// So gradients of any order are again these three ops. conv_transpose2d *is* input_grad, with the
// geometry of the convolution whose input gradient it computes.
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "kernels/conv.h"

namespace lumen {

namespace {

using Geometry = kernels::Conv2dGeometry;

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& b, const Geometry& G);
Tensor input_grad(const Tensor& g, const Tensor& w, const Geometry& G, bool channels_last = false);
Tensor weight_grad(const Tensor& x, const Tensor& g, const Geometry& G);

// A one-row CPU input [N, C, 1, W] that is a transposed [N, W, C] (a text model's embeddings): its
// gradient is made in that layout too, which the CPU kernel writes fastest and which the transpose
// back to [N, W, C] then finds contiguous.
bool channels_last_row(const Tensor& x) {
  return x.device().is_cpu() && x.size(2) == 1 && x.size(1) > 1 && x.stride(1) == 1 &&
         x.stride(3) == x.size(1) && x.stride(0) == x.size(1) * x.size(3);
}

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& b, const Geometry& G) {
  Tensor y = empty({G.N, G.O, G.OH, G.OW}, options_of(x));
  kernels::conv2d_forward(x, w, b, y, G);
  const bool channels_last = channels_last_row(x);
  return record("conv2d", y, {x, w, b}, {x, w}, [G, channels_last](const Tensor& g, const BackwardArgs& s) {
    return grads(s.needs(0) ? input_grad(g, s[1], G, channels_last) : Tensor(),
                 s.needs(1) ? weight_grad(s[0], g, G) : Tensor(), s.needs(2) ? sum(g, {0, 2, 3}) : Tensor());
  });
}

Tensor input_grad(const Tensor& g, const Tensor& w, const Geometry& G, bool channels_last) {
  Tensor dx = channels_last ? permute(empty({G.N, G.H, G.W, G.C}, options_of(g)), {0, 3, 1, 2})
                            : empty({G.N, G.C, G.H, G.W}, options_of(g));
  kernels::conv2d_input_grad(g, w, dx, G);
  return record("conv2d_input_grad", dx, {g, w}, {g, w}, [G](const Tensor& gg, const BackwardArgs& s) {
    return grads(s.needs(0) ? conv(gg, s[1], {}, G) : Tensor(), s.needs(1) ? weight_grad(gg, s[0], G) : Tensor());
  });
}

Tensor weight_grad(const Tensor& x, const Tensor& g, const Geometry& G) {
  Tensor dw = empty({G.O, G.C / G.groups, G.kh, G.kw}, options_of(x));
  kernels::conv2d_weight_grad(x, g, dw, G);
  return record("conv2d_weight_grad", dw, {x, g}, {x, g}, [G](const Tensor& gw, const BackwardArgs& s) {
    return grads(s.needs(0) ? input_grad(s[1], gw, G) : Tensor(), s.needs(1) ? conv(s[0], gw, {}, G) : Tensor());
  });
}

// Checks shared by conv2d and conv_transpose2d: ranks, dtypes, devices, bias and option signs.
void check_common(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& opt) {
  LUMEN_CHECK(x.defined() && w.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(x.dim() == 4, op, "expected a 4-D input [N, C, H, W] (or 3-D [C, H, W]), got shape ", x.shape());
  LUMEN_CHECK(w.dim() == 4, op, "expected a 4-D weight, got shape ", w.shape());
  LUMEN_CHECK(is_floating(x.dtype()), op, "expected a floating input (float32 or float64), got ", dtype_name(x.dtype()));
  check_same_device_dtype(op, x, w);
  if (b.defined()) check_same_device_dtype(op, x, b);
  auto [sh, sw] = opt.stride;
  auto [ph, pw] = opt.padding;
  auto [dh, dw] = opt.dilation;
  LUMEN_CHECK(sh > 0 && sw > 0, op, "expected a positive stride, got (", sh, ", ", sw, ")");
  LUMEN_CHECK(dh > 0 && dw > 0, op, "expected a positive dilation, got (", dh, ", ", dw, ")");
  LUMEN_CHECK(ph >= 0 && pw >= 0, op, "expected a non-negative padding, got (", ph, ", ", pw, ")");
  LUMEN_CHECK(opt.groups > 0, op, "expected groups > 0, got ", opt.groups);
  LUMEN_CHECK(w.size(2) > 0 && w.size(3) > 0, op, "expected a non-empty kernel, got weight ", w.shape());
  // As PyTorch: only the batch may be empty (an empty image has no output size; conv_transpose2d's
  // kernels would divide by it).
  LUMEN_CHECK(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0, op,
              "expected non-zero channels, height and width (only the batch may be 0), got input ", x.shape());
}

void check_bias(const char* op, const Tensor& b, std::int64_t O) {
  LUMEN_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == O), op, "expected a bias of shape [", O, "], got ",
              b.shape());
}

// in + 2·pad - dil·(k - 1): the room a dilated kernel sweeps in a padded input, overflow-checked
// (padding and dilation are the caller's numbers).
std::int64_t conv_span(std::int64_t in, std::int64_t pad, std::int64_t dil, std::int64_t k) {
  const char* op = "conv2d";
  const std::int64_t padded = checked_add(in, checked_mul(2, pad, op, "padding"), op, "padded input");
  return padded - checked_mul(dil, k - 1, op, "dilated kernel");
}

// The input size of the convolution that conv_transpose2d inverts: (out - 1)·s - 2·pad + dil·(k - 1) + op + 1.
std::int64_t transposed_size(std::int64_t out, std::int64_t s, std::int64_t pad, std::int64_t dil, std::int64_t k,
                             std::int64_t out_pad) {
  const char* op = "conv_transpose2d";
  const std::int64_t swept = checked_add(checked_mul(out - 1, s, op, "stride"), checked_mul(dil, k - 1, op, "dilation"),
                                         op, "output size");
  return checked_add(swept - checked_mul(2, pad, op, "padding"), out_pad + 1, op, "output size");
}

// A 3-D [C, H, W] input is one image: run on [1, C, H, W] and drop the batch dim again.
template <class F> Tensor with_batch(const Tensor& x, F&& f) {
  if (x.defined() && x.dim() == 3) return squeeze(f(unsqueeze(x, 0)), 0);
  return f(x);
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w, const Tensor& b, const Conv2dOptions& opt) {
  return with_batch(x_in, [&](const Tensor& x) {
    check_common("conv2d", x, w, b, opt);
    const std::int64_t C = x.size(1), O = w.size(0), groups = opt.groups;
    LUMEN_CHECK(w.size(1) * groups == C, "conv2d", "input ", x.shape(), " has ", C, " channels but weight ", w.shape(),
                " with groups=", groups, " expects ", w.size(1) * groups);
    LUMEN_CHECK(O % groups == 0, "conv2d", "weight ", w.shape(), " has ", O, " output channels, not divisible by groups=",
                groups);
    check_bias("conv2d", b, O);
    Geometry G{x.size(0), C, x.size(2), x.size(3), O, 0, 0, w.size(2), w.size(3), opt.stride.first, opt.stride.second,
               opt.padding.first, opt.padding.second, opt.dilation.first, opt.dilation.second, groups};
    const std::int64_t span_h = conv_span(G.H, G.ph, G.dh, G.kh), span_w = conv_span(G.W, G.pw, G.dw, G.kw);
    G.OH = (span_h - 1) / G.sh + 1;
    G.OW = (span_w - 1) / G.sw + 1;
    // (the numerators can be negative, where C++ division rounds toward zero: test them, not OH)
    LUMEN_CHECK(span_h > 0 && span_w > 0, "conv2d", "input ",
                x.shape(), " with padding (", G.ph, ", ", G.pw, ") is smaller than the kernel ", w.shape(),
                " with dilation (", G.dh, ", ", G.dw, "): the output would be empty");
    return conv(x, w, b, G);
  });
}

Tensor conv_transpose2d(const Tensor& x_in, const Tensor& w, const Tensor& b, const Conv2dOptions& opt) {
  return with_batch(x_in, [&](const Tensor& x) {
    check_common("conv_transpose2d", x, w, b, opt);
    const std::int64_t C = x.size(1), groups = opt.groups;
    LUMEN_CHECK(w.size(0) == C, "conv_transpose2d", "input ", x.shape(), " has ", C, " channels but weight ",
                w.shape(), " expects ", w.size(0), " (weight is [C_in, C_out / groups, kh, kw])");
    LUMEN_CHECK(C % groups == 0, "conv_transpose2d", "input ", x.shape(), " has ", C,
                " channels, not divisible by groups=", groups);
    const std::int64_t O = w.size(1) * groups;
    check_bias("conv_transpose2d", b, O);
    auto [oph, opw] = opt.output_padding;
    LUMEN_CHECK(oph >= 0 && opw >= 0 && oph < std::max(opt.stride.first, opt.dilation.first) &&
                    opw < std::max(opt.stride.second, opt.dilation.second),
                "conv_transpose2d", "output_padding (", oph, ", ", opw,
                ") must be non-negative and smaller than either stride or dilation");
    // The geometry of the convolution that maps the result [N, O, OH, OW] back to x [N, C, H, W].
    Geometry G{x.size(0), O, 0, 0, C, x.size(2), x.size(3), w.size(2), w.size(3), opt.stride.first,
               opt.stride.second, opt.padding.first, opt.padding.second, opt.dilation.first, opt.dilation.second, groups};
    G.H = transposed_size(G.OH, G.sh, G.ph, G.dh, G.kh, oph);
    G.W = transposed_size(G.OW, G.sw, G.pw, G.dw, G.kw, opw);
    LUMEN_CHECK(G.H > 0 && G.W > 0, "conv_transpose2d", "input ", x.shape(), " with weight ", w.shape(),
                " and padding (", G.ph, ", ", G.pw, ") gives an empty output of size [", G.H, ", ", G.W, "]");
    Tensor y = input_grad(x, w, G);
    return b.defined() ? y + reshape(b, {1, O, 1, 1}) : y;
  });
}

}  // namespace lumen

namespace lumen {

// conv1d is conv2d on a height-1 image: [N, C, L] -> [N, C, 1, L] with a [O, C/g, 1, k] kernel. The
// checks are repeated here so that an error names conv1d and the 3-D shapes the caller passed.
Tensor conv1d(const Tensor& x_in, const Tensor& w, const Tensor& b, const Conv1dOptions& opt) {
  const char* op = "conv1d";
  LUMEN_CHECK(x_in.defined() && w.defined(), op, "got an undefined tensor");
  if (x_in.dim() == 2) return squeeze(conv1d(unsqueeze(x_in, 0), w, b, opt), 0);  // one unbatched sequence
  const Tensor& x = x_in;
  LUMEN_CHECK(x.dim() == 3, op, "expected a 3-D input [N, C, L] (or 2-D [C, L]), got shape ", x.shape());
  LUMEN_CHECK(w.dim() == 3, op, "expected a 3-D weight [O, C/groups, k], got shape ", w.shape());
  LUMEN_CHECK(opt.stride > 0, op, "expected a positive stride, got ", opt.stride);
  LUMEN_CHECK(opt.dilation > 0, op, "expected a positive dilation, got ", opt.dilation);
  LUMEN_CHECK(opt.padding >= 0, op, "expected a non-negative padding, got ", opt.padding);
  LUMEN_CHECK(opt.groups > 0, op, "expected groups > 0, got ", opt.groups);
  const std::int64_t C = x.size(1), O = w.size(0), k = w.size(2);
  LUMEN_CHECK(w.size(1) * opt.groups == C, op, "input ", x.shape(), " has ", C, " channels but weight ", w.shape(),
              " with groups=", opt.groups, " expects ", w.size(1) * opt.groups);
  LUMEN_CHECK(O % opt.groups == 0, op, "weight ", w.shape(), " has ", O, " output channels, not divisible by groups=",
              opt.groups);
  check_bias(op, b, O);
  LUMEN_CHECK(k > 0 && x.size(2) > 0, op, "expected a non-empty kernel and sequence, got input ", x.shape(),
              " and weight ", w.shape());
  const std::int64_t span = checked_add(x.size(2), checked_mul(2, opt.padding, op, "padding"), op, "padded input") -
                            checked_mul(opt.dilation, k - 1, op, "dilated kernel");
  LUMEN_CHECK(span > 0, op, "input ", x.shape(), " with padding ", opt.padding, " is shorter than the kernel ",
              w.shape(), " with dilation ", opt.dilation, ": the output would be empty");
  const Conv2dOptions o2{.stride = {1, opt.stride}, .padding = {0, opt.padding}, .dilation = {1, opt.dilation},
                         .groups = opt.groups};
  return squeeze(conv2d(unsqueeze(x, 2), unsqueeze(w, 2), b, o2), 2);
}

}  // namespace lumen
