#pragma once
// Regions a person marked on an image, as int64 region maps for SharpLime and the localisation
// metrics: polygons drawn in the VGG Image Annotator (VIA), a thresholded foreground, half of an
// annotation (a "partial" expert), and the Sharp-LIME composite of an annotation and a grid.
//
//   Tensor expert = xai::load_via_annotation("via_project.json", "lesion_017.png", 28, 28);  // [28, 28]
//   xai::SharpLime lime(model, xai::composite_regions(expert));                            // 6×6 cells + 1
#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace lumen::xai {

// The regions drawn on one image in a VIA 2 JSON file, rasterised to int64 [height, width]: region k
// (in file order) gets id k + 1, 0 = not annotated; where regions overlap, the later one wins.
//
// The file is either a VIA project (an object with "_via_img_metadata") or VIA's exported annotations
// (the object of images itself), each image keyed by filename + size and holding
// {"filename": ..., "regions": [{"shape_attributes": {"name": ..., ...}, "region_attributes": {}}]}
// ("regions" as an array, VIA 2, or an object keyed "0", "1", ..., VIA 1, taken in file order).
// The image is the entry whose "filename" equals `filename`; with an empty `filename`, the file's only
// entry. Shapes, in pixel coordinates with x to the right and y down:
//   polygon  all_points_x, all_points_y (at least 3 points)
//   rect     x, y, width, height
//   circle   cx, cy, r
//   ellipse  cx, cy, rx, ry and optionally theta (radians, clockwise on screen since y points down)
// A pixel (i, j) belongs to a shape when its centre (x, y) = (j + 0.5, i + 0.5) does: polygons by the
// even-odd rule (a centre exactly on an edge counts as inside for left and top edges, outside for
// right and bottom ones, so a polygon with integer corners covers exactly the pixels it encloses);
// rect as x <= cx < x + width and y <= cy < y + height (the same); circle and ellipse when on or
// inside the boundary. Shapes may extend past the image: only the pixels inside count.
//
// Hostile files are refused with a lumen::Error naming the file and what was wrong: larger than
// 16 MiB, nested deeper than 64 levels, not JSON, a missing or mistyped key, another shape ("point",
// "polyline", ...), a coordinate that is not a finite number within ±1e7, more than 1,000,000 polygon
// points or 65,536 regions, a polygon crossing the pixel rows more than 2^22 times (a jagged zigzag
// of a few hundred points on a tall image), or shapes whose filling would take more than 2^28 steps
// in all (pixels painted, counting overlaps, plus row crossings). height and width must be 1..65,536
// with at most 2^27 pixels.
Tensor load_via_annotation(const std::string& path, const std::string& filename, std::int64_t height,
                           std::int64_t width);

// A foreground mask from an image ([C, H, W] or [H, W], floating): int64 [H, W], 1 where the largest
// channel value of the pixel is > threshold, else 0 (NaN counts as background). For a gray image that
// is the gray value itself; for RGB, any bright channel makes a pixel foreground.
Tensor foreground_annotation(const Tensor& image, double threshold);

// About half of an annotation, as an expert who marked only part of the object: int64 [H, W] keeping
// the values of the annotated (nonzero) pixels whose column is < the median column of all annotated
// pixels (numpy's median: the mean of the middle two for an even count), 0 elsewhere. When that keeps
// nothing (more than half the annotated pixels share the leftmost column), the pixels with column <=
// the median are kept instead, so a nonempty annotation never gives an empty one. mask: int64 [H, W].
Tensor partial_annotation(const Tensor& mask);

// Sharp-LIME's composite feature map: the pixels outside the annotation (int64 [H, W], nonzero =
// annotated) divided into a grid of grid_rows × grid_cols cells (row i in cell row i·grid_rows / H,
// column j in cell column j·grid_cols / W, so cells differ by at most one pixel in size), and all the
// annotated pixels together as one more region, numbered after the cells. Ids are then made
// contiguous (relabel_contiguous): cells entirely covered by the annotation disappear, and the
// annotation is the last id. Returns int64 [H, W].
Tensor composite_regions(const Tensor& annotation, std::int64_t grid_rows = 6, std::int64_t grid_cols = 6);

}  // namespace lumen::xai
