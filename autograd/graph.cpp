#include "autograd/graph.h"

#include "autograd/engine.h"

namespace lumen {

// Frees the part of the graph only this node kept alive, iteratively: with the default recursive
// destruction a chain of many thousand ops (a long training loop's graph, an RNN) overflows the stack.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack = std::move(next_edges);
  auto take_saved = [&](std::vector<SavedTensor>& ss) {
    for (SavedTensor& st : ss)
      if (st.data.defined() && st.data.impl_ptr().use_count() == 1 && st.data.grad_fn())
        stack.push_back(std::move(st.data.autograd_meta()->grad_fn));
    ss.clear();
  };
  take_saved(saved);
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (!n || n.use_count() != 1) continue;  // still referenced elsewhere: not ours to free
    for (auto& e : n->next_edges) stack.push_back(std::move(e));
    n->next_edges.clear();
    take_saved(n->saved);
  }  // each n is destroyed here with nothing left to free recursively
}

std::vector<Tensor> Node::apply(const Tensor& grad, const std::vector<bool>* wanted) {
  if (released_)
    throw Error("backward: trying to backward through the graph a second time (its saved tensors were freed by the "
                "first backward of '" + name_ + "'); pass retain_graph=true to the first backward if you need this");
  std::vector<Tensor> unpacked;
  unpacked.reserve(saved.size());
  for (const SavedTensor& s : saved) {
    if (s.is_output && autograd::grad_enabled()) {
      // Re-attach this node as the output's history, so a create_graph backward differentiates through it.
      Tensor t = make_view(s.data, s.data.shape(), s.data.strides(), s.data.offset());
      AutogradMeta& m = t.mutable_autograd_meta();
      m.requires_grad = true;
      m.grad_fn = shared_from_this();
      unpacked.push_back(std::move(t));
    } else {
      unpacked.push_back(s.data);
    }
  }
  return fn_(grad, BackwardArgs{unpacked, next_edges, wanted});
}

std::vector<Tensor> GradAccumulator::apply(const Tensor&, const std::vector<bool>*) { return {}; }

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined()) return nullptr;
  AutogradMeta* m = t.autograd_meta();
  if (!m || !m->requires_grad) return nullptr;
  if (m->grad_fn) return m->grad_fn;
  if (!m->grad_accumulator) m->grad_accumulator = std::make_shared<GradAccumulator>(t.impl_ptr());
  return m->grad_accumulator;
}

Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs, std::vector<Tensor> saved,
              Node::BackwardFn backward) {
  return record(name, std::move(out), std::vector<Tensor>(inputs), std::move(saved), std::move(backward));
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, std::vector<Tensor> saved,
              Node::BackwardFn backward) {
  if (!autograd::grad_enabled()) return out;
  bool any = false;
  for (const Tensor& in : inputs) {
    if (!in.defined()) continue;
    if (in.is_same(out)) throw Error(std::string(name) + ": internal error, an op returned its input as its output");
    any |= in.requires_grad();
  }
  if (!any) return out;
  auto node = std::make_shared<Node>(name, std::move(backward));
  node->next_edges.reserve(inputs.size());
  for (const Tensor& in : inputs) node->next_edges.push_back(in.defined() && in.requires_grad() ? gradient_edge(in) : nullptr);
  node->saved.reserve(saved.size());
  for (Tensor& s : saved) {
    if (s.is_same(out)) node->saved.push_back({out.detach(), true});
    else node->saved.push_back({std::move(s), false});
  }
  AutogradMeta& m = out.mutable_autograd_meta();
  m.grad_fn = std::move(node);
  m.requires_grad = true;
  return out;
}

}  // namespace lumen
