#include "examples/landing_page.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "examples/report.h"

namespace lumen::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What marks an index.html as this page: one a user keeps in the output root is never overwritten.
constexpr const char* kGenerator = "<meta name=\"generator\" content=\"lumen landing page\">";
// A lesson's summary.json is a few hundred kB at most; a larger file is not read.
constexpr std::uintmax_t kMaxSummaryBytes = 8u << 20;
constexpr std::size_t kMaxHeadline = 24;

std::string utc_iso8601(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The program and its arguments as a shell would need them typed (from /proc/self/cmdline; empty where
// there is no /proc). Shown on the landing page so that a run on tiny settings is told from a full one.
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), out, arg;
  std::istringstream args(all);
  for (bool first = true; std::getline(args, arg, '\0'); first = false) {
    if (first) arg = fs::path(arg).filename().string();
    const bool plain = !arg.empty() && arg.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                             "0123456789_-+=.,:/@%") == std::string::npos;
    if (!out.empty()) out += ' ';
    if (plain) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// Text from another run's file, made safe to show: at most max_bytes (cut before a UTF-8 character,
// not inside one), control characters as spaces, HTML escaped.
std::string shown(std::string s, std::size_t max_bytes) {
  if (s.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "…";
  }
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  return escape_html(s);
}

// A folder name as a relative URL: every byte but the unreserved ones percent-encoded.
std::string url_path(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string folder_shown(const std::string& name) { return valid_utf8(name) ? shown(name, 200) : url_path(name); }

std::string took_text(double s) {
  char buf[48];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else if (s < 1e6) std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600, static_cast<int>(s) / 60 % 60);
  else std::snprintf(buf, sizeof buf, "%.3g s", s);  // not a lesson's time, but no overflowing int either
  return buf;
}

// One lesson row, its cells already HTML.
struct Row {
  std::string title, finished, took, command, headline;
};

// Why a folder's summary.json gives no row ("" when it gives one, in *row).
std::string read_row(const fs::path& dir, Row* row) {
  const fs::path summary = dir / "summary.json";
  std::error_code ec;
  const std::uintmax_t bytes = fs::file_size(summary, ec);
  if (ec) return "summary.json cannot be read: " + ec.message();
  if (bytes > kMaxSummaryBytes) return "summary.json is " + std::to_string(bytes) + " bytes, more than a lesson writes";
  std::ifstream in(summary, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) return "summary.json cannot be read";
  // Values nested deeper than any report's are dropped while parsing: a hostile file cannot make a deep tree.
  const json doc = json::parse(text, [](int depth, json::parse_event_t, json&) { return depth <= 16; }, false);
  if (doc.is_discarded()) return "summary.json is not valid JSON";
  if (!doc.is_object()) return "summary.json is not a JSON object";
  if (!fs::is_regular_file(dir / "index.html", ec)) return "there is no index.html beside summary.json";
  const auto report = doc.find("report");
  if (report == doc.end())
    return "summary.json has no \"report\" section (written by an older lumen: run the lesson again to list it)";
  if (!report->is_object()) return "the \"report\" section of summary.json is not an object";
  const auto string_of = [&](const char* key) -> const std::string* {
    const auto it = report->find(key);
    return it != report->end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* title = string_of("title");
  const std::string* finished = string_of("finished");
  if (!title || title->empty()) return "the \"report\" section of summary.json has no title";
  if (!finished) return "the \"report\" section of summary.json has no \"finished\" time";
  row->title = shown(*title, 200);
  row->finished = shown(*finished, 40);
  const auto seconds = report->find("seconds");
  row->took = seconds != report->end() && seconds->is_number() && seconds->get<double>() >= 0
                  ? took_text(seconds->get<double>()) : "—";
  if (const std::string* command = string_of("command")) row->command = shown(*command, 600);
  const auto headline = report->find("headline");
  if (headline == report->end() || !headline->is_array() || headline->empty()) {
    row->headline = "—";
    return "";
  }
  row->headline = "<ul>";
  std::size_t n = 0;
  for (const json& h : *headline) {
    if (!h.is_object() || !h.contains("label") || !h["label"].is_string() || !h.contains("value") ||
        !h["value"].is_string())
      return "an entry of the headline list in summary.json is not {\"label\": text, \"value\": text}";
    if (n++ < kMaxHeadline)
      row->headline += "<li>" + shown(h["label"].get<std::string>(), 120) + ": <b>" +
                       shown(h["value"].get<std::string>(), 60) + "</b></li>";
  }
  if (n > kMaxHeadline) row->headline += "<li>and " + std::to_string(n - kMaxHeadline) + " more in summary.json</li>";
  row->headline += "</ul>";
  return "";
}

}  // namespace

nlohmann::ordered_json run_section(const std::string& title, double seconds, const nlohmann::ordered_json& headline) {
  nlohmann::ordered_json s = nlohmann::ordered_json::object();
  if (!title.empty()) s["title"] = title;
  s["finished"] = utc_iso8601(std::time(nullptr));
  s["seconds"] = std::round(seconds * 10) / 10;
  s["command"] = command_line();
  s["headline"] = headline;
  return s;
}

std::string landing_page_html(const fs::path& root, const std::string& rewritten_by) {
  std::vector<std::pair<std::string, fs::path>> folders;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code dir_ec;
    if (name.empty() || name[0] == '.' || !it->is_directory(dir_ec) || !fs::exists(it->path() / "summary.json", dir_ec))
      continue;
    folders.emplace_back(name, it->path());
  }
  std::sort(folders.begin(), folders.end());

  std::string rows, skipped;
  for (const auto& [name, dir] : folders) {
    Row row;
    const std::string why = read_row(dir, &row);
    if (!why.empty()) {
      skipped += "<li><code>" + folder_shown(name) + "/</code>: " + escape_html(why) + "</li>\n";
      continue;
    }
    const std::string href = url_path(name) + "/index.html";
    rows += "<tr><td style=\"text-align:left\"><a href=\"" + href + "\">" + row.title + "</a><br><code>" +
            folder_shown(name) + "/</code>" +
            (row.command.empty() ? "" : "<div class=\"command\"><code>" + row.command + "</code></div>") +
            "</td><td>" + row.finished + "</td><td>" + row.took + "</td><td style=\"text-align:left\">" +
            row.headline + "</td></tr>\n";
  }

  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" + std::string(kGenerator) +
      "<title>lumen: the lesson reports</title>"
      "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}"
      "code{background:#f4f4f4}ul{margin:0;padding-left:1.2em}.command{font-size:80%;max-width:40em}</style>"
      "</head><body>\n<h1>The lesson reports</h1>\n"
      "<p>Every lesson of lumen writes its report into a folder of its own beside this page. Each run of a "
      "lesson rewrites this page from the <code>summary.json</code> files it finds here: a row per report, "
      "with the numbers its lesson calls its headline. Times are UTC.</p>\n";
  if (rows.empty())
    html += "<p>No lesson report here can be listed.</p>\n";
  else
    html += "<table><thead><tr><th>Lesson</th><th>Finished</th><th>Took</th><th>Headline numbers</th></tr></thead>\n"
            "<tbody>\n" + rows + "</tbody></table>\n";
  if (!skipped.empty()) html += "<h2>Folders not listed</h2>\n<ul>\n" + skipped + "</ul>\n";
  html += "<p>Rewritten by the run of <code>" + folder_shown(rewritten_by) + "/</code> at " +
          utc_iso8601(std::time(nullptr)) + ".</p>\n</body></html>\n";
  return html;
}

bool write_landing_page(const fs::path& root, const std::string& rewritten_by) {
  const fs::path page = root / "index.html";
  try {
    // Held until close: the scan and the rename of one lesson happen before or after another's, never between.
    const int lock = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock >= 0) ::flock(lock, LOCK_EX);  // a file system without locks: last writer wins, still atomic
    struct Closer {
      int fd;
      ~Closer() { if (fd >= 0) ::close(fd); }
    } closer{lock};
    if (fs::exists(page)) {
      std::ifstream in(page, std::ios::binary);
      std::string head(4096, '\0');
      in.read(head.data(), static_cast<std::streamsize>(head.size()));
      head.resize(static_cast<std::size_t>(in.gcount()));
      if (head.find(kGenerator) == std::string::npos) {
        std::fprintf(stderr, "report: %s was not written by lumen; the page listing every lesson was not written\n",
                     page.c_str());
        return false;
      }
    }
    write_atomically(page, landing_page_html(root, rewritten_by));
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "report: the page listing every lesson (%s) was not written: %s\n", page.c_str(), e.what());
    return false;
  }
}

}  // namespace lumen::report
