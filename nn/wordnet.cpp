// WordNet's database files (format in wordnet.h) and its morphy, as WordNet 3.0's morph.c does it for
// single words. Every field is checked before use, so a damaged or hostile file is refused with its
// name and line, never read past or trusted for a size.
#include "nn/wordnet.h"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <unordered_set>

#include "kernels/core/error.h"
#include "nn/small_file.h"

namespace lumen::nn {
namespace {

constexpr const char* kOp = "WordNet::load";
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{64} << 20;
constexpr const char* kPosNames[4] = {"noun", "verb", "adj", "adv"};
constexpr char kIndexPos[4] = {'n', 'v', 'a', 'r'};

struct Rule {
  std::string_view suffix, ending;
};
// morph.c's detachment rules, tried in this order.
const std::vector<Rule> kRules[4] = {
    {{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}},
    {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}},
    {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
    {},
};

// A field for an error message, cut short: a hostile line may be megabytes long.
std::string shown(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 32)).append(s.size() > 32 ? "...\"" : "\"");
  return out;
}

// One line of one file, for parsing and for errors that name both.
struct Line {
  const std::string& path;
  std::int64_t number;
  std::vector<std::string_view> fields;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(std::string(kOp) + ": '" + path + "': line " + std::to_string(number) + ": " + what);
  }
  std::string_view at(std::size_t i, const char* what) const {
    if (i >= fields.size())
      fail(std::string("ends after ") + std::to_string(fields.size()) + " fields, before its " + what);
    return fields[i];
  }
  // Unsigned decimal of 1 to 9 digits (WordNet's offsets have 8, its counts 1 to 3).
  std::uint64_t decimal(std::size_t i, const char* what) const {
    const std::string_view s = at(i, what);
    if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail(std::string("expected ") + what + " as a decimal number of 1 to 9 digits, got " + shown(s));
    std::uint64_t v = 0;
    for (char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    return v;
  }
  // Unsigned hexadecimal of exactly `digits` digits (w_cnt has 2, lex_id 1).
  std::uint64_t hex(std::size_t i, std::size_t digits, const char* what) const {
    const std::string_view s = at(i, what);
    std::uint64_t v = 0;
    for (char c : s) {
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0 || s.size() != digits)
        fail(std::string("expected ") + what + " as " + std::to_string(digits) + " hexadecimal digit(s), got " + shown(s));
      v = v * 16 + static_cast<std::uint64_t>(d);
    }
    return v;
  }
};

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Calls fn(line, byte position of the line) for each line that is neither empty nor licence header.
template <class Fn>
void for_each_line(const std::string& path, const std::string& text, const char* cut_at, Fn fn) {
  std::size_t start = 0;
  for (std::int64_t number = 1; start < text.size(); ++number) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && !line.starts_with("  ")) {
      if (cut_at) line = line.substr(0, line.find(cut_at));
      fn(Line{path, number, split_fields(line)}, start);
    }
    start = end + 1;
  }
}

bool ends_with(const std::string& s, std::string_view suffix) { return std::string_view(s).ends_with(suffix); }

// A data file's word as a plain lowercase word: "Able(a)" -> "able".
std::string clean_word(std::string_view w) {
  if (w.ends_with(')')) w = w.substr(0, w.rfind('('));
  std::string out(w);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

WordNet WordNet::load(const std::string& dir) {
  namespace fs = std::filesystem;
  WordNet wn;
  std::unordered_set<std::string> lemmas;
  for (int p = 0; p < 4; ++p) {
    PartOfSpeech& pos = wn.pos_[p];
    const std::string name = kPosNames[p];

    // data.<pos>: a synset per line, found by its offset, which is its line's byte position.
    const std::string data_path = (fs::path(dir) / ("data." + name)).string();
    const std::string data = read_small_file(kOp, data_path, kMaxFileBytes);
    for_each_line(data_path, data, "|", [&](const Line& l, std::size_t position) {
      const std::uint64_t offset = l.decimal(0, "synset_offset");
      if (offset != position)
        l.fail("synset_offset " + std::to_string(offset) + " is not the line's byte position " +
               std::to_string(position));
      l.decimal(1, "lex_filenum");
      const std::string_view type = l.at(2, "ss_type");
      const bool type_ok = p == kAdj ? (type == "a" || type == "s") : type == std::string_view(&kIndexPos[p], 1);
      if (!type_ok) l.fail("expected ss_type of a " + name + " synset, got " + shown(type));
      const std::uint64_t w_cnt = l.hex(3, 2, "w_cnt");
      if (w_cnt == 0) l.fail("a synset needs at least one word, w_cnt is 00");
      std::vector<std::string> words;
      for (std::uint64_t k = 0; k < w_cnt; ++k) {
        words.emplace_back(l.at(4 + 2 * k, "word"));
        l.hex(5 + 2 * k, 1, "lex_id");
      }
      const std::size_t p_at = 4 + 2 * w_cnt;
      const std::uint64_t p_cnt = l.decimal(p_at, "p_cnt");
      if (p_cnt > (l.fields.size() - p_at - 1) / 4)
        l.fail("p_cnt " + std::to_string(p_cnt) + " pointers need " + std::to_string(4 * p_cnt) + " fields, found " +
               std::to_string(l.fields.size() - p_at - 1));
      pos.synsets.emplace(offset, std::move(words));
    });

    // index.<pos>: a lemma per line, with its synsets in sense order.
    const std::string index_path = (fs::path(dir) / ("index." + name)).string();
    const std::string index = read_small_file(kOp, index_path, kMaxFileBytes);
    for_each_line(index_path, index, nullptr, [&](const Line& l, std::size_t) {
      const std::string lemma(l.at(0, "lemma"));
      if (l.at(1, "pos") != std::string_view(&kIndexPos[p], 1))
        l.fail(std::string("expected pos '") + kIndexPos[p] + "', got " + shown(l.fields[1]));
      const std::uint64_t synset_cnt = l.decimal(2, "synset_cnt");
      const std::uint64_t p_cnt = l.decimal(3, "p_cnt");
      if (synset_cnt == 0) l.fail("a lemma needs at least one synset, synset_cnt is 0");
      // lemma pos synset_cnt p_cnt [ptr_symbol x p_cnt] sense_cnt tagsense_cnt [synset_offset x synset_cnt]
      if (l.fields.size() != 6 + p_cnt + synset_cnt)
        l.fail("synset_cnt " + std::to_string(synset_cnt) + " and p_cnt " + std::to_string(p_cnt) + " need " +
               std::to_string(6 + p_cnt + synset_cnt) + " fields, found " + std::to_string(l.fields.size()));
      l.decimal(4 + p_cnt, "sense_cnt");
      l.decimal(5 + p_cnt, "tagsense_cnt");
      std::vector<std::uint64_t> offsets;
      for (std::uint64_t k = 0; k < synset_cnt; ++k) {
        const std::uint64_t offset = l.decimal(6 + p_cnt + k, "synset_offset");
        if (!pos.synsets.count(offset))
          l.fail("synset_offset " + std::to_string(offset) + " is not a synset of data." + name);
        offsets.push_back(offset);
      }
      if (!pos.index.emplace(lemma, std::move(offsets)).second) l.fail("lemma " + shown(lemma) + " is listed twice");
      lemmas.insert(lemma);
    });

    // <pos>.exc: irregular forms and their base forms.
    const std::string exc_path = (fs::path(dir) / (name + ".exc")).string();
    const std::string exc = read_small_file(kOp, exc_path, kMaxFileBytes);
    for_each_line(exc_path, exc, nullptr, [&](const Line& l, std::size_t) {
      if (l.fields.size() < 2) l.fail("expected an inflected form and at least one base form");
      auto& bases = pos.exceptions[std::string(l.fields[0])];
      for (std::size_t k = 1; k < l.fields.size(); ++k) bases.emplace_back(l.fields[k]);
    });
  }
  wn.lemma_count_ = static_cast<std::int64_t>(lemmas.size());
  return wn;
}

std::vector<std::string> WordNet::base_forms(const std::string& word, int p) const {
  const PartOfSpeech& pos = pos_[p];
  std::vector<std::string> out;
  const auto add = [&](const std::string& b) {
    if (pos.is_lemma(b) && std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
  };
  add(word);
  if (const auto it = pos.exceptions.find(word); it != pos.exceptions.end()) {
    for (const std::string& b : it->second) add(b);
    return out;  // morph.c: a listed irregular form is not also run through the rules
  }
  // "spoonsful" -> rules on "spoons" -> "spoon" + "ful"; other nouns in "ss" or of two letters are left.
  std::string stem = word, tail;
  if (p == kNoun) {
    if (ends_with(word, "ful")) {
      stem = word.substr(0, word.size() - 3), tail = "ful";
    } else if (ends_with(word, "ss") || word.size() <= 2) {
      return out;
    }
  }
  for (const Rule& r : kRules[p]) {
    if (!ends_with(stem, r.suffix)) continue;
    std::string b = stem.substr(0, stem.size() - r.suffix.size()) + std::string(r.ending);
    if (b == stem) continue;
    b += tail;
    if (pos.is_lemma(b)) {
      add(b);
      break;  // morph.c takes the first rule that gives a lemma
    }
  }
  return out;
}

namespace {
std::string normalised(const std::string& word) {
  std::string w = word;
  for (char& c : w) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == ' ') c = '_';
  }
  return w;
}
}  // namespace

std::vector<std::string> WordNet::base_forms(const std::string& word) const {
  const std::string w = normalised(word);
  std::vector<std::string> out;
  for (int p = 0; p < 4; ++p)
    for (std::string& b : base_forms(w, p))
      if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(std::move(b));
  return out;
}

std::vector<std::string> WordNet::synonyms(const std::string& word) const {
  const std::string w = normalised(word);
  std::unordered_set<std::string> seen{w};
  for (const std::string& b : base_forms(w)) seen.insert(b);
  std::vector<std::string> out;
  for (int p = 0; p < 4; ++p)
    for (const std::string& b : base_forms(w, p))
      for (std::uint64_t offset : pos_[p].index.at(b))
        for (const std::string& lemma : pos_[p].synsets.at(offset)) {
          std::string s = clean_word(lemma);
          if (s.empty() || s.find('_') != std::string::npos || !seen.insert(s).second) continue;
          out.push_back(std::move(s));
        }
  return out;
}

}  // namespace lumen::nn
