// The checks of checkpoint metadata (nn/checkpoint.h); save and load are with the modules (module.cpp).
#include "nn/checkpoint.h"

#include <charconv>
#include <limits>

namespace lumen::nn {

namespace {

// text as a decimal number of type T, the whole of it; false when it is not one or does not fit.
template <class T> bool parse_decimal(const std::string& text, T* out) {
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, *out);  // no spaces, no '+', no base prefix
  return ec == std::errc() && stop == end;
}

}  // namespace

const std::string& metadata_text(const char* op, const Metadata& meta, const std::string& key, const std::string& path) {
  const auto it = meta.find(key);
  LUMEN_CHECK(it != meta.end(), op, "checkpoint '", path, "' has no metadata '", key, "'");
  return it->second;
}

std::int64_t metadata_int(const char* op, const Metadata& meta, const std::string& key, const std::string& path,
                          std::int64_t min, std::int64_t max) {
  const std::string& text = metadata_text(op, meta, key, path);
  std::int64_t v = 0;
  LUMEN_CHECK(parse_decimal(text, &v) && v >= min && v <= max, op, "checkpoint '", path, "': metadata '", key,
              "' = '", text, "', expected an integer in [", min, ", ", max, "]");
  return v;
}

std::uint64_t metadata_uint64(const char* op, const Metadata& meta, const std::string& key, const std::string& path) {
  const std::string& text = metadata_text(op, meta, key, path);
  std::uint64_t v = 0;
  LUMEN_CHECK(parse_decimal(text, &v), op, "checkpoint '", path, "': metadata '", key, "' = '", text,
              "', expected an integer in [0, ", std::numeric_limits<std::uint64_t>::max(), "]");
  return v;
}

}  // namespace lumen::nn
