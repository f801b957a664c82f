"""The teaching site: how an ESA decides, generated from the same rules and knowledge the engine uses.

`build_site(out_dir)` writes a static site (jinja2, no JavaScript, no external requests):

    index.html               the pipeline overview (an SVG diagram, each stage a link)
    stages/<stage>.html      one page per stage of the vocabulary: what it checks, configuration objects and
                             defaults, the log lines it writes, what sender and recipient see, its rules in
                             plain English (anchor = rule id), the remedies
    scenarios/*.html         worked scenarios: simulated -> mail_logs -> diagnosis -> causal graph
    quiz.html                a self-check quiz (details/summary: works offline)
    glossary.html            ICID, MID, RID, DCID, SBRS, HAT, RAT ... auto-linked from every page

Sources: knowledge/pipeline.yaml, knowledge/glossary.yaml, knowledge/remedies.yaml, rules/*.yaml (through
the engine's rulebase loader), the simulator and `diagnose.api.explain`. A missing or malformed source
never stops the build: the page says what is missing (`TeachResult.problems` lists it too).
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import ChainableUndefined, Environment, FileSystemLoader
from markupsafe import Markup, escape

from diagnose.model import STAGES, InputError
from diagnose.resources import data_dir

PHASES = (
    ("Receipt (SMTP conversation)", ("hat", "sender_verification", "rat", "ldap_accept", "call_ahead",
                                     "authentication", "sdr")),
    ("Work queue", ("message_filter", "safelist_blocklist", "antispam", "graymail", "antivirus", "amp",
                    "content_filter", "outbreak_filter", "dlp")),
    ("Delivery", ("delivery",)),
)
STAGE_TITLES = {
    "hat": "Host Access Table (HAT) and mail flow policy", "sender_verification": "Sender verification",
    "rat": "Recipient Access Table (RAT)", "ldap_accept": "LDAP recipient acceptance",
    "call_ahead": "SMTP call-ahead", "authentication": "SPF, DKIM and DMARC", "sdr": "Sender Domain Reputation",
    "message_filter": "Message filters", "safelist_blocklist": "End-user safelist / blocklist",
    "antispam": "Anti-spam", "graymail": "Graymail", "antivirus": "Anti-virus", "amp": "AMP file reputation",
    "content_filter": "Content filters", "outbreak_filter": "Outbreak Filters", "dlp": "Data Loss Prevention",
    "delivery": "Delivery and bounce profiles", "unknown": "When the logs do not say",
}
# Knowledge fields of a stage, in page order: (label, accepted key spellings).
STAGE_SECTIONS = (
    ("What it checks", ("checks", "what_it_checks", "what", "description", "summary")),
    ("Configuration objects and defaults", ("config", "config_objects", "configuration", "defaults")),
    ("Log lines it writes", ("log_kinds", "logs", "log_lines", "writes")),
    ("What the sender sees", ("sender_sees", "sender")),
    ("What the recipient sees", ("recipient_sees", "recipient")),
    ("Where to look in the GUI", ("gui_paths", "gui_path", "gui")),
)
OPS = {
    "eq": "is", "ne": "is not", "in": "is one of", "not_in": "is none of", "lt": "is below",
    "lte": "is at most", "gt": "is above", "gte": "is at least", "matches": "matches the pattern",
    "same": "is the same as",
}
DERIVED = {
    "stop": "the conclusion that the message stopped", "passed": "the conclusion that a stage was passed",
    "cause": "a cause", "remedy": "a recommendation", "context": "a service-health note", "gap": "a gap",
}


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same result, faster


@dataclass
class TeachResult:
    output: Path
    pages: list[str] = field(default_factory=list)
    rules: int = 0
    scenarios: int = 0
    quiz: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ sources (never crash)

def _read_yaml(path: Path, problems: list[str], folder: str = "knowledge") -> Any:
    if not path.is_file():
        problems.append(f"{folder}/{path.name} not found")
        return None
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{folder}/{path.name} unreadable: {str(exc).splitlines()[0]}")
        return None


def _entries(doc: Any, key: str, name_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """A YAML list of mappings, a mapping holding such a list under `key`, or a name -> mapping dict."""
    if isinstance(doc, dict) and isinstance(doc.get(key), (list, dict)):
        doc = doc[key]
    out: list[dict[str, Any]] = []
    if isinstance(doc, list):
        out = [e for e in doc if isinstance(e, dict)]
    elif isinstance(doc, dict):
        for name, body in doc.items():
            entry = dict(body) if isinstance(body, dict) else {"definition": body}
            entry.setdefault(name_keys[0], name)
            out.append(entry)
    for e in out:
        for k in name_keys:
            if e.get(k) not in (None, ""):
                e["_name"] = str(e[k])
                break
    return [e for e in out if "_name" in e]


def load_stages(knowledge: Path, problems: list[str]) -> tuple[dict[str, dict[str, Any]], tuple]:
    """Stage entries by name, and the phases (title, stages) of pipeline.yaml (built-in order if absent)."""
    doc = _read_yaml(knowledge / "pipeline.yaml", problems)
    stages = {e["_name"]: e for e in _entries(doc, "stages", ("name", "stage", "id"))}
    phases = []
    for ph in (doc.get("phases") if isinstance(doc, dict) else None) or []:
        if isinstance(ph, dict) and isinstance(ph.get("stages"), list):
            names = tuple(str(x) for x in ph["stages"] if str(x) in STAGES)
            if names:
                phases.append((str(ph.get("title") or ph.get("name") or ""), names))
    return stages, tuple(phases) or PHASES


def load_glossary(knowledge: Path, problems: list[str]) -> list[dict[str, Any]]:
    doc = _read_yaml(knowledge / "glossary.yaml", problems)
    terms = _entries(doc, "terms", ("term", "name", "abbr", "id"))
    for t in terms:
        t["_slug"] = slug(t["_name"])
        t["_def"] = _first(t, ("definition", "meaning", "description", "text", "short")) or ""
        t["_expansion"] = _first(t, ("expansion", "stands_for", "long", "title", "full")) or ""
        aliases = t.get("aliases") or t.get("synonyms") or []
        t["_aliases"] = [str(a) for a in (aliases if isinstance(aliases, list) else [aliases]) if a]
    if doc is not None and not terms:
        problems.append("knowledge/glossary.yaml has no terms")
    return sorted(terms, key=lambda t: t["_name"].lower())


def load_remedies(knowledge: Path, problems: list[str]) -> dict[str, dict[str, Any]]:
    doc = _read_yaml(knowledge / "remedies.yaml", problems)
    return {e["_name"]: e for e in _entries(doc, "remedies", ("id", "name"))}


def load_rules(rules_dir: Path | None, problems: list[str]) -> list[dict[str, Any]]:
    """Rules as Rule.to_json() dicts: through the engine's loader, or straight from YAML when it fails."""
    try:
        if rules_dir is None:  # the very rulebase the engine diagnoses with (loaded once, shared)
            from diagnose.engine.explainer import default_engine

            rb = default_engine().rulebase
        else:
            from diagnose.engine.rulebase import load_rulebase

            rb = load_rulebase(rules_dir)
        problems.extend(f"rulebase: {w}" for w in rb.warnings[:20])
        return [r.to_json() for r in rb.rules]
    except ImportError as exc:
        problems.append(f"rulebase loader unavailable ({exc}); rules read directly from YAML")
    except InputError as exc:
        problems.append(f"rulebase loader refused the rules ({exc}); rules read directly from YAML")
    except Exception as exc:  # noqa: BLE001 - a loader bug must not stop the site; say so and read the YAML
        problems.append(f"rulebase loader failed ({type(exc).__name__}: {exc}); rules read directly from YAML")
    folder = rules_dir or data_dir("rules")
    rules: list[dict[str, Any]] = []
    for path in sorted(Path(folder).glob("*.y*ml")):
        doc = _read_yaml(path, problems, "rules")
        if not isinstance(doc, dict):
            continue
        for raw in doc.get("rules") or []:
            if not isinstance(raw, dict) or not raw.get("id"):
                continue
            when = []
            for c in raw.get("when") or []:
                if not isinstance(c, dict):
                    continue
                where = c.get("where") or {}
                tests = []
                for fld, v in (where.items() if isinstance(where, dict) else []):
                    if isinstance(v, dict) and len(v) == 1:
                        (op, val), = v.items()
                    else:
                        op, val = "eq", v
                    tests.append({"field": fld, "op": op, "value": val})
                when.append({"fact": str(c.get("fact", "?")), "as": c.get("as", ""), "absent": bool(c.get("absent")),
                             "where": tests})
            then = raw.get("then") or {}
            rules.append({
                "id": str(raw["id"]), "stage": str(raw.get("stage") or doc.get("stage") or "unknown"),
                "title": str(raw.get("title", "")), "file": path.name, "when": when,
                "then": {"fact": str(then.get("fact", "?")), "set": dict(then.get("set") or {})},
                "explain": str(raw.get("explain", "")), "references": [str(r) for r in raw.get("references") or []],
                "priority": raw.get("priority", 0),
            })
    return rules


def _first(d: dict[str, Any], keys: Iterable[str]) -> Any:
    for k in keys:
        if d.get(k) not in (None, "", [], {}):
            return d[k]
    return None


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower()
    return s or "term"


# ------------------------------------------------------------------ plain English for rules

def _value(v: Any) -> str:
    if isinstance(v, (list, tuple, set, frozenset)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None or v == "":
        return "empty"
    return str(v)


def condition_text(c: dict[str, Any], event_kinds: set[str]) -> str:
    fact = c["fact"]
    what = DERIVED.get(fact) or (f"a {fact} log line" if fact in event_kinds else f"a {fact} fact")
    tests = []
    for t in c.get("where") or []:
        op, val = t["op"], t["value"]
        if op == "exists":
            tests.append(f"{t['field']} is {'present' if val else 'absent'}")
        elif op == "same":
            tests.append(f"{t['field']} is the same as {_value(val)}")
        else:
            tests.append(f"{t['field']} {OPS.get(op, op)} {_value(val)}")
    body = what + (" where " + " and ".join(tests) if tests else "")
    alias = f" (called “{c['as']}”)" if c.get("as") and not c.get("absent") else ""
    return ("there is no " if c.get("absent") else "there is ") + body + alias


def then_text(then: dict[str, Any], remedies: dict[str, dict[str, Any]]) -> str:
    f, s = then.get("fact"), then.get("set") or {}
    if f == "stop":
        return (f"conclude the outcome: {s.get('outcome')} at stage {s.get('stage')} "
                f"(cause {s.get('cause')}, reason {s.get('reason')}, confidence {s.get('confidence')})")
    if f == "passed":
        return f"conclude that stage {s.get('stage')} was passed"
    if f == "remedy":
        ref = s.get("ref")
        title = remedies.get(str(ref), {}).get("title") if ref else None
        return f"recommend “{title}” ({s.get('kind')})" if title else f"recommend a {s.get('kind')} remedy ({ref})"
    if f == "cause":
        return f"record the cause {s.get('cause')}" + (f": {s['detail']}" if s.get("detail") else "")
    if f == "gap":
        return f"note what is missing: {s.get('missing')}"
    if f == "context":
        return "add a service-health note" + (f": {s.get('detail') or s.get('note')}" if s else "")
    return f"derive {f} " + ", ".join(f"{k}={_value(v)}" for k, v in s.items())


# ------------------------------------------------------------------ glossary links

class Glossary:
    """Auto-links glossary terms (whole words, longest first) in escaped text."""

    def __init__(self, terms: list[dict[str, Any]]) -> None:
        self.by_word: dict[str, str] = {}
        for t in terms:
            for word in [t["_name"], *t["_aliases"]]:
                if len(word) >= 2:
                    self.by_word.setdefault(word, t["_slug"])
        words = sorted(self.by_word, key=len, reverse=True)
        self.rx = re.compile(r"(?<![\w$/.#-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])") \
            if words else None

    def link(self, text: Any, root: str, skip: str | None = None) -> Markup:
        """Escape `text`, then link each term (not the term `skip`, on its own glossary entry)."""
        s = str(escape("" if text is None else text))
        if self.rx is None:
            return Markup(s)

        def sub(m: re.Match) -> str:
            target = self.by_word[m.group(1)]
            if target == skip:
                return m.group(1)
            return f'<a class="gl" href="{root}glossary.html#{target}">{m.group(1)}</a>'

        return Markup(self.rx.sub(sub, s))


# ------------------------------------------------------------------ SVG

def pipeline_svg(stages_with_rules: dict[str, int], phases: tuple = PHASES, titles: dict[str, str] | None = None,
                 root: str = "") -> Markup:
    """The pipeline as one lane of linked boxes per phase, in processing order."""
    titles = titles or STAGE_TITLES
    box_w, box_h, gap, pad = 176, 46, 14, 20
    y = pad
    parts = []
    width = pad * 2 + 5 * (box_w + gap)
    for title, stages in phases:
        parts.append(f'<text class="lane" x="{pad}" y="{y + 14}">{escape(title)}</text>')
        y += 24
        for i, st in enumerate(stages):
            col, row = i % 5, i // 5
            x, yy = pad + col * (box_w + gap), y + row * (box_h + gap)
            n = stages_with_rules.get(st, 0)
            label = titles.get(st, st)
            short = label if len(label) <= 24 else label[:23] + "…"
            parts.append(
                f'<a href="{root}stages/{st}.html"><title>{escape(label)}</title>'
                f'<rect class="stage" x="{x}" y="{yy}" width="{box_w}" height="{box_h}" rx="6"/>'
                f'<text class="name" x="{x + 8}" y="{yy + 19}">{escape(short)}</text>'
                f'<text class="count" x="{x + 8}" y="{yy + 36}">{n} rule{"s" if n != 1 else ""}</text></a>')
            if i + 1 < len(stages) and col < 4:
                ax = x + box_w
                parts.append(f'<line class="arrow" x1="{ax + 1}" y1="{yy + box_h / 2}" x2="{ax + gap - 2}" '
                             f'y2="{yy + box_h / 2}"/>')
        nrows = (len(stages) + 4) // 5
        y += nrows * (box_h + gap) + 10

    height = y + pad
    return Markup(
        f'<svg class="pipeline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="The ESA pipeline, stage by stage" xmlns="http://www.w3.org/2000/svg">'
        f'<defs><marker id="ah" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto">'
        f'<path d="M0,0 L6,3 L0,6 z" class="arrowhead"/></marker></defs>{"".join(parts)}</svg>')


def graph_svg(graph: dict[str, Any]) -> Markup | None:
    """The causal graph (node-link JSON) as layered SVG: evidence -> rules -> conclusions -> recommendations."""
    try:
        from diagnose import svg as project_svg  # the ticket report's renderer, when present

        render = getattr(project_svg, "graph_svg", None) or getattr(project_svg, "render_graph", None)
        if render is not None:
            out = render(graph)
            if out:
                return Markup(str(out))
    except Exception:  # noqa: BLE001 - optional renderer built in parallel; fall back on our own
        pass
    nodes = {n["id"]: n for n in graph.get("nodes") or [] if isinstance(n, dict) and "id" in n}
    if not nodes:
        return None
    links = [(lk["source"], lk["target"]) for lk in graph.get("links") or []
             if lk.get("source") in nodes and lk.get("target") in nodes]
    layer: dict[str, int] = {n: 0 for n in nodes}
    for _ in range(len(nodes)):  # longest path from the sources (the graph is a DAG)
        changed = False
        for a, b in links:
            if layer[b] < layer[a] + 1:
                layer[b] = layer[a] + 1
                changed = True
        if not changed:
            break
    cols: dict[int, list[str]] = {}
    for n in sorted(nodes, key=lambda k: (layer[k], k)):
        cols.setdefault(layer[n], []).append(n)
    col_w, row_h, node_w, node_h = 228, 54, 204, 40
    pos = {n: (20 + c * col_w, 20 + i * row_h) for c, ns in cols.items() for i, n in enumerate(ns)}
    width = 40 + len(cols) * col_w
    height = 40 + max(len(ns) for ns in cols.values()) * row_h
    parts = []
    for a, b in links:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        parts.append(f'<line class="edge" x1="{x1 + node_w}" y1="{y1 + node_h / 2}" x2="{x2}" y2="{y2 + node_h / 2}"/>')
    for n, (x, y) in pos.items():
        node = nodes[n]
        kind = str(node.get("kind", "fact"))
        label = str(node.get("label", n))
        short = label if len(label) <= 31 else label[:30] + "…"
        parts.append(f'<g class="node {escape(kind)}"><title>{escape(label)}</title>'
                     f'<rect x="{x}" y="{y}" width="{node_w}" height="{node_h}" rx="5"/>'
                     f'<text x="{x + 6}" y="{y + 15}" class="k">{escape(kind)}</text>'
                     f'<text x="{x + 6}" y="{y + 31}">{escape(short)}</text></g>')
    return Markup(f'<svg class="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Causal graph">{"".join(parts)}</svg>')


# ------------------------------------------------------------------ scenarios, diagnosis

WORKED = (  # recipe -> why it is worth a worked example
    ("hat_reject", "A poor SenderBase reputation: refused at connect time"),
    ("hat_throttled", "A suspicious sender over its recipients-per-hour limit"),
    ("sender_dns", "An envelope sender whose domain does not resolve"),
    ("rat_reject", "A recipient domain the appliance does not accept"),
    ("ldap_drop", "A recipient the directory no longer knows, dropped in the work queue"),
    ("dmarc_reject", "A DMARC p=reject failure"),
    ("mf_drop", "A message filter drops an executable"),
    ("spam_quarantine", "Spam sent to the spam quarantine"),
    ("spam_drop", "Spam dropped by a stricter mail policy"),
    ("blocklist", "A sender on the recipient's blocklist"),
    ("graymail_tagged", "Bulk mail delivered with a graymail tag"),
    ("virus", "A virus dropped by anti-virus"),
    ("amp_drop", "Malware dropped by AMP"),
    ("cf_bounce", "A content filter bounces a macro document"),
    ("outbreak", "An Outbreak Filters quarantine"),
    ("dlp_quarantine", "Outgoing mail held by a DLP policy"),
    ("remote_reject", "The next hop refuses the recipient"),
    ("deferred", "The next hop defers: still queued"),
    ("expired", "Deferred until the bounce profile gives up"),
    ("trusted", "A WHITELIST host: anti-spam skipped, anti-virus still runs"),
    ("spam_tagged", "Suspected spam delivered with a subject tag"),
    ("delivered", "Delivered: the problem is downstream"),
)


@dataclass
class Worked:
    slug: str
    title: str
    scenario: Any
    lines: list[str]
    diagnosis: dict[str, Any] | None = None
    problem: str = ""
    graph: Markup | None = None
    fix: dict[str, Any] | None = None  # the first recommendation the simulator can apply, and its new path

    @property
    def finding(self) -> dict[str, Any] | None:
        f = (self.diagnosis or {}).get("findings") or []
        return f[0] if f else None


def apply_fix(sc: Any, rec: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """The scenario's message and configuration with one recommendation applied, or None when the
    recommendation is not a change the simulator models (release, retry, a ticket to Cisco...).

    Returns (what was changed, message, config)."""
    from dataclasses import replace

    from diagnose.simulator import Delivery, ExceptionEntry, RatEntry, SenderGroup

    msg, cfg, stage = sc.message, sc.result.config, sc.stage
    kind, source = rec.get("kind"), str(rec.get("source") or "")
    domain = msg.sender.rpartition("@")[2].lower()
    if kind == "hat_allowlist":
        if "trusted" in source or "whitelist" in source:
            wl = replace(cfg.hat[0], hosts=(*cfg.hat[0].hosts, msg.sender_ip))
            return f"{msg.sender_ip} added to {wl.name} ({wl.policy})", msg, replace(cfg, hat=(wl, *cfg.hat[1:]))
        group = SenderGroup("PARTNER_ALLOW", "$ACCEPTED", hosts=(msg.sender_ip,))
        return (f"new sender group PARTNER_ALLOW ({msg.sender_ip}, $ACCEPTED) above BLACKLIST", msg,
                replace(cfg, hat=(cfg.hat[0], group, *cfg.hat[1:])))
    if kind == "raise_limit" and stage == "hat":
        group, _, pol = cfg.hat_match(msg.sender_ip, msg.sbrs)
        policies = dict(cfg.policies)
        policies[pol.name] = replace(pol, max_rcpts_per_hour=None, max_message_size=100 * 1024 * 1024)
        return f"{pol.name}: no recipients-per-hour limit, 100 MB maximum size", msg, replace(cfg, policies=policies)
    if kind == "rat_accept":
        rdom = sc.recipient.rpartition("@")[2].lower()
        return (f"RAT entry {rdom} ACCEPT", msg, replace(cfg, rat=(RatEntry(rdom, "ACCEPT"), *cfg.rat)))
    if kind == "exception_table":
        policies = {n: replace(p, use_exception_table=True) for n, p in cfg.policies.items()}
        return (f"Exception Table entry @{domain} Allow", msg,
                replace(cfg, policies=policies, exception_table=(ExceptionEntry(f"@{domain}", True),
                                                                 *cfg.exception_table)))
    if kind == "safelist" and stage in ("antispam", "graymail", "safelist_blocklist"):
        return f"{msg.sender} on the recipient's safelist", replace(msg, slbl="safelist"), cfg
    if kind == "mail_policy_bypass" and stage in ("antispam", "graymail", "amp", "content_filter", "outbreak_filter"):
        base = cfg.incoming_policy(msg.sender)
        bypass = replace(base, name=f"BYPASS_{domain.split('.')[0].upper()}", senders=(domain,),
                         spam_positive="deliver", spam_suspect="deliver", marketing="deliver",
                         amp_malicious="deliver" if stage == "amp" else base.amp_malicious,
                         content_filters=() if stage == "content_filter" else base.content_filters,
                         outbreak_threshold=6 if stage == "outbreak_filter" else base.outbreak_threshold)
        return (f"incoming mail policy {bypass.name} for {domain} (its blocking engine off; anti-virus unchanged)",
                msg, replace(cfg, incoming_policies=(bypass, *cfg.incoming_policies)))
    if kind == "filter_exception" and stage in ("message_filter", "content_filter"):
        if stage == "message_filter":
            kept = tuple(f for f in cfg.message_filters if not f.matches(msg))
            return "the matching message filter no longer applies to it", msg, replace(cfg, message_filters=kept)
        pols = tuple(replace(p, content_filters=tuple(f for f in p.content_filters if not f.matches(msg)))
                     for p in cfg.incoming_policies)
        return "the matching content filter no longer applies to it", msg, replace(cfg, incoming_policies=pols)
    if kind == "ldap_fix":
        return (f"{sc.recipient} found by the LDAP accept query", msg,
                replace(cfg, ldap_accept={k: v for k, v in cfg.ldap_accept.items() if k != sc.recipient}))
    if kind in ("sender_fix", "fix_destination"):
        if stage == "authentication":
            return "the sender signs with DKIM aligned to its domain", replace(msg, dkim="pass"), cfg
        if stage == "sender_verification" and msg.sender_domain_dns != "ok":
            return "the sender's domain resolves again", replace(msg, sender_domain_dns="ok"), cfg
        if stage == "delivery":
            return "the next hop accepts the message", replace(msg, delivery=Delivery("ok")), cfg
    return None


def simulate_fix(w: Worked) -> dict[str, Any] | None:
    """Re-run the scenario through the simulator with the first recommendation it can apply."""
    from diagnose.simulator import simulate

    if w.scenario.outcome == "delivered":
        return None  # nothing to fix on the appliance
    for rec in (w.finding or {}).get("recommendations") or []:
        applied = apply_fix(w.scenario, rec)
        if applied is None:
            continue
        change, msg, cfg = applied
        res = simulate(msg, cfg)
        return {"rec": rec, "change": change, "result": res, "lines": res.lines(with_header=False)}
    return None


def _scenario_lines(sc: Any, all_lines: list[str]) -> list[str]:
    """The lines of one scenario in a shared log: its ICID, MID, DCIDs and bounce MID."""
    ids = sc.ids
    pats = [re.compile(rf"\bICID {ids['icid']}\b")] if "icid" in ids else []
    for k, v in ids.items():
        if k.startswith(("mid", "bmid")):
            pats.append(re.compile(rf"\bMID {v}\b|^Message {v} |Message finished MID {v}\b"))
        elif k.startswith(("dcid", "rcid")):
            pats.append(re.compile(rf"\b{k.rstrip('0123456789').upper()} {v}\b"))
    out = []
    for line in all_lines:
        text = line.split(" Info: ", 1)[-1]
        if any(p.search(text) for p in pats):
            out.append(line)
    return out


def _diagnose(log: Path, sc: Any) -> tuple[dict[str, Any] | None, str]:
    try:
        from diagnose import api

        query = {"mid": sc.mid, "recipient": sc.recipient} if sc.mid else {"ip": sc.ip}
        ans = api.explain([str(log)], offline=True, **query)
        data = ans.to_json() if hasattr(ans, "to_json") else ans
        # evidence cites the temporary log: show it by its file name only
        text = json.dumps(data, default=str).replace(json.dumps(str(log.parent) + "/")[1:-1], "")
        return json.loads(text), ""
    except InputError as exc:
        return None, f"diagnosis not available in this build: {exc}"
    except Exception as exc:  # noqa: BLE001 - the site must still build; the page says what failed
        return None, f"diagnosis failed: {type(exc).__name__}: {exc}"


def build_worked(tmp: Path, seed: int, problems: list[str]) -> tuple[list[Worked], list[Worked]]:
    """Worked examples and quiz questions: simulated into one log, then diagnosed by the engine."""
    from diagnose.simulator import iter_scenarios, write_log

    picks: list[tuple[str, str, Any]] = []
    quiz: list[tuple[str, str, Any]] = []
    for i, kind_title in enumerate(WORKED):
        kind, title = kind_title
        it = iter_scenarios(seed * 1000 + i, kinds=(kind,))  # own seed per recipe: distinct hosts
        picks.append((kind, title, next(it)))
        quiz.append((kind, title, next(it)))
    log = tmp / "teach_mail_logs"
    scen = [p[2] for p in picks] + [q[2] for q in quiz]
    for s in scen:
        s.gap = 5.0
    write_log(scen, log)
    all_lines = log.read_text(encoding="utf-8").splitlines()
    out: list[list[Worked]] = [[], []]
    failed = 0
    for i, group in enumerate((picks, quiz)):
        for kind, title, sc in group:
            w = Worked(kind.replace("_", "-"), title, sc, _scenario_lines(sc, all_lines))
            w.diagnosis, w.problem = _diagnose(log, sc)
            if w.problem:
                failed += 1
            elif w.diagnosis:
                w.graph = graph_svg(w.diagnosis.get("graph") or {})
                w.fix = simulate_fix(w)
            out[i].append(w)
    if failed:
        problems.append(f"{failed} worked example(s) could not be diagnosed (see their pages)")
    random.Random(seed).shuffle(out[1])  # quiz questions in another order than the worked examples
    return out[0], out[1]


def _event_kinds() -> set[str]:
    """Log-line kinds (as opposed to derived facts): the rulebase's list plus the catalogue's."""
    kinds: set[str] = set()
    try:
        from diagnose.engine.rulebase import KNOWN_EVENT_KINDS

        kinds |= set(KNOWN_EVENT_KINDS)
    except ImportError:
        pass
    try:
        from diagnose.collectors.catalogue import KINDS

        kinds |= set(KINDS)
    except ImportError:
        pass
    return kinds


def _sample_lines(tmp: Path, seed: int, n: int = 400) -> list[str]:
    """A simulated log of every recipe: example lines for the kinds each stage writes."""
    from diagnose.simulator import generate_scenarios, write_log

    path = tmp / "examples_mail_logs"
    write_log(generate_scenarios(n, seed), path)
    return path.read_text(encoding="utf-8").splitlines()


def _kind_examples(lines: list[str]) -> dict[str, str]:
    """One real simulated line per catalogue kind, to show next to the kinds a stage writes."""
    try:
        from diagnose.collectors.catalogue import parse
    except ImportError:
        return {}
    ex: dict[str, str] = {}
    for line in lines:
        text = line.split(" Info: ", 1)[-1]
        p = parse(text)
        if p and p[0] not in ex:
            ex[p[0]] = text
    return ex


def anatomy(lines: list[str], stages_k: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Each line of one message, with its kind (the catalogue's) and the stage that writes that kind
    (knowledge/pipeline.yaml `log_kinds`): how to read a mail_logs story."""
    try:
        from diagnose.collectors.catalogue import parse
    except ImportError:
        return []
    writer: dict[str, str] = {}
    for st in STAGES:
        kinds = stages_k.get(st, {}).get("log_kinds")
        for k in kinds if isinstance(kinds, list) else []:
            if str(k) == st or str(k) not in writer:  # a kind named after a stage belongs to that stage
                writer[str(k)] = st
    rows = []
    for line in lines:
        ts, _, text = line.partition(" Info: ")
        p = parse(text)
        kind = p[0] if p else ""
        rows.append({"time": ts[11:19], "text": text, "kind": kind, "stage": writer.get(kind, "")})
    return rows


# ------------------------------------------------------------------ the build

def _env(templates: Path, gloss: Glossary, titles: dict[str, str]) -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates)), autoescape=True, undefined=ChainableUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["gloss"] = lambda text, root="", skip=None: gloss.link(text, root, skip)
    env.filters["slug"] = slug
    env.globals["STAGE_TITLES"] = titles
    env.globals["LABELS"] = {"cli": "CLI", "references": "References", "gui": "GUI", "smtp": "SMTP"}
    return env


def build_site(output: str | Path, *, rules_dir: str | Path | None = None, knowledge_dir: str | Path | None = None,
               seed: int = 1, worked: bool = True) -> TeachResult:
    """Write the teaching site into `output` (created; existing files of the same names are replaced)."""
    t0 = time.perf_counter()
    out = Path(output)
    for opt, folder in (("--rules", rules_dir), ("--knowledge", knowledge_dir)):
        if folder is not None and not Path(folder).is_dir():
            raise InputError(f"{opt} {folder}: no such folder")
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {out} exists and is not a folder")
    try:
        (out / "stages").mkdir(parents=True, exist_ok=True)
        (out / "scenarios").mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out}: {exc.strerror or exc}") from None
    res = TeachResult(out)
    problems = res.problems
    knowledge = Path(knowledge_dir) if knowledge_dir else data_dir("knowledge")
    stages_k, phases = load_stages(knowledge, problems)
    titles = {st: str(stages_k.get(st, {}).get("title") or STAGE_TITLES.get(st, st)) for st in STAGES}
    terms = load_glossary(knowledge, problems)
    remedies = load_remedies(knowledge, problems)
    rules = load_rules(Path(rules_dir) if rules_dir else None, problems)
    res.rules = len(rules)
    gloss = Glossary(terms)
    env = _env(data_dir("reports") / "teach", gloss, titles)
    css = (data_dir("reports") / "teach" / "style.css").read_text(encoding="utf-8")

    by_stage: dict[str, list[dict[str, Any]]] = {s: [] for s in STAGES}
    for r in rules:
        by_stage.setdefault(r["stage"] if r["stage"] in by_stage else "unknown", []).append(r)

    with tempfile.TemporaryDirectory(prefix="esa-teach-") as tmpd:
        worked_list, quiz_list = build_worked(Path(tmpd), seed, problems) if worked else ([], [])
        kind_examples = _kind_examples(_sample_lines(Path(tmpd), seed))
    event_kinds = _event_kinds() | set(kind_examples)

    def page(name: str, template: str, root: str, **ctx: Any) -> None:
        html = env.get_template(template).render(root=root, css=css, problems=problems, **ctx)
        (out / name).write_text(html, encoding="utf-8")
        res.pages.append(name)

    stage_views = []
    for st in STAGES:
        k = stages_k.get(st, {})
        sections = []
        for label, keys in STAGE_SECTIONS:
            key = next((x for x in keys if k.get(x) not in (None, "", [], {})), None)
            sections.append({"label": label, "value": k.get(key) if key else None, "key": keys[0],
                             "is_logs": label.startswith("Log lines")})
        used = {x for _, keys in STAGE_SECTIONS for x in keys}
        extra = {kk: v for kk, v in k.items() if kk not in used and not kk.startswith("_")
                 and kk not in ("name", "stage", "id", "title", "order", "phase")}
        st_rules = []
        refs: list[str] = []
        for r in by_stage.get(st, []):
            st_rules.append({**r, "when_text": [condition_text(c, event_kinds) for c in r["when"]],
                             "then_text": then_text(r["then"], remedies)})
            ref = (r["then"].get("set") or {}).get("ref")
            if r["then"].get("fact") == "remedy" and ref and str(ref) not in refs:
                refs.append(str(ref))
        for rid, rem in remedies.items():
            stages_of = rem.get("stages") or rem.get("stage") or []
            if (st in stages_of if isinstance(stages_of, list) else st == stages_of) and rid not in refs:
                refs.append(rid)
        st_remedies = sorted((remedies[x] for x in refs if x in remedies), key=lambda x: (x.get("risk", 9), x["_name"]))
        missing_refs = [x for x in refs if x not in remedies]
        examples = [w for w in worked_list if w.scenario.stage == st]
        stage_views.append({
            "name": st, "title": titles[st], "known": bool(k),
            "sections": sections, "extra": extra, "rules": st_rules, "remedies": st_remedies,
            "missing_refs": missing_refs, "examples": examples,
        })
    for i, v in enumerate(stage_views):
        v["prev"] = stage_views[i - 1]["name"] if i > 0 else None
        v["next"] = stage_views[i + 1]["name"] if i + 1 < len(stage_views) else None

    counts = {v["name"]: len(v["rules"]) for v in stage_views}
    delivered = next((w for w in worked_list if w.scenario.kind == "delivered"), None)
    page("index.html", "index.html.j2", "", svg=pipeline_svg(counts, phases, titles), stages=stage_views,
         worked=worked_list, n_rules=len(rules), n_terms=len(terms),
         anatomy=anatomy(delivered.lines, stages_k) if delivered else [], anatomy_of=delivered)
    for v in stage_views:
        page(f"stages/{v['name']}.html", "stage.html.j2", "../", stage=v, kind_examples=kind_examples)
    page("scenarios/index.html", "scenarios.html.j2", "../", worked=worked_list)
    for w in worked_list:
        page(f"scenarios/{w.slug}.html", "scenario.html.j2", "../", w=w,
             diagnosis_json=json.dumps(w.diagnosis, indent=2, default=str) if w.diagnosis else "")
    quiz_views = []
    for n, w in enumerate(quiz_list, 1):
        st = next((v for v in stage_views if v["name"] == w.scenario.stage), None)
        quiz_views.append({"n": n, "w": w, "stage": st,
                           "remedies": (st["remedies"][:3] if st else [])})
    page("quiz.html", "quiz.html.j2", "", questions=quiz_views)
    page("glossary.html", "glossary.html.j2", "", terms=terms)
    res.scenarios, res.quiz = len(worked_list), len(quiz_views)
    res.seconds = round(time.perf_counter() - t0, 2)
    return res
