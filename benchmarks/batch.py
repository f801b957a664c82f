"""Bounce classification throughput: generated bounces and Sisimai's 629 real messages.

    python benchmarks/batch.py [--n 100000] [--runs 3]

Prints the median bounces per second (several runs) for:
  1. N generated bounces in a CSV, read and classified (one reader: CSV rows stay in process);
  2. the same texts classified directly (classify_text only, no reading);
  3. the 629 real DSN messages of ../shared/corpus/external/sisimai-set-of-emails (parse + classify),
     alone and as batch rows on 1 process and on every core (DSN files are what the pool spreads).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnose.batchjob import classify_input  # noqa: E402
from diagnose.classify import classify_bounce, classify_text  # noqa: E402
from diagnose.collectors.bounces import read_bounces  # noqa: E402

TEXTS = [
    ("5.1.1", "550 5.1.1 <{r}>: Recipient address rejected: User unknown in local recipient table"),
    ("5.7.1", "554 Your access to this mail system has been rejected due to the sending MTA's poor reputation. "
              "If you believe that this failure is in error, please contact the intended recipient via alternate means."),
    ("4.2.2", "452 4.2.2 <{r}>: Mailbox full"),
    ("5.7.1", "550 #5.7.1 SPF unauthorized mail is prohibited."),
    ("5.7.1", "550 #5.7.1 DMARC unauthenticated mail is prohibited"),
    ("", "5.1.0 - Unknown address error ('550', ['5.7.1 Message rejected as spam by Content Filtering.'])"),
    ("5.1.2", "5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up {d} (MX): NXDomain'])"),
    ("", "5.4.7 - Delivery expired (message too old) ('000', ['timeout'])"),
    ("5.7.1", "550 5.7.1 Service unavailable; Client host [192.0.2.{n}] blocked using zen.spamhaus.org"),
    ("4.7.0", "421 4.7.0 [TSS04] Messages from 192.0.2.{n} temporarily deferred due to unexpected volume"),
    ("", "452 Too many recipients received this hour"),
    ("5.0.0", "554 5.7.1 <{r}>: Relay access denied"),
    ("", "553 #5.1.8 Domain of sender address <news@{d}> does not exist"),
    ("4.4.1", "connect to mx.{d}[192.0.2.{n}]:25: Connection timed out"),
    ("5.3.4", "552 5.3.4 Message size exceeds fixed maximum message size"),
    ("", "550 5.7.26 This message does not pass authentication checks (SPF and DKIM both do not pass)."),
    ("", "something the remote server said that matches nothing at all {n}"),
]


def generate(path: Path, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["recipient", "sender", "date", "status", "diagnostic"])
        for i in range(n):
            status, text = TEXTS[rnd.randrange(len(TEXTS))]
            d = f"d{rnd.randrange(500)}.example"
            r = f"user{i}@{d}"
            w.writerow([r, "news@example.com", f"2024-10-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00", status,
                        text.format(r=r, d=d, n=rnd.randrange(1, 254))])


def timed(fn) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = fn()
    return time.perf_counter() - t0, n


def median_rate(fn, runs: int) -> tuple[float, int]:
    rates, count = [], 0
    for _ in range(runs):
        secs, count = timed(fn)
        rates.append(count / secs)
    return statistics.median(rates), count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}  runs per figure: {args.runs} (median)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bounces.csv"
        generate(path, args.n)

        def run(workers: int) -> int:
            return sum(1 for kind, _ in classify_input(path, workers=workers) if kind == "row")

        rate, count = median_rate(lambda: run(1), args.runs)
        print(f"generated CSV, read + classify (one reader, in process): {count} bounces, {rate:,.0f} bounces/s")
        texts = [(s or None, t.format(r="a@b.example", d="b.example", n=7)) for s, t in TEXTS] * (args.n // len(TEXTS))

        def direct() -> int:
            for s, t in texts:
                classify_text(t, status=s)
            return len(texts)

        rate, count = median_rate(direct, args.runs)
        print(f"classify_text only (no reading): {count} texts, {rate:,.0f} texts/s")
        # every text distinct even after masking addresses / IPs / long numbers: the decision cache never hits
        distinct = [(s, f"{t} ref{i}q") for i, (s, t) in enumerate(texts[:20000])]

        def direct_distinct() -> int:
            for s, t in distinct:
                classify_text(t, status=s)
            return len(distinct)

        rate, count = median_rate(direct_distinct, args.runs)
        print(f"classify_text, every text distinct (no cache hit): {count} texts, {rate:,.0f} texts/s")

    corpus = ROOT.parent / "shared" / "corpus" / "external" / "sisimai-set-of-emails" / "maildir-bsd"
    if corpus.is_dir():
        files = sorted(corpus.glob("*.eml"))

        def real() -> int:
            n = 0
            for f in files:
                for b in read_bounces(f):
                    if not b.error:
                        classify_bounce(b)
                n += 1
            return n

        rate, count = median_rate(real, max(args.runs, 5))
        print(f"Sisimai corpus, parse + classify, 1 process: {count} messages, {rate:,.0f} messages/s")

        for workers in (1, os.cpu_count() or 1):
            def real_batch(w: int = workers) -> int:
                return sum(1 for kind, _ in classify_input(corpus, workers=w) if kind == "row")

            rate, count = median_rate(real_batch, max(args.runs, 5))
            print(f"Sisimai corpus via batch rows, {workers} process(es): {count} records, {rate:,.0f} records/s")
    else:
        print("Sisimai corpus absent: skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
