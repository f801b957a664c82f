"""Compile the rulebase into a durable-rules ruleset and run one engine session per case.

How durable-rules is used (measured, see DESIGN.md):
- facts are identified by content, so each fact carries a unique `fact_id`;
- a fact no rule's tests accept raises MessageNotHandledException (and makes a whole batch
  fail), so the ruleset has a catch-all rule that every fact enters and none completes;
- one session (`sid`) per case, whose state is deleted afterwards (sessions grow unbounded);
- its `$mt` regex is a full-match subset, so `matches` tests are evaluated with Python's
  `re.search` when a fact is asserted and exposed to the engine as a boolean field;
- negation (`absent`) is decided when a fact arrives, so negated fact types are asserted first;
- keys starting with "_" are not seen by the engine: internal keys are `fact_id`, `fact_type`;
- deleting a session in which no action ever ran aborts the process (durable_rules 2.0.28), so
  every session ends with a sentinel fact whose rule fires, then its state is deleted.

Forward chaining: an action records the firing; the derived fact (with its justification) is
asserted into the same session right after, and may make further rules fire.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Any

from durable.engine import Host, MessageNotHandledException, MessageObservedException

from diagnose.engine.facts import Fact, clean_value
from diagnose.engine.justify import Record, render
from diagnose.engine.rulebase import Condition, Rule, Rulebase, Test
from diagnose.model import STAGES

MAX_DERIVED = 500  # per case; a rulebase that loops stops here and the case says so
_CATCH_ALL = "$catch_all"
_END = "$session_end"
_END_TYPE = "engine_session_end"
_names = itertools.count(1)


class _QuietHost(Host):
    """A durable-rules host without its background dispatch threads: we run every
    session synchronously, so a timer thread must not steal our actions."""

    def _run(self) -> None:  # noqa: D401 - overrides the thread starter
        return None


@dataclass(frozen=True, slots=True)
class _Regex:
    key: str  # boolean field name the engine sees
    fact: str
    field: str
    pattern: re.Pattern[str]


class CompiledRulebase:
    """A rulebase compiled into one durable-rules ruleset on a private host."""

    def __init__(self, rulebase: Rulebase) -> None:
        self.rulebase = rulebase
        self.rules: dict[str, Rule] = {r.id: r for r in rulebase.rules}
        self.name = f"esa{next(_names)}_{rulebase.fingerprint()}"
        self._regexes: dict[tuple[str, str, str], _Regex] = {}
        self._by_fact: dict[str, list[_Regex]] = {}
        self.negated_types = {c.fact for r in rulebase.rules for c in r.when if c.absent}
        self.fact_types = rulebase.fact_types()
        self._firings: dict[str, list[tuple[str, dict[str, int]]]] = {}
        self._lock = threading.Lock()  # one session at a time on this host
        self._sids = itertools.count(1)
        definition = {r.id: self._compile_rule(r) for r in rulebase.rules}
        definition[_CATCH_ALL] = {
            "all": [{"a": {"$ex": {"fact_id": 1}}}, {"b": {"$ex": {"never_present_key": 1}}}],
            "run": lambda c: None,
        }
        definition[_END] = {"all": [{"e": {"fact_type": _END_TYPE}}], "run": lambda c: None}
        self.definition = definition
        self.host = _QuietHost({self.name: definition})

    # -- compilation -------------------------------------------------------------------------

    def _regex_key(self, fact: str, fld: str, pattern: str) -> str:
        k = (fact, fld, pattern)
        if k not in self._regexes:
            rx = _Regex(f"rxflag{len(self._regexes) + 1}", fact, fld, re.compile(pattern))
            self._regexes[k] = rx
            self._by_fact.setdefault(fact, []).append(rx)
        return self._regexes[k].key

    def _compile_test(self, c: Condition, t: Test) -> dict[str, Any]:
        f, v = t.field, t.value
        if t.op == "eq":
            return {"$nex": {f: 1}} if v is None else {f: v}
        if t.op == "ne":
            return {"$ex": {f: 1}} if v is None else {"$neq": {f: v}}
        if t.op in ("in", "not_in"):
            # null in the list stands for "the field is missing" (absent values are not stored)
            positive = t.op == "in"
            parts = [({"$nex": {f: 1}} if positive else {"$ex": {f: 1}}) if x is None
                     else ({f: x} if positive else {"$neq": {f: x}}) for x in v]
            if len(parts) == 1:
                return parts[0]
            return {"$or": parts} if positive else {"$and": parts}
        if t.op in ("lt", "lte", "gt", "gte"):
            return {f"${t.op}": {f: v}}
        if t.op == "exists":
            return {"$ex" if v else "$nex": {f: 1}}
        if t.op == "matches":
            return {self._regex_key(c.fact, f, v): True}
        if t.op == "same":
            alias, other = v.split(".", 1)
            return {f: {alias: other}}
        raise ValueError(f"operator {t.op}")  # validated earlier; kept for safety

    def _compile_rule(self, rule: Rule) -> dict[str, Any]:
        terms = []
        for c in rule.when:
            tests = [{"fact_type": c.fact}] + [self._compile_test(c, t) for t in c.tests]
            expr = {"$and": tests} if len(tests) > 1 else tests[0]
            terms.append({f"{c.alias}$not" if c.absent else c.alias: expr})
        aliases = rule.aliases
        rid = rule.id

        def action(c: Any) -> None:
            bound = {a: c._m[a]["fact_id"] for a in aliases if c._m and a in c._m}
            self._firings.setdefault(c.s.sid, []).append((rid, bound))

        # salience: firings of one batch run in pipeline order, so the "why" reads like the path
        return {"all": terms, "run": action, "pri": STAGES.index(rule.stage) + 1}

    # -- running -----------------------------------------------------------------------------

    def _engine_fact(self, sid: str, fact: Fact) -> dict[str, Any]:
        d: dict[str, Any] = {k: v for k, v in fact.fields.items() if v is not None and not k.startswith("_")}
        d.update(sid=sid, fact_id=fact.id, fact_type=fact.type)
        for rx in self._by_fact.get(fact.type, ()):
            value = fact.fields.get(rx.field)
            d[rx.key] = value is not None and bool(rx.pattern.search(str(value)))
        return d

    def run(self, facts: list[Fact]) -> Record:
        """One session: assert the case's facts, chain derived facts, delete the state."""
        record = Record()
        for f in facts:
            record.add_fact(f)
        relevant = [f for f in facts if f.type in self.fact_types]
        # negation is decided on arrival: facts that rules negate go in first
        relevant.sort(key=lambda f: 0 if f.type in self.negated_types else 1)
        with self._lock:
            sid = str(next(self._sids))
            try:
                if relevant:
                    self._assert(sid, [self._engine_fact(sid, f) for f in relevant])
                self._chain(sid, record, next_id=max((f.id for f in facts), default=0) + 1)
            finally:
                try:
                    self.host.assert_fact(self.name, {"sid": sid, "fact_id": 0, "fact_type": _END_TYPE})
                    self.host.delete_state(self.name, sid)
                finally:
                    self._firings.pop(sid, None)
        return record

    def _assert(self, sid: str, engine_facts: list[dict[str, Any]]) -> None:
        try:
            if len(engine_facts) == 1:
                self.host.assert_fact(self.name, engine_facts[0])
            else:
                self.host.assert_facts(self.name, engine_facts)
        except (MessageNotHandledException, MessageObservedException):
            # should not happen (catch-all, unique fact ids); if it does, a refused batch asserts
            # nothing, so go one by one and lose only the fact the engine refuses
            if len(engine_facts) > 1:
                for f in engine_facts:
                    self._assert(sid, [f])

    def _chain(self, sid: str, record: Record, next_id: int) -> None:
        seen: dict[tuple[str, tuple[tuple[str, Any], ...]], int] = {}
        queue = self._firings.setdefault(sid, [])
        derived = 0
        while queue:
            rule_id, bound_ids = queue.pop(0)
            rule = self.rules[rule_id]
            bound = {a: record.facts[i] for a, i in bound_ids.items() if i in record.facts}
            fields = {k: _render_value(v, bound) for k, v in rule.then_set.items()}
            fields["rule"] = rule.id
            fields["rule_stage"] = rule.stage
            fields["priority"] = rule.priority
            key = (rule.then_fact, tuple(sorted((k, v) for k, v in fields.items() if v is not None)))
            if key in seen:  # the same conclusion again: one more justification, no new fact
                record.justify(seen[key], rule.id, bound_ids)
                continue
            if derived >= MAX_DERIVED:
                record.truncated = True
                queue.clear()
                break
            derived += 1
            fact = Fact(id=next_id, type=rule.then_fact, fields=fields, rule=rule.id,
                        inputs=tuple(bound_ids.values()))
            next_id += 1
            seen[key] = fact.id
            record.add_fact(fact)
            record.justify(fact.id, rule.id, bound_ids)
            if rule.then_fact in self.fact_types:
                self._assert(sid, [self._engine_fact(sid, fact)])
                queue = self._firings.setdefault(sid, queue)


def _render_value(v: Any, bound: dict[str, Fact]) -> Any:
    if isinstance(v, str) and "{" in v:
        return clean_value(render(v, bound))
    return v


_cache: dict[str, CompiledRulebase] = {}


def compiled(rulebase: Rulebase) -> CompiledRulebase:
    """Compile once per process per rulebase content."""
    key = rulebase.fingerprint()
    if key not in _cache:
        _cache[key] = CompiledRulebase(rulebase)
    return _cache[key]
