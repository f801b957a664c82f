"""Probe results as `Event` facts: kind probe_<name>, the probe time, the resolver, TTL and status.

The engine treats them like log lines: they are facts with evidence
(`Evidence(source="probe:spf partner.example @127.0.0.1:5353", text=...)`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from diagnose.model import Event
from diagnose.probes.resolver import Answer, now_text


def probe_time(answer: Answer | None) -> datetime:
    """The time the answer came (UTC, naive like log times); now when there is no answer."""
    if answer is not None and answer.time:
        try:
            return datetime.fromisoformat(answer.time)
        except ValueError:
            pass
    return datetime.fromisoformat(now_text())


def make_event(name: str, target: str, answer: Answer | None, text: str, *, resolver: str,
               status: str | None = None, **fields: Any) -> Event:
    status = status or (answer.status if answer else "skipped")
    if answer is not None and answer.resolver:  # a replayed answer keeps the resolver that gave it
        resolver = answer.resolver
    data = {
        "target": target, "status": status, "resolver": resolver,
        "ttl": answer.ttl if answer else None, "cached": bool(answer and answer.cached),
    }
    data.update(fields)
    data["summary"] = text  # the rules quote it ({alias.summary}): extra facts carry no log text
    return Event(kind=f"probe_{name}", ts=probe_time(answer), appliance="",
                 source=f"probe:{name} {target} @{resolver}", text=text, fields=data)


def worst_status(answers: list[Answer]) -> str:
    """One status for a probe made of several queries: the first failure wins, else the first answer's."""
    for a in answers:
        if a.failed:
            return a.status
    return answers[0].status if answers else "skipped"
