// libFuzzer target: region masks read from image files (xai/segmentation.h, Sharp-LIME's annotations).
#include "tests/fuzz/fuzz_input.h"
#include "xai/segmentation.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lumen::fuzz::expect_value_or_error(data, size, ".png", [](const std::string& p) { lumen::xai::load_region_mask(p); });
  return 0;
}
