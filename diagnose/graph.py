"""Causal graph from the engine's justifications: evidence -> rule -> derived fact -> recommendation.

One graph for an `explain` answer; node ids are prefixed with the finding number so that
several cases do not collide. Serialised as node-link JSON ({"nodes": [...], "links": [...]}).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from diagnose.engine.justify import Record
from diagnose.model import Finding


def _fact_label(fields: dict[str, Any], ftype: str) -> str:
    keys = ("stage", "outcome", "cause", "kind", "ref", "missing", "detail")
    parts = [f"{k}={fields[k]}" for k in keys if fields.get(k) not in (None, "")]
    return f"{ftype}: " + ", ".join(parts) if parts else ftype


def add_case(g: nx.DiGraph, n: int, record: Record, finding: Finding | None = None) -> None:
    """Add one case's justifications to the graph under prefix `n`."""
    for j in record.justifications:
        derived = record.facts[j.fact_id]
        rule_node = f"{n}:rule:{j.rule_id}:{j.order}"
        fact_node = f"{n}:fact:{j.fact_id}"
        g.add_node(rule_node, kind="rule", label=j.rule_id, case=n)
        g.add_node(fact_node, kind="fact", type=derived.type, label=_fact_label(derived.fields, derived.type), case=n)
        g.add_edge(rule_node, fact_node, relation="derives")
        for alias, fid in j.inputs:
            src = record.facts.get(fid)
            if src is None:
                continue
            if src.derived:
                g.add_edge(f"{n}:fact:{fid}", rule_node, relation="matched", alias=alias)
                continue
            ev = src.evidence()
            node = f"{n}:evidence:{fid}"
            g.add_node(node, kind="evidence", type=src.type, label=ev.text if ev else src.type,
                       source=ev.source if ev else "", case=n)
            g.add_edge(node, rule_node, relation="matched", alias=alias)
    if finding is None:
        return
    from diagnose.engine.findings import final_stop  # local: findings imports nothing from here

    remedies = record.derived("remedy")
    stop = final_stop(record)
    for rec in finding.recommendations:
        node = f"{n}:recommendation:{rec.source or rec.kind}"
        g.add_node(node, kind="recommendation", label=rec.title, risk=rec.risk, rec_kind=rec.kind, case=n)
        # the remedy fact that named it (by catalogue id, else by kind); else the final stop's cause
        sources = [f for f in remedies if f.get("ref") == rec.source] or \
                  [f for f in remedies if not f.get("ref") and f.get("kind") == rec.kind]
        if not sources and stop is not None:
            sources = [stop]
        for f in sources:
            g.add_edge(f"{n}:fact:{f.id}", node, relation="recommends")


def build_graph(cases: list[tuple[Record, Finding | None]]) -> nx.DiGraph:
    g = nx.DiGraph()
    for n, (record, finding) in enumerate(cases):
        add_case(g, n, record, finding)
    return g


def to_json(g: nx.DiGraph) -> dict[str, Any]:
    data = nx.node_link_data(g, edges="links")
    return {"nodes": data["nodes"], "links": data["links"]}
