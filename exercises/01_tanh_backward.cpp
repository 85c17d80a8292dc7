// Exercise 1 — the backward of tanh (lesson: how autograd works; STUDY.md).
//
// Task: given y = tanh(x), which the forward saved, and g = ∂L/∂y (same shape), return ∂L/∂x.
//
// Maths: d tanh(x)/dx = 1 − tanh²(x) = 1 − y², so ∂L/∂x = g ⊙ (1 − y²) (elementwise). Saving the
// output rather than the input means the backward needs no tanh of its own.
//
// Write it with lumen's differentiable ops (autograd/ops.h: `square`, `rsub(t, 1.0)` = 1 − t, `*`), as
// every backward in autograd/ops_*.cpp is: then the engine can differentiate your backward too
// (create_graph), which is how gradients of gradients work. A loop over data<double>() would give the
// right numbers but no graph, and the second-order check would fail.
//
// Checked by (checks.cpp): gradcheck (your backward against central differences), gradgradcheck (the
// backward of your backward), and the value of the library's own tanh gradient on random inputs.
#include "autograd/ops.h"
#include "exercises/exercises.h"

namespace lumen::exercises {

Tensor tanh_backward(const Tensor& y, const Tensor& grad_output) {
  throw Error("exercise 1 (tanh_backward): not written yet; write it in exercises/01_tanh_backward.cpp (STUDY.md)");
}

}  // namespace lumen::exercises
