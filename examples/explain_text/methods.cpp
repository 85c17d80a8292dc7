// Step 2's methods: token attributions, each a few lines over xai/. The gradient methods differentiate
// the target logit w.r.t. the input embeddings [N, T, D] and then aggregate each token's D numbers
// (xai::aggregate_tokens: μ = the mean over dimensions, ℓ2 = the norm); the perturbation methods switch
// whole tokens to the <pad> embedding (a feature = one token's embedding row).
#include <algorithm>
#include <map>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "examples/explain_text/steps.h"
#include "xai/backward_rules.h"
#include "xai/gradient.h"
#include "xai/lime.h"
#include "xai/perturbation.h"
#include "xai/shapley.h"
#include "xai/text.h"

namespace lumen::explain_text {

namespace {

// One group of rows of equal padded length, embedded once.
struct Group {
  Tensor ids, mask, embedded;  // [n, T], [n, T] float, [n, T, D] (detached)
  Tensor baseline;             // [T, D]: the <pad> embedding at every position
  xai::ForwardFn f;
  xai::Target target{0};  // replaced per group
};

using GroupFn = std::function<Tensor(const MethodContext&, const Group&)>;  // -> [n, T] scores

Tensor tokens_of(const Tensor& attributions, xai::TokenAggregation a) {
  return xai::aggregate_tokens(attributions, a);
}


// The scores of every row of `rows` for method fn, computed per group of equal length.
TokenScores run_grouped(const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                        const std::vector<std::int64_t>& targets, const GroupFn& fn) {
  LUMEN_CHECK(rows.size() == targets.size(), "explain_text", "one target per row expected");
  std::map<std::size_t, std::vector<std::size_t>> by_length;
  for (std::size_t i = 0; i < rows.size(); ++i) by_length[std::max<std::size_t>(rows[i].size(), kMinLen)].push_back(i);
  TokenScores out(rows.size());
  const std::int64_t chunk = 64;
  for (const auto& [len, members] : by_length) {
    for (std::size_t s = 0; s < members.size(); s += chunk) {
      const std::vector<std::size_t> part(members.begin() + static_cast<std::ptrdiff_t>(s),
                                          members.begin() + static_cast<std::ptrdiff_t>(std::min(members.size(), s + chunk)));
      std::vector<std::vector<std::int64_t>> group_rows;
      std::vector<std::int64_t> group_targets;
      for (std::size_t i : part) group_rows.push_back(rows[i]), group_targets.push_back(targets[i]);
      Group g;
      g.ids = nn::pad_batch(group_rows, kMinLen, static_cast<std::int64_t>(len));
      g.mask = nn::token_mask(g.ids);
      {
        autograd::NoGradGuard no_grad;
        g.embedded = ctx.model.embed(g.ids).detach();
        const Tensor pad = ctx.model.embed(tensor_from({ctx.model.pad_id}, {1, 1})).detach();  // [1, 1, D]
        g.baseline = expand(reshape(pad, {1, pad.size(2)}), {static_cast<std::int64_t>(len), pad.size(2)}).clone();
      }
      g.f = on_embeddings(ctx.model, g.mask);
      g.target = xai::Target(group_targets);
      const std::vector<double> scores = fn(ctx, g).to(DType::float64).to_vector<double>();
      for (std::size_t k = 0; k < part.size(); ++k) {
        const std::size_t n = rows[part[k]].size();
        out[part[k]].assign(scores.begin() + static_cast<std::ptrdiff_t>(k * len),
                            scores.begin() + static_cast<std::ptrdiff_t>(k * len + n));
      }
    }
  }
  return out;
}

Tensor token_mask_features(const Group& g) { return xai::token_feature_mask(g.embedded.size(1), g.embedded.size(2)); }

// fn on each row of the group alone, results stacked. For Shapley sampling and LIME, which evaluate one
// sample at a time (so the rows they pass the model are not whole copies of the group, and the group's
// mask cannot be lined up with them).
Tensor per_sentence(const MethodContext& ctx, const Group& g, const GroupFn& fn) {
  std::vector<Tensor> rows;
  for (std::int64_t i = 0; i < g.ids.size(0); ++i) {
    Group one;
    one.ids = g.ids.narrow(0, i, 1);
    one.mask = g.mask.narrow(0, i, 1);
    one.embedded = g.embedded.narrow(0, i, 1);
    one.baseline = g.baseline;
    one.f = on_embeddings(ctx.model, one.mask);
    one.target = xai::Target(g.target.at(i));
    rows.push_back(fn(ctx, one));
  }
  return cat(rows, 0);
}

}  // namespace

const std::vector<Method>& methods() {
  using A = xai::TokenAggregation;
  static const std::vector<Method> all = [] {
    std::vector<Method> m;
    auto add = [&m](std::string name, std::string key, bool cnn_only, GroupFn fn) {
      m.push_back(Method{std::move(name), std::move(key), cnn_only,
                         [fn](const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                              const std::vector<std::int64_t>& targets) { return run_grouped(ctx, rows, targets, fn); }});
    };
    add("Random", "random", false, [](const MethodContext& ctx, const Group& g) {
      return rand({g.ids.size(0), g.ids.size(1)}, {.dtype = DType::float64}, &ctx.gen);
    });
    add("Saliency μ", "saliency_mean", false, [](const MethodContext&, const Group& g) {
      return tokens_of(xai::Saliency(g.f).attribute(g.embedded, g.target), A::mean);
    });
    add("Saliency ℓ2", "saliency_l2", false, [](const MethodContext&, const Group& g) {
      return tokens_of(xai::Saliency(g.f).attribute(g.embedded, g.target), A::l2);
    });
    add("InputXGradient μ", "input_x_gradient_mean", false, [](const MethodContext&, const Group& g) {
      return tokens_of(xai::InputXGradient(g.f).attribute(g.embedded, g.target), A::mean);
    });
    add("InputXGradient ℓ2", "input_x_gradient_l2", false, [](const MethodContext&, const Group& g) {
      return tokens_of(xai::InputXGradient(g.f).attribute(g.embedded, g.target), A::l2);
    });
    // GuidedBackprop changes the backward of the model's nn::ReLU modules; a BiLSTM has none.
    add("GuidedBackprop μ", "guided_backprop_mean", true, [](const MethodContext& ctx, const Group& g) {
      xai::ReluRuleScope guided(ctx.model, xai::guided_relu);
      return tokens_of(xai::target_gradient(g.f, g.embedded, g.target), A::mean);
    });
    add("GuidedBackprop ℓ2", "guided_backprop_l2", true, [](const MethodContext& ctx, const Group& g) {
      xai::ReluRuleScope guided(ctx.model, xai::guided_relu);
      return tokens_of(xai::target_gradient(g.f, g.embedded, g.target), A::l2);
    });
    // IG's attributions sum to F(x) − F(<pad>…): the signed sum per token keeps that completeness.
    add("IntegratedGradients Σ", "integrated_gradients", false, [](const MethodContext& ctx, const Group& g) {
      return tokens_of(xai::IntegratedGradients(g.f).attribute(g.embedded, g.target, g.baseline, {.n_steps = ctx.o.ig_steps}),
                       A::sum);
    });
    add("Occlusion", "occlusion", false, [](const MethodContext&, const Group& g) {
      const std::int64_t d = g.embedded.size(2);
      return tokens_of(xai::Occlusion(g.f).attribute(g.embedded, g.target, g.baseline,
                                                     {.window = {1, d}, .strides = {1, d}, .perturbations_per_eval = 8}),
                       A::mean);
    });
    add("Shapley sampling", "shapley_sampling", false, [](const MethodContext& ctx, const Group& group) {
      return per_sentence(ctx, group, [](const MethodContext& c, const Group& g) {
        return xai::ShapleyValueSampling(g.f)
            .explain(g.embedded, g.target, g.baseline,
                     {.feature_mask = token_mask_features(g), .n_samples = c.o.shapley_samples, .generator = &c.gen})
            .values;
      });
    });
    add("LIME", "lime", false, [](const MethodContext& ctx, const Group& group) {
      return per_sentence(ctx, group, [](const MethodContext& c, const Group& g) {
        return xai::Lime(g.f)
            .explain(g.embedded, g.target, g.baseline,
                     {.feature_mask = token_mask_features(g), .n_samples = c.o.lime_samples,
                      .similarity = xai::lime_count_similarity, .generator = &c.gen})
            .coefficients;
      });
    });
    return m;
  }();
  return all;
}

bool applies(const Method& m, Arch a) { return !m.cnn_only || a == Arch::cnn; }

TokenScores attribute_rows(const Method& m, const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                           const std::vector<std::int64_t>& targets) {
  return m.run(ctx, rows, targets);
}

LimeFit lime_fit_quality(const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                         const std::vector<std::int64_t>& targets) {
  double mse = 0, r2 = 0;
  std::int64_t n = 0;
  run_grouped(ctx, rows, targets, [&](const MethodContext& c0, const Group& group) {
    return per_sentence(c0, group, [&](const MethodContext& c, const Group& g) {
    const xai::LimeResult res =
        xai::Lime(g.f).explain(g.embedded, g.target, g.baseline,
                               {.feature_mask = token_mask_features(g), .n_samples = c.o.lime_samples,
                                .similarity = xai::lime_count_similarity, .generator = &c.gen});
    for (double v : res.mse.to(DType::float64).to_vector<double>()) mse += v;
    for (double v : res.r2.to(DType::float64).to_vector<double>()) r2 += v, ++n;
    return zeros({g.ids.size(0), g.ids.size(1)}, {.dtype = DType::float64});
    });
  });
  return {mse / static_cast<double>(std::max<std::int64_t>(n, 1)), r2 / static_cast<double>(std::max<std::int64_t>(n, 1))};
}

const TokenScores& eval_scores(Lesson& l, Arch arch, bool trained, std::int64_t index, std::size_t method, std::int64_t cls) {
  const std::array<std::int64_t, 5> key{static_cast<std::int64_t>(arch), trained, index, static_cast<std::int64_t>(method), cls};
  auto it = l.score_cache.find(key);
  if (it != l.score_cache.end()) return it->second;
  const TrainedModel& m = (trained ? l.trained(arch) : l.untrained(arch))[static_cast<std::size_t>(index)];
  // Each entry draws from its own stream, so a score does not depend on which step asked for it first.
  Generator gen(l.o.seed * 1000003 + static_cast<std::uint64_t>(key[0] * 4099 + key[1] * 1031 + key[2] * 257 + key[3] * 7 + key[4]));
  MethodContext ctx{*m.model, arch, l.o, gen};
  const std::vector<std::int64_t> targets(l.eval_ids.size(), cls);
  return l.score_cache.emplace(key, attribute_rows(methods()[method], ctx, l.eval_ids, targets)).first->second;
}

TokenScores eval_scores_for(Lesson& l, Arch arch, bool trained, std::int64_t index, std::size_t method,
                            const std::vector<std::int64_t>& targets) {
  const TokenScores& c0 = eval_scores(l, arch, trained, index, method, 0);
  const TokenScores& c1 = eval_scores(l, arch, trained, index, method, 1);
  TokenScores out;
  for (std::size_t i = 0; i < targets.size(); ++i) out.push_back(targets[i] == 0 ? c0[i] : c1[i]);
  return out;
}

std::vector<std::pair<std::string, TokenScores>> aggregation_variants(const MethodContext& ctx,
                                                                      const std::vector<std::vector<std::int64_t>>& rows,
                                                                      const std::vector<std::int64_t>& targets) {
  using A = xai::TokenAggregation;
  std::vector<std::pair<std::string, TokenScores>> out;
  for (bool times_input : {false, true})
    for (A a : {A::sum, A::mean, A::l1, A::l2}) {
      const std::string name = std::string(times_input ? "InputXGradient " : "Saliency ") + xai::to_string(a);
      out.emplace_back(name, run_grouped(ctx, rows, targets, [&](const MethodContext&, const Group& g) {
                         return xai::aggregate_tokens(times_input ? xai::InputXGradient(g.f).attribute(g.embedded, g.target)
                                                                  : xai::Saliency(g.f).attribute(g.embedded, g.target),
                                                      a);
                       }));
    }
  return out;
}

TokenScores exact_shapley(const MethodContext& ctx, const std::vector<std::vector<std::int64_t>>& rows,
                          const std::vector<std::int64_t>& targets) {
  return run_grouped(ctx, rows, targets, [](const MethodContext& c, const Group& group) {
    return per_sentence(c, group, [](const MethodContext&, const Group& g) {
      return xai::exact_shapley_values(g.f, g.embedded, g.target, g.baseline, token_mask_features(g)).values;
    });
  });
}

}  // namespace lumen::explain_text
