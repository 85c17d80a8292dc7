// libFuzzer target: WordNet's database files (nn/wordnet.h). The input is index.noun, data.noun and
// noun.exc separated by NUL bytes (missing parts are empty files, as are the other pos); when it loads,
// the lemmas of the first lines and a few inflected words go through base_forms and synonyms.
#include <algorithm>
#include <string_view>

#include "kernels/core/error.h"
#include "nn/wordnet.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  const fs::path dir = lumen::fuzz::input_dir() / "wordnet";
  fs::create_directories(dir);
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string_view parts[3];
  std::string_view rest = bytes;
  for (int k = 0; k < 3 && !rest.empty(); ++k) {
    const std::size_t cut = std::min(rest.find('\0'), rest.size());
    parts[k] = rest.substr(0, cut);
    rest = rest.substr(std::min(cut + 1, rest.size()));
  }
  const char* names[3] = {"index.noun", "data.noun", "noun.exc"};
  for (int k = 0; k < 3; ++k)
    lumen::fuzz::write_file((dir / names[k]).string(), reinterpret_cast<const std::uint8_t*>(parts[k].data()),
                            parts[k].size());
  for (const char* empty : {"index.verb", "data.verb", "verb.exc", "index.adj", "data.adj", "adj.exc", "index.adv",
                            "data.adv", "adv.exc"})
    lumen::fuzz::write_file((dir / empty).string(), nullptr, 0);
  try {
    const lumen::nn::WordNet wn = lumen::nn::WordNet::load(dir.string());
    std::vector<std::string> words = {"dogs", "men", "spoonsful", "glasses", ""};
    std::string_view index = parts[0];
    for (int line = 0; line < 16 && !index.empty(); ++line) {
      const std::size_t end = std::min(index.find('\n'), index.size());
      const std::string_view l = index.substr(0, end);
      words.emplace_back(l.substr(0, std::min(l.find(' '), l.size())));
      words.push_back(words.back() + "s");
      index = index.substr(std::min(end + 1, index.size()));
    }
    for (const std::string& w : words) {
      wn.base_forms(w);
      wn.synonyms(w);
    }
  } catch (const lumen::Error&) {
  }
  return 0;
}
