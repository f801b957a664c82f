"""SPF over the wire: parse, macros, check_host with chains, flattening, RFC 7208 limits and loops."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.probes import spf
from diagnose.probes.resolver import Resolver


@pytest.fixture
def resolver(dns_server):
    return Resolver(dns_server.address, timeout=0.5)


# -- parsing and macros (no network) ---------------------------------------------------------------
def test_parse_terms_and_qualifiers():
    terms = spf.parse_record("v=spf1 ip4:192.0.2.0/24 -ip6:2001:db8::/32 ~a:mail.x.example/28//64 "
                             "?mx include:_spf.x.example redirect=y.example exp=explain.x.example foo=bar -all")
    kinds = [(t.kind, t.name, t.qualifier) for t in terms]
    assert kinds[:5] == [("mechanism", "ip4", "+"), ("mechanism", "ip6", "-"), ("mechanism", "a", "~"),
                         ("mechanism", "mx", "?"), ("mechanism", "include", "+")]
    a = terms[2]
    assert (a.value, a.cidr4, a.cidr6) == ("mail.x.example", 28, 64)
    assert [t.name for t in terms if t.kind == "modifier"] == ["redirect", "exp", "foo"]


@pytest.mark.parametrize("record", [
    "v=spf2 -all", "v=spf1 ip4:192.0.2.300", "v=spf1 ip4:2001:db8::1", "v=spf1 foo:bar",
    "v=spf1 include", "v=spf1 all:x", "v=spf1 redirect=a.example redirect=b.example", "v=spf1 a:%{x}",
    "v=spf1 a/33", "v=spf1 include:x.example/24",
])
def test_syntax_errors_are_permerrors(record):
    with pytest.raises(spf.SpfSyntaxError):
        spf.parse_record(record)


RFC_SENDER = "strong-bad@email.example.com"


@pytest.mark.parametrize("spec,expected", [  # RFC 7208 section 7.4 examples
    ("%{s}", "strong-bad@email.example.com"), ("%{o}", "email.example.com"), ("%{d}", "email.example.com"),
    ("%{d4}", "email.example.com"), ("%{d3}", "email.example.com"), ("%{d2}", "example.com"),
    ("%{d1}", "com"), ("%{dr}", "com.example.email"), ("%{d2r}", "example.email"), ("%{l}", "strong-bad"),
    ("%{l-}", "strong.bad"), ("%{lr}", "strong-bad"), ("%{lr-}", "bad.strong"), ("%{l1r-}", "strong"),
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
    ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
    ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
])
def test_macro_expansion_rfc_examples(spec, expected):
    ip = ipaddress.ip_address("192.0.2.3")
    assert spf.expand(spec, domain="email.example.com", ip=ip, sender=RFC_SENDER) == expected


def test_macro_expansion_ipv6_and_missing_ip():
    ip = ipaddress.ip_address("2001:db8::cb01")
    assert spf.expand("%{ir}.%{v}._spf.%{d2}", domain="email.example.com", ip=ip, sender=RFC_SENDER) == (
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com")
    assert spf.expand("%{i}.x.example", domain="x.example") is None  # cannot flatten without the IP


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_parser_never_crashes_on_untrusted_text(text):
    try:
        terms = spf.parse_record("v=spf1 " + text)
    except spf.SpfSyntaxError:
        return
    for t in terms:  # whatever parses is well formed
        assert t.kind in ("mechanism", "modifier") and t.text in text
        if t.name in ("ip4", "ip6"):
            ipaddress.ip_network(t.value)


# -- check_host over the wire -----------------------------------------------------------------------
def test_include_chain_authorises(resolver):
    r = spf.check_host("198.51.100.7", "partner.example", resolver)
    assert r.result == "pass"
    assert r.chain == ["partner.example: include:_spf.mailhost.example",
                       "_spf.mailhost.example: ip4:198.51.100.0/24"]


def test_nested_include_and_ipv6(resolver):
    r = spf.check_host("2001:db8:100::5", "partner.example", resolver)
    assert r.result == "pass"
    assert r.chain[-1] == "_netblocks.mailhost.example: ip6:2001:db8:100::/48"
    assert len(r.chain) == 3


def test_mx_mechanism_and_fail(resolver):
    r = spf.check_host("192.0.2.26", "partner.example", resolver)
    assert (r.result, r.chain) == ("pass", ["partner.example: mx", "mx2.partner.example: A 192.0.2.26/32"])
    assert spf.check_host("8.8.8.8", "partner.example", resolver).result == "fail"


def test_redirect_follows_target(resolver):
    r = spf.check_host("198.51.100.7", "lists.partner.example", resolver)
    assert r.result == "pass" and r.chain[0] == "lists.partner.example: redirect=partner.example"


def test_include_loop_is_permerror_unless_matched_first(resolver):
    assert spf.check_host("192.0.2.65", "loops.example", resolver).result == "pass"
    r = spf.check_host("8.8.8.8", "loops.example", resolver)
    assert r.result == "permerror" and "loop" in r.explanation
    assert spf.check_host("8.8.8.8", "self.loops.example", resolver).result == "permerror"


def test_more_than_ten_lookups_is_permerror(resolver):
    assert spf.check_host("10.0.1.9", "toomany.example", resolver).result == "pass"  # matched at the 1st
    r = spf.check_host("10.0.11.9", "toomany.example", resolver)
    assert r.result == "permerror" and r.lookups == 11 and "10" in r.explanation


def test_void_lookup_limit(resolver):
    r = spf.check_host("192.0.2.200", "voids.example", resolver)
    assert r.result == "permerror" and r.void_lookups == 3
    assert spf.check_host("192.0.2.201", "two.voids.example", resolver).result == "pass"  # 2 voids are allowed


def test_servfail_and_timeout_are_temperror(resolver):
    assert spf.check_host("192.0.2.1", "broken.example", resolver).result == "temperror"
    r = spf.check_host("192.0.2.150", "slow.broken.example", resolver)
    assert r.result == "temperror" and "timeout" in r.explanation


def test_no_record_two_records_and_bad_syntax(resolver):
    assert spf.check_host("192.0.2.1", "mx1.partner.example", resolver).result == "none"
    assert spf.check_host("192.0.2.1", "nothing.partner.example", resolver).result == "none"
    assert spf.check_host("192.0.2.1", "twice.broken.example", resolver).result == "permerror"
    assert spf.check_host("192.0.2.1", "syntax.broken.example", resolver).result == "permerror"


def test_macros_exists_and_ptr_evaluate(resolver):
    # exists:%{i}._spf.broken.example -> NXDOMAIN; ptr -> mx1.partner.example is not under broken.example
    r = spf.check_host("192.0.2.25", "macro.broken.example", resolver)
    assert r.result == "fail" and r.void_lookups == 1


# -- flattening -----------------------------------------------------------------------------------
def test_flatten_lists_every_network_with_its_chain(resolver):
    flat = spf.flatten("partner.example", resolver)
    assert flat.status == "ok" and flat.lookups == 3 and flat.all_result == "fail"
    nets = {n.network: n.chain for n in flat.authorised}
    assert set(nets) == {"192.0.2.0/28", "198.51.100.0/24", "203.0.113.0/25", "2001:db8:100::/48",
                         "192.0.2.25/32", "192.0.2.26/32", "2001:db8::26/128"}
    assert nets["203.0.113.0/25"] == ["partner.example: include:_spf.mailhost.example",
                                      "_spf.mailhost.example: include:_netblocks.mailhost.example",
                                      "_netblocks.mailhost.example: ip4:203.0.113.0/25"]
    assert nets["192.0.2.25/32"] == ["partner.example: mx", "mx1.partner.example: A 192.0.2.25"]
    assert flat.records["_spf.mailhost.example"].startswith("v=spf1 include:_netblocks")
    assert spf.find_network(flat, "198.51.100.77").network == "198.51.100.0/24"
    assert spf.find_network(flat, "8.8.8.8") is None


def test_flatten_reports_limits_and_loops(resolver):
    many = spf.flatten("toomany.example", resolver)
    assert many.status == "permerror" and many.lookups == 11
    assert [n.within_limit for n in many.networks].count(False) == 1
    assert any("limit 10" in p for p in many.problems)
    loop = spf.flatten("loops.example", resolver)
    assert loop.status == "permerror" and any("loop" in p for p in loop.problems)
    assert [n.network for n in loop.networks] == ["192.0.2.64/30"]
    voids = spf.flatten("voids.example", resolver)
    assert voids.status == "permerror" and voids.void_lookups == 3


def test_flatten_keeps_temporary_failures_apart(resolver):
    sf = spf.flatten("broken.example", resolver)
    assert sf.status == "temperror" and sf.dns_status == "servfail"
    to = spf.flatten("slow.broken.example", resolver)
    assert to.status == "temperror" and to.dns_status == "timeout"
    assert [n.network for n in to.authorised] == ["192.0.2.150/32"]
    assert spf.flatten("nothing.partner.example", resolver).dns_status == "nxdomain"


def test_flatten_marks_sender_dependent_terms(resolver):
    flat = spf.flatten("macro.broken.example", resolver)
    assert len(flat.unflattenable) == 2 and not flat.networks


def test_softfail_include_networks_are_not_authorising(resolver):
    # _spf.mailhost.example ends ~all; its networks authorise only through the + terms
    flat = spf.flatten("_spf.mailhost.example", resolver)
    assert flat.all_result == "softfail"
    assert all(n.authorises for n in flat.networks)


def test_spf_fact_event(resolver, dns_server):
    ev = spf.flatten("partner.example", resolver).events()[0]
    assert ev.kind == "probe_spf" and ev.source == f"probe:spf partner.example @{dns_server.address}"
    assert ev.fields["status"] == "ok" and ev.fields["ttl"] == 300 and ev.fields["resolver"] == dns_server.address
    assert "198.51.100.0/24" in ev.fields["networks"] and ev.ts is not None
