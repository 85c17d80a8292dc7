#include "xai/visualize.h"

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "figures/canvas.h"
#include "kernels/core/error.h"

namespace lumen::xai {

namespace {

// An attribution as [C, H, W] float32 on the CPU; accepts [H, W], [C, H, W] and [1, C, H, W].
Tensor attribution_chw(const Tensor& attr, const char* op) {
  LUMEN_CHECK(attr.defined() && (attr.dim() == 2 || attr.dim() == 3 || (attr.dim() == 4 && attr.size(0) == 1)), op,
              "expected an attribution [H, W], [C, H, W] or [1, C, H, W], got ",
              attr.defined() ? attr.str() : "undefined");
  LUMEN_CHECK(is_floating(attr.dtype()), op, "expected a floating attribution, got ", attr.str());
  Tensor chw = attr.dim() == 2 ? attr.unsqueeze(0) : attr.dim() == 4 ? attr.squeeze(0) : attr;
  return figures::detail::pixels(chw);
}

// The p-th percentile (0..100) of sorted values, interpolated linearly between neighbours (numpy's
// default method).
double percentile_sorted(const std::vector<double>& v, double p) {
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// The image's gray level (channel mean) and the heat map's checks shared by overlay and masked_image.
Tensor image_for(const Tensor& image, const Tensor& attr, const char* op) {
  Tensor img = figures::detail::pixels(figures::detail::as_chw(image, op));
  const std::int64_t ah = attr.size(-2), aw = attr.size(-1);
  LUMEN_CHECK(img.size(1) == ah && img.size(2) == aw, op, "image ", image.shape(), " and attribution ", attr.shape(),
              " differ in height or width");
  return img;
}

}  // namespace

Tensor normalize_attribution(const Tensor& attr, Sign sign, double outlier_percentile) {
  LUMEN_CHECK(outlier_percentile >= 0.0 && outlier_percentile < 100.0, "normalize_attribution",
              "expected outlier_percentile in [0, 100), got ", outlier_percentile);
  Tensor a = attribution_chw(attr, "normalize_attribution");
  const std::int64_t c = a.size(0), h = a.size(1), w = a.size(2);
  const float* src = a.data<float>();

  // Channel sum, then the selected sign (NaN counts as no attribution).
  std::vector<double> m(static_cast<std::size_t>(h * w), 0.0);
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t i = 0; i < h * w; ++i) m[static_cast<std::size_t>(i)] += src[k * h * w + i];
  std::vector<double> magnitudes;
  for (double& v : m) {
    if (std::isnan(v)) v = 0.0;
    switch (sign) {
      case Sign::all: break;
      case Sign::positive: v = std::max(v, 0.0); break;
      case Sign::negative: v = std::max(-v, 0.0); break;
      case Sign::absolute: v = std::abs(v); break;
    }
    if (v != 0.0 && std::isfinite(v)) magnitudes.push_back(std::abs(v));
  }

  Tensor out = zeros({h, w});
  if (magnitudes.empty()) return out;  // nothing of this sign: all zeros rather than 0 / 0
  std::sort(magnitudes.begin(), magnitudes.end());
  const double scale = percentile_sorted(magnitudes, 100.0 - outlier_percentile);
  const double lo = sign == Sign::all ? -1.0 : 0.0;
  float* dst = out.data<float>();
  for (std::size_t i = 0; i < m.size(); ++i) dst[i] = static_cast<float>(std::clamp(m[i] / scale, lo, 1.0));
  return out;
}

Tensor saliency_map(const Tensor& attributions, ChannelReduction reduce, bool normalise) {
  const Tensor& a = attributions;
  LUMEN_CHECK(a.defined() && a.dim() == 4 && a.size(1) >= 1, "saliency_map",
              "expected attributions [N, C, H, W] with C >= 1, got ", a.defined() ? a.str() : "undefined");
  LUMEN_CHECK(is_floating(a.dtype()), "saliency_map", "expected floating attributions, got ", a.str());
  autograd::NoGradGuard no_grad;  // a picture, not part of any graph
  Tensor magnitude = abs(a.detach());
  Tensor m = reduce == ChannelReduction::max   ? amax(magnitude, {1}, true)
             : reduce == ChannelReduction::sum ? sum(magnitude, {1}, true)
                                               : mean(magnitude, {1}, true);
  if (!normalise || m.numel() == 0) return m;
  Tensor lo = amin(m, {1, 2, 3}, true), range = amax(m, {1, 2, 3}, true) - lo;
  Tensor varies = gt(range, 0.0);  // a constant map has no range to divide by: it becomes 0
  return where(varies, (m - lo) / where(varies, range, ones_like(range)), zeros_like(m));
}

figures::Colormap default_colormap(Sign sign) {
  switch (sign) {
    case Sign::all: return figures::Colormap::bwr;
    case Sign::positive: return figures::Colormap::greens;
    case Sign::negative: return figures::Colormap::reds;
    case Sign::absolute: break;
  }
  return figures::Colormap::viridis;
}

Tensor heatmap(const Tensor& attr, Sign sign, const VisOptions& opt) {
  Tensor m = normalize_attribution(attr, sign, opt.outlier_percentile);
  return figures::colorize(m, opt.cmap.value_or(default_colormap(sign)), sign == Sign::all ? -1.0 : 0.0, 1.0);
}

Tensor overlay(const Tensor& image, const Tensor& attr, Sign sign, double alpha, const VisOptions& opt) {
  LUMEN_CHECK(alpha >= 0.0 && alpha <= 1.0, "overlay", "expected alpha in [0, 1], got ", alpha);
  Tensor heat = heatmap(attr, sign, opt);  // checks attr
  Tensor img = image_for(image, attr, "overlay");
  const std::int64_t c = img.size(0), n = img.size(1) * img.size(2);
  const float* src = img.data<float>();
  float* dst = heat.data<float>();
  const auto a = static_cast<float>(alpha);
  for (std::int64_t i = 0; i < n; ++i) {
    float gray = 0;
    for (std::int64_t k = 0; k < c; ++k) gray += std::clamp(src[k * n + i], 0.0f, 1.0f);
    gray /= static_cast<float>(c);
    for (std::int64_t k = 0; k < 3; ++k) dst[k * n + i] = (1.0f - a) * gray + a * dst[k * n + i];
  }
  return heat;
}

Tensor masked_image(const Tensor& image, const Tensor& attr, Sign sign, double outlier_percentile) {
  Tensor m = normalize_attribution(attr, sign, outlier_percentile);
  Tensor img = image_for(image, attr, "masked_image");
  const std::int64_t c = img.size(0), n = img.size(1) * img.size(2);
  Tensor out = empty({3, img.size(1), img.size(2)});
  const float *src = img.data<float>(), *mask = m.data<float>();
  float* dst = out.data<float>();
  for (std::int64_t k = 0; k < 3; ++k)
    for (std::int64_t i = 0; i < n; ++i)
      dst[k * n + i] = std::clamp(src[(c == 1 ? 0 : k) * n + i], 0.0f, 1.0f) * std::abs(mask[i]);
  return out;
}

}  // namespace lumen::xai
