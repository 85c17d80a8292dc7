#include "nn/textures.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "autograd/engine.h"
#include "kernels/core/checked.h"

namespace lumen::nn {

namespace {

constexpr int kSub = 4;  // sub-pixels per side when antialiasing

void check_options(const TextureOptions& opt, const char* op) {
  LUMEN_CHECK(opt.size > 0, op, "expected size > 0, got ", opt.size);
  LUMEN_CHECK(opt.channels == 1 || opt.channels == 3, op, "expected channels 1 or 3, got ", opt.channels);
  for (double c : opt.color)
    LUMEN_CHECK(c >= 0 && c <= 1, op, "expected color values in [0, 1], got (", opt.color[0], ", ", opt.color[1],
                ", ", opt.color[2], ")");
  checked_mul(checked_mul(opt.channels, opt.size, op, "image size"), opt.size, op, "image size");
}

void check_count(std::int64_t n, const TextureOptions& opt, const char* op) {
  LUMEN_CHECK(n >= 0, op, "expected n >= 0 images, got ", n);
  check_options(opt, op);
  checked_mul(n, opt.channels * opt.size * opt.size, op, "batch size");
}

// In [0, 1): for a tiny negative v, v − floor(v) rounds to 1, which would make duty 1 miss points.
double frac(double v) {
  const double f = v - std::floor(v);
  return f < 1.0 ? f : 0.0;
}

// Renders the predicate ink(x, y) (image coordinates, y down) as a [C, size, size] float32 image:
// the fraction of the 4×4 sub-pixel centres on ink (or the pixel centre alone), tinted per channel.
template <class Ink>
Tensor render(const TextureOptions& opt, Ink&& ink) {
  const std::int64_t s = opt.size;
  const int sub = opt.antialias ? kSub : 1;
  Tensor out = empty({opt.channels, s, s});
  float* dst = out.data<float>();
  for (std::int64_t i = 0; i < s; ++i)
    for (std::int64_t j = 0; j < s; ++j) {
      int hits = 0;
      for (int a = 0; a < sub; ++a)
        for (int b = 0; b < sub; ++b)
          hits += ink(static_cast<double>(j) + (b + 0.5) / sub, static_cast<double>(i) + (a + 0.5) / sub) ? 1 : 0;
      const double coverage = static_cast<double>(hits) / (sub * sub);
      for (std::int64_t c = 0; c < opt.channels; ++c)
        dst[(c * s + i) * s + j] = static_cast<float>(opt.channels == 3 ? coverage * opt.color[c] : coverage);
    }
  return out;
}

// Distance from (px, py) to the segment (ax, ay)–(bx, by).
double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  const double u = len2 > 0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(px - (ax + u * dx), py - (ay + u * dy));
}

// n rows of `k` uniform numbers from gen, one row per image (drawn at once, so reproducible per seed).
std::vector<double> draw_uniform(std::int64_t n, std::int64_t k, Generator& gen) {
  if (n == 0) return {};
  return rand({n, k}, {.dtype = DType::float64}, &gen).to_vector<double>();
}

// Stacks n single images made by image(row of parameters) into [n, C, size, size].
template <class MakeImage>
Tensor batch(std::int64_t n, const TextureOptions& opt, MakeImage&& image) {
  Tensor out = empty({n, opt.channels, opt.size, opt.size});
  const std::int64_t per_image = opt.channels * opt.size * opt.size;
  for (std::int64_t k = 0; k < n; ++k) {
    Tensor one = image(k);
    std::copy_n(one.data<float>(), per_image, out.data<float>() + k * per_image);
  }
  return out;
}

double lerp(double lo, double hi, double u) { return lo + (hi - lo) * u; }

}  // namespace

Tensor stripes_image(double angle_degrees, double period, double duty, double phase, const TextureOptions& opt) {
  check_options(opt, "stripes_image");
  LUMEN_CHECK(std::isfinite(angle_degrees) && std::isfinite(phase), "stripes_image",
              "expected a finite angle and phase, got ", angle_degrees, " and ", phase);
  LUMEN_CHECK(std::isfinite(period) && period > 0, "stripes_image", "expected period > 0, got ", period);
  LUMEN_CHECK(duty >= 0 && duty <= 1, "stripes_image", "expected duty in [0, 1], got ", duty);
  autograd::NoGradGuard no_grad;
  const double theta = angle_degrees * std::numbers::pi / 180.0, sn = std::sin(theta), cs = std::cos(theta);
  const double c = 0.5 * static_cast<double>(opt.size);
  return render(opt, [&](double x, double y) { return frac(((x - c) * sn + (y - c) * cs) / period + phase) < duty; });
}

Tensor zigzag_image(double angle_degrees, double period, double amplitude, double width, double spacing,
                    double phase, double offset, const TextureOptions& opt) {
  check_options(opt, "zigzag_image");
  LUMEN_CHECK(std::isfinite(angle_degrees) && std::isfinite(phase) && std::isfinite(offset), "zigzag_image",
              "expected a finite angle, phase and offset, got ", angle_degrees, ", ", phase, " and ", offset);
  LUMEN_CHECK(period >= 1 && spacing >= 1 && std::isfinite(period) && std::isfinite(spacing), "zigzag_image",
              "expected period and spacing >= 1 px, got ", period, " and ", spacing);
  const double size = static_cast<double>(opt.size);
  // Bounded by the image so that the copies and segments searched per point stay few.
  LUMEN_CHECK(amplitude >= 0 && amplitude <= size && width >= 0 && width <= size, "zigzag_image",
              "expected amplitude and width in [0, size = ", opt.size, "], got ", amplitude, " and ", width);
  autograd::NoGradGuard no_grad;
  const double theta = angle_degrees * std::numbers::pi / 180.0, sn = std::sin(theta), cs = std::cos(theta);
  const double c = 0.5 * size, half_width = 0.5 * width, half_period = 0.5 * period;
  // A point closer than width/2 to the wave lies within width/2 of a segment's extent along s.
  const auto reach = static_cast<std::int64_t>(std::ceil(half_width / half_period)) + 1;
  auto vertex_t = [&](std::int64_t m) { return (m % 2 == 0) ? -amplitude : amplitude; };
  return render(opt, [&](double x, double y) {
    const double s = (x - c) * cs - (y - c) * sn, t = (x - c) * sn + (y - c) * cs;
    const auto m0 = static_cast<std::int64_t>(std::floor(2.0 * (s / period + phase)));
    const auto k_lo = static_cast<std::int64_t>(std::floor((t - amplitude - half_width) / spacing - offset));
    const auto k_hi = static_cast<std::int64_t>(std::ceil((t + amplitude + half_width) / spacing - offset));
    for (std::int64_t k = k_lo; k <= k_hi; ++k) {
      const double tk = t - (static_cast<double>(k) + offset) * spacing;  // t relative to copy k
      for (std::int64_t m = m0 - reach; m <= m0 + reach; ++m) {
        const double s_a = (static_cast<double>(m) / 2.0 - phase) * period, s_b = s_a + half_period;
        if (segment_distance(s, tk, s_a, vertex_t(m), s_b, vertex_t(m + 1)) < half_width) return true;
      }
    }
    return false;
  });
}

Tensor dots_image(double radius, double spacing, double jitter, double phase_x, double phase_y, Generator& gen,
                  const TextureOptions& opt) {
  check_options(opt, "dots_image");
  const double size = static_cast<double>(opt.size);
  LUMEN_CHECK(radius >= 0 && radius <= size, "dots_image", "expected radius in [0, size = ", opt.size, "], got ",
              radius);
  LUMEN_CHECK(std::isfinite(spacing) && spacing >= 1, "dots_image", "expected spacing >= 1 px, got ", spacing);
  LUMEN_CHECK(jitter >= 0 && jitter <= spacing, "dots_image", "expected jitter in [0, spacing = ", spacing,
              "], got ", jitter);
  LUMEN_CHECK(std::isfinite(phase_x) && std::isfinite(phase_y), "dots_image", "expected finite phases, got ",
              phase_x, " and ", phase_y);
  autograd::NoGradGuard no_grad;
  const double px = frac(phase_x), py = frac(phase_y), reach = radius + jitter;
  // The nodes whose disc can touch the image: a in [a_lo, a_lo + count), the same for b.
  const auto a_lo = static_cast<std::int64_t>(std::floor(-reach / spacing - 1.0));
  const auto count = static_cast<std::int64_t>(std::ceil((size + reach) / spacing)) - a_lo + 2;
  std::vector<double> jitters;  // (dx, dy) per node, row-major over (b, a)
  if (jitter > 0) {
    jitters = rand({count, count, 2}, {.dtype = DType::float64}, &gen).to_vector<double>();
    for (double& v : jitters) v = (2.0 * v - 1.0) * jitter;
  }
  const auto cells = static_cast<std::int64_t>(std::ceil(reach / spacing));
  return render(opt, [&](double x, double y) {
    const auto a0 = static_cast<std::int64_t>(std::floor(x / spacing - px));
    const auto b0 = static_cast<std::int64_t>(std::floor(y / spacing - py));
    for (std::int64_t b = std::max(b0 - cells, a_lo); b <= std::min(b0 + cells + 1, a_lo + count - 1); ++b)
      for (std::int64_t a = std::max(a0 - cells, a_lo); a <= std::min(a0 + cells + 1, a_lo + count - 1); ++a) {
        double cx = (static_cast<double>(a) + px) * spacing, cy = (static_cast<double>(b) + py) * spacing;
        if (!jitters.empty()) {
          const std::size_t node = static_cast<std::size_t>((b - a_lo) * count + (a - a_lo)) * 2;
          cx += jitters[node];
          cy += jitters[node + 1];
        }
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < radius * radius) return true;
      }
    return false;
  });
}

Tensor stripes(std::int64_t n, Generator& gen, const TextureOptions& opt) {
  check_count(n, opt, "stripes");
  const std::vector<double> u = draw_uniform(n, 4, gen);
  return batch(n, opt, [&](std::int64_t k) {
    const double* p = &u[static_cast<std::size_t>(k) * 4];
    return stripes_image(180.0 * p[0], lerp(4, 10, p[1]), lerp(0.3, 0.6, p[2]), p[3], opt);
  });
}

Tensor zigzags(std::int64_t n, Generator& gen, const TextureOptions& opt) {
  check_count(n, opt, "zigzags");
  const std::vector<double> u = draw_uniform(n, 7, gen);
  return batch(n, opt, [&](std::int64_t k) {
    const double* p = &u[static_cast<std::size_t>(k) * 7];
    const double size = static_cast<double>(opt.size);  // a tiny image bounds the wave (see zigzag_image)
    const double amplitude = std::min(lerp(1, 3, p[2]), size), width = std::min(lerp(1.5, 3, p[3]), size);
    const double spacing = 2 * amplitude + width + lerp(2, 5, p[4]);
    return zigzag_image(180.0 * p[0], lerp(6, 12, p[1]), amplitude, width, spacing, p[5], p[6], opt);
  });
}

Tensor dots(std::int64_t n, Generator& gen, const TextureOptions& opt) {
  check_count(n, opt, "dots");
  const std::vector<double> u = draw_uniform(n, 5, gen);  // all parameters first, then each image's jitters
  return batch(n, opt, [&](std::int64_t k) {
    const double* p = &u[static_cast<std::size_t>(k) * 5];
    const double radius = lerp(1, 2.5, p[0]), spacing = lerp(std::max(5.0, 2 * radius + 1.5), 9, p[1]);
    const double jitter = p[2] * 0.5 * (spacing - 2 * radius - 1);
    return dots_image(std::min(radius, static_cast<double>(opt.size)), spacing, jitter, p[3], p[4], gen, opt);
  });
}

Tensor noise_images(std::int64_t n, Generator& gen, const TextureOptions& opt) {
  check_count(n, opt, "noise_images");
  autograd::NoGradGuard no_grad;
  return rand({n, opt.channels, opt.size, opt.size}, {}, &gen);
}

Tensor texture_images(const std::string& name, std::int64_t n, Generator& gen, const TextureOptions& opt) {
  if (name == "stripes") return stripes(n, gen, opt);
  if (name == "zigzags") return zigzags(n, gen, opt);
  if (name == "dots") return dots(n, gen, opt);
  if (name == "noise") return noise_images(n, gen, opt);
  detail::fail("texture_images", "unknown texture '", name, "'; expected one of stripes, zigzags, dots, noise");
}

}  // namespace lumen::nn
