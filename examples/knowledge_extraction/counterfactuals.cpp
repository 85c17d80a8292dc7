// Step 5 of the knowledge-extraction lesson (the DL@MBL exercise): counterfactuals. The GAN turns test
// images into every class; the classifier judges whether the class really flipped (the flip rate).
// Blending an image into its counterfactual, and the style space the GAN encodes, show what it changes.
// Data parallel, the flip rate's images are split across the ranks; the figures are rank 0's.
#include <Eigen/Dense>
#include <array>
#include <utility>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "dist/process_group.h"
#include "examples/knowledge_extraction/steps.h"
#include "examples/lesson.h"
#include "figures/grid.h"
#include "figures/plot.h"

namespace lumen::knowledge_extraction {

namespace {

using lesson::kClassNames;
using report::format;

Tensor probabilities(nn::Module& model, const Tensor& x) {
  autograd::NoGradGuard no_grad;
  return softmax(model(x), 1);
}

// The flip rate of the exercise's GAN over the ranks: each rank turns its share of the images
// (dist::shard) into every class; the classifier's prediction of each (image, target) pair is gathered
// in rank order, which is the images' order, on every rank, and counted as gan::evaluate_flips counts.
gan::FlipReport flips_over_ranks(const TrainedGan& gan, nn::Module& classifier, const Tensor& images,
                                 const Tensor& labels, const gan::Prototypes& protos, std::int64_t candidates) {
  dist::ProcessGroup& pg = dist::world();
  const std::int64_t k = protos.num_classes(), batch = 500;
  const dist::Range mine = dist::shard(images.size(0), pg.rank(), pg.size());
  std::vector<Tensor> rows{zeros({0, k}, {.dtype = DType::int64})};  // a rank without images sends no rows
  for (std::int64_t s = mine.begin; s < mine.end; s += batch) {
    const Tensor x = images.narrow(0, s, std::min(batch, mine.end - s));
    std::vector<Tensor> predicted;  // one column per target
    for (std::int64_t t = 0; t < k; ++t)
      predicted.push_back(gan.counterfactual(x, t, protos, 0, classifier, candidates).predicted);
    rows.push_back(stack(predicted, 1));
  }
  const Tensor all = pg.all_gather(cat(rows, 0));  // [N, k]
  // The gathered predictions stand in for the GAN: one batch of all N images.
  return gan::count_flips(images, labels, k, std::max<std::int64_t>(images.size(0), 1),
                          [&](const Tensor&, std::int64_t t) {
                            gan::Counterfactuals c;
                            c.predicted = all.select(1, t).contiguous();
                            return c;
                          },
                          "flips_over_ranks");
}

// Two principal components of rows [N, D] (centred; Eigen's symmetric eigensolver on the D×D
// covariance): [N, 2] plus the fraction of variance each explains.
std::pair<std::vector<std::array<double, 2>>, std::array<double, 2>> pca2(const Tensor& rows) {
  const auto v = rows.to(DType::float64).contiguous().to_vector<double>();
  const Eigen::Index n = rows.size(0), d = rows.size(1);
  Eigen::MatrixXd x = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(v.data(), n, d);
  x.rowwise() -= x.colwise().mean();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(x.transpose() * x / double(std::max<Eigen::Index>(n - 1, 1)));
  // Eigenvalues come in increasing order: the last two columns are the leading components.
  const Eigen::MatrixXd proj = x * eig.eigenvectors().rightCols(2).rowwise().reverse();
  const double total = eig.eigenvalues().sum();
  std::vector<std::array<double, 2>> out(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = {proj(i, 0), proj(i, 1)};
  return {out, {eig.eigenvalues()(d - 1) / total, d > 1 ? eig.eigenvalues()(d - 2) / total : 0.0}};
}

// A scatter plot: one single-point series per point (each its own color), plus legend entries.
figures::Chart scatter(const std::vector<std::array<double, 2>>& pts, const std::vector<std::array<float, 3>>& colors,
               const std::vector<std::pair<std::string, std::array<float, 3>>>& legend, const std::string& title,
               const std::string& xlabel, const std::string& ylabel) {
  std::vector<figures::Series> series;
  for (std::size_t i = 0; i < pts.size(); ++i) series.push_back({"", {pts[i][0]}, {pts[i][1]}, colors[i]});
  for (const auto& [name, color] : legend) series.push_back({name, {pts[0][0]}, {pts[0][1]}, color});
  return figures::make_line_chart(series, {.title = title, .xlabel = xlabel, .ylabel = ylabel, .width = 520,
                                           .height = 440, .markers = true});
}

// The exercise's interpolation: α·x_cf + (1 − α)·x for 15 α in (0, 1), for one image of class 0 turned
// into class 2; titles are p(source) | p(target).
Tensor interpolation(const Options& o, const Classifiers& models, const ClassExamples& examples, const TrainedGan& gan,
                     const gan::Prototypes& protos) {
  const std::int64_t src_class = 0, dst_class = 2;
  const Tensor xs = examples.images.narrow(0, src_class, 1);
  const gan::Counterfactuals cf1 = gan.counterfactual(xs, dst_class, protos, o.seed + 22, *models.dense, o.candidates);
  std::vector<Tensor> blend;
  std::vector<std::string> titles;
  for (int k = 1; k <= 15; ++k) {
    const double a = k / 16.0;
    blend.push_back((a * cf1.images + (1 - a) * xs)[0]);
  }
  const Tensor p = probabilities(*models.dense, stack(blend));
  for (int k = 0; k < 15; ++k)
    titles.push_back(format("%.2f", p[k][src_class].item()) + "|" + format("%.2f", p[k][dst_class].item()));
  return figures::labelled_grid({blend}, titles, {},
                                {.upscale = 4, .font_scale = 2,
                                 .title = std::string("α·x_cf + (1 − α)·x, α = 1/16 … 15/16: p(") +
                                          kClassNames[src_class] + ") | p(" + kClassNames[dst_class] + ")"});
}

// The style space: 2-component PCA of the style vectors of the first n test images, colored by class
// (left) and by each image's own color (right). Returns the figure and the variance the two explain.
std::pair<figures::Chart, double> style_space(const Data& data, const TrainedGan& gan, std::int64_t n) {
  const nn::ColoredMnist& test = data.test;
  Tensor styles;
  {
    autograd::NoGradGuard no_grad;
    // StarGAN: the EMA style encoder's head of each image's own class.
    styles = gan.stargan ? (*gan.stargan->style_encoder_ema)(test.images.narrow(0, 0, n), test.labels.narrow(0, 0, n))
                         : (*gan.unet->style_encoder_ema)(test.images.narrow(0, 0, n));
  }
  const auto [pts, explained] = pca2(styles);
  const auto lab = test.labels.narrow(0, 0, n).to_vector<std::int64_t>();
  const auto tt = test.t.narrow(0, 0, n).to_vector<float>();
  std::vector<std::array<float, 3>> by_class, by_color;
  std::vector<std::pair<std::string, std::array<float, 3>>> class_legend;
  for (std::int64_t c = 0; c < 4; ++c) class_legend.push_back({kClassNames[c], figures::palette(static_cast<std::size_t>(c))});
  for (std::int64_t i = 0; i < n; ++i) {
    by_class.push_back(figures::palette(static_cast<std::size_t>(lab[static_cast<std::size_t>(i)])));
    by_color.push_back(nn::colormap_color(lab[static_cast<std::size_t>(i)], tt[static_cast<std::size_t>(i)]));
  }
  const std::string xl = "PC1 (" + format("%.0f", 100 * explained[0]) + "%)",
                    yl = "PC2 (" + format("%.0f", 100 * explained[1]) + "%)";
  return {figures::arrange({{scatter(pts, by_class, class_legend, "style vectors by class", xl, yl),
                              scatter(pts, by_color, {}, "style vectors by the image's color", xl, yl)}}, 0),
          explained[0] + explained[1]};
}

}  // namespace

FlipResults make_counterfactuals(const Options& o, const Data& data, const Classifiers& models,
                                 const ClassExamples& examples, const TrainedGan& gan, report::Report& r) {
  const bool sg = gan.stargan != nullptr;
  const std::string candidates = std::to_string(o.candidates);
  r.step(sg ? "5. counterfactuals (style from up to " + candidates + " random latents through the mapping network)"
            : "5. counterfactuals (style from up to " + candidates + " reference images of the target class)");
  const nn::ColoredMnist& test = data.test;
  nn::Module& dense = *models.dense;
  // StarGAN: random latents need no reference images. Latent seeds: flips o.seed + 20, DAPI o.seed + 30.
  FlipResults res;
  res.protos = sg ? gan::Prototypes{} : gan::select_prototypes(data.train.images, data.train.labels, 4, o.candidates, &dense);
  res.images = std::min(o.flip_images, test.size());
  const std::int64_t n_flip = res.images;
  const Tensor flip_images = test.images.narrow(0, 0, n_flip), flip_labels = test.labels.narrow(0, 0, n_flip);
  const gan::FlipReport flips =
      sg ? gan::evaluate_stargan_flips(*gan.stargan->generator_ema, *gan.stargan->mapping_ema, dense, flip_images,
                                       flip_labels, o.candidates, o.seed + 20)
      : o.ranks > 1 ? flips_over_ranks(gan, dense, flip_images, flip_labels, res.protos, o.candidates)
                    : gan::evaluate_flips(*gan.unet->generator_ema, *gan.unet->style_encoder_ema, dense, flip_images,
                                          flip_labels, res.protos, o.candidates);
  std::vector<std::vector<double>> flip_counts(4, std::vector<double>(4));
  const auto fc = flips.confusion.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < 16; ++i) flip_counts[i / 4][i % 4] = static_cast<double>(fc[i]);
  const auto [flip_cm, flip_diag] = lesson::normalise_rows(flip_counts);
  const std::string rate = r.number({"flip_rate"}, flips.flip_rate, "%.4f");
  const std::string rate_changed = r.number({"flip_rate_changed"}, flips.flip_rate_changed, "%.4f");
  const std::string pairs = r.count({"flip_pairs"}, flips.pairs);
  r.say("  flip rate over " + pairs + " pairs (" + std::to_string(n_flip) + " images x 4 targets): " + rate +
        " (target != source: " + rate_changed + ")\n  " +
        lesson::matrix_text(flip_cm, "target class", "classifier's prediction"));
  if (o.rank != 0) return res;  // the figures below are rank 0's (no collective in them)
  const Tensor flips_png = figures::render_confusion_matrix(tensor(flip_cm, {4, 4}), lesson::kShortClassNames);
  // Rows: each class's example; columns: each target class.
  const Tensor sources = index_select(test.images, 0, tensor_from(examples.picks));
  Tensor grid;
  if (sg) {  // one fixed latent for every source and class
    Generator zg(o.seed + 21);
    grid = gan::stargan_counterfactual_grid(*gan.stargan->generator_ema, *gan.stargan->mapping_ema, sources,
                                       randn({1, gan.stargan->mapping_ema->latent_dim}, {}, &zg), 3);
  } else {
    grid = gan::counterfactual_grid(*gan.unet->generator_ema, *gan.unet->style_encoder_ema, sources, res.protos, 3);
  }
  const Tensor blend = interpolation(o, models, examples, gan, res.protos);
  const std::int64_t n_style = std::min<std::int64_t>(1000, test.size());
  const auto [styles, explained] = style_space(data, gan, n_style);

  r.heading("4–5. Counterfactuals: what would make it another class?");
  r.paragraph(std::string(sg ? "The StarGAN v2 option (a mapping network from a random latent to a per-class style, an "
                               "AdaIN generator, a per-class style encoder, a discriminator with one real/fake logit "
                               "per class and R1; adversarial + style + diversity + cycle losses; EMA copies) trained "
                             : "The exercise's GAN (a UNet generator fed the image and a style vector, a style encoder, "
                               "a 4-class discriminator, cycle + adversarial losses, an EMA generator) trained ") +
              gan.trained + ". Each test image is turned into every class, with the style of up to " + candidates +
              (sg ? " random latents mapped to the target class's style" : " reference images of the target class") +
              " (the first the classifier accepts is kept). Rows: source; columns: each target class" +
              (sg ? " (one fixed latent)" : "") + ".");
  r.figure("counterfactuals.png", grid, "counterfactuals");
  r.paragraph("The classifier judges the counterfactuals of " + std::to_string(n_flip) +
              " test images × 4 targets: the flip rate (predicted = target) is <b>" + rate + "</b> (" + rate_changed +
              " over the pairs whose target differs from the source). Rows: target; columns: prediction.");
  r.figure("flips.png", flips_png, "flip confusion matrix");
  r.paragraph("Blending an image into its counterfactual: the classifier's belief moves from the source to the target "
              "class; titles are p(source) | p(target).");
  r.figure("interpolation.png", blend, "interpolation");
  r.paragraph("The style space: the style encoder's vectors of " + std::to_string(n_style) + " test images" +
              (sg ? " (StarGAN: the head of each image's own class)" : "") +
              ", projected on their two principal components (" + format("%.0f", 100 * explained) +
              "% of the variance), colored by class (left) and by each image's own color (right). Where points of "
              "similar color lie together, the encoder has captured color — what the GAN changes.");
  r.chart("style_space.png", styles,
          "Scatter plots of the style vectors' first two principal components, colored by class and by the image's color");
  return res;
}

}  // namespace lumen::knowledge_extraction
