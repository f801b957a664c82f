"""Line envelope: split one mail_logs line into (timestamp, level, host, text).

Two envelopes exist (esa-log-formats.md §1):

- file format (`tail mail_logs`, rotated `.s`/`.c`/`.current` files):
  ``Www Mmm dD HH:MM:SS YYYY Level: text``
- syslog-pushed: ``[<PRI>][Www ]Mmm dD HH:MM:SS[ YYYY][ host] tag: [Www Mmm dD HH:MM:SS YYYY ]Level: text``
  (the year is missing, the host and the subscription tag are optional, some relays keep
  the legacy full timestamp after the tag; CEF lines carry no level at all).

`split()` never raises: a line it cannot take apart comes back with ``ts=None`` and the whole
line as text, so the catalogue still gets a chance and the line is counted either way.
Timestamps are appliance-local and naive. A year-less timestamp comes back as a `YearlessTime`
string key that the reader resolves (``--year`` or the file time, see reader.py).
"""

from __future__ import annotations

import re
from datetime import datetime

LEVELS = frozenset(("Info", "Warning", "Critical", "Debug", "Trace", "Error", "Notice", "Alert", "Emergency"))
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
WEEKDAYS = frozenset(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))

# The general (slow) path: optional <PRI>, optional [Www ]Mmm dD HH:MM:SS[ YYYY], optional host,
# optional tag, optional legacy full timestamp, then Level: (or a CEF payload without level).
_SYSLOG = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?\s*"
    r"(?:(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +"
    r"(?P<day>\d{1,2}) (?P<time>\d{1,2}:\d\d:\d\d)(?:\.\d+)?(?: (?P<year>\d{4}))? +)?"
    r"(?:(?P<host>[^\s:<>]+) +(?=[^\s:]+: ))?"
    r"(?:(?P<tag>[^\s:<>]+): +)?"
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<lmon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +"
    r"(?P<lday>\d{1,2}) (?P<ltime>\d{1,2}:\d\d:\d\d) (?P<lyear>\d{4}) +)?"
    r"(?:(?P<level>Info|Warning|Critical|Debug|Trace|Error|Notice|Alert|Emergency): ?|(?=CEF:\d))"
)

_ts_cache: dict[str, datetime | None] = {}


def _full_ts(s: str) -> datetime | None:
    """'Wed Nov 19 09:16:46 2014' (day may be space-padded or not) -> datetime, cached."""
    dt = _ts_cache.get(s)
    if dt is not None or s in _ts_cache:
        return dt
    try:
        parts = s.split()
        h, m, sec = parts[3].split(":")
        dt = datetime(int(parts[4]), MONTHS[parts[1]], int(parts[2]), int(h), int(m), int(sec))
    except (KeyError, ValueError, IndexError):
        dt = None
    if len(_ts_cache) > 65536:  # the same second repeats; a rolling log needs only a few
        _ts_cache.clear()
    _ts_cache[s] = dt
    return dt


class YearlessTime(str):
    """'Mmm dD HH:MM:SS' from a syslog line: the reader adds the year."""

    __slots__ = ()


def split(line: str) -> tuple[datetime | YearlessTime | None, str, str, str]:
    """Return (ts, level, host, text). Never raises."""
    # Fast path: the file format, fixed width 'Www Mmm dD HH:MM:SS YYYY ' (24 chars + space).
    if len(line) > 26 and line[24] == " " and line[3] == " " and line[:3] in WEEKDAYS:
        i = line.find(": ", 25, 40)
        if i > 0 and line[25:i] in LEVELS:
            ts = _ts_cache.get(line[:24])
            if ts is None:
                ts = _full_ts(line[:24])
            return ts, line[25:i], "", line[i + 2 :].lstrip(" ")
    return _slow(line)


def _slow(line: str) -> tuple[datetime | YearlessTime | None, str, str, str]:
    m = _SYSLOG.match(line)
    if m is None:
        return None, "", "", line.strip()
    level = m.group("level") or ""
    text = line[m.end():].lstrip(" ")
    if not m.group("level") and not text.startswith("CEF:"):
        return None, "", "", line.strip()
    ts: datetime | YearlessTime | None = None
    if m.group("lmon"):
        ts = _full_ts(f"Mon {m.group('lmon')} {m.group('lday')} {m.group('ltime')} {m.group('lyear')}")
    elif m.group("mon"):
        if m.group("year"):
            ts = _full_ts(f"Mon {m.group('mon')} {m.group('day')} {m.group('time')} {m.group('year')}")
        else:
            ts = YearlessTime(f"{m.group('mon')} {m.group('day')} {m.group('time')}")
    return ts, level, m.group("host") or "", text


def resolve_year(ts: YearlessTime, year: int) -> datetime | None:
    """'Nov 24 14:22:57' + 2023 -> datetime; None when the date does not exist (Feb 29)."""
    try:
        mon, day, hms = ts.split()
        h, m, s = hms.split(":")
        return datetime(year, MONTHS[mon], int(day), int(h), int(m), int(s))
    except (KeyError, ValueError):
        return None
