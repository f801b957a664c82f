"""Reader and envelope: both envelopes, .gz, rotated sets merged in time order, year inference,
appliance identity, hostile bytes."""

from __future__ import annotations

import gzip
import os
from datetime import datetime

import pytest

from diagnose.collectors import envelope
from diagnose.collectors.reader import MAX_LINE, LogReader
from diagnose.model import InputError

HEADER = (
    "Wed Nov 19 09:16:46 2014 Info: Begin Logfile\n"
    "Wed Nov 19 09:16:46 2014 Info: Version: 7.6.3-019 SN: {sn}\n"
    "Wed Nov 19 09:16:46 2014 Info: Time offset from UTC: -21600 seconds\n"
)


def _mtime(path, when: datetime) -> None:
    t = when.timestamp()
    os.utime(path, (t, t))


def test_file_envelope_fast_path():
    ts, level, host, text = envelope.split("Wed Nov 19 09:16:38 2014 Info: ICID 60140291 close")
    assert ts == datetime(2014, 11, 19, 9, 16, 38) and level == "Info" and host == "" and text == "ICID 60140291 close"


def test_unpadded_day_and_legacy_timestamp_after_syslog_header():
    ts, _, _, text = envelope.split("Mon Mar 5 14:21:04 2018 Info: New SMTP ICID 3160 interface x address 1.2.3.4")
    assert ts == datetime(2018, 3, 5, 14, 21, 4) and text.startswith("New SMTP ICID")
    ts, level, host, text = envelope.split(
        "Jul 16 10:46:46 2013 dummy_source_Domain2 mail_logs: Info: Version: 8.7.2-001 SN: 942B2B684C96-29WTPQ2")
    assert ts == datetime(2013, 7, 16, 10, 46, 46) and host == "dummy_source_Domain2"
    assert text == "Version: 8.7.2-001 SN: 942B2B684C96-29WTPQ2"


@pytest.mark.parametrize(("line", "host", "text"), [
    ("<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 queued for delivery", "", "MID 68119155 queued for delivery"),
    ("<94>Nov 24 14:22:57 REDACTED.africa.example.net mail_logs: Info: MID 204841507 queued for delivery",
     "REDACTED.africa.example.net", "MID 204841507 queued for delivery"),
    ("Aug  2 23:59:52 10.0.1.1 MAIL_SecurityAudit: Info: MID 308049623 using engine: SPF Verdict Cache using cached "
     "verdict", "10.0.1.1", "MID 308049623 using engine: SPF Verdict Cache using cached verdict"),
    ("Jul 23 12:23:59 SplunkMailSyslog: Info: SenderBase upload: 734 hosts totaling 201887 bytes", "",
     "SenderBase upload: 734 hosts totaling 201887 bytes"),
    ("Sep 16 16:56:06 consolidated_event: CEF:0|Cisco|C100V Email Security Virtual Appliance|15.0.0-104|x", "",
     "CEF:0|Cisco|C100V Email Security Virtual Appliance|15.0.0-104|x"),
    ("Thu Feb  1 08:32:59 c60 smail: Info: ICID 5 close", "c60", "ICID 5 close"),
])
def test_syslog_envelopes(line, host, text):
    ts, _level, h, t = envelope.split(line)
    assert isinstance(ts, envelope.YearlessTime)
    assert (h, t) == (host, text)


def test_plain_text_without_envelope_is_kept_whole():
    assert envelope.split("MID 68119155 using engine: GRAYMAIL positive") == (
        None, "", "", "MID 68119155 using engine: GRAYMAIL positive")


def test_syslog_year_rolls_back_across_new_year(tmp_path):
    f = tmp_path / "mail_logs"
    f.write_text("<166>Dec 31 23:59:58 mail_logs: Info: ICID 1 close\n<166>Jan  1 00:00:02 mail_logs: Info: ICID 2 close\n")
    _mtime(f, datetime(2025, 1, 1, 0, 5))
    lines = list(LogReader([f]))
    assert [r[2] for r in lines] == [datetime(2024, 12, 31, 23, 59, 58), datetime(2025, 1, 1, 0, 0, 2)]
    lines = list(LogReader([f], year=2019))
    assert [r[2].year for r in lines] == [2019, 2019]


def test_appliance_from_header_serial_and_from_syslog_host(tmp_path):
    a = tmp_path / "a" / "mail_logs.current"
    a.parent.mkdir()
    a.write_text(HEADER.format(sn="SN-A") + "Wed Nov 19 09:16:47 2014 Info: Start MID 5 ICID 7\n")
    b = tmp_path / "b.log"
    b.write_text("<94>Nov 19 09:16:48 esa2.example.net mail_logs: Info: Start MID 5 ICID 9\n")
    _mtime(b, datetime(2014, 12, 1))
    rows = [r for r in LogReader([tmp_path]) if r[5].startswith("Start MID")]
    assert [(r[3], r[5]) for r in rows] == [("SN-A", "Start MID 5 ICID 7"), ("esa2.example.net", "Start MID 5 ICID 9")]
    assert rows[0][0].endswith("mail_logs.current") and rows[0][1] == 4  # source keeps file:line


def test_gz_and_rotated_set_are_read_in_time_order(tmp_path):
    sn = "SN-R"
    old = tmp_path / "mail_logs.@20141119T090000.s.gz"
    with gzip.open(old, "wt") as fh:
        fh.write(HEADER.format(sn=sn) + "Wed Nov 19 09:17:00 2014 Info: Start MID 1 ICID 1\n")
    mid = tmp_path / "mail_logs.@20141119T100000.s"
    mid.write_text(HEADER.replace("09:16:46", "10:00:00").format(sn=sn) + "Wed Nov 19 10:00:01 2014 Info: Start MID 2 ICID 2\n")
    cur = tmp_path / "mail_logs.current"
    cur.write_text(HEADER.replace("09:16:46", "11:00:00").format(sn=sn) + "Wed Nov 19 11:00:01 2014 Info: Start MID 3 ICID 3\n")
    other = tmp_path / "other_box.log"  # a second appliance pushed by syslog, interleaved by time
    other.write_text("<166>Nov 19 10:30:00 esa9 mail_logs: Info: Start MID 9 ICID 9\n")
    _mtime(other, datetime(2014, 11, 20))
    # hand the files over in the wrong order on purpose
    texts = [r[5] for r in LogReader([cur, other, mid, old]) if r[5].startswith("Start MID")]
    assert texts == ["Start MID 1 ICID 1", "Start MID 2 ICID 2", "Start MID 9 ICID 9", "Start MID 3 ICID 3"]


def test_hostile_bytes_never_break_the_reader(tmp_path):
    f = tmp_path / "bad.log"
    huge = b"Wed Nov 19 09:16:38 2014 Info: MID 1 Subject '" + b"A" * (3 * MAX_LINE) + b"'\n"
    f.write_bytes(b"\xff\xfe\x00garbage\x00\r\n" + huge + b"Wed Nov 19 09:16:38 2014 Info: ICID 5 close\r\n"
                  + b"\xc3\x28 invalid utf8 \\r\\n literal\n" + b"no newline at end")
    rows = list(LogReader([f]))
    assert len(rows) == 5
    assert [r[1] for r in rows] == [1, 2, 3, 4, 5]
    assert all(len(r[5]) <= MAX_LINE for r in rows)
    assert rows[2][5] == "ICID 5 close"  # \r stripped, the overlong tail skipped, not merged
    assert "\ufffd" in rows[3][5] and "\\r\\n" in rows[3][5]
    assert rows[4][5] == "no newline at end"


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        LogReader([tmp_path / "nope"])
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(InputError):
        LogReader([empty])


def test_reader_start_leaves_out_older_pieces_and_keeps_line_numbers(tmp_path, monkeypatch):
    from diagnose.collectors import reader as reader_mod

    monkeypatch.setattr(reader_mod, "SKIP_CHUNK", 1024)
    body = HEADER.format(sn="SN-7") + "".join(
        f"Wed Nov 19 {9 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d} 2014 Info: ICID {n} close\n"
        for n in range(1020, 7200, 5))
    p = tmp_path / "mail_logs.s"
    p.write_text(body)
    every = list(LogReader([p]))
    r = LogReader([p], start=datetime(2014, 11, 19, 10, 30))
    some = list(r)
    assert some == every[len(every) - len(some):]  # same sources, numbers, times, appliance
    assert r.skipped.lines == len(every) - len(some) > 700 and r.lines_read == len(some)
    assert some[0][2] >= datetime(2014, 11, 19, 10, 20) and some[0][3] == "SN-7"  # within SLACK and a piece
    gz = tmp_path / "mail_logs.c.gz"
    gz.write_bytes(gzip.compress(body.encode()))
    assert list(LogReader([gz], start=datetime(2014, 11, 19, 10, 30)))[0][1:] == some[0][1:]
