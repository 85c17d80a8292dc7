#pragma once
// Shared by the fuzz targets. lumen's loaders read files (paths are their public interface), so each
// target writes the fuzzer's bytes to a private temporary file and calls a loader on it.
//
// The contract under test: a loader given *any* bytes either returns or throws lumen::Error. Any other
// exception escapes LLVMFuzzerTestOneInput, which libFuzzer (and the corpus replay) reports as a crash;
// so does a sanitizer report, a hang (-timeout) or an allocation above -malloc_limit_mb.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "kernels/core/error.h"

namespace lumen::fuzz {

// This process's private directory for inputs.
inline const std::filesystem::path& input_dir() {
  static const std::filesystem::path dir = [] {
    const char* shm = "/dev/shm";
    auto d = std::filesystem::path(std::filesystem::exists(shm) ? shm : std::filesystem::temp_directory_path()) /
             ("lumen-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();  // the harness itself failed: not a finding about lumen
  }
}

// One file per process and suffix (".gz" makes a loader take the gzip branch where it looks at names).
inline std::string write_input(const std::uint8_t* data, std::size_t size, const std::string& suffix) {
  const std::string path = (input_dir() / ("input" + suffix)).string();
  write_file(path, data, size);
  return path;
}

// Runs fn(path); lumen::Error is the expected way to refuse bad bytes.
template <class Fn>
void expect_value_or_error(const std::uint8_t* data, std::size_t size, const std::string& suffix, Fn fn) {
  const std::string path = write_input(data, size, suffix);
  try {
    fn(path);
  } catch (const lumen::Error&) {
  }
}

}  // namespace lumen::fuzz
