"""knowledge/remedies.yaml -> Recommendation objects, least risky first.

The catalogue (written by the RULES engineer) lists, per remedy: id, kind, title, the causes it
answers, GUI path, CLI commands, what protection it removes, a risk rank (1 = least risky),
when it does not apply, and for `sender_fix` the text to send the sender. Accepted shapes:
`remedies: [ {id: ..., ...}, ... ]`, `remedies: {id: {...}}`, or a top-level list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from diagnose.model import RECOMMENDATION_KINDS, InputError, Recommendation


@dataclass(frozen=True, slots=True)
class Remedy:
    id: str
    kind: str
    title: str
    causes: tuple[str, ...]
    gui_path: str
    cli: str
    removes: str
    risk: int
    when_not: str = ""
    sender_text: str = ""
    order: int = 0

    def recommendation(self) -> Recommendation:
        return Recommendation(
            kind=self.kind, title=self.title, gui_path=self.gui_path, cli=self.cli, removes=self.removes,
            risk=self.risk, when_not=self.when_not, sender_text=self.sender_text, source=self.id,
        )


class RemedyCatalogue:
    def __init__(self, remedies: Iterable[Remedy] = ()) -> None:
        self.remedies: list[Remedy] = list(remedies)
        self.by_id = {r.id: r for r in self.remedies}

    def __len__(self) -> int:
        return len(self.remedies)

    def for_cause(self, cause: str) -> list[Remedy]:
        return [r for r in self.remedies if cause in r.causes]

    def select(self, refs: Iterable[tuple[str | None, str | None]], causes: Iterable[str]) -> list[Recommendation]:
        """Remedies named by remedy facts (ref, or kind for the causes), else the causes' options.

        refs: (ref, kind) pairs from `remedy` facts. Ranked by risk, then catalogue order.
        """
        chosen: dict[str, Remedy] = {}
        causes = [c for c in causes if c]
        pending_kinds: list[str] = []
        for ref, kind in refs:
            if ref and ref in self.by_id:
                chosen.setdefault(ref, self.by_id[ref])
            elif kind:
                pending_kinds.append(kind)
        for kind in pending_kinds:  # a remedy fact without a catalogue ref: the kind's entries for the cause
            for r in self.remedies:
                if r.kind == kind and (not causes or set(r.causes) & set(causes)):
                    chosen.setdefault(r.id, r)
        if not chosen:
            for cause in causes:
                for r in self.for_cause(cause):
                    chosen.setdefault(r.id, r)
        ranked = sorted(chosen.values(), key=lambda r: (r.risk, r.order))
        return [r.recommendation() for r in ranked]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "\n".join(str(x) for x in v)
    return str(v).strip()


def parse_catalogue(doc: Any, name: str = "remedies.yaml") -> RemedyCatalogue:
    if doc is None:
        return RemedyCatalogue()
    items: list[tuple[str | None, Any]]
    body = doc.get("remedies", doc) if isinstance(doc, dict) else doc
    if isinstance(body, dict):
        items = list(body.items())
    elif isinstance(body, list):
        items = [(None, x) for x in body]
    else:
        raise InputError(f"{name}: expected a list or mapping of remedies")
    out: list[Remedy] = []
    for i, (key, raw) in enumerate(items):
        if not isinstance(raw, dict):
            raise InputError(f"{name}: remedy #{i + 1} must be a mapping")
        rid = raw.get("id") or key
        if not rid:
            raise InputError(f"{name}: remedy #{i + 1} has no id")
        kind = raw.get("kind")
        if kind not in RECOMMENDATION_KINDS:
            raise InputError(f"{name}: remedy {rid}: kind {kind!r} is not one of {', '.join(RECOMMENDATION_KINDS)}")
        risk = raw.get("risk", 5)
        if not isinstance(risk, int) or isinstance(risk, bool):
            raise InputError(f"{name}: remedy {rid}: risk must be an integer")
        causes = raw.get("causes") or raw.get("cause") or []
        if isinstance(causes, str):
            causes = [causes]
        out.append(Remedy(
            id=str(rid), kind=kind, title=_text(raw.get("title")) or str(rid), causes=tuple(str(c) for c in causes),
            gui_path=_text(raw.get("gui_path") or raw.get("gui")), cli=_text(raw.get("cli")),
            removes=_text(raw.get("removes")) or "nothing", risk=risk, when_not=_text(raw.get("when_not")),
            sender_text=_text(raw.get("sender_text")), order=i,
        ))
    ids = [r.id for r in out]
    dupes = {x for x in ids if ids.count(x) > 1}
    if dupes:
        raise InputError(f"{name}: duplicate remedy ids {sorted(dupes)}")
    return RemedyCatalogue(out)


def load_remedies(path: str | Path | None = None) -> RemedyCatalogue:
    """The packaged catalogue by default; an empty catalogue while it does not exist yet."""
    if path is None:
        from diagnose.resources import data_dir
        path = data_dir("knowledge") / "remedies.yaml"
        if not path.is_file():
            return RemedyCatalogue()
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path.name}: cannot read: {str(exc).splitlines()[0]}") from None
    return parse_catalogue(doc, path.name)
