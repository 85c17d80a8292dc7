// The lumen side of tests/reference/check_lumen_checkpoint.py: runs one of the DL@MBL exercise's classifiers,
// loaded from a lumen checkpoint, on inputs given in a safetensors file, and writes the logits.
//
//   lumen_logits --model dense --checkpoint model.safetensors --inputs x.safetensors --out y.safetensors
//
// With --init, the checkpoint is first written from a freshly initialised (seeded) model, so the
// check needs no trained model. Inputs: tensor "x" [N, 3, 28, 28] float32; output: tensor "logits".
#include <CLI/CLI.hpp>
#include <cstdio>

#include "autograd/engine.h"
#include "autograd/random.h"
#include "nn/checkpoint.h"
#include "nn/models.h"
#include "nn/safetensors.h"

using namespace lumen;

int main(int argc, char** argv) {
  std::string model_name = "dense", checkpoint, inputs, out;
  bool init = false;
  std::uint64_t seed = 0;
  CLI::App app{"Logits of a lumen checkpoint on given inputs (for the PyTorch cross-check)"};
  app.add_option("--model", model_name, "dense or cnn")->check(CLI::IsMember({"dense", "cnn"}));
  app.add_option("--checkpoint", checkpoint, "lumen checkpoint (safetensors)")->required();
  app.add_option("--inputs", inputs, "safetensors file with tensor x [N, 3, 28, 28]")->required();
  app.add_option("--out", out, "where the logits go (safetensors, tensor logits)")->required();
  app.add_flag("--init", init, "first write a freshly initialised model to --checkpoint");
  app.add_option("--seed", seed, "weights seed for --init");
  CLI11_PARSE(app, argc, argv);
  try {
    manual_seed(seed);
    std::shared_ptr<nn::Module> model = nn::make_classifier(model_name);
    if (init) nn::save(*model, checkpoint, {{"model", model_name}});
    nn::load(*model, checkpoint);
    model->eval();
    const auto file = nn::load_safetensors(inputs);
    LUMEN_CHECK(file.count("x"), "lumen_logits", inputs, " has no tensor named x");
    autograd::NoGradGuard no_grad;
    nn::save_safetensors(out, {{"logits", (*model)(file.at("x"))}});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lumen_logits: %s\n", e.what());
    return 1;
  }
  return 0;
}
