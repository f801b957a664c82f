"""The batch HTML report in headless Chromium: opens cleanly, no requests, hostile values stay text."""

from __future__ import annotations

import csv

from browser import SAFETY_PROBES, chromium, open_page  # noqa: F401  (session fixture)

from diagnose import api
from diagnose.batchjob import write_html

PAYLOADS = ("<script>document.title='PWNED'</script>", "\"><img src=x onerror=document.title='PWNED'>",
            "<svg/onload=document.title='PWNED'>", "javascript:alert(1)")


def _report(tmp_path, shared_dir=None):
    path = tmp_path / "hostile.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["recipient", "sender", "date", "diagnostic", "note"])
        for i, p in enumerate(PAYLOADS):
            w.writerow([f"u{i}@example.org", f"a{i}@example.com", f"2024-10-0{i + 1} 10:00", f"550 5.1.1 {p} user unknown", p])
        w.writerow([PAYLOADS[0] + "@x.org", "a@b.org", "2024-10-07 10:00", "550 user unknown", "bad row"])
        w.writerow(["ok@example.org", "a@b.org", "2024-10-07 11:00",
                    "554 Your access to this mail system has been rejected due to the sending MTA's poor reputation.", ""])
    result = api.batch(path)
    page = tmp_path / "report.html"
    with page.open("w", encoding="utf-8") as fh:
        write_html(result, fh)
    return page, result


def test_batch_report_opens_cleanly_and_runs_nothing(chromium, tmp_path):  # noqa: F811
    page, result = _report(tmp_path)
    probes = dict(SAFETY_PROBES)
    probes["rows"] = "document.querySelectorAll('#rows tbody tr').length"
    probes["bars"] = "document.querySelectorAll('#causes svg rect').length"
    probes["anchors_ok"] = ("Array.from(document.querySelectorAll('a[href^=\"#row-\"]'))"
                            ".every(a => document.getElementById(a.getAttribute('href').slice(1)))")
    report = open_page(chromium, page, evaluate=probes)
    assert report.console_errors == [] and report.requests == []
    v = report.values
    assert v["title"] == "Bounce report"
    assert (v["scripts"], v["active"], v["handlers"], v["js_links"], v["external"]) == (0, 0, 0, 0, 0)
    assert v["rows"] == len(result.rows) == 5 and v["bars"] >= 2 and v["anchors_ok"] is True
    for p in PAYLOADS:
        assert p in v["text"], p  # shown as text
