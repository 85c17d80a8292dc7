#pragma once
// Images side by side: torchvision's make_grid, nearest-neighbour upscaling, and labelled grids with
// column titles and row labels for "input | method | method ..." figures. Images are float tensors in
// [0, 1]: [H, W], or [C, H, W] with C = 1 (gray) or 3 (RGB); batches are [N, C, H, W]. Every function
// returns an image on the CPU, ready for save_png (figures/png.h).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::figures {

// Tiles images [N, C, H, W] (C = 1 or 3) into one RGB image [3, H', W'], nrow images per row, with
// `padding` pixels of pad_value between and around them (torchvision's make_grid layout).
Tensor make_grid(const Tensor& images, std::int64_t nrow = 8, std::int64_t padding = 2, double pad_value = 1.0);

// Every pixel of image ([H, W] or [C, H, W]) repeated factor × factor times: small images stay crisp.
Tensor upscale(const Tensor& image, std::int64_t factor);

struct GridOptions {
  // Each image is enlarged (nearest neighbour) by `upscale`, or, when cell > 0, by the largest
  // integer factor that keeps its longer side within cell pixels.
  std::int64_t upscale = 1;
  std::int64_t cell = 0;
  std::int64_t padding = 4;     // pixels between and around the cells
  std::int64_t font_scale = 2;  // text size in steps of 11 pixels (2: 22 px); titles shrink (then wrap) to fit
  std::string title{};          // over the whole figure, if not empty
  std::array<float, 3> background{1.0f, 1.0f, 1.0f};
  std::array<float, 3> text_color{0.1f, 0.1f, 0.1f};
};

// rows[r][c] (an image as above, a leading batch dimension of 1 accepted, or an undefined Tensor for
// an empty cell; rows may be shorter than others) laid out as one RGB figure: column_titles (empty,
// or one per column) centred above the columns and row_labels (empty, or one per row) right-aligned
// left of the rows. A column is as wide as its widest image and a row as tall as its tallest; images
// are centred in their cells. All titles share one size: the largest, a pixel at a time from
// 11·font_scale down to 9 pixels, at which each fits its column in at most two lines without cutting a
// word; failing that, 9 pixels wrapped onto as many lines as needed. Text is UTF-8 (DejaVu Sans).
Tensor labelled_grid(const std::vector<std::vector<Tensor>>& rows, const std::vector<std::string>& column_titles = {},
                     const std::vector<std::string>& row_labels = {}, const GridOptions& opt = {});

// `text` (UTF-8, '\n' breaks lines) on its own, 11·font_scale pixels to the em: an RGB image just big
// enough for it plus `margin` pixels all round.
Tensor text_image(const std::string& text, std::int64_t font_scale = 2, std::int64_t margin = 2,
                  std::array<float, 3> color = {0.1f, 0.1f, 0.1f}, std::array<float, 3> background = {1.0f, 1.0f, 1.0f});

}  // namespace lumen::figures
