"""Read mail_logs: files, folders, .gz, rotated sets, merged in time order.

- A path may be a file or a folder (walked recursively, hidden files skipped). gzip is
  detected by its magic bytes, not the name.
- Rotated sets (`mail_logs.@20241007T130000.s`, `mail_logs.c`, `mail_logs.current`,
  `mail_logs.log`, `.gz` of any of them) are grouped by folder and base name; the files of a
  set are read one after the other in the order of their first timestamp; different sets
  (appliances, subscriptions) are merged by timestamp.
- Streaming: binary reads in 1 MiB chunks, decoded per chunk with U+FFFD for invalid UTF-8;
  a line longer than MAX_LINE is cut (the rest skipped), so memory per line is bounded.
- Every line keeps its source (`path:lineno`). The appliance is the serial number of the
  file's `Version: ... SN:` header, or the syslog host of the line.
- Year-less syslog timestamps take `year` when given, else the file's modification year,
  rolled back one year when the date would lie after the file time (New Year crossing).
- Time-window reads (`LogReader(..., start=when)`): in the file format every line starts with a
  24-character timestamp and a file is in time order (nearly: the real Cribl sample steps back a
  few seconds now and then), so whole files of a rotated set, and 8 MiB pieces of a file, whose
  last line is older than `start - SLACK` are skipped after reading only that line's timestamp
  (their newlines are counted, so line numbers stay those of a full read). Syslog files (no
  year, several hosts, no order we can rely on) are read in full.
"""

from __future__ import annotations

import contextlib
import gzip
import heapq
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from diagnose.collectors import envelope
from diagnose.collectors.envelope import YearlessTime
from diagnose.model import InputError

CHUNK = 1 << 20
SKIP_CHUNK = 8 << 20  # piece of a file skipped (or not) on its last line's timestamp
SLACK = timedelta(minutes=5)  # back-steps of time order tolerated inside a file-format file
MAX_LINE = 64 * 1024  # characters kept of an overlong line; the rest is skipped

# One log line as the reader hands it on: (source path, line number, ts, appliance, level, text)
Line = tuple[str, int, "datetime | None", str, str, str]

_ROTATION = re.compile(r"^(?P<base>.+?)(?:\.@[^/]*?)?(?:\.(?:s|c|current|log|\d+))?$")
_SN = re.compile(r"Version: (\S+) SN: (\S+)")


@dataclass
class LogFile:
    path: Path
    display: str  # as the user named it (used in evidence sources)
    mtime: datetime
    first_ts: datetime | None = None
    serial: str = ""  # from the file's Version header, when it has one
    ordered: bool = False  # file format (full timestamps, one appliance): lines in time order
    errors: list[str] = field(default_factory=list)

    def open(self) -> BinaryIO:
        fh = open(self.path, "rb")  # noqa: SIM115 - returned to the caller
        magic = fh.read(2)
        fh.seek(0)
        if magic == b"\x1f\x8b":
            return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
        return fh


def set_key(path: Path) -> tuple[str, str]:
    name = path.name
    if name.endswith(".gz"):
        name = name[:-3]
    m = _ROTATION.match(name)
    return (str(path.parent), m.group("base") if m else name)


def expand(paths: Iterable[str | os.PathLike]) -> list[LogFile]:
    """Files and folders -> LogFile list (InputError when a path does not exist or holds nothing)."""
    out: list[LogFile] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InputError(f"log path not found: {p}")
        if path.is_dir():
            found = sorted(
                f for f in path.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(path).parts)
            )
            out.extend(_logfile(f, str(f)) for f in found)
        else:
            out.append(_logfile(path, str(p)))
    if not out:
        raise InputError("no log files found in: " + ", ".join(map(str, paths)))
    return out


def _logfile(path: Path, display: str) -> LogFile:
    try:
        mtime = datetime.fromtimestamp(path.stat().st_mtime)
    except (OSError, OverflowError, ValueError):
        mtime = datetime.now()
    lf = LogFile(path=path, display=display, mtime=mtime)
    _peek(lf)
    return lf


def _peek(lf: LogFile) -> None:
    """First timestamp and header serial, from the first lines of the file."""
    ctx = FileContext(lf, year=None)
    try:
        for n, line in enumerate(raw_lines(lf)):
            if n >= 50:
                break
            ts, _level, host, text = envelope.split(line)
            if not lf.serial and text.startswith("Version: "):
                m = _SN.match(text)
                if m:
                    lf.serial = m.group(2)
            if lf.first_ts is None and ts is not None:
                lf.first_ts = ctx.resolve(ts)
                # a syslog line (no year, a host) makes the file one whose order we do not rely on
                lf.ordered = type(ts) is datetime and not host and _line_ts(line.encode()) is not None
    except OSError as exc:
        lf.errors.append(f"{lf.display}: {exc}")


@dataclass
class Skipped:
    """What a time-window read of one file left out: lines (for the numbers) and bytes."""

    lines: int = 0
    bytes: int = 0
    serial: str = ""  # the last `Version: ... SN:` header in the skipped part


def _line_ts(line: bytes) -> datetime | None:
    """The file-format timestamp of a raw line (`Www Mmm dD HH:MM:SS YYYY `), else None."""
    if len(line) < 26 or line[24:25] != b" " or line[3:4] != b" ":
        return None
    head = line[:24].decode("ascii", "replace")
    return envelope._full_ts(head) if head[:3] in envelope.WEEKDAYS else None


def _skip_before(fh: BinaryIO, start: datetime, sk: Skipped, lf: LogFile, err: list[str]) -> tuple[bytes, bytes]:
    """Read past the pieces whose last line is older than start - SLACK: (whole lines to read, rest).

    Only the first and last line of each piece are looked at: when they are not file-format
    timestamps, or step back more than SLACK, the order is not what we rely on and the file is
    read from its beginning (`sk` reset)."""
    limit = start - SLACK
    tail = b""
    prev: datetime | None = None
    while True:
        try:
            data = fh.read(SKIP_CHUNK)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            err.append(f"{lf.display}: unreadable after this point ({exc})")
            return b"", b""
        if not data:
            return b"", tail
        data = tail + data if tail else data
        end = data.rfind(b"\n")
        if end < 0:
            return b"", data  # one endless line: the normal reader cuts it
        last = _line_ts(data[data.rfind(b"\n", 0, end) + 1 : end + 1])
        first = _line_ts(data[: data.find(b"\n") + 1])
        if last is None or first is None:  # not a file-format line to go by: read from here
            return data[: end + 1], data[end + 1 :]
        if (prev is not None and first < prev - SLACK) or last < first - SLACK:
            if sk.lines:  # the order does not hold: what was skipped may hold window lines
                try:
                    fh.seek(0)
                except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
                    err.append(f"{lf.display}: {exc}")
                    return b"", b""
                sk.lines = sk.bytes = 0
                sk.serial = ""
                return b"", b""
            return data[: end + 1], data[end + 1 :]
        if last >= limit:  # the start is in this piece: leave out its lines before (bisected on their times)
            cut = _bisect(data, end + 1, limit)
            if cut:
                sk.lines += data.count(b"\n", 0, cut)
                sk.bytes += cut
                _serial(data, cut, sk)
            return data[cut : end + 1], data[end + 1 :]
        prev = last
        sk.lines += data.count(b"\n", 0, end + 1)
        sk.bytes += end + 1
        _serial(data, end + 1, sk)
        tail = data[end + 1 :]


def _serial(data: bytes, upto: int, sk: Skipped) -> None:
    """The appliance named by the last `Version: ... SN:` header left out, if any."""
    v = data.rfind(b" Version: ", 0, upto)
    if v >= 0:
        m = _SN.search(data[v : data.find(b"\n", v)].decode("utf-8", "replace"))
        if m:
            sk.serial = m.group(2)


def _bisect(data: bytes, size: int, limit: datetime) -> int:
    """Offset of a line start in data[:size] before which every line is older than `limit` + SLACK
    (lines are in time order within SLACK): the lines before it can be left out."""
    lo, hi = 0, size  # invariant: the line starting at lo (if lo > 0) is older than limit
    while hi - lo > 4096:
        mid = (lo + hi) // 2
        ls = data.find(b"\n", mid, size) + 1
        if ls <= 0 or ls >= size:
            break
        ts = _line_ts(data[ls : ls + 26])
        if ts is None:
            break  # not a line to go by: keep what is known
        if ts < limit:
            lo = ls
        else:
            hi = mid
    return lo


def _decode(data: bytes) -> list[str]:
    """Whole lines (data ends with a newline) -> decoded lines, as raw_blocks cuts them."""
    text = data[:-1].decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):
            text = text[:-1]
    lines = text.split("\n")
    if max(map(len, lines)) > MAX_LINE:
        lines = [line[:MAX_LINE] for line in lines]
    return lines


def raw_lines(lf: LogFile, errors: list[str] | None = None) -> Iterator[str]:
    """Decoded lines without their line break; overlong lines cut to MAX_LINE. Never raises on content."""
    for block in raw_blocks(lf, errors):
        yield from block


def raw_blocks(lf: LogFile, errors: list[str] | None = None, start: datetime | None = None,
               skipped: Skipped | None = None) -> Iterator[list[str]]:
    """The file's lines, a list per 1 MiB chunk (the fast path loops over these in one frame).
    With `start` (a file in time order): pieces of lines all older than start - SLACK are left
    out, counted in `skipped`."""
    err = errors if errors is not None else lf.errors
    try:
        fh = lf.open()
    except OSError as exc:
        err.append(f"{lf.display}: {exc}")
        return
    with fh:
        buf = b""
        if start is not None:
            whole, buf = _skip_before(fh, start, skipped if skipped is not None else Skipped(), lf, err)
            if whole:
                yield _decode(whole)
        skipping = False  # inside the tail of an overlong line
        while True:
            try:
                chunk = fh.read(CHUNK)
            except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
                err.append(f"{lf.display}: unreadable after this point ({exc})")
                chunk = b""
            if not chunk:
                break
            if buf:
                chunk = buf + chunk
            end = chunk.rfind(b"\n")
            if end < 0:
                buf = chunk
                if len(buf) > MAX_LINE:
                    if not skipping:
                        yield [_clean(buf[:MAX_LINE].decode("utf-8", "replace"))]
                    skipping, buf = True, b""
                continue
            buf = chunk[end + 1 :]
            text = chunk[:end].decode("utf-8", "replace")
            if "\r" in text:
                text = text.replace("\r\n", "\n")
                if text.endswith("\r"):
                    text = text[:-1]
            lines = text.split("\n")
            if skipping:
                del lines[0]  # the rest of an overlong line already cut
                skipping = False
            if lines and max(map(len, lines)) > MAX_LINE:
                lines = [line[:MAX_LINE] for line in lines]
            yield lines
            if len(buf) > MAX_LINE:
                yield [_clean(buf[:MAX_LINE].decode("utf-8", "replace"))]
                skipping, buf = True, b""
        if buf and not skipping:
            yield [_clean(buf[:MAX_LINE].decode("utf-8", "replace"))]


def _clean(line: str) -> str:
    return line[:-1] if line.endswith("\r") else line


class FileContext:
    """Per-file state: year for year-less timestamps, the appliance serial from the header."""

    def __init__(self, lf: LogFile, year: int | None, appliance: str = "") -> None:
        self.lf = lf
        self.year = year
        self.appliance = lf.serial or appliance
        self._cache: dict[str, datetime | None] = {}
        self._limit = lf.mtime + timedelta(days=1)

    def resolve(self, ts: datetime | YearlessTime | None) -> datetime | None:
        if ts is None or type(ts) is datetime:
            return ts  # type: ignore[return-value]
        dt = self._cache.get(ts, False)
        if dt is False:
            if self.year is not None:
                dt = envelope.resolve_year(ts, self.year)
            else:
                dt = envelope.resolve_year(ts, self.lf.mtime.year)
                if dt is None or dt > self._limit:  # logged before the New Year the file was written in
                    dt = envelope.resolve_year(ts, self.lf.mtime.year - 1)
            if len(self._cache) > 65536:
                self._cache.clear()
            self._cache[ts] = dt
        return dt  # type: ignore[return-value]

    def parse(self, line: str) -> tuple[datetime | None, str, str, str]:
        """(ts, appliance, level, text) for one raw line; updates the header serial."""
        ts, level, host, text = envelope.split(line)
        if ts is not None and type(ts) is not datetime:
            ts = self.resolve(ts)
        if host:
            return ts, host, level, text  # type: ignore[return-value]
        if text.startswith("Version: "):
            m = _SN.match(text)
            if m:
                self.appliance = m.group(2)
        return ts, self.appliance, level, text  # type: ignore[return-value]


class LogReader:
    """Iterate the lines of many files in time order: `for path, lineno, ts, appliance, level, text in reader`."""

    def __init__(self, paths: Iterable[str | os.PathLike], year: int | None = None,
                 start: datetime | None = None) -> None:
        self.files = expand(paths)
        self.year = year
        self.start = start  # lines older than this (less SLACK) may be left out, where the order allows
        self.skipped = Skipped()  # what `start` left out, all files together
        self.lines_read = 0  # lines handed on by __iter__ (a file's count is added when it ends or the read stops)
        self.errors: list[str] = []
        groups: dict[tuple[str, str], list[LogFile]] = {}
        for lf in self.files:
            groups.setdefault(set_key(lf.path), []).append(lf)
        far = datetime.max
        self.sets: list[list[LogFile]] = [
            sorted(g, key=lambda f: (f.first_ts or far, f.path.name)) for g in groups.values()
        ]
        for lf in self.files:
            self.errors.extend(lf.errors)
            lf.errors.clear()

    @property
    def total_bytes(self) -> int:
        total = 0
        for lf in self.files:
            with contextlib.suppress(OSError):
                total += lf.path.stat().st_size
        return total

    def _set_lines(self, files: list[LogFile]) -> Iterator[Line]:
        appliance = ""
        start = self.start
        for i, lf in enumerate(files):
            ordered = start is not None and lf.ordered
            nxt = files[i + 1].first_ts if i + 1 < len(files) else None
            if ordered and nxt is not None and files[i + 1].ordered and nxt < start - 2 * SLACK:  # type: ignore[operator]
                # the next file of the set begins before the window: this one is all older
                appliance = lf.serial or appliance
                with contextlib.suppress(OSError):
                    self.skipped.bytes += lf.path.stat().st_size
                continue
            ctx = FileContext(lf, self.year, appliance)
            parse = ctx.parse
            display = lf.display
            sk = Skipped()
            n = 0
            try:
                for block in raw_blocks(lf, self.errors, start if ordered else None, sk):
                    if not n and sk.lines:  # the skipped part comes first (it is known when the first block is)
                        n = sk.lines
                        self.skipped.lines += sk.lines
                        self.skipped.bytes += sk.bytes
                        if sk.serial:
                            ctx.appliance = sk.serial
                    for raw in block:
                        n += 1
                        ts, app, level, text = parse(raw)
                        yield display, n, ts, app, level, text
            finally:  # also when the consumer stops early
                if n:
                    self.lines_read += n - sk.lines
            if not n and sk.lines:  # all of the file was older
                self.skipped.lines += sk.lines
                self.skipped.bytes += sk.bytes
                ctx.appliance = sk.serial or ctx.appliance
            appliance = ctx.appliance

    def blocks(self) -> Iterator[tuple[FileContext, str, int, list[str]]]:
        """(file context, source name, number of the first line, lines) per chunk, set after set:
        the fast path for counting, where time order across sets does not matter."""
        for files in self.sets:
            appliance = ""
            for lf in files:
                ctx = FileContext(lf, self.year, appliance)
                n = 1
                for block in raw_blocks(lf, self.errors):
                    yield ctx, lf.display, n, block
                    n += len(block)
                appliance = ctx.appliance

    def __iter__(self) -> Iterator[Line]:
        if len(self.sets) == 1:
            return self._set_lines(self.sets[0])
        return _merge([self._set_lines(s) for s in self.sets])


def _merge(streams: list[Iterator[Line]]) -> Iterator[Line]:
    """Merge line streams by timestamp; a line without one keeps the time of the line before it."""

    def keyed(i: int, it: Iterator[Line]) -> Iterator[tuple[datetime, int, int, Line]]:
        last = datetime.min
        for n, rec in enumerate(it):
            ts = rec[2]
            if ts is not None:
                last = ts
            yield last, i, n, rec

    for *_k, rec in heapq.merge(*(keyed(i, s) for i, s in enumerate(streams))):
        yield rec
