#pragma once
// Localisation and complexity of attribution maps (as in Quantus): does the relevance fall on the
// object a person marked, and how concentrated is it?
//
//   Tensor hits = xai::pointing_game(attr, masks);          // [N] float64, 1 or 0
//   Tensor mass = xai::relevance_mass_accuracy(attr, masks);
//   Tensor gini = xai::sparseness(attr);                    // no mask needed
//
// Inputs: attributions [N, C, H, W] or [N, H, W], any floating dtype and device; every entry must be
// finite. The relevance of pixel (i, j) is the sum over channels of the attribution (signed: a
// method's negative evidence is not counted as "pointing at" the object). Ground-truth masks are
// [N, H, W] or [H, W] (the same mask for every sample), of any dtype: nonzero = inside the object.
// Every metric returns a float64 CPU tensor [N]; an empty batch gives [0].
#include "autograd/tensor.h"

namespace lumen::xai {

// 1 when the most relevant pixel lies inside the mask, else 0. Ties go to the first pixel in
// row-major order (numpy's argmax).
Tensor pointing_game(const Tensor& attributions, const Tensor& masks);

// Arras et al.'s relevance mass accuracy, on the positive part of the relevance:
// Σ_{mask} max(r, 0) / Σ max(r, 0); 0 when no pixel has positive relevance.
Tensor relevance_mass_accuracy(const Tensor& attributions, const Tensor& masks);

// Arras et al.'s relevance rank accuracy: with K = |mask|, the fraction of the K most relevant pixels
// that lie inside the mask. Ties in relevance are ranked by row-major order (the earlier pixel first,
// a stable sort). NaN when the mask is empty.
Tensor relevance_rank_accuracy(const Tensor& attributions, const Tensor& masks);

// The ROC AUC of the relevance as a score for "inside the mask": the probability that a random inside
// pixel is more relevant than a random outside one, ties counted ½ (Mann–Whitney U / (P·Q)). NaN when
// the mask is empty or covers the whole image.
Tensor localisation_auc(const Tensor& attributions, const Tensor& masks);

// Chalasani et al.'s sparseness (Quantus Sparseness): the Gini index of |r| over the pixels, with
// |r| sorted ascending and i = 1..n, Σ (2i − n − 1) |r|_i / (n Σ |r|). 0 for a uniform map, → 1 when
// one pixel holds everything; 0 when every |r| is 0. (Quantus adds 1e-7 to every value first; here
// nothing is added, so a one-pixel map scores exactly (n − 1) / n.)
Tensor sparseness(const Tensor& attributions);

// Bhatt et al.'s complexity (Quantus Complexity): the entropy, natural log, of p = |r| / Σ |r| over
// the pixels, −Σ p log p with 0 log 0 = 0. 0 for one pixel, log n for a uniform map; 0 when every
// |r| is 0.
Tensor complexity(const Tensor& attributions);

}  // namespace lumen::xai
