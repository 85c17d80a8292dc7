// Version counters: an in-place change of a tensor saved for backward makes backward fail, instead of
// silently computing the gradient from the new values.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "tests/test_util.h"
#include "kernels/index.h"
#include "nn/optim.h"

using namespace lumen;
using Catch = doctest::Contains;

using testing::val;
using testing::vec;

TEST_SUITE("engine") {
  TEST_CASE("changing a saved weight under NoGradGuard makes backward fail (it gave 20 instead of 2)") {
    Tensor w = vec({1});
    Tensor y = (w * w).sum();  // mul saves w twice; dy/dw = 2w = 2
    {
      autograd::NoGradGuard no_grad;
      w.mul_(10.0);  // the backward would compute 2 * 10 = 20
    }
    CHECK_THROWS_WITH_AS(y.backward(),
                         Catch("backward: a tensor that 'mul' needs for its gradient has been modified by an in-place "
                               "operation: its saved tensor 0 of 2 (an input, Tensor[float64, cpu, shape [1]]) is at "
                               "version 1; expected version 0"),
                         Error);
    CHECK_FALSE(w.grad().defined());
  }

  TEST_CASE("changing a saved constant makes backward fail (it gave 5 instead of 1)") {
    Tensor x = vec({2});
    Tensor c = vec({1}, false);  // needs no grad, so fill_ is allowed even with grad mode on
    Tensor y = (x * c).sum();    // dy/dx = c = 1
    c.fill_(5.0);
    CHECK_THROWS_WITH_AS(y.backward(), Catch("its saved tensor 1 of 2 (an input"), Error);
  }

  TEST_CASE("changing an op's saved output is named as such") {
    Tensor x = vec({0.5});
    Tensor s = sigmoid(x);  // saves its output: dσ = σ(1 - σ)
    s.detach().zero_();     // detach() shares the storage, and so the version counter
    CHECK_THROWS_WITH_AS(s.backward(), Catch("'sigmoid' needs for its gradient"), Error);
    Tensor s2 = sigmoid(x);
    s2.detach().zero_();
    CHECK_THROWS_WITH_AS(autograd::grad({s2.sum()}, {x}), Catch("(the op's output"), Error);
  }

  TEST_CASE("a change between two backward passes of a retained graph is caught") {
    Tensor w = vec({3});
    Tensor y = (w * w).sum();
    y.backward({}, /*retain_graph=*/true);
    CHECK(val(w.grad()) == std::vector<double>{6});
    {
      autograd::NoGradGuard no_grad;
      w.add_(vec({1}, false));
    }
    CHECK_THROWS_WITH_AS(y.backward(), Catch("is at version 1; expected version 0"), Error);
  }

  TEST_CASE("views share the version counter") {
    Tensor t = zeros({2, 3}, {.dtype = DType::float64});
    Tensor row = t.select(0, 1), col = t.narrow(1, 2, 1), flat = t.reshape({6}), tt = t.t();
    CHECK(t.version() == 0);
    row.fill_(1.0);
    for (const Tensor& v : {t, row, col, flat, tt, t.detach()}) CHECK(v.version() == 1);
    tt.mul_(2.0);  // not contiguous: a different path inside mul_, still one bump
    CHECK(col.version() == 2);
    CHECK(zeros({6}).version() == 0);  // a new tensor has a counter of its own

    // Writing into a view of a saved tensor is caught too.
    Tensor x = vec({1, 2});
    Tensor c = vec({3, 4}, false);
    Tensor y = (x * c).sum();
    c.narrow(0, 1, 1).fill_(0.0);
    CHECK_THROWS_WITH_AS(y.backward(), Catch("'mul' needs for its gradient"), Error);
  }

  TEST_CASE("each in-place method bumps the version once") {
    Tensor t = zeros({4}, {.dtype = DType::float64});
    Tensor one = ones({4}, {.dtype = DType::float64});
    t.copy_(one);
    CHECK(t.version() == 1);
    t.fill_(2.0);
    CHECK(t.version() == 2);
    t.zero_();
    CHECK(t.version() == 3);
    t.add_(one, 0.5);
    CHECK(t.version() == 4);
    t.mul_(3.0);
    CHECK(t.version() == 5);
    Tensor index = tensor_from({0, 0, 1, 3});
    kernels::scatter_add(t, 0, index, one);
    CHECK(t.version() == 6);
    kernels::index_add(t, 0, tensor_from({2}), ones({1}, {.dtype = DType::float64}));
    CHECK(t.version() == 7);
    CHECK(one.version() == 0);  // sources are only read
    CHECK(val(t) == std::vector<double>{3.5, 2.5, 2.5, 2.5});
  }

  TEST_CASE("in-place changes of tensors no graph saved are allowed") {
    Tensor x = vec({1, 2});
    Tensor c = vec({10, 20}, false);
    Tensor y = (x + c).sum();  // add saves nothing: its gradient does not depend on c
    c.fill_(7.0);
    y.backward();
    CHECK(val(x.grad()) == std::vector<double>{1, 1});
    {
      autograd::NoGradGuard no_grad;
      x.add_(x.grad(), -0.5);  // after backward the graph is gone: a plain update
    }
    Tensor y2 = (x * x).sum();
    y2.backward();
    CHECK(val(x.grad()) == std::vector<double>{1 + 1, 1 + 3});  // accumulated: 1 + 2x with x = (0.5, 1.5)
  }
}

TEST_SUITE("optim") {
  TEST_CASE("an optimizer step between forward and backward makes backward fail") {
    Tensor w = vec({1, 2});
    Tensor x = vec({3, 4}, false);
    nn::SGD opt({w}, {.lr = 0.1});
    (w * x).sum().backward();
    Tensor loss = (w * x).sum();  // the next forward saves w (version 0) ...
    opt.step();                   // ... and the step changes it
    CHECK(w.version() == 1);
    CHECK_THROWS_WITH_AS(loss.backward(), Catch("'mul' needs for its gradient"), Error);
  }

  TEST_CASE("normal training loops are unaffected: SGD with momentum and Adam bump their state") {
    Tensor w = vec({1, -2});
    Tensor x = vec({3, 4}, false);
    nn::SGD sgd({w}, {.lr = 0.01, .momentum = 0.9});
    nn::Adam adam({w}, {.lr = 0.01});
    for (int step = 0; step < 3; ++step)
      for (nn::Optimizer* opt : std::vector<nn::Optimizer*>{&sgd, &adam}) {
        opt->zero_grad();
        Tensor loss = (w * w * x).sum();
        loss.backward();
        opt->step();
      }
    CHECK(w.version() == 6);
  }
}
