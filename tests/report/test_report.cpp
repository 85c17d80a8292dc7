// examples/report.h and examples/landing_page.h without data: what summary.json records about a run, the
// checks on headline keys and alt texts, and the landing page among folders another run could have left
// garbled. tests/report/check_report.py runs this and then tests/cli/check_html.py over the pages written
// to $LUMEN_REPORT_PAGES (meson test report).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "autograd/tensor.h"
#include "examples/landing_page.h"
#include "examples/report.h"
#include "kernels/core/error.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using lumen::testing::read_bytes;
using lumen::testing::TempDir;
using lumen::testing::write_bytes;
namespace fs = std::filesystem;

namespace {

// A lesson's report in root/folder: one number, one flag, one figure, its headline.
void write_lesson(const fs::path& root, const std::string& folder, const std::string& title, double accuracy) {
  report::Report r(root / folder, title, "<p>A lesson of the test.</p>\n");
  r.heading("Numbers");
  r.paragraph("accuracy " + r.number({"model", "accuracy"}, accuracy, "%.4f") + ", " +
              r.number({"seconds"}, 12.5, "%.1f", " s"));
  r.flag({"target_met"}, accuracy > 0.9);
  r.figure("figure.png", zeros({3, 4, 4}), "a black square");
  r.headline("accuracy", {"model", "accuracy"});
  r.headline("training time", {"seconds"});
  r.headline("target met", {"target_met"});
  r.write();
}

// A folder as another run could have left it: this summary.json and an index.html.
void neighbour(const fs::path& root, const std::string& folder, const std::string& summary) {
  fs::create_directories(root / folder);
  write_bytes((root / folder / "summary.json").string(), summary);
  write_bytes((root / folder / "index.html").string(),
              "<!doctype html><html><head><title>x</title></head><body><p>x</p></body></html>\n");
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("summary.json opens with the run: title, UTC time, duration, command line, headline as shown") {
  TempDir tmp("report");
  write_lesson(tmp.path, "lesson", "A lesson", 0.96551);
  const auto summary = nlohmann::ordered_json::parse(read_bytes(tmp / "lesson/summary.json"));
  REQUIRE(summary.begin().key() == "report");
  const auto& run = summary["report"];
  CHECK(run["title"] == "A lesson");
  CHECK(std::regex_match(run["finished"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK(run["seconds"].get<double>() >= 0);
  CHECK(has(run["command"].get<std::string>(), "report_tests"));
  REQUIRE(run["headline"].size() == 3);
  CHECK(run["headline"][0] == nlohmann::ordered_json({{"label", "accuracy"}, {"key", "model.accuracy"}, {"value", "0.9655"}}));
  CHECK(run["headline"][1]["value"] == "12.5 s");  // with its unit, as the page shows it
  CHECK(run["headline"][2]["value"] == "yes");
  CHECK(summary["model"]["accuracy"] == 0.96551);  // the lesson's own numbers follow, unchanged
}

TEST_CASE("a headline needs a recorded value; 'report' is Report::write's key; a figure needs its alt text") {
  TempDir tmp("report");
  report::Report r(tmp.path / "lesson", "A lesson");
  r.number({"model", "accuracy"}, 0.5, "%.2f");
  CHECK_THROWS_WITH_AS(r.headline("accuracy", {"model", "acuracy"}), doctest::Contains("model.acuracy"), Error);
  CHECK_THROWS_AS(r.number({"report", "title"}, 1, "%g"), Error);
  CHECK_THROWS_WITH_AS(r.figure("f.png", zeros({4, 4}), ""), doctest::Contains("alt text"), Error);
  CHECK_FALSE(fs::exists(tmp.path / "lesson" / "f.png"));
}

TEST_CASE("the landing page lists every report beside it and says why a garbled folder is not listed") {
  // Kept for tests/cli/check_html.py when check_report.py names a folder.
  const char* keep = std::getenv("LUMEN_REPORT_PAGES");
  TempDir tmp("landing");
  const fs::path root = keep ? fs::path(keep) : tmp.path;
  fs::create_directories(root);
  neighbour(root, "not-json", "{\"report\": {\"title\": \"half");
  neighbour(root, "a-list", "[1, 2]");
  neighbour(root, "no-title", R"({"report": {"finished": "2026-01-01T00:00:00Z"}})");
  neighbour(root, "bad-headline", R"({"report": {"title": "t", "finished": "f", "headline": [7]}})");
  neighbour(root, "older", R"({"accuracy": 0.9})");
  neighbour(root, "bad-utf8", "{\"report\": {\"title\": \"\xff\xfe\"}}");
  neighbour(root, "deep", std::string(100000, '[') + std::string(100000, ']'));
  neighbour(root, "huge", "[" + std::string(9 << 20, ' ') + "]");
  // A hostile title and headline are shown as text, never as markup.
  neighbour(root, "hostile", R"({"report": {"title": "<script>alert(1)</script>", "finished": "2026-01-01T00:00:00Z",
                                 "seconds": 1e300, "headline": [{"label": "<b>x</b>", "value": "\" onclick=\"y"}]}})");
  fs::create_directories(root / "no-summary");  // not a lesson folder: not mentioned
  write_lesson(root, "b lesson #1", "Lesson B", 0.5);
  write_lesson(root, "a_lesson/", "Lesson A", 0.97);  // a trailing '/' names the same folder

  const std::string page = read_bytes((root / "index.html").string());
  const std::size_t a = page.find("<a href=\"a_lesson/index.html\">Lesson A</a>");
  const std::size_t b = page.find("<a href=\"b%20lesson%20%231/index.html\">Lesson B</a>");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  CHECK(a < b);  // in name order
  CHECK(has(page, "<li>accuracy: <b>0.9700</b></li><li>training time: <b>12.5 s</b></li><li>target met: <b>yes</b>"));
  CHECK(has(page, "<li>accuracy: <b>0.5000</b></li>"));
  CHECK(has(page, "<code>not-json/</code>: summary.json is not valid JSON"));
  CHECK(has(page, "<code>a-list/</code>: summary.json is not a JSON object"));
  CHECK(has(page, "<code>no-title/</code>: the &quot;report&quot; section of summary.json has no title"));
  CHECK(has(page, "<code>bad-headline/</code>: an entry of the headline list"));
  CHECK(has(page, "<code>older/</code>: summary.json has no &quot;report&quot; section"));
  CHECK(has(page, "<code>bad-utf8/</code>: summary.json is not valid JSON"));
  CHECK(has(page, "<code>deep/</code>: summary.json is not a JSON object"));
  CHECK(has(page, "<code>huge/</code>: summary.json is 9437186 bytes"));
  CHECK(has(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK(has(page, "<td>1e+300 s</td>"));
  CHECK(has(page, "&lt;b&gt;x&lt;/b&gt;: <b>&quot; onclick=&quot;y</b>"));
  CHECK_FALSE(has(page, "<script"));
  CHECK_FALSE(has(page, "no-summary"));
  CHECK(has(page, "Rewritten by the run of <code>a_lesson/</code>"));
  // Each lesson page links back to it.
  CHECK(has(read_bytes((root / "a_lesson/index.html").string()), "<a href=\"../index.html\">"));
}

TEST_CASE("an index.html lumen did not write is left alone, and the lesson page does not link to it") {
  TempDir tmp("landing");
  write_bytes(tmp / "index.html", "<html>my own page</html>");
  write_lesson(tmp.path, "lesson", "A lesson", 0.9);
  CHECK(read_bytes(tmp / "index.html") == "<html>my own page</html>");
  CHECK_FALSE(has(read_bytes(tmp / "lesson/index.html"), "../index.html"));
  CHECK(fs::exists(tmp.path / "lesson" / "summary.json"));
}

TEST_CASE("lessons finishing at the same time: the landing page is whole and the last one lists both") {
  TempDir tmp("landing");
  for (int round = 0; round < 10; ++round) {
    std::thread other([&] { write_lesson(tmp.path, "one", "Lesson one", 0.1 * round); });
    write_lesson(tmp.path, "two", "Lesson two", 0.1 * round);
    other.join();
    const std::string page = read_bytes(tmp / "index.html");
    CHECK(has(page, "Lesson one"));
    CHECK(has(page, "Lesson two"));
    CHECK(page.size() > 100);
    CHECK(page.substr(page.size() - 15) == "</body></html>\n");
  }
  for (const auto& e : fs::directory_iterator(tmp.path))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp") == std::string::npos, e.path());
}
