"""Untrusted input: whatever the log lines carry, the engine answers with a valid, evidenced finding."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.engine.explainer import explain_stories
from diagnose.engine.facts import Query
from diagnose.engine.rulebase import KNOWN_EVENT_KINDS
from diagnose.model import CONFIDENCES, OUTCOMES, STAGES, ConnectionStory, Event, MessageStory

KINDS = sorted(KNOWN_EVENT_KINDS)
FIELD_NAMES = ["action", "rule", "sender_group", "sbrs", "sbrs_score", "verdict", "interim", "engine", "reason",
               "recipient", "sender", "rid", "rids", "target", "quarantine", "filter", "response", "dsn", "code",
               "id", "sid", "text", "fact_id", "\x00", "", "x" * 80]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=60),
    st.sampled_from(["REJECT", "ACCEPT", "TCPREFUSE", "spam positive", "Dropped by CASE", "sbrs[-10.0:-2.5]", "None"]),
    st.lists(st.integers(min_value=0, max_value=3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers()),
)
EVENT = st.builds(
    lambda kind, fields, text, n: Event(kind, datetime(2024, 10, 7, 13, 0, n % 60), "SN", f"mail_logs:{n}", text,
                                        fields),
    st.sampled_from(KINDS), st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=6),
    st.text(max_size=80), st.integers(min_value=1, max_value=10_000),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENT, min_size=1, max_size=12), st.lists(EVENT, max_size=6))
def test_any_events_give_a_valid_evidenced_finding(msg_events, conn_events):
    msg = MessageStory("SN", 7, icid=9, events=msg_events)
    conn = ConnectionStory("SN", 9, events=conn_events, mids=[7])
    answer = explain_stories(Query(mid=7), messages=[(msg, conn)])
    assert answer.findings
    for f in answer.findings:
        assert f.outcome in OUTCOMES and f.stage in STAGES and f.confidence in CONFIDENCES
        assert f.evidence, f.summary
        assert [p["stage"] for p in f.path] == [s for s in STAGES if s != "unknown"]
        assert all(p["status"] in ("passed", "stopped", "not_reached", "unknown") for p in f.path)
        assert "\x00" not in f.summary


def test_values_that_are_not_json_numbers_never_reach_the_rule_engine():
    """inf/nan floats and integers beyond 64 bits made durable-rules refuse the case (error 204) or
    crash the process (segmentation fault): they are kept as text."""
    t = datetime(2024, 10, 7, 13, 0, 1)
    msg = MessageStory("SN", 7, icid=9, events=[
        Event("filter_action", t, "SN", "mail_logs:1", "x", {"response": float("-inf"), "code": float("nan"),
                                                           "dsn": 2**80, "rid": -2**70}),
    ])
    conn = ConnectionStory("SN", 9, mids=[7], events=[
        Event("invalid_sender", t, "SN", "mail_logs:2", "y", {"response": "Infinity", "sbrs_score": float("inf")}),
    ])
    answer = explain_stories(Query(mid=7), messages=[(msg, conn)])
    assert answer.findings and answer.findings[0].evidence
