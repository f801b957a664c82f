"""Agreement of our `reason` with Sisimai's expected reason on its public corpus (629 real bounces).

Reads ../shared/corpus/external/sisimai-set-of-emails (BSD-2-Clause; files are not copied here).
The test prints the agreement and the largest groups of disagreements and fails below 90%.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from diagnose.classify import classify_bounce
from diagnose.collectors.bounces import read_bounces

THRESHOLD = 0.90
ALTERNATES = Path(__file__).parent / "data" / "bounces" / "sisimai-version-alternates.tsv"


def _alternates() -> dict[tuple[str, int], str]:
    """The other Sisimai version's reading of the version-dependent files (corpus README)."""
    lines = [x for x in ALTERNATES.read_text().splitlines() if x and not x.startswith("#")]
    rows = csv.DictReader(lines, delimiter="\t")
    return {(r["file"], int(r["recipient_index"])): r["reason"] for r in rows}


def agreement(base):
    expected = defaultdict(list)
    with (base / "expected.tsv").open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            expected[row["file"]].append(row)
    alternates = _alternates()
    ok = total = 0
    misses: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, rows in sorted(expected.items()):
        got = [classify_bounce(b).reason for b in read_bounces(base / "maildir-bsd" / name) if not b.error]
        for i, row in enumerate(rows):
            total += 1
            ours = got[i] if i < len(got) else (got[-1] if got else "none")
            if ours == row["reason"] or ours == alternates.get((name, i + 1)):
                ok += 1
            else:
                misses[(row["reason"], ours)] += 1
                examples[(row["reason"], ours)].append(name)
    return ok, total, misses, examples


@pytest.mark.slow
def test_sisimai_corpus_agreement(shared_dir, capsys):
    base = shared_dir / "corpus" / "external" / "sisimai-set-of-emails"
    if not (base / "expected.tsv").is_file():
        pytest.skip("Sisimai corpus absent")
    ok, total, misses, examples = agreement(base)
    rate = ok / total
    with capsys.disabled():
        print(f"\nSisimai corpus: {ok}/{total} records agree ({rate:.1%}); largest disagreements "
              "(expected -> ours):")
        for (exp, ours), n in misses.most_common(15):
            print(f"  {n:3d}  {exp} -> {ours}   e.g. {', '.join(examples[(exp, ours)][:3])}")
    assert rate >= THRESHOLD, f"agreement {rate:.1%} below {THRESHOLD:.0%}"


def test_every_corpus_message_reads_without_error(shared_dir):
    base = shared_dir / "corpus" / "external" / "sisimai-set-of-emails" / "maildir-bsd"
    if not base.is_dir():
        pytest.skip("Sisimai corpus absent")
    records = errors = 0
    for f in sorted(base.glob("*.eml")):
        for b in read_bounces(f):
            records += 1
            errors += bool(b.error)
    assert records >= 629 and errors <= 10
