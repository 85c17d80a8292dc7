#include "xai/concept_measures.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "kernels/core/checked.h"
#include "kernels/core/error.h"

namespace lumen::xai {

namespace {

// Images as doubles, row-major [N, C, H, W]; `batched` says whether the input had the N.
struct Images {
  std::int64_t n, c, h, w;
  bool batched;
  std::vector<double> values;
  std::int64_t pixels() const { return h * w; }
  const double* image(std::int64_t i) const { return values.data() + i * c * h * w; }
};

Images read_images(const Tensor& t, const char* op, bool allow_hw = false) {
  const bool ok_rank = t.defined() && (t.dim() == 3 || t.dim() == 4 || (allow_hw && t.dim() == 2));
  LUMEN_CHECK(ok_rank, op, "expected ", allow_hw ? "an image [C, H, W] or [H, W]" : "images [C, H, W] or [N, C, H, W]",
              ", got ", t.defined() ? t.str() : "undefined");
  LUMEN_CHECK(is_floating(t.dtype()), op, "expected floating-point images, got ", t.str());
  Images im{};
  im.batched = t.dim() == 4;
  im.n = im.batched ? t.size(0) : 1;
  im.c = t.dim() == 2 ? 1 : t.size(t.dim() - 3);
  im.h = t.size(t.dim() - 2);
  im.w = t.size(t.dim() - 1);
  LUMEN_CHECK(im.c == 1 || im.c == 3, op, "expected 1 (gray) or 3 (RGB) channels, got ", t.str());
  LUMEN_CHECK(im.h >= 1 && im.w >= 1, op, "expected images of at least 1×1 pixels, got ", t.str());
  checked_mul(checked_mul(im.n, im.c, op, "N × C"), im.pixels(), op, "N × C × H × W");
  im.values = t.detach().to(DType::float64).cpu().contiguous().to_vector<double>();
  for (std::size_t i = 0; i < im.values.size(); ++i)
    LUMEN_CHECK(im.values[i] >= 0.0 && im.values[i] <= 1.0, op, "expected values in [0, 1], got ", im.values[i],
                " at flat index ", i, " of ", t.str());
  return im;
}

// One value per image: [N] for a batch, a 0-d tensor for one image.
Tensor per_image(const std::vector<double>& v, bool batched) {
  if (!batched) return scalar_tensor(v.at(0), {.dtype = DType::float64});
  return tensor(v, {static_cast<std::int64_t>(v.size())}, {.dtype = DType::float64});
}

// ITU-R 601 luma, the weights of cv2's and PIL's RGB → gray.
double gray_at(const Images& im, const double* img, std::int64_t p) {
  if (im.c == 1) return img[p];
  const std::int64_t plane = im.pixels();
  return 0.299 * img[p] + 0.587 * img[plane + p] + 0.114 * img[2 * plane + p];
}

// Population mean and standard deviation (two passes: the values are up to 255, their squares large).
void mean_std(const std::vector<double>& x, double& mean, double& sd) {
  double s = 0;
  for (double v : x) s += v;
  mean = s / static_cast<double>(x.size());
  double q = 0;
  for (double v : x) q += (v - mean) * (v - mean);
  sd = std::sqrt(q / static_cast<double>(x.size()));
}

std::uint8_t to_u8(double x) { return static_cast<std::uint8_t>(std::nearbyint(x * 255.0)); }

struct Band {
  int lo, hi;
};
Band band_of(Hue h) {
  switch (h) {
    case Hue::red: return {165, 10};
    case Hue::orange: return {10, 25};
    case Hue::yellow: return {25, 40};
    case Hue::green: return {40, 75};
    case Hue::cyan: return {75, 100};
    case Hue::blue: return {100, 125};
    case Hue::purple: return {125, 145};
    case Hue::magenta: return {145, 165};
  }
  detail::fail("colorness", "unknown hue band ", static_cast<int>(h));
}

}  // namespace

Tensor colorfulness(const Tensor& images) {
  const Images im = read_images(images, "colorfulness");
  std::vector<double> out(static_cast<std::size_t>(im.n), 0.0);
  if (im.c == 1) return per_image(out, im.batched);  // no chroma at all
  const std::int64_t plane = im.pixels();
  std::vector<double> rg(static_cast<std::size_t>(plane)), yb(static_cast<std::size_t>(plane));
  for (std::int64_t i = 0; i < im.n; ++i) {
    const double* img = im.image(i);
    for (std::int64_t p = 0; p < plane; ++p) {
      const double r = 255.0 * img[p], g = 255.0 * img[plane + p], b = 255.0 * img[2 * plane + p];
      rg[static_cast<std::size_t>(p)] = std::abs(r - g);
      yb[static_cast<std::size_t>(p)] = std::abs(0.5 * (r + g) - b);
    }
    double mu_rg, sd_rg, mu_yb, sd_yb;
    mean_std(rg, mu_rg, sd_rg);
    mean_std(yb, mu_yb, sd_yb);
    out[static_cast<std::size_t>(i)] =
        std::sqrt(sd_rg * sd_rg + sd_yb * sd_yb) + 0.3 * std::sqrt(mu_rg * mu_rg + mu_yb * mu_yb);
  }
  return per_image(out, im.batched);
}

Hsv opencv_hsv(std::uint8_t r8, std::uint8_t g8, std::uint8_t b8) {
  // OpenCV's RGB2HSV_b (hrange 180): fixed point with 12 fraction bits and tables rounded by cvRound
  // (to nearest, halves to even); ties in the maximum go to R, then G.
  constexpr int shift = 12;
  static const auto tables = [] {
    struct {
      int sdiv[256], hdiv[256];
    } t{};
    for (int i = 1; i < 256; ++i) {
      t.sdiv[i] = static_cast<int>(std::nearbyint((255 << shift) / (1.0 * i)));
      t.hdiv[i] = static_cast<int>(std::nearbyint((180 << shift) / (6.0 * i)));
    }
    return t;
  }();
  const int r = r8, g = g8, b = b8;
  const int v = std::max({r, g, b}), diff = v - std::min({r, g, b});
  const int s = (diff * tables.sdiv[v] + (1 << (shift - 1))) >> shift;
  int h = v == r ? g - b : v == g ? b - r + 2 * diff : r - g + 4 * diff;
  h = (h * tables.hdiv[diff] + (1 << (shift - 1))) >> shift;  // >> of a negative h floors, as in OpenCV
  if (h < 0) h += 180;
  return {h, s, v};
}

const char* hue_name(Hue h) {
  switch (h) {
    case Hue::red: return "red";
    case Hue::orange: return "orange";
    case Hue::yellow: return "yellow";
    case Hue::green: return "green";
    case Hue::cyan: return "cyan";
    case Hue::blue: return "blue";
    case Hue::purple: return "purple";
    case Hue::magenta: return "magenta";
  }
  detail::fail("hue_name", "unknown hue band ", static_cast<int>(h));
}

Tensor colorness(const Tensor& images, Hue hue) {
  const char* op = "colorness";
  const Band band = band_of(hue);
  const Images im = read_images(images, op);
  LUMEN_CHECK(im.c == 3, op, "expected RGB images (3 channels): hue needs colour, got ", images.str());
  const std::int64_t plane = im.pixels();
  std::vector<double> out(static_cast<std::size_t>(im.n));
  for (std::int64_t i = 0; i < im.n; ++i) {
    const double* img = im.image(i);
    std::int64_t hits = 0;
    for (std::int64_t p = 0; p < plane; ++p) {
      const Hsv c = opencv_hsv(to_u8(img[p]), to_u8(img[plane + p]), to_u8(img[2 * plane + p]));
      if (c.s < 50 || c.v < 77) continue;  // gray or dark: the hue is noise
      const bool in = band.lo < band.hi ? (c.h >= band.lo && c.h < band.hi) : (c.h >= band.lo || c.h < band.hi);
      hits += in;
    }
    out[static_cast<std::size_t>(i)] = static_cast<double>(hits) / static_cast<double>(plane);
  }
  return per_image(out, im.batched);
}

Haralick haralick(const Tensor& image, std::int64_t levels) {
  const char* op = "haralick";
  LUMEN_CHECK(levels >= 2 && levels <= 65536, op, "expected levels in [2, 65536], got ", levels);
  const Images im = read_images(image, op, /*allow_hw=*/true);
  LUMEN_CHECK(!im.batched, op, "expected one image [C, H, W] or [H, W], got a batch ", image.str());
  LUMEN_CHECK(im.w >= 2, op, "expected width >= 2 (the co-occurrences are horizontal neighbours), got ", image.str());

  std::vector<std::int64_t> q(static_cast<std::size_t>(im.pixels()));
  for (std::int64_t p = 0; p < im.pixels(); ++p)
    q[static_cast<std::size_t>(p)] =
        static_cast<std::int64_t>(std::floor(gray_at(im, im.image(0), p) * static_cast<double>(levels - 1) + 0.5));

  // The symmetric GLCM as sorted pair codes i·levels + j, each pair counted both ways: only the
  // non-zero cells exist, so 65536 levels cost no levels² matrix.
  std::vector<std::int64_t> codes;
  codes.reserve(static_cast<std::size_t>(2 * im.h * (im.w - 1)));
  for (std::int64_t y = 0; y < im.h; ++y)
    for (std::int64_t x = 0; x + 1 < im.w; ++x) {
      const std::int64_t a = q[static_cast<std::size_t>(y * im.w + x)], b = q[static_cast<std::size_t>(y * im.w + x + 1)];
      codes.push_back(a * levels + b);
      codes.push_back(b * levels + a);
    }
  std::sort(codes.begin(), codes.end());
  struct Cell {
    double i, j, p;
  };
  std::vector<Cell> cells;
  const double total = static_cast<double>(codes.size());
  for (std::size_t k = 0; k < codes.size();) {
    std::size_t e = k;
    while (e < codes.size() && codes[e] == codes[k]) ++e;
    cells.push_back({static_cast<double>(codes[k] / levels), static_cast<double>(codes[k] % levels),
                     static_cast<double>(e - k) / total});
    k = e;
  }

  Haralick out{};
  double mu_i = 0, mu_j = 0;
  for (const Cell& c : cells) {
    const double d = c.i - c.j;
    out.contrast += c.p * d * d;
    out.dissimilarity += c.p * std::abs(d);
    out.homogeneity += c.p / (1.0 + d * d);
    out.asm_ += c.p * c.p;
    mu_i += c.i * c.p;
    mu_j += c.j * c.p;
  }
  out.energy = std::sqrt(out.asm_);
  double var_i = 0, var_j = 0, cov = 0;
  for (const Cell& c : cells) {
    var_i += c.p * (c.i - mu_i) * (c.i - mu_i);
    var_j += c.p * (c.j - mu_j) * (c.j - mu_j);
    cov += c.p * (c.i - mu_i) * (c.j - mu_j);
  }
  const double sd_i = std::sqrt(var_i), sd_j = std::sqrt(var_j);
  out.correlation = (sd_i < 1e-15 || sd_j < 1e-15) ? 1.0 : cov / (sd_i * sd_j);  // skimage's convention
  return out;
}

Tensor stroke_area(const Tensor& images, double threshold) {
  LUMEN_CHECK(!std::isnan(threshold), "stroke_area", "expected a threshold, got NaN");
  const Images im = read_images(images, "stroke_area");
  std::vector<double> out(static_cast<std::size_t>(im.n));
  for (std::int64_t i = 0; i < im.n; ++i) {
    std::int64_t hits = 0;
    for (std::int64_t p = 0; p < im.pixels(); ++p) hits += gray_at(im, im.image(i), p) > threshold;
    out[static_cast<std::size_t>(i)] = static_cast<double>(hits) / static_cast<double>(im.pixels());
  }
  return per_image(out, im.batched);
}

}  // namespace lumen::xai
