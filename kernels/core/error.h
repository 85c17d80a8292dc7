#pragma once
// Errors for bad input. Every check names the op, what it got and what it expected, e.g.
//   "matmul: shapes [2, 3] and [4, 5] are not compatible: expected a.shape[-1] == b.shape[-2] (3 vs 4)"
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lumen {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::ostream& operator<<(std::ostream& os, const std::vector<std::int64_t>& shape) {
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  return os << ']';
}

namespace detail {
template <class... Args> [[noreturn]] void fail(const char* op, const Args&... args) {
  std::ostringstream os;
  os << op << ": ";
  (os << ... << args);
  throw Error(os.str());
}
}  // namespace detail

#define LUMEN_CHECK(cond, op, ...)                          \
  do {                                                      \
    if (!(cond)) ::lumen::detail::fail(op, __VA_ARGS__);    \
  } while (0)

}  // namespace lumen
