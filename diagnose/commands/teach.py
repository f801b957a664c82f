"""`esa-diagnose teach --output DIR`: the teaching site (pipeline, stages, rules, scenarios, quiz, glossary)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "teach",
        help="write the teaching site: how an ESA decides, from the rules and knowledge the engine uses",
        description="Write a static site (no JavaScript, works offline) explaining the ESA pipeline stage by "
                    "stage, with the diagnosis rules in plain English, worked scenarios, a quiz and a glossary.",
    )
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="folder to write (created if absent)")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated worked scenarios (default 1)")
    p.add_argument("--rules", metavar="DIR", help="rules folder (default: the packaged rules/)")
    p.add_argument("--knowledge", metavar="DIR", help="knowledge folder (default: the packaged knowledge/)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from diagnose import api

    res = api.teach(args.output, rules_dir=args.rules, knowledge_dir=args.knowledge, seed=args.seed)
    print(f"wrote {len(res.pages)} pages to {res.output} in {res.seconds:.1f} s: open {res.output / 'index.html'}")
    print(f"  {res.rules} rules on their stage pages, {res.scenarios} worked scenarios, {res.quiz} quiz questions")
    for p in res.problems:
        print(f"  note: {p}")
    return 0
