"""PTR and forward-confirmed reverse DNS (FCrDNS) of an IP: what the ESA logs as `verified yes|no`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import dns.reversename

from diagnose.model import Event
from diagnose.probes.facts import make_event
from diagnose.probes.mx import resolve_host
from diagnose.probes.resolver import Answer, Budget, Resolver

MAX_NAMES = 10


@dataclass
class PtrResult:
    ip: str
    status: str
    resolver: str
    names: list[str] = field(default_factory=list)
    forward: dict[str, list[str]] = field(default_factory=dict)  # PTR name -> its A/AAAA
    fcrdns: bool | None = None  # None when the DNS did not answer
    confirmed_name: str = ""
    answer: Answer | None = None

    def summary(self) -> str:
        if self.status not in ("ok", "nxdomain"):
            return f"PTR {self.ip}: {self.answer.describe() if self.answer else self.status}"
        if not self.names:
            why = "NXDOMAIN" if self.status == "nxdomain" else "no records"
            return f"PTR {self.ip}: no PTR record ({why}); FCrDNS fails"
        verdict = {True: f"FCrDNS ok ({self.confirmed_name})", False: "FCrDNS fails: no name maps back to the IP",
                   None: "FCrDNS unknown: forward lookups failed"}[self.fcrdns]
        names = ", ".join(f"{n} -> {', '.join(self.forward.get(n, [])) or 'no address'}" for n in self.names)
        return f"PTR {self.ip}: {names}; {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {"ip": self.ip, "status": self.status, "resolver": self.resolver, "names": self.names,
                "forward": self.forward, "fcrdns": self.fcrdns, "confirmed_name": self.confirmed_name,
                "ttl": self.answer.ttl if self.answer else None}

    def events(self) -> list[Event]:
        return [make_event("ptr", self.ip, self.answer, self.summary(), resolver=self.resolver, status=self.status,
                           ip=self.ip, names=list(self.names), fcrdns=self.fcrdns, rdns=self.confirmed_name
                           or (self.names[0] if self.names else ""))]


def probe_ptr(ip: str, resolver: Resolver, budget: Budget | None = None) -> PtrResult:
    addr = ipaddress.ip_address(ip)
    rev = dns.reversename.from_address(str(addr)).to_text(omit_final_dot=True)
    a = resolver.query(rev, "PTR", budget)
    res = PtrResult(str(addr), a.status, a.resolver, answer=a)
    if a.failed:
        return res
    res.names = [r.lower().rstrip(".") for r in a.records][:MAX_NAMES]
    if not res.names:
        res.fcrdns = False
        return res
    unknown = False
    for name in res.names:
        addrs, status, _detail, _ = resolve_host(resolver, name, budget)
        res.forward[name] = addrs
        if status not in ("ok", "nxdomain"):
            unknown = True
        if any(ipaddress.ip_address(x) == addr for x in addrs if _is_ip(x)):
            res.fcrdns, res.confirmed_name = True, name
            return res
    res.fcrdns = None if unknown else False
    return res


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
