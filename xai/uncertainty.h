#pragma once
// Predictive uncertainty from several predictive distributions per sample: the members of a deep
// ensemble, or the stochastic passes of a model with MC dropout (Gal & Ghahramani 2016), and the
// usual measures of them (Malinin & Gales 2020, "Uncertainty in structured prediction"):
//
//   Tensor p = xai::mc_dropout_probs(model, images, /*passes=*/50);   // [50, N, K]
//   auto u = xai::uncertainty_measures(p);
//   Tensor mi = u.mutual_information;                                 // [N], model uncertainty
//
//   // Explain the uncertainty itself: a module whose output [N, 1] is one measure.
//   xai::UncertaintyModule unc({model_a, model_b, model_c}, xai::Measure::mutual_information);
//   Tensor attr = xai::IntegratedGradients(xai::forward_of(unc)).attribute(images, /*target=*/0);
//
// Every measure is built from differentiable ops, so autograd can explain it (through the softmax
// back to the inputs), and every one reads "higher = more uncertain".
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "xai/attribution.h"

namespace lumen::xai {

// With ε = eps, p_m the members' probabilities [N, K] and p̄ = mean_m p_m:
struct UncertaintyMeasures {
  Tensor mean_probs;          // [N, K] p̄
  Tensor confidence;          // [N] −max_k p̄
  Tensor total;               // [N] EoE = −Σ_k p̄ log(p̄ + ε)          (predictive entropy, total uncertainty)
  Tensor data;                // [N] ExE = −mean_m Σ_k p_m log(p_m + ε)  (expected entropy, data uncertainty)
  Tensor mutual_information;  // [N] MI = EoE − ExE                      (model uncertainty)
  Tensor epkl;                // [N] EPKL = −Σ_k p̄_k · mean_m log(p_mk + ε) − ExE (expected pairwise KL)
  Tensor reverse_mi;          // [N] EPKL − MI (reverse mutual information)
  Tensor predicted_variance;  // [N] variance over members of p_m[c*], c* = argmax p̄ (population variance, ÷M)
  Tensor mean_variance;       // [N] mean over classes of the variance over members (÷M)
};

// member_probs [M, N, K] (M ≥ 1 members, K ≥ 1 classes, floating point; each row a distribution —
// not checked, only the dims are). The argmax c* takes no gradient (it is a choice, not a value).
UncertaintyMeasures uncertainty_measures(const Tensor& member_probs, double eps = 1e-10);

enum class Measure { confidence, total, data, mutual_information, epkl, reverse_mi, predicted_variance, mean_variance };
const Tensor& measure(const UncertaintyMeasures& u, Measure m);
// "confidence", "EoE", "ExE", "MI", "EPKL", "RMI", "var(pred)", "mean var"
const char* measure_name(Measure m);

// For its lifetime only the Dropout modules of `model` are in training mode; everything else is in
// eval mode (BatchNorm uses its running statistics and updates nothing). The destructor restores every
// module's previous mode, exceptions included. Not copyable.
class McDropoutScope {
 public:
  explicit McDropoutScope(nn::Module& model);

 private:
  nn::ModeRestorer keep_;  // every module's previous mode, put back by its destructor
};

// The softmax of `passes` stochastic forward passes of model under McDropoutScope: [passes, N, K].
// The batch is repeated and run in forwards of at most max_rows rows (memory), block by block (pass t
// is rows t·N .. t·N + N − 1 of the repeated batch). Dropout draws from the generator each Dropout
// module was given (or the default one), so a seeded run is reproducible; when each Dropout module
// draws from its own generator (or there is only one), the result does not depend on max_rows either,
// since every draw then takes the next positions of its stream whatever the chunk size (with several
// modules sharing one generator, chunks interleave their draws differently: same distribution,
// other numbers). Records a graph only when grad mode is on (wrap the call in autograd::NoGradGuard
// when only the numbers are wanted).
Tensor mc_dropout_probs(nn::Module& model, const Tensor& inputs, std::int64_t passes = 100,
                        std::int64_t max_rows = 8192);
// The same for any forward function that is stochastic by itself (e.g. a module already in MC mode):
// f maps [R, ...] to logits [R, K]; returns the softmax of `passes` passes, [passes, N, K].
Tensor repeated_probs(const ForwardFn& f, const Tensor& inputs, std::int64_t passes, std::int64_t max_rows = 8192);
// The softmax of each member's logits [N, K], each member put in eval mode (and left so): [M, N, K].
Tensor ensemble_probs(const std::vector<nn::Module*>& members, const Tensor& inputs);
// Sigmoid outputs of M binary segmenters, [M, N, 1, H, W] or [M, N, H, W], as per-pixel two-class
// distributions [M, N·H·W, 2] = (1 − p, p): uncertainty_measures then gives per-pixel measures
// [N·H·W], which reshape to maps [N, H, W]. Differentiable.
Tensor binary_member_probs(const Tensor& foreground_probs);

// Registers modules as children "0", "1", ... without running them: how UncertaintyModule exposes
// its members to find() and Grad-CAM ("members.0.features.29"). Its forward throws.
class MemberList : public nn::Module {
 public:
  explicit MemberList(const std::vector<nn::ModulePtr>& members);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MemberList"; }
  std::size_t size() const { return named_children().size(); }
  nn::Module& operator[](std::size_t i) const { return *named_children()[i].second; }
};

// A module whose forward is one uncertainty measure [N, 1] of the softmax of its members' logits, so
// any attribution method explains uncertainty instead of a class score:
//   IntegratedGradients(forward_of(u)).attribute(x, /*target=*/0)   or   GradCam(u, "members.0.features.29").
// The members are deterministic: the module and its members are put in eval mode when it is built.
// One member gives that model's own uncertainty (Measure::total: its predictive entropy; MI and the
// variances are 0), several an ensemble's.
class UncertaintyModule : public nn::Module {
 public:
  UncertaintyModule(std::vector<nn::ModulePtr> members, Measure which);
  Tensor forward(const Tensor& x) override;  // [N, 1]
  std::string type_name() const override { return "UncertaintyModule"; }
  std::string extra_repr() const override;
  Measure which() const { return which_; }
  const MemberList& members() const { return *members_; }

 private:
  std::shared_ptr<MemberList> members_;
  Measure which_;
};

}  // namespace lumen::xai
