"""The ticket report: one self-contained HTML page per `explain` answer (issue 5).

`ticket_html(answer)` renders reports/ticket.html.j2 (jinja2, autoescape on) with the CSS from
reports/static/ticket.css inlined and the causal graph drawn as inline SVG (diagnose/svg.py). The
page carries a Content-Security-Policy that forbids scripts and every external load, so it is
readable offline, prints cleanly, and nothing in it can run even if escaping failed somewhere.

`what_if_for(finding)` re-runs a finding's path with its top recommendation applied: which stages
would then pass, which still stop, and which stay unknown because the message never reached them.
The explain JSON carries the same what-if (`ensure_what_if`).

Screenshot of the demo ticket (for reviewers):

    python -m diagnose.reports screenshot --output demo-ticket.png [--html demo-ticket.html]
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from diagnose import __version__
from diagnose.model import STAGES, InputError
from diagnose.resources import data_dir
from diagnose.svg import render_svg, to_digraph

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'; "
       "base-uri 'none'; form-action 'none'")

STAGE_TITLES: dict[str, str] = {
    "hat": "Host Access Table", "sender_verification": "Sender verification", "rat": "Recipient Access Table",
    "ldap_accept": "LDAP accept", "call_ahead": "SMTP call-ahead", "authentication": "SPF / DKIM / DMARC",
    "sdr": "Sender Domain Reputation", "message_filter": "Message filters", "safelist_blocklist": "Safelist / blocklist",
    "antispam": "Anti-spam", "graymail": "Graymail", "antivirus": "Anti-virus", "amp": "AMP (malware)",
    "content_filter": "Content filters", "outbreak_filter": "Outbreak filters", "dlp": "Data loss prevention",
    "delivery": "Delivery", "unknown": "Unknown stage",
}
STATUS_TITLES = {"passed": "passed", "stopped": "stopped here", "not_reached": "not reached", "unknown": "unknown",
                 "passes": "would pass", "stops": "would still stop", "skipped": "skipped by policy",
                 "runs": "would run (verdict unknown)"}
OUTCOME_WORDS = {"delivered": "delivered", "rejected": "rejected", "dropped": "dropped", "bounced": "bounced",
                 "quarantined": "quarantined", "deferred": "deferred (still retrying)", "unknown": "unknown"}

# Which stage a recommendation kind changes, for the derived what-if.
KIND_STAGES: dict[str, tuple[str, ...]] = {
    "hat_allowlist": ("hat",), "raise_limit": ("hat",), "exception_table": ("sender_verification",),
    "rat_accept": ("rat",), "ldap_fix": ("ldap_accept",), "sdr_exception": ("sdr",),
    "safelist": ("safelist_blocklist", "antispam", "graymail"),
    "mail_policy_bypass": ("antispam", "graymail", "outbreak_filter", "amp", "content_filter", "dlp"),
    "filter_exception": ("message_filter", "content_filter"),
    "release_quarantine": ("antispam", "graymail", "antivirus", "amp", "content_filter", "outbreak_filter",
                           "message_filter", "dlp"),
    "smtp_route": ("delivery",), "retry_delivery": ("delivery",), "fix_destination": ("delivery",),
    "sender_fix": ("hat", "sender_verification", "authentication", "sdr", "delivery"),
}


# ------------------------------------------------------------------------------------------- data


def _answer_json(answer: Any) -> dict[str, Any]:
    if isinstance(answer, dict):
        return answer
    if hasattr(answer, "to_json"):
        return answer.to_json()
    raise TypeError("ticket_html needs an explain answer (object with to_json() or its JSON dict)")


def _stage_titles() -> dict[str, str]:
    """Stage titles from knowledge/pipeline.yaml when RULES ship it, else the built-in names."""
    titles = dict(STAGE_TITLES)
    try:
        import yaml

        doc = yaml.safe_load((data_dir("knowledge") / "pipeline.yaml").read_text(encoding="utf-8"))
        for st in (doc or {}).get("stages", []) if isinstance(doc, dict) else []:
            if isinstance(st, dict) and st.get("name") in titles and isinstance(st.get("title"), str):
                titles[st["name"]] = st["title"]
    except Exception:  # absent or malformed knowledge: the built-in names are fine
        pass
    return titles


def what_if_for(finding: dict[str, Any]) -> dict[str, Any] | None:
    """Re-run the finding's logged path with its top recommendation applied.

    Stages the message passed still pass (as logged); the stage that stopped it passes only when
    the recommendation changes that stage; stages after it were never reached, so the logs cannot
    say whether they would pass: they stay unknown and the predicted outcome says so.
    """
    recs = [r for r in finding.get("recommendations") or [] if isinstance(r, dict) and r.get("kind") not in (None, "none")]
    path = [p for p in finding.get("path") or [] if isinstance(p, dict)]
    if not recs or not path:
        return None
    stop_stage = finding.get("stage")
    # the first change on the appliance that touches the stopping stage (a Talos dispute or the
    # sender's own fix changes nothing we can re-run); else simply the top-ranked one
    top = next((r for r in recs if stop_stage in KIND_STAGES.get(str(r.get("kind")), ())
                and r.get("kind") not in ("sender_fix", "submit_to_cisco")), None) \
        or next((r for r in recs if stop_stage in KIND_STAGES.get(str(r.get("kind")), ())), None) or recs[0]
    kind = str(top.get("kind"))
    changes = KIND_STAGES.get(kind, ())
    out_path: list[dict[str, str]] = []
    after_stop = False
    still_stopped = False
    never_reached: list[str] = []
    for p in path:
        stage, status = p.get("stage"), p.get("status")
        if after_stop:
            if status == "passed":  # logged passes after the stop (e.g. recipients split): keep them
                out_path.append({"stage": stage, "status": "passes", "detail": "as in the logs"})
            else:
                out_path.append({"stage": stage, "status": "unknown",
                                 "detail": "never reached: the logs cannot say whether it would pass"})
                never_reached.append(stage)
            continue
        if status == "stopped" or (stage == stop_stage and status != "passed"):
            after_stop = True
            if stage in changes:
                out_path.append({"stage": stage, "status": "passes",
                                 "detail": f"{top.get('title', kind)} removes the check that stopped it"})
            else:
                still_stopped = True
                out_path.append({"stage": stage, "status": "stops",
                                 "detail": f"{kind} does not change this stage"})
                after_stop = False  # nothing after it changes either
                for rest in path[len(out_path):]:
                    out_path.append({"stage": rest.get("stage"), "status": "not_reached", "detail": ""})
                break
            continue
        out_path.append({"stage": stage, "status": "passes" if status == "passed" else "unknown",
                         "detail": "as in the logs" if status == "passed" else "the logs do not show it"})
    if kind == "submit_to_cisco":
        summary = ("Reporting the verdict to Cisco changes nothing at once: Talos may re-score the sender later, "
                   "so a new attempt could pass; no stage can be predicted now.")
        outcome = "unknown"
    elif still_stopped:
        summary = (f"With \u201c{top.get('title', kind)}\u201d applied the message would still stop at "
                   f"{STAGE_TITLES.get(stop_stage, stop_stage)}: {kind} does not change that stage.")
        outcome = finding.get("outcome", "unknown")
    elif never_reached:
        names = ", ".join(STAGE_TITLES.get(s, s) for s in never_reached)
        summary = (f"With \u201c{top.get('title', kind)}\u201d applied the message would pass "
                   f"{STAGE_TITLES.get(stop_stage, stop_stage)}; {len(never_reached)} later stage(s) were never "
                   f"reached, so whether it is then delivered is unknown: {names}.")
        outcome = "unknown"
    else:
        summary = f"With \u201c{top.get('title', kind)}\u201d applied the message would pass every stage logged."
        outcome = "delivered" if stop_stage == "delivery" else "unknown"
    if top is not recs[0]:
        summary += (f" (The top-ranked recommendation, \u201c{recs[0].get('title')}\u201d, changes nothing on the "
                    "appliance that can be re-run; this what-if applies the first one that does.)")
    return {"recommendation": kind, "title": top.get("title"), "applicable": True, "path": out_path,
            "predicted_outcome": outcome, "never_reached": never_reached, "summary": summary,
            "method": "the logged path re-read with the recommendation applied (no configuration needed)"}


def ensure_what_if(answer_json: dict[str, Any]) -> dict[str, Any]:
    """Fill `what_if` for findings that have none (the JSON and the HTML carry the same one)."""
    findings = answer_json.get("findings")
    for f in findings if isinstance(findings, list) else []:
        if not isinstance(f, dict):
            continue
        old = f.get("what_if") if isinstance(f.get("what_if"), dict) else None
        if old and old.get("applicable") is not False:
            continue  # the configuration what-if (--config) answers better than the logged path
        wi = what_if_for(f)
        if wi is not None:
            if old and old.get("reason"):
                wi["config_note"] = f"The configuration what-if does not apply: {old['reason']}"
            f["what_if"] = wi
    return answer_json


_SENDER_TEXT = {
    "rejected": ("Your mail server{ip} was refused by our email gateway{when} before the message was accepted, "
                 "so it was not delivered{to}. Your server received an SMTP error at the time and may have sent "
                 "you a bounce. We are reviewing the block on our side; please do not resend until we confirm."),
    "dropped": ("Your message{to}{when} reached our email gateway but was stopped by our {stage} check and "
                "was not delivered. No bounce was sent. We are reviewing it; if it was legitimate, we will tell "
                "you when to send it again."),
    "bounced": ("Your message{to}{when} was returned by our email gateway with a delivery failure notice "
                "(bounce). Please check that notice for the reason; we are reviewing it on our side."),
    "quarantined": ("Your message{to}{when} is held for review by our email gateway ({stage}). It has not been "
                    "lost: it can still be released. We will release it if it is legitimate; no need to resend."),
    "deferred": ("Your message{to}{when} has not been delivered yet: our email gateway is still retrying. No action "
                 "is needed from you now; if delivery finally fails you will receive a bounce."),
    "delivered": ("Our email gateway delivered your message{to}{when} to the next mail server, which accepted it. "
                  "If it cannot be found, the cause lies after our gateway (mailbox rules or the junk folder)."),
    "unknown": ("We could not find your message{to} in our email gateway's records{when}. Please send us the exact "
                "time it was sent, your sending server's IP address, and the full bounce message if you got one."),
    "unknown_seen": ("Your message{to}{when} reached our email gateway, but our records do not show yet how it "
                     "ended. We are checking further; no need to resend for now."),
}


def sender_text(finding: dict[str, Any], stage_titles: dict[str, str] | None = None) -> str:
    """A draft the helpdesk can send to the sender: the sender_fix text when a rule gave one."""
    for r in finding.get("recommendations") or []:
        if isinstance(r, dict) and r.get("kind") == "sender_fix" and r.get("sender_text"):
            return str(r["sender_text"])
    titles = stage_titles or STAGE_TITLES
    outcome = finding.get("outcome") or "unknown"
    if outcome == "unknown" and (finding.get("mid") is not None or finding.get("evidence")):
        outcome = "unknown_seen"
    template = _SENDER_TEXT.get(outcome, _SENDER_TEXT["unknown"])
    ip = f" ({finding['sender_ip']})" if finding.get("sender_ip") else ""
    to = f" to {finding['recipient']}" if finding.get("recipient") else ""
    when = f" on {str(finding['time']).replace('T', ' ')}" if finding.get("time") else ""
    stage = titles.get(finding.get("stage") or "unknown", "security").lower()
    return template.format(ip=ip, to=to, when=when, stage=stage)


def _timeline(finding: dict[str, Any]) -> list[dict[str, Any]]:
    ev = [e for e in finding.get("evidence") or [] if isinstance(e, dict)]
    return sorted(ev, key=lambda e: (e.get("time") is None, str(e.get("time") or "")))


def _finding_case(graph: dict[str, Any], index: int, n_findings: int) -> int | None:
    """Graph nodes carry the finding number as `case`; a graph without it belongs to finding 0."""
    nodes = graph.get("nodes") or []
    if any(isinstance(n, dict) and "case" in n for n in nodes):
        return index
    return None if index == 0 or n_findings == 1 else -1


def _clean(f: dict[str, Any]) -> dict[str, Any]:
    """A finding as the template expects it, whatever the JSON held (lists of dicts / of strings)."""
    out = dict(f)
    for key in ("evidence", "recommendations", "path"):
        v = out.get(key)
        out[key] = [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []
    for key in ("why", "gaps", "context"):
        v = out.get(key)
        out[key] = [str(x) for x in v if x is not None] if isinstance(v, list) else []
    if not isinstance(out.get("what_if"), dict):
        out["what_if"] = None
    for key in ("outcome", "stage", "confidence"):
        out[key] = str(out.get(key) or "unknown")
    out["summary"] = str(out.get("summary") or "")
    return out


def _view(answer_json: dict[str, Any]) -> dict[str, Any]:
    titles = _stage_titles()
    graph = answer_json.get("graph") if isinstance(answer_json.get("graph"), dict) else {}
    raw = answer_json.get("findings") if isinstance(answer_json.get("findings"), list) else []
    findings = []
    n = len(raw)
    for i, f in enumerate(raw):
        if not isinstance(f, dict):
            continue
        f = _clean(f)
        case = _finding_case(graph, i, n)
        svg = render_svg(graph, case=case, uid=f"f{i}",
                         title=f"Causal graph of finding {i + 1}: evidence, rules, conclusions, recommendations") \
            if case != -1 else render_svg({}, uid=f"f{i}")
        g = to_digraph(graph)
        n_nodes = sum(1 for _, d in g.nodes(data=True) if case is None or d.get("case") in (case, str(case)))
        path = [p for p in f.get("path") or [] if isinstance(p, dict)]
        reached = [p for p in path if p.get("status") != "unknown"]
        findings.append({
            "f": f, "index": i + 1, "svg": svg, "graph_nodes": n_nodes, "timeline": _timeline(f),
            "path": path, "path_known": bool(reached), "sender_text": sender_text(f, titles),
            "what_if": f.get("what_if") or what_if_for(f),
        })
    return {"answer": answer_json, "findings": findings, "titles": titles}


# ------------------------------------------------------------------------------------------- render


def _env() -> jinja2.Environment:
    folder = data_dir("reports")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)), autoescape=True, undefined=jinja2.ChainableUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["stage_title"] = lambda s: "unknown" if str(s) == "unknown" else STAGE_TITLES.get(str(s), str(s))
    env.filters["status_title"] = lambda s: STATUS_TITLES.get(str(s), str(s))
    env.filters["outcome_word"] = lambda s: OUTCOME_WORDS.get(str(s), str(s))
    env.filters["nice_time"] = lambda s: str(s).replace("T", " ") if s else ""
    env.tests["search"] = lambda value, pattern: bool(re.search(pattern, str(value)))
    return env


def _css() -> Markup:
    css = (data_dir("reports") / "static" / "ticket.css").read_text(encoding="utf-8")
    # our own file, but never let it close the <style> element
    return Markup(css.replace("</", "<\\/"))


def ticket_html(answer: Any, *, generated: datetime | None = None) -> str:
    """Render the ticket page for an explain answer (Answer object or its JSON dict)."""
    data = ensure_what_if(_answer_json(answer))
    view = _view(data)
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    tpl = _env().get_template("ticket.html.j2")
    return tpl.render(**view, css=_css(), csp=CSP, generated=when, version=__version__, stages=STAGES)


def write_ticket(answer: Any, path: str | Path) -> Path:
    p = Path(path)
    try:
        p.write_text(ticket_html(answer), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {p}: {exc.strerror or exc}") from None
    return p


# ------------------------------------------------------------------------------------------- demo screenshot


def demo_answer() -> Any:
    """The demo ticket: the built-in sample explained for the first of its questions (a HAT rejection)."""
    from diagnose import api
    from diagnose.demo import questions, sample_logs

    logs = sample_logs()
    return api.explain([str(logs)], offline=True, **questions()[0]["ask"])  # offline: the demo sends no DNS query


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diagnose.reports",
                                     description="Ticket report helpers (screenshot of the demo ticket).")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sh = sub.add_parser("screenshot", help="render the demo ticket and write a PNG screenshot (headless Chromium)")
    sh.add_argument("--output", default="demo-ticket.png", help="PNG file to write (default demo-ticket.png)")
    sh.add_argument("--html", help="also keep the HTML here (default: a temporary file)")
    sh.add_argument("--answer", help="render this explain JSON (from --format json) instead of the demo")
    args = parser.parse_args(argv)
    try:
        if args.answer:
            import json

            try:
                answer: Any = json.loads(Path(args.answer).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"--answer: cannot read {args.answer}: {exc}") from None
        else:
            answer = demo_answer()
        import tempfile

        from diagnose.browser import BrowserError, screenshot

        html_path = Path(args.html) if args.html else Path(tempfile.mkdtemp(prefix="esa-ticket-")) / "ticket.html"
        write_ticket(answer, html_path)
        try:
            report = screenshot(html_path, args.output)
        except BrowserError as exc:
            raise InputError(f"screenshot: {exc}") from None
    except InputError as exc:
        print(f"esa-diagnose: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({len(report.screenshot)} bytes) from {html_path}")
    if report.console_errors or report.requests:
        print(f"warning: console errors {report.console_errors}, requests {report.requests}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
