"""The Python API the CLI mirrors: explain(), log_stats(), batch(), probe(), teach(), demo()."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from os import PathLike
from typing import TYPE_CHECKING

from diagnose.probes.dnsbl import DEFAULT_LISTS
from diagnose.probes.report import ProbeReport
from diagnose.probes.resolver import DEFAULT_QUERY_TIMEOUT, DEFAULT_RUN_BUDGET

if TYPE_CHECKING:
    from diagnose.batchjob import BatchResult
    from diagnose.collectors.correlate import LogStats
    from diagnose.collectors.search import SearchResult
    from diagnose.engine.explainer import Answer


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


# ---------------------------------------------------------------- explain (ENGINE)

def explain(
    logs: Sequence[str | PathLike[str]] = (),
    *,
    sender: str | None = None,
    recipient: str | None = None,
    ip: str | None = None,
    mid: int | str | None = None,
    message_id: str | None = None,
    subject: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    year: int | None = None,
    tracking: str | PathLike[str] | None = None,
    config: str | PathLike[str] | Sequence[str | PathLike[str]] | None = None,  # one file or several
    ndr: str | None = None,
    nameserver: str | None = None,
    offline: bool = False,
    rules_dir: str | PathLike[str] | None = None,
    probe_cache: str | PathLike[str] | None = None,
    probe_budget: float | None = None,
    probe_timeout: float | None = None,
) -> Answer:
    """Why did this mail not arrive? Findings (most relevant first) with evidence and recommendations.

    logs:   mail_logs files, folders, .gz; since/until: "YYYY-MM-DD HH:MM[:SS]" appliance-local time.
    ndr:    the bounce text the sender received (explains without logs).
    nameserver/offline/probe_cache/probe_budget/probe_timeout: the DNS probes (see probe()).
    An `unknown` answer is an answer; errors the user can fix raise InputError.
    """
    from diagnose.engine.explainer import run_explain

    return run_explain(
        logs, sender=sender, recipient=recipient, ip=ip, mid=mid, message_id=message_id, subject=subject,
        since=since, until=until, year=year, tracking=tracking, config=config, ndr=ndr,
        nameserver=nameserver, offline=offline, rules_dir=rules_dir, probe_cache=probe_cache,
        probe_budget=probe_budget, probe_timeout=probe_timeout,
    )


# ---------------------------------------------------------------- batch (BOUNCES)

def batch(
    input: str | PathLike[str] | None = None,
    *,
    logs: Sequence[str | PathLike[str]] = (),
    since: str | None = None,
    until: str | None = None,
    year: int | None = None,
    workers: int | None = None,
    config: Sequence[str | PathLike[str]] | None = None,
    tracking: str | PathLike[str] | None = None,
) -> BatchResult:
    """Classify every bounce of `input` (CSV, DSN .eml / folder / maildir / mbox, ESA bounce log).

    Each row keeps the input's fields and adds reason (Sisimai name), hard, stage, outcome, cause,
    summary, confidence, evidence and `explain` (the command that explains it in full).  With `logs`
    each bounce is joined to its story and diagnosed; with `logs` and no `input`, every message or
    connection between `since` and `until` that was not delivered is diagnosed (`tracking`: a Message
    Tracking export joined the same way; `config`: configuration exports the diagnoses cite).
    Unreadable rows, files or messages are listed in `errors`, never raised.
    """
    from diagnose import batchjob

    result = batchjob.BatchResult(input=str(input) if input is not None else None)
    if input is not None:
        try:
            result.form = batchjob.detect(input)
        except OSError:
            result.form = None
    for kind, item in batchjob.run(input, logs=[str(x) for x in logs], since=since, until=until, year=year,
                                   workers=workers, show_progress=False,
                                   config=[str(c) for c in config] if config else None,
                                   tracking=str(tracking) if tracking is not None else None):
        (result.rows if kind == "row" else result.errors).append(item)
    return result


# ---------------------------------------------------------------- teach (TEACH)

def teach(
    output: str | PathLike[str],
    *,
    rules_dir: str | PathLike[str] | None = None,
    knowledge_dir: str | PathLike[str] | None = None,
    seed: int = 1,
    worked: bool = True,
):
    """Write the teaching site (static HTML, no JavaScript) into the folder `output`.

    Built from rules/ and knowledge/ (the packaged ones by default), worked scenarios from the
    simulator diagnosed by explain(). Returns a diagnose.teach.TeachResult (pages, problems, seconds).
    """
    from diagnose.teach import build_site

    return build_site(output, rules_dir=rules_dir, knowledge_dir=knowledge_dir, seed=seed, worked=worked)


# ---------------------------------------------------------------- logs (LOGS)

def log_stats(paths: Sequence[str | PathLike[str]], *, year: int | None = None,
              show_progress: bool | None = None) -> LogStats:
    """Line coverage of mail_logs: lines read, recognised, unknown shapes, connections, messages, appliances, span."""
    from diagnose.collectors.correlate import count_stories
    from diagnose.collectors.reader import LogReader
    from diagnose.progress import Bar

    reader = LogReader(paths, year=year)
    bar = Bar(None, "lines", show=show_progress)
    last = [0]

    def tick(n: int) -> None:
        bar.update(n - last[0])
        last[0] = n

    try:
        return count_stories(reader, progress=tick)
    finally:
        bar.close()


def find_stories(
    paths: Sequence[str | PathLike[str]],
    sender: str | None = None,
    recipient: str | None = None,
    ip: str | None = None,
    mid: int | str | None = None,
    message_id: str | None = None,
    subject: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    year: int | None = None,
    show_progress: bool | None = None,
) -> SearchResult:
    """Stories (connections, messages) matching ALL the given criteria, with read statistics.

    since/until: appliance-local, a datetime or "YYYY-MM-DD HH:MM[:SS]". Rejected connections
    (no MID) are found by IP and by window. Big logs are prefiltered on bytes (collectors/search.py).
    """
    from diagnose.collectors.search import find_stories as _find
    from diagnose.engine.explainer import parse_time
    from diagnose.progress import Bar

    bar = Bar(None, "mail_logs", unit="B", show=show_progress)
    seen = [0]

    def tick(done: int, _total: int) -> None:
        bar.update(done - seen[0])
        seen[0] = done

    try:
        return _find(paths, sender=sender, recipient=recipient, ip=ip, mid=mid, message_id=message_id,
                     subject=subject, since=parse_time(since, "--since"), until=parse_time(until, "--until"), year=year,
                     progress=tick)
    finally:
        bar.close()
