"""Message Tracking stories with the logs and the question: combine (the logs win, disagreements
are shown), select what answers the question, and answer from a last state when no rule could.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from diagnose.model import ConnectionStory, Event, MessageStory

# combining with stories read from logs: the logs win, disagreements are shown

_DISPOSITION_KINDS: dict[str, str] = {
    "bounced": "bounced", "delayed": "deferred", "filter_action": "dropped", "message_aborted": "dropped",
    "quarantined": "quarantined", "isq_quarantined": "quarantined", "rpc_delivery_start": "quarantined",
}


def log_disposition(story: MessageStory) -> tuple[str | None, Event | None]:
    """The final state the logs state outright (the last disposition line), or (None, None).

    A rough reading for comparing with a tracking last state only; the engine decides the finding.
    """
    found: tuple[str | None, Event | None] = (None, None)
    for e in story.events:
        if e.source.startswith("tracking:"):
            continue
        if e.kind == "message_done":
            found = ("quarantined" if "quarantine" in str(e.get("target", "")) else "delivered", e)
        elif e.kind == "filter_action":
            found = ("dropped" if e.get("action") == "dropped" else "bounced", e)
        elif e.kind == "antispam" and not e.get("interim") and "drop" in str(e.get("verdict", "")).lower():
            found = ("dropped", e)
        elif e.kind in _DISPOSITION_KINDS:
            found = (_DISPOSITION_KINDS[e.kind], e)
    return found


_COMPARED: dict[str, tuple[str, ...]] = {
    "mid_from": ("sender",), "mid_ready": ("sender",), "mid_subject": ("subject",), "mid_message_id": ("message_id",),
    "icid_new": ("ip",), "hat_decision": ("sender_group", "action"), "mid_to": ("recipient",),
}


def _norm(v: Any) -> Any:
    return v.strip().strip("<>'\"").lower() if isinstance(v, str) else v


@dataclass
class Combined:
    connections: list[ConnectionStory]
    messages: list[MessageStory]
    disagreements: list[Event]
    tracking_only: list[MessageStory]


def _match(index: dict[int, list[Any]], appliance: str, key: int) -> Any | None:
    cands = index.get(key, [])
    same = [s for s in cands if s.appliance == appliance]
    if same:
        return same[0]
    if len(cands) == 1 and (not appliance or not cands[0].appliance or appliance not in {c.appliance for c in cands}):
        # one appliance in the logs, tracking names it differently (host name vs serial): same MID
        return cands[0]
    return None


def combine(log_connections: Iterable[ConnectionStory], log_messages: Iterable[MessageStory],
            trk_connections: Iterable[ConnectionStory], trk_messages: Iterable[MessageStory]) -> Combined:
    """Merge tracking stories into stories read from logs.

    A message only in the tracking data is kept as it is (explained from tracking alone). For a
    message in both, tracking events of kinds the logs lack are added (they fill gaps, e.g. a log
    that begins after the message started); where both speak and disagree, the log event is kept,
    the tracking one is not used, and a `tracking_disagreement` event records both sides.
    """
    lmsgs = list(log_messages)
    lcons = list(log_connections)
    by_mid: dict[int, list[MessageStory]] = {}
    for s in lmsgs:
        by_mid.setdefault(s.mid, []).append(s)
    by_icid: dict[int, list[ConnectionStory]] = {}
    for c in lcons:
        by_icid.setdefault(c.icid, []).append(c)
    disagreements: list[Event] = []
    tracking_only: list[MessageStory] = []
    out_msgs = list(lmsgs)
    out_cons = list(lcons)

    def disagree(story: MessageStory | ConnectionStory, what: str, log_ev: Event, trk_ev: Event,
                 log_val: Any, trk_val: Any) -> None:
        text = (f"Tracking and logs disagree on {what}: logs say {log_val!r} ({log_ev.source}), tracking says "
                f"{trk_val!r} ({trk_ev.source}); the logs win.")
        d = Event("tracking_disagreement", trk_ev.ts, story.appliance, trk_ev.source, text,
                  {"what": what, "log_value": log_val, "tracking_value": trk_val, "log_source": log_ev.source,
                   "tracking_source": trk_ev.source, "tracking_text": trk_ev.text,
                   **({"mid": story.mid} if isinstance(story, MessageStory) else {"icid": story.icid})})
        story.events.append(d)
        disagreements.append(d)

    def merge_events(target: MessageStory | ConnectionStory, events: list[Event]) -> None:
        log_by_kind: dict[str, list[Event]] = {}
        for e in target.events:
            if not e.source.startswith("tracking:"):
                log_by_kind.setdefault(e.kind, []).append(e)
        for te in events:
            if te.kind == "tracking_last_state":
                continue  # handled below for messages
            logs = log_by_kind.get(te.kind)
            if not logs:
                target.events.append(te)
                continue
            for fname in _COMPARED.get(te.kind, ()):
                tv = te.get(fname)
                if tv is None:
                    continue
                lvals = [le.get(fname) for le in logs if le.get(fname) is not None]
                if lvals and _norm(tv) not in {_norm(v) for v in lvals}:
                    disagree(target, fname, logs[0], te, lvals[0], tv)
        target.events.sort(key=lambda e: (e.ts or datetime.min))

    for tc in trk_connections:
        lc = _match(by_icid, tc.appliance, tc.icid)
        if lc is None:
            out_cons.append(tc)
            continue
        merge_events(lc, tc.events)
        for m in tc.mids:
            if m not in lc.mids:
                lc.mids.append(m)

    for tm in trk_messages:
        lm = _match(by_mid, tm.appliance, tm.mid)
        if lm is None:
            out_msgs.append(tm)
            tracking_only.append(tm)
            continue
        merge_events(lm, tm.events)
        if lm.icid is None and tm.icid is not None:
            lm.icid = tm.icid
        states = [e for e in tm.events if e.kind == "tracking_last_state"]
        outcome, lev = log_disposition(lm)
        for st in states:
            if outcome is None:
                lm.events.append(st)  # the logs do not say how it ended: tracking fills the gap
            elif st.get("outcome") not in (None, "unknown", outcome) and lev is not None:
                disagree(lm, "final state", lev, st, outcome, f"{st.get('state')} ({st.get('outcome')})")
        lm.events.sort(key=lambda e: (e.ts or datetime.min))
    return Combined(out_cons, out_msgs, disagreements, tracking_only)


# ---------------------------------------------------------------------------------------------
# explain integration: select by the question, merge with the logs, weak answers from last states


def _story_matches(msg: MessageStory, conn: ConnectionStory | None, query: Any) -> bool:
    """Does a tracking message story answer the question (same criteria as the log search)?"""
    def q(name: str) -> Any:
        return getattr(query, name, None)

    if q("mid") is not None and msg.mid != q("mid"):
        return False
    if q("sender") and (msg.sender or "").lower() != str(q("sender")).lower():
        return False
    if q("recipient") and str(q("recipient")).lower() not in {str(r).lower() for r in msg.recipients.values()}:
        return False
    if q("ip"):
        ips = {conn.ip} if conn is not None and conn.ip else set()
        ips |= {str(e.get("ip")) for e in msg.events if e.kind == "tracking_note" and e.get("ip")}
        if q("ip") not in ips:
            return False
    if q("message_id"):
        ids = {str(e.get("message_id", "")).strip("<>").lower() for e in msg.all("mid_message_id")}
        if str(q("message_id")).strip("<>").lower() not in ids:
            return False
    if q("subject"):
        subjects = [str(e.get("subject", "")).lower() for e in msg.all("mid_subject")]
        if not any(str(q("subject")).lower() in s for s in subjects):
            return False
    start = msg.start
    if q("since") and start and start < q("since"):
        return False
    return not (q("until") and start and start > q("until"))


def select(connections: Iterable[ConnectionStory], messages: Iterable[MessageStory], query: Any,
           ) -> tuple[list[tuple[MessageStory, ConnectionStory | None]], list[ConnectionStory]]:
    """Tracking stories that match the question: (message, its connection) pairs, and connections
    asked for by --ip that carry no message of their own (rejected-connection records)."""
    cons = list(connections)
    by_key = {(c.appliance, c.icid): c for c in cons}
    pairs = []
    for m in messages:
        conn = by_key.get((m.appliance, m.icid)) if m.icid is not None else None
        if _story_matches(m, conn, query):
            pairs.append((m, conn))
    lone = []
    if getattr(query, "ip", None):
        used = {(c.appliance, c.icid) for _m, c in pairs if c is not None}
        lone = [c for c in cons if c.ip == query.ip and (c.appliance, c.icid) not in used and not c.mids]
    return pairs, lone


@dataclass
class ForQuestion:
    """What `explain --tracking` hands the engine."""

    messages: list[tuple[MessageStory, ConnectionStory | None]]
    connections: list[ConnectionStory]
    problems: list[str]
    disagreements: list[Event]
    searched: str


def for_question(path: str | Path, query: Any,
                 log_messages: Iterable[tuple[MessageStory, ConnectionStory | None]] = (),
                 log_connections: Iterable[ConnectionStory] = ()) -> ForQuestion:
    """Read a tracking export, keep what answers the question, and combine it with the stories the
    log search found (the logs win; disagreements become `tracking_disagreement` events)."""
    from diagnose.collectors.tracking import read_tracking  # the reader imports this module

    data = read_tracking(path)
    pairs, lone = select(data.connections.values(), data.messages.values(), query)
    lpairs = list(log_messages)
    lcons_all = [c for _m, c in lpairs if c is not None] + list(log_connections)
    lcons: list[ConnectionStory] = []
    for c in lcons_all:  # unique by identity
        if not any(c is x for x in lcons):
            lcons.append(c)
    tcons: list[ConnectionStory] = []
    for c in [c for _m, c in pairs if c is not None] + lone:
        if not any(c is x for x in tcons):
            tcons.append(c)
    combined = combine(lcons, [m for m, _c in lpairs], tcons, [m for m, _c in pairs])
    by_key = {(c.appliance, c.icid): c for c in combined.connections}
    out_pairs: list[tuple[MessageStory, ConnectionStory | None]] = []
    for m in combined.messages:
        conn = next((c for lm, c in lpairs if lm is m), None)
        if conn is None and m.icid is not None:
            conn = by_key.get((m.appliance, m.icid))
            if conn is None:  # a log message whose connection only the tracking export names
                conn = next((c for c in combined.connections if c.icid == m.icid), None)
        out_pairs.append((m, conn))
    used = {id(c) for _m, c in out_pairs if c is not None}
    lone_out = [c for c in list(log_connections) + lone if id(c) not in used]
    searched = (f"read Message Tracking export {path} ({data.format.upper()}, {data.records} record(s)): "
                f"{len(pairs)} message(s) match the question")
    return ForQuestion(out_pairs, lone_out, data.problems, combined.disagreements, searched)


_REASONS = {"delivered": "delivered", "bounced": "undefined", "deferred": "undefined", "rejected": "rejected",
            "quarantined": "onhold"}
_STAGE_REASONS = {"antivirus": "virusdetected", "amp": "virusdetected", "antispam": "spamdetected",
                  "graymail": "spamdetected", "safelist_blocklist": "spamdetected", "content_filter": "filtered",
                  "message_filter": "filtered", "outbreak_filter": "filtered", "dlp": "policyviolation",
                  "hat": "blocked", "rat": "rejected", "sdr": "badreputation", "authentication": "authfailure"}
_VERB = {"delivered": "was delivered", "rejected": "was rejected", "dropped": "was dropped", "bounced": "was bounced",
         "quarantined": "was quarantined", "deferred": "is deferred (still queued)"}


def apply_last_states(answer: Any, engine: Any = None) -> int:
    """Where no rule found a final state but Message Tracking's last state says one, answer from it.

    The finding takes the state's outcome and stage at the confidence the state supports (`likely`,
    or weaker when the link to the question is weaker), cites the tracking record as evidence, and
    says what is missing to be certain. The causal graph gains evidence -> TRACKING-LAST-STATE ->
    conclusion. The finding gets the recommendations a log-based answer of that stage and cause
    gets, from `engine`'s rules and remedies (the default engine when None). Returns how many
    findings changed.
    """
    from diagnose.model import STAGES, Evidence  # local: keep the collector import-light

    order = ("certain", "likely", "possible")
    changed = 0
    records = list(getattr(answer, "records", []) or [])
    for i, f in enumerate(getattr(answer, "findings", []) or []):
        if f.cause != "not_determined" or i >= len(records):
            continue
        states = [fact for fact in records[i].facts.values()
                  if getattr(fact, "type", None) == "tracking_last_state" and getattr(fact, "event", None) is not None
                  and fact.event.get("outcome") not in (None, "unknown")]
        if not states:
            continue
        ev = states[-1].event
        outcome, stage = str(ev.get("outcome")), str(ev.get("stage") or "unknown")
        stage = stage if stage in STAGES else "unknown"
        # a status column is never `certain`; a state we could not map fully stays `possible`
        conf = max(str(ev.get("confidence") or "likely"), "likely", key=lambda c: order.index(c) if c in order else 2)
        # ... but a narrative event that states the same end (the next hop's 2xx reply, the quarantine
        # hand-over, the drop) is the appliance's own record of it, as a log line would be
        support = [fact.event for fact in records[i].facts.values()
                   if getattr(fact, "event", None) is not None and _supports(fact.event, outcome)]
        if support and stage != "unknown":
            conf = "certain"
        f.outcome, f.stage, f.cause, f.confidence = outcome, stage, "tracking_last_state", conf
        f.reason = _REASONS.get(outcome, "undefined") if outcome != "dropped" else _STAGE_REASONS.get(stage, "filtered")
        if outcome in ("rejected", "quarantined") and stage in _STAGE_REASONS:
            f.reason = _STAGE_REASONS[stage] if outcome == "rejected" else "onhold"
        where = "" if outcome == "delivered" or stage == "unknown" else f" at {stage.replace('_', ' ')}"
        alts = ev.get("stage_alternatives")
        alt_text = f" (the state names several engines: {', '.join(alts)})" if alts else ""
        subject = f.summary.split(":", 1)[0] if ":" in f.summary else f"MID {f.mid}"
        if conf == "certain":
            f.summary = (f"{subject} {_VERB.get(outcome, 'ended ' + outcome)}{where}: Message Tracking records "
                         f"\u201c{support[-1].text}\u201d and the last state \u201c{ev.get('state')}\u201d.")
        else:
            f.summary = (f"{subject} {_VERB.get(outcome, 'ended ' + outcome)}{where}, according to Message "
                         f"Tracking's last state \u201c{ev.get('state')}\u201d{alt_text}. No log line or tracking "
                         f"event states it, so this is {conf}, not certain.")
        f.why.append(f"TRACKING-LAST-STATE: Message Tracking reports the last state \u201c{ev.get('state')}\u201d "
                     f"({ev.source}); it maps to outcome {outcome}, stage {stage}.")
        f.gaps = [g for g in f.gaps if not g.startswith("No rule recognised a final state")]
        mid = f"MID {f.mid}" if f.mid is not None else "the message"
        if conf != "certain":
            f.gaps.append(f"Only the tracking last state says how {mid} ended; the appliance's mail_logs lines for "
                          f"it (grep \"MID {f.mid if f.mid is not None else '<n>'}\" mail_logs, or findevent -m) "
                          "would show which rule or engine decided, with certainty.")
        for e2 in [*support, ev]:
            if not any(e.source == e2.source and e.text == e2.text for e in f.evidence):
                f.evidence.append(Evidence(e2.source, e2.text, e2.ts.isoformat() if e2.ts else None))
        if f.evidence and all(e.source.startswith("tracking:") for e in f.evidence):
            f.gaps = [g for g in f.gaps if not g.startswith("The logs begin after")]
            f.gaps.append("This answer comes from the Message Tracking export alone; the connection and the "
                          "engines' verdicts are only as complete as the export.")
        f.path = _path_with_stop(f.path, stage, outcome)
        _recommend(answer, engine, records[i], f, ev, outcome, stage)
        if support:
            f.why[-1] += f" The appliance's own tracking event states the same end: \u201c{support[-1].text}\u201d."
        _graph_add(getattr(answer, "graph", None), i, [ev, *support], f)
        changed += 1
    return changed


# The cause a log-based answer of the same stage and outcome gives, when the state's wording is all we
# know (the most general cause of that stage's stop rules): its remedy rules then choose the remedies.
# A state that does not pin the cause down (rejected by an unnamed check, a bounce without its reply)
# is answered with the general cause of that end, never a specific one the data does not show.
_CAUSES: dict[tuple[str, str], str] = {
    ("antivirus", "dropped"): "virus_detected", ("antivirus", "quarantined"): "virus_detected",
    ("amp", "dropped"): "amp_malware", ("amp", "quarantined"): "file_analysis_pending",
    ("antispam", "dropped"): "spam_detected", ("antispam", "quarantined"): "spam_quarantined",
    ("graymail", "dropped"): "graymail_dropped", ("graymail", "quarantined"): "graymail_quarantined",
    ("outbreak_filter", "quarantined"): "outbreak_quarantine",
    ("content_filter", "dropped"): "content_filter_drop", ("content_filter", "bounced"): "content_filter_bounce",
    ("content_filter", "quarantined"): "content_filter_quarantine",
    ("message_filter", "dropped"): "message_filter_drop", ("message_filter", "bounced"): "message_filter_bounce",
    ("message_filter", "quarantined"): "message_filter_quarantine",
    ("dlp", "dropped"): "dlp_drop", ("dlp", "quarantined"): "dlp_quarantine",
    ("safelist_blocklist", "dropped"): "sender_blocklisted", ("safelist_blocklist", "quarantined"): "sender_blocklisted",
    ("authentication", "quarantined"): "dmarc_quarantine", ("sdr", "rejected"): "sdr_reject",
    ("rat", "rejected"): "recipient_not_accepted",
    ("delivery", "delivered"): "delivered_downstream", ("delivery", "bounced"): "remote_rejected",
    ("delivery", "deferred"): "still_queued", ("delivery", "dropped"): "deleted_from_queue",
}

# "Quarantined by Multiple Engines": held in several quarantines, which ones the state does not say
_MULTI_QUARANTINE_REMEDIES = ("release-policy-quarantine", "release-spam-quarantine")
_MULTI_NOTE = ("The last state names several engines without saying which quarantines hold the message: find "
               "them first (Monitor > Policy, Virus and Outbreak Quarantines, search by MID). A message held in "
               "several quarantines is delivered only once it is released from every one of them; never "
               "release it from the Virus quarantine without checking the file out of band.")


def _recommend(answer: Any, engine: Any, record: Any, f: Any, ev: Event, outcome: str, stage: str) -> None:
    """Give an answer from a last state the remedies a log-based answer of that stage and cause gets.

    A `stop` fact carrying the state's stage, outcome and cause joins the case's own facts and the
    rulebase runs again, so the same remedy rules choose (their `absent` tests still see the case's
    lines: a release already logged is not recommended twice). The confidence stays the finding's.
    """
    from diagnose.engine.explainer import default_engine
    from diagnose.engine.facts import Case, Fact
    from diagnose.engine.findings import _case_names, fill_commands, fill_placeholders

    multi = "multiple engines" in str(ev.get("state") or "").lower()
    cause = _CAUSES.get((stage, outcome))
    if cause is None and not multi:
        return
    engine = engine or default_engine()
    catalogue = engine.remedies
    names: dict[str, Any] = {}
    if multi:
        recs = [r.recommendation() for r in sorted(
            (catalogue.by_id[x] for x in _MULTI_QUARANTINE_REMEDIES if x in catalogue.by_id),
            key=lambda r: (r.risk, r.order))] if outcome == "quarantined" else []
        for r in recs:
            r.when_not = f"{r.when_not} {_MULTI_NOTE}".strip()
        if outcome == "quarantined":
            f.gaps.append("Which engines quarantined it is not in the tracking state; the mail_logs lines "
                          f"\"MID {f.mid if f.mid is not None else '<n>'} quarantined to ...\" name each quarantine.")
    else:
        assert cause is not None
        base = [fact for fact in record.facts.values() if not fact.derived]
        stop = Fact(id=max((x.id for x in base), default=0) + 1, type="stop", event=ev, fields={
            "stage": stage, "outcome": outcome, "cause": cause, "reason": f.reason, "confidence": f.confidence,
            "priority": 0})
        rec = engine.compiled.run([*base, stop])
        refs = [(r.get("ref"), r.get("kind")) for r in rec.derived("remedy")]
        recs = catalogue.select(refs, [cause])
        f.extra["likely_cause"] = cause
        f.why.append(f"The state's stage and outcome are answered with the cause {cause} (the general cause a "
                     f"log-based answer of {stage.replace('_', ' ')} / {outcome} gives); its recommendations "
                     "follow from it, at the same confidence.")
        names = _case_names(Case(kind="message", query=getattr(answer, "query", None), facts=base))
    values = {"recipient": f.recipient, "sender": f.sender, "ip": f.sender_ip, "sender_ip": f.sender_ip,
              "mid": f.mid, "icid": f.icid, "time": f.time,
              "domain": f.sender.rpartition("@")[2] or None if isinstance(f.sender, str) else None,
              **names}
    for r in recs:
        r.sender_text = fill_placeholders(r.sender_text, values)
        r.cli = fill_commands(r.cli, values, r.kind)
        r.gui_path = fill_commands(r.gui_path, values, r.kind)
    have = {r.source for r in f.recommendations}
    f.recommendations += [r for r in recs if r.source not in have]


_SUPPORT_KINDS = {"delivered": ("response", "message_done"), "quarantined": ("isq_quarantined", "quarantined"),
                  "dropped": ("filter_action", "message_aborted"), "bounced": ("bounced",), "deferred": ("delayed",)}


def _supports(e: Event, outcome: str) -> bool:
    if e.kind not in _SUPPORT_KINDS.get(outcome, ()):
        return False
    if e.kind == "response":
        return str(e.get("dsn") or "").startswith("2")
    if e.kind == "filter_action":
        return e.get("action") == ("dropped" if outcome == "dropped" else "bounced")
    return True


def _path_with_stop(path: list[dict[str, str]], stage: str, outcome: str) -> list[dict[str, str]]:
    if stage == "unknown" or not path:
        return path
    out = []
    seen = False
    for p in path:
        s = p.get("stage")
        if s == stage:
            out.append({"stage": s, "status": "passed" if outcome == "delivered" else "stopped"})
            seen = True
        elif seen and outcome != "delivered":
            out.append({"stage": s, "status": "not_reached"})
        else:
            out.append(dict(p))
    return out


def _graph_add(graph: Any, case: int, events: list[Event], f: Any) -> None:
    if not isinstance(graph, dict):
        return
    nodes = graph.setdefault("nodes", [])
    links = graph.setdefault("links", [])
    r_id, s_id = f"{case}:rule:TRACKING-LAST-STATE", f"{case}:fact:tracking-stop"
    nodes += [
        {"id": r_id, "kind": "rule", "label": "TRACKING-LAST-STATE", "case": case},
        {"id": s_id, "kind": "fact", "type": "stop", "case": case,
         "label": f"stop: stage={f.stage}, outcome={f.outcome}, confidence={f.confidence}"},
    ]
    links.append({"source": r_id, "target": s_id, "relation": "derives"})
    for n, ev in enumerate(events):
        e_id = f"{case}:evidence:tracking:{n}"
        nodes.append({"id": e_id, "kind": "evidence", "type": ev.kind, "label": ev.text, "source": ev.source,
                      "case": case})
        links.append({"source": e_id, "target": r_id, "relation": "matched", "alias": "ls" if n == 0 else "support"})
