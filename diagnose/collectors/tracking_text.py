"""Message Tracking wording: narratives and last states -> catalogue Event kinds; tracking times.

The tracking database renders mail_logs events as sentences ("(DCID 4368) Delivery started for
message 322 to t2@test.com."). `parse_narrative` maps each to the same Event kind and field names
as diagnose/collectors/catalogue.py, so the same rules fire; `classify_last_state` maps a record's
last state ("Dropped by antivirus") to outcome and stage, at `likely` at most. Wordings: the AsyncOS
tracking API `summary[].description` (demisto samples and integration READMEs, 2022).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

# ---------------------------------------------------------------------------------------------
# last-state texts -> (outcome, stage)

# Engine keywords inside a last state ("Dropped by antivirus", "Quarantined by Anti-Spam/Graymail").
_STAGE_WORDS: tuple[tuple[str, str], ...] = (
    (r"multiple engines", "unknown"),
    (r"anti-?spam\s*/\s*graymail", "antispam"),
    (r"anti-?virus|\bav\b|virus", "antivirus"),
    (r"anti-?spam|\bspam\b|\bcase\b|\bims\b", "antispam"),
    (r"graymail|marketing|bulk", "graymail"),
    (r"advanced malware|\bamp\b|file analysis|file reputation", "amp"),
    (r"outbreak|\bvof\b", "outbreak_filter"),
    (r"content filter", "content_filter"),
    (r"message filter", "message_filter"),
    (r"\bdlp\b|data loss", "dlp"),
    (r"safelist|blocklist|\bslbl\b", "safelist_blocklist"),
    (r"\bsdr\b|domain reputation", "sdr"),
    (r"dmarc|spf|dkim", "authentication"),
    (r"\brat\b|recipient access", "rat"),
    (r"\bhat\b|host access|reputation|sbrs", "hat"),
)

# When a status names two engines the first is the one we report; the rest are alternatives.
_AMBIGUOUS_STAGES = {
    "anti-spam/graymail": ["antispam", "graymail", "safelist_blocklist"],
    "multiple engines": ["antispam", "antivirus", "amp", "content_filter", "outbreak_filter", "dlp"],
}


def _stage_of(text: str) -> str:
    low = text.lower()
    for pattern, stage in _STAGE_WORDS:
        if re.search(pattern, low):
            return stage
    return "unknown"


def classify_last_state(state: str) -> dict[str, Any]:
    """Map a Message Tracking last-state text to outcome, stage and confidence.

    The confidence is at most `likely`: the status says what happened, not which log line
    stated it. Unrecognised states answer outcome and stage `unknown`.
    """
    s = " ".join(state.split())
    low = s.lower()
    outcome, stage = "unknown", "unknown"
    if not low:
        pass
    elif low.startswith("delivered") or low in ("delivery complete", "delivered to recipient"):
        outcome, stage = "delivered", "delivery"
    elif low.startswith(("hard bounced", "bounced")) or "hard bounce" in low:
        outcome, stage = "bounced", "delivery"
    elif low.startswith(("soft bounced", "delayed", "queued", "delivery in progress", "in progress")) \
            or "soft bounce" in low:
        outcome, stage = "deferred", "delivery"  # still queued or retrying: not delivered yet
    elif low.startswith(("dropped", "deleted", "aborted", "discarded")):
        outcome, stage = "dropped", _stage_of(low)
    elif low.startswith(("quarantined", "in quarantine", "currently in", "spam quarantine")) or "quarantine" in low:
        outcome, stage = "quarantined", _stage_of(low)
        if stage == "unknown" and "spam" in low:
            stage = "antispam"
    elif low.startswith(("rejected", "connection rejected", "refused")):
        outcome, stage = "rejected", _stage_of(low)
    elif low.startswith("released"):
        outcome, stage = "unknown", _stage_of(low)  # released: the next state is not in this record
    result: dict[str, Any] = {
        "state": s, "outcome": outcome, "stage": stage,
        "confidence": "likely" if outcome != "unknown" else "possible",
    }
    for key, alternatives in _AMBIGUOUS_STAGES.items():
        if key in low:
            result["stage_alternatives"] = alternatives
    return result


# ---------------------------------------------------------------------------------------------
# narratives -> Events (same kinds and field names as the mail_logs catalogue)

_ADDR = r"<?(?P<{name}>[^\s<>()]*?)>?"


def _addr(name: str) -> str:
    return _ADDR.format(name=name)


def _int(v: Any) -> int | None:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return None


def _float(v: Any) -> float | None:
    try:
        return float(str(v).strip())
    except (TypeError, ValueError):
        return None


def _bool_yes(v: str | None) -> bool | None:
    if v is None:
        return None
    return v.strip().lower() in ("yes", "true", "verified")


# (kind, compiled regex); the first that matches wins. Named groups become fields after
# `_convert`. Wordings: the AsyncOS tracking API `summary[].description` (demisto samples and
# the CiscoSMA/CiscoESA integration READMEs, 2022).
_NARRATIVES: list[tuple[str, re.Pattern[str]]] = [
    ("hat_decision", re.compile(
        r"^\(ICID (?P<icid>\d+)\) (?P<action>ACCEPT|REJECT|TCPREFUSE|RELAY|CONTINUE) sender group (?P<sender_group>\S+)"
        r"(?: match (?P<rule>.*?))?\s+SBRS (?P<sbrs>-?\d+(?:\.\d+)?|None|not enabled|rfc1918|unable to retrieve)"
        r"(?: country (?P<country>.+?))?\s*\.?$", re.I)),
    ("hat_decision", re.compile(
        r"^Incoming connection \(ICID (?P<icid>\d+)\) has sender_group: (?P<sender_group>[^,]*), "
        r"sender_ip: (?P<ip>[^\s,]+) and sbrs: (?P<sbrs>.+?)\s*\.?$", re.I)),
    ("tracking_note", re.compile(  # per-message repeat of the connection's sender group
        r"^Message (?P<mid>\d+) has sender_group: (?P<sender_group>[^,]*), sender_ip: (?P<ip>[^\s,]+) "
        r"and sbrs: (?P<sbrs>.+?)\s*\.?$", re.I)),
    ("icid_new", re.compile(
        r"^Protocol (?P<protocol>\S+) interface (?P<interface>.+?)\s+\(IP (?P<interface_ip>[^)]+)\) on incoming "
        r"connection \(ICID (?P<icid>\d+)\) from sender IP (?P<ip>[0-9A-Fa-f:.]+?)\.?"
        r"(?:\s+Reverse DNS\s+(?:host\s+)?(?P<rdns>\S+) verified (?P<rdns_verified>yes|no))?\s*\.?$", re.I)),
    ("icid_tls", re.compile(
        r"^Incoming connection \(ICID (?P<icid>\d+)\) (?P<result>successfully accepted|failed) TLS"
        r"(?: protocol (?P<protocol>\S+))?(?: cipher (?P<cipher>.+?))?\s*\.?$", re.I)),
    ("icid_close", re.compile(r"^Incoming connection \(ICID (?P<icid>\d+)\) (?P<how>lost|closed?)\s*\.?$", re.I)),
    ("mid_start", re.compile(r"^Start message (?P<mid>\d+) on incoming connection \(ICID (?P<icid>\d+)\)\s*\.?$", re.I)),
    ("mid_from", re.compile(
        r"^Message (?P<mid>\d+) enqueued on incoming connection \(ICID (?P<icid>\d+)\) from "
        + _addr("sender") + r"\s*\.?$", re.I)),
    ("mid_to", re.compile(
        r"^Message (?P<mid>\d+) on incoming connection \(ICID (?P<icid>\d+)\) added recipient \("
        + _addr("recipient") + r"\)\s*\.?$", re.I)),
    ("mid_rcpt_rejected", re.compile(
        r"^Message (?P<mid>\d+) on incoming connection \(ICID (?P<icid>\d+)\) (?:recipient|rejected recipient) \("
        + _addr("recipient") + r"\) (?:rejected )?by (?P<by>.+?)\s*\.?$", re.I)),
    ("mid_ready", re.compile(
        r"^Message (?P<mid>\d+) \((?P<bytes>\d+) bytes\) from " + _addr("sender") + r" ready\s*\.?$", re.I)),
    ("mid_message_id", re.compile(r"^Message (?P<mid>\d+) contains message ID header '(?P<message_id>.*)'\s*\.?$", re.I)),
    ("mid_subject", re.compile(r"^Message (?P<mid>\d+) original subject on injection: (?P<subject>.*)$", re.I)),
    ("sdr_domains", re.compile(r"^Message (?P<mid>\d+):? Domains for which SDR is requested: (?P<domains>.*)$", re.I)),
    ("sdr_verdict", re.compile(
        r"^Message (?P<mid>\d+):? Consolidated Sender Threat Level: (?P<threat_level>[^,]+), Threat Category: "
        r"(?P<category>[^,]+?),(?: Suspected Domain\(s\)\s*:\s*(?P<suspected>.*?)\.)?"
        r"(?: Sender Maturity: (?P<maturity>.+?) for domain: (?P<domain>\S+?))?\s*\.?$", re.I)),
    ("spf", re.compile(
        r"^Message (?P<mid>\d+):? SPF: (?P<identity>helo|mailfrom|pra) identity (?P<address>\S+) (?P<result>\w+)\s*\.?$",
        re.I)),
    ("dkim", re.compile(
        r"^Message (?P<mid>\d+):? DKIM: (?P<result>\w+)(?: (?P<detail>.*?))?"
        r"(?:\(d=(?P<domain>[^\s)]+)(?: s=(?P<selector>[^\s)]+))?(?: i=(?P<identity>[^\s)]+))?\))?\s*\.?$",
        re.I)),
    ("dmarc", re.compile(
        r"^Message (?P<mid>\d+):? DMARC:? Message from domain (?P<domain>[^,\s]+), DMARC (?P<result>\w+)"
        r"(?: \(SPF aligned (?P<spf_aligned>\w+), DKIM aligned (?P<dkim_aligned>\w+)\))?.*$", re.I)),
    ("dmarc_verification", re.compile(
        r"^Message (?P<mid>\d+):? DMARC:? (?:Verification|verification) (?P<result>\w+)(?: \((?P<reason>[^)]*)\))?.*$",
        re.I)),
    ("policy_match", re.compile(
        r"^Message (?P<mid>\d+) matched per-recipient policy (?P<policy>.+?) for (?P<direction>inbound|outbound) "
        r"mail policies\s*\.?$", re.I)),
    ("antispam", re.compile(
        r"^Message (?P<mid>\d+) scanned by Anti-Spam engine:? (?P<engine>[^.\s]+)\.? "
        r"(?P<stage>Interim|Final) verdict: (?P<verdict>.+?)\s*\.?$", re.I)),
    ("graymail", re.compile(
        r"^Message (?P<mid>\d+) scanned by Graymail engine:?(?: (?P<engine>[^.\s]+))?\.? "
        r"(?:(?P<stage>Interim|Final) )?verdict: (?P<verdict>.+?)\s*\.?$", re.I)),
    ("av_interim", re.compile(
        r"^Message (?P<mid>\d+) scanned by Anti-Virus engine (?P<engine>[^.\s]+)\. Interim verdict: "
        r"(?P<verdict>.+?)\s*\.?$", re.I)),
    ("antivirus", re.compile(
        r"^Message (?P<mid>\d+) scanned by Anti-Virus engine\.? Final verdict: (?P<verdict>[^(]+?)"
        r"(?:\s*\((?P<virus>[^)]*)\))?\s*\.?$", re.I)),
    ("amp_verdict", re.compile(
        r"^Message (?P<mid>\d+) scanned by Advanced Malware Protection engine\.? Final verdict: (?P<verdict>.+?)\s*$",
        re.I)),
    ("outbreak_verdict", re.compile(
        r"^Message (?P<mid>\d+) scanned by Outbreak Filters\.? Verdict: (?P<verdict>.+?)\s*\.?$", re.I)),
    ("filter_action", re.compile(
        r"^Message (?P<mid>\d+) (?:was )?(?P<action>dropped|bounced) by (?P<filter_type>content filter|message filter|"
        r"policy|filter) '?(?P<filter>[^']+?)'?(?: in the (?P<direction>inbound|outbound) table)?\s*\.?$", re.I)),
    ("message_aborted", re.compile(r"^Message (?P<mid>\d+) aborted:? (?P<reason>.+?)\s*\.?$", re.I)),
    ("isq_quarantined", re.compile(
        r"^Message (?P<mid>\d+) (?:quarantined in|sent to) (?:the )?(?:local |off-?box |centralized )?"
        r"(?:IronPort )?Spam Quarantine\s*\.?$", re.I)),
    ("quarantined", re.compile(
        r"^Message (?P<mid>\d+) (?:was )?quarantined (?:in|to|into) (?:the )?\"?(?P<quarantine>[^\"(]+?)\"?"
        r"(?:\s+quarantine)?(?: \((?P<reason>[^)]*)\))?\s*\.?$", re.I)),
    ("quarantine_released", re.compile(
        r"^Message (?P<mid>\d+) released from (?:quarantine )?\"?(?P<quarantine>[^\"(]+?)\"?"
        r"(?: \((?P<reason>[^)]*)\))?\s*\.?$", re.I)),
    ("queued", re.compile(r"^Message (?P<mid>\d+) queued for delivery\s*\.?$", re.I)),
    ("rpc_delivery_start", re.compile(
        r"^Remote procedure call connection \(RCID (?P<rcid>\d+)\) started for message (?P<mid>\d+) to "
        r"(?P<target>.+?)\s*\.?$", re.I)),
    ("dcid_new", re.compile(
        r"^SMTP delivery connection \(DCID (?P<dcid>\d+)\) opened from (?:Cisco IronPort )?interface "
        r"(?P<interface_ip>\S+) to IP address (?P<ip>\S+?)(?: on port (?P<port>\d+))?\s*\.?$", re.I)),
    ("dcid_tls", re.compile(
        r"^Delivery connection \(DCID (?P<dcid>\d+)\) (?P<result>successfully accepted|failed) TLS"
        r"(?: protocol (?P<protocol>\S+))?(?: cipher (?P<cipher>\S+))?.*$", re.I)),
    ("delivery_start", re.compile(
        r"^\(DCID (?P<dcid>\d+)\) Delivery started for message (?P<mid>\d+) to " + _addr("recipient") + r"\s*\.?$",
        re.I)),
    ("message_done", re.compile(
        r"^\(DCID (?P<dcid>\d+)\) Delivery details: Message (?P<mid>\d+) sent to " + _addr("recipient")
        + r"(?: (?P<headers>\[.*\]))?\s*\.?$", re.I)),
    ("response", re.compile(
        r"^Message (?P<mid>\d+) to " + _addr("recipient")
        + r" received remote SMTP response '(?P<response>.*)'\s*\.?$", re.I)),
    ("bounced", re.compile(
        r"^Message (?P<mid>\d+) to " + _addr("recipient") + r" (?:was )?(?:hard )?bounced(?: by (?P<by>[^.]+?))?\.?"
        r"(?:\s*Reason: (?P<dsn>\d\.\d{1,3}\.\d{1,3}) - (?P<reason>.*?)(?: \('(?P<code>\d{3})', \[(?P<resp>.*)\]\))?)?"
        r"\s*\.?$", re.I)),
    ("delayed", re.compile(
        r"^Message (?P<mid>\d+) to " + _addr("recipient") + r" (?:was )?(?:soft bounced|delayed)(?: by (?P<by>[^.]+?))?\.?"
        r"(?:\s*Reason: (?P<dsn>\d\.\d{1,3}\.\d{1,3}) - (?P<reason>.*?)(?: \('(?P<code>\d{3})', \[(?P<resp>.*)\]\))?)?"
        r"\s*\.?$", re.I)),
    ("tracking_note", re.compile(r"^Message (?P<mid>\d+) direction: (?P<direction>\w+)\s*$", re.I)),
    ("tracking_note", re.compile(r"^Message (?P<mid>\d+) Sender Domain: (?P<domain>\S+)\s*$", re.I)),
]

_ID_FIELDS = ("icid", "mid", "dcid", "rcid", "rid", "new_mid", "bytes", "port", "code")


def _convert(kind: str, raw: dict[str, str | None]) -> dict[str, Any]:
    """Named groups -> the catalogue's field names and types."""
    f: dict[str, Any] = {k: v for k, v in raw.items() if v is not None}
    for k in _ID_FIELDS:
        if k in f:
            f[k] = _int(f[k])
    if "sbrs" in f:
        f["sbrs"] = f["sbrs"].strip()
        f["sbrs_score"] = _float(f["sbrs"])
    if "rdns_verified" in f:
        f["rdns_verified"] = _bool_yes(f["rdns_verified"])
    if "action" in f:
        f["action"] = f["action"].upper() if kind == "hat_decision" else f["action"].lower()
    if kind in ("antispam", "graymail"):
        f["interim"] = (f.pop("stage", "") or "").lower() == "interim"
        f["verdict"] = f.get("verdict", "").strip().rstrip(".").lower()
        if "engine" in f:
            f["engine"] = f["engine"].upper()
    if kind in ("av_interim", "antivirus", "amp_verdict", "outbreak_verdict"):
        f["verdict"] = f.get("verdict", "").strip()
        if kind == "antivirus":
            f["verdict"] = f["verdict"].lower()
    if kind == "icid_tls" or kind == "dcid_tls":
        f["result"] = "success" if f.get("result", "").lower().startswith("success") else "failed"
    if kind == "icid_close":
        f["how"] = "lost" if f.get("how", "").lower() == "lost" else "close"
    if kind == "filter_action":
        ft = f.get("filter_type", "").lower()
        f["filter_type"] = "content" if "content" in ft else "message" if "message" in ft else "policy"
    if kind in ("dmarc",):
        for k in ("spf_aligned", "dkim_aligned"):
            if k in f:
                f[k] = _bool_yes(f[k])
        f["result"] = f["result"].lower()
    if kind in ("spf", "dkim", "dmarc_verification"):
        f["result"] = f["result"].lower()
    if kind == "dkim" and "detail" in f:
        f["detail"] = f["detail"].strip()
    if kind == "response":
        m = re.match(r"(\d)\.(\d{1,3})\.(\d{1,3})\b", f["response"])
        if m:
            f["dsn"] = ".".join(m.groups())
        f["response"] = [f["response"]]
    if kind == "message_done":
        h = f.pop("headers", None)
        items = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", h or "")
        vals = [a or b for a, b in items]
        if vals:
            f["headers"] = {vals[i].lower(): vals[i + 1] for i in range(0, len(vals) - 1, 2)}
    if kind in ("bounced", "delayed"):
        resp = f.pop("resp", None)
        f["response"] = [r.strip().strip("'\"") for r in resp.split("', '")] if resp else []
    if kind == "policy_match":
        f["direction"] = f["direction"].lower()
    if kind == "isq_quarantined":
        f["quarantine"] = "Spam Quarantine"
    if kind == "quarantined":
        f["quarantine"] = f.get("quarantine", "").strip()
    if kind == "rpc_delivery_start" and "spam quarantine" in f.get("target", "").lower():
        f["quarantine"] = "Spam Quarantine"
    for k in ("sender", "recipient"):
        if k in f:
            f[k] = f[k].strip().strip("<>")
    return f


def parse_narrative(text: str) -> tuple[str, dict[str, Any]]:
    """One tracking `summary` description -> (kind, fields). Unknown wordings -> tracking_note."""
    t = " ".join(str(text).split()) if "\n" in str(text) else str(text).strip()
    for kind, rx in _NARRATIVES:
        m = rx.match(t)
        if m:
            return kind, _convert(kind, m.groupdict())
    # the tracking database words most events as the mail_logs line with "Message n" for "MID n":
    # read an unknown narrative with the log catalogue before giving up on it
    hit = _as_log_line(t)
    if hit is not None:
        return hit
    fields: dict[str, Any] = {}
    ids = re.search(r"\b(?:Message|MID) (\d+)", t)
    if ids:
        fields["mid"] = int(ids.group(1))
    for name in ("ICID", "DCID", "RCID"):
        m2 = re.search(rf"\({name} (\d+)\)|\b{name} (\d+)", t)
        if m2:
            fields[name.lower()] = int(m2.group(1) or m2.group(2))
    return "tracking_note", fields


_LOGLIKE = re.compile(r"^Message (\d+):? ")
_UNMAPPED = ("tracking_note", "blank_line", "unknown")


def _as_log_line(text: str) -> tuple[str, dict[str, Any]] | None:
    m = _LOGLIKE.match(text)
    if not m:
        return None
    try:
        from diagnose.collectors import catalogue
    except ImportError:  # the log catalogue is optional here
        return None
    line = "MID " + m.group(1) + " " + text[m.end():].rstrip(" .")
    line = re.sub(r"\bmessage (\d+)\b", r"MID \1", line)
    try:
        hit = catalogue.classify(line)
        if hit is None:
            return None
        pattern, match = hit
        if pattern.kind in _UNMAPPED or pattern.kind.startswith("tracking"):
            return None
        fields = catalogue.fields(pattern, match)
    except Exception:  # a catalogue post-processor choking on odd text must not stop the reading
        return None
    if fields.get("mid") != int(m.group(1)):
        return None
    return pattern.kind, fields


# ---------------------------------------------------------------------------------------------
# timestamps

_TS_FORMATS = (
    "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
    "%a %b %d %H:%M:%S %Y", "%b %d %Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S",
)
_TZ_RX = re.compile(r"\s*\((?:GMT|UTC)\s*(?P<off>[+-]\d{1,2}:?\d{2})?\)\s*$|\s*(?:Z|[+-]\d{2}:?\d{2})$", re.I)


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
_FAST_DMY = re.compile(r"(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d)(?::(\d\d))?$")
_FAST_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?$")


def _fast_time(t: str) -> datetime | None:
    """The two shapes tracking exports use, without strptime's locale work (a CSV has many rows)."""
    try:
        m = _FAST_DMY.match(t)
        if m and m.group(2).lower() in _MONTHS:
            return datetime(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)), int(m.group(4)),
                            int(m.group(5)), int(m.group(6) or 0))
        m = _FAST_ISO.match(t)
        if m:
            return datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)),
                            int(m.group(6) or 0))
    except ValueError:  # 31 Feb and friends: let strptime say no
        return None
    return None


def parse_time(text: Any) -> tuple[datetime | None, int | None]:
    """Tracking time text -> (naive time as displayed, UTC offset seconds or None)."""
    if not isinstance(text, str) or not text.strip():
        return None, None
    return _parse_time(text)


@lru_cache(maxsize=8192)  # exports repeat the same second many times
def _parse_time(text: str) -> tuple[datetime | None, int | None]:
    t = " ".join(text.split())
    offset: int | None = None
    m = _TZ_RX.search(t)
    if m:
        tail = m.group(0).strip()
        off = m.group("off")
        if off:
            sign = -1 if off.startswith("-") else 1
            hh, mm = off[1:].replace(":", "")[:-2], off.replace(":", "")[-2:]
            offset = sign * (int(hh) * 3600 + int(mm) * 60)
        elif tail.upper() in ("Z", "(GMT)", "(UTC)"):
            offset = 0
        elif re.fullmatch(r"[+-]\d{2}:?\d{2}", tail):
            sign = -1 if tail.startswith("-") else 1
            digits = tail[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        t = t[: m.start()].strip()
    t = re.sub(r"\.\d+$", "", t)  # fractional seconds
    fast = _fast_time(t)
    if fast is not None:
        return fast, offset
    for fmt in _TS_FORMATS:
        try:
            return datetime.strptime(t, fmt), offset
        except ValueError:
            continue
    return None, offset
