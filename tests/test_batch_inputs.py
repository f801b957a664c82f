"""batch: every input form, broken rows, outputs (CSV guard, JSONL, HTML escaping), workers."""

from __future__ import annotations

import csv
import io
import json
import mailbox
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose import api
from diagnose.batchjob import BatchResult, write_html
from diagnose.classify import classify_bounce
from diagnose.collectors.bounces import detect, parse_dsn, read_bounces
from diagnose.csvsafe import safe_cell
from diagnose.progress import Bar, progress


def test_csv_columns_found_by_header_names_and_kept(data_dir):
    rows = api.batch(data_dir / "bounces" / "bounces.csv").rows
    assert [r["recipient"] for r in rows][:2] == ["alice@example.org", "bob@example.net"]
    assert all(r["Campaign"] in ("oct", "nov") for r in rows)  # input columns kept
    by = {r["recipient"]: r for r in rows}
    assert by["alice@example.org"]["reason"] == "userunknown" and by["alice@example.org"]["hard"] is True
    assert (by["bob@example.net"]["reason"], by["bob@example.net"]["stage"]) == ("badreputation", "hat")
    assert by["bob@example.net"]["outcome"] == "rejected"
    assert by["carol@example.com"]["outcome"] == "deferred" and by["carol@example.com"]["reason"] == "mailboxfull"
    assert by["dave@example.org"]["cause"] == "spf_fail"
    assert by["erin@example.org"]["reason"] == "spamdetected" and by["erin@example.org"]["wrapper"]
    assert by["frank@example.org"]["reason"] == "hostunknown"
    assert all(r["explain"].startswith("esa-diagnose explain") for r in rows)


def test_csv_with_100_broken_rows_among_good_ones(tmp_path):
    path = tmp_path / "mixed.csv"
    good = bad = 0
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "status", "reason"])
        for i in range(400):
            if i % 4 == 1:
                bad += 1
                kind = bad % 4
                if kind == 0:
                    w.writerow([f"broken{i}@example.org", "5.1.1"])  # too few fields
                elif kind == 1:
                    w.writerow(["not-an-address", "5.1.1", "550 user unknown"])
                elif kind == 2:
                    w.writerow(["", "", ""] + ["extra"])  # too many fields
                else:
                    w.writerow([f"b{i}@example.org", "5.1.1", "550 user unknown", "x", "y"])
            else:
                good += 1
                w.writerow([f"user{i}@example.org", "5.1.1", "550 5.1.1 user unknown"])
    assert bad == 100
    result = api.batch(path)
    assert len(result.rows) == good and len(result.errors) == 100
    assert all(e["source"].startswith(str(path) + ":") and e["error"] for e in result.errors)
    assert all(r["reason"] == "userunknown" for r in result.rows)


def test_csv_with_a_nul_byte_and_bad_quoting_does_not_end_the_run(tmp_path):
    path = tmp_path / "nasty.csv"
    path.write_bytes(b'recipient,diagnostic\na@example.org,550 user unknown\nb@example.org,"unterminated\x00\n'
                     b'c@example.org,552 mailbox full\n')
    result = api.batch(path)
    assert result.rows or result.errors  # answered, never raised


def test_esa_bounce_log(data_dir):
    path = data_dir / "bounces" / "bounces.s"
    assert detect(path) == "bouncelog"
    result = api.batch(path)
    by = {r["recipient"]: r for r in result.rows}
    assert by["alice@example.org"]["mid"] == 880102 and by["alice@example.org"]["reason"] == "userunknown"
    assert by["bob@example.net"]["outcome"] == "deferred"
    assert by["carol@example.com"]["reason"] == "expired" and by["carol@example.com"]["rid"] == 1
    assert by["dave@example.org"]["reason"] == "blocked" and by["dave@example.org"]["ip"] == "192.0.2.10"
    assert len(result.errors) == 1 and result.errors[0]["source"].endswith(":7")


def test_mail_logs_bounced_lines_are_read_too(tmp_path):
    path = tmp_path / "mail.current"
    path.write_text(
        "Mon Mar 19 20:16:27 2018 Info: Bounced: DCID 8413617 MID 19338947 From: <a@example.com> To: <z@example.net> "
        "RID 0 - 5.4.7 - Delivery expired (message too old) ('000', ['timeout'])\n"
        "Mon Mar 31 20:00:27 2003 Info: Bounced: DCID 3 MID 4 to RID 1 - 5.1.0 - Unknown address error ('550', "
        "['<jane@example.com>... Relaying denied']) []\n")
    rows = api.batch(path).rows
    assert [(r["mid"], r["reason"]) for r in rows] == [(19338947, "expired"), (4, "norelaying")]


def test_single_eml_plain_exim_and_qmail(data_dir):
    ex = next(read_bounces(data_dir / "bounces" / "exim-plain.eml"))
    assert ex.recipient == "nobody@example.org" and ex.command == "RCPT"
    assert classify_bounce(ex).reason == "userunknown"
    qm = next(read_bounces(data_dir / "bounces" / "qmail-plain.eml"))
    assert qm.recipient == "full@example.org" and classify_bounce(qm).reason == "mailboxfull"


def test_folder_of_eml_skips_what_is_not_a_bounce(tmp_path, shared_dir):
    src = shared_dir / "fixtures" / "bounces-esa-replies"
    for f in src.glob("*.eml"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "notes.txt").write_text("just some notes\nnothing here\n")
    (tmp_path / "empty.eml").write_bytes(b"")
    result = api.batch(tmp_path)
    assert len(result.rows) == 9
    assert {e["source"].rsplit("/", 1)[1] for e in result.errors} == {"notes.txt", "empty.eml"}


def test_mbox_and_maildir(tmp_path, shared_dir):
    src = sorted((shared_dir / "fixtures" / "bounces-esa-replies").glob("*.eml"))
    box = mailbox.mbox(str(tmp_path / "bounces.mbox"))
    md = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    for f in src:
        box.add(f.read_bytes())
        md.add(f.read_bytes())
    box.flush()
    assert detect(tmp_path / "bounces.mbox") == "mbox" and detect(tmp_path / "Maildir") == "maildir"
    from_mbox = api.batch(tmp_path / "bounces.mbox").rows
    from_md = api.batch(tmp_path / "Maildir").rows
    assert len(from_mbox) == len(from_md) == 9
    assert sorted(r["reason"] for r in from_mbox) == sorted(r["reason"] for r in from_md)
    assert all("#" in r["source"] for r in from_mbox)


def test_garbage_message_is_reported_not_raised(tmp_path):
    (tmp_path / "x.eml").write_bytes(b"From: a@b\nContent-Type: multipart/report; boundary=\"q\"\n\n--q\n"
                                     b"Content-Type: message/delivery-status\n\n\xff\xfe\x00garbage\n--q--\n")
    result = api.batch(tmp_path)
    assert result.rows == [] and len(result.errors) == 1


def test_workers_do_not_change_the_output(tmp_path, shared_dir):
    src = sorted((shared_dir / "fixtures" / "bounces-esa-replies").glob("*.eml"))
    for i in range(9):  # 81 messages: more than two chunks, so the pool is used
        for f in src:
            shutil.copy(f, tmp_path / f"{i}-{f.name}")
    one = api.batch(tmp_path, workers=1).rows
    two = api.batch(tmp_path, workers=2).rows
    assert len(one) == 81 and one == two
    assert [r["source"] for r in one] == sorted(r["source"] for r in one)  # input order kept


def test_cli_csv_output_is_formula_safe(tmp_path, run_cli):
    path = tmp_path / "evil.csv"
    path.write_text('recipient,diagnostic,note\nx@example.org,"=HYPERLINK(""http://evil"")",+SUM(A1)\n'
                    'y@example.org,550 user unknown,@cmd\n')
    out = tmp_path / "out.csv"
    r = run_cli("batch", str(path), "--format", "csv", "--output", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    for row in rows:
        for v in row.values():
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), v
    assert rows[0]["note"] == "'+SUM(A1)" and rows[1]["note"] == "'@cmd"
    assert safe_cell("-1") == "'-1" and safe_cell("\tx") == "'\tx" and safe_cell(None) == "" and safe_cell("ok") == "ok"


def test_cli_jsonl_and_errors_on_stderr(tmp_path, run_cli, data_dir):
    r = run_cli("batch", str(data_dir / "bounces" / "bounces.s"), "--format", "jsonl")
    assert r.returncode == 0
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert sum(1 for x in lines if "error" in x) == 1 and sum(1 for x in lines if "reason" in x) == 4
    assert "1 inputs skipped" in r.stderr and "\r" not in r.stderr  # no progress bar when piped


def test_cli_input_errors_are_one_line(run_cli, tmp_path):
    r = run_cli("batch", str(tmp_path / "missing.csv"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    r = run_cli("batch")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (tmp_path / "plain.txt").write_text("hello\nworld\n")
    r = run_cli("batch", str(tmp_path / "plain.txt"))
    assert r.returncode == 2 and "not a recognised bounce input" in r.stderr


def test_html_report_escapes_untrusted_text(tmp_path, run_cli):
    path = tmp_path / "xss.csv"
    path.write_text('recipient,sender,date,diagnostic\n'
                    'x@x.org,a@b.org,2024-10-07 13:00,"550 5.1.1 <img src=x onerror=alert(2)> user unknown"\n'
                    '"<script>alert(1)</script>@x.org",a@b.org,2024-10-07 14:00,550 user unknown\n'
                    'ok@example.org,"a@b.org",2024-10-07 15:00,554 5.7.1 blocked using zen.spamhaus.org\n')
    out = tmp_path / "r.html"
    r = run_cli("batch", str(path), "--format", "html", "--output", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script>alert" not in html
    assert "<svg" in html and 'id="row-1"' in html and 'href="#row-' in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # no external requests


def test_html_report_groups_causes_problems_first(data_dir):
    result = api.batch(data_dir / "bounces" / "bounces.csv")
    buf = io.StringIO()
    write_html(result, buf)
    html = buf.getvalue()
    assert html.index("poor_sender_reputation") < html.index("mailboxfull")  # rejected before deferred
    assert "Totals" in html and "By cause" in html and "Over time" in html
    empty = io.StringIO()
    write_html(BatchResult(), empty)
    assert "No row carries a readable date" in empty.getvalue()


def test_progress_is_silent_when_not_a_tty():
    buf = io.StringIO()
    bar = Bar(10, "x", stream=buf)
    for _ in range(10):
        bar.update()
    bar.close()
    assert buf.getvalue() == ""
    assert list(progress(range(5), label="n")) == [0, 1, 2, 3, 4]


def test_progress_draws_when_forced():
    buf = io.StringIO()
    bar = Bar(4, "items", stream=buf, show=True)
    bar.update(4)
    bar.close()
    assert "items" in buf.getvalue() and "100.0%" in buf.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "html"])
def test_cli_formats_on_the_esa_fixtures(run_cli, shared_dir, fmt):
    r = run_cli("batch", str(shared_dir / "fixtures" / "bounces-esa-replies"), "--format", fmt)
    assert r.returncode == 0 and "badreputation" in r.stdout


_DSN_PARTS = st.sampled_from([
    b"From: MAILER-DAEMON@x.example\n", b"Subject: Undelivered Mail Returned to Sender\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n", b"\n", b"--B\n",
    b"Content-Type: message/delivery-status\n", b"Final-Recipient: rfc822; a@b.example\n", b"Action: failed\n",
    b"Status: 5.1.1\n", b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n", b"--B--\n", b"X-Failed-Recipients: \n",
    b"Content-Type: message/rfc822\n", b"Content-Transfer-Encoding: base64\n", b"=?utf-8?B?////?=\n", b"\xff\xfe\x00",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_DSN_PARTS, st.binary(max_size=40)), max_size=40))
def test_parse_dsn_never_raises(parts):
    for b in parse_dsn(b"".join(parts), "fuzz"):
        assert b.source.startswith("fuzz")
        if not b.error:
            classify_bounce(b)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=30), min_size=1, max_size=30))
def test_csv_reader_never_raises(tmp_path, cells):
    path = tmp_path / "fuzz.csv"
    body = "recipient,status,diagnostic\n" + "\n".join(",".join(cells[i:i + 3]) for i in range(0, len(cells), 3))
    path.write_text(body, encoding="utf-8", errors="replace")
    for b in read_bounces(path):
        assert b.source.startswith(str(path))


def test_elastic_bounce_log_sample(shared_dir):
    # Elastic License 2.0 sample: read from ../shared, never copied
    path = shared_dir / "corpus" / "external" / "elastic-integrations" / "bounces.@123456789.s"
    if not path.is_file():
        pytest.skip("Elastic sample absent")
    rows = api.batch(path).rows
    assert [(r["mid"], r["rid"]) for r in rows] == [(15232, 0), (123, 123)]
    first = rows[0]
    assert (first["reason"], first["status"], first["code"], first["wrapper"]) == (
        "userunknown", "5.1.1", "550", "5.1.0 - Unknown address error")
    assert "recipient's email address" in first["remote_text"]
    assert rows[1]["reason"] == "undefined"  # the line carries no reason nor response


def test_delivery_status_groups_queued_recipients(data_dir):
    from diagnose.batchjob import delivery_status

    rows = api.batch(data_dir / "bounces" / "bounces.s").rows
    for i, r in enumerate(rows, 1):
        r["_n"] = i
    queued = delivery_status(rows)
    assert [(q["domain"], q["count"]) for q in queued] == [("example.net", 1)]
    assert "Greylisted" in queued[0]["last_error"] and "delivernow" in queued[0]["advice"]
    buf = io.StringIO()
    write_html(BatchResult(rows=rows), buf)
    assert "still queued" in buf.getvalue() and "example.net" in buf.getvalue()


def test_cli_csv_is_streamed_with_the_input_columns_first(tmp_path, run_cli, data_dir):
    out = tmp_path / "o.csv"
    r = run_cli("batch", str(data_dir / "bounces" / "bounces.csv"), "--output", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0][:6] == ["Recipient", "Sender", "Date", "Status", "Diagnostic Code", "Campaign"]
    assert "reason" in rows[0] and "diagnosis" not in rows[0] and len(rows) == 7
    r = run_cli("batch", str(tmp_path / "o.csv"), "--format", "csv")  # our own output reads back as input
    assert r.returncode == 0 and r.stdout.count("\n") == 7


def test_input_columns_named_like_ours_are_kept(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text('email;status;reason;list\na@b.example;5.1.1;"550 user; unknown";news\n')
    row = api.batch(path).rows[0]
    assert (row["input_status"], row["input_reason"], row["list"]) == ("5.1.1", "550 user; unknown", "news")
    assert row["reason"] == "userunknown" and row["status"] == "5.1.1"
