"""DNS-list (DNSBL) probes: Spamhaus ZEN, SpamCop and any configured list, with reply codes decoded.

A query for the reversed IP under the list's zone: NXDOMAIN = not listed; an A answer in
127.0.0.0/8 = listed, with a meaning per code; 127.255.255.x is the list telling us our *query*
was refused (public resolver, excessive queries, typo) and is never a listing (Spamhaus DNSBL
usage terms). When listed, the TXT record gives the list's own reason.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from diagnose.model import Event
from diagnose.probes.facts import make_event
from diagnose.probes.resolver import Answer, Budget, Resolver

DEFAULT_LISTS: tuple[str, ...] = ("zen.spamhaus.org", "bl.spamcop.net")

CODES: dict[str, dict[str, str]] = {
    "zen.spamhaus.org": {
        "127.0.0.2": "SBL: Spamhaus Block List (known spam source or operation)",
        "127.0.0.3": "SBL CSS: snowshoe / low-reputation spam source",
        "127.0.0.4": "XBL: exploited or infected host (CBL data)",
        "127.0.0.5": "XBL: exploited or infected host",
        "127.0.0.6": "XBL: exploited or infected host",
        "127.0.0.7": "XBL: exploited or infected host",
        "127.0.0.9": "SBL DROP/EDROP: hijacked or criminal network",
        "127.0.0.10": "PBL (ISP maintained): end-user address that should not send mail directly",
        "127.0.0.11": "PBL (Spamhaus maintained): end-user address that should not send mail directly",
    },
    "bl.spamcop.net": {"127.0.0.2": "SpamCop: reported as a spam source by SpamCop users"},
}
QUERY_ERRORS = {
    "127.255.255.252": "query error: typo in the DNS-list name",
    "127.255.255.254": "query error: refused because it came through a public or open resolver",
    "127.255.255.255": "query error: too many queries from this resolver",
}
LIST_NAMES = {"zen.spamhaus.org": "Spamhaus ZEN", "bl.spamcop.net": "SpamCop"}


@dataclass
class DnsblResult:
    ip: str
    zone: str
    status: str  # of the A query; a 127.255.255.x reply is status "error"
    resolver: str
    listed: bool | None  # None when the list did not give a usable answer
    codes: list[str] = field(default_factory=list)
    meanings: list[str] = field(default_factory=list)
    reason: str = ""  # the list's TXT record
    error: str = ""
    answer: Answer | None = None

    @property
    def name(self) -> str:
        return LIST_NAMES.get(self.zone, self.zone)

    def summary(self) -> str:
        if self.listed:
            text = f"{self.name}: {self.ip} LISTED ({'; '.join(f'{c} {m}' for c, m in zip(self.codes, self.meanings, strict=False))})"
            return text + (f" reason: {self.reason}" if self.reason else "")
        if self.listed is False:
            return f"{self.name}: {self.ip} not listed"
        return f"{self.name}: {self.ip} unknown ({self.error or self.status})"

    def to_json(self) -> dict[str, Any]:
        return {"list": self.zone, "name": self.name, "ip": self.ip, "status": self.status, "listed": self.listed,
                "codes": self.codes, "meanings": self.meanings, "reason": self.reason, "error": self.error,
                "ttl": self.answer.ttl if self.answer else None}

    def events(self) -> list[Event]:
        return [make_event("dnsbl", f"{self.ip} {self.zone}", self.answer, self.summary(), resolver=self.resolver,
                           status=self.status, ip=self.ip, zone=self.zone, listed=self.listed,
                           codes=list(self.codes), meanings=list(self.meanings), reason=self.reason)]


def query_name(ip: str, zone: str) -> str:
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        rev = ".".join(reversed(str(addr).split(".")))
    else:  # RFC 5782 2.4: nibbles, reversed
        rev = ".".join(reversed(addr.exploded.replace(":", "")))
    return f"{rev}.{zone.strip('.').lower()}"


def decode(zone: str, code: str) -> tuple[bool | None, str]:
    """-> (listed, meaning) for one A answer of a DNS list."""
    if code in QUERY_ERRORS or code.startswith("127.255.255."):
        return None, QUERY_ERRORS.get(code, "query error reported by the list")
    try:
        addr = ipaddress.ip_address(code)
    except ValueError:
        return None, f"unexpected answer {code!r}"
    if addr.version != 4 or not addr.is_loopback or code == "127.0.0.1":
        return None, f"unexpected answer {code} (not a DNS-list code; the zone may be parked or wildcarded)"
    return True, CODES.get(zone, {}).get(code, f"listed (code {code})")


def probe_dnsbl(ip: str, zone: str, resolver: Resolver, budget: Budget | None = None) -> DnsblResult:
    zone = zone.strip().strip(".").lower()
    qname = query_name(ip, zone)
    a = resolver.query(qname, "A", budget)
    res = DnsblResult(str(ipaddress.ip_address(ip)), zone, a.status, a.resolver, None, answer=a)
    if a.status == "nxdomain" or (a.ok and not a.records):
        res.listed = False
        res.status = a.status
        return res
    if not a.ok:
        res.error = a.describe()
        return res
    errors = []
    for code in sorted(a.records, key=_ipkey):
        listed, meaning = decode(zone, code)
        if listed:
            res.codes.append(code)
            res.meanings.append(meaning)
        else:
            errors.append(f"{code}: {meaning}")
    if res.codes:
        res.listed = True
        t = resolver.query(qname, "TXT", budget)
        if t.ok and t.records:
            res.reason = " | ".join(t.records)[:500]
    else:
        res.status = "error"
        res.error = "; ".join(errors)
    return res


def probe_lists(ip: str, resolver: Resolver, zones: tuple[str, ...] | list[str] = DEFAULT_LISTS,
                budget: Budget | None = None) -> list[DnsblResult]:
    return [probe_dnsbl(ip, z, resolver, budget) for z in zones if z.strip()]


def _ipkey(text: str) -> tuple[int, str]:
    try:
        return int(ipaddress.ip_address(text)), text
    except ValueError:
        return 0, text
