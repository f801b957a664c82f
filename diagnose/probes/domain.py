"""Does a domain exist in DNS? What the ESA's sender verification asks of the envelope sender domain.

AsyncOS logs "envelope sender domain does not exist" for NXDOMAIN and "could not be resolved"
for a temporary failure (SERVFAIL, timeout); this probe keeps the same distinction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diagnose.model import Event
from diagnose.probes.facts import make_event
from diagnose.probes.resolver import Answer, Budget, Resolver


@dataclass
class DomainResult:
    domain: str
    status: str  # ok | nxdomain | servfail | timeout | error | skipped
    resolver: str
    exists: bool | None  # None when the DNS did not say
    has_mx: bool = False
    has_address: bool = False
    verdict: str = ""  # resolves | does not exist | could not be resolved | no MX or A
    answers: list[Answer] = field(default_factory=list)

    def summary(self) -> str:
        detail = "; ".join(f"{a.rdtype} {a.describe()}" for a in self.answers)
        return f"Domain {self.domain}: {self.verdict} ({detail})"

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "status": self.status, "exists": self.exists, "has_mx": self.has_mx,
                "has_address": self.has_address, "verdict": self.verdict, "resolver": self.resolver}

    def events(self) -> list[Event]:
        first = self.answers[0] if self.answers else None
        return [make_event("domain", self.domain, first, self.summary(), resolver=self.resolver,
                           status=self.status, exists=self.exists, has_mx=self.has_mx,
                           has_address=self.has_address, verdict=self.verdict)]


def probe_domain(domain: str, resolver: Resolver, budget: Budget | None = None) -> DomainResult:
    domain = domain.lower().rstrip(".")
    answers = [resolver.query(domain, t, budget) for t in ("MX", "A")]
    res = DomainResult(domain, "ok", answers[0].resolver, None, answers=answers)
    res.has_mx = any(a.ok and a.records for a in answers if a.rdtype == "MX")
    res.has_address = any(a.ok and a.records for a in answers if a.rdtype == "A")
    if any(a.status == "nxdomain" for a in answers) and not (res.has_mx or res.has_address):
        res.status, res.exists, res.verdict = "nxdomain", False, "does not exist (NXDOMAIN)"
    elif res.has_mx or res.has_address:
        res.exists, res.verdict = True, "resolves"
    elif any(a.failed for a in answers):
        bad = next(a for a in answers if a.failed)
        res.status, res.verdict = bad.status, f"could not be resolved ({bad.status})"
    else:
        res.exists, res.verdict = True, "exists but has no MX or A record"
    return res
