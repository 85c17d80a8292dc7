// TextCNN and BiLSTMClassifier: shapes, PyTorch-style parameter names, forward = classify(embed, mask),
// what hooks on their activation layers see, errors, and a known answer: on 40 synthetic sequences
// whose label is "token 5 appears", both reach 100% train accuracy. Also k-max pooling.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "nn/text_models.h"
#include "tests/nn/reference.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::nn;
using Catch = doctest::Contains;

namespace {

std::vector<std::string> parameter_names(const Module& m) {
  std::vector<std::string> names;
  for (const auto& [n, p] : m.named_parameters()) names.push_back(n);
  return names;
}

// 40 rows of 4..8 tokens from 1..9 (0 pads the end, to 8); label 1 iff token 5 appears. Half the rows
// get a 5 put in at a random place, so the classes are balanced.
struct Synthetic {
  Tensor ids, labels;
};
Synthetic synthetic_data() {
  Generator gen(2024);
  const std::int64_t N = 40, T = 8;
  std::vector<std::int64_t> ids(N * T, 0), labels(N);
  for (std::int64_t n = 0; n < N; ++n) {
    const std::int64_t len = 4 + static_cast<std::int64_t>(uniform({1}, 0, 5, {}, &gen).item());
    for (std::int64_t t = 0; t < len; ++t) {
      std::int64_t tok = 1 + static_cast<std::int64_t>(uniform({1}, 0, 8, {}, &gen).item());  // 1..8
      ids[n * T + t] = tok >= 5 ? tok + 1 : tok;                                              // 1..9 without 5
    }
    if (n % 2) ids[n * T + static_cast<std::int64_t>(uniform({1}, 0, static_cast<double>(len), {}, &gen).item())] = 5;
    labels[n] = n % 2;
  }
  return {tensor_from(ids, {N, T}), tensor_from(labels, {N})};
}

// Full-batch Adam until every training row is classified right; returns the steps taken (or -1).
int steps_to_fit(TextClassifier& model, const Synthetic& d, int max_steps) {
  Adam opt(model.parameters(), {.lr = 0.01});
  for (int step = 1; step <= max_steps; ++step) {
    model.train();
    opt.zero_grad();
    cross_entropy(model(d.ids), d.labels).backward();
    opt.step();
    if (step % 10 == 0) {
      model.eval();
      autograd::NoGradGuard ng;
      if (argmax(model(d.ids), 1).to_vector<std::int64_t>() == d.labels.to_vector<std::int64_t>()) return step;
    }
  }
  return -1;
}

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("kmax_pool1d keeps the k largest in their original order; k = 1 is max over time") {
    using lumen::testing::f64;
    Tensor x = f64({3, 9, 1, 7, 2, 8, 5, 5, 5, 1, 5, 0}, {2, 1, 6}).requires_grad_();
    const Tensor y = kmax_pool1d(x, 3);
    CHECK(y.shape() == Shape{2, 1, 3});
    CHECK_VALUES(y, {9, 7, 8, 5, 5, 5});  // row 2: ties go to the lower indices 0, 1, 2
    y.sum().backward();
    CHECK_VALUES(x.grad(), {0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0});
    CHECK_VALUES(kmax_pool1d(x, 1), {9, 5});
    CHECK_VALUES(kmax_pool1d(x, 2, 2), {9, 8, 5, 5});
    CHECK_VALUES(kmax_pool1d(transpose(x, 1, 2), 2, 1), {9, 8, 5, 5});
    CHECK_THROWS_WITH_AS(kmax_pool1d(x, 7), Catch("kmax_pool1d: k = 7 is out of range [1, 6]"), Error);
  }

  TEST_CASE("TextCNN: shapes, parameter names, forward == classify(embed, mask), hooks, errors") {
    manual_seed(1);
    TextCNN model({.vocab_size = 20, .embedding_dim = 8});
    CHECK(parameter_names(model) == std::vector<std::string>{"embedding.weight", "convs.0.weight", "convs.0.bias",
                                                             "convs.1.weight", "convs.1.bias", "convs.2.weight",
                                                             "convs.2.bias", "fc.weight", "fc.bias"});
    CHECK(model.submodule("convs.2").type_name() == "Conv1d");
    CHECK(model.convs->size() == 3);
    CHECK_THROWS_WITH_AS((*model.convs)(zeros({1, 8, 5})), Catch("ModuleList: has no forward"), Error);
    CHECK(model.fc->in_features == 150);
    CHECK(model.activation_layers() ==
          std::vector<std::string>{"embedding", "convs.0", "convs.1", "convs.2", "fc"});
    model.eval();
    const Tensor ids = tensor_from({3, 4, 5, 6, 7, 0, 0, 1, 2, 3, 4, 5, 6, 7}, {2, 7});
    Shape seen;
    {
      HookHandle h = model.submodule("convs.0").register_forward_hook(
          [&](Module&, const Tensor&, const Tensor& out) { seen = out.shape(); });
      const Tensor logits = model(ids);
      CHECK(logits.shape() == Shape{2, 2});
      CHECK_CLOSE(logits, model.classify(model.embed(ids), model.token_mask(ids)), 0, 0);
    }
    CHECK(seen == Shape{2, 50, 6});
    // The max over time sees only windows starting at a real token: however far a row is padded, its
    // logits are the same (5 real tokens: alone, padded to 7, padded to 12; 2 real tokens padded to 4 and 9).
    const Tensor alone = model(tensor_from({3, 4, 5, 6, 7}, {1, 5}));
    CHECK_CLOSE(narrow(model(ids), 0, 0, 1), alone, 1e-6, 1e-7);
    CHECK_CLOSE(model(tensor_from({3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0}, {1, 12})), alone, 1e-6, 1e-7);
    CHECK_CLOSE(model(tensor_from({9, 8, 0, 0}, {1, 4})), model(tensor_from({9, 8, 0, 0, 0, 0, 0, 0, 0}, {1, 9})), 1e-6, 1e-7);
    CHECK(model.relu->type_name() == "ReLU");
    // embedding_std scales the N(0, 1) draw; the <pad> row is zero either way.
    TextCNN small_init({.vocab_size = 2000, .embedding_dim = 8, .embedding_std = 0.1});
    const Tensor rest = narrow(small_init.embedding->weight, 0, 1, 1999);
    CHECK(std::sqrt(rest.pow(2.0).mean().item()) == doctest::Approx(0.1).epsilon(0.05));
    CHECK(narrow(small_init.embedding->weight, 0, 0, 1).abs().sum().item() == 0.0);
    CHECK_THROWS_WITH_AS(TextCNN({.vocab_size = 5, .embedding_dim = 2, .embedding_std = 0}),
                         Catch("expected a positive finite embedding_std"), Error);
    CHECK_VALUES(model.token_mask(ids), {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1});
    CHECK(model.embed(ids).shape() == Shape{2, 7, 8});
    CHECK_THROWS_WITH_AS(model(tensor_from({1, 2, 3}, {1, 3})),
                         Catch("TextCNN: rows of 3 tokens are shorter than the widest filter (4)"), Error);
    CHECK_THROWS_WITH_AS(model(zeros({1, 5})), Catch("expected int64 token ids [N, T], got float32 [1, 5]"), Error);
    CHECK_THROWS_WITH_AS(model.classify(zeros({1, 5, 7}), {}), Catch("TextCNN: expected embeddings [N, T, 8]"), Error);
  }

  TEST_CASE("BiLSTMClassifier: shapes, parameter names, forward == classify(embed, mask), hooks, padding") {
    manual_seed(2);
    BiLSTMClassifier model({.vocab_size = 20, .embedding_dim = 6, .hidden_size = 5, .num_classes = 3});
    const auto names = parameter_names(model);
    CHECK(names.size() == 1 + 8 + 2);
    CHECK(names.front() == "embedding.weight");
    CHECK(names[1] == "lstm.weight_ih_l0");
    CHECK(names[8] == "lstm.bias_hh_l0_reverse");
    CHECK(names.back() == "fc.bias");
    CHECK(model.fc->in_features == 10);
    CHECK(model.activation_layers() == std::vector<std::string>{"embedding", "lstm_out", "fc"});
    model.eval();
    const Tensor ids = tensor_from({3, 4, 5, 0, 0, 1, 2, 3, 4, 5}, {2, 5});
    Shape seen;
    HookHandle h = model.submodule("lstm_out").register_forward_hook(
        [&](Module&, const Tensor&, const Tensor& out) { seen = out.shape(); });
    const Tensor logits = model(ids);
    CHECK(logits.shape() == Shape{2, 3});
    CHECK(seen == Shape{2, 5, 10});
    CHECK_CLOSE(logits, model.classify(model.embed(ids), model.token_mask(ids)), 0, 0);
    // packed-sequence semantics: the padded row scores as the row alone
    CHECK_CLOSE(narrow(logits, 0, 0, 1), model(tensor_from({3, 4, 5}, {1, 3})), 1e-6, 1e-7);
  }

  TEST_CASE("TextCNN and BiLSTMClassifier fit 'token 5 appears' on 40 sequences (100% train accuracy)") {
    const Synthetic d = synthetic_data();
    manual_seed(11);
    TextCNN cnn({.vocab_size = 10, .embedding_dim = 16, .filters = {{2, 8}, {3, 8}, {4, 8}}});
    const int cnn_steps = steps_to_fit(cnn, d, 300);
    INFO("TextCNN steps " << cnn_steps);
    CHECK(cnn_steps > 0);
    manual_seed(12);
    BiLSTMClassifier lstm({.vocab_size = 10, .embedding_dim = 16, .hidden_size = 16});
    const int lstm_steps = steps_to_fit(lstm, d, 300);
    INFO("BiLSTM steps " << lstm_steps);
    CHECK(lstm_steps > 0);
    // The <pad> row (padding_idx's) starts at zero and training never moves it: padded steps get no gradient.
    CHECK_CLOSE(narrow(cnn.embedding->weight, 0, 0, 1), zeros({1, 16}), 0, 0);
    CHECK_CLOSE(narrow(lstm.embedding->weight, 0, 0, 1), zeros({1, 16}), 0, 0);
    CHECK(narrow(cnn.embedding->weight, 0, 1, 1).abs().sum().item() > 0);
  }
}
