"""Stories + question -> ranked findings and the causal graph (the engine's front door).

`api.explain()` finds the stories (LOGS' search) and calls `explain_stories()`; tests call it
directly with stories they build. One engine session per case; the rulebase is compiled
once per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from diagnose.engine.chain import Chain, Step, link_chains
from diagnose.engine.compiler import CompiledRulebase, compiled
from diagnose.engine.facts import Case, Query, build_facts, connection_case, message_cases
from diagnose.engine.findings import build_finding, not_found_finding, rank, stop_sentence
from diagnose.engine.justify import Record
from diagnose.engine.remedies import RemedyCatalogue, load_remedies
from diagnose.engine.rulebase import Rulebase, load_rulebase
from diagnose.graph import build_chain_graph, to_json
from diagnose.model import ConnectionStory, Finding, InputError, MessageStory


@dataclass
class Answer:
    query: Query
    findings: list[Finding]
    records: list[Record] = field(default_factory=list)
    graph: dict[str, Any] = field(default_factory=dict)
    searched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list, repr=False)  # the engine cases behind each finding

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "query": self.query.to_json(),
            "findings": [f.to_json() for f in self.findings],
            "graph": self.graph,
        }
        if self.searched:
            out["searched"] = self.searched
        if self.warnings:
            out["warnings"] = self.warnings
        from diagnose.reports import ensure_what_if  # the API, the CLI JSON and the ticket carry one what-if

        ensure_what_if(out)
        return out


@dataclass
class Engine:
    """The loaded rulebase, its compiled form and the remedies catalogue."""

    rulebase: Rulebase
    compiled: CompiledRulebase
    remedies: RemedyCatalogue

    @classmethod
    def load(cls, rules_dir: str | Path | None = None, remedies_file: str | Path | None = None) -> Engine:
        rb = load_rulebase(rules_dir)
        try:
            remedies = load_remedies(remedies_file)
        except InputError as exc:
            if remedies_file is not None:
                raise
            # the packaged catalogue is broken: diagnose anyway, without recommendations, and say so
            rb.warnings.append(f"recommendations unavailable: {exc}")
            remedies = RemedyCatalogue()
        return cls(rb, compiled(rb), remedies)

    def run_case(self, case: Case, config: Any = None, probes: Any = None) -> tuple[Record, Finding]:
        """One case through the engine; `config` (an EsaConfig) adds config facts and the what-if,
        `probes` (callable case -> probe Events, PROBES' ProbeHook) the DNS facts its lines call for."""
        if probes is not None:
            linked = {id(e) for e in case.link_events}
            for e in probes(case):
                if id(e) not in linked:
                    case.extra_facts.append((e.kind, dict(e.fields), e))
        config_events: list[Any] = []
        if config is not None:
            from diagnose.collectors.configcase import attach_config
            config_events = attach_config(case, config)
        facts = build_facts(case)
        record = self.compiled.run(facts)
        finding = build_finding(case, record, self.compiled.rules, self.remedies)
        if config is not None:
            from diagnose.collectors.configcase import case_inputs
            from diagnose.whatif import enrich_finding
            enrich_finding(finding, config, case_inputs(case), config_events)
        return record, finding


_default: Engine | None = None
CONTEXT_MARGIN = timedelta(hours=1)


def attach_context(case: Case, context: list[Any]) -> None:
    """Appliance-wide lines (no ICID/MID) near the case become facts of the case."""
    if not context:
        return
    lines = [e for s in (case.connection, case.message) if s is not None for e in s.events]
    times = [e.ts for e in lines if e.ts is not None]
    appliances = {e.appliance for e in lines if e.appliance}
    if not times:
        return
    lo, hi = min(times) - CONTEXT_MARGIN, max(times) + CONTEXT_MARGIN
    have = {id(e) for e in lines}
    for e in context:
        if id(e) in have or e.ts is None or not (lo <= e.ts <= hi):
            continue
        if appliances and e.appliance and e.appliance not in appliances:
            continue
        case.extra_facts.append((e.kind, dict(e.fields), e))


def default_engine() -> Engine:
    global _default
    if _default is None:
        _default = Engine.load()
    return _default


def _continued(case: Case, by_mid: dict[tuple[str, int], MessageStory]) -> bool:
    msg = case.message
    return msg is not None and any(how in CONTINUATIONS and (msg.appliance, other) in by_mid
                                   for how, other in msg.links)


def explain_stories(
    query: Query,
    messages: Iterable[tuple[MessageStory, ConnectionStory | None]] = (),
    connections: Iterable[ConnectionStory] = (),
    *,
    candidates: Iterable[tuple[Any, ...]] = (),
    searched: list[str] | None = None,
    hints: list[str] | None = None,
    engine: Engine | None = None,
    config: Any = None,
    probes: Any = None,
    context: Iterable[Any] = (),
    extra: Iterable[tuple[Record, Finding]] = (),
    in_logs: Iterable[tuple[str, int]] | None = None,
    earlier: Iterable[tuple[MessageStory, ConnectionStory | None]] = (),
) -> Answer:
    """Explain every matching message-recipient and connection.

    A recipient's case whose MID hands the message over to another MID (reinjected from the Spam
    Quarantine, rewritten, split) is followed to that MID's case: one finding per chain, the last
    disposition wins (diagnose.engine.chain).

    messages:    (MessageStory, its ConnectionStory or None) that match the question
    connections: ConnectionStory that match the question directly (e.g. by --ip) and carry no message
    candidates:  (ConnectionStory, confidence, reason[, link Events]) found for a sender that has no
                 message in the logs: connections from the sender's candidate IPs, linked at
                 `likely`/`possible`; the link Events (e.g. probe_spf_match) are evidence of the link
    config:      an EsaConfig: config facts and the what-if per case
    probes:      callable(case) -> probe Events (PROBES' ProbeHook): the DNS facts each case calls for
    context:     service-health Events (key expiry, engine errors, suspended deliveries...): each case
                 gets those of its appliance within CONTEXT_MARGIN of its own lines
    extra:       (Record, Finding) from other inputs (the --ndr bounce text), ranked and drawn with the rest
    in_logs:     every (appliance, MID) the search found in the logs: a follow-on MID outside it is "not in
                 these logs" (add the next file); None when the caller does not know (batch, tests)
    earlier:     MIDs the matched ones continue (the original of a reinjected MID asked by --mid): they
                 only tell the history of a chain that reaches a matched MID, never an answer alone
    """
    engine = engine or default_engine()
    searched = list(searched or [])
    extra = list(extra)
    cases: list[Case] = []
    messages = list(messages)
    asked = {(s.appliance, s.mid) for s, _ in messages}
    messages += [(s, c) for s, c in earlier if (s.appliance, s.mid) not in asked]
    by_mid = {(s.appliance, s.mid): s for s, _ in messages}
    for story, conn in messages:
        parent = next((by_mid.get((story.appliance, other)) for how, other in story.links
                       if how in ("split_from", "rewritten_from", "reinjected_from")), None)
        for case in message_cases(story, conn, query):
            case.parent = parent
            cases.append(case)
    for conn in connections:
        cases.append(connection_case(conn, query))
    for conn, confidence, reason, *link in candidates:
        case = connection_case(conn, query, link="candidate_ip", link_confidence=confidence, link_reason=reason)
        case.link_events = list(link[0]) if link else []
        case.extra_facts.extend((e.kind, dict(e.fields), e) for e in case.link_events)
        cases.append(case)
    context = list(context)
    for case in cases:
        attach_context(case, context)
    steps: list[Step] = []
    for case in cases:
        record, finding = engine.run_case(case, config, probes)
        steps.append(Step(case, record, finding, sentence=stop_sentence(record, engine.compiled.rules)))
    chains = link_chains(steps, set(by_mid), set(in_logs) if in_logs is not None else None)
    chains = [c for c in chains if c.steps[0].case.message is None
              or any((m.appliance, m.mid) in asked for m in (s.case.message for s in c.steps) if m is not None)]
    # a MID with no known fate that continues as a MID of the answer is told by that MID's chain
    chains = [c for c in chains if not (len(c.steps) == 1 and not c.handovers and c.finding.outcome == "unknown"
                                        and _continued(c.steps[0].case, by_mid))]
    if not chains:
        chains = [_not_found_chain(query, searched, hints)]
    others = [Chain(f, [Step(Case(kind="ndr", query=query), r, f, recommendations=list(f.recommendations))], [], 0)
              for r, f in extra]
    return assemble(query, chains, searched, list(engine.rulebase.warnings), others)


def _not_found_chain(query: Query, searched: list[str], hints: list[str] | None) -> Chain:
    f = not_found_finding(Case(kind="not_found", query=query), searched, hints)
    return Chain(f, [Step(Case(kind="not_found", query=query), Record(), f)], [], 0)


def assemble(query: Query, chains: list[Chain], searched: list[str], warnings: list[str],
             others: list[Chain] | None = None) -> Answer:
    """Rank the findings and draw their graph; records[i] is the case behind findings[i].

    `others` (findings read from the bounce text, not from a log line) come after the findings the
    logs establish and before the logs' unknown answers."""
    by_id = {id(c.finding): c for c in [*chains, *(others or [])]}
    order = rank([c.finding for c in chains])
    if others:
        at = next((i for i, f in enumerate(order) if f.outcome == "unknown"), len(order))
        order[at:at] = rank([c.finding for c in others])
    ranked = [by_id[id(f)] for f in order]
    graph = to_json(build_chain_graph(ranked))
    return Answer(query=query, findings=order, records=[c.record for c in ranked], graph=graph,
                  searched=searched, warnings=warnings, chains=ranked)


# ---------------------------------------------------------------- the API behind `explain`

CONTINUATIONS = ("split_to", "rewritten_to", "reinjected_as")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def parse_time(value: str | datetime | None, option: str) -> datetime | None:
    """"YYYY-MM-DD HH:MM[:SS]" (appliance-local, as logged) -> datetime; InputError otherwise."""
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise InputError(f"{option}: cannot read {text!r} as a time; use \"YYYY-MM-DD HH:MM\" (appliance-local time)")


def make_query(*, sender: str | None = None, recipient: str | None = None, ip: str | None = None,
               mid: int | str | None = None, message_id: str | None = None, subject: str | None = None,
               since: str | datetime | None = None, until: str | datetime | None = None) -> Query:
    for option, value in (("--sender", sender), ("--recipient", recipient), ("--ip", ip), ("--mid", mid),
                          ("--message-id", message_id), ("--subject", subject), ("--since", since),
                          ("--until", until)):
        if isinstance(value, str):
            _check_text(option, value)
    if mid is not None and not isinstance(mid, int):
        text = str(mid).strip()
        if not text.isdigit():
            raise InputError(f"--mid: {mid!r} is not a message id (a number, as in 'MID 24611411')")
        mid = int(text)
    if ip is not None:
        import ipaddress
        try:
            ip = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            raise InputError(f"--ip: {ip!r} is not an IP address") from None
    q = Query(
        sender=_addr(sender), recipient=_addr(recipient), ip=ip, mid=mid,
        message_id=message_id.strip() if message_id else None, subject=subject or None,
        since=parse_time(since, "--since"), until=parse_time(until, "--until"),
    )
    if q.since and q.until and q.since > q.until:
        raise InputError("--since is after --until")
    return q


def _check_text(option: str, value: str) -> None:
    """Command-line bytes that are not UTF-8 arrive as surrogates: refuse them in one line."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{option}: {value!r} is not valid UTF-8 text") from None
    if len(value) > 2000:
        raise InputError(f"{option}: {len(value)} characters is too long")


def _addr(a: str | None) -> str | None:
    if a is None:
        return None
    a = a.strip().strip("<>").strip()
    return a or None


def stories_from_search(result: Any) -> tuple[list[tuple[MessageStory, ConnectionStory | None]],
                                              list[ConnectionStory]]:
    """The story search's result -> (messages with their connection, connections alone), ready for
    `explain_stories`: the follow-on MIDs (split, rewritten, reinjected) of a matched message come
    with it, and a connection with no matched message of its own is its own case.

    Accepts what the search returns: an object with .messages/.connections(/.related), a pair, or stories."""
    if hasattr(result, "messages") or hasattr(result, "connections"):
        msgs, conns = list(getattr(result, "messages", []) or []), list(getattr(result, "connections", []) or [])
    elif isinstance(result, tuple) and len(result) == 2 and all(isinstance(x, list | tuple) for x in result):
        msgs, conns = list(result[0]), list(result[1])
    else:
        items = list(result or [])
        msgs = [x for x in items if isinstance(x, MessageStory | tuple)]
        conns = [x for x in items if isinstance(x, ConnectionStory)]
    by_key = {(c.appliance, c.icid): c for c in conns}
    pairs: list[tuple[MessageStory, ConnectionStory | None]] = []
    used: set[tuple[str, int]] = set()
    for m in msgs:
        if isinstance(m, tuple):
            story, conn = m[0], m[1] if len(m) > 1 else None
        else:
            story = m
            conn = getattr(m, "connection", None)
            if conn is None and story.icid is not None:
                conn = by_key.get((story.appliance, story.icid))
        if conn is not None:
            used.add((conn.appliance, conn.icid))
        pairs.append((story, conn))
    # the message goes on under another MID (split by policy, rewritten, reinjected from the spam
    # quarantine): that MID carries the fate, so it is a case too (with the parent's connection)
    related = {(m.appliance, m.mid): m for m in (getattr(result, "related", None) or [])}
    explained = {(s.appliance, s.mid) for s, _ in pairs}
    todo = list(pairs)
    while todo:
        story, conn = todo.pop(0)
        for how, other in story.links:
            key = (story.appliance, other)
            if how in CONTINUATIONS and key in related and key not in explained:
                explained.add(key)
                child = (related[key], conn)
                pairs.append(child)
                todo.append(child)
    # a connection with no matched message of its own is its own case (rejected, or closed without mail)
    alone = [c for c in conns if (c.appliance, c.icid) not in used and not _has_messages(c, msgs)]
    return pairs, alone


def earlier_mids(result: Any, pairs: list[tuple[MessageStory, ConnectionStory | None]],
                 ) -> list[tuple[MessageStory, ConnectionStory | None]]:
    """The MIDs the matched ones continue (reinjected from, rewritten from, split from), transitively,
    from the search's related stories: the history of a follow-on MID asked for by itself."""
    related = {(m.appliance, m.mid): m for m in (getattr(result, "related", None) or [])
               if isinstance(m, MessageStory)}
    conns = {(c.appliance, c.icid): c for c in (getattr(result, "connections", None) or [])
             if isinstance(c, ConnectionStory)}
    have = {(s.appliance, s.mid) for s, _ in pairs}
    out: list[tuple[MessageStory, ConnectionStory | None]] = []
    todo = [s for s, _ in pairs]
    while todo:
        story = todo.pop()
        for how, other in story.links:
            key = (story.appliance, other)
            if how in ("split_from", "rewritten_from", "reinjected_from") and key in related and key not in have:
                have.add(key)
                parent = related[key]
                out.append((parent, conns.get((parent.appliance, parent.icid)) if parent.icid else None))
                todo.append(parent)
    return out


_stories = stories_from_search  # the former private name (kept for callers not yet switched)


def _has_messages(conn: ConnectionStory, msgs: list[Any]) -> bool:
    return bool(conn.mids) and any(
        (getattr(m, "appliance", None), getattr(m, "icid", None)) == (conn.appliance, conn.icid) for m in msgs)


def _find(logs: Sequence[Any], query: Query, year: int | None) -> Any:
    """The story search (LOGS: diagnose.api.find_stories, prefiltered on bytes)."""
    from diagnose import api

    return api.find_stories(list(logs), sender=query.sender, recipient=query.recipient, ip=query.ip, mid=query.mid,
                            message_id=query.message_id, subject=query.subject, since=query.since,
                            until=query.until, year=year)


def _in_window(ts: datetime | None, query: Query) -> bool:
    if ts is None:
        return True
    return not ((query.since and ts < query.since) or (query.until and ts > query.until))


def _conn_matches(c: ConnectionStory, q: Query) -> bool:
    return q.ip is not None and c.ip == q.ip and _in_window(c.start, q)


def _msg_matches(m: MessageStory, q: Query) -> bool:
    def has(kind: str, key: str, want: str, sub: bool = False) -> bool:
        for e in m.all(kind):
            v = e.get(key)
            if isinstance(v, str) and ((want.lower() in v.lower()) if sub else v.lower() == want.lower()):
                return True
        return False

    if q.mid is not None and m.mid != q.mid:
        return False
    if q.sender and not (has("mid_from", "sender", q.sender) or has("mid_ready", "sender", q.sender)):
        return False
    if q.recipient and not (has("mid_to", "recipient", q.recipient) or has("mid_rcpt_rejected", "recipient", q.recipient)
                            or has("bounced", "recipient", q.recipient)):
        return False
    if q.message_id and not has("mid_message_id", "message_id", q.message_id.strip("<>"), sub=True):
        return False
    if q.subject and not has("mid_subject", "subject", q.subject, sub=True):
        return False
    return _in_window(m.start, q)


def _searched(result: Any, logs: Sequence[Any], query: Query) -> list[str]:
    """What was searched, for the unknown answer."""
    files = getattr(result, "files", None) or [str(p) for p in logs]
    names = ", ".join(str(f) for f in files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    window = ""
    if query.since or query.until:
        window = f" between {query.since or 'the start'} and {query.until or 'the end'}"
    size = ""
    if getattr(result, "bytes_read", None):
        size = f" ({result.bytes_read:,} bytes read, {getattr(result, 'lines_parsed', 0):,} lines parsed)"
    out = [f"searched {names}{window} for {query.describe()}{size}"]
    out += [f"read problem: {e}" for e in (getattr(result, "errors", None) or [])[:5]]
    return out


def _candidate_ips(query: Query) -> list[tuple[str, str, str]]:
    """(ip, confidence, why) the sender may have sent from. --ip is the sender's word: likely."""
    out = []
    if query.ip:
        out.append((query.ip, "likely", "the sending IP given with --ip"))
    return out


def _add_tracking(path: Any, query: Query, messages: list[tuple[MessageStory, ConnectionStory | None]],
                  connections: list[ConnectionStory], searched: list[str], notes: list[str],
                  ) -> tuple[list[tuple[MessageStory, ConnectionStory | None]], list[ConnectionStory]]:
    """Message Tracking export: fills gaps in the log stories (the logs win) and adds tracking-only ones."""
    from diagnose.collectors.tracking import combine, tracking_stories

    tconns, tmsgs, problems = tracking_stories(path)
    log_conns = [c for _, c in messages if c is not None] + list(connections)
    comb = combine(log_conns, [m for m, _ in messages], tconns, tmsgs)
    by_key = {(c.appliance, c.icid): c for c in comb.connections}
    out = list(messages)
    added = [m for m in comb.tracking_only if _msg_matches(m, query)]
    out += [(m, by_key.get((m.appliance, m.icid)) if m.icid is not None else None) for m in added]
    known = {(c.appliance, c.icid) for c in log_conns}
    extra = [c for c in comb.connections if (c.appliance, c.icid) not in known and not c.mids
             and _conn_matches(c, query)]
    searched.append(f"read the Message Tracking export {path}: {len(tmsgs)} messages, {len(added)} matched "
                    f"only there")
    notes.extend(problems[:10])
    notes.extend(d.text for d in comb.disagreements[:10])
    return out, list(connections) + extra


def _probe_hook(nameserver: str | None, offline: bool, probe_cache: Any = None,
                probe_budget: float | None = None, probe_timeout: float | None = None) -> Any:
    """PROBES' per-case hook on a DNS session, or None (--offline without a cache, or no probes built)."""
    if offline and not probe_cache:
        return None
    try:
        from diagnose.probes.explainhook import ProbeHook, enabled
        from diagnose.probes.session import ProbeSession
    except ImportError:
        return None
    limits = {k: v for k, v in (("budget", probe_budget), ("timeout", probe_timeout)) if v is not None}
    session = ProbeSession.open(nameserver=nameserver, offline=offline,
                                probe_cache=str(probe_cache) if probe_cache else None, **limits)
    if not enabled(session):
        session.close()
        return None
    return ProbeHook(session)


def run_explain(logs: Sequence[Any] = (), *, sender: str | None = None, recipient: str | None = None,
                ip: str | None = None, mid: int | str | None = None, message_id: str | None = None,
                subject: str | None = None, since: str | datetime | None = None,
                until: str | datetime | None = None, year: int | None = None, tracking: Any = None,
                config: Any = None, ndr: str | None = None, nameserver: str | None = None,
                offline: bool = False, rules_dir: Any = None, probe_cache: Any = None,
                probe_budget: float | None = None, probe_timeout: float | None = None) -> Answer:
    query = make_query(sender=sender, recipient=recipient, ip=ip, mid=mid, message_id=message_id,
                       subject=subject, since=since, until=until)
    engine = Engine.load(rules_dir) if rules_dir is not None else default_engine()
    logs = [logs] if isinstance(logs, str | Path) else list(logs or [])
    if ndr is not None and not logs:
        return explain_ndr(query, ndr, engine=engine)
    if not logs and tracking is None:
        raise InputError("nothing to explain from: give --logs PATH (or --tracking FILE, or --ndr TEXT)")
    if query.is_empty():
        raise InputError("say what to look for: --sender, --recipient, --ip, --mid, --message-id or --subject")
    esa_config = None
    if config is not None:
        from diagnose.collectors.esaconfig import EsaConfig, load_config
        if isinstance(config, EsaConfig):  # loaded once by the caller (batch)
            esa_config = config
        else:
            esa_config = load_config([config] if isinstance(config, str | Path) else list(config))
    messages: list[tuple[MessageStory, ConnectionStory | None]] = []
    connections: list[ConnectionStory] = []
    searched: list[str] = []
    context: list[Any] = []
    in_logs: set[tuple[str, int]] = set()
    earlier: list[tuple[MessageStory, ConnectionStory | None]] = []
    if logs:
        result = _find(logs, query, year)
        if getattr(result, "bytes_read", None) == 0 and not getattr(result, "errors", None):
            names = ", ".join(str(f) for f in (getattr(result, "files", None) or logs))
            raise InputError(f"the logs are empty: {names}")
        messages, connections = stories_from_search(result)
        in_logs = {(m.appliance, m.mid) for m in list(getattr(result, "messages", None) or [])
                   + list(getattr(result, "related", None) or []) if isinstance(m, MessageStory)}
        in_logs |= {(m.appliance, m.mid) for m, _ in messages}
        earlier = earlier_mids(result, messages)
        searched = _searched(result, logs, query)
        context = list(getattr(result, "context", None) or [])
    notes: list[str] = []
    if tracking is not None:
        messages, connections = _add_tracking(tracking, query, messages, connections, searched, notes)
    candidates: list[tuple[ConnectionStory, str, str, list[Any]]] = []
    hints: list[str] = []
    hook = _probe_hook(nameserver, offline, probe_cache, probe_budget, probe_timeout)
    try:
        if not messages and query.sender:
            # the sender's message is not in the logs: was a connection from its IPs refused?
            for cip, confidence, why in _candidate_ips(query):
                conns = [c for c in connections if c.ip == cip]
                if not conns and logs:  # the first search did not look at connections by this IP: look now
                    _, conns = stories_from_search(_find(logs, Query(ip=cip, since=query.since, until=query.until), year))
                    searched.append(f"searched the same logs for connections from {cip} ({why})")
                for conn in conns:
                    reason = (f"No message from {query.sender} is in the logs; connection ICID {conn.icid} came "
                              f"from {cip}, {why}, in the window searched: it is probably the sender's attempt.")
                    candidates.append((conn, confidence, reason, []))
            if not candidates and hook is not None and logs:
                from diagnose.probes.explainhook import search_sender_networks
                found = search_sender_networks(logs, query.sender, query.since, query.until, year, hook.session,
                                               hook)
                searched += found.searched
                hints += found.hints
                for conn, confidence, reason in found.candidates:
                    link = hook.match_facts.get((conn.appliance, conn.icid), [])
                    candidates.append((conn, confidence, reason, link))
            elif not candidates:
                hints.append("DNS probes were off (--offline): the sender domain's SPF/MX networks were not "
                             "searched for refused connections.")
        taken = {(c[0].appliance, c[0].icid) for c in candidates}
        connections = [c for c in connections if (c.appliance, c.icid) not in taken]
        # the bounce text the sender got is one more finding, ranked and drawn with the log findings
        extra = [ndr_case(query, ndr, engine)] if ndr is not None else []
        answer = explain_stories(query, messages, connections, candidates=candidates, searched=searched,
                                 hints=hints, engine=engine, config=esa_config, probes=hook, context=context,
                                 extra=extra, in_logs=in_logs if logs else None, earlier=earlier)
        answer.warnings += notes
        if tracking is not None:  # no rule found an end, but the tracking last state names one (weaker)
            from diagnose.collectors.tracking import apply_last_states
            apply_last_states(answer, engine=engine)
        if hook is not None:
            answer.warnings += hook.notes()
    finally:
        if hook is not None:
            hook.session.close()
    return answer


def explain_ndr(query: Query, ndr: str, engine: Engine | None = None) -> Answer:
    """Explain from the bounce text a sender received (no logs needed)."""
    record, finding = ndr_case(query, ndr, engine)
    chain = Chain(finding, [Step(Case(kind="ndr", query=query), record, finding,
                                 recommendations=list(finding.recommendations))], [], 0)
    return assemble(query, [chain], ["the bounce text given with --ndr"], [])


def ndr_case(query: Query, ndr: str, engine: Engine | None = None) -> tuple[Record, Finding]:
    """The bounce text as an engine case: its record and finding (capped at `likely`)."""
    try:
        from diagnose.classify import classify_text
    except ImportError:
        raise InputError("--ndr: bounce classification is not available in this build") from None
    text = ndr.encode("utf-8", "replace").decode("utf-8").strip()  # bytes from argv may be surrogates
    if not text:
        raise InputError("--ndr: the bounce text is empty")
    c = classify_text(text[:8192])
    engine = engine or default_engine()
    from diagnose.engine.findings import ndr_finding
    from diagnose.model import Event

    # the classification is a fact like any other: rules on `ndr` may conclude the stage and cause
    fields = {k: v for k, v in c.to_json().items() if v is not None}
    fields["text"] = text[:4000]
    event = Event("ndr", None, "", "ndr", text[:1000], fields)
    case = Case(kind="ndr", query=query, link="ndr", link_confidence="likely",
                link_reason="Read from the bounce text given with --ndr, not from a log line.")
    case.extra_facts.append(("ndr", fields, event))
    record, finding = engine.run_case(case)
    direct = ndr_finding(query, text, c, engine.remedies)
    if not record.derived("stop"):
        finding = direct
    else:
        finding.gaps = direct.gaps + [g for g in finding.gaps if "No rule recognised" not in g]
        finding.extra.update(direct.extra)
    return record, finding
