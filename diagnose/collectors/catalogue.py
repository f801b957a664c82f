"""The line catalogue: one named regex per mail_logs line shape -> Event kind and fields.

Every pattern names the shape (`name`, unique), the Event kind it produces (`kind`, shared by
shapes that mean the same, e.g. the four bounce grammars) and its dispatch keys. Dispatch is
cheap: the first word of the text, or the first word plus the second or the third word
(`MID 123 ready ...` -> ("MID", "*", "ready")), selects one or a few candidate regexes, so a
line is tried against one or two patterns, not a hundred.

`classify(text)` -> (Pattern, match) or None, for the fast counting path;
`fields(pattern, match)` -> typed fields (ids are ints, `rids` a list of ints);
`parse(text)` -> (kind, fields) or None.

Grammar sources: ../shared/reference/esa-log-formats.md §1c and §3-§10, version table §13.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

INT_FIELDS = frozenset((
    "icid", "mid", "rid", "dcid", "rcid", "new_mid", "parent_mid", "bytes", "size", "limit", "port",
    "days", "seconds", "risk_factor", "pid", "offset", "count", "part",
))
ID_FIELDS = ("icid", "mid", "dcid", "rcid", "new_mid", "parent_mid")


@dataclass
class Pattern:
    name: str  # unique shape name
    kind: str  # Event kind (ARCHITECTURE.md)
    keys: tuple[tuple[str, ...], ...]
    regex: re.Pattern[str]
    post: Callable[[dict[str, Any]], None] | None = None
    const: dict[str, Any] = field(default_factory=dict)  # fields every line of this shape has
    ids: tuple[str, ...] = ()  # id groups present in the regex, for the counting correlator
    index: int = -1  # position in PATTERNS; its marker group in a family regex is `_index`
    shared_id: bool = False  # its family regex captures the leading MID/ICID/DCID as group 1
    shared_field: str = ""  # "mid", "icid" or "dcid": the id right after the first word
    gid: dict[str, str] = field(default_factory=dict)  # id field -> its group name in the family regex
    spec: tuple[tuple[str | None, int], ...] = ()  # per regex group: (field name, 0 text | 1 int | 2 rid list)


PATTERNS: list[Pattern] = []
EOL = r"\s*$"


def P(name: str, kind: str, keys: str, regex: str, post: Callable[[dict[str, Any]], None] | None = None,
      **const: Any) -> None:
    # A lazy group before `\s*$` makes sre try the end test at every character (slow on long
    # lines); a greedy run that ends on a non-space captures the same text in one sweep.
    if regex.endswith(".*?)" + EOL):
        regex = regex[: -len(".*?)" + EOL)] + "(?:.*\\S)?)" + EOL
    elif regex.endswith(".+?)" + EOL):
        regex = regex[: -len(".+?)" + EOL)] + ".*\\S)" + EOL
    rx = re.compile(regex)
    ks = tuple(tuple(k.split()) for k in keys.split("|"))
    ids = tuple(g for g in ID_FIELDS if g in rx.groupindex)
    PATTERNS.append(Pattern(name, kind, ks, rx, post, const, ids))


# ---------------------------------------------------------------- value helpers

_QUOTED_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_ESC = re.compile(r"\\(.)")


def unquote(s: str) -> str:
    """Python-repr quoting as AsyncOS logs it: '...' or "..." (when the value holds a '), or bare."""
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        inner = s[1:-1]
        return _ESC.sub(lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), inner) \
            if "\\" in inner else inner
    return s


def repr_list(s: str) -> list[str]:
    """"'a', \"b's\"" (the inside of a Python list of strings) -> ['a', "b's"]."""
    out = []
    for m in _QUOTED_ITEM.finditer(s[:20000]):
        v = m.group(1) if m.group(1) is not None else m.group(2)
        out.append(_ESC.sub(lambda x: x.group(1), v) if "\\" in v else v)
    return out


def _rids(s: str) -> list[int]:
    return [int(x) for x in s.replace(",", " ").split() if x.isdigit()]


def _float(s: str | None) -> float | None:
    try:
        return float(s) if s is not None else None
    except ValueError:
        return None


# ---------------------------------------------------------------- post-processing per shape

def _hat(f: dict[str, Any]) -> None:
    f["sbrs_score"] = _float(f.get("sbrs"))
    if f.get("rule") is not None:
        f["rule"] = f["rule"].strip()


def _rdns(f: dict[str, Any]) -> None:
    v = f.get("rdns_verified")
    f["rdns_verified"] = (v == "yes") if v is not None else None


def _interim(f: dict[str, Any]) -> None:
    f["interim"] = bool(f.get("interim"))


def _tls(f: dict[str, Any]) -> None:
    rest = f.pop("rest", "") or ""
    m = re.search(r"protocol (\S+) cipher (\S+)", rest)
    if m:
        f["protocol"], f["cipher"] = m.group(1), m.group(2)
    m = re.search(r"\bfor (\S+)", rest)
    if m:
        f["domain"] = m.group(1)
    detail = rest.strip(" :")
    if detail and "protocol" not in detail:
        f["detail"] = detail


def _message_id(f: dict[str, Any]) -> None:
    f["message_id"] = unquote(f["message_id"])


def _subject(f: dict[str, Any]) -> None:
    f["subject"] = unquote(f["subject"])


def _response(f: dict[str, Any]) -> None:
    raw = f.pop("raw", "") or ""
    f["response"] = [unquote(raw)] if raw else []
    m = re.match(r"['\"]?(\d)\.(\d{1,3})\.(\d{1,3})\b", raw)
    if m:
        f["dsn"] = ".".join(m.groups())


def _bounce(f: dict[str, Any]) -> None:
    f["response"] = repr_list(f.pop("resp", "") or "")


def _bouncelog(f: dict[str, Any]) -> None:
    reason = f.get("reason") or ""
    m = re.match(r"(\d\.\d{1,3}\.\d{1,3}) - (.*)", reason)
    if m:
        f["dsn"], f["reason"] = m.group(1), m.group(2)
    resp = f.pop("resp", None)
    if resp:
        m = re.match(r"\('(\d{3})', \[(.*)\]\)", resp)
        if m:
            f["code"], f["response"] = m.group(1), repr_list(m.group(2))
        else:
            f["response"] = [resp]


def _headers(f: dict[str, Any]) -> None:
    h = f.pop("headers", None)
    if h:
        items = repr_list(h)
        f["headers"] = {items[i].lower(): items[i + 1] for i in range(0, len(items) - 1, 2)}
    f["target"] = f.get("target") or ""


def _strip_addr(f: dict[str, Any]) -> None:
    for k in ("recipient", "sender"):
        v = f.get(k)
        if v is not None:
            f[k] = v.strip().strip("<>").strip()


def _quarantine_all(f: dict[str, Any]) -> None:
    if f.pop("all", None):
        f["quarantine"] = "all"
    f["attachments_stripped"] = bool(f.pop("stripped", None))


def _filter_type(f: dict[str, Any]) -> None:
    t = (f.get("filter_type") or "message filter").split()[0]
    f["filter_type"] = {"content": "content", "policy": "policy", "message": "message", "filter": "message"}.get(t, t)


def _split(f: dict[str, Any]) -> None:
    m = re.search(r"per-recipient policy (.+?)(?: for following recipients|$)", f.get("reason") or "")
    if m:
        f["policy"] = m.group(1)
    m = re.search(r"for following recipients: (.*)$", f.get("reason") or "")
    if m:
        f["recipients"] = [r.strip() for r in m.group(1).split(",") if r.strip()]


def _sdr_domains(f: dict[str, Any]) -> None:
    for m in re.finditer(r"(reverse DNS host|helo|env-from|header-from|reply-to): ([^,]*)", f.get("domains") or ""):
        f[m.group(1).replace(" ", "_").replace("-", "_").lower()] = m.group(2).strip()


def _av_log(f: dict[str, Any]) -> None:
    d = f.get("detail") or ""
    m = re.match(r"Virus '([^']*)'(?: '([^']*)')?", d)
    if m:
        f["verdict"], f["virus"] = "VIRAL", m.group(1)
        if m.group(2):
            f["file"] = m.group(2)
        return
    m = re.match(r"Result '([^']*)'", d)
    if m:
        f["verdict"] = m.group(1)
        return
    m = re.match(r"(Error|Limit) - '([^']*)'", d)
    if m:
        f["verdict"], f["reason"] = m.group(1).upper(), m.group(2)
    elif "timed out" in d:
        f["verdict"] = "TIMEOUT"


def _amp_log(f: dict[str, Any]) -> None:
    rest = f.pop("rest", "") or ""
    for key, rx in (("disposition", r"Disposition = (\w+)"), ("malware", r"Malware = ([^,]+)"),
                    ("file_name", r"File ?Name = ('[^']*'|.*?), MID ="), ("sha256", r"sha256 ?= ?([0-9a-fA-F]{64})"),
                    ("verdict_source", r"verdict_source = (\w+)")):
        m = re.search(rx, rest)
        if m:
            f[key] = unquote(m.group(1)) if key == "file_name" else m.group(1).strip()
    if "disposition" in f:
        f["verdict"] = f["disposition"]


_CEF_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z0-9_]+)=")
_CEF_MAP = {"ESAMID": "mid", "ESAICID": "icid", "suser": "sender", "duser": "recipient", "act": "action",
            "sourceAddress": "ip", "src": "ip", "ESASenderGroup": "sender_group", "ESAMailFlowPolicy": "policy_action",
            "cfp1": "sbrs", "deviceExternalId": "serial", "ESAFinalActionDetails": "reason", "ESADCID": "dcid",
            "ESAMsgID": "message_id", "ESASubject": "subject"}


def _cef(f: dict[str, Any]) -> None:
    ext = f.pop("ext", "") or ""
    kv: dict[str, str] = {}
    matches = list(_CEF_KEY.finditer(ext))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(ext)
        kv[m.group(1)] = ext[m.end():end].strip()
    f["cef"] = kv
    for k, name in _CEF_MAP.items():
        if k in kv and name not in f:
            v = kv[k]
            if name in INT_FIELDS or name in ("mid", "icid", "dcid"):
                try:
                    f[name] = int(v.split(",")[0].strip("[] "))
                except ValueError:
                    continue
            else:
                f[name] = v
    if isinstance(f.get("recipient"), str) and "," in f["recipient"]:
        f["recipients"] = [r.strip() for r in f["recipient"].split(",") if r.strip()]
        f["recipient"] = f["recipients"][0] if f["recipients"] else ""
    f["sbrs_score"] = _float(f.get("sbrs"))


def _bv_action(f: dict[str, Any]) -> None:
    a2 = f.pop("action2", None)
    f["action"] = f.get("action") or a2


def _smtp_error(f: dict[str, Any]) -> None:
    f["response"] = repr_list(f.pop("resp", "") or "")


_DHAP_HOST = re.compile(r"\(\s*'?([^',\s)]*)'?\s*,\s*(?:'([^']*)'|\"([^\"]*)\"|None)\s*\)")


def _dhap(f: dict[str, Any]) -> None:
    # host=('85.1.112.129', 'rdns') or host=('192.168.10.1', None) as logged, or a bare host (template)
    host = f.pop("host", "") or ""
    m = _DHAP_HOST.match(host)
    if m:
        f["ip"] = m.group(1)
        rdns = m.group(2) if m.group(2) is not None else m.group(3)
        if rdns:
            f["rdns"] = rdns
    elif host:
        f["ip"] = host
    f["action"] = "dropped" if f.pop("what", "").startswith("Dropping") else "detected"


def _masquerading(f: dict[str, Any]) -> None:
    for k in ("original", "masqueraded"):
        v = f.get(k)
        if v is not None:
            f[k] = unquote(v).strip().strip("'\"<>,").strip()


# ---------------------------------------------------------------- the catalogue
# Groups of shapes follow esa-log-formats.md. Regexes are matched against the text after "Level: ".
ADDR = r"<\s*(?P<{0}>[^>]*)>"

# -- file header (§1a)
P("blank_line", "blank_line", "<blank>", r"\s*$")
P("log_begin", "log_begin", "Begin", r"Begin Logfile" + EOL)
P("log_end", "log_end", "End", r"End Logfile" + EOL)
P("log_rollover", "log_rollover", "Logfile", r"Logfile rolled over" + EOL)
P("log_version", "log_version", "Version:", r"Version: (?P<version>\S+) SN: (?P<serial>\S+)" + EOL)
P("log_tz_offset", "log_tz_offset", "Time", r"Time offset from UTC: (?P<offset>-?\d+) seconds" + EOL)

# -- connection / HAT (§3)
P("icid_new", "icid_new", "New SMTP",
  r"New SMTP ICID (?P<icid>\d+) interface (?P<interface>.+?) (?:\((?P<interface_ip>[^)]*)\) )?address (?P<ip>\S+)"
  r"(?: reverse dns host +(?P<rdns>\S*) verified (?P<rdns_verified>yes|no))?" + EOL, _rdns)
P("hat_decision", "hat_decision", "ICID * ACCEPT|ICID * REJECT|ICID * TCPREFUSE|ICID * RELAY|ICID * CONTINUE|ICID",
  r"ICID (?P<icid>\d+) (?P<action>ACCEPT|REJECT|TCPREFUSE|RELAY|CONTINUE|[A-Z_]+) SG (?P<sender_group>\S+)"
  r"(?: match (?P<rule>.*?))?\s+SBRS (?P<sbrs>-?\d+(?:\.\d+)?|None|not enabled|rfc1918|unable to retrieve|\S+)"
  r"(?: country (?P<country>.+?))?" + EOL, _hat)
P("hat_sbrs_only", "hat_sbrs_only", "ICID * SBRS", r"ICID (?P<icid>\d+) SBRS (?P<sbrs>.+?)" + EOL, _hat)
P("hat_delayed_reject", "hat_delayed_reject", "ICID * Delayed",
  r"ICID (?P<icid>\d+) Delayed HAT REJECT continuing session for recipient logging \((?P<ip>[^)]*)\)" + EOL,
  action="REJECT")
P("icid_tls", "icid_tls", "ICID * TLS", r"ICID (?P<icid>\d+) TLS (?P<result>success|failed)(?P<rest>.*?)" + EOL, _tls)
P("icid_tls_required", "icid_tls_required", "ICID * TLS",
  r"ICID (?P<icid>\d+) TLS was required but remote host did not initiate it" + EOL)
P("smtp_auth", "smtp_auth", "SMTP Auth",
  r"SMTP Auth:? \(ICID (?P<icid>\d+)\) (?P<result>succeeded|failed) for user: (?P<user>.*?) using AUTH mechanism: "
  r"(?P<mechanism>\S+) with profile: (?P<profile>.*?)" + EOL)
P("smtp_auth_required", "smtp_auth_required", "SMTP Auth",
  r"SMTP Auth:? \(ICID (?P<icid>\d+)\) was required but remote host did not initiate it" + EOL)
P("icid_close", "icid_close", "ICID * close|ICID * lost", r"ICID (?P<icid>\d+) (?P<how>close|lost)" + EOL)
P("icid_timeout", "icid_timeout", "ICID * disconnected",
  r"ICID (?P<icid>\d+) disconnected address (?P<ip>[^\s,]+),? no messages injected within timeout period" + EOL)
P("icid_lost_dns", "icid_lost_dns", "ICID * Connection",
  r"ICID (?P<icid>\d+) Connection from (?P<ip>\S+) on interface (?P<interface>.*?) lost after (?P<seconds>\d+) seconds"
  r"(?P<detail>.*?)" + EOL)
P("icid_killed", "icid_killed", "SMTP server", r"SMTP server connection killed ICID: (?P<icid>\d+)" + EOL)
P("icid_bad_address", "icid_bad_address", "Incoming",
  r"Incoming (?P<protocol>\S+) connection undetermined IP on interface (?P<interface>.*?)" + EOL)
P("icid_receiving_failed", "icid_receiving_failed", "ICID * Receiving|ICID * Injection",
  r"ICID (?P<icid>\d+) (?P<phase>Receiving|Injection) Failed: (?P<reason>.*?)" + EOL)
# DHAP. Real: TechNote 118936 "Warning: LDAP: Dropping connection due to potential Directory Harvest Attack from
# host=('192.168.10.1', None), dhap_limit=4, sender_group=SUSPECTLIST" (LDAP accept counted the invalid
# recipients); Cisco community thread 863009 adds ", listener=External_listener, reverse_dns=85.1.112.129".
# qlogmsgs template: "Potential Directory Harvest Attack from host=$h, dhap_limit=$n, sender_group=$sg".
# No ICID on these lines: the engine joins them to the connection by IP.
_DHAP = (r"(?P<what>Dropping connection due to potential|Potential) Directory Harvest Attack from "
         r"host=(?P<host>\([^)]*\)|[^,\s]+), dhap_limit=(?P<limit>\d+), sender_group=(?P<sender_group>[^,\s]+)"
         r"(?:, listener=(?P<listener>[^,]*))?(?:, reverse_dns=(?P<reverse_dns>[^,\s\"]*))?(?P<rest>.*?)" + EOL)
P("dhap", "dhap", "Potential|Dropping", _DHAP, _dhap)
P("dhap_ldap", "dhap", "LDAP:", r"LDAP: " + _DHAP, _dhap, via="LDAP")
# qlogmsgs templates: the listener's limits, and a connection refused before it got an ICID
P("system_limit", "system_limit", "System",
  r"System limit reached: (?P<what>.+?) for IP (?P<ip>\S+) on listener (?P<listener>.+?) ICID (?P<icid>\d+): "
  r"max: (?P<limit>\d+)" + EOL)
P("listener_rejected", "listener_rejected", "SMTP|QMQP|ESMTP|LMTP",
  r"(?P<protocol>SMTP|ESMTP|QMQP|LMTP) connection rejected on interface (?P<interface>.+?)"
  r"(?: \((?P<interface_ip>[^)]*)\))? address (?P<ip>\S+)" + EOL)

P("sender_exception", "sender_exception", "ICID * Address:",
  r"ICID (?P<icid>\d+) Address: <?\s*(?P<sender>[^<>]*?)>? sender (?P<decision>allowed|rejected), "
  r"envelope sender matched domain exception" + EOL)
P("sender_dns_rejected", "sender_dns_rejected", "ICID * Address:",
  r"ICID (?P<icid>\d+) Address: <?\s*(?P<sender>[^<>]*?)>? sender rejected, envelope sender domain (?P<why>.*?)" + EOL)
P("invalid_sender", "invalid_sender", "ICID * Invalid",
  r"ICID (?P<icid>\d+) Invalid sender address: (?P<reason>.*?)" + EOL)
P("invalid_recipient", "invalid_recipient", "ICID * MID",
  r"ICID (?P<icid>\d+) MID (?P<mid>\d+) Invalid recipient address: (?P<reason>.*?)" + EOL)

# -- envelope (§4)
P("mid_start", "mid_start", "Start MID",
  r"Start MID (?P<mid>\d+) ICID (?P<icid>\d+)(?: \((?P<note>[^)]*)\))?" + EOL)
P("mid_from", "mid_from", "MID * ICID",
  r"MID (?P<mid>\d+) ICID (?P<icid>\d+) From: ?" + ADDR.format("sender") + r"(?P<rest>.*?)" + EOL)
P("mid_to", "mid_to", "MID * ICID",
  r"MID (?P<mid>\d+) ICID (?P<icid>\d+) RID (?P<rid>\d+) To: ?" + ADDR.format("recipient") + r"(?P<rest>.*?)" + EOL)
P("mid_rcpt_rejected", "mid_rcpt_rejected", "MID * ICID",
  r"MID (?P<mid>\d+) ICID (?P<icid>\d+) To: ?(?P<recipient>.*?) Rejected by (?P<by>.+?)\.?" + EOL, _strip_addr)
P("bounce_verification", "bounce_verification", "MID * ICID",
  r"MID (?P<mid>\d+) ICID (?P<icid>\d+) invalid bounce, (?:rcpt address " + ADDR.format("recipient")
  + r" (?P<action>rejected) by bounce verification\.?|(?P<action2>tagging))" + EOL, _bv_action)
P("mid_ready", "mid_ready", "MID * ready",
  r"MID (?P<mid>\d+) ready (?P<bytes>\d+) bytes from " + ADDR.format("sender") + r"(?P<rest>.*?)" + EOL)
P("mid_message_id", "mid_message_id", "MID * Message-ID", r"MID (?P<mid>\d+) Message-ID ?(?P<message_id>.*?)" + EOL,
  _message_id)
P("mid_subject", "mid_subject", "MID * Subject", r"MID (?P<mid>\d+) Subject ?(?P<subject>.*?)" + EOL, _subject)
P("alias_match", "alias_match", "Alias match:",
  r"Alias match: (?:MID (?P<mid>\d+) RID (?P<rid>\d+) )?recipient (?P<recipient>\S+) mapped to (?P<targets>.*?)" + EOL)
P("incoming_relay", "incoming_relay", "MID",
  r"MID (?P<mid>\d+) IncomingRelay\((?P<relay>[^)]*)\): Header Received found, (?:ip|IP) (?P<ip>[^\s,]+),? being used"
  r"(?:, SBRS (?P<sbrs>\S+))?" + EOL, _hat)
P("masquerading", "masquerading", "MID * masquerading",  # qlogmsgs template; S2W shows a header one cut by a ^M
  r"MID (?P<mid>\d+) masquerading (?P<what>envelope sender|envelope recipient|header '[^']*'|header \S+) "
  r"from (?P<original>.*?)(?: to (?P<masqueraded>'[^']*'|\"[^\"]*\"|\S+))?" + EOL, _masquerading)

P("ldap_query", "ldap_query", "LDAP:",
  r"LDAP: (?P<query_type>Drop|Bounce|Reroute|Accepted|No Match|Masquerade|Routing) query (?P<query>\S+)"
  r"(?: MID (?P<mid>\d+) RID (?P<rid>\d+))? address (?P<address>\S+)(?: to (?P<target>.*?))?" + EOL)
P("ldap_unable", "ldap_unable", "LDAP:",
  r"LDAP: unable to process, MID (?P<mid>\d+) (?P<action>requeued|bouncing recipients|.+?)" + EOL)

# -- authentication (§5)
P("spf", "spf", "MID * SPF:",
  r"MID (?P<mid>\d+) SPF: (?P<identity>helo|mailfrom|pra) identity (?P<address>\S*) (?P<result>[A-Za-z]+)"
  r"(?: \((?P<detail>.*)\))?" + EOL)
P("spf_other", "spf", "MID * SPF:", r"MID (?P<mid>\d+) SPF: (?P<detail>.*?)" + EOL)
P("verdict_cache", "verdict_cache", "MID * using",
  r"MID (?P<mid>\d+) using engine: (?P<engine>.+?) (?:Verdict Cache )?using cached verdict" + EOL)
P("dkim_sign", "dkim_sign", "MID * DKIM:|MID * DomainKeys:",
  r"MID (?P<mid>\d+) (?P<method>DKIM|DomainKeys): (?P<result>cannot sign|signed|signing)(?: - |: | )?(?P<detail>.*?)" + EOL)
P("dkim", "dkim", "MID * DKIM:",
  r"MID (?P<mid>\d+) DKIM: (?P<result>\S+)(?: (?P<detail>.*?))??(?: \(d=(?P<domain>\S*) s=(?P<selector>\S*)"
  r"(?: i=(?P<identity>\S*))?\))?" + EOL)
P("domainkeys", "dkim", "MID * DomainKeys:",
  r"MID (?P<mid>\d+) DomainKeys: (?P<result>\S+)(?: (?P<detail>.*?))?" + EOL, method="DomainKeys")
P("dmarc", "dmarc", "MID * DMARC:",
  r"MID (?P<mid>\d+) DMARC: Message from domain (?P<domain>\S+?),? DMARC (?P<result>\w+)"
  r"(?: \(SPF aligned (?P<spf_aligned>\w+), DKIM aligned (?P<dkim_aligned>\w+)\))?(?P<detail>.*?)" + EOL)
P("dmarc_verification", "dmarc_verification", "MID * DMARC:",
  r"MID (?P<mid>\d+) DMARC: Verification (?P<result>.*?)\.?" + EOL)
P("dmarc_other", "dmarc_verification", "MID * DMARC:", r"MID (?P<mid>\d+) DMARC: (?P<detail>.*?)" + EOL)
P("sdr_domains", "sdr_domains", "MID * SDR:",
  r"MID (?P<mid>\d+) SDR: Domains for which SDR is requested: (?P<domains>.*?)" + EOL, _sdr_domains)
P("sdr_verdict", "sdr_verdict", "MID * SDR:",
  r"MID (?P<mid>\d+) SDR: Consolidated Sender Threat Level: (?P<threat_level>[^,]*), Threat Category: (?P<category>.*?), "
  r"Suspected Domain\(s\) ?: (?P<suspected>.*?)(?:\. Sender Maturity: (?P<maturity>.*?) for domain: (?P<domain>\S+))?" + EOL)
P("sdr_other", "sdr_other", "MID * SDR:", r"MID (?P<mid>\d+) SDR: (?P<detail>.*?)" + EOL)

# -- work queue: policies, engines (§7)
P("policy_match", "policy_match", "MID * matched",
  r"MID (?P<mid>\d+) matched (?P<scope>all|the following) recipients for per-recipient policy (?P<policy>.+?) "
  r"in the (?P<direction>inbound|outbound) table" + EOL)
P("policy_split", "policy_split", "MID * was",
  r"MID (?P<mid>\d+) was split creating MID (?P<new_mid>\d+) due to (?:a )?(?P<reason>.*?)" + EOL, _split)
P("graymail", "graymail", "MID * using|MID * interim",
  r"MID (?P<mid>\d+) (?P<interim>interim verdict )?using engine: GRAYMAIL (?P<verdict>.+?)" + EOL, _interim,
  engine="GRAYMAIL")
P("antispam", "antispam", "MID * using|MID * interim",
  r"MID (?P<mid>\d+) (?P<interim>interim verdict )?using engine: (?P<engine>\S+) (?P<verdict>.+?)" + EOL, _interim)
P("antispam_legacy", "antispam", "MID * Brightmail",
  r"MID (?P<mid>\d+) (?P<engine>Brightmail) (?P<verdict>\S+)" + EOL, interim=False)
P("engine_bad_response", "engine_error", "MID * CASE",
  r"MID (?P<mid>\d+) (?P<engine>CASE) sent a poorly formatted response: (?P<detail>.*?)" + EOL)
P("av_interim", "av_interim", "MID * interim",
  r"MID (?P<mid>\d+) interim AV verdict using (?P<engine>\S+) (?P<verdict>.+?)" + EOL)
P("antivirus", "antivirus", "MID * antivirus",
  r"MID (?P<mid>\d+) antivirus (?P<verdict>\S+)(?: '(?P<virus>[^']*)')?(?: \((?P<detail>[^)]*)\))?" + EOL)
P("av_log", "av_log", "sophos|mcafee|Sophos|McAfee|antivirus",
  r"(?P<engine>\S+) +antivirus - MID (?P<mid>\d+)(?: (?P<part>\d+))? - (?P<detail>.*?)" + EOL, _av_log)
P("amp_verdict", "amp_verdict", "MID * AMP",
  r"MID (?P<mid>\d+) AMP file reputation verdict ?: (?P<verdict>\S+)(?: \((?P<detail>.*)\))?" + EOL)
P("amp_query", "amp_log", "File|Response",
  r"(?P<event>File reputation query initiating|Response received for file reputation query from (?P<source>\w+))\. "
  r"(?P<rest>.*?\bMID = (?P<mid>\d+).*?)" + EOL, _amp_log)
P("amp_analysis_complete", "amp_log", "File",
  r"(?P<event>File Analysis complete)\. SHA256: (?P<sha256>[0-9a-fA-F]+),(?P<detail>.*?)" + EOL)
P("amp_not_uploaded", "amp_log", "File",
  r"(?P<event>File not uploaded for analysis)\. MID = (?P<mid>\d+),? (?P<detail>.*?)" + EOL)
P("amp_upload_skipped", "amp_log", "File",
  r"(?P<event>File analysis upload skipped)\. SHA256: (?P<sha256>[0-9a-fA-F]+),(?P<detail>.*?)" + EOL)
P("amp_cloud_error", "engine_error", "SHA256:",
  r"SHA256: (?P<sha256>[0-9a-fA-F]+),Timestamp\[(?P<stamp>\d+)\] details\[(?P<detail>.*)\]" + EOL, engine="AMP")
P("amp_retrospective", "amp_log", "Retrospective",
  r"(?P<event>Retrospective verdict received)\. SHA256: (?P<sha256>[0-9a-fA-F]+),.*?Verdict: (?P<verdict>\w+)"
  r"(?P<detail>.*?)" + EOL)
P("outbreak_verdict", "outbreak_verdict", "MID * Outbreak",
  r"MID (?P<mid>\d+) Outbreak Filters: verdict (?P<verdict>\S+)(?P<detail>.*?)" + EOL)
P("outbreak_threat_level", "outbreak_threat_level", "MID * Virus",
  r"MID (?P<mid>\d+) Virus Threat Level=(?P<level>\S+)" + EOL)
P("too_big_for_scanning", "too_big_for_scanning", "MID * was",
  r"MID (?P<mid>\d+) was too big \((?P<size>\d+)/(?P<limit>\d+)\) for scanning by (?P<engine>.+?)" + EOL)
P("filter_action", "filter_action", "MID * was",
  r"MID (?P<mid>\d+) was (?P<action>dropped|bounced) by (?P<filter_type>content filter|message filter|policy|filter) "
  r"'?(?P<filter>.*?)'? in the (?P<direction>\w+) table" + EOL, _filter_type)
P("filter_aborted", "filter_action", "Message aborted",
  r"Message aborted MID (?P<mid>\d+) (?P<action>Dropped|Bounced) by (?P<filter_type>content filter|message filter|filter) "
  r"'?(?P<filter>.*?)'?(?: in the (?P<direction>\w+) table)?" + EOL,
  lambda f: (_filter_type(f), f.__setitem__("action", f["action"].lower())))
P("quarantined", "quarantined", "MID * quarantined",
  r"MID (?P<mid>\d+) quarantined to \"(?P<quarantine>[^\"]*)\"(?: \((?P<reason>.*)\))?" + EOL)
P("quarantine_new_reason", "quarantine_new_reason", "MID * quarantine",
  r"MID (?P<mid>\d+) quarantine \"(?P<quarantine>[^\"]*)\" new reason \((?P<reason>.*)\)" + EOL)
P("quarantine_released", "quarantine_released", "MID * released",
  r"MID (?P<mid>\d+) released(?P<stripped> \(attachments stripped\))? from (?:quarantine \"(?P<quarantine>[^\"]*)\"|"
  r"(?P<all>all quarantines))(?: \((?P<reason>[^)]*)\))?(?: t=(?P<t>\d+))?" + EOL, _quarantine_all)
P("quarantine_deleted", "quarantine_deleted", "MID * deleted",
  r"MID (?P<mid>\d+) deleted(?P<stripped> \(attachments stripped\))? from (?:quarantine \"(?P<quarantine>[^\"]*)\"|"
  r"(?P<all>all quarantines))(?: \((?P<reason>[^)]*)\))?(?: t=(?P<t>\d+))?" + EOL, _quarantine_all)
P("quarantine_transfer", "quarantined", "MID * enqueued",
  r"MID (?P<mid>\d+) enqueued for transfer to centralized (?P<quarantine>.*?) quarantine(?P<reason>.*?)" + EOL)
P("rewritten", "rewritten", "MID * rewritten",
  r"MID (?P<mid>\d+) rewritten to (?:MID )?(?P<new_mid>\d+) by (?P<by>.+?)(?: filter '(?P<filter>[^']*)')?" + EOL)
P("generated", "generated", "MID * generated|MID * was",
  r"MID (?P<mid>\d+) (?:was )?generated based on MID (?P<parent_mid>\d+) by (?P<by>.+?)(?: filter '(?P<filter>[^']*)')?"
  + EOL)
P("bounce_generated", "bounce_generated", "MID * generated|MID * was",
  r"MID (?P<mid>\d+) (?:was )?generated for bounce of MID (?P<parent_mid>\d+)" + EOL)
P("custom_log_entry", "custom_log_entry", "MID * Custom",
  r"MID (?P<mid>\d+) Custom Log Entry: (?P<entry>.*?)" + EOL)
P("url_reputation", "url_reputation", "MID * URL",
  r"MID (?P<mid>\d+) URL (?P<url>.+?) has reputation (?P<score>\S+) matched (?P<matched>.*?)" + EOL)
P("sds_incomplete", "url_reputation", "MID * not",
  r"MID (?P<mid>\d+) not completely scanned by (?P<engine>\S+)\. Error: (?P<detail>.*?)" + EOL)
P("dlp_violation", "dlp_violation", "MID * DLP",
  r"MID (?P<mid>\d+) DLP violation\. Severity: (?P<severity>\S+) \(Risk Factor: (?P<risk_factor>\d+)\)\. "
  r"DLP policy match: '(?P<policy>.*)'\.?" + EOL)
P("attachment", "attachment", "MID * attachment", r"MID (?P<mid>\d+) attachment (?P<name>.*?)" + EOL,
  lambda f: f.__setitem__("name", unquote(f["name"])))
P("charset_error", "charset_error", "MID * Could",
  r"MID (?P<mid>\d+) Could not convert character set: (?P<detail>.*?)" + EOL)
P("global_unsubscribe", "global_unsubscribe", "MID * Global",
  r"MID (?P<mid>\d+) Global unsubscribe matched entry (?P<entry>\S+) RID (?P<rid>\d+) Address (?P<recipient>\S+) "
  r"Action (?P<action>\w+)" + EOL)
P("aps_forward", "aps_forward", "MID * mail",
  r"MID (?P<mid>\d+) mail headers enqueued for forwarding to (?P<target>.*?)" + EOL)

# -- quarantines: spam quarantine, RPC (§8)
P("isq_tagging", "isq_tagging", "ISQ: Tagging|EUQ: Tagging",
  r"(?P<quarantine>ISQ|EUQ): Tagging MID (?P<mid>\d+) for quarantine" + EOL)
P("isq_quarantined", "isq_quarantined", "ISQ: Quarantined|EUQ: Quarantined",
  r"(?P<quarantine>ISQ|EUQ): Quarantined MID (?P<mid>\d+)" + EOL)
P("isq_reinjected", "isq_reinjected", "ISQ: Reinjected|EUQ: Reinjected",
  r"(?P<quarantine>ISQ|EUQ): Reinjected MID (?P<mid>\d+) as MID (?P<new_mid>\d+)" + EOL)
P("isq_released", "isq_released", "ISQ: Released|EUQ: Released",  # qlogmsgs template
  r"(?P<quarantine>ISQ|EUQ): Released MID (?P<mid>\d+)(?: to (?P<recipient>.*?))?" + EOL, _strip_addr)

P("rpc_delivery_start", "rpc_delivery_start", "RPC Delivery",
  r"RPC Delivery start RCID (?P<rcid>\d+) MID (?P<mid>\d+) to (?P<target>.*?)" + EOL)
P("rpc_delivery_start_legacy", "rpc_delivery_start", "Start delivery",
  r"Start delivery of MID (?P<mid>\d+) over RPC connection (?P<rcid>\d+)" + EOL)
P("rpc_message_done", "rpc_message_done", "RPC Message", r"RPC Message done RCID (?P<rcid>\d+) MID (?P<mid>\d+)" + EOL)
P("rpc_rejected", "rpc_rejected", "RPC Message", r"RPC Message rejected RCID (?P<rcid>\d+) MID (?P<mid>\d+)" + EOL)
P("rpc_failed", "rpc_failed", "RPC connection",
  r"RPC connection to (?P<address>\S+) failed RCID (?P<rcid>\d+) MID (?P<mid>\d+)(?: \((?P<reason>.*)\))?" + EOL)

# -- delivery (§9)
P("queued", "queued", "MID * queued", r"MID (?P<mid>\d+) queued for delivery" + EOL)
P("dcid_new", "dcid_new", "New SMTP",
  r"New SMTP DCID (?P<dcid>\d+) interface (?P<interface_ip>\S+) address (?P<ip>\S+)(?: port (?P<port>\d+))?" + EOL)
P("delivery_start", "delivery_start", "Delivery start",
  r"Delivery start DCID (?P<dcid>\d+) MID (?P<mid>\d+) to (?:RID )?\[(?P<rids>[\d, ]*)\](?: to (?P<target>.*?))?" + EOL,
  lambda f: f.__setitem__("target", f.get("target") or ""))
P("message_done", "message_done", "Message done",
  r"Message done DCID (?P<dcid>\d+) MID (?P<mid>\d+) to (?:RID )?\[(?P<rids>[\d, ]*)\]"
  r"(?: \((?P<target>external quarantine)\))?(?: (?P<headers>\[.*\]))?" + EOL, _headers)
P("response", "response", "MID * RID", r"MID (?P<mid>\d+) RID \[(?P<rids>[\d, ]*)\] Response (?P<raw>.*?)" + EOL,
  _response)
_BOUNCE = (r"DCID:? (?P<dcid>\d+) (?:MID|Message) (?P<mid>\d+) (?:From: ?<(?P<sender>[^>]*)> To: ?<(?P<recipient>[^>]*)> )?"
           r"(?:to )?(?:RID )?(?P<rid>\d+) - (?P<dsn>\d\.\d{1,3}\.\d{1,3}) - (?P<reason>.*?)"
           r"(?: \('(?P<code>\d{3})', \[(?P<resp>.*)\]\))?\s*(?:\[\])?" + EOL)
P("bounced", "bounced", "Bounced: DCID|Bounced: DCID:", r"Bounced: " + _BOUNCE, _bounce)
P("delayed", "delayed", "Delayed: DCID|Delayed: DCID:", r"Delayed: " + _BOUNCE, _bounce)
P("double_bounce", "double_bounce", "Double bounce:",
  r"Double bounce: (?:Message|MID) (?P<mid>\d+) to (?:RID )?(?P<rid>\d+) - (?P<dsn>\d\.\d{1,3}\.\d{1,3}) - (?P<reason>.*?)"
  + EOL)
P("pending_till", "pending_till", "Message * to|MID * to",
  r"(?:Message|MID) (?P<mid>\d+) to (?:RID )?\[(?P<rids>[\d, ]*)\] pending till "
  r"(?P<until>\w{3} \w{3} +\d{1,2} \d\d:\d\d:\d\d \d{4})(?: \[(?P<profile>[^\]]*)\])?" + EOL)
P("connection_error", "connection_error", "Connection Error:",
  r"Connection Error: (?:(?P<pre>.*?) )?DCID: (?P<dcid>\d+) IP: (?P<ip>\S+) details: (?P<details>.*?) "
  r"interface: (?P<interface>\S+)(?: reason: (?P<reason>.*?))?" + EOL)
P("connection_error_domain", "connection_error", "Connection Error:",  # qlogmsgs template, TechNote 117875
  r"Connection Error: DCID:? (?P<dcid>\d+) domain: (?P<domain>\S+) IP: (?P<ip>\S+) port: (?P<port>\d+) "
  r"details: (?P<details>.*?)(?: interface: (?P<interface>\S+))?(?: reason: (?P<reason>[^:]*?))?" + EOL)
# Destination Controls (qlogmsgs templates): the appliance itself holds delivery back
P("outbound_connection_limit", "destination_limit", "Maximum",
  r"Maximum outbound connections (?P<limit>\d+) reached for (?P<domain>\S+)" + EOL, what="connections")
P("recipient_limit_throttled", "destination_limit", "Delivery",
  r"Delivery to (?P<domain>\S+)(?: (?P<interface>.+?))? throttled by recipient limit" + EOL, what="recipients")

P("dns_temp_failure", "dns_temp_failure", "DNS Temporary",
  r"DNS Temporary Failure (?P<domain>\S+) (?P<rrtype>\S+) - (?P<detail>.*?)" + EOL)
P("dns_hard_error", "dns_error", "DNS Hard",
  r"DNS Hard Error (?:looking up )?(?P<domain>\S+) \((?P<rrtype>\w+)\):? (?P<detail>.*?)" + EOL)
P("deliveries_suspended", "deliveries_suspended", "Deliveries are",
  r"Deliveries are currently suspended \[(?P<domain>[^\]]*)\]" + EOL)
P("dcid_killed", "dcid_close", "SMTP client", r"SMTP client connection killed DCID: (?P<dcid>\d+)" + EOL, how="killed")
P("dcid_concurrency_exit", "dcid_close", "Mail delivery",
  r"Mail delivery client with DCID (?P<dcid>\d+) exited due to the maximum concurrency configuration\.?" + EOL,
  how="concurrency")
P("possible_delivery", "possible_delivery", "Possible Delivery:",
  r"Possible Delivery: DCID:? (?P<dcid>\d+) MID (?P<mid>\d+) to (?:RID )?\[(?P<rids>[\d, ]*)\]" + EOL)
P("deleted_recipients", "deleted_recipients", "Deleted: MID",
  r"Deleted: MID (?P<mid>\d+) to (?:RID )?\[(?P<rids>[\d, ]*)\]" + EOL)
P("expiration_scan", "expiration_scan", "Scanning",
  r"Scanning (?P<domain>\S+) with (?P<count>\d+) msgs for expiration candidates\.?" + EOL)
P("dcid_tls", "dcid_tls", "DCID * TLS", r"DCID (?P<dcid>\d+) TLS (?P<result>success|failed)(?P<rest>.*?)" + EOL, _tls)
P("dcid_tls_required_failed", "dcid_tls_required_failed", "DCID * IP",
  r"DCID (?P<dcid>\d+) IP (?P<ip>\S+) TLS was required but could not be successfully negotiated" + EOL)
P("dcid_close", "dcid_close", "DCID * close", r"DCID (?P<dcid>\d+) close" + EOL, how="close")
P("message_aborted_receiving", "mid_aborted_receiving", "Message aborted",
  r"Message aborted MID (?P<mid>\d+) (?P<reason>(?:Receiving|Injection) .*?)" + EOL)
P("message_aborted", "message_aborted", "Message aborted",
  r"Message aborted MID (?P<mid>\d+) (?P<reason>.*?)" + EOL,
  lambda f: f.update({"by": m.group(1)} if (m := re.match(r"Dropped by (\S+)", f["reason"])) else {}))
P("message_finished", "message_finished", "Message finished",
  r"Message finished MID (?P<mid>\d+) (?P<status>done|aborted)" + EOL)

# -- bounce log subscription (§9, different grammar)
P("bouncelog", "bouncelog", "Bounced:|Delayed:",
  r"(?P<action>Bounced|Delayed): (?P<mid>\d+):(?P<rid>\d+) From: ?<(?P<sender>[^>]*)> To: ?<(?P<recipient>[^>]*)>"
  r"(?: Reason: \"(?P<reason>[^\"]*)\")?(?: Response: \"(?P<resp>.*)\")?" + EOL, _bouncelog)

# -- CEF consolidated events (§1c)
P("cef_event", "cef_event", "CEF:*",
  r"CEF:(?P<cef_version>\d+)\|(?P<vendor>[^|]*)\|(?P<product>[^|]*)\|(?P<version>[^|]*)\|(?P<event_id>[^|]*)\|"
  r"(?P<name>[^|]*)\|(?P<severity>[^|]*)\|(?P<ext>.*)$", _cef)

# -- service health, alerts, other subscriptions (§10, Elastic samples)
P("engine_status_antispam", "engine_error", "case|CASE|ims|IMS|graymail",
  r"(?P<engine>\S+) antispam - engine \((?P<pid>\d+)\) : (?P<detail>.*?)" + EOL)
P("case_cache_status", "status_line", "CASE cache", r"CASE cache status: (?P<detail>.*?)" + EOL, engine="CASE")
P("status_line", "status_line", "Status:", r"Status: (?P<detail>.*?)" + EOL)
P("key_expiry", "key_expiry", "Your",
  r"Your \"(?P<feature>[^\"]+)\" key will expire in under (?P<days>\d+) day\(s\)\.?(?P<detail>.*?)" + EOL)
P("internal_smtp_error", "internal_smtp_error", "Internal SMTP",
  r"Internal SMTP Error: Failed to send message to host (?P<host>\S+) for recipient (?P<recipient>.*?): "
  r"Unexpected SMTP response \"?(?P<code>\d{3})\"?, expecting code starting with \"?\d\"?, "
  r"response was \[(?P<resp>.*)\]\.?" + EOL, _smtp_error)
P("internal_smtp", "internal_smtp", "Internal SMTP",
  r"Internal SMTP (?P<what>system successfully sent|system attempting to send|giving up on) (?:a )?message to "
  r"(?P<recipient>\S+) with subject (?P<subject>.*?)" + EOL)
P("alert_sent", "alert", "A",
  r"A (?P<alert>\S+) alert was sent to (?P<recipient>\S+) with subject (?P<subject>.*?)" + EOL)
P("alert_failed", "alert", "Error while",
  r"Error while sending alert: (?P<detail>.*?)" + EOL, result="failed")
P("dns_network_error", "dns_error", "DNS query",
  r"DNS query network error (?P<detail>.*?) to (?P<server>\S+) looking up (?P<domain>.*?)" + EOL)
P("dns_bootstrap_failed", "dns_error", "Failed to",
  r"Failed to bootstrap the DNS resolver\.(?P<detail>.*?)" + EOL)
P("dns_invalid_response", "dns_error", "Received an",
  r"Received an invalid DNS Response: (?P<detail>.*?) to IP (?P<server>\S+) looking up (?P<domain>\S+)" + EOL)
P("dns_lame_referral", "dns_error", "lame DNS",
  r"lame DNS referral: qname:(?P<domain>\S+) (?P<detail>.*?)" + EOL)
P("quarantine_error", "engine_error", "Quarantine:", r"Quarantine: (?P<detail>.*?)" + EOL, engine="quarantine")
P("service_graymail", "service_notice", "graymail", r"graymail \[(?P<section>\w+)\] (?P<detail>.*?)" + EOL)
P("service_url_rep", "service_notice", "URL_REP_CLIENT:", r"URL_REP_CLIENT: (?P<detail>.*?)" + EOL)
P("service_url_categories", "service_notice", "URL category",
  r"URL category definitions have changed\.(?P<detail>.*?)" + EOL)
P("service_content_scanner", "service_notice", "PF:", r"PF: (?P<detail>.*?)" + EOL)
P("service_senderbase_upload", "service_notice", "SenderBase upload:",
  r"SenderBase upload: (?P<count>\d+) hosts totaling (?P<bytes>\d+) bytes" + EOL)
P("service_updates", "service_notice", "case|CASE",
  r"(?P<engine>case|CASE) waiting for new updates" + EOL)
P("vtl_fetch_failed", "engine_error", "Could not",
  r"Could not fetch current Virus Threat Level: (?P<detail>.*?)" + EOL, engine="outbreak")
P("config_commit", "config_commit", "PID",
  r"PID (?P<pid>\d+): User (?P<user>\S+) commit changes: (?P<detail>.*?)" + EOL)
P("gui_request", "gui_event", "req:*",
  r"req:(?P<ip>\S+) user:(?P<user>\S+) id:(?P<session>\S+) (?P<code>\d{3}) (?P<method>[A-Z]+) (?P<path>\S+) "
  r"(?P<detail>.*?)" + EOL)
P("gui_session", "gui_event", "Session",
  r"Session (?P<session>\S+) (?P<detail>(?:from \S+ not found|user:\S+ expired).*?)" + EOL)
P("gui_login", "gui_event", "SourceIP:*",
  r"SourceIP:(?P<ip>\S+) Destination:(?P<path>\S+) Username:(?P<user>\S+) (?P<detail>.*?)" + EOL)
P("gui_action", "gui_event", "Action:", r"Action: (?P<detail>.*?)" + EOL)
P("gui_passphrase", "gui_event", "Passphrase", r"Passphrase has been changed for user (?P<user>\S+)" + EOL)
P("gui_https_error", "gui_event", "Error in",
  r"Error in https connection from host (?P<ip>\S+) port (?P<port>\d+) - (?P<detail>.*?)" + EOL)
P("gui_ssl_error", "gui_event", "SSL error", r"SSL error with client (?P<ip>\S+) - (?P<detail>.*?)" + EOL)
P("gui_reports", "gui_event", "PERIODIC REPORTS:", r"PERIODIC REPORTS: (?P<detail>.*?)" + EOL)


# ---------------------------------------------------------------- dispatch
# All shapes that share a first word are joined into ONE regex per first word (a "family"). Each
# shape is a branch without capturing groups, ended by an empty marker group `(?P<_i>)`: it closes
# last, so m.lastgroup names the shape. Branches start with a literal, so the engine skips a wrong
# one in a few nanoseconds; a shared `MID (\d+) ` / `ICID (\d+) ` / `DCID (\d+) ` is matched once and
# is group 1 (the counting path reads the id from it). Capturing groups stay out of the family
# regex on purpose: sre copies the saved marks on every branch, which costs per group.
# `fields()` re-matches the one shape's own regex to get named fields.

_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_SHARED_PREFIXES = (r"MID (?P<mid>\d+) ", r"ICID (?P<icid>\d+) ", r"DCID (?P<dcid>\d+) ")
_FAMILIES: dict[str, re.Pattern[str]] = {}
_BRANCH: dict[str, Pattern] = {}  # "_i" -> pattern
_PREFIX: list[tuple[str, Pattern, re.Pattern[str]]] = []
_SUB: dict[tuple[str, str], re.Pattern[str]] = {}  # (first word, word after the id) -> branches after the id
_SUB_FIRST = frozenset(("MID", "ICID", "DCID"))


def _index() -> None:
    names: set[str] = set()
    members: dict[str, list[Pattern]] = {}
    for i, p in enumerate(PATTERNS):
        if p.name in names:
            raise ValueError(f"duplicate pattern name {p.name}")
        names.add(p.name)
        p.index = i
        names_by_index = {v: k for k, v in p.regex.groupindex.items()}
        p.spec = tuple((names_by_index.get(g), 1 if names_by_index.get(g) in INT_FIELDS else
                        2 if names_by_index.get(g) == "rids" else 0) for g in range(1, p.regex.groups + 1))
        _BRANCH[f"_{i}"] = p
        for k in p.keys:
            first = "" if k == ("<blank>",) else k[0]
            if first.endswith("*"):
                _PREFIX.append((first[:-1], p, p.regex))
            elif p not in members.setdefault(first, []):
                members[first].append(p)
    for first, ps in members.items():
        _FAMILIES[first] = _family_regex(ps)


def _family_regex(ps: list[Pattern]) -> re.Pattern[str]:
    ps = sorted(ps, key=lambda x: x.index)
    shared = max(_SHARED_PREFIXES, key=lambda pre: sum(p.regex.pattern.startswith(pre) for p in ps))
    inner = [p for p in ps if p.regex.pattern.startswith(shared)]
    alts = []
    if inner:
        shared_name = _GROUP.search(shared).group(1)  # type: ignore[union-attr]
        for p in inner:
            p.shared_id = True
            p.gid[shared_name] = "_shared"
        head = _GROUP.sub("(?P<_shared>", shared)  # the shared id, group 1
        alts.append(head + "(?:" + "|".join(_branch(p, len(shared)) for p in inner) + ")")
        # sub-families by the word after the id ("MID 12 queued ..." -> ("MID", "queued")), matched
        # from that word on: a handful of branches instead of fifty
        first = shared.split(" ", 1)[0]
        subs: dict[str, list[Pattern]] = {}
        for p in inner:
            p.shared_field = shared_name
            for k in p.keys:
                if len(k) == 3 and k[0] == first and k[1] == "*":
                    subs.setdefault(k[2], []).append(p)
        for word, members in subs.items():
            _SUB[(first, word)] = re.compile("|".join(_branch(p, len(shared)) for p in members))
    alts.extend(_branch(p, 0) for p in ps if p not in inner)
    return re.compile("|".join(alts))


_KEEP = frozenset(ID_FIELDS) | {"action"}


def _branch(p: Pattern, skip: int) -> str:
    def group(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _KEEP:  # ids stay captured for the counting path: `_{index}_{name}`
            p.gid[name] = f"_{p.index}_{name}"
            return f"(?P<_{p.index}_{name}>"
        return "(?:"
    return "(?:" + _GROUP.sub(group, p.regex.pattern[skip:]) + f")(?P<_{p.index}>)"


def classify(text: str) -> tuple[Pattern, re.Match[str]] | None:
    """The first catalogue shape that matches the whole text, with the match that recognised it
    (pass both to `fields()`)."""
    sp = text.find(" ")
    t0 = text[:sp] if sp >= 0 else text
    if t0 in _SUB_FIRST:
        sp2 = text.find(" ", sp + 1)
        if sp2 > 0 and text[sp + 1:sp2].isdecimal():
            sp3 = text.find(" ", sp2 + 1)
            sub = _SUB.get((t0, text[sp2 + 1:sp3] if sp3 > 0 else text[sp2 + 1:]))
            if sub is not None:
                m = sub.match(text, sp2 + 1)
                if m is not None:
                    return _BRANCH[m.lastgroup], m  # type: ignore[index]
    rx = _FAMILIES.get(t0)
    if rx is not None:
        m = rx.match(text)
        if m is not None:
            return _BRANCH[m.lastgroup], m  # type: ignore[index]
    for prefix, p, prx in _PREFIX:
        if text.startswith(prefix):
            m = prx.match(text)
            if m is not None:
                return p, m
    return None


def fields(p: Pattern, m: re.Match[str]) -> dict[str, Any]:
    """Typed fields of a recognised line (ids are ints, `rids` a list of ints)."""
    if m.re is not p.regex:
        m = p.regex.match(m.string)  # type: ignore[assignment]
        if m is None:  # cannot happen: the family branch is the same regex
            return dict(p.const)
    f: dict[str, Any] = dict(p.const) if p.const else {}
    for (k, conv), v in zip(p.spec, m.groups(), strict=True):
        if v is None or k is None:
            continue
        if conv == 1:
            try:
                f[k] = int(v)
            except ValueError:
                f[k] = v
        elif conv == 2:
            f[k] = _rids(v)
        else:
            f[k] = v
    if p.post is not None:
        p.post(f)
    if "rids" in f and "rid" not in f and len(f["rids"]) == 1:
        f["rid"] = f["rids"][0]
    return f


def parse(text: str) -> tuple[str, str, dict[str, Any]] | None:
    """text -> (kind, shape name, fields) or None when no shape matches."""
    r = classify(text)
    if r is None:
        return None
    p, m = r
    return p.kind, p.name, fields(p, m)


_index()
BY_NAME = {p.name: p for p in PATTERNS}
KINDS = sorted({p.kind for p in PATTERNS})


# ---------------------------------------------------------------- unknown-line shapes

_SHAPE_SUBS = [
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'…'"),
    (re.compile(r"<[^<>\s]*>"), "<…>"),
    (re.compile(r"\b[\w.+-]+@[\w.-]+\b"), "ADDR"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "IP"),
    (re.compile(r"\b[0-9a-fA-F]{12,}\b"), "HEX"),
    (re.compile(r"\d+"), "N"),
]


def shape(text: str) -> str:
    """The shape of an unknown line: digits -> N, quoted -> '…', <addresses> -> <…>, hex -> HEX."""
    s = text[:300]
    for rx, rep in _SHAPE_SUBS:
        s = rx.sub(rep, s)
    return s[:160]
