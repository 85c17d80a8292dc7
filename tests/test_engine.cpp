// The engine: accumulation, autograd::grad, graph freeing, hooks, no_grad, higher-order gradients.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "tests/test_util.h"

using namespace lumen;
using Catch = doctest::Contains;

using testing::val;
using testing::vec;

TEST_SUITE("engine") {
  TEST_CASE("backward accumulates into .grad with +=") {
    Tensor x = vec({1, 2, 3});
    Tensor y = (x * x).sum();  // dy/dx = 2x
    y.backward({}, /*retain_graph=*/true);
    CHECK(val(x.grad()) == std::vector<double>{2, 4, 6});
    y.backward();
    CHECK(val(x.grad()) == std::vector<double>{4, 8, 12});
  }

  TEST_CASE("a second backward through a freed graph is a clear error") {
    Tensor x = vec({1, 2});
    Tensor y = (exp(x) * x).sum();
    y.backward();
    CHECK_THROWS_WITH_AS(y.backward(), Catch("backward through the graph a second time"), Error);
  }

  TEST_CASE("the graph's saved tensors are freed after backward") {
    Tensor x = vec({1, 2});
    std::weak_ptr<Storage> saved;
    Tensor y;
    {
      Tensor h = x * 2.0;  // saved by the mul below, referenced by nothing else afterwards
      saved = h.impl()->storage;
      y = (h * h).sum();
    }
    CHECK_FALSE(saved.expired());
    y.backward();
    CHECK(saved.expired());
  }

  TEST_CASE("autograd::grad returns gradients and leaves .grad untouched") {
    Tensor x = vec({1, 2, 3});
    Tensor w = vec({0.5, -1, 2});
    Tensor y = (x * w).sum();
    auto g = autograd::grad({y}, {x, w});
    CHECK(val(g[0]) == std::vector<double>{0.5, -1, 2});
    CHECK(val(g[1]) == std::vector<double>{1, 2, 3});
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(w.grad().defined());
  }

  TEST_CASE("gradients with respect to an intermediate tensor") {
    Tensor x = vec({1, 2});
    Tensor h = x * 3.0;
    Tensor y = (h * h).sum();
    auto g = autograd::grad({y}, {h}, {}, {.retain_graph = true});
    CHECK(val(g[0]) == std::vector<double>{6, 12});  // 2h
    auto gx = autograd::grad({y}, {x});
    CHECK(val(gx[0]) == std::vector<double>{18, 36});  // 2h * 3
  }

  TEST_CASE("explicit grad_outputs weight the outputs") {
    Tensor x = vec({1, 2});
    Tensor y = x * x;
    auto g = autograd::grad({y}, {x}, {tensor({1, 10}, {2}, {.dtype = DType::float64})});
    CHECK(val(g[0]) == std::vector<double>{2, 40});
    Tensor z = x * x;
    CHECK_THROWS_WITH_AS(z.backward(), Catch("a gradient can be implied only for a scalar output"), Error);
    CHECK_THROWS_WITH_AS(autograd::grad({x * 2.0}, {x}, {ones({3}, {.dtype = DType::float64})}),
                         Catch("grad_output 0 has shape [3] but the output has shape [2]"), Error);
  }

  TEST_CASE("unused inputs: an error, or zeros with allow_unused") {
    Tensor x = vec({1, 2});
    Tensor u = vec({5});
    Tensor y = x.sum();
    CHECK_THROWS_WITH_AS(autograd::grad({y}, {x, u}, {}, {.retain_graph = true}),
                         Catch("input 1 was not used to compute the outputs"), Error);
    auto g = autograd::grad({y}, {x, u}, {}, {.allow_unused = true});
    CHECK(val(g[1]) == std::vector<double>{0});
  }

  TEST_CASE("no_grad records nothing; detach cuts the graph") {
    Tensor x = vec({1, 2});
    {
      autograd::NoGradGuard ng;
      Tensor y = x * 2.0;
      CHECK_FALSE(y.requires_grad());
      CHECK(y.is_leaf());
    }
    CHECK(autograd::grad_enabled());
    Tensor d = (x * 2.0).detach();
    CHECK_FALSE(d.requires_grad());
    Tensor y = (d * x).sum();
    y.backward();
    CHECK(val(x.grad()) == std::vector<double>{2, 4});  // d treated as a constant
    CHECK_THROWS_WITH_AS(autograd::grad({d.sum()}, {x}), Catch("output 0 does not require grad"), Error);
  }

  TEST_CASE("a tensor used twice gets the sum of both gradients") {
    Tensor x = vec({3});
    Tensor a = x * 2.0;
    Tensor y = (a * a + a).sum();  // y = 4x² + 2x, dy/dx = 8x + 2
    y.backward();
    CHECK(val(x.grad()) == std::vector<double>{26});
  }

  TEST_CASE("gradients are summed in place only into buffers nobody else holds") {
    // The engine adds a node's later gradients into its first one in place when that buffer is its
    // own (autograd/engine.cpp: add_gradient). Here u's first gradient is the very tensor v's hook keeps
    // and retain_grad stores (the add passes it through unchanged): it must stay as it was.
    Tensor x = vec({1, 2});
    Tensor u = x * 3.0;
    Tensor v = u + 1.0;
    Tensor kept;
    v.register_hook([&](const Tensor& g) {
      kept = g;
      return Tensor();
    });
    v.retain_grad();
    Tensor y = (u * u).sum() + (u * 5.0).sum() + (v * 2.0).sum();  // three gradients reach u
    auto g = autograd::grad({y}, {x}, {}, {.retain_graph = true});
    CHECK(val(g[0]) == std::vector<double>{3 * (2 + 6 + 5), 3 * (2 + 12 + 5)});
    CHECK(val(kept) == std::vector<double>{2, 2});
    y.backward();
    CHECK(val(v.grad()) == std::vector<double>{2, 2});
    CHECK(val(x.grad()) == val(g[0]));
  }

  TEST_CASE("hooks see the gradient and can replace it") {
    Tensor x = vec({1, 2});
    std::vector<double> seen;
    int calls = 0;
    Tensor h = x * 3.0;
    h.register_hook([&](const Tensor& g) {
      ++calls;
      seen = g.to_vector<double>();
      return Tensor();  // observe only
    });
    int doubling = x.register_hook([](const Tensor& g) { return g * 2.0; });
    Tensor y = (h * h).sum();
    y.backward({}, true);
    CHECK(calls == 1);
    CHECK(seen == std::vector<double>{6, 12});
    CHECK(val(x.grad()) == std::vector<double>{36, 72});  // 2h·3, doubled by the leaf hook
    x.remove_hook(doubling);
    x.set_grad(Tensor());
    y.backward();
    CHECK(val(x.grad()) == std::vector<double>{18, 36});
    CHECK(calls == 2);
    CHECK_THROWS_WITH_AS(ones({1}).register_hook([](const Tensor& g) { return g; }),
                         Catch("cannot register a hook on a tensor that does not require grad"), Error);
  }

  TEST_CASE("a hook on an intermediate tensor changes everything upstream") {
    Tensor x = vec({1, 2});
    Tensor h = x * 1.0;
    h.register_hook([](const Tensor& g) { return relu(g); });  // guided-backprop style clipping
    Tensor y = (h * tensor({-1, 1}, {2}, {.dtype = DType::float64})).sum();
    auto g = autograd::grad({y}, {x});
    CHECK(val(g[0]) == std::vector<double>{0, 1});
  }

  TEST_CASE("retain_grad keeps the gradient of a non-leaf") {
    Tensor x = vec({1, 2});
    Tensor h = x * 2.0;
    h.retain_grad();
    (h * h).sum().backward();
    CHECK(val(h.grad()) == std::vector<double>{4, 8});
  }

  TEST_CASE("create_graph gives gradients of gradients") {
    Tensor x = vec({2, -1});
    Tensor y = (x * x * x).sum();  // dy/dx = 3x², d²y/dx² = 6x
    auto g = autograd::grad({y}, {x}, {}, {.create_graph = true});
    CHECK(g[0].requires_grad());
    CHECK(val(g[0]) == std::vector<double>{12, 3});
    auto gg = autograd::grad({g[0].sum()}, {x});
    CHECK(val(gg[0]) == std::vector<double>{12, -6});
    // Third order through the same mechanism: d³y/dx³ = 6.
    Tensor x2 = vec({0.5});
    auto g1 = autograd::grad({pow(x2, 3.0).sum()}, {x2}, {}, {.create_graph = true});
    auto g2 = autograd::grad({g1[0].sum()}, {x2}, {}, {.create_graph = true});
    auto g3 = autograd::grad({g2[0].sum()}, {x2});
    CHECK(val(g3[0])[0] == doctest::Approx(6.0));
  }

  TEST_CASE("backward with create_graph accumulates a differentiable .grad") {
    Tensor x = vec({3});
    (x * x * x).sum().backward({}, false, true);
    CHECK(x.grad().requires_grad());
    auto gg = autograd::grad({x.grad().sum()}, {x});
    CHECK(val(gg[0]) == std::vector<double>{18});
  }

  TEST_CASE("sigmoid's saved output is re-attached for double backward") {
    Tensor x = vec({0.3});
    Tensor s = sigmoid(x);
    auto g = autograd::grad({s.sum()}, {x}, {}, {.create_graph = true});
    auto gg = autograd::grad({g[0].sum()}, {x});
    double sv = 1 / (1 + std::exp(-0.3));
    CHECK(val(gg[0])[0] == doctest::Approx(sv * (1 - sv) * (1 - 2 * sv)).epsilon(1e-12));
  }

  TEST_CASE("a long chain does not overflow the stack") {
    Tensor x = vec({1});
    Tensor y = x;
    for (int i = 0; i < 20000; ++i) y = y * 1.0001;
    auto g = autograd::grad({y.sum()}, {x});
    CHECK(val(g[0])[0] == doctest::Approx(std::pow(1.0001, 20000)).epsilon(1e-9));
  }

  TEST_CASE("autograd::grad skips gradients nobody asked for (a weight, when only d/dx is wanted)") {
    Tensor x = vec({1, 2}), w = vec({3, 4});
    std::vector<bool> asked;  // what s.needs(i) said for (x, w) in each backward call
    auto op = [&](const Tensor& a, const Tensor& b) {
      return record("probe", mul(a.detach(), b.detach()), {a, b}, {a, b}, [&](const Tensor& g, const BackwardArgs& s) {
        asked = {s.needs(0), s.needs(1)};
        return grads(s.needs(0) ? g * s[1] : Tensor(), s.needs(1) ? g * s[0] : Tensor());
      });
    };
    auto gx = autograd::grad({op(x, w).sum()}, {x});
    CHECK(asked == std::vector<bool>{true, false});
    CHECK(val(gx[0]) == std::vector<double>{3, 4});
    op(x, w).sum().backward();  // backward() wants every leaf's gradient
    CHECK(asked == std::vector<bool>{true, true});
    CHECK(val(w.grad()) == std::vector<double>{1, 2});
  }

  TEST_CASE("grad_fn names the op") {
    Tensor x = vec({1});
    CHECK((x * 2.0).grad_fn()->name() == "mul_scalar");
    CHECK(relu(x).grad_fn()->name() == "relu");
    CHECK(x.is_leaf());
  }

  TEST_CASE("post-accumulate hooks see the summed .grad(), once per backward, and not in autograd::grad") {
    Tensor w = tensor({1.0, 2.0}).requires_grad_();
    std::vector<std::vector<float>> seen;  // each call's .grad()
    const int h = w.register_post_accumulate_grad_hook([&](const Tensor& leaf) { seen.push_back(leaf.grad().to_vector<float>()); });
    (w * 3.0 + w * w).sum().backward();  // two uses of w: one call, with the sum 3 + 2w
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == std::vector<float>{5, 7});
    (w * 2.0).sum().backward();  // the second backward accumulates: the hook sees 5+2, 7+2
    REQUIRE(seen.size() == 2);
    CHECK(seen[1] == std::vector<float>{7, 9});
    autograd::grad({(w * w).sum()}, {w});
    CHECK(seen.size() == 2);
    w.remove_hook(h);
    (w * 2.0).sum().backward();
    CHECK(seen.size() == 2);
    CHECK_THROWS_WITH_AS((w * 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}), Catch("expected a leaf"),
                         Error);
  }

  TEST_CASE("queue_callback runs after every node of the backward pass, in order, and only then") {
    Tensor a = tensor({1.0}).requires_grad_(), b = tensor({2.0}).requires_grad_();
    std::vector<std::string> log;
    a.register_post_accumulate_grad_hook([&](const Tensor&) {
      log.push_back("a");
      autograd::queue_callback([&] { log.push_back("first callback"); });
      autograd::queue_callback([&] {
        log.push_back("second callback");
        autograd::queue_callback([&] { log.push_back("queued by a callback"); });
      });
    });
    b.register_post_accumulate_grad_hook([&](const Tensor&) { log.push_back("b"); });
    (a * b * 2.0).sum().backward();
    REQUIRE(log.size() == 5);
    CHECK(log[3] == "second callback");
    CHECK(log[4] == "queued by a callback");
    CHECK(log[2] == "first callback");  // after both leaves, whichever came first
    CHECK_THROWS_WITH_AS(autograd::queue_callback([] {}), Catch("outside a backward() pass"), Error);
    // A pass that throws drops its callbacks.
    log.clear();
    const int h = b.register_hook([](const Tensor&) -> Tensor { throw Error("hook failed"); });
    CHECK_THROWS_AS((a * b).sum().backward(), Error);
    b.remove_hook(h);
    CHECK(std::find(log.begin(), log.end(), "first callback") == log.end());
  }
}
