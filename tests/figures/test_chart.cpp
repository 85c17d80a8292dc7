// Charts (figures/chart.h) and their two renderings: the SVG is well-formed XML (parsed here), escapes
// its text, has the title, labels and ticks, and puts data where the axes say; the raster has the same
// size and draws the same layout.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "figures/chart.h"
#include "figures/font.h"
#include "figures/plot.h"
#include "tests/figures/pixel_checks.h"

using namespace lumen;
using namespace lumen::figures;
using lumen::testing::pixels::at;
using lumen::testing::pixels::count_not;
using lumen::testing::pixels::near;

namespace {

struct Element {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;
};

// Entities decoded; only XML's predefined ones (as the chart writes them) are accepted.
std::string decode(const std::string& raw) {
  static const std::map<std::string, std::string> entities{
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    if (raw[i] != '&') {
      REQUIRE_MESSAGE(raw[i] != '<', "a raw '<' in: ", raw);
      out += raw[i++];
      continue;
    }
    const std::size_t end = raw.find(';', i);
    REQUIRE_MESSAGE(end != std::string::npos, "an unterminated entity in: ", raw);
    const auto it = entities.find(raw.substr(i, end - i + 1));
    REQUIRE_MESSAGE(it != entities.end(), "an unknown entity in: ", raw);
    out += it->second;
    i = end + 1;
  }
  return out;
}

// s parsed as XML (elements, double-quoted attributes, text, entities): fails the test on unbalanced
// or misnested tags, repeated attributes, stray '<' or '&', or anything after the root element.
// Elements come in document order, text and attributes decoded.
std::vector<Element> parse_xml(const std::string& s) {
  std::vector<Element> out;
  std::vector<std::size_t> open;
  bool closed_root = false;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '<') {
      const std::size_t j = std::min(s.find('<', i), s.size());
      const std::string text = decode(s.substr(i, j - i));
      if (open.empty()) REQUIRE_MESSAGE(text.find_first_not_of(" \n") == std::string::npos, "text outside the root");
      else out[open.back()].text += text;
      i = j;
      continue;
    }
    const std::size_t j = s.find('>', i);
    REQUIRE(j != std::string::npos);
    std::string tag = s.substr(i + 1, j - i - 1);
    i = j + 1;
    REQUIRE(!tag.empty());
    if (tag[0] == '/') {
      REQUIRE(!open.empty());
      CHECK(out[open.back()].name == tag.substr(1));
      open.pop_back();
      closed_root = open.empty();
      continue;
    }
    REQUIRE_MESSAGE(!closed_root, "a second root element");
    const bool self_closing = tag.back() == '/';
    if (self_closing) tag.pop_back();
    Element e;
    std::size_t k = tag.find_first_of(" \n");
    e.name = tag.substr(0, k);
    REQUIRE(!e.name.empty());
    while (k < tag.size()) {
      k = tag.find_first_not_of(" \n", k);
      if (k == std::string::npos) break;
      const std::size_t eq = tag.find('=', k);
      REQUIRE(eq != std::string::npos);
      REQUIRE(eq + 1 < tag.size());
      REQUIRE(tag[eq + 1] == '"');
      const std::size_t close = tag.find('"', eq + 2);
      REQUIRE(close != std::string::npos);
      const std::string name = tag.substr(k, eq - k);
      REQUIRE_MESSAGE(name.find_first_of(" \"<&") == std::string::npos, "a bad attribute name: ", name);
      REQUIRE_MESSAGE(e.attrs.count(name) == 0, "attribute ", name, " repeated");
      e.attrs[name] = decode(tag.substr(eq + 2, close - eq - 2));
      k = close + 1;
    }
    out.push_back(e);
    if (!self_closing) open.push_back(out.size() - 1);
    else closed_root = open.empty();
  }
  REQUIRE_MESSAGE(open.empty(), "unclosed <", out[open.back()].name, ">");
  REQUIRE(!out.empty());
  return out;
}

std::vector<const Element*> named(const std::vector<Element>& els, const std::string& name) {
  std::vector<const Element*> found;
  for (const Element& e : els)
    if (e.name == name) found.push_back(&e);
  return found;
}

double num(const Element& e, const std::string& attr) { return std::stod(e.attrs.at(attr)); }

std::vector<std::pair<double, double>> points_of(const Element& polyline) {
  std::vector<std::pair<double, double>> pts;
  std::string s = polyline.attrs.at("points");
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t comma = s.find(',', i), space = std::min(s.find(' ', i), s.size());
    pts.push_back({std::stod(s.substr(i, comma - i)), std::stod(s.substr(comma + 1, space - comma - 1))});
    i = space + 1;
  }
  return pts;
}

}  // namespace

TEST_SUITE("figures") {
  TEST_CASE("Chart::svg: well-formed, escaped, labelled; data where the axes say") {
    // Known answer: a line from (0, 0) to (1, 1) on axes [0, 1] × [0, 1] runs from the axes box's
    // bottom-left to its top-right (one pixel inside the frame, whose stroke lies outside the data).
    const Chart c = make_line_chart({{"diagonal", {0, 1}, {0, 1}, Color{1, 0, 0}}},
                                    {.title = "Title <&> \"quoted\"", .xlabel = "x label", .ylabel = "y label",
                                     .xlim = std::pair{0.0, 1.0}, .ylim = std::pair{0.0, 1.0}, .legend = false});
    const std::string svg = c.svg("alt <&> text", "k1");
    const std::vector<Element> els = parse_xml(svg);
    const Element& root = els.front();
    CHECK(root.name == "svg");
    CHECK(root.attrs.at("viewBox") == "0 0 480 360");
    CHECK(root.attrs.at("width") == "480");
    CHECK(root.attrs.at("height") == "360");
    CHECK(root.attrs.at("role") == "img");
    CHECK(root.attrs.at("aria-label") == "alt <&> text");
    REQUIRE(named(els, "title").size() == 1);
    CHECK(named(els, "title")[0]->text == "alt <&> text");
    CHECK(svg.find("alt &lt;&amp;&gt; text") != std::string::npos);
    CHECK(svg.find("<&>") == std::string::npos);

    std::map<std::string, const Element*> texts;
    for (const Element* t : named(els, "text")) texts[t->text] = t;
    for (const char* want : {"Title <&> \"quoted\"", "x label", "y label", "0.0", "0.2", "0.4", "0.6", "0.8", "1.0"})
      CHECK_MESSAGE(texts.count(want) == 1, "missing text: ", want);
    CHECK(texts.at("y label")->attrs.at("transform").rfind("rotate(-90 ", 0) == 0);

    const Element* frame = nullptr;
    for (const Element* r : named(els, "rect"))
      if (r->attrs.count("stroke") && r->attrs.count("fill") && r->attrs.at("fill") == "none") frame = r;
    REQUIRE(frame != nullptr);
    const double fx = num(*frame, "x"), fy = num(*frame, "y"), fw = num(*frame, "width"), fh = num(*frame, "height");
    const auto lines = named(els, "polyline");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]->attrs.at("stroke") == "#ff0000");
    const auto pts = points_of(*lines[0]);
    REQUIRE(pts.size() == 2);
    CHECK(pts[0].first == doctest::Approx(fx + 1));
    CHECK(pts[0].second == doctest::Approx(fy + fh - 1));
    CHECK(pts[1].first == doctest::Approx(fx + fw - 1));
    CHECK(pts[1].second == doctest::Approx(fy + 1));
    // Ticks at the data's ends: the x tick label "1.0" is centred over x = 1, "0.0" on the y axis at y = 0.
    CHECK(num(*texts.at("1.0"), "x") == doctest::Approx(pts[1].first));
    CHECK(texts.at("1.0")->attrs.at("text-anchor") == "middle");
    // The data is clipped to the box inside the frame.
    REQUIRE(named(els, "clipPath").size() == 1);
    CHECK(named(els, "clipPath")[0]->attrs.at("id") == "k1-clip0");
    CHECK(lines[0]->attrs.at("clip-path") == "url(#k1-clip0)");

    // The raster has the same size and the same layout: the line's ends and the frame where the SVG says.
    const Tensor img = c.raster();
    CHECK(img.shape() == Shape{3, 360, 480});
    const Color red{1, 0, 0}, dark{0.15f, 0.15f, 0.15f};
    auto px = [&](double x, double y) { return at(img, static_cast<std::int64_t>(std::floor(y)), static_cast<std::int64_t>(std::floor(x))); };
    CHECK(near(px(pts[0].first, pts[0].second), red));
    CHECK(near(px(pts[1].first, pts[1].second), red));
    CHECK(near(px(fx + fw / 2, fy), dark));
    CHECK(near(px(fx, fy + fh / 2), dark));
    CHECK(near(px(fx + fw, fy + fh / 2), dark));
    // The slanted line is antialiased: its edges blend red into the white (pink), the frame does not.
    std::int64_t pink = 0;
    for (std::int64_t y = static_cast<std::int64_t>(fy) + 2; y < static_cast<std::int64_t>(fy + fh) - 2; ++y)
      for (std::int64_t x = static_cast<std::int64_t>(fx) + 2; x < static_cast<std::int64_t>(fx + fw) - 2; ++x) {
        const auto c = at(img, y, x);
        pink += c[0] == 1.0f && c[1] > 0.1f && c[1] < 0.9f && c[1] == c[2];
      }
    CHECK(pink > 200);
    // Text where the title is, none in the margin above it.
    const double title_y = num(*texts.at("Title <&> \"quoted\""), "y");
    CHECK(count_not(img, static_cast<std::int64_t>(title_y) - 8, static_cast<std::int64_t>(title_y), 100, 380) > 30);
    CHECK(count_not(img, 0, 2, 0, 480) == 0);
  }

  TEST_CASE("Chart::svg: bars, legend, no label, invalid UTF-8") {
    const Chart bars = make_grouped_bar_chart({"conv <1>", "fc"}, {{"A & B", {1, 2}, {0.1, 0.2}, {true, false}},
                                                                    {"random \xff", {0.5, 0.5}}},
                                              {.title = "TCAV", .ylabel = "score"});
    const std::string svg = bars.svg();
    CHECK(svg.find("role=") == std::string::npos);  // no label: no role, no <title>
    CHECK(svg.find("<title>") == std::string::npos);
    CHECK(lumen::figures::detail::sanitize_utf8(svg) == svg);         // valid UTF-8 throughout
    const std::vector<Element> els = parse_xml(svg);
    std::map<std::string, int> texts;
    for (const Element* t : named(els, "text")) ++texts[t->text];
    CHECK(texts["conv <1>"] == 1);
    CHECK(texts["A & B"] == 1);                // the legend
    CHECK(texts["random \xef\xbf\xbd"] == 1);  // U+FFFD for the bad byte
    CHECK(texts["*"] == 1);                    // the significance mark
    int blue = 0, orange = 0;  // palette(0) and (1): 2 bars and a legend patch each
    for (const Element* r : named(els, "rect"))
      if (r->attrs.count("fill")) blue += r->attrs.at("fill") == "#1f77b4", orange += r->attrs.at("fill") == "#ff7f0e";
    CHECK(blue == 3);
    CHECK(orange == 3);
    CHECK(named(els, "polyline").size() == 6);  // two whiskers of three strokes each
    CHECK(bars.raster().shape() == Shape{3, 360, 480});
    // Negative ticks are written with a minus sign (U+2212), not a hyphen.
    const std::vector<Element> signed_els =
        parse_xml(make_line_chart({{"", {0, 1}, {-1, 1}}}, {.ylim = std::pair{-1.0, 1.0}}).svg());
    std::map<std::string, int> ticks;
    for (const Element* t : named(signed_els, "text")) ++ticks[t->text];
    CHECK(ticks["\u22120.5"] == 1);
    CHECK(ticks["-0.5"] == 0);
  }

  TEST_CASE("arrange: charts side by side, their clip paths renumbered") {
    const Chart a = make_line_chart({{"a", {0, 1}, {0, 1}}}, {.width = 200, .height = 150});
    const Chart b = make_bar_chart({"x", "y"}, {1, 2}, {.width = 300, .height = 200});
    const Chart both = arrange({{a, b}, {a}}, 10);
    CHECK(both.width == 10 + 200 + 10 + 300 + 10);
    CHECK(both.height == 10 + 200 + 10 + 150 + 10);
    CHECK(both.items.size() == 2 * a.items.size() + b.items.size());
    REQUIRE(both.clips.size() == 3);
    CHECK(both.clips[1].x0 == doctest::Approx(b.clips[0].x0 + 220));
    CHECK(both.clips[2].y0 == doctest::Approx(a.clips[0].y0 + 220));
    const std::vector<Element> els = parse_xml(both.svg("two charts", "pair"));
    CHECK(named(els, "clipPath").size() == 3);
    const Tensor img = both.raster();
    CHECK(img.shape() == Shape{3, both.height, both.width});
    // The bar chart's bars (palette(0)) are in its own slot, right of the first chart.
    std::int64_t blue_left = 0;
    for (std::int64_t y = 0; y < 210; ++y)
      for (std::int64_t x = 0; x < 215; ++x) blue_left += near(at(img, y, x), palette(0));
    CHECK(blue_left > 100);  // chart a's line
    CHECK_THROWS_AS(arrange({}), Error);
    CHECK_THROWS_AS(arrange({{}}), Error);
  }
}
