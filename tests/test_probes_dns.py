"""MX, domain existence, PTR/FCrDNS, DMARC, DNS lists and the Talos link, answers from the loopback server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diagnose.probes import dmarc, dnsbl, mx, ptr, talos
from diagnose.probes.domain import probe_domain
from diagnose.probes.resolver import Resolver


@pytest.fixture
def resolver(dns_server):
    return Resolver(dns_server.address, timeout=0.5)


def test_mx_hosts_by_preference_with_addresses(resolver):
    r = mx.probe_mx("partner.example", resolver)
    assert r.status == "ok" and r.answer.ttl == 3600
    assert [(h.preference, h.host, sorted(h.addresses)) for h in r.hosts] == [
        (10, "mx1.partner.example", ["192.0.2.25"]),
        (20, "mx2.partner.example", ["192.0.2.26", "2001:db8::26"])]
    events = r.events()
    assert [e.kind for e in events] == ["probe_mx", "probe_a", "probe_a"]
    assert events[0].fields["hosts"] == ["mx1.partner.example", "mx2.partner.example"]
    assert events[1].fields["addresses"] == ["192.0.2.25"]


def test_null_implicit_and_dead_mx(resolver):
    assert mx.probe_mx("nullmx.broken.example", resolver).null_mx
    imp = mx.probe_mx("nomx.broken.example", resolver)
    assert imp.implicit and imp.hosts[0].addresses == ["192.0.2.90"]
    dead = mx.probe_mx("deadmx.broken.example", resolver)
    assert dead.hosts[0].status == "nxdomain" and "gone.broken.example" in dead.problems[0]
    assert mx.probe_mx("servfail.broken.example", resolver).status == "servfail"
    assert mx.probe_mx("ghost.broken.example", resolver).status == "nxdomain"


def test_domain_existence_matches_esa_sender_verification(resolver):
    assert probe_domain("partner.example", resolver).exists is True
    nx = probe_domain("ghost.broken.example", resolver)
    assert (nx.status, nx.exists) == ("nxdomain", False) and "does not exist" in nx.verdict
    sf = probe_domain("servfail.broken.example", resolver)
    assert (sf.status, sf.exists) == ("servfail", None) and "could not be resolved" in sf.verdict
    to = probe_domain("timeout.broken.example", resolver)
    assert (to.status, to.exists) == ("timeout", None)
    assert to.events()[0].fields["status"] == "timeout"


def test_ptr_and_fcrdns(resolver):
    ok = ptr.probe_ptr("192.0.2.25", resolver)
    assert ok.names == ["mx1.partner.example"] and ok.fcrdns is True
    forged = ptr.probe_ptr("192.0.2.99", resolver)
    assert forged.names == ["forged.partner.example"] and forged.fcrdns is False
    none = ptr.probe_ptr("192.0.2.26", resolver)
    assert none.status == "nxdomain" and none.names == [] and none.fcrdns is False
    ev = ok.events()[0]
    assert ev.kind == "probe_ptr" and ev.fields["fcrdns"] is True and ev.fields["rdns"] == "mx1.partner.example"


def test_dnsbl_listed_with_codes_and_reason(resolver):
    zen = dnsbl.probe_dnsbl("198.51.100.7", "zen.spamhaus.org", resolver)
    assert zen.listed is True and zen.codes == ["127.0.0.2", "127.0.0.4"]
    assert zen.meanings[0].startswith("SBL") and zen.meanings[1].startswith("XBL")
    assert "SBL000001" in zen.reason and zen.answer.ttl == 900
    cop = dnsbl.probe_dnsbl("198.51.100.7", "bl.spamcop.net", resolver)
    assert cop.listed is True and "spamcop.net" in cop.reason
    assert dnsbl.probe_dnsbl("203.113.0.10", "zen.spamhaus.org", resolver).listed is False  # octets reversed
    pbl = dnsbl.probe_dnsbl("203.0.113.10", "zen.spamhaus.org", resolver)
    assert pbl.listed and pbl.meanings[0].startswith("PBL (Spamhaus")


def test_dnsbl_not_listed_and_query_error_is_never_a_listing(resolver):
    clean = dnsbl.probe_dnsbl("192.0.2.25", "zen.spamhaus.org", resolver)
    assert clean.listed is False and clean.status == "nxdomain"
    err = dnsbl.probe_dnsbl("192.0.2.99", "zen.spamhaus.org", resolver)
    assert err.listed is None and err.status == "error" and "public or open resolver" in err.error
    assert err.events()[0].fields["listed"] is None


def test_dnsbl_configurable_list_and_failures(resolver):
    res = dnsbl.probe_lists("127.0.0.2", resolver, ["zen.spamhaus.org", "servfail.lists.test"])
    assert res[0].listed and res[0].codes == ["127.0.0.2", "127.0.0.4", "127.0.0.10"]
    assert res[1].listed is None and res[1].zone == "servfail.lists.test"


def test_dnsbl_query_names():
    assert dnsbl.query_name("192.0.2.25", "zen.spamhaus.org") == "25.2.0.192.zen.spamhaus.org"
    assert dnsbl.query_name("2001:db8::1", "zen.spamhaus.org").startswith("1.0.0.0.0.0.0.0")
    assert dnsbl.decode("zen.spamhaus.org", "127.255.255.254")[0] is None
    assert dnsbl.decode("zen.spamhaus.org", "127.0.0.11") == (True, dnsbl.CODES["zen.spamhaus.org"]["127.0.0.11"])
    assert dnsbl.decode("x.example", "10.0.0.1")[0] is None


@given(st.text(max_size=40))
def test_dnsbl_decode_never_crashes(code):
    listed, meaning = dnsbl.decode("zen.spamhaus.org", code)
    assert listed in (True, None) and meaning


def test_dmarc_policy_and_alignment(resolver):
    d = dmarc.probe_dmarc("partner.example", resolver)
    assert d.found and (d.policy, d.adkim, d.aspf, d.pct) == ("reject", "s", "r", 100)
    sub = dmarc.probe_dmarc("mx1.partner.example", resolver)
    assert sub.found and sub.org_fallback and sub.policy == "quarantine"  # sp= applies to subdomains
    none = dmarc.probe_dmarc("mailhost.example", resolver)
    assert not none.found and none.status == "nxdomain"
    failed = dmarc.probe_dmarc("x.broken.example", resolver)
    assert not failed.found
    assert dmarc.parse_dmarc("v=DMARC1; p=none; rua=mailto:a@b")["rua"] == "mailto:a@b"


def test_talos_link_says_there_is_no_api():
    link = talos.talos_link("198.51.100.7")
    assert link["url"] == "https://talosintelligence.com/reputation_center/lookup?search=198.51.100.7"
    assert "no public API" in link["note"]
    ev = talos.talos_event("partner.example")
    assert ev.kind == "probe_talos" and ev.fields["status"] == "skipped"
