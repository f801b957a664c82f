"""Probe figures against the loopback test name server (tests/dnsserver.py): prints medians of several runs.

    python benchmarks/probes_bench.py [runs]

- `probe partner.example` (MX, SPF flattening, DMARC, PTR and DNS lists of 2 MX hosts) live;
- the same replayed from a probe cache (no network);
- SPF check_host for 100 IPs (one resolver, answers memoised as in one explain run);
- the time a silent server costs with --probe-budget 1.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from dnsserver import DnsServer  # noqa: E402

from diagnose import api  # noqa: E402
from diagnose.probes import spf  # noqa: E402
from diagnose.probes.resolver import Resolver  # noqa: E402


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def write_log(path: Path, connections: int) -> int:
    """Refused connections from documentation-range IPs; one from the sender's SPF include network."""
    lines = []
    for i in range(connections):
        ip = "198.51.100.7" if i == connections // 2 else f"203.0.113.{128 + i % 100}"
        sec = f"{(i // 60) % 60:02d}:{i % 60:02d}"
        lines += [f"Mon Oct  7 13:{sec} 2024 Info: New SMTP ICID {i + 1} interface Data 1 (10.0.0.1) address {ip} "
                  f"reverse dns host unknown verified no",
                  f"Mon Oct  7 13:{sec} 2024 Info: ICID {i + 1} REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5",
                  f"Mon Oct  7 13:{sec} 2024 Info: ICID {i + 1} close"]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with DnsServer() as server, tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "cache.json")
        t, rep = timed(lambda: api.probe("partner.example", nameserver=server.address), runs)
        print(f"probe partner.example live:      median {t * 1000:7.1f} ms, {rep.queries} queries")
        api.probe("partner.example", nameserver=server.address, probe_cache=cache)
        t, rep = timed(lambda: api.probe("partner.example", offline=True, probe_cache=cache), runs)
        print(f"probe partner.example replayed:  median {t * 1000:7.1f} ms, {rep.queries} queries, "
              f"{rep.replayed} answers from the cache")
        ips = [f"198.51.100.{i}" for i in range(1, 101)]

        def checks() -> int:
            r = Resolver(server.address)
            return sum(spf.check_host(ip, "partner.example", r).result == "pass" for ip in ips)

        t, passed = timed(checks, runs)
        print(f"SPF check_host x100 (memoised):  median {t * 1000:7.1f} ms ({passed} pass)")
        with tempfile.TemporaryDirectory() as tmp2:
            log = Path(tmp2) / "mail_logs"
            n = write_log(log, 30_000)
            t, ans = timed(lambda: api.explain([str(log)], sender="alice@partner.example",
                                               since="2024-10-07 00:00", until="2024-10-08 00:00",
                                               nameserver=server.address), 3)
            likely = sum(f.confidence == "likely" for f in ans.findings)
            print(f"explain --sender, {n} lines, SPF/MX network search: median {t:6.2f} s "
                  f"({likely} likely finding(s))")
    with DnsServer(drop_all=True) as silent:
        t, rep = timed(lambda: api.probe("partner.example", nameserver=silent.address, budget=1.0, timeout=0.5), 3)
        print(f"probe against a silent server:   median {t * 1000:7.1f} ms with a 1 s budget "
              f"({len(rep.failures)} probes reported failed)")


if __name__ == "__main__":
    main()
