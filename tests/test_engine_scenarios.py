"""Scenario harness: every tests/data/scenarios/NAME.log with its NAME.yaml expectation, through the
real reader, correlator, search and engine (api.explain). And: every rule in rules/ fires somewhere.

Expectation format (written by the RULES engineer):

    query: {mid: 24611411}              # explain() keywords: sender, recipient, ip, mid, message_id,
                                        # subject, since, until, year; config/tracking: paths beside the log
    expect:                             # one entry per finding, any order (all must be matched)
      - {outcome: dropped, stage: antispam, cause: spam_positive, confidence: certain,
         recommendation_kinds: [safelist, submit_to_cisco]}   # kinds that must be among the recommendations
    fires: [AS-DROP-POSITIVE]           # optional: rule ids that must fire
    dns: true                           # optional: DNS probes against the loopback name server that
                                        # serves tests/data/zones (tests/dnsserver.py); offline otherwise
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from diagnose.engine.rulebase import load_rulebase

SCENARIOS = Path(__file__).parent / "data" / "scenarios"
SPECS = sorted(SCENARIOS.glob("*.yaml")) if SCENARIOS.is_dir() else []
PATH_KEYS = ("config", "tracking")


def _api_ready() -> bool:
    from diagnose import api
    return hasattr(api, "find_stories")


@cache
def run_scenario(spec: Path, nameserver: str | None = None) -> tuple[dict[str, Any], Any]:
    from diagnose import api

    doc = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
    query = dict(doc.get("query") or {})
    for key in PATH_KEYS:
        if query.get(key):
            query[key] = str(spec.parent / query[key])
    if doc.get("dns"):
        query.update(nameserver=nameserver, probe_timeout=0.5)
    else:
        query["offline"] = True
    logs = [str(spec.with_suffix(".log"))] if spec.with_suffix(".log").exists() else []
    return doc, api.explain(logs, **query)


@pytest.fixture(scope="module")
def nameserver(request) -> str | None:
    """The loopback name server, started only when some scenario asks for DNS."""
    if not any((yaml.safe_load(s.read_text(encoding="utf-8")) or {}).get("dns") for s in SPECS):
        return None
    return request.getfixturevalue("dns_server").address


def _matches(exp: dict[str, Any], f: Any) -> bool:
    for key in ("outcome", "stage", "cause", "confidence", "reason", "mid", "icid", "recipient"):
        if key in exp and getattr(f, key) != exp[key]:
            return False
    kinds = {r.kind for r in f.recommendations}
    return set(exp.get("recommendation_kinds") or ()) <= kinds


@pytest.mark.skipif(not SPECS, reason="no scenarios yet")
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_scenario(spec: Path, nameserver: str | None) -> None:
    if not _api_ready():
        pytest.skip("the log search (api.find_stories) is not built yet")
    doc, answer = run_scenario(spec, nameserver)
    expect = doc.get("expect") or []
    findings = list(answer.findings)
    described = [(f.outcome, f.stage, f.cause, f.confidence, sorted({r.kind for r in f.recommendations}))
                 for f in findings]
    assert len(findings) == len(expect), f"{spec.stem}: expected {len(expect)} findings, got {described}"
    unmatched = list(findings)
    for exp in expect:
        hit = next((f for f in unmatched if _matches(exp, f)), None)
        assert hit is not None, f"{spec.stem}: nothing matches {exp}; got {described}"
        unmatched.remove(hit)
    for f in findings:
        assert f.evidence, f"{spec.stem}: a finding without evidence: {f.summary}"
    fired = {r for f in findings for r in f.extra.get("rules", [])}
    missing = set(doc.get("fires") or []) - fired
    assert not missing, f"{spec.stem}: rules that should fire did not: {sorted(missing)}"


@pytest.mark.skipif(not SPECS, reason="no scenarios yet")
def test_every_rule_fires_in_some_scenario(nameserver: str | None) -> None:
    if not _api_ready():
        pytest.skip("the log search (api.find_stories) is not built yet")
    fired: set[str] = set()
    for spec in SPECS:
        _, answer = run_scenario(spec, nameserver)
        fired |= {r for f in answer.findings for r in f.extra.get("rules", [])}
    never = sorted(r.id for r in load_rulebase().rules if r.id not in fired)
    assert not never, f"{len(never)} rules fire in no scenario: {never}"
