"""Acceptance on the real Cribl sample (AsyncOS 7.6.3 mail_logs, Apache-2.0) and bad inputs, through the CLI."""

from __future__ import annotations

import gzip
import json

import pytest

CRIBL = "corpus/external/cribl-cisco-esa-mailtext/mail_logs.txt"


@pytest.fixture(scope="module")
def sample(shared_dir):
    path = shared_dir / CRIBL
    if not path.is_file():
        pytest.skip("Cribl sample absent")
    return path


def explain_json(run_cli, *args):
    r = run_cli("explain", *map(str, args), "--format", "json", "--offline")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_mid_24611411_is_dropped_by_antispam_certain(run_cli, sample):
    doc = explain_json(run_cli, "--logs", sample, "--mid", "24611411")
    (f,) = doc["findings"]
    assert (f["outcome"], f["stage"], f["confidence"]) == ("dropped", "antispam", "certain")
    assert f["mid"] == 24611411
    texts = [e["text"] for e in f["evidence"]]
    assert "Message aborted MID 24611411 Dropped by CASE" in texts
    assert all(e["source"].endswith(tuple(f":{n}" for n in range(1, 1001))) for e in f["evidence"])


def test_ip_176_227_203_114_is_rejected_at_hat_with_the_sbrs_line(run_cli, sample):
    doc = explain_json(run_cli, "--logs", sample, "--ip", "176.227.203.114")
    (f,) = doc["findings"]
    assert (f["outcome"], f["stage"]) == ("rejected", "hat")
    assert any("SBRS -9.5" in e["text"] and e["source"].endswith(":5") for e in f["evidence"])
    assert f["recommendations"], "a HAT rejection for poor reputation has remedies"
    risks = [r["risk"] for r in f["recommendations"]]
    assert risks == sorted(risks)
    assert doc["graph"]["nodes"]


def test_text_view_has_verdict_path_evidence_and_recommendations(run_cli, sample):
    r = run_cli("explain", "--logs", str(sample), "--ip", "176.227.203.114", "--offline")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "REJECTED at hat (certain)" in out
    assert "Path: hat[STOP]" in out and "Evidence:" in out and "SBRS -9.5" in out
    assert "Recommendations (least risky first):" in out


def test_nothing_matches_is_one_unknown_finding(run_cli, sample):
    doc = explain_json(run_cli, "--logs", sample, "--sender", "nobody@nowhere.example")
    (f,) = doc["findings"]
    assert (f["outcome"], f["stage"]) == ("unknown", "unknown")
    assert f["evidence"] and f["gaps"]


def test_sender_not_in_logs_with_ip_finds_the_rejected_connection_as_likely(run_cli, sample):
    doc = explain_json(run_cli, "--logs", sample, "--sender", "partner@redstation.example", "--ip", "176.227.203.114")
    (f,) = doc["findings"]
    assert (f["outcome"], f["stage"], f["confidence"]) == ("rejected", "hat", "likely")
    assert "--ip" in f["why"][0]


def test_every_finding_has_evidence(run_cli, sample):
    doc = explain_json(run_cli, "--logs", sample, "--since", "2014-11-19 09:16", "--until", "2014-11-19 09:17",
                       "--recipient", "user1@mycompany.com")
    assert doc["findings"]
    for f in doc["findings"]:
        assert f["evidence"], f


def test_output_file_and_gzip_input(run_cli, sample, tmp_path):
    gz = tmp_path / "mail_logs.txt.gz"
    gz.write_bytes(gzip.compress(sample.read_bytes()))
    out = tmp_path / "answer.json"
    r = run_cli("explain", "--logs", str(gz), "--mid", "24611411", "--format", "json", "--output", str(out), "--offline")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert json.loads(out.read_text())["findings"][0]["outcome"] == "dropped"


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe garbage \x1b[31m\n" * 50, "não é um log\n".encode() * 3])
def test_empty_or_garbage_log_is_an_unknown_answer_not_a_crash(run_cli, tmp_path, content):
    log = tmp_path / "mail_logs"
    log.write_bytes(content)
    r = run_cli("explain", "--logs", str(log), "--mid", "5", "--format", "json", "--offline")
    assert "Traceback" not in r.stderr
    if content == b"":  # an empty log is an input error: one line
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "empty" in r.stderr
        return
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["findings"]
    assert (f["outcome"], f["stage"]) == ("unknown", "unknown")


def test_unreadable_and_missing_paths_exit_2(run_cli, tmp_path):
    r = run_cli("explain", "--logs", str(tmp_path / "nope"), "--mid", "5")
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.strip()
    d = tmp_path / "locked"
    d.write_text("x")
    d.chmod(0)
    try:
        r = run_cli("explain", "--logs", str(d), "--mid", "5")
        assert "Traceback" not in r.stderr
        assert r.returncode in (0, 2)  # root can read anything; otherwise an input error
    finally:
        d.chmod(0o600)


def test_bad_since_exits_2(run_cli, sample):
    r = run_cli("explain", "--logs", str(sample), "--mid", "5", "--since", "2014-19-11")
    assert r.returncode == 2 and r.stderr.startswith("esa-diagnose: --since") and "Traceback" not in r.stderr


def test_html_ticket_is_written_and_escapes_log_text(run_cli, tmp_path):
    log = tmp_path / "mail_logs"
    log.write_text(
        "Mon Oct  7 13:15:01 2024 Info: New SMTP ICID 7 interface Data 1 (10.0.0.25) address 198.51.100.9 "
        "reverse dns host <script>alert(1)</script>.example verified no\n"
        "Mon Oct  7 13:15:02 2024 Info: ICID 7 REJECT SG <b>BAD</b> match sbrs[-10.0:-2.5] SBRS -9.0\n"
        "Mon Oct  7 13:15:02 2024 Info: ICID 7 close\n")
    out = tmp_path / "ticket.html"
    r = run_cli("explain", "--logs", str(log), "--ip", "198.51.100.9", "--format", "html", "--output", str(out),
                "--offline")
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    assert "SBRS -9.0" in page
    assert "<script>alert" not in page and "<b>BAD</b>" not in page


def test_elastic_samples_syslog_and_file_format_every_finding_has_evidence(run_cli, shared_dir):
    folder = shared_dir / "corpus/external/elastic-integrations"
    if not folder.is_dir():
        pytest.skip("Elastic samples absent")
    doc = explain_json(run_cli, "--logs", folder, "--since", "2000-01-01 00:00", "--year", "2023")
    findings = doc["findings"]
    assert len(findings) > 10
    assert {f["outcome"] for f in findings} >= {"delivered", "rejected"}
    for f in findings:
        assert f["evidence"], f["summary"]
        assert all(e["source"] and e["text"] is not None for e in f["evidence"])
