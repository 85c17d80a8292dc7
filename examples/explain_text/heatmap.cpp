// Text heat maps: a token's background says how much, and in which direction, it drove the explained
// score. Plain HTML (inline styles, no script), so the page reads anywhere and can be printed.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "examples/explain_text/steps.h"

namespace lumen::explain_text {

std::string heatmap_html(const std::vector<std::string>& tokens, const std::vector<double>& scores) {
  double top = 0;
  for (double s : scores)
    if (std::isfinite(s)) top = std::max(top, std::abs(s));
  std::string html = "<span class=\"heat\">";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const double s = i < scores.size() && std::isfinite(scores[i]) ? scores[i] : 0.0;
    const double strength = top > 0 ? std::abs(s) / top : 0.0;
    char style[160];
    // Red (214, 39, 40) for evidence for the class, blue (31, 119, 180) against, as matplotlib's tab10.
    std::snprintf(style, sizeof style, "background:rgba(%s,%.2f);padding:1px 2px;border-radius:2px",
                  s >= 0 ? "214,39,40" : "31,119,180", 0.85 * strength);
    html += std::string("<span style=\"") + style + "\" title=\"" + report::format("%+.4g", s) + "\">" +
            report::escape_html(tokens[i]) + "</span> ";
  }
  return html + "</span>";
}

std::string heatmap_text(const std::vector<std::string>& tokens, const std::vector<double>& scores) {
  std::string line;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!line.empty()) line += ' ';
    line += tokens[i] + "(" + report::format("%+.2f", i < scores.size() ? scores[i] : 0.0) + ")";
  }
  return line;
}

}  // namespace lumen::explain_text
