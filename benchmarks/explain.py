"""`explain --sender` over a 5M-line mail_logs, against `grep -c -F SENDER` on the same file.

    python benchmarks/explain.py [--lines 5000000] [--runs 5]

Prints (never asserts) the median wall time of RUNS runs of
`esa-diagnose explain --logs LOG --sender NEEDLE --offline --format json` (a fresh process each:
the whole command, imports included), of the story search alone (api.find_stories, in process),
and of `grep -c -F NEEDLE LOG`, all measured in the same run, and the ratios. Targets (issue 3):
explain at most 3 s and at most 15x grep.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import NEEDLE, build, count_lines, grep_count, median_time  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    path = build(a.lines)
    print(f"log: {path} ({count_lines(path):,} lines, {path.stat().st_size / 2**20:.0f} MiB)")
    with contextlib.suppress(OSError):
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    env = {**os.environ, "ESA_DIAGNOSE_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "diagnose", "explain", "--logs", str(path), "--sender", NEEDLE, "--offline",
           "--format", "json"]

    def explain() -> dict:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent)
        if r.returncode != 0:
            raise SystemExit(f"explain failed ({r.returncode}): {r.stderr[-2000:]}")
        return json.loads(r.stdout)

    from diagnose import api

    def search():
        return api.find_stories([str(path)], sender=NEEDLE, show_progress=False)

    grep_s, hits = grep_count(NEEDLE, path, a.runs)
    search_s, search_times, res = median_time(search, a.runs)
    explain_s, explain_times, answer = median_time(explain, a.runs)
    findings = answer.get("findings", []) if isinstance(answer, dict) else []
    print(f"grep -c -F {NEEDLE}: {grep_s:.3f} s (median of {a.runs}; {hits} lines)")
    print(f"story search (api.find_stories): {search_s:.3f} s (median; runs "
          + ", ".join(f"{t:.2f}" for t in search_times) + f"), {res.passes} passes, {res.lines_parsed} lines parsed, "
          f"{len(res.messages)} messages, {len(res.connections)} connections; {search_s / grep_s:.1f}x grep")
    print(f"explain --sender (whole command): {explain_s:.3f} s (median; runs "
          + ", ".join(f"{t:.2f}" for t in explain_times) + f"); {explain_s / grep_s:.1f}x grep; "
          f"{len(findings)} finding(s): " + ", ".join(f"{f.get('outcome')}/{f.get('stage')}" for f in findings[:5]))
    print(f"targets: <= 3 s -> {'met' if explain_s <= 3 else 'NOT met'}; "
          f"<= 15x grep -> {'met' if explain_s <= 15 * grep_s else 'NOT met'}")


if __name__ == "__main__":
    main()
