"""Engine mechanics with small rulebases written here (independent of the project's rules/)."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from diagnose.engine.compiler import CompiledRulebase
from diagnose.engine.explainer import Engine, explain_stories
from diagnose.engine.facts import Case, Fact, Query, build_facts
from diagnose.engine.remedies import RemedyCatalogue, parse_catalogue
from diagnose.engine.rulebase import RulebaseError, load_rulebase
from diagnose.model import ConnectionStory, Event, MessageStory

T0 = datetime(2024, 10, 7, 13, 15, 2)


def write_rules(tmp_path: Path, files: dict[str, str]) -> Path:
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    for name, body in files.items():
        (d / name).write_text(textwrap.dedent(body), encoding="utf-8")
    return d


CHAIN = {
    "hat.yaml": """
        stage: hat
        rules:
          - id: HAT-BAD-REP
            title: poor reputation
            when:
              - fact: hat_decision
                as: hat
                where: {action: {in: [REJECT, TCPREFUSE]}, rule: {matches: 'sbrs\\['}, sbrs_score: {lt: -3.0}}
            then: {fact: cause, set: {cause: poor_sender_reputation, detail: "SBRS {hat.sbrs}"}}
            explain: reputation {hat.sbrs} of {hat.ip} is poor
          - id: HAT-STOP-REP
            title: stopped for reputation
            when:
              - fact: cause
                as: c
                where: {cause: poor_sender_reputation}
              - fact: hat_decision
                as: hat
            then: {fact: stop, set: {stage: hat, outcome: rejected, cause: poor_sender_reputation,
                                     reason: badreputation, confidence: certain, priority: 42}}
            explain: refused {hat.ip} because of {c.detail}
          - id: HAT-FIX-REP
            title: fix
            when:
              - fact: stop
                as: s
                where: {cause: poor_sender_reputation}
            then: {fact: remedy, set: {kind: hat_allowlist, ref: rep-group}}
            explain: allowlist it
          - id: HAT-ACCEPT
            title: accepted
            when:
              - fact: hat_decision
                as: hat
                where: {action: ACCEPT}
            then: {fact: passed, set: {stage: hat}}
            explain: accepted {hat.ip}
    """,
}

REMEDIES = {"remedies": [
    {"id": "rep-wide", "kind": "hat_allowlist", "title": "WHITELIST", "risk": 3, "causes": ["poor_sender_reputation"]},
    {"id": "rep-group", "kind": "hat_allowlist", "title": "custom group", "risk": 2, "causes": ["poor_sender_reputation"]},
    {"id": "rep-talos", "kind": "submit_to_cisco", "title": "Talos", "risk": 1, "causes": ["poor_sender_reputation"]},
]}


def ev(kind: str, line: int, text: str, ts: datetime = T0, **fields) -> Event:
    return Event(kind=kind, ts=ts, appliance="SN1", source=f"mail_logs:{line}", text=text, fields=fields)


def rejected_connection(sbrs: float = -9.5, action: str = "REJECT") -> ConnectionStory:
    return ConnectionStory("SN1", 880102, events=[
        ev("icid_new", 40, "New SMTP ICID 880102 interface Main (10.0.0.1) address 198.51.100.7", icid=880102,
           ip="198.51.100.7"),
        ev("hat_decision", 41, f"ICID 880102 {action} SG BLACKLIST match sbrs[-10.0:-2.5] SBRS {sbrs}", icid=880102,
           action=action, sender_group="BLACKLIST", rule="sbrs[-10.0:-2.5]", sbrs=str(sbrs), sbrs_score=sbrs),
        ev("icid_close", 42, "ICID 880102 close", icid=880102, how="close"),
    ])


@pytest.fixture
def engine(tmp_path):
    rb = load_rulebase(write_rules(tmp_path, CHAIN), strict=True)
    return Engine(rb, CompiledRulebase(rb), parse_catalogue(REMEDIES))


def test_forward_chaining_records_justifications(engine):
    case = Case(kind="connection", query=Query(ip="198.51.100.7"), connection=rejected_connection())
    record, finding = engine.run_case(case)
    kinds = [f.type for f in record.derived()]
    assert kinds == ["cause", "stop", "remedy"]
    cause, stop, remedy = record.derived()
    hat = next(f for f in case.facts if f.type == "hat_decision")
    assert [j.rule_id for j in record.justifications_of(cause.id)] == ["HAT-BAD-REP"]
    (js,) = record.justifications_of(stop.id)
    assert js.rule_id == "HAT-STOP-REP" and set(js.input_ids) == {cause.id, hat.id}
    assert record.justifications_of(remedy.id)[0].input_ids == (stop.id,)
    # templated set values are filled from the matched fact
    assert cause.get("detail") == "SBRS -9.5"
    # the remedy rests, transitively, on the HAT line only
    assert [f.event.source for f in record.support([remedy.id])] == ["mail_logs:41"]
    assert finding.outcome == "rejected" and finding.stage == "hat" and finding.confidence == "certain"
    assert finding.why == ["HAT-BAD-REP: reputation -9.5 of 198.51.100.7 is poor",
                           "HAT-STOP-REP: refused 198.51.100.7 because of SBRS -9.5"]
    # remedy fact names its catalogue entry: only that one (not every remedy of the cause)
    assert [r.source for r in finding.recommendations] == ["rep-group"]
    assert {e.source for e in finding.evidence} == {"mail_logs:40", "mail_logs:41"}
    path = {p["stage"]: p["status"] for p in finding.path}
    assert path["hat"] == "stopped" and path["delivery"] == "not_reached"


def test_numeric_test_fails_and_nothing_is_concluded(engine):
    case = Case(kind="connection", query=Query(ip="198.51.100.7"), connection=rejected_connection(sbrs=-2.6))
    record, finding = engine.run_case(case)
    assert record.derived() == []
    assert finding.outcome == "unknown" and finding.stage == "unknown"
    assert finding.evidence, "an unknown answer still shows the lines it looked at"
    assert all(p["status"] == "unknown" for p in finding.path)


def test_unmatched_and_unknown_facts_do_not_raise(engine):
    """Facts no rule accepts would raise MessageNotHandledException without the catch-all."""
    conn = rejected_connection(action="ACCEPT")
    conn.events.append(ev("some_future_kind", 43, "odd line", weird=[1, 2], nested={"a": 1}, nul="a\x00b"))
    conn.events.append(ev("hat_decision", 44, "no fields at all"))
    record, finding = engine.run_case(Case(kind="connection", query=Query(), connection=conn))
    assert [f.type for f in record.derived()] == ["passed"]
    assert {p["stage"]: p["status"] for p in finding.path}["hat"] == "passed"


def test_sessions_are_deleted_after_each_case(engine):
    comp = engine.compiled
    for _ in range(50):
        engine.run_case(Case(kind="connection", query=Query(), connection=rejected_connection()))
    sid = str(next(comp._sids) - 1)
    with pytest.raises(Exception):  # noqa: B017 - durable's own error type for a missing session
        comp.host.get_facts(comp.name, sid)
    assert comp._firings == {}


def test_many_cases_stay_independent(engine):
    """One session per case: a fact of case A never joins a rule with a fact of case B."""
    accepted = Case(kind="connection", query=Query(), connection=rejected_connection(action="ACCEPT"))
    rejected = Case(kind="connection", query=Query(), connection=rejected_connection())
    for _ in range(3):
        r1, f1 = engine.run_case(accepted)
        r2, f2 = engine.run_case(rejected)
        assert [f.type for f in r1.derived()] == ["passed"]
        assert f2.outcome == "rejected"


def test_same_conclusion_twice_is_one_fact_with_two_justifications(tmp_path):
    rules = write_rules(tmp_path, {"antispam.yaml": """
        stage: antispam
        rules:
          - id: AS-A
            title: a
            when: [{fact: antispam, as: a, where: {verdict: {matches: positive}}}]
            then: {fact: cause, set: {cause: spam}}
            explain: "{a.engine} said {a.verdict}"
    """})
    comp = CompiledRulebase(load_rulebase(rules, strict=True))
    facts = [Fact(1, "antispam", {"verdict": "spam positive", "engine": "CASE", "interim": True}),
             Fact(2, "antispam", {"verdict": "spam positive", "engine": "CASE", "interim": False}),
             Fact(3, "antispam", {"verdict": "spam negative", "engine": "CASE"})]
    record = comp.run(facts)
    (cause,) = record.derived()
    assert cause.get("cause") == "spam"
    js = record.justifications_of(cause.id)
    assert sorted(j.input_ids for j in js) == [(1,), (2,)]
    assert {f.id for f in record.support([cause.id])} == {1, 2}


def test_operators(tmp_path):
    rules = write_rules(tmp_path, {"delivery.yaml": """
        stage: delivery
        rules:
          - id: DLV-NULL-IN
            title: target missing or empty
            when: [{fact: message_done, as: md, where: {target: {in: ['', null]}}}]
            then: {fact: passed, set: {stage: delivery}}
            explain: x
          - id: DLV-NE
            title: ne
            when: [{fact: message_done, as: md, where: {target: {ne: ''}, dcid: {gte: 10}}}]
            then: {fact: context, set: {detail: "external {md.target}"}}
            explain: x
          - id: DLV-ABSENT
            title: no bounce
            when:
              - {fact: message_done, as: md}
              - {fact: bounced, as: b, absent: true}
            then: {fact: stop, set: {stage: delivery, outcome: delivered, cause: delivered, reason: delivered,
                                     confidence: certain, priority: 80}}
            explain: delivered
          - id: DLV-JOIN
            title: same rid
            when:
              - {fact: delivery_start, as: ds}
              - {fact: message_done, as: md, where: {dcid: {same: ds.dcid}}}
            then: {fact: cause, set: {cause: joined}}
            explain: x
          - id: DLV-NOT-EXISTS
            title: no code
            when: [{fact: bounced, as: b, where: {code: {exists: false}, reason: {matches: '(?i)^user unknown'}}}]
            then: {fact: cause, set: {cause: nocode}}
            explain: x
    """})
    comp = CompiledRulebase(load_rulebase(rules, strict=True))

    def run(*facts):
        return {f.get("rule") for f in comp.run([Fact(i + 1, t, d) for i, (t, d) in enumerate(facts)]).derived()}

    assert run(("message_done", {"dcid": 5})) == {"DLV-NULL-IN", "DLV-ABSENT"}
    assert run(("message_done", {"dcid": 5, "target": ""})) == {"DLV-NULL-IN", "DLV-ABSENT"}
    assert run(("message_done", {"dcid": 12, "target": "external quarantine"})) == {"DLV-NE", "DLV-ABSENT"}
    # negation: a bounce in the case blocks DLV-ABSENT whatever the order the facts came in
    assert "DLV-ABSENT" not in run(("message_done", {"dcid": 5}), ("bounced", {"code": "550"}))
    assert run(("delivery_start", {"dcid": 7}), ("message_done", {"dcid": 7})) >= {"DLV-JOIN"}
    assert "DLV-JOIN" not in run(("delivery_start", {"dcid": 7}), ("message_done", {"dcid": 8}))
    # matches is Python re.search (not durable's anchored full match)
    assert run(("bounced", {"reason": "USER unknown here"})) == {"DLV-NOT-EXISTS"}
    assert run(("bounced", {"reason": "User unknown", "code": "550"})) == set()


def test_chaining_loops_terminate(tmp_path):
    rules = write_rules(tmp_path, {"hat.yaml": """
        stage: hat
        rules:
          - id: HAT-X
            title: x
            when: [{fact: y, as: y}]
            then: {fact: x, set: {n: "{y.n}1"}}
            explain: x
          - id: HAT-Y
            title: y
            when: [{fact: x, as: x}]
            then: {fact: y, set: {n: "{x.n}2"}}
            explain: y
          - id: HAT-SEED
            title: seed
            when: [{fact: hat_decision, as: h}]
            then: {fact: x, set: {n: "0"}}
            explain: seed
    """})
    comp = CompiledRulebase(load_rulebase(rules, strict=True))
    record = comp.run([Fact(1, "hat_decision", {"action": "ACCEPT"})])
    assert record.truncated
    assert len(record.derived()) <= 501


@pytest.mark.parametrize(("body", "message"), [
    ("stage: nowhere\nrules: []\n", "unknown stage"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision}], then: {fact: passed, set: {stage: hat}}, explain: a}\n"
     "  - {id: HAT-A, title: b, when: [{fact: hat_decision}], then: {fact: passed, set: {stage: hat}}, explain: b}\n",
     "duplicate rule id"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision, where: {action: {like: x}}}], then: {fact: passed, set: {stage: hat}}, explain: a}\n",
     "unknown operator"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision, as: h}], then: {fact: passed, set: {stage: hat}}, explain: 'from {hx.ip}'}\n",
     "not a 'when' alias"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decison}], then: {fact: passed, set: {stage: hat}}, explain: a}\n",
     "unknown fact type"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision}], then: {fact: stop, set: {stage: hat}}, explain: a}\n",
     "needs 'outcome'"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision}, {fact: stop, absent: true}], then: {fact: passed, set: {stage: hat}}, explain: a}\n",
     "'absent' may only test"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision, where: {sbrs_score: {lt: low}}}], then: {fact: passed, set: {stage: hat}}, explain: a}\n",
     "needs a number"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision, where: {rule: {matches: '(['}}}], then: {fact: passed, set: {stage: hat}}, explain: a}\n",
     "bad regex"),
    ("stage: hat\nrules:\n  - {id: HAT-A, title: a, when: [{fact: hat_decision}], then: {fact: stop, set: {stage: hat, outcome: lost, cause: c, reason: r, confidence: certain}}, explain: a}\n",
     "outcome 'lost'"),
    ("stage: hat\nrules:\n  - {id: hat-a, title: a, when: [{fact: hat_decision}], then: {fact: passed, set: {stage: hat}}, explain: a}\n",
     "must look like"),
    ("stage: hat\nrules: [\n", "cannot read YAML"),
])
def test_validation_errors_name_the_problem(tmp_path, body, message):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "hat.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(RulebaseError, match=message):
        load_rulebase(d, strict=True)


def test_unknown_fact_type_is_a_warning_when_not_strict(tmp_path):
    d = write_rules(tmp_path, {"hat.yaml": """
        stage: hat
        rules:
          - {id: HAT-A, title: a, when: [{fact: hat_decison}], then: {fact: passed, set: {stage: hat}}, explain: a}
    """})
    rb = load_rulebase(d)
    assert rb.warnings and "hat_decison" in rb.warnings[0]


def test_message_cases_scope_delivery_lines_to_their_recipient(engine):
    msg = MessageStory("SN1", 501, icid=880102, events=[
        ev("mid_from", 50, "MID 501 ICID 880102 From: <a@partner.example>", mid=501, sender="a@partner.example"),
        ev("mid_to", 51, "MID 501 ICID 880102 RID 0 To: <x@corp.example>", mid=501, rid=0, recipient="x@corp.example"),
        ev("mid_to", 52, "MID 501 ICID 880102 RID 1 To: <y@corp.example>", mid=501, rid=1, recipient="y@corp.example"),
        ev("mid_rcpt_rejected", 53, "MID 501 ICID 880102 To: <z@corp.example> Rejected by RAT", mid=501,
           recipient="z@corp.example", by="RAT"),
        ev("message_done", 60, "Message done DCID 9 MID 501 to RID [1]", mid=501, dcid=9, rids=[1]),
        ev("bounced", 61, "Bounced: DCID 9 MID 501 From:<a@partner.example> To:<x@corp.example> RID 0 - 5.1.1",
           mid=501, dcid=9, rid=0, recipient="x@corp.example"),
    ])
    answer = explain_stories(Query(mid=501), [(msg, None)], engine=engine)
    assert sorted(f.recipient for f in answer.findings) == ["x@corp.example", "y@corp.example", "z@corp.example"]
    for case_rcpt, wanted, unwanted in (("x@corp.example", {61}, {60, 53}), ("y@corp.example", {60}, {61, 53}),
                                        ("z@corp.example", {53}, {60, 61, 51, 52})):
        case = Case(kind="message", query=Query(), message=msg, rid={"x@corp.example": 0, "y@corp.example": 1}.get(case_rcpt),
                    recipient=case_rcpt)
        lines = {int(f.event.source.split(":")[1]) for f in build_facts(case) if f.event}
        assert wanted <= lines and not (unwanted & lines), case_rcpt


def test_remedy_catalogue_ranks_by_risk_and_rejects_bad_kinds():
    cat = parse_catalogue(REMEDIES)
    assert [r.source for r in cat.select([], ["poor_sender_reputation"])] == ["rep-talos", "rep-group", "rep-wide"]
    assert [r.source for r in cat.select([(None, "hat_allowlist")], ["poor_sender_reputation"])] == ["rep-group", "rep-wide"]
    assert RemedyCatalogue().select([], ["x"]) == []
    from diagnose.model import InputError
    with pytest.raises(InputError, match="kind"):
        parse_catalogue({"remedies": [{"id": "a", "kind": "make_it_work"}]})


def test_graph_links_evidence_rule_fact_recommendation(engine):
    case_conn = rejected_connection()
    answer = explain_stories(Query(ip="198.51.100.7"), connections=[case_conn], engine=engine)
    nodes = {n["id"]: n for n in answer.graph["nodes"]}
    kinds = {n["kind"] for n in nodes.values()}
    assert kinds == {"evidence", "rule", "fact", "recommendation"}
    links = {(lk["source"], lk["target"]) for lk in answer.graph["links"]}
    ev_node = next(i for i, n in nodes.items() if n["kind"] == "evidence")
    assert nodes[ev_node]["source"] == "mail_logs:41"
    assert any(s == ev_node and nodes[t]["label"] == "HAT-BAD-REP" for s, t in links)
    rec = next(i for i, n in nodes.items() if n["kind"] == "recommendation")
    assert any(t == rec and nodes[s]["kind"] == "fact" for s, t in links)


def test_ndr_text_is_a_fact_rules_can_conclude_from(tmp_path):
    from diagnose.engine.explainer import explain_ndr

    rules = write_rules(tmp_path, {"hat.yaml": """
        stage: hat
        rules:
          - id: HAT-NDR-SBRS
            title: bounce text names the poor reputation refusal
            when: [{fact: ndr, as: n, where: {stage: hat, reason: badreputation}}]
            then: {fact: stop, set: {stage: hat, outcome: rejected, cause: poor_sender_reputation,
                                     reason: badreputation, confidence: certain, priority: 42}}
            explain: "The bounce says the ESA refused the sending IP: {n.evidence}"
          - id: HAT-NDR-FIX
            title: fix
            when: [{fact: stop, as: s, where: {cause: poor_sender_reputation}}]
            then: {fact: remedy, set: {kind: submit_to_cisco, ref: rep-talos}}
            explain: talos
    """})
    rb = load_rulebase(rules, strict=True)
    eng = Engine(rb, CompiledRulebase(rb), parse_catalogue(REMEDIES))
    text = "554 5.7.1 Your access to this mail system has been rejected due to the sending MTA's poor reputation"
    (f,) = explain_ndr(Query(sender="a@partner.example"), text, engine=eng).findings
    # a rule concluded it, but from bounce text only: never more than likely
    assert (f.outcome, f.stage, f.cause, f.confidence) == ("rejected", "hat", "poor_sender_reputation", "likely")
    assert [r.source for r in f.recommendations] == ["rep-talos"]
    assert f.evidence[0].source == "ndr" and f.sender == "a@partner.example"
    # without a matching rule the classification answers directly
    (g,) = explain_ndr(Query(), "550 5.1.1 <x@corp.example>: Recipient address rejected: User unknown",
                       engine=eng).findings
    assert g.reason == "userunknown" and g.confidence in ("likely", "possible") and g.evidence


def test_event_fields_named_like_engine_keys_do_not_break_the_case(engine):
    """durable-rules identifies facts by an `id` key: CEF lines carry arbitrary keys, e.g. id=..."""
    conn = rejected_connection()
    for n in range(3):
        conn.events.append(ev("cef_event", 50 + n, "CEF:0|Cisco|...", id="same", sid="x", fact_id=9, **{"$s": 1}))
    record, finding = engine.run_case(Case(kind="connection", query=Query(), connection=conn))
    assert finding.outcome == "rejected"
    cef = [f for f in record.facts.values() if f.type == "cef_event"]
    assert len(cef) == 3 and all(f.get("event_id") == "same" and "sid" not in f.fields for f in cef)
