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
    "SimResult", "Step", "WriteStats", "default_config", "generate_scenarios", "iter_scenarios", "render",
    "scenario_config", "simulate", "write_log",
]
