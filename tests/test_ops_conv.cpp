// conv2d and conv_transpose2d: hand-computed values, a direct-loop reference over a grid of options
// (both dtypes, so the threaded im2col/GEMM paths are covered), deterministic and batch-split
// gradients, errors. Gradchecks and double backward over the options: the op table (tests/op_rows_conv_pool.cpp).
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

namespace {

Conv2dOptions opts(std::int64_t s, std::int64_t p, std::int64_t d = 1, std::int64_t groups = 1, std::int64_t op = 0) {
  Conv2dOptions o;
  o.stride = {s, s};
  o.padding = {p, p};
  o.dilation = {d, d};
  o.groups = groups;
  o.output_padding = {op, op};
  return o;
}

// The definition, as seven loops: y[n, o, oh, ow] = b[o] + sum w[o, c, i, j] x[n, g*Cg + c, oh*s - p + i*d, ...].
std::vector<double> naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o) {
  auto X = x.to_vector<double>(), Wt = w.to_vector<double>();
  auto B = b.defined() ? b.to_vector<double>() : std::vector<double>(w.size(0), 0.0);
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(0), Cg = w.size(1),
                     kh = w.size(2), kw = w.size(3), Og = O / o.groups;
  const auto [sh, sw] = o.stride;
  const auto [ph, pw] = o.padding;
  const auto [dh, dw] = o.dilation;
  const std::int64_t OH = (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1, OW = (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  std::vector<double> y(N * O * OH * OW);
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t oc = 0; oc < O; ++oc)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          double s = B[oc];
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t ih = oh * sh - ph + i * dh, iw = ow * sw - pw + j * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += Wt[((oc * Cg + c) * kh + i) * kw + j] * X[((n * C + oc / Og * Cg + c) * H + ih) * W + iw];
              }
          y[((n * O + oc) * OH + oh) * OW + ow] = s;
        }
  return y;
}

// Transposed convolution by its definition: every input pixel scatters weight * value onto the output.
std::vector<double> naive_conv_transpose2d(const Tensor& x, const Tensor& w, const Conv2dOptions& o) {
  auto X = x.to_vector<double>(), Wt = w.to_vector<double>();
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), Og = w.size(1), kh = w.size(2),
                     kw = w.size(3), O = Og * o.groups, Cg = C / o.groups;
  const auto [sh, sw] = o.stride;
  const auto [ph, pw] = o.padding;
  const auto [dh, dw] = o.dilation;
  const std::int64_t OH = (H - 1) * sh - 2 * ph + dh * (kh - 1) + o.output_padding.first + 1;
  const std::int64_t OW = (W - 1) * sw - 2 * pw + dw * (kw - 1) + o.output_padding.second + 1;
  std::vector<double> y(N * O * OH * OW, 0.0);
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t v = 0; v < W; ++v)
          for (std::int64_t oc = 0; oc < Og; ++oc)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t oh = h * sh - ph + i * dh, ow = v * sw - pw + j * dw;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                y[((n * O + c / Cg * Og + oc) * OH + oh) * OW + ow] +=
                    X[((n * C + c) * H + h) * W + v] * Wt[((c * Og + oc) * kh + i) * kw + j];
              }
  return y;
}

Tensor ramp(std::int64_t n, const Shape& shape) { return arange(n, {.dtype = DType::float64}).reshape(shape) + 1.0; }

}  // namespace

TEST_SUITE("conv") {
  TEST_CASE("conv2d's weight gradient is the same on every run (a resumed training run must match)") {
    // Threads sum fixed chunks of the batch; their partial sums are added in a fixed order.
    Generator g(5);
    Tensor x = randn({64, 8, 14, 14}, {}, &g), w = randn({16, 8, 3, 3}, {}, &g).requires_grad_();
    Tensor gy = randn({64, 16, 14, 14}, {}, &g);
    auto dw = [&] { return autograd::grad({conv2d(x, w, {}, {.padding = {1, 1}})}, {w}, {gy})[0]; };
    const std::vector<float> first = dw().to_vector<float>();
    for (int run = 0; run < 3; ++run) CHECK(dw().to_vector<float>() == first);
  }

  TEST_CASE("conv2d known values") {
    Tensor x = ramp(9, {1, 1, 3, 3});  // 1..9
    Tensor w = f64({1, 2, 3, 4}, {1, 1, 2, 2});
    CHECK_VALUES(conv2d(x, w), {37, 47, 67, 77});  // e.g. 1*1 + 2*2 + 3*4 + 4*5
    CHECK_VALUES(conv2d(x, w, f64({1}, {1})), {38, 48, 68, 78});
    // stride 2, padding 1: the four windows start at (-1, -1), (-1, 1), (1, -1), (1, 1)
    CHECK_VALUES(conv2d(x, w, {}, opts(2, 1)), {4, 2 * 3 + 3 * 4, 4 * 2 + 7 * 4, 77});
    // dilation 2: the taps are the four corners
    CHECK_VALUES(conv2d(x, w, {}, opts(1, 0, 2)), {1 * 1 + 3 * 2 + 7 * 3 + 9 * 4});
    // asymmetric stride and padding: stride (1, 2), padding (0, 1) -> 2 x 2 outputs
    Conv2dOptions o;
    o.stride = {1, 2};
    o.padding = {0, 1};
    CHECK_VALUES(conv2d(x, w, {}, o), {2 * 1 + 4 * 4, 2 + 2 * 3 + 3 * 5 + 4 * 6, 2 * 4 + 4 * 7, 5 + 2 * 6 + 3 * 8 + 4 * 9});
    // groups = 2: channel 0 (1..4) meets weight 0, channel 1 (5..8) meets weight 1
    Tensor x2 = ramp(8, {1, 2, 2, 2});
    CHECK_VALUES(conv2d(x2, f64({1, 1, 1, 1, 1, 0, 0, 1}, {2, 1, 2, 2}), {}, opts(1, 0, 1, 2)), {10, 5 + 8});
    // 1x1 with groups = 2 (the no-im2col path): two outputs per group
    CHECK_VALUES(conv2d(x2, f64({1, 2, 3, -1}, {4, 1, 1, 1}), {}, opts(1, 0, 1, 2)),
                 {1, 2, 3, 4, 2, 4, 6, 8, 15, 18, 21, 24, -5, -6, -7, -8});
    // a 3-D input is one image
    CHECK(conv2d(ramp(9, {1, 3, 3}), w).shape() == Shape{1, 2, 2});
    CHECK_VALUES(conv2d(ramp(9, {1, 3, 3}), w), {37, 47, 67, 77});
  }

  TEST_CASE("conv_transpose2d known values") {
    Tensor x = ramp(4, {1, 1, 2, 2});  // 1..4
    Tensor w = f64({1, 2, 3, 4}, {1, 1, 2, 2});
    // each input pixel adds value * w at its position; overlaps sum
    CHECK_VALUES(conv_transpose2d(x, w), {1, 4, 4, 6, 20, 16, 9, 24, 16});
    // stride 2: the 2x2 blocks tile the 4x4 output
    Tensor y = conv_transpose2d(x, w, {}, opts(2, 0));
    CHECK(y.shape() == Shape{1, 1, 4, 4});
    CHECK_VALUES(y, {1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16});
    // padding 1 crops one pixel on every side; output_padding 1 adds a row and column at the end
    CHECK_VALUES(conv_transpose2d(x, w, {}, opts(2, 1)), {4, 6, 6, 4});
    Tensor z = conv_transpose2d(x, w, f64({10}, {1}), opts(2, 1, 1, 1, 1));
    CHECK(z.shape() == Shape{1, 1, 3, 3});
    CHECK_VALUES(z, {14, 16, 18, 16, 14, 18, 22, 22, 26});
  }

  TEST_CASE("conv2d matches the direct loops over a grid of options, float64 and float32") {
    Generator gen(7);
    struct Case {
      Shape x, w;
      Conv2dOptions o;
    };
    Conv2dOptions same_w;  // "same" along w only: the shifted-copy im2col with rows cut at the top and bottom
    same_w.padding = {0, 1};
    Conv2dOptions wide;
    wide.stride = {2, 1};
    wide.padding = {0, 2};
    wide.dilation = {1, 3};
    std::vector<Case> cases = {
        {{3, 4, 9, 8}, {6, 4, 3, 3}, opts(1, 1)},        {{3, 4, 9, 8}, {6, 4, 3, 3}, opts(2, 0)},
        {{3, 4, 9, 8}, {6, 4, 3, 2}, opts(2, 2, 2)},     {{3, 4, 9, 8}, {6, 2, 3, 3}, opts(1, 1, 1, 2)},
        {{3, 4, 9, 8}, {4, 1, 2, 2}, opts(1, 0, 1, 4)},  {{3, 4, 9, 8}, {5, 4, 1, 1}, opts(1, 0)},
        {{3, 4, 9, 8}, {6, 2, 1, 1}, opts(1, 0, 1, 2)},  {{3, 4, 9, 8}, {6, 4, 1, 1}, opts(2, 1)},
        {{3, 4, 9, 8}, {6, 4, 3, 3}, wide},              {{3, 4, 9, 8}, {6, 4, 3, 3}, same_w},
        {{3, 4, 9, 8}, {6, 4, 5, 3}, opts(1, 2, 1)},              {{1, 3, 6, 5}, {4, 3, 5, 5}, opts(3, 2)},
        {{2, 4, 5, 5}, {6, 4, 5, 5}, opts(1, 0)},        {{3, 16, 15, 14}, {24, 8, 3, 3}, opts(1, 1, 1, 2)},
    };
    // Convolutions along a row (H = 1, 1×k kernels: conv1d), which the packed float path computes tap by
    // tap straight from the input, channels-first or channels-last (kernels/cpu/conv.cpp: row_taps).
    auto along_w = [](std::int64_t pad, std::int64_t dil, std::int64_t groups) {
      Conv2dOptions o;
      o.padding = {0, pad};
      o.dilation = {1, dil};
      o.groups = groups;
      return o;
    };
    cases.push_back({{3, 8, 1, 20}, {6, 8, 1, 3}, along_w(0, 1, 1)});
    cases.push_back({{3, 8, 1, 20}, {5, 8, 1, 4}, along_w(2, 1, 1)});
    cases.push_back({{2, 8, 1, 17}, {6, 4, 1, 3}, along_w(1, 2, 2)});
    cases.push_back({{4, 64, 1, 40}, {50, 64, 1, 2}, along_w(0, 1, 1)});
    cases.push_back({{2, 3, 1, 5}, {4, 3, 1, 5}, along_w(4, 1, 1)});
    for (const Case& c : cases) {
      Tensor x = randn(c.x, {.dtype = DType::float64}, &gen), w = randn(c.w, {.dtype = DType::float64}, &gen);
      Tensor b = randn({c.w[0]}, {.dtype = DType::float64}, &gen);
      INFO("x " << c.x << " w " << c.w);
      std::vector<double> want = naive_conv2d(x, w, b, c.o);
      CHECK(allclose(conv2d(x, w, b, c.o), want, 1e-12));
      CHECK(allclose(conv2d(x.to(DType::float32), w.to(DType::float32), b.to(DType::float32), c.o), want, 1e-4));
      // the same convolution read through a transposed (non-contiguous, channels-last) input layout
      auto channels_last = [](const Tensor& t) { return t.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2}); };
      CHECK(allclose(conv2d(channels_last(x), w, b, c.o), want, 1e-12));
      CHECK(allclose(conv2d(channels_last(x.to(DType::float32)), w.to(DType::float32), b.to(DType::float32), c.o), want, 1e-4));
    }
  }

  TEST_CASE("batch split across threads: same gradients as one image at a time") {
    // Big enough for the kernels to split the batch across threads (odd N: uneven split); each image
    // on its own takes the single-image path, so this compares the two, forward and both gradients.
    Generator gen(9);
    struct Case {
      Shape x, w;
      Conv2dOptions o;
    };
    std::vector<Case> cases = {{{5, 16, 14, 13}, {16, 16, 3, 3}, opts(1, 1)},
                               {{5, 16, 16, 15}, {16, 8, 3, 3}, opts(1, 1, 1, 2)},
                               {{5, 64, 14, 13}, {32, 64, 1, 1}, opts(1, 0)},
                               {{5, 16, 17, 15}, {16, 16, 3, 3}, opts(2, 2, 2)}};
    for (const Case& c : cases)
      for (DType dt : {DType::float64, DType::float32}) {
        INFO("x " << c.x << " w " << c.w << " " << dtype_name(dt));
        Tensor x = randn(c.x, {.dtype = dt}, &gen).requires_grad_(), w = randn(c.w, {.dtype = dt}, &gen).requires_grad_();
        Tensor y = conv2d(x, w, {}, c.o);
        Tensor gy = randn(y.shape(), {.dtype = dt}, &gen);
        std::vector<Tensor> g = autograd::grad({y}, {x, w}, {gy});
        Tensor dw = zeros(c.w, {.dtype = DType::float64});
        for (std::int64_t n = 0; n < c.x[0]; ++n) {
          Tensor xn = x.narrow(0, n, 1), gn = gy.narrow(0, n, 1);
          Tensor yn = conv2d(xn, w, {}, c.o);
          std::vector<Tensor> gi = autograd::grad({yn}, {xn, w}, {gn});
          const double tol = dt == DType::float64 ? 1e-12 : 1e-4;
          CHECK(allclose(y.narrow(0, n, 1), yn.to_vector<double>(), tol));
          CHECK(allclose(g[0].narrow(0, n, 1), gi[0].to_vector<double>(), tol));
          dw = dw + gi[1].to(DType::float64);
        }
        CHECK(allclose(g[1], dw.to_vector<double>(), dt == DType::float64 ? 1e-12 : 1e-4));
      }
  }

  TEST_CASE("float32 along a row (conv1d's form), channels-first and channels-last: gradients as float64") {
    // The packed float path convolves a 1×k kernel along a row tap by tap, from the input in place; the
    // input gradient runs the same path with padding (the flipped kernel), the weight gradient tap by tap.
    // A channels-last input without padding is batched across images instead, 13 images of 37 a block
    // (kernels/cpu/conv.cpp: batched_rows): 5 images are one block; 60 are five, the last ragged, and the
    // weight gradient's 4 chunks of 15 images two blocks each. With padding, the channels-last input
    // gradient is computed dense and copied into its layout.
    Generator gen(13);
    for (std::int64_t N : {5, 60})
      for (std::int64_t pad : {0, 1})
        for (bool channels_last : {false, true}) {
          Conv2dOptions o;
          o.padding = {0, pad};
          Tensor x = randn({N, 64, 1, 37}, {.dtype = DType::float64}, &gen);
          Tensor w = mul(randn({50, 64, 1, 4}, {.dtype = DType::float64}, &gen), 0.1);
          Tensor b = randn({50}, {.dtype = DType::float64}, &gen);
          Tensor gy = randn({N, 50, 1, 34 + 2 * pad}, {.dtype = DType::float64}, &gen);
          auto run = [&](DType dt) {
            Tensor xd = x.to(dt), wd = w.to(dt).detach().requires_grad_();
            if (channels_last) xd = xd.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
            xd = xd.detach().requires_grad_();
            CHECK(xd.is_contiguous() != channels_last);
            Tensor y = conv2d(xd, wd, b.to(dt), o);
            std::vector<Tensor> g = autograd::grad({y}, {xd, wd}, {gy.to(dt)});
            // the input gradient comes in the input's layout (channels-last: what the transpose back finds contiguous)
            CHECK(g[0].stride(1) == (channels_last ? 1 : 37));
            return std::vector<Tensor>{y, g[0], g[1]};
          };
          const std::vector<Tensor> want = run(DType::float64), got = run(DType::float32);
          for (int i = 0; i < 3; ++i) {
            INFO("output " << i << " N " << N << " padding " << pad << (channels_last ? " channels-last" : " channels-first"));
            CHECK(allclose(got[i], want[i].to_vector<double>(), 1e-4));
            // float64 against the direct loops too: the float64 kernels share none of the float path
            if (i == 0) CHECK(allclose(want[0], naive_conv2d(x, w, b, o), 1e-12));
          }
        }
  }

  TEST_CASE("float32 through the packed GEMM, im2col in several chunks: same as float64") {
    // K = 48 * 9 = 432 rows of im2col at 28x28 is more than one chunk (kernels/cpu/conv.cpp: tap_chunk),
    // and O = 20 leaves a ragged GEMM panel: forward, input and weight gradients against float64.
    Generator gen(11);
    for (const Conv2dOptions& o : {opts(1, 1), opts(2, 1)}) {
      Tensor x = randn({3, 48, 28, 28}, {.dtype = DType::float64}, &gen), w = mul(randn({20, 48, 3, 3}, {.dtype = DType::float64}, &gen), 0.1);
      Tensor b = randn({20}, {.dtype = DType::float64}, &gen);
      auto run = [&](DType dt) {
        Tensor xd = x.to(dt).detach().requires_grad_(), wd = w.to(dt).detach().requires_grad_();
        Tensor bd = b.to(dt).detach().requires_grad_();
        Tensor y = conv2d(xd, wd, bd, o);
        std::vector<Tensor> g = autograd::grad({y}, {xd, wd}, {ones(y.shape(), {.dtype = dt})});
        return std::vector<Tensor>{y, g[0], g[1]};
      };
      const std::vector<Tensor> want = run(DType::float64), got = run(DType::float32);
      for (int i = 0; i < 3; ++i) {
        INFO("output " << i << " stride " << o.stride.first);
        CHECK(allclose(got[i], want[i].to_vector<double>(), 1e-4));
      }
    }
  }

  TEST_CASE("conv_transpose2d matches the direct loops") {
    Generator gen(8);
    struct Case {
      Shape x, w;
      Conv2dOptions o;
    };
    std::vector<Case> cases = {
        {{2, 4, 5, 4}, {4, 3, 3, 3}, opts(1, 0)},       {{2, 4, 5, 4}, {4, 3, 3, 3}, opts(2, 1, 1, 1, 1)},
        {{2, 4, 5, 4}, {4, 2, 3, 2}, opts(2, 0, 2, 2)}, {{2, 4, 5, 4}, {4, 3, 2, 2}, opts(1, 0, 3, 1, 2)},
        {{2, 4, 5, 4}, {4, 5, 1, 1}, opts(1, 0)},       {{3, 2, 4, 4}, {2, 3, 4, 4}, opts(2, 1)},
    };
    for (const Case& c : cases) {
      Tensor x = randn(c.x, {.dtype = DType::float64}, &gen), w = randn(c.w, {.dtype = DType::float64}, &gen);
      INFO("x " << c.x << " w " << c.w);
      std::vector<double> want = naive_conv_transpose2d(x, w, c.o);
      CHECK(allclose(conv_transpose2d(x, w, {}, c.o), want, 1e-12));
      CHECK(allclose(conv_transpose2d(x.to(DType::float32), w.to(DType::float32), {}, c.o), want, 1e-4));
    }
  }

  // Issue 12, item 2: as PyTorch, only the batch may be empty. conv_transpose2d of an input of height
  // 0 passed the checks before and reached a division by its (zero) output area.
  TEST_CASE("empty inputs: a batch of 0 gives an empty result, an empty image is an error") {
    Tensor w = ones({4, 3, 3, 3}, {.requires_grad = true});
    Tensor y = conv2d(zeros({0, 3, 5, 5}), w, ones({4}));
    CHECK(y.shape() == Shape{0, 4, 3, 3});
    y.sum().backward();
    CHECK(w.grad().to_vector<float>() == std::vector<float>(108, 0.f));
    // an empty batch of channels-last sentences (the batched text path), gradients included
    Tensor e = zeros({0, 7, 3}, {.requires_grad = true}), wt = ones({4, 3, 2}, {.requires_grad = true});
    Tensor yt = conv1d(transpose(e, 1, 2), wt, ones({4}));
    CHECK(yt.shape() == Shape{0, 4, 6});
    yt.sum().backward();
    CHECK(wt.grad().to_vector<float>() == std::vector<float>(24, 0.f));
    CHECK(e.grad().shape() == Shape{0, 7, 3});
    CHECK(conv_transpose2d(zeros({0, 4, 3, 3}), ones({4, 2, 3, 3})).shape() == Shape{0, 2, 5, 5});
    CHECK_THROWS_WITH_AS(conv_transpose2d(zeros({1, 1, 0, 3}), ones({1, 1, 3, 3})),
                         Catch("conv_transpose2d: expected non-zero channels, height and width (only the batch may be 0), "
                               "got input [1, 1, 0, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(zeros({1, 0, 5, 5}), ones({4, 0, 3, 3})), Catch("conv2d: expected non-zero channels"),
                         Error);
  }

  TEST_CASE("errors") {
    Tensor x = ones({2, 4, 8, 8});
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 3, 3, 3})),
                         Catch("conv2d: input [2, 4, 8, 8] has 4 channels but weight [8, 3, 3, 3] with groups=1 expects 3"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 3, 3, 3}), {}, opts(1, 0, 1, 2)),
                         Catch("conv2d: input [2, 4, 8, 8] has 4 channels but weight [8, 3, 3, 3] with groups=2 expects 6"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(ones({1, 3, 8, 8}), ones({4, 1, 3, 3}), {}, opts(1, 0, 1, 3)),
                         Catch("conv2d: weight [4, 1, 3, 3] has 4 output channels, not divisible by groups=3"), Error);
    CHECK_THROWS_WITH_AS(conv2d(ones({4, 8}), ones({8, 3, 3, 3})),
                         Catch("conv2d: expected a 4-D input [N, C, H, W] (or 3-D [C, H, W]), got shape [4, 8]"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 4, 3})), Catch("conv2d: expected a 4-D weight, got shape [8, 4, 3]"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 4, 3, 3}), ones({4})), Catch("conv2d: expected a bias of shape [8], got [4]"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 4, 3, 3}), {}, opts(0, 0)),
                         Catch("conv2d: expected a positive stride, got (0, 0)"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 4, 3, 3}), {}, opts(1, -1)),
                         Catch("conv2d: expected a non-negative padding, got (-1, -1)"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 4, 3, 3}), {}, opts(1, 0, 0)),
                         Catch("conv2d: expected a positive dilation"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 4, 3, 3}), {}, opts(1, 0, 1, 0)), Catch("conv2d: expected groups > 0, got 0"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(ones({1, 1, 2, 2}), ones({1, 1, 3, 3})),
                         Catch("conv2d: input [1, 1, 2, 2] with padding (0, 0) is smaller than the kernel [1, 1, 3, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(ones({1, 1, 5, 5}), ones({1, 1, 3, 3}), {}, opts(1, 0, 3)),
                         Catch("smaller than the kernel [1, 1, 3, 3] with dilation (3, 3)"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, ones({8, 4, 3, 3}, {.dtype = DType::float64})),
                         Catch("conv2d: expected tensors of the same dtype and device, got float32 on cpu and float64"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(zeros({1, 1, 3, 3}, {.dtype = DType::int64}), zeros({1, 1, 1, 1}, {.dtype = DType::int64})),
                         Catch("conv2d: expected a floating input (float32 or float64), got int64"), Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x, ones({3, 2, 3, 3})),
                         Catch("conv_transpose2d: input [2, 4, 8, 8] has 4 channels but weight [3, 2, 3, 3] expects 3"),
                         Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x, ones({4, 2, 3, 3}), {}, opts(1, 0, 1, 3)),
                         Catch("conv_transpose2d: input [2, 4, 8, 8] has 4 channels, not divisible by groups=3"), Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x, ones({4, 2, 3, 3}), {}, opts(2, 0, 1, 1, 2)),
                         Catch("conv_transpose2d: output_padding (2, 2) must be non-negative and smaller than either "
                               "stride or dilation"),
                         Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x, ones({4, 2, 3, 3}), ones({3}), opts(1, 0, 1, 2)),
                         Catch("conv_transpose2d: expected a bias of shape [4], got [3]"), Error);  // O = 2 * groups
    CHECK_THROWS_WITH_AS(conv_transpose2d(ones({1, 1, 2, 2}), ones({1, 1, 2, 2}), {}, opts(1, 2)),
                         Catch("conv_transpose2d: input [1, 1, 2, 2] with weight [1, 1, 2, 2] and padding (2, 2) gives "
                               "an empty output of size [-1, -1]"),
                         Error);
  }
}
