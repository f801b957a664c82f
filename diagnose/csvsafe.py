"""CSV cells that a spreadsheet will not run as formulas (OWASP CSV injection guard).

A cell that starts with = + - @ TAB or CR is prefixed with a single quote, so Excel / LibreOffice
show it as text.  Bounce texts and addresses are attacker-controlled: every CSV we write goes
through `safe_cell` / `SafeWriter`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The text of one cell, guarded; None becomes an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(_TRIGGERS):
        return "'" + text
    return text


class SafeWriter:
    """csv.writer whose rows are guarded cell by cell."""

    def __init__(self, fh: Any, **kwargs: Any) -> None:
        self._w = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._w.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
