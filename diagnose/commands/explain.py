"""`esa-diagnose explain`: why did this mail not arrive? (CLI glue; the work is in diagnose.api.explain)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from diagnose.model import InputError

_MAX_NDR_FILE = 1_000_000


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "explain", help="explain why a message did not arrive (from mail_logs)",
        description="Explain why mail did not arrive: outcome, pipeline stage, evidence lines and the "
                    "least risky fix. Times are appliance-local, as logged.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  esa-diagnose explain --logs mail_logs --mid 24611411\n"
               "  esa-diagnose explain --logs /var/log/esa --ip 176.227.203.114 --format json\n"
               "  esa-diagnose explain --ndr @bounce.txt\n",
    )
    p.add_argument("--logs", nargs="+", metavar="PATH", default=[], help="mail_logs files, folders, .gz")
    p.add_argument("--sender", metavar="ADDR", help="envelope sender (MAIL FROM)")
    p.add_argument("--recipient", metavar="ADDR", help="envelope recipient (RCPT TO)")
    p.add_argument("--ip", metavar="IP", help="sending server's IP address")
    p.add_argument("--mid", metavar="N", help="ESA message id (MID)")
    p.add_argument("--message-id", metavar="ID", help="Message-ID header")
    p.add_argument("--subject", metavar="TEXT", help="Subject header (substring)")
    p.add_argument("--since", metavar="'YYYY-MM-DD HH:MM'", help="window start, appliance-local time")
    p.add_argument("--until", metavar="'YYYY-MM-DD HH:MM'", help="window end, appliance-local time")
    p.add_argument("--year", type=int, metavar="YYYY", help="year for syslog-pushed lines, which carry none")
    p.add_argument("--tracking", metavar="FILE", help="Message Tracking export (JSON/CSV)")
    p.add_argument("--config", metavar="FILE", action="append",
                   help="appliance configuration: XML export, HAT export or RAT export (repeat for several)")
    p.add_argument("--ndr", metavar="TEXT|@FILE", help="the bounce text the sender received")
    from diagnose.commands.probe import add_probe_options

    add_probe_options(p)  # --nameserver --offline --probe-cache --probe-timeout --probe-budget
    p.add_argument("--format", choices=("text", "json", "html"), default="text")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(run=run)


def _read_ndr(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_NDR_FILE)
    except OSError as exc:
        raise InputError(f"--ndr: cannot read {path}: {exc.strerror or exc}") from None
    return data.decode("utf-8", "replace")


def run(args: argparse.Namespace) -> int:
    from diagnose import api

    answer = api.explain(
        args.logs, sender=args.sender, recipient=args.recipient, ip=args.ip, mid=args.mid,
        message_id=args.message_id, subject=args.subject, since=args.since, until=args.until, year=args.year,
        tracking=args.tracking, config=args.config, ndr=_read_ndr(args.ndr), nameserver=args.nameserver,
        offline=args.offline, probe_cache=args.probe_cache, probe_budget=args.probe_budget,
        probe_timeout=args.probe_timeout,
    )
    if args.format == "json":
        out = json.dumps(answer.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
    elif args.format == "html":
        out = _html(answer)
    else:
        out = render_text(answer)
    out = out.encode("utf-8", "replace").decode("utf-8")  # never fail on a stray surrogate
    if args.output:
        try:
            Path(args.output).write_text(out, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--output: cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(out)
    return 0


def _html(answer: Any) -> str:
    """The ticket page (rendered by the reports engineer's module once it exists)."""
    try:
        from diagnose.reports import ticket_html
    except ImportError:
        raise InputError("--format html is not available in this build yet; use text or json") from None
    return ticket_html(answer)


# ---------------------------------------------------------------- terminal view

_MARK = {"passed": "ok", "stopped": "STOP", "not_reached": "-", "unknown": "?"}


def _clean(s: Any) -> str:
    """Log text is untrusted: no terminal escapes, one line."""
    text = "" if s is None else str(s)
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text.replace("\n", " "))


def render_text(answer: Any) -> str:
    lines: list[str] = []
    q = answer.query.describe()
    if answer.query.is_empty() and getattr(answer, "searched", None):
        q = answer.searched[0]
    lines.append(f"Question: {_clean(q)}")
    for n, f in enumerate(answer.findings, 1):
        lines.append("")
        head = f"[{n}/{len(answer.findings)}] " if len(answer.findings) > 1 else ""
        lines.append(f"{head}{f.outcome.upper()} at {f.stage} ({f.confidence}): {_clean(f.summary)}")
        ids = [("MID", f.mid), ("ICID", f.icid), ("from", f.sender), ("to", f.recipient), ("IP", f.sender_ip),
               ("time", f.time), ("appliance", f.appliance), ("cause", f.cause), ("reason", f.reason)]
        chain = f.extra.get("chain") if isinstance(getattr(f, "extra", None), dict) else None
        if isinstance(chain, list) and len(chain) > 1:  # the message went on under other MIDs
            ids.insert(1, ("chain", " -> ".join(str(m) for m in chain)))
        lines.append("  " + "  ".join(f"{k} {_clean(v)}" for k, v in ids if v not in (None, "")))
        if f.path and any(p["status"] != "unknown" for p in f.path):
            steps = [f"{p['stage']}[{_MARK.get(p['status'], '?')}]" for p in f.path]
            lines.append("  Path: " + " > ".join(steps))
        if f.evidence:
            lines.append("  Evidence:")
            for e in f.evidence:
                lines.append(f"    {_clean(e.source)}  {_clean(e.text)}")
        if f.why:
            lines.append("  Why:")
            for w in f.why:
                lines.append(f"    - {_clean(w)}")
        if f.recommendations:
            lines.append("  Recommendations (least risky first):")
            for i, r in enumerate(f.recommendations, 1):
                lines.append(f"    {i}. {_clean(r.title)} [{r.kind}, risk {r.risk}]")
                if r.gui_path:
                    lines.append(f"       GUI: {_clean(r.gui_path)}")
                if r.cli:
                    lines.append(f"       CLI: {_clean(r.cli)}")
                if r.removes:
                    lines.append(f"       Removes: {_clean(r.removes)}")
                if r.when_not:
                    lines.append(f"       Not when: {_clean(r.when_not)}")
                if r.sender_text:
                    lines.append(f"       Tell the sender: {_clean(r.sender_text)}")
        if f.what_if and f.what_if.get("applicable"):  # the configuration what-if (--config)
            lines.append(f"  What if: {_clean(f.what_if.get('summary'))}")
        if f.gaps:
            lines.append("  Not visible / next checks:")
            for g in f.gaps:
                lines.append(f"    - {_clean(g)}")
    for w in getattr(answer, "warnings", []) or []:
        lines.append(f"note: {_clean(w)}")
    return "\n".join(lines) + "\n"
