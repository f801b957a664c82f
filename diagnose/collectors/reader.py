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
            ts, _level, _host, text = envelope.split(line)
            if not lf.serial and text.startswith("Version: "):
                m = _SN.match(text)
                if m:
                    lf.serial = m.group(2)
            if lf.first_ts is None and ts is not None:
                lf.first_ts = ctx.resolve(ts)
    except OSError as exc:
        lf.errors.append(f"{lf.display}: {exc}")


def raw_lines(lf: LogFile, errors: list[str] | None = None) -> Iterator[str]:
    """Decoded lines without their line break; overlong lines cut to MAX_LINE. Never raises on content."""
    for block in raw_blocks(lf, errors):
        yield from block


def raw_blocks(lf: LogFile, errors: list[str] | None = None) -> Iterator[list[str]]:
    """The file's lines, a list per 1 MiB chunk (the fast path loops over these in one frame)."""
    err = errors if errors is not None else lf.errors
    try:
        fh = lf.open()
    except OSError as exc:
        err.append(f"{lf.display}: {exc}")
        return
    with fh:
        buf = b""
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

    def __init__(self, paths: Iterable[str | os.PathLike], year: int | None = None) -> None:
        self.files = expand(paths)
        self.year = year
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
        for lf in files:
            ctx = FileContext(lf, self.year, appliance)
            parse = ctx.parse
            display = lf.display
            for n, raw in enumerate(raw_lines(lf, self.errors), 1):
                ts, app, level, text = parse(raw)
                yield display, n, ts, app, level, text
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
