"""HAT / RAT evaluation on the configuration model, config facts for the engine, and the what-if."""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.collectors.configeval import config_facts_for_case, group_matches, hat_match, rat_match
from diagnose.collectors.configmodel import SenderGroup
from diagnose.collectors.esaconfig import load_config
from diagnose.collectors.hat_syntax import parse_member
from diagnose.model import Event
from diagnose.whatif import what_if

CONFIG = Path(__file__).parent / "data" / "config"


@pytest.fixture
def xml_config():
    return load_config([CONFIG / "esa_config.xml"])


@pytest.fixture
def exports():
    return load_config([CONFIG / "hat_export.txt", CONFIG / "rat_export.txt"])


def _hat_event(text: str, **fields) -> Event:
    return Event("hat_decision", datetime(2024, 10, 7, 13, 15, 2), "", "mail_logs:41", text, fields)


# ----------------------------------------------------------------- HAT

@pytest.mark.parametrize("ip, sbrs, rdns, group, access", [
    ("192.0.2.1", -5.0, "", "CORP_BLOCKLIST", "REJECT"),      # custom group above BLACKLIST wins
    ("192.0.2.1", -1.2, "", "SUSPECTLIST", "ACCEPT"),
    ("192.0.2.1", 4.0, "", "UNKNOWNLIST", "ACCEPT"),
    ("203.0.113.77", 6.0, "", "CORP_BLOCKLIST", "REJECT"),    # network member, good SBRS
    ("198.51.100.20", -9.0, "", "WHITELIST", "ACCEPT"),       # WHITELIST is above: the IP wins
    ("192.0.2.9", -8.0, "mx1.partner.example", "WHITELIST", "ACCEPT"),
    ("192.0.2.9", -8.0, "a.b.trusted-relay.example", "WHITELIST", "ACCEPT"),
    ("192.0.2.9", 2.0, "x.spamdomain.example", "UNKNOWNLIST", "ACCEPT"),  # UNKNOWNLIST comes first
])
def test_hat_first_match(xml_config, ip, sbrs, rdns, group, access):
    m = hat_match(xml_config.listener("IncomingMail"), ip, rdns, sbrs, {"zen.spamhaus.org": False})
    assert (m.sender_group.label, m.access) == (group, access)
    assert m.certain


def test_hat_sbrs_none_and_unknown(xml_config):
    li = xml_config.listener("IncomingMail")
    m = hat_match(li, "192.0.2.1", "", "None", {"zen.spamhaus.org": False})
    assert m.sender_group.name == "UNKNOWNLIST" and m.member.value == "sbrs[none]"
    # SBRS not known: the SBRS groups cannot be decided; ALL matches, but not with certainty
    m = hat_match(li, "192.0.2.1", "", None, {"zen.spamhaus.org": False})
    assert m.sender_group.label == "ALL" and not m.certain
    assert ("CORP_BLOCKLIST", "the SBRS score is not known") in m.undecided
    # DNS list answer not known: BLACKLIST undecided above UNKNOWNLIST
    m = hat_match(li, "192.0.2.1", "", 5.0)
    assert m.sender_group.name == "UNKNOWNLIST" and [g for g, _ in m.undecided] == ["BLACKLIST"]
    m = hat_match(li, "192.0.2.1", "", 5.0, {"zen.spamhaus.org": True})
    assert m.sender_group.name == "BLACKLIST" and m.member.kind == "dnslist"


def test_hat_continue_and_private_listener(xml_config):
    li = xml_config.listener("IncomingMail")
    li.hat.policies["$CORP_BLOCKED"].access = "CONTINUE"
    m = hat_match(li, "192.0.2.1", "", -5.0, {"zen.spamhaus.org": False})
    assert m.sender_group.name == "BLACKLIST" and m.continued == ["CORP_BLOCKLIST"]
    out = xml_config.listener("OutgoingMail")
    assert hat_match(out, "10.10.4.5").access == "RELAY"
    assert hat_match(out, "192.0.2.1").access == "REJECT"
    assert rat_match(out, "anyone@anywhere.example").access == "not_applicable"


def test_hat_ranges_ipv6_and_factory_policy(exports):
    li = exports.listener()
    li.hat.sender_groups.insert(0, SenderGroup("NETS", [parse_member("10.1.1.10-20"), parse_member("2001:db8::/32"),
                                                        parse_member("172.16.")], policy="$BLOCKED"))
    del li.hat.policies["$BLOCKED"]  # not in the export: documented factory default REJECT
    for ip, hit in [("10.1.1.15", True), ("10.1.1.21", False), ("2001:db8:1::5", True), ("172.16.9.9", True)]:
        m = hat_match(li, ip, "", 5.0)
        assert (m.sender_group.label == "NETS") is hit
    m = hat_match(li, "10.1.1.15", "", 5.0)
    assert m.access == "REJECT" and m.policy.factory_default


# ----------------------------------------------------------------- RAT

@pytest.mark.parametrize("rcpt, entry, access", [
    ("postmaster@corp.example", "postmaster@corp.example", "ACCEPT"),
    ("jane@corp.example", "corp.example", "ACCEPT"),
    ("jane@eu.corp.example", ".corp.example", "ACCEPT"),
    ("jane@oldcorp.example", "corp.example", "ACCEPT"),       # domain map first
    ("jane@newco.example", "ALL", "REJECT"),
    ("JANE@Legacy-Corp.Example", "legacy-corp.example", "ACCEPT"),
])
def test_rat_first_qualifying_entry(xml_config, rcpt, entry, access):
    r = rat_match(xml_config.listener("IncomingMail"), rcpt)
    assert (r.address, r.access) == (entry, access)


def test_rat_implicit_all_reject(exports):
    li = exports.listener()
    li.rat = [e for e in li.rat if e.addresses != ["ALL"]]
    r = rat_match(li, "x@newco.example")
    assert r.access == "REJECT" and r.implicit


# ----------------------------------------------------------------- facts for the engine

def test_facts_name_group_policy_and_member(xml_config):
    logged = _hat_event("ICID 880102 REJECT SG CORP_BLOCKLIST match sbrs[-10.0:-1.5] SBRS -2.1", ip="192.0.2.1",
                        sender_group="CORP_BLOCKLIST", rule="sbrs[-10.0:-1.5]", sbrs="-2.1", sbrs_score=-2.1,
                        action="REJECT")
    facts = config_facts_for_case(xml_config, rdns="unknown", logged_hat=logged, dnslists={"zen.spamhaus.org": False})
    by_kind = {e.kind: e for e in facts}
    hat = by_kind["config_hat_match"]
    assert hat.fields["sender_group"] == "CORP_BLOCKLIST" and hat.fields["policy"] == "$CORP_BLOCKED"
    assert hat.fields["access"] == "REJECT" and hat.fields["certain"]
    assert "sender group CORP_BLOCKLIST" in hat.text and "SBRS −10.0…−1.5" in hat.text
    assert hat.source.startswith("config:esa_config.xml#listeners/listener[IncomingMail]/hat:")
    assert by_kind["config_policy"].fields["access"] == "REJECT"
    assert "config_log_agree" in by_kind and "config_log_mismatch" not in by_kind
    for e in facts:
        assert e.ts is None and e.appliance == "" and e.source.startswith("config:")
        json.dumps(e.fields)


def test_facts_say_when_logs_and_config_disagree(exports):
    # logs from before the change: BLACKLIST was sbrs[-10.0:-2.5]; the export now has -3.0
    logged = _hat_event("ICID 60140291 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -2.7", ip="192.0.2.1",
                        sender_group="BLACKLIST", rule="sbrs[-10.0:-2.5]", sbrs_score=-2.7, action="REJECT")
    facts = config_facts_for_case(exports, rdns="", logged_hat=logged)
    mismatch = next(e for e in facts if e.kind == "config_log_mismatch")
    assert "sbrs[-10.0:-2.5]" in mismatch.text and "SUSPECTLIST" in mismatch.text
    assert "gives ACCEPT" in mismatch.text
    assert mismatch.fields["config_sender_group"] == "SUSPECTLIST"
    # a group the configuration does not have at all
    logged2 = _hat_event("ICID 9 REJECT SG BLOCKED_LIST match sbrs[-10.0:-3.0] SBRS -5.0", ip="192.0.2.1",
                         sender_group="BLOCKED_LIST", rule="sbrs[-10.0:-3.0]", sbrs_score=-5.0, action="REJECT")
    m2 = next(e for e in config_facts_for_case(exports, rdns="", logged_hat=logged2) if e.kind.startswith("config_log"))
    assert m2.kind == "config_log_mismatch" and "does not have" in m2.text


def test_facts_rat_names_missing_domain(xml_config):
    facts = config_facts_for_case(xml_config, recipient="jane@newco.example", logged_rat_rejected=True)
    rat = next(e for e in facts if e.kind == "config_rat_match")
    assert rat.fields["missing_domain"] == "newco.example" and rat.fields["access"] == "REJECT"
    assert "no entry for domain newco.example" in rat.text and rat.source.endswith("rat_entry[4]")
    assert not any(e.kind == "config_log_mismatch" for e in facts)
    ok = config_facts_for_case(xml_config, recipient="jane@corp.example", logged_rat_rejected=True)
    assert any(e.kind == "config_log_mismatch" and e.fields["stage"] == "rat" for e in ok)


def test_facts_unknown_listener():
    cfg = load_config([CONFIG / "esa_config.xml"])
    facts = config_facts_for_case(cfg, ip="192.0.2.1", listener="NoSuchListener")
    assert [e.kind for e in facts] == ["config_gap"]


# ----------------------------------------------------------------- what-if

def test_what_if_allowlist_passes_hat_and_skips_antispam(exports):
    case = {"ip": "192.0.2.1", "sbrs": -4.2, "rdns": "", "stage": "hat", "recipient": "jane@corp.example"}
    r = what_if(exports, "hat_allowlist", case)
    json.dumps(r)
    assert r["applicable"] and r["helps"] is True
    assert r["before"]["hat"]["sender_group"] == "BLACKLIST" and r["before"]["outcome"] == "rejected"
    assert r["after"]["hat"]["sender_group"] == "WHITELIST" and r["after"]["hat"]["policy"] == "$TRUSTED"
    status = {p["stage"]: p["status"] for p in r["path"]}
    assert status["hat"] == "passes" and status["rat"] == "passes"
    assert status["antispam"] == "skipped" and status["antivirus"] == "runs"
    assert status["message_filter"] == "unknown"
    assert r["predicted_outcome"] == "delivered"
    assert "unless anti-virus is positive" in r["summary"]
    assert "anti-virus finds nothing" in r["conditions"]
    # the original configuration is untouched
    assert hat_match(exports.listener(), "192.0.2.1", "", -4.2).sender_group.name == "BLACKLIST"


def test_what_if_allowlist_blocked_by_custom_group_above(exports):
    li = exports.listener()
    li.hat.sender_groups.insert(0, SenderGroup("SECURITY_BLOCK", [parse_member("192.0.2.0/24")], policy="$BLOCKED"))
    r = what_if(exports, "hat_allowlist", {"ip": "192.0.2.1", "sbrs": -4.2, "rdns": "", "stage": "hat"})
    assert r["helps"] is False and r["predicted_outcome"] == "rejected"
    assert "SECURITY_BLOCK" in r["blocked_by"]
    assert r["alternative"]["hat"]["sender_group"] == "WHITELIST"
    assert r["alternative"]["predicted_outcome"] == "delivered"
    assert "Instead: add 192.0.2.1 to WHITELIST and move WHITELIST above SECURITY_BLOCK" in r["summary"]


def test_what_if_rat_accept(xml_config):
    case = {"recipient": "jane@newco.example", "ip": "192.0.2.1", "sbrs": 3.0, "rdns": "",
            "dnslists": {"zen.spamhaus.org": False}, "stage": "rat"}
    r = what_if(xml_config, "rat_accept", case)
    assert r["before"]["rat"]["access"] == "REJECT" and r["after"]["rat"]["access"] == "ACCEPT"
    assert r["after"]["rat"]["entry"] == "newco.example" and r["helps"] is True
    assert "SMTP Routes" in r["also"] and "rcptaccess" in r["cli"]
    status = {p["stage"]: p["status"] for p in r["path"]}
    assert status["hat"] == "passes" and status["rat"] == "passes" and status["sender_verification"] == "passes"
    assert status["antispam"] == "runs"
    assert "RAT would accept jane@newco.example" in r["summary"]


def test_what_if_not_applicable_kinds(exports):
    assert what_if(exports, "safelist", {"ip": "192.0.2.1"})["applicable"] is False
    r = what_if(exports, "hat_allowlist", {"sbrs": -4})
    assert r["applicable"] is False and "IP is not known" in r["reason"]
    r = what_if(exports, "rat_accept", {"ip": "192.0.2.1"})
    assert r["applicable"] is False


# ----------------------------------------------------------------- the IP index agrees with a plain walk

_octet = st.integers(0, 255)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_octet, _octet, st.sampled_from(["ip", "/24", "/16", "range"]), _octet), max_size=30),
       st.tuples(_octet, _octet, _octet))
def test_ip_index_matches_brute_force(specs, probe):
    values = []
    for a, b, form, c in specs:
        values.append({"ip": f"10.{a}.{b}.{c}", "/24": f"10.{a}.{b}.0/24", "/16": f"10.{a}.0.0/16",
                       "range": f"10.{a}.{b}.{min(c, 200)}-{min(c, 200) + 30}"}[form])
    group = SenderGroup("G", [parse_member(v) for v in values], policy="$BLOCKED")
    ip = f"10.{probe[0]}.{probe[1]}.{probe[2]}"
    hit, member, _why = group_matches(group, ip=ip, rdns="", rdns_verified=None, sbrs=1.0, dnslists={}, country=None)
    expected = any(ipaddress.ip_address(ip) in net for v in values for net in _nets(v))
    assert bool(hit) is expected
    if hit:
        assert any(ipaddress.ip_address(ip) in net for net in _nets(member.value))
    # the index follows changes of the member list (the what-if inserts members)
    group.members.insert(0, parse_member(ip))
    assert group_matches(group, ip=ip, rdns="", rdns_verified=None, sbrs=1.0, dnslists={}, country=None)[0]


def _nets(value):
    if "-" in value:
        start, end = value.split("-")
        base = start.rsplit(".", 1)[0]
        return [ipaddress.ip_network(f"{base}.{i}/32") for i in range(int(start.rsplit(".", 1)[1]), int(end) + 1)]
    return [ipaddress.ip_network(value, strict=False)]


def test_sbrs_on_a_range_bound_is_undecided_until_the_log_settles_it(exports):
    li = exports.listener()
    m = hat_match(li, "192.0.2.1", "", -3.0)  # BLACKLIST is [-10:-3], SUSPECTLIST [-3:-1]: bounds not documented
    assert not m.certain and [g for g, _ in m.undecided][:2] == ["BLACKLIST", "SUSPECTLIST"]
    assert "not documented" in m.undecided[0][1]
    assert hat_match(li, "192.0.2.1", "", -10.0).sender_group.name == "BLACKLIST"  # the end of the scale
    logged = _hat_event("ICID 5 REJECT SG BLACKLIST match sbrs[-10.0:-3.0] SBRS -3.0", ip="192.0.2.1",
                        sender_group="BLACKLIST", rule="sbrs[-10.0:-3.0]", sbrs_score=-3.0, action="REJECT")
    facts = {e.kind: e for e in config_facts_for_case(exports, rdns="", logged_hat=logged)}
    hat = facts["config_hat_match"]
    assert hat.fields["sender_group"] == "BLACKLIST" and hat.fields["certain"] and hat.fields["access"] == "REJECT"
    assert "config_log_agree" in facts


def test_what_if_remedy_variants(xml_config):
    case = {"ip": "203.0.113.9", "sbrs": 2.0, "rdns": "", "dnslists": {"zen.spamhaus.org": False}, "stage": "hat"}
    # the host is in CORP_BLOCKLIST by its network entry: removing that entry lets it through
    r = what_if(xml_config, "hat_allowlist", case, "hat-remove-entry")
    assert r["change"] == "remove entry 203.0.113.0/24 from sender group CORP_BLOCKLIST in listener IncomingMail"
    assert r["after"]["hat"]["sender_group"] == "UNKNOWNLIST" and r["helps"] is True
    # an SBRS range is not a local host entry: not applicable, said so
    r = what_if(xml_config, "hat_allowlist", {**case, "ip": "192.0.2.1", "sbrs": -5.0}, "hat-remove-entry")
    assert r["applicable"] is False and "not a local host entry" in r["reason"]
    r = what_if(xml_config, "hat_allowlist", case, "hat-custom-sender-group")
    groups = [g["sender_group"] for g in (r["before"]["hat"], r["after"]["hat"])]
    assert groups == ["CORP_BLOCKLIST", "ALLOWED_PARTNERS"] and r["after"]["hat"]["policy"] == "$ACCEPTED"
    # the model is a copy: the configuration given is unchanged
    assert xml_config.listener("IncomingMail").hat.group("ALLOWED_PARTNERS") is None
    assert "203.0.113.0/24" in [m.value for m in xml_config.listener("IncomingMail").hat.group("CORP_BLOCKLIST").members]


def test_documented_unpacking(xml_config):
    li = xml_config.listener("IncomingMail")
    group, policy, access, reason, member = hat_match(li, "198.51.100.20", "", 1.0)
    assert (group.name, policy.name, access, member.value) == ("WHITELIST", "$TRUSTED", "ACCEPT", "198.51.100.20")
    assert "first matching sender group WHITELIST" in reason
    entry, access = rat_match(li, "x@newco.example")
    assert entry.addresses == ["ALL"] and access == "REJECT"
