"""Configuration figures: load a large XML export, evaluate the HAT/RAT per case, refuse an XML bomb.

Run: python benchmarks/bench_config.py [--members 20000] [--runs 5]
Prints medians of several runs (no timing assertions anywhere in the tests).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnose.collectors.configeval import config_facts_for_case  # noqa: E402
from diagnose.collectors.esaconfig import load_config, parse_config_bytes  # noqa: E402
from diagnose.model import InputError  # noqa: E402


def big_config(members: int) -> bytes:
    rnd = random.Random(7)
    hosts = []
    for i in range(members):
        a, b, c = rnd.randrange(1, 223), rnd.randrange(256), rnd.randrange(256)
        hosts.append(f"{a}.{b}.{c}.0/24\n    BIGBLOCK" if i % 2 else f"{a}.{b}.{c}.{rnd.randrange(1, 255)}\n    BIGBLOCK")
    hat = "\n".join([
        "$BLOCKED\n    REJECT {}", "$TRUSTED\n    ACCEPT {\n        spam_check = \"off\"\n        virus_check = \"on\"\n    }",
        "$ACCEPTED\n    ACCEPT {}", "WHITELIST:\n    $TRUSTED (trusted)", "BIGBLOCK:\n    $BLOCKED (imported feed)",
        "BLACKLIST:\n    $BLOCKED (Spammers are rejected)", "UNKNOWNLIST:\n    $ACCEPTED (undecided)",
        *hosts, "sbrs[-10.0:-3.0]\n    BLACKLIST", "sbrs[-3.0:10.0]\n    UNKNOWNLIST", "ALL\n    $ACCEPTED"])
    rat = "".join(f"<rat_entry><rat_address>d{i}.example</rat_address><access>ACCEPT</access></rat_entry>"
                  for i in range(members // 10))
    return (f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE config SYSTEM "config.dtd">\n<config>'
            f"<listeners><listener><listener_name>IncomingMail</listener_name><type>public</type><hat>{hat}</hat>"
            f"<rat>{rat}<rat_entry><rat_address>ALL</rat_address><access>REJECT</access></rat_entry></rat>"
            "</listener></listeners></config>").encode("latin-1")


BOMB = b'<?xml version="1.0"?><!DOCTYPE config [<!ENTITY a "' + b"x" * 1000 + b'">' + b"".join(
    f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10 if i else "&a;" * 10}">'.encode() for i in range(12)
) + b"]><config><hostname>&a11;</hostname></config>"


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cases", type=int, default=2000)
    args = ap.parse_args()
    data = big_config(args.members)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.xml"
        path.write_bytes(data)
        t_load = median_time(lambda: load_config([path]), args.runs)
        config = load_config([path])
    rnd = random.Random(3)
    ips = [f"{rnd.randrange(1, 223)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
           for _ in range(args.cases)]

    def cases() -> None:
        for ip in ips:
            config_facts_for_case(config, ip=ip, rdns="", sbrs=rnd.uniform(-10, 10), recipient="x@d5.example")

    t_cases = median_time(cases, args.runs)

    def bomb() -> None:
        try:
            parse_config_bytes(BOMB, "bomb.xml")
        except InputError:
            return
        raise SystemExit("XML bomb was not refused")

    t_bomb = median_time(bomb, args.runs)
    print(f"config XML: {len(data) / 1e6:.1f} MB, {args.members} HAT members, {args.members // 10} RAT entries")
    print(f"load_config: median {t_load * 1000:.0f} ms over {args.runs} runs")
    print(f"config facts per case (HAT walk + RAT): median {t_cases / args.cases * 1e6:.0f} µs "
          f"({args.cases / t_cases:.0f} cases/s)")
    print(f"billion-laughs XML refused in median {t_bomb * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
