// Op table rows: elementwise ops and activations (kernels with CUDA versions: every row runs on the GPU).
// Binary rows broadcast along the trailing dim ([4]) or a middle one ([2, 1, 4]).
#include "autograd/ops.h"
#include "tests/op_table.h"

namespace lumen::testing {

namespace {
using V = std::vector<Tensor>;
constexpr Domain kUpToThree{0.2, 3.0};
}  // namespace

std::vector<OpRow> elementwise_rows() {
  const Shape x = {2, 3, 4}, row = {4}, column = {2, 1, 4};
  return {
      // unary
      {.name = "neg", .fn = [](const V& v) { return neg(v[0]); }, .inputs = {in(x, kWide)}},
      {.name = "exp", .fn = [](const V& v) { return exp(v[0]); }, .inputs = {in(x, kWide)}},
      {.name = "log", .fn = [](const V& v) { return log(v[0]); }, .inputs = {in(x, kUpToThree)}},
      {.name = "sqrt", .fn = [](const V& v) { return sqrt(v[0]); }, .inputs = {in(x, kUpToThree)}},
      {.name = "reciprocal", .fn = [](const V& v) { return reciprocal(v[0]); }, .inputs = {in(x, kUpToThree)}},
      {.name = "abs", .fn = [](const V& v) { return abs(v[0]); }, .inputs = {in(x, kOffZero)}},
      {.name = "square", .fn = [](const V& v) { return square(v[0]); }, .inputs = {in(x, kWide)}},
      {.name = "erf", .fn = [](const V& v) { return erf(v[0]); }, .inputs = {in(x, kWide)}},
      {.name = "clamp", .fn = [](const V& v) { return clamp(v[0], -0.5, 0.7); }, .inputs = {in(x, kWide)}},
      {.name = "pow with a scalar exponent", .fn = [](const V& v) { return pow(v[0], 2.5); },
       .inputs = {in(x, kUpToThree)}},
      {.name = "mul and add a scalar", .fn = [](const V& v) { return v[0] * 3.0 + 1.0; }, .inputs = {in(x, kWide)}},
      {.name = "rsub (scalar - x)", .fn = [](const V& v) { return 2.5 - v[0]; }, .inputs = {in(x, kWide)}},
      {.name = "sign", .fn = [](const V& v) { return sign(v[0]); }, .inputs = {in(x, kOffZero)},
       .derivative = Derivative::none},
      {.name = "a copy to contiguous memory", .fn = [](const V& v) { return v[0].transpose(0, 2).contiguous(); },
       .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {4, 3, 0}}, .derivative = Derivative::second_of_square},
      {.name = "cast to int64 and back", .fn = [](const V& v) { return v[0].to(DType::int64).to(DType::float64); },
       .inputs = {in(x, {-10.0, 10.0})}, .derivative = Derivative::none, .gpu_f32_tol = 0, .gpu_f64_tol = 0},

      // activations
      {.name = "relu", .fn = [](const V& v) { return relu(v[0]); }, .inputs = {in(x, kOffZero)},
       .derivative = Derivative::second_of_square},
      {.name = "relu_backward (linear in the gradient)", .fn = [](const V& v) { return relu_backward(v[0], v[1]); },
       .inputs = {in(x), constant(x, kOffZero)}, .derivative = Derivative::second_of_square},
      {.name = "leaky_relu", .fn = [](const V& v) { return leaky_relu(v[0], 0.2); }, .inputs = {in(x, kOffZero)},
       .derivative = Derivative::second_of_square},
      {.name = "sigmoid", .fn = [](const V& v) { return sigmoid(v[0]); }, .inputs = {in(x, kWide)}},
      {.name = "tanh", .fn = [](const V& v) { return tanh(v[0]); }, .inputs = {in(x, kWide)}},
      {.name = "softplus", .fn = [](const V& v) { return softplus(v[0]); }, .inputs = {in(x, kWide)}},
      {.name = "softplus beta 2 threshold 3", .fn = [](const V& v) { return softplus(v[0], 2.0, 3.0); },
       .inputs = {in(x, kWide)}},
      {.name = "gelu", .fn = [](const V& v) { return gelu(v[0]); }, .inputs = {in(x, kWide)}},

      // binary, broadcasting
      {.name = "add", .fn = [](const V& v) { return v[0] + v[1]; }, .inputs = {in(x), in(row)}},
      {.name = "sub", .fn = [](const V& v) { return v[0] - v[1]; }, .inputs = {in(x), in(column)}},
      {.name = "mul", .fn = [](const V& v) { return v[0] * v[1]; }, .inputs = {in(x), in(row, kWide)}},
      {.name = "div", .fn = [](const V& v) { return v[0] / v[1]; }, .inputs = {in(x), in(column, kPositive)}},
      {.name = "pow", .fn = [](const V& v) { return pow(v[0], v[1]); }, .inputs = {in(x, kPositive), in(row)}},
      {.name = "pow with a broadcast base", .fn = [](const V& v) { return pow(v[0], v[1]); },
       .inputs = {in(row, kPositive), in(x, kWide)}},
      {.name = "maximum", .fn = [](const V& v) { return maximum(v[0], v[1]); }, .inputs = {in(x), in(row)}},
      {.name = "minimum", .fn = [](const V& v) { return minimum(v[0], v[1]); }, .inputs = {in(x), in(column)}},
      {.name = "where", .fn = [](const V& v) { return where(gt(v[0], v[1]), v[0], v[2]); },
       .inputs = {in(x), in(row), in(column)}},

      // comparisons: 0/1 in the inputs' dtype, not differentiable
      {.name = "gt", .fn = [](const V& v) { return gt(v[0], v[1]); }, .inputs = {in(x), in(row)},
       .derivative = Derivative::none},
      {.name = "lt", .fn = [](const V& v) { return lt(v[0], v[1]); }, .inputs = {in(x), in(column)},
       .derivative = Derivative::none},
      {.name = "ge", .fn = [](const V& v) { return ge(v[0], maximum(v[0], v[1])); }, .inputs = {in(x), in(row)},
       .derivative = Derivative::none},
      {.name = "le", .fn = [](const V& v) { return le(v[0], minimum(v[0], v[1])); }, .inputs = {in(x), in(row)},
       .derivative = Derivative::none},
      {.name = "eq", .fn = [](const V& v) { return eq(v[0], maximum(v[0], v[1])); }, .inputs = {in(x), in(row)},
       .derivative = Derivative::none},
      {.name = "ne", .fn = [](const V& v) { return ne(v[0], maximum(v[0], v[1])); }, .inputs = {in(x), in(row)},
       .derivative = Derivative::none},
      {.name = "gt and lt with a scalar", .fn = [](const V& v) { return gt(v[0], 0.25) + lt(v[0], -0.25); },
       .inputs = {in(x)}, .derivative = Derivative::none},
  };
}

}  // namespace lumen::testing
