"""Follow-on MIDs: a message reinjected, rewritten or split for its recipient is ONE finding whose
outcome is the chain's last disposition ("the final state counts"), through the real reader,
correlator, search and rulebase."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose import api
from diagnose.engine.explainer import explain_stories, stories_from_search
from diagnose.engine.facts import Query

SAMPLE = Path(__file__).resolve().parents[1] / "diagnose" / "sample" / "mail_logs"
SCENARIOS = Path(__file__).parent / "data" / "scenarios"


@pytest.fixture(scope="module")
def erin():
    return api.explain([str(SAMPLE)], recipient="erin@example.com", offline=True)


def test_released_and_reinjected_message_is_one_delivered_finding(erin):
    (f,) = erin.findings
    assert (f.outcome, f.stage, f.confidence) == ("delivered", "delivery", "certain")
    assert f.extra["chain"] == [117416, 117443] and f.mid == 117443 and f.icid == 40241
    assert [h["outcome"] for h in f.extra["history"]] == ["quarantined", "handed_over", "delivered"]
    assert "delivered late as MID 117443" in f.summary and "reinjected as MID 117443" in f.summary
    assert "1 h 45 min after it arrived" in f.summary  # 08:40:04 arrival, 10:25:10 delivery
    texts = [e.text for e in f.evidence]
    assert "ISQ: Quarantined MID 117416" in texts and "ISQ: Reinjected MID 117416 as MID 117443" in texts
    assert any(t.startswith("Message done DCID 66189 MID 117443") for t in texts)
    times = [e.time for e in f.evidence if e.time]
    assert times == sorted(times)
    assert any(w.startswith("AS-QUARANTINE-LOCAL") for w in f.why) and any(w.startswith("DLV-DELIVERED") for w in f.why)
    assert any(w.startswith("CHAIN: MID 117416") for w in f.why)
    kinds = [r.kind for r in f.recommendations]
    # the quarantine's remedies still make sense; retrying a delivery that has happened does not
    assert {"safelist", "submit_to_cisco", "fix_destination"} <= set(kinds) and "retry_delivery" not in kinds
    assert [r.risk for r in f.recommendations] == sorted(r.risk for r in f.recommendations)
    status = {p["stage"]: p["status"] for p in f.path}
    assert status["antispam"] == "passed" and status["delivery"] == "passed"
    assert not any(g.startswith("No rule recognised") for g in f.gaps)


def test_the_graph_spans_both_mids(erin):
    nodes = {n["id"]: n for n in erin.graph["nodes"]}
    assert {n["case"] for n in nodes.values()} == {0}
    assert any(i.startswith("0:") for i in nodes) and any(i.startswith("0.1:") for i in nodes)
    (hand,) = [i for i, n in nodes.items() if n.get("type") == "handover"]
    into = {lk["source"] for lk in erin.graph["links"] if lk["target"] == hand}
    out = {lk["target"] for lk in erin.graph["links"] if lk["source"] == hand}
    assert any(nodes[s]["kind"] == "evidence" and "Reinjected MID 117416" in nodes[s]["label"] for s in into)
    assert any(s.startswith("0:fact:") for s in into)  # the release stop of MID 117416
    assert out and all(t.startswith("0.1:fact:") and "outcome=delivered" in nodes[t]["label"] for t in out)
    recs = [i for i, n in nodes.items() if n["kind"] == "recommendation"]
    assert {nodes[r]["rec_kind"] for r in recs} == {r.kind for r in erin.findings[0].recommendations}
    assert len(erin.records) == len(erin.findings)


def test_follow_on_mid_missing_from_the_logs_stays_honest():
    a = api.explain([str(SCENARIOS / "dlv_released_follow_on_missing.log")], mid=7392, offline=True)
    (f,) = a.findings
    assert (f.outcome, f.cause, f.confidence) == ("deferred", "released_from_spam_quarantine", "possible")
    assert f.extra["chain"] == [7392, 7393]
    assert f.gaps[0].startswith("MID 7393 is not in these logs: add the mail_logs after 2026-11-25 18:10:05")
    assert "whether the message was delivered is not known" in f.summary
    assert "retry_delivery" in {r.kind for r in f.recommendations}  # not superseded: no delivery seen


def test_follow_on_mid_without_a_final_state(tmp_path):
    log = tmp_path / "mail_logs"
    log.write_text((SCENARIOS / "dlv_released_follow_on_missing.log").read_text(encoding="utf-8")
                   + "Wed Nov 25 18:10:05 2026 Info: Start MID 7393 ICID 0\n"
                   "Wed Nov 25 18:10:05 2026 Info: MID 7393 ICID 0 From: <digest@newsletter9.example>\n"
                   "Wed Nov 25 18:10:05 2026 Info: MID 7393 ICID 0 RID 0 To: <gail@example.com>\n", encoding="utf-8")
    (f,) = api.explain([str(log)], recipient="gail@example.com", offline=True).findings
    assert (f.outcome, f.confidence, f.mid) == ("deferred", "possible", 7392)
    assert f.extra["chain"] == [7392, 7393]
    assert f.gaps[0].startswith("MID 7393 is in these logs, but not how it ended")
    assert any(e.text == "Start MID 7393 ICID 0" for e in f.evidence)
    assert not any(g.startswith("No rule recognised") for g in f.gaps)


def test_without_the_whole_search_a_missing_mid_is_not_said_absent_from_the_logs():
    result = api.find_stories([str(SAMPLE)], recipient="erin@example.com")
    pairs, _ = stories_from_search(result)
    parent = [(m, c) for m, c in pairs if m.mid == 117416]
    (f,) = explain_stories(Query(mid=117416), parent).findings  # as batch does, one story at a time
    assert f.confidence == "possible" and f.extra["chain"] == [117416, 117443]
    assert "MID 117443 is not among the messages explained here" in f.gaps[0]


def test_split_recipient_follows_to_the_split_off_mid():
    a = api.explain([str(SCENARIOS / "slbl_split_delivered.log")], mid=24611507, offline=True)
    by_rcpt = {f.recipient: f for f in a.findings}
    assert set(by_rcpt) == {"user36@mycompany.example", "user37@mycompany.example"}
    moved, stayed = by_rcpt["user37@mycompany.example"], by_rcpt["user36@mycompany.example"]
    assert moved.outcome == "delivered" and moved.extra["chain"] == [24611507, 24611528] and moved.mid == 24611528
    assert "split off for this recipient as MID 24611528" in moved.summary
    assert stayed.mid == 24611507 and "chain" not in stayed.extra  # the split did not take user36


def test_a_final_disposition_is_not_followed(tmp_path):
    """Delivered (or bounced) is final: a later link does not replace it."""
    from diagnose.model import Event, MessageStory

    def ev(kind, n, text, **f):
        from datetime import datetime
        return Event(kind, datetime(2026, 1, 1, 10, 0, n), "SN", f"mail_logs:{n}", text, f)

    parent = MessageStory("SN", 5, links=[("rewritten_to", 6)], events=[
        ev("mid_to", 1, "MID 5 ICID 0 RID 0 To: <a@example.com>", mid=5, rid=0, recipient="a@example.com"),
        ev("message_done", 2, "Message done DCID 9 MID 5 to RID [0]", mid=5, dcid=9, rids=[0], target=""),
        ev("response", 3, "MID 5 RID [0] Response '2.0.0 Ok'", mid=5, rids=[0], response=["2.0.0 Ok"], dsn="2.0.0"),
    ])
    child = MessageStory("SN", 6, links=[("rewritten_from", 5)], events=[
        ev("mid_to", 4, "MID 6 ICID 0 RID 0 To: <a@example.com>", mid=6, rid=0, recipient="a@example.com"),
    ])
    a = explain_stories(Query(recipient="a@example.com"), [(parent, None), (child, None)])
    delivered = next(f for f in a.findings if f.mid == 5)
    assert delivered.outcome == "delivered" and "chain" not in delivered.extra


def test_batch_overview_tells_a_chain_once():
    """The period overview (batch --logs, no INPUT) explains a message with its follow-on MIDs: Erin's
    released-then-delivered message is delivered, so it is not among the undelivered rows."""
    from diagnose.batchjob import overview
    from diagnose.engine.chain import with_follow_ons

    result = api.find_stories([str(SAMPLE)], recipient="erin@example.com")
    pairs, _ = stories_from_search(result)
    stories = {(m.appliance, m.mid): (m, c) for m, c in pairs}
    parent = next(p for p in pairs if p[0].mid == 117416)
    assert [m.mid for m, _ in with_follow_ons(parent, stories)] == [117416, 117443]
    rows = [r for kind, r in overview([str(SAMPLE)], show_progress=False) if kind == "row"]
    assert rows and not any(r["mid"] in (117416, 117443) for r in rows)
    assert any(r["mid"] == 117477 and r["outcome"] == "deferred" for r in rows)  # still told: not delivered


def test_asking_for_the_follow_on_mid_tells_the_whole_history():
    (f,) = api.explain([str(SAMPLE)], mid=117443, offline=True).findings
    assert f.outcome == "delivered" and f.extra["chain"] == [117416, 117443]
    assert "ISQ: Quarantined MID 117416" in [e.text for e in f.evidence]
    (g,) = api.explain([str(SCENARIOS / "slbl_split_delivered.log")], mid=24611528, offline=True).findings
    assert g.recipient == "user37@mycompany.example" and g.extra["chain"] == [24611507, 24611528]
    # the original's other recipient (user36, not split off) is not an answer to a question about MID 24611528
