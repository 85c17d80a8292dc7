#include "figures/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "figures/canvas.h"
#include "figures/font.h"
#include "kernels/core/error.h"

namespace lumen::figures {

using detail::Canvas;

namespace {

// ---- raster

void set_clip(Canvas& c, const std::vector<Chart::Box>& clips, int clip) {
  if (clip < 0) return c.unclip();
  const Chart::Box& b = clips.at(static_cast<std::size_t>(clip));
  c.clip(static_cast<std::int64_t>(std::floor(b.y0)), static_cast<std::int64_t>(std::floor(b.x0)),
         static_cast<std::int64_t>(std::ceil(b.y1)), static_cast<std::int64_t>(std::ceil(b.x1)));
}

// Canvas::line fills pixel k for a coordinate k; a chart's coordinate k + 0.5 is pixel k's centre.
void segment(Canvas& c, double xa, double ya, double xb, double yb, Color color, double width) {
  c.line(ya - 0.5, xa - 0.5, yb - 0.5, xb - 0.5, color, width);
}

// Axis-aligned polylines (whiskers, swatches, steps) are stamped in whole pixels, crisp as matplotlib
// snaps them; any other is antialiased: each pixel covered by how far its centre lies from the
// nearest segment (round caps and joins, as the SVG's), blended once.
void draw(Canvas& c, const Chart::Polyline& p) {
  if (p.points.size() < 2) return;
  bool aligned = true;
  for (std::size_t i = 1; i < p.points.size(); ++i)
    aligned = aligned && (p.points[i].first == p.points[i - 1].first || p.points[i].second == p.points[i - 1].second);
  if (aligned) {
    for (std::size_t i = 1; i < p.points.size(); ++i)
      segment(c, p.points[i - 1].first, p.points[i - 1].second, p.points[i].first, p.points[i].second, p.color, p.width);
    return;
  }
  const double reach = p.width / 2 + 0.5;  // beyond this distance from the line a pixel is untouched
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const auto& [x, y] : p.points) x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
  const auto bx0 = std::max<std::int64_t>(static_cast<std::int64_t>(std::floor(x_lo - reach)), 0);
  const auto by0 = std::max<std::int64_t>(static_cast<std::int64_t>(std::floor(y_lo - reach)), 0);
  const auto bx1 = std::min<std::int64_t>(static_cast<std::int64_t>(std::ceil(x_hi + reach)), c.w);
  const auto by1 = std::min<std::int64_t>(static_cast<std::int64_t>(std::ceil(y_hi + reach)), c.h);
  if (bx1 <= bx0 || by1 <= by0) return;
  std::vector<float> coverage(static_cast<std::size_t>((by1 - by0) * (bx1 - bx0)), 0.0f);
  for (std::size_t i = 1; i < p.points.size(); ++i) {
    const auto [xa, ya] = p.points[i - 1];
    const auto [xb, yb] = p.points[i];
    const double dx = xb - xa, dy = yb - ya, len2 = dx * dx + dy * dy;
    const auto x0 = std::max(static_cast<std::int64_t>(std::floor(std::min(xa, xb) - reach)), bx0);
    const auto x1 = std::min(static_cast<std::int64_t>(std::ceil(std::max(xa, xb) + reach)), bx1);
    const auto y0 = std::max(static_cast<std::int64_t>(std::floor(std::min(ya, yb) - reach)), by0);
    const auto y1 = std::min(static_cast<std::int64_t>(std::ceil(std::max(ya, yb) + reach)), by1);
    for (std::int64_t y = y0; y < y1; ++y)
      for (std::int64_t x = x0; x < x1; ++x) {
        const double cx = static_cast<double>(x) + 0.5, cy = static_cast<double>(y) + 0.5;
        const double t = len2 > 0 ? std::clamp(((cx - xa) * dx + (cy - ya) * dy) / len2, 0.0, 1.0) : 0.0;
        const double d = std::hypot(cx - (xa + t * dx), cy - (ya + t * dy));
        float& v = coverage[static_cast<std::size_t>((y - by0) * (bx1 - bx0) + (x - bx0))];
        v = std::max(v, static_cast<float>(std::clamp(reach - d, 0.0, 1.0)));
      }
  }
  for (std::int64_t y = by0; y < by1; ++y)
    for (std::int64_t x = bx0; x < bx1; ++x)
      if (const float v = coverage[static_cast<std::size_t>((y - by0) * (bx1 - bx0) + (x - bx0))]; v > 0) c.blend(y, x, p.color, v);
}

void draw(Canvas& c, const Chart::Rect& r) {
  if (r.fill) {
    const std::int64_t x0 = std::llround(r.x), y0 = std::llround(r.y);
    c.rect(y0, x0, std::llround(r.y + r.h) - y0, std::llround(r.x + r.w) - x0, *r.fill);
  }
  if (r.stroke) {
    const double x1 = r.x + r.w, y1 = r.y + r.h;
    segment(c, r.x, r.y, x1, r.y, *r.stroke, r.stroke_width);
    segment(c, r.x, y1, x1, y1, *r.stroke, r.stroke_width);
    segment(c, r.x, r.y, r.x, y1, *r.stroke, r.stroke_width);
    segment(c, x1, r.y, x1, y1, *r.stroke, r.stroke_width);
  }
}

void draw(Canvas& c, const Chart::Circle& d) {
  // Coverage falls from 1 to 0 over the pixel that straddles the edge.
  for (auto y = static_cast<std::int64_t>(std::floor(d.cy - d.r - 1)); y <= static_cast<std::int64_t>(d.cy + d.r + 1); ++y)
    for (auto x = static_cast<std::int64_t>(std::floor(d.cx - d.r - 1)); x <= static_cast<std::int64_t>(d.cx + d.r + 1); ++x) {
      const double dist = std::hypot(static_cast<double>(y) + 0.5 - d.cy, static_cast<double>(x) + 0.5 - d.cx);
      const double a = std::clamp(d.r + 0.5 - dist, 0.0, 1.0);
      if (a > 0) c.blend(y, x, d.fill, static_cast<float>(a));
    }
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

double anchor_shift(Chart::Anchor a) { return a == Chart::Anchor::start ? 0.0 : a == Chart::Anchor::middle ? 0.5 : 1.0; }

void draw(Canvas& c, const Chart::Text& t) {
  const std::string s = one_line(t.text);
  const double w = static_cast<double>(Canvas::text_width(s, t.size));
  const auto ascent = static_cast<double>(detail::font_metrics(t.size).ascent);
  if (!t.vertical) {
    c.text(s, std::llround(t.y - ascent), std::llround(t.x - anchor_shift(t.anchor) * w), t.size, t.color);
  } else {  // reading upwards: the start is at the bottom
    c.text_up(s, std::llround(t.y - (1.0 - anchor_shift(t.anchor)) * w), std::llround(t.x - ascent), t.size, t.color);
  }
}

// ---- SVG

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", std::abs(v) < 0.005 ? 0.0 : v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string hex(Color c) {
  char buf[8];
  auto byte = [](float v) { return static_cast<int>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f)); };
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", byte(c[0]), byte(c[1]), byte(c[2]));
  return buf;
}

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char ch : detail::sanitize_utf8(one_line(s))) switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  return out;
}

std::string clip_attr(const std::string& id, int clip) {
  return clip < 0 ? "" : " clip-path=\"url(#" + id + "-clip" + std::to_string(clip) + ")\"";
}

std::string svg_of(const Chart::Polyline& p, const std::string& id) {
  std::string pts;
  for (const auto& [x, y] : p.points) {
    if (!pts.empty()) pts += ' ';
    pts += num(x);
    pts += ',';
    pts += num(y);
  }
  return "<polyline points=\"" + pts + "\" fill=\"none\" stroke=\"" + hex(p.color) + "\" stroke-width=\"" +
         num(p.width) + "\" stroke-linejoin=\"round\" stroke-linecap=\"round\"" + clip_attr(id, p.clip) + "/>";
}

std::string svg_of(const Chart::Rect& r, const std::string& id) {
  std::string s = "<rect x=\"" + num(r.x) + "\" y=\"" + num(r.y) + "\" width=\"" + num(r.w) + "\" height=\"" +
                  num(r.h) + "\" fill=\"" + (r.fill ? hex(*r.fill) : "none") + "\"";
  if (r.stroke) s += " stroke=\"" + hex(*r.stroke) + "\" stroke-width=\"" + num(r.stroke_width) + "\"";
  return s + " shape-rendering=\"crispEdges\"" + clip_attr(id, r.clip) + "/>";
}

std::string svg_of(const Chart::Circle& d, const std::string& id) {
  return "<circle cx=\"" + num(d.cx) + "\" cy=\"" + num(d.cy) + "\" r=\"" + num(d.r) + "\" fill=\"" + hex(d.fill) +
         "\"" + clip_attr(id, d.clip) + "/>";
}

std::string svg_of(const Chart::Text& t, const std::string&) {
  static const char* anchors[] = {"start", "middle", "end"};
  std::string s = "<text x=\"" + num(t.x) + "\" y=\"" + num(t.y) + "\" font-size=\"" + num(t.size) + "\"";
  if (t.anchor != Chart::Anchor::start) s += std::string(" text-anchor=\"") + anchors[static_cast<int>(t.anchor)] + "\"";
  if (t.vertical) s += " transform=\"rotate(-90 " + num(t.x) + " " + num(t.y) + ")\"";
  return s + " fill=\"" + hex(t.color) + "\">" + escape_xml(t.text) + "</text>";
}

}  // namespace

Tensor Chart::raster() const {
  LUMEN_CHECK(width > 0 && height > 0, "Chart::raster", "expected a chart with a size, got ", width, "x", height);
  Canvas c(height, width, background);
  for (const Item& item : items) {
    std::visit(
        [&](const auto& it) {
          using T = std::decay_t<decltype(it)>;
          if constexpr (std::is_same_v<T, Text>) c.unclip();
          else set_clip(c, clips, it.clip);
          draw(c, it);
        },
        item);
  }
  return c.to_tensor();
}

std::string Chart::svg(const std::string& label, const std::string& id) const {
  const std::string w = std::to_string(width), h = std::to_string(height);
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + w + " " + h + "\" width=\"" + w +
                  "\" height=\"" + h + "\"";
  if (!label.empty()) s += " role=\"img\" aria-label=\"" + escape_xml(label) + "\"";
  s += " font-family=\"'DejaVu Sans', Verdana, sans-serif\" style=\"max-width:100%;height:auto\">\n";
  if (!label.empty()) s += "<title>" + escape_xml(label) + "</title>\n";
  if (!clips.empty()) {
    s += "<defs>";
    for (std::size_t i = 0; i < clips.size(); ++i) {
      const Box& b = clips[i];
      s += "<clipPath id=\"" + escape_xml(id) + "-clip" + std::to_string(i) + "\"><rect x=\"" + num(b.x0) + "\" y=\"" +
           num(b.y0) + "\" width=\"" + num(b.x1 - b.x0) + "\" height=\"" + num(b.y1 - b.y0) + "\"/></clipPath>";
    }
    s += "</defs>\n";
  }
  s += "<rect width=\"" + w + "\" height=\"" + h + "\" fill=\"" + hex(background) + "\"/>\n";
  for (const Item& item : items) s += std::visit([&](const auto& it) { return svg_of(it, escape_xml(id)); }, item) + "\n";
  return s + "</svg>\n";
}

Chart arrange(const std::vector<std::vector<Chart>>& rows, std::int64_t padding) {
  LUMEN_CHECK(padding >= 0, "arrange", "expected padding >= 0, got ", padding);
  Chart out;
  bool any = false;
  std::int64_t y = padding;
  for (const auto& row : rows) {
    std::int64_t x = padding, row_h = 0;
    for (const Chart& c : row) {
      if (!any) out.background = c.background, any = true;
      const auto dx = static_cast<double>(x), dy = static_cast<double>(y);
      const int clip0 = static_cast<int>(out.clips.size());
      for (const Chart::Box& b : c.clips) out.clips.push_back({b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy});
      if (c.background != out.background)
        out.items.push_back(Chart::Rect{dx, dy, static_cast<double>(c.width), static_cast<double>(c.height), c.background});
      for (Chart::Item item : c.items) {
        std::visit(
            [&](auto& it) {
              using T = std::decay_t<decltype(it)>;
              if constexpr (std::is_same_v<T, Chart::Polyline>) {
                for (auto& [px, py] : it.points) px += dx, py += dy;
              } else if constexpr (std::is_same_v<T, Chart::Circle>) {
                it.cx += dx, it.cy += dy;
              } else {
                it.x += dx, it.y += dy;
              }
              if constexpr (!std::is_same_v<T, Chart::Text>)
                if (it.clip >= 0) it.clip += clip0;
            },
            item);
        out.items.push_back(std::move(item));
      }
      x += c.width + padding;
      row_h = std::max(row_h, c.height);
      out.width = std::max(out.width, x);
    }
    if (!row.empty()) y += row_h + padding;
  }
  LUMEN_CHECK(any, "arrange", "expected at least one chart");
  out.height = y;
  return out;
}

}  // namespace lumen::figures
