"""The pipeline simulator: a message description + a configuration -> the mail_logs lines an ESA writes.

The offline analogue of the appliance's `trace` command. It walks the pipeline in AsyncOS order
(esa-pipeline.md §1): HAT -> TLS -> sender verification -> envelope and RAT -> DATA -> SPF / DKIM /
DMARC -> SDR -> message filters -> per-recipient mail policy (safelist/blocklist, anti-spam,
anti-virus, AMP, graymail, content filters, Outbreak Filters) -> quarantines -> delivery and the
bounce profile, and writes at each step the line the appliance writes there, in the real grammar
(esa-log-formats.md). Where no verbatim sample exists (DMARC failure, antivirus drop) the line is
built from the documented template and marked so in `INFERRED_GRAMMAR`.

    from diagnose.simulator import Message, simulate, default_config
    result = simulate(Message(sender_ip="203.0.113.7", sbrs=-5.2, sender="a@partner.example",
                              recipients=("bob@example.com",)))
    result.stage, result.outcome      # ("hat", "rejected")
    result.lines()                    # ['Mon Oct  7 13:00:00 2024 Info: New SMTP ICID 1001 ...', ...]

Ids (ICID, MID, DCID, RCID) are placeholders until the lines are rendered, then numbered in the
order the appliance would allocate them, so that a multi-scenario log has increasing ids.
`generate_scenarios()` and `write_log()` build test and benchmark logs (diagnose/sim/scenarios.py).
"""

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


def main(argv: list[str] | None = None) -> int:
    """`python -m diagnose.simulator OUT --lines N`: a benchmark or test log of generated scenarios."""
    import argparse
    import time

    p = argparse.ArgumentParser(prog="python -m diagnose.simulator",
                                description="Write a simulated mail_logs file of generated scenarios.")
    p.add_argument("output", help="file to write (.gz compresses)")
    p.add_argument("--lines", type=int, help="at least this many lines (default: --scenarios)")
    p.add_argument("--scenarios", type=int, default=1000, help="number of scenarios when --lines is not given")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--syslog", action="store_true", help="syslog-pushed form instead of the file form")
    p.add_argument("--kinds", help=f"comma-separated recipes (default: the realistic mix of {len(RECIPE_NAMES)})")
    a = p.parse_args(argv)
    kinds = a.kinds.split(",") if a.kinds else None
    t0 = time.perf_counter()
    if a.lines:
        stats = write_log(iter_scenarios(a.seed, kinds=kinds), a.output, lines_target=a.lines, syslog=a.syslog)
    else:
        stats = write_log(generate_scenarios(a.scenarios, a.seed, kinds=kinds), a.output, syslog=a.syslog)
    print(f"{stats.lines} lines, {stats.scenarios} scenarios, {stats.first} .. {stats.last} -> {stats.path} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
