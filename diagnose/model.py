"""The shared data model: what collectors produce and what the engine and reports consume.

Collectors (log reader, tracking exports, bounce inputs) all produce `Event`s.
The correlator groups events into `ConnectionStory` / `MessageStory`.
The engine turns a case (one message-recipient or one rejected connection) into
`Finding`s with `Evidence` and `Recommendation`s.

Vocabulary (stage, outcome, confidence, recommendation kind) is fixed by DESIGN.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

STAGES: tuple[str, ...] = (
    "hat", "sender_verification", "rat", "ldap_accept", "call_ahead", "authentication", "sdr",
    "message_filter", "safelist_blocklist", "antispam", "graymail", "antivirus", "amp",
    "content_filter", "outbreak_filter", "dlp", "delivery", "unknown",
)
OUTCOMES: tuple[str, ...] = (
    "delivered", "rejected", "dropped", "bounced", "quarantined", "deferred", "unknown",
)
CONFIDENCES: tuple[str, ...] = ("certain", "likely", "possible")
RECOMMENDATION_KINDS: tuple[str, ...] = (
    "hat_allowlist", "mail_policy_bypass", "sdr_exception", "safelist", "submit_to_cisco",
    "rat_accept", "smtp_route", "exception_table", "release_quarantine", "retry_delivery",
    "fix_destination", "sender_fix", "filter_exception", "raise_limit", "ldap_fix", "none",
)


@dataclass(slots=True)
class Event:
    """One recognised log line (or tracking record, or probe answer).

    kind:      catalogue name of the line shape, e.g. "hat_decision" (see collectors/catalogue.py)
    ts:        appliance-local time as logged (naive datetime); None when the source has none
    appliance: serial number (from the `Version: ... SN:` header), syslog host, or "" when unknown
    source:    where it came from, "path:lineno" (or "tracking:FILE#n", "probe:mx example.com")
    text:      the line's message text after "Level: " (what a human would grep for)
    fields:    named values; ids are ints (icid, mid, rid, dcid, rcid, new_mid), rids is list[int]
    """

    kind: str
    ts: datetime | None
    appliance: str
    source: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)
    level: str = "Info"

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def evidence(self) -> Evidence:
        return Evidence(source=self.source, text=self.text, time=self.ts.isoformat() if self.ts else None)


@dataclass(slots=True, frozen=True)
class Evidence:
    source: str  # "mail_logs:41", "tracking:x.json#3", "probe:spf partner.example"
    text: str
    time: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = {"source": self.source, "text": self.text}
        if self.time:
            d["time"] = self.time
        return d


@dataclass
class MessageStory:
    """Everything logged about one MID on one appliance, in time order."""

    appliance: str
    mid: int
    icid: int | None = None
    events: list[Event] = field(default_factory=list)
    # links to other MIDs: ("split_to"|"rewritten_to"|"generated"|"reinjected_as"|"bounce", other_mid)
    # and the reverse ("split_from"|"rewritten_from"|"generated_from"|"reinjected_from"|"bounce_of", mid)
    links: list[tuple[str, int]] = field(default_factory=list)
    partial_start: bool = False  # logs begin after the message started (no "Start MID")
    partial_end: bool = False  # logs end before "Message finished"/"Message aborted"

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    def all(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    @property
    def sender(self) -> str | None:
        e = self.first("mid_from") or self.first("mid_ready")
        return e.get("sender") if e else None

    @property
    def recipients(self) -> dict[int, str]:
        """Accepted recipients by RID."""
        return {e.get("rid"): e.get("recipient") for e in self.all("mid_to")
                if isinstance(e.get("rid"), int) and not isinstance(e.get("rid"), bool)}  # ids are ints

    @property
    def start(self) -> datetime | None:
        return next((e.ts for e in self.events if e.ts), None)


@dataclass
class ConnectionStory:
    """One inbound SMTP connection (ICID) with the messages injected over it."""

    appliance: str
    icid: int
    events: list[Event] = field(default_factory=list)
    mids: list[int] = field(default_factory=list)
    partial_start: bool = False
    partial_end: bool = False

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    @property
    def ip(self) -> str | None:
        e = self.first("icid_new") or self.first("hat_delayed_reject")
        return e.get("ip") if e else None

    @property
    def start(self) -> datetime | None:
        return next((e.ts for e in self.events if e.ts), None)


@dataclass(slots=True)
class Query:
    """The question asked (CLI options / API arguments): what to look for, in appliance-local time."""

    sender: str | None = None
    recipient: str | None = None
    ip: str | None = None
    mid: int | None = None
    message_id: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in ("sender", "recipient", "ip", "mid", "message_id", "subject", "since", "until"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v.isoformat(sep=" ") if isinstance(v, datetime) else v
        return out

    def describe(self) -> str:
        parts = [f"{k.replace('_', '-')} {v}" for k, v in self.to_json().items()]
        return ", ".join(parts) if parts else "no criteria"

    def is_empty(self) -> bool:
        return not self.to_json()

    @property
    def has_needle(self) -> bool:
        """Something to look for besides the time window."""
        return any(v is not None for v in (self.sender, self.recipient, self.ip, self.mid, self.message_id,
                                           self.subject))


@dataclass
class Recommendation:
    kind: str
    title: str
    gui_path: str
    cli: str
    removes: str  # what protection it removes ("nothing" when none)
    risk: int  # 1 = least risky
    when_not: str = ""  # when it does not apply
    sender_text: str = ""  # for sender_fix: what to tell the sender
    source: str = ""  # remedies catalogue entry id

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Finding:
    outcome: str
    stage: str
    cause: str
    reason: str  # Sisimai reason name
    confidence: str
    summary: str
    sender: str | None = None
    recipient: str | None = None
    sender_ip: str | None = None
    mid: int | None = None
    icid: int | None = None
    time: str | None = None
    appliance: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    path: list[dict[str, str]] = field(default_factory=list)  # [{"stage": s, "status": passed|stopped|not_reached|unknown}]
    why: list[str] = field(default_factory=list)  # rule-by-rule justification text
    gaps: list[str] = field(default_factory=list)  # what the tool could not see and how to close it
    what_if: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = {
            "outcome": self.outcome, "stage": self.stage, "cause": self.cause, "reason": self.reason,
            "confidence": self.confidence, "summary": self.summary, "sender": self.sender,
            "recipient": self.recipient, "sender_ip": self.sender_ip, "mid": self.mid, "icid": self.icid,
            "time": self.time, "appliance": self.appliance,
            "evidence": [e.to_json() for e in self.evidence],
            "recommendations": [r.to_json() for r in self.recommendations],
            "path": self.path, "why": self.why, "gaps": self.gaps, "what_if": self.what_if,
        }
        d.update(self.extra)
        return d


class InputError(Exception):
    """Bad user input (missing file, unparseable date...): the CLI prints one line and exits 2."""
