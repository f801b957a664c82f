"""Causal graph (node-link JSON or a networkx DiGraph) -> one inline SVG, no script, no external refs.

Layered left-to-right drawing: evidence lines in the first column, then the rules they matched,
the conclusions those rules derived (which may feed further rules), and the recommendations last.
Columns are ordered by a few barycentre sweeps to keep edges short and uncrossed; labels wrap to
three lines and the full text (with the log line's source) is in the node's <title> tooltip. Every
piece of text comes from the data and is XML-escaped; nothing in the output can run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import networkx as nx
from markupsafe import Markup, escape

KIND_ORDER = ("evidence", "rule", "fact", "recommendation")
KIND_TITLE = {"evidence": "evidence (log line)", "rule": "rule", "fact": "conclusion", "recommendation": "recommendation"}
WIDTH = {"evidence": 280, "rule": 170, "fact": 200, "recommendation": 240}
CHAR_W = 7.1  # px per character at 12px sans-serif (DejaVu Sans is wide: stay conservative so text fits)
MONO_W = 6.9  # px per character at 11px monospace (log lines)
LINE_H = 15
PAD = 8
GAP_X = 40
GAP_Y = 12
MAX_LINES = 3


def to_digraph(graph: dict[str, Any] | nx.DiGraph) -> nx.DiGraph:
    """Accept the engine's node-link JSON ({"nodes", "links"}) or a DiGraph."""
    if isinstance(graph, nx.DiGraph):
        return graph
    g = nx.DiGraph()
    for n in graph.get("nodes", []) or []:
        if isinstance(n, dict) and "id" in n:
            g.add_node(str(n["id"]), **{k: v for k, v in n.items() if k != "id"})
    for link in graph.get("links", graph.get("edges", [])) or []:
        if isinstance(link, dict) and "source" in link and "target" in link:
            s, t = str(link["source"]), str(link["target"])
            for node in (s, t):
                if node not in g:
                    g.add_node(node, kind="fact", label=node)
            g.add_edge(s, t, **{k: v for k, v in link.items() if k not in ("source", "target")})
    return g


def prune_recommendation_edges(g: nx.DiGraph) -> nx.DiGraph:
    """Draw each recommendation from the remedy fact that names it (`ref=<id>`), not from every
    conclusion of the case: the same justification, fewer crossing lines."""
    g = g.copy()
    for n, d in list(g.nodes(data=True)):
        if _kind(d) != "recommendation":
            continue
        ref = str(n).rsplit(":", 1)[-1]
        preds = list(g.predecessors(n))
        named = [p for p in preds if g.nodes[p].get("type") == "remedy" and _ref(g.nodes[p]) == ref]
        if named:
            g.remove_edges_from([(p, n) for p in preds if p not in named])
    return g


def _ref(d: dict[str, Any]) -> str | None:
    if d.get("ref"):
        return str(d["ref"])
    m = re.search(r"\bref=([^,\s]+)", str(d.get("label", "")))
    return m.group(1) if m else None


def case_subgraph(g: nx.DiGraph, case: int | None) -> nx.DiGraph:
    """The part of the graph that belongs to one finding (nodes carry `case`)."""
    if case is None:
        return g
    keep = [n for n, d in g.nodes(data=True) if d.get("case") in (case, str(case))]
    return g.subgraph(keep).copy()


def _kind(d: dict[str, Any]) -> str:
    k = str(d.get("kind", "fact"))
    return k if k in KIND_ORDER else "fact"


def _layers(g: nx.DiGraph) -> dict[str, int]:
    """Longest-path layering; evidence first, recommendations last, cycles tolerated."""
    dag = g
    if not nx.is_directed_acyclic_graph(g):
        dag = nx.DiGraph()
        dag.add_nodes_from(g.nodes(data=True))
        rank = {n: KIND_ORDER.index(_kind(d)) for n, d in g.nodes(data=True)}
        dag.add_edges_from((u, v) for u, v in g.edges() if rank[u] < rank[v] or (rank[u] == rank[v] and str(u) < str(v)))
    layer: dict[str, int] = {}
    for n in nx.topological_sort(dag):
        preds = [layer[p] for p in dag.predecessors(n)]
        layer[n] = (max(preds) + 1) if preds else 0
    for n, d in g.nodes(data=True):
        if _kind(d) == "evidence":
            layer[n] = 0
        elif _kind(d) != "evidence" and layer[n] == 0 and g.in_degree(n) == 0:
            layer[n] = {"rule": 1, "fact": 2, "recommendation": 3}[_kind(d)]
    last = max(layer.values(), default=0)
    recs = [n for n, d in g.nodes(data=True) if _kind(d) == "recommendation"]
    if recs:
        others = max((layer[n] for n, d in g.nodes(data=True) if _kind(d) != "recommendation"), default=0)
        for n in recs:
            layer[n] = max(others + 1, 1)
        last = max(last, others + 1)
    # close empty columns
    used = sorted(set(layer.values()))
    remap = {v: i for i, v in enumerate(used)}
    return {n: remap[v] for n, v in layer.items()}


def _order(g: nx.DiGraph, layer: dict[str, int]) -> list[list[str]]:
    cols: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in sorted(g.nodes(), key=lambda n: (str(g.nodes[n].get("time", "")), str(n))):
        cols[layer[n]].append(n)
    for _sweep in range(4):
        for i in range(1, len(cols)):  # down: order by predecessors' positions
            pos = {n: k for k, n in enumerate(cols[i - 1])}
            here = {n: k for k, n in enumerate(cols[i])}
            cols[i].sort(key=lambda n, pos=pos, here=here: _bary(
                [pos[p] for p in g.predecessors(n) if p in pos], here[n]))
        for i in range(len(cols) - 2, -1, -1):  # up: order by successors' positions
            pos = {n: k for k, n in enumerate(cols[i + 1])}
            here = {n: k for k, n in enumerate(cols[i])}
            cols[i].sort(key=lambda n, pos=pos, here=here: _bary(
                [pos[s] for s in g.successors(n) if s in pos], here[n]))
    return cols


def _bary(positions: list[int], default: int) -> float:
    return sum(positions) / len(positions) if positions else float(default)


def wrap(text: str, width_chars: int, max_lines: int = MAX_LINES) -> list[str]:
    """Greedy word wrap; long tokens (log lines, addresses) are cut; an ellipsis marks truncation."""
    words = " ".join(str(text).split()).split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        while len(w) > width_chars:
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(w[:width_chars])
            w = w[width_chars:]
        if not cur:
            cur = w
        elif len(cur) + 1 + len(w) <= width_chars:
            cur += " " + w
        else:
            lines.append(cur)
            cur = w
    if cur:
        lines.append(cur)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        lines[-1] = (last[: max(0, width_chars - 1)] + "…") if len(last) >= width_chars else last + " …"
    return lines or [""]


def _label(d: dict[str, Any]) -> tuple[str, str]:
    """(short visible label, full tooltip text) for a node."""
    kind = _kind(d)
    label = str(d.get("label", "") or d.get("type", "") or kind)
    full = label
    if kind == "evidence" and d.get("source"):
        full = f"{label}\n{d['source']}"
    if kind == "recommendation" and d.get("risk") is not None:
        label = f"{label} (risk {d['risk']})"
        full = label
    if kind == "rule" and d.get("title"):
        full = f"{label}: {d['title']}"
    return label, full


def render_svg(graph: dict[str, Any] | nx.DiGraph, *, case: int | None = None, title: str = "Causal graph",
               highlight: Iterable[str] = (), uid: str = "g") -> Markup:
    """Draw the graph (optionally one finding's part) as a self-contained inline <svg>."""
    g = prune_recommendation_edges(case_subgraph(to_digraph(graph), case))
    hl = {str(h) for h in highlight}
    uid = "".join(c for c in uid if c.isalnum() or c in "-_") or "g"
    if g.number_of_nodes() == 0:
        return Markup('<svg xmlns="http://www.w3.org/2000/svg" class="graph graph-empty" width="420" height="40" '
                      'role="img" aria-label="no causal graph"><text x="8" y="24" class="empty">'
                      'No rule fired for this finding: there is no causal graph to draw.</text></svg>')
    layer = _layers(g)
    cols = _order(g, layer)
    col_w = [max((WIDTH[_kind(g.nodes[n])] for n in col), default=160) for col in cols]
    boxes: dict[str, tuple[float, float, float, float, list[str]]] = {}
    heights = []
    for ci, col in enumerate(cols):
        y = 0.0
        for n in col:
            w = col_w[ci]
            cw = MONO_W if _kind(g.nodes[n]) == "evidence" else CHAR_W
            lines = wrap(_label(g.nodes[n])[0], int((w - 2 * PAD) / cw))
            h = len(lines) * LINE_H + 2 * PAD - 3
            boxes[n] = (0.0, y, w, h, lines)
            y += h + GAP_Y
        heights.append(y - GAP_Y if col else 0)
    legend_h = 30
    total_h = max(heights, default=0)
    x = 8.0
    for ci, col in enumerate(cols):
        offset = (total_h - heights[ci]) / 2 + legend_h
        for n in col:
            _, y, w, h, lines = boxes[n]
            boxes[n] = (x, y + offset, w, h, lines)
        x += col_w[ci] + GAP_X
    width = int(x - GAP_X + 8)
    height = int(total_h + legend_h + 10)
    out: list[str] = [
        # scales down to the page width (print, narrow screens) but never below 70 %: wider graphs scroll
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 {width} {height}" '
        f'style="width:100%;max-width:{width}px;min-width:{int(width * 0.7)}px" '
        f'data-width="{width}" data-height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    lx = 8
    for kind in KIND_ORDER:
        if any(_kind(d) == kind for _, d in g.nodes(data=True)):
            out.append(f'<g class="legend node kind-{kind}"><rect x="{lx}" y="6" width="14" height="14" rx="3"/>'
                       f'<text x="{lx + 20}" y="18">{escape(KIND_TITLE[kind])}</text></g>')
            lx += 40 + int(len(KIND_TITLE[kind]) * CHAR_W)
    for u, v, d in g.edges(data=True):
        x1, y1, w1, h1, _ = boxes[u]
        x2, y2, _w2, h2, _ = boxes[v]
        sx, sy = x1 + w1, y1 + h1 / 2
        tx, ty = x2, y2 + h2 / 2
        if tx <= sx:  # same or earlier column (cycle-breaking): loop around the right side
            sx, tx = x1 + w1, x2 + boxes[v][2]
        dx = max(24.0, (tx - sx) / 2)
        cls = "edge" + (" hl" if u in hl and v in hl else "")
        rel = escape(str(d.get("relation", "")))
        out.append(f'<path class="{cls} rel-{rel}" data-from="{escape(str(u))}" data-to="{escape(str(v))}" '
                   f'd="M{sx:.1f},{sy:.1f} C{sx + dx:.1f},{sy:.1f} '
                   f'{tx - dx:.1f},{ty:.1f} {tx - 2:.1f},{ty:.1f}" marker-end="url(#{uid}-arrow)"/>')
    for n, (bx, by, w, h, lines) in boxes.items():
        d = g.nodes[n]
        kind = _kind(d)
        _short, full = _label(d)
        cls = f"node kind-{kind}" + (" hl" if n in hl else "")
        if kind == "fact" and d.get("type"):
            cls += f" fact-{escape(str(d['type']))}"
        out.append(f'<g class="{cls}" data-id="{escape(str(n))}"><title>{escape(full)}</title>'
                   f'<rect x="{bx:.1f}" y="{by:.1f}" width="{w}" height="{h}" rx="6"/>')
        mono = ' class="mono"' if kind == "evidence" else ""
        for i, line in enumerate(lines):
            out.append(f'<text x="{bx + PAD:.1f}" y="{by + PAD + 10 + i * LINE_H:.1f}"{mono}>{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))


def node_ids_by_kind(graph: dict[str, Any] | nx.DiGraph, case: int | None = None) -> dict[str, list[str]]:
    g = case_subgraph(to_digraph(graph), case)
    out: dict[str, list[str]] = {k: [] for k in KIND_ORDER}
    for n, d in g.nodes(data=True):
        out[_kind(d)].append(n)
    return out
