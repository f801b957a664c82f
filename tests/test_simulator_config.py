"""The simulator follows a configuration other than the defaults, and refuses descriptions it cannot model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from diagnose.simulator import (
    Delivery,
    ExceptionEntry,
    Filter,
    IncomingPolicy,
    Message,
    RatEntry,
    SenderGroup,
    default_config,
    simulate,
)
from diagnose.simulator import main as simulator_main


def text(res) -> str:
    return "\n".join(res.lines())


def test_a_custom_sender_group_above_blacklist_lets_a_poor_reputation_host_in():
    # the hat_allowlist remedy, applied: the same host is accepted and scanned as usual
    base = default_config()
    partners = SenderGroup("PARTNERS", "$ACCEPTED", hosts=("203.0.113.0/24",))
    cfg = replace(base, hat=(base.hat[0], partners, *base.hat[1:]))
    msg = Message(sender_ip="203.0.113.9", sbrs=-7.5)
    assert simulate(msg).stage == "hat"
    res = simulate(msg, cfg)
    assert "ICID 1001 ACCEPT SG PARTNERS match 203.0.113.0/24 SBRS -7.5" in text(res)
    assert "using engine: CASE spam negative" in text(res)
    assert (res.stage, res.outcome) == ("delivery", "delivered")


def test_tcprefuse_and_tls_required_policies():
    base = default_config()
    policies = dict(base.policies)
    policies["$BLOCKED"] = replace(policies["$BLOCKED"], action="TCPREFUSE")
    policies["$ACCEPTED"] = replace(policies["$ACCEPTED"], tls="required")
    cfg = replace(base, policies=policies)
    refused = simulate(Message(sbrs=-9.0), cfg)
    assert "ICID 1001 TCPREFUSE SG BLACKLIST match sbrs[-10.0:-3.0] SBRS -9.0" in text(refused)
    assert (refused.stage, refused.outcome) == ("hat", "rejected")
    plain = simulate(Message(tls=False), cfg)
    assert "ICID 1001 TLS was required but remote host did not initiate it" in text(plain)
    assert (plain.stage, plain.outcome) == ("hat", "rejected")
    assert simulate(Message(tls=True), cfg).outcome == "delivered"


def test_exception_table_allow_overrides_sender_dns_verification():
    base = default_config()
    policies = dict(base.policies)
    policies["$ACCEPTED"] = replace(policies["$ACCEPTED"], sender_dns_verification=True, use_exception_table=True)
    msg = Message(sender="info@old.example", sender_domain_dns="does not exist")
    rejected = simulate(msg, replace(base, policies=policies))
    assert "Address: <info@old.example> sender rejected, envelope sender domain does not exist" in text(rejected)
    assert (rejected.stage, rejected.outcome) == ("sender_verification", "rejected")
    allowed = simulate(msg, replace(base, policies=policies,
                                    exception_table=(ExceptionEntry("@old.example", allow=True),)))
    assert "sender allowed, envelope sender matched domain exception" in text(allowed)
    assert allowed.outcome == "delivered"


def test_rat_entry_for_a_new_domain_and_bypass_receiving_control():
    base = default_config()
    msg = Message(recipients=("ann@newco.example",))
    assert simulate(msg).stage == "rat"
    cfg = replace(base, rat=(RatEntry("newco.example", "ACCEPT"), *base.rat))
    assert simulate(msg, cfg).outcome == "delivered"
    throttled = Message(sbrs=-2.0, rcpts_this_hour=50, recipients=("postmaster@example.com",))
    assert simulate(throttled).outcome == "rejected"
    cfg = replace(base, rat=(RatEntry("postmaster@", "ACCEPT", bypass_receiving_control=True), *base.rat))
    assert simulate(throttled, cfg).outcome == "delivered"


def test_policy_quarantine_holds_the_message_after_the_remaining_scans():
    cfg = default_config(message_filters=(Filter("Hold_Scripts", "quarantine", attachment_ext=".js"),))
    res = simulate(Message(attachments=("a.js",)), cfg)
    t = text(res)
    assert 'quarantined to "Policy" (message filter:Hold_Scripts)' in t
    assert "antivirus negative" in t and "Outbreak Filters: verdict negative" in t  # scanning continues
    assert "queued for delivery" not in t and "Message finished" not in t  # held on the box
    assert (res.stage, res.outcome) == ("message_filter", "quarantined")


def test_virus_quarantine_and_outbreak_threshold():
    cfg = default_config(incoming_policies=(IncomingPolicy(virus_infected="quarantine", outbreak_threshold=4),))
    v = simulate(Message(virus="EICAR-AV-Test", attachments=("e.com",)), cfg)
    assert 'antivirus positive \'EICAR-AV-Test\'' in text(v) and 'quarantined to "Virus"' in text(v)
    assert (v.stage, v.outcome) == ("antivirus", "quarantined")
    assert simulate(Message(outbreak_level=3), cfg).outcome == "delivered"  # below the threshold of 4
    o = simulate(Message(outbreak_level=4), cfg)
    assert (o.stage, o.outcome) == ("outbreak_filter", "quarantined")
    assert "MID 5001 Virus Threat Level=4" in text(o)


def test_dmarc_reject_only_when_the_profile_enforces_it():
    msg = Message(spf="Fail", dkim="permfail", dmarc_policy="reject")
    res = simulate(msg)
    assert "DMARC fail (SPF aligned False, DKIM aligned False)" in text(res)
    assert (res.stage, res.outcome) == ("authentication", "rejected")
    base = default_config()
    policies = dict(base.policies)
    policies["$ACCEPTED"] = replace(policies["$ACCEPTED"], dmarc_reject=False)
    assert simulate(msg, replace(base, policies=policies)).outcome == "delivered"
    assert simulate(replace(msg, dkim="pass")).outcome == "delivered"  # DKIM aligned: DMARC passes


def test_custom_bounce_profile_expires_sooner():
    from diagnose.simulator import BounceProfile

    cfg = default_config(bounce_profile=BounceProfile("Short", max_retries=3, max_queue_lifetime=3600))
    res = simulate(Message(delivery=Delivery("expire")), cfg)
    lines = res.lines()
    assert sum("Delayed: DCID" in x for x in lines) == 3
    assert any("pending till" in x and x.endswith("[Short]") for x in lines)
    assert (res.stage, res.outcome) == ("delivery", "bounced")


@pytest.mark.parametrize("change", [
    {"spam": "maybe"}, {"sbrs": 11.0}, {"outbreak_level": 9}, {"recipients": ()},
    {"delivery": Delivery("teleport")}, {"spf": "pass"},
])
def test_descriptions_outside_the_model_are_refused(change):
    with pytest.raises(ValueError):
        simulate(replace(Message(), **change))


def test_command_line_generator(tmp_path, capsys):
    out = tmp_path / "bench.log"
    assert simulator_main([str(out), "--lines", "3000", "--seed", "4"]) == 0
    n = len(out.read_text(encoding="utf-8").splitlines())
    assert n >= 3000 and f"{n} lines" in capsys.readouterr().out


def test_relayed_outgoing_mail_skips_the_rat_and_inbound_checks_and_meets_dlp():
    from diagnose.sim.scenarios import scenario_config

    cfg = scenario_config()
    msg = Message(sender_ip="192.0.2.3", sbrs=None, sender="cfo@example.com", recipients=("ap@supplier.example.net",),
                  dlp_policy="PCI-DSS", dlp_severity="HIGH")
    res = simulate(msg, cfg)
    t = text(res)
    assert "ICID 1001 RELAY SG RELAYLIST match 192.0.2.0/28 SBRS None" in t
    assert "RID 0 To: <ap@supplier.example.net>" in t and "Rejected by RAT" not in t
    assert "SPF:" not in t and "DMARC:" not in t and "SDR:" not in t and "using engine: CASE" not in t
    assert "per-recipient policy DEFAULT in the outbound table" in t and "antivirus negative" in t
    assert "DLP violation. Severity: HIGH (Risk Factor: 75). DLP policy match: 'PCI-DSS'." in t
    assert (res.stage, res.outcome) == ("dlp", "quarantined")
    # the same recipient from an outside host is refused by the RAT, and DLP does not scan incoming mail
    inbound = simulate(replace(msg, sender_ip="203.0.113.8", sbrs=2.0), cfg)
    assert inbound.stage == "rat"
    assert any(s.stage == "dlp" and s.status == "skipped" for s in simulate(Message(dlp_policy="X"), cfg).steps)


def test_command_line_trace_prints_each_stage_and_the_lines(capsys):
    assert simulator_main(["trace", "--ip", "203.0.113.9", "--sbrs", "-2.0", "--to", "a@example.com",
                           "--spam", "positive"]) == 0
    out = capsys.readouterr().out
    assert "hat                  passed       sender group SUSPECTLIST" in out
    assert "=> a@example.com: quarantined at antispam" in out
    assert "ISQ: Tagging MID 5001 for quarantine" in out
    assert simulator_main(["trace", "--spam", "maybe"]) == 2
    assert "Message.spam='maybe'" in capsys.readouterr().err
