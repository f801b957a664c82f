"""One command's probe settings in one object: resolver (nameserver or offline), cache, run budget."""

from __future__ import annotations

from dataclasses import dataclass

from diagnose.probes.cache import ProbeCache
from diagnose.probes.resolver import DEFAULT_QUERY_TIMEOUT, DEFAULT_RUN_BUDGET, Budget, Resolver


@dataclass
class ProbeSession:
    resolver: Resolver
    budget: Budget
    cache: ProbeCache | None = None

    @classmethod
    def open(cls, *, nameserver: str | None = None, offline: bool = False, probe_cache: str | None = None,
             budget: float = DEFAULT_RUN_BUDGET, timeout: float = DEFAULT_QUERY_TIMEOUT) -> ProbeSession:
        cache = ProbeCache(probe_cache) if probe_cache else None
        resolver = Resolver(nameserver, offline=offline, timeout=timeout, cache=cache)
        return cls(resolver, Budget(budget), cache)

    def close(self) -> None:
        """Save the probe cache (when one was asked for)."""
        if self.cache is not None:
            self.cache.save()
