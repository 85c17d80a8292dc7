#include "nn/small_file.h"

#include <filesystem>
#include <fstream>

#include "kernels/core/error.h"

namespace lumen::nn {

std::string read_small_file(const char* op, const std::string& path, std::uintmax_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  LUMEN_CHECK(fs::is_regular_file(path, ec), op, "'", path, "': no such file (or not a regular file)");
  const std::uintmax_t size = fs::file_size(path, ec);
  LUMEN_CHECK(!ec, op, "'", path, "': cannot read its size: ", ec.message());
  LUMEN_CHECK(size <= max_bytes, op, "'", path, "': ", size, " bytes is larger than the ", max_bytes >> 20,
              " MiB allowed");
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  LUMEN_CHECK(in && in.read(text.data(), static_cast<std::streamsize>(size)), op, "'", path, "': cannot be read");
  return text;
}

}  // namespace lumen::nn
