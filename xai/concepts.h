#pragma once
// The numerical core of concept-based explanations: TCAV (Kim et al., 2018) and regression concept
// vectors (RCV, Graziani et al., 2018). A layer's activations are read with a forward hook; a concept
// becomes a direction in that layer's space; a class's sensitivity to it is the directional derivative
// of the class logit along that direction.
//
//   Tensor c = xai::layer_activations(model, "features.3", striped_images);   // [Nc, D]
//   Tensor r = xai::layer_activations(model, "features.3", random_images);    // [Nr, D]
//   xai::Cav cav = xai::fit_cav(c, r, {.seed = 1});                          // unit normal, held-out accuracy
//   Tensor s = xai::conceptual_sensitivity(model, "features.3", zebras, /*target_class=*/3, cav.direction);
//   // (or, for many CAVs: matmul(xai::layer_gradients(model, "features.3", zebras, 3), directions))
//   xai::TcavScore score = xai::tcav_score(s);                               // fraction of zebras with S > 0
//   // ≥ 20 CAVs against different random sets, the same random-vs-random, then:
//   xai::Significance sig = xai::tcav_significance(concept_scores, random_scores, 0.05, /*n_layers=*/3);
//
// xai/tcav.h runs that whole protocol in one call (run_tcav).
//
// Everything numerical (the logistic regression, least squares, the t-test) is done here in double
// precision, with no ML library; every split is shuffled with an explicit seed, so results repeat.
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "xai/layer_gradients.h"  // layer_activations, layer_gradients, layer_integrated_gradients

namespace lumen::xai {

struct LinearClassifierOptions {
  double l2 = 1e-3;            // weight decay on the weights (not the intercept), in the scaled features
  std::int64_t epochs = 200;   // full-batch gradient-descent steps
  double lr = 0.1;
  double test_fraction = 0.3;  // held out to report the accuracy
  std::uint64_t seed = 0;      // of the shuffled split
};
struct Cav {
  Tensor direction;  // [D] float64 unit vector pointing towards the concept
  double accuracy;   // on the held-out rows
};
// Logistic regression separating concept rows (label 1) from random rows (label 0), fitted by
// full-batch gradient descent from zero on a shuffled split (seeded). The features are centred on the
// training mean and divided by one number, the training rows' RMS norm: an isotropic change, so the
// learnt normal is the same direction in the original space, and lr means the same at any activation
// scale. direction = w / |w|.
Cav fit_cav(const Tensor& concept_acts, const Tensor& random_acts, const LinearClassifierOptions& opt = {});

// S(x) = ∇_{f_l(x)} logit_k(x) · v for each input: [N] float64, = layer_gradients(...) · v. v has D =
// the layer's output size per row elements (flat), or C (channels: the derivative when every position
// moves along v, for an RCV fitted on global-average-pooled activations).
Tensor conceptual_sensitivity(nn::Module& model, const std::string& layer, const Tensor& inputs, std::int64_t target_class,
                              const Tensor& cav_direction, LayerSpace space = LayerSpace::flat);

struct TcavScore {
  double score;      // fraction of inputs with S > 0
  double magnitude;  // Σ_{S>0} |S| / Σ |S| (0 when every S = 0)
};
TcavScore tcav_score(const Tensor& sensitivities);

// I_x(a, b), the regularised incomplete beta function (a, b > 0, x ∈ [0, 1]), by its continued
// fraction (modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where that converges faster.
double regularized_incomplete_beta(double x, double a, double b);
// P(|T| ≥ |t|) for Student's t with dof > 0 degrees of freedom: I_{dof/(dof+t²)}(dof/2, 1/2).
double student_t_two_sided_p(double t, double dof);

// Welch's two-sided t-test (unequal variances, sample variances with n − 1), as
// scipy.stats.ttest_ind(a, b, equal_var=False); t > 0 when mean(a) > mean(b). Each sample needs ≥ 2
// values. When both variances are 0: t = 0, p = 1 if the means are equal, else t = ±∞, p = 0 (with
// dof = n_a + n_b − 2), where scipy gives NaN.
struct TTest {
  double t, dof, p_value;
};
TTest welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

// The significance protocol: the concept's TCAV scores (one per random set) against random-vs-random
// scores, Welch's test; significant when p < alpha / n_layers (Bonferroni over the layers tested).
// std are sample standard deviations (n − 1).
struct Significance {
  double mean, std, random_mean, random_std, p_value;
  bool significant;
};
Significance tcav_significance(const std::vector<double>& concept_scores, const std::vector<double>& random_scores,
                               double alpha = 0.05, std::int64_t n_layers = 1);

// Regression concept vector: least squares with intercept (and a tiny ridge on the weights, for D ≥
// the training rows) of `measure` [N] on `acts` [N, D] (global-average-pooled activations), fitted on a
// shuffled (seeded) 1 − test_fraction of the rows; direction = the weights without the intercept,
// normalised; r2 and mse on the held-out rows (r2 about the held-out mean, as sklearn's r2_score:
// 1 when the held-out measure is constant and predicted exactly, 0 when constant and not).
// On a conv layer, in the channel space of xai/layer_gradients.h:
//   Tensor acts = xai::layer_activations(model, "features.3", images, 256, xai::LayerSpace::channels);  // [N, C]
//   xai::Rcv rcv = xai::fit_rcv(acts, colorfulness);
//   Tensor s = xai::conceptual_sensitivity(model, "features.3", x, k, rcv.direction, xai::LayerSpace::channels);
struct Rcv {
  Tensor direction;  // [D] float64 unit vector, towards a larger measure
  double r2, mse;    // on the held-out split
};
Rcv fit_rcv(const Tensor& acts, const std::vector<double>& measure, double test_fraction = 0.3, std::uint64_t seed = 0,
            double ridge = 1e-6);

// Br = R² · mean(S) / std(S) (population std; 0 when std = 0), for sensitivities S [N].
double br_score(double r2, const Tensor& sensitivities);

}  // namespace lumen::xai
