#pragma once
// TX-Ray filter profiles (Rethmeier et al., "TX-Ray: Quantifying and Explaining Model-Knowledge
// Transfer in (Un-)Supervised NLP", UAI 2020): what each convolution filter of a text model responds
// to, as a distribution over the input features that maximally activate it, accumulated over a
// corpus. Profiles of the same filter before and after training (or fine-tuning) are compared with
// the Hellinger distance (xai/text.h), and a profile's spread with its entropy.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::xai {

// One filter's profile over the sentences recorded so far.
struct FilterProfile {
  std::map<std::string, double> mass;        // feature -> Σ max activation over the sentences where it was the argmax
  std::map<std::string, std::int64_t> count; // feature -> number of those sentences
  double total_mass = 0;
  std::int64_t active_sentences = 0, sentences = 0;
  std::int64_t unique_features() const;
  double entropy() const;  // of mass / total_mass, in nats (0 when the filter was never active)
  // The k features with the largest mass share (mass / total_mass), largest first, ties by name.
  std::vector<std::pair<std::string, double>> top(std::int64_t k) const;
};

// For each sentence and filter, the window position with the filter's maximum PRE-ReLU activation
// among the valid positions (windows starting at a real token: position < max(length − width + 1, 1),
// and within the output), first position on ties; the feature there is the FIRST token of that
// window (a window of `width` tokens is named by where it starts: one token per feature keeps the
// profiles comparable across filter widths). It is recorded only when that maximum is > 0: an
// inactive filter contributes nothing, as TX-Ray counts only activations. A sentence without tokens
// counts in `sentences` only.
class TxRayRecorder {
 public:
  explicit TxRayRecorder(std::int64_t filters);
  // conv_output [N, F, L] pre-ReLU (F = filters); tokens: the N sentences' token strings (length =
  // tokens[n].size(), clipped to the padded input); width: the filters' window width.
  void record(const Tensor& conv_output, const std::vector<std::vector<std::string>>& tokens, std::int64_t width);
  const std::vector<FilterProfile>& profiles() const { return profiles_; }

 private:
  std::vector<FilterProfile> profiles_;
};

// P = mass / total_mass as a distribution (for hellinger); empty for a filter never active.
std::map<std::string, double> distribution(const FilterProfile& p);

}  // namespace lumen::xai
