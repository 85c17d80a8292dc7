#include "gan/counterfactuals.h"

#include <algorithm>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "figures/grid.h"

namespace lumen::gan {

namespace {

// Puts a module in eval mode for a scope and restores its previous mode.
class EvalScope {
 public:
  explicit EvalScope(nn::Module& m) : m_(m), was_training_(m.is_training()) { m.eval(); }
  ~EvalScope() { m_.train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  nn::Module& m_;
  bool was_training_;
};

}  // namespace

Prototypes select_prototypes(const Tensor& images, const Tensor& labels, std::int64_t num_classes,
                             std::int64_t per_class, nn::Module* classifier) {
  LUMEN_CHECK(images.dim() == 4 && labels.dim() == 1 && labels.size(0) == images.size(0) &&
                  labels.dtype() == DType::int64,
              "select_prototypes", "expected images [N, C, H, W] and int64 labels [N], got ", images.shape(), " and ",
              labels.shape(), " (", dtype_name(labels.dtype()), ")");
  LUMEN_CHECK(num_classes > 0 && per_class > 0, "select_prototypes", "expected num_classes and per_class > 0, got ",
              num_classes, " and ", per_class);
  autograd::NoGradGuard no_grad;
  const std::int64_t n = images.size(0);
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  std::vector<float> p_own(n, 0.0f);  // classifier's p(label) of each image
  if (classifier) {
    EvalScope eval(*classifier);
    for (std::int64_t s = 0; s < n; s += 500) {
      const std::int64_t b = std::min<std::int64_t>(500, n - s);
      Tensor logits = (*classifier)(images.narrow(0, s, b));
      LUMEN_CHECK(logits.dim() == 2 && logits.size(1) >= num_classes, "select_prototypes",
                  "expected classifier logits [N, >= ", num_classes, "], got ", logits.shape());
      const std::vector<float> p = softmax(logits, 1).contiguous().to_vector<float>();
      const std::int64_t k = logits.size(1);
      for (std::int64_t i = 0; i < b; ++i) {
        const std::int64_t c = y[s + i];
        if (c >= 0 && c < k) p_own[s + i] = p[i * k + c];
      }
    }
  }
  Prototypes out;
  for (std::int64_t c = 0; c < num_classes; ++c) {
    std::vector<std::int64_t> idx;
    for (std::int64_t i = 0; i < n; ++i)
      if (y[i] == c) idx.push_back(i);
    LUMEN_CHECK(!idx.empty(), "select_prototypes", "class ", c, " has no image among the ", n, " given");
    if (classifier)
      std::stable_sort(idx.begin(), idx.end(), [&](std::int64_t a, std::int64_t b) { return p_own[a] > p_own[b]; });
    idx.resize(std::min<std::size_t>(idx.size(), static_cast<std::size_t>(per_class)));
    out.images.push_back(index_select(images, 0, tensor_from(idx, {static_cast<std::int64_t>(idx.size())})).contiguous());
  }
  return out;
}

Counterfactuals select_candidates(std::int64_t n_candidates, const std::function<Tensor(std::int64_t)>& make,
                                  nn::Module& classifier, std::int64_t target) {
  LUMEN_CHECK(n_candidates >= 1, "select_candidates", "expected at least one candidate, got ", n_candidates);
  autograd::NoGradGuard no_grad;
  EvalScope eval(classifier);
  Counterfactuals out;
  std::vector<float> best_p;
  std::vector<std::int64_t> best_pred, best_m;
  std::vector<bool> flipped;
  for (std::int64_t m = 0; m < n_candidates; ++m) {
    Tensor imgs = make(m);
    Tensor logits = classifier(imgs);
    LUMEN_CHECK(logits.dim() == 2 && logits.size(0) == imgs.size(0) && target >= 0 && target < logits.size(1),
                "select_candidates", "expected logits [N, K] for ", imgs.size(0), " candidates with target in [0, K), got ",
                logits.shape(), " and target ", target);
    const std::int64_t n = logits.size(0);
    const std::vector<float> p = softmax(logits, 1).select(1, target).contiguous().to_vector<float>();
    const std::vector<std::int64_t> pred = argmax(logits, 1).to_vector<std::int64_t>();
    if (m == 0) {
      out.images = imgs.contiguous();
      best_p = p;
      best_pred = pred;
      best_m.assign(n, 0);
      flipped.assign(n, false);
      for (std::int64_t i = 0; i < n; ++i) flipped[i] = pred[i] == target;
    } else {
      LUMEN_CHECK(imgs.shape() == out.images.shape(), "select_candidates", "candidate ", m, " has shape ", imgs.shape(),
                  " but candidate 0 had ", out.images.shape());
      std::vector<double> take(n, 0.0);
      bool any = false;
      for (std::int64_t i = 0; i < n; ++i) {
        if (flipped[i]) continue;  // the first candidate that flips is kept
        if (pred[i] == target || p[i] > best_p[i]) {
          take[i] = 1.0, any = true;
          best_p[i] = p[i], best_pred[i] = pred[i], best_m[i] = m, flipped[i] = pred[i] == target;
        }
      }
      if (any) {
        Shape mask_shape(imgs.dim(), 1);
        mask_shape[0] = n;
        out.images = where(tensor(take, mask_shape, options_of(imgs)), imgs, out.images).contiguous();
      }
    }
    if (std::all_of(flipped.begin(), flipped.end(), [](bool f) { return f; })) break;
  }
  const std::int64_t n = static_cast<std::int64_t>(best_p.size());
  std::vector<double> pd(best_p.begin(), best_p.end());
  out.p_target = tensor(pd, {n});
  out.predicted = tensor_from(best_pred, {n});
  out.candidate = tensor_from(best_m, {n});
  return out;
}

Counterfactuals counterfactual(Generator& generator, StyleEncoder& style_encoder, const Tensor& x,
                               std::int64_t target, const Prototypes& prototypes, const CounterfactualOptions& opt) {
  LUMEN_CHECK(target >= 0 && target < prototypes.num_classes(), "counterfactual", "target class ", target,
              " is out of range: there are prototypes for ", prototypes.num_classes(), " classes");
  LUMEN_CHECK(opt.max_candidates >= 1, "counterfactual", "expected max_candidates >= 1, got ", opt.max_candidates);
  LUMEN_CHECK(opt.max_candidates == 1 || opt.classifier != nullptr, "counterfactual", "max_candidates = ",
              opt.max_candidates, " needs a classifier to choose among the candidates");
  const Tensor& refs = prototypes.images[target];
  LUMEN_CHECK(refs.dim() == 4 && refs.size(0) >= 1, "counterfactual", "expected prototypes of class ", target,
              " as [M >= 1, C, H, W], got ", refs.shape());
  autograd::NoGradGuard no_grad;
  // Clamped: a generator without a final sigmoid may step outside the valid pixel range.
  auto make = [&](std::int64_t m) { return clamp(generator(x, style_encoder(refs.narrow(0, m, 1))), 0.0, 1.0); };
  if (!opt.classifier) {
    Counterfactuals out;
    out.images = make(0);
    out.candidate = zeros({x.size(0)}, {.dtype = DType::int64});
    return out;
  }
  return select_candidates(std::min(opt.max_candidates, refs.size(0)), make, *opt.classifier, target);
}

Tensor counterfactual_grid(Generator& generator, StyleEncoder& style_encoder, const Tensor& sources,
                           const Prototypes& prototypes, std::int64_t scale) {
  LUMEN_CHECK(sources.dim() == 4 && sources.size(0) >= 1, "counterfactual_grid",
              "expected sources [N >= 1, C, H, W], got ", sources.shape());
  autograd::NoGradGuard no_grad;
  const std::int64_t k = prototypes.num_classes(), n = sources.size(0);
  std::vector<Tensor> columns{sources};
  for (std::int64_t c = 0; c < k; ++c) columns.push_back(counterfactual(generator, style_encoder, sources, c, prototypes).images);
  // [K+1, N, C, H, W] → row-major [N, K+1, ...]: each source followed by its counterfactuals.
  Tensor tiles = stack(columns, 1).reshape({n * (k + 1), sources.size(1), sources.size(2), sources.size(3)});
  return figures::upscale(figures::make_grid(tiles, k + 1, 2, 1.0), scale);
}

FlipReport count_flips(const Tensor& images, const Tensor& labels, std::int64_t k, std::int64_t batch,
                       const std::function<Counterfactuals(const Tensor& x, std::int64_t target)>& make,
                       const char* op) {
  LUMEN_CHECK(images.dim() == 4 && labels.dim() == 1 && labels.size(0) == images.size(0), op,
              "expected images [N, C, H, W] and labels [N], got ", images.shape(), " and ", labels.shape());
  LUMEN_CHECK(batch >= 1, op, "expected batch >= 1, got ", batch);
  const std::int64_t n = images.size(0);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(k * k), 0);
  std::int64_t flips = 0, changed = 0, changed_flips = 0;
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  for (std::int64_t s = 0; s < n; s += batch) {
    const std::int64_t b = std::min(batch, n - s);
    const Tensor x = images.narrow(0, s, b);
    for (std::int64_t t = 0; t < k; ++t) {
      const std::vector<std::int64_t> pred = make(x, t).predicted.to_vector<std::int64_t>();
      for (std::int64_t i = 0; i < b; ++i) {
        LUMEN_CHECK(pred[i] >= 0 && pred[i] < k, op, "the classifier predicted class ", pred[i], " but there are ", k,
                    " target classes");
        ++counts[static_cast<std::size_t>(t * k + pred[i])];
        flips += pred[i] == t;
        if (y[s + i] != t) ++changed, changed_flips += pred[i] == t;
      }
    }
  }
  FlipReport r;
  r.confusion = tensor_from(counts, {k, k});
  r.pairs = n * k;
  r.flip_rate = r.pairs ? static_cast<double>(flips) / static_cast<double>(r.pairs) : 0.0;
  r.flip_rate_changed = changed ? static_cast<double>(changed_flips) / static_cast<double>(changed) : 0.0;
  return r;
}

FlipReport evaluate_flips(Generator& generator, StyleEncoder& style_encoder, nn::Module& classifier,
                          const Tensor& images, const Tensor& labels, const Prototypes& prototypes,
                          std::int64_t max_candidates, std::int64_t batch) {
  return count_flips(images, labels, prototypes.num_classes(), batch, [&](const Tensor& x, std::int64_t t) {
    return counterfactual(generator, style_encoder, x, t, prototypes,
                          {.max_candidates = max_candidates, .classifier = &classifier});
  }, "evaluate_flips");
}

}  // namespace lumen::gan
