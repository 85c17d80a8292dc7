// nn::LSTM against PyTorch (tests/reference/make_nn_reference.py): two layers, bidirectional, and a
// padded batch against pack_padded_sequence (output, h_n, c_n and every gradient); parameter names
// and init; float64 gradchecks through the masked recurrence; errors.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/lstm.h"
#include "tests/gradcheck.h"
#include "tests/nn/reference.h"

using namespace lumen;
using namespace lumen::nn;
using lumen::testing::reference;
using Catch = doctest::Contains;

namespace {

constexpr double kTol = 1e-5;

const lumen::testing::Reference& ref() { return reference("nn_layers.safetensors"); }

Tensor param(const Module& m, const std::string& name) {
  for (const auto& [n, p] : m.named_parameters())
    if (n == name) return p;
  FAIL("no parameter " << name);
  return {};
}

// Loads case c's PyTorch weights into lstm (strictly: PyTorch's names), runs it (masked when the case
// has a mask), backpropagates the recorded upstream gradients of output, h_n and c_n, and compares.
void check_lstm(const std::string& c, LSTM& lstm) {
  INFO("case " << c);
  StateDict state;
  for (const auto& [k, v] : ref().tensors)
    if (k.starts_with(c + ".state.")) state.emplace_back(k.substr(c.size() + 7), v);
  lstm.load_state_dict(state);
  Tensor x = ref().at(c + ".x").clone().requires_grad_();
  const LSTMOutput out = lstm.forward_masked(x, ref().has(c + ".mask") ? ref().at(c + ".mask") : Tensor());
  CHECK_CLOSE(out.output, ref().at(c + ".y"), kTol, kTol);
  CHECK_CLOSE(out.h_n, ref().at(c + ".h_n"), kTol, kTol);
  CHECK_CLOSE(out.c_n, ref().at(c + ".c_n"), kTol, kTol);
  autograd::backward({out.output, out.h_n, out.c_n}, {ref().at(c + ".gy"), ref().at(c + ".gh"), ref().at(c + ".gc")});
  CHECK_CLOSE(x.grad(), ref().at(c + ".gx"), kTol, kTol);
  for (const auto& [name, p] : lstm.named_parameters()) {
    INFO("gradient of " << name);
    CHECK_CLOSE(p.grad(), ref().at(c + ".grad." + name), kTol, kTol);
  }
}

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("LSTM matches PyTorch: two layers, bidirectional, and a padded batch as packed sequences") {
    LSTM two(3, 4, {.num_layers = 2});
    check_lstm("lstm_2layers", two);
    LSTM bi(3, 4, {.bidirectional = true});
    check_lstm("lstm_bi", bi);
    LSTM masked(3, 4, {.num_layers = 2, .bidirectional = true});
    check_lstm("lstm_masked", masked);
  }

  TEST_CASE("LSTM: forward is the output of forward_masked without a mask; an all-ones mask changes nothing") {
    manual_seed(2);
    LSTM lstm(3, 5, {.bidirectional = true});
    const Tensor x = randn({2, 4, 3});
    const LSTMOutput a = lstm.forward_masked(x, {}), b = lstm.forward_masked(x, ones({2, 4}));
    CHECK(lstm(x).shape() == Shape{2, 4, 10});
    CHECK_CLOSE(lstm(x), a.output, 0, 0);
    CHECK_CLOSE(b.output, a.output, 0, 0);
    CHECK_CLOSE(b.h_n, a.h_n, 0, 0);
    CHECK(a.h_n.shape() == Shape{2, 2, 5});
  }

  TEST_CASE("LSTM: PyTorch's parameter names, shapes and U(-1/sqrt(H), 1/sqrt(H)) init") {
    manual_seed(3);
    LSTM lstm(3, 16, {.num_layers = 2, .bidirectional = true});
    std::vector<std::string> names;
    for (const auto& [n, p] : lstm.named_parameters()) names.push_back(n);
    const std::vector<std::string> want = {
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse",
        "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
    CHECK(names == want);
    CHECK(param(lstm, "weight_ih_l0").shape() == Shape{64, 3});
    CHECK(param(lstm, "weight_ih_l1").shape() == Shape{64, 32});
    CHECK(param(lstm, "weight_hh_l1_reverse").shape() == Shape{64, 16});
    CHECK(param(lstm, "bias_hh_l0").shape() == Shape{64});
    for (const auto& [n, p] : lstm.named_parameters()) {
      INFO(n);
      CHECK(amax(abs(p)).item() <= 0.25);
      CHECK(amax(abs(p)).item() > 0.2);
    }
    LSTM no_bias(3, 4, {.bias = false});
    CHECK(no_bias.named_parameters().size() == 2);
    CHECK(lstm.str().starts_with("LSTM(3, 16, batch_first=true, num_layers=2, bidirectional=true)"));
  }

  TEST_CASE("LSTM gradcheck (float64): input and weights of both directions and layers, through a mask") {
    manual_seed(5);
    LSTM lstm(2, 3, {.num_layers = 2, .bidirectional = true});
    lstm.to(DType::float64);
    const Tensor mask = tensor({1, 1, 1, 1, 1, 1, 0, 0}, {2, 4}, {.dtype = DType::float64});
    const Tensor x = lumen::testing::leaf({2, 4, 2});
    auto f = [&](const std::vector<Tensor>& v) {
      const LSTMOutput o = lstm.forward_masked(v[0], mask);
      return cat({reshape(o.output, {-1}), reshape(o.h_n, {-1}), reshape(o.c_n, {-1})}, 0);
    };
    CHECK_GRAD(f, {x, param(lstm, "weight_ih_l0"), param(lstm, "weight_hh_l0_reverse"), param(lstm, "bias_hh_l1"),
                   param(lstm, "weight_hh_l1_reverse")});
    LSTM small(2, 2);
    small.to(DType::float64);
    auto g = [&](const std::vector<Tensor>& v) { return small.forward_masked(v[0], mask).h_n; };
    CHECK_GRADGRAD(g, {lumen::testing::leaf({2, 4, 2}, -1.0, 1.0, 2)});
  }

  TEST_CASE("LSTM: a padded row gives the same output, h_n and c_n as the row alone") {
    manual_seed(6);
    LSTM lstm(3, 4, {.bidirectional = true});
    const Tensor x = randn({2, 5, 3});
    const LSTMOutput padded = lstm.forward_masked(x, tensor({1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, {2, 5}));
    const LSTMOutput alone = lstm.forward_masked(narrow(narrow(x, 0, 1, 1), 1, 0, 2), {});
    CHECK_CLOSE(narrow(narrow(padded.output, 0, 1, 1), 1, 0, 2), alone.output, 1e-6, 1e-7);
    CHECK_CLOSE(narrow(padded.h_n, 1, 1, 1), alone.h_n, 1e-6, 1e-7);
    CHECK_CLOSE(narrow(padded.c_n, 1, 1, 1), alone.c_n, 1e-6, 1e-7);
    CHECK(amax(abs(narrow(narrow(padded.output, 0, 1, 1), 1, 2, 3))).item() == 0.0);  // 0 at padded steps
  }

  TEST_CASE("LSTM: errors for a wrong input, a wrong mask and padding before real steps") {
    LSTM lstm(3, 4);
    CHECK_THROWS_WITH_AS(lstm(zeros({2, 5, 4})), Catch("LSTM: expected input [N, T, 3], got [2, 5, 4]"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward_masked(zeros({2, 5, 3}), ones({2, 4})),
                         Catch("LSTM: mask [2, 4] does not match input [2, 5, 3]"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward_masked(zeros({1, 3, 3}), tensor({1, 0, 1}, {1, 3})),
                         Catch("the real steps must be a prefix of each row"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward_masked(zeros({1, 3, 3}), tensor({1, 0.5, 0}, {1, 3})),
                         Catch("mask values must be 0 or 1"), Error);
    CHECK_THROWS_WITH_AS(LSTM(3, 0), Catch("LSTM: expected positive sizes"), Error);
  }
}
