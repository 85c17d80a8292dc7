// libFuzzer target: IDX files (nn/idx.h); zlib reads plain and gzip bytes alike, so both branches are reached.
#include "nn/idx.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lumen::fuzz::expect_value_or_error(data, size, "", [](const std::string& p) { lumen::nn::read_idx(p); });
  lumen::fuzz::expect_value_or_error(data, size, "", [](const std::string& p) { lumen::nn::read_idx_images(p); });
  lumen::fuzz::expect_value_or_error(data, size, "", [](const std::string& p) { lumen::nn::read_idx_labels(p); });
  return 0;
}
