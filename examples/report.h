#pragma once
// What a lesson binary reports, written once: each number is recorded with its key in summary.json and
// its printf format, and the text it returns is what the console line and index.html show, so the
// three outputs cannot disagree. Console lines are printed as they come (a run takes minutes);
// summary.json and index.html are written at the end, each atomically (temporary file, fsync, rename),
// and so is the page that lists every lesson's report beside this one (examples/landing_page.h).
//
//   report::Report r(out_dir, "Knowledge extraction on ColoredMNIST", "<p>...</p>");
//   r.step("2. classifiers");                                       // console
//   const std::string acc = r.number({"classifier", "dense_accuracy"}, 0.9655, "%.4f");
//   r.say("  test accuracy: " + acc);                               // console
//   r.heading("1–2. The data and the classifier");                  // index.html
//   r.paragraph("The MLP reaches <b>" + acc + "</b>.");
//   r.figure("classifier.png", image, "confusion matrix");          // the PNG, and its <img>
//   r.chart("curves.png", figures::make_line_chart(series), "curves"); // inline SVG, and the PNG
//   r.headline("MLP test accuracy", {"classifier", "dense_accuracy"});  // on the landing page
//   r.write();                                                      // summary.json, index.html, ../index.html
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::figures {
struct Chart;
}

namespace lumen::report {

// v printed with a printf format for one double: format("%.4f", 0.96551) == "0.9655".
std::string format(const char* f, double v);

// Text written through an AtomicFile (kernels/core/atomic_file.h: temporary file, fsync, rename): a
// reader (or a crash) never sees half a file. Throws lumen::Error naming the file if it cannot.
void write_atomically(const std::filesystem::path& path, const std::string& text);

// Text made safe inside HTML: & < > " as entities.
std::string escape_html(const std::string& text);

// Where a value goes in summary.json: the names of the nested objects, outermost first.
using Key = std::vector<std::string>;

// One column of a Table.
struct Column {
  std::string title;          // in index.html and Markdown
  std::string console_title;  // on the console; empty: title
  // Console width: > 0 right-aligned (numbers), < 0 left-aligned (names), 0 unpadded free text.
  // Columns of width <= 0 are left-aligned in HTML and Markdown too.
  int width = 0;
};

// A table whose rows are printed as they are added (each may take a while to compute) and kept for
// index.html or a Markdown file. Cells are text: numbers come formatted from Report::number/format.
class Table {
 public:
  // Prints the header line now, each line starting with `indent`.
  explicit Table(std::vector<Column> columns, std::string indent = "");
  void row(std::vector<std::string> cells);  // printed now; one cell per column
  std::string html() const;
  std::string markdown() const;

 private:
  std::string console_line(const std::vector<std::string>& cells, bool header) const;
  std::vector<Column> columns_;
  std::string indent_;
  std::vector<std::vector<std::string>> rows_;
};

class Report {
 public:
  // title (plain text) and intro (HTML) open index.html; a report without a title writes no index.html.
  explicit Report(std::filesystem::path out_dir, std::string title = "", std::string intro_html = "");

  // ---- the console: printed now, one line each (a line may hold '\n's)
  void say(const std::string& line);
  // A numbered step's title, with a blank line before it unless it is the first output.
  void step(const std::string& title);

  // ---- summary.json. Numbers are kept to 6 significant digits (as printf's %g): enough to compare
  // runs, and short to read. Each returns the value as shown: format(f, value) + unit.
  std::string number(const Key& key, double value, const char* f, const std::string& unit = "");
  std::string count(const Key& key, std::int64_t value);
  std::string seed(const Key& key, std::uint64_t value);  // all of 0 .. 2^64 - 1, as count would not
  void flag(const Key& key, bool value);
  void text(const Key& key, const std::string& value);
  // Appends to the list at key (created on first use).
  std::string append(const Key& key, double value, const char* f);
  // Marks the value recorded at key (by number, count, seed, flag or text) as one of the few the landing
  // page shows for this lesson, under label, as it was shown here. Throws lumen::Error if nothing is at key.
  void headline(const std::string& label, const Key& key);

  // ---- index.html, in the order of the calls
  void heading(const std::string& html);
  void paragraph(const std::string& html);
  // HTML that is not a paragraph's content (a table built by hand, ...), as it is: a <table> or <p> inside
  // paragraph() would end the paragraph early in a browser.
  void block(const std::string& html);
  // Saves image as out_dir/file (figures::save_png) and shows it, with `alt` as its text alternative
  // (required: an empty alt throws lumen::Error) and caption_html (if not empty) under it.
  void figure(const std::string& file, const Tensor& image, const std::string& alt,
              const std::string& caption_html = "");
  // A chart (figures/chart.h): its pixels saved as out_dir/file_png (for use outside the report) and
  // the chart shown inline as SVG, crisp at any zoom — <figure><svg role="img" aria-label=alt …>
  // <title>alt</title>…</svg><figcaption>caption_html, a link to the PNG</figcaption></figure>. alt is
  // required, as for figure().
  void chart(const std::string& file_png, const figures::Chart& chart, const std::string& alt,
             const std::string& caption_html = "");
  void table(const Table& t);

  // The file beside the figures (Markdown tables, ...), written atomically.
  void write_file(const std::string& file, const std::string& text) const;
  // summary.json (its "report" section first: title, when the run finished, how long it took, the command
  // line, the headline), and if the report has a title index.html and the landing page of the folder
  // above out_dir (out/index.html: examples/landing_page.h).
  void write() const;

  const std::filesystem::path& out_dir() const { return out_dir_; }

 private:
  nlohmann::ordered_json& at(const Key& key);
  // The value at key as the console and index.html show it, for headline().
  std::string& shown(const Key& key);
  std::filesystem::path out_dir_;
  std::string title_;
  std::string html_;
  nlohmann::ordered_json summary_ = nlohmann::ordered_json::object();
  std::map<std::string, std::string> shown_;  // by the key's names joined with '.'
  nlohmann::ordered_json headline_ = nlohmann::ordered_json::array();
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool said_ = false;
};

}  // namespace lumen::report
