"""Round trip against an independent implementation: the pipeline simulator's configuration is written
out in the documented HAT / RAT export syntax, the simulator writes mail_logs with it, and the config
evaluation must agree with every logged HAT decision and RAT refusal (and never call them changed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from diagnose import api
from diagnose.collectors.configcase import config_events_for_case
from diagnose.collectors.esaconfig import parse_config_bytes
from diagnose.engine.explainer import _stories
from diagnose.sim.config import SenderGroup as SimGroup
from diagnose.sim.config import default_config
from diagnose.simulator import generate_scenarios, write_log

KINDS = ["delivered", "trusted", "hat_reject", "hat_throttled", "rat_reject", "spam_drop", "virus", "remote_reject"]


def hat_export(cfg) -> str:
    """The simulator's HAT in the `hostaccess → export` syntax (esa-pipeline.md §17)."""
    out = ["# written by test_config_roundtrip from the simulator's configuration"]
    for name, p in cfg.policies.items():
        out += [name, f"    {p.action} {{",
                f'        spam_check = "{"on" if p.spam_check else "off"}"',
                f'        virus_check = "{"on" if p.virus_check else "off"}"',
                *([f"        max_message_size = {p.max_message_size}"] if p.max_message_size else []),
                "    }"]
    for g in cfg.hat:
        out += [f"{g.name}:", f"    {g.policy} ({g.comment or g.name})"]
    for g in cfg.hat:
        for host in g.hosts:
            out += [host, f"    {g.name}"]
        if g.sbrs is not None:
            out += [f"sbrs[{g.sbrs[0]:.1f}:{g.sbrs[1]:.1f}]", f"    {g.name}"]
        if g.include_sbrs_none:
            out += ["sbrs[none]", f"    {g.name}"]
    out += ["ALL", f"    {cfg.all_policy}"]
    return "\n".join(out) + "\n"


def rat_export(cfg) -> str:
    return "# File exported by the GUI\n" + "".join(f"{e.address} {e.action}\n" for e in cfg.rat)


def custom_config():
    """Factory defaults plus a custom sender group above BLACKLIST (a network and a stricter SBRS range)."""
    base = default_config()
    hat = list(base.hat)
    hat.insert(1, SimGroup("PARTNER_BLOCK", "$BLOCKED", sbrs=(-10.0, -2.0), hosts=("203.0.113.0/24",),
                           comment="Stricter threshold"))
    hat[-1] = SimGroup("UNKNOWNLIST", "$ACCEPTED", sbrs=(-1.0, 10.0), include_sbrs_none=True,
                       comment=hat[-1].comment)
    return default_config(hat=tuple(hat))


@pytest.mark.parametrize("make_cfg", [default_config, custom_config], ids=["factory", "custom-group"])
def test_config_evaluation_agrees_with_simulated_logs(tmp_path, make_cfg):
    cfg = make_cfg()
    config = parse_config_bytes(hat_export(cfg).encode(), "hat.txt")
    parse_config_bytes(rat_export(cfg).encode(), "rat.txt", config)
    assert config.unknown_elements == []
    scenarios = generate_scenarios(60, seed=11, config=cfg, kinds=KINDS)
    log = tmp_path / "mail_logs.current"
    write_log(scenarios, log)
    pairs, lonely = _stories(api.find_stories([log]))
    cases = [SimpleNamespace(connection=conn, message=msg, recipient=None, query=None, extra_facts=[])
             for msg, conn in pairs]
    cases += [SimpleNamespace(connection=conn, message=None, recipient=None, query=None, extra_facts=[])
              for conn in lonely]
    hat_checked = rat_checked = 0
    groups_seen: set[str] = set()
    for case in cases:
        rcpts = [e.get("recipient") for e in (case.message.events if case.message else [])
                 if e.kind in ("mid_to", "mid_rcpt_rejected")] or [None]
        for rcpt in rcpts:
            case.recipient = rcpt
            events = config_events_for_case(config, case)
            kinds = [e.kind for e in events]
            assert "config_log_mismatch" not in kinds, [e.text for e in events]
            logged = next((e for e in (case.connection.events if case.connection else [])
                           if e.kind == "hat_decision"), None)
            if logged is not None:
                hat = next(e for e in events if e.kind == "config_hat_match")
                assert hat.get("sender_group") == logged.get("sender_group"), (hat.text, logged.text)
                assert hat.get("access") == logged.get("action") and hat.get("certain")
                assert "config_log_agree" in kinds
                groups_seen.add(logged.get("sender_group"))
                hat_checked += 1
            if rcpt and case.message.icid == 0:  # generated on the box (bounce): no RAT to compare
                assert "config_rat_match" not in kinds
            elif rcpt:
                rat = next(e for e in events if e.kind == "config_rat_match")
                refusals = [e.get("by") for e in case.message.events
                            if e.kind == "mid_rcpt_rejected" and e.get("recipient") == rcpt]
                if refusals and refusals != ["RAT"]:
                    continue  # refused by Receiving Control (throttling): not the RAT's decision
                assert (rat.get("access") == "REJECT") is bool(refusals), rat.text
                rat_checked += 1
    assert hat_checked >= 20 and rat_checked >= 20
    expected = {"UNKNOWNLIST", "PARTNER_BLOCK"} if make_cfg is custom_config else {"UNKNOWNLIST", "BLACKLIST"}
    assert expected <= groups_seen
