"""batch with --logs: each bounce joined to its story; and the overview of a period (no INPUT).

The mail_logs are written by the project's pipeline simulator (real AsyncOS grammar).
"""

from __future__ import annotations

import csv
import json

import pytest

from diagnose import api
from diagnose.simulator import generate_scenarios, write_log


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory):
    scenarios = generate_scenarios(12, seed=5, kinds=["remote_reject", "hat_reject", "delivered", "rat_reject",
                                                      "no_mx"])
    path = tmp_path_factory.mktemp("logs") / "mail_logs.current"
    write_log(scenarios, path)
    return path, scenarios


def test_bounce_lines_of_mail_logs_joined_to_their_story(sim_log):
    path, scenarios = sim_log
    bounced = {s.recipient for s in scenarios if s.outcome == "bounced"}
    result = api.batch(path, logs=[path])
    assert {r["recipient"] for r in result.rows} == bounced
    by = {r["recipient"]: r for r in result.rows}
    unknown = by["frank@example.com"]
    assert unknown["bounce_reason"] == "userunknown" and unknown["reason"] == "userunknown"
    assert unknown["cause"] == "remote_user_unknown" and unknown["stage"] == "delivery"
    assert unknown["diagnosis"]["evidence"] and unknown["diagnosis"]["mid"] == unknown["mid"]
    assert unknown["explain"].startswith("esa-diagnose explain --logs") and "--mid" in unknown["explain"]
    dns = by["dave@legacy.example.com"]
    assert dns["reason"] == "hostunknown" and dns["hard"] is True and dns["cause"] == "destination_dns_error"


def test_csv_bounces_joined_by_recipient_and_sender(sim_log, tmp_path):
    path, scenarios = sim_log
    target = next(s for s in scenarios if s.outcome == "bounced" and s.recipient == "frank@example.com")
    bounces = tmp_path / "b.csv"
    with bounces.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["recipient", "sender", "diagnostic"])
        w.writerow([target.recipient, target.sender, "550 5.1.1 user unknown"])
        w.writerow(["nobody@nowhere.example", "x@y.example", "550 5.1.1 user unknown"])
    rows = api.batch(bounces, logs=[path]).rows
    assert rows[0]["cause"] == "remote_user_unknown" and rows[0]["diagnosis"]["mid"] == target.mid
    assert rows[1]["reason"] == "userunknown" and rows[1].get("log_note")  # not in the logs: said so


def test_overview_lists_what_was_not_delivered(sim_log, run_cli):
    path, scenarios = sim_log
    r = run_cli("batch", "--logs", str(path), "--since", "2024-10-07 00:00", "--until", "2024-10-08 00:00",
                "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and all(x["outcome"] != "delivered" for x in rows)
    causes = {x["cause"] for x in rows}
    assert {"poor_sender_reputation", "remote_user_unknown", "destination_dns_error"} <= causes
    hat = [x for x in rows if x["stage"] == "hat"]
    assert len(hat) == sum(1 for s in scenarios if s.stage == "hat") and all(x["ip"] for x in hat)
    assert all(x["explain"].startswith("esa-diagnose explain --logs") for x in rows)


def test_overview_html(sim_log, tmp_path, run_cli):
    path, _ = sim_log
    out = tmp_path / "overview.html"
    r = run_cli("batch", "--logs", str(path), "--format", "html", "--output", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "poor_sender_reputation" in html and "diagnosis from the logs" in html and "<svg" in html


def test_overview_delivery_status_of_deferred_mail(tmp_path):
    from diagnose.batchjob import delivery_status

    path = tmp_path / "mail_logs.deferred"
    write_log(generate_scenarios(4, seed=2, kinds=["deferred"]), path)
    rows = api.batch(logs=[path]).rows
    assert rows and all(r["outcome"] == "deferred" and r["evidence"].startswith("Delayed:") for r in rows)
    assert all(r["code"] and r["status"].startswith("4.") and r["wrapper"] for r in rows)
    queued = delivery_status(rows)
    assert sum(q["count"] for q in queued) == len(rows)
    assert all(q["last_error"] and "Retry" in q["advice"] for q in queued)


def test_dsn_joined_by_the_original_message_id(sim_log, tmp_path):
    path, scenarios = sim_log
    import re as _re

    text = path.read_text()
    mid, msgid = next((int(m.group(1)), m.group(2)) for m in _re.finditer(r"MID (\d+) Message-ID '<([^>]+)>'", text)
                      if f"MID {m.group(1)} " in text and "Bounced" in text)
    story = next(s for s in scenarios if s.mid == mid)
    dsn = tmp_path / "dsn.eml"
    dsn.write_text(
        "From: MAILER-DAEMON@relay.example\nTo: someone@else.example\nSubject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
        "--B\nContent-Type: text/plain\n\nIt bounced.\n\n--B\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.example\n\nFinal-Recipient: rfc822; other@address.example\nAction: failed\n"
        "Status: 5.0.0\nDiagnostic-Code: smtp; 550 something\n\n--B\nContent-Type: text/rfc822-headers\n\n"
        f"From: {story.sender}\nMessage-ID: <{msgid}>\nSubject: hello\n\n--B--\n")
    row = api.batch(dsn, logs=[path]).rows[0]
    assert row["message_id"] == f"<{msgid}>"
    assert row["diagnosis"]["mid"] == mid  # found by Message-ID although the recipient differs
