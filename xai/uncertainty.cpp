#include "xai/uncertainty.h"

#include <algorithm>
#include <utility>

#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "nn/layers.h"

namespace lumen::xai {

namespace {
std::string describe(const Tensor& t) { return t.defined() ? t.str() : "undefined"; }

// −Σ_k p log(p + ε) over the last dim.
Tensor entropy(const Tensor& p, double eps) { return neg(sum(p * log(p + eps), {-1})); }
}  // namespace

UncertaintyMeasures uncertainty_measures(const Tensor& member_probs, double eps) {
  const char* op = "uncertainty_measures";
  LUMEN_CHECK(member_probs.defined() && member_probs.dim() == 3, op,
              "expected member probabilities [M, N, K], got ", describe(member_probs));
  LUMEN_CHECK(is_floating(member_probs.dtype()), op, "expected floating-point probabilities, got ", member_probs.str());
  LUMEN_CHECK(member_probs.size(0) >= 1 && member_probs.size(2) >= 1, op,
              "expected at least one member and one class, got ", member_probs.shape());
  LUMEN_CHECK(eps >= 0, op, "expected eps >= 0, got ", eps);
  const Tensor& p = member_probs;
  const std::int64_t m = p.size(0), n = p.size(1);

  UncertaintyMeasures u;
  u.mean_probs = mean(p, {0});                           // [N, K]
  u.confidence = neg(amax(u.mean_probs, {1}));           // [N]
  u.total = entropy(u.mean_probs, eps);                  // [N]
  u.data = mean(entropy(p, eps), {0});                   // [M, N] -> [N]
  u.mutual_information = u.total - u.data;
  const Tensor mean_log = mean(log(p + eps), {0});       // [N, K]: mean_m log(p_mk + ε)
  u.epkl = neg(sum(u.mean_probs * mean_log, {1})) - u.data;
  u.reverse_mi = u.epkl - u.mutual_information;
  // The predicted class is a choice, not a value: the index carries no gradient.
  const Tensor predicted = argmax(u.mean_probs.detach(), 1);                        // [N] int64
  const Tensor index = predicted.reshape({1, n, 1}).expand({m, n, 1}).contiguous();  // [M, N, 1]
  u.predicted_variance = var(gather(p, 2, index).squeeze(2), {0}, /*correction=*/0);
  u.mean_variance = mean(var(p, {0}, /*correction=*/0), {1});
  return u;
}

const Tensor& measure(const UncertaintyMeasures& u, Measure m) {
  switch (m) {
    case Measure::confidence: return u.confidence;
    case Measure::total: return u.total;
    case Measure::data: return u.data;
    case Measure::mutual_information: return u.mutual_information;
    case Measure::epkl: return u.epkl;
    case Measure::reverse_mi: return u.reverse_mi;
    case Measure::predicted_variance: return u.predicted_variance;
    case Measure::mean_variance: return u.mean_variance;
  }
  throw Error("measure: unknown Measure " + std::to_string(static_cast<int>(m)));
}

const char* measure_name(Measure m) {
  switch (m) {
    case Measure::confidence: return "confidence";
    case Measure::total: return "EoE";
    case Measure::data: return "ExE";
    case Measure::mutual_information: return "MI";
    case Measure::epkl: return "EPKL";
    case Measure::reverse_mi: return "RMI";
    case Measure::predicted_variance: return "var(pred)";
    case Measure::mean_variance: return "mean var";
  }
  throw Error("measure_name: unknown Measure " + std::to_string(static_cast<int>(m)));
}

// ---- MC dropout

McDropoutScope::McDropoutScope(nn::Module& model) : keep_(model) {
  model.eval();
  if (dynamic_cast<nn::Dropout*>(&model)) model.train(true);
  for (const auto& m : keep_.descendants())
    if (dynamic_cast<nn::Dropout*>(m.get())) m->train(true);
}

Tensor repeated_probs(const ForwardFn& f, const Tensor& inputs, std::int64_t passes, std::int64_t max_rows) {
  const char* op = "repeated_probs";
  LUMEN_CHECK(f, op, "expected a forward function, got an empty one");
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 1, op, "expected inputs [N, ...], got ", describe(inputs));
  LUMEN_CHECK(passes >= 1, op, "expected passes >= 1, got ", passes);
  LUMEN_CHECK(max_rows >= 1, op, "expected max_rows >= 1, got ", max_rows);
  const std::int64_t n = inputs.size(0);
  const std::int64_t rows = checked_mul(passes, n, op, "passes × batch rows");

  auto probs_of = [&](const Tensor& chunk) {
    const Tensor logits = f(chunk);
    LUMEN_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == chunk.size(0), op,
                "expected the forward function to map ", chunk.size(0), " rows to logits [", chunk.size(0),
                ", K], got ", describe(logits));
    return softmax(logits, 1);
  };
  if (rows == 0) {  // an empty batch: one forward tells K, as PyTorch's repeated empty batch would
    const Tensor p = probs_of(inputs);
    return p.reshape({passes, 0, p.size(1)});
  }
  // Row r of the repeated batch is sample r mod N. A chunk [r0, r1) within one copy of the batch is a
  // view; any other is one gather of its rows (one copy, where a cat of its ~(r1 − r0)/N runs costs
  // one copy op each).
  std::vector<Tensor> outputs;
  for (std::int64_t r0 = 0; r0 < rows; r0 += std::min(max_rows, rows - r0)) {
    const std::int64_t r1 = r0 + std::min(max_rows, rows - r0);
    if (r1 - r0 <= n - r0 % n) {
      outputs.push_back(probs_of(inputs.narrow(0, r0 % n, r1 - r0)));
      continue;
    }
    std::vector<std::int64_t> sample(static_cast<std::size_t>(r1 - r0));
    for (std::int64_t r = r0; r < r1; ++r) sample[static_cast<std::size_t>(r - r0)] = r % n;
    outputs.push_back(probs_of(index_select(inputs, 0, tensor_from(sample, {}, inputs.device()))));
  }
  const std::int64_t k = outputs[0].size(1);
  for (const auto& o : outputs)
    LUMEN_CHECK(o.size(1) == k, op, "the forward function gave ", k, " and then ", o.size(1), " classes");
  return (outputs.size() == 1 ? outputs[0] : cat(outputs, 0)).reshape({passes, n, k});
}

Tensor mc_dropout_probs(nn::Module& model, const Tensor& inputs, std::int64_t passes, std::int64_t max_rows) {
  LUMEN_CHECK(passes >= 1, "mc_dropout_probs", "expected passes >= 1, got ", passes);
  LUMEN_CHECK(max_rows >= 1, "mc_dropout_probs", "expected max_rows >= 1, got ", max_rows);
  McDropoutScope mc(model);
  return repeated_probs(forward_of(model), inputs, passes, max_rows);
}

Tensor ensemble_probs(const std::vector<nn::Module*>& members, const Tensor& inputs) {
  const char* op = "ensemble_probs";
  LUMEN_CHECK(!members.empty(), op, "expected at least one member");
  LUMEN_CHECK(inputs.defined() && inputs.dim() >= 1, op, "expected inputs [N, ...], got ", describe(inputs));
  std::vector<Tensor> probs;
  for (std::size_t i = 0; i < members.size(); ++i) {
    LUMEN_CHECK(members[i] != nullptr, op, "member ", i, " is null");
    members[i]->eval();
    const Tensor logits = (*members[i])(inputs);
    LUMEN_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == inputs.size(0), op, "member ", i,
                " should map ", inputs.size(0), " rows to logits [", inputs.size(0), ", K], got ", describe(logits));
    LUMEN_CHECK(probs.empty() || logits.size(1) == probs[0].size(1), op, "member ", i, " gives ", logits.size(1),
                " classes, member 0 gives ", probs[0].size(1));
    probs.push_back(softmax(logits, 1));
  }
  return stack(probs, 0);
}

Tensor binary_member_probs(const Tensor& foreground_probs) {
  const Tensor& p = foreground_probs;
  LUMEN_CHECK(p.defined() && (p.dim() == 4 || (p.dim() == 5 && p.size(2) == 1)), "binary_member_probs",
              "expected foreground probabilities [M, N, 1, H, W] or [M, N, H, W], got ", describe(p));
  LUMEN_CHECK(is_floating(p.dtype()), "binary_member_probs", "expected floating-point probabilities, got ", p.str());
  const Tensor flat = p.reshape({p.size(0), -1, 1});  // [M, N·H·W, 1]
  return cat({rsub(flat, 1.0), flat}, 2);
}

// ---- UncertaintyModule

MemberList::MemberList(const std::vector<nn::ModulePtr>& members) {
  for (std::size_t i = 0; i < members.size(); ++i) {
    LUMEN_CHECK(members[i] != nullptr, "MemberList", "member ", i, " is null");
    register_module(std::to_string(i), members[i]);
  }
}

Tensor MemberList::forward(const Tensor&) {
  throw Error("MemberList::forward: a member list only registers its members; run each member instead");
}

UncertaintyModule::UncertaintyModule(std::vector<nn::ModulePtr> members, Measure which) : which_(which) {
  LUMEN_CHECK(!members.empty(), "UncertaintyModule", "expected at least one member");
  measure_name(which);  // throws on a value outside the enum
  members_ = register_module("members", std::make_shared<MemberList>(members));
  eval();
}

Tensor UncertaintyModule::forward(const Tensor& x) {
  std::vector<Tensor> probs;
  for (std::size_t i = 0; i < members_->size(); ++i) {
    const Tensor logits = (*members_)[i](x);
    LUMEN_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == x.size(0), "UncertaintyModule", "member ",
                i, " should give logits [", x.size(0), ", K], got ", describe(logits));
    LUMEN_CHECK(probs.empty() || logits.size(1) == probs[0].size(1), "UncertaintyModule", "member ", i, " gives ",
                logits.size(1), " classes, member 0 gives ", probs[0].size(1));
    probs.push_back(softmax(logits, 1));
  }
  return measure(uncertainty_measures(stack(probs, 0)), which_).unsqueeze(1);
}

std::string UncertaintyModule::extra_repr() const {
  return std::string("measure=") + measure_name(which_) + ", members=" + std::to_string(members_->size());
}

}  // namespace lumen::xai
