"""DMARC record (RFC 7489): policy, subdomain policy, alignment modes, percentage, reports.

Looked up at _dmarc.<domain>, then at the organizational domain. Without the Public Suffix
List the organizational domain is taken as the last two labels; the result says when that
guess was used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diagnose.model import Event
from diagnose.probes.facts import make_event
from diagnose.probes.resolver import Answer, Budget, Resolver

POLICIES = ("none", "quarantine", "reject")


@dataclass
class DmarcResult:
    domain: str
    status: str  # ok | nxdomain | servfail | timeout | error | skipped (of the lookup that decided)
    resolver: str
    found: bool = False
    record_domain: str = ""  # where the record was found
    record: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    policy: str = ""  # the policy that applies to `domain` (sp= for a subdomain)
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100
    org_fallback: bool = False
    problems: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)

    def summary(self) -> str:
        if self.found:
            where = f" (from {self.record_domain})" if self.record_domain != f"_dmarc.{self.domain}" else ""
            align = f"DKIM {'strict' if self.adkim == 's' else 'relaxed'}, SPF {'strict' if self.aspf == 's' else 'relaxed'}"
            return f"DMARC {self.domain}: p={self.policy} pct={self.pct} alignment {align}{where}"
        if self.status not in ("ok", "nxdomain"):
            return f"DMARC {self.domain}: lookup failed ({self.status})"
        return f"DMARC {self.domain}: no DMARC record" + ("; " + "; ".join(self.problems) if self.problems else "")

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "status": self.status, "found": self.found, "record_domain": self.record_domain,
                "record": self.record, "policy": self.policy, "adkim": self.adkim, "aspf": self.aspf,
                "pct": self.pct, "tags": self.tags, "org_fallback": self.org_fallback, "problems": self.problems,
                "ttl": self.answers[-1].ttl if self.answers else None}

    def events(self) -> list[Event]:
        return [make_event("dmarc", self.domain, self.answers[-1] if self.answers else None, self.summary(),
                           resolver=self.resolver, status=self.status, found=self.found, policy=self.policy,
                           adkim=self.adkim, aspf=self.aspf, pct=self.pct, record=self.record)]


def parse_dmarc(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


def org_domain(domain: str) -> str:
    labels = domain.split(".")
    return ".".join(labels[-2:]) if len(labels) > 2 else domain


def probe_dmarc(domain: str, resolver: Resolver, budget: Budget | None = None) -> DmarcResult:
    domain = domain.lower().rstrip(".")
    res = DmarcResult(domain, "ok", resolver.label)
    places = [domain]
    if org_domain(domain) != domain:
        places.append(org_domain(domain))
    for place in places:
        a = resolver.query(f"_dmarc.{place}", "TXT", budget)
        res.answers.append(a)
        res.status, res.resolver = a.status, a.resolver
        if a.failed:
            return res  # a failure is not "no record": say we do not know
        recs = [r for r in a.records if r.replace(" ", "").lower().startswith("v=dmarc1")]
        if len(recs) > 1:
            res.problems.append(f"_dmarc.{place} publishes {len(recs)} DMARC records: receivers ignore them all")
            return res
        if not recs:
            continue
        res.found, res.record_domain, res.record = True, f"_dmarc.{place}", recs[0]
        res.org_fallback = place != domain
        res.tags = parse_dmarc(recs[0])
        p = res.tags.get("p", "").lower()
        sp = res.tags.get("sp", "").lower()
        if p not in POLICIES:
            res.problems.append(f"invalid or missing p= ({p or 'absent'})" + ("; rua= present, treated as p=none"
                                                                              if "rua" in res.tags else ""))
            p = "none"
        res.policy = sp if res.org_fallback and sp in POLICIES else p
        res.adkim = "s" if res.tags.get("adkim", "r").lower() == "s" else "r"
        res.aspf = "s" if res.tags.get("aspf", "r").lower() == "s" else "r"
        pct = res.tags.get("pct", "100")
        res.pct = int(pct) if pct.isdigit() and int(pct) <= 100 else 100
        if res.org_fallback:
            res.problems.append(f"organizational domain guessed as {place} (last two labels; no Public Suffix List)")
        return res
    return res
