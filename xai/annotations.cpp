#include "xai/annotations.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/core/error.h"
#include "xai/segmentation.h"

namespace lumen::xai {

namespace {

using Json = nlohmann::ordered_json;  // ordered: regions keyed "0", "1", ... (VIA 1) stay in file order

constexpr const char* kOp = "load_via_annotation";
constexpr std::uintmax_t kMaxFileBytes = 16u << 20;  // a VIA project of thousands of images is a few MiB
constexpr int kMaxDepth = 64;                        // VIA nests 5 deep; deeper is not VIA
constexpr std::size_t kMaxPoints = 1'000'000, kMaxRegions = 65'536;
constexpr std::int64_t kMaxWork = std::int64_t{1} << 28;  // row crossings + pixels visited: about a second
constexpr std::int64_t kMaxCrossings = std::int64_t{1} << 22;  // held at once by one polygon: 32 MiB
constexpr double kMaxCoordinate = 1e7;
constexpr std::int64_t kMaxSide = 65'536, kMaxPixels = std::int64_t{1} << 27;

std::string shortest(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// A key of the file for an error message, cut short: the file may hold keys of any length.
std::string key_text(const std::string& key) {
  return "\"" + (key.size() <= 64 ? key : key.substr(0, 64) + "...") + "\"";
}

// Errors that name the file and where in it things went wrong.
struct Reader {
  const std::string& path;

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw Error(std::string(kOp) + ": '" + path + "'" + (where.empty() ? "" : ": " + where) + ": " + what);
  }
  const Json& member(const Json& obj, const char* key, const std::string& where) const {
    if (!obj.is_object()) fail(where, std::string("expected an object, got ") + obj.type_name());
    auto it = obj.find(key);
    if (it == obj.end()) fail(where, std::string("missing \"") + key + "\"");
    return *it;
  }
  double number(const Json& v, const std::string& where) const {
    if (!v.is_number()) fail(where, std::string("expected a number, got ") + v.type_name());
    const double x = v.get<double>();
    if (!std::isfinite(x) || std::abs(x) > kMaxCoordinate)
      fail(where, "expected a finite number within ±1e7, got " + shortest(x));
    return x;
  }
  double number_at(const Json& obj, const char* key, const std::string& where) const {
    return number(member(obj, key, where), where + "." + key);
  }
};

// Counts the work of filling shapes, so that many huge or jagged shapes are refused rather than
// keeping the caller busy for hours.
struct Budget {
  std::int64_t used = 0;
  void spend(const Reader& rd, const std::string& where, std::int64_t n) {
    if ((used += n) > kMaxWork)
      rd.fail(where, "the shapes cover too much: over 2^28 row crossings and pixels in all (counting overlaps)");
  }
};

std::string read_capped(const Reader& rd) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(rd.path, ec)) rd.fail("", "no such file (or not a regular file)");
  const std::uintmax_t size = fs::file_size(rd.path, ec);
  if (ec) rd.fail("", "cannot read its size: " + ec.message());
  if (size > kMaxFileBytes) rd.fail("", std::to_string(size) + " bytes is larger than the 16 MiB allowed");
  std::ifstream in(rd.path, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(size))) rd.fail("", "cannot be read");
  return text;
}

// Brackets outside strings, counted before parsing, so that a deeply nested file cannot exhaust the
// stack of the parser or of the destructor.
void check_depth(const Reader& rd, const std::string& text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) rd.fail("", "nested deeper than 64 levels; not a VIA annotation file");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// The image entry: by filename, or the only one.
const Json& find_image(const Reader& rd, const Json& doc, const std::string& filename, std::string& where) {
  if (!doc.is_object()) rd.fail("", std::string("expected a JSON object at the top, got ") + doc.type_name());
  const bool project = doc.contains("_via_img_metadata");
  const Json& images = project ? doc["_via_img_metadata"] : doc;
  const std::string base = project ? "_via_img_metadata" : "";
  if (!images.is_object()) rd.fail(base, std::string("expected an object of images, got ") + images.type_name());
  const Json* found = nullptr;
  for (auto it = images.begin(); it != images.end(); ++it) {
    const std::string at = base + "[" + key_text(it.key()) + "]";
    const Json& name = rd.member(it.value(), "filename", at);
    if (!name.is_string()) rd.fail(at + ".filename", std::string("expected a string, got ") + name.type_name());
    if (!filename.empty() && name.get<std::string>() != filename) continue;
    if (found)
      rd.fail("", filename.empty() ? "holds several images; name the one wanted"
                                   : "holds more than one entry for '" + filename + "'");
    found = &it.value(), where = at;
  }
  if (!found)
    rd.fail("", filename.empty() ? "holds no images" : "has no image with filename '" + filename + "'");
  return *found;
}

// Fills pixels whose centres lie inside a polygon, by the even-odd rule, row by row: each edge adds
// where it crosses the rows whose centre y lies in [its lower y, its upper y).
class PolygonFill {
 public:
  PolygonFill(std::int64_t h, std::int64_t w) : h_(h), w_(w), rows_(static_cast<std::size_t>(h)) {}

  void fill(const Reader& rd, Budget& budget, const std::string& where, const std::vector<double>& xs,
            const std::vector<double>& ys, std::int64_t id, std::vector<std::int64_t>& ids) {
    std::int64_t top = h_, bottom = 0;  // the rows crossed: a closed polygon crosses each between twice
    std::int64_t crossings = 0;
    const std::size_t n = xs.size();
    for (std::size_t a = 0; a < n; ++a) {
      const std::size_t b = (a + 1) % n;
      const double y0 = ys[a], y1 = ys[b];
      if (y0 == y1) continue;
      const double lo = std::min(y0, y1), hi = std::max(y0, y1);
      const auto first = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(lo - 0.5)));
      const auto last = std::min<std::int64_t>(h_, static_cast<std::int64_t>(std::ceil(hi - 0.5)));
      if (first >= last) continue;
      if ((crossings += last - first) > kMaxCrossings)
        rd.fail(where, "polygon too jagged: it crosses the pixel rows more than 2^22 times");
      budget.spend(rd, where, last - first);
      top = std::min(top, first), bottom = std::max(bottom, last);
      for (std::int64_t i = first; i < last; ++i) {
        const double py = static_cast<double>(i) + 0.5;
        rows_[static_cast<std::size_t>(i)].push_back(xs[a] + (py - y0) * (xs[b] - xs[a]) / (y1 - y0));
      }
    }
    for (std::int64_t i = top; i < bottom; ++i) {
      auto& r = rows_[static_cast<std::size_t>(i)];
      std::sort(r.begin(), r.end());
      for (std::size_t k = 0; k + 1 < r.size(); k += 2) {  // inside: r[k] <= centre x < r[k + 1]
        const auto j0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(r[k] - 0.5)));
        const auto j1 = std::min<std::int64_t>(w_, static_cast<std::int64_t>(std::ceil(r[k + 1] - 0.5)));
        if (j0 >= j1) continue;
        budget.spend(rd, where, j1 - j0);
        std::fill(ids.begin() + i * w_ + j0, ids.begin() + i * w_ + j1, id);
      }
      r.clear();
    }
  }

 private:
  std::int64_t h_, w_;
  std::vector<std::vector<double>> rows_;  // crossings of the polygon being filled, by row
};

// Pixels whose centres satisfy (u / rx)² + (v / ry)² <= 1, (u, v) the centre relative to (cx, cy)
// turned by −theta.
void fill_ellipse(const Reader& rd, Budget& budget, const std::string& where, double cx, double cy, double rx,
                  double ry, double theta, std::int64_t h, std::int64_t w, std::int64_t id,
                  std::vector<std::int64_t>& ids) {
  if (!(rx > 0 && ry > 0)) return;
  const double reach = std::max(rx, ry), c = std::cos(theta), s = std::sin(theta);
  const auto i0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(cy - reach)));
  const auto i1 = std::min<std::int64_t>(h, static_cast<std::int64_t>(std::ceil(cy + reach)) + 1);
  const auto j0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(cx - reach)));
  const auto j1 = std::min<std::int64_t>(w, static_cast<std::int64_t>(std::ceil(cx + reach)) + 1);
  if (i0 >= i1 || j0 >= j1) return;
  budget.spend(rd, where, (i1 - i0) * (j1 - j0));
  for (std::int64_t i = i0; i < i1; ++i)
    for (std::int64_t j = j0; j < j1; ++j) {
      const double dx = static_cast<double>(j) + 0.5 - cx, dy = static_cast<double>(i) + 0.5 - cy;
      const double u = (dx * c + dy * s) / rx, v = (-dx * s + dy * c) / ry;
      if (u * u + v * v <= 1.0) ids[static_cast<std::size_t>(i * w + j)] = id;
    }
}

std::vector<double> coordinates(const Reader& rd, const Json& shape, const char* key, const std::string& where) {
  const Json& v = rd.member(shape, key, where);
  const std::string at = where + "." + key;
  if (!v.is_array()) rd.fail(at, std::string("expected an array of numbers, got ") + v.type_name());
  if (v.size() > kMaxPoints) rd.fail(at, "more than 1,000,000 points");
  std::vector<double> out;
  for (std::size_t k = 0; k < v.size(); ++k) out.push_back(rd.number(v[k], at + "[" + std::to_string(k) + "]"));
  return out;
}

}  // namespace

Tensor load_via_annotation(const std::string& path, const std::string& filename, std::int64_t height,
                           std::int64_t width) {
  LUMEN_CHECK(height >= 1 && width >= 1 && height <= kMaxSide && width <= kMaxSide && height * width <= kMaxPixels,
              kOp, "expected height and width in 1..65536 with at most 2^27 pixels, got ", height, "x", width);
  const Reader rd{path};
  const std::string text = read_capped(rd);
  check_depth(rd, text);
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::exception& e) {
    rd.fail("", std::string("not valid JSON (") + e.what() + ")");
  }
  std::string where;
  const Json& image = find_image(rd, doc, filename, where);
  const Json& regions = rd.member(image, "regions", where);
  where += ".regions";
  if (!regions.is_array() && !regions.is_object())
    rd.fail(where, std::string("expected an array of regions, got ") + regions.type_name());
  if (regions.size() > kMaxRegions) rd.fail(where, "more than 65,536 regions");

  std::vector<std::int64_t> ids(static_cast<std::size_t>(height * width), 0);
  PolygonFill polygons(height, width);
  Budget budget;
  std::size_t points = 0;
  std::int64_t id = 0;
  for (auto it = regions.begin(); it != regions.end(); ++it) {
    const std::string at = where + "[" + (regions.is_array() ? std::to_string(id) : key_text(it.key())) + "]";
    ++id;
    const Json& shape = rd.member(it.value(), "shape_attributes", at);
    const std::string sat = at + ".shape_attributes";
    const Json& name = rd.member(shape, "name", sat);
    if (!name.is_string()) rd.fail(sat + ".name", std::string("expected a string, got ") + name.type_name());
    const std::string kind = name.get<std::string>();
    if (kind == "polygon") {
      const std::vector<double> xs = coordinates(rd, shape, "all_points_x", sat);
      const std::vector<double> ys = coordinates(rd, shape, "all_points_y", sat);
      if (xs.size() != ys.size() || xs.size() < 3)
        rd.fail(sat, "expected all_points_x and all_points_y of the same length, at least 3, got " +
                         std::to_string(xs.size()) + " and " + std::to_string(ys.size()));
      if ((points += xs.size()) > kMaxPoints) rd.fail(sat, "more than 1,000,000 polygon points in all");
      polygons.fill(rd, budget, sat, xs, ys, id, ids);
    } else if (kind == "rect") {
      const double x = rd.number_at(shape, "x", sat), y = rd.number_at(shape, "y", sat);
      const double w = rd.number_at(shape, "width", sat), h = rd.number_at(shape, "height", sat);
      if (w < 0 || h < 0) rd.fail(sat, "expected a non-negative width and height");
      polygons.fill(rd, budget, sat, {x, x + w, x + w, x}, {y, y, y + h, y + h}, id, ids);
    } else if (kind == "circle") {
      const double r = rd.number_at(shape, "r", sat);
      if (r < 0) rd.fail(sat, "expected a non-negative radius r");
      const double cx = rd.number_at(shape, "cx", sat), cy = rd.number_at(shape, "cy", sat);
      fill_ellipse(rd, budget, sat, cx, cy, r, r, 0.0, height, width, id, ids);
    } else if (kind == "ellipse") {
      const double rx = rd.number_at(shape, "rx", sat), ry = rd.number_at(shape, "ry", sat);
      if (rx < 0 || ry < 0) rd.fail(sat, "expected non-negative radii rx and ry");
      const double theta = shape.contains("theta") ? rd.number_at(shape, "theta", sat) : 0.0;
      const double cx = rd.number_at(shape, "cx", sat), cy = rd.number_at(shape, "cy", sat);
      fill_ellipse(rd, budget, sat, cx, cy, rx, ry, theta, height, width, id, ids);
    } else {
      rd.fail(sat + ".name", "shape " + key_text(kind) + " is not supported (polygon, rect, circle or ellipse)");
    }
  }
  return tensor_from(ids, {height, width});
}

Tensor foreground_annotation(const Tensor& image, double threshold) {
  const char* op = "foreground_annotation";
  LUMEN_CHECK(image.defined() && (image.dim() == 2 || image.dim() == 3) && is_floating(image.dtype()), op,
              "expected a floating image [C, H, W] or [H, W], got ", image.defined() ? image.str() : "undefined");
  const std::int64_t c = image.dim() == 3 ? image.size(0) : 1, h = image.size(-2), w = image.size(-1);
  LUMEN_CHECK(c >= 1, op, "expected at least one channel, got ", image.str());
  const std::vector<double> v = image.to_vector<double>();
  std::vector<std::int64_t> out(static_cast<std::size_t>(h * w), 0);
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t e = 0; e < h * w; ++e)
      if (v[static_cast<std::size_t>(k * h * w + e)] > threshold) out[static_cast<std::size_t>(e)] = 1;  // NaN: no
  return tensor_from(out, {h, w});
}

Tensor partial_annotation(const Tensor& mask) {
  LUMEN_CHECK(mask.defined() && mask.dim() == 2 && mask.dtype() == DType::int64, "partial_annotation",
              "expected an int64 mask [H, W], got ", mask.defined() ? mask.str() : "undefined");
  const std::int64_t w = mask.size(1);
  std::vector<std::int64_t> v = mask.to_vector<std::int64_t>(), columns;
  for (std::size_t e = 0; e < v.size(); ++e)
    if (v[e] != 0) columns.push_back(static_cast<std::int64_t>(e) % w);
  if (columns.empty()) return mask.clone();
  std::sort(columns.begin(), columns.end());
  const std::size_t m = columns.size();
  const double median = m % 2 ? static_cast<double>(columns[m / 2])
                              : 0.5 * static_cast<double>(columns[m / 2 - 1] + columns[m / 2]);
  const bool strict = static_cast<double>(columns.front()) < median;  // else: "<" would keep nothing
  for (std::size_t e = 0; e < v.size(); ++e) {
    const auto j = static_cast<double>(static_cast<std::int64_t>(e) % w);
    if (strict ? j >= median : j > median) v[e] = 0;
  }
  return tensor_from(v, mask.shape());
}

Tensor composite_regions(const Tensor& annotation, std::int64_t grid_rows, std::int64_t grid_cols) {
  const char* op = "composite_regions";
  LUMEN_CHECK(annotation.defined() && annotation.dim() == 2 && annotation.dtype() == DType::int64, op,
              "expected an int64 annotation [H, W], got ", annotation.defined() ? annotation.str() : "undefined");
  const std::int64_t h = annotation.size(0), w = annotation.size(1);
  LUMEN_CHECK(grid_rows >= 1 && grid_cols >= 1 && grid_rows <= h && grid_cols <= w, op, "expected a grid of 1..", h,
              " rows and 1..", w, " columns for a ", h, "x", w, " annotation, got ", grid_rows, "x", grid_cols);
  std::vector<std::int64_t> ids = annotation.to_vector<std::int64_t>();
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j) {
      std::int64_t& id = ids[static_cast<std::size_t>(i * w + j)];
      id = id != 0 ? grid_rows * grid_cols : (i * grid_rows / h) * grid_cols + j * grid_cols / w;
    }
  return relabel_contiguous(tensor_from(ids, {h, w}));
}

}  // namespace lumen::xai
