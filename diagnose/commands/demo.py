"""`esa-diagnose demo`: the built-in sample explained end to end (no arguments needed)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="explain the built-in sample end to end",
        description="Explain the built-in sample mail_logs question by question, offline, and write a ticket "
                    "(HTML, JSON, text) per question, the overview of undelivered mail and an index.",
        epilog="examples:\n  esa-diagnose demo\n  esa-diagnose demo --output /tmp/demo && xdg-open /tmp/demo/index.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--output", metavar="DIR", help="folder to write into (default: a new folder here)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from diagnose.demo import run_demo

    def show(e: Any) -> None:
        print(f"{e.id:>3}  {e.outcome:<11} {e.stage:<19} {e.summary}")

    print("esa-diagnose demo: the built-in sample, question by question\n")
    result = run_demo(args.output, on_answer=show)
    print(f"\nWrote {len(result.entries)} tickets, the overview and an index to {result.output}/")
    print(f"Open {result.output / 'index.html'} in a browser.", file=sys.stdout)
    return 0
