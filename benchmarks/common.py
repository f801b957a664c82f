"""Shared by the benchmarks: build a big mail_logs from the real Cribl sample (AsyncOS 7.6).

The 1000-line sample is repeated with every ICID, MID, DCID and RCID shifted by a per-copy
offset (ids stay unique, as on one appliance over days) and time moved forward ten seconds per
copy. The sample is a 10-second cut, so most of its messages and some connections end outside
it: each copy gets a `Message finished MID n done` after the last line of every MID without a
final line, and an `ICID n close` after the last line of every ICID without one, so that the
stories finish as on a real appliance instead of piling up open. One copy in the middle carries a unique sender, NEEDLE, so that a search for it has one
answer: what `explain --sender` and `grep -c -F` are timed on.

    python benchmarks/common.py [LINES] [OUT]     builds the file (cached by size) and prints its path
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "logs" / "cribl_mail_logs.txt"
NEEDLE = "bench-needle@partner.example"
# the sender replaced by NEEDLE in the middle copy: MID 24611505, a complete story (CASE spam drop)
NEEDLE_SOURCE = "207-TJZ-824.0.5556.0.0.2629.7.2401844@potomac1050.mktomail.com"
CACHE = Path(os.environ.get("ESA_BENCH_DIR", "/tmp/esa-diagnose-bench"))

BASE = datetime(2014, 11, 19, 9, 16, 38)  # the sample's first line; each copy is 10 s later
_ID = re.compile(r"\b(ICID|MID|DCID|RCID)(:? )(\d+)")
_TS = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}")


def _templates() -> tuple[list[tuple[str, str, list]], dict[str, int]]:
    """Sample lines -> (ts, format string with {N} for each id, [(id type, value)]) and id spans."""
    lines = SAMPLE.read_text().splitlines()
    spans: dict[str, list[int]] = {}
    out = []
    for line in lines:
        m = _TS.match(line)
        if not m or "Begin Logfile" in line or "Version:" in line or "Time offset" in line:
            continue
        body = line[m.end():].replace("{", "{{").replace("}", "}}")
        ids = []

        def sub(mm: re.Match, ids: list = ids) -> str:
            kind, value = mm.group(1), int(mm.group(3))
            if value == 0:
                return mm.group(0).replace("{", "{{")  # ICID 0 / DCID 0 keep their meaning
            ids.append((kind, value))
            lo_hi = spans.setdefault(kind, [value, value])
            lo_hi[0], lo_hi[1] = min(lo_hi[0], value), max(lo_hi[1], value)
            return f"{kind}{mm.group(2)}{{{len(ids) - 1}}}"

        out.append((m.group(0), _ID.sub(sub, body), ids))
    return _finish(out), {k: v[1] - v[0] + 1 for k, v in spans.items()}


def _finish(tpls: list[tuple[str, str, list]]) -> list[tuple[str, str, list]]:
    """Add the final line of every MID / ICID the sample leaves open, after its last line."""
    from diagnose.collectors import catalogue
    from diagnose.collectors.correlate import _MSG_END

    ended: set[tuple[str, int]] = set()
    last: dict[tuple[str, int], int] = {}
    for i, (_ts, fmt, ids) in enumerate(tpls):
        for kind, value in ids:
            if kind in ("MID", "ICID"):
                last[(kind, value)] = i
        r = catalogue.parse(fmt.format(*[v for _k, v in ids]).replace("{{", "{").replace("}}", "}").split(": ", 1)[-1])
        if r is None:
            continue
        kind, _name, f = r
        if kind in _MSG_END or kind == "filter_action" and "Message aborted" in fmt:
            ended.add(("MID", f["mid"]))
        elif kind in ("icid_close", "icid_killed", "icid_timeout", "icid_lost_dns"):
            ended.add(("ICID", f["icid"]))
    after: dict[int, list[tuple[str, str, list]]] = {}
    for (kind, value), i in last.items():
        if (kind, value) in ended:
            continue
        text = " Info: Message finished MID {0} done" if kind == "MID" else " Info: ICID {0} close"
        after.setdefault(i, []).append((tpls[i][0], text, [(kind, value)]))
    out = []
    for i, t in enumerate(tpls):
        out.append(t)
        out.extend(after.get(i, ()))
    return out


def build(lines: int = 5_000_000, path: Path | None = None) -> Path:
    """Write (or reuse) a log of at least `lines` lines; returns its path."""
    path = path or CACHE / f"mail_logs_{lines}_v3.txt"
    if path.exists() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tpls, spans = _templates()
    copies = -(-lines // len(tpls))
    base = BASE
    header = SAMPLE.read_text().splitlines()[:3]
    tmp = path.with_suffix(".part")
    ts_cache: dict[tuple[int, str], str] = {}
    with open(tmp, "w") as fh:
        fh.write("\n".join(header) + "\n")
        for k in range(copies):
            shift = {kind: k * (span + 7) for kind, span in spans.items()}
            buf = []
            for ts, fmt, ids in tpls:
                key = (k, ts)
                t = ts_cache.get(key)
                if t is None:
                    d = datetime.strptime(ts.replace("  ", " "), "%a %b %d %H:%M:%S %Y") - base
                    t = (base + d + timedelta(seconds=10 * k)).strftime("%a %b %e %H:%M:%S %Y")
                    ts_cache[key] = t
                line = t + fmt.format(*[v + shift[kind] for kind, v in ids])
                if k == copies // 2:
                    line = line.replace(NEEDLE_SOURCE, NEEDLE)
                buf.append(line)
            fh.write("\n".join(buf) + "\n")
            if len(ts_cache) > 100_000:
                ts_cache.clear()
    tmp.replace(path)
    return path


def copy_lines() -> int:
    """Lines per copy of the sample (with the added final lines)."""
    return len(_templates()[0])


def median_time(fn, runs: int = 5) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, result


def grep_count(needle: str, path: Path, runs: int = 5) -> tuple[float, int]:
    def run() -> int:
        r = subprocess.run(["grep", "-c", "-F", needle, str(path)], capture_output=True, text=True)
        return int(r.stdout.strip() or 0)
    med, _times, count = median_time(run, runs)
    return med, count  # type: ignore[return-value]


def peak_rss_mb() -> float:
    """Peak RSS of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    p = build(n, Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(p, count_lines(p), "lines", p.stat().st_size // (1 << 20), "MiB")
