// The backward pass. Given output nodes and their gradients:
//   1. find every node reachable from the outputs and count, for each, how many edges lead into it;
//   2. (grad() only) mark the nodes from which a requested input can be reached; skip the rest;
//   3. run nodes whose count has dropped to zero: sum the gradients that arrived, apply the tensor's
//      hooks, call the node's backward, and send each input gradient along its edge.
// Gradients are summed with the differentiable add, so with create_graph the whole pass is recorded
// (without it, in place where the engine alone holds the sum: add_gradient).
#include "autograd/engine.h"

#include <algorithm>
#include <optional>

#include <unordered_map>
#include <unordered_set>

#include "autograd/graph.h"
#include "autograd/ops.h"

namespace lumen::autograd {

namespace {
thread_local bool g_grad_enabled = true;
// The queue_callback lists of the backward() passes running on this thread, innermost last (a hook
// may itself run a backward).
thread_local std::vector<std::vector<std::function<void()>>> g_callbacks;

// One backward() pass's callback list: pushed on entry, popped however the pass ends; run() calls
// finish() when the pass succeeded.
class CallbackScope {
 public:
  CallbackScope() { g_callbacks.emplace_back(); }
  ~CallbackScope() { g_callbacks.pop_back(); }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  void finish() {
    // A callback may queue another: take them from the front until none is left.
    for (std::size_t i = 0; i < g_callbacks.back().size(); ++i) {
      std::function<void()> fn = std::move(g_callbacks.back()[i]);
      fn();
    }
  }
};

struct NodeState {
  int dependencies = 0;
  bool needed = true;
  Tensor grad;  // sum of the gradients arrived so far
};

// Whether t's buffer is ours alone: no other tensor, view or saved copy can see it change.
bool sole_owner(const Tensor& t) { return t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1; }
bool exclusive(const Tensor& t) { return sole_owner(t) && t.is_contiguous(); }

// Adds g into a leaf's .grad(). Without create_graph the sum is done in place into a buffer we own;
// with it, out of place so the sum stays differentiable.
void accumulate_into(std::shared_ptr<TensorImpl> leaf_impl, Tensor g, bool create_graph) {
  if (!create_graph) g = g.detach();
  AutogradMeta& leaf = Tensor(std::move(leaf_impl)).mutable_autograd_meta();
  if (!leaf.grad) {
    leaf.grad = (create_graph || exclusive(g) ? g : g.clone()).impl_ptr();
    return;
  }
  Tensor old(leaf.grad);
  if (create_graph || old.requires_grad()) {
    leaf.grad = add(old, g).impl_ptr();
  } else {
    NoGradGuard no_grad;
    old.add_(g);
  }
}

// Whether t is its whole buffer, each element once, in some order of its dims: contiguous, or a
// permutation of a contiguous tensor (as a convolution's channels-last input gradient is).
bool whole_buffer(const Tensor& t) {
  std::vector<std::pair<std::int64_t, std::int64_t>> dims;  // (stride, size) of the dims that move
  for (std::int64_t d = 0; d < t.dim(); ++d)
    if (t.size(d) > 1) dims.emplace_back(t.stride(d), t.size(d));
  std::sort(dims.begin(), dims.end());
  std::int64_t dense = 1;
  for (auto [stride, size] : dims) {
    if (stride != dense) return false;
    dense *= size;
  }
  return t.offset() == 0 && t.impl()->storage->nbytes() == static_cast<std::size_t>(dense) * itemsize(t.dtype());
}

// Adds a gradient arriving at a node to those arrived before. Without create_graph, in place when
// the sum so far is a buffer nothing else holds: a tensor read by several ops (a text CNN's embeddings,
// by three convolutions) then costs no new buffer per extra reader, and keeps its first layout.
void add_gradient(Tensor& sum, Tensor g, bool create_graph) {
  if (!sum.defined()) {
    sum = std::move(g);
  } else if (!create_graph && sole_owner(sum) && whole_buffer(sum) && sum.shape() == g.shape() &&
             sum.dtype() == g.dtype() && sum.device() == g.device()) {
    NoGradGuard no_grad;
    sum.add_(g);
  } else {
    sum = add(sum, g);
  }
}

std::vector<Tensor> run(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                        const std::vector<Tensor>* inputs, GradOptions opt, const char* who) {
  LUMEN_CHECK(!outputs.empty(), who, "no outputs given");
  LUMEN_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), who, "got ", grad_outputs.size(),
              " grad_outputs for ", outputs.size(), " outputs");

  // Roots and their seed gradients.
  std::vector<std::pair<std::shared_ptr<Node>, Tensor>> roots;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    LUMEN_CHECK(out.defined() && out.requires_grad(), who, "output ", i,
                " does not require grad and has no grad_fn (was it computed under no_grad, or from tensors that "
                "do not require grad?)");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      LUMEN_CHECK(out.numel() == 1, who, "a gradient can be implied only for a scalar output; output ", i,
                  " has shape ", out.shape(), ", pass grad_outputs");
      g = ones_like(out);
    }
    LUMEN_CHECK(g.shape() == out.shape(), who, "grad_output ", i, " has shape ", g.shape(), " but the output has shape ",
                out.shape());
    roots.emplace_back(gradient_edge(out), g);
  }

  // 1. Reachable nodes, with dependency counts; `order` lists each node after all its descendants.
  std::unordered_map<Node*, NodeState> state;
  std::vector<Node*> order;
  {
    std::vector<std::pair<Node*, std::size_t>> stack;
    for (auto& [node, g] : roots) {
      if (state.count(node.get())) continue;
      state[node.get()];
      stack.emplace_back(node.get(), 0);
      while (!stack.empty()) {
        auto& [n, next] = stack.back();
        if (next < n->next_edges.size()) {
          Node* child = n->next_edges[next++].get();
          if (!child) continue;
          auto [it, fresh] = state.try_emplace(child);
          it->second.dependencies++;
          if (fresh) stack.emplace_back(child, 0);
        } else {
          order.push_back(n);
          stack.pop_back();
        }
      }
    }
  }

  // 2. For grad(): the nodes of the requested inputs, and which nodes lead to them.
  std::unordered_map<Node*, std::vector<std::size_t>> targets;
  if (inputs) {
    for (std::size_t i = 0; i < inputs->size(); ++i) {
      const Tensor& in = (*inputs)[i];
      LUMEN_CHECK(in.defined() && in.requires_grad(), who, "input ", i, " does not require grad");
      targets[gradient_edge(in).get()].push_back(i);
    }
    for (Node* n : order) {  // descendants first
      NodeState& s = state[n];
      s.needed = targets.count(n) > 0;
      for (auto& e : n->next_edges)
        if (e && state[e.get()].needed) s.needed = true;
    }
  }

  for (auto& [node, g] : roots) {
    NodeState& s = state[node.get()];
    s.grad = s.grad.defined() ? add(s.grad, g) : g;
  }

  // 3. Execute in dependency order.
  std::optional<CallbackScope> callbacks;
  if (!inputs) callbacks.emplace();
  std::vector<Tensor> results(inputs ? inputs->size() : 0);
  std::vector<Node*> ready;
  for (Node* n : order)
    if (state[n].dependencies == 0) ready.push_back(n);
  GradModeGuard mode(opt.create_graph);
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    NodeState& s = state[n];
    if (!s.needed) continue;
    Tensor g = std::move(s.grad);
    if (g.defined())
      for (auto& [id, hook] : n->hooks) {
        Tensor r = hook(g);
        if (r.defined()) g = r;
      }
    if (auto it = targets.find(n); it != targets.end() && g.defined())
      for (std::size_t i : it->second) results[i] = results[i].defined() ? add(results[i], g) : g;

    if (n->is_accumulator()) {
      if (!inputs && g.defined())
        if (auto leaf = static_cast<GradAccumulator*>(n)->leaf()) {
          Tensor leaf_tensor(leaf);
          accumulate_into(std::move(leaf), std::move(g), opt.create_graph);
          // A copy of the list: a hook may remove itself.
          const auto post = n->post_accumulate_hooks;
          for (auto& [id, hook] : post) hook(leaf_tensor);
        }
      continue;
    }
    if (!inputs && g.defined())
      if (auto kept = n->retained_output.lock()) accumulate_into(std::move(kept), g, opt.create_graph);

    std::vector<Tensor> in_grads;
    if (g.defined()) {
      // grad(): only the edges that lead to a requested input (e.g. not a Linear's weight in attribution).
      std::vector<bool> wanted;
      if (inputs)
        for (auto& e : n->next_edges) wanted.push_back(e && state[e.get()].needed);
      in_grads = n->apply(g, inputs ? &wanted : nullptr);
      if (in_grads.size() != n->next_edges.size())
        throw Error(n->name() + ": backward returned " + std::to_string(in_grads.size()) + " gradients for " +
                    std::to_string(n->next_edges.size()) + " inputs");
    }
    if (!opt.retain_graph && !opt.create_graph) n->release();  // a recorded backward still needs them
    for (std::size_t i = 0; i < n->next_edges.size(); ++i) {
      Node* child = n->next_edges[i].get();
      if (!child) continue;
      NodeState& cs = state[child];
      if (!in_grads.empty() && in_grads[i].defined())
        add_gradient(cs.grad, std::move(in_grads[i]), opt.create_graph);
      if (--cs.dependencies == 0) ready.push_back(child);
    }
  }

  if (callbacks) callbacks->finish();
  if (inputs)
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].defined()) continue;
      LUMEN_CHECK(opt.allow_unused, who, "input ", i,
                  " was not used to compute the outputs (pass allow_unused=true to get zeros)");
      NoGradGuard no_grad;
      results[i] = zeros_like((*inputs)[i]);
    }
  return results;
}

}  // namespace

bool grad_enabled() { return g_grad_enabled; }

void queue_callback(std::function<void()> fn) {
  LUMEN_CHECK(!g_callbacks.empty(), "autograd::queue_callback",
              "called outside a backward() pass (queue from a hook that backward() runs)");
  g_callbacks.back().push_back(std::move(fn));
}
void set_grad_enabled(bool on) { g_grad_enabled = on; }

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, GradOptions opt) {
  LUMEN_CHECK(!inputs.empty(), "autograd::grad", "no inputs given");
  return run(outputs, grad_outputs, &inputs, opt, "autograd::grad");
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
  run(outputs, grad_outputs, nullptr, {retain_graph, create_graph, false}, "backward");
}

}  // namespace lumen::autograd
