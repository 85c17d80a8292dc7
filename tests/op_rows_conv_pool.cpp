// Op table rows: conv2d, conv1d, conv_transpose2d, pooling and upsampling (CPU-only kernel families so far).
// The rows on the bigger shapes check first derivatives over the options; small "second order" rows
// check the double backward.
#include "autograd/ops.h"
#include "tests/op_table.h"

namespace lumen::testing {

namespace {
using V = std::vector<Tensor>;

Conv2dOptions opts(std::int64_t s, std::int64_t p, std::int64_t d = 1, std::int64_t groups = 1, std::int64_t op = 0) {
  return {.stride = {s, s}, .padding = {p, p}, .dilation = {d, d}, .groups = groups, .output_padding = {op, op}};
}
Fn conv(Conv2dOptions o) {
  return [o](const V& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o); };
}
Fn tconv(Conv2dOptions o) {
  return [o](const V& v) { return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o); };
}

std::vector<OpRow> conv_rows() {
  const Shape x = {2, 3, 5, 5}, w = {4, 3, 3, 3}, b = {4};
  const Conv2dOptions asym{.stride = {2, 1}, .padding = {0, 1}, .dilation = {1, 2}};
  const Derivative first = Derivative::first;
  return {
      {.name = "conv2d", .fn = conv(opts(1, 0)), .inputs = {in(x), in(w), in(b)}, .derivative = first},
      {.name = "conv2d stride 2 padding 1", .fn = conv(opts(2, 1)), .inputs = {in(x), in(w), in(b)}, .derivative = first},
      {.name = "conv2d padding 2 dilation 2", .fn = conv(opts(1, 2, 2)), .inputs = {in(x), in(w)}, .derivative = first},
      {.name = "conv2d asymmetric stride, padding, dilation", .fn = conv(asym), .inputs = {in(x), in(w), in(b)},
       .derivative = first},
      {.name = "conv2d groups 3", .fn = conv(opts(1, 1, 1, 3)), .inputs = {in({2, 6, 4, 5}), in({3, 2, 2, 3})},
       .derivative = first},
      {.name = "conv2d pointwise (1x1)", .fn = conv(opts(1, 0)), .inputs = {in(x), in({5, 3, 1, 1}), in({5})},
       .derivative = first},
      {.name = "conv2d 1x1, padding beyond the kernel's reach", .fn = conv(opts(1, 1)), .inputs = {in(x), in({5, 3, 1, 1})},
       .derivative = first},
      {.name = "conv2d 1x1 groups 3", .fn = conv(opts(1, 0, 1, 3)), .inputs = {in({2, 6, 3, 3}), in({6, 2, 1, 1})},
       .derivative = first},
      {.name = "conv2d of an NHWC input and a transposed weight",
       .fn = [](const V& v) { return conv2d(v[0].permute({0, 3, 1, 2}), v[1].transpose(0, 1), {}, opts(1, 1)); },
       .inputs = {in({2, 5, 4, 3}), in({3, 4, 3, 3})}, .derivative = first},
      {.name = "conv2d of a slice with a step", .fn = [](const V& v) { return conv2d(slice(v[0], 2, 0, 7, 2), v[1]); },
       .inputs = {in({1, 3, 7, 4}), in(w)}, .derivative = first},
      {.name = "conv2d of a 3-D input", .fn = conv(opts(1, 1)), .inputs = {in({3, 4, 4}), in(w), in(b)},
       .derivative = first},
      {.name = "conv2d, second order", .fn = conv(opts(1, 1)), .inputs = {in({2, 2, 4, 4}), in({3, 2, 3, 3}), in({3})}},
      {.name = "conv2d stride 2 dilation 2, second order", .fn = conv(opts(2, 1, 2)),
       .inputs = {in({2, 2, 4, 4}), in({3, 2, 3, 3})}},
      {.name = "conv2d groups 2, second order", .fn = conv(opts(1, 0, 1, 2)), .inputs = {in({1, 4, 3, 3}), in({2, 2, 2, 2})}},
      {.name = "tanh of a conv2d (curvature)", .fn = [](const V& v) { return tanh(conv2d(v[0], v[1])); },
       .inputs = {in({2, 2, 4, 4}), in({3, 2, 3, 3})}},

      // conv1d: a composite over conv2d on [N, C, 1, L]
      {.name = "conv1d stride 2 padding 1 groups 2",
       .fn = [](const V& v) { return conv1d(v[0], v[1], v[2], {.stride = 2, .padding = 1, .groups = 2}); },
       .inputs = {in({2, 4, 7}), in({6, 2, 3}), in({6})}, .derivative = first},
      {.name = "conv1d of an NLC input (transposed), padding 2 dilation 2",
       .fn = [](const V& v) { return conv1d(v[0].transpose(1, 2), v[1], {}, {.padding = 2, .dilation = 2}); },
       .inputs = {in({2, 6, 3}), in({4, 3, 2})}, .derivative = first},
      {.name = "conv1d, second order", .fn = [](const V& v) { return conv1d(v[0], v[1], v[2], {.padding = 1}); },
       .inputs = {in({2, 2, 5}), in({3, 2, 3}), in({3})}},

      {.name = "conv_transpose2d", .fn = tconv(opts(1, 0)), .inputs = {in({2, 4, 3, 3}), in(w), in({3})}, .derivative = first},
      {.name = "conv_transpose2d stride 2 padding 1 output_padding 1", .fn = tconv(opts(2, 1, 1, 1, 1)),
       .inputs = {in({2, 4, 3, 3}), in(w), in({3})}, .derivative = first},
      {.name = "conv_transpose2d padding 1 dilation 2", .fn = tconv(opts(1, 1, 2)), .inputs = {in({2, 4, 3, 3}), in(w)},
       .derivative = first},
      {.name = "conv_transpose2d output_padding >= stride", .fn = tconv(opts(1, 0, 3, 1, 2)),
       .inputs = {in({2, 4, 3, 3}), in({4, 3, 2, 2})}, .derivative = first},
      {.name = "conv_transpose2d stride 2 groups 2", .fn = tconv(opts(2, 0, 1, 2)),
       .inputs = {in({2, 4, 3, 3}), in({4, 2, 2, 3}), in({4})}, .derivative = first},
      {.name = "conv_transpose2d of an NHWC input",
       .fn = [](const V& v) { return conv_transpose2d(v[0].permute({0, 3, 1, 2}), v[1], {}, opts(2, 0)); },
       .inputs = {in({1, 3, 3, 4}), in(w)}, .derivative = first},
      {.name = "conv_transpose2d, second order", .fn = tconv(opts(2, 1, 1, 1, 1)),
       .inputs = {in({1, 3, 3, 3}), in({3, 2, 3, 3}), in({2})}},
      {.name = "conv_transpose2d dilation 2 groups 3, second order", .fn = tconv(opts(1, 0, 2, 3)),
       .inputs = {in({1, 3, 3, 3}), in({3, 1, 2, 2})}},
  };
}

Pool2dOptions pool(std::int64_t k, std::optional<std::int64_t> s = {}, std::int64_t p = 0, bool ceil_mode = false,
                   bool count_include_pad = true) {
  return {.kernel = {k, k},
          .stride = s ? std::optional{std::pair{*s, *s}} : std::nullopt,
          .padding = {p, p},
          .ceil_mode = ceil_mode,
          .count_include_pad = count_include_pad};
}

std::vector<OpRow> pool_rows() {
  const Shape x = {2, 2, 5, 6}, nhwc = {2, 5, 6, 2}, small = {1, 2, 4, 5};
  const Derivative first = Derivative::first;
  std::vector<OpRow> rows;
  const Pool2dOptions rect{.kernel = {2, 3}, .stride = std::pair<std::int64_t, std::int64_t>{1, 2}, .padding = {1, 0}};
  const std::pair<const char*, Pool2dOptions> windows[] = {{"kernel 2", pool(2)},
                                                           {"kernel 3 stride 2 padding 1", pool(3, 2, 1)},
                                                           {"kernel 3 stride 2 ceil_mode", pool(3, 2, 0, true)},
                                                           {"kernel 2 stride 1", pool(2, 1)},
                                                           {"kernel 2x3 stride 1x2 padding 1x0", rect}};
  for (const auto& [label, o] : windows) {
    Pool2dOptions no_pad = o;
    no_pad.count_include_pad = false;
    const std::string l = label;
    rows.push_back({.name = "max_pool2d " + l, .fn = [o](const V& v) { return max_pool2d(v[0], o); },
                    .inputs = {in(x)}, .derivative = first});
    rows.push_back({.name = "avg_pool2d " + l, .fn = [o](const V& v) { return avg_pool2d(v[0], o); },
                    .inputs = {in(x)}, .derivative = first});
    rows.push_back({.name = "avg_pool2d " + l + ", padding not counted",
                    .fn = [no_pad](const V& v) { return avg_pool2d(v[0], no_pad); }, .inputs = {in(x)},
                    .derivative = first});
  }
  rows.push_back({.name = "avg_pool2d kernel 3 stride 2 padding 1 ceil_mode, padding not counted",
                  .fn = [](const V& v) { return avg_pool2d(v[0], pool(3, 2, 1, true, false)); }, .inputs = {in(x)},
                  .derivative = first});
  for (auto [h, w] : {std::pair<std::int64_t, std::int64_t>{3, 4}, {1, 1}, {7, 9}}) {
    const std::string size = " to " + std::to_string(h) + "x" + std::to_string(w);
    rows.push_back({.name = "adaptive_avg_pool2d" + size,
                    .fn = [h, w](const V& v) { return adaptive_avg_pool2d(v[0], {h, w}); }, .inputs = {in(x)},
                    .derivative = first});
    rows.push_back({.name = "upsample_bilinear2d align_corners" + size,
                    .fn = [h, w](const V& v) { return upsample_bilinear2d(v[0], {h, w}, true); }, .inputs = {in(x)},
                    .derivative = first});
    rows.push_back({.name = "upsample_bilinear2d" + size,
                    .fn = [h, w](const V& v) { return upsample_bilinear2d(v[0], {h, w}, false); }, .inputs = {in(x)},
                    .derivative = first});
  }
  // whole factors (10x12, 15x6, 5x18) take the plain-copy path (kernels/cpu/pool.cpp: Resampler::repeat_factor)
  for (auto [h, w] : {std::pair<std::int64_t, std::int64_t>{3, 4}, {1, 1}, {7, 9}, {10, 12}, {15, 6}, {5, 18}})
    rows.push_back({.name = "upsample_nearest2d to " + std::to_string(h) + "x" + std::to_string(w),
                    .fn = [h, w](const V& v) { return upsample_nearest2d(v[0], {h, w}); }, .inputs = {in(x)},
                    .derivative = first});
  const std::vector<OpRow> layouts = {
      {.name = "max_pool2d of an NHWC input", .fn = [](const V& v) { return max_pool2d(v[0].permute({0, 3, 1, 2}), pool(2)); },
       .inputs = {in(nhwc)}, .derivative = first},
      {.name = "avg_pool2d of a slice with a step",
       .fn = [](const V& v) { return avg_pool2d(slice(v[0], 3, 0, 6, 2), pool(2, 1)); }, .inputs = {in(x)},
       .derivative = first},
      {.name = "upsample_bilinear2d of an NHWC input",
       .fn = [](const V& v) { return upsample_bilinear2d(v[0].permute({0, 3, 1, 2}), {7, 4}); }, .inputs = {in(nhwc)},
       .derivative = first},
      {.name = "adaptive_avg_pool2d of a 3-D input", .fn = [](const V& v) { return adaptive_avg_pool2d(v[0].select(0, 1), {2, 4}); },
       .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 0, 5, 6}}, .output = {0, 2, 4}}, .derivative = first},
      // double backward: max pooling's scatter and gather, and the linear maps' adjoints
      {.name = "max_pool2d, second order", .fn = [](const V& v) { return max_pool2d(v[0], pool(2, 1)); },
       .inputs = {in(small)}},
      {.name = "avg_pool2d, second order", .fn = [](const V& v) { return avg_pool2d(v[0], pool(3, 2, 1, true, false)); },
       .inputs = {in(small)}},
      {.name = "adaptive_avg_pool2d, second order", .fn = [](const V& v) { return adaptive_avg_pool2d(v[0], {3, 2}); },
       .inputs = {in(small)}},
      {.name = "upsample_nearest2d, second order", .fn = [](const V& v) { return upsample_nearest2d(v[0], {5, 7}); },
       .inputs = {in(small)}},
      {.name = "upsample_nearest2d whole factors, second order",
       .fn = [](const V& v) { return upsample_nearest2d(v[0], {8, 10}); }, .inputs = {in(small)}},
      {.name = "upsample_bilinear2d, second order", .fn = [](const V& v) { return upsample_bilinear2d(v[0], {6, 3}, false); },
       .inputs = {in(small)}},
      {.name = "upsample_bilinear2d align_corners, second order",
       .fn = [](const V& v) { return upsample_bilinear2d(v[0], {5, 7}, true); }, .inputs = {in(small)},
       .derivative = Derivative::second_of_square},
  };
  rows.insert(rows.end(), layouts.begin(), layouts.end());
  return rows;
}

}  // namespace

std::vector<OpRow> conv_pool_rows() {
  std::vector<OpRow> rows = conv_rows();
  for (OpRow& r : pool_rows()) rows.push_back(std::move(r));
  for (OpRow& r : rows) r.cuda = Cuda::none;
  return rows;
}

}  // namespace lumen::testing
