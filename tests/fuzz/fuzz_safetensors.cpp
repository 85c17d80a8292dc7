// libFuzzer target: safetensors files (nn/safetensors.h): the JSON header and the tensors it describes.
#include "nn/safetensors.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lumen::fuzz::expect_value_or_error(data, size, ".safetensors", [](const std::string& p) {
    lumen::nn::read_safetensors_metadata(p);
  });
  lumen::fuzz::expect_value_or_error(data, size, ".safetensors", [](const std::string& p) {
    lumen::nn::load_safetensors(p);
  });
  return 0;
}
