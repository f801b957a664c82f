"""Answers from a Message Tracking last state alone carry the remedies a log-based answer gets."""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose import api

CSV_HEADER = ["Time", "Sender", "Recipient", "Subject", "Last State", "MID", "ICID", "Sender IP", "SBRS",
              "Attachment Name", "Custom Tag"]
STATES = {
    2001: "Dropped by antivirus",
    2002: "Quarantined by Anti-Spam/Graymail",
    2003: "Delivered",
    2004: "Hard bounced",
    2005: "Quarantined by Multiple Engines",
}


def _csv(tmp_path):
    p = tmp_path / "export.csv"
    with p.open("w", newline="") as fh:
        fh.write("Message Tracking - search results exported 26 Nov 2026\n")
        w = csv.writer(fh)
        w.writerow(CSV_HEADER)
        for mid, state in STATES.items():
            w.writerow(["26 Nov 2026 10:01:02 (GMT +01:00)", "partner@example.com", "alice@corp.example", "Invoice",
                        state, mid, 5000 + mid, "203.0.113.7", "-1.2", "", ""])
    return p


def _json(tmp_path):
    def rec(mid, state):
        return {"attributes": {
            "hostName": "esa1.example.net", "serialNumber": "SN1", "messageStatus": {str(mid): state},
            "recipientMap": {str(mid): ["alice@corp.example"]}, "recipient": ["alice@corp.example"],
            "senderIp": "203.0.113.7", "mid": [mid], "icid": 5000 + mid, "sender": "partner@example.com",
            "timestamp": "26 Nov 2026 10:01:02 (GMT)", "subject": "Invoice"}}
    p = tmp_path / "search.json"
    p.write_text(json.dumps({"meta": {"totalCount": len(STATES)}, "data": [rec(m, s) for m, s in STATES.items()]}))
    return p


@pytest.fixture(params=["csv", "json"])
def export(request, tmp_path):
    return (_csv if request.param == "csv" else _json)(tmp_path)


def _finding(path, mid):
    answer = api.explain(tracking=str(path), mid=mid, offline=True)
    return answer.findings[0]


@pytest.mark.parametrize(("mid", "outcome", "stage", "sources"), [
    (2001, "dropped", "antivirus", ["none-working-as-intended", "sender-fix-content"]),
    (2002, "quarantined", "antispam",
     ["euq-safelist", "release-spam-quarantine", "submit-false-positive", "mail-policy-skip-antispam"]),
    (2003, "delivered", "delivery", ["fix-destination-downstream"]),
    (2004, "bounced", "delivery", ["fix-destination-server"]),
])
def test_last_state_alone_carries_the_stage_remedies(export, mid, outcome, stage, sources):
    f = _finding(export, mid)
    assert (f.outcome, f.stage) == (outcome, stage)
    assert f.confidence == "likely"  # the remedies do not make the state any surer
    assert [r.source for r in f.recommendations] == sources
    assert [r.risk for r in f.recommendations] == sorted(r.risk for r in f.recommendations)
    assert any("Only the tracking last state" in g and f"MID {mid}" in g for g in f.gaps)
    assert f.evidence and all(e.source.startswith("tracking:") for e in f.evidence)
    assert any(f.extra["likely_cause"] in w for w in f.why)


def test_placeholders_are_filled_from_the_record(export):
    f = _finding(export, 2002)
    bypass = next(r for r in f.recommendations if r.source == "mail-policy-skip-antispam")
    assert "sender partner@example.com" in bypass.cli
    server = next(r for r in _finding(export, 2004).recommendations if r.source == "fix-destination-server")
    assert "hoststatus corp.example" in server.cli  # the recipient's domain for a delivery remedy


@pytest.mark.parametrize(("scenario", "mid", "tmid"), [("av_positive_drop", 6801, 2001),
                                                       ("as_quarantine_local", 37, 2002)])
def test_same_remedies_as_the_log_based_answer(data_dir, tmp_path, scenario, mid, tmid):
    logged = api.explain([str(data_dir / "scenarios" / f"{scenario}.log")], mid=mid, offline=True).findings[0]
    assert logged.confidence == "certain"
    tracked = _finding(_csv(tmp_path), tmid)
    assert (tracked.outcome, tracked.stage) == (logged.outcome, logged.stage)
    assert tracked.extra["likely_cause"] == logged.cause
    assert [r.source for r in tracked.recommendations] == [r.source for r in logged.recommendations]


def test_multiple_engines_is_quarantined_at_an_unknown_stage(export):
    f = _finding(export, 2005)
    assert (f.outcome, f.stage) == ("quarantined", "unknown")
    assert f.confidence != "certain"
    assert "likely_cause" not in f.extra  # no engine is named, so no cause is guessed
    assert f.recommendations and {r.kind for r in f.recommendations} == {"release_quarantine"}
    assert "release-virus-quarantine" not in {r.source for r in f.recommendations}
    assert all("released from every one of them" in r.when_not for r in f.recommendations)
    assert any("quarantined to" in g and "MID 2005" in g for g in f.gaps)
    assert all(p["status"] != "stopped" for p in f.path)  # no stage is said to have stopped it


def test_logged_stop_keeps_its_own_remedies(data_dir, tmp_path):
    """A log-based answer is not touched: the tracking remedies only fill an answer no rule gave."""
    f = api.explain([str(data_dir / "scenarios" / "av_positive_drop.log")], mid=6801, offline=True,
                    tracking=str(_csv(tmp_path))).findings[0]
    assert f.cause == "virus_detected" and f.confidence == "certain"
    assert "likely_cause" not in f.extra


_WORDS = ["Dropped", "Quarantined", "Delivered", "Hard", "bounced", "by", "antivirus", "Anti-Spam/Graymail",
          "Multiple", "Engines", "content", "filter", "Rejected", "RAT", "Released", "=cmd|'/C calc'!A0", "<b>x</b>"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=5))
def test_any_last_state_gives_an_honest_answer(tmp_path, words):
    state = " ".join(words)
    p = tmp_path / "one.csv"
    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_HEADER)
        w.writerow(["26 Nov 2026 10:01:02 (GMT)", "a@example.com", "b@corp.example", "s", state, 7, 8, "192.0.2.1",
                    "", "", ""])
    f = _finding(p, 7)
    assert f.confidence != "certain"  # a status column alone never is
    if f.recommendations:
        assert f.outcome != "unknown"
        assert [r.risk for r in f.recommendations] == sorted(r.risk for r in f.recommendations)
    if f.outcome != "unknown":
        assert any("Only the tracking last state" in g for g in f.gaps)
