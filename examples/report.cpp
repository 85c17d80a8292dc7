#include "examples/report.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernels/core/atomic_file.h"
#include "kernels/core/error.h"
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
  nlohmann::ordered_json* node = &summary_;
  for (const std::string& name : key) node = &(*node)[name];
  return *node;
}

std::string Report::number(const Key& key, double value, const char* f, const std::string& unit) {
  at(key) = json_number(value);
  return format(f, value) + unit;
}

std::string Report::count(const Key& key, std::int64_t value) {
  at(key) = value;
  return std::to_string(value);
}

std::string Report::seed(const Key& key, std::uint64_t value) {
  at(key) = value;
  return std::to_string(value);
}

void Report::flag(const Key& key, bool value) { at(key) = value; }

void Report::text(const Key& key, const std::string& value) { at(key) = value; }

std::string Report::append(const Key& key, double value, const char* f) {
  at(key).push_back(json_number(value));
  return format(f, value);
}

void Report::heading(const std::string& html) { html_ += "<h2>" + html + "</h2>\n"; }

void Report::paragraph(const std::string& html) { html_ += "<p>" + html + "</p>\n"; }

void Report::figure(const std::string& file, const Tensor& image, const std::string& alt,
                    const std::string& caption_html) {
  figures::save_png((out_dir_ / file).string(), image);
  html_ += "<p><img src=\"" + file + "\" alt=\"" + escape_html(alt) + "\" style=\"max-width:100%;image-rendering:pixelated\"></p>\n";
  if (!caption_html.empty()) paragraph(caption_html);
}

void Report::table(const Table& t) { html_ += t.html(); }

void Report::write_file(const std::string& file, const std::string& text) const {
  write_atomically(out_dir_ / file, text);
}

void Report::write() const {
  write_file("summary.json", summary_.dump(2) + "\n");
  if (title_.empty()) return;
  write_file("index.html",
             "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + title_ +
                 "</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
                 "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                 "code{background:#f4f4f4}</style></head><body>\n<h1>" +
                 title_ + "</h1>\n" + html_ + "</body></html>\n");
}

}  // namespace lumen::report
