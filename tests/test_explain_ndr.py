"""--ndr together with --logs: the bounce text's finding is ranked with the log findings and drawn
in the same causal graph."""

from __future__ import annotations

from pathlib import Path

from diagnose import api

SAMPLE = str(Path(__file__).resolve().parents[1] / "diagnose" / "sample" / "mail_logs")
NDR = "550 #5.1.0 Address rejected."


def _cases(answer) -> set:
    return {n["case"] for n in answer.graph["nodes"]}


def test_ndr_after_what_the_logs_establish_and_in_the_graph():
    a = api.explain([SAMPLE], recipient="erin@example.com", offline=True, ndr=NDR)
    assert [f.extra.get("source") for f in a.findings] == [None, "ndr"]
    assert a.findings[0].outcome == "delivered" and a.findings[1].stage == "rat"
    assert _cases(a) == {0, 1} and len(a.records) == len(a.findings)
    ndr_nodes = [n for n in a.graph["nodes"] if n["case"] == 1]
    assert any(n["kind"] == "evidence" and n["source"] == "ndr" for n in ndr_nodes)
    assert any(n["kind"] == "recommendation" for n in ndr_nodes)


def test_ndr_before_the_logs_unknown_answer():
    a = api.explain([SAMPLE], sender="nobody@nowhere.example", offline=True, ndr=NDR)
    assert [f.outcome for f in a.findings] == ["rejected", "unknown"]
    assert a.findings[0].extra.get("source") == "ndr" and a.findings[1].cause == "not_found"
    assert 0 in _cases(a)  # the bounce text's reasoning is drawn under its rank


def test_ndr_alone_still_answers():
    a = api.explain([], ndr=NDR)
    (f,) = a.findings
    assert f.stage == "rat" and a.graph["nodes"] and a.searched == ["the bounce text given with --ndr"]
