"""explain with the project's rulebase on stories built here (the two acceptance shapes) and the CLI's
input errors. The real-sample acceptance runs in tests/test_explain_corpus.py."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from diagnose.engine.explainer import explain_stories, make_query
from diagnose.engine.facts import Query
from diagnose.model import STAGES, ConnectionStory, Event, InputError, MessageStory

T = datetime(2014, 11, 19, 9, 16, 38)


def ev(kind: str, line: int, text: str, **fields) -> Event:
    return Event(kind, T, "420D4FEA709365BFB3E3-0AF2EE5E700E", f"mail_logs.txt:{line}", text, fields)


def hat_reject() -> ConnectionStory:
    return ConnectionStory("420D4FEA709365BFB3E3-0AF2EE5E700E", 60140291, events=[
        ev("icid_new", 4, "New SMTP ICID 60140291 interface Data 1 (68.232.141.109) address 176.227.203.114 reverse "
           "dns host h176-227-203-114.host.redstation.co.uk verified no", icid=60140291, ip="176.227.203.114",
           rdns="h176-227-203-114.host.redstation.co.uk", rdns_verified=False, interface="Data 1"),
        ev("hat_decision", 5, "ICID 60140291 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5", icid=60140291,
           action="REJECT", sender_group="BLACKLIST", rule="sbrs[-10.0:-2.5]", sbrs="-9.5", sbrs_score=-9.5),
        ev("icid_close", 6, "ICID 60140291 close", icid=60140291, how="close"),
    ])


def case_drop() -> MessageStory:
    return MessageStory("420D4FEA709365BFB3E3-0AF2EE5E700E", 24611411, partial_start=True, events=[
        ev("antispam", 32, "MID 24611411 interim verdict using engine: CASE spam positive", mid=24611411,
           engine="CASE", verdict="spam positive", interim=True),
        ev("antispam", 33, "MID 24611411 using engine: CASE spam positive", mid=24611411, engine="CASE",
           verdict="spam positive", interim=False),
        ev("message_aborted", 34, "Message aborted MID 24611411 Dropped by CASE", mid=24611411,
           reason="Dropped by CASE"),
        ev("message_finished", 35, "Message finished MID 24611411 done", mid=24611411, status="done"),
    ])


def test_hat_reject_on_poor_reputation():
    answer = explain_stories(Query(ip="176.227.203.114"), connections=[hat_reject()])
    (f,) = answer.findings
    assert (f.outcome, f.stage, f.confidence) == ("rejected", "hat", "certain")
    assert f.cause == "poor_sender_reputation" and f.reason == "badreputation"
    assert any("SBRS -9.5" in e.text for e in f.evidence)
    assert f.sender_ip == "176.227.203.114" and f.icid == 60140291
    assert "176.227.203.114" in f.summary and "(not logged)" not in f.summary
    path = {p["stage"]: p["status"] for p in f.path}
    assert path["hat"] == "stopped" and path["antispam"] == "not_reached"
    assert f.why and all(":" in w for w in f.why)


def test_case_drop_with_partial_start():
    answer = explain_stories(Query(mid=24611411), messages=[(case_drop(), None)])
    (f,) = answer.findings
    assert (f.outcome, f.stage, f.confidence) == ("dropped", "antispam", "certain")
    assert f.mid == 24611411
    assert {e.source for e in f.evidence} >= {"mail_logs.txt:33", "mail_logs.txt:34"}
    path = {p["stage"]: p["status"] for p in f.path}
    # the logs begin after this message started: nothing is claimed about the stages before anti-spam
    assert path["hat"] == "unknown" and path["antispam"] == "stopped" and path["delivery"] == "not_reached"
    assert any("previous" in g for g in f.gaps)


def test_json_contract_shape():
    answer = explain_stories(Query(ip="176.227.203.114"), connections=[hat_reject()])
    doc = json.loads(json.dumps(answer.to_json(), default=str))
    assert set(doc) >= {"query", "findings", "graph"}
    f = doc["findings"][0]
    for key in ("outcome", "stage", "cause", "reason", "confidence", "summary", "sender", "recipient", "sender_ip",
                "mid", "icid", "time", "appliance", "evidence", "recommendations", "what_if"):
        assert key in f
    assert f["evidence"][0].keys() >= {"source", "text"}
    assert doc["graph"]["nodes"] and doc["graph"]["links"]


def test_nothing_matches_is_one_unknown_finding_with_evidence_of_the_search():
    answer = explain_stories(Query(sender="nobody@example.org"), searched=["mail_logs.txt: 1000 lines"])
    (f,) = answer.findings
    assert (f.outcome, f.stage) == ("unknown", "unknown")
    assert f.evidence and "1000 lines" in f.evidence[0].text
    assert any("--ip" in g for g in f.gaps)


def test_candidate_connection_is_likely_not_certain():
    reason = "No message from a@partner.example is in the logs; connection ICID 60140291 came from the --ip"
    answer = explain_stories(Query(sender="a@partner.example", ip="176.227.203.114"),
                             candidates=[(hat_reject(), "likely", reason)])
    (f,) = answer.findings
    assert (f.outcome, f.stage, f.confidence) == ("rejected", "hat", "likely")
    assert f.why[0] == reason


def test_ranking_puts_problems_before_deliveries():
    delivered = MessageStory("SN", 7, events=[
        ev("mid_to", 10, "MID 7 ICID 1 RID 0 To: <u@corp.example>", mid=7, rid=0, recipient="u@corp.example"),
        ev("message_done", 11, "Message done DCID 3 MID 7 to RID [0]", mid=7, dcid=3, rids=[0], target=""),
        ev("message_finished", 12, "Message finished MID 7 done", mid=7, status="done"),
    ])
    answer = explain_stories(Query(), messages=[(delivered, None), (case_drop(), None)])
    assert [f.outcome for f in answer.findings][0] == "dropped"
    assert answer.findings[-1].outcome in ("delivered", "unknown")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"since": "yesterday"}, "--since"),
    ({"until": "2024-13-45 10:00"}, "--until"),
    ({"mid": "MID-12"}, "--mid"),
    ({"ip": "999.1.1.1"}, "--ip"),
    ({"since": "2024-10-08 00:00", "until": "2024-10-07 00:00"}, "after"),
])
def test_query_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        make_query(**kwargs)


def test_query_parsing():
    q = make_query(sender="<A@Partner.example>", mid="24611411", since="2014-11-19 09:00", ip=" 176.227.203.114 ")
    assert q.sender == "A@Partner.example" and q.mid == 24611411 and q.since == datetime(2014, 11, 19, 9, 0)
    assert q.ip == "176.227.203.114"


def test_stage_vocabulary_in_every_path():
    answer = explain_stories(Query(mid=24611411), messages=[(case_drop(), None)])
    assert [p["stage"] for p in answer.findings[0].path] == [s for s in STAGES if s != "unknown"]


def test_cli_input_errors_exit_2_without_traceback(run_cli, tmp_path):
    r = run_cli("explain", "--logs", str(tmp_path / "missing.log"), "--mid", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    r = run_cli("explain", "--mid", "1")
    assert r.returncode == 2 and "--logs" in r.stderr
    log = tmp_path / "m.log"
    log.write_text("Wed Nov 19 09:16:46 2014 Info: Begin Logfile\n")
    r = run_cli("explain", "--logs", str(log), "--mid", "1", "--since", "soon")
    assert r.returncode == 2 and "--since" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("explain", "--ndr", "@" + str(tmp_path / "nope.txt"))
    assert r.returncode == 2 and "--ndr" in r.stderr


def test_cli_ndr_explains_without_logs(run_cli):
    r = run_cli("explain", "--ndr", "554 5.7.1 Your access to this mail system has been rejected due to the "
                "sending MTA's poor reputation", "--format", "json")
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["findings"]
    assert f["stage"] == "hat" and f["outcome"] == "rejected" and f["confidence"] != "certain"
    assert f["evidence"][0]["source"] == "ndr"


def test_tracking_export_alone_explains_a_message(run_cli, data_dir):
    export = data_dir / "tracking" / "readme_esa_details_1576.json"
    r = run_cli("explain", "--tracking", str(export), "--mid", "1576", "--format", "json", "--offline")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (f,) = doc["findings"]
    assert f["mid"] == 1576 and f["outcome"] != "unknown"
    assert all(e["source"].startswith("tracking:") for e in f["evidence"])
    r = run_cli("explain", "--tracking", str(data_dir / "tracking" / "nope.json"), "--mid", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_a_split_message_is_explained_by_the_mid_it_continues_as():
    from types import SimpleNamespace

    from diagnose.engine.explainer import stories_from_search

    parent = MessageStory("SN", 100, icid=5, links=[("split_to", 101)], events=[
        ev("mid_from", 10, "MID 100 ICID 5 From: <a@partner.example>", mid=100, sender="a@partner.example"),
        ev("policy_split", 11, "MID 100 was split creating MID 101 due to a per-recipient policy SALES", mid=100,
           new_mid=101, policy="SALES"),
        ev("message_finished", 12, "Message finished MID 100 done", mid=100, status="done"),
    ])
    child = MessageStory("SN", 101, links=[("split_from", 100)], events=[
        ev("antispam", 13, "MID 101 using engine: CASE spam positive", mid=101, engine="CASE",
           verdict="spam positive", interim=False),
        ev("message_aborted", 14, "Message aborted MID 101 Dropped by CASE", mid=101, reason="Dropped by CASE"),
    ])
    result = SimpleNamespace(messages=[parent], connections=[], related=[child])
    pairs, alone = stories_from_search(result)
    assert [m.mid for m, _ in pairs] == [100, 101] and alone == []
    answer = explain_stories(Query(sender="a@partner.example"), pairs)
    (f,) = answer.findings  # the parent's own "unknown" is not an answer: MID 101 tells its fate
    assert (f.mid, f.outcome, f.stage) == (101, "dropped", "antispam")
    assert f.sender == "a@partner.example"


@pytest.mark.parametrize("option", ["--sender", "--subject", "--message-id", "--mid"])
def test_undecodable_command_line_bytes_exit_2(run_cli, tmp_path, option):
    import subprocess
    import sys

    log = tmp_path / "m.log"
    log.write_text("Mon Oct  7 13:15:02 2024 Info: ICID 7 close\n")
    r = subprocess.run([sys.executable, "-m", "diagnose", "explain", "--logs", str(log), option.encode(),
                        b"\xff\xfe@x", b"--format", b"json", b"--output", str(tmp_path / "o.json").encode()],
                       capture_output=True, timeout=120)
    assert r.returncode == 2 and b"Traceback" not in r.stderr and r.stderr.count(b"\n") == 1


def test_ndr_with_undecodable_bytes_is_answered(run_cli, tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "diagnose", "explain", "--ndr", b"550 5.1.1 user \xff unknown",
                        "--format", "json"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["findings"][0]["reason"]
