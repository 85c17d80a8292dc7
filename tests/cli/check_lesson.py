#!/usr/bin/env python3
"""A lesson binary run end to end on tiny settings: it must exit 0 and write an index.html whose every
image exists and is a PNG, whose tables are well formed, and a summary.json with the given keys.

  tests/cli/check_lesson.py BINARY DATA_DIR KEY[,KEY...] [--requires DIR,DIR] -- ARGS...   (meson test global_local_smoke)

KEY is a dotted path into summary.json (e.g. models.member0.accuracy) that must hold a number. Exits
77 (meson's "skipped") when DATA_DIR lacks the data (scripts/get_data.sh makes it): the folders named
by --requires (default: mnist,fashion-mnist).
"""
import html.parser
import json
import os
import subprocess
import sys
import tempfile


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.alts, self.rows = [], [], []
        self.in_table, self.row = False, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
            self.alts.append(a.get("alt", ""))
        elif tag == "table":
            self.in_table, self.table_rows = True, []
        elif tag == "tr":
            self.row = 0
        elif tag in ("td", "th") and self.row is not None:
            self.row += 1

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None:
            self.table_rows.append(self.row)
            self.row = None
        elif tag == "table":
            self.rows.append(self.table_rows)
            self.in_table = False


def main():
    binary, data_dir, keys = sys.argv[1:4]
    dash = sys.argv.index("--")
    args = sys.argv[dash + 1:]
    options = sys.argv[4:dash]
    required = options[options.index("--requires") + 1].split(",") if "--requires" in options else ["mnist", "fashion-mnist"]
    missing = [d for d in required if not os.path.isdir(os.path.join(data_dir, d))]
    if missing:
        print(f"no {', '.join(missing)} in {data_dir} (scripts/get_data.sh): skipped")
        return 77
    problems = []
    with tempfile.TemporaryDirectory(prefix="lumen-lesson-") as out:
        p = subprocess.run([binary, "--data", data_dir, "--out", out] + args, capture_output=True, text=True, timeout=600)
        print(p.stdout[-3000:])
        if p.returncode != 0:
            print(p.stderr[-3000:])
            return 1
        page = Page()
        page.feed(open(os.path.join(out, "index.html"), encoding="utf-8").read())
        if not page.images:
            problems.append("index.html shows no figure")
        for src, alt in zip(page.images, page.alts):
            path = os.path.join(out, src)
            if not os.path.isfile(path) or open(path, "rb").read(8) != b"\x89PNG\r\n\x1a\n":
                problems.append(f"figure {src} is missing or not a PNG")
            if not alt:
                problems.append(f"figure {src} has no alt text")
        for i, rows in enumerate(page.rows):
            if not rows or len(set(rows)) != 1:
                problems.append(f"table {i} has rows of different lengths: {rows}")
        summary = json.load(open(os.path.join(out, "summary.json")))
        for key in keys.split(","):
            v = summary
            for part in key.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            if not isinstance(v, (int, float)):
                problems.append(f"summary.json has no number at {key}")
    for pr in problems:
        print("FAIL: " + pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
