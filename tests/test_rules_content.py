"""Schema and content checks of the rulebase and the knowledge files (no engine needed).

They catch the mistakes a reviewer of rules/*.yaml would miss: a renamed remedy id, a stage or
outcome outside the DESIGN.md vocabulary, a template naming an alias the rule does not bind, an
Event kind the collectors never produce, a duplicated id.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from diagnose.model import CONFIDENCES, OUTCOMES, RECOMMENDATION_KINDS, STAGES
from diagnose.resources import data_dir

ROOT = Path(__file__).resolve().parent.parent
RULES = data_dir("rules")
KNOWLEDGE = data_dir("knowledge")
DERIVED = {"stop", "passed", "cause", "remedy", "context", "gap"}
# facts the engine builds from the question and other collectors (probes, config, tracking, NDR)
CASE_FACTS = {"query", "case", "candidate", "probe", "config", "ndr"}
OPEN_PREFIXES = ("probe_", "config_", "tracking_", "ndr_")
PREFIX = {
    "hat": "HAT", "sender_verification": "SV", "rat": "RAT", "ldap_accept": "LDAP", "call_ahead": "CA",
    "authentication": "AUTH", "sdr": "SDR", "message_filter": "MF", "safelist_blocklist": "SLBL",
    "antispam": "AS", "graymail": "GRAY", "antivirus": "AV", "amp": "AMP", "content_filter": "CF",
    "outbreak_filter": "OF", "dlp": "DLP", "delivery": "DLV",
}
# Sisimai reason names (v5 index plus pseudo-reasons), the vocabulary of Finding.reason
SISIMAI_REASONS = {
    "authfailure", "badreputation", "blocked", "contenterror", "delivered", "exceedlimit", "expired",
    "failedstarttls", "feedback", "filtered", "hasmoved", "hostunknown", "mailboxfull", "mailererror",
    "mesgtoobig", "networkerror", "norelaying", "notaccept", "notcompliantrfc", "onhold", "policyviolation",
    "rejected", "requireptr", "securityerror", "spamdetected", "speeding", "suspend", "syntaxerror",
    "systemerror", "systemfull", "toomanyconn", "undefined", "userunknown", "vacation", "virusdetected",
}
OPERATORS = {"eq", "in", "not_in", "ne", "lt", "lte", "gt", "gte", "matches", "exists", "same"}
TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")


def _load(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _rule_files() -> list[Path]:
    return sorted(RULES.glob("*.yaml"))


def _all_rules() -> list[tuple[str, dict]]:
    out = []
    for path in _rule_files():
        doc = _load(path)
        for rule in doc.get("rules") or []:
            out.append((doc["stage"], rule))
    return out


def _remedies() -> list[dict]:
    return _load(KNOWLEDGE / "remedies.yaml")["remedies"]


def _event_kinds() -> set[str]:
    """Event kinds the collectors produce: catalogue.py when it exists, else ARCHITECTURE.md's list."""
    kinds: set[str] = set()
    try:
        from diagnose.collectors import catalogue  # noqa: PLC0415 (optional: built in parallel)
    except ImportError:
        catalogue = None
    if catalogue is not None:
        for attr in ("KINDS", "ALL_KINDS", "EVENT_KINDS"):
            value = getattr(catalogue, attr, None)
            if value:
                kinds |= {str(k) for k in value}
        for attr in ("CATALOGUE", "PATTERNS", "SHAPES", "ENTRIES"):
            value = getattr(catalogue, attr, None)
            if isinstance(value, dict):
                kinds |= {str(k) for k in value}
            elif value:
                for entry in value:
                    name = getattr(entry, "kind", None) or getattr(entry, "name", None)
                    if isinstance(entry, tuple | list) and entry and isinstance(entry[0], str):
                        name = entry[0]
                    if name:
                        kinds.add(str(name))
        if not kinds:  # unknown layout: fall back on every kind="..." literal in the module source
            src = Path(catalogue.__file__).read_text(encoding="utf-8")
            kinds |= set(re.findall(r"""["']([a-z][a-z0-9_]+)["']""", src))
    arch = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = arch.split("Kinds (the catalogue may add more", 1)[1].split("Unrecognised lines", 1)[0]
    kinds |= set(re.findall(r"`([a-z][a-z0-9_]*)`", section))
    return kinds


def test_rule_files_cover_every_stage_once():
    stages = [_load(p)["stage"] for p in _rule_files()]
    assert sorted(stages) == sorted(set(stages)), "one file per stage"
    assert set(stages) == set(PREFIX), "a file for every stage of the vocabulary (unknown excepted)"
    for path in _rule_files():
        assert path.stem == _load(path)["stage"], f"{path.name}: file name must be the stage"


def test_rule_ids_unique_and_stable_looking():
    seen: dict[str, str] = {}
    for stage, rule in _all_rules():
        rid = rule["id"]
        assert re.fullmatch(rf"{PREFIX[stage]}(-[A-Z0-9]+)+", rid), f"{rid}: must be {PREFIX[stage]}-WORDS"
        assert rid not in seen, f"duplicate rule id {rid}"
        seen[rid] = stage
    assert len(seen) >= 100


def test_rule_shape():
    for _stage, rule in _all_rules():
        rid = rule["id"]
        assert set(rule) <= {"id", "title", "when", "then", "explain", "references"}, rid
        assert rule.get("title") and rule.get("explain") and rule.get("references"), rid
        assert isinstance(rule["when"], list) and rule["when"], rid
        aliases = set()
        for cond in rule["when"]:
            assert set(cond) <= {"fact", "as", "where", "absent"}, rid
            if cond.get("absent"):
                assert cond["fact"] not in DERIVED, f"{rid}: absent only on log facts"
                continue
            assert cond["as"] not in aliases, f"{rid}: alias {cond['as']} bound twice"
            aliases.add(cond["as"])
            for field, test in (cond.get("where") or {}).items():
                if isinstance(test, dict):
                    assert set(test) <= OPERATORS, f"{rid}: unknown operator in {field}: {test}"
                    if "matches" in test:
                        re.compile(test["matches"])
        for alias, _field in TEMPLATE.findall(rule["explain"]):
            assert alias in aliases, f"{rid}: explain uses {{{alias}.…}} but binds {sorted(aliases)}"
        then = rule["then"]
        assert set(then) == {"fact", "set"} and then["fact"] in DERIVED, rid


def test_derived_facts_use_the_vocabulary_and_the_file_stage():
    for stage, rule in _all_rules():
        rid, then = rule["id"], rule["then"]
        s = then["set"]
        if then["fact"] in {"stop", "passed", "context"}:
            assert s["stage"] == stage, f"{rid}: stage {s['stage']} in the {stage} file"
        if then["fact"] == "stop":
            assert set(s) >= {"stage", "outcome", "cause", "reason", "confidence", "priority"}, rid
            assert s["outcome"] in OUTCOMES and s["outcome"] != "unknown", rid
            assert s["confidence"] in CONFIDENCES, rid
            assert s["reason"] in SISIMAI_REASONS or TEMPLATE.fullmatch(s["reason"]), f"{rid}: not a Sisimai reason"
            assert re.fullmatch(r"[a-z][a-z0-9_]+", s["cause"]), rid
            assert isinstance(s["priority"], int) and 10 <= s["priority"] <= 89, rid
            band = {"delivered": (80, 89), "quarantined": (30, 39)}.get(s["outcome"])
            if band:
                assert band[0] <= s["priority"] <= band[1], f"{rid}: {s['outcome']} priority outside {band}"
        if then["fact"] == "remedy":
            assert s["kind"] in RECOMMENDATION_KINDS, rid
            assert re.fullmatch(rf"{PREFIX[stage]}-FIX(-[A-Z0-9]+)+", rid), f"{rid}: remedy rules are PREFIX-FIX-…"
        if then["fact"] == "cause":
            assert set(s) == {"cause", "detail"}, rid
        if then["fact"] == "context":
            assert set(s) == {"stage", "topic", "detail"}, rid
        if then["fact"] == "gap":
            assert set(s) == {"stage", "missing"}, rid


def test_every_remedy_ref_exists_with_the_right_kind():
    catalogue = {r["id"]: r for r in _remedies()}
    for _stage, rule in _all_rules():
        if rule["then"]["fact"] == "remedy":
            ref = rule["then"]["set"]["ref"]
            assert ref in catalogue, f"{rule['id']}: remedy {ref} not in knowledge/remedies.yaml"
            assert catalogue[ref]["kind"] == rule["then"]["set"]["kind"], f"{rule['id']}: kind differs from {ref}"


def test_remedies_catalogue_is_complete_and_honest():
    remedies = _remedies()
    ids = [r["id"] for r in remedies]
    assert len(ids) == len(set(ids)), "remedy ids unique"
    for r in remedies:
        assert set(r) >= {"id", "kind", "title", "gui_path", "cli", "removes", "risk", "applies_when",
                          "when_not", "references"}, r["id"]
        assert r["kind"] in RECOMMENDATION_KINDS, r["id"]
        assert isinstance(r["risk"], int) and 1 <= r["risk"] <= 5, r["id"]
        assert r["removes"].strip(), f"{r['id']}: say what protection it removes ('nothing' if none)"
        if r["kind"] == "sender_fix":
            assert len(r.get("sender_text", "")) > 80, f"{r['id']}: sender_fix needs a text to send"
        if r["kind"] == "mail_policy_bypass":
            assert "anti-virus" not in r["cli"].lower() and "antivirus → disable" not in r["cli"]
    used_kinds = {r["kind"] for r in remedies}
    assert used_kinds == set(RECOMMENDATION_KINDS), f"kinds without a remedy: {set(RECOMMENDATION_KINDS) - used_kinds}"
    by_id = {r["id"]: r for r in remedies}
    # honesty checks on the claims the issue spells out
    assert "anti-virus still runs" in by_id["hat-allowlist-trusted"]["removes"].lower()
    assert "delivernow" in by_id["retry-delivery"]["cli"]
    assert "Monitor > Delivery Status" in by_id["retry-delivery"]["gui_path"]
    assert "ham@access.ironport.com" in by_id["submit-false-positive"]["cli"]
    assert "talosintelligence.com" in by_id["submit-false-positive"]["gui_path"]


def test_remedy_causes_are_known_causes_or_reasons():
    known = SISIMAI_REASONS | {"dhap_limit", "not_scanned"}  # DHAP waits for a catalogued line
    for _s, rule in _all_rules():
        if rule["then"]["fact"] in ("stop", "cause"):
            known.add(rule["then"]["set"]["cause"])
    for r in _remedies():
        assert r["causes"], f"{r['id']}: which causes does it answer?"
        assert set(r["causes"]) <= known, f"{r['id']}: unknown causes {set(r['causes']) - known}"


def test_gui_paths_start_at_a_real_top_menu():
    menus = ("Mail Policies >", "Security Services >", "Network >", "Monitor >", "System Administration >",
             "Spam Quarantine >", "https://", "(")
    for r in _remedies():
        if r["gui_path"]:
            for part in r["gui_path"].split(" ; "):
                assert part.strip().startswith(menus), f"{r['id']}: {part!r}"


def test_engine_accepts_the_rulebase_strictly():
    rulebase = pytest.importorskip("diagnose.engine.rulebase")
    rb = rulebase.load_rulebase(RULES, strict=True)
    assert len(rb.rules) == len(_all_rules()) and not rb.warnings


def test_every_matched_event_kind_exists():
    kinds = _event_kinds()
    for _stage, rule in _all_rules():
        for cond in rule["when"]:
            if cond["fact"] not in DERIVED | CASE_FACTS and not cond["fact"].startswith(OPEN_PREFIXES):
                assert cond["fact"] in kinds, f"{rule['id']}: Event kind {cond['fact']} is not produced by the collectors"


def test_every_stop_cause_has_a_remedy():
    causes = {r["then"]["set"]["cause"] for _s, r in _all_rules() if r["then"]["fact"] == "stop"}
    covered: set[str] = set()
    for _s, rule in _all_rules():
        if rule["then"]["fact"] != "remedy":
            continue
        for cond in rule["when"]:
            if cond["fact"] == "stop":
                test = (cond.get("where") or {}).get("cause")
                if isinstance(test, str):
                    covered.add(test)
                elif isinstance(test, dict) and "in" in test:
                    covered |= set(test["in"])
    assert causes - covered == set(), f"causes without a recommendation: {sorted(causes - covered)}"


def test_pipeline_model_matches_the_vocabulary():
    doc = _load(KNOWLEDGE / "pipeline.yaml")
    names = [s["name"] for s in doc["stages"]]
    assert names == [s for s in STAGES if s != "unknown"], "pipeline.yaml lists the stages in order"
    for s in doc["stages"]:
        assert set(s) >= {"name", "title", "checks", "config", "log_kinds", "sender_sees", "recipient_sees",
                          "gui_paths"}, s["name"]


def test_pipeline_log_kinds_exist():
    kinds = _event_kinds()
    for s in _load(KNOWLEDGE / "pipeline.yaml")["stages"]:
        for kind in s["log_kinds"]:
            assert kind in kinds, f"pipeline.yaml {s['name']}: {kind} is not an Event kind"


def test_glossary_has_the_core_terms():
    terms = {t["term"] for t in _load(KNOWLEDGE / "glossary.yaml")["terms"]}
    for term in ("ICID", "MID", "RID", "DCID", "RCID", "SBRS", "HAT", "RAT", "MFP", "SLBL", "SDR", "ISQ",
                 "EUQ", "CASE", "IMS", "VOF", "AMP", "DHAP", "DMARC", "SPF", "DKIM"):
        assert term in terms, term


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "data" / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_scenario_files_are_well_formed(path: Path):
    doc = _load(path)
    log = path.with_suffix(".log")
    assert doc["description"] and doc["query"] and doc["expect"]
    if "ndr" in doc["query"]:  # explained from the bounce text alone
        assert not log.exists() and len(doc["query"]["ndr"]) > 10
        return
    assert log.is_file(), f"{log.name} missing"
    for exp in doc["expect"]:
        assert set(exp) <= {"outcome", "stage", "cause", "confidence", "reason", "recommendation_kinds", "mid", "icid",
                            "recipient"}
        if "outcome" in exp:
            assert exp["outcome"] in OUTCOMES
        if "stage" in exp:
            assert exp["stage"] in STAGES
        if "confidence" in exp:
            assert exp["confidence"] in CONFIDENCES
        for kind in exp.get("recommendation_kinds", []):
            assert kind in RECOMMENDATION_KINDS
    if "ndr" in doc["query"]:
        return
    lines = log.read_text(encoding="utf-8").splitlines()
    stamp = re.compile(r"^(?:[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4} |<\d+>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d )")
    for line in lines:
        assert stamp.match(line), f"{log.name}: not a file-format or syslog line: {line!r}"
    if lines[0][0] != "<":
        assert lines[0].endswith("Info: Begin Logfile") and "Version: " in lines[1] and " SN: " in lines[1]


# The situations of the issue (binding text), each with the rules that answer it. A rule listed here must
# exist and be named in some scenario's `fires` (the engine harness checks that it really fires there).
SITUATIONS = {
    "HAT REJECT/TCPREFUSE on SBRS": ["HAT-REJECT-SBRS"],
    "HAT on a DNS list": ["HAT-REJECT-DNSLIST"],
    "HAT on an external threat feed": ["HAT-REJECT-THREAT-FEED"],
    "HAT on an IP or host name entry": ["HAT-REJECT-ENTRY", "HAT-REJECT-DEFAULT"],
    "Delayed HAT REJECT": ["HAT-DELAYED-REJECT"],
    "THROTTLED / Rejected by Receiving Control": ["HAT-RECEIVING-CONTROL", "HAT-THROTTLED-GROUP"],
    "connection and concurrency limits": ["HAT-CONNECTION-LIMIT"],
    "message too big": ["HAT-MESSAGE-TOO-BIG", "HAT-HEADER-TOO-BIG"],
    "TLS or SMTP AUTH required inbound": ["HAT-TLS-REQUIRED", "HAT-AUTH-REQUIRED", "HAT-AUTH-FAILED"],
    "sender verification": ["SV-DOMAIN-MISSING", "SV-DOMAIN-NOT-EXIST", "SV-DOMAIN-UNRESOLVABLE"],
    "Exception Table allow and reject": ["SV-EXCEPTION-ALLOW", "SV-EXCEPTION-REJECT"],
    "invalid sender or recipient address": ["SV-INVALID-SENDER", "RAT-INVALID-RECIPIENT"],
    "RAT": ["RAT-REJECT"],
    "LDAP accept conversational and work queue": ["LDAP-ACCEPT-CONVERSATIONAL", "LDAP-ACCEPT-DROP", "LDAP-ACCEPT-BOUNCE"],
    "bounce verification": ["RAT-BOUNCE-VERIFICATION"],
    "SPF, DKIM, DMARC verdicts and actions": ["AUTH-SPF-FAIL", "AUTH-DKIM-FAIL", "AUTH-DMARC-FAIL", "AUTH-DMARC-REJECT",
                                              "AUTH-DMARC-QUARANTINE"],
    "SDR verdicts": ["SDR-VERDICT-POOR", "SDR-VERDICT-ACCEPTABLE", "SDR-REJECT"],
    "message filter drop/bounce/quarantine": ["MF-DROP", "MF-BOUNCE", "MF-QUARANTINE"],
    "safelist/blocklist": ["SLBL-BLOCKLIST-QUARANTINE", "SLBL-BLOCKLIST-DROP", "SLBL-NOT-BLOCKLISTED"],
    "anti-spam positive/suspect/marketing": ["AS-DROP-POSITIVE", "AS-DROP-SUSPECT", "AS-DROP-MARKETING",
                                             "AS-QUARANTINE-LOCAL", "AS-TAGGED-DELIVERED"],
    "graymail": ["GRAY-QUARANTINE", "GRAY-DROP", "GRAY-TAGGED-DELIVERED"],
    "anti-virus positive/encrypted/unscannable/repaired": ["AV-DROP", "AV-QUARANTINE-ENCRYPTED",
                                                           "AV-QUARANTINE-UNSCANNABLE", "AV-REPAIRED-DELIVERED"],
    "AMP malicious and file-analysis pending": ["AMP-MALWARE-DROP", "AMP-FILE-ANALYSIS-QUARANTINE"],
    "content filter drop/bounce/quarantine": ["CF-DROP", "CF-BOUNCE", "CF-QUARANTINE"],
    "outbreak quarantine": ["OF-QUARANTINE"],
    "DLP": ["DLP-QUARANTINE", "DLP-DROP", "DLP-DELIVERED"],
    "spam quarantine local and off-box": ["AS-QUARANTINE-LOCAL", "AS-QUARANTINE-OFFBOX"],
    "released (then delivered), deleted, expired": ["DLV-RELEASED", "DLV-RELEASED-SPAM-QUARANTINE",
                                                    "MF-QUARANTINE-DELETED", "MF-QUARANTINE-EXPIRED"],
    "delivered, quoting the remote response": ["DLV-DELIVERED-RESPONSE"],
    "delayed: 4xx, connection errors, TLS required, DNS temporary": ["DLV-DELAYED", "DLV-CONNECTION-ERROR",
                                                                    "DLV-TLS-REQUIRED-FAILED", "DLV-DELAYED-DNS"],
    "bounced: 5xx, DNS hard, expired": ["DLV-BOUNCED", "DLV-BOUNCED-DNS", "DLV-BOUNCED-EXPIRED"],
    "still queued": ["DLV-STILL-QUEUED"],
    "service health context": ["AS-ENGINE-ERROR", "AS-TOO-BIG", "OF-TOO-BIG", "AS-KEY-EXPIRY", "AV-KEY-EXPIRY"],
}


def test_issue_situations_are_covered_by_rules_and_scenarios():
    ids = {rule["id"] for _s, rule in _all_rules()}
    fires: set[str] = set()
    for spec in (ROOT / "tests" / "data" / "scenarios").glob("*.yaml"):
        fires |= set(_load(spec).get("fires") or [])
    for situation, rules in SITUATIONS.items():
        for rid in rules:
            assert rid in ids, f"{situation}: rule {rid} missing"
            assert rid in fires, f"{situation}: no scenario shows {rid} firing"
