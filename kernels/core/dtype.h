#pragma once
// Element types. float32 is the working type, float64 is what gradchecks use, int64 holds indices
// (argmax, gather, embedding, randint). Only floating tensors take part in autograd.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lumen {

enum class DType : std::uint8_t { float32, float64, int64 };

constexpr std::size_t itemsize(DType t) { return t == DType::float32 ? 4 : 8; }
constexpr bool is_floating(DType t) { return t != DType::int64; }
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
  }
  return "?";
}

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::float32; }
template <> constexpr DType dtype_of<double>() { return DType::float64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::int64; }

// Calls f.template operator()<T>() with T the C++ type of a floating dtype:
//   visit_floating(x.dtype(), "exp", [&]<class T>() { ... });
template <class F> decltype(auto) visit_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::float32: return f.template operator()<float>();
    case DType::float64: return f.template operator()<double>();
    default:
      throw std::invalid_argument(std::string(op) + ": expected a floating tensor (float32 or float64), got " +
                                  dtype_name(t));
  }
}
// Same for every dtype, int64 included (copies, fills, indexing).
template <class F> decltype(auto) visit_any(DType t, F&& f) {
  switch (t) {
    case DType::float32: return f.template operator()<float>();
    case DType::float64: return f.template operator()<double>();
    case DType::int64: return f.template operator()<std::int64_t>();
  }
  return f.template operator()<float>();
}

}  // namespace lumen
