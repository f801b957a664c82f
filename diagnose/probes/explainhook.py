"""The two places `explain` uses DNS probes (wired in diagnose/engine/explainer.py).

1. `search_sender_networks`: the sender's message is not in the logs. Probe the sender domain's
   SPF networks and MX hosts, then read the logs once for connections from those networks in the
   window: each becomes a `likely` candidate case carrying a `probe_spf_match` fact (the mechanism
   chain), so the finding cites the chain and the REJECT line.
2. `ProbeHook(case)`: for every case, the probes its log lines call for (PTR/FCrDNS and DNS lists
   for a refused IP, the envelope sender domain for a sender-verification rejection, the recipient
   domain's MX/A for a delivery DNS error), plus `probe_disagreement` facts where DNS changed since.

Every probe obeys the session's budget; failures are collected one line each for the answer.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diagnose.model import ConnectionStory, Event
from diagnose.probes import casework
from diagnose.probes.candidates import CandidateSet
from diagnose.probes.session import ProbeSession

FAILED_STATUSES = ("servfail", "timeout", "error", "skipped")
_ICID_RE = re.compile(r"\bICID:? (\d+)")


@dataclass
class SenderSearch:
    candidates: list[tuple[ConnectionStory, str, str]] = field(default_factory=list)  # (conn, confidence, reason)
    searched: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    cset: CandidateSet | None = None


@dataclass
class ProbeHook:
    """Callable per case -> probe facts (Events). Remembers failures for the answer's notes."""

    session: ProbeSession
    match_facts: dict[tuple[str, int], list[Event]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lists: tuple[str, ...] = ()

    def __call__(self, case: Any) -> list[Event]:
        events: list[Event] = []
        seen: set[int] = set()  # a line can sit in both stories; identity, not equality (big connections)
        conn = getattr(case, "connection", None)
        msg = getattr(case, "message", None)
        for story in (conn, msg):
            for e in story.events if story is not None else ():
                if id(e) not in seen:
                    seen.add(id(e))
                    events.append(e)
        out: list[Event] = []
        if conn is not None:
            out += self.match_facts.get((conn.appliance, conn.icid), [])
        kwargs = {"lists": self.lists} if self.lists else {}
        out += casework.case_probe_events(events, self.session, recipient=getattr(case, "recipient", None),
                                          **kwargs)
        self.note_failures(out)
        return out

    def note_failures(self, facts: Iterable[Event]) -> None:
        for f in facts:
            if f.kind.startswith("probe_") and f.kind not in ("probe_talos", "probe_disagreement") \
                    and f.get("status") in FAILED_STATUSES:
                line = f"{f.kind.removeprefix('probe_')} {f.get('target')}: {f.get('status')}"
                if line not in self.failures:
                    self.failures.append(line)

    def notes(self) -> list[str]:
        if not self.failures:
            return []
        return [f"DNS probes that failed (no answer used): {'; '.join(self.failures[:12])}"
                + (f" and {len(self.failures) - 12} more" if len(self.failures) > 12 else "")]


def enabled(session: ProbeSession) -> bool:
    """Offline without a cache to replay: no probe at all (no facts, no failure noise)."""
    return not (session.resolver.offline and session.cache is None)


def search_sender_networks(logs: Sequence[Any], sender: str, since: datetime | None, until: datetime | None,
                           year: int | None, session: ProbeSession, hook: ProbeHook) -> SenderSearch:
    out = SenderSearch()
    cset = casework.sender_candidates_for(sender, session)
    if cset is None:
        return out
    out.cset = cset
    hook.note_failures(cset.events)
    if not cset.candidates:
        why = "; ".join(cset.failures) or "its SPF authorises no network and it has no MX host"
        out.searched.append(f"probed DNS of {cset.domain} for candidate sending IPs: none found ({why})")
        return out
    nets = ", ".join(c.network for c in cset.candidates[:6]) + (
        f" and {len(cset.candidates) - 6} more" if len(cset.candidates) > 6 else "")
    started = time.monotonic()
    conns = connections_in_networks(logs, cset, since, until, year)
    session.budget.extend(time.monotonic() - started)  # reading logs is not probe time
    out.searched.append(f"probed DNS of {cset.domain} (SPF and MX: {nets}) and searched the logs for "
                        f"connections from those networks: {len(conns)} found")
    for conn, cand in casework.candidate_connections(conns, cset):
        reason = casework.link_reason(sender, conn, cand, cset)
        # SPF names sending hosts; an MX host mainly receives (admin notes), and a network past the SPF
        # lookup limit is not authorised for receivers: those links are only possible
        confidence = "likely" if cand.source == "spf" and cand.within_limit else "possible"
        out.candidates.append((conn, confidence, reason))
        hook.match_facts[(conn.appliance, conn.icid)] = [casework.match_event(conn.ip or "", cand, cset)]
    return out


def connections_in_networks(logs: Sequence[Any], cset: CandidateSet, since: datetime | None,
                            until: datetime | None, year: int | None) -> list[ConnectionStory]:
    """One streamed pass over the logs: connections whose client IP is in a candidate network, in the window.

    Only the lines of those connections are parsed: a `New SMTP ICID` line decides whether its ICID
    is wanted; other lines are kept when the ICID they name is wanted (a cheap regex, no catalogue).
    """
    from diagnose.collectors import catalogue
    from diagnose.collectors.correlate import correlate
    from diagnose.collectors.reader import LogReader

    nets = casework.candidate_networks(cset)
    reader = LogReader([str(p) for p in logs], year=year)
    wanted: set[tuple[str, int]] = set()

    def in_nets(ip: Any) -> bool:
        try:
            addr = ipaddress.ip_address(str(ip))
        except ValueError:
            return False
        return any(addr.version == n.version and addr in n for n in nets)

    def events() -> Iterable[Event]:
        for display, n, ts, app, level, text in reader:
            if "ICID" not in text:
                continue
            m = _ICID_RE.search(text)
            if m is None:
                continue
            key = (app, int(m.group(1)))
            new = text.startswith("New SMTP ICID")
            if not new and key not in wanted:
                continue
            r = catalogue.parse(text)
            if r is None:
                continue
            if new:  # ICIDs are reused after a restart: each New line decides afresh
                if in_nets(r[2].get("ip")) and not (since and ts and ts < since) and not (until and ts and ts > until):
                    wanted.add(key)
                else:
                    wanted.discard(key)
                    continue
            yield Event(r[0], ts, app, f"{display}:{n}", text, r[2], level)

    return [story for story in correlate(events())
            if isinstance(story, ConnectionStory) and story.ip and in_nets(story.ip)]
