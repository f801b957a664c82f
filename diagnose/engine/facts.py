"""A case -> facts, each carrying its evidence.

A case is one message-recipient (a MessageStory RID with its ConnectionStory), or one
rejected/closed ConnectionStory, or "nothing matched" (only the question). Facts are the
Events (kind -> fact type), plus the question (`query`), what the case is (`case`),
candidate sender IPs (`candidate`), and later probe/config facts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diagnose.model import ConnectionStory, Event, Evidence, MessageStory, Query

# Events that name recipients by RID list (`rids`) or one `rid`: keep only this case's RID.
_MAX_TEXT = 4000
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")  # what the rule engine can hold as a field name
_RESERVED = frozenset(("fact_id", "fact_type", "sid"))


@dataclass(slots=True)
class Fact:
    """One fact in a case. Base facts carry their Event; derived facts their rule."""

    id: int
    type: str
    fields: dict[str, Any]
    event: Event | None = None
    rule: str | None = None  # rule id for a derived fact
    inputs: tuple[int, ...] = ()  # fact ids the rule matched

    @property
    def derived(self) -> bool:
        return self.rule is not None

    @property
    def ts(self) -> datetime | None:
        return self.event.ts if self.event else None

    def evidence(self) -> Evidence | None:
        return self.event.evidence() if self.event and self.event.source else None

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


@dataclass
class Case:
    """One thing to explain: the facts plus what identifies it."""

    kind: str  # "message" | "connection" | "not_found" | "ndr"
    query: Query
    message: MessageStory | None = None
    connection: ConnectionStory | None = None
    rid: int | None = None
    recipient: str | None = None
    link: str = "direct"  # how the case relates to the question: direct | candidate_ip
    link_confidence: str = "certain"
    link_reason: str = ""
    searched: list[str] = field(default_factory=list)  # what was looked at (for unknown answers)
    facts: list[Fact] = field(default_factory=list)
    extra_facts: list[tuple[str, dict[str, Any], Event | None]] = field(default_factory=list)
    link_events: list[Event] = field(default_factory=list)  # evidence that ties a candidate to the question
    parent: MessageStory | None = None  # the MID this one continues (split, rewritten, reinjected)

    @property
    def sender(self) -> str | None:
        if self.message is not None and self.message.sender:
            return self.message.sender
        if self.parent is not None and self.parent.sender:
            return self.parent.sender
        return self.query.sender if self.kind in ("not_found", "ndr") else None

    @property
    def ip(self) -> str | None:
        return self.connection.ip if self.connection is not None else None


def clean_value(v: Any) -> Any:
    """A value the rule engine can hold: scalars only, bounded text, no NULs."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):  # the rule engine reads JSON into signed 64-bit integers
        return v if -2**63 <= v < 2**63 else str(v)
    if isinstance(v, float):  # inf/nan are not JSON: the rule engine refuses them (or crashes)
        return v if math.isfinite(v) else str(v)
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, list | tuple):
        v = " ".join(str(x) for x in v if x is not None)  # reply lines: matched joined by a space
    if isinstance(v, dict):
        return None
    s = str(v).replace("\x00", "")
    return s[:_MAX_TEXT]


def _keep_for_rid(event: Event, rid: int | None) -> bool:
    """Delivery events name RIDs: keep those for this recipient (or with no RID at all)."""
    if rid is None:
        return True
    rids = event.fields.get("rids")
    if isinstance(rids, list | tuple) and rids:
        return rid in rids
    one = event.fields.get("rid")
    if isinstance(one, int) and not isinstance(one, bool):
        return one == rid
    return True


def _in_scope(case: Case, ev: Event) -> bool:
    """Is this message event about the case's recipient?"""
    addr = ev.fields.get("recipient")
    if case.recipient and isinstance(addr, str) and addr and not _same_addr(addr, case.recipient):
        return False  # another recipient's line (RCPT refused, bounce, delay)
    # a recipient refused at RCPT TO has no RID: the accepted RIDs' delivery lines are not its story
    refused_rcpt = case.rid is None and case.recipient and case.message is not None and case.message.recipients
    if refused_rcpt and (ev.fields.get("rids") or isinstance(ev.fields.get("rid"), int)):
        return False
    return _keep_for_rid(ev, case.rid)


def event_fields(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in event.fields.items():
        if not isinstance(k, str) or not _KEY.match(k) or k in _RESERVED:
            continue
        if k == "id":  # durable-rules identifies facts by an `id` key: keep the value under another name
            k = "event_id"
        cv = clean_value(v)
        if cv is not None:
            out[k] = cv
    out["text"] = clean_value(event.text) or ""
    if event.ts is not None:
        out["time"] = event.ts.isoformat()
    return out


def build_facts(case: Case) -> list[Fact]:
    """All base facts of a case, in time order (connection first, then message)."""
    facts: list[Fact] = []

    def add(ftype: str, fields: dict[str, Any], event: Event | None = None) -> None:
        facts.append(Fact(id=len(facts) + 1, type=ftype, fields=fields, event=event))

    q = {k: clean_value(v) for k, v in case.query.to_json().items()}
    add("query", q)
    case_fields: dict[str, Any] = {"kind": case.kind, "link": case.link}
    msg, conn = case.message, case.connection
    if msg is not None:
        case_fields.update(mid=msg.mid, partial_start=msg.partial_start, partial_end=msg.partial_end)
        if msg.icid is not None:
            case_fields["icid"] = msg.icid
    if conn is not None:
        case_fields["icid"] = conn.icid
        case_fields["connection_partial_start"] = conn.partial_start
        case_fields["connection_partial_end"] = conn.partial_end
        if conn.ip:
            case_fields["ip"] = conn.ip
    if case.rid is not None:
        case_fields["rid"] = case.rid
    if case.recipient:
        case_fields["recipient"] = case.recipient
    if case.sender:
        case_fields["sender"] = case.sender
    add("case", {k: clean_value(v) for k, v in case_fields.items()})
    # connection-level values every line of the connection shares (rules write {hat.ip})
    conn_ctx: dict[str, Any] = {}
    if conn is not None:
        first = conn.first("icid_new")
        if first is not None:
            for k in ("ip", "rdns", "rdns_verified", "interface", "interface_ip"):
                if first.fields.get(k) is not None:
                    conn_ctx[k] = clean_value(first.fields[k])
    seen: set[int] = set()
    for story in (conn, msg):
        if story is None:
            continue
        for ev in story.events:
            if id(ev) in seen:  # a line can sit in both stories
                continue
            seen.add(id(ev))
            if story is msg and not _in_scope(case, ev):
                continue
            other_mid = ev.fields.get("mid")
            if story is conn and msg is not None and isinstance(other_mid, int) and other_mid != msg.mid:
                continue  # another message on the same connection
            if not isinstance(ev.kind, str) or not ev.kind:
                continue
            fields = event_fields(ev)
            if story is conn:
                for k, v in conn_ctx.items():
                    fields.setdefault(k, v)
            add(ev.kind, fields, ev)
    for ftype, fields, ev in case.extra_facts:
        clean = {("event_id" if k == "id" else k): clean_value(v) for k, v in fields.items()
                 if isinstance(k, str) and _KEY.match(k) and k not in _RESERVED and clean_value(v) is not None}
        if ev is not None and "text" not in clean:
            clean["text"] = clean_value(ev.text) or ""
        add(ftype, clean, ev)
    case.facts = facts
    return facts


def _same_addr(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip("<>").lower() == b.strip("<>").lower()


def message_cases(story: MessageStory, connection: ConnectionStory | None, query: Query) -> list[Case]:
    """One case per recipient: accepted RIDs and recipients refused at RCPT TO.

    When the question names a recipient, only that recipient's cases; a message whose
    recipients are not in the logs (partial) is one case for the whole message.
    """
    cases: list[Case] = []
    for rid, addr in sorted(story.recipients.items(), key=lambda kv: kv[0]):
        if query.recipient and not _same_addr(addr, query.recipient):
            continue
        cases.append(Case(kind="message", query=query, message=story, connection=connection, rid=rid, recipient=addr))
    for ev in story.all("mid_rcpt_rejected"):
        addr = ev.get("recipient")
        if not addr or (query.recipient and not _same_addr(addr, query.recipient)):
            continue
        if any(_same_addr(c.recipient, addr) for c in cases):
            continue
        cases.append(Case(kind="message", query=query, message=story, connection=connection, rid=None,
                          recipient=addr))
    if not cases:
        cases.append(Case(kind="message", query=query, message=story, connection=connection,
                          recipient=query.recipient if query.recipient else None))
    return cases


def connection_case(connection: ConnectionStory, query: Query, *, link: str = "direct",
                    link_confidence: str = "certain", link_reason: str = "") -> Case:
    return Case(kind="connection", query=query, connection=connection, link=link,
                link_confidence=link_confidence, link_reason=link_reason)
