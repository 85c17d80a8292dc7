#include "gan/unet.h"

#include <sstream>

#include "autograd/ops.h"

namespace lumen::gan {

ConvBlock::ConvBlock(std::int64_t in_channels, std::int64_t out_channels) {
  const nn::ConvOptions same{.padding = 1};
  conv_pass = register_module("conv_pass", std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
                                               std::make_shared<nn::Conv2d>(in_channels, out_channels, 3, same),
                                               std::make_shared<nn::ReLU>(),
                                               std::make_shared<nn::Conv2d>(out_channels, out_channels, 3, same),
                                               std::make_shared<nn::ReLU>()}));
}

namespace {
std::int64_t ipow(std::int64_t b, std::int64_t e) {
  std::int64_t r = 1;
  while (e-- > 0) r *= b;
  return r;
}
}  // namespace

UNet::UNet(UNetOptions opt) : options(opt) {
  LUMEN_CHECK(opt.depth >= 1 && opt.num_fmaps >= 1 && opt.fmap_inc_factor >= 1 && opt.in_channels >= 1 &&
                  opt.out_channels >= 1,
              "UNet", "expected depth, num_fmaps, fmap_inc_factor, in_channels and out_channels >= 1, got depth ",
              opt.depth, ", num_fmaps ", opt.num_fmaps, ", fmap_inc_factor ", opt.fmap_inc_factor, ", in_channels ",
              opt.in_channels, ", out_channels ", opt.out_channels);
  auto left = register_module("left_convs", std::make_shared<nn::Sequential>());
  for (std::int64_t l = 0; l < opt.depth; ++l) {
    auto [in, out] = encoder_fmaps(l);
    left_convs.push_back(left->push_back(std::make_shared<ConvBlock>(in, out)));
  }
  // A Sequential used as a ModuleList (only its naming); forward walks the blocks by hand.
  auto right = register_module("right_convs", std::make_shared<nn::Sequential>());
  for (std::int64_t l = 0; l + 1 < opt.depth; ++l) {
    auto [in, out] = decoder_fmaps(l);
    right_convs.push_back(right->push_back(std::make_shared<ConvBlock>(in, out)));
  }
  final_conv = register_module("final_conv", std::make_shared<nn::Conv2d>(opt.num_fmaps, opt.out_channels, 1));
}

std::pair<std::int64_t, std::int64_t> UNet::encoder_fmaps(std::int64_t level) const {
  const std::int64_t in = level == 0 ? options.in_channels : options.num_fmaps * ipow(options.fmap_inc_factor, level - 1);
  return {in, options.num_fmaps * ipow(options.fmap_inc_factor, level)};
}

std::pair<std::int64_t, std::int64_t> UNet::decoder_fmaps(std::int64_t level) const {
  const std::int64_t out = options.num_fmaps * ipow(options.fmap_inc_factor, level);
  // The skip of this level (the encoder's output) concatenated with the upsampled level below.
  return {encoder_fmaps(level).second + options.num_fmaps * ipow(options.fmap_inc_factor, level + 1), out};
}

Tensor UNet::forward(const Tensor& x) {
  const std::int64_t f = ipow(2, options.depth - 1);
  LUMEN_CHECK(x.dim() == 4 && x.size(1) == options.in_channels && x.size(2) % f == 0 && x.size(3) % f == 0, "UNet",
              "expected input [N, ", options.in_channels, ", H, W] with H and W divisible by 2^(depth-1) = ", f,
              ", got ", x.shape());
  std::vector<Tensor> skips;
  Tensor h = x;
  for (std::int64_t l = 0; l + 1 < options.depth; ++l) {
    h = (*left_convs[l])(h);
    skips.push_back(h);
    h = max_pool2d(h);
  }
  h = (*left_convs.back())(h);  // the bottleneck
  for (std::int64_t l = options.depth - 2; l >= 0; --l) {
    const Tensor& skip = skips[l];
    Tensor up = upsample_nearest2d(h, {skip.size(2), skip.size(3)});
    h = (*right_convs[l])(cat({skip, up}, 1));  // skip first, as CropAndConcat of the DL@MBL exercise
  }
  h = (*final_conv)(h);
  return options.sigmoid ? sigmoid(h) : h;
}

std::string UNet::extra_repr() const {
  std::ostringstream os;
  os << "in_channels=" << options.in_channels << ", out_channels=" << options.out_channels << ", depth=" << options.depth
     << ", num_fmaps=" << options.num_fmaps << ", fmap_inc_factor=" << options.fmap_inc_factor
     << ", sigmoid=" << (options.sigmoid ? "true" : "false");
  return os.str();
}

}  // namespace lumen::gan
