// Step 5: explanation-guided adversarial edits. Each sentence's tokens are edited in the order of their
// attribution for the predicted class (the most supporting first): a token becomes its first WordNet
// synonym the model knows (in sense order), or is deleted when it has none; after each edit the model
// predicts again, until its prediction flips. If the explanation is right about what the prediction
// rests on, few edits suffice; the same edits in random order, or least-supporting first, need more.
#include <algorithm>
#include <numeric>

#include "examples/explain_text/steps.h"
#include "examples/lesson.h"

namespace lumen::explain_text {

namespace {

enum class Order { explanation, random, reverse };
const char* order_name(Order o) {
  return o == Order::explanation ? "explanation (most supporting first)" : o == Order::random ? "random" : "reverse (least supporting first)";
}
const char* order_key(Order o) { return o == Order::explanation ? "explanation" : o == Order::random ? "random" : "reverse"; }

struct Edit {
  std::int64_t position;
  std::string replacement;  // empty: deleted
};
struct Outcome {
  std::int64_t edits = -1;  // until the flip; -1: never flipped
  std::vector<Edit> applied;
};

// The next edit of token `word`: its first WordNet synonym in the vocabulary, else deletion.
std::string replacement_for(const Lesson& l, const std::string& word) {
  for (const std::string& s : l.wordnet.synonyms(word))
    if (s != word && l.vocab.id(s) != nn::Vocab::kUnk) return s;
  return "";
}

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Edits every sentence in its order, all sentences in lockstep (one batch per edit count).
std::vector<Outcome> run_edits(const Lesson& l, nn::TextClassifier& model, const std::vector<std::vector<std::string>>& tokens,
                               const std::vector<std::vector<std::int64_t>>& orders, const std::vector<std::int64_t>& original) {
  const std::size_t n = tokens.size();
  std::vector<Outcome> out(n);
  std::vector<std::vector<std::string>> current = tokens;
  std::vector<std::vector<bool>> deleted(n);
  for (std::size_t i = 0; i < n; ++i) deleted[i].assign(tokens[i].size(), false);
  std::size_t longest = 0;
  for (const auto& t : tokens) longest = std::max(longest, t.size());
  for (std::size_t e = 0; e < longest; ++e) {
    std::vector<std::size_t> active;
    std::vector<std::vector<std::int64_t>> rows;
    for (std::size_t i = 0; i < n; ++i) {
      if (out[i].edits >= 0 || e >= orders[i].size()) continue;
      const auto p = static_cast<std::size_t>(orders[i][e]);
      const std::string rep = replacement_for(l, current[i][p]);
      out[i].applied.push_back({static_cast<std::int64_t>(p), rep});
      if (rep.empty()) deleted[i][p] = true;
      else current[i][p] = rep;
      std::vector<std::string> kept;
      for (std::size_t t = 0; t < current[i].size(); ++t)
        if (!deleted[i][t]) kept.push_back(current[i][t]);
      active.push_back(i);
      rows.push_back(l.vocab.encode(kept));
    }
    if (active.empty()) break;
    const Predictions p = predict(model, rows, kMinLen);
    for (std::size_t k = 0; k < active.size(); ++k)
      if (p.predicted[k] != original[active[k]]) out[active[k]].edits = static_cast<std::int64_t>(e + 1);
  }
  return out;
}

std::string edited_html(const std::vector<std::string>& tokens, const Outcome& o) {
  std::vector<std::string> shown;
  for (const std::string& t : tokens) shown.push_back(report::escape_html(t));
  for (const Edit& e : o.applied) {
    auto& s = shown[static_cast<std::size_t>(e.position)];
    s = "<s>" + report::escape_html(tokens[static_cast<std::size_t>(e.position)]) + "</s>" +
        (e.replacement.empty() ? "" : " <b>" + report::escape_html(e.replacement) + "</b>");
  }
  std::string html;
  for (const auto& s : shown) html += (html.empty() ? "" : " ") + s;
  return html;
}

const char* sentiment(std::int64_t c) { return c == 1 ? "positive" : "negative"; }

}  // namespace

void adversarial_edits(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("5. explanation-guided adversarial edits");
  r.heading("5. Explanation-guided adversarial edits");
  const std::size_t ig = static_cast<std::size_t>(
      std::find_if(methods().begin(), methods().end(), [](const Method& m) { return m.key == "integrated_gradients"; }) - methods().begin());
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(o.adversarial_sentences), l.eval_ids.size());
  const std::vector<std::vector<std::string>> tokens(l.eval_tokens.begin(), l.eval_tokens.begin() + static_cast<std::ptrdiff_t>(n));
  report::Table table({{"model", "", -9}, {"edit order", "", -36}, {"flipped", "", 8}, {"mean edits (flipped)", "edits", 8},
                       {"mean share of tokens edited", "share", 8}},
                      "  ");
  std::string examples_html;
  for (Arch arch : {Arch::cnn, Arch::bilstm}) {
    nn::TextClassifier& model = *l.trained(arch)[0].model;
    const std::vector<std::vector<std::int64_t>> rows(l.eval_ids.begin(), l.eval_ids.begin() + static_cast<std::ptrdiff_t>(n));
    const Predictions pred = predict(model, rows, kMinLen);
    const TokenScores all = eval_scores_for(l, arch, true, 0, ig, predict(model, l.eval_ids, kMinLen).predicted);
    std::vector<std::vector<Outcome>> outcomes;
    std::uint64_t state = o.seed + 77;
    for (Order order : {Order::explanation, Order::random, Order::reverse}) {
      std::vector<std::vector<std::int64_t>> orders;
      for (std::size_t i = 0; i < n; ++i) {
        std::vector<std::int64_t> idx(tokens[i].size());
        std::iota(idx.begin(), idx.end(), 0);
        const auto& s = all[i];
        if (order == Order::random)
          for (std::size_t k = idx.size(); k > 1; --k) std::swap(idx[k - 1], idx[splitmix(state) % k]);
        else
          std::stable_sort(idx.begin(), idx.end(), [&](std::int64_t a, std::int64_t b) {
            return order == Order::explanation ? s[static_cast<std::size_t>(a)] > s[static_cast<std::size_t>(b)]
                                               : s[static_cast<std::size_t>(a)] < s[static_cast<std::size_t>(b)];
          });
        orders.push_back(std::move(idx));
      }
      outcomes.push_back(run_edits(l, model, tokens, orders, pred.predicted));
      double flipped = 0, edits = 0, share = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (outcomes.back()[i].edits >= 0) {
          flipped += 1, edits += static_cast<double>(outcomes.back()[i].edits);
          share += static_cast<double>(outcomes.back()[i].edits) / static_cast<double>(tokens[i].size());
        }
      const std::string key = arch_key(arch);
      table.row({arch_name(arch), order_name(order),
                 r.number({"adversarial", key, order_key(order), "success_rate"}, flipped / static_cast<double>(n), "%.3f"),
                 r.number({"adversarial", key, order_key(order), "mean_edits"}, flipped > 0 ? edits / flipped : std::nan(""), "%.2f"),
                 r.number({"adversarial", key, order_key(order), "mean_share"}, flipped > 0 ? share / flipped : std::nan(""), "%.3f")});
    }
    // Edits needed, counting a sentence that never flipped as its length + 1: is the guided order cheaper?
    auto cost = [&](const std::vector<Outcome>& v, std::size_t i) {
      return v[i].edits >= 0 ? static_cast<double>(v[i].edits) : static_cast<double>(tokens[i].size() + 1);
    };
    double guided = 0, random = 0;
    for (std::size_t i = 0; i < n; ++i) guided += cost(outcomes[0], i), random += cost(outcomes[1], i);
    r.flag({"adversarial", arch_key(arch), "explanation_needs_fewer_edits_than_random"}, guided < random);
    r.number({"adversarial", arch_key(arch), "mean_cost_explanation"}, guided / static_cast<double>(n), "%.2f");
    r.number({"adversarial", arch_key(arch), "mean_cost_random"}, random / static_cast<double>(n), "%.2f");

    if (arch == Arch::cnn) {
      // The 10 most striking: flipped by the guided order with the largest saving over the random order.
      std::vector<std::size_t> idx;
      for (std::size_t i = 0; i < n; ++i)
        if (outcomes[0][i].edits >= 0) idx.push_back(i);
      std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        return cost(outcomes[1], a) - cost(outcomes[0], a) > cost(outcomes[1], b) - cost(outcomes[0], b);
      });
      if (idx.size() > 10) idx.resize(10);
      std::string html = "<table><tr><th>sentence, IG for the predicted class</th><th>edited until the " +
                         std::string(arch_name(arch)) + "'s prediction flipped</th><th>edits (random order)</th></tr>\n";
      for (std::size_t i : idx) {
        html += "<tr><td style=\"text-align:left\">" + heatmap_html(tokens[i], all[i]) + " <i>(" + sentiment(pred.predicted[i]) +
                ")</i></td><td style=\"text-align:left\">" + edited_html(tokens[i], outcomes[0][i]) + " <i>(→ " +
                sentiment(1 - pred.predicted[i]) + ")</i></td><td>" + std::to_string(outcomes[0][i].edits) + " (" +
                (outcomes[1][i].edits >= 0 ? std::to_string(outcomes[1][i].edits) : std::string("never")) + ")</td></tr>\n";
      }
      examples_html = html + "</table>";
    }
  }
  r.paragraph("On " + std::to_string(n) + " test sentences (correctly classified or not), with the first model of each "
              "architecture; the order comes from IG (Σ over the embedding) for the predicted class, computed once on the "
              "original sentence. Synonyms come from WordNet (Debian's <code>wordnet-base</code>): the first single-word "
              "lemma of the word's synsets, in sense order, that is in the vocabulary; a word without one is deleted. A "
              "sentence that never flips has had every token edited.");
  r.table(table);
  r.paragraph("<b>The 10 most striking edits</b> (the text CNN; largest saving over the random order). Struck-through "
              "tokens were replaced by the bold synonym or deleted.");
  r.block(examples_html);
}

}  // namespace lumen::explain_text
