"""Simulator and teaching-site figures (median of several runs).

    python benchmarks/simulator_teach.py [LINES] [RUNS]

Prints: write_log() throughput on a streamed log of LINES lines (default 1,000,000), the size
of the file, and the time of `build_site()` (the `esa-diagnose teach` work: rules, knowledge,
simulated worked scenarios diagnosed by the engine, 40+ pages).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from diagnose.simulator import iter_scenarios, write_log
from diagnose.teach import build_site


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mail_logs"
        times, cpus, stats = [], [], None
        for i in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            stats = write_log(iter_scenarios(seed=i), path, lines_target=lines)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        med, cpu = statistics.median(times), statistics.median(cpus)
        # CPU time too: on a shared machine the wall clock measures the neighbours
        print(f"simulator: {stats.lines:,} lines ({stats.scenarios:,} scenarios, {path.stat().st_size / 1e6:.0f} MB) "
              f"in {med:.2f} s wall / {cpu:.2f} s CPU, median of {runs} -> {stats.lines / med:,.0f} lines/s wall, "
              f"{stats.lines / cpu:,.0f} lines/s CPU")
        teach, tcpu = [], []
        for i in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            res = build_site(Path(tmp) / f"site{i}")
            teach.append(time.perf_counter() - t0)
            tcpu.append(time.process_time() - c0)
        print(f"teach: {len(res.pages)} pages, {res.rules} rules, {res.scenarios} worked scenarios in "
              f"{statistics.median(teach):.2f} s wall / {statistics.median(tcpu):.2f} s CPU, median of {runs} "
              f"(first run {teach[0]:.2f} s wall, includes loading the engine)")


if __name__ == "__main__":
    main()
