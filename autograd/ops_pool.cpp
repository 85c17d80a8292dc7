// Pooling and upsampling. Two kinds of op:
//
// - max_pool2d picks one input per output. Its backward scatters g onto the picked positions, and
//   the backward of that scatter is the gather by the same indices (and vice versa), so both are
//   ops here and gradients of any order work.
// - avg_pool2d, adaptive_avg_pool2d, upsample_nearest2d and upsample_bilinear2d are linear maps
//   y = A_h X A_wᵀ per plane (see kernels/pool.h). Each op only builds its 1-D taps A_h, A_w; the
//   backward of the map is its adjoint, and the backward of the adjoint is the map again.
//
// All accept [N, C, H, W], and [C, H, W] as a single image.
#include <cmath>
#include <memory>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "kernels/pool.h"

namespace lumen {

namespace {

using kernels::Taps;

void check_input(const char* op, const Tensor& x) {
  LUMEN_CHECK(x.defined(), op, "got an undefined tensor");
  LUMEN_CHECK(x.dim() == 4, op, "expected a 4-D input [N, C, H, W] (or 3-D [C, H, W]), got shape ", x.shape());
  LUMEN_CHECK(is_floating(x.dtype()), op, "expected a floating input (float32 or float64), got ", dtype_name(x.dtype()));
  LUMEN_CHECK(x.size(2) > 0 && x.size(3) > 0, op, "expected a non-empty image, got shape ", x.shape());
}

// A 3-D [C, H, W] input is one image: run on [1, C, H, W] and drop the batch dim again.
template <class F> Tensor with_batch(const Tensor& x, F&& f) {
  if (x.defined() && x.dim() == 3) return squeeze(f(unsqueeze(x, 0)), 0);
  return f(x);
}

Shape out_shape(const Tensor& x, std::int64_t oh, std::int64_t ow) { return {x.size(0), x.size(1), oh, ow}; }

// ---- max pooling: scatter and gather along the argmax indices, each the other's backward

Tensor plane_gather(const Tensor& x, const Tensor& idx);

Tensor plane_scatter(const Tensor& g, const Tensor& idx, const Shape& in_shape) {
  Tensor dx = empty(in_shape, options_of(g));
  kernels::plane_scatter_add(g, idx, dx);
  return record("max_pool2d_backward", dx, {g}, {}, [idx](const Tensor& gg, const BackwardArgs&) {
    return grads(plane_gather(gg, idx));
  });
}

Tensor plane_gather(const Tensor& x, const Tensor& idx) {
  Tensor out = empty(idx.shape(), options_of(x));
  kernels::plane_gather(x, idx, out);
  return record("max_pool2d_gather", out, {x}, {}, [idx, xs = x.shape()](const Tensor& g, const BackwardArgs&) {
    return grads(plane_scatter(g, idx, xs));
  });
}

// ---- linear resampling: the map and its adjoint, each the other's backward

struct Plan {
  const char* name;      // the op, for the graph
  const char* adjoint;   // its backward
  std::shared_ptr<const Taps> h, w;  // shared by every node of the forward and backward graphs
};

Tensor resample_adjoint(const Tensor& g, const Plan& p);

Tensor resample(const Tensor& x, const Plan& p) {
  Tensor y = empty(out_shape(x, p.h->out_size(), p.w->out_size()), options_of(x));
  kernels::resample2d(x, *p.h, *p.w, y);
  return record(p.name, y, {x}, {}, [p](const Tensor& g, const BackwardArgs&) { return grads(resample_adjoint(g, p)); });
}

Tensor resample_adjoint(const Tensor& g, const Plan& p) {
  Tensor dx = empty(out_shape(g, p.h->in_size, p.w->in_size), options_of(g));
  kernels::resample2d_adjoint(g, *p.h, *p.w, dx);
  return record(p.adjoint, dx, {g}, {}, [p](const Tensor& gg, const BackwardArgs&) { return grads(resample(gg, p)); });
}

Plan make_plan(const char* name, const char* adjoint, Taps h, Taps w) {
  return {name, adjoint, std::make_shared<const Taps>(std::move(h)), std::make_shared<const Taps>(std::move(w))};
}

// ---- the 1-D taps of each op (PyTorch's index formulas)

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// Output size of a pooling window sweep; with ceil_mode the last window may hang over the end but
// must start inside the input or its left padding.
std::int64_t pool_out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, bool ceil_mode) {
  const char* op = "pool2d";
  const std::int64_t room = checked_add(in, checked_mul(2, p, op, "padding"), op, "padded input") - k;
  std::int64_t out = floor_div(checked_add(room, ceil_mode ? s - 1 : 0, op, "ceil_mode"), s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// Window o covers [o*s - p, o*s - p + k) clipped to the padded input; its divisor counts the padding
// (count_include_pad) or only the real inputs.
Taps avg_taps(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t s, std::int64_t p, bool count_pad) {
  Taps t;
  t.in_size = in;
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t start = o * s - p, end = std::min(start + k, in + p);
    const std::int64_t lo = std::max<std::int64_t>(start, 0), hi = std::min(end, in);
    const double w = 1.0 / static_cast<double>(count_pad ? end - start : hi - lo);
    for (std::int64_t i = lo; i < hi; ++i) t.add(i, w);
    t.end_row();
  }
  return t;
}

// Window o covers [floor(o * in / out), ceil((o + 1) * in / out)).
Taps adaptive_taps(std::int64_t in, std::int64_t out) {
  Taps t;
  t.in_size = in;
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t lo = o * in / out, hi = ((o + 1) * in + out - 1) / out;
    for (std::int64_t i = lo; i < hi; ++i) t.add(i, 1.0 / static_cast<double>(hi - lo));
    t.end_row();
  }
  return t;
}

// Output o copies input floor(o * in / out) (computed exactly, in integers).
Taps nearest_taps(std::int64_t in, std::int64_t out) {
  Taps t;
  t.in_size = in;
  for (std::int64_t o = 0; o < out; ++o) {
    t.add(std::min(o * in / out, in - 1), 1.0);
    t.end_row();
  }
  return t;
}

// Output o interpolates between the two inputs around its source coordinate: o * (in-1)/(out-1) with
// align_corners (the corner pixels' centres line up), else (o + 0.5) * in/out - 0.5 clamped at 0
// (the pixel areas line up).
Taps bilinear_taps(std::int64_t in, std::int64_t out, bool align_corners) {
  Taps t;
  t.in_size = in;
  const double scale = align_corners ? (out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0)
                                     : static_cast<double>(in) / static_cast<double>(out);
  for (std::int64_t o = 0; o < out; ++o) {
    const double src = align_corners ? scale * static_cast<double>(o) : std::max(scale * (o + 0.5) - 0.5, 0.0);
    const std::int64_t i0 = std::min(static_cast<std::int64_t>(src), in - 1);
    const std::int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
    const double l1 = src - static_cast<double>(i0);
    t.add(i0, 1.0 - l1);
    t.add(i1, l1);
    t.end_row();
  }
  return t;
}

// Kernel, stride (defaulting to the kernel) and padding, checked, with the output size.
struct Window {
  std::int64_t kh, kw, sh, sw, ph, pw, oh, ow;
};

Window pool_window(const char* op, const Tensor& x, const Pool2dOptions& opt) {
  check_input(op, x);
  // As PyTorch: max and average pooling take an empty batch, but not an image without channels
  // (adaptive pooling and resampling do: they only need H and W).
  LUMEN_CHECK(x.size(1) > 0, op, "expected at least one channel (only the batch may be empty), got shape ", x.shape());
  auto [kh, kw] = opt.kernel;
  auto [sh, sw] = opt.stride.value_or(opt.kernel);
  auto [ph, pw] = opt.padding;
  LUMEN_CHECK(kh > 0 && kw > 0, op, "expected a positive kernel size, got (", kh, ", ", kw, ")");
  LUMEN_CHECK(sh > 0 && sw > 0, op, "expected a positive stride, got (", sh, ", ", sw, ")");
  LUMEN_CHECK(ph >= 0 && pw >= 0 && 2 * ph <= kh && 2 * pw <= kw, op, "padding (", ph, ", ", pw,
              ") must be non-negative and at most half the kernel size (", kh, ", ", kw, ")");
  Window w{kh, kw, sh, sw, ph, pw, pool_out_size(x.size(2), kh, sh, ph, opt.ceil_mode),
           pool_out_size(x.size(3), kw, sw, pw, opt.ceil_mode)};
  LUMEN_CHECK(w.oh > 0 && w.ow > 0, op, "input ", x.shape(), " is too small for kernel (", kh, ", ", kw,
              ") with padding (", ph, ", ", pw, "): the output would be ", w.oh, " x ", w.ow);
  return w;
}

void check_output_size(const char* op, std::pair<std::int64_t, std::int64_t> size) {
  LUMEN_CHECK(size.first > 0 && size.second > 0, op, "expected a positive output size, got (", size.first, ", ",
              size.second, ")");
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dOptions& opt) {
  return with_batch(x_in, [&](const Tensor& x) {
    const Window w = pool_window("max_pool2d", x, opt);
    Tensor y = empty(out_shape(x, w.oh, w.ow), options_of(x));
    Tensor idx = empty(y.shape(), {.dtype = DType::int64, .device = x.device()});
    kernels::max_pool2d(x, y, idx, {w.kh, w.kw, w.sh, w.sw, w.ph, w.pw});
    return record("max_pool2d", y, {x}, {}, [idx, xs = x.shape()](const Tensor& g, const BackwardArgs&) {
      return grads(plane_scatter(g, idx, xs));
    });
  });
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dOptions& opt) {
  return with_batch(x_in, [&](const Tensor& x) {
    const Window w = pool_window("avg_pool2d", x, opt);
    return resample(x, make_plan("avg_pool2d", "avg_pool2d_backward",
                                 avg_taps(x.size(2), w.oh, w.kh, w.sh, w.ph, opt.count_include_pad),
                                 avg_taps(x.size(3), w.ow, w.kw, w.sw, w.pw, opt.count_include_pad)));
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x_in, std::pair<std::int64_t, std::int64_t> size) {
  return with_batch(x_in, [&](const Tensor& x) {
    check_input("adaptive_avg_pool2d", x);
    check_output_size("adaptive_avg_pool2d", size);
    return resample(x, make_plan("adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
                                 adaptive_taps(x.size(2), size.first), adaptive_taps(x.size(3), size.second)));
  });
}

Tensor upsample_nearest2d(const Tensor& x_in, std::pair<std::int64_t, std::int64_t> size) {
  return with_batch(x_in, [&](const Tensor& x) {
    check_input("upsample_nearest2d", x);
    check_output_size("upsample_nearest2d", size);
    return resample(x, make_plan("upsample_nearest2d", "upsample_nearest2d_backward",
                                 nearest_taps(x.size(2), size.first), nearest_taps(x.size(3), size.second)));
  });
}

Tensor upsample_bilinear2d(const Tensor& x_in, std::pair<std::int64_t, std::int64_t> size, bool align_corners) {
  return with_batch(x_in, [&](const Tensor& x) {
    check_input("upsample_bilinear2d", x);
    check_output_size("upsample_bilinear2d", size);
    return resample(x, make_plan("upsample_bilinear2d", "upsample_bilinear2d_backward",
                                 bilinear_taps(x.size(2), size.first, align_corners),
                                 bilinear_taps(x.size(3), size.second, align_corners)));
  });
}

}  // namespace lumen
