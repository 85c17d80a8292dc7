// libFuzzer target: expert regions from VGG Image Annotator JSON files (xai/annotations.h, Sharp-LIME).
#include "tests/fuzz/fuzz_input.h"
#include "xai/annotations.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The only image, and an image by name (the seed corpus's files name their images "digit_a.png").
  lumen::fuzz::expect_value_or_error(data, size, ".json",
                                     [](const std::string& p) { lumen::xai::load_via_annotation(p, "", 32, 32); });
  lumen::fuzz::expect_value_or_error(data, size, ".json", [](const std::string& p) {
    lumen::xai::load_via_annotation(p, "digit_a.png", 32, 32);
  });
  return 0;
}
