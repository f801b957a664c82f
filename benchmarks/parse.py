"""Parse + correlate throughput on a 5M-line mail_logs built from the real Cribl sample.

    python benchmarks/parse.py [--lines 5000000] [--runs 5] [--full] [--window]

Prints (never asserts): lines/s of `logs stats` (recognise every line + count stories), median
of RUNS runs, each in a fresh process so its peak RSS is its own, in wall time and per CPU
second (the machine is shared: CPU time is the fairer figure); how many stories are still open
at the end of the log; `grep -c -F` on the same file; with --full also the full-event path
(Event objects + Correlator stories), which is what `explain` would pay without the byte
prefilter; with --window a time-window-only search, median of up to 3 (the reader leaves out
the pieces before the window, the read stops once the window's stories have ended; lines/s are
over the whole log, so that the figure compares with a read of everything); --no-stats skips
the stats and grep figures. Targets (issue 2): >= 400,000 lines/s on one core, peak RSS < 300 MB for 5M lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import BASE, NEEDLE, build, copy_lines, count_lines, grep_count  # noqa: E402


def child(mode: str, path: str) -> None:
    mode, _, arg = mode.partition(":")
    from diagnose.collectors.correlate import count_stories, stories_count_full
    from diagnose.collectors.reader import LogReader

    t = time.perf_counter()
    c = time.process_time()
    extra: dict = {}
    if mode == "stats":
        st = count_stories(LogReader([path]))
        lines, conns, msgs = st.lines, st.connections, st.messages
        recognized = st.recognized
        extra = {"open_connections": st.open_connections, "open_messages": st.open_messages,
                 "partial_connections": st.partial_connections, "partial_messages": st.partial_messages}
    elif mode == "window":
        from diagnose import api

        since = datetime.fromisoformat(arg)  # ten seconds in the middle of the log: one copy of the sample
        r = api.find_stories([path], since=since, until=since + timedelta(seconds=10), show_progress=False)
        lines = recognized = r.lines_parsed
        conns, msgs = len(r.connections), len(r.messages)
        extra = {"evicted": r.evicted, "skipped": getattr(r, "lines_skipped", 0), "reads": getattr(r, "reads", 1),
                 "stopped_early": getattr(r, "stopped_early", False)}
    else:
        lines, recognized, conns, msgs = stories_count_full(LogReader([path]))
    dt = time.perf_counter() - t
    cpu = time.process_time() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "cpu": cpu, "lines": lines, "recognized": recognized, "connections": conns,
                      "messages": msgs, "rss_mb": rss, **extra}))


def run(mode: str, path: Path, runs: int) -> list[dict]:
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True,
                           env={**os.environ, "ESA_DIAGNOSE_PROGRESS": "0"})
        if r.returncode != 0:
            raise SystemExit(r.stderr)
        out.append(json.loads(r.stdout))
    return out


def report(label: str, results: list[dict], total_lines: int | None = None) -> None:
    secs = [r["seconds"] for r in results]
    med = statistics.median(secs)
    lines = total_lines or results[0]["lines"]
    cpu = statistics.median(r["cpu"] for r in results)
    print(f"{label}: {lines / med:,.0f} lines/s wall (median of {len(secs)}: {med:.2f} s; runs "
          + ", ".join(f"{s:.2f}" for s in secs) + f"); {lines / cpu:,.0f} lines per CPU second ({cpu:.2f} s CPU)")
    r0 = results[0]
    share = "" if total_lines else f"recognised {r0['recognized'] / lines:.4%}, "
    print(f"  {share}connections {r0['connections']:,}, "
          f"messages {r0['messages']:,}, peak RSS {max(r['rss_mb'] for r in results):.0f} MB")
    if "open_messages" in r0:
        print(f"  open at the end of the log: {r0['open_messages']:,} messages "
              f"({r0['open_messages'] / max(1, r0['messages']):.2%}), {r0['open_connections']:,} connections "
              f"({r0['open_connections'] / max(1, r0['connections']):.2%}); partial (start or end missing): "
              f"{r0['partial_messages'] / max(1, r0['messages']):.1%} of messages, "
              f"{r0['partial_connections'] / max(1, r0['connections']):.1%} of connections")
    if "evicted" in r0:
        print(f"  open stories evicted early (quiet 6 h of log time, partial_end): {r0['evicted']:,}")
    if "skipped" in r0:
        print(f"  lines parsed {r0['lines']:,} (in {r0['reads']} read(s)); left out before the window without "
              f"parsing {r0['skipped']:,}; stopped after the window's stories ended: {r0['stopped_early']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="also time the full-event path (slow)")
    ap.add_argument("--window", action="store_true", help="also time a window-only search (median of up to 3)")
    ap.add_argument("--no-stats", action="store_true", help="skip the logs stats and grep figures")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    t = time.perf_counter()
    path = build(a.lines)
    n = count_lines(path)
    print(f"log: {path} ({n:,} lines, {path.stat().st_size / 2**20:.0f} MiB; ready in {time.perf_counter() - t:.1f} s)")
    with contextlib.suppress(OSError):
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
              "(each run is one process on one core; CPU time is shown as well, wall time suffers from load)")
    if not a.no_stats:
        g, hits = grep_count(NEEDLE, path, a.runs)
        print(f"grep -c -F {NEEDLE}: {g:.3f} s median of {a.runs} ({hits} lines)")
        report("parse+correlate (logs stats path)", run("stats", path, a.runs))
    if a.full:
        report("full events + stories", run("full", path, max(1, min(a.runs, 3))))
    if a.window:
        middle = BASE + timedelta(seconds=10 * (n // copy_lines() // 2))
        report(f"window-only search (api.find_stories, {middle:%H:%M:%S} + 10 s; lines/s over the whole log)",
               run(f"window:{middle.isoformat()}", path, max(1, min(a.runs, 3))), total_lines=n)


if __name__ == "__main__":
    main()
