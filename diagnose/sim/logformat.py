"""The mail_logs envelope as AsyncOS writes it (esa-log-formats.md §1).

File form:    `Wed Nov 19 09:16:38 2014 Info: <text>` (day of month space-padded), after a
              Begin Logfile / Version SN / Time offset header.
Syslog form:  `<166>Nov 19 09:16:38 [host ]mail_logs: Info: <text>` (no year, no weekday).
Locale-independent: month and weekday names come from fixed tables, not strftime.
"""

from __future__ import annotations

from datetime import datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def asyncos_time(ts: datetime) -> str:
    """`Wed Nov 19 09:16:38 2014`: the timestamp of the file form and of `pending till`."""
    return (f"{_DAYS[ts.weekday()]} {_MONTHS[ts.month - 1]} {ts.day:2d} "
            f"{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d} {ts.year}")


def syslog_time(ts: datetime) -> str:
    return f"{_MONTHS[ts.month - 1]} {ts.day:2d} {ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}"


class Envelope:
    """Formats one line in the file or the syslog-pushed form; caches the time text per second."""

    def __init__(self, syslog: bool = False, host: str = "", tag: str = "mail_logs", pri: int = 166) -> None:
        self.syslog = syslog
        self.prefix_tail = (f" {host}" if host else "") + f" {tag}: "
        self.pri = pri
        self._last_ts: datetime | None = None
        self._last_text = ""

    def line(self, ts: datetime, level: str, text: str) -> str:
        key = ts.replace(microsecond=0)
        if key != self._last_ts:
            self._last_ts = key
            self._last_text = (f"<{self.pri}>{syslog_time(key)}{self.prefix_tail}" if self.syslog
                               else f"{asyncos_time(key)} ")
        return f"{self._last_text}{level}: {text}"


def header(ts: datetime, version: str, serial: str, tz_offset: int) -> list[tuple[datetime, str, str]]:
    """The three lines a mail_logs file starts with."""
    return [
        (ts, "Info", "Begin Logfile"),
        (ts, "Info", f"Version: {version} SN: {serial}"),
        (ts, "Info", f"Time offset from UTC: {tz_offset} seconds"),
    ]


def py_str(s: str) -> str:
    """Python repr of a str, as AsyncOS logs reply lines and subjects ('x', or "x" when x has ')."""
    return repr(s)


def smtp_reply(code: str, lines: list[str]) -> str:
    """`('550', ['5.1.1 User unknown'])`: the reply tuple in delivery lines."""
    return f"('{code}', [{', '.join(py_str(x) for x in lines)}])"
