"""SMTP reply / DSN text -> Sisimai bounce reason, hard or soft, and the ESA stage.

Layers, first match wins (the data lives in knowledge/reply_codes.yaml):

1. unwrap AsyncOS: "5.1.0 - Unknown address error ('550', ['5.7.1 ... Access denied'])" (bounce
   log, mail_logs) and "5.1.0 - Unknown address error 550-'5.7.1 ...' (delivery attempts: 0)"
   (AsyncOS DSN) hide the remote reply behind the ESA's own class text: the inner reply is
   what gets classified, the wrapper is kept as evidence;
2. texts an ESA returns as the receiving side (esa-pipeline.md §2.6) -> stage + reason;
3. generic reply texts, ordered like Sisimai's reason classes, each decided by its decisive
   status codes or its text patterns;
4. the RFC 3463 status table, then class fallbacks (x.6 -> contenterror, x.7 -> securityerror,
   X-Unix -> mailererror, 50x -> syntaxerror, delayed -> expired, refused at HELO -> blocked).
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from typing import Any

import yaml

from diagnose.resources import data_dir

_WS = re.compile(r"\s+")
# x.y.z not embedded in an IP address or a version string
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)")
_CODE_LEAD = re.compile(r"^\s*(?:smtp;\s*)?([245]\d\d)(?:[ \-]|$)", re.I)
_CODE_ANY = re.compile(r"(?:^|[\s:(\[\"'])([245][0-5]\d)(?=[ \-]+(?:[#]?[245]\.\d|[a-z<]))", re.I)
# AsyncOS wrappers: "5.1.0 - Unknown address error ('550', ['...', "..."])" (bounce log, mail_logs)
# and "5.1.0 - Unknown address error 550-'5.7.1 ...' (delivery attempts: 0)" (AsyncOS DSN)
_WRAP_HEAD = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3}) - ")
_WRAP_LIST = re.compile(r"\(\s*'(\d{3})'\s*,\s*(\[.*\])\s*\)\s*(?:\[\])?\s*\Z", re.S)
_WRAP_QUOTED = re.compile(r"\s(\d{3})[- ]'")
_WRAP_ATTEMPTS = re.compile(r"\s?\(delivery attempts: \d+\)\Z")
_RESPONSE_LIST = re.compile(r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")
_MAX_TEXT = 8192  # a reply longer than this is an attached message, not a reply
_MATCH_TEXT = 2048  # the patterns read this much: bounds the time one hostile text can cost
# reasons that say "look at the text again" when they come from the status table (Sisimai's retry set)
_RETRY = frozenset({"undefined", "onhold", "systemerror", "securityerror", "networkerror", "userunknown"})
# temporary problems that end in "expired" when the DSN says the retries ran out
_GAVE_UP = frozenset({"networkerror", "onhold", "systemerror", "undefined"})
# texts that beat a 5.1.1 status: the reply names another cause
_USERUNKNOWN_PREMATCH = ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "speeding", "filtered")


@dataclass(frozen=True, slots=True)
class Classification:
    """How one bounce reads.  `hard` follows Sisimai: the address is bad (retrying cannot work)."""

    reason: str
    hard: bool | None
    stage: str | None  # ESA stage when the text came from an ESA, else None
    status: str | None  # enhanced status code x.y.z
    code: str | None  # SMTP reply code, 3 digits
    remote_text: str  # the remote reply after unwrapping AsyncOS's class text
    esa: bool  # the text (or its wrapper) was written by an ESA
    rule: str  # catalogue entry that decided: "ESA-HAT-SBRS", "TEXT-userunknown", "STATUS-5.1.1" ...
    evidence: str  # the fragment that matched
    wrapper: str | None = None  # AsyncOS class text, e.g. "5.1.0 - Unknown address error"
    temporary: bool | None = None  # 4xx / 4.x.x: the sending MTA retries

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Reason:
    name: str
    status: tuple[str, ...]
    regex: re.Pattern[str] | None
    tier: int = 1
    any_command: bool = False  # the text decides whatever SMTP command it answered


@dataclass(frozen=True, slots=True)
class _Catalogue:
    wrappers: tuple[dict[str, Any], ...]
    esa: tuple[tuple[dict[str, Any], re.Pattern[str]], ...]
    reasons: tuple[_Reason, ...]
    status_codes: dict[str, str]
    hard: frozenset[str]
    hard_if_permanent: frozenset[str]
    strong_status: dict[str, str]


def _alternation(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@cache
def catalogue() -> _Catalogue:
    path = data_dir("knowledge") / "reply_codes.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return _Catalogue(
        wrappers=tuple(data.get("asyncos_wrappers", [])),
        esa=tuple((e, _alternation(e["patterns"])) for e in data.get("esa_replies", [])),
        reasons=tuple(
            _Reason(r["reason"], tuple(r.get("status") or ()), _alternation(r.get("patterns") or []),
                    int(r.get("tier", 1)), bool(r.get("any_command", False)))
            for r in data["reasons"]
        ),
        status_codes={str(k): v for k, v in data["status_codes"].items()},
        hard=frozenset(data.get("hard_reasons", [])),
        hard_if_permanent=frozenset(data.get("hard_if_permanent", [])),
        strong_status={str(k): v for k, v in (data.get("strong_status") or {}).items()},
    )


def reasons() -> list[str]:
    """Every reason name the classifier can return (plus feedback / vacation from DSN parsing)."""
    names = list(dict.fromkeys(r.name for r in catalogue().reasons))
    return names + ["feedback", "vacation", "undefined"]


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def find_status(text: str) -> str | None:
    m = _STATUS.search(text)
    return ".".join(m.groups()) if m else None


def find_code(text: str) -> str | None:
    m = _CODE_LEAD.match(text) or _CODE_ANY.search(text)
    return m.group(1) if m else None


def _status_matches(status: str, wanted: str) -> bool:
    if wanted.endswith("*"):
        return status.startswith(wanted[:-1])
    return status == wanted


def _response_lines(literal: str) -> list[str]:
    """The Python-literal reply list AsyncOS logs: ['line', "it's"] -> lines (never eval)."""
    try:
        value = ast.literal_eval(literal) if len(literal) < _MAX_TEXT else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return [a or b for a, b in _RESPONSE_LIST.findall(literal)]


def unwrap_asyncos(text: str) -> tuple[str | None, str | None, str | None, str]:
    """Split an AsyncOS-wrapped reply: (wrapper "x.y.z - text", wrapper status, inner code, inner text).

    Returns (None, None, None, text) when the text is not wrapped.  Parsed by position, not by one
    backtracking regex, so that a long hostile text costs linear time.
    """
    head = _WRAP_HEAD.match(text)
    if not head:
        return None, None, None, text
    status, rest = head.group(1), text[head.end():]
    # bounce-log / mail_logs form: <label> ('550', ['line', "line"]) []
    i = rest.find("('")
    if i >= 0:
        tail = _WRAP_LIST.match(rest, i)
        if tail:
            label = rest[:i].strip()
            code, literal = tail.group(1), tail.group(2)
            lines = _response_lines(literal)
            if code == "000":  # no SMTP conversation (DNS failure, expiry): the text is the ESA's own
                code = None
            return f"{status} - {label}", status, code, " ".join(lines).strip()
    # DSN form: <label> 550-'5.7.1 ...' (delivery attempts: 0)
    rest = rest[:_MAX_TEXT].rstrip()
    if rest.endswith(")"):  # the regex reads only the tail: a long run of spaces stays linear
        cut = _WRAP_ATTEMPTS.search(rest[-48:])
        rest = rest[:len(rest) - 48 + cut.start()] if cut and len(rest) >= 48 else _WRAP_ATTEMPTS.sub("", rest)
    quoted = _WRAP_QUOTED.search(rest)
    label = (rest[:quoted.start()] if quoted else rest).strip()
    if not label or not _known_wrapper(label):
        return None, None, None, text
    if quoted:
        inner = rest[quoted.end():]
        end = inner.rfind("'")
        inner = inner[:end] if end >= 0 else inner
        return f"{status} - {label}", status, quoted.group(1), inner.strip()
    return f"{status} - {label}", status, None, ""


def _known_wrapper(label: str) -> dict[str, Any] | None:
    low = normalise(label)
    for w in catalogue().wrappers:
        if low.startswith(w["text"]):
            return w
    return None


def _is_permanent(status: str | None, code: str | None) -> bool | None:
    if status:
        return status[0] == "5"
    if code:
        return code[0] == "5"
    return None


def _hard(reason: str, status: str | None, code: str | None) -> bool | None:
    cat = catalogue()
    if reason in cat.hard:
        return True
    if reason in cat.hard_if_permanent:
        return bool(_is_permanent(status, code))
    return False


def _pick_status(given: str | None, text: str) -> str | None:
    """The DSN Status: field wins unless it is vague (x.0.0) and the reply names a precise one."""
    inner = find_status(text)
    if given and not given.endswith(".0.0") and ".0.9" not in given:
        return given
    if inner and not inner.endswith(".0.0"):
        return inner
    return given or inner


def classify_text(
    text: str | None,
    status: str | None = None,
    code: str | int | None = None,
    *,
    action: str | None = None,
    diagnostic_type: str | None = None,
    command: str | None = None,
) -> Classification:
    """Classify one reply / diagnostic text.

    status:          the DSN Status: field (x.y.z), if known
    code:            the SMTP reply code, if known separately
    action:          the DSN Action: field (failed, delayed ...)
    diagnostic_type: "smtp", "x-unix", "x-postfix" ... from Diagnostic-Code:
    command:         the SMTP command the reply answered (EHLO, MAIL, RCPT, DATA)
    """
    raw = (text or "")[:_MAX_TEXT]
    raw = raw.strip()
    if raw.lower().startswith("smtp;"):
        raw = raw[5:].strip()
    given_status = find_status(status) if status else None
    code = str(code).strip() if code not in (None, "") else None
    if code == "000":
        code = None

    wrapper, wrap_status, inner_code, inner = unwrap_asyncos(raw)
    esa = wrapper is not None
    wrap_entry = _known_wrapper(wrapper.split(" - ", 1)[1]) if wrapper else None
    if wrapper:
        # the wrapper status is the ESA's reading of the remote code; the inner reply is better
        code = inner_code or code
        given_status = None if (given_status or "").endswith(".0.0") else given_status
        raw = inner
        if (not given_status and inner and not find_status(inner) and wrap_entry
                and not str(wrap_entry.get("status", "x")).startswith("x")):
            # the ESA's specific reading (5.1.2 bad host, 5.4.7 expired) of a reply without a status;
            # its generic classes (x.1.0 "Unknown address error" for any 5xx) say nothing: not used
            given_status = wrap_status
    low = normalise(raw[:_MATCH_TEXT * 2])[:_MATCH_TEXT]
    st = _pick_status(given_status, raw[:_MATCH_TEXT])
    code = code or find_code(raw[:_MATCH_TEXT])
    temporary = None if _is_permanent(st, code) is None else not _is_permanent(st, code)

    act = (action or "").strip().lower()

    def done(reason: str, rule: str, evidence: str, stage: str | None = None) -> Classification:
        if act.startswith("expired") and reason in _GAVE_UP:
            # the DSN says the retries ran out (Action: expired)
            reason, rule = "expired", f"{rule}+ACTION-expired"
        if wrapper and stage is None:
            stage = (wrap_entry or {}).get("stage", "delivery")
        return Classification(
            reason=reason, hard=_hard(reason, st, code) if (low or st or code or wrapper) else None, stage=stage,
            status=st, code=code, remote_text=raw, esa=esa or rule.startswith("ESA-"), rule=rule,
            evidence=evidence, wrapper=wrapper, temporary=temporary,
        )

    if not (low or st or code or wrapper):
        return Classification("undefined", None, None, None, None, "", False, "EMPTY", "")
    cmd = (command or "").strip().upper()
    dtype = (diagnostic_type or "").strip().lower()
    reason, rule, ev, stage = _decide(mask(low), st, code, act, dtype, cmd, wrapper.split(" - ", 1)[1] if wrapper else None,
                                      bool(inner_code))
    if isinstance(ev, re.Pattern):
        m = ev.search(low)
        evidence = m.group(0) if m else (ev.search(mask(low)) or _EMPTY_MATCH).group(0)
    else:
        evidence = ev
    return done(reason, rule, evidence, stage)


class _Empty:
    def group(self, _n: int = 0) -> str:
        return ""


_EMPTY_MATCH = _Empty()
_MASK_ADDR = re.compile(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
_MASK_IP = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.]*\d)")
_MASK_NUM = re.compile(r"\d{5,}")


def mask(low: str) -> str:
    """The text with what varies per recipient (addresses, IPs, long ids) made constant, for the cache.

    No catalogue pattern depends on an address's parts, an IP's digits or a 5+ digit number.
    """
    if "@" in low:
        low = _MASK_ADDR.sub("x@x.invalid", low)
    return _MASK_NUM.sub("0", _MASK_IP.sub("192.0.2.1", low))


@lru_cache(maxsize=65536)
def _decide(low: str, st: str | None, code: str | None, act: str, dtype: str, cmd: str, wrapper: str | None,
            inner_code: bool) -> tuple[str, str, Any, str | None]:
    """(reason, rule, evidence: regex to re-run on the real text or a literal, stage): the ordered layers."""
    cat = catalogue()
    wrap_entry = _known_wrapper(wrapper) if wrapper else None
    if wrap_entry and wrap_entry.get("reason") and not inner_code:
        # no SMTP conversation ('000'): the ESA's own reading is the cause (DNS, expiry)
        return wrap_entry["reason"], "ASYNCOS-WRAPPER", "", None
    # 2. an ESA speaking as the receiving MTA
    for entry, rx in cat.esa:
        if rx is not None and rx.search(low):
            return entry["reason"], entry["id"], rx, entry["stage"]

    # a status code that names the cause on its own (5.1.8 sender, 5.7.25 PTR, 5.2.2 mailbox full ...)
    if st and st in cat.strong_status:
        return cat.strong_status[st], f"STATUS-{st}", st, None

    table = cat.status_codes.get(st or "")

    def text_match(name: str) -> bool:
        return bool(low) and any(r.regex.search(low) for r in cat.reasons
                                 if r.tier == 1 and r.name == name and r.regex is not None)

    # 3. first tier: decisive status code or text, in order
    for r in cat.reasons:
        if r.tier != 1:
            continue
        if st and any(_status_matches(st, s) for s in r.status):
            if r.name == "userunknown" and any(text_match(o) for o in _USERUNKNOWN_PREMATCH):
                continue  # "550 5.1.1 ... blacklisted": the text names another cause
            return r.name, f"STATUS-{st}", st, None
        if not (r.regex and low and r.regex.search(low)):
            continue
        if (r.name == "userunknown" and not r.any_command and cmd != "RCPT" and table != "userunknown"
                and (cmd or table == "filtered")):
            # "unknown user" said after DATA, or with a 5.2.x status, is a recipient filter (Sisimai's rule)
            if cmd == "DATA" or table == "filtered":
                return "filtered", "TEXT-userunknown-not-at-RCPT", r.regex, None
            continue
        return r.name, f"TEXT-{r.name}", r.regex, None

    # a wrapper with its own reading (Bad destination host, Delivery expired ...)
    if wrap_entry and wrap_entry.get("reason"):
        return wrap_entry["reason"], "ASYNCOS-WRAPPER", "", None
    if cmd == "MAIL" and (_is_permanent(st, code) or not (st or code)):
        return "rejected", "COMMAND-MAIL", "in reply to MAIL FROM", None

    # 4. status table (unless it only says "look elsewhere"), second tier texts, class fallbacks
    if table and table not in _RETRY:
        return table, f"STATUS-{st}", st or "", None
    for r in cat.reasons:
        if r.tier == 2 and r.regex and low and r.regex.search(low):
            return r.name, f"TEXT-{r.name}", r.regex, None
    if table and table != "onhold":
        return table, f"STATUS-{st}", st or "", None
    if st:
        klass = st[st.index(".") + 1:].split(".")[0]
        if klass == "6":
            return "contenterror", "CLASS-X.6", st, None
        if klass == "7":
            return "securityerror", "CLASS-X.7", st, None
    if dtype in ("x-unix", "x-postfix") and low:
        return "mailererror", f"TYPE-{dtype}", dtype, None
    if code in ("500", "501", "502", "503", "504"):
        return "syntaxerror", f"CODE-{code}", code, None
    if act.startswith(("delayed", "expired")):
        return "expired", "ACTION-delayed", act, None
    if cmd in ("EHLO", "HELO", "CONN"):
        return "blocked", "COMMAND-HELO", cmd, None
    if st and st.startswith("2"):
        return "delivered", f"STATUS-{st}", st, None
    return "onhold", "NO-MATCH", "", None


def classify_bounce(b: Any) -> Classification:
    """Classify a `collectors.bounces.Bounce` (duck-typed: diagnostic, status, code, action ...)."""
    if getattr(b, "reason", None) in ("feedback", "vacation"):
        return Classification(b.reason, False, None, None, None, b.diagnostic or "", False, f"FORM-{b.reason}",
                              b.diagnostic or "")
    action = (getattr(b, "action", None) or "").lower()
    c = classify_text(b.diagnostic, status=b.status, code=b.code, action=action,
                      diagnostic_type=getattr(b, "diagnostic_type", None), command=getattr(b, "command", None))
    if action in ("delivered", "deliverable", "relayed", "expanded") and c.reason in ("onhold", "undefined", "delivered"):
        return Classification("delivered", False, None, c.status, c.code, c.remote_text, c.esa,
                              f"ACTION-{action}", action)
    context = (getattr(b, "fields", None) or {}).get("context")
    if c.reason in ("onhold", "undefined") and context and context != b.diagnostic:
        wider = classify_text(context, status=b.status, code=b.code, action=action,
                              diagnostic_type=getattr(b, "diagnostic_type", None), command=getattr(b, "command", None))
        if wider.reason not in ("onhold", "undefined"):
            return wider
    return c


_HEADERS = re.compile(r"\A(?:[\w-]+:[^\n]*\n(?:[ \t][^\n]*\n)*){2,}", re.I)


def classify_ndr(text: str | bytes) -> Classification:
    """Classify what a user pasted: a whole bounce message (headers + body) or just the reply text.

    A message is parsed as a DSN (RFC 3464 or the common plain forms) and its first failed
    recipient is classified; anything else goes to `classify_text` as it is.
    """
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    head = data[:4096].decode("utf-8", "replace").replace("\r\n", "\n").lstrip()
    if _HEADERS.match(head):
        from diagnose.collectors.bounces import parse_dsn

        records = [b for b in parse_dsn(data[:20 * 1024 * 1024], "ndr") if not b.error]
        if records:
            return classify_bounce(records[0])
    return classify_text(data[:_MAX_TEXT].decode("utf-8", "replace"))
