"""Candidate sending IPs for a sender domain: its SPF networks (flattened) and its MX hosts.

This answers the administrator's hardest case: a connection rejected on reputation leaves no
message in Message Tracking, so "how to determine the IP address from which the message was
sent". The engine searches the logs for rejected connections from these networks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from diagnose.model import Event
from diagnose.probes import mx as mx_probe
from diagnose.probes import spf as spf_probe
from diagnose.probes.cache import ProbeCache
from diagnose.probes.resolver import DEFAULT_QUERY_TIMEOUT, Budget, Resolver

DEFAULT_BUDGET = 10.0


@dataclass
class Candidate:
    network: str  # "198.51.100.0/24" or a host "/32"
    chain: list[str]  # e.g. ["partner.example: include:_spf.mailhost.example", "_spf.mailhost.example: ip4:..."]
    source: str  # "spf" | "mx"
    within_limit: bool = True  # SPF: reached before the RFC 7208 lookup limit

    def contains(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
            net = ipaddress.ip_network(self.network, strict=False)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        return addr.version == net.version and addr in net

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.network, strict=False).prefixlen

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network, "chain": self.chain, "source": self.source,
                "within_limit": self.within_limit}


@dataclass
class CandidateSet:
    domain: str
    candidates: list[Candidate] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # probe facts (spf, mx, a) with evidence
    failures: list[str] = field(default_factory=list)  # probes that did not answer, one line each
    spf: spf_probe.SpfFlat | None = None
    mx: mx_probe.MxResult | None = None

    def match(self, ip: str) -> Candidate | None:
        """The most specific candidate network holding `ip` (an SPF one before an MX one)."""
        hits = [c for c in self.candidates if c.contains(ip)]
        hits.sort(key=lambda c: (c.source != "spf", -c.prefixlen))
        return hits[0] if hits else None


def collect_candidates(domain: str, resolver: Resolver, budget: Budget | None = None) -> CandidateSet:
    domain = domain.lower().strip().rstrip(".")
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    out = CandidateSet(domain)
    flat = spf_probe.flatten(domain, resolver, budget=budget)
    out.spf = flat
    out.events += flat.events()
    seen: set[str] = set()
    for n in flat.authorised:
        if n.network not in seen:
            seen.add(n.network)
            out.candidates.append(Candidate(n.network, list(n.chain), "spf", n.within_limit))
    if flat.dns_status not in ("ok", "nxdomain"):
        out.failures.append(f"SPF of {domain}: {flat.dns_status} ({'; '.join(flat.problems[:2])})")
    mx = mx_probe.probe_mx(domain, resolver, budget)
    out.mx = mx
    out.events += mx.events()
    if mx.status not in ("ok", "nxdomain"):
        out.failures.append(f"MX of {domain}: {mx.status}")
    for h in mx.hosts:
        if h.status not in ("ok", "nxdomain"):
            out.failures.append(f"address of MX host {h.host}: {h.status}")
        for addr in h.addresses:
            net = f"{addr}/{32 if ':' not in addr else 128}"
            if net in seen:
                continue
            seen.add(net)
            label = f"{domain}: MX {h.preference} {h.host}" if not mx.implicit else f"{domain}: no MX, implicit MX"
            out.candidates.append(Candidate(net, [label, f"{h.host}: {'AAAA' if ':' in addr else 'A'} {addr}"], "mx"))
    return out


def sender_candidates(domain: str, *, nameserver: str | None = None, offline: bool = False,
                      budget: float = DEFAULT_BUDGET, timeout: float = DEFAULT_QUERY_TIMEOUT,
                      cache: ProbeCache | None = None) -> list[Candidate]:
    """Candidate sending networks of `domain` (SPF first, then MX hosts); [] when DNS says nothing."""
    resolver = Resolver(nameserver, offline=offline, timeout=timeout, cache=cache)
    return collect_candidates(domain, resolver, Budget(budget)).candidates
