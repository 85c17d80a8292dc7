#pragma once
// Reverse-mode differentiation over the graph of graph.h.
//
// Two entry points, as in PyTorch:
//   t.backward(g)                   accumulates into the .grad() of every leaf (training);
//   autograd::grad(outs, ins, gs)   returns d(outs)/d(ins) and touches no .grad() (attribution).
// Both walk the nodes reachable from the outputs in reverse topological order, summing the gradients
// that reach a node from its several consumers before running its backward once.
#include <functional>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::autograd {

bool grad_enabled();
void set_grad_enabled(bool on);

// Scope in which ops record no graph (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(grad_enabled()) { set_grad_enabled(on); }
  ~GradModeGuard() { set_grad_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

struct GradOptions {
  bool retain_graph = false;   // keep saved tensors so the graph can be walked again (implied by create_graph)
  bool create_graph = false;   // record the backward pass itself (gradients of gradients)
  bool allow_unused = false;   // an input the outputs do not depend on gets zeros instead of an error
};

// Gradients of sum_i <outputs[i], grad_outputs[i]> with respect to each input. grad_outputs may be
// empty when every output is a scalar (ones are used). Inputs may be leaves or intermediate tensors.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, GradOptions opt = {});

// What Tensor::backward calls: accumulate into the leaves' .grad().
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

// Runs fn once the backward() pass now running has finished (after every node and hook), then
// forgets it: a hook that started asynchronous work (data parallelism's all-reduce) queues the wait
// for it here, so backward() returns with the gradients complete, as PyTorch's queue_callback.
// Callbacks run in the order queued; a pass that throws drops its callbacks. Outside a backward()
// pass it is an error.
void queue_callback(std::function<void()> fn);

}  // namespace lumen::autograd
