#pragma once
// Data shifts on float images in [0, 1], as torchvision.transforms.functional applies them to tensors:
// rotation, additive Gaussian noise, contrast and brightness. They make test sets whose distribution
// has moved (how robust is a classifier, do its explanations move with the image?), so they work on
// values only: no autograd graph is built, and each returns a new tensor of the images' shape and dtype.
//
//   Tensor turned = nn::rotate(images, 30.0);             // counter-clockwise, bilinear, 0 outside
//   Tensor noisy = nn::add_gaussian_noise(images, 0.1, &gen);
//   Tensor flat = nn::adjust_contrast(images, 0.5);       // halfway to each image's mean gray
//   Tensor dim = nn::adjust_brightness(images, 0.7);
//
// images are [N, C, H, W] or [N, H, W] (N single-channel images), float32 or float64, on any device
// (the work is done on the CPU).
#include "autograd/random.h"
#include "autograd/tensor.h"

namespace lumen::nn {

// Rotation about the image centre by `degrees` counter-clockwise as displayed (row 0 at the top),
// torchvision's convention: output pixel (i, j) reads the input at the point obtained by rotating
// (j − (W−1)/2, i − (H−1)/2) by −degrees on screen, bilinearly interpolated (torchvision's grid with
// align_corners = False, i.e. about the pixel-centre point ((W−1)/2, (H−1)/2)); the area outside the
// input counts as `fill`. For fill = 0 this is torchvision's rotate(img, degrees, BILINEAR) with its
// default fill=None; an explicit torchvision fill v instead gives m·I + (1 − m)·v at the border, with
// I the zero-padded interpolation and m the inside weight, which here is I + (1 − m)·v.
// 90° on a square image is exactly rot90: out[i][j] = in[j][W−1−i].
Tensor rotate(const Tensor& images, double degrees, double fill = 0.0);

// x + N(0, σ²) per pixel from gen (the default generator when null), clamped to [0, 1]. σ >= 0.
Tensor add_gaussian_noise(const Tensor& images, double sigma, Generator* gen = nullptr);

// torchvision's adjust_contrast: each image blended with its mean gray level m,
// factor·x + (1 − factor)·m, clamped to [0, 1]. m is the mean over the pixels for one channel, and
// for three the mean of torchvision's grayscale 0.2989 R + 0.587 G + 0.114 B (its rgb_to_grayscale
// constants; ITU-R 601's 0.299 rounded differently). Other channel counts are refused, as there.
// factor >= 0 (0: a uniform gray image, 1: unchanged).
Tensor adjust_contrast(const Tensor& images, double factor);

// torchvision's adjust_brightness: x·factor clamped to [0, 1]. factor >= 0.
Tensor adjust_brightness(const Tensor& images, double factor);

}  // namespace lumen::nn
