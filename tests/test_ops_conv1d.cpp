// conv1d: a hand-computed case, agreement with conv2d on the [N, C, 1, L] form over a grid of options
// (values and gradients), the unbatched form, and errors that name conv1d and the 3-D shapes.
// Gradchecks and double backward: the op table (tests/op_rows_conv_pool.cpp).
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

TEST_SUITE("conv") {
  TEST_CASE("conv1d: hand-computed values with and without stride and padding") {
    const Tensor x = f64({1, 2, 3, 4}, {1, 1, 4}), w = f64({2, 1}, {1, 1, 2}), b = f64({0.5}, {1});
    // y[t] = 2·x[t] + x[t + 1] + 0.5
    CHECK_VALUES(conv1d(x, w, b), {4.5, 7.5, 10.5});
    CHECK(conv1d(x, w, b).shape() == Shape{1, 1, 3});
    // padded [0, 1, 2, 3, 4, 0], windows at 0, 2, 4
    CHECK_VALUES(conv1d(x, w, b, {.stride = 2, .padding = 1}), {1.5, 7.5, 8.5});
    // dilation 2: 2·x[t] + x[t + 2]
    CHECK_VALUES(conv1d(x, w, {}, {.dilation = 2}), {5.0, 8.0});
  }

  TEST_CASE("conv1d equals conv2d on the unsqueezed [N, C, 1, L] form, values and gradients") {
    manual_seed(7);
    struct Case {
      Conv1dOptions o;
      std::int64_t C, O, k, L;
    };
    for (const Case& c : {Case{{}, 3, 4, 3, 9}, Case{{.stride = 2, .padding = 1}, 3, 4, 3, 9},
                          Case{{.padding = 2, .dilation = 2}, 2, 5, 2, 6}, Case{{.stride = 3, .groups = 2}, 4, 6, 2, 11}}) {
      INFO("stride " << c.o.stride << " padding " << c.o.padding << " dilation " << c.o.dilation << " groups "
                     << c.o.groups);
      const TensorOptions f{.dtype = DType::float64};
      Tensor x = randn({2, c.C, c.L}, f).requires_grad_(), w = randn({c.O, c.C / c.o.groups, c.k}, f).requires_grad_(),
             b = randn({c.O}, f).requires_grad_();
      const Tensor y1 = conv1d(x, w, b, c.o);
      const Conv2dOptions o2{.stride = {1, c.o.stride}, .padding = {0, c.o.padding}, .dilation = {1, c.o.dilation},
                             .groups = c.o.groups};
      const Tensor y2 = squeeze(conv2d(unsqueeze(x, 2), unsqueeze(w, 2), b, o2), 2);
      REQUIRE(y1.shape() == y2.shape());
      CHECK(allclose(y1, val(y2), 1e-12));
      const Tensor gy = randn(y1.shape(), f);
      const auto g1 = autograd::grad({sum(y1 * gy)}, {x, w, b}), g2 = autograd::grad({sum(y2 * gy)}, {x, w, b});
      for (std::size_t i = 0; i < 3; ++i) CHECK(allclose(g1[i], val(g2[i]), 1e-12));
    }
  }

  TEST_CASE("conv1d of an unbatched [C, L] input is the batched result without its batch dim") {
    const Tensor x = randn({3, 6}), w = randn({4, 3, 2}), b = randn({4});
    const Tensor y = conv1d(x, w, b);
    CHECK(y.shape() == Shape{4, 5});
    CHECK(allclose(y, val(conv1d(unsqueeze(x, 0), w, b)), 1e-6));
  }

  TEST_CASE("conv1d: errors name conv1d and the 3-D shapes") {
    CHECK_THROWS_WITH_AS(conv1d(zeros({2, 3, 5}), zeros({4, 2, 3})),
                         Catch("conv1d: input [2, 3, 5] has 3 channels but weight [4, 2, 3] with groups=1 expects 2"),
                         Error);
    CHECK_THROWS_WITH_AS(conv1d(zeros({2, 3, 2}), zeros({4, 3, 3})),
                         Catch("conv1d: input [2, 3, 2] with padding 0 is shorter than the kernel [4, 3, 3]"), Error);
    CHECK_THROWS_WITH_AS(conv1d(zeros({2, 3, 5, 5}), zeros({4, 3, 3})),
                         Catch("conv1d: expected a 3-D input [N, C, L] (or 2-D [C, L]), got shape [2, 3, 5, 5]"), Error);
    CHECK_THROWS_WITH_AS(conv1d(zeros({2, 3, 5}), zeros({4, 3, 3, 1})),
                         Catch("conv1d: expected a 3-D weight [O, C/groups, k], got shape [4, 3, 3, 1]"), Error);
    CHECK_THROWS_WITH_AS(conv1d(zeros({2, 3, 5}), zeros({4, 3, 3}), zeros({3})),
                         Catch("conv1d: expected a bias of shape [4], got [3]"), Error);
    CHECK_THROWS_WITH_AS(conv1d(zeros({2, 3, 5}), zeros({4, 3, 3}), {}, {.stride = 0}),
                         Catch("conv1d: expected a positive stride, got 0"), Error);
  }
}
