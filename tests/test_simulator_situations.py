"""The simulator's connection-level refusals (Delayed HAT REJECT, SMTP AUTH, DHAP) and quarantine releases:
the lines in the grammar the catalogue knows, the outcomes, and the engine's cause on a simulated log."""

from __future__ import annotations

import pytest

from diagnose.simulator import (
    Delivery,
    MailFlowPolicy,
    Message,
    SenderGroup,
    default_config,
    generate_scenarios,
    simulate,
    write_log,
)


def _text(res) -> list[str]:
    return [line.split(" Info: ", 1)[-1].split(" Warning: ", 1)[-1] for line in res.lines(with_header=False)]


def _submission(smtp_auth: str = "required"):
    cfg = default_config()
    policies = dict(cfg.policies)
    policies["$SUBMISSION"] = MailFlowPolicy("$SUBMISSION", "ACCEPT", smtp_auth=smtp_auth, auth_profile="corp_ldap")
    hat = (SenderGroup("AUTH_CLIENTS", "$SUBMISSION", hosts=("10.1.20.0/24",)),) + cfg.hat
    return default_config(policies=policies, hat=hat)


def test_delayed_hat_reject_is_the_captured_three_lines():
    res = simulate(Message(sender_ip="203.0.113.9", sbrs=-5.0, delayed_reject=True))
    assert _text(res) == [
        "New SMTP ICID 1001 interface Data 1 (192.0.2.25) address 203.0.113.9 reverse dns host "
        "mail.partner.example verified yes",
        "ICID 1001 Delayed HAT REJECT continuing session for recipient logging (203.0.113.9)",
        "ICID 1001 lost", "ICID 1001 close"]
    assert (res.stage, res.outcome) == ("hat", "rejected")
    # the listener setting changes nothing for an accepted connection
    ok = simulate(Message(sbrs=5.0, delayed_reject=True))
    assert (ok.stage, ok.outcome) == ("delivery", "delivered") and not any("Delayed" in x for x in _text(ok))


def test_smtp_auth_required_failed_and_succeeded():
    cfg = _submission()
    base = dict(sender_ip="10.1.20.7", sbrs=None, auth_user="crm-sender")
    missing = simulate(Message(**base), cfg)
    assert _text(missing)[-2:] == ["SMTP Auth (ICID 1001) was required but remote host did not initiate it",
                                   "ICID 1001 close"]
    assert (missing.stage, missing.outcome) == ("hat", "rejected")
    failed = simulate(Message(**base, smtp_auth="failed"), cfg)
    assert _text(failed)[-2] == ("SMTP Auth (ICID 1001) failed for user: crm-sender using AUTH mechanism: LOGIN "
                                 "with profile: corp_ldap")
    assert (failed.stage, failed.outcome) == ("hat", "rejected")
    good = simulate(Message(**base, smtp_auth="ok"), cfg)
    assert any(x.startswith("SMTP Auth (ICID 1001) succeeded for user: crm-sender") for x in _text(good))
    assert (good.stage, good.outcome) == ("delivery", "delivered")
    # preferred: a failed login is logged, the client goes on unauthenticated
    pref = simulate(Message(**base, smtp_auth="failed"), _submission("preferred"))
    assert (pref.stage, pref.outcome) == ("delivery", "delivered")
    assert not any("SMTP Auth" in x for x in _text(simulate(Message(**base), _submission("preferred"))))


def _dhap_config(limit: int = 10):
    cfg = default_config()
    policies = dict(cfg.policies)
    policies["$THROTTLED"] = MailFlowPolicy("$THROTTLED", "ACCEPT", max_rcpts_per_hour=20, dhap_limit=limit)
    return default_config(policies=policies)


def test_dhap_drops_the_connection_once_over_the_limit():
    cfg = _dhap_config(10)
    rcpts = ("a@other.example", "b@other.example", "c@other.example")
    msg = Message(sender_ip="203.0.113.68", sbrs=-2.1, ptr="h68.mailer.example", recipients=rcpts,
                  invalid_rcpts_this_hour=9)
    res = simulate(msg, cfg)
    lines = res.lines(with_header=False)
    warn = [x for x in lines if " Warning: " in x]
    assert len(warn) == 1 and warn[0].endswith(
        "Warning: Dropping connection due to potential Directory Harvest Attack from host=('203.0.113.68', "
        "'h68.mailer.example'), dhap_limit=10, sender_group=SUSPECTLIST, listener=IncomingMail, "
        "reverse_dns=h68.mailer.example")
    text = _text(res)
    # the 10th invalid recipient of the hour is within the limit, the 11th drops; the 3rd is never sent
    assert sum("Rejected by RAT" in x for x in text) == 2 and text[-1] == "ICID 1001 close"
    assert not any("c@other.example" in x for x in text)
    assert res.outcomes == {r: ("hat", "rejected") for r in rcpts}
    under = simulate(Message(sbrs=-2.1, recipients=rcpts[:1], invalid_rcpts_this_hour=9), cfg)
    assert (under.stage, under.outcome) == ("rat", "rejected") and not any("Harvest" in x for x in _text(under))
    no_ptr = simulate(Message(sbrs=-2.1, ptr=None, recipients=rcpts[:1], invalid_rcpts_this_hour=10), cfg)
    assert any("host=('203.0.113.10', None), dhap_limit=10, sender_group=SUSPECTLIST, listener=IncomingMail"
               in x and "reverse_dns" not in x for x in _text(no_ptr))


def test_policy_quarantine_release_then_delivery():
    from diagnose.sim.scenarios import scenario_config

    cfg = scenario_config()
    held = simulate(Message(attachments=("a.js",)), cfg)
    assert (held.stage, held.outcome) == ("message_filter", "quarantined")
    res = simulate(Message(attachments=("a.js",), release="manual", release_after=1840), cfg)
    text = _text(res)
    i = text.index('MID 5001 released from quarantine "Policy" (manual) t=1840')
    assert text[i + 1] == "MID 5001 queued for delivery" and text[-1].startswith("DCID 901 close")
    assert (res.stage, res.outcome) == ("delivery", "delivered")


def test_spam_quarantine_release_reinjects_a_new_mid():
    res = simulate(Message(spam="positive", recipients=("x@example.com", "y@example.com"), release="manual"))
    text = _text(res)
    i = text.index("ISQ: Reinjected MID 5001 as MID 5002")
    assert text[i - 1] == "Message finished MID 5001 done"
    assert text[i + 1:i + 5] == ["Start MID 5002 ICID 0", "MID 5002 ICID 0 From: <alice@partner.example>",
                                 "MID 5002 ICID 0 RID 0 To: <x@example.com>",
                                 "MID 5002 ICID 0 RID 1 To: <y@example.com>"]
    after = text[i + 1:]
    assert not any("MID 5001" in x for x in after) and "Message finished MID 5002 done" in after
    assert (res.stage, res.outcome) == ("delivery", "delivered")
    # released, then refused downstream: the bounce and its NDR belong to the new MID
    bounced = _text(simulate(Message(spam="positive", release="manual", delivery=Delivery("reject"))))
    assert any(x.startswith("Bounced: DCID 901 MID 5002 ") for x in bounced)
    assert "MID 5003 generated for bounce of MID 5002" in bounced
    # an offbox (SMA) release comes back over SMTP: not modelled, the message stays quarantined
    off = simulate(Message(spam="positive", release="manual"), default_config(spam_quarantine="offbox"))
    assert (off.stage, off.outcome) == ("antispam", "quarantined")


@pytest.mark.parametrize("bad", [{"smtp_auth": "maybe"}, {"release": "auto"}, {"invalid_rcpts_this_hour": -1},
                                 {"release_after": -5.0}])
def test_unmodelled_values_are_refused(bad):
    with pytest.raises(ValueError):
        simulate(Message(**bad))


CAUSES = {"hat_delayed_reject": "sender_group_reject", "smtp_auth_required": "smtp_auth_required",
          "smtp_auth_failed": "smtp_auth_failed", "dhap": "dhap_limit", "policy_released": "delivered_downstream",
          "spam_released": "delivered_downstream"}


def test_engine_gives_each_new_situation_its_cause(tmp_path):
    from diagnose import api

    scenarios = [generate_scenarios(1, seed=40 + i, kinds=(k,))[0] for i, k in enumerate(CAUSES)]
    path = tmp_path / "mail_logs.s"
    write_log(scenarios, path)
    for s in scenarios:
        query = {"mid": s.mid, "recipient": s.recipient} if s.mid is not None else {"ip": s.ip}
        f = api.explain([path], offline=True, **query).findings[0]
        assert (f.stage, f.outcome, f.cause) == (s.stage, s.outcome, CAUSES[s.kind]), (s.kind, f.summary)
        assert f.evidence
