// libFuzzer target: the JSON files of nn/text.h, labelled sentences and AFINN (both flat JSON, so one
// corpus serves both loaders).
#include "nn/text.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lumen::fuzz::expect_value_or_error(data, size, ".json",
                                     [](const std::string& p) { lumen::nn::load_sentiment_json(p, "fuzz"); });
  lumen::fuzz::expect_value_or_error(data, size, ".json", [](const std::string& p) { lumen::nn::load_afinn(p); });
  return 0;
}
