"""Bridge between a case of the engine and the configuration: what the logs say about the host and
recipient (IP, PTR, SBRS, the HAT line, the RAT refusal) -> config facts for the rules.

Kept apart from the engine so that it needs only duck-typed stories: `case.connection.events`,
`case.message.events`, `case.recipient`, `case.query` (as diagnose.engine.facts.Case has them).
"""

from __future__ import annotations

from typing import Any

from diagnose.collectors.configeval import config_facts_for_case
from diagnose.collectors.configmodel import EsaConfig
from diagnose.model import Event


def _events(story: Any) -> list[Event]:
    return list(getattr(story, "events", None) or []) if story is not None else []


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.strip("<>").lower() == b.strip("<>").lower()


def case_inputs(case: Any) -> dict[str, Any]:
    """What the case's log lines say that the configuration evaluation needs."""
    conn, msg = getattr(case, "connection", None), getattr(case, "message", None)
    query = getattr(case, "query", None)
    out: dict[str, Any] = {"ip": None, "rdns": None, "rdns_verified": None, "sbrs": None, "country": None,
                           "recipient": getattr(case, "recipient", None), "logged_hat": None,
                           "logged_rat_rejected": None, "interface": None, "interface_ip": None}
    for ev in _events(conn) + _events(msg):
        if ev.kind == "icid_new":
            out["ip"] = out["ip"] or ev.get("ip")
            out["interface"], out["interface_ip"] = ev.get("interface"), ev.get("interface_ip")
            if ev.get("rdns") is not None:
                out["rdns"] = ev.get("rdns")
                out["rdns_verified"] = ev.get("rdns_verified")
        elif ev.kind == "hat_decision" and out["logged_hat"] is None:
            out["logged_hat"] = ev
            score = ev.get("sbrs_score")
            out["sbrs"] = score if score is not None else ev.get("sbrs")
            country = ev.get("country")
            out["country"] = country if country and country != "not enabled" else None
        elif ev.kind == "hat_sbrs_only" and out["sbrs"] is None:
            out["sbrs"] = ev.get("sbrs_score") if ev.get("sbrs_score") is not None else ev.get("sbrs")
    if not out["ip"] and conn is not None:
        out["ip"] = getattr(conn, "ip", None)
    if not out["ip"] and query is not None:
        out["ip"] = getattr(query, "ip", None)
    if not out["recipient"] and query is not None:
        out["recipient"] = getattr(query, "recipient", None)
    # The RAT is consulted only for mail received on a connection the HAT accepted (not RELAY, and not
    # messages the appliance generated itself, ICID 0: bounces, notifications)
    icid = getattr(msg, "icid", None) if msg is not None else getattr(conn, "icid", None)
    hat_action = str(out["logged_hat"].get("action") or "").upper() if out["logged_hat"] is not None else ""
    out["rat_applies"] = icid != 0 and hat_action != "RELAY"
    rcpt = out["recipient"]
    if rcpt and out["rat_applies"]:
        for ev in _events(msg):
            if ev.kind == "mid_rcpt_rejected" and _same(ev.get("recipient"), rcpt):
                if "RAT" in str(ev.get("by") or "").upper().split():
                    out["logged_rat_rejected"] = True
            elif ev.kind == "mid_to" and _same(ev.get("recipient"), rcpt) and out["logged_rat_rejected"] is None:
                out["logged_rat_rejected"] = False
    return out


def config_events_for_case(config: EsaConfig, case: Any, listener: str | None = None) -> list[Event]:
    """Config facts (Events of kind config_*) for one engine case."""
    i = case_inputs(case)
    return config_facts_for_case(
        config, ip=i["ip"], rdns=i["rdns"], sbrs=i["sbrs"], listener=listener,
        recipient=i["recipient"] if i["rat_applies"] else None,
        rdns_verified=i["rdns_verified"], country=i["country"], logged_hat=i["logged_hat"],
        logged_rat_rejected=i["logged_rat_rejected"], interface=i["interface"], interface_ip=i["interface_ip"])


def attach_config(case: Any, config: EsaConfig, listener: str | None = None) -> list[Event]:
    """Add the config facts to `case.extra_facts` (engine hook: (type, fields, Event)); returns them."""
    events = config_events_for_case(config, case, listener)
    extra = getattr(case, "extra_facts", None)
    if extra is not None:
        extra.extend((e.kind, dict(e.fields), e) for e in events)
    return events
