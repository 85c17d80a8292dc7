#pragma once
// One page for every lesson: the output root's index.html (by default out/index.html), rewritten by each
// lesson's Report::write from the summary.json files of the folders beside its own. It needs no knowledge
// of any lesson: what a row shows comes from the "report" section of a summary.json, which Report::write
// fills through run_section:
//
//   "report": {"title": "Knowledge extraction on ColoredMNIST", "finished": "2026-12-03T13:27:02Z",
//              "seconds": 181.2, "command": "knowledge_extraction --gan-epochs 1",
//              "headline": [{"label": "flip rate", "key": "flip_rate", "value": "0.9712"}, ...]}
//
// A folder whose summary.json cannot be read (not JSON, the wrong shapes, too large) is skipped with a note
// on the page: another run's garbled file never stops a lesson.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace lumen::report {

// The "report" section of a run that took `seconds` and ends now; headline is the list of
// {"label", "key", "value"} objects of Report::headline.
nlohmann::ordered_json run_section(const std::string& title, double seconds, const nlohmann::ordered_json& headline);

// The landing page of `root` as HTML: one row per folder in root holding an index.html and a
// summary.json with a report section, in name order; rewritten_by names the lesson folder that wrote it.
std::string landing_page_html(const std::filesystem::path& root, const std::string& rewritten_by);

// Writes root/index.html atomically, under an exclusive lock on root so that two lessons finishing at
// once each see the other's summary.json (the later writer lists both). An index.html in root that lumen
// did not write is left alone. Never throws: the lesson's own report is written already, so a problem
// here is printed to stderr and returned as false.
bool write_landing_page(const std::filesystem::path& root, const std::string& rewritten_by);

}  // namespace lumen::report
