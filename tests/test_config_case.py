"""A case's log lines -> config facts; a finding enriched with the configuration and the what-if."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from diagnose.collectors.configcase import attach_config, case_inputs
from diagnose.collectors.esaconfig import load_config
from diagnose.model import ConnectionStory, Event, Evidence, Finding, MessageStory, Recommendation
from diagnose.whatif import enrich_finding

CONFIG = Path(__file__).parent / "data" / "config"
T = datetime(2024, 10, 7, 13, 15, 2)


def ev(kind: str, line: int, text: str, **fields) -> Event:
    return Event(kind, T, "SN1", f"mail_logs:{line}", text, fields)


def rejected_connection() -> SimpleNamespace:
    conn = ConnectionStory("SN1", 880102, events=[
        ev("icid_new", 40, "New SMTP ICID 880102 interface Data1 (192.0.2.25) address 192.0.2.1 reverse dns host "
           "unknown verified no", icid=880102, ip="192.0.2.1", rdns="unknown", rdns_verified=False),
        ev("hat_decision", 41, "ICID 880102 REJECT SG CORP_BLOCKLIST match sbrs[-10.0:-1.5] SBRS -2.1",
           icid=880102, action="REJECT", sender_group="CORP_BLOCKLIST", rule="sbrs[-10.0:-1.5]", sbrs="-2.1",
           sbrs_score=-2.1),
    ])
    return SimpleNamespace(connection=conn, message=None, recipient=None, query=SimpleNamespace(ip=None, recipient=None),
                           extra_facts=[])


def rat_rejected_message() -> SimpleNamespace:
    conn = ConnectionStory("SN1", 5001, events=[
        ev("icid_new", 10, "New SMTP ICID 5001 interface Data1 (192.0.2.25) address 198.51.100.77 reverse dns host "
           "mail.sender.example verified yes", icid=5001, ip="198.51.100.77", rdns="mail.sender.example",
           rdns_verified=True),
        ev("hat_decision", 11, "ICID 5001 ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS 3.4", icid=5001,
           action="ACCEPT", sender_group="UNKNOWNLIST", rule="sbrs[-1.0:10.0]", sbrs="3.4", sbrs_score=3.4),
    ])
    msg = MessageStory("SN1", 777, icid=5001, events=[
        ev("mid_start", 12, "Start MID 777 ICID 5001", mid=777, icid=5001),
        ev("mid_from", 13, "MID 777 ICID 5001 From: <bob@sender.example>", mid=777, sender="bob@sender.example"),
        ev("mid_rcpt_rejected", 14, "MID 777 ICID 5001 To: <jane@newco.example> Rejected by RAT", mid=777,
           recipient="jane@newco.example", by="RAT"),
    ])
    return SimpleNamespace(connection=conn, message=msg, recipient="jane@newco.example",
                           query=SimpleNamespace(ip=None, recipient="jane@newco.example"), extra_facts=[])


def finding(stage: str, outcome: str, summary: str, evidence: list[Evidence], kinds=()) -> Finding:
    recs = [Recommendation(k, k, "", "", "nothing", 1) for k in kinds]
    return Finding(outcome=outcome, stage=stage, cause="x", reason="blocked", confidence="certain", summary=summary,
                   evidence=list(evidence), recommendations=recs)


def test_case_inputs_from_log_lines():
    i = case_inputs(rejected_connection())
    assert (i["ip"], i["rdns"], i["rdns_verified"], i["sbrs"]) == ("192.0.2.1", "unknown", False, -2.1)
    assert i["logged_hat"].get("sender_group") == "CORP_BLOCKLIST"
    r = case_inputs(rat_rejected_message())
    assert r["recipient"] == "jane@newco.example" and r["logged_rat_rejected"] is True


def test_poor_reputation_names_group_policy_and_whatif_passes_hat():
    config = load_config([CONFIG / "esa_config.xml"])
    case = rejected_connection()
    events = attach_config(case, config)
    assert [k for k, _f, _e in case.extra_facts] == [e.kind for e in events]
    assert "config_log_agree" in [e.kind for e in events]
    log_ev = case.connection.events[1].evidence()
    f = finding("hat", "rejected", "The connection ICID 880102 from 192.0.2.1 was rejected at the HAT.",
                [log_ev], kinds=["hat_allowlist"])
    enrich_finding(f, config, case_inputs(case), events)
    assert "sender group CORP_BLOCKLIST, SBRS −10.0…−1.5 (sbrs[-10.0:-1.5]) → mail flow policy $CORP_BLOCKED: REJECT" in f.summary
    assert any(e.source.startswith("config:esa_config.xml#") and "CORP_BLOCKLIST" in e.text for e in f.evidence)
    assert f.evidence[0] == log_ev  # the log line stays first
    w = f.what_if
    assert w["recommendation"] == "hat_allowlist" and w["helps"] is True
    assert w["after"]["hat"]["sender_group"] == "WHITELIST"
    status = {p["stage"]: p["status"] for p in w["path"]}
    assert status["hat"] == "passes" and status["antispam"] == "skipped" and status["antivirus"] == "runs"
    doc = json.loads(json.dumps(f.to_json()))
    assert doc["what_if"]["predicted_outcome"] == "delivered"
    assert doc["config"]["listener"] == "IncomingMail"
    assert any("not understood" in g for g in f.gaps)  # mail_policies / sdr_settings


def test_rat_case_names_missing_domain_and_whatif_accepts():
    config = load_config([CONFIG / "hat_export.txt", CONFIG / "rat_export.txt"])
    case = rat_rejected_message()
    events = attach_config(case, config)
    f = finding("rat", "rejected", "MID 777 from bob@sender.example to jane@newco.example was rejected at the RAT.",
                [case.message.events[2].evidence()], kinds=["rat_accept"])
    enrich_finding(f, config, case_inputs(case), events)
    assert "no entry for domain newco.example" in f.summary
    assert any(e.source == "config:rat_export.txt#rat:8" for e in f.evidence)  # the ALL REJECT line
    w = f.what_if
    assert w["after"]["rat"]["access"] == "ACCEPT" and w["after"]["rat"]["entry"] == "newco.example"
    assert {p["stage"]: p["status"] for p in w["path"]}["rat"] == "passes"
    assert w["predicted_outcome"] == "delivered" and w["helps"] is True
    assert not f.gaps


def test_config_changed_since_the_logs_is_said():
    config = load_config([CONFIG / "hat_export.txt"])  # no CORP_BLOCKLIST here
    case = rejected_connection()
    events = attach_config(case, config)
    f = finding("hat", "rejected", "Rejected at the HAT.", [case.connection.events[1].evidence()])
    enrich_finding(f, config, case_inputs(case), events)
    assert "disagree" in f.summary and "CORP_BLOCKLIST" in f.summary
    assert any(w.startswith("CONFIG: Logs and configuration disagree") for w in f.why)
    # this configuration would put SBRS -2.1 in SUSPECTLIST: the what-if starts from there
    assert f.what_if["before"]["hat"]["sender_group"] == "SUSPECTLIST"


def test_delivered_finding_gets_no_whatif():
    config = load_config([CONFIG / "esa_config.xml"])
    case = rejected_connection()
    events = attach_config(case, config)
    f = finding("delivery", "delivered", "Delivered.", [])
    enrich_finding(f, config, case_inputs(case), events)
    assert f.what_if is None and f.summary == "Delivered."


def test_bounce_profile_cited_for_delivery_failures():
    config = load_config([CONFIG / "esa_config.xml"])
    case = rat_rejected_message()
    events = attach_config(case, config)
    bp = next(e for e in events if e.kind == "config_bounce_profile")
    assert bp.fields["max_retries"] == "100" and "maximum time in queue 259200 s" in bp.text
    assert bp.source == "config:esa_config.xml#bounce_profiles/bounce_profile[Default]"
    f = finding("delivery", "bounced", "Bounced after retries.", [])
    enrich_finding(f, config, case_inputs(case), events)
    assert any(e.source == bp.source for e in f.evidence)
    g = finding("rat", "rejected", "Rejected.", [])
    enrich_finding(g, config, case_inputs(case), events)
    assert not any(e.source == bp.source for e in g.evidence)


def test_mismatch_at_another_stage_stays_out_of_the_summary():
    config = load_config([CONFIG / "hat_export.txt"])
    case = rejected_connection()  # logged CORP_BLOCKLIST, which this export does not have
    events = attach_config(case, config)
    f = finding("antispam", "dropped", "Dropped by anti-spam.", [])
    enrich_finding(f, config, case_inputs(case), events)
    assert f.summary == "Dropped by anti-spam."
    assert any("disagree" in w for w in f.why)
    assert any(e.text.startswith("Logs and configuration disagree") for e in f.evidence)


TWO_LISTENERS = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE config SYSTEM "config.dtd">
<config><listeners>
 <listener><listener_name>InboundA</listener_name><type>public</type><interface>Data 1</interface>
  <hat>ALL
    $ACCEPTED
</hat></listener>
 <listener><listener_name>InboundB</listener_name><type>public</type><interface>Data 2</interface>
  <hat>$BLOCKED
    REJECT {}
BLOCKB:
    $BLOCKED (all of it)
192.0.2.0/24
    BLOCKB
ALL
    $ACCEPTED
</hat></listener>
</listeners></config>
"""


def test_listener_picked_by_the_logged_interface():
    # the element naming a listener's interface is not documented ([U]): `interface` is one spelling tried
    from diagnose.collectors.esaconfig import parse_config_bytes
    config = parse_config_bytes(TWO_LISTENERS, "two.xml")
    case = rejected_connection()
    case.connection.events[0].fields["interface"] = "Data 2"
    events = attach_config(case, config)
    chosen = next(e for e in events if e.kind == "config_listener")
    assert chosen.fields["listener"] == "InboundB" and "interface Data 2" in chosen.text
    assert next(e for e in events if e.kind == "config_hat_match").fields["sender_group"] == "BLOCKB"
    f = finding("hat", "rejected", "Rejected.", [], kinds=["hat_allowlist"])
    enrich_finding(f, config, case_inputs(case), events)
    assert f.what_if["listener"] == "InboundB"  # the what-if changes the same listener
    case.connection.events[0].fields["interface"] = "Data 9"  # no listener on it: the first public one
    assert next(e for e in attach_config(case, config) if e.kind == "config_listener").fields["listener"] == "InboundA"
