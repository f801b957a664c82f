"""`esa-diagnose probe DOMAIN|IP`: every probe for one target, as a one-screen report or JSON.

For a domain: MX (hosts and addresses), SPF (flattened, lookup count, problems), DMARC, the
PTR/FCrDNS and DNS-list status of its MX hosts, and the Talos link. For an IP: PTR/FCrDNS,
DNS lists and the Talos link (plus, when a domain is given, the SPF result for that IP).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dns.name

from diagnose.model import Event, InputError
from diagnose.probes import dmarc, dnsbl, mx, ptr, spf, talos
from diagnose.probes.domain import DomainResult, probe_domain
from diagnose.probes.resolver import Budget, Resolver, printable

PROBE_BUDGET = 8.0  # seconds for one probe (one section of the report)
MAX_HOST_CHECKS = 3  # MX host addresses whose PTR and DNS-list status a domain report shows
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?$",
                        re.I)


@dataclass
class ProbeReport:
    target: str
    kind: str  # domain | ip
    resolver: str
    time: str
    offline: bool = False
    mx: mx.MxResult | None = None
    domain: DomainResult | None = None
    spf: spf.SpfFlat | None = None
    spf_check: spf.SpfCheck | None = None
    dmarc: dmarc.DmarcResult | None = None
    ptr: list[ptr.PtrResult] = field(default_factory=list)
    dnsbl: list[dnsbl.DnsblResult] = field(default_factory=list)
    talos: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "probe target: status" for each that did not answer
    queries: int = 0
    replayed: int = 0
    elapsed: float = 0.0

    def events(self) -> list[Event]:
        out: list[Event] = []
        for part in (self.domain, self.mx, self.spf, self.spf_check, self.dmarc):
            if part is not None:
                out += part.events()
        for p in self.ptr:
            out += p.events()
        for d in self.dnsbl:
            out += d.events()
        out += [talos.talos_event(t["target"]) for t in self.talos]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "kind": self.kind, "resolver": self.resolver, "time": self.time,
            "offline": self.offline,
            "domain": self.domain.to_json() if self.domain else None,
            "mx": self.mx.to_json() if self.mx else None,
            "spf": self.spf.to_json() if self.spf else None,
            "spf_check": self.spf_check.to_json() if self.spf_check else None,
            "dmarc": self.dmarc.to_json() if self.dmarc else None,
            "ptr": [p.to_json() for p in self.ptr],
            "dnsbl": [d.to_json() for d in self.dnsbl],
            "talos": self.talos,
            "failures": self.failures,
            "stats": {"queries_sent": self.queries, "answers_replayed": self.replayed,
                      "elapsed_seconds": round(self.elapsed, 3)},
            "facts": [event_json(e) for e in self.events()],
        }


def event_json(e: Event) -> dict[str, Any]:
    return {"kind": e.kind, "time": e.ts.isoformat() if e.ts else None, "source": e.source, "text": e.text,
            "fields": e.fields}


def parse_target(text: str) -> tuple[str, str]:
    """-> ("ip", canonical) or ("domain", lower-case name); an address's domain is taken."""
    text = text.strip()
    try:
        return "ip", str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if "@" in text:
        text = text.rpartition("@")[2]
    name = text.rstrip(".").lower()
    try:
        name = dns.name.from_text(name).to_text(omit_final_dot=True)
    except Exception:  # any parse failure of user input is an input error
        name = ""
    if not name or not _DOMAIN_RE.match(name):
        raise InputError(f"probe target {printable(text, 80)!r} is neither an IP address nor a domain name")
    return "domain", name


def run_probe(target: str, resolver: Resolver, *, budget: Budget, lists: tuple[str, ...] | list[str] = dnsbl.DEFAULT_LISTS,
              spf_domain: str | None = None) -> ProbeReport:
    kind, name = parse_target(target)
    started = datetime.now(UTC)
    rep = ProbeReport(name, kind, resolver.label, started.replace(tzinfo=None).isoformat(timespec="seconds"),
                      offline=resolver.offline)
    before = resolver.queries
    if kind == "domain":
        rep.domain = probe_domain(name, resolver, budget.child(PROBE_BUDGET))
        rep.mx = mx.probe_mx(name, resolver, budget.child(PROBE_BUDGET))
        rep.spf = spf.flatten(name, resolver, budget=budget.child(PROBE_BUDGET))
        rep.dmarc = dmarc.probe_dmarc(name, resolver, budget.child(PROBE_BUDGET))
        hosts = [(h.host, a) for h in rep.mx.hosts for a in h.addresses if ":" not in a][:MAX_HOST_CHECKS]
        for _host, addr in hosts:
            rep.ptr.append(ptr.probe_ptr(addr, resolver, budget.child(PROBE_BUDGET)))
            rep.dnsbl += dnsbl.probe_lists(addr, resolver, lists, budget.child(PROBE_BUDGET))
        rep.talos.append(talos.talos_link(name))
    else:
        rep.ptr.append(ptr.probe_ptr(name, resolver, budget.child(PROBE_BUDGET)))
        rep.dnsbl += dnsbl.probe_lists(name, resolver, lists, budget.child(PROBE_BUDGET))
        if spf_domain:
            rep.spf_check = spf.check_host(name, parse_target(spf_domain)[1], resolver,
                                           budget=budget.child(PROBE_BUDGET))
        rep.talos.append(talos.talos_link(name))
    rep.failures = failures(rep)
    rep.queries = resolver.queries - before
    rep.replayed = resolver.cache.replayed if resolver.cache else 0
    rep.elapsed = (datetime.now(UTC) - started).total_seconds()
    return rep


def failures(rep: ProbeReport) -> list[str]:
    """One line per probe whose DNS did not answer: timeout, SERVFAIL, error, skipped (budget, offline)."""
    out = []
    for e in rep.events():
        status = e.get("status")
        if e.kind != "probe_talos" and status not in ("ok", "nxdomain"):
            out.append(f"{e.kind.removeprefix('probe_')} {e.get('target')}: {status}")
    return out


# -- text rendering ----------------------------------------------------------------------------------
def render_text(rep: ProbeReport) -> str:
    lines: list[str] = []
    add = lines.append
    add(f"Probe {rep.target}  (resolver {rep.resolver}, {rep.time} UTC"
        + (", offline" if rep.offline else "") + ")")
    if rep.domain and rep.domain.exists is False:
        add(f"  ! {rep.domain.summary()}")
    if rep.mx:
        m = rep.mx
        add("")
        add(f"MX {m.domain}" + (f"  (TTL {m.answer.ttl})" if m.answer and m.answer.ttl is not None else ""))
        if m.status != "ok":
            add(f"  {m.status}: {m.answer.describe() if m.answer else ''}")
        elif m.null_mx:
            add("  null MX: the domain accepts no mail (RFC 7505)")
        else:
            if m.implicit:
                add("  no MX record: mail goes to the domain's own address (implicit MX)")
            for h in m.hosts:
                add(f"  {h.preference:>3} {h.host:<32} {', '.join(h.addresses) or h.detail or h.status}")
        for p in m.problems:
            add(f"  ! {p}")
    if rep.spf:
        s = rep.spf
        add("")
        ttl = s.answers[0].ttl if s.answers and s.answers[0].ttl is not None else None
        add(f"SPF {s.domain}: {s.status}, {s.lookups}/{spf.LOOKUP_LIMIT} DNS lookups, "
            f"{s.void_lookups}/{spf.VOID_LIMIT} void lookups" + (f"  (TTL {ttl})" if ttl is not None else ""))
        if s.record:
            add(f"  record: {s.record}")
        if s.authorised:
            add("  authorised networks (flattened; chain of mechanisms):")
            for n in s.authorised:
                flag = "" if n.within_limit else "  [past the 10-lookup limit]"
                add(f"    {n.network:<22} {' > '.join(n.chain)}{flag}")
        others = [n for n in s.networks if not n.authorises]
        for n in others:
            add(f"    {n.network:<22} {' > '.join(n.chain)}  [{spf.QUALIFIER_RESULT[n.qualifier]}, not authorised]")
        if s.all_result:
            add(f"  everyone else: {s.all_result}")
        for u in s.unflattenable:
            add(f"  ? {u}")
        for p in s.problems:
            add(f"  ! {p}")
    if rep.spf_check:
        add("")
        add(rep.spf_check.summary())
    if rep.dmarc:
        d = rep.dmarc
        add("")
        ttl = d.answers[-1].ttl if d.answers and d.answers[-1].ttl is not None else None
        add(d.summary() + (f"  (TTL {ttl})" if ttl is not None else ""))
        if d.record:
            add(f"  record: {d.record}")
        for p in d.problems:
            add(f"  ! {p}")
    if rep.ptr:
        add("")
        add("PTR / forward-confirmed reverse DNS" + (" (MX hosts)" if rep.kind == "domain" else ""))
        for p in rep.ptr:
            add(f"  {p.summary()}")
    if rep.dnsbl:
        add("")
        add("DNS lists")
        for d in rep.dnsbl:
            add(f"  {d.summary()}")
    for t in rep.talos:
        add("")
        add(f"Talos reputation: {t['url']}")
        add(f"  {t['note']}")
    add("")
    if rep.failures:
        add("Probes that failed: " + "; ".join(rep.failures))
    add(f"{rep.queries} DNS queries sent, {rep.replayed} answers replayed from the probe cache, "
        f"{rep.elapsed:.1f}s")
    return "\n".join(printable(line, 4000) for line in lines) + "\n"
