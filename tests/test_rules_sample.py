"""The demo sample (diagnose/sample/mail_logs) and the scenario logs: grammar and consistency.

Every line must be a shape the line catalogue recognises (the logs are copied from real AsyncOS
grammar, so an unrecognised line is a typo here or a gap there), ids must be allocated in time order
as an appliance does, and the sample's README must only ask about things the sample contains.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from diagnose.collectors import catalogue

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "diagnose" / "sample" / "mail_logs"
SCENARIOS = sorted((ROOT / "tests" / "data" / "scenarios").glob("*.log"))
SYSLOG = re.compile(r"^<\d+>(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?:\S+ )?[\w-]+: (?:(?P<level>Info|Warning): )?(?P<text>.*)$")
LINE = re.compile(r"^(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}) (?P<level>Info|Warning|Critical|Debug): "
                  r"(?P<text>.*)$")


def _lines(path: Path) -> list[re.Match[str]]:
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = LINE.match(raw)
        assert m, f"{path.name}:{n}: not an AsyncOS file-format line: {raw!r}"
        out.append(m)
    return out


@pytest.mark.parametrize("path", [SAMPLE, *SCENARIOS], ids=lambda p: p.stem)
def test_every_line_is_a_known_shape_in_time_order(path: Path):
    if path.read_text(encoding="utf-8").startswith("<"):  # syslog-pushed: no header, no year
        texts = [SYSLOG.match(raw) for raw in path.read_text(encoding="utf-8").splitlines()]
        assert all(texts), f"{path.name}: not a syslog-pushed line"
        assert all(catalogue.parse(m["text"]) for m in texts)
        return
    lines = _lines(path)
    assert lines[0]["text"] == "Begin Logfile" and lines[1]["text"].startswith("Version: ")
    times = [datetime.strptime(" ".join(m["ts"].split()), "%a %b %d %H:%M:%S %Y") for m in lines]
    assert times == sorted(times), f"{path.name}: timestamps go backwards"
    unknown = [m["text"] for m in lines if catalogue.parse(m["text"]) is None]
    assert not unknown, f"{path.name}: lines the catalogue does not recognise: {unknown[:3]}"


def test_sample_ids_are_allocated_in_time_order():
    text = SAMPLE.read_text(encoding="utf-8")
    for kind in ("ICID", "MID", "DCID"):
        first: list[int] = []
        for m in re.finditer(rf"\b{kind}:? (\d+)", text):
            v = int(m.group(1))
            if v and v not in first:
                first.append(v)
        assert first == sorted(first), f"{kind}s first appear out of order"
        assert len(first) >= 15


def test_sample_is_a_few_hundred_lines_with_many_situations():
    kinds = {}
    for m in _lines(SAMPLE):
        parsed = catalogue.parse(m["text"])
        kinds[parsed[0]] = kinds.get(parsed[0], 0) + 1
    assert 300 <= sum(kinds.values()) <= 1000
    for kind in ("hat_decision", "mid_rcpt_rejected", "sender_dns_rejected", "message_aborted", "filter_action",
                 "quarantined", "quarantine_released", "isq_quarantined", "isq_reinjected", "antivirus", "amp_verdict",
                 "delayed", "bounced", "dcid_tls_required_failed", "ldap_query", "dmarc", "graymail", "key_expiry",
                 "icid_receiving_failed", "queued", "message_done"):
        assert kinds.get(kind), f"the sample shows no {kind} line"


def test_sample_readme_asks_only_about_what_the_sample_holds():
    readme = (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    text = SAMPLE.read_text(encoding="utf-8")
    asked = re.findall(r"`--(?:ip|sender|recipient) ([^`]+)`", readme)
    assert len(asked) >= 19
    for value in asked:
        if value == "orders@acme-supplies.example":  # the point of 1b: the refused sender is never logged
            assert value not in text
        else:
            assert value in text, value
