"""A progress bar on a terminal, silence when piped.

    for item in progress(items, total=len(items), label="bounces"): ...

    with byte_progress(total_bytes, label="mail_logs") as bar:
        bar.update(len(chunk))

The bar goes to standard error, is redrawn at most ten times a second, and is shown only when
standard error is a terminal (and ESA_DIAGNOSE_PROGRESS is not "0"); piped or in tests, it prints
nothing.  ESA_DIAGNOSE_PROGRESS=1 forces it on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TypeVar

T = TypeVar("T")
_INTERVAL = 0.1
_WIDTH = 28


def enabled(stream: IO[str] | None = None) -> bool:
    flag = os.environ.get("ESA_DIAGNOSE_PROGRESS")
    if flag == "0":
        return False
    if flag == "1":
        return True
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _human(n: float, unit: str) -> str:
    if unit != "B":
        return f"{int(n):,}"
    for u in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or u == "TB":
            return f"{n:.0f} {u}" if u == "B" else f"{n:.1f} {u}"
        n /= 1024
    return f"{n:.1f} TB"


class Bar:
    """One bar; `update(n)` adds n units. Draws nothing when not enabled."""

    def __init__(self, total: int | None = None, label: str = "", unit: str = "", stream: IO[str] | None = None,
                 show: bool | None = None) -> None:
        self.total = total if total and total > 0 else None
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.show = enabled(self.stream) if show is None else show
        self.count = 0
        self._start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def update(self, n: int = 1) -> None:
        self.count += n
        if not self.show:
            return
        now = time.monotonic()
        if now - self._last >= _INTERVAL:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.count / elapsed
        label = f"{self.label} " if self.label else ""
        if self.total:
            frac = min(self.count / self.total, 1.0)
            filled = int(frac * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            left = (self.total - self.count) / rate if rate > 0 else 0
            text = (f"\r{label}[{bar}] {frac:6.1%} {_human(self.count, self.unit)}/{_human(self.total, self.unit)}"
                    f"  {_human(rate, self.unit)}/s  {left:4.0f}s left ")
        else:
            text = f"\r{label}{_human(self.count, self.unit)}  {_human(rate, self.unit)}/s "
        try:
            self.stream.write(text)
            self.stream.flush()
            self._drawn = True
        except (OSError, ValueError):
            self.show = False

    def close(self) -> None:
        if self.show and self._drawn:
            self._draw(time.monotonic())
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.show = False


def progress(iterable: Iterable[T], total: int | None = None, label: str = "") -> Iterator[T]:
    """Yield the items of `iterable`, drawing a bar of items done on a terminal."""
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    bar = Bar(total, label)
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()


@contextmanager
def byte_progress(total: int | None = None, label: str = "") -> Iterator[Bar]:
    """A bar counted in bytes: `with byte_progress(size, "mail_logs") as bar: bar.update(n)`."""
    bar = Bar(total, label, unit="B")
    try:
        yield bar
    finally:
        bar.close()
