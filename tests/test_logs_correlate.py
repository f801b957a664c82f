"""Correlation into stories: ICID -> MID -> RID -> DCID, links, partial lifecycles, appliances."""

from __future__ import annotations

import os
from datetime import datetime

from diagnose.collectors.correlate import count_stories, stories, to_events
from diagnose.collectors.reader import LogReader
from diagnose.model import ConnectionStory, MessageStory


def _log(tmp_path, body: str, name: str = "mail_logs.current", sn: str = "SN-1") -> str:
    p = tmp_path / name
    header = (f"Mon Oct  7 13:00:00 2024 Info: Begin Logfile\n"
              f"Mon Oct  7 13:00:00 2024 Info: Version: 15.0.0-104 SN: {sn}\n") if sn else ""
    lines = [ln.strip() for ln in body.strip().splitlines()]
    p.write_text(header + "\n".join(f"Mon Oct  7 {ln}" if ln[:2].isdigit() else ln for ln in lines) + "\n")
    return str(p)


def _stories(*paths):
    return stories(to_events(LogReader(list(paths))))


def _msg(msgs, mid, app=None) -> MessageStory:
    return next(m for m in msgs if m.mid == mid and (app is None or m.appliance == app))


def _conn(conns, icid) -> ConnectionStory:
    return next(c for c in conns if c.icid == icid)


def test_connection_messages_recipients_and_delivery(tmp_path):
    p = _log(tmp_path, """
        13:15:00 2024 Info: New SMTP ICID 880100 interface Data 1 (10.0.0.5) address 203.0.113.9 reverse dns host mx.partner.example verified yes
        13:15:00 2024 Info: ICID 880100 ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS 2.1 country France
        13:15:01 2024 Info: Start MID 5001 ICID 880100
        13:15:01 2024 Info: MID 5001 ICID 880100 From: <alice@partner.example>
        13:15:01 2024 Info: MID 5001 ICID 880100 RID 0 To: <bob@corp.example>
        13:15:01 2024 Info: MID 5001 ICID 880100 RID 1 To: <carol@corp.example>
        13:15:02 2024 Info: MID 5001 ready 2048 bytes from <alice@partner.example>
        13:15:02 2024 Info: ICID 880100 close
        13:15:03 2024 Info: MID 5001 queued for delivery
        13:15:03 2024 Info: New SMTP DCID 700 interface 10.0.0.5 address 192.0.2.25 port 25
        13:15:03 2024 Info: DCID 700 TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384
        13:15:03 2024 Info: Delivery start DCID 700 MID 5001 to RID [0, 1]
        13:15:04 2024 Info: Message done DCID 700 MID 5001 to RID [0, 1]
        13:15:04 2024 Info: MID 5001 RID [0, 1] Response '2.0.0 Ok: queued as ABC'
        13:15:04 2024 Info: Message finished MID 5001 done
        13:15:09 2024 Info: DCID 700 close
    """)
    conns, msgs = _stories(p)
    c = _conn(conns, 880100)
    assert c.ip == "203.0.113.9" and c.mids == [5001] and not c.partial_start and not c.partial_end
    m = _msg(msgs, 5001)
    assert m.icid == 880100 and m.sender == "alice@partner.example"
    assert m.recipients == {0: "bob@corp.example", 1: "carol@corp.example"}
    kinds = [e.kind for e in m.events]
    # DCID-only lines logged before the MID joined the connection are placed before its delivery start
    assert kinds.index("dcid_new") < kinds.index("delivery_start") and "dcid_tls" in kinds
    assert m.first("message_done").get("rids") == [0, 1]
    assert not m.partial_start and not m.partial_end
    assert all(e.appliance == "SN-1" for e in m.events)
    assert m.first("mid_start").source.endswith("mail_logs.current:5")


def test_rejected_connection_without_mid_and_tcprefuse(tmp_path):
    p = _log(tmp_path, """
        13:15:02 2024 Info: New SMTP ICID 880102 interface Data 1 (10.0.0.5) address 176.227.203.114 reverse dns host h176.example verified no
        13:15:02 2024 Info: ICID 880102 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5
        13:15:02 2024 Info: ICID 880102 close
        13:15:05 2024 Info: ICID 0 TCPREFUSE SG RBLBlacklist match dnslist[zen.spamhaus.org] SBRS None
    """)
    conns, msgs = _stories(p)
    assert msgs == []
    rej = _conn(conns, 880102)
    assert rej.mids == [] and rej.first("hat_decision").get("sbrs_score") == -9.5 and not rej.partial_end
    refused = _conn(conns, 0)
    assert refused.events[0].get("action") == "TCPREFUSE" and not refused.partial_start


def test_split_rewritten_and_bounce_links_both_ways(tmp_path):
    p = _log(tmp_path, """
        13:20:00 2024 Info: Start MID 10 ICID 44
        13:20:00 2024 Info: MID 10 ICID 44 From: <a@x.example>
        13:20:01 2024 Info: MID 10 was split creating MID 11 due to a per-recipient policy sales
        13:20:01 2024 Info: MID 10 rewritten to MID 12 by add-footer filter 'Footer'
        13:20:02 2024 Info: Message finished MID 10 done
        13:20:02 2024 Info: MID 11 queued for delivery
        13:20:03 2024 Info: Bounced: DCID 0 MID 11 From: <a@x.example> To: <nobody@gone.example> RID 0 - 5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up gone.example (MX):  NXDomain'])
        13:20:03 2024 Info: Start MID 13 ICID 0
        13:20:03 2024 Info: MID 13 generated for bounce of MID 11
        13:20:03 2024 Info: MID 13 ICID 0 From: <>
        13:20:04 2024 Info: Message finished MID 11 done
        13:20:04 2024 Info: Message finished MID 12 done
        13:20:05 2024 Info: Message finished MID 13 done
    """)
    _conns, msgs = _stories(p)
    assert ("split_to", 11) in _msg(msgs, 10).links and ("rewritten_to", 12) in _msg(msgs, 10).links
    child = _msg(msgs, 11)
    assert ("split_from", 10) in child.links and ("bounce", 13) in child.links
    assert not child.partial_start  # born from the split: its start is in the logs
    assert child.first("bounced").get("dsn") == "5.1.2"
    assert ("rewritten_from", 10) in _msg(msgs, 12).links
    bounce = _msg(msgs, 13)
    assert bounce.icid == 0 and ("bounce_of", 11) in bounce.links and not bounce.partial_start


def test_reinjected_from_spam_quarantine(tmp_path):
    p = _log(tmp_path, """
        08:00:00 2024 Info: Start MID 4433 ICID 9
        08:00:01 2024 Info: ISQ: Tagging MID 4433 for quarantine
        08:00:02 2024 Info: ISQ: Quarantined MID 4433
        08:00:03 2024 Info: Message finished MID 4433 done
        09:00:00 2024 Info: ISQ: Reinjected MID 4433 as MID 4449
        09:00:01 2024 Info: MID 4449 queued for delivery
        09:00:02 2024 Info: Message finished MID 4449 done
    """)
    _c, msgs = _stories(p)
    assert ("reinjected_as", 4449) in _msg(msgs, 4433).links
    assert ("reinjected_from", 4433) in _msg(msgs, 4449).links and not _msg(msgs, 4449).partial_start


def test_partial_start_and_end_are_marked_never_guessed(tmp_path):
    p = _log(tmp_path, """
        10:00:00 2024 Info: MID 77 using engine: CASE spam negative
        10:00:01 2024 Info: Message finished MID 77 done
        10:00:02 2024 Info: Start MID 78 ICID 5
        10:00:02 2024 Info: ICID 6 lost
        10:00:03 2024 Info: ICID 6 close
        10:00:03 2024 Info: Message aborted MID 79 Receiving aborted
    """)
    conns, msgs = _stories(p)
    a, b, c = _msg(msgs, 77), _msg(msgs, 78), _msg(msgs, 79)
    assert (a.partial_start, a.partial_end) == (True, False)
    assert (b.partial_start, b.partial_end) == (False, True)
    assert c.partial_end is False  # old-style final line: Message aborted
    six = _conn(conns, 6)
    assert [e.get("how") for e in six.events] == ["lost", "close"]  # close joins after lost
    assert six.partial_start and not six.partial_end
    five = _conn(conns, 5)
    assert five.partial_start and five.partial_end and five.mids == [78]


def test_same_mid_on_two_appliances_are_two_stories(tmp_path):
    a = _log(tmp_path, """
        11:00:00 2024 Info: Start MID 500 ICID 1
        11:00:00 2024 Info: MID 500 ICID 1 From: <one@a.example>
        11:00:01 2024 Info: Message finished MID 500 done
    """, name="esa1.log", sn="SN-ESA1")
    b = tmp_path / "esa2.log"
    b.write_text("<166>Oct  7 11:00:00 esa2.corp.example mail_logs: Info: Start MID 500 ICID 1\n"
                 "<166>Oct  7 11:00:00 esa2.corp.example mail_logs: Info: MID 500 ICID 1 From: <two@b.example>\n"
                 "<166>Oct  7 11:00:02 esa2.corp.example mail_logs: Info: Message finished MID 500 done\n")
    t = datetime(2024, 10, 8).timestamp()
    os.utime(b, (t, t))
    conns, msgs = _stories(a, str(b))
    assert {(m.appliance, m.sender) for m in msgs if m.mid == 500} == {
        ("SN-ESA1", "one@a.example"), ("esa2.corp.example", "two@b.example")}
    assert len([c for c in conns if c.icid == 1]) == 2


def test_counting_path_agrees_with_the_correlator(data_dir, tmp_path):
    for path in [data_dir / "logs" / "cribl_mail_logs.txt"]:
        conns, msgs = _stories(str(path))
        st = count_stories(LogReader([path]))
        assert st.connections == len(conns)
        assert st.messages == len(msgs)
        assert st.partial_messages == sum(1 for m in msgs if m.partial_start or m.partial_end)
        assert st.partial_connections == sum(1 for c in conns if c.partial_start or c.partial_end)
        assert st.rejected_connections == sum(
            1 for c in conns if any(e.kind == "hat_decision" and e.get("action") in ("REJECT", "TCPREFUSE")
                                    for e in c.events))


def test_counting_fast_paths_recognise_exactly_what_classify_does(data_dir, tmp_path):
    """The counting loop inlines dispatch and matches lines in place: same shapes as catalogue.classify."""
    from collections import Counter

    from diagnose.collectors import catalogue

    mixed = tmp_path / "mixed.log"
    cribl = (data_dir / "logs" / "cribl_mail_logs.txt").read_text().splitlines()
    extra = ["<166>Sep 12 11:00:00 mail_logs: Info: MID 24611417 queued for delivery",
             "Wed Nov 19 09:16:40 2014 Warning: MID 24611417 queued for delivery",
             "Wed Nov 19 09:16:40 2014 Info:  MID 24611417 queued for delivery",
             "Wed Nov 19 09:16:40 2014 Info: MID 24611417 queued for delivery but not quite",
             "Wed Nov 19 09:16:40 2014 Info: MID x24 queued for delivery",
             "Wed Nov 19 09:16:40 2014 Info: ICID 5 close   ",
             # the in-place family route (first word not MID/ICID/DCID), matching and not
             "Wed Nov 19 09:16:40 2014 Info: Message finished MID 7 done",
             "Wed Nov 19 09:16:40 2014 Info: Message finished MID seven done",
             "Wed Nov 19 09:16:41 2014 Info: Delivery start DCID 8 MID 7 to RID [0, 1]",
             "Wed Nov 19 09:16:41 2014 Info: Begin Logfile"]
    mixed.write_text("\n".join(line for pair in zip(cribl, extra * 200, strict=False) for line in pair) + "\n")
    for path in (data_dir / "logs" / "cribl_mail_logs.txt", mixed):
        want: Counter = Counter()
        for *_x, text in LogReader([path]):
            r = catalogue.classify(text)
            want[r[0].name if r else None] += 1
        st = count_stories(LogReader([path]))
        got = Counter(st.shapes)
        got[None] = st.unknown
        assert +got == +want


def test_counting_path_time_span_unknown_source_and_open_stories(tmp_path):
    """The in-place fast path keeps first/last time, the line number of an unknown shape's first
    example, the appliance of a mid-file Version header, and says which stories are still open."""
    p = tmp_path / "mail_logs.current"
    p.write_text("\n".join([
        "Mon Oct  7 13:00:00 2024 Info: Version: 15.0.0-104 SN: SN-A",
        "Mon Oct  7 13:00:05 2024 Info: Start MID 1 ICID 0",
        "Mon Oct  7 13:00:05 2024 Info: MID 1 queued for delivery",
        "Mon Oct  7 13:00:05 2024 Info: something the catalogue does not know 12",
        "Mon Oct  7 13:00:04 2024 Info: something the catalogue does not know 13",
        "Mon Oct  7 13:00:06 2024 Info: Message finished MID 1 done",
        "Mon Oct  7 12:59:59 2024 Warning: MID 2 queued for delivery",
        "Mon Oct  7 13:00:09 2024 Info: Version: 15.0.0-104 SN: SN-B",
        "Mon Oct  7 13:00:09 2024 Info: Start MID 1 ICID 0",
        "Mon Oct  7 13:00:10 2024 Info: New SMTP ICID 7 interface Main (10.0.0.1) address 192.0.2.1 "
        "reverse dns host unknown verified no",
    ]) + "\n")
    st = count_stories(LogReader([p]))
    assert st.lines == 10 and st.unknown == 2
    assert st.first == datetime(2024, 10, 7, 12, 59, 59) and st.last == datetime(2024, 10, 7, 13, 0, 10)
    assert st.unknown_shapes[0]["count"] == 2 and st.unknown_shapes[0]["source"] == f"{p}:4"
    assert st.appliances == ["SN-A", "SN-B"]
    # MID 1 of SN-A finished; MID 2 (SN-A) and MID 1 of SN-B are open, as is ICID 7
    assert (st.messages, st.open_messages, st.partial_messages) == (3, 2, 2)
    assert (st.connections, st.open_connections) == (1, 1)
    conns, msgs = _stories(str(p))
    assert len(msgs) == st.messages and sum(m.partial_end for m in msgs) == st.open_messages
    assert len(conns) == st.connections and sum(c.partial_end for c in conns) == st.open_connections


def test_open_stories_gone_quiet_leave_early_marked_partial_end(tmp_path):
    """Bounded memory for streaming consumers: an open story without a line for `idle` of log time
    is emitted by feed(), partial_end; a quarantined message is exempt; a later line starts a new story."""
    from datetime import timedelta

    from diagnose.collectors.correlate import Correlator

    p = _log(tmp_path, """
        10:00:00 2024 Info: Start MID 1 ICID 0
        10:00:00 2024 Info: MID 1 ICID 0 From: <quiet@a.example>
        10:00:01 2024 Info: Start MID 2 ICID 0
        10:00:01 2024 Info: MID 2 quarantined to "Policy" (content filter)
        10:00:02 2024 Info: New SMTP ICID 9 interface Main (10.0.0.1) address 192.0.2.9 reverse dns host unknown verified no
        17:00:00 2024 Info: Start MID 3 ICID 0
        17:00:01 2024 Info: Start MID 4 ICID 0
        18:00:00 2024 Info: MID 1 queued for delivery
    """)
    c = Correlator(idle=timedelta(hours=6))
    early = []
    for ev in to_events(LogReader([p])):
        c.feed(ev)
        early += c.drain()
        if ev.fields.get("mid") == 4:
            # MID 1 and ICID 9 went quiet at 10:00: out at the first sweep past 16:00, before the end
            assert {(type(s).__name__, getattr(s, "mid", None) or getattr(s, "icid", None)) for s in early} == {
                ("MessageStory", 1), ("ConnectionStory", 9)}
    rest = c.finish()
    assert c.evicted == 2
    quiet = next(s for s in early if isinstance(s, MessageStory))
    assert quiet.partial_end and not quiet.partial_start and quiet.events[-1].get("sender") == "quiet@a.example"
    held = _msg([s for s in rest if isinstance(s, MessageStory)], 2)
    assert held.first("quarantined") is not None and len(held.events) == 2  # not evicted while quarantined
    later = [s for s in rest if isinstance(s, MessageStory) and s.mid == 1]
    assert len(later) == 1 and later[0].partial_start and [e.kind for e in later[0].events] == ["queued"]
    # without bounds (the default) nothing leaves early: one story per id, as count_stories counts
    conns, msgs = _stories(p)
    assert sorted(m.mid for m in msgs) == [1, 2, 3, 4] and count_stories(LogReader([p])).messages == 4


def test_open_stories_over_the_cap_leave_least_recently_seen_first(tmp_path):
    from diagnose.collectors.correlate import Correlator

    start = [f"10:{i // 60:02d}:{i % 60:02d} 2024 Info: Start MID {i} ICID 0" for i in range(1, 101)]
    p = _log(tmp_path, "\n".join(start[:15] + ["10:00:15 2024 Info: MID 1 queued for delivery"] + start[15:]))
    c = Correlator(max_open=20)
    out = []
    for ev in to_events(LogReader([p])):
        c.feed(ev)
        assert len(c.msgs) <= 21
        out += c.drain()
    assert c.evicted > 70
    out += c.finish()
    mids = [s.mid for s in out]
    assert sorted(mids) == list(range(1, 101))  # every story comes out once, none lost
    assert all(s.partial_end for s in out)
    assert _msg(out, 1).events[-1].kind == "queued"
    # MID 1 had a later line: it stayed while MIDs 2-14 (last seen before it) left
    assert mids.index(1) > max(mids.index(i) for i in range(2, 15))
