"""Probes in service of explain: candidate connections, probes a case calls for, log-versus-probe disagreements."""

from __future__ import annotations

from datetime import datetime

import pytest

from diagnose.collectors.catalogue import parse
from diagnose.model import ConnectionStory, Event
from diagnose.probes import casework
from diagnose.probes.session import ProbeSession


def ev(text: str, n: int, ts: str = "2024-10-07 13:15:02") -> Event:
    """A real log line through the real catalogue."""
    parsed = parse(text)
    assert parsed is not None, text
    _name, kind, fields = parsed
    return Event(kind, datetime.fromisoformat(ts), "SN1", f"mail_logs:{n}", text, fields)


def conn(icid: int, ip: str, action: str = "REJECT", rule: str = "sbrs[-10.0:-2.5]", verified: str = "no",
         rdns: str = "out7.mailhost.example") -> ConnectionStory:
    events = [
        ev(f"New SMTP ICID {icid} interface Data 1 (10.0.0.1) address {ip} reverse dns host {rdns} verified {verified}", 1),
        ev(f"ICID {icid} {action} SG BLACKLIST match {rule} SBRS -9.5", 2),
        ev(f"ICID {icid} close", 3),
    ]
    return ConnectionStory("SN1", icid, events)


@pytest.fixture
def session(dns_server):
    return ProbeSession.open(nameserver=dns_server.address, timeout=0.5, budget=10)


def test_candidate_connections_and_match_fact(session):
    cset = casework.sender_candidates_for("alice@partner.example", session)
    conns = [conn(1, "198.51.100.7"), conn(2, "8.8.8.8"), conn(3, "192.0.2.25")]
    found = casework.candidate_connections(conns, cset)
    assert [(c.icid, cand.network) for c, cand in found] == [(1, "198.51.100.0/24"), (3, "192.0.2.25/32")]
    c, cand = found[0]
    fact = casework.match_event(c.ip, cand, cset)
    assert fact.kind == "probe_spf_match" and fact.source.startswith("probe:spf partner.example @127.0.0.1:")
    assert fact.fields["chain"] == ("partner.example: include:_spf.mailhost.example > "
                                    "_spf.mailhost.example: ip4:198.51.100.0/24")
    assert fact.fields["mechanism"] == "_spf.mailhost.example: ip4:198.51.100.0/24"
    assert fact.fields["ttl"] == 300 and fact.fields["status"] == "ok"
    reason = casework.link_reason("alice@partner.example", c, cand, cset)
    assert "ICID 1" in reason and "include:_spf.mailhost.example" in reason


def test_sender_without_domain_gives_no_candidates(session):
    assert casework.sender_candidates_for("postmaster", session) is None


def test_sbrs_rejection_calls_for_ptr_and_default_lists(session):
    story = conn(7, "198.51.100.7")
    facts = casework.case_probe_events(story.events, session)
    kinds = [f.kind for f in facts]
    assert kinds.count("probe_ptr") == 1 and kinds.count("probe_dnsbl") == 2
    zen = next(f for f in facts if f.kind == "probe_dnsbl" and f.get("zone") == "zen.spamhaus.org")
    assert zen.get("listed") is True and "SBL" in zen.text
    # the log said "verified no"; the PTR now forward-confirms: shown, and the log stands
    dis = [f for f in facts if f.kind == "probe_disagreement"]
    assert len(dis) == 1 and dis[0].get("topic") == "rdns" and "verdict stands" in dis[0].text
    assert dis[0].get("log_source") == "mail_logs:1"


def test_dnslist_rejection_probes_only_that_list_and_flags_delisting(session):
    story = conn(8, "192.0.2.25", rule="dnslist[zen.spamhaus.org]", verified="yes", rdns="mx1.partner.example")
    facts = casework.case_probe_events(story.events, session)
    lists = [f for f in facts if f.kind == "probe_dnsbl"]
    assert [f.get("zone") for f in lists] == ["zen.spamhaus.org"] and lists[0].get("listed") is False
    dis = [f for f in facts if f.kind == "probe_disagreement"]
    assert [d.get("topic") for d in dis] == ["dnslist"]
    assert "no longer lists it" in dis[0].text and dis[0].get("stage") == "hat"


def test_sender_verification_probes_the_envelope_domain(session):
    nx = ev("ICID 1424 Address: <user@ghost.broken.example> sender rejected, envelope sender domain does not exist", 5)
    facts = casework.case_probe_events([nx], session)
    dom = next(f for f in facts if f.kind == "probe_domain")
    assert dom.get("status") == "nxdomain" and dom.get("exists") is False
    assert not [f for f in facts if f.kind == "probe_disagreement"]
    sf = ev("ICID 1425 Address: <user@servfail.broken.example> sender rejected, envelope sender domain "
            "could not be resolved", 6)
    facts = casework.case_probe_events([sf], session)
    assert next(f for f in facts if f.kind == "probe_domain").get("status") == "servfail"
    fixed = ev("ICID 1426 Address: <bob@partner.example> sender rejected, envelope sender domain does not exist", 7)
    facts = casework.case_probe_events([fixed], session)
    dis = [f for f in facts if f.kind == "probe_disagreement"]
    assert len(dis) == 1 and dis[0].get("stage") == "sender_verification" and "resolves now" in dis[0].text


def test_delivery_dns_failure_probes_the_recipient_domain(session):
    line = ev("DNS Temporary Failure partner.example MX - ServFail", 9)
    facts = casework.case_probe_events([line], session)
    mxf = next(f for f in facts if f.kind == "probe_mx")
    assert mxf.get("hosts") == ["mx1.partner.example", "mx2.partner.example"]
    assert any(f.kind == "probe_a" for f in facts)
    dis = [f for f in facts if f.kind == "probe_disagreement"]
    assert dis and dis[0].get("topic") == "recipient_mx"
    still = casework.case_probe_events([ev("DNS Temporary Failure servfail.broken.example MX - ServFail", 10)],
                                       session)
    assert next(f for f in still if f.kind == "probe_mx").get("status") == "servfail"
    assert not [f for f in still if f.kind == "probe_disagreement"]


@pytest.mark.parametrize("line,domain", [
    ("Bounced: DCID 0 MID 8 to RID 0 - 5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up "
     "Partner.Example (MX):  NXDomain'])", "partner.example"),
    ("Bounced: DCID 0 MID 19408690 From: <a@sample.net> To: <lyra@partner.example> RID 0 - 5.1.2 - Bad destination "
     "host ('000', ['DNS Hard Error looking up partner.example (MX): NXDomain'])", "partner.example"),
    ("DNS Temporary Failure partner.example MX - ServFail", "partner.example"),
])
def test_delivery_dns_domain_from_real_grammar(line, domain):
    assert casework.delivery_domain(ev(line, 1), None) == domain


def test_unrelated_bounce_names_no_dns_domain():
    line = ev("Bounced: DCID 5 MID 19 to RID 0 - 5.1.0 - Unknown address error ('550', ['5.1.1 user unknown'])", 1)
    assert casework.delivery_domain(line, "x@partner.example") is None


def test_dns_hard_bounce_that_resolves_now_is_a_disagreement(session):
    line = ev("Bounced: DCID 0 MID 8 to RID 0 - 5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up "
              "partner.example (MX):  NXDomain'])", 4)
    facts = casework.case_probe_events([line], session)
    dis = [f for f in facts if f.kind == "probe_disagreement"]
    assert len(dis) == 1 and dis[0].get("stage") == "delivery" and "mail_logs:4" in dis[0].text
