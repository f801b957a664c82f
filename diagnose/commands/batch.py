"""`esa-diagnose batch`: classify / diagnose many bounces (CLI glue; the work is in diagnose.batchjob)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from diagnose.model import InputError

_SHOW_ERRORS = 5


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "batch", help="classify a list of bounces (CSV, DSN .eml/maildir/mbox, ESA bounce log) or a period of logs",
        description="Classify every bounce of INPUT (detected: CSV with a header, DSN .eml files or a folder of "
                    "them, maildir, mbox, ESA bounce logs) with the ESA-aware reading: Sisimai reason, hard/soft, "
                    "the ESA stage. With --logs each bounce is joined to its story in mail_logs and fully "
                    "diagnosed; with --logs and no INPUT, every message or connection of the period that was "
                    "not delivered is diagnosed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  esa-diagnose batch bounces.csv --format html --output report.html\n"
               "  esa-diagnose batch ~/Maildir/.Bounces --format jsonl\n"
               "  esa-diagnose batch bounces.csv --logs /var/log/esa --format csv --output diagnosed.csv\n"
               "  esa-diagnose batch --logs mail_logs --since '2024-10-07 00:00' --until '2024-10-08 00:00' "
               "--format html --output overview.html\n",
    )
    p.add_argument("input", nargs="?", metavar="INPUT", help="bounce CSV, .eml file or folder, maildir, mbox, ESA bounce log")
    p.add_argument("--logs", nargs="+", metavar="PATH", default=[], help="mail_logs files, folders, .gz")
    p.add_argument("--since", metavar="'YYYY-MM-DD HH:MM'", help="overview window start (appliance-local time)")
    p.add_argument("--until", metavar="'YYYY-MM-DD HH:MM'", help="overview window end (appliance-local time)")
    p.add_argument("--year", type=int, metavar="YYYY", help="year for syslog-pushed lines, which carry none")
    p.add_argument("--tracking", metavar="FILE",
                   help="Message Tracking export (REST API JSON or CSV), joined like --logs (the logs win)")
    p.add_argument("--config", metavar="FILE", action="append",
                   help="appliance configuration (XML export, HAT or RAT export; repeat for several): with --logs, "
                        "findings name the sender group / policy / RAT entry and carry the configuration what-if")
    p.add_argument("--format", choices=("csv", "jsonl", "html"), default="csv")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--workers", type=int, metavar="N", help="processes to classify with (default: the cores free now)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from diagnose import batchjob

    if args.input is None and not args.logs and not args.tracking:
        raise InputError("batch: give an INPUT of bounces, or --logs (with --since/--until) for the overview")
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers: give a number of processes, 1 or more")
    stream = batchjob.run(args.input, logs=args.logs, since=args.since, until=args.until, year=args.year,
                          workers=args.workers, tracking=args.tracking, config=args.config)
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    out_path = Path(args.output) if args.output else None
    with _open_out(out_path, args.format) as fh:
        if args.format == "jsonl":
            def tee() -> Any:
                for kind, item in stream:
                    (rows if kind == "row" else errors).append({"source": item["source"]} if kind == "row" else item)
                    yield kind, item
            batchjob.write_jsonl(tee(), fh)
        elif args.format == "csv":
            n = batchjob.write_csv_stream(stream, fh, joined=bool(args.logs or args.tracking), errors=errors)
            rows = [{}] * n  # only the count is reported
        else:
            for kind, item in stream:
                (rows if kind == "row" else errors).append(item)
            form = None
            if args.input:
                with contextlib.suppress(InputError, OSError):
                    form = batchjob.detect(args.input)
            result = batchjob.BatchResult(rows=rows, errors=errors, input=args.input or ", ".join(args.logs or [args.tracking]),
                                          form=form or ("mail_logs overview" if not args.input else None))
            batchjob.write_html(result, fh)
    _report_errors(errors, len(rows))
    return 0


@contextlib.contextmanager
def _open_out(path: Path | None, fmt: str) -> Any:
    if path is None:
        yield sys.stdout
        return
    try:
        fh = path.open("w", encoding="utf-8", newline="" if fmt == "csv" else None)
    except OSError as exc:
        raise InputError(f"--output: cannot write {path}: {exc.strerror or exc}") from None
    with fh:
        yield fh


def _report_errors(errors: list[dict[str, str]], n_rows: int) -> None:
    if not errors:
        return
    print(f"esa-diagnose: {n_rows} bounces classified; {len(errors)} inputs skipped:", file=sys.stderr)
    for e in errors[:_SHOW_ERRORS]:
        print(f"  {e['source']}: {e['error']}", file=sys.stderr)
    if len(errors) > _SHOW_ERRORS:
        print(f"  ... and {len(errors) - _SHOW_ERRORS} more (listed in the HTML report)", file=sys.stderr)
