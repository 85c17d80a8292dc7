// WordNet (nn/wordnet.h): base forms and synonyms on the committed tiny database
// (tests/fixtures/wordnet_tiny/, written by its make_wordnet_tiny.py), damaged copies of it, and the
// real database when scripts/get_data.sh has linked data/wordnet.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "kernels/core/error.h"
#include "nn/wordnet.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using namespace lumen::nn;
using lumen::testing::fixture;
using lumen::testing::read_bytes;
using lumen::testing::TempDir;
using lumen::testing::write_bytes;
using Strings = std::vector<std::string>;

namespace {

std::string joined(const Strings& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return "{" + out + "}";
}

bool contains(const Strings& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

#define CHECK_STRINGS(got, ...)                  \
  do {                                           \
    const Strings got_ = (got);                  \
    INFO(#got << " = " << joined(got_));         \
    CHECK(got_ == Strings __VA_ARGS__);          \
  } while (0)

const char* const kFiles[] = {"index.noun", "data.noun", "noun.exc", "index.verb", "data.verb", "verb.exc",
                              "index.adj",  "data.adj",  "adj.exc",  "index.adv",  "data.adv",  "adv.exc"};

// A copy of the tiny database with one file replaced; returns the error of loading it ("" if none).
std::string load_error_with(const std::string& file, const std::string& bytes) {
  TempDir dir("wordnet");
  for (const char* f : kFiles) std::filesystem::copy_file(fixture(std::string("wordnet_tiny/") + f), dir / f);
  write_bytes(dir / file, bytes);
  try {
    WordNet::load(dir.path.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define CHECK_LOAD_ERROR(file, bytes, ...)                          \
  do {                                                              \
    const std::string message_ = load_error_with(file, bytes);      \
    INFO("error: " << message_);                                    \
    CHECK(message_.find(std::string("/") + file + "'") != std::string::npos); \
    CHECK(message_.find(__VA_ARGS__) != std::string::npos);         \
  } while (0)

}  // namespace

TEST_SUITE("text") {
  TEST_CASE("WordNet on the tiny database: morphy's base forms") {
    const WordNet wn = WordNet::load(fixture("wordnet_tiny"));
    CHECK(wn.lemma_count() == 35);  // good, bad, film and well are in two or three pos: counted once
    CHECK_STRINGS(wn.base_forms("movie"), {"movie"});
    CHECK_STRINGS(wn.base_forms("movies"), {"movie"});            // noun -s
    CHECK_STRINGS(wn.base_forms("Movies"), {"movie"});            // lowercased first
    CHECK_STRINGS(wn.base_forms("films"), {"film"});              // noun -s and verb -s: once
    CHECK_STRINGS(wn.base_forms("glasses"), {"glasses", "glass"});  // a lemma itself, and -ses>-s
    CHECK_STRINGS(wn.base_forms("boxes"), {"box"});               // -s gives "boxe", not a lemma; -xes>-x
    CHECK_STRINGS(wn.base_forms("churches"), {"church"});
    CHECK_STRINGS(wn.base_forms("men"), {"man"});                 // noun.exc
    CHECK_STRINGS(wn.base_forms("spoonsful"), {"spoonful"});      // the rules on "spoons", then "ful"
    CHECK_STRINGS(wn.base_forms("glass"), {"glass"});             // "ss": no rules
    CHECK_STRINGS(wn.base_forms("ran"), {"run"});                 // verb.exc
    CHECK_STRINGS(wn.base_forms("running"), {"run"});
    CHECK_STRINGS(wn.base_forms("loved"), {"love"});              // -ed>-e before -ed
    CHECK_STRINGS(wn.base_forms("loves"), {"love"});
    CHECK_STRINGS(wn.base_forms("larger"), {"large"});            // -er>-e after -er gave "larg"
    CHECK_STRINGS(wn.base_forms("bigger"), {"big"});              // adj.exc
    CHECK_STRINGS(wn.base_forms("biggest"), {});                  // not listed, and no rule fits
    CHECK_STRINGS(wn.base_forms("better"), {"good", "well"});     // adj.exc (adj "well"), adv.exc
    CHECK_STRINGS(wn.base_forms("good"), {"good"});
    CHECK_STRINGS(wn.base_forms("church building"), {"church_building"});
    CHECK_STRINGS(wn.base_forms("zebra"), {});
    CHECK_STRINGS(wn.base_forms(""), {});
  }

  TEST_CASE("WordNet on the tiny database: synonyms in sense order") {
    const WordNet wn = WordNet::load(fixture("wordnet_tiny"));
    // moving_picture has '_': left out.
    CHECK_STRINGS(wn.synonyms("movie"), {"film", "picture", "flick"});
    // film's noun synsets (movie, then photographic film), then its verb synset; no "film" or "films".
    CHECK_STRINGS(wn.synonyms("films"), {"movie", "picture", "flick", "shoot", "take"});
    // Noun, adj (the full synset lists "good(a)"), adv.
    CHECK_STRINGS(wn.synonyms("good"), {"goodness", "full", "well"});
    // better: adj good and well (adj.exc), adv well (adv.exc); the base forms themselves left out.
    CHECK_STRINGS(wn.synonyms("better"), {"full"});
    CHECK_STRINGS(wn.synonyms("full"), {"good"});
    CHECK_STRINGS(wn.synonyms("abundant"), {"galore"});
    CHECK_STRINGS(wn.synonyms("glasses"), {"spectacles", "specs", "eyeglasses"});
    CHECK_STRINGS(wn.synonyms("church"), {});                     // church_building only
    CHECK_STRINGS(wn.synonyms("zebra"), {});
  }

  TEST_CASE("WordNet refuses damaged files, naming the file and the line") {
    const std::string data_noun = read_bytes(fixture("wordnet_tiny/data.noun"));
    const std::string index_noun = read_bytes(fixture("wordnet_tiny/index.noun"));
    CHECK(load_error_with("noun.exc", read_bytes(fixture("wordnet_tiny/noun.exc"))).empty());  // the copy loads

    const std::string header = data_noun.substr(0, 160);
    const auto data_line = [&](const std::string& fields) { return header + fields + " | gloss  \n"; };
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 n 05 movie 0"),
                     "line 3: ends after 6 fields, before its word");
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 n ff movie 0"), "line 3: ends after 6 fields");
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 n 1 movie 0 000"),
                     "line 3: expected w_cnt as 2 hexadecimal digit(s), got \"1\"");
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 n 00 000"), "a synset needs at least one word");
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 v 01 movie 0 000"),
                     "expected ss_type of a noun synset, got \"v\"");
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 n 01 movie x 000"), "lex_id");
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 n 01 movie 0 999 @ 1 n 0000"),
                     "p_cnt 999 pointers need 3996 fields, found 4");
    CHECK_LOAD_ERROR("data.noun", data_line("00000160 10 n 01 movie 0 -1"), "expected p_cnt as a decimal number");
    CHECK_LOAD_ERROR("data.noun", data_line("00000161 10 n 01 movie 0 000"),
                     "line 3: synset_offset 161 is not the line's byte position 160");
    CHECK_LOAD_ERROR("data.noun", data_line("99999999999999999999 10 n 01 movie 0 000"),
                     "expected synset_offset as a decimal number of 1 to 9 digits");
    CHECK_LOAD_ERROR("data.noun", header + "x\n", "line 3: expected synset_offset as a decimal number of 1 to 9 digits, got \"x\"");

    const std::string index_header = index_noun.substr(0, 160);
    CHECK_LOAD_ERROR("index.noun", index_header + "movie n 1 0 1 0 00000999  \n",
                     "line 3: synset_offset 999 is not a synset of data.noun");
    CHECK_LOAD_ERROR("index.noun", index_header + "movie n 2 0 1 0 00000160  \n",
                     "synset_cnt 2 and p_cnt 0 need 8 fields, found 7");
    CHECK_LOAD_ERROR("index.noun", index_header + "movie n 1 999999999 1 0 00000160  \n", "need 1000000006 fields");
    CHECK_LOAD_ERROR("index.noun", index_header + "movie v 1 0 1 0 00000160  \n", "expected pos 'n', got \"v\"");
    CHECK_LOAD_ERROR("index.noun", index_header + "movie n 0 0 0 0  \n", "synset_cnt is 0");
    CHECK_LOAD_ERROR("index.noun", index_header + "movie n 1 0 1 0 00000160  \nmovie n 1 0 1 0 00000160  \n",
                     "line 4: lemma \"movie\" is listed twice");
    CHECK_LOAD_ERROR("index.noun", index_header + "movie\n", "line 3: ends after 1 fields, before its pos");
    CHECK_LOAD_ERROR("noun.exc", "men\n", "line 1: expected an inflected form and at least one base form");

    TempDir dir("wordnet-big");
    for (const char* f : kFiles) std::filesystem::copy_file(fixture(std::string("wordnet_tiny/") + f), dir / f);
    std::filesystem::resize_file(dir / "data.verb", std::uintmax_t{65} << 20);  // sparse: nothing is written
    CHECK_THROWS_WITH_AS(WordNet::load(dir.path.string()), doctest::Contains("larger than the 64 MiB allowed"), Error);
    std::filesystem::remove(dir / "data.verb");
    CHECK_THROWS_WITH_AS(WordNet::load(dir.path.string()), doctest::Contains("data.verb': no such file"), Error);
  }

  TEST_CASE("real WordNet from scripts/get_data.sh") {
    const auto dir = lumen::testing::data_dir("wordnet");
    if (!std::filesystem::exists(dir / "index.noun")) {
      MESSAGE("skipped: no " << dir.string() << " (run scripts/get_data.sh)");
      return;
    }
    const WordNet wn = WordNet::load(dir.string());
    CHECK(wn.lemma_count() == 147306);  // WordNet 3.0's distinct lemma strings
    CHECK_STRINGS(wn.base_forms("movies"), {"movie"});
    CHECK_STRINGS(wn.base_forms("better"), {"better", "good", "well"});  // noun and verb "better" too
    CHECK_STRINGS(wn.base_forms("loved"), {"love", "loved"});           // verb love; adj loved
    CHECK_STRINGS(wn.base_forms("children"), {"child"});
    // movie's one synset: movie, film, picture, moving_picture, moving-picture_show, ..., pic, flick.
    CHECK_STRINGS(wn.synonyms("movie"), {"film", "picture", "pic", "flick"});
    CHECK_STRINGS(wn.synonyms("movies"), {"film", "picture", "pic", "flick"});
    const Strings good = wn.synonyms("good");
    INFO("good: " << joined(good));
    CHECK(good.front() == "goodness");  // the first noun sense
    CHECK(contains(good, "well"));
    CHECK(contains(good, "full"));
    CHECK(contains(good, "skillful"));
    CHECK_FALSE(contains(good, "good"));
    CHECK(contains(wn.synonyms("great"), "outstanding"));
    CHECK(contains(wn.synonyms("terrible"), "awful"));
    CHECK(wn.synonyms("qwertyuiop").empty());
  }
}
