"""Probes in service of `explain`: which DNS facts explain a case, and where a probe disagrees with the log.

- sender domain -> candidate networks (SPF, MX) -> connections from them (`candidate_connections`),
  each with a `probe_spf_match` fact citing the mechanism chain;
- a refused connection's IP -> PTR/FCrDNS and DNS-list facts (SBRS or DNS-list rejections);
- a sender-verification rejection -> does the envelope sender domain exist (NXDOMAIN/SERVFAIL);
- a delivery DNS error -> the recipient domain's MX and A facts.

The appliance's logged verdict was made at the time; a probe made later may disagree because DNS
changed since. The log wins: the disagreement becomes a `probe_disagreement` fact that says so.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from diagnose.model import ConnectionStory, Event
from diagnose.probes import dnsbl, mx, ptr, talos
from diagnose.probes.candidates import Candidate, CandidateSet, collect_candidates
from diagnose.probes.domain import probe_domain
from diagnose.probes.facts import probe_time
from diagnose.probes.session import ProbeSession

PROBE_BUDGET = 8.0
_DNSLIST_RE = re.compile(r"dnslist\[([^\]\s]+)\]", re.I)
_DNS_DELIVERY_KINDS = ("dns_temp_failure", "dns_error")
_LOOKING_UP = re.compile(r"(?:Failure|looking up)\s+([A-Za-z0-9_.-]+\.[A-Za-z0-9_-]+)\s+\(?MX\b")
_DNS_WORDS = re.compile(r"\b(DNS|MX|NXDOMAIN|ServFail|SERVFAIL|no such domain|unroutable|5\.1\.2|5\.4\.4|4\.4\.3)\b", re.I)


# -- sender domain -> candidate connections ------------------------------------------------------------
def sender_domain(sender: str | None) -> str | None:
    if not sender or "@" not in sender:
        return None
    dom = sender.rpartition("@")[2].strip().strip("<>").rstrip(".").lower()
    return dom or None


def sender_candidates_for(sender: str, session: ProbeSession) -> CandidateSet | None:
    dom = sender_domain(sender)
    if dom is None:
        return None
    return collect_candidates(dom, session.resolver, session.budget.child(PROBE_BUDGET))


def candidate_connections(connections: Iterable[ConnectionStory],
                          cset: CandidateSet) -> list[tuple[ConnectionStory, Candidate]]:
    """Connections whose client IP lies in one of the sender's candidate networks."""
    out = []
    for conn in connections:
        ip = conn.ip
        cand = cset.match(ip) if ip else None
        if cand is not None:
            out.append((conn, cand))
    return out


def chain_text(cand: Candidate) -> str:
    return " > ".join(cand.chain)


def match_event(ip: str, cand: Candidate, cset: CandidateSet) -> Event:
    """The fact that ties a connection's IP to the sender's domain, with the mechanism chain as evidence."""
    how = "SPF authorises" if cand.source == "spf" else "is an MX host of"
    ev_src = next((e for e in cset.events if e.kind == ("probe_spf" if cand.source == "spf" else "probe_mx")), None)
    resolver = ev_src.get("resolver") if ev_src else ""
    limit = "" if cand.within_limit else " (past the SPF 10-lookup limit: receivers would return permerror)"
    if cand.source == "spf":
        text = f"{ip} is in {cand.network}, which {cset.domain}'s SPF authorises: {chain_text(cand)}{limit}"
    else:
        text = f"{ip} {how} {cset.domain}: {chain_text(cand)}"
    return Event(
        kind="probe_spf_match", ts=ev_src.ts if ev_src else probe_time(None), appliance="",
        source=f"probe:{'spf' if cand.source == 'spf' else 'mx'} {cset.domain} @{resolver}", text=text,
        fields={"target": f"{ip} {cset.domain}", "status": ev_src.get("status") if ev_src else "ok",
                "resolver": resolver, "ttl": ev_src.get("ttl") if ev_src else None, "ip": ip,
                "domain": cset.domain, "network": cand.network, "source": cand.source, "chain": chain_text(cand),
                "mechanism": cand.chain[-1] if cand.chain else "", "within_limit": cand.within_limit,
                "summary": text},
    )


def link_reason(sender: str, conn: ConnectionStory, cand: Candidate, cset: CandidateSet) -> str:
    what = (f"in {cand.network}, which {cset.domain}'s SPF authorises ({chain_text(cand)})" if cand.source == "spf"
            else f"an MX host of {cset.domain} ({chain_text(cand)})")
    return (f"No message from {sender} is in the logs; connection ICID {conn.icid} came from {conn.ip}, {what}, "
            f"in the window searched: it is probably the sender's attempt.")


def candidate_networks(cset: CandidateSet) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c.network, strict=False) for c in cset.candidates]


# -- log events of a case -> the probes that explain them ------------------------------------------------
def case_probe_events(events: Iterable[Event], session: ProbeSession, *,
                      lists: Iterable[str] = dnsbl.DEFAULT_LISTS, recipient: str | None = None) -> list[Event]:
    """Run the probes a case's log lines call for; returns probe facts plus `probe_disagreement` facts."""
    events = list(events)
    out: list[Event] = []
    budget = session.budget
    res = session.resolver
    ips: dict[str, set[str]] = {}  # ip -> DNS lists to ask
    want_ptr: set[str] = set()
    icid_ip = _icid_ips(events)
    for e in events:
        ip = e.get("ip") or icid_ip.get(e.get("icid"))
        if e.kind == "hat_decision" and str(e.get("action", "")).upper() in ("REJECT", "TCPREFUSE") and ip:
            rule = str(e.get("rule") or "")
            m = _DNSLIST_RE.search(rule)
            zones = ips.setdefault(ip, set())
            zones.update([m.group(1).lower()] if m else [z.lower() for z in lists])
            want_ptr.add(ip)
        elif e.kind in ("hat_delayed_reject",) and ip:
            want_ptr.add(ip)
            ips.setdefault(ip, set()).update(z.lower() for z in lists)
    for ip in sorted(want_ptr):
        if _is_ip(ip):
            out += ptr.probe_ptr(ip, res, budget.child(PROBE_BUDGET)).events()
            out.append(talos.talos_event(ip))  # a link, not a lookup: no query, never a failure
    for ip, zones in sorted(ips.items()):
        if _is_ip(ip):
            for z in sorted(zones):
                out += dnsbl.probe_dnsbl(ip, z, res, budget.child(PROBE_BUDGET)).events()
    senders: dict[str, list[str]] = {}  # envelope sender domain -> the addresses the appliance rejected
    for e in events:
        dom = sender_domain(e.get("sender")) if e.kind == "sender_dns_rejected" else None
        if dom:
            senders.setdefault(dom, []).append(str(e.get("sender")))
    for dom, addrs in sorted(senders.items()):
        for fact in probe_domain(dom, res, budget.child(PROBE_BUDGET)).events():
            for addr in dict.fromkeys(addrs):  # one fact per address, so rules can join on the sender
                out.append(Event(fact.kind, fact.ts, fact.appliance, fact.source, fact.text,
                                 {**fact.fields, "sender": addr}))
    rdomains = {d for e in events if (d := delivery_domain(e, recipient))}
    for dom in sorted(rdomains):
        out += mx.probe_mx(dom, res, budget.child(PROBE_BUDGET)).events()
    return out + disagreements(events, out)


def _icid_ips(events: list[Event]) -> dict[Any, str]:
    """ICID -> client IP from the `New SMTP ICID` lines (the HAT decision line names no IP)."""
    return {e.get("icid"): e.get("ip") for e in events if e.kind == "icid_new" and e.get("ip")}


def delivery_domain(e: Event, recipient: str | None) -> str | None:
    """The destination domain a delivery DNS error names (or the recipient's, for a DNS bounce/delay)."""
    if e.kind in _DNS_DELIVERY_KINDS and e.get("domain"):
        return str(e.get("domain")).lower().rstrip(".")
    if e.kind not in (*_DNS_DELIVERY_KINDS, "bounced", "delayed", "connection_error"):
        return None
    text = " ".join([e.text, str(e.get("reason") or "")])
    m = _LOOKING_UP.search(text)
    if m:
        return m.group(1).lower().rstrip(".")
    if e.kind in _DNS_DELIVERY_KINDS or not _DNS_WORDS.search(text):
        return None
    return sender_domain(e.get("recipient") or recipient)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- log versus probe ------------------------------------------------------------------------------------
def disagreements(log_events: Iterable[Event], probe_events: Iterable[Event]) -> list[Event]:
    """Where a probe made now contradicts what the appliance logged then: the log wins, say so."""
    probes = list(probe_events)
    out: list[Event] = []
    log_events = list(log_events)
    icid_ip = _icid_ips(log_events)
    for e in log_events:
        ip = e.get("ip") or icid_ip.get(e.get("icid"))
        if e.kind == "hat_decision" and ip:
            m = _DNSLIST_RE.search(str(e.get("rule") or ""))
            if m and str(e.get("action", "")).upper() in ("REJECT", "TCPREFUSE"):
                zone = m.group(1).lower()
                p = _find(probes, "probe_dnsbl", ip=ip, zone=zone)
                if p is not None and p.get("listed") is False:
                    out.append(_disagree(e, p, "hat", "dnslist",
                                         f"the appliance matched {ip} on {zone}, but {zone} no longer lists it "
                                         f"(the address was delisted since, or the appliance saw a different answer)"))
        if e.kind == "icid_new" and ip and e.get("rdns_verified") is not None:
            p = _find(probes, "probe_ptr", ip=ip)
            if p is not None and p.get("fcrdns") is not None and bool(p.get("fcrdns")) != bool(e.get("rdns_verified")):
                logged = "verified" if e.get("rdns_verified") else "not verified"
                now = "forward-confirms" if p.get("fcrdns") else "does not forward-confirm"
                out.append(_disagree(e, p, "hat", "rdns",
                                     f"the appliance logged the reverse DNS of {ip} as {logged}; its PTR now {now}"))
        if e.kind == "sender_dns_rejected":
            dom = sender_domain(e.get("sender"))
            p = _find(probes, "probe_domain", target=dom) if dom else None
            why = str(e.get("why") or e.text)
            if p is not None and p.get("exists") is True:
                out.append(_disagree(e, p, "sender_verification", "sender_domain",
                                     f"the appliance found the envelope sender domain {dom} {_why(why)}, but it "
                                     f"resolves now (DNS was fixed since, or the failure was temporary)"))
            elif p is not None and "does not exist" in why and p.get("status") in ("servfail", "timeout"):
                out.append(_disagree(e, p, "sender_verification", "sender_domain",
                                     f"the appliance got NXDOMAIN for {dom}; a probe now gets {p.get('status')}"))
        dom = delivery_domain(e, None)
        if dom:
            p = _find(probes, "probe_mx", target=dom)
            if p is not None and p.get("status") == "ok" and p.get("hosts"):
                out.append(_disagree(e, p, "delivery", "recipient_mx",
                                     f"the appliance could not resolve the MX of {dom} then; it resolves now"))
    return out


def _why(why: str) -> str:
    for key in ("does not exist", "could not be resolved", "missing"):
        if key in why:
            return key
    return "unresolvable"


def _find(probes: list[Event], kind: str, **want: Any) -> Event | None:
    for p in probes:
        if p.kind == kind and all(p.get(k) == v for k, v in want.items()):
            return p
    return None


def _disagree(log: Event, probe: Event, stage: str, topic: str, what: str) -> Event:
    text = (f"{what}. The log's verdict stands: the appliance decided at {log.ts.isoformat(sep=' ') if log.ts else 'the time'}"
            f" ({log.source}); the probe ran at {probe.ts.isoformat(sep=' ') if probe.ts else 'a later time'} UTC "
            f"({probe.source}).")
    return Event(kind="probe_disagreement", ts=probe.ts, appliance="", source=probe.source, text=text,
                 fields={"stage": stage, "topic": topic, "log_source": log.source, "log_text": log.text,
                         "probe_text": probe.text, "summary": text, "status": probe.get("status"),
                         "resolver": probe.get("resolver"),
                         "ttl": probe.get("ttl"), "ip": log.get("ip") or probe.get("ip")})
