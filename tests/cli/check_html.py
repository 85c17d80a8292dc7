#!/usr/bin/env python3
"""The HTML pages the lessons write, checked the way a reader without JavaScript or without sight meets them.

  tests/cli/check_html.py PAGE_OR_FOLDER...   (a folder: every .html file under it)
  tests/cli/check_html.py --self-test         (meson test check_html_self_test: broken pages it must reject)

For every page:
  - it is UTF-8, has a <title>, and its elements nest: every element but the void ones (img, br, meta, ...)
    is closed, in order; no block (table, div, figure, ...) inside a <p>, only <li> in a list;
  - every relative <img src>, <a href>, <link href>, <source src> and SVG <image href> names a file that
    exists (an <a href> may name a folder with an index.html); a "#id" names an id of the page;
    images are not empty, PNGs start with the PNG signature;
  - every <img> has a non-empty alt; every inline <svg> (not nested in another) has role="img" and a
    non-empty aria-label or <title>;
  - no <script>, no on*= attribute, no javascript: URL: the pages read without JavaScript;
  - every table is well formed: rows only in <table>/<thead>/<tbody>/<tfoot> (one thead, before the body;
    not rows both in and outside a tbody), cells only in <tr>, no text or other element where a browser
    would move it out of the table, and every row as wide as the first, counting colspan and rowspan.
Exits 1 and prints "page:line: problem" for each problem, 0 when there is none.
"""
import html.parser
import os
import sys
import tempfile
import urllib.parse

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Elements a <p> cannot hold: the browser would end the paragraph before them.
BLOCK = {"address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset", "figcaption", "figure",
         "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre",
         "section", "table", "ul"}
TABLE_PARTS = {"caption", "colgroup", "thead", "tbody", "tfoot", "tr"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Table:
    def __init__(self, line):
        self.line = line
        self.widths = []       # each row's width, rowspans of the rows above included
        self.spans = []        # columns still covered by a rowspan from above: rows left, per column
        self.sections = []     # "thead", "tbody", "tfoot" in order
        self.direct_rows = False
        self.row = None        # the open row's width so far

    def start_row(self):
        # the columns that cells of the rows above cover in this one, each now covering one row less
        covering = [s for s in self.spans if s > 0]
        self.row, self.carried, self.spans = 0, len(covering), [s - 1 for s in covering]

    def cell(self, colspan, rowspan):
        self.row += colspan
        self.spans += [rowspan - 1] * colspan  # the rows below this cell covers

    def end_row(self):
        self.widths.append(self.row + self.carried)
        self.row = None


class Page(html.parser.HTMLParser):
    def __init__(self, path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.dir = os.path.dirname(os.path.abspath(path))
        self.problems = []
        self.stack = []        # (tag, line) of the open elements
        self.tables = []       # the open tables, innermost last
        self.svg = None        # the outermost open <svg>: {"line", "labelled", "title_depth"}
        self.title = None      # text of <title> outside svg, once seen
        self.in_title = False
        self.ids, self.fragments = set(), []
        self.counts = {"images": 0, "links": 0, "tables": 0, "svgs": 0}

    def problem(self, message, line=None):
        self.problems.append(f"{self.path}:{line or self.getpos()[0]}: {message}")

    # ---- elements
    def handle_starttag(self, tag, attrs):
        self.open(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag, attrs):
        # <br/>, <path .../>: nothing stays open
        if tag not in VOID and self.svg is None and tag != "svg":
            self.problem(f"<{tag}/>: HTML ignores the / and leaves <{tag}> open")
        self.open(tag, attrs)
        self.close_element(tag)

    def open(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        parent = self.stack[-1][0] if self.stack else None
        for name, value in a.items():
            if name.startswith("on"):
                self.problem(f"<{tag} {name}=...>: an event handler (JavaScript)")
            if name in ("href", "src", "xlink:href") and value.strip().lower().startswith("javascript:"):
                self.problem(f"<{tag} {name}=\"{value[:40]}\">: a javascript: URL")
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "script":
            self.problem("<script>: the pages must read without JavaScript")
        if parent == "p" and tag in BLOCK:
            self.problem(f"<{tag}> inside <p> (line {self.stack[-1][1]}): the browser ends the paragraph before it")
        if parent in ("ul", "ol") and tag != "li":
            self.problem(f"<{tag}> directly in <{parent}>: a list holds <li> only")
        self.check_table_structure(tag, parent, a)
        if tag == "img":
            self.counts["images"] += 1
            if not a.get("alt", "").strip():
                self.problem(f"<img src=\"{a.get('src', '')}\"> has no alt text")
            self.target(tag, a.get("src", ""), image=True)
        elif tag in ("a", "link"):
            if "href" in a:
                self.counts["links"] += 1
                self.target(tag, a["href"])
        elif tag == "source":
            self.target(tag, a.get("src", "") or a.get("srcset", "").split(" ")[0], image=True)
        elif tag == "image" and self.svg:
            self.target(tag, a.get("href", "") or a.get("xlink:href", ""), image=True)
        elif tag == "svg" and self.svg is None:
            self.counts["svgs"] += 1
            labelled = a.get("role") == "img" and bool(a.get("aria-label", "").strip())
            self.svg = {"line": self.getpos()[0], "role": a.get("role"), "labelled": labelled,
                        "depth": len(self.stack) + 1}
        elif tag == "title":
            if self.svg and len(self.stack) == self.svg["depth"]:
                self.svg["title_text"] = ""
            elif not self.svg:
                self.in_title, self.title = True, ""

    def check_table_structure(self, tag, parent, a):
        t = self.tables[-1] if self.tables else None
        if t is None and tag in ("thead", "tbody", "tfoot", "tr", "td", "th"):
            self.problem(f"<{tag}> outside a <table>")
            return
        if tag == "table":
            self.counts["tables"] += 1
            self.tables.append(Table(self.getpos()[0]))
            return
        if tag in ("thead", "tbody", "tfoot"):
            if parent != "table":
                self.problem(f"<{tag}> outside a <table>")
                return
            if tag == "thead" and (t.sections or t.direct_rows):
                self.problem("<thead> after rows or another section")
            if tag == "tfoot" and "tfoot" in t.sections:
                self.problem("a second <tfoot>")
            t.sections.append(tag)
            if t.direct_rows:
                self.problem(f"<{tag}> after rows directly in <table>")
        elif tag == "tr":
            if parent not in ("table", "thead", "tbody", "tfoot"):
                self.problem(f"<tr> in <{parent}>, not in a table section")
                return
            if parent == "table":
                if t.sections:
                    self.problem("a <tr> directly in <table> after a thead/tbody/tfoot")
                t.direct_rows = True
            if t.row is not None:
                self.problem("a <tr> inside an open row")
            t.start_row()
        elif tag in ("td", "th"):
            if parent != "tr" or t is None or t.row is None:
                self.problem(f"<{tag}> outside a <tr>")
                return
            spans = []
            for name in ("colspan", "rowspan"):
                v = a.get(name, "1")
                if not v.isdigit() or int(v) < 1:
                    self.problem(f"<{tag} {name}=\"{v}\">: not a positive integer")
                    v = "1"
                spans.append(int(v))
            t.cell(*spans)
        elif parent in ("table", "thead", "tbody", "tfoot") and tag not in TABLE_PARTS | {"col", "style"}:
            self.problem(f"<{tag}> directly in <{parent}>: the browser moves it out of the table")
        elif parent == "tr" and tag not in ("td", "th"):
            self.problem(f"<{tag}> directly in <tr>: only cells belong there")

    def handle_endtag(self, tag):
        if tag in VOID:
            return  # </br> and the like: nothing was left open
        if not any(open_tag == tag for open_tag, _ in self.stack):
            self.problem(f"</{tag}> closes nothing open")
            return
        while self.stack[-1][0] != tag:
            open_tag, line = self.stack.pop()
            self.problem(f"<{open_tag}> (line {line}) is not closed before </{tag}>")
            self.close_element(open_tag)
        self.stack.pop()
        self.close_element(tag)

    def close_element(self, tag):
        if tag == "tr" and self.tables and self.tables[-1].row is not None:
            self.tables[-1].end_row()
        elif tag == "table" and self.tables:
            self.finish_table(self.tables.pop())
        elif tag == "title":
            self.in_title = False
        elif tag == "svg" and self.svg and len(self.stack) + 1 == self.svg["depth"]:
            svg, self.svg = self.svg, None
            titled = bool(svg.get("title_text", "").strip())
            if svg["role"] != "img":
                self.problem("<svg> figure without role=\"img\"", svg["line"])
            elif not (svg["labelled"] or titled):
                self.problem("<svg> figure without an aria-label or a <title>: no text alternative", svg["line"])

    def finish_table(self, t):
        if not t.widths:
            self.problem("a table without rows", t.line)
        elif len(set(t.widths)) != 1:
            self.problem(f"a ragged table: its rows are {t.widths} cells wide (colspan counted)", t.line)

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        if self.svg is not None and "title_text" in self.svg and self.stack and self.stack[-1][0] == "title":
            self.svg["title_text"] += data
        if self.stack and self.stack[-1][0] in ("table", "thead", "tbody", "tfoot", "tr") and data.strip():
            self.problem(f"text {data.strip()[:30]!r} directly in <{self.stack[-1][0]}>: the browser moves it out of the table")

    # ---- what the page points to
    def target(self, tag, url, image=False):
        what = f"<{tag}> target \"{url}\""
        if not url.strip():
            self.problem(f"<{tag}> without a target")
            return
        parts = urllib.parse.urlsplit(url)
        if parts.scheme or parts.netloc:
            if image and parts.scheme != "data":
                self.problem(f"{what}: an image from elsewhere (the report must be complete offline)")
            return
        if not parts.path:
            if parts.fragment:
                self.fragments.append((parts.fragment, self.getpos()[0]))
            return
        path = os.path.join(self.dir, urllib.parse.unquote(parts.path))
        if os.path.isdir(path):
            if image or not os.path.isfile(os.path.join(path, "index.html")):
                self.problem(f"{what} is a folder{'' if image else ' without an index.html'}")
        elif not os.path.isfile(path):
            self.problem(f"{what} does not exist ({path})")
        elif image:
            with open(path, "rb") as f:
                head = f.read(8)
            if not head:
                self.problem(f"{what} is empty")
            elif path.lower().endswith(".png") and head != PNG_SIGNATURE:
                self.problem(f"{what} is not a PNG")

    def finish(self):
        for tag, line in self.stack:
            if tag not in ("html", "body", "head"):  # their end tags may be left out
                self.problem(f"<{tag}> (line {line}) is never closed")
        for t in self.tables:
            self.problem("a <table> is never closed", t.line)
        if self.title is None or not self.title.strip():
            self.problem("no <title>", 1)
        for fragment, line in self.fragments:
            if fragment not in self.ids:
                self.problem(f"link to #{fragment}: no element has that id", line)


def check_page(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return [f"{path}: cannot be read as UTF-8: {e}"], {}
    page = Page(path)
    page.feed(text)
    page.close()
    page.finish()
    return page.problems, page.counts


def pages_in(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                yield from (os.path.join(root, f) for f in sorted(files) if f.endswith(".html"))
        else:
            yield p


def check(paths, quiet=False, counts=None):
    """The problems of every page in paths; counts (a dict) gets how many images, links, ... they hold."""
    problems, totals, n = [], counts if counts is not None else {}, 0
    for page in pages_in(paths):
        n += 1
        found, counts = check_page(page)
        problems += found
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    if n == 0:
        problems.append(f"no HTML page in {' '.join(paths)}")
    if not quiet:
        for p in problems:
            print("FAIL: " + p)
        print(f"{n} page(s), " + ", ".join(f"{v} {k}" for k, v in totals.items()) + f": {len(problems)} problem(s)")
    return problems


# ---- --self-test: a good page that must pass, and broken ones each rejected for its own reason
GOOD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>good</title></head><body>
<h1 id="top">A report</h1><p><a href="other.html">other</a> <a href="#top">top</a> <a href="sub/">sub</a>
<a href="https://example.org/">elsewhere</a></p>
<p><img src="fig%20one.png" alt="a figure"><br/></p>
<figure><svg role="img" aria-label="a chart" viewBox="0 0 10 10"><title>a chart</title><path d="M0 0L9 9"/>
<g><text x="1" y="1">x</text></g></svg><figcaption>a caption</figcaption></figure>
<table><thead><tr><th>a</th><th colspan="2">b</th></tr></thead>
<tbody><tr><td rowspan="2">1</td><td>2</td><td>3</td></tr><tr><td>4</td><td>5</td></tr></tbody></table>
<table><tr><th>x</th></tr><tr><td>1</td></tr></table>
<ul><li>one</li><li>two</li></ul>
</body></html>
"""
BROKEN = {
    "missing image": ('<p><img src="gone.png" alt="x"></p>', "does not exist"),
    "not a png": ('<p><img src="fake.png" alt="x"></p>', "is not a PNG"),
    "missing alt": ('<p><img src="fig%20one.png"></p>', "has no alt text"),
    "empty alt": ('<p><img src="fig%20one.png" alt=" "></p>', "has no alt text"),
    "ragged table": ("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td></tr></table>", "ragged table"),
    "ragged by colspan": ('<table><tr><th colspan="2">a</th></tr><tr><td>1</td><td colspan="2">2</td></tr></table>',
                          "ragged table"),
    "ragged by rowspan": ('<table><tr><td rowspan="2">a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>',
                          "ragged table"),
    "script": ("<script>alert(1)</script>", "<script>"),
    "event handler": ('<p onclick="go()">x</p>', "event handler"),
    "javascript url": ('<p><a href="javascript:go()">x</a></p>', "javascript: URL"),
    "broken link": ('<p><a href="nowhere.html">x</a></p>', "does not exist"),
    "folder without index": ('<p><a href="empty/">x</a></p>', "without an index.html"),
    "missing fragment": ('<p><a href="#nowhere">x</a></p>', "no element has that id"),
    "unlabelled svg": ('<figure><svg role="img"><path d="M0 0"/></svg></figure>', "no text alternative"),
    "svg without role": ('<figure><svg aria-label="x"><title>x</title></svg></figure>', 'role="img"'),
    "bad nesting": ("<p><b>bold</p></b>", "is not closed before"),
    "self-closed div": ("<div/><p>x</p>", "leaves <div> open"),
    "unclosed": ("<div><p>text</p>", "<div> (line 2) is not closed"),
    "table in p": ("<p><table><tr><td>1</td></tr></table></p>", "inside <p>"),
    "cell outside row": ("<table><td>1</td></table>", "outside a <tr>"),
    "thead after tbody": ("<table><tbody><tr><td>1</td></tr></tbody><thead><tr><th>a</th></tr></thead></table>",
                          "<thead> after"),
    "text in table": ("<table>stray<tr><td>1</td></tr></table>", "moves it out of the table"),
    "row outside table section": ("<table><tbody><tr><td>1</td></tr></tbody><tr><td>2</td></tr></table>",
                                  "directly in <table> after"),
    "empty table": ("<table></table>", "without rows"),
    "remote image": ('<p><img src="https://example.org/a.png" alt="x"></p>', "from elsewhere"),
}


def self_test():
    failures = []
    with tempfile.TemporaryDirectory(prefix="lumen-check-html-") as tmp:
        with open(os.path.join(tmp, "fig one.png"), "wb") as f:
            f.write(PNG_SIGNATURE + b"rest")
        with open(os.path.join(tmp, "fake.png"), "wb") as f:
            f.write(b"GIF89a..")
        for name in ("other.html", os.path.join("sub", "index.html")):
            os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
            with open(os.path.join(tmp, name), "w") as f:
                f.write("<!doctype html><html><head><title>t</title></head><body><p>x</p></body></html>")
        os.makedirs(os.path.join(tmp, "empty"))
        good = os.path.join(tmp, "good.html")
        with open(good, "w") as f:
            f.write(GOOD)
        found = check([good], quiet=True)
        if found:
            failures.append("the good page was rejected: " + "; ".join(found))
        for name, (body, expected) in BROKEN.items():
            page = os.path.join(tmp, name.replace(" ", "_") + ".html")
            with open(page, "w") as f:
                f.write(f"<!doctype html><html><head><title>{name}</title></head><body>\n{body}\n</body></html>\n")
            found = check([page], quiet=True)
            if not any(expected in p for p in found):
                failures.append(f"{name}: expected a problem with '{expected}', got {found or 'none'}")
        untitled = os.path.join(tmp, "untitled.html")
        with open(untitled, "w") as f:
            f.write("<!doctype html><html><body><p>x</p></body></html>")
        if not any("no <title>" in p for p in check([untitled], quiet=True)):
            failures.append("a page without <title> was accepted")
        latin1 = os.path.join(tmp, "latin1.html")
        with open(latin1, "wb") as f:
            f.write(b"<html><head><title>caf\xe9</title></head></html>")
        if not check([latin1], quiet=True):
            failures.append("a page that is not UTF-8 was accepted")
    for f in failures:
        print("FAIL: " + f)
    print(f"self-test: the good page and {len(BROKEN) + 2} broken ones: {len(failures)} failure(s)")
    return 1 if failures else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    return 1 if check(argv) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
