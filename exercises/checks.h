#pragma once
// How each exercise is checked: one function per exercise, taking any candidate answer and returning
// ok or the first thing that is wrong (an unwritten exercise's error included), so the same check
// runs on your answer, on the reference solution and on a deliberately wrong answer, which it must
// reject (test_exercises.cpp). The checks are the library's own: gradcheck and gradgradcheck
// (tests/gradcheck.h) for the backwards, known answers and the library's functions for the rest.
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "autograd/tensor.h"
#include "tests/gradcheck.h"
#include "xai/attribution.h"

namespace lumen::exercises {

using testing::CheckResult;

using TanhBackward = std::function<Tensor(const Tensor& y, const Tensor& grad_output)>;
using MatmulBackward = std::function<std::pair<Tensor, Tensor>(const Tensor& a, const Tensor& b, const Tensor& grad)>;
using PathAttribution = std::function<Tensor(const xai::ForwardFn& f, const Tensor& inputs, const Tensor& reference,
                                             const xai::Target& target, std::int64_t n_steps)>;
using GradCamMap = std::function<Tensor(const Tensor& activations, const Tensor& gradients)>;
using TcavScore = std::function<double(const Tensor& layer_gradients, const Tensor& cav_direction)>;
using Distance = std::function<double(const std::map<std::string, double>&, const std::map<std::string, double>&)>;

CheckResult check_tanh_backward(const TanhBackward& answer);
CheckResult check_matmul_backward(const MatmulBackward& answer);
CheckResult check_riemann_integrated_gradients(const PathAttribution& answer);
CheckResult check_grad_cam_map(const GradCamMap& answer);
CheckResult check_d_integrated_gradients(const PathAttribution& answer);
CheckResult check_tcav_score(const TcavScore& answer);
CheckResult check_hellinger(const Distance& answer);

}  // namespace lumen::exercises
