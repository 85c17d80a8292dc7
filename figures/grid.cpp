#include "figures/grid.h"

#include <algorithm>
#include <cstring>

#include "autograd/ops.h"
#include "figures/canvas.h"

namespace lumen::figures {

using detail::Canvas;

namespace {
constexpr double kMinTitle = 9.0;  // pixels: column titles shrink to fit, but no smaller than this
}  // namespace

Tensor make_grid(const Tensor& images, std::int64_t nrow, std::int64_t padding, double pad_value) {
  LUMEN_CHECK(images.defined() && images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3), "make_grid",
              "expected images [N, C, H, W] with C = 1 or 3, got ", images.defined() ? images.str() : "undefined");
  LUMEN_CHECK(nrow >= 1 && padding >= 0, "make_grid", "expected nrow >= 1 and padding >= 0, got ", nrow, " and ",
              padding);
  Tensor x = detail::pixels(images);
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t cols = std::min(nrow, std::max<std::int64_t>(n, 1)), rows = (n + nrow - 1) / nrow;
  const std::int64_t H = rows * (h + padding) + padding, W = cols * (w + padding) + padding;
  Canvas grid(H, W, static_cast<float>(pad_value));
  const float* src = x.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t y0 = padding + (i / nrow) * (h + padding), x0 = padding + (i % nrow) * (w + padding);
    for (std::int64_t k = 0; k < 3; ++k) {
      const float* plane = src + (i * c + (c == 1 ? 0 : k)) * h * w;  // gray fills all three channels
      for (std::int64_t y = 0; y < h; ++y)
        std::memcpy(&grid.px[static_cast<std::size_t>((k * H + y0 + y) * W + x0)], plane + y * w,
                    static_cast<std::size_t>(w) * sizeof(float));
    }
  }
  return grid.to_tensor();
}

Tensor upscale(const Tensor& image, std::int64_t factor) {
  LUMEN_CHECK(factor >= 1, "upscale", "expected a factor >= 1, got ", factor);
  Tensor chw = detail::as_chw(image, "upscale").detach();
  Tensor big = upsample_nearest2d(chw.unsqueeze(0), {chw.size(1) * factor, chw.size(2) * factor}).squeeze(0);
  return image.dim() == 2 ? big.squeeze(0) : big;
}

Tensor labelled_grid(const std::vector<std::vector<Tensor>>& rows, const std::vector<std::string>& column_titles,
                     const std::vector<std::string>& row_labels, const GridOptions& opt) {
  const char* op = "labelled_grid";
  std::size_t ncols = 0;
  for (const auto& r : rows) ncols = std::max(ncols, r.size());
  LUMEN_CHECK(!rows.empty() && ncols > 0, op, "expected at least one image");
  LUMEN_CHECK(column_titles.empty() || column_titles.size() == ncols, op, "expected ", ncols, " column titles, got ",
              column_titles.size());
  LUMEN_CHECK(row_labels.empty() || row_labels.size() == rows.size(), op, "expected ", rows.size(),
              " row labels, got ", row_labels.size());
  LUMEN_CHECK(opt.upscale >= 1 && opt.cell >= 0 && opt.padding >= 0 && opt.font_scale >= 1, op,
              "expected upscale >= 1, cell >= 0, padding >= 0 and font_scale >= 1");

  // The images, enlarged, and the column widths and row heights they need.
  const std::size_t nrows = rows.size();
  std::vector<std::vector<Tensor>> cells(nrows, std::vector<Tensor>(ncols));
  std::vector<std::int64_t> col_w(ncols, 0), row_h(nrows, 0);
  for (std::size_t r = 0; r < nrows; ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      if (!rows[r][c].defined()) continue;
      Tensor img = detail::as_chw(rows[r][c], op);
      const std::int64_t longer = std::max(img.size(1), img.size(2));
      const std::int64_t factor = opt.cell > 0 ? std::max<std::int64_t>(1, opt.cell / longer) : opt.upscale;
      cells[r][c] = detail::pixels(factor > 1 ? upscale(img, factor) : img);
      col_w[c] = std::max(col_w[c], cells[r][c].size(2));
      row_h[r] = std::max(row_h[r], cells[r][c].size(1));
    }
  const double s = detail::scaled_font(opt.font_scale);
  const std::int64_t pad = opt.padding;
  for (auto& w : col_w) w = std::max<std::int64_t>(w, static_cast<std::int64_t>(0.75 * s));  // room for a title
  for (auto& h : row_h) h = std::max<std::int64_t>(h, Canvas::text_height("0", s));

  // One font size for all titles: the largest at which each fits its column in ≤ 2 lines, no word cut.
  auto fits = [&](double size) {
    for (std::size_t c = 0; c < column_titles.size(); ++c) {
      std::string word;
      for (char ch : column_titles[c] + " ") {
        if (ch != ' ' && ch != '\n') { word += ch; continue; }
        if (Canvas::text_width(word, size) > col_w[c]) return false;
        word.clear();
      }
      if (detail::wrap_text(column_titles[c], col_w[c], size).size() > 2) return false;
    }
    return true;
  };
  double ts = s;  // shrunk a pixel at a time, down to kMinTitle
  while (ts - 1 >= kMinTitle && !fits(ts)) ts -= 1;
  std::vector<std::string> titles;
  std::int64_t titles_h = 0;
  for (std::size_t c = 0; c < column_titles.size(); ++c) {
    std::string joined;
    for (const std::string& l : detail::wrap_text(column_titles[c], col_w[c], ts)) joined += (joined.empty() ? "" : "\n") + l;
    titles.push_back(joined);
    titles_h = std::max(titles_h, Canvas::text_height(joined, ts));
  }
  std::int64_t label_w = 0;
  for (const std::string& l : row_labels) label_w = std::max(label_w, Canvas::text_width(l, s));

  const std::int64_t x_left = pad + (row_labels.empty() ? 0 : label_w + pad);
  std::int64_t W = x_left;
  for (std::int64_t w : col_w) W += w + pad;
  std::string title;
  const double title_s = std::round(1.25 * s);
  for (const std::string& l : detail::wrap_text(opt.title, W - 2 * pad, title_s)) title += (title.empty() ? "" : "\n") + l;
  const std::int64_t title_h = opt.title.empty() ? 0 : Canvas::text_height(title, title_s) + pad;
  const std::int64_t y_top = pad + title_h + (titles.empty() ? 0 : titles_h + pad);
  std::int64_t H = y_top;
  for (std::int64_t h : row_h) H += h + pad;

  Canvas fig(H, W, opt.background);
  if (!opt.title.empty()) fig.text(title, pad, (W - Canvas::text_width(title, title_s)) / 2, title_s, opt.text_color);
  std::int64_t x = x_left;
  for (std::size_t c = 0; c < ncols; ++c) {
    if (!titles.empty()) {
      // Bottom-aligned, each line centred, so one-line titles sit right above their images.
      const std::int64_t th = Canvas::text_height(titles[c], ts);
      std::int64_t ty = pad + title_h + titles_h - th;
      std::size_t start = 0;
      while (start <= titles[c].size()) {
        const std::size_t end = std::min(titles[c].find('\n', start), titles[c].size());
        const std::string line = titles[c].substr(start, end - start);
        fig.text(line, ty, x + (col_w[c] - Canvas::text_width(line, ts)) / 2, ts, opt.text_color);
        ty += detail::font_metrics(ts).advance;
        start = end + 1;
      }
    }
    std::int64_t y = y_top;
    for (std::size_t r = 0; r < nrows; ++r) {
      if (cells[r][c].defined())
        fig.blit(cells[r][c], y + (row_h[r] - cells[r][c].size(1)) / 2, x + (col_w[c] - cells[r][c].size(2)) / 2);
      y += row_h[r] + pad;
    }
    x += col_w[c] + pad;
  }
  std::int64_t y = y_top;
  for (std::size_t r = 0; r < row_labels.size(); ++r) {
    const std::string& l = row_labels[r];
    fig.text(l, y + (row_h[r] - Canvas::text_height(l, s)) / 2, x_left - pad - Canvas::text_width(l, s), s,
             opt.text_color);
    y += row_h[r] + pad;
  }
  return fig.to_tensor();
}

Tensor text_image(const std::string& text, std::int64_t font_scale, std::int64_t margin, std::array<float, 3> color,
                  std::array<float, 3> background) {
  LUMEN_CHECK(font_scale >= 1 && margin >= 0, "text_image", "expected font_scale >= 1 and margin >= 0, got ",
              font_scale, " and ", margin);
  const double size = detail::scaled_font(font_scale);
  Canvas img(Canvas::text_height(text, size) + 2 * margin, Canvas::text_width(text, size) + 2 * margin, background);
  img.text(text, margin, margin, size, color);
  return img.to_tensor();
}

}  // namespace lumen::figures
