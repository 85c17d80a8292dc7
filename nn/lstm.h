#pragma once
// LSTM over batch-first sequences, as torch.nn.LSTM(batch_first=True): same parameter names, layouts,
// gate order (i, f, g, o) and init, so a PyTorch state_dict loads. Padded batches are handled with a
// mask instead of packed sequences, with the same result:
//
//   nn::LSTM lstm(128, 64, {.bidirectional = true});
//   auto [out, h_n, c_n] = lstm.forward_masked(x, mask);  // x [N, T, 128], mask [N, T] of 1 (real) / 0 (pad)
//
// Built from differentiable ops (linear, sigmoid, tanh, mul, add, stack, cat), so gradients of any
// order flow through it.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.h"

namespace lumen::nn {

struct LSTMOptions {
  std::int64_t num_layers = 1;
  bool bidirectional = false;
  bool bias = true;
};

struct LSTMOutput {
  Tensor output;    // [N, T, dirs·H], 0 at padded steps
  Tensor h_n, c_n;  // [layers·dirs, N, H]: layer 0 forward, layer 0 reverse, layer 1 forward, ...
};

// Parameters per layer l (and with the suffix "_reverse" for the reverse direction):
// weight_ih_l<l> [4H, I or dirs·H], weight_hh_l<l> [4H, H], bias_ih_l<l> [4H], bias_hh_l<l> [4H],
// all U(-1/√H, 1/√H). Each step: (i, f, g, o) = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh,
// c ← σ(f)·c + σ(i)·tanh(g), h ← σ(o)·tanh(c).
class LSTM : public Module {
 public:
  LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions opt = {});
  Tensor forward(const Tensor& x) override;  // x [N, T, I]: forward_masked(x, {}).output
  // mask [N, T] of 1/0 with the real steps a PREFIX of each row (padding at the end); undefined = all
  // real. As PyTorch's packed sequences: a row's state is carried unchanged through its padded steps
  // (h ← m·h_new + (1 − m)·h), so the reverse direction starts at the row's last real step, and h_n is
  // the state after the last real step (forward) / after step 0 (reverse).
  LSTMOutput forward_masked(const Tensor& x, const Tensor& mask);
  std::string type_name() const override { return "LSTM"; }
  std::string extra_repr() const override;
  std::int64_t input_size, hidden_size;
  LSTMOptions options;

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;  // biases undefined without bias
  };
  std::vector<Weights> weights_;  // layer 0 forward, layer 0 reverse, layer 1 forward, ...
};

}  // namespace lumen::nn
