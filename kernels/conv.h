#pragma once
// Convolution kernels. A 2-D convolution and its two gradients are three bilinear maps that share one
// geometry; ops_conv.cpp builds conv2d and conv_transpose2d (and all their derivatives) from them:
//
//   forward      out[n, o]  = sum_{c, i, j} w[o, c, i, j] * x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
//   input_grad   dx         = the adjoint of forward in x   (this is also conv_transpose2d)
//   weight_grad  dw         = the adjoint of forward in w
//
// The geometry is explicit (output size included), so the three stay exact adjoints of each other even
// when the output size is not the one the usual formula gives (conv_transpose2d's output_padding).
#include <cstdint>

#include "kernels/core/tensor_base.h"
#include "kernels/dispatch.h"

namespace lumen::kernels {

struct Conv2dGeometry {
  std::int64_t N, C, H, W;  // the convolution's input x [N, C, H, W]
  std::int64_t O, OH, OW;   // its output [N, O, OH, OW]
  std::int64_t kh, kw;      // weight [O, C / groups, kh, kw]
  std::int64_t sh, sw, ph, pw, dh, dw;  // stride, padding, dilation
  std::int64_t groups;
};

namespace cpu {
void conv2d_forward(const TensorBase& x, const TensorBase& w, const TensorBase& bias, const TensorBase& out, const Conv2dGeometry& g);
void conv2d_input_grad(const TensorBase& gout, const TensorBase& w, const TensorBase& dx, const Conv2dGeometry& g);
void conv2d_weight_grad(const TensorBase& x, const TensorBase& gout, const TensorBase& dw, const Conv2dGeometry& g);
}  // namespace cpu

// Inputs may have any strides; outputs are contiguous and allocated by the caller. bias may be undefined.
inline void conv2d_forward(const TensorBase& x, const TensorBase& w, const TensorBase& bias, const TensorBase& out,
                           const Conv2dGeometry& g) {
  LUMEN_DISPATCH("conv2d", out.device(), conv2d_forward, x, w, bias, out, g);
}
// dx [N, C, H, W] from gout [N, O, OH, OW]: overwritten, not accumulated.
inline void conv2d_input_grad(const TensorBase& gout, const TensorBase& w, const TensorBase& dx, const Conv2dGeometry& g) {
  LUMEN_DISPATCH("conv2d_input_grad", dx.device(), conv2d_input_grad, gout, w, dx, g);
}
// dw [O, C / groups, kh, kw] from x and gout: overwritten, not accumulated.
inline void conv2d_weight_grad(const TensorBase& x, const TensorBase& gout, const TensorBase& dw, const Conv2dGeometry& g) {
  LUMEN_DISPATCH("conv2d_weight_grad", dw.device(), conv2d_weight_grad, x, gout, dw, g);
}

}  // namespace lumen::kernels
