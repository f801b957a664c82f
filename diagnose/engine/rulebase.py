"""Load and validate the rulebase: rules/*.yaml, one file per pipeline stage.

A rule is data an ESA administrator can read (schema in docs/ARCHITECTURE.md "Rules"):
a stable id, the stage it belongs to, the facts it needs (`when`), the fact it derives
(`then`), an explanation template and references. Validation fails loudly with the file
and rule id, because a rule that silently never matches is worse than no rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from diagnose.model import CONFIDENCES, OUTCOMES, RECOMMENDATION_KINDS, STAGES, InputError

# Operators a `where` test may use. A plain value means equality.
OPERATORS: tuple[str, ...] = (
    "eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "matches", "exists", "same",
)
NUMERIC_OPERATORS = ("lt", "lte", "gt", "gte")

# Fact types the engine itself produces or consumes besides log Events.
DERIVED_TYPES: tuple[str, ...] = ("stop", "passed", "cause", "remedy", "context", "gap")
CASE_TYPES: tuple[str, ...] = ("query", "case", "candidate", "probe", "config", "ndr")
# Fact families other collectors produce (probe_spf, config_hat_entry, tracking_...).
OPEN_PREFIXES: tuple[str, ...] = ("probe_", "config_", "tracking_", "ndr_")

# Required `set` fields of the derived types findings.py understands.
REQUIRED_SET: dict[str, tuple[str, ...]] = {
    "stop": ("stage", "outcome", "cause", "reason", "confidence"),
    "passed": ("stage",),
    "cause": ("cause",),
    "remedy": ("kind",),
    "gap": ("missing",),
}

# Event kinds fixed by docs/ARCHITECTURE.md; the catalogue's own list is added when present.
_KINDS_TEXT = """
log_begin log_version log_tz_offset
icid_new hat_decision hat_sbrs_only hat_delayed_reject icid_tls icid_tls_required smtp_auth smtp_auth_required
icid_close icid_timeout icid_lost_dns icid_killed icid_receiving_failed sender_dns_rejected sender_exception
invalid_sender invalid_recipient
mid_start mid_from mid_to mid_rcpt_rejected bounce_verification mid_ready mid_message_id mid_subject alias_match
incoming_relay ldap_query ldap_unable mid_aborted_receiving
spf dkim dkim_sign dmarc dmarc_verification sdr_domains sdr_verdict sdr_other
policy_match policy_split antispam graymail av_interim antivirus amp_verdict amp_log outbreak_verdict
outbreak_threat_level too_big_for_scanning filter_action quarantined quarantine_new_reason quarantine_released
quarantine_deleted rewritten generated bounce_generated custom_log_entry url_reputation dlp_violation attachment
isq_tagging isq_quarantined isq_reinjected rpc_delivery_start rpc_message_done rpc_rejected rpc_failed
queued dcid_new delivery_start message_done response bounced delayed double_bounce pending_till connection_error
dns_temp_failure deliveries_suspended dcid_tls dcid_tls_required_failed dcid_close possible_delivery
deleted_recipients message_aborted message_finished
bouncelog cef_event engine_error key_expiry status_line dns_error internal_smtp_error
tracking_event
"""
KNOWN_EVENT_KINDS: frozenset[str] = frozenset(_KINDS_TEXT.split())

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built: ~10x faster at startup
_ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
TEMPLATE_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")


class RulebaseError(InputError):
    """The rulebase is malformed; the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class Test:
    """One field test of a condition: `field op value`."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Condition:
    fact: str
    alias: str
    tests: tuple[Test, ...] = ()
    absent: bool = False  # true: no fact of this type passing the tests may exist in the case


@dataclass(slots=True)
class Rule:
    id: str
    stage: str
    title: str
    when: tuple[Condition, ...]
    then_fact: str
    then_set: dict[str, Any]
    explain: str
    references: tuple[str, ...] = ()
    priority: int = 0
    file: str = ""

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(c.alias for c in self.when if not c.absent)

    def to_json(self) -> dict[str, Any]:
        """For the teaching site and `--format json` consumers."""
        return {
            "id": self.id, "stage": self.stage, "title": self.title, "file": self.file,
            "when": [
                {"fact": c.fact, "as": c.alias, "absent": c.absent,
                 "where": [{"field": t.field, "op": t.op, "value": t.value} for t in c.tests]}
                for c in self.when
            ],
            "then": {"fact": self.then_fact, "set": dict(self.then_set)},
            "explain": self.explain, "references": list(self.references), "priority": self.priority,
        }


@dataclass(slots=True)
class Rulebase:
    rules: list[Rule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # fact types no collector is known to produce: the rule can never fire (a typo?)
    warnings: list[str] = field(default_factory=list)

    def by_id(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def by_stage(self) -> dict[str, list[Rule]]:
        out: dict[str, list[Rule]] = {s: [] for s in STAGES}
        for r in self.rules:
            out[r.stage].append(r)
        return {s: rs for s, rs in out.items() if rs}

    def fact_types(self) -> set[str]:
        """Every fact type some rule tests (what the engine needs to be told)."""
        return {c.fact for r in self.rules for c in r.when}

    def fingerprint(self) -> str:
        import hashlib
        import json
        blob = json.dumps([r.to_json() for r in self.rules], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _catalogue_kinds() -> set[str]:
    """Kinds the log catalogue declares, when LOGS' catalogue exposes them."""
    try:
        from diagnose.collectors import catalogue  # noqa: PLC0415 - optional, built in parallel
    except Exception:  # absent or broken: fall back on the documented list
        return set()
    kinds: set[str] = {str(p.kind) for p in getattr(catalogue, "PATTERNS", ()) if getattr(p, "kind", None)}
    for name in ("KINDS", "EVENT_KINDS"):
        value = getattr(catalogue, name, None)
        if value:
            kinds.update(str(k) for k in value)
    return kinds


def load_rulebase(folder: str | Path | None = None, extra_kinds: Iterable[str] = (), strict: bool = False) -> Rulebase:
    """Load and validate every rules/*.yaml (the packaged rulebase by default).

    strict: an unknown fact type is an error (tests); otherwise a warning in `warnings`,
    so that a kind the log catalogue added later does not stop every diagnosis.
    """
    if folder is None:
        from diagnose.resources import data_dir
        folder = data_dir("rules")
    folder = Path(folder)
    if not folder.is_dir():
        raise RulebaseError(f"rules folder not found: {folder}")
    rb = Rulebase()
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        rb.files.append(path.name)
        rb.rules.extend(_load_file(path))
    validate(rb, extra_kinds=extra_kinds, strict=strict)
    return rb


def _load_file(path: Path) -> list[Rule]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulebaseError(f"{path.name}: cannot read YAML: {str(exc).splitlines()[0]}") from None
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise RulebaseError(f"{path.name}: expected a mapping with 'stage' and 'rules'")
    stage = doc.get("stage")
    if stage not in STAGES:
        raise RulebaseError(f"{path.name}: unknown stage {stage!r} (known: {', '.join(STAGES)})")
    raw_rules = doc.get("rules") or []
    if not isinstance(raw_rules, list):
        raise RulebaseError(f"{path.name}: 'rules' must be a list")
    return [_parse_rule(path.name, stage, i, raw) for i, raw in enumerate(raw_rules)]


def _parse_rule(fname: str, stage: str, index: int, raw: Any) -> Rule:
    where = f"{fname} rule #{index + 1}"
    if not isinstance(raw, dict):
        raise RulebaseError(f"{where}: a rule must be a mapping")
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise RulebaseError(f"{where}: id {rid!r} must look like STAGE-SOME-NAME (capitals, digits, dashes)")
    where = f"{fname} {rid}"
    unknown_keys = set(raw) - {"id", "title", "when", "then", "explain", "references", "priority", "stage", "notes"}
    if unknown_keys:
        raise RulebaseError(f"{where}: unknown keys {sorted(unknown_keys)}")
    rule_stage = raw.get("stage", stage)
    if rule_stage not in STAGES:
        raise RulebaseError(f"{where}: unknown stage {rule_stage!r}")
    when_raw = raw.get("when")
    if not isinstance(when_raw, list) or not when_raw:
        raise RulebaseError(f"{where}: 'when' must be a non-empty list of facts")
    when = tuple(_parse_condition(where, i, c) for i, c in enumerate(when_raw))
    then = raw.get("then")
    if not isinstance(then, dict) or not isinstance(then.get("fact"), str):
        raise RulebaseError(f"{where}: 'then' must be a mapping with 'fact' (and 'set')")
    then_set = then.get("set") or {}
    if not isinstance(then_set, dict):
        raise RulebaseError(f"{where}: 'then.set' must be a mapping")
    explain = raw.get("explain") or ""
    if not isinstance(explain, str) or not explain.strip():
        raise RulebaseError(f"{where}: 'explain' text is required (it is the 'why' a ticket shows)")
    refs = raw.get("references") or []
    if isinstance(refs, str):
        refs = [refs]
    priority = raw.get("priority", then_set.get("priority", 0))
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise RulebaseError(f"{where}: priority must be an integer")
    return Rule(
        id=rid, stage=rule_stage, title=str(raw.get("title") or rid), when=when, then_fact=then["fact"],
        then_set={k: v for k, v in then_set.items() if k != "priority"}, explain=" ".join(explain.split()),
        references=tuple(str(r) for r in refs), priority=priority, file=fname,
    )


def _parse_condition(where: str, index: int, raw: Any) -> Condition:
    if not isinstance(raw, dict) or not isinstance(raw.get("fact"), str):
        raise RulebaseError(f"{where}: when #{index + 1} must be a mapping with 'fact'")
    unknown_keys = set(raw) - {"fact", "as", "where", "absent"}
    if unknown_keys:
        raise RulebaseError(f"{where}: when #{index + 1}: unknown keys {sorted(unknown_keys)}")
    fact = raw["fact"]
    alias = raw.get("as") or fact
    if not isinstance(alias, str) or not _NAME_RE.match(alias):
        raise RulebaseError(f"{where}: alias {alias!r} must be lower_case")
    tests: list[Test] = []
    for fname, spec in (raw.get("where") or {}).items():
        if not isinstance(fname, str) or not _NAME_RE.match(fname):
            raise RulebaseError(f"{where}: field name {fname!r} must be lower_case")
        if isinstance(spec, dict):
            if not spec:
                raise RulebaseError(f"{where}: field {fname}: empty test")
            for op, value in spec.items():
                tests.append(_check_test(where, fname, op, value))
        else:
            tests.append(_check_test(where, fname, "eq", spec))
    return Condition(fact=fact, alias=alias, tests=tuple(tests), absent=bool(raw.get("absent", False)))


def _check_test(where: str, fname: str, op: Any, value: Any) -> Test:
    if op not in OPERATORS:
        raise RulebaseError(f"{where}: field {fname}: unknown operator {op!r} (known: {', '.join(OPERATORS)})")
    if op in NUMERIC_OPERATORS and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise RulebaseError(f"{where}: field {fname}: {op} needs a number, got {value!r}")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(v is None or _is_scalar(v) for v in value):
            raise RulebaseError(f"{where}: field {fname}: {op} needs a non-empty list of plain values")
        value = tuple(value)
    elif op == "matches":
        if not isinstance(value, str):
            raise RulebaseError(f"{where}: field {fname}: matches needs a regex string")
        try:
            re.compile(value)
        except re.error as exc:
            raise RulebaseError(f"{where}: field {fname}: bad regex {value!r}: {exc}") from None
    elif op == "exists":
        if not isinstance(value, bool):
            raise RulebaseError(f"{where}: field {fname}: exists needs true or false")
    elif op == "same":
        if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", value):
            raise RulebaseError(f"{where}: field {fname}: same needs 'alias.field', got {value!r}")
    elif not (_is_scalar(value) or (value is None and op in ("eq", "ne"))):  # null: the field is missing
        raise RulebaseError(f"{where}: field {fname}: {op} needs a plain value, got {value!r}")
    return Test(fname, op, value)


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool)


def validate(rb: Rulebase, extra_kinds: Iterable[str] = (), strict: bool = True) -> None:
    """Cross-rule checks: unique ids, known fact types, aliases, vocabulary, templates."""
    seen: dict[str, str] = {}
    produced = {r.then_fact for r in rb.rules}
    known = KNOWN_EVENT_KINDS | set(DERIVED_TYPES) | set(CASE_TYPES) | produced | _catalogue_kinds() | set(extra_kinds)
    for r in rb.rules:
        where = f"{r.file} {r.id}"
        if r.id in seen:
            raise RulebaseError(f"{where}: duplicate rule id (also in {seen[r.id]})")
        seen[r.id] = r.file
        aliases: list[str] = []
        for c in r.when:
            if c.fact not in known and not c.fact.startswith(OPEN_PREFIXES):
                msg = f"{where}: unknown fact type {c.fact!r} (not an Event kind nor a derived fact)"
                if strict:
                    raise RulebaseError(msg)
                rb.warnings.append(msg)
            if c.alias in aliases:
                raise RulebaseError(f"{where}: alias {c.alias!r} used twice; name each fact with 'as'")
            if c.absent and c.fact in produced | set(DERIVED_TYPES):
                # negation is decided when the case's facts arrive; derived facts come later
                raise RulebaseError(f"{where}: 'absent' may only test log or case facts, not derived {c.fact!r}")
            for t in c.tests:
                if t.op == "same":
                    other = t.value.split(".", 1)[0]
                    if other not in aliases:
                        raise RulebaseError(f"{where}: 'same: {t.value}' must name an alias listed before {c.alias!r}")
            if not c.absent:
                aliases.append(c.alias)
        if not aliases:
            raise RulebaseError(f"{where}: at least one 'when' fact must be present (not absent)")
        if r.then_fact in KNOWN_EVENT_KINDS or r.then_fact in CASE_TYPES:
            raise RulebaseError(f"{where}: then.fact {r.then_fact!r} is a log/case fact; derive a new type")
        if not _NAME_RE.match(r.then_fact):
            raise RulebaseError(f"{where}: then.fact {r.then_fact!r} must be lower_case")
        if r.then_fact in [c.fact for c in r.when]:
            raise RulebaseError(f"{where}: a rule may not derive the fact type it matches (endless chaining)")
        for key in REQUIRED_SET.get(r.then_fact, ()):
            if key not in r.then_set:
                raise RulebaseError(f"{where}: then.set needs {key!r} for a {r.then_fact} fact")
        _check_vocabulary(where, r)
        for text in [r.explain, *[v for v in r.then_set.values() if isinstance(v, str)]]:
            for alias, _field in TEMPLATE_REF.findall(text):
                if alias not in aliases:
                    raise RulebaseError(f"{where}: template refers to {{{alias}.{_field}}} but {alias!r} is not a 'when' alias")


def _check_vocabulary(where: str, r: Rule) -> None:
    s = r.then_set
    checks = (("stage", STAGES), ("outcome", OUTCOMES), ("confidence", CONFIDENCES))
    for key, vocab in checks:
        if key in s and not TEMPLATE_REF.search(str(s[key])) and s[key] not in vocab:
            raise RulebaseError(f"{where}: then.set.{key} {s[key]!r} is not one of {', '.join(vocab)}")
    if r.then_fact == "remedy" and s.get("kind") not in RECOMMENDATION_KINDS:
        raise RulebaseError(f"{where}: remedy kind {s.get('kind')!r} is not one of {', '.join(RECOMMENDATION_KINDS)}")
    for k, v in s.items():
        if not _is_scalar(v):
            raise RulebaseError(f"{where}: then.set.{k} must be a plain value")
