#include "xai/tcav.h"

#include "autograd/ops.h"
#include "kernels/core/error.h"

namespace lumen::xai {

namespace {

void check_set(const Tensor& t, const char* op, const std::string& what) {
  LUMEN_CHECK(t.defined() && t.dim() >= 1 && t.size(0) >= 1, op, "expected ", what, " [N, ...] with N ≥ 1, got ",
              t.defined() ? t.str() : "undefined");
}

void check_request(const TcavRequest& r, const char* op) {
  LUMEN_CHECK(!r.layers.empty(), op, "expected at least one layer");
  LUMEN_CHECK(r.random_sets.size() >= 3, op, "expected at least 3 random sets (random_sets[0] against each other one ",
              "gives the random-vs-random scores, and the test needs 2 of them), got ", r.random_sets.size());
  check_set(r.concept_images, op, "concept images");
  check_set(r.class_inputs, op, "class inputs");
  for (std::size_t i = 0; i < r.random_sets.size(); ++i) check_set(r.random_sets[i], op, "random set " + std::to_string(i));
}

// The class inputs' gradients at the layer, as the request asks: float64 [N, D].
Tensor class_gradients(nn::Module& model, const std::string& layer, const TcavRequest& r) {
  if (r.layer_ig)
    return layer_integrated_gradients(model, layer, r.class_inputs, r.target_class, r.ig_steps, r.ig_method, r.batch,
                                      r.space);
  return layer_gradients(model, layer, r.class_inputs, r.target_class, r.batch, r.space);
}

TcavLayerResult tcav_at_layer(nn::Module& model, const std::string& layer, const TcavRequest& r) {
  const Tensor concept_acts = layer_activations(model, layer, r.concept_images, r.batch, r.space);
  std::vector<Tensor> random_acts;
  for (const Tensor& set : r.random_sets) random_acts.push_back(layer_activations(model, layer, set, r.batch, r.space));
  const Tensor grads = class_gradients(model, layer, r);

  // CAV columns: the concept's for pairs 1..R−1, then random_sets[0]'s for the same pairs.
  const std::size_t pairs = r.random_sets.size() - 1;
  TcavLayerResult out{.layer = layer};
  std::vector<Tensor> directions;
  for (int concept_is_random = 0; concept_is_random < 2; ++concept_is_random) {
    for (std::size_t i = 1; i <= pairs; ++i) {
      LinearClassifierOptions opt = r.cav;
      opt.seed = r.cav.seed + i;
      const Cav cav = fit_cav(concept_is_random ? random_acts[0] : concept_acts, random_acts[i], opt);
      directions.push_back(cav.direction);
      (concept_is_random ? out.random_cav_accuracies : out.cav_accuracies).push_back(cav.accuracy);
    }
  }
  // All sensitivities at once: row j of Sᵀ holds CAV j's S over the class inputs.
  const Tensor sensitivities = matmul(grads, stack(directions, 1)).t().contiguous();
  for (std::size_t j = 0; j < directions.size(); ++j) {
    const TcavScore s = tcav_score(sensitivities.select(0, static_cast<std::int64_t>(j)));
    (j < pairs ? out.scores : out.random_scores).push_back(s.score);
    (j < pairs ? out.magnitudes : out.random_magnitudes).push_back(s.magnitude);
  }
  out.significance =
      tcav_significance(out.scores, out.random_scores, r.alpha, static_cast<std::int64_t>(r.layers.size()));
  return out;
}

}  // namespace

std::vector<TcavLayerResult> run_tcav(nn::Module& model, const TcavRequest& request) {
  check_request(request, "run_tcav");
  std::vector<TcavLayerResult> results;
  for (const std::string& layer : request.layers) results.push_back(tcav_at_layer(model, layer, request));
  return results;
}

}  // namespace lumen::xai
