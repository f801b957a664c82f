"""Logs + tracking: combined, the logs win, disagreements are shown; tracking-only messages kept."""

from __future__ import annotations

from datetime import datetime

from diagnose.collectors.tracking import combine, log_disposition, tracking_stories
from diagnose.model import ConnectionStory, Event, MessageStory

SN = "TESTSERIALNUMBER"


def ev(kind, n, text, **fields):
    return Event(kind, datetime(2022, 9, 7, 8, 10, 30 + n), SN, f"mail_logs:{n}", text, fields)


def log_stories(sender="testtest@amazonses.com", done=True, partial_end=False):
    msg = MessageStory(appliance=SN, mid=316, icid=16516, partial_end=partial_end)
    msg.events = [
        ev("mid_start", 1, "Start MID 316 ICID 16516", mid=316, icid=16516),
        ev("mid_from", 2, f"MID 316 ICID 16516 From: <{sender}>", mid=316, icid=16516, sender=sender),
        ev("mid_to", 3, "MID 316 ICID 16516 RID 0 To: <test@test.com>", mid=316, icid=16516, rid=0,
           recipient="test@test.com"),
    ]
    if done:
        msg.events.append(ev("message_done", 9, "Message done DCID 4355 MID 316 to RID [0]", mid=316, dcid=4355,
                             rids=[0], target=""))
    con = ConnectionStory(appliance=SN, icid=16516, mids=[316])
    con.events = [ev("icid_new", 0, "New SMTP ICID 16516 interface Data 1 (10.0.0.1) address 2.2.2.2", icid=16516,
                     ip="2.2.2.2")]
    return [con], [msg]


def test_agreeing_sources_merge_without_disagreement(data_dir):
    tc, tm = tracking_stories(data_dir / "tracking" / "demisto_sma_message_search.json")[:2]
    lc, lm = log_stories()
    out = combine(lc, lm, tc, tm)
    assert out.disagreements == []
    merged = next(m for m in out.messages if m.mid == 316)
    assert merged is lm[0]
    # the logs already say how it ended: the weaker tracking last state is not added
    assert merged.first("tracking_last_state") is None
    # the tracking adds what the logs lack (subject, Message-ID), with its own source
    assert merged.first("mid_subject").source.startswith("tracking:")
    # tracking-only messages (315, 317, 318) are kept, explained from tracking alone
    assert sorted(m.mid for m in out.tracking_only) == [315, 317, 318]
    assert sorted(m.mid for m in out.messages) == [315, 316, 317, 318]
    # the shared connection keeps the log's line and gains the sender group from tracking
    con = next(c for c in out.connections if c.icid == 16516)
    assert con.first("icid_new").source == "mail_logs:0"
    assert con.first("hat_decision").get("sender_group") == "ACCEPTLIST"


def test_logs_win_and_disagreements_are_shown(data_dir):
    tc, tm = tracking_stories(data_dir / "tracking" / "demisto_sma_message_search.json")[:2]
    lc, lm = log_stories(sender="someone.else@example.net")
    lm[0].events.append(ev("filter_action", 8, "MID 316 was dropped by content filter 'x' in the inbound table",
                           mid=316, action="dropped", filter="x"))
    lm[0].events = [e for e in lm[0].events if e.kind != "message_done"]
    out = combine(lc, lm, tc, tm)
    whats = {d.get("what"): d for d in out.disagreements}
    assert set(whats) == {"sender", "final state"}
    d = whats["sender"]
    assert d.get("log_value") == "someone.else@example.net" and d.get("tracking_value") == "testtest@amazonses.com"
    assert d.get("log_source") == "mail_logs:2" and "#/data/1/attributes/sender" in d.get("tracking_source")
    assert "the logs win" in d.text
    merged = next(m for m in out.messages if m.mid == 316)
    assert merged.sender == "someone.else@example.net"  # the log's sender is the one the story reports
    assert [e.get("sender") for e in merged.all("mid_from")] == ["someone.else@example.net"]
    fs = whats["final state"]
    assert fs.get("log_value") == "dropped" and "Delivered" in fs.get("tracking_value")
    assert merged.first("tracking_disagreement") is not None  # the engine/report can show it


def test_partial_log_gets_its_end_from_tracking(data_dir):
    tc, tm = tracking_stories(data_dir / "tracking" / "demisto_sma_message_search.json")[:2]
    lc, lm = log_stories(done=False, partial_end=True)
    assert log_disposition(lm[0]) == (None, None)
    out = combine(lc, lm, tc, tm)
    merged = next(m for m in out.messages if m.mid == 316)
    last = merged.first("tracking_last_state")
    assert last is not None and last.get("outcome") == "delivered" and last.get("confidence") == "likely"


def test_recipient_disagreement(data_dir):
    tc, tm = tracking_stories(data_dir / "tracking" / "demisto_sma_message_search.json")[:2]
    lc, lm = log_stories()
    lm[0].events[2] = ev("mid_to", 3, "MID 316 ICID 16516 RID 0 To: <other@test.com>", mid=316, icid=16516, rid=0,
                         recipient="other@test.com")
    out = combine(lc, lm, tc, tm)
    assert [d.get("what") for d in out.disagreements] == ["recipient"]
    assert next(m for m in out.messages if m.mid == 316).recipients == {0: "other@test.com"}


def test_mid_on_another_appliance_is_not_merged(data_dir):
    tc, tm = tracking_stories(data_dir / "tracking" / "demisto_sma_message_search.json")[:2]
    lc, lm = log_stories()
    other = MessageStory(appliance="OTHER-SN", mid=316)
    other.events = [Event("mid_from", None, "OTHER-SN", "mail_logs:99", "x", {"mid": 316, "sender": "q@r"})]
    lm.append(other)
    out = combine(lc, lm, tc, tm)
    assert out.disagreements == []
    assert other.first("mid_subject") is None  # matched by appliance, not just by MID
