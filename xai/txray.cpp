#include "xai/txray.h"

#include <algorithm>
#include <cmath>

namespace lumen::xai {

std::int64_t FilterProfile::unique_features() const { return static_cast<std::int64_t>(mass.size()); }

double FilterProfile::entropy() const {
  if (total_mass <= 0) return 0.0;
  double h = 0;
  for (const auto& [feature, m] : mass)
    if (m > 0) h -= (m / total_mass) * std::log(m / total_mass);
  return h;
}

std::vector<std::pair<std::string, double>> FilterProfile::top(std::int64_t k) const {
  LUMEN_CHECK(k >= 0, "FilterProfile::top", "expected k >= 0, got ", k);
  std::vector<std::pair<std::string, double>> shares;
  for (const auto& [feature, m] : mass) shares.emplace_back(feature, m / total_mass);
  // The map is ordered by name, so a stable sort by share leaves ties by name.
  std::stable_sort(shares.begin(), shares.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  shares.resize(std::min(shares.size(), static_cast<std::size_t>(k)));
  return shares;
}

TxRayRecorder::TxRayRecorder(std::int64_t filters) {
  LUMEN_CHECK(filters >= 1, "TxRayRecorder", "expected at least one filter, got ", filters);
  profiles_.resize(static_cast<std::size_t>(filters));
}

void TxRayRecorder::record(const Tensor& conv_output, const std::vector<std::vector<std::string>>& tokens,
                           std::int64_t width) {
  const char* op = "TxRayRecorder::record";
  const auto filters = static_cast<std::int64_t>(profiles_.size());
  LUMEN_CHECK(conv_output.defined() && conv_output.dim() == 3 && conv_output.size(1) == filters &&
                  is_floating(conv_output.dtype()),
              op, "expected a floating conv output [N, ", filters, ", L], got ",
              conv_output.defined() ? conv_output.str() : "undefined");
  const std::int64_t n = conv_output.size(0), len_out = conv_output.size(2);
  LUMEN_CHECK(static_cast<std::int64_t>(tokens.size()) == n, op, "expected one token list per sentence (", n,
              "), got ", tokens.size());
  LUMEN_CHECK(width >= 1, op, "expected a window width >= 1, got ", width);
  const std::vector<double> a = conv_output.to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& words = tokens[static_cast<std::size_t>(i)];
    // The padded input had len_out + width − 1 tokens (a valid convolution); longer lists are clipped.
    const std::int64_t length = std::min<std::int64_t>(static_cast<std::int64_t>(words.size()), len_out + width - 1);
    const std::int64_t valid = std::min(std::max<std::int64_t>(length - width + 1, 1), len_out);
    for (std::int64_t f = 0; f < filters; ++f) {
      FilterProfile& p = profiles_[static_cast<std::size_t>(f)];
      ++p.sentences;
      if (length == 0) continue;
      const double* row = a.data() + (i * filters + f) * len_out;
      const std::int64_t best = std::max_element(row, row + valid) - row;  // the first maximum
      if (!(row[best] > 0)) continue;
      const std::string& feature = words[static_cast<std::size_t>(best)];
      p.mass[feature] += row[best];
      p.count[feature] += 1;
      p.total_mass += row[best];
      ++p.active_sentences;
    }
  }
}

std::map<std::string, double> distribution(const FilterProfile& p) {
  std::map<std::string, double> d;
  if (p.total_mass <= 0) return d;
  for (const auto& [feature, m] : p.mass) d[feature] = m / p.total_mass;
  return d;
}

}  // namespace lumen::xai
