"""Engine figures: rulebase load + compile, cases per second (one durable-rules session each), memory
stays flat across many sessions, and `explain` end to end on the Cribl sample.

Run: python benchmarks/bench_engine.py [--cases 2000] [--runs 5]
Prints medians of several runs (no timing assertions anywhere in the tests).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnose.engine.compiler import CompiledRulebase  # noqa: E402
from diagnose.engine.explainer import Engine, run_explain  # noqa: E402
from diagnose.engine.facts import Case, Query  # noqa: E402
from diagnose.engine.rulebase import load_rulebase  # noqa: E402
from diagnose.model import ConnectionStory, Event, MessageStory  # noqa: E402

CRIBL = ROOT.parent / "shared" / "corpus" / "external" / "cribl-cisco-esa-mailtext" / "mail_logs.txt"
T0 = datetime(2024, 10, 7, 13, 0, 0)


def ev(kind: str, n: int, text: str, **fields) -> Event:
    return Event(kind, T0 + timedelta(seconds=n), "SN", f"bench:{n}", text, fields)


def hat_reject(i: int) -> Case:
    conn = ConnectionStory("SN", i, events=[
        ev("icid_new", 1, f"New SMTP ICID {i} interface Data 1 (10.0.0.1) address 198.51.100.{i % 250}",
           icid=i, ip=f"198.51.100.{i % 250}"),
        ev("hat_decision", 2, f"ICID {i} REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -4.2", icid=i,
           action="REJECT", sender_group="BLACKLIST", rule="sbrs[-10.0:-2.5]", sbrs="-4.2", sbrs_score=-4.2),
        ev("icid_close", 3, f"ICID {i} close", icid=i, how="close")])
    return Case(kind="connection", query=Query(), connection=conn)


def delivered(i: int) -> Case:
    conn = ConnectionStory("SN", i, events=[
        ev("icid_new", 1, f"New SMTP ICID {i} address 192.0.2.1", icid=i, ip="192.0.2.1"),
        ev("hat_decision", 2, f"ICID {i} ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS 3.4", icid=i,
           action="ACCEPT", sender_group="UNKNOWNLIST", rule="sbrs[-1.0:10.0]", sbrs="3.4", sbrs_score=3.4)])
    msg = MessageStory("SN", i, icid=i, events=[
        ev("mid_start", 3, f"Start MID {i} ICID {i}", mid=i, icid=i),
        ev("mid_from", 4, f"MID {i} ICID {i} From: <a@partner.example>", mid=i, sender="a@partner.example"),
        ev("mid_to", 5, f"MID {i} ICID {i} RID 0 To: <u@corp.example>", mid=i, rid=0, recipient="u@corp.example"),
        ev("policy_match", 6, f"MID {i} matched all recipients for per-recipient policy DEFAULT in the inbound table",
           mid=i, policy="DEFAULT", direction="inbound"),
        ev("antispam", 7, f"MID {i} using engine: CASE spam negative", mid=i, engine="CASE", verdict="spam negative",
           interim=False),
        ev("antivirus", 8, f"MID {i} antivirus negative", mid=i, verdict="negative"),
        ev("queued", 9, f"MID {i} queued for delivery", mid=i),
        ev("delivery_start", 10, f"Delivery start DCID 9{i} MID {i} to RID [0]", mid=i, dcid=9, rids=[0]),
        ev("message_done", 11, f"Message done DCID 9{i} MID {i} to RID [0]", mid=i, dcid=9, rids=[0], target=""),
        ev("message_finished", 12, f"Message finished MID {i} done", mid=i, status="done")])
    return Case(kind="message", query=Query(), message=msg, connection=conn, rid=0, recipient="u@corp.example")


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()

    t, rb = timed(load_rulebase, a.runs)
    print(f"rulebase: {len(rb.rules)} rules in {len(rb.files)} files, load+validate median {t * 1000:.1f} ms")
    t, comp = timed(lambda: CompiledRulebase(rb), a.runs)
    print(f"compile into durable-rules: median {t * 1000:.1f} ms")
    eng = Engine(rb, comp, Engine.load().remedies)

    for name, make in (("HAT reject (3 lines)", hat_reject), ("delivered message (12 lines)", delivered)):
        cases = [make(i) for i in range(a.cases)]

        def run_all(cases=cases):
            for c in cases:
                eng.run_case(c)
        t, _ = timed(run_all, a.runs)
        print(f"{name}: {a.cases / t:,.0f} cases/s (median of {a.runs} runs of {a.cases})")

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(a.cases * 5):
        eng.run_case(hat_reject(i))
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"max RSS growth over {a.cases * 5} more sessions: {(rss1 - rss0) / 1024:.1f} MB (sessions deleted)")

    if CRIBL.is_file():
        t, ans = timed(lambda: run_explain([CRIBL], mid=24611411, offline=True), a.runs)
        print(f"explain --mid on the Cribl sample (1000 lines): median {t * 1000:.0f} ms -> {ans.findings[0].outcome}")
        t, ans = timed(lambda: run_explain([CRIBL], since="2014-11-19 00:00", recipient="user1@mycompany.com",
                                           offline=True), a.runs)
        print(f"explain --recipient (many cases) on the Cribl sample: median {t * 1000:.0f} ms, "
              f"{len(ans.findings)} findings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
