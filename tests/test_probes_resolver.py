"""The DNS client over the wire: failure states kept apart, TTLs, TCP fallback, budgets, offline, cache."""

from __future__ import annotations

import json
import time

import pytest
from dnsserver import DnsServer

from diagnose.model import InputError
from diagnose.probes.cache import ProbeCache
from diagnose.probes.resolver import Budget, Resolver, parse_nameserver, printable


@pytest.fixture
def resolver(dns_server):
    return Resolver(dns_server.address, timeout=0.5)


def test_answer_carries_records_ttl_resolver_and_time(resolver, dns_server):
    a = resolver.query("partner.example", "MX")
    assert a.status == "ok"
    assert sorted(a.records) == ["10 mx1.partner.example", "20 mx2.partner.example"]
    assert a.ttl == 3600
    assert a.resolver == dns_server.address
    assert a.time.startswith("20") and "T" in a.time
    assert resolver.query("partner.example", "TXT").ttl == 300  # per-record TTL from the zone


def test_nxdomain_servfail_timeout_and_refused_stay_apart(resolver):
    nx = resolver.query("nope.partner.example", "A")
    assert (nx.status, nx.rcode, nx.ttl) == ("nxdomain", "NXDOMAIN", 300)  # negative TTL = SOA minimum
    assert nx.void and not nx.failed
    sf = resolver.query("servfail.broken.example", "TXT")
    assert (sf.status, sf.rcode) == ("servfail", "SERVFAIL") and sf.failed
    t0 = time.monotonic()
    to = resolver.query("timeout.broken.example", "TXT")
    assert to.status == "timeout" and to.failed
    assert time.monotonic() - t0 < 2.0
    ref = resolver.query("host.not-served.test", "A")
    assert (ref.status, ref.rcode) == ("error", "REFUSED")


def test_no_data_is_ok_and_void(resolver):
    a = resolver.query("mx1.partner.example", "TXT")
    assert a.status == "ok" and a.records == [] and a.void
    assert a.ttl == 300


def test_truncated_udp_answer_is_retried_over_tcp(resolver, dns_server):
    a = resolver.query("big.mailhost.example", "TXT")
    assert a.status == "ok" and len(a.records) == 7
    transports = [t for _, _, t in dns_server.queries_for("big.mailhost.example")]
    assert transports[-2:] == ["udp", "tcp"]


def test_offline_sends_nothing(dns_server):
    r = Resolver(dns_server.address, offline=True)
    before = len(dns_server.log)
    a = r.query("partner.example", "MX")
    assert a.status == "skipped" and "offline" in a.error
    assert len(dns_server.log) == before and r.queries == 0


def test_expired_budget_skips_without_waiting(dns_server):
    r = Resolver(dns_server.address, timeout=5)
    budget = Budget(0.0)
    t0 = time.monotonic()
    a = r.query("partner.example", "A", budget)
    assert a.status == "skipped" and "budget" in a.error
    assert time.monotonic() - t0 < 0.2


def test_budget_bounds_a_silent_server():
    with DnsServer(drop_all=True) as silent:
        r = Resolver(silent.address, timeout=5)
        budget = Budget(0.6)
        t0 = time.monotonic()
        answers = [r.query(f"n{i}.partner.example", "A", budget) for i in range(5)]
        assert time.monotonic() - t0 < 1.5
        assert answers[0].status == "timeout"
        assert all(a.status in ("timeout", "skipped") for a in answers)
        assert answers[-1].status == "skipped"


def test_child_budget_never_outlives_parent():
    parent = Budget(0.2)
    assert parent.child(10).remaining() <= 0.2 + 1e-3


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1:5353", ("127.0.0.1", 5353)), ("127.0.0.1", ("127.0.0.1", 53)),
    ("[::1]:5300", ("::1", 5300)), ("::1", ("::1", 53)),
])
def test_parse_nameserver(text, expected):
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:x", ":53"])
def test_bad_nameserver_is_an_input_error(text):
    with pytest.raises(InputError):
        parse_nameserver(text)


def test_cache_saves_and_replays_without_the_network(tmp_path, dns_server):
    path = tmp_path / "probes.json"
    live = Resolver(dns_server.address, cache=ProbeCache(path))
    first = live.query("partner.example", "MX")
    nx = live.query("nope.partner.example", "A")
    live.cache.save()
    data = json.loads(path.read_text())
    assert data["format"].startswith("esa-diagnose-probe-cache")
    assert {a["qname"] for a in data["answers"]} == {"partner.example", "nope.partner.example"}
    # replay offline: same answers, same time and resolver, nothing sent
    before = len(dns_server.log)
    replay = Resolver(None, offline=True, cache=ProbeCache(path))
    again = replay.query("partner.example", "MX")
    assert again.records == first.records and again.time == first.time and again.resolver == first.resolver
    assert again.cached and replay.queries == 0
    assert replay.query("nope.partner.example", "A").status == nx.status == "nxdomain"
    assert replay.query("other.partner.example", "A").status == "skipped"
    assert len(dns_server.log) == before


def test_corrupt_cache_is_an_input_error(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(InputError):
        ProbeCache(p)
    p.write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError):
        ProbeCache(p)


def test_untrusted_txt_is_made_printable():
    assert printable("ok\x1b[31mred\n") == "ok\\x1b[31mred\\x0a"
    assert len(printable("a" * 5000)) == 2000


def test_garbage_reply_is_an_error_not_a_crash():
    import socket
    import threading

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)

    def answer_once() -> None:
        try:
            data, addr = sock.recvfrom(4096)
            sock.sendto(data[:2] + b"\x81\x80garbage", addr)  # the query's id, then junk
        except OSError:
            pass

    t = threading.Thread(target=answer_once, daemon=True)
    t.start()
    try:
        a = Resolver(f"127.0.0.1:{sock.getsockname()[1]}", timeout=1).query("x.example", "A")
    finally:
        t.join(3)
        sock.close()
    assert a.status == "error" and a.error


def test_session_notes_name_the_failed_questions():
    from diagnose.probes.session import ProbeSession

    with DnsServer(drop_all=True) as silent:
        s = ProbeSession.open(nameserver=silent.address, timeout=0.3, budget=0.5)
        for name in ("a.example", "b.example", "c.example"):
            s.resolver.query(name, "TXT", s.budget)
    note = s.notes()[0]
    assert note.startswith("DNS probes that failed") and "TXT a.example: timeout" in note
    assert "TXT c.example: skipped (time budget exhausted)" in note
    assert ProbeSession.open(offline=True).notes() == []


def test_a_hand_edited_cache_is_untrusted_too(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"format": "esa-diagnose-probe-cache/1", "answers": [
        {"qname": "x.example", "rdtype": "TXT", "status": "ok", "resolver": "r", "time": "t",
         "records": ["v=spf1 \x1b[2J -all"], "ttl": "big"},
        {"qname": "y.example", "rdtype": "A", "status": "owned", "records": "not a list"}, "junk"]}))
    c = ProbeCache(p)
    a = c.get("x.example", "TXT", "r")
    assert a.records == ["v=spf1 \\x1b[2J -all"] and a.ttl is None and a.cached
    b = c.get("y.example", "A", "", any_resolver=True)
    assert b.status == "error" and b.records == []


def test_budget_extend_gives_back_time():
    b = Budget(0.05)
    time.sleep(0.06)
    assert b.expired()
    b.extend(1.0)
    assert 0.9 < b.remaining() <= 1.0
    assert b.child(5).deadline <= b.deadline


def test_cache_in_a_missing_folder_is_an_input_error_before_any_query(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        ProbeCache(tmp_path / "no" / "such" / "cache.json")
