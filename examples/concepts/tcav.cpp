// Steps 2 and 3 of the concepts lesson: TCAV (Kim et al. 2018) with the significance test the summer
// school skipped. A concept is a set of example images; its CAV is the normal of a linear classifier
// separating their activations at a layer from those of a random set; a class's TCAV score is the share
// of its inputs whose logit grows along the CAV. Only a score that differs from random-vs-random scores
// over many random sets (Welch's t-test, Bonferroni over layers) is reported as a finding.
#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "examples/concepts/steps.h"
#include "examples/lesson.h"
#include "figures/grid.h"
#include "figures/plot.h"
#include "nn/textures.h"
#include "xai/concept_measures.h"
#include "xai/concepts.h"
#include "xai/tcav.h"

namespace lumen::concepts {

namespace {

// Rows of the concept pool: the second half of the ColoredMNIST test split (the first half holds the
// inputs whose sensitivities are counted, so no image is both an example and an explained input).
struct Pool {
  std::int64_t begin, end;
};
Pool colored_pool(const Lesson& l) { return {l.colored_test.size() / 2, l.colored_test.size()}; }

// n distinct pool rows (a seeded shuffle), restricted to digit `digit` when ≥ 0.
std::vector<std::int64_t> draw_rows(const Lesson& l, Generator& gen, std::int64_t n, std::int64_t digit = -1) {
  const Pool p = colored_pool(l);
  const std::vector<std::int64_t> perm = randperm(p.end - p.begin, kCPU, &gen).to_vector<std::int64_t>();
  const std::vector<std::int64_t> digits = l.mnist_test.labels.to_vector<std::int64_t>();
  std::vector<std::int64_t> rows;
  for (std::int64_t i : perm) {
    if (static_cast<std::int64_t>(rows.size()) == n) break;
    if (digit < 0 || digits[static_cast<std::size_t>(p.begin + i)] == digit) rows.push_back(p.begin + i);
  }
  return rows;
}

// A tint: colormap `cls` at position t (ColoredMNIST's color of the image).
struct Tint {
  std::int64_t cls;
  float t;
};

// The gray digits of `rows` tinted with tints[i], as ColoredMNIST tints them.
Tensor tinted(const Lesson& l, const std::vector<std::int64_t>& rows, const std::vector<Tint>& tints) {
  const std::int64_t n = static_cast<std::int64_t>(rows.size());
  const Tensor gray = take_rows(l.mnist_test.images, rows).contiguous();
  std::vector<double> rgb(static_cast<std::size_t>(n * 3 * 28 * 28));
  const float* g = gray.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const Tint& tint = tints.at(static_cast<std::size_t>(i));
    const std::array<float, 3> c = nn::colormap_color(tint.cls, tint.t);
    for (int ch = 0; ch < 3; ++ch)
      for (std::int64_t p = 0; p < 28 * 28; ++p) rgb[static_cast<std::size_t>((i * 3 + ch) * 784 + p)] = g[i * 784 + p] * c[ch];
  }
  return tensor(rgb, {n, 3, 28, 28});
}

// n tints of one colormap, evenly spread over t.
std::vector<Tint> one_colormap(std::int64_t cls, std::int64_t n) {
  std::vector<Tint> t;
  for (std::int64_t i = 0; i < n; ++i) t.push_back({cls, static_cast<float>((static_cast<double>(i) + 0.5) / n)});
  return t;
}

// The same n tints for every set that is not about color: the four colormaps in turn, each evenly
// spread over t. A classifier of color sees the slightest color imbalance between two sets, and a random
// draw of 50 tints has one; a fixed set (the concept, or the first random set that stands for "no
// concept") would then carry it into every CAV and make "digit 7" look significant for the wrong reason.
// With identical colors, only the digits' shapes differ from set to set.
std::vector<Tint> matched_tints(std::int64_t n) {
  const std::int64_t k = nn::kColoredMnistClasses, per = (n + k - 1) / k;
  std::vector<Tint> t;
  for (std::int64_t i = 0; i < n; ++i)
    t.push_back({i % k, static_cast<float>((static_cast<double>(i / k) + 0.5) / static_cast<double>(per))});
  return t;
}

// For each of `rows` (sevens), a different pool digit that is not a seven, drawn among the 8 whose
// stroke area (share of pixels above 0.5) is closest to the seven's.
std::vector<std::int64_t> ink_matched_rows(const Lesson& l, const std::vector<std::int64_t>& rows, Generator& gen) {
  const Pool p = colored_pool(l);
  const std::int64_t n = p.end - p.begin;
  const std::vector<double> area =
      xai::stroke_area(l.mnist_test.images.narrow(0, p.begin, n).reshape({n, 1, 28, 28})).to_vector<double>();
  const std::vector<std::int64_t> digits = l.mnist_test.labels.to_vector<std::int64_t>();
  std::vector<bool> taken(static_cast<std::size_t>(n), false);
  std::vector<std::int64_t> out;
  for (std::int64_t row : rows) {
    const double a = area[static_cast<std::size_t>(row - p.begin)];
    std::vector<std::pair<double, std::int64_t>> near;
    for (std::int64_t i = 0; i < n; ++i)
      if (!taken[static_cast<std::size_t>(i)] && digits[static_cast<std::size_t>(p.begin + i)] != 7)
        near.push_back({std::fabs(area[static_cast<std::size_t>(i)] - a), i});
    const std::size_t k = std::min<std::size_t>(8, near.size());
    std::partial_sort(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(k), near.end());
    const std::int64_t pick = near[static_cast<std::size_t>(randint(0, static_cast<std::int64_t>(k), {1}, kCPU, &gen)
                                                                .to_vector<std::int64_t>()[0])].second;
    taken[static_cast<std::size_t>(pick)] = true;
    out.push_back(p.begin + pick);
  }
  return out;
}

// "mean ± std *" of a significant concept's scores; a concept that is not significant is not reported
// as a finding: "n.s. (mean)".
std::string score_cell(const xai::TcavLayerResult& res) {
  if (!res.significance.significant) return "n.s. (" + report::format("%.2f", res.significance.mean) + ")";
  return report::format("%.2f", res.significance.mean) + " ± " + report::format("%.2f", res.significance.std) + " *";
}

// The mean held-out accuracy of the concept's CAVs.
double cav_accuracy(const xai::TcavLayerResult& res) {
  double acc = 0;
  for (double a : res.cav_accuracies) acc += a;
  return acc / static_cast<double>(std::max<std::size_t>(res.cav_accuracies.size(), 1));
}

// Records one TCAV result under key.
void record(report::Report& r, const report::Key& key, const xai::TcavLayerResult& res) {
  const auto add = [&](const char* name, double v, const char* f) {
    report::Key k = key;
    k.push_back(name);
    r.number(k, v, f);
  };
  add("score", res.significance.mean, "%.4f");
  add("score_std", res.significance.std, "%.4f");
  add("random_score", res.significance.random_mean, "%.4f");
  add("random_std", res.significance.random_std, "%.4f");
  add("p_value", res.significance.p_value, "%.3g");
  double magnitude = 0;
  for (double m : res.magnitudes) magnitude += m;
  add("magnitude", magnitude / static_cast<double>(std::max<std::size_t>(res.magnitudes.size(), 1)), "%.4f");
  add("cav_accuracy", cav_accuracy(res), "%.4f");
  report::Key k = key;
  k.push_back("significant");
  r.flag(k, res.significance.significant);
}

// One grouped bar chart: layers as groups, a bar per concept (mean score ± std, * significant) and the
// random-vs-random scores of the first concept's runs as the last bar.
figures::Chart tcav_chart(const std::string& title, const std::vector<Layer>& layers, const std::vector<std::string>& names,
                          const std::vector<std::vector<xai::TcavLayerResult>>& results) {
  std::vector<std::string> groups;
  for (const Layer& ly : layers) groups.push_back(ly.name);
  std::vector<figures::BarSeries> series;
  for (std::size_t c = 0; c < names.size(); ++c) {
    figures::BarSeries s{.name = names[c]};
    for (const xai::TcavLayerResult& res : results[c]) {
      s.values.push_back(res.significance.mean);
      s.errors.push_back(res.significance.std);
      s.marks.push_back(res.significance.significant);
    }
    series.push_back(s);
  }
  figures::BarSeries rnd{.name = "random", .color = std::array<float, 3>{0.6f, 0.6f, 0.6f}};
  for (const xai::TcavLayerResult& res : results[0]) {
    rnd.values.push_back(res.significance.random_mean);
    rnd.errors.push_back(res.significance.random_std);
    rnd.marks.push_back(false);
  }
  series.push_back(rnd);
  return figures::make_grouped_bar_chart(groups, series,
                                    {.title = title, .ylabel = "TCAV score", .width = 560, .height = 360, .ylim = std::pair{0.0, 1.75}});
}

std::vector<std::string> layer_names(const std::vector<Layer>& layers) {
  std::vector<std::string> names;
  for (const Layer& ly : layers) names.push_back(ly.name);
  return names;
}

}  // namespace

void tcav_colored(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("2. TCAV on the ColoredMNIST CNN: " + std::to_string(o.random_sets) + " CAVs per concept and layer");
  Generator gen(o.seed + 2);
  // The concepts: each colormap's tint on random digits, and the digit 7 in any color.
  std::vector<std::string> names;
  std::vector<Tensor> concept_sets;
  for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c) {
    names.push_back(std::string(lesson::kClassNames[c]) + " tint");
    concept_sets.push_back(tinted(l, draw_rows(l, gen, o.concept_images), one_colormap(c, o.concept_images)));
  }
  const std::vector<std::int64_t> sevens = draw_rows(l, gen, o.concept_images, 7);
  const Tensor seven_set = tinted(l, sevens, matched_tints(static_cast<std::int64_t>(sevens.size())));
  names.push_back("digit 7");
  concept_sets.push_back(seven_set);
  names.push_back("digit 7 ink-matched");
  concept_sets.push_back(seven_set);
  // Random sets: random pool digits with the same tints as the sevens; and, for the second "digit 7",
  // digits of the same stroke area as the sevens (a seven has less ink than most digits, and a color
  // classifier's logits grow with ink: step 4 shows it), so that the shape is all that differs.
  std::vector<Tensor> random_sets, ink_matched_sets;
  for (std::int64_t s = 0; s <= o.random_sets; ++s) {
    random_sets.push_back(tinted(l, draw_rows(l, gen, o.concept_images), matched_tints(o.concept_images)));
    const std::vector<std::int64_t> rows = ink_matched_rows(l, sevens, gen);
    ink_matched_sets.push_back(tinted(l, rows, matched_tints(static_cast<std::int64_t>(rows.size()))));
  }

  const std::vector<std::string> layers = layer_names(kCnnLayers);
  lesson::Progress progress("TCAV (gradient and layer IG)", 2 * nn::kColoredMnistClasses, "classes");
  // results[variant][class][concept][layer]
  std::vector<std::vector<std::vector<std::vector<xai::TcavLayerResult>>>> results(2);
  for (int variant = 0; variant < 2; ++variant) {
    for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c) {
      const Tensor inputs =
          take_rows(l.colored_test.images, rows_of_class(l.colored_test.labels, c, o.class_images, 0, colored_pool(l).begin));
      std::vector<std::vector<xai::TcavLayerResult>> per_concept;
      for (std::size_t k = 0; k < concept_sets.size(); ++k)
        per_concept.push_back(xai::run_tcav(*l.cnn, {.layers = layers, .concept_images = concept_sets[k],
                                                     .random_sets = k + 1 == concept_sets.size() ? ink_matched_sets
                                                                                                 : random_sets,
                                                     .class_inputs = inputs,
                                                     .target_class = c, .layer_ig = variant == 1,
                                                     .ig_steps = o.ig_steps, .cav = {.epochs = o.cav_epochs, .seed = o.seed},
                                                     .alpha = o.alpha}));
      results[static_cast<std::size_t>(variant)].push_back(per_concept);
      progress.update(variant * nn::kColoredMnistClasses + c + 1);
    }
  }

  const char* variant_key[2] = {"gradient", "layer_ig"};
  std::vector<report::Table> tables;
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<report::Column> cols{{"concept", "", -19}, {"layer", "", -12}, {"CAV accuracy", "CAV acc", 7}};
    for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c) cols.push_back({lesson::kClassNames[c], "", 13});
    r.say(std::string("  TCAV scores (") + variant_key[variant] + "), mean ± std over " +
          std::to_string(o.random_sets) + " random sets where significant (*), n.s. not significant:");
    report::Table table(cols, "  ");
    for (std::size_t k = 0; k < names.size(); ++k)
      for (std::size_t ly = 0; ly < layers.size(); ++ly) {
        // The CAVs do not depend on the explained class: class 0's run shows their accuracy.
        std::vector<std::string> row{names[k], layers[ly],
                                     report::format("%.3f", cav_accuracy(results[static_cast<std::size_t>(variant)][0][k][ly]))};
        for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c) {
          const xai::TcavLayerResult& res = results[static_cast<std::size_t>(variant)][static_cast<std::size_t>(c)][k][ly];
          record(r, {"tcav_colored", variant_key[variant], names[k], lesson::kClassNames[c], layers[ly]}, res);
          row.push_back(score_cell(res));
        }
        table.row(row);
      }
    tables.push_back(table);
  }
  // The known answers, as headline numbers: each class's own tint, and the two digit-7 concepts.
  const auto& grad = results[0];
  const std::size_t plain7 = names.size() - 2, matched7 = names.size() - 1;
  double own_min = 1;
  std::int64_t own_significant = 0, seven_significant = 0, matched_significant = 0;
  for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c) {
    const auto& own = grad[static_cast<std::size_t>(c)][static_cast<std::size_t>(c)];
    for (const auto& res : own) {
      own_significant += res.significance.significant;
      own_min = std::min(own_min, res.significance.mean);
    }
    for (const auto& res : grad[static_cast<std::size_t>(c)][plain7]) seven_significant += res.significance.significant;
    for (const auto& res : grad[static_cast<std::size_t>(c)][matched7]) matched_significant += res.significance.significant;
  }
  const std::int64_t cells = nn::kColoredMnistClasses * static_cast<std::int64_t>(layers.size());
  const std::string own_min_text = r.number({"tcav_colored", "own_tint_min_score"}, own_min, "%.3f");
  r.count({"tcav_colored", "own_tint_significant"}, own_significant);
  r.count({"tcav_colored", "digit7_significant"}, seven_significant);
  r.count({"tcav_colored", "digit7_ink_matched_significant"}, matched_significant);
  const std::string of = "/" + std::to_string(cells);
  r.say("  known answers: own tint significant in " + std::to_string(own_significant) + of +
        " (class, layer) cells, lowest score " + own_min_text + "; digit 7 significant in " +
        std::to_string(seven_significant) + of + ", against ink-matched digits in " + std::to_string(matched_significant) + of);

  r.heading("2. TCAV on ColoredMNIST: the model's concept is color, not the digit");
  r.paragraph(
      "Each concept is " + std::to_string(o.concept_images) + " example images: for each colormap, random digits "
      "tinted from it (t evenly spread); and <i>digit 7</i>, sevens in the four colormaps in turn. Each random set is " +
      std::to_string(o.concept_images) + " random digits with exactly the same tints as the sevens, so that only the "
      "digits' shapes differ from set to set (with tints drawn at random, one fixed set's chance color imbalance "
      "enters every CAV fitted against it, and a classifier of color sees it); all come from the second "
      "half of the test split, and the TCAV score of class <i>k</i> is counted over " + std::to_string(o.class_images) +
      " test images of that class from the first half. For every concept and layer, " + std::to_string(o.random_sets) +
      " CAVs (logistic regression; the mean held-out accuracy is in the tables) against " + std::to_string(o.random_sets) +
      " different random sets give " + std::to_string(o.random_sets) + " scores; random-vs-random CAVs give the "
      "scores of no concept at all. A score is <b>significant</b> (*) when Welch's two-sided t-test separates the two "
      "at p &lt; " + report::format("%g", o.alpha) + "/" + std::to_string(layers.size()) + " (Bonferroni over the "
      "layers); only then is the score reported as a finding (mean ± std over the random sets); otherwise the cell reads "
      "n.s. with the mean in brackets. The bars show every score.");
  r.paragraph(
      "<b>Known answers.</b> A class's own tint is significant and near 1: here in " + std::to_string(own_significant) +
      " of " + std::to_string(cells) + " (class, layer) cells, lowest mean score " + own_min_text + ". <i>Digit 7</i> "
      "should not matter to a classifier of color, yet against random digits it is significant in " +
      std::to_string(seven_significant) + " of " + std::to_string(cells) + " cells: a seven has less ink than most "
      "digits, and the logits of this classifier grow with ink (the stroke area's Br in step 4), so the concept set "
      "differs from the random sets in more than shape — TCAV answers the question the concept set asks, confounds "
      "included. Against random sets of digits with the same stroke area as the sevens (<i>digit 7 ink-matched</i>; "
      "each seven paired with one of the 8 non-sevens closest in stroke area), it is significant in " +
      std::to_string(matched_significant) + " of " + std::to_string(cells) + ".");
  std::vector<std::vector<figures::Chart>> chart_rows(2);
  for (std::int64_t c = 0; c < nn::kColoredMnistClasses; ++c)
    chart_rows[static_cast<std::size_t>(c / 2)].push_back(
        tcav_chart(std::string("class ") + lesson::kClassNames[c], kCnnLayers, names, grad[static_cast<std::size_t>(c)]));
  r.chart("tcav_colored.png", figures::arrange(chart_rows),
          "TCAV scores of the four color classes for each concept and layer, with error bars and significance marks");
  r.paragraph("Scores with the plain gradient (rows: concept and layer, with the mean held-out accuracy of its CAVs; "
              "columns: the explained class):");
  r.table(tables[0]);
  r.paragraph("The same with the summer school's variant: layer integrated gradients (" + std::to_string(o.ig_steps) +
              " Gauss–Legendre steps from the activation of a black image) in place of the gradient, as Captum's TCAV "
              "computes it:");
  r.table(tables[1]);
}

void tcav_textures(Lesson& l, report::Report& r) {
  const Options& o = l.o;
  r.step("3. TCAV on the Fashion-MNIST VGG: stripes, zigzags and dots");
  Generator gen(o.seed + 3);
  const std::vector<std::string> names{"stripes", "zigzags", "dots"};
  std::vector<Tensor> concept_sets;
  std::vector<Tensor> examples;
  for (const std::string& name : names) {
    const Tensor raw = nn::texture_images(name, o.concept_images, gen);
    examples.push_back(raw.narrow(0, 0, std::min<std::int64_t>(8, o.concept_images)));
    concept_sets.push_back(l.fashion_input(raw));
  }
  // Random sets: random Fashion-MNIST training images (the data the model knows), as Kim et al. use
  // random images of the training distribution.
  std::vector<Tensor> random_sets;
  for (std::int64_t s = 0; s <= o.random_sets; ++s) {
    const Tensor rows = randint(0, l.fashion_train.size(), {o.concept_images}, kCPU, &gen);
    random_sets.push_back(l.fashion_input(index_select(l.fashion_train.images, 0, rows)));
  }
  const std::vector<std::string> layers = layer_names(kVggLayers);
  const std::int64_t per_class = std::max<std::int64_t>(2, o.class_images / 2);
  lesson::Progress progress("TCAV textures", 10, "classes");
  std::vector<std::vector<std::vector<xai::TcavLayerResult>>> results;  // [class][concept][layer]
  for (std::int64_t c = 0; c < 10; ++c) {
    const Tensor inputs = l.fashion_input(take_rows(l.fashion_test.images, rows_of_class(l.fashion_test.labels, c, per_class)));
    std::vector<std::vector<xai::TcavLayerResult>> per_concept;
    for (const Tensor& concept_set : concept_sets)
      per_concept.push_back(xai::run_tcav(*l.vgg, {.layers = layers, .concept_images = concept_set,
                                                   .random_sets = random_sets, .class_inputs = inputs,
                                                   .target_class = c, .cav = {.epochs = o.cav_epochs, .seed = o.seed},
                                                   .alpha = o.alpha}));
    results.push_back(per_concept);
    progress.update(c + 1);
  }
  std::vector<report::Column> cols{{"class", "", -12}};
  for (const std::string& n : names)
    for (const Layer& ly : kVggLayers) cols.push_back({n + " " + ly.name, n.substr(0, 3) + "@" + ly.name.substr(9), 12});
  r.say("  TCAV scores, mean ± std over " + std::to_string(o.random_sets) +
        " random sets where significant (*), n.s. not significant:");
  report::Table table(cols, "  ");
  std::int64_t significant = 0;
  std::vector<std::pair<double, std::string>> stripes_rank;  // deepest-layer stripes score, significant classes only
  for (std::int64_t c = 0; c < 10; ++c) {
    std::vector<std::string> row{kFashionClasses[static_cast<std::size_t>(c)]};
    for (std::size_t k = 0; k < names.size(); ++k)
      for (std::size_t ly = 0; ly < layers.size(); ++ly) {
        const xai::TcavLayerResult& res = results[static_cast<std::size_t>(c)][k][ly];
        record(r, {"tcav_textures", names[k], kFashionClasses[static_cast<std::size_t>(c)], layers[ly]}, res);
        row.push_back(score_cell(res));
        significant += res.significance.significant;
      }
    const auto& deepest = results[static_cast<std::size_t>(c)][0].back().significance;
    if (deepest.significant) stripes_rank.push_back({deepest.mean, kFashionClasses[static_cast<std::size_t>(c)]});
    table.row(row);
  }
  std::sort(stripes_rank.rbegin(), stripes_rank.rend());
  std::string ranking;
  for (const auto& [score, name] : stripes_rank)
    ranking += (ranking.empty() ? "" : ", ") + name + " " + report::format("%.2f", score);
  r.count({"tcav_textures", "significant"}, significant);
  r.text({"tcav_textures", "stripes_deepest_ranking"}, ranking);
  r.say("  significant in " + std::to_string(significant) + "/90 (class, concept, layer) cells; stripes at " +
        layers.back() + ", significant classes by score: " + (ranking.empty() ? "none" : ranking));

  r.heading("3. TCAV on Fashion-MNIST: drawn textures");
  r.paragraph("Three concepts drawn by code (<code>nn/textures.h</code>, " + std::to_string(o.concept_images) +
              " images each, random angle, period and phase), against random Fashion-MNIST training images, with the "
              "same protocol: " + std::to_string(o.random_sets) + " CAVs per concept and layer, Welch's test against "
              "random-vs-random scores, Bonferroni over the 3 layers; " + std::to_string(per_class) +
              " test images per class. Unlike ColoredMNIST, nothing here is known in advance: this is what the method "
              "finds. Significant in " + std::to_string(significant) + " of 90 (class, concept, layer) cells. At the "
              "deepest layer, the classes for which <i>stripes</i> is significant, by score: " +
              (ranking.empty() ? "none" : ranking) + ".");
  std::vector<std::vector<Tensor>> example_rows;
  for (const Tensor& e : examples) {
    std::vector<Tensor> row;
    for (std::int64_t i = 0; i < e.size(0); ++i) row.push_back(e[i]);
    example_rows.push_back(row);
  }
  r.figure("textures.png", figures::labelled_grid(example_rows, {}, names, {.upscale = 3, .font_scale = 2}),
           "examples of the drawn stripes, zigzags and dots concepts");
  std::vector<std::vector<figures::Chart>> chart_rows(5);
  for (std::int64_t c = 0; c < 10; ++c)
    chart_rows[static_cast<std::size_t>(c / 2)].push_back(
        tcav_chart(kFashionClasses[static_cast<std::size_t>(c)], kVggLayers, names, results[static_cast<std::size_t>(c)]));
  r.chart("tcav_textures.png", figures::arrange(chart_rows),
          "TCAV scores of the ten Fashion-MNIST classes for stripes, zigzags and dots at each layer");
  r.table(table);
}

}  // namespace lumen::concepts
