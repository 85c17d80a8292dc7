#pragma once
// The UNet of the DL@MBL knowledge-extraction exercise ("the course"; its "dlmbl-unet" layout), the
// body of the counterfactual generator:
//
//   level 0   in → f → f          (two 3×3 convs, padding 1, each followed by ReLU)   ─ skip ─┐
//   level 1   maxpool 2, f → 2f → 2f                                                ─ skip ─┐ │
//   ...       level d-1 (the bottleneck): f·2^(d-2) → f·2^(d-1) → f·2^(d-1)                 │ │
//   decoder   nearest ×2 upsampling, cat(skip, upsampled) on channels, two 3×3 convs      ←─┘ │
//             back to f channels at level 0                                                ←──┘
//   final     1×1 conv f → out, then sigmoid (images in [0, 1])
//
// Parameter names follow the PyTorch module, so a checkpoint reads the same in both:
//   left_convs.<level>.conv_pass.{0,2}.{weight,bias}, right_convs.<level>.conv_pass.{0,2}.*,
//   final_conv.{weight,bias}.
// Shapes: x [N, in_channels, H, W] → [N, out_channels, H, W], with H and W divisible by 2^(depth-1).
// Cost: about 2·9·(Σ over convs of C_in·C_out·H_l·W_l) flops per image; for depth 2 it is dominated by
// the decoder's first conv (3f → f at full resolution), so it grows with f².
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace lumen::gan {

struct UNetOptions {
  std::int64_t in_channels = 3;
  std::int64_t out_channels = 3;
  std::int64_t depth = 2;          // levels; the image is pooled depth-1 times
  std::int64_t num_fmaps = 12;     // feature maps at level 0 (the course uses 64; 12 trains ~25× faster)
  std::int64_t fmap_inc_factor = 2;
  bool sigmoid = true;             // final activation: outputs in (0, 1), like the images
};

// Two 3×3 convolutions (padding 1), each followed by ReLU: "conv_pass" = Sequential(conv, relu, conv, relu).
class ConvBlock : public nn::Module {
 public:
  ConvBlock(std::int64_t in_channels, std::int64_t out_channels);
  Tensor forward(const Tensor& x) override { return (*conv_pass)(x); }
  std::string type_name() const override { return "ConvBlock"; }
  std::shared_ptr<nn::Sequential> conv_pass;
};

class UNet : public nn::Module {
 public:
  explicit UNet(UNetOptions opt = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "UNet"; }
  std::string extra_repr() const override;

  // Channels in and out of the encoder block at `level`, and of the decoder block at `level` (< depth-1).
  std::pair<std::int64_t, std::int64_t> encoder_fmaps(std::int64_t level) const;
  std::pair<std::int64_t, std::int64_t> decoder_fmaps(std::int64_t level) const;

  UNetOptions options;
  std::vector<std::shared_ptr<ConvBlock>> left_convs, right_convs;  // handles on the named children
  std::shared_ptr<nn::Conv2d> final_conv;
};

}  // namespace lumen::gan
