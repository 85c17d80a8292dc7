// Pooling and upsampling: hand-computed values (PyTorch's index formulas), cross-checks against
// convolutions on threaded sizes, errors. Gradchecks and double backward: the op table
// (tests/op_rows_conv_pool.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

namespace {

Pool2dOptions pool(std::int64_t k, std::optional<std::int64_t> s = {}, std::int64_t p = 0, bool ceil_mode = false,
                   bool count_include_pad = true) {
  Pool2dOptions o;
  o.kernel = {k, k};
  if (s) o.stride = std::pair{*s, *s};
  o.padding = {p, p};
  o.ceil_mode = ceil_mode;
  o.count_include_pad = count_include_pad;
  return o;
}

// 0, 1, ..., 15 as a 1 x 1 x 4 x 4 image
Tensor ramp4() { return arange(16, {.dtype = DType::float64}).reshape({1, 1, 4, 4}); }

}  // namespace

TEST_SUITE("pool") {
  TEST_CASE("max_pool2d known values") {
    Tensor x = ramp4();
    CHECK_VALUES(max_pool2d(x), {5, 7, 13, 15});
    // kernel 3, stride 2: one window fits; with ceil_mode a second one hangs over the edge
    CHECK_VALUES(max_pool2d(x, pool(3, 2)), {10});
    CHECK_VALUES(max_pool2d(x, pool(3, 2, 0, true)), {10, 11, 14, 15});
    // padding 1: windows start at -1, 1, 3 and the padding (-inf) never wins
    CHECK_VALUES(max_pool2d(x, pool(2, 2, 1)), {0, 2, 3, 8, 10, 11, 12, 14, 15});
    // kernel (1, 2), stride (1, 2): pairs along each row
    Pool2dOptions o;
    o.kernel = {1, 2};
    CHECK_VALUES(max_pool2d(x, o), {1, 3, 5, 7, 9, 11, 13, 15});
    CHECK(max_pool2d(x.reshape({1, 4, 4})).shape() == Shape{1, 2, 2});  // 3-D input
    // the gradient goes to the picked element only; NaN wins the max, as in PyTorch
    Tensor y = f64({1, 9, 3, 4, 5, 6, 7, 8, 2}, {1, 1, 3, 3}).requires_grad_();
    max_pool2d(y, pool(2, 1)).sum().backward();
    CHECK_VALUES(y.grad(), {0, 2, 0, 0, 0, 0, 0, 2, 0});
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(std::isnan(max_pool2d(f64({1, nan, 3, 4}, {1, 1, 2, 2})).item()));
    CHECK(std::isnan(max_pool2d(f64({1, 2, 3, nan}, {1, 1, 2, 2})).item()));  // last in the window too
    // ties: the first element of the window wins, in the 2×2 fast path as in the general one
    Tensor t = f64({5, 5, 3, 3, 1, 5, 3, 3}, {1, 1, 2, 4}).requires_grad_();
    max_pool2d(t).sum().backward();
    CHECK_VALUES(t.grad(), {1, 0, 1, 0, 0, 0, 0, 0});
  }

  TEST_CASE("max_pool2d 2x2 float32 (the vector path) picks as the float64 path, ties and NaN included") {
    // Widths 2..37 cover rows shorter than, equal to and longer than one 8-output vector, and odd
    // widths/heights whose last column/row no window reads; few levels make ties, a few NaNs.
    Generator g(7);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::int64_t w = 2; w <= 37; ++w) {
      Tensor x = randint(0, 4, {2, 3, 5, w}, kCPU, &g).to(DType::float32);
      x = where(lt(rand({2, 3, 5, w}, {}, &g), 0.05), full_like(x, nan), x);
      Tensor x32 = x.detach().requires_grad_(), x64 = x.to(DType::float64).detach().requires_grad_();
      const Tensor y32 = max_pool2d(x32), y64 = max_pool2d(x64);
      y32.sum().backward();
      y64.sum().backward();
      const auto a = y32.detach().to(DType::float64).to_vector<double>(), b = y64.detach().to_vector<double>();
      bool same = a.size() == b.size();
      for (std::size_t i = 0; same && i < a.size(); ++i) same = (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i];
      CHECK_MESSAGE(same, "width ", w);
      CHECK_MESSAGE(x32.grad().to(DType::float64).to_vector<double>() == x64.grad().to_vector<double>(), "width ", w);
    }
  }

  TEST_CASE("avg_pool2d known values") {
    Tensor x = ramp4();
    CHECK_VALUES(avg_pool2d(x), {2.5, 4.5, 10.5, 12.5});
    // padding 1: the padding counts in the divisor (4 everywhere), or only the real pixels do
    CHECK_VALUES(avg_pool2d(x, pool(2, 2, 1)), {0, 0.75, 0.75, 3, 7.5, 4.5, 3, 6.75, 3.75});
    CHECK_VALUES(avg_pool2d(x, pool(2, 2, 1, false, false)), {0, 1.5, 3, 6, 7.5, 9, 12, 13.5, 15});
    // ceil_mode: the overhanging part of the last window is never counted, even with count_include_pad
    CHECK_VALUES(avg_pool2d(x, pool(3, 2, 0, true)), {45.0 / 9, 39.0 / 6, 66.0 / 6, 50.0 / 4});
    CHECK_VALUES(avg_pool2d(x, pool(3, 2, 1, true)),
                 {10.0 / 9, 24.0 / 9, 10.0 / 6, 51.0 / 9, 90.0 / 9, 33.0 / 6, 25.0 / 6, 42.0 / 6, 15.0 / 4});
    CHECK_VALUES(avg_pool2d(x, pool(3, 2, 1, true, false)), {2.5, 4, 5, 8.5, 10, 11, 12.5, 14, 15});
  }

  TEST_CASE("adaptive_avg_pool2d known values") {
    // 5 -> 3: windows [0, 2), [1, 4), [3, 5) (start = floor(o * 5 / 3), end = ceil((o + 1) * 5 / 3))
    CHECK_VALUES(adaptive_avg_pool2d(f64({1, 2, 3, 4, 5}, {1, 1, 1, 5}), {1, 3}), {1.5, 3, 4.5});
    // 4 x 4 -> 3 x 2: overlapping row windows {0, 1}, {1, 2}, {2, 3}; column windows {0, 1}, {2, 3}
    CHECK_VALUES(adaptive_avg_pool2d(ramp4(), {3, 2}), {2.5, 4.5, 6.5, 8.5, 10.5, 12.5});
    CHECK_VALUES(adaptive_avg_pool2d(ramp4(), {1, 1}), {7.5});
    // more outputs than inputs: windows of one pixel
    CHECK_VALUES(adaptive_avg_pool2d(f64({1, 2}, {1, 1, 1, 2}), {1, 3}), {1, 1.5, 2});
  }

  TEST_CASE("upsample known values") {
    Tensor x = f64({1, 2, 3, 4}, {1, 1, 2, 2});
    CHECK_VALUES(upsample_nearest2d(x, {4, 4}), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    CHECK_VALUES(upsample_nearest2d(x, {3, 5}), {1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4});  // floor(o * 2 / 5)
    CHECK_VALUES(upsample_nearest2d(ramp4(), {2, 3}), {0, 1, 2, 8, 9, 10});                    // floor(o * 4 / 3)
    // x is linear (1 + 2 row + col), so bilinear gives 1 + 2 R + C at the source coordinates R, C:
    // align_corners: o * (in - 1) / (out - 1) = 0, 1/3, 2/3, 1
    std::vector<double> want;
    for (double r : {0.0, 1 / 3.0, 2 / 3.0, 1.0})
      for (double c : {0.0, 1 / 3.0, 2 / 3.0, 1.0}) want.push_back(1 + 2 * r + c);
    CHECK_VALUES(upsample_bilinear2d(x, {4, 4}, true), want);
    // half-pixel centres: (o + 0.5) * in / out - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the edge)
    CHECK_VALUES(upsample_bilinear2d(x, {4, 4}, false),
                 {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
    // a non-linear image, 2 x 3 -> 3 x 5
    Tensor z = f64({0, 4, 1, 2, 8, 5}, {1, 1, 2, 3});
    CHECK_VALUES(upsample_bilinear2d(z, {3, 5}, true), {0, 2, 4, 2.5, 1, 1, 3.5, 6, 4.5, 3, 2, 5, 8, 6.5, 5});
    CHECK_VALUES(upsample_bilinear2d(z, {3, 5}, false), {0, 1.6, 4, 2.2, 1, 1, 3, 6, 4.2, 3, 2, 4.4, 8, 6.2, 5});
    // downsampling, and an output of size 1 (align_corners then samples the first pixel)
    CHECK_VALUES(upsample_bilinear2d(z, {1, 2}, false), {2.25, 3.75});
    CHECK_VALUES(upsample_bilinear2d(z, {1, 2}, true), {0, 1});
    CHECK(upsample_bilinear2d(z.reshape({1, 2, 3}), {3, 5}).shape() == Shape{1, 3, 5});  // 3-D input
  }

  TEST_CASE("float32 on threaded sizes matches float64 and the equivalent convolutions") {
    Generator gen(5);
    Tensor x = randn({3, 16, 33, 30}, {.dtype = DType::float64}, &gen);
    Tensor xf = x.to(DType::float32);
    Conv2dOptions c;
    c.stride = {2, 2};
    c.padding = {1, 1};
    c.groups = 16;
    // average pooling (padding counted, no ceil) is a depthwise convolution with constant weights
    Tensor avg = avg_pool2d(x, pool(3, 2, 1));
    CHECK(allclose(avg, conv2d(x, full({16, 1, 3, 3}, 1.0 / 9, {.dtype = DType::float64}), {}, c).to_vector<double>(),
                   1e-12));
    CHECK(allclose(avg_pool2d(xf, pool(3, 2, 1)), avg.to_vector<double>(), 1e-5));
    // nearest x2 upsampling is a stride-2 depthwise transposed convolution with a 2 x 2 kernel of ones
    Conv2dOptions t;
    t.stride = {2, 2};
    t.groups = 16;
    Tensor up = upsample_nearest2d(x, {66, 60});
    CHECK(allclose(up, conv_transpose2d(x, ones({16, 1, 2, 2}, {.dtype = DType::float64}), {}, t).to_vector<double>(),
                   1e-12));
    CHECK(allclose(upsample_nearest2d(xf, {66, 60}), up.to_vector<double>(), 1e-6));
    CHECK(allclose(max_pool2d(xf, pool(3, 2, 1, true)), max_pool2d(x, pool(3, 2, 1, true)).to_vector<double>(), 1e-6));
    CHECK(allclose(upsample_bilinear2d(xf, {50, 47}), upsample_bilinear2d(x, {50, 47}).to_vector<double>(), 1e-5));
    CHECK(allclose(adaptive_avg_pool2d(xf, {7, 5}), adaptive_avg_pool2d(x, {7, 5}).to_vector<double>(), 1e-5));
  }

  TEST_CASE("errors") {
    CHECK_THROWS_WITH_AS(max_pool2d(ones({4, 4})),
                         Catch("max_pool2d: expected a 4-D input [N, C, H, W] (or 3-D [C, H, W]), got shape [4, 4]"), Error);
    CHECK_THROWS_WITH_AS(avg_pool2d(ones({1, 1, 4, 4}), pool(0)), Catch("avg_pool2d: expected a positive kernel size, got (0, 0)"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(ones({1, 1, 4, 4}), pool(2, 0)), Catch("max_pool2d: expected a positive stride, got (0, 0)"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(ones({1, 1, 4, 4}), pool(2, 2, 2)),
                         Catch("max_pool2d: padding (2, 2) must be non-negative and at most half the kernel size (2, 2)"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(ones({1, 1, 2, 2}), pool(3)),
                         Catch("max_pool2d: input [1, 1, 2, 2] is too small for kernel (3, 3) with padding (0, 0): the "
                               "output would be 0 x 0"),
                         Error);
    // No channels: max and average pooling refuse, as PyTorch (an empty batch is fine: the op table's rows);
    // adaptive pooling only needs H and W.
    CHECK_THROWS_WITH_AS(max_pool2d(ones({2, 0, 4, 4}), pool(2)),
                         Catch("max_pool2d: expected at least one channel (only the batch may be empty), got shape "
                               "[2, 0, 4, 4]"),
                         Error);
    CHECK_THROWS_WITH_AS(avg_pool2d(ones({0, 4, 4}), pool(2)),
                         Catch("avg_pool2d: expected at least one channel (only the batch may be empty), got shape "
                               "[1, 0, 4, 4]"),
                         Error);
    CHECK(max_pool2d(ones({0, 3, 4, 4}), pool(2)).shape() == Shape{0, 3, 2, 2});
    CHECK(adaptive_avg_pool2d(ones({2, 0, 4, 4}), {2, 2}).shape() == Shape{2, 0, 2, 2});
    CHECK_THROWS_WITH_AS(adaptive_avg_pool2d(ones({1, 1, 4, 4}), {0, 2}),
                         Catch("adaptive_avg_pool2d: expected a positive output size, got (0, 2)"), Error);
    CHECK_THROWS_WITH_AS(adaptive_avg_pool2d(ones({1, 1, 0, 4}), {1, 1}),
                         Catch("adaptive_avg_pool2d: expected a non-empty image, got shape [1, 1, 0, 4]"), Error);
    CHECK_THROWS_WITH_AS(upsample_nearest2d(zeros({1, 1, 2, 2}, {.dtype = DType::int64}), {4, 4}),
                         Catch("upsample_nearest2d: expected a floating input (float32 or float64), got int64"), Error);
    CHECK_THROWS_WITH_AS(upsample_bilinear2d(ones({2, 1, 1, 2, 2}), {4, 4}),
                         Catch("upsample_bilinear2d: expected a 4-D input [N, C, H, W] (or 3-D [C, H, W]), got shape "
                               "[2, 1, 1, 2, 2]"),
                         Error);
  }
}
