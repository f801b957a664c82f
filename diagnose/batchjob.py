"""`batch`: classify (and with --logs, diagnose) every bounce of an input; CSV, JSONL and HTML out.

Rows keep the input's own fields and add: reason (Sisimai name), hard, stage, outcome, cause,
summary, confidence, the rule and evidence that decided, and `explain` (the command that
explains the row in full).  A bad row, file or message becomes an error record and the run
goes on.  Large inputs are classified on every core (multiprocessing over chunks); the output
order is the input order whatever the number of workers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from diagnose.classify import Classification, catalogue, classify_bounce, classify_text
from diagnose.collectors.bounces import Bounce, detect, read_bounces
from diagnose.csvsafe import SafeWriter
from diagnose.model import InputError
from diagnose.progress import Bar

ROW_FIELDS = (
    "source", "recipient", "sender", "date", "outcome", "reason", "hard", "stage", "cause", "confidence",
    "summary", "status", "code", "esa", "rule", "evidence", "remote_text", "wrapper", "ip", "mid", "rid",
    "message_id", "explain",
)
_OUR_NAMES = frozenset(ROW_FIELDS) | {"bounce_reason", "log_note", "icid", "diagnosis"}
CHUNK = 2000  # records per worker task
FILE_CHUNK = 32  # DSN files per worker task
_IPV4 = re.compile(r"(?<![\d.])((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(?![\d.]*\d)")
_OUTCOME_ORDER = {"rejected": 0, "bounced": 1, "dropped": 2, "quarantined": 3, "deferred": 4, "unknown": 5,
                  "delivered": 6}
_NOT_PROBLEMS = {"delivered"}


@dataclass
class BatchResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    input: str | None = None
    form: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "form": self.form, "rows": self.rows, "errors": self.errors,
                "totals": totals(self.rows, self.errors)}


# ---------------------------------------------------------------------------- one row

def hard_reason(reason: str) -> bool:
    """Sisimai's hard-bounce rule for a reason decided elsewhere (the engine's findings)."""
    return reason in catalogue().hard


def _esa_entry(rule: str) -> dict[str, Any] | None:
    for entry, _ in catalogue().esa:
        if entry["id"] == rule:
            return entry
    return None


def _outcome(b: Bounce, c: Classification) -> str:
    if c.reason in ("delivered", "feedback", "vacation"):
        return "delivered"
    action = (b.action or "").lower()
    if action in ("delayed", "delay") or (c.temporary and action not in ("failed", "bounced")):
        return "deferred"
    if c.esa and c.stage not in (None, "delivery"):
        return "rejected"  # an ESA refused it in the SMTP conversation
    return "bounced"


def _confidence(c: Classification) -> str:
    if c.rule.startswith(("ESA-", "ASYNCOS-", "FORM-", "STATUS-", "TEXT-")) and "+" not in c.rule:
        return "certain" if c.rule.startswith(("ESA-", "FORM-")) else "likely"
    return "possible"


def _summary(b: Bounce, c: Classification, outcome: str, entry: dict[str, Any] | None) -> str:
    who = b.recipient or "the recipient"
    reply = " ".join(x for x in (c.code, c.status) if x)
    text = c.remote_text.strip().replace("\n", " ")
    if len(text) > 160:
        text = text[:157] + "..."
    if entry:
        head = f"Mail to {who} was {outcome} by an ESA at stage {c.stage}: {entry.get('what', c.reason)}"
    elif c.wrapper:
        head = f"Mail to {who} was {outcome} by the ESA at delivery ({c.wrapper}); the remote reason reads as {c.reason}"
    elif c.reason in ("delivered", "feedback", "vacation"):
        head = f"Not a failure for {who}: {c.reason}"
    else:
        head = f"Mail to {who} was {outcome}: {c.reason}"
    hard = " (hard bounce: the address is bad)" if c.hard else ""
    tail = f". Reply {reply}: {text}" if (reply or text) else ". The bounce gives no reply text."
    return f"{head}{hard}{tail}"


def _explain_cmd(b: Bounce, c: Classification, logs: Sequence[str]) -> str:
    if logs and b.recipient:
        parts = ["esa-diagnose", "explain", "--logs", *logs, "--recipient", b.recipient]
        if b.sender:
            parts += ["--sender", b.sender]
        if b.mid is not None:
            parts = ["esa-diagnose", "explain", "--logs", *logs, "--mid", str(b.mid)]
        return " ".join(shlex.quote(p) for p in parts)
    text = (c.wrapper + " " if c.wrapper else "") + c.remote_text
    text = " ".join(text.split())[:400]
    if not text:
        return ""
    parts = ["esa-diagnose", "explain", "--ndr", text]
    if b.recipient:
        parts += ["--recipient", b.recipient]
    return " ".join(shlex.quote(p) for p in parts)


def bounce_row(b: Bounce, logs: Sequence[str] = ()) -> dict[str, Any]:
    """Classify one bounce into a batch row (input fields first, then ours)."""
    c = classify_bounce(b)
    entry = _esa_entry(c.rule)
    outcome = _outcome(b, c)
    ipm = _IPV4.search(c.remote_text or "")
    # the input's own columns come first; one named like ours keeps its value as input_<name>
    row: dict[str, Any] = {(f"input_{k}" if k in _OUR_NAMES else k): v for k, v in b.fields.items() if k != "context"}
    row.update({
        "source": b.source, "recipient": b.recipient, "sender": b.sender, "date": b.date, "outcome": outcome,
        "reason": c.reason, "hard": c.hard, "stage": c.stage, "cause": (entry or {}).get("cause", c.reason),
        "confidence": _confidence(c), "summary": _summary(b, c, outcome, entry), "status": c.status,
        "code": c.code, "esa": c.esa, "rule": c.rule, "evidence": c.evidence, "remote_text": c.remote_text[:2000],
        "wrapper": c.wrapper, "ip": ipm.group(1) if ipm else None, "mid": b.mid, "rid": b.rid,
        "message_id": b.message_id,
        "explain": _explain_cmd(b, c, logs),
    })
    return row


def _error(b: Bounce) -> dict[str, str]:
    return {"source": b.source, "error": b.error or "unreadable"}


# ---------------------------------------------------------------------------- workers

def _work_records(chunk: list[Bounce]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for b in chunk:
        out.append(_one(b))
    return out


def _work_files(paths: list[str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for p in paths:
        try:
            for b in read_bounces(p):
                out.append(_one(b))
        except InputError as exc:
            out.append(("error", {"source": p, "error": str(exc)}))
        except OSError as exc:
            out.append(("error", {"source": p, "error": f"cannot read: {exc.strerror or exc}"}))
    return out


def _one(b: Bounce) -> tuple[str, dict[str, Any]]:
    if b.error:
        return "error", _error(b)
    try:
        return "row", bounce_row(b)
    except Exception as exc:  # noqa: BLE001 - one bad record never ends the run
        return "error", {"source": b.source, "error": f"could not classify: {type(exc).__name__}: {exc}"[:300]}


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for x in items:
        chunk.append(x)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pool(workers: int) -> Any:
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ctx.Pool(workers)


def default_workers() -> int:
    """Cores that are free now: a busy machine gains nothing from more processes (measured)."""
    cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except OSError:
        busy = 0
    return max(1, min(cores - busy, 8))


def classify_input(path: str | Path, *, workers: int | None = None, bar: Bar | None = None
                   ) -> Iterator[tuple[str, dict[str, Any]]]:
    """("row", row) or ("error", {...}) for every bounce of `path`, in input order.

    DSN folders and maildirs are spread over `workers` processes, each reading and parsing its own
    files (parsing a message is the heavy part).  Record streams (CSV, bounce logs) stay in this
    process: they must be read in order by one reader, and shipping the records to workers costs
    more than classifying them (benchmarks/batch.py).
    """
    p = Path(path)
    form = detect(p)
    workers = default_workers() if workers is None else max(1, workers)
    if form in ("folder", "maildir"):
        roots = [p] if form == "folder" else [p / "cur", p / "new"]
        files = sorted(str(x) for r in roots if r.is_dir() for x in r.rglob("*")
                       if x.is_file() and not x.name.startswith("."))
        if bar is not None:
            bar.total = len(files) or None
        chunks = list(_chunks(files, FILE_CHUNK))
        if workers > 1 and len(files) > 2 * FILE_CHUNK:
            with _pool(workers) as pool:
                for chunk, result in zip(chunks, pool.imap(_work_files, chunks), strict=True):
                    yield from result
                    if bar is not None:
                        bar.update(len(chunk))
        else:
            for ch in chunks:
                yield from _work_files(ch)
                if bar is not None:
                    bar.update(len(ch))
        return
    for ch in _chunks(read_bounces(p, form), CHUNK):
        res = _work_records(ch)
        yield from res
        if bar is not None:
            bar.update(len(res))


# ---------------------------------------------------------------------------- with --logs

class StoryIndex:
    """The stories of the logs, read once, found by MID and by recipient for each bounce."""

    def __init__(self, logs: Sequence[str], year: int | None = None) -> None:
        from diagnose import api
        from diagnose.engine.explainer import stories_from_search

        find = getattr(api, "find_stories", None)
        if find is None:
            raise InputError("batch --logs needs the mail_logs reader (diagnose.api.find_stories), "
                             "which this build does not have yet")
        pairs, _ = stories_from_search(find(list(logs), year=year))
        self.by_mid: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
        self.by_rcpt: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
        self.by_msgid: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
        for story, conn in pairs:
            self.by_mid[story.mid].append((story, conn))
            for e in story.events:
                if e.kind == "mid_message_id" and e.fields.get("message_id"):
                    self.by_msgid[_msgid(e.fields["message_id"])].append((story, conn))
            for r in {str(e.fields["recipient"]).lower() for e in story.events if e.fields.get("recipient")}:
                self.by_rcpt[r].append((story, conn))

    def find(self, mid: int | None, recipient: str | None, sender: str | None,
             message_id: str | None = None) -> list[tuple[Any, Any]]:
        rcpt = (recipient or "").lower()
        by_id = self.by_msgid.get(_msgid(message_id)) if message_id else None
        if by_id or (mid is not None and mid in self.by_mid):
            found = by_id or self.by_mid[mid]  # the original's Message-ID (a DSN's attachment) names it best
            if rcpt:
                found = [p for p in found if rcpt in self._recipients(p[0])] or found
            return found
        found = list(self.by_rcpt.get(rcpt, [])) if rcpt else []
        if sender:
            found = [p for p in found if (p[0].sender or "").lower() == sender.lower()] or found
        return found

    @staticmethod
    def _recipients(story: Any) -> set[str]:
        return {str(e.fields["recipient"]).lower() for e in story.events if e.fields.get("recipient")}


def _msgid(value: str | None) -> str:
    return (value or "").strip().strip("<>").strip().lower()


def _with_logs(row: dict[str, Any], index: StoryIndex, cache: dict[tuple[Any, ...], Any],
               config: Any = None) -> None:
    """Join one bounce to its story in the logs and take the full diagnosis."""
    from diagnose.engine.explainer import explain_stories, make_query

    key = (row.get("mid"), (row.get("recipient") or "").lower(), (row.get("sender") or "").lower(),
           row.get("message_id"))
    if key not in cache:
        found = index.find(row.get("mid"), row.get("recipient"), row.get("sender"), row.get("message_id"))
        if not found:
            who = row.get("recipient") or row.get("sender") or "this bounce"
            cache[key] = f"no message to {who} in the logs given"
        else:
            try:
                query = make_query(recipient=row.get("recipient"), sender=row.get("sender"))
                cache[key] = explain_stories(query, found[:20], [], config=config)
            except InputError as exc:
                cache[key] = str(exc)
    _take_finding(row, cache[key])


def _take_finding(row: dict[str, Any], answer: Any) -> None:
    """The row takes the diagnosis of the first finding about its recipient (or says why not)."""
    if isinstance(answer, str):
        row["log_note"] = answer
        return
    findings = [f for f in answer.findings
                if not row.get("recipient") or (f.recipient or "").lower() == row["recipient"].lower()]
    findings = findings or list(answer.findings)
    if not findings:
        row["log_note"] = "no finding in the logs"
        return
    f = findings[0]
    if f.outcome == "unknown" and f.stage == "unknown":
        row["log_note"] = f.summary
        row["diagnosis"] = f.to_json()
        return
    row["bounce_reason"] = row["reason"]
    row.update({"outcome": f.outcome, "stage": f.stage, "cause": f.cause, "reason": f.reason or row["reason"],
                "confidence": f.confidence, "summary": f.summary, "diagnosis": f.to_json()})
    if f.reason:
        row["hard"] = hard_reason(f.reason)
    if f.sender_ip:
        row["ip"] = f.sender_ip


def _with_explain(row: dict[str, Any], logs: Sequence[str], year: int | None, explain: Callable[..., Any],
                  cache: dict[tuple[Any, ...], Any]) -> None:
    """Join one bounce through diagnose.api.explain (used with --tracking, which joins there)."""
    key = (row.get("mid"), row.get("recipient"), row.get("sender"))
    if key not in cache:
        try:
            if row.get("mid") is not None:
                cache[key] = explain(list(logs), mid=row["mid"], recipient=row.get("recipient"), year=year)
            elif row.get("recipient") or row.get("sender"):
                cache[key] = explain(list(logs), recipient=row.get("recipient"), sender=row.get("sender"), year=year)
            else:
                cache[key] = "no recipient or sender to look for in the logs"
        except InputError as exc:
            cache[key] = str(exc)
    _take_finding(row, cache[key])


def run(input: str | Path | None = None, *, logs: Sequence[str] = (), since: str | None = None,
        until: str | None = None, year: int | None = None, workers: int | None = None,
        show_progress: bool | None = None, tracking: str | None = None,
        config: Sequence[str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """The batch as a stream of ("row", row) / ("error", error), in input order.

    tracking: a Message Tracking export (JSON/CSV) joined like the logs (the logs win).
    config: appliance configuration files (--config), read once and used for every diagnosis."""
    logs = [str(x) for x in logs]
    esa_config = None
    if config:
        from diagnose.collectors.esaconfig import load_config
        esa_config = load_config(config)
    if input is None:
        if not logs and not tracking:
            raise InputError("batch: give an INPUT of bounces, or --logs with --since/--until for the overview")
        yield from overview(logs, since=since, until=until, year=year, show_progress=show_progress,
                            tracking=tracking, config=esa_config)
        return
    p = Path(input)
    if not p.exists():
        raise InputError(f"batch: no such input: {p}")
    index = StoryIndex(logs, year) if logs and not tracking else None
    explain = None
    if tracking:
        import functools

        from diagnose import api
        explain = functools.partial(api.explain, tracking=tracking, config=esa_config)
    bar = Bar(None, "bounces", show=show_progress)
    cache: dict[tuple[Any, ...], Any] = {}
    try:
        for kind, item in classify_input(p, workers=workers, bar=bar):
            if kind == "row" and (index is not None or explain is not None):
                item["explain"] = _explain_cmd_row(item, logs, tracking)
                if index is not None:
                    _with_logs(item, index, cache, esa_config)
                else:
                    assert explain is not None
                    _with_explain(item, logs, year, explain, cache)
            yield kind, item
    finally:
        bar.close()


def _explain_cmd_row(row: dict[str, Any], logs: Sequence[str], tracking: str | None = None) -> str:
    parts = ["esa-diagnose", "explain", *(["--logs", *logs] if logs else []),
             *(["--tracking", str(tracking)] if tracking else [])]
    if row.get("mid") is not None:
        parts += ["--mid", str(row["mid"])]
    if row.get("recipient"):
        parts += ["--recipient", row["recipient"]]
    if row.get("sender"):
        parts += ["--sender", row["sender"]]
    return " ".join(shlex.quote(p) for p in parts)


# ---------------------------------------------------------------------------- overview (no INPUT)

def overview(logs: Sequence[str], *, since: str | None = None, until: str | None = None, year: int | None = None,
             show_progress: bool | None = None, tracking: str | None = None,
             config: Any = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every message or connection in the window that was not delivered, diagnosed (config: an EsaConfig)."""
    from diagnose import api
    from diagnose.engine.explainer import explain_stories, make_query, stories_from_search

    find = getattr(api, "find_stories", None)
    if find is None and logs:
        raise InputError("batch --logs without INPUT needs the mail_logs reader (diagnose.api.find_stories), "
                         "which this build does not have yet")
    query = make_query(since=since, until=until)
    messages, connections = [], []
    if logs and find is not None:
        result = find(list(logs), since=query.since, until=query.until, year=year)
        messages, connections = stories_from_search(result)
    if tracking:  # Message Tracking records join the log stories (the logs win) or stand alone
        from diagnose.collectors.tracking import for_question
        fq = for_question(tracking, query, messages, connections)
        messages, connections = fq.messages, fq.connections
        for problem in fq.problems:  # skipped rows and records are reported, not lost
            where, _, what = problem.partition(": ")
            yield "error", {"source": where, "error": what or problem}
    explain_stories = _with_last_states(explain_stories) if tracking else explain_stories
    if config is not None:
        import functools
        explain_stories = functools.partial(explain_stories, config=config)
    bar = Bar(len(messages) + len(connections) or None, "stories", show=show_progress)
    from diagnose.engine.chain import with_follow_ons  # a message reinjected/split: one answer (ENGINE)
    stories = {(m.appliance, m.mid): (m, c) for m, c in messages}
    groups = [with_follow_ons(pair, stories) for pair in messages]
    followers = {(m.appliance, m.mid) for g in groups for m, _ in g[1:]}  # told by the MID they continue
    try:
        for i, group in enumerate(groups):
            story = group[0][0]
            if (story.appliance, story.mid) not in followers:
                yield from _overview_rows(explain_stories(query, group, []), logs, f"MID {story.mid}", i, tracking)
            bar.update()
        for j, conn in enumerate(connections):
            yield from _overview_rows(explain_stories(query, [], [conn]), logs, f"ICID {conn.icid}", j, tracking)
            bar.update()
    finally:
        bar.close()


def _with_last_states(explain: Callable[..., Any]) -> Callable[..., Any]:
    """explain_stories, then the tracking last states where no rule found an end (TRACKING)."""
    from diagnose.collectors.tracking import apply_last_states

    def run(*args: Any, **kwargs: Any) -> Any:
        answer = explain(*args, **kwargs)
        apply_last_states(answer)
        return answer
    return run


def _overview_rows(answer: Any, logs: Sequence[str], what: str, _i: int,
                   tracking: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    for f in answer.findings:
        if f.outcome == "delivered":
            continue
        key = _key_evidence(f.evidence)
        ev = key.source if key is not None else what
        reply = _reply_of(key.text) if key is not None else None
        parts = ["esa-diagnose", "explain", *(["--logs", *logs] if logs else []),
                 *(["--tracking", str(tracking)] if tracking else [])]
        if f.mid is not None:
            parts += ["--mid", str(f.mid)]
        elif f.sender_ip:
            parts += ["--ip", f.sender_ip]
        if f.recipient:
            parts += ["--recipient", f.recipient]
        yield "row", {
            "source": ev, "recipient": f.recipient, "sender": f.sender, "date": f.time, "outcome": f.outcome,
            "reason": f.reason, "hard": hard_reason(f.reason) if f.reason else None, "stage": f.stage, "cause": f.cause, "confidence": f.confidence,
            "summary": f.summary, "status": reply.status if reply else None, "code": reply.code if reply else None,
            "esa": True, "rule": "", "evidence": key.text if key is not None else "",
            "remote_text": reply.remote_text if reply else "", "wrapper": reply.wrapper if reply else None,
            "ip": f.sender_ip, "mid": f.mid, "rid": None, "icid": f.icid,
            "explain": " ".join(shlex.quote(p) for p in parts), "diagnosis": f.to_json(),
        }


_KEY_LINE = re.compile(r"\b(?:Bounced|Delayed|Double bounce)\b|Response|\('\d{3}'|REJECT|TCPREFUSE|Rejected|"
                       r"rejected|Dropped|dropped|quarantine|Connection Error|DNS (?:Hard|Temporary)|TLS", re.I)
_WRAPPED = re.compile(r" - ([245]\.\d{1,3}\.\d{1,3} - .*)$")


def _key_evidence(evidence: Sequence[Any]) -> Any:
    """The evidence line that states the problem (the last Delayed/Bounced/REJECT... line), else the last."""
    hits = [e for e in evidence if _KEY_LINE.search(e.text or "")]
    return hits[-1] if hits else (evidence[-1] if evidence else None)


def _reply_of(text: str) -> Classification | None:
    """The remote reply inside a mail_logs Bounced/Delayed line, read the ESA-aware way."""
    m = _WRAPPED.search(text or "")
    return classify_text(m.group(1)) if m else None


# ---------------------------------------------------------------------------- outputs

def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Input columns first (in their order), then ours."""
    ours = list(ROW_FIELDS) + ["bounce_reason", "log_note", "icid"]
    extra: list[str] = []
    for r in rows:
        for k in r:
            if k not in ours and k not in extra and k != "diagnosis":
                extra.append(k)
    present = {k for r in rows for k in r}
    return extra + [k for k in ours if k in ROW_FIELDS or k in present]


def write_csv(rows: Sequence[dict[str, Any]], fh: Any) -> None:
    cols = columns(rows)
    w = SafeWriter(fh)
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in cols])


def write_csv_stream(items: Iterable[tuple[str, dict[str, Any]]], fh: Any, *, joined: bool = False,
                     errors: list[dict[str, str]] | None = None) -> int:
    """Write rows as they come (bounded memory); the columns are fixed by the first row.

    joined: rows carry the --logs / --tracking columns (bounce_reason, log_note, icid).
    Error records go to `errors`. Returns the number of rows written.
    """
    w = SafeWriter(fh)
    cols: list[str] | None = None
    n = 0
    for kind, item in items:
        if kind != "row":
            if errors is not None:
                errors.append(item)
            continue
        if cols is None:
            ours = list(ROW_FIELDS) + (["bounce_reason", "log_note", "icid"] if joined else [])
            cols = [k for k in item if k not in ours and k != "diagnosis"] + ours
            w.writerow(cols)
        w.writerow([_cell(item.get(c)) for c in cols])
        n += 1
    if cols is None:
        w.writerow(ROW_FIELDS)
    return n


def _cell(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return v


def write_jsonl(items: Iterable[tuple[str, dict[str, Any]]], fh: Any) -> None:
    for kind, item in items:
        out = item if kind == "row" else {"error": item["error"], "source": item["source"]}
        fh.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")


def _domain(addr: Any) -> str | None:
    if isinstance(addr, str) and "@" in addr:
        return addr.rsplit("@", 1)[1].lower()
    return None


def parse_date(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    v = value.strip()
    try:
        d = parsedate_to_datetime(v)
        if d is not None:
            return d.replace(tzinfo=None)
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in ("%a %b %d %H:%M:%S %Y", "%b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"):
        try:
            return datetime.strptime(" ".join(v.split())[:len(datetime.now().strftime(fmt)) + 6], fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def totals(rows: Sequence[dict[str, Any]], errors: Sequence[dict[str, str]]) -> dict[str, Any]:
    outcomes = Counter(r.get("outcome") or "unknown" for r in rows)
    return {
        "rows": len(rows), "errors": len(errors),
        "problems": sum(n for o, n in outcomes.items() if o not in _NOT_PROBLEMS),
        "outcomes": dict(outcomes.most_common()),
        "hard": sum(1 for r in rows if r.get("hard") is True),
        "esa": sum(1 for r in rows if r.get("esa")),
        "reasons": dict(Counter(r.get("reason") or "undefined" for r in rows).most_common()),
    }


def group_by_cause(rows: Sequence[dict[str, Any]], top: int = 5) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r.get("cause") or r.get("reason") or "unknown", r.get("stage") or "", r.get("outcome") or "")].append(r)
    out = []
    for (cause, stage, outcome), rs in groups.items():
        out.append({
            "cause": cause, "stage": stage, "outcome": outcome, "count": len(rs),
            "reason": Counter(r.get("reason") for r in rs).most_common(1)[0][0],
            "hard": sum(1 for r in rs if r.get("hard") is True),
            "sender_domains": Counter(d for r in rs if (d := _domain(r.get("sender")))).most_common(top),
            "recipient_domains": Counter(d for r in rs if (d := _domain(r.get("recipient")))).most_common(top),
            "ips": Counter(r["ip"] for r in rs if r.get("ip")).most_common(top),
            "example": rs[0].get("summary", ""), "first_row": rs[0].get("_n"),
        })
    out.sort(key=lambda g: (g["outcome"] in _NOT_PROBLEMS, _OUTCOME_ORDER.get(g["outcome"], 9), -g["count"]))
    return out


def histogram(rows: Sequence[dict[str, Any]], bins: int = 24) -> dict[str, Any]:
    times = [t for r in rows if (t := parse_date(r.get("date"))) is not None]
    if not times:
        return {"bars": [], "undated": len(rows)}
    lo, hi = min(times), max(times)
    span = (hi - lo).total_seconds()
    if span <= 0:
        return {"bars": [{"label": lo.strftime("%Y-%m-%d %H:%M"), "count": len(times)}],
                "undated": len(rows) - len(times)}
    width = span / bins
    counts = [0] * bins
    for t in times:
        i = min(int((t - lo).total_seconds() / width), bins - 1)
        counts[i] += 1
    fmt = "%Y-%m-%d %H:%M" if span < 3 * 86400 else "%Y-%m-%d"
    bars = []
    for i, n in enumerate(counts):
        start = datetime.fromtimestamp(lo.timestamp() + i * width)
        bars.append({"label": start.strftime(fmt), "count": n})
    return {"bars": bars, "undated": len(rows) - len(times)}


def delivery_status(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Destinations with recipients still queued (deferred): count, last error, retry advice.

    The view behind Monitor > Delivery Status; the advice is the diagnosis's least risky
    recommendation when the logs were read, else the CLI command that retries the domain.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get("outcome") == "deferred":
            groups[_domain(r.get("recipient")) or "(unknown destination)"].append(r)
    out = []
    for domain, rs in groups.items():
        last = max(rs, key=lambda r: parse_date(r.get("date")) or datetime.min)
        recs = ((last.get("diagnosis") or {}).get("recommendations") or [])
        advice = f"{recs[0].get('title', '')} ({recs[0].get('cli', '')})" if recs else (
            f"fix the cause, then retry: CLI `delivernow` (domain {domain}) or Monitor > Delivery Status > Retry Delivery")
        out.append({"domain": domain, "count": len(rs), "last_time": last.get("date"),
                    "last_error": last.get("remote_text") or last.get("evidence") or last.get("summary") or "",
                    "reason": last.get("reason"), "advice": advice, "row": last.get("_n")})
    out.sort(key=lambda g: -g["count"])
    return out


def sort_problems_first(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r.get("outcome") in _NOT_PROBLEMS, _OUTCOME_ORDER.get(r.get("outcome"), 9)))


HTML_ROW_LIMIT = 5000


def write_html(result: BatchResult, fh: Any, *, title: str = "Bounce report") -> None:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from diagnose.resources import data_dir

    rows = result.rows
    for i, r in enumerate(rows, 1):
        r["_n"] = i
    env = Environment(loader=FileSystemLoader(str(data_dir("reports"))),
                      autoescape=select_autoescape(["html", "j2", "htm"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    tpl = env.get_template("batch.html.j2")
    ordered = sort_problems_first(rows)
    causes = group_by_cause(rows)
    hist = histogram(rows)
    fh.write(tpl.render(
        title=title, input=result.input, form=result.form, totals=totals(rows, result.errors), causes=causes,
        hist=hist, queued=delivery_status(rows), rows=ordered[:HTML_ROW_LIMIT], hidden=max(0, len(ordered) - HTML_ROW_LIMIT),
        errors=result.errors[:1000], hidden_errors=max(0, len(result.errors) - 1000),
        cause_max=max((g["count"] for g in causes), default=1),
        hist_max=max((b["count"] for b in hist["bars"]), default=1),
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
    ))
    for r in rows:
        r.pop("_n", None)
