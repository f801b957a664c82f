"""Follow-on MIDs: one answer per message, whatever MIDs it went through ("the final state counts").

A message can leave its MID and go on under another one: released from the Spam Quarantine and
reinjected (`ISQ: Reinjected MID a as MID b`), rewritten by a filter (`MID a rewritten to MID b`),
or split for some recipients (`MID a was split creating MID b ...`). Each MID is one engine case;
this module joins a case whose disposition is such a hand-over to the follow-on MID's case for the
same recipient, so that the chain's last disposition is the finding's outcome, the evidence and the
"why" of every MID are kept, and the recommendations of the hand-over itself (retry a delivery that
has happened since) are dropped while those of the root cause (the quarantine) stay.
When the follow-on MID is not in the logs the hand-over stays the answer, no surer than `possible`,
with a gap that says which logs to add.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diagnose.engine.facts import Case
from diagnose.engine.justify import Record
from diagnose.model import Evidence, Finding, MessageStory, Recommendation

# links that hand the message itself over to another MID (not generated mail, not bounces)
HANDOVERS = ("split_to", "rewritten_to", "reinjected_as")
LINK_KINDS = {"split_to": "policy_split", "rewritten_to": "rewritten", "reinjected_as": "isq_reinjected"}
# dispositions a follow-on MID supersedes: nothing final happened to this MID for this recipient
OPEN_OUTCOMES = ("unknown", "deferred", "quarantined")
_NO_STATE = "No rule recognised a final state"


@dataclass
class Step:
    """One engine case and what it concluded."""

    case: Case
    record: Record
    finding: Finding
    sentence: str = ""  # the final stop's explanation, first sentence (for the chain's summary)
    recommendations: list[Recommendation] = field(default_factory=list)  # the ones kept in the chain


@dataclass
class Handover:
    relation: str  # split_to | rewritten_to | reinjected_as
    mid: int  # the follow-on MID
    event: Any = None  # the log line that says so (an Event), when logged
    absent: str = "is not in these logs"  # when the follow-on MID has no case: why (for the gap)


@dataclass
class Chain:
    """A finding and the engine cases behind it (one for most findings)."""

    finding: Finding
    steps: list[Step]
    handovers: list[Handover] = field(default_factory=list)  # handovers[k]: steps[k] -> steps[k + 1]
    primary: int = -1  # the step whose disposition the finding reports

    @property
    def record(self) -> Record:
        return self.steps[self.primary].record


def _key(addr: Any) -> str:
    return addr.strip("<>").lower() if isinstance(addr, str) else ""


def _handover_event(msg: MessageStory, relation: str, other: int) -> Any:
    kind = LINK_KINDS.get(relation)
    return next((e for e in msg.events if e.kind == kind and e.get("new_mid") == other), None)


def with_follow_ons(pair: tuple[MessageStory, Any], stories: dict[tuple[str, int], tuple[MessageStory, Any]],
                    ) -> list[tuple[MessageStory, Any]]:
    """A (story, connection) and, transitively, the follow-on MIDs among `stories` ((appliance, MID) ->
    pair) that it hands the message over to: explain them together so that the chain forms (batch
    explains one story at a time)."""
    out = [pair]
    seen = {(pair[0].appliance, pair[0].mid)}
    k = 0
    while k < len(out):
        story = out[k][0]
        k += 1
        for relation, other in story.links:
            if relation not in HANDOVERS or not isinstance(other, int):
                continue
            key = (story.appliance, other)
            if key in stories and key not in seen:
                seen.add(key)
                out.append(stories[key])
    return out


def _concerns(h: Handover, recipient: str | None) -> bool:
    """Does the hand-over take this recipient? A split names the recipients it moves."""
    if h.relation != "split_to" or not recipient or h.event is None:
        return True
    moved = h.event.get("recipients")
    if not isinstance(moved, list | tuple) or not moved:
        return True
    return _key(recipient) in {_key(str(r)) for r in moved}


def link_chains(steps: list[Step], given: set[tuple[str, int]],
                in_logs: set[tuple[str, int]] | None = None) -> list[Chain]:
    """Group the cases into chains: a case whose disposition is still open and whose MID continues
    as another MID is followed to that MID's case for the same recipient.

    given:   the (appliance, MID) of the stories explained; in_logs: every MID the search found in
             the logs (None: not known, so a follow-on MID not given is "not among the messages
             explained", never "not in the logs")."""
    by_key: dict[tuple[str, int, str], Step] = {}
    for s in steps:
        msg = s.case.message
        if msg is not None:
            by_key.setdefault((msg.appliance, msg.mid, _key(s.case.recipient)), s)
    consumed: set[int] = set()
    nxt: dict[int, tuple[Step | None, Handover]] = {}
    for s in steps:
        msg = s.case.message
        if msg is None or s.finding.outcome not in OPEN_OUTCOMES:
            continue
        for relation, other in msg.links:
            if relation not in HANDOVERS or not isinstance(other, int) or isinstance(other, bool):
                continue
            h = Handover(relation, other, _handover_event(msg, relation, other))
            if not _concerns(h, s.case.recipient):
                continue  # split off for other recipients: this one stayed on its MID
            child = by_key.get((msg.appliance, other, _key(s.case.recipient)))
            if child is None:  # the follow-on MID logs no recipients of its own: its one case
                only = [c for k, c in by_key.items() if k[:2] == (msg.appliance, other)]
                if len(only) == 1 and only[0].case.message is not None and not only[0].case.message.recipients:
                    child = only[0]
            if child is not None and child is not s and id(child) not in consumed:
                consumed.add(id(child))
                msg2 = child.case.message
                # a MID known only from the hand-over line itself is not in the logs
                nxt[id(s)] = (child if msg2 is not None and msg2.events else None, h)
                break
            if child is None and (msg.appliance, other) not in given:
                if in_logs is None or (msg.appliance, other) in in_logs:
                    h.absent = "is not among the messages explained here"
                nxt.setdefault(id(s), (None, h))  # the follow-on MID is not in the logs
    chains: list[Chain] = []
    for s in steps:
        if id(s) in consumed:
            continue
        members, handovers = [s], []
        seen = {id(s)}
        cur = s
        while id(cur) in nxt:
            child, h = nxt[id(cur)]
            handovers.append(h)
            if child is None or id(child) in seen:
                break
            seen.add(id(child))
            members.append(child)
            cur = child
        chains.append(merge(members, handovers))
    return chains


def _times(f: Finding) -> datetime | None:
    try:
        return datetime.fromisoformat(f.time) if f.time else None
    except ValueError:
        return None


def _duration(a: datetime | None, b: datetime | None) -> str:
    if a is None or b is None or b <= a:
        return ""
    secs = int((b - a).total_seconds())
    if secs < 60:
        return f"{secs} s"
    hours, mins = divmod(secs // 60, 60)
    if hours >= 48:
        return f"{hours // 24} days {hours % 24} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


def _handover_text(h: Handover) -> str:
    return {"reinjected_as": f"released from the Spam Quarantine and reinjected as MID {h.mid}",
            "rewritten_to": f"rewritten by a filter as MID {h.mid}",
            "split_to": f"split off for this recipient as MID {h.mid}"}.get(h.relation, f"continued as MID {h.mid}")


def handover_remedies(record: Record) -> set[str]:
    """Catalogue refs (or kinds) recommended only because of the final stop of this case, which
    the follow-on MID supersedes (e.g. "retry delivery" after a release)."""
    from diagnose.engine.findings import final_stop

    stop = final_stop(record)
    if stop is None:
        return set()
    only, other = set(), set()
    for f in record.derived("remedy"):
        name = str(f.get("ref") or f.get("kind") or "")
        uses = [stop.id in j.input_ids for j in record.justifications_of(f.id)]
        (only if uses and all(uses) else other).add(name)
    return only - other


def _history(steps: list[Step], handovers: list[Handover], final: int) -> list[dict[str, Any]]:
    """What happened, in order: each MID's stops (the superseded ones too), then the hand-over."""
    from diagnose.engine.findings import final_stop

    out: list[dict[str, Any]] = []
    for k, s in enumerate(steps[: final + 1]):
        msg = s.case.message
        last = final_stop(s.record)
        stops = sorted(s.record.derived("stop"), key=lambda f: (_stop_time(s.record, f), f.id))
        for f in stops:
            if k < len(handovers) and last is not None and f.id == last.id:
                continue  # said by the hand-over entry below
            entry = {"mid": msg.mid if msg else None, "outcome": f.get("outcome"), "stage": f.get("stage"),
                     "cause": f.get("cause"), "rule": f.rule, "time": _iso(_stop_time(s.record, f))}
            if out and (out[-1]["mid"], out[-1]["outcome"], out[-1].get("stage")) == \
                    (entry["mid"], entry["outcome"], entry["stage"]):
                out[-1] = entry  # the same state told by a more precise rule
            else:
                out.append(entry)
        if k < len(handovers):
            h = handovers[k]
            ts = h.event.ts if h.event is not None else None
            out.append({"mid": msg.mid if msg else None, "outcome": "handed_over", "relation": h.relation,
                        "new_mid": h.mid, "time": ts.isoformat() if ts else None})
    return out


def _stop_time(record: Record, fact: Any) -> datetime:
    from diagnose.engine.findings import _latest_ts
    return _latest_ts(record, fact)


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts and ts != datetime.min else None


def _history_text(entries: list[dict[str, Any]]) -> str:
    from diagnose.engine.findings import STAGE_LABELS

    parts: list[str] = []
    day = None
    for e in entries:
        t = e.get("time")
        when = ""
        if t:
            d, _, clock = t.partition("T")
            when = f" ({clock})" if d == day else f" ({d} {clock})"
            day = d
        if e["outcome"] == "handed_over":
            parts.append(_handover_text(Handover(e["relation"], e["new_mid"])) + when)
        elif e["outcome"] == "delivered":
            parts.append("delivered" + when)
        else:
            parts.append(f"{e['outcome']} at {STAGE_LABELS.get(str(e['stage']), e['stage'])}{when}")
    return ", then ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", '"', ")")) else text + "."


def merge(steps: list[Step], handovers: list[Handover]) -> Chain:
    """One finding for the chain of cases `steps` (each handed over to the next by handovers[k])."""
    for s in steps:
        s.recommendations = list(s.finding.recommendations)
    if len(steps) == 1 and not handovers:
        return Chain(steps[0].finding, steps, [], 0)
    # the chain's last known disposition: a follow-on MID whose fate is unknown does not erase the hand-over
    final = len(steps) - 1
    while final > 0 and steps[final].finding.outcome == "unknown":
        final -= 1
    base = steps[final].finding
    first = steps[0].finding
    f = dataclasses.replace(base, evidence=[], why=[], gaps=[], recommendations=[], extra=dict(base.extra),
                            path=[dict(p) for p in base.path])
    mids = [s.case.message.mid for s in steps if s.case.message is not None]
    missing = handovers[len(steps) - 1] if len(handovers) >= len(steps) else None  # not in the logs
    if missing is not None:
        mids.append(missing.mid)
    chain_mids = list(dict.fromkeys(mids))
    f.icid = first.icid if first.icid is not None else base.icid
    f.sender = base.sender or first.sender
    f.sender_ip = first.sender_ip or base.sender_ip
    f.recipient = base.recipient or first.recipient
    # evidence of every MID, in time order; the hand-over lines themselves too
    seen: set[tuple[str, str]] = set()
    evidence: list[Evidence] = []
    extra_ev = [h.event.evidence() for h in handovers if h.event is not None and h.event.source]
    for e in [ev for s in steps for ev in s.finding.evidence] + extra_ev:
        if (e.source, e.text) not in seen:
            seen.add((e.source, e.text))
            evidence.append(e)
    f.evidence = sorted(evidence, key=lambda e: (e.time is None, e.time or ""))
    # why: each MID's reasoning, the hand-over between them
    why: list[str] = []
    for k, s in enumerate(steps):
        for line in s.finding.why:
            if line not in why:
                why.append(line)
        if k < len(handovers):
            h = handovers[k]
            src = f" (\"{h.event.text}\")" if h.event is not None else ""
            mid = s.case.message.mid if s.case.message is not None else "?"
            why.append(f"CHAIN: MID {mid} was {_handover_text(h)}{src}; the message goes on under MID {h.mid}"
                       + ("." if k + 1 < len(steps) else f"; MID {h.mid} {h.absent}."))
    f.why = why
    # recommendations: the root cause's stay, the superseded hand-over's go
    recs: list[Recommendation] = []
    names: set[str] = set()
    for k, s in enumerate(steps[: final + 1]):
        drop = handover_remedies(s.record) if k < final else set()
        kept = [r for r in s.finding.recommendations if (r.source or r.kind) not in drop and r.kind not in drop]
        s.recommendations = kept
        for r in kept:
            if (r.source or r.kind) not in names:
                names.add(r.source or r.kind)
                recs.append(r)
    f.recommendations = sorted(recs, key=lambda r: r.risk)  # stable: the root cause's first within a risk
    for s in steps[final + 1:]:
        s.recommendations = []  # a follow-on MID that says nothing recommends nothing
    # path: the last MID's stages where it says something, the earlier MIDs' elsewhere
    merged = {p["stage"]: p["status"] for p in first.path}
    for k, s in enumerate(steps[1: final + 1], 1):
        for p in s.finding.path:
            if p["status"] != "unknown":
                merged[p["stage"]] = p["status"]
            elif merged.get(p["stage"]) == "stopped":
                merged[p["stage"]] = "passed"  # the stage handed the message on
            elif merged.get(p["stage"]) == "not_reached" and k == final:
                merged[p["stage"]] = "unknown"
    if final > 0:
        f.path = [{"stage": p["stage"], "status": merged.get(p["stage"], "unknown")} for p in base.path]
    # gaps: what is still missing; a MID handed over needs no final state of its own
    gaps: list[str] = []
    for k, s in enumerate(steps):
        for g in s.finding.gaps:
            said = k < len(handovers) or k > final  # a MID handed over, or one our gap below speaks for
            if said and (g.startswith(_NO_STATE) or g.startswith("The logs end before MID")):
                continue
            if g not in gaps:
                gaps.append(g)
    history = _history(steps, handovers, final)
    last_ts = _times(steps[-1].finding)
    if missing is not None or final < len(steps) - 1:
        f.confidence = "possible"
        nxt = missing.mid if missing is not None else handovers[final].mid
        h = missing if missing is not None else handovers[final]
        after = h.event.ts if h.event is not None and h.event.ts else last_ts
        where = missing.absent if missing is not None else "is in these logs, but not how it ended"
        gaps.insert(0, f"MID {nxt} {where}: add the mail_logs after {after.strftime('%Y-%m-%d %H:%M:%S') if after else 'that time'} "
                       f"(grep \"MID {nxt}\" mail_logs, or Message Tracking for MID {nxt}) to see whether it was delivered.")
    f.gaps = gaps
    c0 = steps[0].case
    starts = [x.start for x in (c0.connection, c0.message) if x is not None and x.start is not None]
    start = min(starts) if starts else None  # when it arrived (not an appliance-wide line near it)
    f.summary = _summary(steps, handovers, final, f, history, start, missing)
    f.extra["chain"] = chain_mids
    f.extra["history"] = history
    links: list[dict[str, Any]] = []
    for s in steps:
        for item in s.finding.extra.get("links", []):
            if item not in links:
                links.append(item)
    if links:
        f.extra["links"] = links
    f.extra["rules"] = sorted({r for s in steps for r in s.finding.extra.get("rules", [])})
    ctx = [c for s in steps for c in s.finding.extra.get("context", [])]
    if ctx:
        f.extra["context"] = list(dict.fromkeys(ctx))
    if "rid" in first.extra:
        f.extra["rid"] = first.extra["rid"]
    f.what_if = next((s.finding.what_if for s in steps if s.finding.what_if and s.finding.what_if.get("applicable")),
                     base.what_if)
    return Chain(f, steps, handovers, final)


def _summary(steps: list[Step], handovers: list[Handover], final: int, f: Finding, history: list[dict[str, Any]],
             start: datetime | None, missing: Handover | None) -> str:
    from diagnose.engine.findings import _VERBS, STAGE_LABELS, finding_subject

    subject = finding_subject(steps[0].case)
    base = steps[final].finding
    text = steps[final].sentence
    story = _history_text(history)
    verb = _VERBS.get(base.outcome, f"ended {base.outcome}")
    where = "" if base.outcome == "delivered" else f" at {STAGE_LABELS.get(base.stage, base.stage)}"
    if final < len(steps) - 1 or missing is not None:
        # the follow-on MID is missing or says nothing: the hand-over is the last thing known
        nxt = missing.mid if missing is not None else handovers[final].mid
        why_not = missing.absent if missing is not None else "shows no final state in these logs"
        head = f"{subject}: " if base.outcome == "unknown" else f"{subject} {verb}{where}: "
        return f"{head}{story}. MID {nxt} {why_not}, so whether the message was delivered is not known."
    late = any(e["outcome"] in ("quarantined", "deferred") for e in history[:-1])
    final_mid = steps[final].case.message.mid if steps[final].case.message is not None else None
    took = _duration(start, _times(base)) if late else ""
    head = f"{subject} {verb}{' late' if late and base.outcome == 'delivered' else ''}{where} as MID {final_mid}"
    if took:
        head += f", {took} after it arrived"
    return f"{head}: {story}. {_sentence(text)}"
