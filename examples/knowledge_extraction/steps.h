#pragma once
// The flagship lesson's six steps (main.cpp runs them in order). Each step prints its console lines
// and records its numbers and figures in the shared report::Report, and returns what later steps use.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "examples/report.h"
#include "gan/counterfactuals.h"
#include "gan/stargan.h"
#include "gan/training.h"
#include "nn/colored_mnist.h"
#include "nn/module.h"

namespace lumen::knowledge_extraction {

struct Options {
  std::string data_dir = "data", out_dir = "out/knowledge_extraction";
  int threads = 0;
  std::uint64_t seed = 0;
  bool fresh = false;
  int classifier_epochs = 10;
  // The GAN: gan::budget_recipe() (measured to reach a ≥ 95% flip rate in ~2-3 minutes on 2 cores).
  int gan_epochs = 12;
  std::int64_t fmaps = 12, depth = 2, gan_images = 0;
  double lr_g = 3e-4, ema_beta = 0.99;
  bool sigmoid = false;
  // --stargan: the StarGAN v2 option (gan/stargan.h) instead of the exercise's GAN in steps 4-6.
  bool stargan = false;
  int stargan_epochs = 7;  // 3,500 steps: measured ~175 s on 2 idle cores (flip rate 0.996 on 1000 test images × 4)
  std::int64_t stargan_channels = 16, stargan_res_blocks = 1, stargan_batch = 16;
  double stargan_lr = 3e-4, stargan_ema = 0.99;
  std::int64_t candidates = 8;       // reference images (or, with --stargan, random latents) tried per counterfactual
  std::int64_t flip_images = 1000;   // test images × 4 targets for the flip rate
  std::int64_t dapi_images = 100;    // test images for discriminative attribution
  std::int64_t ig_steps = 50;
  // Data parallel (--distributed, or started by mpirun): this process's rank among `ranks`. The
  // classifiers and the GAN train data parallel, the flip rate and the discriminative attribution split
  // their images across the ranks and gather the results, so every rank holds the numbers one process
  // would compute; rank 0 alone prints and writes. ranks == 1: the one-process run, no collective.
  int rank = 0, ranks = 1;
};

// 1. ColoredMNIST: 8,000 training and 2,000 test digits, the class is the color family.
struct Data {
  nn::ColoredMnist train, test;
};
Data load_data(const Options& o, report::Report& r);

// 2. The DL@MBL exercise's MLP and a small CNN (for Grad-CAM), trained or reused from --out.
struct Classifiers {
  std::shared_ptr<nn::Module> dense, cnn;
};
Classifiers train_classifiers(const Options& o, const Data& data, report::Report& r);

// 3. Where the MLP looks (IG, saliency) and the CNN (Grad-CAM), on the first test image of each class.
struct ClassExamples {
  std::vector<std::int64_t> picks;  // their indices in the test set
  Tensor images;                    // [4, 3, 28, 28], class c in row c
};
ClassExamples attribute_classifiers(const Options& o, const Data& data, const Classifiers& models, report::Report& r);

// 4. The GAN that makes counterfactuals: the exercise's (UNet generator + style encoder) or, with
// --stargan, the StarGAN v2 option; the EMA copies, in eval mode.
struct TrainedGan {
  std::shared_ptr<gan::GanModels> unet;       // the exercise's GAN (UNet generator); set unless --stargan
  std::shared_ptr<gan::StarGanModels> stargan;  // set with --stargan
  std::string trained;  // "3500 steps (175.0 s, 20.00 steps/s)", as recorded in summary.json

  // The counterfactual of x for `target`, chosen among o.candidates reference images of protos (the
  // exercise's GAN) or random latents drawn from latent_seed (StarGAN), the first the classifier accepts.
  gan::Counterfactuals counterfactual(const Tensor& x, std::int64_t target, const gan::Prototypes& protos,
                                      std::uint64_t latent_seed, nn::Module& classifier, std::int64_t candidates) const;
};
TrainedGan train_gan(const Options& o, const Data& data, report::Report& r);

// 5. Counterfactuals of test images for every class, the flip rate, the interpolation and the style space.
struct FlipResults {
  gan::Prototypes protos;  // the reference images (empty with --stargan)
  std::int64_t images = 0;  // the first `images` test images were used; step 6 takes the ones after
};
FlipResults make_counterfactuals(const Options& o, const Data& data, const Classifiers& models,
                                 const ClassExamples& examples, const TrainedGan& gan, report::Report& r);

// 6. Discriminative attribution between real images and their counterfactuals, scored by DAC.
void discriminative_attribution(const Options& o, const Data& data, const Classifiers& models, const TrainedGan& gan,
                                const FlipResults& flips, report::Report& r);

}  // namespace lumen::knowledge_extraction
