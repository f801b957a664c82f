"""One command's probe settings in one object: resolver (nameserver or offline), cache, run budget."""

from __future__ import annotations

import os
from dataclasses import dataclass

from diagnose.probes.cache import ProbeCache
from diagnose.probes.resolver import DEFAULT_QUERY_TIMEOUT, DEFAULT_RUN_BUDGET, Budget, Resolver

OFFLINE_ENV = "ESA_DIAGNOSE_OFFLINE"  # set (non-empty, not "0"): no DNS query unless --nameserver is given


@dataclass
class ProbeSession:
    resolver: Resolver
    budget: Budget
    cache: ProbeCache | None = None

    @classmethod
    def open(cls, *, nameserver: str | None = None, offline: bool = False, probe_cache: str | None = None,
             budget: float = DEFAULT_RUN_BUDGET, timeout: float = DEFAULT_QUERY_TIMEOUT) -> ProbeSession:
        if nameserver is None and os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
            offline = True  # the test suite and CI set it: no DNS but an explicit --nameserver
        cache = ProbeCache(probe_cache) if probe_cache else None
        resolver = Resolver(nameserver, offline=offline, timeout=timeout, cache=cache)
        return cls(resolver, Budget(budget), cache)

    def close(self) -> None:
        """Save the probe cache (when one was asked for)."""
        if self.cache is not None:
            self.cache.save()

    def notes(self, limit: int = 12) -> list[str]:
        """One line naming the DNS questions that got no usable answer (for the answer's notes)."""
        failed = self.resolver.failed
        if not failed:
            return []
        parts = [f"{a.rdtype} {a.qname}: {a.status}" + (" (time budget exhausted)" if "budget" in a.error else "")
                 for a in failed[:limit]]
        more = f" and {len(failed) - limit} more" if len(failed) > limit else ""
        return [f"DNS probes that failed, no answer used (resolver {self.resolver.label}): "
                f"{'; '.join(parts)}{more}"]
