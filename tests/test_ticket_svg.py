"""Causal graph -> inline SVG: layered, escaped, readable at 5 and at 60 nodes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import networkx as nx
import pytest
from browser import chromium, open_page  # noqa: F401  (session fixture)

from diagnose.svg import prune_recommendation_edges, render_svg, to_digraph, wrap

NS = {"s": "http://www.w3.org/2000/svg"}


def small_graph() -> dict:
    return {"nodes": [
        {"id": "0:evidence:1", "kind": "evidence", "label": "ICID 5 REJECT SG BLACKLIST match sbrs[-10.0:-2.0] SBRS -4.2",
         "source": "mail_logs:41", "case": 0},
        {"id": "0:rule:HAT-REJECT-SBRS:0", "kind": "rule", "label": "HAT-REJECT-SBRS", "case": 0},
        {"id": "0:fact:2", "kind": "fact", "type": "stop", "label": "stop: stage=hat, outcome=rejected", "case": 0},
        {"id": "0:fact:3", "kind": "fact", "type": "remedy", "label": "remedy: kind=hat_allowlist, ref=hat-group",
         "case": 0},
        {"id": "0:recommendation:hat-group", "kind": "recommendation", "label": "Add a sender group", "risk": 2,
         "case": 0},
    ], "links": [
        {"source": "0:evidence:1", "target": "0:rule:HAT-REJECT-SBRS:0", "relation": "matched"},
        {"source": "0:rule:HAT-REJECT-SBRS:0", "target": "0:fact:2", "relation": "derives"},
        {"source": "0:fact:2", "target": "0:fact:3", "relation": "derives"},
        {"source": "0:fact:3", "target": "0:recommendation:hat-group", "relation": "recommends"},
        {"source": "0:fact:2", "target": "0:recommendation:hat-group", "relation": "recommends"},
    ]}


def big_graph(n_evidence=20, n_rules=10, n_facts=15, n_recs=15) -> dict:
    nodes, links = [], []
    for i in range(n_evidence):
        nodes.append({"id": f"e{i}", "kind": "evidence", "source": f"mail_logs:{i}",
                      "label": f"MID {1000 + i} ICID {i} From: <sender{i}@very-long-domain-name-{i}.example> "
                               f"using engine: CASE spam positive with a long tail of text {i}"})
    for i in range(n_rules):
        nodes.append({"id": f"r{i}", "kind": "rule", "label": f"RULE-NUMBER-{i}"})
        for j in range(2):
            links.append({"source": f"e{(2 * i + j) % n_evidence}", "target": f"r{i}"})
    for i in range(n_facts):
        nodes.append({"id": f"f{i}", "kind": "fact", "type": "remedy" if i >= 5 else "stop",
                      "label": f"fact {i}: stage=antispam, outcome=dropped, cause=spam_positive"})
        links.append({"source": f"r{i % n_rules}", "target": f"f{i}"})
    for i in range(n_recs):
        nodes.append({"id": f"x{i}", "kind": "recommendation", "risk": 1 + i % 4,
                      "label": f"Recommendation {i}: add the sender to the safelist of the recipient"})
        links.append({"source": f"f{i % n_facts}", "target": f"x{i}"})
    return {"nodes": nodes, "links": links}


def boxes(svg: str) -> dict[str, tuple[float, float, float, float, str]]:
    root = ET.fromstring(svg)
    out = {}
    for g in root.findall(".//s:g", NS):
        cls = g.get("class", "")
        rect = g.find("s:rect", NS)
        title = g.find("s:title", NS)
        if rect is None or title is None or "legend" in cls:
            continue
        out[title.text] = (float(rect.get("x")), float(rect.get("y")), float(rect.get("width")),
                           float(rect.get("height")), cls)
    return out


def test_small_graph_columns_in_causal_order():
    svg = str(render_svg(small_graph(), case=0))
    b = boxes(svg)
    assert len(b) == 5
    ev = next(v for k, v in b.items() if k.startswith("ICID 5 REJECT"))
    rule = b["HAT-REJECT-SBRS"]
    stop = b["stop: stage=hat, outcome=rejected"]
    rec = b["Add a sender group (risk 2)"]
    assert ev[0] < rule[0] < stop[0] < rec[0]
    assert "mail_logs:41" in svg  # the evidence's source is in its tooltip
    root = ET.fromstring(svg)
    assert root.get("viewBox").startswith("0 0 ")
    assert len(root.findall(".//s:path[@class]", NS)) >= 4


def test_recommendation_drawn_from_its_remedy():
    g = prune_recommendation_edges(to_digraph(small_graph()))
    assert list(g.predecessors("0:recommendation:hat-group")) == ["0:fact:3"]


@pytest.mark.parametrize("size", [(2, 1, 1, 1), (20, 10, 15, 15), (40, 12, 30, 20)])
def test_no_overlap_and_all_nodes_drawn(size):
    graph = big_graph(*size)
    svg = str(render_svg(graph))
    b = boxes(svg)
    assert len(b) == sum(size)
    items = list(b.values())
    for i, (x1, y1, w1, h1, _) in enumerate(items):
        for x2, y2, w2, h2, _ in items[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1, "boxes overlap"
    root = ET.fromstring(svg)
    w, h = (float(v) for v in root.get("viewBox").split()[2:])
    assert w < 1400  # 4 columns: fits a page width without shrinking text much
    assert h < 50 + 70 * max(size)  # a column of n nodes is about n small boxes tall (+ the legend)


def test_labels_wrap_to_three_lines():
    assert wrap("a b c", 10) == ["a b c"]
    lines = wrap("x" * 100, 20)
    assert len(lines) == 3 and lines[-1].endswith("…") and all(len(x) <= 20 for x in lines)
    svg = str(render_svg(big_graph()))
    root = ET.fromstring(svg)
    for g in root.findall(".//s:g", NS):
        assert len(g.findall("s:text", NS)) <= 3


def test_hostile_labels_are_text():
    graph = {"nodes": [{"id": "a", "kind": "evidence", "label": "<script>alert(1)</script> \"><img src=x onerror=y>",
                        "source": "</title><svg/onload=alert(1)>"},
                       {"id": "b", "kind": "rule", "label": "R&D <b>"}],
             "links": [{"source": "a", "target": "b", "relation": "x\" onmouseover=\"alert(1)"}]}
    svg = str(render_svg(graph, title="t<i>"))
    root = ET.fromstring(svg)  # still well-formed XML
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "<script>alert(1)</script>" in texts
    assert "<script" not in svg and "<img" not in svg and "onload" not in svg.replace("&lt;svg/onload", "")
    assert not any(k.startswith("on") for el in root.iter() for k in el.attrib)


def test_cycles_and_empty_graphs_do_not_crash():
    g = nx.DiGraph()
    g.add_node("a", kind="fact", label="a")
    g.add_node("b", kind="fact", label="b")
    g.add_edges_from([("a", "b"), ("b", "a")])
    ET.fromstring(str(render_svg(g)))
    empty = str(render_svg({"nodes": [], "links": []}))
    assert "No rule fired" in empty
    assert str(render_svg({"nodes": [{"id": 1}], "links": [{"source": 1, "target": 2}, {"bad": 1}]})).startswith("<svg")


def test_sixty_nodes_readable_in_chromium(chromium, tmp_path):  # noqa: F811
    """In a real browser every label fits its box and the text is at least 11 px."""
    svg = render_svg(big_graph())
    page = tmp_path / "g.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\"><style>svg text{font-family:sans-serif;"
        "font-size:12px} svg text.mono{font-family:monospace;font-size:11px} rect{fill:#eee;stroke:#999}"
        "path{fill:none;stroke:#999}</style></head><body>" + str(svg) + "</body></html>")
    report = open_page(chromium, page, evaluate={
        "overflow": "Array.from(document.querySelectorAll('svg g.node:not(.legend)')).filter(g => { const r = g.querySelector('rect');"
                    " if (!r) return false; const rb = r.getBBox(); return Array.from(g.querySelectorAll('text'))"
                    ".some(t => { const b = t.getBBox(); return b.x + b.width > rb.x + rb.width + 0.5 ||"
                    " b.x < rb.x; }); }).length",
        "scale": "document.querySelector('svg').getBoundingClientRect().width / "
                 "document.querySelector('svg').viewBox.baseVal.width",
        "nodes": "document.querySelectorAll('svg g rect').length",
    })
    assert report.console_errors == [] and report.requests == []
    assert report.values["nodes"] >= 60
    assert report.values["overflow"] == 0
    assert report.values["scale"] >= 0.7  # 12 px text is drawn at 8.4 px or more
    assert re.match(rb"\x89PNG", report.screenshot)
