"""Probe cache: DNS answers saved to a JSON file, keyed by (qname, rdtype, resolver), and replayed.

`--probe-cache FILE` records every answer of a run; a later run with the same file replays them
without sending the query, so an explanation is reproducible without the network. With
`--offline` a cached answer from any resolver is accepted (the file is the only source).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from diagnose.model import InputError
from diagnose.probes.resolver import Answer

FORMAT = "esa-diagnose-probe-cache/1"


class ProbeCache:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.entries: dict[str, Answer] = {}
        self.replayed = 0
        self.dirty = False
        if self.path and self.path.exists():
            self._load()
        elif self.path and not (self.path.parent if str(self.path.parent) else Path(".")).is_dir():
            raise InputError(f"--probe-cache {self.path}: folder {self.path.parent} does not exist")

    @staticmethod
    def key(qname: str, rdtype: str, resolver: str) -> str:
        return f"{qname.lower().rstrip('.')}|{rdtype.upper()}|{resolver}"

    def _load(self) -> None:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"--probe-cache {self.path}: not a readable probe cache ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("answers"), list):
            raise InputError(f"--probe-cache {self.path}: not an esa-diagnose probe cache")
        for item in data["answers"]:
            if isinstance(item, dict):
                a = Answer.from_json(item)
                self.entries[self.key(a.qname, a.rdtype, a.resolver)] = a

    def get(self, qname: str, rdtype: str, resolver: str, *, any_resolver: bool = False) -> Answer | None:
        hit = self.entries.get(self.key(qname, rdtype, resolver))
        if hit is None and any_resolver:
            prefix = self.key(qname, rdtype, "")
            hit = next((a for k, a in self.entries.items() if k.startswith(prefix)), None)
        if hit is not None:
            self.replayed += 1
        return hit

    def put(self, answer: Answer) -> None:
        self.entries[self.key(answer.qname, answer.rdtype, answer.resolver)] = answer
        self.dirty = True

    def save(self) -> None:
        """Write atomically (temp file + rename) so an interrupted run never leaves half a cache."""
        if not self.path or not self.dirty:
            return
        answers = []
        for a in self.entries.values():
            d = a.to_json()
            d.pop("cached", None)
            answers.append(d)
        payload = json.dumps({"format": FORMAT, "answers": answers}, indent=1, sort_keys=True)
        directory = self.path.parent if str(self.path.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=".probe-cache-", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise InputError(f"--probe-cache {self.path}: cannot write ({exc})") from None
        self.dirty = False
