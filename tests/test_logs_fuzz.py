"""Property-based fuzz of the reader, the catalogue and the correlator: hostile bytes never raise,
every line is counted once (recognised + unknown = lines read), line numbers stay exact."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.collectors import reader as reader_mod
from diagnose.collectors.correlate import count_stories, stories, to_events
from diagnose.collectors.reader import LogReader
from diagnose.collectors.search import find_stories

REAL = [
    b"Wed Nov 19 09:16:38 2014 Info: New SMTP ICID 60140291 interface Data 1 (68.232.141.109) address 176.227.203.114 "
    b"reverse dns host h176-227-203-114.host.redstation.co.uk verified no",
    b"Wed Nov 19 09:16:38 2014 Info: ICID 60140291 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5",
    b"<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 DKIM: pass signature verified (d=x.com s=s i=@x.com)",
    b"<94>Nov 24 14:22:57 host.example mail_logs: Info: MID 204841507 Subject Re: x\\r\\n (PTY) LTD",
    b"Wed Nov 19 09:16:42 2014 Info: MID 24611516 Message-ID \"<Lands'End.6cl2sv@email.landsend.com>\"",
    b"Mon Mar 19 20:16:27 2018 Info: Bounced: DCID 8413617 MID 19338947 From: <a@example.com> To: <z@b.com> RID 0 - "
    b"5.4.7 - Delivery expired (message too old) ('000', ['timeout'])",
    b"Wed Nov 19 09:16:38 2014 Info: MID 24611495 was generated based on MID 24611421 by bcc filter 'FireEye_BCC'",
    b"Wed Nov 19 09:16:38 2014 Info: Message finished MID 24611411 done",
    b"Sep 16 16:56:06 consolidated_event: CEF:0|Cisco|C100V|15.0.0-104|ESA_CONSOLIDATED_LOG_EVENT|x|5|ESAMID=1 suser=a",
    b"Wed Nov 19 09:16:46 2014 Info: Version: 7.6.3-019 SN: 420D4FEA709365BFB3E3-0AF2EE5E700E",
]

real_line = st.sampled_from(REAL)
truncated = st.builds(lambda line, n: line[:n], real_line, st.integers(0, 200))
mixed = st.builds(lambda a, b, n: a[:n] + b[n:], real_line, real_line, st.integers(0, 120))
noise = st.binary(max_size=300)
nul = st.builds(lambda line, i: line[:i] + b"\x00" + line[i:], real_line, st.integers(0, 100))
huge = st.builds(lambda line, n: line + b"Z" * n, real_line, st.integers(0, 5000))
line = st.one_of(real_line, truncated, mixed, noise, nul, huge)
newline = st.sampled_from([b"\n", b"\r\n", b"\n", b"\r\r\n"])


def _expected_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(line, newline), max_size=40), st.booleans(), st.sampled_from([16, 64, 1 << 20]))
def test_reader_never_raises_and_counts_every_line(tmp_path_factory, parts, trailing, chunk):
    data = b"".join(a + nl for a, nl in parts)
    if trailing and parts:
        data = data[: -len(parts[-1][1])]  # a last line without its line break
    path = tmp_path_factory.mktemp("fuzz") / "mail_logs.current"
    path.write_bytes(data)
    saved = reader_mod.CHUNK, reader_mod.MAX_LINE
    reader_mod.CHUNK, reader_mod.MAX_LINE = chunk, 1000  # small chunks: lines and overlong lines cross them
    try:
        rows = list(LogReader([path]))
        st_ = count_stories(LogReader([path]))
        conns, msgs = stories(to_events(LogReader([path])))
    finally:
        reader_mod.CHUNK, reader_mod.MAX_LINE = saved
    assert len(rows) == _expected_lines(data)
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))
    assert all(len(r[5]) <= 1000 for r in rows)
    assert st_.lines == len(rows)
    assert st_.recognized + st_.unknown == st_.lines
    assert sum(u["count"] for u in st_.unknown_shapes) == st_.unknown
    assert st_.messages == len(msgs) and st_.connections == len(conns)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(line, max_size=30), st.sampled_from(["a@example.com", "176.227.203.114", "24611411", "x'y\"z"]))
def test_search_never_raises_on_hostile_logs(tmp_path_factory, lines, needle):
    path = tmp_path_factory.mktemp("fuzzsearch") / "mail_logs.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    kw = {"sender": needle} if "@" in needle else {"ip": needle} if "." in needle else \
        {"mid": needle} if needle.isdigit() else {"subject": needle}
    r = find_stories([path], **kw)
    assert r.bytes_read >= 0 and isinstance(r.messages, list)


@pytest.mark.slow
def test_gzip_truncated_is_reported_not_raised(tmp_path):
    import gzip

    p = tmp_path / "mail_logs.s.gz"
    body = b"".join(b"Wed Nov 19 09:16:38 2014 Info: Message finished MID %d done\n" % (i * 7919) for i in range(200_000))
    p.write_bytes(gzip.compress(body)[:-4000])
    r = LogReader([p])
    rows = list(r)  # what could be decompressed is read; the rest is reported, nothing raises
    assert 0 < len(rows) < 200_000 and r.errors and "unreadable" in r.errors[0]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.builds(lambda a, b: a + b, st.sampled_from([
    "MID 1 ", "ICID 2 ", "DCID 3 ", "Message done DCID 4 MID ", "Bounced: DCID 5 MID 6 ", "MID 7 Subject ",
    "MID 8 RID [", "CEF:0|a|b|c|d|e|f|", "MID 9 ICID 10 To: ", "New SMTP ICID 11 interface ", "Start MID "]),
    st.text(max_size=200))))
def test_catalogue_and_envelope_never_raise(text):
    from diagnose.collectors import catalogue, envelope

    ts, level, host, body = envelope.split(text)
    r = catalogue.parse(body)
    if r is not None:
        kind, name, f = r
        assert catalogue.BY_NAME[name].kind == kind and isinstance(f, dict)
        for k in ("mid", "icid", "dcid", "rid"):
            assert k not in f or isinstance(f[k], int | str)
    assert isinstance(catalogue.shape(body), str)
