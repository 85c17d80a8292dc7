#include "xai/localisation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/core/error.h"

namespace lumen::xai {

namespace {

// Per-pixel relevance of a batch: n maps of `pixels` values each, row-major, channels summed.
struct Relevance {
  std::int64_t n = 0, h = 0, w = 0;
  std::vector<double> r;  // n * h * w
  std::int64_t pixels() const { return h * w; }
  const double* map(std::int64_t i) const { return r.data() + i * pixels(); }
};

Relevance relevance_of(const Tensor& attributions, const char* op) {
  const Tensor& a = attributions;
  LUMEN_CHECK(a.defined() && (a.dim() == 3 || a.dim() == 4), op,
              "expected attributions [N, C, H, W] or [N, H, W], got ", a.defined() ? a.str() : "undefined");
  LUMEN_CHECK(is_floating(a.dtype()), op, "expected floating attributions, got ", a.str());
  Relevance rel;
  rel.n = a.size(0), rel.h = a.size(-2), rel.w = a.size(-1);
  const std::int64_t c = a.dim() == 4 ? a.size(1) : 1;
  LUMEN_CHECK(rel.n == 0 || (c >= 1 && rel.h >= 1 && rel.w >= 1), op, "expected at least one channel and pixel, got ",
              a.str());
  const std::vector<double> v = a.to_vector<double>();
  const std::int64_t p = rel.pixels();
  rel.r.assign(static_cast<std::size_t>(rel.n * p), 0.0);
  for (std::int64_t i = 0; i < rel.n; ++i)
    for (std::int64_t k = 0; k < c; ++k)
      for (std::int64_t e = 0; e < p; ++e) {
        const double x = v[static_cast<std::size_t>((i * c + k) * p + e)];
        LUMEN_CHECK(std::isfinite(x), op, "expected finite attributions, got ", x, " in sample ", i);
        rel.r[static_cast<std::size_t>(i * p + e)] += x;
      }
  return rel;
}

// The masks as 0/1 bytes, one [H, W] map per sample (a [H, W] mask repeated).
std::vector<std::uint8_t> masks_for(const Tensor& masks, const Relevance& rel, const char* op) {
  LUMEN_CHECK(masks.defined() && (masks.dim() == 2 || masks.dim() == 3), op, "expected masks [N, H, W] or [H, W], got ",
              masks.defined() ? masks.str() : "undefined");
  const bool batched = masks.dim() == 3;
  LUMEN_CHECK(masks.size(-2) == rel.h && masks.size(-1) == rel.w && (!batched || masks.size(0) == rel.n), op,
              "masks ", masks.shape(), " do not fit attributions of ", rel.n, " maps of ", rel.h, "x", rel.w,
              " pixels; expected [", rel.n, ", ", rel.h, ", ", rel.w, "] or [", rel.h, ", ", rel.w, "]");
  const std::vector<double> v = masks.to_vector<double>();
  const std::int64_t p = rel.pixels();
  std::vector<std::uint8_t> out(static_cast<std::size_t>(rel.n * p));
  for (std::int64_t i = 0; i < rel.n; ++i)
    for (std::int64_t e = 0; e < p; ++e) {
      const double m = v[static_cast<std::size_t>((batched ? i * p : 0) + e)];
      LUMEN_CHECK(!std::isnan(m), op, "expected masks without NaN");
      out[static_cast<std::size_t>(i * p + e)] = m != 0.0;
    }
  return out;
}

// A per-sample score of (relevance map, mask, pixel count) for every sample of the batch.
using MaskScore = std::function<double(const double*, const std::uint8_t*, std::int64_t)>;

Tensor per_sample(const Tensor& attributions, const Tensor& masks, const char* op, const MaskScore& score) {
  const Relevance rel = relevance_of(attributions, op);
  const std::vector<std::uint8_t> m = masks_for(masks, rel, op);
  std::vector<double> out;
  for (std::int64_t i = 0; i < rel.n; ++i) out.push_back(score(rel.map(i), m.data() + i * rel.pixels(), rel.pixels()));
  return tensor(out, {rel.n}, {.dtype = DType::float64});
}

Tensor per_sample(const Tensor& attributions, const char* op,
                  const std::function<double(std::vector<double>)>& score) {
  const Relevance rel = relevance_of(attributions, op);
  std::vector<double> out;
  for (std::int64_t i = 0; i < rel.n; ++i) {
    std::vector<double> magnitude(rel.map(i), rel.map(i) + rel.pixels());
    for (double& x : magnitude) x = std::abs(x);
    out.push_back(score(std::move(magnitude)));
  }
  return tensor(out, {rel.n}, {.dtype = DType::float64});
}

}  // namespace

Tensor pointing_game(const Tensor& attributions, const Tensor& masks) {
  return per_sample(attributions, masks, "pointing_game", [](const double* r, const std::uint8_t* m, std::int64_t p) {
    return m[std::max_element(r, r + p) - r] ? 1.0 : 0.0;  // max_element returns the first maximum
  });
}

Tensor relevance_mass_accuracy(const Tensor& attributions, const Tensor& masks) {
  return per_sample(attributions, masks, "relevance_mass_accuracy",
                    [](const double* r, const std::uint8_t* m, std::int64_t p) {
                      double inside = 0, total = 0;
                      for (std::int64_t e = 0; e < p; ++e) {
                        const double pos = std::max(r[e], 0.0);
                        total += pos;
                        if (m[e]) inside += pos;
                      }
                      return total > 0 ? inside / total : 0.0;
                    });
}

Tensor relevance_rank_accuracy(const Tensor& attributions, const Tensor& masks) {
  return per_sample(attributions, masks, "relevance_rank_accuracy",
                    [](const double* r, const std::uint8_t* m, std::int64_t p) {
                      const auto k = static_cast<std::int64_t>(std::count(m, m + p, std::uint8_t{1}));
                      if (k == 0) return std::numeric_limits<double>::quiet_NaN();
                      std::vector<std::int64_t> order(static_cast<std::size_t>(p));
                      std::iota(order.begin(), order.end(), 0);
                      std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return r[a] > r[b]; });
                      std::int64_t hits = 0;
                      for (std::int64_t t = 0; t < k; ++t) hits += m[order[static_cast<std::size_t>(t)]];
                      return static_cast<double>(hits) / static_cast<double>(k);
                    });
}

Tensor localisation_auc(const Tensor& attributions, const Tensor& masks) {
  return per_sample(attributions, masks, "localisation_auc", [](const double* r, const std::uint8_t* m, std::int64_t p) {
    // Mann–Whitney from ranks: tied values share their average rank, which counts each tied
    // inside/outside pair as ½.
    std::vector<std::int64_t> order(static_cast<std::size_t>(p));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return r[a] < r[b]; });
    double rank_sum = 0, inside = 0;
    for (std::int64_t s = 0; s < p;) {
      std::int64_t e = s;
      double in_run = 0;
      while (e < p && r[order[static_cast<std::size_t>(e)]] == r[order[static_cast<std::size_t>(s)]])
        in_run += m[order[static_cast<std::size_t>(e++)]];
      rank_sum += in_run * (static_cast<double>(s + 1 + e) / 2.0);  // ranks s+1..e average (s+1+e)/2
      inside += in_run;
      s = e;
    }
    const double outside = static_cast<double>(p) - inside;
    if (inside == 0 || outside == 0) return std::numeric_limits<double>::quiet_NaN();
    return (rank_sum - inside * (inside + 1) / 2.0) / (inside * outside);
  });
}

Tensor sparseness(const Tensor& attributions) {
  return per_sample(attributions, "sparseness", [](std::vector<double> a) {
    std::sort(a.begin(), a.end());
    const auto n = static_cast<double>(a.size());
    double weighted = 0, total = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      weighted += (2.0 * static_cast<double>(i + 1) - n - 1.0) * a[i];
      total += a[i];
    }
    return total > 0 ? weighted / (n * total) : 0.0;
  });
}

Tensor complexity(const Tensor& attributions) {
  return per_sample(attributions, "complexity", [](std::vector<double> a) {
    const double total = std::accumulate(a.begin(), a.end(), 0.0);
    if (!(total > 0)) return 0.0;
    double h = 0;
    for (double x : a)
      if (x > 0) h -= x / total * std::log(x / total);
    return h;
  });
}

}  // namespace lumen::xai
