"""CLI placeholders of the recommendations filled from the case: <listener>, <sender group>, <policy>
(mail flow policy in `hostaccess` commands, mail policy in `policyconfig` ones), <filter>, <host>.

A name the case does not know, or that is not a plain AsyncOS name, stays visible.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from diagnose import api
from diagnose.engine.findings import fill_commands

SCENARIOS = Path(__file__).parent / "data" / "scenarios"

VALUES = {"ip": "192.0.2.9", "listener": "IncomingMail", "sender_group": "SUSPECTLIST", "flow_policy": "$THROTTLED",
          "mail_policy": "DEFAULT", "filter": "bounce_big", "host": "10.30.1.25"}


def test_policy_is_the_flow_policy_in_hostaccess_and_the_mail_policy_in_policyconfig():
    text = ("listenerconfig → edit → <listener> → hostaccess → edit → <policy> → commit ; "
            "policyconfig → incoming → edit <policy> → filters → edit <filter> → commit ; telnet <host> 25")
    assert fill_commands(text, VALUES, "raise_limit") == (
        "listenerconfig → edit → IncomingMail → hostaccess → edit → $THROTTLED → commit ; "
        "policyconfig → incoming → edit DEFAULT → filters → edit bounce_big → commit ; telnet 10.30.1.25 25")
    # a <policy> outside both commands has no meaning to fill
    assert fill_commands("edit <policy>", VALUES, "none") == "edit <policy>"


def test_sender_group_filled_but_a_new_group_name_is_not():
    text = "hostaccess → edit → <sender group> → delete ; hostaccess → new → <group> → <ip>"
    assert fill_commands(text, VALUES, "hat_allowlist") == \
        "hostaccess → edit → SUSPECTLIST → delete ; hostaccess → new → <group> → 192.0.2.9"


@pytest.mark.parametrize("bad", ["Incoming Mail", "x;rm -rf /", "a$(id)", "$", "", None, True, "x" * 300])
def test_names_that_are_not_plain_stay_placeholders(bad):
    values = dict(VALUES, listener=bad, sender_group=bad, flow_policy=bad, filter=bad, host=bad)
    text = "edit → <listener> → hostaccess → edit → <policy> → <sender group> ; filters → detail <filter> ; telnet <host>"
    assert fill_commands(text, values, "raise_limit") == text


def _explain(name: str, **override):
    doc = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    q = dict(doc["query"], **override)
    for k in ("config", "tracking"):
        if k in q:
            q[k] = str((SCENARIOS / q[k]).resolve())
    return api.explain(logs=[str(SCENARIOS / f"{name}.log")], **q)


def _clis(answer) -> list[str]:
    return [r.cli for f in answer.findings for r in f.recommendations]


def test_listener_from_the_dhap_line():
    clis = _clis(_explain("hat_dhap_connection_by_ip"))
    assert any(c.startswith("listenerconfig → edit → IncomingMail → hostaccess") for c in clis), clis
    assert all("<listener>" not in c for c in clis)
    # the mail flow policy is not in mail_logs (the HAT line names the sender group only): stays visible
    assert any("hostaccess → edit → <policy> → (enable DHAP" in c for c in clis)


def test_filter_and_mail_policy_from_the_message():
    clis = _clis(_explain("cf_bounce_quarantine_delete"))
    assert any("filters → edit bounce_big_attachments" in c for c in clis), clis
    assert any("filters → edit bank_details_change" in c for c in clis), clis  # from the quarantine reason
    assert any("policyconfig → incoming → edit DEFAULT → filters" in c for c in clis)


def test_sender_group_from_the_hat_line_and_host_from_the_delivery():
    assert any("hostaccess → edit → BLOCK_LOCAL → delete" in c for c in _clis(_explain("hat_reject_ip_entry")))
    assert any("telnet 10.30.1.25 25" in c for c in _clis(_explain("dlv_connection_error")))


def test_listener_and_flow_policy_from_the_configuration():
    answer = _explain("engine_config_cases")
    hat = [f for f in answer.findings if f.stage == "hat" and f.cause == "poor_sender_reputation"]
    assert hat
    clis = [r.cli for r in hat[0].recommendations]
    assert all("<listener>" not in c for c in clis if c.startswith("listenerconfig")), clis
