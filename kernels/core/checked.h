#pragma once
// Overflow-checked size arithmetic. Shapes come from users and from files (an IDX or safetensors
// header), so a product of dims, a stride or a byte count may not fit in int64. Each is computed here,
// and one that does not fit is a lumen::Error naming the op, never a wrapped number: a wrapped byte
// count allocates too little, and the writes that follow run past it.
#include <cstdint>

#include "kernels/core/error.h"

namespace lumen {

// a * b and a + b for sizes; `context` (streamed after the op's name) says what was being computed.
template <class... Context>
std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* op, const Context&... context) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) detail::fail(op, context..., ": ", a, " * ", b, " overflows int64");
  return r;
}
template <class... Context>
std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* op, const Context&... context) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) detail::fail(op, context..., ": ", a, " + ", b, " overflows int64");
  return r;
}

}  // namespace lumen
