"""Text quality of what goes into a ticket: the one-sentence summary and the recommendations'
commands filled from the case (never with unsafe text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose import api
from diagnose.engine.findings import _first_sentence, fill_commands

SAMPLE = str(Path(__file__).resolve().parents[1] / "diagnose" / "sample" / "mail_logs")


@pytest.mark.parametrize(("text", "want"), [
    ("The destination refused it (550 5.1.1 Does not exist. Please check the address.) and bounced it. More.",
     "the destination refused it (550 5.1.1 Does not exist. Please check the address.) and bounced it."),
    ('It answered "No. Go away." and closed. Next sentence.', 'it answered "No. Go away." and closed.'),
    ("Outbreak Filters put the message in quarantine. More.", "Outbreak Filters put the message in quarantine."),
    ("The Outbreak Filters put it there.", "the Outbreak Filters put it there."),
    ("Destination Controls require TLS.", "Destination Controls require TLS."),
    ("CASE scored the message. More.", "CASE scored the message."),
    ("Anti-virus returned positive.", "anti-virus returned positive."),
    ("Cisco says so.", "Cisco says so."),
    ('Unbalanced "quote. Never cut. At all', 'unbalanced "quote. Never cut. At all'),
    ("", ""),
])
def test_first_sentence(text, want):
    assert _first_sentence(text) == want


@pytest.fixture(scope="module")
def sample():
    def ask(**kw):
        return api.explain([SAMPLE], offline=True, **kw)
    return ask


def test_hat_refusal_is_said_once(sample):
    f = sample(ip="176.227.203.114").findings[0]
    assert f.outcome == "rejected" and f.stage == "hat"
    assert "mail flow policy because its SenderBase reputation score" in f.summary
    assert "the appliance refused the connection" not in f.summary.lower()
    assert f.summary.count("176.227.203.114") == 1


def test_a_quoted_reply_is_never_cut(sample):
    f = next(f for f in sample(sender="mia@example.com").findings if f.outcome == "bounced")
    assert "does not exist." in f.summary
    assert f.summary.count("(") == f.summary.count(")") and f.summary.count('"') % 2 == 0


@pytest.mark.parametrize(("ask", "name"), [
    ({"recipient": "leo@example.com"}, "the Outbreak Filters put"),
    ({"recipient": "counsel@securelaw.example"}, "the Destination Controls of this domain require"),
])
def test_names_keep_their_capitals(sample, ask, name):
    assert name in sample(**ask).findings[0].summary


def test_commands_are_filled_from_the_case(sample):
    f = sample(ip="176.227.203.114").findings[0]
    clis = [r.cli for r in f.recommendations]
    assert any('grep -e "176.227.203.114" mail_logs' in c for c in clis)
    assert all("<ip>" not in c for c in clis)
    assert any("<listener>" in c for c in clis)  # unknown to the case: left visible
    tls = sample(recipient="counsel@securelaw.example").findings[0]
    assert any("delivernow → securelaw.example" in r.cli for r in tls.recommendations)
    sv = sample(ip="198.51.100.33").findings[0]  # a connection: the refused MAIL FROM names the sender
    assert any("exceptionconfig → new → orders@shop-onl1ne.example" in r.cli for r in sv.recommendations)


def test_fill_commands_sides_and_unsafe_values():
    values = {"ip": "192.0.2.9", "sender": "a@sender.example", "recipient": "b@rcpt.example", "mid": 42}
    assert fill_commands("hoststatus <domain>", values, "fix_destination") == "hoststatus rcpt.example"
    assert fill_commands("sender <address|@domain>", values, "mail_policy_bypass") == "sender a@sender.example"
    assert fill_commands("grep <mid> <ip> <listener>", values, "none") == "grep 42 192.0.2.9 <listener>"
    hostile = {"ip": "1.2.3.4; rm -rf /", "sender": 'x"$(id)"@evil.example', "recipient": True}
    assert fill_commands('grep -e "<ip>" ; <sender> <recipient>', hostile, "none") == \
        'grep -e "<ip>" ; <sender> <recipient>'
    assert fill_commands("", values, "none") == ""


def test_a_long_value_is_marked_as_cut_and_its_quote_still_closes():
    from diagnose.engine.facts import Fact
    from diagnose.engine.justify import render

    reply = "550 5.7.1 " + "x" * 700
    out = render('The next hop answered "{r.response}".', {"r": Fact(1, "response", {"response": reply})})
    assert out.endswith('…".') and len(out) < 560


def test_text_view_names_the_chain(run_cli):
    r = run_cli("explain", "--logs", SAMPLE, "--recipient", "erin@example.com", "--offline")
    assert r.returncode == 0, r.stderr
    assert "chain 117416 -> 117443" in r.stdout and r.stdout.count("DELIVERED at delivery") == 1
