#pragma once
// Counterfactuals with the trained GAN: "this image, but of class B". The style of class B is taken
// from a reference image of B (a prototype); the generator redraws x in that style, and the
// classifier says whether the class flipped.
//
//   Prototypes protos = select_prototypes(train.images, train.labels, 4, 8, &classifier);
//   Counterfactuals cf = counterfactual(G, style_encoder, x, /*target=*/2, protos,
//                                       {.max_candidates = 8, .classifier = &classifier});
//   FlipReport r = evaluate_flips(G, style_encoder, classifier, test.images, test.labels, protos);
//
// Everything here runs without recording a graph.
#include <cstdint>
#include <functional>
#include <vector>

#include "gan/networks.h"
#include "nn/module.h"

namespace lumen::gan {

// Reference images for each class: images[c] is [M_c, C, H, W] (M_c >= 1), the preferred one first.
struct Prototypes {
  std::vector<Tensor> images;
  std::int64_t num_classes() const { return static_cast<std::int64_t>(images.size()); }
};

// Up to per_class images of each class 0..num_classes-1 of (images [N, C, H, W], int64 labels [N]).
// With a classifier, the images it gives the highest p(class) come first (so the prototype is the
// most typical example); without one, the data order is kept. Throws if a class has no image.
Prototypes select_prototypes(const Tensor& images, const Tensor& labels, std::int64_t num_classes,
                             std::int64_t per_class, nn::Module* classifier = nullptr);

struct CounterfactualOptions {
  // Reference images of the target class tried, in order (prototypes.images[target] rows 0, 1, ...).
  // With more than one, a classifier is needed to judge them.
  std::int64_t max_candidates = 1;
  nn::Module* classifier = nullptr;  // optional with one candidate: then only reports p(target)
};

struct Counterfactuals {
  Tensor images;     // [N, C, H, W]: the chosen counterfactual of each input
  Tensor p_target;   // float32 [N]: the classifier's p(target) of it (undefined without a classifier)
  Tensor predicted;  // int64 [N]: the classifier's class of it (undefined without a classifier)
  Tensor candidate;  // int64 [N]: which candidate (reference image) produced it
};

// Candidate selection, independent of how candidates are made: make(m) returns candidate m's images
// [N, ...] for m = 0..n_candidates-1. Each input keeps its first candidate the classifier assigns to
// `target`; inputs with none keep the candidate of highest p(target) (ties: the earlier). Candidates
// stop being made once every input has flipped. Cost: up to n_candidates calls of make + classifier.
Counterfactuals select_candidates(std::int64_t n_candidates, const std::function<Tensor(std::int64_t)>& make,
                                  nn::Module& classifier, std::int64_t target);

// Counterfactuals of x [N, C, H, W] for class `target`: G(x, style_encoder(reference)) for the
// reference images prototypes.images[target][0..max_candidates-1], clamped to [0, 1], selected as
// select_candidates does.
Counterfactuals counterfactual(Generator& generator, StyleEncoder& style_encoder, const Tensor& x,
                               std::int64_t target, const Prototypes& prototypes, const CounterfactualOptions& opt = {});

// A picture of counterfactuals: one row per source image (sources [N, C, H, W]) holding the source and
// then its counterfactual for each class 0..K-1 (style from prototypes.images[c][0]), tiled with
// figures::make_grid and upscaled ×scale: an RGB image [3, H', W'] for figures::save_png.
Tensor counterfactual_grid(Generator& generator, StyleEncoder& style_encoder, const Tensor& sources,
                           const Prototypes& prototypes, std::int64_t scale = 2);

struct FlipReport {
  Tensor confusion;              // int64 [K, K]: counts[target][predicted] over every (image, target) pair
  double flip_rate = 0;          // fraction of pairs the classifier assigns to their target
  double flip_rate_changed = 0;  // the same over pairs whose target differs from the image's class
  std::int64_t pairs = 0;
};

// The flip-rate bookkeeping shared by both GANs: every image of (images, labels) turned into every
// class 0..k-1 by make(x, t) (which returns the chosen Counterfactuals, with `predicted` set), in
// batches of `batch`, counted into a target × predicted confusion matrix. `op` names the caller in errors.
FlipReport count_flips(const Tensor& images, const Tensor& labels, std::int64_t k, std::int64_t batch,
                       const std::function<Counterfactuals(const Tensor& x, std::int64_t target)>& make,
                       const char* op);

// Every image of (images, labels) turned into every class 0..K-1 (K = prototypes.num_classes()), in
// batches of `batch`, and classified. Uses opt.max_candidates reference images per target (the
// classifier is always the one passed here).
FlipReport evaluate_flips(Generator& generator, StyleEncoder& style_encoder, nn::Module& classifier,
                          const Tensor& images, const Tensor& labels, const Prototypes& prototypes,
                          std::int64_t max_candidates = 1, std::int64_t batch = 500);

}  // namespace lumen::gan
