"""`esa-diagnose probe DOMAIN|IP`: MX, SPF, DMARC, PTR/FCrDNS, DNS lists and the Talos link."""

from __future__ import annotations

import argparse
import json

from diagnose.probes.dnsbl import DEFAULT_LISTS
from diagnose.probes.resolver import DEFAULT_QUERY_TIMEOUT, DEFAULT_RUN_BUDGET


def add_probe_options(p: argparse.ArgumentParser) -> None:
    """The DNS options `probe` and `explain` share."""
    g = p.add_argument_group("DNS probes")
    g.add_argument("--nameserver", metavar="HOST[:PORT]", help="send every DNS query to this server")
    g.add_argument("--offline", action="store_true", help="send no DNS query (only a --probe-cache replays answers)")
    g.add_argument("--probe-cache", metavar="FILE",
                   help="save probe answers to FILE and replay the ones it holds (reproducible later)")
    g.add_argument("--probe-timeout", type=float, default=DEFAULT_QUERY_TIMEOUT, metavar="SECONDS",
                   help=f"timeout of one DNS query (default {DEFAULT_QUERY_TIMEOUT:g})")
    g.add_argument("--probe-budget", type=float, default=DEFAULT_RUN_BUDGET, metavar="SECONDS",
                   help=f"time budget of all probes of the command (default {DEFAULT_RUN_BUDGET:g})")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="DNS and reputation report for a domain or an IP (MX, SPF, DMARC, PTR, DNS lists)",
                       description=__doc__)
    p.add_argument("target", metavar="DOMAIN|IP")
    add_probe_options(p)
    p.add_argument("--dnsbl", action="append", metavar="ZONE",
                   help=f"DNS list to query (repeatable; default {', '.join(DEFAULT_LISTS)})")
    p.add_argument("--spf-domain", metavar="DOMAIN", help="for an IP target: evaluate DOMAIN's SPF for that IP")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from diagnose.api import probe
    from diagnose.model import InputError
    from diagnose.probes.report import render_text

    if args.probe_timeout <= 0 or args.probe_budget <= 0:
        raise InputError("--probe-timeout and --probe-budget must be positive")
    rep = probe(args.target, nameserver=args.nameserver, offline=args.offline, probe_cache=args.probe_cache,
                lists=args.dnsbl, spf_domain=args.spf_domain, budget=args.probe_budget, timeout=args.probe_timeout)
    if args.format == "json":
        print(json.dumps(rep.to_json(), indent=2, default=str))
    else:
        print(render_text(rep), end="")
    return 0
