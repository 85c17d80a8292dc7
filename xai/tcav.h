#pragma once
// The whole TCAV protocol (Kim et al., 2018) with its significance test, as one call, so that a lesson
// and the tests run the same thing:
//
//   xai::TcavRequest r{.layers = {"features.1", "features.4"}, .concept_images = stripes,
//                      .random_sets = random_sets /* 21 sets */, .class_inputs = zebras, .target_class = 3};
//   for (const xai::TcavLayerResult& l : xai::run_tcav(model, r))
//     std::cout << l.layer << ": " << l.significance.mean << (l.significance.significant ? " *" : "") << "\n";
//
// Pairing. With R random sets, pair i = 1..R−1 fits two CAVs: the concept against random_sets[i], and
// random_sets[0] (standing in for a concept) against random_sets[i] — the random-vs-random baseline.
// So both score lists have R − 1 entries, and the concept and its baseline meet the same random sets.
// Pair i's CAVs use the split seed cav.seed + i: results repeat for the same request.
//
// Per layer, the work is done once where it can be: the activations of each set (one forward each),
// the class inputs' gradients (one backward), 2(R − 1) CAV fits, then every sensitivity by one
// matmul [N, D]·[D, 2(R − 1)]. Significance: Welch's test of the concept's scores against the
// random-vs-random scores, Bonferroni over the layers of the request (tcav_significance).
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "xai/concepts.h"
#include "xai/gradient.h"
#include "xai/layer_gradients.h"

namespace lumen::nn {
class Module;
}

namespace lumen::xai {

struct TcavRequest {
  std::vector<std::string> layers;  // dotted names, each tested on its own
  Tensor concept_images;            // [Nc, ...] examples of the concept
  std::vector<Tensor> random_sets;  // R ≥ 3 sets [Nr, ...]; the first also plays the concept of random-vs-random
  Tensor class_inputs;              // [N, ...] inputs of the class whose sensitivity is measured
  std::int64_t target_class = 0;
  // Gradients by layer_integrated_gradients (zero-input baseline, ig_steps points of ig_method)
  // instead of layer_gradients.
  bool layer_ig = false;
  std::int64_t ig_steps = 5;
  Integration ig_method = Integration::gauss_legendre;
  LayerSpace space = LayerSpace::flat;  // channels: CAVs on global-average-pooled activations
  LinearClassifierOptions cav{};        // pair i's CAVs use seed cav.seed + i
  double alpha = 0.05;                  // before the Bonferroni division by layers.size()
  std::int64_t batch = 256;             // inputs per forward/backward pass
};

struct TcavLayerResult {
  std::string layer;
  // Per pair i = 1..R−1 (see the header comment): the concept's TCAV score and magnitude, its CAV's
  // held-out accuracy; the same for the random-vs-random CAV.
  std::vector<double> scores, magnitudes, cav_accuracies;
  std::vector<double> random_scores, random_magnitudes, random_cav_accuracies;
  Significance significance;  // of scores against random_scores
};

// One result per layer, in the request's order. Throws (naming the op) on no layers, fewer than 3
// random sets, undefined or empty image sets, and whatever the layer functions and fit_cav reject.
std::vector<TcavLayerResult> run_tcav(nn::Module& model, const TcavRequest& request);

}  // namespace lumen::xai
