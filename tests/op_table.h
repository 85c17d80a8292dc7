#pragma once
// One table of the differentiable ops, in the spirit of ggml's tests/test-backend-ops.cpp: each row is
// an op with its input shapes, the domain its inputs are drawn from, how far it is differentiable,
// its tolerances and the devices that have its kernels. The runner checks every row the same ways,
// each with its inputs contiguous and read through strided views:
//
//   gradcheck             float64 gradients against central finite differences (tests/gradcheck.h)
//   gradgradcheck         the same for the gradient of the gradient
//   float32 vs float64    forward and gradients agree within the row's float32 tolerance
//   strided vs contiguous the same numbers whatever the layout of the inputs
//   the GPU column        on a CUDA device: forward and gradients equal the CPU's, or, for an op whose
//                         kernels are CPU-only, the clear "no kernel for device" error
//
//   the empty case       the op on an empty input gives PyTorch's result (shape, value) and empty
//                         gradients of the inputs' shapes, or PyTorch's error (see EmptyCase)
//
// So a new op is checked on every device and every path by adding one row (tests/op_rows_*.cpp), and a
// CUDA kernel for a CPU-only family is announced by flipping its rows' `cuda` mark.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/core/device.h"
#include "tests/gradcheck.h"

namespace lumen::testing {

// Where an input's values are drawn from: uniform in [lo, hi), or with random_sign, a magnitude
// uniform in [lo, hi) with a random sign (keeps values away from the kink of relu, abs, sign, ...).
struct Domain {
  double lo = -1.0, hi = 1.0;
  bool random_sign = false;
};
inline constexpr Domain kAny{-1.0, 1.0};
inline constexpr Domain kWide{-2.0, 2.0};
inline constexpr Domain kPositive{0.5, 2.0};       // log, sqrt, reciprocal, pow's base, divisors
inline constexpr Domain kOffZero{0.1, 2.0, true};  // |x| >= 0.1: away from a kink at 0

// One input of a row: a floating tensor drawn from `domain`, or (when `index` is set) an int64 index
// tensor holding those values. Index tensors and non-differentiable inputs are constants to the checks.
struct Input {
  Shape shape;
  Domain domain = kAny;
  bool differentiable = true;
  std::vector<std::int64_t> index;  // non-empty: an int64 index tensor of `shape` with these values
};
inline Input in(Shape shape, Domain d = kAny) { return {std::move(shape), d, true, {}}; }
inline Input constant(Shape shape, Domain d = kAny) { return {std::move(shape), d, false, {}}; }
inline Input indices(std::vector<std::int64_t> values, Shape shape) {
  return {std::move(shape), kAny, false, std::move(values)};
}

// A row on an empty input, as PyTorch defines it: a sum of nothing is 0, a mean of nothing nan, a
// max of nothing an error naming the op; an op on a batch of 0 gives an empty result, and every
// differentiable input a gradient of its own shape (all zeros where the result is empty). The empty
// case is where a division by a count or a chunk size hides (issue 12: sum of [0, 3] was a SIGFPE).
//
// Every row has one. A row without `.empty` gets the derived one, its batch emptied: each input
// whose leading dim equals the output's gets it set to 0, and the result must be the row's output
// with its leading dim 0 (x [2, 3, 4] + row [4] -> [0, 3, 4] + [4] -> [0, 3, 4]; conv2d's x
// [N, C, H, W] -> [0, C, H, W], its weight kept).
// Where that rule does not fit (a reduction of the leading dim, a result of another rank, an op that
// PyTorch refuses on empty input) the row declares its case, and a row the rule cannot serve (no
// input shares the output's leading dim) fails the table until it does: no row goes unchecked.
struct EmptyCase {
  std::vector<Shape> shapes = {};  // each input's shape; an index input whose count changes holds no values
  Shape output = {};               // PyTorch's result shape
  std::optional<double> value = {};  // PyTorch's value of every element of a non-empty result (nan matches nan)
  std::string error = {};          // non-empty: instead, the op throws a lumen::Error containing this
  Fn fn = {};                      // where the row's fn hard-codes sizes: this one instead
};

// How far the finite-difference checks differentiate a row.
enum class Derivative {
  none,             // not differentiable (comparisons, arg-reductions, casts): forward checks only
  first,            // gradcheck
  second,           // gradcheck and gradgradcheck
  second_of_square  // gradcheck, and gradgradcheck of f(x)²: the op is (piecewise) linear, so its own
                    // second derivative is zero and squaring gives the check some curvature to see
};

// Which passes of a row have CUDA kernels.
enum class Cuda {
  full,          // forward and backward run on the GPU
  forward_only,  // the backward needs a CPU-only kernel: the GPU column expects its "no kernel" error
  none           // a CPU-only family: the GPU column expects the forward's "no kernel" error
};

struct OpRow {
  std::string name;  // unique; the doctest subcase name, so a failure names the op
  Fn fn;             // the row's inputs (in the order of `inputs`) -> the op's output
  std::vector<Input> inputs;
  std::optional<EmptyCase> empty = {};  // unset: derived from the row (see EmptyCase)
  Derivative derivative = Derivative::second;
  Cuda cuda = Cuda::full;
  // false for rows sized to reach the GPU kernels' multi-block paths: too many elements to perturb one
  // by one. The small rows of the same op check its derivatives.
  bool finite_differences = true;
  double grad_atol = 1e-5, grad_rtol = 1e-4;  // gradcheck (gradgradcheck uses 10x both)
  double f32_tol = 1e-6;                      // float32 vs float64, relative as tests/test_util.h allclose
  double gpu_f32_tol = 1e-5, gpu_f64_tol = 1e-12;
};

// The table: every row of tests/op_rows_*.cpp, one function per op family.
std::vector<OpRow> elementwise_rows();
std::vector<OpRow> reduce_rows();
std::vector<OpRow> shape_rows();  // views, joining and splitting, padding
std::vector<OpRow> index_rows();
std::vector<OpRow> linalg_rows();
std::vector<OpRow> conv_pool_rows();
const std::vector<OpRow>& op_table();

// How the runner lays out each input: contiguous, or read through a strided view (every dim
// non-contiguous: a transposed, step-2 view of a bigger tensor holding other values in between, so a
// kernel that ignores strides reads wrong values, and gradcheck sees that those get no gradient).
enum class Layout { contiguous, strided };
std::string layout_name(Layout layout);

// The checks. Each returns ok or the first mismatch; rows that a check does not apply to pass it.
CheckResult check_gradient(const OpRow& row, Layout layout);
CheckResult check_second_gradient(const OpRow& row, Layout layout);
CheckResult check_float32_agrees(const OpRow& row, Layout layout);
CheckResult check_strided_matches_contiguous(const OpRow& row);
// The row's empty case (declared, or derived as EmptyCase says), forward and backward, float64.
CheckResult check_empty(const OpRow& row);
// The GPU column: `row` on `device` against the CPU, in `dtype`, as the row's `cuda` mark says.
CheckResult check_on_device(const OpRow& row, Layout layout, DType dtype, Device device);

}  // namespace lumen::testing
