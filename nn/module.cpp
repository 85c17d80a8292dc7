// Module bookkeeping (registration, traversal, state_dict, hooks) and checkpoints (nn/checkpoint.h).
#include "nn/module.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <sstream>

#include "autograd/engine.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"

namespace lumen::nn {

namespace {

std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

// Points the handle `t` at new data (another device or dtype) without changing the handle itself, so
// that every copy of it (a layer's member, an optimizer's list) sees the move: PyTorch's `p.data = ...`.
void set_data(const Tensor& t, const Tensor& src) {
  TensorImpl& i = *t.impl();
  i.storage = src.impl()->storage;
  i.shape = src.shape();
  i.strides = src.strides();
  i.offset = src.offset();
  i.dtype = src.dtype();
}

// Applies convert to t's data and to its .grad(), in place (see set_data).
template <class F> void convert_in_place(const Tensor& t, F&& convert) {
  autograd::NoGradGuard no_grad;
  set_data(t, convert(t.detach()));
  if (Tensor g = t.grad(); g.defined()) set_data(g, convert(g.detach()));
}

std::string names_list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

// ---- hooks

HookHandle::HookHandle(HookHandle&& other) noexcept : hooks_(std::move(other.hooks_)), id_(other.id_) {
  other.hooks_.reset();
}

HookHandle& HookHandle::operator=(HookHandle&& other) noexcept {
  if (this != &other) {
    remove();
    hooks_ = std::move(other.hooks_);
    id_ = other.id_;
    other.hooks_.reset();
  }
  return *this;
}

void HookHandle::remove() {
  std::shared_ptr<Hooks> hooks = hooks_.lock();
  hooks_.reset();
  if (!hooks) return;
  // The removed hook is destroyed last, after this handle is no longer used: its captures may own
  // this very handle (a hook that removes itself).
  ForwardHook removed;
  for (auto it = hooks->begin(); it != hooks->end(); ++it)
    if (it->first == id_) {
      removed = std::move(it->second);
      hooks->erase(it);
      break;
    }
}

void HookHandle::detach() { hooks_.reset(); }

HookHandle Module::add_hook(ForwardHook fn) {
  static std::atomic<int> next_id{1};
  int id = next_id++;
  hooks_->emplace_back(id, std::move(fn));
  return HookHandle(hooks_, id);
}

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  if (hooks_->empty()) return y;
  const auto hooks = *hooks_;  // a copy: a hook may remove itself while we iterate
  for (const auto& [id, hook] : hooks)
    if (std::optional<Tensor> r = hook(*this, x, y)) y = *r;
  return y;
}

// ---- registration

void Module::check_new_name(const std::string& name, const char* what) const {
  LUMEN_CHECK(!name.empty() && name.find('.') == std::string::npos, what, "invalid name '", name,
              "': expected a non-empty name without '.'");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.first == name; });
  };
  LUMEN_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), what, "'", name, "' is already registered in ",
              type_name());
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_new_name(name, "register_parameter");
  LUMEN_CHECK(t.defined() && t.is_leaf(), "register_parameter", "'", name,
              "' must be a defined leaf tensor (detach() a computed one)");
  t.requires_grad_(requires_grad);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name, "register_buffer");
  LUMEN_CHECK(t.defined(), "register_buffer", "'", name, "' is an undefined tensor");
  buffers_.emplace_back(name, t.detach());
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, ModulePtr m) {
  check_new_name(name, "register_module");
  LUMEN_CHECK(m != nullptr, "register_module", "'", name, "' is a null module");
  children_.emplace_back(name, std::move(m));
}

// ---- traversal

void Module::collect(const std::string& prefix, bool params, bool buffers, StateDict& out) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(join(prefix, n), t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(join(prefix, n), t);
  for (const auto& [n, c] : children_) c->collect(join(prefix, n), params, buffers, out);
}

StateDict Module::named_parameters() const {
  StateDict all, unique;
  collect("", true, false, all);
  std::set<const TensorImpl*> seen;  // tied weights: list each tensor once
  for (auto& e : all)
    if (seen.insert(e.second.impl()).second) unique.push_back(std::move(e));
  return unique;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

StateDict Module::named_buffers() const {
  StateDict out;
  collect("", false, true, out);
  return out;
}

StateDict Module::state_dict() const {
  StateDict out;
  collect("", true, true, out);
  return out;
}

std::vector<std::pair<std::string, ModulePtr>> Module::named_modules() const {
  std::vector<std::pair<std::string, ModulePtr>> out;
  for (const auto& [n, c] : children_) {
    out.emplace_back(n, c);
    for (auto& [sub, m] : c->named_modules()) out.emplace_back(n + "." + sub, m);
  }
  return out;
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

ModulePtr Module::find(const std::string& path) const {
  const Module* m = this;
  ModulePtr found;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '.');) {
    auto it = std::find_if(m->children_.begin(), m->children_.end(), [&](const auto& c) { return c.first == part; });
    if (it == m->children_.end()) return nullptr;
    found = it->second;
    m = found.get();
  }
  return found;
}

Module& Module::submodule(const std::string& path) const {
  if (ModulePtr m = find(path)) return *m;
  // Walk again to say which part failed and what was there instead.
  const Module* m = this;
  std::string walked;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '.');) {
    ModulePtr next = m->find(part);
    if (!next) {
      std::vector<std::string> names;
      for (const auto& c : m->children_) names.push_back(c.first);
      detail::fail("submodule", "no submodule '", path, "': '", part, "' is not a child of ",
                   walked.empty() ? "the root " + type_name() : "'" + walked + "' (" + m->type_name() + ")",
                   ", whose children are [", names_list(names), "]");
    }
    walked = join(walked, part);
    m = next.get();
  }
  detail::fail("submodule", "invalid path '", path, "'");
}

// ---- state

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  StateDict own = state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> own_names;
  for (const auto& [name, t] : own) {
    own_names.insert(name);
    auto it = state.find(name);
    if (it == state.end()) missing.push_back(name);
    else if (!it->second.defined() || it->second.shape() != t.shape())
      mismatched.push_back(name + " (given " + (it->second.defined() ? shape_str(it->second.shape()) : "undefined") +
                           ", expected " + shape_str(t.shape()) + ")");
  }
  for (const auto& [name, t] : state)
    if (!own_names.count(name)) unexpected.push_back(name);
  std::string problems;
  if (strict && !missing.empty()) problems += "; missing: " + names_list(missing);
  if (strict && !unexpected.empty()) problems += "; unexpected: " + names_list(unexpected);
  if (!mismatched.empty()) problems += "; shape mismatch: " + names_list(mismatched);
  LUMEN_CHECK(problems.empty(), "load_state_dict", "cannot load into ", type_name(), problems);

  autograd::NoGradGuard no_grad;  // in-place copies into parameters
  for (auto& [name, t] : own)
    if (auto it = state.find(name); it != state.end()) t.copy_(it->second);  // converts dtype/device
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  std::map<std::string, Tensor> m;
  for (const auto& [name, t] : state) {
    LUMEN_CHECK(!m.count(name), "load_state_dict", "name '", name, "' appears twice in the given state");
    m.emplace(name, t);
  }
  load_state_dict(m, strict);
}

// ---- modes, housekeeping

Module& Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
  return *this;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [n, c] : children_) c->apply(fn);
  fn(*this);
  return *this;
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.set_grad(Tensor());
}

Module& Module::to(Device d) {
  for (auto& [name, t] : state_dict())
    if (t.device() != d) convert_in_place(t, [&](const Tensor& x) { return x.to(d); });
  return *this;
}

Module& Module::to(DType dt) {
  LUMEN_CHECK(is_floating(dt), "Module::to", "expected a floating dtype, got ", dtype_name(dt));
  for (auto& [name, t] : state_dict())
    if (is_floating(t.dtype()) && t.dtype() != dt) convert_in_place(t, [&](const Tensor& x) { return x.to(dt); });
  return *this;
}

// ---- printing

std::string Module::str() const {
  std::string s = type_name() + "(" + extra_repr();
  if (children_.empty()) return s + ")";
  s += "\n";
  for (const auto& [n, c] : children_) {
    std::string child = c->str(), indented;
    for (char ch : child) indented += ch == '\n' ? std::string("\n  ") : std::string(1, ch);
    s += "  (" + n + "): " + indented + "\n";
  }
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.str(); }

// ---- checkpoints (nn/checkpoint.h)

void save(const Module& m, const std::string& path, const std::map<std::string, std::string>& metadata) {
  autograd::NoGradGuard no_grad;
  StateDict state = m.state_dict();
  for (auto& [name, t] : state) t = t.detach().cpu().contiguous();
  save_safetensors(path, state, metadata);
}

void load(Module& m, const std::string& path, bool strict) {
  std::map<std::string, Tensor> state = load_safetensors(path);
  try {
    m.load_state_dict(state, strict);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (checkpoint " + path + ")");
  }
}

ModeRestorer::ModeRestorer(Module& model) : model_(model) {
  modes_.push_back(model.is_training());
  for (auto& [name, m] : model.named_modules()) {
    modes_.push_back(m->is_training());
    modules_.push_back(m);
  }
}

ModeRestorer::~ModeRestorer() {
  // train() is recursive, so setting the modes in pre-order leaves each module with its own.
  model_.train(modes_[0]);
  for (std::size_t i = 0; i < modules_.size(); ++i) modules_[i]->train(modes_[i + 1]);
}

}  // namespace lumen::nn
