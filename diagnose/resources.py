"""Locate the data folders (rules/, knowledge/, reports/) in a checkout or an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the folder `name` ("rules", "knowledge" or "reports").

    In a wheel they are packaged as diagnose/_data/NAME; in a checkout (editable
    install, tests) they sit at the top of the tree beside diagnose/.
    """
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"data folder {name!r} not found beside the diagnose package")
