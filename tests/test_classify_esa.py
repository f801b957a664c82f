"""ESA-aware classification: ESA reply texts (§2.6), the AsyncOS wrapper, status/code handling."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.classify import classify_bounce, classify_text, reasons, unwrap_asyncos
from diagnose.collectors.bounces import read_bounces

# file -> (reason, stage, hard, status): the "better ESA-aware reading" column of the fixture README
ESA_FIXTURES = {
    "hat_sbrs": ("badreputation", "hat", False, None),
    "rat_reject": ("userunknown", "rat", True, "5.1.0"),
    "sender_verif": ("rejected", "sender_verification", False, "5.1.8"),
    "spf_fail": ("authfailure", "authentication", False, "5.7.1"),
    "spf_temp": ("authfailure", "authentication", False, "4.4.3"),
    "dmarc_reject": ("authfailure", "authentication", False, "5.7.1"),
    "hat_throttle": ("speeding", "hat", False, None),
    "tls_required": ("securityerror", "hat", False, None),
    "asyncos_dsn": ("securityerror", "delivery", False, "5.7.1"),
}


@pytest.mark.parametrize("name", sorted(ESA_FIXTURES))
def test_esa_fixture_reads_the_esa_way(shared_dir, name):
    reason, stage, hard, status = ESA_FIXTURES[name]
    bounces = list(read_bounces(shared_dir / "fixtures" / "bounces-esa-replies" / f"{name}.eml"))
    assert len(bounces) == 1 and bounces[0].error is None
    c = classify_bounce(bounces[0])
    assert (c.reason, c.stage, c.hard) == (reason, stage, hard), c
    assert c.esa is True
    if status:
        assert c.status == status


def test_asyncos_dsn_is_unwrapped_to_the_inner_reply(shared_dir):
    b = next(read_bounces(shared_dir / "fixtures" / "bounces-esa-replies" / "asyncos_dsn.eml"))
    c = classify_bounce(b)
    assert c.wrapper == "5.1.0 - Unknown address error"
    assert c.code == "550" and c.status == "5.7.1"
    assert "Access denied" in c.remote_text and "Unknown address error" not in c.remote_text
    assert c.reason != "userunknown"  # what a generic reader gets from the wrapper


def test_bounce_log_wrapper_with_python_list_reply():
    text = ("5.1.0 - Unknown address error ('550', ['5.1.1 The email account that you tried to reach does not "
            "exist. Please try', \"5.1.1 double-checking the recipient's email address for typos or\"])")
    c = classify_text(text)
    assert c.reason == "userunknown" and c.hard is True
    assert c.code == "550" and c.status == "5.1.1" and c.esa and c.stage == "delivery"
    assert "recipient's email address" in c.remote_text


@pytest.mark.parametrize(("text", "reason"), [
    ("5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up x.invalid (MX): NXDomain'])", "hostunknown"),
    ("5.4.7 - Delivery expired (message too old) ('000', ['timeout'])", "expired"),
    ("4.4.0 - Other network problem ('000', ['[Errno 54] Connection reset by peer']) []", "networkerror"),
    ("5.1.0 - Unknown address error ('550', ['<george@example.com>... Relaying denied']) []", "norelaying"),
    ("4.1.0 - Unknown address error ('466', ['Mailbox temporarily full.'])[]", "mailboxfull"),
])
def test_asyncos_delivery_texts(text, reason):
    c = classify_text(text)
    assert c.reason == reason and c.stage == "delivery" and c.esa


def test_unwrap_returns_the_text_unchanged_when_not_wrapped():
    assert unwrap_asyncos("550 5.1.1 user unknown") == (None, None, None, "550 5.1.1 user unknown")


@pytest.mark.parametrize(("text", "reason", "stage"), [
    ("553 #5.1.8 Domain of sender address <a@nonexistent.example> does not exist", "rejected", "sender_verification"),
    ("553 Envelope sender <a@example.com> rejected", "rejected", "sender_verification"),
    ("552 #5.3.4 message size exceeds limit", "mesgtoobig", "hat"),
    ("451 #4.7.1 Unable to perform DMARC verification.", "authfailure", "authentication"),
    ("421 Exceeded bad SMTP command limit, disconnecting", "syntaxerror", "hat"),
])
def test_more_esa_reply_texts(text, reason, stage):
    c = classify_text(text)
    assert (c.reason, c.stage) == (reason, stage) and c.esa and c.rule.startswith("ESA-")


@pytest.mark.parametrize(("text", "reason", "hard"), [
    ("550 5.1.1 <a@example.org>: Recipient address rejected: User unknown in local recipient table", "userunknown", True),
    ("552 5.2.2 Mailbox full", "mailboxfull", False),
    ("554 5.7.1 <a@example.org>: Relay access denied", "norelaying", False),
    ("550 5.7.1 Service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org", "blocked", False),
    ("550 5.7.26 This message does not pass authentication checks (SPF and DKIM both do not pass).", "authfailure", False),
    ("554 5.7.1 Message rejected as spam", "spamdetected", False),
    ("550 5.7.1 Virus detected in message", "virusdetected", False),
    ("552 5.3.4 Message size exceeds fixed maximum message size", "mesgtoobig", False),
    ("421 4.4.2 Connection timed out", "networkerror", False),
])
def test_generic_replies(text, reason, hard):
    c = classify_text(text)
    assert c.reason == reason, c
    assert c.hard is hard and c.esa is False and c.stage is None


def test_status_and_code_from_arguments_and_text():
    c = classify_text("mailbox unavailable", status="5.1.1", code=550)
    assert c.status == "5.1.1" and c.code == "550" and c.reason == "userunknown"
    c = classify_text("host 192.0.2.25 said: 550 5.2.1 mailbox disabled", status="5.0.0")
    assert c.status == "5.2.1"  # the precise code in the reply beats a vague Status: 5.0.0
    assert classify_text("something odd", status="5.6.0").reason == "contenterror"
    assert classify_text("", status="4.0.0", action="delayed").reason == "expired"
    assert classify_text("blah", command="EHLO").reason == "blocked"


def test_empty_and_unmatched_texts_say_so():
    c = classify_text("")
    assert c.reason == "undefined" and c.hard is None and c.rule == "EMPTY"
    c = classify_text("we could not do it")
    assert c.reason == "onhold" and c.rule == "NO-MATCH"


def test_every_returned_reason_is_a_known_name():
    names = set(reasons())
    for t in ("550 user unknown", "452 too many recipients", "weird", "", "5.4.7 - Delivery expired (message too old) ('000', [])"):
        assert classify_text(t).reason in names


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), st.text(max_size=5)))
def test_never_crashes_on_arbitrary_input(text, status, code):
    c = classify_text(text, status=status, code=code)
    assert c.reason in set(reasons())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="5.1.0 -Unknown('550', [])\"'\\x", max_size=200))
def test_never_crashes_on_wrapper_lookalikes(text):
    classify_text("5.1.0 - Unknown address error " + text)


def test_classify_ndr_reads_a_whole_message_or_a_reply(shared_dir):
    from diagnose.classify import classify_ndr

    raw = (shared_dir / "fixtures" / "bounces-esa-replies" / "hat_sbrs.eml").read_bytes()
    c = classify_ndr(raw)
    assert (c.reason, c.stage) == ("badreputation", "hat")
    assert c.remote_text.startswith("554 Your access") and "MAILER-DAEMON" not in c.remote_text
    assert classify_ndr(raw.decode()).rule == "ESA-HAT-SBRS"
    assert classify_ndr("550 #5.7.1 SPF unauthorized mail is prohibited.").reason == "authfailure"
    assert classify_ndr("").reason == "undefined"


def test_asyncos_dsn_wrapper_without_inner_reply():
    c = classify_text("5.4.7 - Delivery expired (message too old) (delivery attempts: 3)")
    assert (c.reason, c.stage, c.wrapper) == ("expired", "delivery", "5.4.7 - Delivery expired (message too old)")
    c = classify_text("5.1.0 - Unknown address error (delivery attempts: 0)")
    assert c.reason == "onhold" and c.esa  # the wrapper hides the remote reply: nothing more is known



@pytest.mark.parametrize(("text", "reason"), [
    ("5.1.0 - Unknown address error ('554', ['Too long line.']) []", "mesgtoobig"),
    ("5.1.0 - Unknown address error ('550', ['Message rejected: spam score too high'])", "spamdetected"),
    ("5.1.0 - Unknown address error ('554', ['something only the remote understands'])", "onhold"),
    ("4.1.0 - Unknown address error ('451', ['Automated block triggered by suspicious activity from your IP'])",
     "blocked"),
])
def test_the_generic_wrapper_class_is_not_read_as_user_unknown(text, reason):
    # AsyncOS writes "x.1.0 - Unknown address error" for any refused reply: the wrapper's 5.1.0 is not
    # evidence of an unknown user (a generic reader files all of these as userunknown)
    c = classify_text(text)
    assert c.reason == reason and c.status is None and c.wrapper.endswith("Unknown address error")
