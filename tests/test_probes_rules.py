"""Probe facts through the real rule engine: the SPF chain and the REJECT line become a `likely` finding."""

from __future__ import annotations

from datetime import datetime

import pytest

from diagnose.collectors.catalogue import parse
from diagnose.engine.explainer import default_engine
from diagnose.engine.facts import Query, connection_case, event_fields
from diagnose.model import ConnectionStory, Event
from diagnose.probes import casework
from diagnose.probes.session import ProbeSession


def ev(text: str, sec: int) -> Event:
    _name, kind, fields = parse(text)
    return Event(kind, datetime(2024, 10, 7, 13, 15, sec), "SN1", f"mail_logs:{sec}", text, fields)


def rejected(ip: str, rule: str = "sbrs[-10.0:-2.5]", verified: str = "yes",
             rdns: str = "out7.mailhost.example") -> ConnectionStory:
    return ConnectionStory("SN1", 880102, [
        ev(f"New SMTP ICID 880102 interface Data 1 (10.0.0.1) address {ip} reverse dns host {rdns} verified {verified}", 1),
        ev(f"ICID 880102 REJECT SG BLACKLIST match {rule} SBRS -9.5", 2),
        ev("ICID 880102 close", 3)])


@pytest.fixture
def session(dns_server):
    return ProbeSession.open(nameserver=dns_server.address, timeout=0.5, budget=10)


def run(conn: ConnectionStory, session: ProbeSession, sender: str = "alice@partner.example"):
    cset = casework.sender_candidates_for(sender, session)
    found = casework.candidate_connections([conn], cset)
    q = Query(sender=sender)
    if found:
        c, cand = found[0]
        case = connection_case(c, q, link="candidate_ip", link_confidence="likely",
                               link_reason=casework.link_reason(sender, c, cand, cset))
        facts = [casework.match_event(c.ip, cand, cset)]
    else:
        case = connection_case(conn, q)
        facts = []
    facts += casework.case_probe_events(conn.events, session)
    for e in facts:
        case.extra_facts.append((e.kind, event_fields(e), e))
    _record, finding = default_engine().run_case(case)
    return finding


def test_spf_include_chain_makes_a_likely_hat_rejection(session):
    f = run(rejected("198.51.100.7"), session)
    assert (f.outcome, f.stage, f.confidence) == ("rejected", "hat", "likely")
    texts = [e.text for e in f.evidence]
    assert "ICID 880102 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5" in texts
    spf = next(e for e in f.evidence if e.source.startswith("probe:spf partner.example"))
    assert "include:_spf.mailhost.example > _spf.mailhost.example: ip4:198.51.100.0/24" in spf.text
    assert any(w.startswith("HAT-PROBE-SENDER-NETWORK") for w in f.why)
    assert any("SBL000001" in e.text for e in f.evidence)  # the DNS-list reason supports the verdict


def test_unrelated_ip_gets_no_spf_link(session):
    f = run(rejected("192.0.2.99", verified="no", rdns="forged.partner.example"), session)
    assert f.confidence == "certain"  # the plain REJECT line, not a candidate
    assert not any(e.source.startswith("probe:spf") for e in f.evidence)
    assert any(w.startswith("HAT-PROBE-NO-FCRDNS") for w in f.why)  # forged PTR: no FCrDNS


def test_delisted_since_the_rejection_is_shown_and_the_log_wins(session):
    f = run(rejected("192.0.2.25", rule="dnslist[zen.spamhaus.org]", rdns="mx1.partner.example"), session)
    assert (f.outcome, f.stage) == ("rejected", "hat") and f.cause == "dns_blocklisted"
    note = next(w for w in f.why if w.startswith("HAT-PROBE-DNS-CHANGED"))
    assert "no longer lists it" in note and "verdict stands" in note
    assert any("no longer lists it" in c for c in f.extra.get("context", []))


def test_sbrs_rejection_names_the_talos_page_as_a_gap(session):
    f = run(rejected("198.51.100.7"), session)
    gap = next(g for g in f.gaps if "Talos" in g)
    assert "https://talosintelligence.com/reputation_center/lookup?search=198.51.100.7" in gap
    assert "no public API" in gap
