#pragma once
// The autograd graph. Every differentiable op that sees an input requiring grad attaches a Node to its
// output: the node remembers the inputs' nodes (next_edges), the tensors its backward needs (saved),
// and the backward function itself. A backward function maps the gradient of the output to one
// gradient per input and is written with differentiable ops, so running it with grad mode on
// (create_graph) records a graph of the backward pass: gradients of gradients for free.
//
// Leaves that require grad get a GradAccumulator node (the place where their gradient arrives).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace lumen {

// A tensor kept for backward. The op's own output is stored without its grad_fn (that would be a
// reference cycle node -> output -> node) and re-attached to the node when unpacked. `version` is the
// tensor's version counter when it was saved: if an in-place write changed it before backward, the
// gradient would be computed from the new values, so Node::apply refuses (as PyTorch does).
struct SavedTensor {
  Tensor data;
  bool is_output = false;
  std::uint64_t version = 0;
};

class Node;

// What a backward function receives beside the output's gradient: the saved tensors (s[i]) and
// which inputs need a gradient at all (s.needs(i)), so work for the others can be skipped: inputs
// that do not require grad, and, in autograd::grad, inputs from which no requested tensor can be
// reached (the weights, when attribution asks only for d/d(input)).
struct BackwardArgs {
  const std::vector<Tensor>& saved;
  const std::vector<std::shared_ptr<Node>>& edges;
  const std::vector<bool>* wanted = nullptr;  // null: every input with an edge
  const Tensor& operator[](std::size_t i) const { return saved[i]; }
  bool needs(std::size_t i) const { return edges[i] != nullptr && (!wanted || (*wanted)[i]); }
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad, const BackwardArgs& s)>;

  Node(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  virtual ~Node();

  const std::string& name() const { return name_; }
  // One entry per input of the op; null where that input needs no gradient.
  std::vector<std::shared_ptr<Node>> next_edges;
  std::vector<SavedTensor> saved;
  // Hooks on the output tensor: see (and possibly replace) its gradient before backward runs.
  std::vector<std::pair<int, GradHook>> hooks;
  // On a leaf's GradAccumulator: called by backward() after the gradient was added into .grad()
  // (Tensor::register_post_accumulate_grad_hook).
  std::vector<std::pair<int, PostAccumulateGradHook>> post_accumulate_hooks;
  // The output tensor if it asked to keep .grad() (retain_grad).
  std::weak_ptr<TensorImpl> retained_output;

  // Gradient w.r.t. each input, given the gradient w.r.t. the output. wanted (one flag per input;
  // null = all) lets the engine skip gradients nobody asked for; those entries may come back undefined.
  virtual std::vector<Tensor> apply(const Tensor& grad, const std::vector<bool>* wanted = nullptr);
  // Frees saved tensors after a backward pass that did not retain the graph.
  virtual void release() {
    saved.clear();
    released_ = true;
  }
  virtual bool is_accumulator() const { return false; }

 protected:
  std::string name_;
  BackwardFn fn_;
  bool released_ = false;
};

// Where the gradient of a leaf arrives; backward() adds it into the leaf's .grad().
class GradAccumulator final : public Node {
 public:
  explicit GradAccumulator(std::weak_ptr<TensorImpl> leaf) : Node("GradAccumulator", nullptr), leaf_(std::move(leaf)) {}
  std::vector<Tensor> apply(const Tensor& grad, const std::vector<bool>* wanted = nullptr) override;
  void release() override {}
  bool is_accumulator() const override { return true; }
  std::shared_ptr<TensorImpl> leaf() const { return leaf_.lock(); }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// The node through which a gradient reaches `t`: its grad_fn, or its accumulator for a leaf that
// requires grad, or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

// Attaches history to `out`, freshly computed from `inputs` by op `name`, when grad mode is on and an
// input requires grad. `saved` are the tensors `backward` receives (the output itself may be among
// them). Returns `out`. The typical op reads:
//
//   Tensor sigmoid(const Tensor& x) {                   // autograd/ops_elementwise.cpp
//     Tensor y = empty(x.shape(), options_of(x));
//     kernels::unary(kernels::UnaryOp::sigmoid, x, y);   // the forward: a kernel writes y
//     return record("sigmoid", y, {x}, {y}, [](const Tensor& g, const BackwardArgs& s) {
//       return grads(g * s[0] * (1.0 - s[0]));          // dσ/dx = σ(1-σ), itself made of ops
//     });
//   }
Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs, std::vector<Tensor> saved,
              Node::BackwardFn backward);

// The same for ops with a variable number of inputs (cat, stack).
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, std::vector<Tensor> saved,
              Node::BackwardFn backward);

inline std::vector<Tensor> grads(Tensor a) { return {std::move(a)}; }
inline std::vector<Tensor> grads(Tensor a, Tensor b) { return {std::move(a), std::move(b)}; }
inline std::vector<Tensor> grads(Tensor a, Tensor b, Tensor c) { return {std::move(a), std::move(b), std::move(c)}; }

}  // namespace lumen
