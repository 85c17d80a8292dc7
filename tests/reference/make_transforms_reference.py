#!/usr/bin/python3
"""torchvision reference values for lumen's nn/transforms tests (tests/nn/test_transforms.cpp).

Run with Debian's PyTorch and torchvision:  /usr/bin/python3 tests/reference/make_transforms_reference.py
Writes nn_transforms.safetensors next to this script (small, committed): for each case <c>, the input
<c>.x and torchvision's output <c>.y.
  rot30      rotate(x [1, 2, 5, 7] float64, 30°, BILINEAR)  (non-square: the centre ((W−1)/2, (H−1)/2) matters)
  rot-100    rotate(x [2, 1, 6, 4] float32, −100°, BILINEAR)
  rot90      rotate(x [1, 1, 4, 4] float64, 90°, BILINEAR)  (torchvision's own answer for rot90)
  contrast0.6_rgb, contrast1.7_rgb   adjust_contrast(x [2, 3, 4, 5] float64, factor)  (grayscale mean)
  contrast0.5_gray                   adjust_contrast(x [2, 1, 4, 5] float64, 0.5)
  brightness1.3                      adjust_brightness(x [2, 3, 4, 5] float64, 1.3)
The torchvision calls use the default fill (None: zeros outside), as lumen's rotate with fill = 0 does.
Keep the cases in sync with the C++ test.
"""
import os

import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode
from safetensors_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))


torch.manual_seed(0)
out = {}


def case(name, x, y):
    out[f"{name}.x"], out[f"{name}.y"] = x, y


bilinear = InterpolationMode.BILINEAR
x = torch.rand(1, 2, 5, 7, dtype=torch.float64)
case("rot30", x, TF.rotate(x, 30.0, interpolation=bilinear))
x = torch.rand(2, 1, 6, 4, dtype=torch.float32)
case("rot-100", x, TF.rotate(x, -100.0, interpolation=bilinear))
x = torch.rand(1, 1, 4, 4, dtype=torch.float64)
case("rot90", x, TF.rotate(x, 90.0, interpolation=bilinear))
x = torch.rand(2, 3, 4, 5, dtype=torch.float64)
case("contrast0.6_rgb", x, TF.adjust_contrast(x, 0.6))
case("contrast1.7_rgb", x, TF.adjust_contrast(x, 1.7))
case("brightness1.3", x, TF.adjust_brightness(x, 1.3))
x = torch.rand(2, 1, 4, 5, dtype=torch.float64)
case("contrast0.5_gray", x, TF.adjust_contrast(x, 0.5))

write_safetensors(os.path.join(HERE, "nn_transforms.safetensors"), out)
print(f"wrote {len(out)} tensors to nn_transforms.safetensors")
