"""The ticket HTML report (issue 5): rendered from real engine answers, checked in headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import networkx as nx
import pytest
from browser import SAFETY_PROBES, chromium, open_page, png_size  # noqa: F401  (session fixture)
from markupsafe import escape

from diagnose.collectors import catalogue
from diagnose.engine.explainer import explain_stories, make_query
from diagnose.model import ConnectionStory, Event, MessageStory
from diagnose.reports import CSP, ensure_what_if, sender_text, ticket_html, what_if_for

ROOT = Path(__file__).resolve().parent.parent
TRK = Path(__file__).resolve().parent / "data" / "tracking"


# ------------------------------------------------------------------ scenarios: real log lines, real engine

def _line(hhmmss: str, text: str) -> str:
    return f"Mon Oct  7 {hhmmss} 2024 Info: {text}"


HAT = [
    _line("13:15:02", "New SMTP ICID 880102 interface Management (192.168.42.42) address 176.227.203.114 "
                      "reverse dns host mail.example.test verified yes"),
    _line("13:15:02", "ICID 880102 REJECT SG BLACKLIST match sbrs[-10.0:-2.0] SBRS -9.5 country Russian Federation"),
    _line("13:15:03", "ICID 880102 close"),
]
CASE_DROP = [
    _line("13:15:02", "New SMTP ICID 1001 interface Data 1 (10.0.0.5) address 203.0.113.9 reverse dns host "
                      "mx.shop.example verified yes"),
    _line("13:15:02", "ICID 1001 ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS 0.1 country Germany"),
    _line("13:15:03", "Start MID 24611411 ICID 1001"),
    _line("13:15:03", "MID 24611411 ICID 1001 From: <news@shop.example>"),
    _line("13:15:03", "MID 24611411 ICID 1001 RID 0 To: <alice@corp.example>"),
    _line("13:15:04", "MID 24611411 Subject 'Black Friday deals'"),
    _line("13:15:04", "MID 24611411 ready 5123 bytes from <news@shop.example>"),
    _line("13:15:04", "MID 24611411 matched all recipients for per-recipient policy DEFAULT in the inbound table"),
    _line("13:15:05", "MID 24611411 interim verdict using engine: CASE spam positive"),
    _line("13:15:05", "MID 24611411 using engine: CASE spam positive"),
    _line("13:15:05", "Message aborted MID 24611411 Dropped by CASE"),
    _line("13:15:05", "Message finished MID 24611411 aborted"),
    _line("13:15:06", "ICID 1001 close"),
]
PWN = "document.title='PWNED'"
XSS = [
    _line("20:01:00", "New SMTP ICID 2002 interface Data 1 (10.0.0.5) address 198.51.100.66 reverse dns host "
                      "<svg/onload=" + PWN + ">.evil.example verified no"),
    _line("20:01:00", "ICID 2002 ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS 1.2 country Nowhere"),
    _line("20:02:00", "Start MID 777 ICID 2002"),
    _line("20:02:00", "MID 777 ICID 2002 From: <\"><img src=x onerror=" + PWN + ">@evil.example>"),
    _line("20:02:00", "MID 777 ICID 2002 RID 0 To: <<script>" + PWN + "</script>@corp.example>"),
    _line("20:03:00", "MID 777 Subject '<script>" + PWN + "</script> <a href=\"javascript:alert(1)\">click</a> "
                      "javascript:alert(1)'"),
    _line("20:03:00", "MID 777 matched all recipients for per-recipient policy DEFAULT in the inbound table"),
    _line("20:04:00", "MID 777 was dropped by content filter '\"><img src=x onerror=" + PWN + ">' in the inbound table"),
    _line("20:04:00", "Message finished MID 777 aborted"),
]


def stories_from_lines(lines: list[str], appliance: str = "SN-TEST"):
    """Catalogue-parsed events grouped by ICID and MID (DCID lines join their MIDs)."""
    conns: dict[int, ConnectionStory] = {}
    msgs: dict[int, MessageStory] = {}
    for n, line in enumerate(lines, 1):
        stamp, text = line.split(" Info: ", 1)
        hit = catalogue.classify(text)
        assert hit, text
        pattern, match = hit
        ev = Event(pattern.kind, datetime.strptime(stamp, "%a %b %d %H:%M:%S %Y"), appliance, f"mail_logs:{n}", text,
                   catalogue.fields(pattern, match))
        mid, icid = ev.get("mid"), ev.get("icid")
        if mid is not None:
            st = msgs.setdefault(mid, MessageStory(appliance, mid))
            st.events.append(ev)
            if icid is not None and st.icid is None:
                st.icid = icid
                conns.setdefault(icid, ConnectionStory(appliance, icid)).mids.append(mid)
        elif icid is not None:
            conns.setdefault(icid, ConnectionStory(appliance, icid)).events.append(ev)
    return conns, msgs


def answer_from_lines(lines: list[str], **question):
    conns, msgs = stories_from_lines(lines)
    pairs = [(m, conns.get(m.icid)) for m in msgs.values()]
    lone = [c for c in conns.values() if not c.mids]
    return explain_stories(make_query(**question), pairs, lone)


def answer_from_tracking(path: Path, **question):
    from diagnose import api
    return api.explain([], tracking=str(path), offline=True, **question)


SCENARIOS = {
    "hat_reject": lambda: answer_from_lines(HAT, ip="176.227.203.114"),
    "case_drop": lambda: answer_from_lines(CASE_DROP, mid=24611411),
    "hostile": lambda: answer_from_lines(XSS, mid=777),
    "tracking_delivered": lambda: answer_from_tracking(TRK / "demisto_sma_message_details_get.json", mid=349),
    "tracking_quarantine": lambda: answer_from_tracking(TRK / "readme_esa_details_1576.json", mid=1576),
    "tracking_four": lambda: answer_from_tracking(TRK / "demisto_sma_message_search.json",
                                                  sender="testtest@amazonses.com"),
    "not_found": lambda: answer_from_lines(CASE_DROP, mid=99),
}


@pytest.fixture(scope="module")
def answers():
    return {name: build() for name, build in SCENARIOS.items()}


def write(tmp_path: Path, name: str, answer) -> Path:
    p = tmp_path / f"{name}.html"
    p.write_text(ticket_html(answer), encoding="utf-8")
    return p


# ------------------------------------------------------------------ in the browser

@pytest.mark.parametrize("name", list(SCENARIOS))
def test_ticket_opens_cleanly_in_chromium(chromium, answers, tmp_path, name):  # noqa: F811
    page = write(tmp_path, name, answers[name])
    probes = dict(SAFETY_PROBES)
    probes["strip"] = "document.querySelectorAll('section.pipeline .strip li').length"
    probes["svgs"] = "document.querySelectorAll('svg.graph').length"
    probes["overflow"] = ("Array.from(document.querySelectorAll('svg.graph g.node:not(.legend)')).filter(g => {"
                          " const r = g.querySelector('rect').getBBox(); return Array.from(g.querySelectorAll('text'))"
                          ".some(t => { const b = t.getBBox(); return b.x + b.width > r.x + r.width + 0.5; }); }).length")
    report = open_page(chromium, page, evaluate=probes)
    assert report.console_errors == [], report.console_errors
    assert report.requests == [], report.requests
    w, h = png_size(report.screenshot)
    assert w >= 1000 and h >= 600 and len(report.screenshot) > 20_000  # a real, non-empty page
    v = report.values
    assert (v["scripts"], v["active"], v["handlers"], v["js_links"], v["external"]) == (0, 0, 0, 0, 0)
    n_findings = len(answers[name].findings)
    assert v["svgs"] == n_findings
    assert v["strip"] in (0, 17 * n_findings) or v["strip"] % 17 == 0
    assert v["overflow"] == 0  # every graph label fits its box with the page's own fonts


def test_hostile_values_are_shown_as_text_and_run_nothing(chromium, answers, tmp_path):  # noqa: F811
    page = write(tmp_path, "hostile", answers["hostile"])
    report = open_page(chromium, page, evaluate=SAFETY_PROBES)
    assert report.console_errors == [] and report.requests == []
    v = report.values
    assert v["title"] != "PWNED" and "PWNED" not in v["title"]
    assert (v["scripts"], v["active"], v["handlers"], v["js_links"]) == (0, 0, 0, 0)
    text = v["text"]
    for payload in ("<script>" + PWN + "</script>", "\"><img src=x onerror=" + PWN + ">",
                    "<svg/onload=" + PWN + ">", "javascript:alert(1)", "<a href=\"javascript:alert(1)\">click</a>"):
        assert payload in text, payload


def test_hostile_tracking_values_in_the_browser(chromium, tmp_path):  # noqa: F811
    doc = {"data": {"messages": {
        "mid": [4242], "sender": "\"><img src=x onerror=" + PWN + ">@evil.example",
        "recipient": ["<script>" + PWN + "</script>@corp.example"], "subject": "<svg/onload=" + PWN + "> javascript:x",
        "hostName": "<iframe src=javascript:alert(1)>", "messageStatus": "Dropped by content filter",
        "sendingHostSummary": {"ipAddress": "192.0.2.1", "reverseDnsHostname": "<b onmouseover=alert(1)>x</b>",
                               "sbrsScore": "<i>"},
        "summary": [{"timestamp": "07 Sep 2022 09:08:03 (GMT)",
                     "description": "Message 4242 was dropped by content filter '<script>" + PWN + "</script>' in the "
                                    "inbound table."}]}}}
    src = tmp_path / "hostile.json"
    src.write_text(json.dumps(doc))
    page = write(tmp_path, "hostile_tracking", answer_from_tracking(src, mid=4242))
    report = open_page(chromium, page, evaluate=SAFETY_PROBES)
    assert report.console_errors == [] and report.requests == []
    v = report.values
    assert "PWNED" not in v["title"] and (v["scripts"], v["active"], v["handlers"], v["js_links"]) == (0, 0, 0, 0)
    assert "<script>" + PWN + "</script>" in v["text"] and "<iframe src=javascript:alert(1)>" in v["text"]


@pytest.mark.parametrize("name", ["hat_reject", "case_drop", "tracking_four"])
def test_prints_cleanly(chromium, answers, tmp_path, name):  # noqa: F811
    """Laid out for print at A4 width (~720 px): nothing is wider than the page, the graph scales to it."""
    report = open_page(chromium, write(tmp_path, name, answers[name]), pdf=True, media="print", width=720, evaluate={
        "print": "matchMedia('print').matches",
        "overflow_x": "document.documentElement.scrollWidth - document.documentElement.clientWidth",
        "wide": "Array.from(document.querySelectorAll('svg.graph, table, pre, .strip')).filter(e => "
                "e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length",
        "finding_breaks": "Array.from(document.querySelectorAll('article.finding')).slice(1).filter(a => "
                          "getComputedStyle(a).breakBefore === 'page').length",
    })
    assert report.console_errors == [] and report.requests == []
    assert report.values["print"] is True
    assert report.values["overflow_x"] <= 0 and report.values["wide"] == 0
    assert report.values["finding_breaks"] == len(answers[name].findings) - 1  # each finding on its own page
    assert report.pdf.startswith(b"%PDF") and len(report.pdf) > 5_000
    pages = len(re.findall(rb"/Type\s*/Page[^s]", report.pdf))
    assert len(answers[name].findings) <= pages <= 6 * len(answers[name].findings)


# ------------------------------------------------------------------ content

def test_hat_graph_links_reject_line_rule_finding_recommendations(answers):
    a = answers["hat_reject"]
    f = a.findings[0]
    assert (f.outcome, f.stage, f.cause) == ("rejected", "hat", "poor_sender_reputation")
    graph = a.to_json()["graph"]
    g = nx.DiGraph()
    g.add_nodes_from((n["id"], n) for n in graph["nodes"])
    g.add_edges_from((link["source"], link["target"]) for link in graph["links"])
    reject = next(n for n, d in g.nodes(data=True) if d.get("kind") == "evidence" and "REJECT SG BLACKLIST" in d["label"])
    rule = next(n for n in g.successors(reject) if g.nodes[n].get("label") == "HAT-REJECT-SBRS")
    stop = next(n for n in g.successors(rule) if g.nodes[n].get("type") == "stop")
    recs = [n for n, d in g.nodes(data=True) if d.get("kind") == "recommendation"]
    assert len(recs) == len(f.recommendations) >= 2
    for r in recs:
        assert nx.has_path(g, stop, r)
    html = ticket_html(a)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "HAT-REJECT-SBRS" in svg and "REJECT SG BLACKLIST" in svg
    for rec in f.recommendations:
        assert rec.title[:20] in svg or rec.title[:20].replace("$", "$") in html


def test_page_is_self_contained(answers):
    html = ticket_html(answers["case_drop"])
    assert f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">' in html
    assert "default-src 'none'" in CSP and "script-src" not in CSP
    assert "<script" not in html.lower()
    assert not re.search(r"""\s(?:src|href|action|xlink:href)\s*=\s*["'](?!#)""", html)
    assert "@import" not in html and not re.search(r"url\((?!#)", html)


def test_sections_of_a_drop(answers):
    a = answers["case_drop"]
    f = a.findings[0]
    assert (f.outcome, f.stage) == ("dropped", "antispam")
    html = ticket_html(a)
    strip = html[html.index('<ol class="strip">'):]
    strip = strip[:strip.index("</ol>")]
    assert strip.count("<li") == 17
    assert 'class="st st-stopped"' in strip and strip.index("Anti-spam") > strip.index("Host Access Table")
    rows = re.findall(r"<tr><td class=\"t\">", html)
    assert len(rows) == len(f.evidence)
    risks = [int(x) for x in re.findall(r'class="badge risk">risk (\d+)<', html)]
    assert risks == sorted(risks) and len(risks) == len(f.recommendations)
    said = re.search(r'<blockquote class="sender-text">(.*?)</blockquote>', html, re.S).group(1)
    assert said.strip() and said == str(escape(sender_text(a.to_json()["findings"][0])))
    assert "What if the top recommendation is applied?" in html and "never reached" in html
    assert "What the tool could not see" in html


def test_multiple_findings_have_a_table_and_one_section_each(answers):
    html = ticket_html(answers["tracking_four"])
    assert "4 findings, most relevant first" in html
    assert len(re.findall(r'<article class="finding"', html)) == 4
    assert all(f'href="#finding-{i}"' in html for i in range(1, 5))


def test_what_if_for_hat_rejection(answers):
    f = ensure_what_if(answers["hat_reject"].to_json())["findings"][0]
    wi = f["what_if"]
    assert wi["recommendation"] == "hat_allowlist"  # the first change on the appliance, not the Talos dispute
    assert wi["path"][0] == {"stage": "hat", "status": "passes",
                             "detail": f"{wi['title']} removes the check that stopped it"}
    assert all(p["status"] == "unknown" for p in wi["path"][1:])
    assert len(wi["never_reached"]) == 16 and wi["predicted_outcome"] == "unknown"
    assert "never reached" in wi["summary"] or "whether it is then delivered is unknown" in wi["summary"]


def test_what_if_edge_cases():
    assert what_if_for({"recommendations": [], "path": [{"stage": "hat", "status": "stopped"}]}) is None
    still = what_if_for({"stage": "antivirus", "outcome": "dropped",
                         "recommendations": [{"kind": "safelist", "title": "Safelist"}],
                         "path": [{"stage": "hat", "status": "passed"}, {"stage": "antivirus", "status": "stopped"},
                                  {"stage": "delivery", "status": "not_reached"}]})
    assert [p["status"] for p in still["path"]] == ["passes", "stops", "not_reached"]
    assert "still stop at Anti-virus" in still["summary"]
    deliv = what_if_for({"stage": "delivery", "outcome": "bounced",
                         "recommendations": [{"kind": "fix_destination", "title": "Fix it"}],
                         "path": [{"stage": "hat", "status": "passed"}, {"stage": "delivery", "status": "stopped"}]})
    assert deliv["predicted_outcome"] == "delivered" and deliv["never_reached"] == []


def test_sender_texts():
    base = {"recipient": "bob@corp.example", "time": "2024-10-07T13:15:02", "sender_ip": "192.0.2.1"}
    assert "refused" in sender_text({**base, "outcome": "rejected", "stage": "hat"})
    assert "anti-spam check" in sender_text({**base, "outcome": "dropped", "stage": "antispam"})
    assert "can still be released" in sender_text({**base, "outcome": "quarantined", "stage": "antispam"})
    assert "could not find" in sender_text({"outcome": "unknown"})
    assert "do not show yet" in sender_text({"outcome": "unknown", "mid": 5})
    assert sender_text({**base, "outcome": "rejected", "recommendations": [
        {"kind": "sender_fix", "sender_text": "Please fix your SPF record."}]}) == "Please fix your SPF record."


# ------------------------------------------------------------------ CLI and screenshot command

def test_explain_writes_html_and_json_carries_the_same_what_if(run_cli, tmp_path):
    out = tmp_path / "ticket.html"
    args = ["explain", "--tracking", str(TRK / "export_search_results.csv"), "--mid", "1001", "--offline"]
    r = run_cli(*args, "--format", "html", "--output", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Dropped by antivirus" in html
    j = json.loads(run_cli(*args, "--format", "json").stdout)
    assert "graph" in j and j["graph"]["nodes"]
    wi = j["findings"][0]["what_if"]
    if wi:
        assert wi["summary"].replace("\u201c", "&#8220;")[:30] in html or wi["summary"][:30] in html


def test_screenshot_command(tmp_path, answers, chromium):  # noqa: F811  (skips without chromium)
    src = tmp_path / "answer.json"
    src.write_text(json.dumps(answers["hat_reject"].to_json(), default=str))
    png = tmp_path / "ticket.png"
    r = subprocess.run([sys.executable, "-m", "diagnose.reports", "screenshot", "--answer", str(src),
                        "--output", str(png), "--html", str(tmp_path / "t.html")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    w, h = png_size(png.read_bytes())
    assert w >= 1000 and h >= 800


def test_disagreement_between_logs_and_tracking_is_shown(chromium, tmp_path):  # noqa: F811
    from diagnose.collectors.tracking import combine, tracking_stories

    lines = [
        "Wed Sep  7 08:10:31 2022 Info: New SMTP ICID 16516 interface Data 1 (10.0.0.5) address 2.2.2.2",
        "Wed Sep  7 08:10:31 2022 Info: ICID 16516 ACCEPT SG ACCEPTLIST match sbrs[0.0:10.0] SBRS 2.7",
        "Wed Sep  7 08:10:32 2022 Info: Start MID 316 ICID 16516",
        "Wed Sep  7 08:10:32 2022 Info: MID 316 ICID 16516 From: <spoof<i onmouseover=alert(1)@other.example>",
        "Wed Sep  7 08:10:32 2022 Info: MID 316 ICID 16516 RID 0 To: <test@test.com>",
        "Wed Sep  7 08:10:34 2022 Info: MID 316 was dropped by content filter 'x' in the inbound table",
    ]
    conns, msgs = stories_from_lines(lines, appliance="TESTSERIALNUMBER")
    tconns, tmsgs, _ = tracking_stories(TRK / "demisto_sma_message_search.json")
    comb = combine(list(conns.values()), list(msgs.values()), tconns, [m for m in tmsgs if m.mid == 316])
    m316 = next(m for m in comb.messages if m.mid == 316)
    answer = explain_stories(make_query(mid=316), [(m316, conns[16516])], [])
    answer.warnings += [d.text for d in comb.disagreements]
    page = write(tmp_path, "disagree", answer)
    report = open_page(chromium, page, evaluate={
        "box": "document.querySelector('section.disagree') ? document.querySelector('section.disagree').innerText : ''",
        "tags": "document.querySelectorAll('i').length"})
    assert report.console_errors == [] and report.requests == []
    box = report.values["box"]
    assert "disagree on sender" in box and "spoof<i onmouseover=alert(1)@other.example" in box
    assert "disagree on final state" in box and "the logs win" in box and report.values["tags"] == 0


def test_demo_ticket_screenshot_command(tmp_path, chromium):  # noqa: F811  (skips without chromium)
    if not (ROOT / "diagnose" / "sample" / "mail_logs").exists():
        pytest.skip("the built-in demo sample is not in this build")
    png, html = tmp_path / "demo.png", tmp_path / "demo.html"
    r = subprocess.run([sys.executable, "-m", "diagnose.reports", "screenshot", "--output", str(png),
                        "--html", str(html)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    w, h = png_size(png.read_bytes())
    assert w >= 1000 and h >= 1000
    page = html.read_text()
    assert "rejected" in page and "Host Access Table" in page and "<svg" in page


@pytest.mark.parametrize("answer", [
    {}, {"findings": [{}]}, {"query": "mid 5", "findings": "nope", "graph": []},
    {"findings": [{"path": [None, {"stage": 1}], "evidence": [None, {"text": None}], "recommendations": [None, {"risk": "x"}],
                   "what_if": {"applicable": False}, "why": [None, 3]}],
     "graph": {"nodes": [{"id": 1, "case": "x"}], "links": [{"source": 1, "target": 1}, "bad"]}},
    {"findings": [{"outcome": "x<y", "stage": "<b>", "confidence": None, "summary": None, "gaps": None}],
     "warnings": [None, 5, "disagree <i>"]},
])
def test_odd_answers_still_render(answer):
    html = ticket_html(answer)
    assert html.startswith("<!DOCTYPE html>") and "<b>" not in html and "<i>" not in html


def test_drawn_hat_graph_chains_reject_line_to_recommendations(chromium, answers, tmp_path):  # noqa: F811
    """In the SVG the browser draws: REJECT line -> HAT rule -> the finding (stop) -> every recommendation."""
    page = write(tmp_path, "hat_chain", answers["hat_reject"])
    report = open_page(chromium, page, evaluate={
        "edges": "Array.from(document.querySelectorAll('svg.graph path[data-from]')).map(p => [p.dataset.from, "
                 "p.dataset.to])",
        "nodes": "Array.from(document.querySelectorAll('svg.graph g.node[data-id]')).map(g => [g.dataset.id, "
                 "g.getAttribute('class'), g.querySelector('title').textContent])",
    })
    g = nx.DiGraph(report.values["edges"])
    nodes = {i: (cls, title) for i, cls, title in report.values["nodes"]}
    reject = next(i for i, (cls, t) in nodes.items() if "kind-evidence" in cls and "REJECT SG BLACKLIST" in t)
    rule = next(i for i, (cls, t) in nodes.items() if "kind-rule" in cls and t.startswith("HAT-REJECT-SBRS"))
    stop = next(i for i, (cls, t) in nodes.items() if "fact-stop" in cls)
    recs = [i for i, (cls, _t) in nodes.items() if "kind-recommendation" in cls]
    assert g.has_edge(reject, rule) and g.has_edge(rule, stop)
    assert len(recs) == len(answers["hat_reject"].findings[0].recommendations)
    assert all(nx.has_path(g, stop, r) for r in recs)


def test_history_across_mids_is_listed():
    f = {"outcome": "delivered", "stage": "delivery", "confidence": "certain", "summary": "Delivered after release.",
         "chain": [5, 6], "history": [
             {"mid": 5, "outcome": "quarantined", "stage": "antispam", "rule": "AS-QUARANTINE", "time": "2026-11-23T09:00"},
             {"mid": 5, "outcome": "handed_over", "relation": "reinjected_as", "new_mid": 6, "time": "2026-11-23T11:00"},
             {"mid": 6, "outcome": "delivered", "stage": "delivery", "rule": "DLV-DELIVERED"}, None]}
    html = ticket_html({"query": {"recipient": "erin@example.com"}, "findings": [f]})
    hist = html[html.index('<section class="history">'):]
    hist = hist[:hist.index("</section>")]
    assert "across MIDs 5 → 6" in hist and hist.count("<li>") == 3
    assert hist.index("quarantined") < hist.index("reinjected as MID 6") < hist.index("delivered</span>")


def test_configuration_what_if_is_kept_and_an_inapplicable_one_replaced():
    path = [{"stage": "hat", "status": "stopped"}, {"stage": "delivery", "status": "not_reached"}]
    recs = [{"kind": "hat_allowlist", "title": "Add the IP to a sender group", "risk": 2}]
    config_wi = {"recommendation": "hat_allowlist", "applicable": True, "change": "add 192.0.2.1 to ALLOWED_LIST",
                 "summary": "HAT would match ALLOWED_LIST; predicted delivered.", "predicted_outcome": "delivered",
                 "path": [{"stage": "hat", "status": "passes", "detail": "x"}], "blocked_by": "group <X> first",
                 "alternative": {"change": "move ALLOWED_LIST above <X>", "summary": "then delivered"}}
    base = {"outcome": "rejected", "stage": "hat", "recommendations": recs, "path": path}
    kept = ensure_what_if({"findings": [{**base, "what_if": config_wi}]})["findings"][0]["what_if"]
    assert kept is config_wi
    html = ticket_html({"findings": [{**base, "what_if": config_wi}]})
    assert "add 192.0.2.1 to ALLOWED_LIST" in html and "Still blocked: group &lt;X&gt; first" in html
    assert "move ALLOWED_LIST above &lt;X&gt;" in html
    replaced = ensure_what_if({"findings": [{**base, "what_if": {"applicable": False, "reason": "no listener"}}]})
    wi = replaced["findings"][0]["what_if"]
    assert wi["path"][0]["status"] == "passes" and "no listener" in wi["config_note"]
