#pragma once
// Whole-file reads for the text formats (nn/text.h, nn/wordnet.h), refused above a cap before any
// allocation, so that a huge or endless file (a device, a pipe) cannot exhaust memory.
#include <cstdint>
#include <string>

namespace lumen::nn {

// The bytes of the regular file at path. Throws lumen::Error "<op>: '<path>': ..." when it is missing,
// not a regular file, larger than max_bytes or unreadable.
std::string read_small_file(const char* op, const std::string& path, std::uintmax_t max_bytes);

}  // namespace lumen::nn
