#!/usr/bin/env python3
"""meson test report: the doctests of examples/report.h and examples/landing_page.h (REPORT_TESTS), then
tests/cli/check_html.py over the pages they wrote: a landing page among garbled and hostile neighbours,
and the lesson pages it links, must read well too.

  tests/report/check_report.py REPORT_TESTS
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import check_html  # noqa: E402

with tempfile.TemporaryDirectory(prefix="lumen-report-pages-") as pages:
    p = subprocess.run([sys.argv[1]], env=dict(os.environ, LUMEN_REPORT_PAGES=pages), timeout=300)
    if p.returncode != 0:
        sys.exit(p.returncode)
    if not os.path.isfile(os.path.join(pages, "index.html")):
        sys.exit(f"FAIL: no landing page in {pages}")
    sys.exit(1 if check_html.check([pages]) else 0)
