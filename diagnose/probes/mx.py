"""MX probe: hosts by preference with their A/AAAA; null MX (RFC 7505) and implicit MX (RFC 5321 5.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diagnose.model import Event
from diagnose.probes.facts import make_event
from diagnose.probes.resolver import Answer, Budget, Resolver

MAX_HOSTS = 10  # an MX set bigger than this is cut: DNS data is untrusted


@dataclass
class MxHost:
    preference: int
    host: str
    addresses: list[str] = field(default_factory=list)
    status: str = "ok"  # of its address lookups: the first failure, nxdomain, or ok
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"preference": self.preference, "host": self.host, "addresses": self.addresses,
                "status": self.status, "detail": self.detail}


@dataclass
class MxResult:
    domain: str
    status: str  # of the MX query: ok | nxdomain | servfail | timeout | error | skipped
    resolver: str
    hosts: list[MxHost] = field(default_factory=list)
    null_mx: bool = False  # "MX 0 ." : the domain accepts no mail
    implicit: bool = False  # no MX: mail goes to the domain's own A/AAAA
    problems: list[str] = field(default_factory=list)
    answer: Answer | None = None
    answers: list[Answer] = field(default_factory=list)

    def summary(self) -> str:
        if self.status != "ok":
            return f"MX {self.domain}: {self.answer.describe() if self.answer else self.status}"
        if self.null_mx:
            return f"MX {self.domain}: null MX (the domain accepts no mail, RFC 7505)"
        if self.implicit:
            addrs = ", ".join(a for h in self.hosts for a in h.addresses) or "none"
            return f"MX {self.domain}: no MX record; implicit MX is the domain itself ({addrs})"
        hosts = "; ".join(f"{h.preference} {h.host} ({', '.join(h.addresses) or h.status})" for h in self.hosts)
        return f"MX {self.domain}: {hosts}"

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "status": self.status, "resolver": self.resolver,
                "ttl": self.answer.ttl if self.answer else None, "null_mx": self.null_mx,
                "implicit": self.implicit, "hosts": [h.to_json() for h in self.hosts], "problems": self.problems}

    def events(self) -> list[Event]:
        ev = [make_event("mx", self.domain, self.answer, self.summary(), resolver=self.resolver,
                         hosts=[h.host for h in self.hosts], null_mx=self.null_mx, implicit=self.implicit,
                         problems=list(self.problems))]
        for h in self.hosts:
            a = next((x for x in self.answers if x.qname == h.host), None)
            ev.append(make_event("a", h.host, a, f"A/AAAA {h.host}: {', '.join(h.addresses) or h.detail or h.status}",
                                 resolver=self.resolver, status=h.status, addresses=list(h.addresses),
                                 mx_of=self.domain, preference=h.preference))
        return ev


def resolve_host(resolver: Resolver, host: str, budget: Budget | None) -> tuple[list[str], str, str, list[Answer]]:
    """A and AAAA of a host -> (addresses, status, detail, answers)."""
    answers = [resolver.query(host, t, budget) for t in ("A", "AAAA")]
    addrs = [r for a in answers if a.ok for r in a.records]
    failed = [a for a in answers if a.failed]
    if addrs:
        status, detail = "ok", ""
    elif failed:
        status, detail = failed[0].status, f"{failed[0].rdtype}: {failed[0].describe()}"
    elif any(a.status == "nxdomain" for a in answers):
        status, detail = "nxdomain", "the host name does not exist"
    else:
        status, detail = "ok", "no A or AAAA record"
    return addrs, status, detail, answers


def probe_mx(domain: str, resolver: Resolver, budget: Budget | None = None) -> MxResult:
    domain = domain.lower().rstrip(".")
    a = resolver.query(domain, "MX", budget)
    res = MxResult(domain, a.status, a.resolver, answer=a, answers=[a])
    if not a.ok:
        return res
    pairs = []
    for r in a.records:
        parts = r.split()
        if len(parts) == 2 and parts[0].isdigit():
            pairs.append((int(parts[0]), parts[1].lower().rstrip(".")))
    pairs.sort()
    if any(h in ("", ".") for _, h in pairs) or (pairs and all(h == "" for _, h in pairs)):
        res.null_mx = True
        if len(pairs) > 1:
            res.problems.append("null MX published together with other MX records (RFC 7505 says it must stand alone)")
        return res
    if not pairs:
        res.implicit = True
        addrs, status, detail, answers = resolve_host(resolver, domain, budget)
        res.answers += answers
        res.hosts.append(MxHost(0, domain, addrs, status, detail))
        if not addrs:
            res.problems.append(f"{domain} has neither MX nor A/AAAA: mail to it cannot be delivered")
        return res
    if len(pairs) > MAX_HOSTS:
        res.problems.append(f"{len(pairs)} MX records; only the first {MAX_HOSTS} were resolved")
    for pref, host in pairs[:MAX_HOSTS]:
        addrs, status, detail, answers = resolve_host(resolver, host, budget)
        res.answers += answers
        res.hosts.append(MxHost(pref, host, addrs, status, detail))
        if not addrs:
            res.problems.append(f"MX host {host}: {detail or status}")
    return res
