#pragma once
// Princeton WordNet 3.0, read from the database files Debian's wordnet-base installs
// (scripts/get_data.sh links data/wordnet to them): for each pos in noun, verb, adj, adv
//   index.<pos>  one line per lemma:  lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt
//                synset_offset...     (the synsets most frequent sense first)
//   data.<pos>   one line per synset: offset lex_filenum ss_type w_cnt(2 hex digits) word lex_id
//                [word lex_id...] p_cnt [pointer(4 fields)...] ... | gloss
//   <pos>.exc    irregular forms:     inflected_form base_form...
// Lines starting with two spaces are the licence header. Used for synonym substitution in the NLP lesson:
//
//   WordNet wn = WordNet::load("data/wordnet");
//   wn.synonyms("movie");    // {"film", "picture", "flick", ...}
//   wn.base_forms("movies");  // {"movie"}
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace lumen::nn {

class WordNet {
 public:
  // Reads and parses all twelve files (about 30 MB of text, 15 MB of it data.noun). Each file is
  // parsed strictly and bounds-checked: a file over 64 MiB, a malformed line, a count that does not
  // match the fields present, a synset offset that is not its line's byte position (WordNet's own tools
  // seek to it), an index entry naming a synset its data file lacks or a lemma listed twice throws
  // lumen::Error naming the file and the line.
  static WordNet load(const std::string& dir);

  // The lemmas of word's base forms (ASCII lowercased first; spaces count as '_'), as WordNet's morphy
  // finds them, in pos order noun, verb, adj, adv, without duplicates. Per pos: the word itself when it
  // is a lemma of that pos; then, when <pos>.exc lists the word, its base forms there that are lemmas;
  // otherwise the first of WordNet 3.0's detachment rules whose result is a lemma:
  //   noun  -s, -ses>-s, -xes>-x, -zes>-z, -ches>-ch, -shes>-sh, -men>-man, -ies>-y  (not on words
  //         ending in "ss" or of 2 letters or less; a word ending in "ful" tries them on the part
  //         before it: "spoonsful" -> "spoonful")
  //   verb  -s, -ies>-y, -es>-e, -es, -ed>-e, -ed, -ing>-e, -ing
  //   adj   -er, -est, -er>-e, -est>-e
  //   adv   the exception list only.
  std::vector<std::string> base_forms(const std::string& word) const;

  // Single-word synonyms of word: the lemmas of every synset of each base form, in sense order (base
  // forms as above; within one, its synsets as the index lists them, most frequent sense first),
  // lowercased, without duplicates, without the word itself and its base forms ("movie" is no
  // substitute for "movies"), without multi-word lemmas (those with '_') and with adjective markers
  // such as "(a)", "(p)", "(ip)" stripped. Empty when the word is unknown.
  std::vector<std::string> synonyms(const std::string& word) const;

  // Distinct lemmas over the four index files (a lemma in several pos counts once).
  std::int64_t lemma_count() const { return lemma_count_; }

 private:
  struct PartOfSpeech {
    std::unordered_map<std::string, std::vector<std::uint64_t>> index;         // lemma -> synset offsets
    std::unordered_map<std::uint64_t, std::vector<std::string>> synsets;      // offset -> words
    std::unordered_map<std::string, std::vector<std::string>> exceptions;     // inflected -> base forms
    bool is_lemma(const std::string& w) const { return index.count(w) != 0; }
  };
  static constexpr int kNoun = 0, kVerb = 1, kAdj = 2, kAdv = 3;

  std::vector<std::string> base_forms(const std::string& word, int pos) const;

  std::array<PartOfSpeech, 4> pos_;
  std::int64_t lemma_count_ = 0;
};

}  // namespace lumen::nn
