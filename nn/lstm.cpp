// nn::LSTM: the input projection x W_ihᵀ of every step in one matmul per layer and direction, then
// a loop over the steps for the recurrent part (the only part that has to be sequential).
#include "nn/lstm.h"

#include <cmath>

#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "nn/init.h"
#include "nn/layers.h"

namespace lumen::nn {

namespace {

// The mask as 1/0 in x's dtype and device, checked to be [N, T] with each row's real steps a prefix
// (what the carry-through-padding rule below relies on to match packed sequences).
Tensor checked_mask(const Tensor& mask, const Tensor& x) {
  LUMEN_CHECK(mask.dim() == 2 && mask.size(0) == x.size(0) && mask.size(1) == x.size(1), "LSTM", "mask ", mask.shape(),
              " does not match input ", x.shape(), ": expected [N, T] = [", x.size(0), ", ", x.size(1), "]");
  const auto m = mask.to_vector<double>();
  const std::int64_t T = x.size(1);
  for (std::int64_t n = 0; n < x.size(0); ++n)
    for (std::int64_t t = 0; t < T; ++t) {
      const double v = m[static_cast<std::size_t>(n * T + t)];
      LUMEN_CHECK(v == 0.0 || v == 1.0, "LSTM", "mask values must be 0 or 1, got ", v, " at [", n, ", ", t, "]");
      LUMEN_CHECK(t == 0 || v <= m[static_cast<std::size_t>(n * T + t - 1)], "LSTM", "mask row ", n,
                  " has a real step ", t, " after padding: the real steps must be a prefix of each row");
    }
  return mask.detach().to(x.dtype()).to(x.device());
}

struct State {
  Tensor h, c;
};

}  // namespace

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions opt)
    : input_size(input_size), hidden_size(hidden_size), options(opt) {
  LUMEN_CHECK(input_size > 0 && hidden_size > 0 && opt.num_layers > 0, "LSTM",
              "expected positive sizes, got input_size=", input_size, ", hidden_size=", hidden_size,
              ", num_layers=", opt.num_layers);
  const std::int64_t dirs = opt.bidirectional ? 2 : 1, H = hidden_size;
  const std::int64_t gates = checked_mul(4, H, "LSTM", "hidden_size");
  const double bound = 1.0 / std::sqrt(static_cast<double>(H));
  for (std::int64_t l = 0; l < opt.num_layers; ++l)
    for (std::int64_t d = 0; d < dirs; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      const std::int64_t in = l == 0 ? input_size : dirs * H;
      Weights w;
      w.w_ih = register_parameter("weight_ih" + sfx, init::uniform_(empty({gates, in}), -bound, bound));
      w.w_hh = register_parameter("weight_hh" + sfx, init::uniform_(empty({gates, H}), -bound, bound));
      if (opt.bias) {
        w.b_ih = register_parameter("bias_ih" + sfx, init::uniform_(empty({gates}), -bound, bound));
        w.b_hh = register_parameter("bias_hh" + sfx, init::uniform_(empty({gates}), -bound, bound));
      }
      weights_.push_back(w);
    }
}

Tensor LSTM::forward(const Tensor& x) { return forward_masked(x, {}).output; }

LSTMOutput LSTM::forward_masked(const Tensor& x, const Tensor& mask_in) {
  LUMEN_CHECK(x.defined() && x.dim() == 3 && x.size(2) == input_size, "LSTM", "expected input [N, T, ", input_size,
              "], got ", x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  LUMEN_CHECK(x.size(1) > 0, "LSTM", "expected at least one time step, got input ", x.shape());
  const std::int64_t N = x.size(0), T = x.size(1), H = hidden_size, dirs = options.bidirectional ? 2 : 1;
  const Tensor mask = mask_in.defined() ? checked_mask(mask_in, x) : Tensor();
  std::vector<Tensor> m_t, keep_t;  // per step: mask [N, 1] and 1 - mask
  if (mask.defined())
    for (std::int64_t t = 0; t < T; ++t) {
      m_t.push_back(unsqueeze(select(mask, 1, t), 1));
      keep_t.push_back(rsub(m_t.back(), 1.0));
    }

  Tensor input = x;
  std::vector<Tensor> h_n, c_n;
  for (std::int64_t l = 0; l < options.num_layers; ++l) {
    std::vector<Tensor> dir_outputs;
    for (std::int64_t d = 0; d < dirs; ++d) {
      const Weights& w = weights_[static_cast<std::size_t>(l * dirs + d)];
      // Both biases go into the one projection of all steps: [N, T, 4H].
      Tensor xw = linear(input, w.w_ih, w.b_ih);
      if (w.b_hh.defined()) xw = xw + w.b_hh;
      State s{zeros({N, H}, options_of(x)), zeros({N, H}, options_of(x))};
      std::vector<Tensor> outs(static_cast<std::size_t>(T));
      for (std::int64_t k = 0; k < T; ++k) {
        const std::int64_t t = d ? T - 1 - k : k;
        // At the first step h = 0: the recurrent product would add nothing.
        const Tensor gates = k == 0 ? select(xw, 1, t) : select(xw, 1, t) + linear(s.h, w.w_hh);
        const Tensor i = sigmoid(narrow(gates, 1, 0, H)), f = sigmoid(narrow(gates, 1, H, H));
        const Tensor g = lumen::tanh(narrow(gates, 1, 2 * H, H)), o = sigmoid(narrow(gates, 1, 3 * H, H));
        const Tensor c = k == 0 ? i * g : f * s.c + i * g;
        const Tensor h = o * lumen::tanh(c);
        if (mask.defined()) {  // padded steps keep the state and output 0
          const Tensor& m = m_t[static_cast<std::size_t>(t)];
          const Tensor& keep = keep_t[static_cast<std::size_t>(t)];
          outs[static_cast<std::size_t>(t)] = h * m;
          s = {h * m + s.h * keep, c * m + s.c * keep};
        } else {
          outs[static_cast<std::size_t>(t)] = h;
          s = {h, c};
        }
      }
      dir_outputs.push_back(stack(outs, 1));
      h_n.push_back(s.h);
      c_n.push_back(s.c);
    }
    input = dirs == 1 ? dir_outputs[0] : cat(dir_outputs, 2);
  }
  return {input, stack(h_n, 0), stack(c_n, 0)};
}

std::string LSTM::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size) + ", batch_first=true";
  if (options.num_layers != 1) s += ", num_layers=" + std::to_string(options.num_layers);
  if (!options.bias) s += ", bias=false";
  if (options.bidirectional) s += ", bidirectional=true";
  return s;
}

}  // namespace lumen::nn
