#include "xai/segmentation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <vector>

#include "autograd/ops.h"
#include "figures/png_read.h"

namespace lumen::xai {

Tensor grid_feature_mask(std::int64_t height, std::int64_t width, std::int64_t cell_h, std::int64_t cell_w) {
  LUMEN_CHECK(height >= 1 && width >= 1 && cell_h >= 1 && cell_w >= 1, "grid_feature_mask",
              "expected positive sizes, got image ", height, "x", width, " and cells ", cell_h, "x", cell_w);
  const std::int64_t cells_x = (width + cell_w - 1) / cell_w;
  std::vector<std::int64_t> ids(static_cast<std::size_t>(height * width));
  for (std::int64_t i = 0; i < height; ++i)
    for (std::int64_t j = 0; j < width; ++j) ids[static_cast<std::size_t>(i * width + j)] = (i / cell_h) * cells_x + j / cell_w;
  return tensor_from(ids, {height, width});
}

Tensor relabel_contiguous(const Tensor& mask) {
  LUMEN_CHECK(mask.defined() && mask.dtype() == DType::int64, "relabel_contiguous", "expected an int64 mask, got ",
              mask.defined() ? mask.str() : "undefined");
  std::vector<std::int64_t> ids = mask.to_vector<std::int64_t>();
  std::vector<std::int64_t> values = ids;
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (auto& v : ids) v = std::lower_bound(values.begin(), values.end(), v) - values.begin();
  return tensor_from(ids, mask.shape(), mask.device());
}

Tensor load_region_mask(const std::string& path, const figures::PngReadOptions& opt) {
  const char* op = "load_region_mask";
  // Rows are decoded one at a time straight into the result: each pixel first gets the index of its
  // value (its channels packed into one key) among the distinct values seen so far, renumbered in
  // place at the end. So the result's 8 bytes per pixel are all the memory a mask takes.
  constexpr std::size_t kMaxRegions = 256;  // a drawn mask has a few; a photo would have thousands
  std::vector<std::uint32_t> keys;          // the distinct values, in order of first appearance
  std::unordered_map<std::uint32_t, std::int64_t> index_of;
  figures::PngHeader hd;
  Tensor mask;
  figures::read_png_rows(
      path, op, opt,
      [&](const figures::PngHeader& h) {
        hd = h;
        try {
          mask = empty({h.height, h.width}, {.dtype = DType::int64});
        } catch (const Error& e) {  // the allocator's "out of memory": say which file asked for it
          throw Error(std::string(op) + ": '" + path + "' (" + std::to_string(h.width) + " x " +
                      std::to_string(h.height) + " pixels): " + e.what());
        }
      },
      [&](std::int64_t y, const std::uint8_t* row) {
        const std::int64_t w = hd.width, channels = hd.channels;  // locals: `out` cannot alias them
        std::int64_t* out = mask.data<std::int64_t>() + y * w;
        std::uint32_t last_key = 0;
        std::int64_t last = -1;  // the previous pixel's index: masks are mostly runs of one value
        for (std::int64_t x = 0; x < w; ++x) {
          std::uint32_t key = 0;
          for (std::int64_t c = 0; c < channels; ++c) key = key << 8 | row[x * channels + c];
          if (last < 0 || key != last_key) {
            auto [it, added] = index_of.try_emplace(key, static_cast<std::int64_t>(keys.size()));
            if (added) {
              LUMEN_CHECK(keys.size() < kMaxRegions, op, "'", path, "' has more than ", kMaxRegions,
                          " distinct pixel values; a region mask holds at most ", kMaxRegions, " regions");
              keys.push_back(key);
            }
            last_key = key, last = it->second;
          }
          out[x] = last;
        }
      });
  // Renumber the regions in increasing order of their value.
  std::vector<std::int64_t> order(keys.size()), id(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return keys[static_cast<std::size_t>(a)] < keys[static_cast<std::size_t>(b)];
  });
  for (std::size_t r = 0; r < order.size(); ++r) id[static_cast<std::size_t>(order[r])] = static_cast<std::int64_t>(r);
  std::int64_t* ids = mask.data<std::int64_t>();
  for (std::int64_t p = 0, n = mask.numel(); p < n; ++p) ids[p] = id[static_cast<std::size_t>(ids[p])];
  return mask;
}

namespace {

// sRGB in [0, 1] -> CIELAB (D65), where Euclidean distance roughly matches perceived difference; this
// is also the scale SLIC's compactness is usually quoted in.
std::array<double, 3> srgb_to_lab(double r, double g, double b) {
  auto linear = [](double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); };
  r = linear(r), g = linear(g), b = linear(b);
  const double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
  auto f = [](double t) { return t > 216.0 / 24389 ? std::cbrt(t) : t * (24389.0 / 27 / 116) + 16.0 / 116; };
  return {116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))};
}

double dist2(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]);
}

// SLIC on one image: values [C, H, W] (C = 1 or 3) -> labels [H, W], contiguous in raster order.
std::vector<std::int64_t> slic(const std::vector<double>& img, std::int64_t c, std::int64_t h, std::int64_t w,
                               const SuperpixelOptions& opt) {
  const std::int64_t n = h * w;
  std::vector<std::array<double, 3>> lab(static_cast<std::size_t>(n));
  for (std::int64_t p = 0; p < n; ++p) {
    const double r = img[static_cast<std::size_t>(p)];
    lab[static_cast<std::size_t>(p)] =
        c == 3 ? srgb_to_lab(r, img[static_cast<std::size_t>(n + p)], img[static_cast<std::size_t>(2 * n + p)])
               : srgb_to_lab(r, r, r);
  }

  // Seeds on a regular grid of about n_segments cells of side S.
  const double s = std::sqrt(static_cast<double>(n) / static_cast<double>(opt.n_segments));
  const std::int64_t ny = std::clamp<std::int64_t>(std::llround(h / s), 1, h);
  const std::int64_t nx = std::clamp<std::int64_t>(std::llround(w / s), 1, w);
  struct Center {
    double y, x;
    std::array<double, 3> lab;
  };
  std::vector<Center> centers;
  for (std::int64_t i = 0; i < ny; ++i)
    for (std::int64_t j = 0; j < nx; ++j) {
      const double y = (i + 0.5) * h / ny, x = (j + 0.5) * w / nx;
      centers.push_back({y, x, lab[static_cast<std::size_t>(std::int64_t(y) * w + std::int64_t(x))]});
    }
  // Every pixel lies within one cell of its own seed, so searching ±one cell around each centre
  // (SLIC's 2S × 2S window) reaches every pixel and keeps the cost linear in the pixels.
  const auto radius = static_cast<std::int64_t>(std::ceil(std::max(double(h) / ny, double(w) / nx)));
  const double spatial = opt.compactness * opt.compactness / (s * s);

  std::vector<std::int64_t> label(static_cast<std::size_t>(n), 0);
  std::vector<double> best(static_cast<std::size_t>(n));
  for (std::int64_t it = 0; it < opt.max_iter; ++it) {
    std::fill(best.begin(), best.end(), std::numeric_limits<double>::infinity());
    for (std::size_t k = 0; k < centers.size(); ++k) {
      const Center& ct = centers[k];
      const std::int64_t y0 = std::max<std::int64_t>(0, std::int64_t(ct.y) - radius);
      const std::int64_t y1 = std::min<std::int64_t>(h, std::int64_t(ct.y) + radius + 1);
      const std::int64_t x0 = std::max<std::int64_t>(0, std::int64_t(ct.x) - radius);
      const std::int64_t x1 = std::min<std::int64_t>(w, std::int64_t(ct.x) + radius + 1);
      for (std::int64_t y = y0; y < y1; ++y)
        for (std::int64_t x = x0; x < x1; ++x) {
          const auto p = static_cast<std::size_t>(y * w + x);
          const double d = dist2(lab[p], ct.lab) + spatial * ((y - ct.y) * (y - ct.y) + (x - ct.x) * (x - ct.x));
          if (d < best[p]) best[p] = d, label[p] = static_cast<std::int64_t>(k);
        }
    }
    // Move each centre to the mean position and colour of its pixels (empty ones stay put).
    std::vector<std::array<double, 6>> acc(centers.size(), std::array<double, 6>{});
    for (std::int64_t p = 0; p < n; ++p) {
      auto& a = acc[static_cast<std::size_t>(label[static_cast<std::size_t>(p)])];
      a[0] += double(p / w), a[1] += double(p % w), a[5] += 1;
      for (int q = 0; q < 3; ++q) a[2 + q] += lab[static_cast<std::size_t>(p)][q];
    }
    for (std::size_t k = 0; k < centers.size(); ++k)
      if (acc[k][5] > 0) centers[k] = {acc[k][0] / acc[k][5], acc[k][1] / acc[k][5], {acc[k][2] / acc[k][5], acc[k][3] / acc[k][5], acc[k][4] / acc[k][5]}};
  }

  // Connectivity: k-means labels may be split into several pieces. Take the 4-connected components,
  // then merge every piece smaller than half a nominal segment into the adjacent piece closest in
  // mean colour (smallest first), so no stray fragments become features of their own.
  std::vector<std::int64_t> comp(static_cast<std::size_t>(n), -1);
  std::vector<std::vector<std::int64_t>> pixels;
  const std::int64_t dy[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
  for (std::int64_t p0 = 0; p0 < n; ++p0) {
    if (comp[static_cast<std::size_t>(p0)] >= 0) continue;
    const auto id = static_cast<std::int64_t>(pixels.size());
    std::vector<std::int64_t> list{p0};
    comp[static_cast<std::size_t>(p0)] = id;
    for (std::size_t q = 0; q < list.size(); ++q) {
      const std::int64_t y = list[q] / w, x = list[q] % w;
      for (int d = 0; d < 4; ++d) {
        const std::int64_t yy = y + dy[d], xx = x + dx[d];
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const auto pp = static_cast<std::size_t>(yy * w + xx);
        if (comp[pp] < 0 && label[pp] == label[static_cast<std::size_t>(list[q])]) comp[pp] = id, list.push_back(yy * w + xx);
      }
    }
    pixels.push_back(std::move(list));
  }
  std::vector<std::array<double, 3>> mean(pixels.size(), std::array<double, 3>{});
  for (std::size_t k = 0; k < pixels.size(); ++k)
    for (auto p : pixels[k])
      for (int q = 0; q < 3; ++q) mean[k][q] += lab[static_cast<std::size_t>(p)][q] / double(pixels[k].size());
  const auto min_size = static_cast<std::size_t>(double(n) / double(ny * nx) / 2);
  std::vector<std::size_t> order(pixels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return pixels[a].size() < pixels[b].size(); });
  for (std::size_t k : order) {
    if (pixels[k].empty() || pixels[k].size() >= min_size) continue;
    std::int64_t target = -1;
    double target_d = std::numeric_limits<double>::infinity();
    for (auto p : pixels[k])
      for (int d = 0; d < 4; ++d) {
        const std::int64_t yy = p / w + dy[d], xx = p % w + dx[d];
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const std::int64_t other = comp[static_cast<std::size_t>(yy * w + xx)];
        if (other == static_cast<std::int64_t>(k)) continue;
        const double dd = dist2(mean[k], mean[static_cast<std::size_t>(other)]);
        if (dd < target_d) target_d = dd, target = other;
      }
    if (target < 0) continue;  // the whole image is one piece
    auto& into = pixels[static_cast<std::size_t>(target)];
    const double a = double(into.size()), b = double(pixels[k].size());
    for (int q = 0; q < 3; ++q) mean[static_cast<std::size_t>(target)][q] = (a * mean[static_cast<std::size_t>(target)][q] + b * mean[k][q]) / (a + b);
    for (auto p : pixels[k]) comp[static_cast<std::size_t>(p)] = target, into.push_back(p);
    pixels[k].clear();
  }
  // Contiguous ids in raster order of first appearance.
  std::vector<std::int64_t> id_of(pixels.size(), -1);
  std::int64_t next = 0;
  for (auto& v : comp) {
    auto& id = id_of[static_cast<std::size_t>(v)];
    if (id < 0) id = next++;
    v = id;
  }
  return comp;
}

}  // namespace

Tensor superpixel_mask(const Tensor& image, const SuperpixelOptions& opt) {
  const char* op = "superpixel_mask";
  LUMEN_CHECK(image.defined() && image.dim() >= 2 && image.dim() <= 4, op,
              "expected an image [H, W], [C, H, W] or a batch [N, C, H, W], got ", image.defined() ? image.str() : "undefined");
  LUMEN_CHECK(image.dtype() == DType::float32 || image.dtype() == DType::float64, op,
              "expected a float32/float64 image with values in [0, 1], got ", dtype_name(image.dtype()));
  LUMEN_CHECK(opt.n_segments >= 1 && opt.compactness > 0 && opt.max_iter >= 1, op,
              "expected n_segments >= 1, compactness > 0 and max_iter >= 1, got ", opt.n_segments, ", ",
              opt.compactness, ", ", opt.max_iter);
  if (image.dim() == 4) {
    std::vector<Tensor> masks;
    for (std::int64_t i = 0; i < image.size(0); ++i) masks.push_back(superpixel_mask(image[i], opt).unsqueeze(0));
    return stack(masks);
  }
  Tensor img = image.dim() == 2 ? image.unsqueeze(0) : image;
  const std::int64_t c = img.size(0), h = img.size(1), w = img.size(2);
  LUMEN_CHECK(c == 1 || c == 3, op, "expected 1 (gray) or 3 (RGB) channels, got shape ", image.shape());
  auto labels = slic(img.detach().to(DType::float64).to_vector<double>(), c, h, w, opt);
  return tensor_from(labels, {h, w});
}

}  // namespace lumen::xai
