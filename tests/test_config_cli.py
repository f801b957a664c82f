"""`explain --config FILE` (repeatable) end to end: the finding names the configuration objects, the
JSON and the ticket HTML carry the configuration what-if, hostile XML is one clear error line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CONFIG = Path(__file__).parent / "data" / "config"
LOGS = CONFIG / "mail_logs_config_cases"


def _explain(run_cli, *args: str) -> dict:
    r = run_cli("explain", "--logs", LOGS, "--offline", "--format", "json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def poor_reputation():
    from tests.conftest import _run_cli
    return _explain(_run_cli, "--ip", "192.0.2.1", "--config", str(CONFIG / "esa_config.xml"))["findings"][0]


def test_poor_reputation_names_group_and_policy(poor_reputation):
    f = poor_reputation
    assert (f["outcome"], f["stage"]) == ("rejected", "hat")
    assert "sender group CORP_BLOCKLIST, SBRS −10.0…−1.5 (sbrs[-10.0:-1.5]) → mail flow policy $CORP_BLOCKED: REJECT" in f["summary"]
    sources = [e["source"] for e in f["evidence"]]
    assert any(s.endswith("mail_logs_config_cases:5") for s in sources)  # the log line
    assert any(s.startswith("config:esa_config.xml#listeners/listener[IncomingMail]/hat:") for s in sources)
    assert f["config"]["listener"] == "IncomingMail"
    assert "esa_config.xml: config/mail_policies (not understood)" in f["config"]["not_understood"]


def test_poor_reputation_what_if_passes_hat(poor_reputation):
    # the least risky recommendation: a custom sender group ($ACCEPTED) just above the group that matches
    w = poor_reputation["what_if"]
    assert w["recommendation"] == "hat_allowlist" and w["remedy"] == "hat-custom-sender-group"
    assert w["helps"] is True
    assert w["after"]["hat"] == {**w["after"]["hat"], "sender_group": "ALLOWED_PARTNERS", "policy": "$ACCEPTED"}
    assert "above CORP_BLOCKLIST" in w["change"]
    status = {p["stage"]: p["status"] for p in w["path"]}
    assert status["hat"] == "passes" and status["antispam"] == "runs" and status["antivirus"] == "runs"
    assert w["predicted_outcome"] == "delivered"
    assert "unless anti-spam is positive or anti-virus is positive" in w["summary"]
    # the next recommendation, WHITELIST ($TRUSTED), evaluated the same way: anti-spam skipped
    trusted = next(o for o in poor_reputation["config"]["other_what_ifs"] if o["remedy"] == "hat-allowlist-trusted")
    assert trusted["helps"] is True and "anti-spam skipped by $TRUSTED, anti-virus still runs" in trusted["summary"]


def test_rat_case_with_repeated_exports(run_cli):
    f = _explain(run_cli, "--mid", "24611411", "--config", str(CONFIG / "hat_export.txt"),
                 "--config", str(CONFIG / "rat_export.txt"))["findings"][0]
    assert (f["outcome"], f["stage"]) == ("rejected", "rat")
    assert "has no entry for domain newco.example" in f["summary"]
    assert "config:rat_export.txt#rat:8" in [e["source"] for e in f["evidence"]]
    w = f["what_if"]
    assert w["recommendation"] == "rat_accept"
    assert w["after"]["rat"] == {**w["after"]["rat"], "entry": "newco.example", "access": "ACCEPT"}
    assert {p["stage"]: p["status"] for p in w["path"]}["rat"] == "passes"


def test_config_changed_since_the_logs(run_cli):
    f = _explain(run_cli, "--ip", "203.0.113.140", "--config", str(CONFIG / "esa_config.xml"))["findings"][0]
    assert "Logs and configuration disagree" in f["summary"]
    assert "the logs matched BLACKLIST on sbrs[-10.0:-2.5]" in f["summary"]
    assert "would match CORP_BLOCKLIST" in f["summary"]


def test_ticket_html_shows_the_config_what_if(run_cli, tmp_path):
    out = tmp_path / "ticket.html"
    r = run_cli("explain", "--logs", LOGS, "--offline", "--ip", "192.0.2.1", "--config", CONFIG / "esa_config.xml",
                "--format", "html", "--output", out)
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "add 192.0.2.1 to a new sender group ALLOWED_PARTNERS (policy $ACCEPTED) above CORP_BLOCKLIST" in html
    assert "configuration what-if" in html
    assert "$CORP_BLOCKED" in html


@pytest.mark.parametrize("doc, words", [
    ('<?xml version="1.0"?><!DOCTYPE config [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     "<config><hostname>&b;</hostname></config>", "refused: the XML declares entity"),
    ('<?xml version="1.0"?><!DOCTYPE config [<!ENTITY x SYSTEM "file:///etc/passwd">]><config>&x;</config>',
     "refused: the XML declares external entity"),
    ("<config><listeners>", "not well-formed XML"),
])
def test_hostile_or_broken_config_is_one_line_exit_2(run_cli, tmp_path, doc, words):
    bad = tmp_path / "bad.xml"
    bad.write_text(doc)
    r = run_cli("explain", "--logs", LOGS, "--offline", "--ip", "192.0.2.1", "--config", bad)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("esa-diagnose: bad.xml: ") and words in lines[0]
    assert "Traceback" not in r.stderr


def test_missing_config_file(run_cli, tmp_path):
    r = run_cli("explain", "--logs", LOGS, "--offline", "--ip", "192.0.2.1", "--config", tmp_path / "nope.xml")
    assert r.returncode == 2 and "configuration file not found" in r.stderr


def test_batch_overview_with_config(run_cli, tmp_path):
    out = tmp_path / "rows.jsonl"
    r = run_cli("batch", "--logs", LOGS, "--since", "2024-10-07 00:00", "--until", "2024-10-08 00:00",
                "--config", CONFIG / "hat_export.txt", "--config", CONFIG / "rat_export.txt",
                "--format", "jsonl", "--output", out)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_stage = {row["stage"]: row for row in rows}
    assert "no entry for domain newco.example" in by_stage["rat"]["summary"]
    assert by_stage["rat"]["diagnosis"]["what_if"]["recommendation"] == "rat_accept"
    hat_rows = [row for row in rows if row["stage"] == "hat"]
    assert hat_rows and all(row["diagnosis"]["what_if"]["method"].startswith("configuration what-if")
                            for row in hat_rows)


def test_api_batch_passes_config(tmp_path):
    from diagnose import api
    bounces = tmp_path / "bounces.csv"
    bounces.write_text("recipient,sender,reason\njane@newco.example,bob@sender.example,"
                       "550 #5.1.0 Address rejected\n")
    result = api.batch(bounces, logs=[LOGS], config=[CONFIG / "esa_config.xml"])
    row = result.rows[0]
    assert row["stage"] == "rat" and "no entry for domain newco.example" in row["summary"]
    assert row["diagnosis"]["what_if"]["after"]["rat"]["access"] == "ACCEPT"


def test_text_output_shows_the_config_what_if(run_cli):
    r = run_cli("explain", "--logs", LOGS, "--offline", "--mid", "24611411", "--config", CONFIG / "esa_config.xml")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.strip().startswith("What if:"))
    assert "add RAT entry newco.example ACCEPT" in line and "RAT would accept jane@newco.example" in line
