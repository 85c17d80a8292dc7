#!/usr/bin/env python3
"""A lesson binary run end to end on tiny settings: it must exit 0 and write a report that reads well
(tests/cli/check_html.py: every figure and link there, alt texts, well-formed tables, no JavaScript), a
summary.json with the given keys and its "report" section, and the landing page above it listing it.

  tests/cli/check_lesson.py BINARY DATA_DIR KEY[,KEY...] [--requires DIR,DIR] [--first "PROGRAM ARGS"]... -- ARGS...
  (meson test global_local_smoke)

The lesson writes into <tmp>/<its name>/, beside folders another run could have left there: one whose
summary.json is not JSON, one with the wrong shapes, one of an older lumen. The lesson must not mind them,
and the landing page <tmp>/index.html must list the lesson with its headline numbers and name those
folders as not listed. KEY is a dotted path into summary.json (e.g. models.member0.accuracy) that must
hold a number (a flag counts). Exits 77 (meson's "skipped") when DATA_DIR lacks the data
(scripts/get_data.sh makes it): the folders named by --requires (default: mnist,fashion-mnist).
Each --first command runs before the lesson (given --data DATA_DIR too), e.g. the train_classifier runs
whose models explain reads; "{root}" in it and in ARGS is the folder holding the lesson's folder. Their
reports are checked with the lesson's and must be on the landing page too.
"""
import datetime
import html.parser
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_html  # noqa: E402

# Folders a lesson may find beside its own: (name, summary.json text, why the landing page skips it).
NEIGHBOURS = [
    ("garbled", '{"report": {"title": "half a fi', "not valid JSON"),
    ("wrong-shapes", '{"report": {"title": 5, "headline": "no"}}', "has no title"),
    ("older-lumen", '{"accuracy": 0.9}', 'no "report" section'),
]


class Landing(html.parser.HTMLParser):
    """The landing page's links and its text."""

    def __init__(self):
        super().__init__()
        self.links, self.text = [], ""

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_data(self, data):
        self.text += data


def at(summary, key):
    v = summary
    for part in key.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    return v


class _Prefixed:
    """A problem list whose entries get a prefix (the file they are about)."""

    def __init__(self, problems, prefix):
        self.problems, self.prefix = problems, prefix

    def append(self, problem):
        self.problems.append(self.prefix + problem)


def check_summary(folder, summary, keys, started, problems):
    """summary.json of folder: a number at each key, a report section of this run with headline numbers."""
    problems = _Prefixed(problems, folder + "/summary.json: ")
    for key in keys:
        if not isinstance(at(summary, key), (int, float)):
            problems.append(f"no number at {key}")
    report = summary.get("report")
    if not isinstance(report, dict):
        problems.append("no \"report\" section")
        return
    if not isinstance(report.get("title"), str) or not report["title"]:
        problems.append("its report section has no title")
    try:
        finished = datetime.datetime.strptime(report.get("finished", ""), "%Y-%m-%dT%H:%M:%SZ")
        finished = finished.replace(tzinfo=datetime.timezone.utc).timestamp()
        if not started - 2 <= finished <= time.time() + 2:
            problems.append(f"report.finished {report['finished']} is not the time of this run")
    except ValueError:
        problems.append(f"report.finished {report.get('finished')!r} is not UTC ISO-8601 (YYYY-MM-DDTHH:MM:SSZ)")
    headline = report.get("headline")
    if not isinstance(headline, list) or not headline:
        problems.append("its report section has no headline numbers")
        return
    for h in headline:
        if at(summary, h.get("key", "")) is None:
            problems.append(f"headline {h.get('label')!r}: nothing at its key {h.get('key')!r}")


def check_landing(root, lessons, problems):
    """lessons: (folder, summary.json) of every report the landing page must list."""
    path = os.path.join(root, "index.html")
    if not os.path.isfile(path):
        problems.append(f"no landing page {path}")
        return
    page = Landing()
    page.feed(open(path, encoding="utf-8").read())
    for folder, summary in lessons:
        if f"{folder}/index.html" not in page.links:
            problems.append(f"the landing page does not link {folder}/index.html: {page.links}")
        report = summary.get("report", {})
        for needle in [report.get("title", "?")] + [f"{h['label']}: {h['value']}" for h in report.get("headline", [])]:
            if needle not in page.text:
                problems.append(f"the landing page does not show {needle!r} of {folder}/")
    for name, _, why in NEIGHBOURS:
        if f"{name}/: " not in page.text or why not in page.text:
            problems.append(f"the landing page does not say why {name}/ is not listed ({why!r})")


def main():
    binary, data_dir, keys = sys.argv[1:4]
    dash = sys.argv.index("--")
    args = sys.argv[dash + 1:]
    options = sys.argv[4:dash]
    required = options[options.index("--requires") + 1].split(",") if "--requires" in options else ["mnist", "fashion-mnist"]
    firsts = [options[i + 1] for i, o in enumerate(options) if o == "--first"]
    missing = [d for d in required if not os.path.isdir(os.path.join(data_dir, d))]
    if missing:
        print(f"no {', '.join(missing)} in {data_dir} (scripts/get_data.sh): skipped")
        return 77
    problems = []
    lesson = os.path.basename(binary)
    with tempfile.TemporaryDirectory(prefix="lumen-lesson-") as root:
        for name, text, _ in NEIGHBOURS:
            os.makedirs(os.path.join(root, name))
            with open(os.path.join(root, name, "summary.json"), "w") as f:
                f.write(text)
            with open(os.path.join(root, name, "index.html"), "w") as f:
                f.write(f"<!doctype html><html><head><title>{name}</title></head><body><p>{name}</p></body></html>")
        out = os.path.join(root, lesson)
        started = time.time()
        commands = [shlex.split(f.replace("{root}", root)) + ["--data", data_dir] for f in firsts]
        commands.append([binary, "--data", data_dir, "--out", out] + [a.replace("{root}", root) for a in args])
        for command in commands:
            t0 = time.time()
            p = subprocess.run(command, capture_output=True, text=True, timeout=600)
            print(p.stdout[-3000:])
            print(f"{os.path.basename(command[0])}: exit {p.returncode} after {time.time() - t0:.1f} s")
            if p.returncode != 0:
                print(p.stderr[-3000:])
                return 1
        counts = {}
        problems += check_html.check([root], quiet=True, counts=counts)
        print("HTML pages checked: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        if counts.get("images", 0) + counts.get("svgs", 0) == 0:
            problems.append("index.html shows no figure")
        lessons = []
        for folder in sorted(os.listdir(root)):
            if folder in [n for n, _, _ in NEIGHBOURS] or not os.path.isfile(os.path.join(root, folder, "summary.json")):
                continue
            summary = json.load(open(os.path.join(root, folder, "summary.json")))
            check_summary(folder, summary, keys.split(",") if folder == lesson else [], started, problems)
            lessons.append((folder, summary))
        if lesson not in [f for f, _ in lessons]:
            problems.append(f"no {lesson}/summary.json")
        check_landing(root, lessons, problems)
    for pr in problems:
        print("FAIL: " + pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
