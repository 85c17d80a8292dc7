#include "examples/report.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "examples/landing_page.h"
#include "kernels/core/atomic_file.h"
#include "kernels/core/error.h"
#include "figures/chart.h"
#include "figures/png.h"

namespace lumen::report {

namespace fs = std::filesystem;

std::string format(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text)
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  return out;
}

void write_atomically(const fs::path& path, const std::string& text) {
  write_file_atomically(path.string(), text, "report");
}

namespace {

// A double as summary.json keeps it: 6 significant digits; NaN and infinities (not JSON) become null.
nlohmann::ordered_json json_number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::strtod(format("%.6g", v).c_str(), nullptr);
}

std::string dotted(const Key& key) {
  std::string s;
  for (const std::string& name : key) s += (s.empty() ? "" : ".") + name;
  return s;
}

std::string pad(const std::string& s, int width) {
  // Widths count bytes, as printf's do: names here are ASCII.
  const auto w = static_cast<std::size_t>(std::abs(width));
  if (width == 0 || s.size() >= w) return s;
  const std::string fill(w - s.size(), ' ');
  return width < 0 ? s + fill : fill + s;
}

}  // namespace

// ---- Table

Table::Table(std::vector<Column> columns, std::string indent) : columns_(std::move(columns)), indent_(std::move(indent)) {
  std::vector<std::string> titles;
  for (const Column& c : columns_) titles.push_back(c.console_title.empty() ? c.title : c.console_title);
  std::printf("%s\n", console_line(titles, true).c_str());
  std::fflush(stdout);
}

void Table::row(std::vector<std::string> cells) {
  LUMEN_CHECK(cells.size() == columns_.size(), "report::Table", "expected ", columns_.size(), " cells, got ",
              cells.size());
  std::printf("%s\n", console_line(cells, false).c_str());
  std::fflush(stdout);
  rows_.push_back(std::move(cells));
}

std::string Table::console_line(const std::vector<std::string>& cells, bool header) const {
  std::string line = indent_;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const int w = columns_[i].width;
    if (i) line += ' ';
    line += pad(cells[i], header && w == 0 ? 0 : w);
  }
  return line;
}

std::string Table::html() const {
  std::string s = "<table><tr>";
  for (const Column& c : columns_) s += "<th>" + c.title + "</th>";
  s += "</tr>\n";
  for (const auto& r : rows_) {
    s += "<tr>";
    for (std::size_t i = 0; i < r.size(); ++i)
      s += (columns_[i].width <= 0 ? "<td style=\"text-align:left\">" : "<td>") + r[i] + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

std::string Table::markdown() const {
  std::string s = "|", rule = "|";
  for (const Column& c : columns_) {
    s += " " + c.title + " |";
    rule += c.width <= 0 ? "---|" : "---:|";
  }
  s += "\n" + rule + "\n";
  for (const auto& r : rows_) {
    s += "|";
    for (const std::string& cell : r) s += " " + cell + " |";
    s += "\n";
  }
  return s;
}

// ---- Report

Report::Report(fs::path out_dir, std::string title, std::string intro_html)
    : out_dir_(std::move(out_dir)), title_(std::move(title)), html_(std::move(intro_html)) {
  if (!out_dir_.empty()) fs::create_directories(out_dir_);  // empty: a rank > 0 of a data-parallel run, which writes nothing
}

void Report::say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  said_ = true;
}

void Report::step(const std::string& title) { say(said_ ? "\n" + title : title); }

nlohmann::ordered_json& Report::at(const Key& key) {
  LUMEN_CHECK(!key.empty(), "report", "a summary.json key needs at least one name");
  LUMEN_CHECK(key.front() != "report", "report", "the key 'report' of summary.json is Report::write's (", dotted(key), ")");
  nlohmann::ordered_json* node = &summary_;
  for (const std::string& name : key) node = &(*node)[name];
  return *node;
}

std::string& Report::shown(const Key& key) { return shown_[dotted(key)]; }

std::string Report::number(const Key& key, double value, const char* f, const std::string& unit) {
  at(key) = json_number(value);
  return shown(key) = format(f, value) + unit;
}

std::string Report::count(const Key& key, std::int64_t value) {
  at(key) = value;
  return shown(key) = std::to_string(value);
}

std::string Report::seed(const Key& key, std::uint64_t value) {
  at(key) = value;
  return shown(key) = std::to_string(value);
}

void Report::flag(const Key& key, bool value) {
  at(key) = value;
  shown(key) = value ? "yes" : "no";
}

void Report::text(const Key& key, const std::string& value) {
  at(key) = value;
  shown(key) = value;
}

void Report::headline(const std::string& label, const Key& key) {
  const auto it = shown_.find(dotted(key));
  LUMEN_CHECK(it != shown_.end(), "report", "headline '", label, "': no value was recorded at '", dotted(key),
              "' of ", (out_dir_ / "summary.json").string());
  headline_.push_back({{"label", label}, {"key", it->first}, {"value", it->second}});
}

std::string Report::append(const Key& key, double value, const char* f) {
  at(key).push_back(json_number(value));
  return format(f, value);
}

void Report::heading(const std::string& html) { html_ += "<h2>" + html + "</h2>\n"; }

void Report::paragraph(const std::string& html) { html_ += "<p>" + html + "</p>\n"; }

void Report::block(const std::string& html) { html_ += html + "\n"; }

void Report::figure(const std::string& file, const Tensor& image, const std::string& alt,
                    const std::string& caption_html) {
  LUMEN_CHECK(!alt.empty(), "report", "the figure ", (out_dir_ / file).string(),
              " needs an alt text: what it shows, for a reader who cannot see it");
  figures::save_png((out_dir_ / file).string(), image);
  // At its own size, pixel for pixel (upscaled digits stay sharp-edged): a browser that shrank a wide
  // grid to fit would drop rows of pixels and ragged its text, so a wide one scrolls instead.
  html_ += "<p style=\"overflow-x:auto\"><img src=\"" + file + "\" alt=\"" + escape_html(alt) +
           "\" style=\"max-width:none;image-rendering:pixelated\"></p>\n";
  if (!caption_html.empty()) paragraph(caption_html);
}

void Report::chart(const std::string& file_png, const figures::Chart& chart, const std::string& alt,
                   const std::string& caption_html) {
  LUMEN_CHECK(!alt.empty(), "report", "the chart ", (out_dir_ / file_png).string(),
              " needs an alt text: what it shows, for a reader who cannot see it");
  figures::save_png((out_dir_ / file_png).string(), chart.raster());
  // Ids inside inline SVGs share the page's namespace: each chart's come from its (unique) file name.
  std::string id = "chart-";
  for (char c : fs::path(file_png).stem().string()) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  html_ += "<figure style=\"margin:1em 0\">" + chart.svg(alt, id) + "<figcaption>" +
           (caption_html.empty() ? "" : caption_html + " ") + "<a href=\"" + escape_html(file_png) +
           "\">PNG</a></figcaption></figure>\n";
}

void Report::table(const Table& t) { html_ += t.html(); }

void Report::write_file(const std::string& file, const std::string& text) const {
  write_atomically(out_dir_ / file, text);
}

void Report::write() const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  nlohmann::ordered_json summary = {{"report", run_section(title_, seconds, headline_)}};
  summary.update(summary_);
  write_file("summary.json", summary.dump(2) + "\n");
  if (title_.empty()) return;
  const auto page = [&](bool link_up) {
    write_file("index.html",
               "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape_html(title_) +
                   "</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
                   "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                   "code{background:#f4f4f4}</style></head><body>\n<h1>" + escape_html(title_) + "</h1>\n" +
                   (link_up ? "<p><a href=\"../index.html\">Every lesson's report</a></p>\n" : "") + html_ +
                   "</body></html>\n");
  };
  // The landing page lists this folder only once its index.html exists; if it is not written (the folder
  // above is not writable, or holds an index.html of someone else's), the link to it goes.
  page(true);
  const fs::path dir = fs::absolute(out_dir_).lexically_normal();
  const fs::path folder = dir.has_filename() ? dir : dir.parent_path();  // "out/ke/" is listed as "ke"
  const fs::path root = folder.parent_path();
  if (root == folder.root_path() || !write_landing_page(root, folder.filename().string())) page(false);
}

}  // namespace lumen::report
