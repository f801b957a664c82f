"""Issue 2 acceptance on real samples: Cribl (AsyncOS 7.6, copied) and Elastic (read from ../shared)."""

from __future__ import annotations

import json

from diagnose import api


def test_cribl_coverage_and_stories(run_cli, data_dir):
    path = data_dir / "logs" / "cribl_mail_logs.txt"
    r = run_cli("logs", "stats", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    for key in ("lines", "recognized", "unknown", "unknown_shapes", "connections", "messages", "appliances",
                "first", "last"):
        assert key in st
    assert st["lines"] == 1000
    assert st["recognized"] / st["lines"] >= 0.995
    assert st["recognized"] + st["unknown"] == st["lines"]
    assert st["appliances"] == ["420D4FEA709365BFB3E3-0AF2EE5E700E"]
    assert st["first"] == "2014-11-19T09:16:38" and st["last"] == "2014-11-19T09:16:46"
    assert st["connections"] > 40 and st["messages"] > 100

    drop = api.find_stories([path], mid=24611411).messages[0]
    texts = [e.text for e in drop.events]
    assert "MID 24611411 using engine: CASE spam positive" in texts
    assert "Message aborted MID 24611411 Dropped by CASE" in texts
    assert drop.first("message_aborted").get("by") == "CASE"

    conn = api.find_stories([path], ip="176.227.203.114").connection(60140291)
    hat = conn.first("hat_decision")
    assert (hat.get("action"), hat.get("sender_group"), hat.get("sbrs_score")) == ("REJECT", "BLACKLIST", -9.5)
    assert hat.source.endswith("cribl_mail_logs.txt:5")


def test_stats_text_fits_a_screen(run_cli, data_dir):
    r = run_cli("logs", "stats", str(data_dir / "logs" / "cribl_mail_logs.txt"))
    assert r.returncode == 0
    assert "recognised   1,000 (100.00%)" in r.stdout
    assert len(r.stdout.splitlines()) <= 40
    assert r.stderr == ""  # no progress bar when not on a terminal


def test_unknown_lines_are_grouped_by_shape(run_cli, tmp_path):
    p = tmp_path / "odd.log"
    p.write_text("Wed Nov 19 09:16:38 2014 Info: MID 1 frobnicated 12 widgets\n"
                 "Wed Nov 19 09:16:39 2014 Info: MID 2 frobnicated 7 widgets\n"
                 "Wed Nov 19 09:16:40 2014 Info: ICID 5 close\n")
    st = json.loads(run_cli("logs", "stats", str(p), "--format", "json").stdout)
    assert (st["lines"], st["recognized"], st["unknown"]) == (3, 1, 2)
    assert st["unknown_shapes"] == [{"shape": "MID N frobnicated N widgets", "count": 2,
                                     "example": "MID 1 frobnicated 12 widgets", "source": f"{p}:1"}]


def test_elastic_samples_are_recognised(shared_dir):
    folder = shared_dir / "corpus" / "external" / "elastic-integrations"
    st = api.log_stats([folder])
    assert st.lines >= 200
    assert st.recognized / st.lines >= 0.95, st.unknown_shapes
    assert "REDACTED.africa.example.net" in st.appliances
    assert st.kinds.get("cef_event", 0) >= 17


def test_cribl_copy_is_the_shared_sample(shared_dir, data_dir):
    shared = shared_dir / "corpus" / "external" / "cribl-cisco-esa-mailtext" / "mail_logs.txt"
    assert (data_dir / "logs" / "cribl_mail_logs.txt").read_bytes() == shared.read_bytes()
