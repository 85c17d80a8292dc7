#pragma once
// Attributions over tokens: a text model sees each token as an embedding vector [D], so attribution
// methods give D numbers per token. These helpers make one number per token, give every token's
// embedding one feature id (for the perturbation methods), and compare distributions over words.
#include <cstdint>
#include <map>
#include <string>

#include "autograd/tensor.h"

namespace lumen::xai {

// How the attribution of a token's embedding vector a [D] becomes one number:
enum class TokenAggregation {
  sum,   // Σ_d a_d      (signed: contributions of opposite sign cancel)
  mean,  // (1/D) Σ_d a_d
  l1,    // Σ_d |a_d|    (magnitude only)
  l2,    // √Σ_d a_d²    (magnitude only)
};
const char* to_string(TokenAggregation a);

// attributions [N, T, D] (float32/float64) -> [N, T], same dtype and device.
Tensor aggregate_tokens(const Tensor& attributions, TokenAggregation a);

// int64 [T, D] with entry (t, d) = t: every token's embedding is one feature. As a feature mask it
// broadcasts over a batch [N, T, D] (expand_feature_mask), so T tokens are T features.
Tensor token_feature_mask(std::int64_t T, std::int64_t D);

// The Hellinger distance between two discrete distributions given as (key -> mass) maps, each
// normalised to sum 1 first (a key missing on one side has mass 0 there):
// H = ‖√P − √Q‖₂ / √2 ∈ [0, 1], 0 for equal distributions and 1 for disjoint supports.
// Throws on a negative or non-finite mass, or a side whose masses are all zero (or that is empty).
double hellinger(const std::map<std::string, double>& p, const std::map<std::string, double>& q);

}  // namespace lumen::xai
