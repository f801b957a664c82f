"""The pipeline simulator: a message description + a configuration -> the mail_logs lines an ESA writes.

The offline analogue of the appliance's `trace` command. It walks the pipeline in AsyncOS order
(esa-pipeline.md §1): HAT -> TLS -> sender verification -> envelope and RAT -> DATA -> SPF / DKIM /
DMARC -> SDR -> message filters -> per-recipient mail policy (safelist/blocklist, anti-spam,
anti-virus, AMP, graymail, content filters, Outbreak Filters) -> quarantines -> delivery and the
bounce profile, and writes at each step the line the appliance writes there, in the real grammar
(esa-log-formats.md). Where no verbatim sample exists (DMARC failure, antivirus drop) the line is
built from the documented template and marked so in `INFERRED_GRAMMAR`.
Connection-level refusals are modelled too: a listener's Delayed HAT REJECT (`Message.delayed_reject`),
SMTP AUTH on a mail flow policy (`MailFlowPolicy.smtp_auth`, `Message.smtp_auth`), Directory Harvest
Attack Prevention (`MailFlowPolicy.dhap_limit`, `Message.invalid_rcpts_this_hour`); and a held message's
release (`Message.release`: a policy quarantine's `released from quarantine`, or the local spam
quarantine's `ISQ: Reinjected MID a as MID b`, then delivery).

    from diagnose.simulator import Message, simulate, default_config
    result = simulate(Message(sender_ip="203.0.113.7", sbrs=-5.2, sender="a@partner.example",
                              recipients=("bob@example.com",)))
    result.stage, result.outcome      # ("hat", "rejected")
    result.lines()                    # ['Mon Oct  7 13:00:00 2024 Info: New SMTP ICID 1001 ...', ...]

Ids (ICID, MID, DCID, RCID) are placeholders until the lines are rendered, then numbered in the
order the appliance would allocate them, so that a multi-scenario log has increasing ids.
`generate_scenarios()` and `write_log()` build test and benchmark logs (diagnose/sim/scenarios.py).
"""

import sys

from diagnose.sim.config import (
    BounceProfile,
    Config,
    ExceptionEntry,
    Filter,
    IncomingPolicy,
    MailFlowPolicy,
    RatEntry,
    SenderGroup,
    default_config,
)
from diagnose.sim.pipeline import (
    _CHOICES,
    DEFAULT_START,
    INFERRED_GRAMMAR,
    Delivery,
    Message,
    SimResult,
    Step,
    check_message,
    render,
    simulate,
)
from diagnose.sim.scenarios import (
    RECIPE_NAMES,
    Scenario,
    WriteStats,
    generate_scenarios,
    iter_scenarios,
    scenario_config,
    write_log,
)

__all__ = [
    "BounceProfile", "Config", "DEFAULT_START", "Delivery", "ExceptionEntry", "Filter", "INFERRED_GRAMMAR",
    "IncomingPolicy", "MailFlowPolicy", "Message", "RECIPE_NAMES", "RatEntry", "Scenario", "SenderGroup",
    "SimResult", "Step", "WriteStats", "check_message", "default_config", "generate_scenarios", "iter_scenarios", "render",
    "scenario_config", "simulate", "write_log",
]


def trace_main(argv: list[str]) -> int:
    """`python -m diagnose.simulator trace ...`: one message through the pipeline, like the appliance's `trace`."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m diagnose.simulator trace",
                                description="Walk one message through the pipeline and print each stage and "
                                            "the mail_logs lines it writes (the offline analogue of `trace`).")
    p.add_argument("--ip", default="203.0.113.10", help="sending host IP")
    p.add_argument("--sbrs", default="3.5", help="SenderBase score, -10.0..10.0, or None")
    p.add_argument("--ptr", default="mail.partner.example", help="reverse DNS name (or None)")
    p.add_argument("--from", dest="sender", default="alice@partner.example", help="envelope sender")
    p.add_argument("--to", action="append", help="envelope recipient (repeat for several)")
    p.add_argument("--subject", default="Quarterly report")
    p.add_argument("--attachment", action="append", default=[], help="attachment file name (repeat)")
    p.add_argument("--size", type=int, default=24_000, help="message size in bytes")
    p.add_argument("--next-hop", default="ok", help="ok | reject | defer | defer_then_ok | dns | expire")
    p.add_argument("--config", choices=("default", "scenario"), default="default",
                   help="the built-in defaults, or the defaults plus the generated scenarios' filters")
    for name, values in _CHOICES.items():
        p.add_argument(f"--{name.replace('_', '-')}", default=None, help=" | ".join(str(v) for v in values if v))
    p.add_argument("--virus", help="virus name: anti-virus positive")
    p.add_argument("--outbreak-level", type=int, default=0, help="Outbreak Filters threat level 0-5")
    p.add_argument("--dlp-policy", help="DLP policy the (outgoing) message violates")
    a = p.parse_args(argv)
    fields = {name: getattr(a, name) for name in _CHOICES if getattr(a, name) is not None}
    try:
        sbrs = None if a.sbrs.lower() == "none" else float(a.sbrs)
        msg = Message(sender_ip=a.ip, sbrs=sbrs, ptr=None if a.ptr.lower() == "none" else a.ptr, sender=a.sender,
                      recipients=tuple(a.to or ["bob@example.com"]), subject=a.subject,
                      attachments=tuple(a.attachment), size=a.size, delivery=Delivery(a.next_hop),
                      virus=a.virus, outbreak_level=a.outbreak_level, dlp_policy=a.dlp_policy, **fields)
        res = simulate(msg, scenario_config() if a.config == "scenario" else None)
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    for st in res.steps:
        print(f"{st.stage:<20} {st.status:<12} {st.detail}")
    for rcpt, (stage, outcome) in res.outcomes.items():
        print(f"=> {rcpt}: {outcome} at {stage}")
    print()
    print("\n".join(res.lines()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m diagnose.simulator OUT --lines N`: a benchmark or test log of generated scenarios;
    `python -m diagnose.simulator trace --ip ... --sbrs ...`: one message, stage by stage."""
    import argparse
    import time

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["trace"]:
        return trace_main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m diagnose.simulator",
                                description="Write a simulated mail_logs file of generated scenarios "
                                            "(or: python -m diagnose.simulator trace --help).")
    p.add_argument("output", help="file to write (.gz compresses)")
    p.add_argument("--lines", type=int, help="at least this many lines (default: --scenarios)")
    p.add_argument("--scenarios", type=int, default=1000, help="number of scenarios when --lines is not given")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--syslog", action="store_true", help="syslog-pushed form instead of the file form")
    p.add_argument("--kinds", help=f"comma-separated recipes (default: the realistic mix of {len(RECIPE_NAMES)})")
    a = p.parse_args(argv)
    kinds = a.kinds.split(",") if a.kinds else None
    t0 = time.perf_counter()
    try:
        if a.lines:
            stats = write_log(iter_scenarios(a.seed, kinds=kinds), a.output, lines_target=a.lines, syslog=a.syslog)
        else:
            stats = write_log(generate_scenarios(a.scenarios, a.seed, kinds=kinds), a.output, syslog=a.syslog)
    except (ValueError, OSError) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    print(f"{stats.lines} lines, {stats.scenarios} scenarios, {stats.first} .. {stats.last} -> {stats.path} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
