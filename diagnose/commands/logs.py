"""`esa-diagnose logs stats PATH... [--format text|json]` and `logs find PATH... --sender ...`.

stats: line coverage of mail_logs (recognised / unknown shapes) and the size of the story graph.
find:  the stories (connections, messages) that match a query, with their log lines.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from diagnose.model import InputError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("logs", help="mail_logs tools: coverage statistics, story search",
                       description="Read mail_logs (files, folders, .gz, rotated sets).")
    lsub = p.add_subparsers(dest="logs_command", metavar="ACTION")

    st = lsub.add_parser("stats", help="lines read, recognised, unknown shapes, connections, messages",
                         description="Line coverage of mail_logs: how many lines the catalogue recognises, the "
                                     "unknown ones grouped by shape, connections, messages, appliances, time span.")
    st.add_argument("paths", nargs="+", metavar="PATH", help="mail_logs files or folders (.gz allowed)")
    st.add_argument("--format", choices=("text", "json"), default="text")
    st.add_argument("--year", type=int, help="year of syslog-pushed lines (default: from the file time)")
    st.add_argument("--top", type=int, default=15, help="unknown shapes shown in text output (default 15)")
    st.set_defaults(run=run_stats)

    fd = lsub.add_parser("find", help="stories matching a sender, recipient, IP, MID, Message-ID, subject, window",
                         description="Find connections and messages like Message Tracking does, including "
                                     "rejected connections. All criteria must hold.")
    fd.add_argument("paths", nargs="+", metavar="PATH")
    for opt in ("--sender", "--recipient", "--ip", "--mid", "--message-id", "--subject", "--since", "--until"):
        fd.add_argument(opt)
    fd.add_argument("--year", type=int)
    fd.add_argument("--format", choices=("text", "json"), default="text")
    fd.set_defaults(run=run_find)

    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_stats(args: argparse.Namespace) -> int:
    from diagnose import api

    st = api.log_stats(args.paths, year=args.year)
    if args.format == "json":
        print(json.dumps(st.to_json(), indent=2, ensure_ascii=False))
        return 0
    ratio = f"{100 * st.recognized / st.lines:.2f}%" if st.lines else "-"
    out = [
        f"files        {len(st.files)}",
        f"lines        {st.lines:,}",
        f"recognised   {st.recognized:,} ({ratio})",
        f"unknown      {st.unknown:,} in {len(st.unknown_shapes)} shapes",
        f"connections  {st.connections:,} ({st.rejected_connections:,} rejected, {st.partial_connections:,} partial)",
        f"messages     {st.messages:,} ({st.partial_messages:,} partial: start or end outside the logs)",
        f"appliances   {', '.join(st.appliances) or '(none named: no Version header, no syslog host)'}",
        f"time span    {st.first or '-'} .. {st.last or '-'} (appliance-local)",
    ]
    if st.kinds:
        top = sorted(st.kinds.items(), key=lambda kv: -kv[1])[:8]
        out.append("top kinds    " + ", ".join(f"{k} {v:,}" for k, v in top))
    if st.unknown_shapes:
        out.append("unknown shapes (count, shape, example):")
        for u in st.unknown_shapes[: args.top]:
            out.append(f"  {u['count']:>8,}  {_safe(u['shape'])[:90]}")
            out.append(f"            e.g. {_safe(u['source'])}: {_safe(u['example'])[:100]}")
        if len(st.unknown_shapes) > args.top:
            out.append(f"  ... {len(st.unknown_shapes) - args.top} more (--format json lists all)")
    for e in st.errors:
        out.append(f"warning: {_safe(e)}")
    print("\n".join(out))
    return 0


def run_find(args: argparse.Namespace) -> int:
    from diagnose import api

    if not any(getattr(args, k) for k in ("sender", "recipient", "ip", "mid", "message_id", "subject", "since", "until")):
        raise InputError("logs find needs at least one of --sender --recipient --ip --mid --message-id --subject "
                         "--since --until")
    r = api.find_stories(args.paths, sender=args.sender, recipient=args.recipient, ip=args.ip, mid=args.mid,
                         message_id=args.message_id, subject=args.subject, since=args.since, until=args.until,
                         year=args.year)
    if args.format == "json":
        print(json.dumps(r.to_json(), indent=2, ensure_ascii=False, default=str))
        return 0
    out = [f"searched {r.query.describe()} in {len(r.files)} file(s): {r.bytes_read:,} bytes, "
           f"{r.lines_parsed:,} lines parsed, {r.passes} pass(es)"]
    if not r.messages and not r.connections:
        out.append("nothing found")
    for c in r.connections:
        if c.mids and not any(m.icid == c.icid and m.appliance == c.appliance for m in r.messages):
            continue
        out.append(f"\nICID {c.icid} from {c.ip or '?'}{_partial(c)}")
        out += [f"  {_safe(e.source)}  {_safe(e.text)}" for e in c.events]
    for m in r.messages + r.related:
        tag = "" if (m.appliance, m.mid) in r.matched else " (related)"
        out.append(f"\nMID {m.mid} ICID {m.icid} from {_safe(m.sender or '?')}{tag}{_partial(m)}")
        out += [f"  {_safe(e.source)}  {_safe(e.text)}" for e in m.events]
    for e in r.context:
        out.append(f"context: {_safe(e.source)}  {_safe(e.text)}")
    for e in r.errors:
        out.append(f"warning: {_safe(e)}")
    print("\n".join(out))
    return 0


def _partial(s: Any) -> str:
    parts = [w for w, flag in (("start", s.partial_start), ("end", s.partial_end)) if flag]
    return f"  [partial: {' and '.join(parts)} outside the logs]" if parts else ""


def _safe(s: str) -> str:
    """Log text is untrusted: no terminal control characters reach the screen."""
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" if ord(ch) < 256 else "?"
                   for ch in str(s)) if not str(s).isprintable() else str(s)

