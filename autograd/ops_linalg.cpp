// matmul: batched, broadcasting, on the GEMM kernel. The backward is two more matmuls,
//   dA = dC Bᵀ,  dB = Aᵀ dC,
// summed over broadcast batch dims; the transposes are views, so they cost no copy.
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "kernels/kernels.h"

namespace lumen {

namespace {

// x ([..., R, C]) as a 3-D [B, R, C] tensor for the kernel, given the broadcast batch shape. Uses
// stride tricks where the layout allows (no batch dims: batch stride 0) and a copy otherwise.
Tensor as_batch3(const Tensor& x, const Shape& batch, std::int64_t B) {
  const std::int64_t R = x.size(-2), C = x.size(-1);
  const Shape xb(x.shape().begin(), x.shape().end() - 2);
  if (shape_numel(xb) == 1)  // one matrix, reused for every batch entry
    return make_view(x, {B, R, C}, {0, x.stride(-2), x.stride(-1)}, x.offset());
  if (xb == batch) {
    bool mergeable = true;  // batch dims laid out as one
    for (std::size_t d = 0; d + 1 < xb.size(); ++d) mergeable &= x.stride(d) == x.stride(d + 1) * x.size(d + 1);
    if (mergeable) return make_view(x, {B, R, C}, {x.stride(xb.size() - 1), x.stride(-2), x.stride(-1)}, x.offset());
  }
  Shape full = batch;
  full.push_back(R);
  full.push_back(C);
  Tensor dense = empty(full, options_of(x));
  kernels::copy(x, dense);  // the copy kernel broadcasts its source
  return make_view(dense, {B, R, C}, {R * C, C, 1}, 0);
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  LUMEN_CHECK(a_in.defined() && b_in.defined(), "matmul", "got an undefined tensor");
  check_same_device_dtype("matmul", a_in, b_in);
  LUMEN_CHECK(is_floating(a_in.dtype()), "matmul", "expected floating tensors, got ", dtype_name(a_in.dtype()));
  LUMEN_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul", "expected tensors with at least 1 dim, got shapes ",
              a_in.shape(), " and ", b_in.shape());
  // NumPy rules for vectors: a [K] is a row [1, K], b [K] a column [K, 1]; the added dim is removed after.
  if (a_in.dim() == 1 && b_in.dim() == 1) return reshape(matmul(unsqueeze(a_in, 0), unsqueeze(b_in, 1)), {});
  if (a_in.dim() == 1) return squeeze(matmul(unsqueeze(a_in, 0), b_in), -2);
  if (b_in.dim() == 1) return squeeze(matmul(a_in, unsqueeze(b_in, 1)), -1);
  const Tensor &a = a_in, &b = b_in;
  const std::int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  LUMEN_CHECK(b.size(-2) == K, "matmul", "shapes ", a.shape(), " and ", b.shape(),
              " are not compatible: expected a.shape[-1] == b.shape[-2] (", K, " vs ", b.size(-2), ")");
  Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2), "matmul");
  const std::int64_t B = shape_numel(batch);
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty(out_shape, options_of(a));

  // A stack of row-major matrices times one matrix is one tall GEMM: [B*M, K] x [K, N].
  if (b.dim() == 2 && a.dim() > 2 && a.is_contiguous()) {
    kernels::matmul(make_view(a, {1, B * M, K}, {0, K, 1}, a.offset()),
                    make_view(b, {1, K, N}, {0, b.stride(0), b.stride(1)}, b.offset()),
                    make_view(out, {1, B * M, N}, {0, N, 1}, 0));
  } else {
    kernels::matmul(as_batch3(a, batch, B), as_batch3(b, batch, B), make_view(out, {B, M, N}, {M * N, N, 1}, 0));
  }
  return record("matmul", out, {a, b}, {a, b}, [](const Tensor& g, const BackwardArgs& s) {
    return grads(s.needs(0) ? sum_to(matmul(g, transpose(s[1], -1, -2)), s[0].shape()) : Tensor(),
                 s.needs(1) ? sum_to(matmul(transpose(s[0], -1, -2), g), s[1].shape()) : Tensor());
  });
}

Tensor Tensor::matmul(const Tensor& other) const { return lumen::matmul(*this, other); }

}  // namespace lumen
