"""Story search: by each key, the byte prefilter gives what a full parse gives, rejected connections."""

from __future__ import annotations

import gzip
from datetime import datetime

import pytest

from diagnose import api
from diagnose.collectors.correlate import stories, to_events
from diagnose.collectors.reader import LogReader
from diagnose.collectors.search import Query, story_matches
from diagnose.model import InputError


@pytest.fixture(scope="module")
def cribl(data_dir):
    return str(data_dir / "logs" / "cribl_mail_logs.txt")


def _brute(path, **kw):
    """What a full parse and correlate finds for the query (the reference for the prefilter)."""
    q = Query(**kw)
    conns, msgs = stories(to_events(LogReader([path])))
    by = {(c.appliance, c.icid): c for c in conns}
    return {m.mid for m in msgs if story_matches(q, m, lambda m: by.get((m.appliance, m.icid)))}


def test_by_mid_finds_the_case_drop(cribl):
    r = api.find_stories([cribl], mid=24611411)
    assert [m.mid for m in r.messages] == [24611411]
    kinds = [e.kind for e in r.messages[0].events]
    assert kinds == ["antispam", "antispam", "message_aborted", "message_finished"]
    assert r.messages[0].partial_start and not r.messages[0].partial_end


def test_by_ip_finds_a_rejected_connection(cribl):
    r = api.find_stories([cribl], ip="176.227.203.114")
    assert r.messages == [] and [c.icid for c in r.connections] == [60140291]
    assert r.rejected_connections[0].first("hat_decision").get("sbrs") == "-9.5"


def test_window_only_finds_rejected_connections(cribl):
    r = api.find_stories([cribl], since="2014-11-19 09:16:38", until="2014-11-19 09:16:38")
    rejected = {c.icid for c in r.rejected_connections}
    assert 60140291 in rejected and 60140292 in rejected
    assert all(any(e.ts == datetime(2014, 11, 19, 9, 16, 38) for e in c.events) for c in r.rejected_connections)
    assert all(any(e.ts == datetime(2014, 11, 19, 9, 16, 38) for e in m.events) for m in r.messages)


@pytest.mark.parametrize("sender", ["user15@fjvco.com", "USER15@FJVCO.COM", "noreply@cisco.com",
                                    "landsend@email.landsend.com", "fjvco.com"])
def test_by_sender_equals_a_full_parse(cribl, sender):
    r = api.find_stories([cribl], sender=sender)
    assert {m.mid for m in r.messages} == _brute(cribl, sender=sender)
    assert r.messages


def test_by_sender_follows_splits_and_keeps_generated_copies_apart(cribl):
    r = api.find_stories([cribl], sender="user15@fjvco.com")
    assert {m.mid for m in r.messages} == {24611507, 24611528, 24611529}
    assert {m.mid for m in r.related} == {24611531, 24611542}  # bcc copies: generated, from noreply
    assert [c.icid for c in r.connections] == [60140302]
    assert r.passes >= 2 and r.lines_parsed < 200  # prefiltered: not every line was parsed


@pytest.mark.parametrize(("key", "value"), [
    ("recipient", "user37@mycompany.com"),
    ("message_id", "<Lands'End.6cl2sv--1f.tlmd@email.landsend.com>"),
    ("subject", "Working Together 101"),
    ("subject", "Problem Report# PR59725"),
])
def test_other_keys_equal_a_full_parse(cribl, key, value):
    r = api.find_stories([cribl], **{key: value})
    assert r.messages
    assert {m.mid for m in r.messages} == _brute(cribl, **{key: value})


def test_criteria_combine_with_and(cribl):
    assert api.find_stories([cribl], sender="user15@fjvco.com", recipient="user37@mycompany.com").messages
    assert not api.find_stories([cribl], sender="user15@fjvco.com", recipient="user1@mycompany.com").messages
    late = api.find_stories([cribl], sender="user15@fjvco.com", since=datetime(2014, 11, 20))
    assert late.messages == []


def test_delivery_lines_before_the_delivery_start_are_found(tmp_path):
    p = tmp_path / "mail_logs.@20241007T130000.s.gz"
    body = "\n".join([
        "Mon Oct  7 13:00:00 2024 Info: Version: 15.0.0-104 SN: SN-9",
        "Mon Oct  7 13:15:03 2024 Info: New SMTP DCID 700 interface 10.0.0.5 address 192.0.2.25 port 25",
        "Mon Oct  7 13:15:03 2024 Info: DCID 700 TLS success protocol TLSv1.2 cipher X",
        *[f"Mon Oct  7 13:15:03 2024 Info: MID {n} queued for delivery" for n in range(1000, 1200)],
        "Mon Oct  7 13:15:01 2024 Info: Start MID 5001 ICID 880100",
        "Mon Oct  7 13:15:01 2024 Info: MID 5001 ICID 880100 From: <alice@partner.example>",
        "Mon Oct  7 13:15:03 2024 Info: Delivery start DCID 700 MID 5001 to RID [0]",
        "Mon Oct  7 13:15:04 2024 Info: Delayed: DCID 700 MID 5001 to RID 0 - 4.3.2 - Not accepting messages at this "
        "time ('421', ['4.3.2 try again later'])",
        "Mon Oct  7 13:15:04 2024 Info: Message 5001 to RID [0] pending till Mon Oct  7 13:20:04 2024",
        "Mon Oct  7 13:15:05 2024 Info: DCID 700 close",
    ]) + "\n"
    with gzip.open(p, "wt") as fh:
        fh.write(body)
    r = api.find_stories([str(p)], sender="ALICE@partner.example")
    m = r.messages[0]
    assert [e.kind for e in m.events] == ["mid_start", "mid_from", "dcid_new", "dcid_tls", "delivery_start",
                                          "delayed", "pending_till", "dcid_close"]
    assert m.appliance == "SN-9" and m.partial_end  # no Message finished: still in the queue
    assert r.passes == 2  # the DCID was revealed after its first lines: found again in the same chunk


def test_ids_opened_far_before_they_are_revealed_need_a_catch_up_pass(tmp_path, monkeypatch):
    from diagnose.collectors import search as search_mod

    monkeypatch.setattr(search_mod, "SCAN_CHUNK", 512)  # tiny chunks: the DCID opens many chunks earlier
    p = tmp_path / "mail_logs.current"
    p.write_text("\n".join([
        "Mon Oct  7 13:15:00 2024 Info: New SMTP DCID 700 interface 10.0.0.5 address 192.0.2.25 port 25",
        *[f"Mon Oct  7 13:15:0{n % 10} 2024 Info: Delivery start DCID 700 MID {n} to RID [0]" for n in range(100, 160)],
        "Mon Oct  7 13:16:01 2024 Info: Start MID 5001 ICID 880100",
        "Mon Oct  7 13:16:01 2024 Info: MID 5001 ICID 880100 From: <alice@partner.example>",
        "Mon Oct  7 13:16:03 2024 Info: Delivery start DCID 700 MID 5001 to RID [0]",
        "Mon Oct  7 13:16:04 2024 Info: Message done DCID 700 MID 5001 to RID [0]",
        "Mon Oct  7 13:16:04 2024 Info: Message finished MID 5001 done",
    ]) + "\n")
    r = api.find_stories([str(p)], sender="alice@partner.example")
    m = r.messages[0]
    assert m.events[0].kind == "dcid_new" or "dcid_new" in [e.kind for e in m.events]
    assert r.passes == 3 and not m.partial_end
    # the other messages delivered on the same DCID are not part of the answer
    assert [x.mid for x in r.messages] == [5001] and r.related == []


def test_nothing_found_is_an_answer_not_an_error(cribl):
    r = api.find_stories([cribl], sender="nobody@nowhere.example")
    assert r.messages == [] and r.connections == [] and r.bytes_read > 0
    assert "sender nobody@nowhere.example" in r.query.describe()


def test_bad_input_is_an_input_error(cribl):
    with pytest.raises(InputError):
        api.find_stories([cribl], mid="12abc")
    with pytest.raises(InputError):
        api.find_stories([cribl], since="yesterday")
    with pytest.raises(InputError):
        api.find_stories([cribl + ".missing"], sender="a@b.c")


def test_logs_find_cli(run_cli, cribl):
    r = run_cli("logs", "find", cribl, "--ip", "176.227.203.114")
    assert r.returncode == 0, r.stderr
    assert "ICID 60140291 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5" in r.stdout
    assert "cribl_mail_logs.txt:5" in r.stdout


@pytest.mark.parametrize("chunk", [97, 4096])
def test_tiny_reads_give_the_same_stories(cribl, monkeypatch, chunk):
    """Lines cut by reads, look-backs and catch-up passes: the answer does not depend on the read size."""
    from diagnose.collectors import search as search_mod

    full = {s: api.find_stories([cribl], sender=s) for s in ("user15@fjvco.com", "noreply@cisco.com")}
    monkeypatch.setattr(search_mod, "SCAN_CHUNK", chunk)
    for sender, want in full.items():
        got = api.find_stories([cribl], sender=sender)
        assert [(m.mid, [e.source for e in m.events]) for m in got.messages] == \
            [(m.mid, [e.source for e in m.events]) for m in want.messages]
        assert [c.icid for c in got.connections] == [c.icid for c in want.connections]


def test_full_parse_fallback_gives_the_same_answer(cribl, monkeypatch):
    """Too many ids for the byte prefilter: one streamed full parse, same stories, same related MIDs."""
    from diagnose.collectors import search as search_mod

    want = api.find_stories([cribl], sender="user15@fjvco.com")
    monkeypatch.setattr(search_mod, "MAX_ID_NEEDLES", 1)
    got = api.find_stories([cribl], sender="user15@fjvco.com")
    assert got.passes == 1 and got.lines_parsed == 1000
    assert [m.mid for m in got.messages] == [m.mid for m in want.messages]
    assert [m.mid for m in got.related] == [m.mid for m in want.related]
    assert [c.icid for c in got.connections] == [c.icid for c in want.connections]
    assert [[e.source for e in m.events] for m in got.messages] == [[e.source for e in m.events] for m in want.messages]


def test_window_and_ip_find_the_connection_with_its_messages(cribl):
    r = api.find_stories([cribl], ip="74.218.204.185", since="2014-11-19 09:16:00", until="2014-11-19 09:17:00")
    assert [c.icid for c in r.connections] == [60140296]
    assert all(m.icid == 60140296 for m in r.messages)


def test_window_search_returns_a_story_evicted_as_quiet_partial(tmp_path):
    """A search that reads everything bounds the open stories; one that went quiet and matches is
    still returned, partial_end, and its later lines come back as a second, partial_start story."""
    lines = ["Mon Oct  7 10:00:00 2024 Info: Start MID 1 ICID 0",
             "Mon Oct  7 10:00:00 2024 Info: MID 1 ICID 0 From: <quiet@a.example>"]
    lines += [f"Mon Oct  7 {h:02d}:00:00 2024 Info: Start MID {h} ICID 0" for h in range(11, 20)]
    lines += ["Mon Oct  7 20:00:00 2024 Info: MID 1 ICID 0 RID 0 To: <late@b.example>"]
    p = tmp_path / "mail_logs.current"
    p.write_text("\n".join(lines) + "\n")
    r = api.find_stories([str(p)], since="2024-10-07 09:59:00", until="2024-10-07 10:01:00")
    ones = [m for m in r.messages + r.related if m.mid == 1]
    assert any(m.partial_end and m.events[-1].get("sender") == "quiet@a.example" for m in ones)
    r = api.find_stories([str(p)], since="2024-10-07 09:00:00", until="2024-10-07 21:00:00")
    ones = sorted((m for m in r.messages if m.mid == 1), key=lambda m: m.events[0].ts)
    assert len(ones) == 2 and ones[0].partial_end and ones[1].partial_start
    assert ones[1].events[0].get("recipient") == "late@b.example"


def test_window_search_keeps_links_and_connections_that_come_out_later(tmp_path, monkeypatch):
    """The full-read search keeps only what the answer needs: a matched message's split MID whose lines
    are hours after the window, and its connection that closes after the window, are still found."""
    from diagnose.collectors import search

    monkeypatch.setattr(search, "RECENT_STORIES", 1)  # no help from the stories kept back
    lines = ["Mon Oct  7 09:00:00 2024 Info: New SMTP ICID 5 interface Main (10.0.0.1) address 192.0.2.5 "
             "reverse dns host mx.a.example verified yes",
             "Mon Oct  7 10:00:01 2024 Info: Start MID 1 ICID 5",
             "Mon Oct  7 10:00:01 2024 Info: MID 1 ICID 5 From: <a@a.example>",
             "Mon Oct  7 10:00:02 2024 Info: MID 1 was split creating MID 2 due to a SL/BL configuration "
             "for following recipients: b@b.example",
             "Mon Oct  7 10:00:03 2024 Info: Message finished MID 1 done"]
    lines += [f"Mon Oct  7 10:{m:02d}:00 2024 Info: Start MID {m + 100} ICID 0" for m in range(10, 60)]
    lines += ["Mon Oct  7 10:59:00 2024 Info: ICID 5 close",
              "Mon Oct  7 12:00:00 2024 Info: MID 2 queued for delivery",
              "Mon Oct  7 12:00:01 2024 Info: Message finished MID 2 done"]
    p = tmp_path / "mail_logs.current"
    p.write_text("\n".join(lines) + "\n")
    r = api.find_stories([str(p)], since="2024-10-07 10:00:00", until="2024-10-07 10:00:05")
    assert [m.mid for m in r.messages] == [1]
    assert [m.mid for m in r.related] == [2] and r.related[0].first("queued") is not None
    assert [c.icid for c in r.connections] == [5] and r.connections[0].first("icid_close") is not None
