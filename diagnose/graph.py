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


def add_case(g: nx.DiGraph, n: int, record: Record, finding: Finding | None = None, *,
             prefix: str | None = None, recommendations: list[Any] | None = None) -> None:
    """Add one case's justifications to the graph under prefix `n` (node attribute `case` = n).

    A finding told by several MIDs (a chain) adds each MID's case with its own `prefix` ("0", "0.1")
    and the recommendations that case contributed."""
    case = n
    p = str(n) if prefix is None else prefix
    for j in record.justifications:
        derived = record.facts[j.fact_id]
        rule_node = f"{p}:rule:{j.rule_id}:{j.order}"
        fact_node = f"{p}:fact:{j.fact_id}"
        g.add_node(rule_node, kind="rule", label=j.rule_id, case=case)
        g.add_node(fact_node, kind="fact", type=derived.type, label=_fact_label(derived.fields, derived.type),
                   case=case)
        g.add_edge(rule_node, fact_node, relation="derives")
        for alias, fid in j.inputs:
            src = record.facts.get(fid)
            if src is None:
                continue
            if src.derived:
                g.add_edge(f"{p}:fact:{fid}", rule_node, relation="matched", alias=alias)
                continue
            ev = src.evidence()
            node = f"{p}:evidence:{fid}"
            g.add_node(node, kind="evidence", type=src.type, label=ev.text if ev else src.type,
                       source=ev.source if ev else "", case=case)
            g.add_edge(node, rule_node, relation="matched", alias=alias)
    recs = recommendations if recommendations is not None else (finding.recommendations if finding else None)
    if not recs:
        return
    from diagnose.engine.findings import final_stop  # local: findings imports nothing from here

    remedies = record.derived("remedy")
    stop = final_stop(record)
    for rec in recs:
        node = f"{n}:recommendation:{rec.source or rec.kind}"
        g.add_node(node, kind="recommendation", label=rec.title, risk=rec.risk, rec_kind=rec.kind, case=case)
        # the remedy fact that named it (by catalogue id, else by kind); else the final stop's cause
        sources = [f for f in remedies if f.get("ref") == rec.source] or \
                  [f for f in remedies if not f.get("ref") and f.get("kind") == rec.kind]
        if not sources and stop is not None:
            sources = [stop]
        for f in sources:
            g.add_edge(f"{p}:fact:{f.id}", node, relation="recommends")


def add_chain(g: nx.DiGraph, n: int, chain: Any) -> None:
    """One finding told by one or more MIDs (diagnose.engine.chain.Chain): each MID's case, and a
    hand-over node between them: the line that says so, the case's last stop -> "continues as MID b"
    -> what the next MID concluded."""
    from diagnose.engine.findings import final_stop

    prefixes = [str(n) if k == 0 else f"{n}.{k}" for k in range(len(chain.steps))]
    for k, step in enumerate(chain.steps):
        add_case(g, n, step.record, prefix=prefixes[k], recommendations=step.recommendations)
    for k, h in enumerate(chain.handovers):
        node = f"{n}:handover:{k}"
        g.add_node(node, kind="fact", type="handover", label=f"handover: {h.relation} MID {h.mid}", case=n)
        step = chain.steps[k]
        stop = final_stop(step.record)
        if stop is not None:
            g.add_edge(f"{prefixes[k]}:fact:{stop.id}", node, relation="handed_over")
        line = next((f for f in step.record.facts.values() if h.event is not None and f.event is h.event), None)
        if line is not None:
            ev = line.evidence()
            src = f"{prefixes[k]}:evidence:{line.id}"
            if src not in g:
                g.add_node(src, kind="evidence", type=line.type, label=ev.text if ev else line.type,
                           source=ev.source if ev else "", case=n)
            g.add_edge(src, node, relation="matched")
        if k + 1 < len(chain.steps):
            nxt = final_stop(chain.steps[k + 1].record)
            if nxt is not None:
                g.add_edge(node, f"{prefixes[k + 1]}:fact:{nxt.id}", relation="continued_as")


def build_graph(cases: list[tuple[Record, Finding | None]]) -> nx.DiGraph:
    g = nx.DiGraph()
    for n, (record, finding) in enumerate(cases):
        add_case(g, n, record, finding)
    return g


def build_chain_graph(chains: list[Any]) -> nx.DiGraph:
    """The answer's graph: finding n's chain (one or more MID cases) under prefix n."""
    g = nx.DiGraph()
    for n, chain in enumerate(chains):
        add_chain(g, n, chain)
    return g


def to_json(g: nx.DiGraph) -> dict[str, Any]:
    data = nx.node_link_data(g, edges="links")
    return {"nodes": data["nodes"], "links": data["links"]}
