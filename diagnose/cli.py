"""Command-line front end: `esa-diagnose SUBCOMMAND ...`.

Each sub-command lives in diagnose/commands/NAME.py with add_parser(subparsers) and run(args).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from diagnose import __version__
from diagnose.model import InputError

COMMANDS = ("explain", "batch", "probe", "logs", "teach", "demo")

EPILOG = """examples:
  esa-diagnose demo                                   explain the built-in sample end to end
  esa-diagnose explain --logs mail_logs --sender partner@example.com --since "2024-10-07 13:00"
  esa-diagnose explain --logs /var/log/esa --ip 176.227.203.114 --format html --output ticket.html
  esa-diagnose logs stats mail_logs.current
  esa-diagnose probe partner.example
  esa-diagnose batch bounces.csv --logs mail_logs --format html --output report.html
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esa-diagnose",
        description="Explain why mail did not arrive through a Cisco Email Security Appliance.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"esa-diagnose {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"diagnose.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"diagnose.commands.{name}":
                raise
            continue  # sub-command not built yet
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return int(exc.code or 0) and 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"esa-diagnose: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("esa-diagnose: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
