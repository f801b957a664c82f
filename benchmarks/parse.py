"""Parse + correlate throughput on a 5M-line mail_logs built from the real Cribl sample.

    python benchmarks/parse.py [--lines 5000000] [--runs 5] [--full]

Prints (never asserts): lines/s of `logs stats` (recognise every line + count stories), median
of RUNS runs, each in a fresh process so its peak RSS is its own; `grep -c -F` on the same file;
with --full also the full-event path (Event objects + Correlator stories), which is what
`explain` would pay without the byte prefilter. Targets (issue 2): >= 400,000 lines/s on one
core, peak RSS < 300 MB for 5M lines.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import NEEDLE, build, count_lines, grep_count  # noqa: E402


def child(mode: str, path: str) -> None:
    from diagnose.collectors.correlate import count_stories, stories_count_full
    from diagnose.collectors.reader import LogReader

    t = time.perf_counter()
    c = time.process_time()
    if mode == "stats":
        st = count_stories(LogReader([path]))
        lines, conns, msgs = st.lines, st.connections, st.messages
        recognized = st.recognized
    else:
        lines, recognized, conns, msgs = stories_count_full(LogReader([path]))
    dt = time.perf_counter() - t
    cpu = time.process_time() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "cpu": cpu, "lines": lines, "recognized": recognized, "connections": conns,
                      "messages": msgs, "rss_mb": rss}))


def run(mode: str, path: Path, runs: int) -> list[dict]:
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True,
                           env={**os.environ, "ESA_DIAGNOSE_PROGRESS": "0"})
        if r.returncode != 0:
            raise SystemExit(r.stderr)
        out.append(json.loads(r.stdout))
    return out


def report(label: str, results: list[dict]) -> None:
    secs = [r["seconds"] for r in results]
    med = statistics.median(secs)
    lines = results[0]["lines"]
    cpu = statistics.median(r["cpu"] for r in results)
    print(f"{label}: {lines / med:,.0f} lines/s wall (median of {len(secs)}: {med:.2f} s; runs "
          + ", ".join(f"{s:.2f}" for s in secs) + f"); {lines / cpu:,.0f} lines per CPU second ({cpu:.2f} s CPU)")
    print(f"  recognised {results[0]['recognized'] / lines:.4%}, connections {results[0]['connections']:,}, "
          f"messages {results[0]['messages']:,}, peak RSS {max(r['rss_mb'] for r in results):.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="also time the full-event path (slow)")
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
    g, hits = grep_count(NEEDLE, path, a.runs)
    print(f"grep -c -F {NEEDLE}: {g:.3f} s median of {a.runs} ({hits} lines)")
    report("parse+correlate (logs stats path)", run("stats", path, a.runs))
    if a.full:
        report("full events + stories", run("full", path, max(1, min(a.runs, 3))))


if __name__ == "__main__":
    main()
