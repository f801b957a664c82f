"""Correlation: events -> ConnectionStory (ICID) and MessageStory (MID), streaming.

Keys are (appliance, id) because MIDs and ICIDs repeat across appliances. A story is emitted
when it is finished (`Message finished` / old-style `Message aborted`, `ICID n close`) after a
short grace period (late lines such as the `close` after `lost`, or the `Message finished`
after `Message aborted`, still join it); open stories are emitted at end of input marked
`partial_end`. A story whose first line is missing (`Start MID`, `New SMTP ICID`) is marked
`partial_start`; nothing is guessed. Memory is bounded by the open stories, not the log size,
and open stories are bounded too: real appliances leave some open for good (a connection cut
without its close, a message still queued when the log rotated). An open story that has had no
line for `idle` of log time (6 hours: longer than the longest retry interval of a delayed
delivery) is emitted early, marked `partial_end`, like one open at end of input; a message held
in a quarantine waits there for days without a line, so it is exempt from that age limit. Past
`max_open` open stories of a kind, the least recently seen tenth goes out the same way. A later
line of an evicted story starts a new one, marked `partial_start`. Nothing evicted is dropped:
it goes out through `feed()` like a finished story, so a search still sees and returns it.
These bounds are for streaming consumers (the search passes `idle=IDLE, max_open=MAX_OPEN`);
`Correlator()` without them keeps every open story to the end, as `count_stories()` counts.

- ICID 0 messages are generated on the box (bounces, bcc/notify copies, ISQ notifications);
  they get no ConnectionStory. `ICID 0 TCPREFUSE ...` (refused before an ICID was allocated)
  is a complete one-line ConnectionStory of its own.
- Split, rewritten, generated, bounce and reinjected MIDs are linked both ways.
- Delivery lines carry the MID; DCID-only lines (`New SMTP DCID`, TLS, `Connection Error`,
  `DCID close`) join every MID delivered on that DCID, including those that come later.

`count_stories()` is the fast path for `logs stats`: the same keys and lifecycle rules, but
only sets of ids, no Event objects.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from diagnose.model import ConnectionStory, Event, MessageStory

Story = ConnectionStory | MessageStory

# link kind on the line's MID -> (link stored on the source MID, reverse stored on the other MID)
_LINKS = {
    "policy_split": ("split_to", "split_from"),
    "rewritten": ("rewritten_to", "rewritten_from"),
    "isq_reinjected": ("reinjected_as", "reinjected_from"),
}
# kinds whose MID is the NEW message, pointing back at parent_mid
_CHILD_LINKS = {"generated": ("generated", "generated_from"), "bounce_generated": ("bounce", "bounce_of")}
_MSG_END = frozenset(("message_finished", "message_aborted", "mid_aborted_receiving"))
_DCID_ONLY = frozenset(("dcid_new", "dcid_tls", "dcid_tls_required_failed", "dcid_close", "connection_error",
                        "possible_delivery"))
CONTEXT_KINDS = frozenset(("engine_error", "dns_error", "dns_temp_failure", "key_expiry", "deliveries_suspended",
                           "internal_smtp_error", "status_line", "alert",
                           # no ICID/MID on these: rules join them to a case by IP (DHAP, listener) or show them
                           # as delivery context (Destination Controls)
                           "dhap", "listener_rejected", "destination_limit"))
REJECT_ACTIONS = frozenset(("REJECT", "TCPREFUSE"))
IDLE = timedelta(hours=6)  # log time without a line after which an open story is emitted, partial_end
MAX_OPEN = 100_000  # open message stories (and as many connections) kept at most
_WAITING = frozenset(("quarantined", "isq_quarantined"))  # a message that may sit for days without a line


@dataclass
class _Dcid:
    events: list[Event] = field(default_factory=list)
    mids: list[int] = field(default_factory=list)


class Correlator:
    """Feed events in (roughly) time order; collect finished stories from `feed()` and `finish()`."""

    def __init__(self, grace: int = 4096, max_dcids: int = 200_000, context: int = 2000,
                 idle: timedelta | None = None, max_open: int | None = None) -> None:
        # bounds for streaming consumers (search passes IDLE, MAX_OPEN); off by default, so that
        # `stories()` and the counting path agree story for story
        self.idle = idle
        self.max_open = max_open if max_open is not None else 1 << 62
        self._next_sweep: datetime | None = None
        self.evicted = 0  # open stories emitted early (idle or over max_open), all marked partial_end
        self.conns: dict[tuple[str, int], ConnectionStory] = {}
        self.msgs: dict[tuple[str, int], MessageStory] = {}
        self.dcids: OrderedDict[tuple[str, int], _Dcid] = OrderedDict()
        self.grace: OrderedDict[tuple[str, str, int], Story] = OrderedDict()
        self.grace_size = grace
        self.max_dcids = max_dcids
        self.context: deque[Event] = deque(maxlen=context)  # service-health lines (no ids), most recent
        self._started: set[int] = set()  # id() of stories whose first line was seen (or born by a link)
        self.out: list[Story] = []

    # -- story lookup
    def _msg(self, app: str, mid: int, create: bool = True) -> MessageStory | None:
        key = (app, mid)
        s = self.msgs.get(key)
        if s is None:
            s = self.grace.get(("m", app, mid))  # type: ignore[assignment]
            if s is None and create:
                s = MessageStory(appliance=app, mid=mid)
                self.msgs[key] = s
        return s

    def _conn(self, app: str, icid: int, create: bool = True) -> ConnectionStory | None:
        s = self.conns.get((app, icid))
        if s is None:
            s = self.grace.get(("c", app, icid))  # type: ignore[assignment]
            if s is None and create:
                s = ConnectionStory(appliance=app, icid=icid)
                self.conns[(app, icid)] = s
        return s

    # -- bounded memory: open stories that have gone quiet leave early, partial_end
    @staticmethod
    def _last_seen(story: Story) -> datetime:
        for ev in reversed(story.events):
            if ev.ts is not None:
                return ev.ts
        return datetime.min

    def _evict(self, tag: str, key: tuple[str, int]) -> None:
        story = (self.msgs if tag == "m" else self.conns).pop(key)
        self.evicted += 1
        self._emit(story, ended=False)  # type: ignore[arg-type]

    def _evict_oldest(self, tag: str) -> None:
        """Over max_open: the least recently seen tenth goes out (amortised: one sort per tenth)."""
        import heapq

        table = self.msgs if tag == "m" else self.conns
        last = self._last_seen
        for key in heapq.nsmallest(max(1, len(table) // 10), table, key=lambda k: last(table[k])):
            self._evict(tag, key)

    def _sweep(self, now: datetime) -> None:
        cutoff = now - self.idle  # type: ignore[operator]
        last = self._last_seen
        for tag, table in (("m", self.msgs), ("c", self.conns)):
            # a story born by a link has no line of its own yet: nothing says it went quiet
            old = [k for k, s in table.items() if s.events and last(s) < cutoff
                   and not (tag == "m" and any(e.kind in _WAITING for e in s.events))]
            for key in old:
                self._evict(tag, key)

    def _retire(self, tag: str, app: str, ident: int, story: Story) -> None:
        """Finished: move to the grace queue (late lines may still join), emit the oldest beyond it."""
        (self.msgs if tag == "m" else self.conns).pop((app, ident), None)
        key = (tag, app, ident)
        self.grace[key] = story
        self.grace.move_to_end(key)
        while len(self.grace) > self.grace_size:
            _k, old = self.grace.popitem(last=False)
            self._emit(old, ended=True)

    def _emit(self, story: Story, ended: bool) -> None:
        story.partial_start = id(story) not in self._started
        story.partial_end = not ended
        self._started.discard(id(story))
        self.out.append(story)

    # -- feeding
    def feed(self, ev: Event) -> None:
        ts = ev.ts
        if ts is not None and self.idle is not None:
            if self._next_sweep is None:
                self._next_sweep = ts + self.idle / 4
            elif ts >= self._next_sweep:  # a quarter of the idle time has passed (log time): sweep
                self._sweep(ts)
                self._next_sweep = ts + self.idle / 4
        # over the cap: checked here, before this line's story is looked up, so it is never the one evicted
        if len(self.msgs) > self.max_open:
            self._evict_oldest("m")
        if len(self.conns) > self.max_open:
            self._evict_oldest("c")
        f = ev.fields
        kind = ev.kind
        app = ev.appliance
        mid = f.get("mid")
        if kind in _CHILD_LINKS and isinstance(mid, int):
            self._child_link(ev, app, mid)
            return
        if isinstance(mid, int) and mid > 0:
            self._message_event(ev, app, mid)
            return
        icid = f.get("icid")
        if isinstance(icid, int):
            self._connection_event(ev, app, icid)
            return
        dcid = f.get("dcid")
        if isinstance(dcid, int) and kind in _DCID_ONLY:
            self._dcid_event(ev, app, dcid)
            return
        if kind in CONTEXT_KINDS:
            self.context.append(ev)

    def _connection_event(self, ev: Event, app: str, icid: int) -> None:
        if icid == 0:
            if ev.kind == "hat_decision":  # refused before an ICID was allocated: a story of its own
                s = ConnectionStory(appliance=app, icid=0, events=[ev])
                self._started.add(id(s))
                self._emit(s, ended=True)
            return
        key = ("c", app, icid)
        if ev.kind == "icid_new" and (key in self.grace or (app, icid) in self.conns):
            old = self.grace.pop(key, None) or self.conns.pop((app, icid), None)
            if old is not None:  # the id was reused: the previous connection is over
                self._emit(old, ended=old.first("icid_close") is not None)
        s = self._conn(app, icid)
        assert s is not None
        s.events.append(ev)
        if ev.kind in ("icid_new", "hat_delayed_reject") and len(s.events) == 1:
            self._started.add(id(s))
        if ev.kind in ("icid_close", "icid_killed", "icid_timeout", "icid_lost_dns"):
            self._retire("c", app, icid, s)

    def _message_event(self, ev: Event, app: str, mid: int) -> None:
        f = ev.fields
        kind = ev.kind
        if kind == "mid_start":
            old = self.grace.pop(("m", app, mid), None)
            if old is not None:  # the MID was reused: the finished story goes out as it is
                self._emit(old, ended=True)
            else:
                old = self.msgs.get((app, mid))
                if old is not None and old.events:  # reused, or the logs overlap: the open one ends unfinished
                    del self.msgs[(app, mid)]
                    self._emit(old, ended=False)
        s = self._msg(app, mid)
        assert s is not None
        s.events.append(ev)
        if kind == "mid_start":
            self._started.add(id(s))
        icid = f.get("icid")
        if isinstance(icid, int) and s.icid is None:
            s.icid = icid
            if icid > 0:
                c = self._conn(app, icid)
                assert c is not None
                if mid not in c.mids:
                    c.mids.append(mid)
        dcid = f.get("dcid")
        if isinstance(dcid, int):
            d = self.dcids.get((app, dcid))
            if d is None:
                d = self.dcids[(app, dcid)] = _Dcid()
                if len(self.dcids) > self.max_dcids:
                    self.dcids.popitem(last=False)
            if mid not in d.mids:
                d.mids.append(mid)
                if d.events:  # DCID lines logged before this MID joined the connection
                    s.events[-1:-1] = d.events
        link = _LINKS.get(kind)
        if link is not None and isinstance(f.get("new_mid"), int):
            new = f["new_mid"]
            s.links.append((link[0], new))
            child = self._msg(app, new)
            assert child is not None
            child.links.append((link[1], mid))
            if not child.events:
                self._started.add(id(child))  # born here: its start is this line, not missing
            if child.icid is None:
                child.icid = s.icid
        if kind in _MSG_END or (kind == "filter_action" and ev.text.startswith("Message aborted")):
            self._retire("m", app, mid, s)

    def _child_link(self, ev: Event, app: str, mid: int) -> None:
        parent_mid = ev.fields.get("parent_mid")
        s = self._msg(app, mid)
        assert s is not None
        fwd, rev = _CHILD_LINKS[ev.kind]
        if isinstance(parent_mid, int):
            s.links.append((rev, parent_mid))
            parent = self._msg(app, parent_mid, create=False)
            if parent is not None:
                parent.links.append((fwd, mid))
        if not s.events:
            self._started.add(id(s))
        s.events.append(ev)

    def _dcid_event(self, ev: Event, app: str, dcid: int) -> None:
        key = (app, dcid)
        d = self.dcids.get(key)
        if d is None:
            d = self.dcids[key] = _Dcid()
            if len(self.dcids) > self.max_dcids:
                self.dcids.popitem(last=False)
        for mid in d.mids:
            s = self._msg(app, mid, create=False)
            if s is not None:
                s.events.append(ev)
        if len(d.events) < 32:
            d.events.append(ev)
        if ev.kind == "dcid_close":
            self.dcids.pop(key, None)

    def drain(self) -> list[Story]:
        out, self.out = self.out, []
        return out

    def finish(self) -> list[Story]:
        """End of input: emit what is in the grace queue, then the open stories as partial_end."""
        for story in self.grace.values():
            self._emit(story, ended=True)
        self.grace.clear()
        for story in list(self.conns.values()) + list(self.msgs.values()):  # type: ignore[operator]
            self._emit(story, ended=False)
        self.conns.clear()
        self.msgs.clear()
        return self.drain()


def to_events(lines: Iterable[tuple], tally: list[int] | None = None) -> Iterator[Event]:
    """Reader lines -> Events of the recognised ones. tally, when given, becomes [lines, recognised]."""
    from diagnose.collectors import catalogue

    classify, fields = catalogue.classify, catalogue.fields
    n = ok = 0
    for path, lineno, ts, app, level, text in lines:
        n += 1
        r = classify(text)
        if r is None:
            continue
        ok += 1
        p, m = r
        yield Event(p.kind, ts, app, f"{path}:{lineno}", text, fields(p, m), level)
    if tally is not None:
        tally[:] = [n, ok]


def correlate(events: Iterable[Event], grace: int = 4096) -> Iterator[Story]:
    """Stream stories out of an event stream."""
    c = Correlator(grace=grace)
    for ev in events:
        c.feed(ev)
        if c.out:
            yield from c.drain()
    yield from c.finish()


def stories_count_full(lines: Iterable[tuple]) -> tuple[int, int, int, int]:
    """(lines, recognised, connections, messages) through the full path: Events and story objects,
    streamed (stories are dropped as they come out). For benchmarks and cross-checks."""
    tally = [0, 0]
    conns = msgs = 0
    for s in correlate(to_events(lines, tally)):
        if isinstance(s, MessageStory):
            msgs += 1
        else:
            conns += 1
    return tally[0], tally[1], conns, msgs


def stories(events: Iterable[Event]) -> tuple[list[ConnectionStory], list[MessageStory]]:
    conns: list[ConnectionStory] = []
    msgs: list[MessageStory] = []
    for s in correlate(events):
        (msgs if isinstance(s, MessageStory) else conns).append(s)  # type: ignore[arg-type]
    return conns, msgs


class StoryCounter:
    """The counting twin of Correlator: how many connections and messages, how many partial, bounded memory."""

    def __init__(self, recent: int = 4096) -> None:  # as Correlator's grace: late lines join the same way
        # open stories per appliance (the counting loop looks ids up without building a key tuple)
        self.open_c: dict[str, dict[int, bool]] = {}  # app -> icid -> started (first line seen)
        self.open_m: dict[str, dict[int, int]] = {}  # app -> mid -> 0 not started, 1 started, 2 born by a link
        self.recent: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self.recent_size = recent
        self.connections = self.messages = 0
        self.partial_connections = self.partial_messages = 0
        self.rejected_connections = 0
        self.open_connections_at_end = self.open_messages_at_end = 0

    def tables(self, app: str) -> tuple[dict[int, int], dict[int, bool]]:
        """(open messages, open connections) of one appliance, created on first use."""
        om = self.open_m.get(app)
        if om is None:
            om = self.open_m[app] = {}
            self.open_c[app] = {}
        return om, self.open_c[app]

    def _close(self, tag: str, app: str, ident: int, started: bool) -> None:
        if not started:
            if tag == "c":
                self.partial_connections += 1
            else:
                self.partial_messages += 1
        self.recent[(tag, app, ident)] = None
        if len(self.recent) > self.recent_size:
            self.recent.popitem(last=False)

    def conn(self, app: str, icid: int, kind: str, action: str | None = None) -> None:
        if icid == 0:
            if kind == "hat_decision":
                self.connections += 1
                if action in REJECT_ACTIONS:
                    self.rejected_connections += 1
            return
        oc = self.tables(app)[1]
        started = oc.get(icid)
        if started is not None and kind == "icid_new":  # the id was reused: the open one ends here, unfinished
            self.partial_connections += 1
            started = None
        if started is None:
            if ("c", app, icid) in self.recent and kind != "icid_new":
                return  # a late line of a finished connection
            started = kind in ("icid_new", "hat_delayed_reject")
            oc[icid] = started
            self.connections += 1
        if kind == "hat_decision" and action in REJECT_ACTIONS or kind == "hat_delayed_reject":
            self.rejected_connections += 1
        if kind in ("icid_close", "icid_killed", "icid_timeout", "icid_lost_dns"):
            del oc[icid]
            self._close("c", app, icid, started)

    def msg(self, app: str, mid: int, kind: str, born: bool = False) -> None:
        om = self.tables(app)[0]
        started = om.get(mid)
        if started == 2:
            if not born:
                om[mid] = started = 1
        elif started is not None and kind == "mid_start":  # reused, or the logs overlap: the open one ends here
            self.partial_messages += 1
            del om[mid]
            started = None
        if started is None:
            if ("m", app, mid) in self.recent and kind != "mid_start":
                return
            started = 2 if born else int(kind in ("mid_start", "generated", "bounce_generated"))
            om[mid] = started
            self.messages += 1
        if kind in _MSG_END:
            del om[mid]
            self._close("m", app, mid, started)

    def finish(self) -> None:
        self.open_connections_at_end = sum(map(len, self.open_c.values()))
        self.open_messages_at_end = sum(map(len, self.open_m.values()))
        self.partial_connections += self.open_connections_at_end
        self.partial_messages += self.open_messages_at_end
        self.open_c.clear()
        self.open_m.clear()


@dataclass
class LogStats:
    """What `logs stats` reports: coverage and the size of the story graph."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    recognized: int = 0
    shapes: dict[str, int] = field(default_factory=dict)  # pattern name -> count
    kinds: dict[str, int] = field(default_factory=dict)
    unknown_shapes: list[dict] = field(default_factory=list)  # [{shape, count, example, source}]
    connections: int = 0
    rejected_connections: int = 0
    partial_connections: int = 0
    messages: int = 0
    partial_messages: int = 0
    open_connections: int = 0  # of the partial ones: still open at the end of the logs (no final line)
    open_messages: int = 0
    appliances: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def unknown(self) -> int:
        return self.lines - self.recognized

    def to_json(self) -> dict:
        return {
            "files": self.files, "lines": self.lines, "recognized": self.recognized, "unknown": self.unknown,
            "recognized_ratio": round(self.recognized / self.lines, 6) if self.lines else None,
            "unknown_shapes": self.unknown_shapes, "kinds": dict(sorted(self.kinds.items())),
            "connections": self.connections, "rejected_connections": self.rejected_connections,
            "partial_connections": self.partial_connections, "messages": self.messages,
            "partial_messages": self.partial_messages, "appliances": self.appliances,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None, "errors": self.errors,
        }


MAX_SHAPES = 5000  # distinct unknown shapes kept; beyond that they are lumped together


def count_stories(reader, progress: Callable[[int], None] | None = None) -> LogStats:  # noqa: C901
    """Recognise every line and count stories: the fast path behind `logs stats`.

    `reader` is a LogReader. One frame loops over the lines of each 1 MiB block: the file-format
    envelope is cut inline (fixed width), timestamps are cached by their text, one family regex
    recognises the shape and yields the leading id, and no Event objects are built.
    """
    from diagnose.collectors import catalogue
    from diagnose.collectors.envelope import LEVELS, WEEKDAYS, _full_ts

    families, prefixed = catalogue._FAMILIES, catalogue._PREFIX
    subs, sub_first = catalogue._SUB, catalogue._SUB_FIRST
    sub_words: dict[str, dict[str, object]] = {}  # first word -> word after the id -> sub-family regex
    for (w0, w1), rx in subs.items():
        sub_words.setdefault(w0, {})[w1] = rx
    shape = catalogue.shape
    patterns = catalogue.PATTERNS
    # per shape: (mid group, icid group, new_mid group, action group) in its family regex, and
    # whether a line of it can open or close a story in a way the dict fast path would miss
    roles: dict[str, tuple] = {}  # marker group name -> (index, mid group, icid group, new_mid group, action group, ...)
    for p in patterns:
        gid = p.gid
        roles[f"_{p.index}"] = (p.index, gid.get("mid") if "mid" in p.ids else None,
                      gid.get("icid") if "icid" in p.ids else None,
                      gid.get("new_mid") if "new_mid" in p.ids else None, gid.get("action"),
                      p.kind in _MSG_END or p.kind == "mid_start" or p.kind == "filter_action",
                      # old-style `Message aborted MID n Dropped by filter 'x'` is a final line too
                      "message_aborted" if p.name == "filter_aborted" else p.kind, p)
    counts = [0] * len(patterns)
    unknown: dict[str, list] = {}
    counter = StoryCounter()
    conn, msg = counter.conn, counter.msg
    tables = counter.tables
    appliances: set[str] = set()
    n = 0
    lo = hi = prev_ts = None
    prev_key = None
    # The fast path compares each line's first 31 characters (`Www Mmm dD HH:MM:SS YYYY Info: `) with
    # the last ones it checked: one test covers the envelope, the weekday and "same second as before".
    fast_key = "\x00"
    span: list = [None, None]  # first and last timestamp of the lines the fast path took

    def new_second(key: str) -> bool:
        t = _full_ts(key)
        if t is not None:
            if span[0] is None:
                span[0] = span[1] = t
            elif t < span[0]:
                span[0] = t
            elif t > span[1]:
                span[1] = t
        return True
    for ctx, display, first_no, block in reader.blocks():
        app = ctx.appliance
        appliances.add(app)
        open_m, open_c = tables(app)  # the file's appliance; a `Version:` line or a syslog host changes it
        parse = ctx.parse
        for raw in block:
            # -- fast path: `Www Mmm dD HH:MM:SS YYYY Info: word ...` classified in place (no text copy):
            # `MID|ICID|DCID n word` by its sub-family, any other first word by its family regex
            # from column 31; what neither recognises goes on to the general path below
            if (raw.startswith(fast_key) or raw.startswith(" Info: ", 24) and raw[:3] in WEEKDAYS
                    and (fast_key := raw[:31]) and new_second(raw[:24])) and (sp := raw.find(" ", 31)) > 31:
                t0 = raw[31:sp]
                m = None
                shared = None
                words = sub_words.get(t0)
                if words is not None:
                    sp2 = raw.find(" ", sp + 1)
                    if sp2 > 0 and (shared := raw[sp + 1:sp2]).isdecimal():
                        sp3 = raw.find(" ", sp2 + 1)
                        sub = words.get(raw[sp2 + 1:sp3] if sp3 > 0 else raw[sp2 + 1:])
                        if sub is not None:
                            m = sub.match(raw, sp2 + 1)
                    if m is None:
                        shared = None
                if m is None and t0 != "Version:":  # the header line names the appliance: general path
                    rx = families.get(t0)
                    if rx is not None:
                        m = rx.match(raw, 31)
                if m is not None:
                    pi, mg, ig, ng, ag, special, kind, p = roles[m.lastgroup]  # type: ignore[index]
                    counts[pi] += 1
                    if mg is not None:
                        v = shared if shared is not None and mg == "_shared" else m.group(mg)
                        if v is None:
                            continue
                        mid = int(v)
                        if (special or open_m.get(mid) != 1) and mid > 0:
                            msg(app, mid, kind)
                        if ng is not None:
                            msg(app, int(m.group(ng)), "linked", True)
                        if ig is not None:  # a message line naming its connection (as Correlator does)
                            # `ICID n MID m ...`: the ICID is the shared id of the sub-family
                            icid = int(shared if shared is not None and ig == "_shared" else m.group(ig))
                            if icid > 0 and open_c.get(icid) is None:
                                conn(app, icid, kind)
                    elif ig is not None:
                        v = shared if shared is not None and ig == "_shared" else m.group(ig)
                        if v is not None:
                            conn(app, int(v), kind, m.group(ag) if ag else p.const.get("action"))
                    continue
            # -- envelope: the file format inline, anything else through the general parser
            if raw.startswith(" Info: ", 24) and raw[:3] in WEEKDAYS:
                i = 29  # the common case, without searching for the level
            elif raw[24:25] == " " and raw[:3] in WEEKDAYS and (i := raw.find(": ", 25, 40)) > 0 \
                    and raw[25:i] in LEVELS:
                pass
            else:
                i = 0
            if i:
                key = raw[:24]
                if key != prev_key:
                    prev_key = key
                    ts = _full_ts(key)
                text = raw[i + 2:]
                if text[:1] == " ":
                    text = text.lstrip(" ")
                elif text[:9] == "Version: ":
                    ctx.parse(raw)
                    app = ctx.appliance
                    appliances.add(app)
                    open_m, open_c = tables(app)
                line_app = app
            else:
                ts, line_app, _level, text = parse(raw)
                if line_app != app:
                    appliances.add(line_app)
                prev_key = None
            if ts is not prev_ts and ts is not None:
                prev_ts = ts
                if lo is None:
                    lo = hi = ts
                elif ts < lo:
                    lo = ts
                elif ts > hi:
                    hi = ts
            # -- shape: catalogue.classify, inlined
            sp = text.find(" ")
            t0 = text[:sp] if sp >= 0 else text
            m = None
            shared = None  # the id right after the first word, when a sub-family matched
            if t0 in sub_first:
                sp2 = text.find(" ", sp + 1)
                if sp2 > 0 and (shared := text[sp + 1:sp2]).isdecimal():
                    sp3 = text.find(" ", sp2 + 1)
                    sub = subs.get((t0, text[sp2 + 1:sp3] if sp3 > 0 else text[sp2 + 1:]))
                    if sub is not None:
                        m = sub.match(text, sp2 + 1)
                if m is None:
                    shared = None
            if m is None:
                rx = families.get(t0)
                if rx is not None:
                    m = rx.match(text)
            if m is None:
                p = None
                for prefix, pp, prx in prefixed:
                    if text.startswith(prefix) and (m := prx.match(text)) is not None:
                        p = pp
                        break
                if p is None:
                    s = shape(text)
                    u = unknown.get(s)
                    if u is None:
                        if len(unknown) >= MAX_SHAPES:
                            s = "(other shapes)"
                            u = unknown.get(s)
                        if u is None:
                            # the first line of a new shape is the first of its text in the block
                            u = unknown[s] = [0, text[:300], f"{display}:{first_no + block.index(raw)}"]
                    u[0] += 1
                    continue
                if p.kind == "cef_event":  # CEF ids come from key=value pairs, not regex groups
                    f = catalogue.fields(p, m)
                    if isinstance(f.get("mid"), int) and f["mid"] > 0:
                        msg(line_app, f["mid"], p.kind)
                        if isinstance(f.get("icid"), int) and f["icid"] > 0:
                            conn(line_app, f["icid"], p.kind)
                counts[p.index] += 1
                continue
            pi, mg, ig, ng, ag, special, kind, p = roles[m.lastgroup]  # type: ignore[index]
            counts[pi] += 1
            # -- stories; the dict checks skip the call for a line of an open, started story
            if mg is not None:
                v = shared if shared is not None and mg == "_shared" else m.group(mg)
                if v is None:
                    continue
                mid = int(v)
                if (special or tables(line_app)[0].get(mid) != 1) and mid > 0:
                    msg(line_app, mid, kind)
                if ng is not None:
                    msg(line_app, int(m.group(ng)), "linked", True)
                if ig is not None:  # a message line naming its connection (as Correlator does)
                    icid = int(m.group(ig))
                    if icid > 0 and tables(line_app)[1].get(icid) is None:
                        conn(line_app, icid, kind)
            elif ig is not None:
                v = shared if shared is not None and ig == "_shared" else m.group(ig)
                if v is not None:
                    conn(line_app, int(v), kind, m.group(ag) if ag else p.const.get("action"))
        n += len(block)
        if progress is not None:
            progress(n)
    counter.finish()
    ok = sum(counts)
    st = LogStats(lines=n, recognized=ok, shapes={p.name: c for p, c in zip(patterns, counts, strict=True) if c},
                  files=[lf.display for lf in reader.files],
                  errors=list(reader.errors))
    kinds: dict[str, int] = {}
    by_name = catalogue.BY_NAME
    for name, c in st.shapes.items():
        k = by_name[name].kind
        kinds[k] = kinds.get(k, 0) + c
    st.kinds = kinds
    st.unknown_shapes = [
        {"shape": s, "count": v[0], "example": v[1], "source": v[2]}
        for s, v in sorted(unknown.items(), key=lambda kv: -kv[1][0])
    ]
    st.connections, st.rejected_connections = counter.connections, counter.rejected_connections
    st.partial_connections = counter.partial_connections
    st.messages, st.partial_messages = counter.messages, counter.partial_messages
    st.appliances = sorted(a for a in appliances if a)
    firsts = [t for t in (lo, span[0]) if t is not None]
    lasts = [t for t in (hi, span[1]) if t is not None]
    st.first, st.last = min(firsts, default=None), max(lasts, default=None)
    st.open_connections, st.open_messages = counter.open_connections_at_end, counter.open_messages_at_end
    return st
