"""Find stories by sender, recipient, sender IP, MID, Message-ID, subject and time window.

What Message Tracking and `findevent` do, but straight from mail_logs and including rejected
connections. Big logs are prefiltered on bytes before any line is parsed:

1. needle pass: `bytes.find` of the query text (sender, recipient, IP, Message-ID, subject, MID)
   over large chunks; only the hit lines are parsed, and only those whose parsed field really
   matches seed the id sets (ICID, MID, DCID per appliance);
2. id pass: `bytes.find` of every seeded id; lines whose parsed ids belong to the sets are kept,
   and the ids they reveal (the DCIDs a MID was delivered on, its connection, the MIDs it was
   split / rewritten / generated / bounced / reinjected into) join the sets for the rest of the
   pass;
3. catch-up: ids revealed in pass 2 are looked for again before the point they were revealed.

The kept lines are correlated into stories (collectors/correlate.py) and the stories are
filtered by every criterion of the query. A query with a time window only (no needle) parses
everything once, except what the window rules out (`_stream_window`): in file-format logs, which
are in time order, the reader leaves out the pieces older than the window less MARGIN_MIN (after
reading only their last line's timestamp), and the read stops once it is past the window and
every story with a line near it has finished and left the correlator. A story of the answer
whose beginning may lie in the part left out is checked, and the read starts earlier when
needed, so the answer is the full read's. Times are appliance-local, as logged.
"""

from __future__ import annotations

import gzip
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from os import PathLike
from typing import Any

from diagnose.collectors import catalogue
from diagnose.collectors.correlate import CONTEXT_KINDS, IDLE, MAX_OPEN, REJECT_ACTIONS, Correlator, to_events
from diagnose.collectors.reader import SLACK, FileContext, LogFile, LogReader, Skipped
from diagnose.model import ConnectionStory, Event, InputError, MessageStory, Query

SCAN_CHUNK = 8 << 20
MAX_ID_NEEDLES = 400  # beyond this many ids a full parse is cheaper than one find per id
_CONTEXT_NEEDLES = (b"DNS Temporary Failure", b"Deliveries are currently suspended", b"key will expire",
                    b"Failed to bootstrap the DNS", b"DNS query network error", b"Internal SMTP Error",
                    b"Directory Harvest Attack", b"connection rejected on interface", b"Maximum outbound connections",
                    b"throttled by recipient limit")
_ID_KEYS = ("mid", "icid", "dcid", "new_mid", "parent_mid")


@dataclass
class SearchResult:
    """Stories that answer a query, plus what was read to find them."""

    query: Query
    connections: list[ConnectionStory] = field(default_factory=list)
    messages: list[MessageStory] = field(default_factory=list)
    related: list[MessageStory] = field(default_factory=list)  # linked to a match (bcc copy, bounce...) but not matching
    matched: set[tuple[str, int]] = field(default_factory=set)  # (appliance, mid) of `messages`
    context: list[Event] = field(default_factory=list)  # service-health lines near the stories
    files: list[str] = field(default_factory=list)
    bytes_read: int = 0
    lines_parsed: int = 0
    passes: int = 0
    evicted: int = 0  # open stories that went quiet and were emitted early, partial_end (full-read search)
    lines_skipped: int = 0  # window search: lines left out before the window (never parsed) by its last read
    reads: int = 0  # window search: reads (1, or more when a story of the answer began before the first one)
    stopped_early: bool = False  # window search: the read stopped after the window's stories ended
    disordered: bool = False  # window search: time stepped back more than reader.SLACK (no skip, no stop)
    errors: list[str] = field(default_factory=list)

    @property
    def rejected_connections(self) -> list[ConnectionStory]:
        return [c for c in self.connections if not c.mids and _rejected(c)]

    def story(self, mid: int, appliance: str | None = None) -> MessageStory | None:
        return next((m for m in self.messages if m.mid == mid and (appliance is None or m.appliance == appliance)), None)

    def connection(self, icid: int, appliance: str | None = None) -> ConnectionStory | None:
        return next((c for c in self.connections if c.icid == icid and (appliance is None or c.appliance == appliance)),
                    None)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query.to_json(), "files": self.files, "bytes_read": self.bytes_read,
            "lines_parsed": self.lines_parsed, "passes": self.passes, "errors": self.errors,
            "connections": [_story_json(c) for c in self.connections],
            "messages": [_story_json(m) for m in self.messages],
            "related": [_story_json(m) for m in self.related],
            "context": [e.evidence().to_json() for e in self.context],
        }


def _story_json(s: ConnectionStory | MessageStory) -> dict[str, Any]:
    d: dict[str, Any] = {"appliance": s.appliance, "partial_start": s.partial_start, "partial_end": s.partial_end,
                         "events": [{"kind": e.kind, **e.evidence().to_json()} for e in s.events]}
    if isinstance(s, MessageStory):
        d.update(mid=s.mid, icid=s.icid, sender=s.sender, recipients=s.recipients, links=s.links)
    else:
        d.update(icid=s.icid, ip=s.ip, mids=s.mids)
    return d


def _rejected(c: ConnectionStory) -> bool:
    return any((e.kind == "hat_decision" and e.get("action") in REJECT_ACTIONS) or e.kind == "hat_delayed_reject"
               for e in c.events)


# ---------------------------------------------------------------- matching parsed values

def _addr_match(want: str, got: Any) -> bool:
    """Exact address (case-insensitive), or a domain: `example.com` / `@example.com` match its addresses."""
    if not isinstance(got, str) or not got:
        return False
    got = got.strip().strip("<>").lower()
    w = want.strip().strip("<>").lower()
    if "@" in w and not w.startswith("@"):
        return got == w
    dom = w.lstrip("@")
    return got.endswith("@" + dom) or got.endswith("." + dom)


def _norm_msgid(v: str) -> str:
    return v.strip().strip("<>").strip().lower()


def event_matches(q: Query, ev: Event) -> bool:
    """Does this one line carry one of the query's needles (as a parsed field, not just as text)?"""
    f = ev.fields
    if q.sender is not None and any(_addr_match(q.sender, f.get(k)) for k in ("sender",)):
        return True
    if q.recipient is not None and (_addr_match(q.recipient, f.get("recipient"))
                                    or any(_addr_match(q.recipient, r) for r in f.get("recipients", ()))):
        return True
    if q.ip is not None and f.get("ip") == q.ip:
        return True
    if q.mid is not None and q.mid in (f.get("mid"), f.get("new_mid"), f.get("parent_mid")):
        return True
    if q.message_id is not None and isinstance(f.get("message_id"), str) \
            and _norm_msgid(f["message_id"]) == _norm_msgid(q.message_id):
        return True
    return q.subject is not None and isinstance(f.get("subject"), str) and q.subject.lower() in f["subject"].lower()


def story_matches(q: Query, s: MessageStory | ConnectionStory, conn_of: Callable[[MessageStory], Any]) -> bool:
    """All criteria of the query hold for this story (AND)."""
    evs = s.events
    if isinstance(s, MessageStory):
        conn = conn_of(s)
        checks = []
        if q.sender is not None:
            checks.append(any(_addr_match(q.sender, e.get("sender")) for e in evs))
        if q.recipient is not None:
            checks.append(any(_addr_match(q.recipient, e.get("recipient"))
                              or any(_addr_match(q.recipient, r) for r in e.get("recipients", ())) for e in evs))
        if q.ip is not None:
            checks.append(any(e.get("ip") == q.ip for e in evs) or (conn is not None and conn.ip == q.ip))
        if q.mid is not None:
            checks.append(s.mid == q.mid)
        if q.message_id is not None:
            checks.append(any(e.kind in ("mid_message_id", "cef_event") and isinstance(e.get("message_id"), str)
                              and _norm_msgid(e.get("message_id")) == _norm_msgid(q.message_id) for e in evs))
        if q.subject is not None:
            checks.append(any(e.kind in ("mid_subject", "cef_event") and isinstance(e.get("subject"), str)
                              and q.subject.lower() in e.get("subject").lower() for e in evs))
    else:
        # a connection answers only for what a connection knows: its IP (and the window)
        if any(v is not None for v in (q.sender, q.recipient, q.mid, q.message_id, q.subject)):
            return False
        checks = [s.ip == q.ip] if q.ip is not None else []
    return all(checks) and _in_window(q, evs)


def _in_window(q: Query, evs: list[Event]) -> bool:
    if q.since is None and q.until is None:
        return True
    return any(e.ts is not None and (q.since is None or e.ts >= q.since) and (q.until is None or e.ts <= q.until)
               for e in evs)


# ---------------------------------------------------------------- byte scanning

@dataclass
class _Hit:
    file_rank: tuple[int, int]  # (set index, file index in set): the read order
    lineno: int
    offset: int  # byte offset of the line start in the file
    line: str


@dataclass
class _Chunk:
    """Whole lines buf[lo:hi] of a file, buf[0] being at byte `base` of the (decompressed) file.
    The big reads are scanned in place (no copy); only a line cut by a read is joined."""

    buf: bytes
    lo: int
    hi: int
    base: int
    lines_before: int = 0
    joined: bool = False  # a line cut by two reads, joined

    @property
    def start(self) -> int:
        return self.base + self.lo


_NL_CACHE: dict[tuple, int] = {}  # (file version, offset, length) -> newlines: later passes do not count again


def _file_key(lf: LogFile) -> tuple:
    try:
        st = lf.path.stat()
        return (str(lf.path), st.st_size, st.st_mtime_ns)
    except OSError:
        return (str(lf.path), -1, -1)


def _newlines(lf: LogFile, c: _Chunk) -> int:
    key = (_file_key(lf), c.start, c.hi - c.lo)
    n = _NL_CACHE.get(key)
    if n is None:
        if len(_NL_CACHE) > 100_000:
            _NL_CACHE.clear()
        n = _NL_CACHE[key] = c.buf.count(b"\n", c.lo, c.hi)
    return n


def _chunks(lf: LogFile, errors: list[str], stop: int | None = None,
            counter: list[int] | None = None) -> Iterator[_Chunk]:
    """Line-aligned pieces of the file, in order, with line numbers; up to about `stop` bytes."""
    try:
        fh = lf.open()
    except OSError as exc:
        errors.append(f"{lf.display}: {exc}")
        return
    with fh:
        base = 0  # file offset of data[0]
        tail = b""  # the unfinished last line of the previous read
        lines = 0
        while stop is None or base < stop:
            try:
                data = fh.read(SCAN_CHUNK)
            except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
                errors.append(f"{lf.display}: unreadable after this point ({exc})")
                data = b""
            if counter is not None:
                counter[0] += len(data)
            if not data:
                if tail:
                    yield _Chunk(tail + b"\n", 0, len(tail) + 1, base - len(tail), lines)
                return
            first = data.find(b"\n")
            if first < 0:
                tail = (tail + data)[-(1 << 20):]  # an endless line: keep its last MiB
                base += len(data)
                continue
            lo = 0
            if tail:
                piece = _Chunk(tail + data[: first + 1], 0, len(tail) + first + 1, base - len(tail), lines, True)
                yield piece
                lines += 1
                lo = first + 1
            hi = data.rfind(b"\n") + 1
            if lo < hi:
                c = _Chunk(data, lo, hi, base, lines)
                yield c
                lines += _newlines(lf, c)
            tail = data[hi:]
            base += len(data)


def _scan_chunk(c: _Chunk, needles: Iterable[bytes], rank: tuple[int, int]) -> list[_Hit]:
    """Lines of one chunk that contain any of the needles (a needle ending in a digit must end the number)."""
    buf, lo, hi = c.buf, c.lo, c.hi
    starts: set[int] = set()
    find, rfind = buf.find, buf.rfind
    for needle in needles:
        digit_end = needle[-1:].isdigit()
        pos = find(needle, lo, hi)
        while pos >= 0:
            after = pos + len(needle)
            if not digit_end or after >= hi or not 48 <= buf[after] <= 57:
                starts.add(rfind(b"\n", lo, pos) + 1 or lo)
            pos = find(needle, after, hi)
    hits = []
    last, n = lo, c.lines_before
    for start in sorted(starts):
        n += buf.count(b"\n", last, start)
        last = start
        end = find(b"\n", start, hi)
        line = buf[start:end if end >= 0 else hi][:65536].decode("utf-8", "replace")
        if line.endswith("\r"):
            line = line[:-1]
        hits.append(_Hit(rank, n + 1, c.base + start, line))
    return hits


def _scan(lf: LogFile, rank: tuple[int, int], needles: Callable[[], list[bytes]], errors: list[str],
          on_chunk_end: Callable[[int], None] | None = None, stop: int | None = None,
          counter: list[int] | None = None) -> Iterator[_Hit]:
    """Lines of one file that contain any of the needles; `needles` is asked again for every chunk."""
    for c in _chunks(lf, errors, stop, counter):
        yield from _scan_chunk(c, needles(), rank)
        if on_chunk_end is not None:
            on_chunk_end(c.base + c.hi)


def _needles_for(q: Query) -> list[bytes]:
    """Byte strings that every matching line must contain at least one of."""
    out: list[str] = []
    for addr in (q.sender, q.recipient):
        if addr:
            a = addr.strip().strip("<>")
            if "@" in a and not a.startswith("@"):
                local, _, dom = a.rpartition("@")
                out += [a, a.lower(), a.upper(), f"{local}@{dom.lower()}"]
            else:
                d = a.lstrip("@")
                out += [d, d.lower(), d.upper()]
    if q.ip:
        out.append(q.ip)
    if q.mid is not None:
        out += [f" {q.mid}", f"ID={q.mid}"]
    if q.message_id:
        m = q.message_id.strip().strip("<>").strip()
        out += [m, m.lower()]
    if q.subject:
        # the longest stretch without quote or backslash survives the log's repr quoting
        parts = [p for p in q.subject.replace("\\", "'").replace('"', "'").split("'") if p.strip()]
        best = max(parts, key=len) if parts else q.subject
        out += [best, best.lower(), best.upper(), best.title()]
    seen: list[bytes] = []
    for s in out:
        b = s.encode("utf-8", "replace")
        if b and b not in seen:
            seen.append(b)
    return seen


# ---------------------------------------------------------------- the search

class _IdSets:
    """ids per appliance that belong to the answer; grows while scanning."""

    def __init__(self) -> None:
        self.mids: set[tuple[str, int]] = set()
        self.icids: set[tuple[str, int]] = set()
        self.dcids: set[tuple[str, int]] = set()
        self.numbers: set[int] = set()  # every id number, whatever the appliance
        self.order: list[int] = []  # the same, in the order they were found
        self.version = 0

    def _add(self, s: set, app: str, v: Any) -> bool:
        if isinstance(v, int) and v > 0 and (app, v) not in s:
            s.add((app, v))
            if v not in self.numbers:
                self.numbers.add(v)
                self.order.append(v)
                self.version += 1
            return True
        return False

    def seed(self, ev: Event) -> None:
        f, app = ev.fields, ev.appliance
        if isinstance(f.get("mid"), int) and f["mid"] > 0:
            self.take(ev, force=True)
        elif isinstance(f.get("icid"), int):
            self._add(self.icids, app, f["icid"])
        elif isinstance(f.get("dcid"), int):
            self._add(self.dcids, app, f["dcid"])

    def take(self, ev: Event, force: bool = False) -> bool:
        """Keep this line? (its own ids are in the sets); adds the ids it reveals."""
        f, app = ev.fields, ev.appliance
        mid = f.get("mid")
        if isinstance(mid, int) and mid > 0:
            related = (f.get("new_mid"), f.get("parent_mid"))
            icid = f.get("icid")
            # a message injected over a connection of the answer belongs to it ("MID m ICID n From:");
            # ICID 0 (generated on the box) joins nothing. A DCID carries many MIDs: it pulls in none.
            over_icid = isinstance(icid, int) and icid > 0 and (app, icid) in self.icids
            if (not force and not over_icid and (app, mid) not in self.mids
                    and not any((app, r) in self.mids for r in related)):
                return False
            self._add(self.mids, app, mid)
            for r in related:
                self._add(self.mids, app, r)
            self._add(self.icids, app, f.get("icid"))
            self._add(self.dcids, app, f.get("dcid"))
            return True
        icid = f.get("icid")
        if isinstance(icid, int) and icid > 0:
            return (app, icid) in self.icids
        dcid = f.get("dcid")
        if isinstance(dcid, int):
            return (app, dcid) in self.dcids
        return False

    def needles(self, cef: bool = True) -> list[bytes]:
        return [nd for v in self.order for nd in _id_needles(v, cef)]


def _id_needles(v: int, cef: bool = True) -> tuple[bytes, ...]:
    """How an id number appears: after a space (`MID 12`, `DCID: 12`, `Message 12`, `MID = 12`,
    `Bounced: 12:0`) or, in CEF consolidated events, after `ID=` (`ESAMID=12`)."""
    return (b" %d" % v, b"ID=%d" % v) if cef else (b" %d" % v,)


_CEF_SEEN: dict[tuple, bool] = {}


def _has_cef(lf: LogFile, errors: list[str]) -> bool:
    """Does this file hold CEF consolidated events? (a subscription of its own: its first MiB says)"""
    key = _file_key(lf)
    v = _CEF_SEEN.get(key)
    if v is None:
        v = False
        try:
            with lf.open() as fh:
                v = b"CEF:" in fh.read(1 << 20)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            errors.append(f"{lf.display}: {exc}")
        _CEF_SEEN[key] = v
    return v


def find_stories(
    paths: Iterable[str | PathLike[str]],
    sender: str | None = None,
    recipient: str | None = None,
    ip: str | None = None,
    mid: int | str | None = None,
    message_id: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    year: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """Stories matching ALL given criteria; rejected connections (no MID) are found by IP and window."""
    if mid is not None:
        try:
            mid = int(str(mid).strip())
        except ValueError:
            raise InputError(f"MID must be a number, not {mid!r}") from None
    if since and until and since > until:
        raise InputError("--since is after --until")
    q = Query(sender=sender or None, recipient=recipient or None, ip=(ip or "").strip() or None, mid=mid,
              message_id=message_id or None, subject=subject or None, since=since, until=until)
    reader = LogReader(paths, year=year)
    res = SearchResult(query=q, files=[lf.display for lf in reader.files])
    kept = None
    if q.has_needle:
        try:
            kept = _needle_search(q, reader, res, progress)
        except _TooMany:
            kept = None  # so many stories that one full parse is cheaper
    _correlate(q, reader, res, kept, progress)
    res.errors = list(dict.fromkeys(reader.errors))
    return res


def _needle_search(q: Query, reader: LogReader, res: SearchResult,
                   progress: Callable[[int, int], None] | None) -> list[tuple[tuple[int, int], int, Event]]:
    files = [(si, fi, lf) for si, files in enumerate(reader.sets) for fi, lf in enumerate(files)]
    total = reader.total_bytes
    counter = [0]
    ctxs: dict[tuple[int, int], FileContext] = {}
    appliance_carry: dict[int, str] = {}

    def ctx_of(si: int, fi: int, lf: LogFile) -> FileContext:
        c = ctxs.get((si, fi))
        if c is None:
            c = ctxs[(si, fi)] = FileContext(lf, reader.year, appliance_carry.get(si, ""))
            appliance_carry[si] = c.appliance
        return c

    def parse(hit: _Hit, lf: LogFile) -> Event | None:
        ts, app, level, text = ctx_of(*hit.file_rank, lf).parse(hit.line)
        res.lines_parsed += 1
        r = catalogue.classify(text)
        if r is None:
            return None
        p, m = r
        return Event(p.kind, ts, app, f"{lf.display}:{hit.lineno}", text, catalogue.fields(p, m), level)

    def tick(_offset: int) -> None:
        if progress is not None:
            progress(counter[0], total * max(res.passes, 1))

    anchored: set[int] = set()  # id numbers whose opening line (New SMTP ICID/DCID, Start MID) was found
    kept_offsets: list[int] = []

    def anchor(ev: Event) -> None:
        f = ev.fields
        if ev.kind in ("mid_start", "generated", "bounce_generated"):
            anchored.add(f["mid"])
        elif ev.kind == "icid_new":
            anchored.add(f["icid"])
        elif ev.kind == "dcid_new":
            anchored.add(f["dcid"])
        if isinstance(f.get("new_mid"), int):
            anchored.add(f["new_mid"])  # born on this line: nothing of it comes before

    def take(hit: _Hit, lf: LogFile) -> None:
        key = (hit.file_rank, hit.lineno)
        if key in kept:
            return
        ev = parse(hit, lf)
        if ev is not None and ids.take(ev):
            kept[key] = (hit.file_rank, hit.lineno, ev)
            kept_offsets.append(hit.offset)
            anchor(ev)

    def kept_in_chunk(lo: int, hi: int) -> bool:
        return any(lo <= o < hi for o in kept_offsets[-64:])

    kept: dict[tuple[tuple[int, int], int], tuple[tuple[int, int], int, Event]] = {}
    context: list[Event] = []

    # pass 1: the query's own needles
    ids = _IdSets()
    needles = _needles_for(q)
    res.passes = 1
    for si, fi, lf in files:
        for hit in _scan(lf, (si, fi), lambda: needles, reader.errors, tick, counter=counter):
            ev = parse(hit, lf)
            if ev is None:
                continue
            if event_matches(q, ev):
                ids.seed(ev)
                kept[(hit.file_rank, hit.lineno)] = (hit.file_rank, hit.lineno, ev)
                anchor(ev)
    if len(ids.numbers) > MAX_ID_NEEDLES:
        res.bytes_read = counter[0]
        raise _TooMany()

    # pass 2: every line of those ids. Ids revealed on the way (the DCIDs a MID was delivered on,
    # linked MIDs, the connection) join the needles at once and are looked for again in this
    # chunk and the one before: the lines that open a DCID, MID or ICID come just before. Only ids
    # whose opening line is still missing after that need the catch-up pass 3.
    revealed_at: dict[int, tuple[int, int, int]] = {}  # number -> (set, file, offset of the chunk)
    if ids.numbers:
        res.passes = 2
        for si, fi, lf in files:
            prev: _Chunk | None = None
            cef = _has_cef(lf, reader.errors)
            for c in _chunks(lf, reader.errors, counter=counter):
                known = len(ids.order)
                todo = _scan_chunk(c, ids.needles(cef), (si, fi))
                while todo:
                    before = len(ids.order)
                    for hit in todo:
                        take(hit, lf)
                    todo = []
                    fresh = ids.order[before:]
                    if fresh:  # look again, for the new ids only, in this chunk and the one before
                        needles_new = [nd for v in fresh for nd in _id_needles(v, cef)]
                        todo = _scan_chunk(c, needles_new, (si, fi))
                        if prev is not None:
                            todo += _scan_chunk(prev, needles_new, (si, fi))
                for v in ids.order[known:]:
                    revealed_at.setdefault(v, (si, fi, prev.start if prev is not None else 0))
                if not c.joined or prev is None:
                    prev = c  # a joined line is one line: the look-back keeps the read before it
                tick(c.base + c.hi)
                if kept_in_chunk(c.start, c.base + c.hi):  # service-health lines near the stories
                    for hit in _scan_chunk(c, _CONTEXT_NEEDLES, (si, fi)):
                        ev = parse(hit, lf)
                        if ev is not None and ev.kind in CONTEXT_KINDS:
                            context.append(ev)
        revealed_at = {v: w for v, w in revealed_at.items() if v not in anchored}

    # pass 3: ids revealed in pass 2 were not looked for before the chunk after the one that
    # revealed them; ids revealed here were looked for nowhere
    rounds = 0
    while revealed_at and rounds < 3:
        rounds += 1
        res.passes += 1
        todo, revealed_at = revealed_at, {}
        for si, fi, lf in files:
            wanted = [v for v, w in todo.items() if (si, fi) <= w[:2]]
            if not wanted:
                continue
            here = [w[2] for v, w in todo.items() if w[:2] == (si, fi)]
            stop = max(here) + SCAN_CHUNK if len(here) == len(wanted) else None
            cef = _has_cef(lf, reader.errors)
            needle_list = [n for v in wanted for n in _id_needles(v, cef)]
            for hit in _scan(lf, (si, fi), lambda nl=needle_list: nl, reader.errors, tick, stop=stop,
                             counter=counter):
                key = (hit.file_rank, hit.lineno)
                if key in kept:
                    continue
                ev = parse(hit, lf)
                if ev is None:
                    continue
                before = len(ids.order)
                if ids.take(ev):
                    kept[key] = (hit.file_rank, hit.lineno, ev)
                    anchor(ev)
                if len(ids.order) != before:
                    for v in ids.order[before:]:
                        revealed_at[v] = (1 << 30, 0, 0)  # look everywhere

    seen_ctx: set[str] = set()
    res.context = [e for e in context if not (e.source in seen_ctx or seen_ctx.add(e.source))]
    res.bytes_read = counter[0]
    return list(kept.values())


class _TooMany(Exception):
    """Too many ids for the byte prefilter: parse everything instead."""


def _correlate(q: Query, reader: LogReader, res: SearchResult,
               kept: list[tuple[tuple[int, int], int, Event]] | None,
               progress: Callable[[int, int], None] | None = None) -> None:
    if kept is None:  # everything is read: open stories gone quiet leave early (partial_end), memory stays bounded
        _stream_window(q, reader, res, progress)
        return
    # only the lines of the wanted ids: few, and kept whole
    corr = Correlator()
    kept.sort(key=lambda k: (k[0], k[1]))
    events = [k[2] for k in kept]
    if len(reader.sets) > 1:  # several sets: merge by time, stable for lines of one file
        events.sort(key=lambda e: e.ts or datetime.min)
    for ev in events:
        corr.feed(ev)
    _collect(q, res, corr.drain() + corr.finish(), corr)
    _finish(q, res)


PREFILTER_WINDOW = True  # False: the window search reads everything (the reference the tests compare with)
MARGIN_MIN = 10  # minutes around the window whose stories are kept as candidates for links and connections
RECENT_STORIES = 20_000  # stories kept back (not matching) so that a later match finds an earlier link or connection


GRACE = 4096  # finished stories the correlator keeps for late lines (its default)
LOOK_BACK = IDLE + IDLE / 4  # a story quiet this long before the read's first line was evicted by a full read
STEPS = (timedelta(hours=1), LOOK_BACK)  # how much earlier each new read starts (a delayed message retries hourly)
_OPENERS = {"mid_start": ("m", "mid"), "generated": ("m", "mid"), "bounce_generated": ("m", "mid"),
            "policy_split": ("m", "new_mid"), "rewritten": ("m", "new_mid"), "isq_reinjected": ("m", "new_mid"),
            "icid_new": ("c", "icid"), "dcid_new": ("d", "dcid")}


def _stream_window(q: Query, reader: LogReader, res: SearchResult,
                   progress: Callable[[int, int], None] | None) -> None:
    """The full-read search, left out what the window rules out; the same answer as a read of everything.

    The read starts MARGIN_MIN before `since` (the reader skips older pieces of file-format files,
    and reads syslog files whole). A story of the answer marked partial_start may then have begun
    in the part left out: ESA numbers MIDs, ICIDs and DCIDs upwards, so one whose id is below the
    first id opened after the start (per appliance) may have; then the read starts earlier (an
    hour, then LOOK_BACK more), then at the beginning. A story quiet for IDLE is evicted the same
    way, but the sweeps are timed from the first line read: a story quiet for between IDLE and
    IDLE + IDLE/4 may be split where a read of everything would not split it (or the reverse)."""
    start = q.since - timedelta(minutes=MARGIN_MIN) if q.since is not None and PREFILTER_WINDOW else None
    reader.lines_read = 0
    for attempt in range(4):
        res.reads = attempt + 1
        reader.start = start if attempt < 3 else None  # the fourth read reads everything
        reader.skipped = Skipped()
        for name in ("connections", "messages", "related", "context"):
            setattr(res, name, [])
        res.matched = set()
        opened = _stream_all(q, reader, res, Correlator(grace=GRACE, idle=IDLE, max_open=MAX_OPEN), progress)
        _finish(q, res)
        res.lines_skipped = reader.skipped.lines
        if reader.skipped.lines == 0 and reader.skipped.bytes == 0:
            return
        if res.disordered:  # the order the skip relied on does not hold: read everything
            start = None
            continue
        if not _may_begin_earlier(res, opened):
            return
        start -= STEPS[min(attempt, len(STEPS) - 1)]  # type: ignore[operator]


_WAITED = ("quarantine", "isq_")  # kinds of a message that may sit for days without a line (never evicted as quiet)


def _may_begin_earlier(res: SearchResult, opened: dict) -> bool:
    """Could a story of the answer have lines before the read started? Its first line is missing,
    its id is older than the first one opened in the read, and it has a line less than LOOK_BACK
    after the read's first line (a read of everything would have evicted one quiet for longer),
    or it waited in a quarantine."""
    none = 1 << 62
    first = opened.get("first")
    if first is None:
        return False

    def early(evs: list[Event]) -> bool:
        ts = next((e.ts for e in evs if e.ts is not None), None)
        return ts is None or ts < first + LOOK_BACK or any(e.kind.startswith(_WAITED) for e in evs)

    for m in res.messages + res.related:
        if m.partial_start and m.mid < opened.get(("m", m.appliance), none) and early(m.events):
            return True
        opened_here = {e.fields.get("dcid") for e in m.events if e.kind == "dcid_new"}
        for e in m.events:
            d = e.fields.get("dcid")
            if isinstance(d, int) and 0 < d < opened.get(("d", m.appliance), none) and d not in opened_here \
                    and early([e]):
                return True
    return any(c.partial_start and c.icid and c.icid < opened.get(("c", c.appliance), none) and early(c.events)
               for c in res.connections)


def _stream_all(q: Query, reader: LogReader, res: SearchResult, corr: Correlator,
                progress: Callable[[int, int], None] | None) -> dict:
    """Read and correlate (everything the reader gives), keeping only what the answer can need:
    stories that match, stories near the window, and a bounded set of recent ones for connections
    and links. Past the window, stops when no story near it is open and no link is awaited.
    Returns the first id opened per (m|c|d, appliance), and the first line's time as "first"."""
    margin = timedelta(minutes=MARGIN_MIN)
    lo = q.since - margin if q.since else None
    hi = q.until + margin if q.until else None
    windowed = lo is not None or hi is not None
    keep_m: dict[tuple[str, int], MessageStory] = {}
    keep_c: dict[tuple[str, int], ConnectionStory] = {}
    recent_m: OrderedDict[tuple[str, int], MessageStory] = OrderedDict()
    recent_c: OrderedDict[tuple[str, int], ConnectionStory] = OrderedDict()

    def conn_of(m: MessageStory) -> ConnectionStory | None:
        k = (m.appliance, m.icid or 0)
        return (keep_c.get(k) or recent_c.get(k) or corr.conns.get(k)  # type: ignore[return-value]
                or corr.grace.get(("c", *k)))  # closed, not out yet

    def near(s: MessageStory | ConnectionStory) -> bool:
        return windowed and any(e.ts is not None and (lo is None or e.ts >= lo) and (hi is None or e.ts <= hi)
                                for e in s.events)

    def keep(table: dict, key: tuple, s: MessageStory | ConnectionStory) -> None:
        old = table.get(key)
        if old is not None and old is not s:  # an earlier story of the same id (evicted, or the id reused): keep both
            table[(*key, id(old))] = old
        table[key] = s

    wanted: set[tuple[str, int]] = set()  # MIDs a kept story links to that have not come out yet
    wanted_c: set[tuple[str, int]] = set()  # connections of kept messages that have not come out yet
    # of those, the ones the answer needs (links and connections of stories in the window, and of their
    # links): the read may stop only when none is awaited; the others only help stories near the window
    wanted_answer: set[tuple[str, int]] = set()
    wanted_c_answer: set[tuple[str, int]] = set()

    def keep_conn(m: MessageStory, answer: bool) -> None:
        c = conn_of(m)
        if c is not None:
            keep(keep_c, (c.appliance, c.icid), c)
        elif m.icid:
            wanted_c.add((m.appliance, m.icid))
            if answer:
                wanted_c_answer.add((m.appliance, m.icid))

    def keep_related(s: MessageStory, answer: bool) -> None:
        """A kept story's links: those already out move from the recent ones, the others are awaited."""
        todo = [s]
        seen = {id(s)}
        while todo:
            m = todo.pop()
            for _how, other in m.links:
                k = (m.appliance, other)
                o = recent_m.pop(k, None)
                if o is not None:
                    keep(keep_m, k, o)
                    seen.add(id(o))
                    todo.append(o)
                    keep_conn(o, answer)
                elif k not in keep_m:
                    wanted.add(k)
                    if answer:
                        wanted_answer.add(k)
                elif answer and id(keep_m[k]) not in seen:  # kept as near the window: its links are the answer's too
                    o = keep_m[k]
                    seen.add(id(o))
                    todo.append(o)
                    keep_conn(o, True)

    def take(stories: list) -> None:
        for s in stories:
            if isinstance(s, MessageStory):
                key = (s.appliance, s.mid)
                answer = key in wanted_answer or story_matches(q, s, conn_of)
                if answer or key in wanted or near(s):
                    wanted.discard(key)
                    wanted_answer.discard(key)
                    keep(keep_m, key, s)
                    keep_related(s, answer)
                    keep_conn(s, answer)
                else:
                    recent_m[key] = s
                    if len(recent_m) > RECENT_STORIES:
                        recent_m.popitem(last=False)
            else:
                key = (s.appliance, s.icid)
                if key in wanted_c or story_matches(q, s, conn_of) or near(s):
                    wanted_c.discard(key)
                    wanted_c_answer.discard(key)
                    keep(keep_c, key, s)
                else:
                    recent_c[key] = s
                    if len(recent_c) > RECENT_STORIES:
                        recent_c.popitem(last=False)

    def all_quiet() -> bool:
        """No story with a line in the window still open (or finished but still taking late lines), and
        no link or connection of a kept story awaited: later lines cannot change the answer (stories
        only near the window are in it only as such a link or connection)."""
        if wanted_answer or wanted_c_answer:
            return False
        return not any(_in_window(q, s.events) for table in (corr.msgs, corr.conns, corr.grace)
                       for s in table.values())

    # past this time (less the back-steps a file may make) no line can fall in the window any more
    # (syslog files: no year, several hosts, no order known to hold: read to the end)
    ordered = all(lf.ordered for lf in reader.files)
    stop_after = q.until + SLACK if q.until is not None and PREFILTER_WINDOW and ordered else None
    next_check = datetime.min
    opened: dict = {}  # (m|c|d, appliance) -> the first id opened; "first" -> the first line's time
    tally = [0, 0]
    total = reader.total_bytes
    approx = 0
    res.stopped_early = res.disordered = False
    prev_ts = latest = None
    passed = False
    context = corr.context
    window_context: list[Event] = []

    def in_window(e: Event) -> bool:
        return _in_window(q, [e])

    lines = iter(reader)
    events = to_events(lines, tally)
    for ev in events:
        corr.feed(ev)
        op = _OPENERS.get(ev.kind)
        if op is not None:
            v = ev.fields.get(op[1])
            k = (op[0], ev.appliance)
            if isinstance(v, int) and v < opened.get(k, 1 << 62):
                opened[k] = v
        if context and context[-1] is ev and in_window(ev) and len(window_context) < 10_000:
            window_context.append(ev)  # as it comes: the correlator keeps only the latest ones
        if corr.out:
            take(corr.drain())
        if "first" not in opened and ev.ts is not None:
            opened["first"] = ev.ts
            passed = stop_after is None or ev.ts <= stop_after  # the read began before the stop point
        if progress is not None:
            approx += len(ev.text) + 32  # about the line's size: the bar is a rough guide here
            if not tally[0] & 0x3FFF:
                progress(approx + reader.skipped.bytes, total)
        ts = ev.ts
        if ts is not prev_ts and ts is not None:  # a new second: is the time order what the stop relies on?
            prev_ts = ts
            if latest is None or ts > latest:
                latest = ts
            elif ts < latest - SLACK:
                res.disordered = True
        if stop_after is not None and ts is not None and ts > stop_after and ts >= next_check \
                and passed and not res.disordered:
            next_check = ts + timedelta(seconds=30)  # log time: the check walks the open stories
            if all_quiet():
                res.stopped_early = True
                break
    events.close()
    lines.close()  # type: ignore[attr-defined]  # the reader counts the lines it handed on
    take(corr.finish())
    res.lines_parsed = reader.lines_read  # every read so far (a stopped generator leaves no tally)
    res.bytes_read = total
    res.passes = 1
    res.evicted = corr.evicted
    # stories kept back that the kept ones link to (split, bcc copy, bounce...)
    todo = list(keep_m.values())
    while todo:
        m = todo.pop()
        for _how, other in m.links:
            o = recent_m.pop((m.appliance, other), None)
            if o is not None:
                keep(keep_m, (o.appliance, o.mid), o)
                todo.append(o)
    res.messages = list(keep_m.values())
    res.connections = list(keep_c.values())
    res.context = window_context
    return opened


def _collect(q: Query, res: SearchResult, stories: list, corr: Correlator) -> None:
    for s in stories:
        if isinstance(s, MessageStory):
            res.messages.append(s)
        else:
            res.connections.append(s)


def _finish(q: Query, res: SearchResult) -> None:
    """Keep the stories that match the query, the connections of matched messages and the related MIDs."""
    conns = {(c.appliance, c.icid): c for c in res.connections}
    msgs = {(m.appliance, m.mid): m for m in res.messages}

    def conn_of(m: MessageStory) -> ConnectionStory | None:
        return conns.get((m.appliance, m.icid)) if m.icid else None

    matched = [m for m in res.messages if story_matches(q, m, conn_of)]
    res.matched = {(m.appliance, m.mid) for m in matched}
    keep_m: dict[tuple[str, int], MessageStory] = {}
    todo = list(matched)
    while todo:  # related MIDs: split, rewritten, generated, bounce, reinjected (both ways)
        m = todo.pop()
        key = (m.appliance, m.mid)
        if key in keep_m:
            continue
        keep_m[key] = m
        for _how, other in m.links:
            o = msgs.get((m.appliance, other))
            if o is not None and (o.appliance, o.mid) not in keep_m:
                todo.append(o)
    keep_c = {(c.appliance, c.icid): c for c in res.connections if story_matches(q, c, conn_of)}
    for m in keep_m.values():
        c = conn_of(m)
        if c is not None:
            keep_c[(c.appliance, c.icid)] = c
    def order(m: MessageStory) -> tuple:
        return (m.start or datetime.min, m.appliance, m.mid)

    res.messages = sorted(matched, key=order)
    res.related = sorted((m for k, m in keep_m.items() if k not in res.matched), key=order)
    res.connections = sorted(keep_c.values(), key=lambda c: (c.start or datetime.min, c.appliance, c.icid))
