"""Derived facts -> Finding objects: final disposition, path, evidence, why, recommendations, gaps.

Final disposition (agreed with the rulebase, rules/README.md "Priority"): the `stop` with the
highest priority wins, ties go to the stop whose evidence is latest, then to the later
derivation. So quarantined (30) -> released (50) -> delivered (80) reads "delivered".
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from diagnose.engine.facts import Case, Fact
from diagnose.engine.justify import Record, explain_text
from diagnose.engine.remedies import RemedyCatalogue
from diagnose.engine.rulebase import Rule
from diagnose.model import CONFIDENCES, STAGES, Evidence, Finding

STAGE_LABELS: dict[str, str] = {
    "hat": "the Host Access Table (HAT) / mail flow policy",
    "sender_verification": "sender verification",
    "rat": "the Recipient Access Table (RAT)",
    "ldap_accept": "LDAP accept",
    "call_ahead": "SMTP call-ahead",
    "authentication": "SPF/DKIM/DMARC authentication",
    "sdr": "Sender Domain Reputation",
    "message_filter": "a message filter",
    "safelist_blocklist": "the end-user safelist/blocklist",
    "antispam": "anti-spam",
    "graymail": "graymail detection",
    "antivirus": "anti-virus",
    "amp": "Advanced Malware Protection (AMP)",
    "content_filter": "a content filter",
    "outbreak_filter": "Outbreak Filters",
    "dlp": "Data Loss Prevention",
    "delivery": "delivery",
    "unknown": "an unknown stage",
}
PIPELINE = tuple(s for s in STAGES if s != "unknown")
# Lines that identify the case: shown as evidence even when no rule needed them.
IDENTITY_KINDS = ("icid_new", "mid_start", "mid_from", "mid_to", "mid_message_id", "mid_subject")


def _conf_rank(c: str) -> int:
    return CONFIDENCES.index(c) if c in CONFIDENCES else len(CONFIDENCES)


def weakest(*confidences: str) -> str:
    known = [c for c in confidences if c in CONFIDENCES]
    return max(known, key=_conf_rank) if known else "possible"


def _latest_ts(record: Record, fact: Fact) -> datetime:
    times = [f.ts for f in record.support([fact.id]) if f.ts is not None]
    return max(times) if times else datetime.min


def final_stop(record: Record) -> Fact | None:
    stops = record.derived("stop")
    if not stops:
        return None
    order = {f.id: i for i, f in enumerate(stops)}
    return max(stops, key=lambda f: (_int(f.get("priority")), _latest_ts(record, f), order[f.id]))


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def build_path(stop: Fact | None, record: Record) -> list[dict[str, str]]:
    """Each pipeline stage: passed / stopped / not_reached / unknown (no evidence -> unknown)."""
    status = dict.fromkeys(PIPELINE, "unknown")
    for f in record.derived("passed"):
        if f.get("stage") in status:
            status[f.get("stage")] = "passed"
    if stop is not None and stop.get("stage") in status:
        sstage = stop.get("stage")
        idx = PIPELINE.index(sstage)
        if stop.get("outcome") == "delivered":
            status[sstage] = "passed"
        else:
            status[sstage] = "stopped"
            for s in PIPELINE[idx + 1:]:
                if status[s] != "passed":  # a verdict logged after the stop (quarantine acts at the end) stands
                    status[s] = "not_reached"
        # an earlier stop that a later state superseded (quarantine then release) was passed
        for other in record.derived("stop"):
            ostage = other.get("stage")
            if other.id != stop.id and ostage in status and PIPELINE.index(ostage) < idx:
                status[ostage] = "passed"
    return [{"stage": s, "status": status[s]} for s in PIPELINE]


def _sort_key(f: Fact) -> tuple[bool, datetime, int]:
    """Log lines in time order first; undated facts (configuration, probes made now) after them."""
    return (f.ts is None or f.type.startswith(("config_", "probe_")), f.ts or datetime.min, f.id)


def collect_evidence(case: Case, record: Record) -> list[Evidence]:
    """Lines behind every conclusion, plus the lines that identify the case; deduplicated, in time order."""
    supporting = record.support([f.id for f in record.derived()])
    link_ids = {id(e) for e in case.link_events}
    identity = [f for f in case.facts if f.event is not None and (f.type in IDENTITY_KINDS or id(f.event) in link_ids)]
    out: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for f in sorted({f.id: f for f in supporting + identity}.values(), key=_sort_key):
        ev = f.evidence()
        if ev is None or (ev.source, ev.text) in seen:
            continue
        seen.add((ev.source, ev.text))
        out.append(ev)
    if not out:  # nothing concluded: the lines that were looked at are the evidence of "unknown"
        tail = [f.evidence() for f in case.facts if f.event is not None][-3:]
        out = [e for e in tail if e is not None]
    return out


def build_why(record: Record, rules: dict[str, Rule]) -> list[str]:
    lines: list[str] = []
    for j in record.justifications:
        rule = rules.get(j.rule_id)
        if rule is None or rule.then_fact == "remedy":  # remedies speak in the recommendations
            continue
        text = f"{rule.id}: {explain_text(rule, j, record)}"
        if text not in lines:
            lines.append(text)
    return lines


def finding_subject(case: Case) -> str:
    """Who and what the finding is about: "MID 1 from a to b (connection ICID 2 from IP)"."""
    msg, conn = case.message, case.connection
    parts = []
    if msg is not None:
        parts.append(f"MID {msg.mid}")
        if case.sender:
            parts.append(f"from {case.sender}")
        if case.recipient:
            parts.append(f"to {case.recipient}")
        if conn is not None and conn.ip:
            parts.append(f"(connection ICID {conn.icid} from {conn.ip})")
    elif conn is not None:
        parts.append(f"The connection ICID {conn.icid}" + (f" from {conn.ip}" if conn.ip else ""))
    return " ".join(parts) or "The message"


_VERBS = {
    "delivered": "was delivered", "rejected": "was rejected", "dropped": "was dropped",
    "bounced": "was bounced", "quarantined": "was quarantined", "deferred": "is deferred",
}


def build_finding(case: Case, record: Record, rules: dict[str, Rule], catalogue: RemedyCatalogue) -> Finding:
    stop = final_stop(record)
    why = build_why(record, rules)
    gaps = [str(f.get("missing")) for f in record.derived("gap") if f.get("missing")]
    context = [str(f.get("detail") or f.get("topic")) for f in record.derived("context") if f.get("detail") or f.get("topic")]
    msg, conn = case.message, case.connection
    if msg is not None and msg.partial_start:
        gaps.append(f"The logs begin after MID {msg.mid} started: its connection and HAT decision are not in "
                    "these files; add the previous (rotated) mail_logs file to see them.")
    if msg is not None and msg.partial_end and (stop is None or stop.get("outcome") != "delivered"):
        gaps.append(f"The logs end before MID {msg.mid} finished; a later mail_logs file may show its fate.")
    if record.truncated:
        gaps.append("The rulebase derived too many facts for this case (a rule loop?): the answer may be incomplete.")
    if stop is not None:
        outcome, stage = str(stop.get("outcome")), str(stop.get("stage"))
        cause, reason = str(stop.get("cause")), str(stop.get("reason"))
        confidence = weakest(str(stop.get("confidence")), case.link_confidence)
        j = record.justifications_of(stop.id)[0]
        stop_text = explain_text(rules[j.rule_id], j, record) if j.rule_id in rules else ""
        summary = _stop_summary(case, outcome, stage, _first_sentence(stop_text))
    else:
        outcome, stage, cause, reason = "unknown", "unknown", "not_determined", "undefined"
        confidence = weakest(case.link_confidence, "possible")
        last = next((f for f in reversed(case.facts) if f.event is not None), None)
        tail = f" The last line logged about it: {last.event.text!r}." if last is not None and last.event else ""
        summary = f"{finding_subject(case)}: the logs do not say what happened to it.{tail}"
        gaps.append("No rule recognised a final state (delivered, rejected, dropped, bounced, quarantined, "
                    "deferred) in these lines; check Message Tracking for this MID or a later log file.")
    if case.link_reason:
        why.insert(0, case.link_reason)
    causes = [cause] + [str(f.get("cause")) for f in record.derived("cause") if f.get("cause")]
    refs = [(f.get("ref"), f.get("kind")) for f in record.derived("remedy")]
    recommendations = catalogue.select(refs, causes) if stop is not None or refs else []
    values = {"time": _when_text(record, stop, case), "recipient": case.recipient,
              "sender": case.sender or _logged_sender(case), "ip": case.ip, "sender_ip": case.ip,
              "mid": msg.mid if msg is not None else None, "icid": conn.icid if conn is not None else None,
              "domain": case.sender.rpartition("@")[2] or None if isinstance(case.sender, str) else None,
              **_case_names(case)}
    for r in recommendations:
        r.sender_text = fill_placeholders(r.sender_text, values)
        r.cli = fill_commands(r.cli, values, r.kind)
        r.gui_path = fill_commands(r.gui_path, values, r.kind)
    evidence = collect_evidence(case, record)
    first_ts = next((f.ts for f in case.facts if f.ts is not None), None)
    stop_ts = _latest_ts(record, stop) if stop is not None else None
    when = stop_ts if stop_ts and stop_ts != datetime.min else first_ts
    finding = Finding(
        outcome=outcome, stage=stage, cause=cause, reason=reason, confidence=confidence, summary=summary,
        sender=case.sender, recipient=case.recipient, sender_ip=case.ip,
        mid=msg.mid if msg is not None else None,
        icid=(conn.icid if conn is not None else (msg.icid if msg is not None else None)),
        time=when.isoformat() if when else None,
        appliance=(msg.appliance if msg is not None else conn.appliance if conn is not None else None) or None,
        evidence=evidence, recommendations=recommendations, path=build_path(stop, record), why=why, gaps=gaps,
    )
    if context:
        finding.extra["context"] = context
    if msg is not None and msg.links:
        finding.extra["links"] = [{"relation": rel, "mid": other} for rel, other in msg.links]
    if case.rid is not None:
        finding.extra["rid"] = case.rid
    finding.extra["rules"] = sorted({j.rule_id for j in record.justifications})
    return finding


_OPEN, _CLOSE = "([{", ")]}"
_BEFORE_END = re.compile(r"[a-z0-9)\]'\"”]")
_AFTER_END = re.compile(r"\s+[A-Z\"(“]")
# Capitalised words that stay capitalised at the start of the verdict (product and vendor names)
PROPER_NOUNS = frozenset((
    "Cisco", "Talos", "AsyncOS", "IronPort", "SenderBase", "Sophos", "McAfee", "Microsoft", "Google", "Gmail",
    "Outlook", "Exchange", "Office", "Spamhaus", "Cloudmark", "Symantec", "Trend",
))

# words that start a sentence and are never names ("The Outbreak Filters put" -> "the Outbreak Filters put")
COMMON_STARTS = frozenset(("The", "A", "An", "This", "That", "These", "Those", "Its", "It", "Each", "Every", "No",
                           "One", "Some", "Both", "Either", "Neither", "Another", "Our", "Your", "Their"))


def _sentence_end(text: str) -> int:
    """Index just past the first sentence: never inside a quoted reply, parentheses or brackets."""
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == "“":
            quoted = True
        elif ch == "”":
            quoted = False
        elif quoted:
            continue
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch in ".!?" and depth == 0 and i > 0 and _BEFORE_END.match(text[i - 1]) \
                and _AFTER_END.match(text, i + 1):
            return i + 1
    return len(text)


def _first_sentence(text: str) -> str:
    """The verdict is one sentence a helpdesk can paste; the rest of the rule's text goes to `why`.

    It follows "was rejected at ...:", so a common first word is lower-cased ("The appliance" ->
    "the appliance"); names keep their capitals ("Outbreak Filters", "Destination Controls", "CASE").
    """
    text = (text or "").strip()
    first = text[:_sentence_end(text)]
    m = re.match(r"([A-Z][a-z]+)(?:-[a-z]+)?(\s+(\S))?", first)
    if m and (m.group(1) in COMMON_STARTS
              or (m.group(1) not in PROPER_NOUNS and not (m.group(3) or "").isupper())):
        first = first[0].lower() + first[1:]
    return first


def stop_sentence(record: Record, rules: dict[str, Rule]) -> str:
    """The first sentence of the final stop's explanation ("" when nothing stopped)."""
    stop = final_stop(record)
    if stop is None:
        return ""
    j = record.justifications_of(stop.id)[0]
    return _first_sentence(explain_text(rules[j.rule_id], j, record)) if j.rule_id in rules else ""


# "the appliance refused the connection from IP because ...": the subject already says it
_RESTATED = re.compile(r"the appliance (?:refused|rejected) (?:the connection from (?P<ip>\S+?)|the message on "
                       r"connection (?P<icid>\d+)|recipient <?(?P<rcpt>[^\s<>]+?)>? (?P<at>at RCPT TO))"
                       r"(?P<sep>\s+because\s+|:\s+|\s+as\s+)(?P<rest>.+)", re.I | re.S)


def _stop_summary(case: Case, outcome: str, stage: str, first: str) -> str:
    """"<subject> <verb> at <stage>: <why>", saying the refusal once."""
    verb = _VERBS.get(outcome, f"ended {outcome}")
    where = "" if outcome == "delivered" else f" at {STAGE_LABELS.get(stage, stage)}"
    conn = case.connection
    m = _RESTATED.match(first)
    if m and ((conn is not None and ((m.group("ip") and m.group("ip") == conn.ip)
                                     or (m.group("icid") and m.group("icid") == str(conn.icid))))
              or (m.group("rcpt") and isinstance(case.recipient, str)
                  and m.group("rcpt").lower() == case.recipient.lower())):
        sep, rest = m.group("sep").strip().lower(), m.group("rest")
        if m.group("at"):
            where += " at RCPT TO"
        if sep == "because":
            return f"{finding_subject(case)} {verb}{where} because {rest}"
        if sep == "as":
            return f"{finding_subject(case)} {verb}{where} as {rest}"
        if rest.startswith(('"', "“")):
            return f"{finding_subject(case)} {verb}{where} with the reply {rest}"
        return f"{finding_subject(case)} {verb}{where}: {rest}"
    return f"{finding_subject(case)} {verb}{where}: {first}"


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill_placeholders(text: str, values: dict[str, Any]) -> str:
    """`{time}`, `{recipient}`... in a catalogue text, from the finding; unknown values stay readable."""
    if not text or "{" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if values.get(m.group(1)) not in (None, "")
                            else f"[{m.group(1)}]", text)


def _logged_sender(case: Case) -> str | None:
    """A connection case has no message: the envelope sender its lines name (MAIL FROM refused...)."""
    for f in case.facts:
        v = f.fields.get("sender") if f.event is not None else None
        if isinstance(v, str) and "@" in v:
            return v
    return None


_FILTER_REASON = re.compile(r"(?:content|message) filter:\s*([^\s,)]+)")


def _case_names(case: Case) -> dict[str, Any]:
    """Configuration names the case's facts give for CLI placeholders: the listener, sender group, mail
    flow policy (configuration only: the HAT line names the group, not the policy), mail policy, filter
    and next-hop host. The log line wins over the configuration; the first value seen is kept."""
    out: dict[str, Any] = {}

    def put(key: str, v: Any) -> None:
        if key not in out and isinstance(v, str) and v and v != "None":
            out[key] = v
    for f in case.facts:
        if f.derived:
            continue
        t, fl = f.type, f.fields
        if t in ("hat_decision", "dhap"):
            put("sender_group", fl.get("sender_group"))
        if t in ("dhap", "system_limit"):
            put("listener", fl.get("listener"))
        if t == "policy_match":
            put("mail_policy", fl.get("policy"))
        if t in ("filter_action", "rewritten", "generated"):
            put("filter", fl.get("filter"))
        if t == "quarantined" and (m := _FILTER_REASON.match(str(fl.get("reason") or ""))):
            put("filter", m.group(1))
        if t in ("dcid_new", "connection_error", "dcid_tls_required_failed"):
            put("host", fl.get("ip"))
    for f in case.facts:  # configuration facts fill what the log lines did not name
        if f.type == "config_hat_match" and f.fields.get("certain") is not False:
            put("sender_group", f.fields.get("sender_group"))
            put("flow_policy", f.fields.get("policy") if f.fields.get("policy") != "unknown" else None)
            put("listener", f.fields.get("listener"))
        elif f.type in ("config_listener", "config_policy", "config_rat_match"):
            put("listener", f.fields.get("listener"))
    return out


_ANGLE = re.compile(r"<([^<>\n]{1,40})>")
_SAFE = re.compile(r"[A-Za-z0-9._%+@:=-]{1,254}")  # pasted into a shell: no quotes, spaces or metacharacters
_SAFE_NAME = re.compile(r"\$?[A-Za-z0-9._-]{1,100}")  # an AsyncOS name ($ACCEPTED, SUSPECTLIST, my_filter)
_NAMES = frozenset(("listener", "sender group", "sender_group", "group", "policy", "filter", "host"))
# remedies whose <domain> / <address> is the recipient's (delivery, RAT, LDAP accept); else the sender's
RECIPIENT_SIDE = frozenset(("retry_delivery", "fix_destination", "smtp_route", "rat_accept", "ldap_fix"))


def fill_commands(text: str, values: dict[str, Any], kind: str) -> str:
    """`<ip>`, `<sender>`, `<domain>`, `<recipient>`, `<mid>`... in a GUI path or CLI text, from the case.

    A value the case does not know, or that is not a plain address/IP/id (log text is untrusted and
    these lines are pasted into a shell), leaves the placeholder visible.
    """
    if not text or "<" not in text:
        return text
    def dom(addr: Any) -> str | None:
        return addr.rpartition("@")[2] or None if isinstance(addr, str) and "@" in addr else None
    rdomain, sdomain = dom(values.get("recipient")), dom(values.get("sender"))
    rside = kind in RECIPIENT_SIDE
    known = {
        "ip": values.get("ip"), "sender ip or host name": values.get("ip"), "sender": values.get("sender"),
        "recipient": values.get("recipient"), "mid": values.get("mid"), "icid": values.get("icid"),
        "domain": rdomain if rside else sdomain, "domain | all": rdomain if rside else None,
        "domain or .domain": rdomain, "address": values.get("recipient") if rside else values.get("sender"),
        "address|@domain": values.get("sender"), "@domain or address": values.get("sender"),
    }

    known.update({"listener": values.get("listener"), "sender group": values.get("sender_group"),
                  "sender_group": values.get("sender_group"), "host": values.get("host"),
                  "filter": values.get("filter")})

    def sub(m: Any, policy: Any) -> str:
        key = m.group(1).strip().lower()
        v = policy if key == "policy" else known.get(key)
        if not isinstance(v, str | int) or isinstance(v, bool) or not (
                _SAFE.fullmatch(str(v)) or key in _NAMES and _SAFE_NAME.fullmatch(str(v))):
            return m.group(0)
        return str(v)

    # `<policy>` is the mail flow policy in `hostaccess` commands and the mail policy in `policyconfig`
    # ones: decided per command (segments between " ; ")
    out = []
    for seg in text.split(" ; "):
        policy = values.get("mail_policy") if "policyconfig" in seg else \
            values.get("flow_policy") if "hostaccess" in seg else None
        out.append(_ANGLE.sub(lambda m, p=policy: sub(m, p), seg))
    return " ; ".join(out)


def _when_text(record: Record, stop: Fact | None, case: Case) -> str | None:
    ts = _latest_ts(record, stop) if stop is not None else None
    if ts is None or ts == datetime.min:
        ts = next((f.ts for f in case.facts if f.ts is not None), None)
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else None


def not_found_finding(case: Case, searched: list[str], hints: list[str] | None = None) -> Finding:
    """Nothing in the logs matches: outcome and stage unknown, saying what was searched."""
    q = case.query
    what = q.describe()
    summary = f"Nothing in the logs matches {what}: the tool cannot say what happened to this mail."
    gaps = list(hints or [])
    if q.sender and not q.ip:
        gaps.append("Ask the sender for the sending IP address and run again with --ip: a connection the "
                    "appliance rejected names only the IP, never the sender.")
    gaps += [
        "Check the bounce (NDR) the sender received: its reply text names the stage (try --ndr).",
        "Check the time window (--since/--until are appliance-local time, as logged) and that the logs cover it.",
        "Rejected connections are only in mail_logs/Message Tracking if rejected-connection tracking is enabled "
        "(Security Services > Message Tracking > Rejected Connection Handling).",
        "Check the other appliances of the cluster: the message may have reached another one.",
    ]
    evidence = [Evidence(source="search", text=s) for s in searched] or [
        Evidence(source="search", text=f"searched for {what}: no message or connection matched")]
    return Finding(
        outcome="unknown", stage="unknown", cause="not_found", reason="undefined", confidence="possible",
        summary=summary, sender=q.sender, recipient=q.recipient, sender_ip=q.ip, mid=q.mid,
        evidence=evidence, path=[{"stage": s, "status": "unknown"} for s in PIPELINE],
        why=[f"Searched: {s}" for s in searched], gaps=gaps,
    )


_OUTCOME_RANK = {"rejected": 0, "dropped": 0, "bounced": 0, "quarantined": 1, "deferred": 2, "unknown": 3, "delivered": 4}


def rank(findings: list[Finding]) -> list[Finding]:
    """Most relevant first: problems before deliveries, surer before less sure, latest first."""
    def key(f: Finding) -> tuple[int, int, float]:
        try:
            ts = -datetime.fromisoformat(f.time).timestamp() if f.time else 0.0
        except (ValueError, OverflowError, OSError):
            ts = 0.0
        return (_OUTCOME_RANK.get(f.outcome, 3), _conf_rank(f.confidence), ts)
    return sorted(findings, key=key)


def ndr_finding(query: Any, text: str, c: Any, catalogue: RemedyCatalogue) -> Finding:
    """A finding from the bounce text alone (diagnose.classify.Classification `c`)."""
    stage = c.stage if c.stage in STAGES else "unknown"
    if c.reason == "delivered":
        outcome = "delivered"
    elif c.temporary:
        outcome = "deferred"
    elif c.esa and stage not in ("delivery", "unknown"):
        outcome = "rejected"  # an ESA refused it in the SMTP conversation
    else:
        outcome = "bounced"
    confidence = "likely" if c.esa and stage != "unknown" else "possible"
    where = f" at {STAGE_LABELS.get(stage, stage)}" if stage != "unknown" else ""
    who = "an ESA" if c.esa else "the receiving server"
    summary = (f"The bounce text reads as {outcome}{where} ({c.reason}): {who} answered "
               f"{(c.code or '') + ' ' if c.code else ''}{(c.status or '') + ' ' if c.status else ''}"
               f"\"{_short(c.remote_text or text)}\". No log line confirms it; check mail_logs for the attempt.")
    evidence = [Evidence(source="ndr", text=_short(text, 1000))]
    if c.evidence and c.evidence not in text[:1000]:
        evidence.append(Evidence(source=f"ndr:{c.rule}", text=_short(c.evidence)))
    cause = f"ndr_{c.reason}"
    return Finding(
        outcome=outcome, stage=stage, cause=cause, reason=c.reason, confidence=confidence, summary=summary,
        sender=getattr(query, "sender", None), recipient=getattr(query, "recipient", None),
        sender_ip=getattr(query, "ip", None), evidence=evidence,
        recommendations=catalogue.select([], [cause, c.reason]),
        path=[{"stage": s, "status": ("stopped" if s == stage and outcome != "delivered" else "unknown")}
              for s in PIPELINE],
        why=[f"{c.rule}: the bounce text matched {_short(c.evidence)!r}" + (f" inside {c.wrapper!r}" if c.wrapper else "")],
        gaps=["The bounce text alone does not show which appliance or rule refused the message: run explain with "
              "--logs (and --ip of the sending server) to confirm it from the logs."],
        extra={"source": "ndr", "hard": c.hard, "status": c.status, "code": c.code},
    )


def _short(s: str, n: int = 300) -> str:
    s = " ".join(str(s).split())
    s = "".join(ch if ch.isprintable() else " " for ch in s)
    return s if len(s) <= n else s[: n - 1] + "…"
