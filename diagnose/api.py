"""The Python API the CLI mirrors: explain(), log_stats(), batch(), probe(), teach(), demo()."""

from __future__ import annotations

from diagnose.probes.dnsbl import DEFAULT_LISTS
from diagnose.probes.report import ProbeReport
from diagnose.probes.resolver import DEFAULT_QUERY_TIMEOUT, DEFAULT_RUN_BUDGET


def probe(
    target: str,
    *,
    nameserver: str | None = None,
    offline: bool = False,
    probe_cache: str | None = None,
    lists: list[str] | tuple[str, ...] | None = None,
    spf_domain: str | None = None,
    budget: float = DEFAULT_RUN_BUDGET,
    timeout: float = DEFAULT_QUERY_TIMEOUT,
) -> ProbeReport:
    """MX, SPF (flattened), DMARC, PTR/FCrDNS, DNS lists and the Talos link for a domain or an IP.

    nameserver: "HOST[:PORT]" sends every query there; offline: send none (answers come only
    from probe_cache, a JSON file that is also written with every answer received).
    """
    from diagnose.probes.report import run_probe
    from diagnose.probes.session import ProbeSession

    session = ProbeSession.open(nameserver=nameserver, offline=offline, probe_cache=probe_cache,
                                budget=budget, timeout=timeout)
    try:
        return run_probe(target, session.resolver, budget=session.budget,
                         lists=tuple(lists) if lists else DEFAULT_LISTS, spf_domain=spf_domain)
    finally:
        session.close()
