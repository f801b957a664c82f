"""Justifications: for every derived fact, the rule and the facts it came from.

The "why" text, the evidence list and the causal graph are all read from here,
so that nothing is concluded that cannot be traced back to a log line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diagnose.engine.facts import Fact
from diagnose.engine.rulebase import TEMPLATE_REF, Rule


@dataclass(frozen=True, slots=True)
class Justification:
    fact_id: int  # the derived fact
    rule_id: str
    inputs: tuple[tuple[str, int], ...]  # (alias, fact id) the rule matched
    order: int  # derivation order within the case

    @property
    def input_ids(self) -> tuple[int, ...]:
        return tuple(fid for _, fid in self.inputs)


@dataclass
class Record:
    """Everything one engine session concluded about one case."""

    facts: dict[int, Fact] = field(default_factory=dict)
    justifications: list[Justification] = field(default_factory=list)
    truncated: bool = False  # the derivation cap was hit (a looping rulebase)
    _by_fact: dict[int, list[Justification]] = field(default_factory=dict, repr=False)

    def add_fact(self, fact: Fact) -> None:
        self.facts[fact.id] = fact

    def justify(self, fact_id: int, rule_id: str, inputs: dict[str, int]) -> Justification:
        j = Justification(fact_id, rule_id, tuple(sorted(inputs.items())), len(self.justifications))
        self.justifications.append(j)
        self._by_fact.setdefault(fact_id, []).append(j)
        return j

    def derived(self, ftype: str | None = None) -> list[Fact]:
        """Derived facts in derivation order (optionally of one type)."""
        seen: set[int] = set()
        out = []
        for j in self.justifications:
            if j.fact_id in seen:
                continue
            seen.add(j.fact_id)
            f = self.facts[j.fact_id]
            if ftype is None or f.type == ftype:
                out.append(f)
        return out

    def justifications_of(self, fact_id: int) -> list[Justification]:
        return self._by_fact.get(fact_id, [])

    def support(self, fact_ids: list[int] | tuple[int, ...]) -> list[Fact]:
        """Base facts that the given facts rest on (transitively), deduplicated."""
        out: dict[int, Fact] = {}
        stack = list(fact_ids)
        visited: set[int] = set()
        while stack:
            fid = stack.pop()
            if fid in visited or fid not in self.facts:
                continue
            visited.add(fid)
            f = self.facts[fid]
            if f.derived:
                for j in self.justifications_of(fid):
                    stack.extend(j.input_ids)
            else:
                out[fid] = f
        return list(out.values())

    def chain(self, fact_ids: list[int] | tuple[int, ...]) -> list[Justification]:
        """Justifications that lead to the given facts, in derivation order."""
        wanted: set[int] = set()
        stack = list(fact_ids)
        while stack:
            fid = stack.pop()
            if fid in wanted or fid not in self.facts or not self.facts[fid].derived:
                continue
            wanted.add(fid)
            for j in self.justifications_of(fid):
                stack.extend(j.input_ids)
        return [j for j in self.justifications if j.fact_id in wanted]


_MISSING = "(not logged)"


def render(template: str, bound: dict[str, Fact]) -> str:
    """Fill `{alias.field}` from the matched facts; a field the log lacks says so."""

    def sub(m: Any) -> str:
        fact = bound.get(m.group(1))
        if fact is None:
            return _MISSING
        value = fact.fields.get(m.group(2))
        if value is None or value == "":
            return _MISSING
        return _oneline(str(value))

    return TEMPLATE_REF.sub(sub, template)


def _oneline(s: str) -> str:
    """Log text is untrusted: no control characters or line breaks in rendered prose; a value cut
    for length says so (the template's closing quote or parenthesis still follows it)."""
    s = "".join(ch if ch.isprintable() else " " for ch in s)
    return s if len(s) <= 500 else s[:499] + "…"


def explain_text(rule: Rule, j: Justification, record: Record) -> str:
    bound = {alias: record.facts[fid] for alias, fid in j.inputs if fid in record.facts}
    return render(rule.explain, bound)
