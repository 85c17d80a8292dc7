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

namespace {

// The one place a tensor is saved for backward: with its version, so Node::apply can tell if it changed.
SavedTensor save(Tensor t, bool is_output) {
  const std::uint64_t version = t.defined() ? t.version() : 0;
  return {std::move(t), is_output, version};
}

// The one place a saved tensor is checked: an in-place write since it was saved (to it or to any view
// of its storage) would make this backward use the new values, a silently wrong gradient.
void check_unchanged(const SavedTensor& s, std::size_t i, std::size_t count, const std::string& op) {
  if (!s.data.defined() || s.data.version() == s.version) return;
  detail::fail("backward", "a tensor that '", op, "' needs for its gradient has been modified by an in-place ",
               "operation: its saved tensor ", i, " of ", count, " (", s.is_output ? "the op's output" : "an input",
               ", ", s.data.str(), ") is at version ", s.data.version(), "; expected version ", s.version,
               " (when it was saved). Change a clone() instead, or run the forward pass again after the change");
}

}  // namespace

std::vector<Tensor> Node::apply(const Tensor& grad, const std::vector<bool>* wanted) {
  if (released_)
    throw Error("backward: trying to backward through the graph a second time (its saved tensors were freed by the "
                "first backward of '" + name_ + "'); pass retain_graph=true to the first backward if you need this");
  for (std::size_t i = 0; i < saved.size(); ++i) check_unchanged(saved[i], i, saved.size(), name_);
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
  for (Tensor& s : saved) node->saved.push_back(s.is_same(out) ? save(out.detach(), true) : save(std::move(s), false));
  AutogradMeta& m = out.mutable_autograd_meta();
  m.grad_fn = std::move(node);
  m.requires_grad = true;
  return out;
}

}  // namespace lumen
