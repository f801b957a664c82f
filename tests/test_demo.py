"""`esa-diagnose demo`: the README's first command works with no arguments and says the right things."""

from __future__ import annotations

import json

import pytest

from diagnose.demo import questions, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out / "d")


def test_every_question_has_a_ticket_json_and_text(demo):
    assert len(demo.entries) == len(questions())
    for e in demo.entries:
        for name in e.files.values():
            assert (demo.output / name).stat().st_size > 0
    index = (demo.output / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr>") == len(demo.entries) + 1
    assert (demo.output / "overview.html").is_file()


@pytest.mark.parametrize(("qid", "outcome", "stage"), [
    ("01", "rejected", "hat"),
    ("01b", "unknown", "unknown"),
    ("02", "dropped", "antispam"),
    ("05", "rejected", "rat"),
    ("06", "rejected", "sender_verification"),
    ("08", "dropped", "antivirus"),
    ("16", "delivered", "delivery"),
    ("20", "dropped", "message_filter"),
])
def test_demo_answers(demo, qid, outcome, stage):
    e = next(e for e in demo.entries if e.id == qid)
    assert (e.outcome, e.stage) == (outcome, stage)
    data = json.loads((demo.output / e.files["json"]).read_text(encoding="utf-8"))
    top = data["findings"][0]
    if outcome != "unknown":
        assert top["evidence"], "a finding without evidence"
        assert all("mail_logs:" in ev["source"] for ev in top["evidence"])


def test_cli_demo_default_folder_is_new(run_cli, tmp_path):
    r = run_cli("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    made = [p for p in tmp_path.iterdir() if p.name.startswith("esa-diagnose-demo-")]
    assert len(made) == 1 and (made[0] / "index.html").is_file()
    assert "rejected" in r.stdout and "index.html" in r.stdout
