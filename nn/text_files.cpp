// The JSON files of nn/text.h (labelled sentences, AFINN) and the fixed splits of the sentences.
// Both formats are flat, so the parser's callback refuses any nesting deeper than the format's the
// moment it starts, and counts entries as they arrive: a hostile file is refused before it is built.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>

#include "kernels/core/error.h"
#include "nn/small_file.h"
#include "nn/text.h"

namespace lumen::nn {
namespace {

using Json = nlohmann::json;

constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{64} << 20;
constexpr std::size_t kMaxTextBytes = 100'000;
constexpr std::int64_t kMaxEntries = 1'000'000;

// A key of the file for an error message, cut short: the file may hold keys of any length.
std::string key_text(const std::string& key) {
  return "\"" + (key.size() <= 64 ? key : key.substr(0, 64) + "...") + "\"";
}

[[noreturn]] void fail(const char* op, const std::string& path, const std::string& where, const std::string& what) {
  throw Error(std::string(op) + ": '" + path + "'" + (where.empty() ? "" : ": " + where) + ": " + what);
}

// Runs the parser; its own errors (bad syntax, bad UTF-8) become lumen::Error naming the file.
template <class Callback>
Json parse(const char* op, const std::string& path, const std::string& text, Callback callback) {
  try {
    return Json::parse(text, Json::parser_callback_t(std::move(callback)));
  } catch (const Json::exception& e) {
    fail(op, path, "", std::string("not valid JSON (") + e.what() + ")");
  }
}

// A value of the file for an error message, cut short like keys.
std::string value_text(const Json& v) {
  const std::string s = v.dump();
  return s.size() <= 64 ? s : s.substr(0, 64) + "...";
}

std::string entry_text(std::int64_t i) { return "entry " + std::to_string(i); }

// The shuffle of the splits, the same on every platform: std::shuffle and the standard distributions
// are implemented differently by each standard library, mt19937_64's raw output is not.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t n) {
  // Rejecting the lowest (2^64 mod n) values leaves a whole number of copies of [0, n): no bias.
  const std::uint64_t reject_below = (0 - n) % n;
  for (;;) {
    const std::uint64_t x = rng();
    if (x >= reject_below) return x % n;
  }
}

void fisher_yates(std::vector<std::size_t>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform_below(rng, i)]);
}

}  // namespace

SentimentFile load_sentiment_json(const std::string& path, const std::string& domain) {
  constexpr const char* op = "load_sentiment_json";
  const std::string text = read_small_file(op, path, kMaxFileBytes);
  // Depth 0: the array; 1: its entries; 2: an entry's members, which must be plain values.
  std::int64_t entries = 0;
  bool top_is_array = false;
  Json doc = parse(op, path, text, [&](int depth, Json::parse_event_t event, Json&) {
    const bool starts = event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
    if (depth == 0 && event == Json::parse_event_t::array_start) top_is_array = true;
    if (depth >= 1 && starts && !top_is_array) fail(op, path, "", "expected a JSON array of entries, got an object");
    if (depth == 1 && (starts || event == Json::parse_event_t::value) && ++entries > kMaxEntries)
      fail(op, path, "", "more than 1,000,000 entries");
    if (depth >= 2 && starts) fail(op, path, entry_text(entries - 1), "expected plain values, got a nested array or object");
    return true;
  });
  if (!doc.is_array()) fail(op, path, "", std::string("expected a JSON array of entries, got ") + doc.type_name());

  SentimentFile out;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const Json& e = doc[i];
    const std::string at = entry_text(static_cast<std::int64_t>(i));
    if (!e.is_object()) fail(op, path, at, std::string("expected an object, got ") + e.type_name());
    const auto t = e.find("text");
    if (t == e.end()) fail(op, path, at, "missing \"text\"");
    if (!t->is_string()) fail(op, path, at + ".text", std::string("expected a string, got ") + t->type_name());
    const std::string& s = t->get_ref<const std::string&>();
    if (s.size() > kMaxTextBytes)
      fail(op, path, at + ".text", std::to_string(s.size()) + " bytes is longer than the 100,000 allowed");
    const auto c = e.find("class");
    if (c == e.end() || c->is_null()) {
      ++out.skipped_without_class;
      continue;
    }
    const bool binary = (c->is_number_integer() || c->is_number_unsigned()) && (*c == 0 || *c == 1);
    if (!binary) fail(op, path, at + ".class", "expected 0 or 1, got " + value_text(*c));
    out.items.push_back({s, tokenize(s), c->get<std::int64_t>(), domain});
  }
  return out;
}

TextSplits load_sentiment_splits(const std::string& dir, const std::vector<std::string>& domains, std::uint64_t seed) {
  constexpr const char* op = "load_sentiment_splits";
  LUMEN_CHECK(!domains.empty(), op, "expected at least one domain (e.g. \"amazon\"), got none");
  std::set<std::string> seen;
  for (const std::string& d : domains) {
    LUMEN_CHECK(!d.empty() && d.find('/') == std::string::npos, op, "expected a domain name without '/', got \"",
                d, "\"");
    LUMEN_CHECK(seen.insert(d).second, op, "domain \"", d, "\" is listed twice; its sentences would be doubled");
  }
  TextSplits out;
  for (const std::string& domain : domains) {
    SentimentFile file = load_sentiment_json((std::filesystem::path(dir) / (domain + ".json")).string(), domain);
    out.skipped_without_class += file.skipped_without_class;
    std::mt19937_64 rng(seed);  // per domain: a domain's split does not depend on the others
    for (std::int64_t label : {0, 1}) {
      std::vector<std::size_t> rows;
      for (std::size_t i = 0; i < file.items.size(); ++i)
        if (file.items[i].label == label) rows.push_back(i);
      fisher_yates(rows, rng);
      const std::size_t n_train = rows.size() * 70 / 100, n_val = rows.size() * 10 / 100;
      for (std::size_t k = 0; k < rows.size(); ++k) {
        auto& split = k < n_train ? out.train : k < n_train + n_val ? out.validation : out.test;
        split.push_back(std::move(file.items[rows[k]]));
      }
    }
  }
  return out;
}

std::unordered_map<std::string, int> load_afinn(const std::string& path) {
  constexpr const char* op = "load_afinn";
  const std::string text = read_small_file(op, path, kMaxFileBytes);
  // Depth 0: the object; 1: its keys and values, which must be plain. nlohmann keeps only the last of
  // repeated keys, so repeats are caught here, as the keys go by.
  std::set<std::string> keys;
  std::string last_key;
  bool top_is_object = false;
  Json doc = parse(op, path, text, [&](int depth, Json::parse_event_t event, Json& parsed) {
    const bool starts = event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
    if (depth == 0 && event == Json::parse_event_t::object_start) top_is_object = true;
    if (depth >= 1 && starts && !top_is_object) fail(op, path, "", "expected a JSON object {word: valence}, got an array");
    if (depth == 1 && event == Json::parse_event_t::key) {
      last_key = parsed.get<std::string>();
      if (static_cast<std::int64_t>(keys.size()) >= kMaxEntries) fail(op, path, "", "more than 1,000,000 entries");
      if (!keys.insert(last_key).second) fail(op, path, key_text(last_key), "appears more than once");
    }
    if (depth >= 1 && starts) fail(op, path, key_text(last_key), "expected an integer valence, got a nested array or object");
    return true;
  });
  if (!doc.is_object()) fail(op, path, "", std::string("expected a JSON object {word: valence}, got ") + doc.type_name());

  std::unordered_map<std::string, int> out;
  out.reserve(doc.size());
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    if (key.empty() || key.size() > kMaxTextBytes)
      fail(op, path, key_text(key), "expected a word of 1 to 100,000 bytes, got " + std::to_string(key.size()));
    const Json& v = it.value();
    const bool valence = (v.is_number_integer() || v.is_number_unsigned()) && v >= -5 && v <= 5;
    if (!valence) fail(op, path, key_text(key), "expected an integer valence in [-5, 5], got " + value_text(v));
    out.emplace(key, v.get<int>());
  }
  return out;
}

}  // namespace lumen::nn
