#pragma once
// The explain lesson's steps (main.cpp runs them in order): each prints its console lines and records
// its numbers, figures and tables in the shared report::Report.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "autograd/tensor.h"
#include "examples/report.h"
#include "nn/colored_mnist.h"
#include "nn/module.h"
#include "xai/attribution.h"
#include "xai/visualize.h"

namespace lumen::explain {

struct Options {
  std::string data_dir = "data", dense_path = "out/classifier/model.safetensors",
              cnn_path = "out/classifier-cnn/model.safetensors", out_dir = "out/explain";
  int threads = 0;
  std::int64_t n_steps = 50, eval_images = 100, lime_samples = 1000;
  std::uint64_t seed = 0;
};

// What every step uses: the classifiers, the test set they were evaluated on, one test image per class.
struct Lesson {
  Options o;
  std::shared_ptr<nn::Module> dense, cnn;  // cnn: null when its checkpoint is missing
  nn::ColoredMnist test;
  Tensor images;                        // [4, 3, 28, 28], the first test image of class c in row c
  xai::Target target;                   // {0, 1, 2, 3}: each image's own class
  std::vector<std::string> row_labels;  // "spring p=0.98": the class and the MLP's probability of it
  // One stream for the noise baselines, SmoothGrad and LIME, drawn from in the order of the steps.
  Generator gen;
};

// A method shown for a model: its title and a function of (inputs, target). Signed methods are drawn
// with the diverging colormap, unsigned ones as magnitudes.
struct Method {
  std::string title;
  xai::AttributionFn fn;
  xai::Sign sign = xai::Sign::all;
};

// 1. Integrated Gradients with the DL@MBL exercise's three baselines (zero, uniform noise, blurred).
void ig_baselines(Lesson& l, report::Report& r);
// 2. Every attribution method on the MLP; returns them for step 4.
std::vector<Method> mlp_methods(Lesson& l, report::Report& r);
// 3. The CNN: Grad-CAM and Guided Grad-CAM on its last convolution, LIME on superpixels.
void cnn_methods(Lesson& l, report::Report& r);
// 4. Are the explanations faithful? Deletion/insertion curves, infidelity and max-sensitivity.
void faithfulness(Lesson& l, const std::vector<Method>& mlp, report::Report& r);
// 5. The randomisation sanity check: does the explanation depend on the model at all?
void sanity_check(Lesson& l, report::Report& r);

}  // namespace lumen::explain
