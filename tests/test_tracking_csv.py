"""Message Tracking CSV exports: headers by name, unknown columns kept, broken rows reported."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.collectors.tracking import CSV_HEADERS, read_tracking, tracking_stories
from diagnose.model import InputError


def _msg(data, mid):
    return next(s for (_a, m), s in data.messages.items() if m == mid)


def test_export_rows_unknown_columns_and_broken_rows(data_dir):
    path = data_dir / "tracking" / "export_search_results.csv"
    data = read_tracking(path)
    assert data.format == "csv"
    # rows 4 (a cell short) and 6 (MID "abc") are reported and skipped; the preamble line is reported
    problems = "\n".join(data.problems)
    assert f"tracking:{path}#row 4: 7 cells where the header has 11; row skipped" in problems
    assert "row 6: MID 'abc' is not a number; row skipped" in problems
    assert "line(s) before the header" in problems
    assert "row 8: time 'not a time' not understood" in problems
    assert sorted(m for (_a, m) in data.messages) == [1001, 1002, 1003, 1005, 1007, 1008]
    assert data.records == 6

    av = _msg(data, 1001)
    last = av.first("tracking_last_state")
    assert (last.get("outcome"), last.get("stage"), last.get("confidence")) == ("dropped", "antivirus", "likely")
    assert last.source == f"tracking:{path}#row 1"
    assert "Last State: Dropped by antivirus" in last.text
    assert last.ts == datetime(2026, 11, 26, 10, 1, 2) and last.get("tz_offset") == 3600
    # unknown columns are kept with their header names
    assert last.get("columns") == {"Attachment Name": "invoice.zip", "Custom Tag": "finance"}
    assert av.sender == "partner@example.com" and av.recipients == {0: "alice@corp.example"}
    assert av.icid == 5001 and av.partial_start  # a result row is never a full lifecycle
    con = data.connections[("", 5001)]
    assert con.ip == "203.0.113.7" and con.first("hat_decision").get("sbrs_score") == -1.2
    assert 1001 in con.mids

    assert _msg(data, 1002).first("mid_subject").get("subject") == "Black Friday, 70% off"
    assert _msg(data, 1007).first("mid_subject").get("subject") == 'Quarterly "numbers"'
    assert _msg(data, 1005).first("tracking_last_state").get("outcome") == "bounced"
    unknown = _msg(data, 1008).first("tracking_last_state")
    assert unknown.get("outcome") == "unknown" and unknown.ts is None
    assert data.connections[("", 5008)].first("hat_decision").get("sbrs_score") is None  # "none"


def test_semicolon_bom_and_header_aliases(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeffDate;Envelope Sender;Envelope Recipients;Message Status;IronPort MID;Serial Number;Extra\r\n"
                  "2024-10-07 13:15:02;a@x.example;b@y.example, c@y.example;Quarantined by Outbreak Filters;"
                  "77;SN-1;zz\r\n".encode())
    data = read_tracking(p)
    m = data.messages[("SN-1", 77)]
    assert m.recipients == {0: "b@y.example", 1: "c@y.example"}
    st = m.first("tracking_last_state")
    assert st.get("stage") == "outbreak_filter" and st.get("rids") == [0, 1]
    assert st.get("columns") == {"Extra": "zz"}
    assert m.start == datetime(2024, 10, 7, 13, 15, 2)


def test_no_header_is_an_input_error(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("just,some,numbers\n1,2,3\n")
    with pytest.raises(InputError, match="not a Message Tracking export"):
        read_tracking(p)
    p.write_text("")
    with pytest.raises(InputError):
        read_tracking(p)


def test_row_without_mid_is_its_own_story(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("Sender,Recipient,Last State\nx@a.example,y@b.example,Delivered\n,,\n")
    conns, msgs, problems = tracking_stories(p)
    assert len(msgs) == 1 and msgs[0].mid < 0
    assert any(e.kind == "tracking_note" and "no MID" in e.get("note", "") for e in msgs[0].events)


def test_formula_like_cells_are_kept_verbatim(tmp_path):
    # input is data: a cell that looks like a spreadsheet formula is kept, never evaluated
    p = tmp_path / "t.csv"
    p.write_text('MID,Sender,Subject,Last State\n5,"=HYPERLINK(""http://x"")",=1+1,Delivered\n')
    m = read_tracking(p).messages[("", 5)]
    assert m.sender == '=HYPERLINK("http://x")' and m.first("mid_subject").get("subject") == "=1+1"


def test_documented_headers_cover_the_issue_columns():
    for key in ("time", "sender", "recipient", "subject", "last_state", "mid", "icid", "sender_ip", "sbrs"):
        assert CSV_HEADERS[key]


_cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25) | st.sampled_from(
    ["Delivered", "Dropped by antivirus", "12", "-3.5", "07 Sep 2022 08:10:33 (GMT)", "a@b.example", "", '"', "=1+1"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cells, min_size=0, max_size=12), max_size=8),
       header=st.permutations(["Time", "Sender", "Recipient", "Subject", "Last State", "MID", "ICID", "Sender IP",
                               "SBRS", "Odd"]))
def test_any_rows_never_crash(tmp_path, rows, header):
    import csv as _csv
    import io

    buf = io.StringIO()
    w = _csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    p = tmp_path / "fuzz.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    data = read_tracking(p)
    assert data.records + sum("row skipped" in x for x in data.problems) <= len([r for r in rows if any(
        c.strip() for c in r)]) + 1
    for e in data.events:
        assert e.source.startswith(f"tracking:{p}#row ")


def test_binary_garbage_is_an_input_error(tmp_path):
    p = tmp_path / "g.csv"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError):
        read_tracking(p)
