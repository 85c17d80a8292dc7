#pragma once
// Procedurally drawn texture images: stripes, zigzags and dots, plus uniform noise. They are the
// concept sets of TCAV (xai/concepts): a model is shown "stripes" drawn by code, 10–50 images each,
// against a "random" set, and the direction in activation space that separates them is the concept.
// Each generator draws its parameters per image from `gen`, so a seed gives the same set every run.
//
//   Generator gen(7);
//   Tensor striped = nn::stripes(30, gen);                                 // [30, 1, 28, 28] in [0, 1]
//   Tensor red_dots = nn::dots(30, gen, {.channels = 3, .color = {1, 0, 0}});
//   Tensor random = nn::texture_images("noise", 30, gen);
//   Tensor one = nn::stripes_image(0.0, 8.0, 0.5, 0.0);                    // horizontal bands, [1, 28, 28]
//
// Geometry: pixel (i, j) is the unit square [j, j+1] × [i, i+1] (x to the right, y down). With
// antialias a pixel's value is the fraction of its 4×4 sub-pixel centres that fall on ink, otherwise
// it is 1 when its centre does. Images are float32 on the CPU; ink is 1 (times `color`), background 0.
#include <array>
#include <cstdint>
#include <string>

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace lumen::nn {

struct TextureOptions {
  std::int64_t size = 28;                // H = W, > 0
  std::int64_t channels = 1;             // 1 or 3
  std::array<double, 3> color{1, 1, 1};  // the ink colour for channels = 3 (each in [0, 1]); unused for 1
  bool antialias = true;                 // covered area fraction (4×4 supersampling), else 0/1
};

// Batches [n, C, size, size] (n >= 0), parameters drawn per image from gen:
// stripes: angle U(0°, 180°), period U(4, 10) px, duty U(0.3, 0.6), phase U(0, 1);
Tensor stripes(std::int64_t n, Generator& gen, const TextureOptions& opt = {});
// zigzags: angle U(0°, 180°), period U(6, 12) px, amplitude U(1, 3) px, width U(1.5, 3) px, spacing
// 2·amplitude + width + U(2, 5) px (so neighbouring zigzags never touch), phase and offset U(0, 1);
Tensor zigzags(std::int64_t n, Generator& gen, const TextureOptions& opt = {});
// dots: radius U(1, 2.5) px, spacing U(max(5, 2·radius + 1.5), 9) px, jitter up to
// (spacing − 2·radius − 1)/2 px (so discs stay ≥ 1 px apart), grid phases U(0, 1).
Tensor dots(std::int64_t n, Generator& gen, const TextureOptions& opt = {});
// Uniform noise U(0, 1), independent per pixel and channel (color is not applied): the "random"
// counterpart of a concept. Random crops of real images are left to the caller.
Tensor noise_images(std::int64_t n, Generator& gen, const TextureOptions& opt = {});
// By name: "stripes", "zigzags", "dots" or "noise"; another name throws a lumen::Error listing them.
Tensor texture_images(const std::string& name, std::int64_t n, Generator& gen, const TextureOptions& opt = {});

// Single images [C, size, size] with fixed parameters (what the batches draw from; for tests and users).
// Coordinates for stripes and zigzags are centred on the image centre (size/2, size/2).
//
// Parallel bands running at angle_degrees counter-clockwise on screen from the x axis (0: horizontal
// bands). With t = (x − size/2)·sin θ + (y − size/2)·cos θ the distance along the band normal
// (t = y − size/2 at 0°, x − size/2 at 90°), a point is ink when frac(t / period + phase) < duty.
// period > 0, duty in [0, 1].
Tensor stripes_image(double angle_degrees, double period, double duty, double phase, const TextureOptions& opt = {});

// A triangle wave running along angle_degrees (0: along x). With s = (x − c)·cos θ − (y − c)·sin θ along
// it and t = (x − c)·sin θ + (y − c)·cos θ across (c = size/2), its vertices are at
// s = (m/2 − phase)·period, t = (−1)^(m+1)·amplitude for integers m; it is drawn as a line `width` px
// thick (ink closer than width/2 to it), with copies shifted across by (k + offset)·spacing, integers k.
// Amplitude 0 gives straight lines. period >= 1, spacing >= 1, amplitude and width in [0, size].
Tensor zigzag_image(double angle_degrees, double period, double amplitude, double width, double spacing,
                    double phase, double offset, const TextureOptions& opt = {});

// Discs of `radius` px on an axis-aligned grid of `spacing` px with node (a, b) at
// ((a + phase_x)·spacing, (b + phase_y)·spacing) in image coordinates, each moved by its own uniform
// jitter in [−jitter, jitter]² drawn from gen (nothing is drawn when jitter = 0). A point is ink when it
// is closer than radius to a disc's centre. 0 <= radius <= size, spacing >= 1, 0 <= jitter <= spacing.
Tensor dots_image(double radius, double spacing, double jitter, double phase_x, double phase_y, Generator& gen,
                  const TextureOptions& opt = {});

}  // namespace lumen::nn
