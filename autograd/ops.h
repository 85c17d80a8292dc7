#pragma once
// The differentiable ops. Each is defined once (in autograd/ops_*.cpp) with its forward, which calls
// the device kernels, and its backward, written with these same ops so that create_graph gives
// gradients of gradients. Every op checks its inputs and throws lumen::Error naming itself, what it
// got and what it expected.
//
// Conventions: dims may be negative (counted from the end); binary elementwise ops broadcast like
// NumPy; comparisons return 0/1 tensors of the inputs' dtype.
#include <optional>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace lumen {

// ---- elementwise (ops_elementwise.cpp)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // ties split the gradient equally, as PyTorch
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond != 0 picks a
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor rsub(const Tensor& a, double s);  // s - a
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor clamp(const Tensor& x, double lo, double hi);  // use ±infinity for a one-sided clamp
Tensor sign(const Tensor& x);                          // not differentiable (zero gradient)
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);

// ---- activations (ops_elementwise.cpp)
Tensor relu(const Tensor& x);
Tensor relu_backward(const Tensor& grad, const Tensor& x);  // grad · 1[x > 0], ReLU's backward
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor gelu(const Tensor& x);  // exact: x Φ(x)

// ---- reductions (ops_reduce.cpp). An empty dims list means all dims.
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const Shape& dims = {}, std::int64_t correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);  // gradient split among ties
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Values and int64 indices of the max/min along dim (the gradient flows to the chosen element).
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);
// The sum of g over the dims in which `shape` was broadcast to g's shape: the adjoint of broadcasting.
Tensor sum_to(const Tensor& g, const Shape& shape);

// ---- linear algebra (ops_linalg.cpp)
// a [..., M, K] @ b [..., K, N] with broadcast batch dims; 1-D operands are treated as in NumPy.
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- views (ops_views.cpp): share storage with the input where the layout allows
Tensor reshape(const Tensor& x, const Shape& shape);  // one dim may be -1
Tensor view(const Tensor& x, const Shape& shape);     // like reshape, but never copies (error instead)
Tensor permute(const Tensor& x, const Shape& dims);
Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
// Elements start, start+step, ... < end along dim (end clipped to the size; start/end may be negative).
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a dim
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor flatten(const Tensor& x, std::int64_t start = 0, std::int64_t end = -1);

// ---- indexing (ops_index.cpp). Indices are int64 tensors.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
// x with src added at `index` along dim (out-of-place: x is not modified).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
// x with src's slices added at rows `index` of dim (out-of-place); the adjoint of index_select.
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
// The backwards of gather (and of max/min along a dim) and of index_select: g added at `index` into
// zeros of the input's shape. scatter_add / index_add into zeros, without their copy of the zeros; the
// backward of each is gather / index_select again.
Tensor gather_backward(const Tensor& g, std::int64_t dim, const Tensor& index, const Shape& input_shape);
Tensor index_select_backward(const Tensor& g, std::int64_t dim, const Tensor& index, const Shape& input_shape);
Tensor embedding(const Tensor& weight, const Tensor& indices);  // [V, D] and int64 [...] -> [..., D]
Tensor one_hot(const Tensor& indices, std::int64_t num_classes, DType dtype = DType::float32);
// The k largest (largest=true) or smallest entries along dim and their int64 indices, as torch.topk.
// sorted=true orders them largest first (smallest first when !largest); sorted=false keeps them in
// the order of their indices. Ties go to the lower index; nan counts as larger than any number (as
// PyTorch). values = gather(x, dim, indices), so the gradient flows to the chosen elements. The
// selection runs on the host (the result is moved back to x's device).
std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                               bool sorted = true);

// ---- joining (ops_join.cpp)
Tensor cat(const std::vector<Tensor>& xs, std::int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
// Constant padding, PyTorch order: {last_lo, last_hi, second_last_lo, second_last_hi, ...}.
Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value = 0.0);

// ---- convolution and pooling (ops_conv.cpp, ops_pool.cpp). Layout NCHW; weights [O, C/groups, kh, kw]
// for conv2d and [C, O/groups, kh, kw] for conv_transpose2d, as in PyTorch.
struct Conv2dOptions {
  std::pair<std::int64_t, std::int64_t> stride{1, 1};
  std::pair<std::int64_t, std::int64_t> padding{0, 0};
  std::pair<std::int64_t, std::int64_t> dilation{1, 1};
  std::int64_t groups = 1;
  std::pair<std::int64_t, std::int64_t> output_padding{0, 0};  // conv_transpose2d only
};
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& opt = {});
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& opt = {});

// x [N, C, L] (or unbatched [C, L]), weight [O, C/groups, k], bias [O] -> [N, O, L_out], as
// torch.nn.functional.conv1d. A composite over conv2d on [N, C, 1, L], so its gradients of any order
// are conv2d's.
struct Conv1dOptions {
  std::int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
};
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv1dOptions& opt = {});

struct Pool2dOptions {
  std::pair<std::int64_t, std::int64_t> kernel{2, 2};
  std::optional<std::pair<std::int64_t, std::int64_t>> stride;  // defaults to kernel
  std::pair<std::int64_t, std::int64_t> padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opt = {});
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt = {});
Tensor adaptive_avg_pool2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> output_size);
Tensor upsample_nearest2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> output_size);
Tensor upsample_bilinear2d(const Tensor& x, std::pair<std::int64_t, std::int64_t> output_size,
                           bool align_corners = false);

// ---- operators
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(a, s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator/(double s, const Tensor& a) { return mul(reciprocal(a), s); }

// ---- shape helpers shared by the ops (wrap_dim is in kernels/core/tensor_base.h)
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
void check_same_device_dtype(const char* op, const Tensor& a, const Tensor& b);

}  // namespace lumen
