#pragma once
// Module: the building block of networks, as torch.nn.Module. A module owns named parameters (tensors
// the optimizer trains), named buffers (state that is saved but not trained, e.g. BatchNorm's running
// statistics) and named child modules; everything is kept in registration order, so parameter names
// and state_dict order are the same on every run ("features.0.weight", as PyTorch writes them).
//
// Calling a module, m(x), runs forward(x) and then its forward hooks. A hook sees the module, its
// input and its output and may return a replacement output: this is how Grad-CAM reads activations,
// how activations are captured for probing, and how units are pruned or patched.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
// Ordered (name, tensor) pairs: what state_dict() returns and checkpoints store.
using StateDict = std::vector<std::pair<std::string, Tensor>>;
// hook(module, input, output): return a tensor to replace the output, or std::nullopt to keep it.
using ForwardHook = std::function<std::optional<Tensor>(Module&, const Tensor& input, const Tensor& output)>;

// Returned by register_forward_hook: owns the registration, RAII-style, so a hook lives exactly as
// long as its handle. The destructor removes the hook, so a hook installed for the duration of one
// call (Grad-CAM's activation probe, the backward-rule methods) is gone however that call ends,
// exceptions included. remove() does it early (safe to call twice, or after the module is gone);
// detach() gives the hook up for good: it stays registered for the module's lifetime. Movable, not
// copyable (two owners could not agree on when to remove); [[nodiscard]] because a discarded handle
// would remove its hook at once.
class [[nodiscard]] HookHandle {
 public:
  HookHandle() = default;
  ~HookHandle() { remove(); }
  HookHandle(HookHandle&& other) noexcept;
  HookHandle& operator=(HookHandle&& other) noexcept;  // removes the hook this handle held, if any
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;

  void remove();
  void detach();  // keep the hook registered; this handle no longer refers to it
  bool active() const { return !hooks_.expired(); }  // holds a hook that is still registered

 private:
  friend class Module;
  using Hooks = std::vector<std::pair<int, ForwardHook>>;
  HookHandle(std::weak_ptr<Hooks> hooks, int id) : hooks_(std::move(hooks)), id_(id) {}
  std::weak_ptr<Hooks> hooks_;
  int id_ = 0;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // A module owns its tensors: copying one would silently share them, so it is not allowed.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  // forward(x), then each forward hook in registration order.
  Tensor operator()(const Tensor& x);

  // --- registration (in the constructor of a layer). Each returns what it registered, so a layer
  // keeps a handle: `weight = register_parameter("weight", ...)`.
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  // --- traversal. Names are dotted paths from this module; a tensor registered twice (tied weights)
  // is listed once by parameters()/named_parameters(), as PyTorch does.
  std::vector<Tensor> parameters() const;
  StateDict named_parameters() const;
  StateDict named_buffers() const;
  const std::vector<std::pair<std::string, ModulePtr>>& named_children() const { return children_; }
  // This module's descendants in pre-order, with their dotted paths (this module itself excluded).
  std::vector<std::pair<std::string, ModulePtr>> named_modules() const;
  std::int64_t num_parameters() const;  // total number of elements of parameters()

  // A descendant by dotted path ("features.3"); find returns null when there is none, submodule
  // throws an error saying which part of the path was not found.
  ModulePtr find(const std::string& path) const;
  Module& submodule(const std::string& path) const;

  // --- state: parameters then buffers of this module, then each child's, recursively.
  StateDict state_dict() const;
  // Copies the tensors into this module's parameters and buffers (in place, so optimizers and hooks
  // holding them stay valid). Missing or unexpected names (when strict) and shape mismatches (always)
  // throw one error listing every offending name.
  void load_state_dict(const StateDict& state, bool strict = true);
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // --- modes and housekeeping
  Module& train(bool on = true);  // recursively; Dropout and BatchNorm behave differently in training
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }
  void zero_grad();         // every parameter's .grad() becomes undefined
  // Calls fn on every descendant, then on this module (PyTorch's order): custom initialisation, e.g.
  //   net.apply([](Module& m) { if (auto* c = dynamic_cast<Conv2d*>(&m)) init::normal_(c->weight, 0, 0.02); });
  Module& apply(const std::function<void(Module&)>& fn);
  Module& to(Device d);     // moves parameters, buffers and grads; the same Tensor handles stay valid
  Module& to(DType t);      // converts floating parameters and buffers (int64 buffers are kept)

  // --- hooks. fn may return std::optional<Tensor>, Tensor (undefined = keep) or nothing.
  template <class F> HookHandle register_forward_hook(F&& fn) {
    using R = std::invoke_result_t<F&, Module&, const Tensor&, const Tensor&>;
    if constexpr (std::is_void_v<R>)
      return add_hook([f = std::forward<F>(fn)](Module& m, const Tensor& in, const Tensor& out) -> std::optional<Tensor> {
        f(m, in, out);
        return std::nullopt;
      });
    else if constexpr (std::is_same_v<std::decay_t<R>, Tensor>)
      return add_hook([f = std::forward<F>(fn)](Module& m, const Tensor& in, const Tensor& out) -> std::optional<Tensor> {
        Tensor r = f(m, in, out);
        return r.defined() ? std::optional<Tensor>(r) : std::nullopt;
      });
    else
      return add_hook(ForwardHook(std::forward<F>(fn)));
  }
  // Hooks registered on this module itself (not its descendants): e.g. to check that a method that
  // installs hooks for one call left none behind.
  std::size_t forward_hook_count() const { return hooks_->size(); }

  // --- printing: "Linear(in_features=4, out_features=2, bias=true)", children indented below.
  virtual std::string type_name() const = 0;
  virtual std::string extra_repr() const { return ""; }
  std::string str() const;

 protected:
  bool training_ = true;

 private:
  void add_child(const std::string& name, ModulePtr m);
  HookHandle add_hook(ForwardHook fn);
  void collect(const std::string& prefix, bool params, bool buffers, StateDict& out) const;
  void check_new_name(const std::string& name, const char* what) const;

  StateDict params_;
  StateDict buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
  std::shared_ptr<HookHandle::Hooks> hooks_ = std::make_shared<HookHandle::Hooks>();
};

std::ostream& operator<<(std::ostream& os, const Module& m);

// Saves the training mode of a module and of each of its descendants, and puts them all back when it
// goes out of scope (exceptions included): code that only measures (Grad-CAM, TCAV, MC dropout) may
// switch modes freely without leaving the model changed. Not copyable.
//
//   { nn::ModeRestorer keep(model); model.eval(); ... }   // model's modes as before
class ModeRestorer {
 public:
  explicit ModeRestorer(Module& model);
  ~ModeRestorer();
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;
  // model's descendants in pre-order, as saved (kept alive until restored)
  const std::vector<ModulePtr>& descendants() const { return modules_; }

 private:
  Module& model_;
  std::vector<ModulePtr> modules_;
  std::vector<bool> modes_;  // model's own mode, then each descendant's
};

// Eval mode while alive, then every module's own mode back: a forward that only measures must not
// move BatchNorm's running statistics or drop units.
class EvalScope {
 public:
  explicit EvalScope(Module& model) : keep_(model) { model.eval(); }

 private:
  ModeRestorer keep_;
};

}  // namespace lumen::nn
