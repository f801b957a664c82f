"""Story search: by each key, the byte prefilter gives what a full parse gives, rejected connections."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

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


# ---------------------------------------------------------------- window prefilter = full read

W = 10  # the window of these tests: 10:00-10:10 in a 14-hour log


def _day_log(hours: int = 14) -> list[str]:
    """A busy appliance: a complete inbound message every 20 s (ids numbered upwards, as ESA does),
    plus stories around the window at W:00-W:10: A (delayed since two hours before, delivered in the
    window), B (starts in the window, delayed, delivered 90 minutes after it), C (starts just before
    the window), a connection opened 30 minutes before that sends in the window, and a split in the
    window whose copy is delivered two hours later."""
    from datetime import timedelta

    t0 = datetime(2024, 10, 7)
    ev: list[tuple[datetime, str]] = []
    mid, icid, dcid = 1000, 5000, 800
    w = W * 3600

    def at(sec: float, text: str) -> None:
        ev.append((t0 + timedelta(seconds=sec), text))

    specials = {w - 7200: "A", w + 8 * 60: "B", w - 2 * 60: "C", w - 1800: "K", w + 4 * 60: "S",
                3 * 3600 + 25 * 60: "N"}  # N: a split near (not in) the window 03:30-03:31, its copy at 07:00
    for sec in range(0, hours * 3600, 20):
        mid, icid, dcid = mid + 1, icid + 1, dcid + 1
        who = specials.get(sec)
        at(sec, f"New SMTP ICID {icid} interface Main (10.0.0.1) address 192.0.2.{icid % 250} reverse dns host "
                f"mx{icid}.a.example verified yes")
        at(sec, f"ICID {icid} ACCEPT SG UNKNOWNLIST match sbrs[none] SBRS 1.0")
        at(sec + 1, f"Start MID {mid} ICID {icid}")
        at(sec + 1, f"MID {mid} ICID {icid} From: <{(who or 'u').lower()}{mid}@a.example>")
        at(sec + 1, f"MID {mid} ICID {icid} RID 0 To: <r{mid}@b.example>")
        at(sec + 2, f"MID {mid} ready 1000 bytes from <{(who or 'u').lower()}{mid}@a.example>")
        if who == "K":  # the connection stays open 35 minutes and sends a second message in the window
            later = mid + 100_000
            at(w + 5, f"Start MID {later} ICID {icid}")
            at(w + 5, f"MID {later} ICID {icid} From: <k2@a.example>")
            at(w + 6, f"Message finished MID {later} done")
            at(w + 7, f"ICID {icid} close")
        else:
            at(sec + 3, f"ICID {icid} close")
        if who in ("S", "N"):  # split: the copy's lines come hours later
            copy = mid + 200_000
            at(sec + 2, f"MID {mid} was split creating MID {copy} due to a per-recipient policy tcamp")
            at(w + 7200 if who == "S" else 7 * 3600, f"MID {copy} queued for delivery")
            at(w + 7201 if who == "S" else 7 * 3600 + 1, f"Message finished MID {copy} done")
        if who in ("A", "B"):  # delayed every half hour, then delivered
            end = w + 5 * 60 if who == "A" else w + 5400
            t = sec + 5
            while t < end:
                at(t, f"New SMTP DCID {dcid} interface 10.0.0.5 address 192.0.2.26 port 25")
                at(t, f"Delivery start DCID {dcid} MID {mid} to RID [0]")
                at(t + 1, f"Delayed: DCID {dcid} MID {mid} to RID 0 - 4.3.2 - Not accepting messages at this "
                          "time ('421', ['4.3.2 try again later'])")
                at(t + 2, f"DCID {dcid} close")
                t += 1800
            at(end, f"New SMTP DCID {dcid + 50_000} interface 10.0.0.5 address 192.0.2.25 port 25")
            at(end, f"Delivery start DCID {dcid + 50_000} MID {mid} to RID [0]")
            at(end + 1, f"Message done DCID {dcid + 50_000} MID {mid} to RID [0]")
            at(end + 1, f"Message finished MID {mid} done")
        else:
            at(sec + 3 + (150 if who == "C" else 0), f"Message finished MID {mid} done")
    ev.sort(key=lambda e: e[0])  # stable: lines of one second keep their order
    head = ["Mon Oct  7 00:00:00 2024 Info: Version: 15.0.0-104 SN: SN-DAY"]
    return head + [f"{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y} Info: {text}" for t, text in ev]


def _sender(r, letter):
    return next(m for m in r.messages if m.first("mid_from") and m.first("mid_from").get("sender").startswith(letter))


def _signature(r):
    def one(s):
        return (s.appliance, getattr(s, "mid", None), s.icid, s.partial_start, s.partial_end,
                [e.source for e in s.events], list(getattr(s, "links", [])))
    return ([one(m) for m in r.messages], [one(m) for m in r.related], [one(c) for c in r.connections],
            [e.source for e in r.context])


def _both(monkeypatch, paths, **kw):
    from diagnose.collectors import reader, search

    monkeypatch.setattr(reader, "SKIP_CHUNK", 4096)  # a small log, many pieces to skip
    monkeypatch.setattr(search, "GRACE", 64)  # finished stories leave the correlator soon (both reads alike)
    monkeypatch.setattr(search, "PREFILTER_WINDOW", False)
    full = api.find_stories(paths, **kw)
    monkeypatch.setattr(search, "PREFILTER_WINDOW", True)
    return full, api.find_stories(paths, **kw)


@pytest.mark.parametrize("gz", [False, True])
def test_window_prefilter_gives_the_full_reads_answer(tmp_path, monkeypatch, gz):
    lines = _day_log()
    p = tmp_path / ("mail_logs.current.gz" if gz else "mail_logs.current")
    data = ("\n".join(lines) + "\n").encode()
    p.write_bytes(gzip.compress(data) if gz else data)
    full, pre = _both(monkeypatch, [str(p)], since="2024-10-07 10:00:00", until="2024-10-07 10:10:00")
    assert _signature(pre) == _signature(full)
    assert pre.lines_skipped > 0 and pre.stopped_early and pre.reads == 3  # A: an hour earlier, then 7.5 h
    assert full.lines_parsed == len(lines) and not full.stopped_early and full.reads == 1
    a = _sender(pre, "a")
    assert not a.partial_start and a.events[0].ts.hour == W - 2  # began two hours before: looked back for it
    b = _sender(pre, "b")
    assert not b.partial_end and b.events[-1].ts.hour == W + 1  # ends after the window: read until it did
    c = _sender(pre, "c")
    assert c.events[0].ts < datetime(2024, 10, 7, W) and not c.partial_start
    assert [m.first("queued").ts.hour for m in pre.related] == [W + 2]  # the split copy, two hours later
    k = next(c for c in pre.connections if len(c.mids) == 2)
    assert k.first("icid_new").ts.hour == W - 1 and k.first("icid_close").ts.hour == W
    assert len(pre.messages) > 30


def test_window_prefilter_without_look_back_or_early_stop(tmp_path, monkeypatch):
    """A window with nothing older in it reads from MARGIN_MIN before, and stops soon after it (the copy
    of a split near the window, not in it, is not waited for); a window at the end reads to the end."""
    lines = _day_log()
    p = tmp_path / "mail_logs.current"
    p.write_text("\n".join(lines) + "\n")
    full, pre = _both(monkeypatch, [str(p)], since="2024-10-07 03:30:00", until="2024-10-07 03:31:00")
    assert _signature(pre) == _signature(full) and pre.messages and pre.stopped_early and pre.lines_skipped
    assert pre.reads == 1 and pre.lines_parsed < len(lines) / 10
    full, pre = _both(monkeypatch, [str(p)], since="2024-10-07 13:50:00")
    assert _signature(pre) == _signature(full) and pre.lines_skipped > 0 and not pre.stopped_early
    assert pre.lines_parsed < len(lines) / 4


def test_window_prefilter_skips_whole_rotated_files(tmp_path, monkeypatch):
    lines = _day_log()
    cut = next(i for i, line in enumerate(lines) if " 08:30:00 " in line)
    old, new = tmp_path / "mail_logs.@20241007T000000.s", tmp_path / "mail_logs.current"
    old.write_text("\n".join(lines[:cut]) + "\n")
    new.write_text("\n".join(lines[cut:]) + "\n")
    full, pre = _both(monkeypatch, [str(tmp_path)], since="2024-10-07 10:00:00", until="2024-10-07 10:10:00")
    assert _signature(pre) == _signature(full)
    assert all(m.appliance == "SN-DAY" for m in pre.messages)  # the header of the skipped file still names it
    # the delayed message A began in the older file: the look-back reads it again
    assert any(e.source.startswith(str(old)) for m in pre.messages for e in m.events)


def test_window_prefilter_falls_back_where_the_order_does_not_hold(tmp_path, monkeypatch):
    """A file whose time steps back more than SLACK is read from its beginning; syslog lines (no year,
    hosts) are never skipped."""
    lines = _day_log()
    k = next(i for i, line in enumerate(lines) if " 11:00:00 " in line)
    shuffled = lines[k:k + 3000] + lines[:k] + lines[k + 3000:]  # an hour of lines pasted at the front
    p = tmp_path / "mail_logs.current"
    p.write_text("\n".join(shuffled) + "\n")
    full, pre = _both(monkeypatch, [str(p)], since="2024-10-07 10:00:00", until="2024-10-07 10:10:00")
    assert _signature(pre) == _signature(full) and pre.lines_skipped == 0 and pre.disordered
    syslog = [f"Oct  7 {line[11:19]} esa1 mail_logs: {line[25:]}" for line in lines[1:]]
    s = tmp_path / "syslog" / "maillog"
    s.parent.mkdir()
    s.write_text("\n".join(syslog) + "\n")
    full, pre = _both(monkeypatch, [str(s)], since="2024-10-07 10:00:00", until="2024-10-07 10:10:00", year=2024)
    assert _signature(pre) == _signature(full) and pre.lines_skipped == 0 and pre.messages
    assert not pre.stopped_early and pre.lines_parsed == len(syslog)


def test_window_prefilter_reads_again_when_skipped_pieces_step_back(tmp_path, monkeypatch):
    """Time stepping back between pieces already being skipped: the file is read from its beginning."""
    lines = _day_log()
    a, b, c = (next(i for i, line in enumerate(lines) if f" 0{h}:00:00 " in line) for h in (3, 6, 7))
    moved = lines[:a] + lines[b:c] + lines[a:b] + lines[c:]  # 06:00-07:00 logged before 03:00-06:00
    p = tmp_path / "mail_logs.current"
    p.write_text("\n".join(moved) + "\n")
    full, pre = _both(monkeypatch, [str(p)], since="2024-10-07 10:00:00", until="2024-10-07 10:10:00")
    assert _signature(pre) == _signature(full) and pre.lines_skipped == 0 and pre.disordered


@pytest.fixture(scope="module")
def cribl_copies(tmp_path_factory, data_dir):
    """20 copies of the Cribl sample, ten seconds apart, ids shifted (benchmarks/common.py builds it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_common", data_dir.parent.parent / "benchmarks" / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    return str(common.build(20_000, tmp_path_factory.mktemp("copies") / "mail_logs.current"))


@pytest.mark.parametrize(("since", "until"), [("09:17:38", "09:17:39"), ("09:18:01", "09:18:33"), ("09:19:46", None),
                                              (None, "09:17:00")])
def test_window_prefilter_on_the_real_sample(cribl_copies, monkeypatch, since, until):
    """The Cribl sample steps back up to 8 seconds now and then: the same answer as the full read."""
    from diagnose.collectors import reader, search

    monkeypatch.setattr(search, "MARGIN_MIN", 0)  # 200 seconds of log: no lead, so that the skip and stop are used
    for mod in (search, reader):
        monkeypatch.setattr(mod, "SLACK", search.timedelta(seconds=9))
    day = "2014-11-19 "
    full, pre = _both(monkeypatch, [cribl_copies], since=since and day + since, until=until and day + until)
    assert _signature(pre) == _signature(full) and pre.messages and not pre.disordered
    assert (pre.lines_skipped > 0) == (since is not None) and pre.stopped_early == (until is not None)


def test_ip_query_brings_the_messages_the_connection_carried():
    """Asking by IP for an accepted connection must return what it injected, not a bare connection."""
    sample = Path(__file__).resolve().parent.parent / "diagnose" / "sample" / "mail_logs"
    r = api.find_stories([sample], ip="74.218.204.180")
    assert [c.icid for c in r.connections] == [40227]
    assert [m.mid for m in r.messages] == [117409]
    assert r.connections[0].mids == [117409]
    assert r.messages[0].first("antispam") is not None  # the whole story, not only its first lines
