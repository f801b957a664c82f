"""Message Tracking exports (ESA / SMA centralized tracking) -> Events and stories.

Administrators often start from Monitor > Message Tracking instead of raw mail_logs. This
module reads what they can hand us:

* the AsyncOS REST API message-tracking JSON: **search results** (`{"data": [{"attributes":
  {...}}]}`) and **message details** (`{"data": {"messages": {...}}}` with the `summary`
  narrative events), as in ../shared/corpus/external/demisto-content/;
* a **CSV export** of search results, columns recognised by their header names (see
  `CSV_HEADERS`; unknown columns are kept in `fields["columns"]`).

Every narrative is mapped to the same Event kinds and field names as the mail_logs catalogue
("(ICID n) ACCEPT sender group ..." is a `hat_decision`, "(DCID n) Delivery started for message
m to x" a `delivery_start`...), so the same rules fire. The last state alone ("Dropped by
antivirus") becomes the weaker `tracking_last_state` event: its `confidence` field is `likely`,
never `certain`, because a status column says what happened but not which log line said it.

Sources read "tracking:FILE#/json/pointer" or "tracking:FILE#row N"; the text is the narrative.
Unrecognised narratives are kept as `tracking_note` events, never dropped.

`combine()` merges tracking stories into stories read from logs: the logs win, and every
disagreement becomes a `tracking_disagreement` event (and a line in the returned list).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from diagnose.model import ConnectionStory, Event, InputError, MessageStory

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


# ---------------------------------------------------------------------------------------------
# results


@dataclass
class TrackingData:
    """What one tracking file gave: events grouped by story, plus problems (skipped rows...)."""

    path: str
    connections: dict[tuple[str, int], ConnectionStory] = field(default_factory=dict)
    messages: dict[tuple[str, int], MessageStory] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    records: int = 0
    format: str = ""

    @property
    def events(self) -> list[Event]:
        out = [e for s in self.connections.values() for e in s.events]
        out += [e for s in self.messages.values() for e in s.events]
        return out


def _appliance(attrs: dict[str, Any]) -> str:
    """Serial number when the record names one (mail_logs headers key by SN), else host name."""
    serial = attrs.get("serialNumber") or attrs.get("serial_number")
    if isinstance(serial, str) and serial.strip() and serial.strip().upper() != "N/A":
        return serial.strip()
    host = attrs.get("hostName") or attrs.get("host") or ""
    if not isinstance(host, str):
        return ""
    m = re.search(r"SN:\s*([\w-]+)", host)
    if m:
        return m.group(1)
    host = re.sub(r"\s*\(.*\)\s*$", "", host).strip()
    return "" if host.lower().startswith("name unresolved") else host


class _Builder:
    """Collects events into stories for one file."""

    def __init__(self, path: str, fmt: str):
        self.data = TrackingData(path=path, format=fmt)
        self.label = path

    def source(self, where: str) -> str:
        return f"tracking:{self.label}#{where}"

    def message(self, appliance: str, mid: int, icid: int | None = None) -> MessageStory:
        key = (appliance, mid)
        st = self.data.messages.get(key)
        if st is None:
            st = self.data.messages[key] = MessageStory(appliance=appliance, mid=mid, icid=icid)
            # a tracking record is a summary: nothing says the lifecycle is complete
        if icid is not None and st.icid is None:
            st.icid = icid
        return st

    def connection(self, appliance: str, icid: int) -> ConnectionStory:
        key = (appliance, icid)
        st = self.data.connections.get(key)
        if st is None:
            st = self.data.connections[key] = ConnectionStory(appliance=appliance, icid=icid)
        return st

    def add(self, ev: Event, default_mid: int | None = None, record_mids: Iterable[int] = ()) -> None:
        """Route an event like the correlator does: ICID-only events to the connection, MID events to
        the message, DCID-only events to every message of the record delivered on that DCID."""
        mid = ev.get("mid")
        icid = ev.get("icid")
        if mid is not None:
            st = self.message(ev.appliance, mid, icid if ev.kind in ("mid_start", "mid_from", "mid_to") else None)
            st.events.append(ev)
            self._link(st, ev)
            if icid is not None and ev.kind in ("mid_start", "mid_from"):
                con = self.connection(ev.appliance, icid)
                if mid not in con.mids:
                    con.mids.append(mid)
            return
        if icid is not None and ev.get("dcid") is None:
            self.connection(ev.appliance, icid).events.append(ev)
            return
        dcid = ev.get("dcid")
        if dcid is not None:
            self._pending_dcid.append(ev)
            return
        target = default_mid if default_mid is not None else next(iter(record_mids), None)
        if target is not None:
            self.message(ev.appliance, target).events.append(ev)

    _pending_dcid: list[Event]

    # MID relations, both ways, as the log correlator records them in MessageStory.links
    _LINKS = {"rewritten": ("rewritten_to", "rewritten_from", "new_mid"),
              "policy_split": ("split_to", "split_from", "new_mid"),
              "isq_reinjected": ("reinjected_as", "reinjected_from", "new_mid"),
              "generated": ("generated_from", "generated", "parent_mid"),
              "bounce_generated": ("bounce_of", "bounce", "parent_mid")}

    def _link(self, st: MessageStory, ev: Event) -> None:
        spec = self._LINKS.get(ev.kind)
        other = ev.get(spec[2]) if spec else None
        if not spec or not isinstance(other, int):
            return
        if (spec[0], other) not in st.links:
            st.links.append((spec[0], other))
        peer = self.message(st.appliance, other)
        if (spec[1], st.mid) not in peer.links:
            peer.links.append((spec[1], st.mid))

    def start_record(self) -> None:
        self._pending_dcid = []

    def end_record(self, appliance: str, record_mids: list[int]) -> None:
        """DCID-only events join the messages this record delivered on that DCID."""
        for ev in self._pending_dcid:
            dcid = ev.get("dcid")
            joined = False
            for mid in record_mids:
                st = self.data.messages.get((appliance, mid))
                if st and any(e.get("dcid") == dcid and e.kind in ("delivery_start", "message_done") for e in st.events):
                    st.events.append(ev)
                    joined = True
            if not joined and record_mids:
                self.message(appliance, record_mids[-1]).events.append(ev)
        self._pending_dcid = []
        for mid in record_mids:
            st = self.data.messages.get((appliance, mid))
            if st:
                st.events.sort(key=lambda e: (e.ts or datetime.min))
                if not st.first("mid_start") and not st.first("mid_from"):
                    st.partial_start = True


# ---------------------------------------------------------------------------------------------
# JSON


def _walk_messages(obj: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (json pointer, message attributes) for every tracking message record in a document."""
    if isinstance(obj, dict):
        if "attributes" in obj and isinstance(obj["attributes"], dict):
            yield from _walk_messages(obj["attributes"], pointer + "/attributes")
            return
        if "messages" in obj and isinstance(obj["messages"], dict | list):
            yield from _walk_messages(obj["messages"], pointer + "/messages")
            return
        looks = "mid" in obj and any(k in obj for k in ("summary", "messageStatus", "sender", "recipient"))
        if looks:
            yield pointer or "/", obj
            return
        for k, v in obj.items():
            if isinstance(v, dict | list):
                yield from _walk_messages(v, f"{pointer}/{_escape_ptr(str(k))}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_messages(v, f"{pointer}/{i}")


def _escape_ptr(k: str) -> str:
    return k.replace("~", "~0").replace("/", "~1")


def _as_list(v: Any) -> list[Any]:
    if v is None or v == "" or v == "N/A":
        return []
    return list(v) if isinstance(v, list | tuple) else [v]


def _mids_of(attrs: dict[str, Any]) -> list[int]:
    mids = [m for m in (_int(x) for x in _as_list(attrs.get("mid"))) if m is not None]
    for key in ("messageStatus", "recipientMap"):
        v = attrs.get(key)
        if isinstance(v, dict):
            mids += [m for m in (_int(k) for k in v) if m is not None and m not in mids]
    return mids


def _attr_text(name: str, value: Any) -> str:
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    return f"{name}: {value}"


def _record_events(b: _Builder, pointer: str, attrs: dict[str, Any]) -> None:
    """One tracking message record (search result or details) -> events in stories."""
    appliance = _appliance(attrs)
    mids = _mids_of(attrs)
    rec_ts, rec_off = parse_time(attrs.get("timestamp"))
    b.start_record()
    narrative_kinds: dict[int | None, set[str]] = {}
    last_event_mid: int | None = None
    rids: dict[tuple[int, str], int] = {}

    summary = attrs.get("summary")
    for i, item in enumerate(_as_list(summary)):
        if isinstance(item, dict):
            text = item.get("description")
            ts, off = parse_time(item.get("timestamp"))
        else:
            text, ts, off = item, None, None
        if not isinstance(text, str) or not text.strip():
            b.data.problems.append(f"{b.source(f'{pointer}/summary/{i}')}: event without a description, skipped")
            continue
        kind, fields = parse_narrative(text)
        mid = fields.get("mid")
        # recipients are named, not numbered: number them in the order they were added (RID order)
        if kind == "mid_to" and mid is not None:
            n = sum(1 for (m, _r) in rids if m == mid)
            rids.setdefault((mid, fields.get("recipient", "").lower()), n)
            fields["rid"] = rids[(mid, fields.get("recipient", "").lower())]
        if kind in ("delivery_start", "message_done", "response", "bounced", "delayed") and mid is not None:
            rid = rids.get((mid, fields.get("recipient", "").lower()))
            if rid is None:
                rid = _rid_from_attrs(attrs, mid, fields.get("recipient"))
            if rid is not None:
                fields["rids"] = [rid]
                if kind in ("bounced", "delayed"):
                    fields["rid"] = rid
        if kind in ("delivery_start", "message_done"):
            fields.setdefault("target", "")
        if off is not None:
            fields["tz_offset"] = off
        if isinstance(item, dict) and item.get("lastEvent") is True:
            fields["last_event"] = True
            if mid is not None:
                last_event_mid = mid
        ev = Event(kind=kind, ts=ts or rec_ts, appliance=appliance,
                   source=b.source(f"{pointer}/summary/{i}"), text=text.strip(), fields=fields)
        narrative_kinds.setdefault(mid, set()).add(kind)
        b.add(ev, record_mids=mids)

    primary = last_event_mid if last_event_mid is not None else (mids[-1] if len(mids) == 1 else None)
    targets = [primary] if primary is not None else mids
    if not targets and narrative_kinds:
        b.data.problems.append(f"{b.source(pointer)}: record names no MID; its events are kept without a message")
    for mid in targets:
        _attribute_events(b, pointer, attrs, appliance, mid, rec_ts, rec_off, narrative_kinds.get(mid, set()), mids)
    b.end_record(appliance, mids)


def _rid_from_attrs(attrs: dict[str, Any], mid: int, recipient: str | None) -> int | None:
    if not recipient:
        return None
    rmap = attrs.get("recipientMap")
    lst = rmap.get(str(mid)) if isinstance(rmap, dict) else None
    if lst is None:
        lst = _as_list(attrs.get("recipient"))
    low = [str(r).lower() for r in lst]
    return low.index(recipient.lower()) if recipient.lower() in low else None


def _per_mid(attrs: dict[str, Any], key: str, mid: int) -> Any:
    v = attrs.get(key)
    if isinstance(v, dict):
        return v.get(str(mid), v.get(mid))
    return v


def _attribute_events(b: _Builder, pointer: str, attrs: dict[str, Any], appliance: str, mid: int,
                      ts: datetime | None, off: int | None, have: set[str], record_mids: list[int]) -> None:
    """Record attributes (sender, recipients, status, sending host...) -> events the narrative lacks."""
    icid = _int(attrs.get("icid"))
    if icid is None:
        icids = [i for i in (_int(x) for x in _as_list(attrs.get("allIcid"))) if i is not None]
        icid = icids[0] if len(icids) == 1 else None
    base: dict[str, Any] = {"mid": mid}
    if off is not None:
        base["tz_offset"] = off

    def ev(kind: str, key: str, text: str, **fields: Any) -> None:
        b.add(Event(kind=kind, ts=ts, appliance=appliance, source=b.source(f"{pointer}/{key}"), text=text,
                    fields={**base, **fields}), default_mid=mid)

    sender = attrs.get("sender")
    if isinstance(sender, str) and sender.strip() and not have & {"mid_from", "mid_ready"}:
        ev("mid_from", "sender", _attr_text("sender", sender), sender=sender.strip().strip("<>"),
           **({"icid": icid} if icid is not None else {}))
    if "mid_to" not in have:
        rmap = attrs.get("recipientMap")
        recips = _as_list(rmap.get(str(mid))) if isinstance(rmap, dict) and str(mid) in rmap else \
            _as_list(attrs.get("recipient"))
        key = f"recipientMap/{mid}" if isinstance(rmap, dict) and str(mid) in rmap else "recipient"
        for rid, r in enumerate(recips):
            if isinstance(r, str) and r.strip():
                ev("mid_to", f"{key}/{rid}", _attr_text("recipient", r), rid=rid, recipient=r.strip().strip("<>"),
                   **({"icid": icid} if icid is not None else {}))
    subject = _per_mid(attrs, "subject", mid)
    if isinstance(subject, str) and "mid_subject" not in have and subject != "N/A":
        ev("mid_subject", "subject", _attr_text("subject", subject), subject=subject)
    msgid = _per_mid(attrs, "messageID", mid) or attrs.get("midHeader")
    if isinstance(msgid, str) and msgid.strip() and "mid_message_id" not in have:
        key = f"messageID/{mid}" if isinstance(attrs.get("messageID"), dict) else "midHeader"
        ev("mid_message_id", key, _attr_text("Message-ID", msgid), message_id=msgid.strip())
    policies = [p for p in _as_list(attrs.get("mailPolicy")) if isinstance(p, str) and p.strip()]
    direction = attrs.get("direction")
    if policies and "policy_match" not in have:
        d = "outbound" if isinstance(direction, str) and direction.lower().startswith("out") else "inbound"
        for p in policies:
            ev("policy_match", "mailPolicy", _attr_text("mailPolicy", p), policy=p, direction=d)
    for i, dcid in enumerate(_as_list(attrs.get("dcid"))):
        if _int(dcid) is not None and not have & {"delivery_start", "message_done", "dcid_new"}:
            ev("tracking_note", f"dcid/{i}", _attr_text("dcid", dcid), dcid_seen=_int(dcid),
               note="a delivery connection was opened for this message")
    host = attrs.get("sendingHostSummary") if isinstance(attrs.get("sendingHostSummary"), dict) else {}
    ip = host.get("ipAddress") or attrs.get("senderIp")
    sbrs = host.get("sbrsScore") if host else attrs.get("sbrs")
    sg = attrs.get("senderGroup")
    if icid is not None:
        con = b.connection(appliance, icid)
        if mid not in con.mids:
            con.mids.append(mid)
        con_kinds = {e.kind for e in con.events}
        cbase = {"icid": icid, **({"tz_offset": off} if off is not None else {})}
        if isinstance(ip, str) and ip.strip() and "icid_new" not in con_kinds:
            rdns = host.get("reverseDnsHostname") if host else None
            f: dict[str, Any] = {**cbase, "ip": ip.strip()}
            if isinstance(rdns, str) and rdns.strip():
                m = re.match(r"^(\S+)(?:\s*\((verified|not verified|unverified)\))?", rdns.strip())
                if m:
                    f["rdns"] = m.group(1)
                    if m.group(2):
                        f["rdns_verified"] = m.group(2) == "verified"
            key = "sendingHostSummary" if host else "senderIp"
            con.events.append(Event("icid_new", ts, appliance, b.source(f"{pointer}/{key}"),
                                    _attr_text("sending host", {k: v for k, v in host.items()} or ip), f))
        if (isinstance(sg, str) and sg.strip()) and "hat_decision" not in con_kinds:
            f = {**cbase, "sender_group": sg.strip()}
            if isinstance(ip, str) and ip.strip():
                f["ip"] = ip.strip()
            if sbrs not in (None, ""):
                f["sbrs"] = str(sbrs)
                f["sbrs_score"] = _float(sbrs)
            con.events.append(Event("hat_decision", ts, appliance, b.source(f"{pointer}/senderGroup"),
                                    f"senderGroup: {sg} (sender IP {ip}, SBRS {sbrs})", f))
    elif isinstance(ip, str) and ip.strip():
        ev("tracking_note", "senderIp", _attr_text("sender IP", ip), ip=ip.strip(),
           **({"sbrs": str(sbrs), "sbrs_score": _float(sbrs)} if sbrs not in (None, "") else {}))
    status = _per_mid(attrs, "messageStatus", mid)
    if isinstance(status, str) and status.strip():
        key = f"messageStatus/{mid}" if isinstance(attrs.get("messageStatus"), dict) else "messageStatus"
        cls = classify_last_state(status)
        if len(record_mids) > 1:
            cls["record_mids"] = list(record_mids)
        ev("tracking_last_state", key, f"Last state: {cls['state']}", **cls)
    # SDR summary of the details page (the narrative's "Consolidated Sender Threat Level" wins)
    sdr_rep = attrs.get("sdrReputation")
    if isinstance(sdr_rep, str) and sdr_rep.strip() and sdr_rep != "N/A" and "sdr_verdict" not in have:
        f_sdr: dict[str, Any] = {"threat_level": sdr_rep.strip()}
        for key, name in (("sdrCategory", "category"), ("sdrAge", "maturity"), ("sdrThreatLevels", "threat_levels")):
            v = attrs.get(key)
            if isinstance(v, str | int) and str(v).strip():
                f_sdr[name] = str(v).strip()
        ev("sdr_verdict", "sdrReputation", "SDR: " + ", ".join(f"{k}: {v}" for k, v in f_sdr.items()), **f_sdr)
    auth = attrs.get("smtpAuthId")
    if isinstance(auth, str) and auth.strip() and icid is not None:
        b.connection(appliance, icid).events.append(Event(
            "smtp_auth", ts, appliance, b.source(f"{pointer}/smtpAuthId"), _attr_text("smtpAuthId", auth),
            {"icid": icid, "result": "succeeded", "user": auth.strip()}))
    for n, name in enumerate(_as_list(attrs.get("attachments"))):
        if isinstance(name, str) and name.strip():
            ev("attachment", f"attachments/{n}", _attr_text("attachment", name), name=name.strip())
    complete = attrs.get("isCompleteData")
    if complete is False:
        ev("tracking_note", "isCompleteData", _attr_text("isCompleteData", complete),
           note="the appliance says this tracking record is incomplete")


def _read_json(b: _Builder, raw: str) -> None:
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{b.label}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    found = False
    for pointer, attrs in _walk_messages(doc):
        found = True
        b.data.records += 1
        try:
            _record_events(b, pointer, attrs)
        except (TypeError, ValueError, AttributeError) as exc:  # a malformed record is reported, not fatal
            b.data.problems.append(f"{b.source(pointer)}: record skipped ({type(exc).__name__}: {exc})")
    if not found:
        b.data.problems.append(f"tracking:{b.label}: no message-tracking records found in this JSON")


# ---------------------------------------------------------------------------------------------
# CSV

# Accepted header names (case, spaces, punctuation ignored) -> our field. Documented in
# docs/tracking.md; the first matching column wins, the rest are kept as unknown columns.
CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "time": ("time", "date", "timestamp", "datetime", "date/time", "received", "message received", "received time",
             "time received", "timestamp (gmt)", "time (gmt)"),
    "sender": ("sender", "envelope sender", "from", "envelope from", "mail from", "sender address"),
    "recipient": ("recipient", "recipients", "envelope recipient", "envelope recipients", "to", "rcpt to",
                  "recipient address"),
    "subject": ("subject", "final subject", "original subject"),
    "last_state": ("last state", "laststate", "state", "status", "message status", "last status", "final state",
                   "message state", "delivery status", "result", "event"),
    "mid": ("mid", "ironport mid", "internal mid", "message mid", "mids", "internal message id", "ironport message id",
            "esa mid"),
    "icid": ("icid", "incoming connection id", "all icid", "allicid"),
    "dcid": ("dcid", "delivery connection id"),
    "sender_ip": ("sender ip", "senderip", "sender ip address", "ip address", "ip", "source ip", "remote ip",
                  "sending host ip", "client ip", "connecting ip"),
    "sbrs": ("sbrs", "sbrs score", "senderbase reputation score", "sender reputation", "reputation score"),
    "sender_group": ("sender group", "sendergroup", "hat sender group"),
    "policy": ("mail policy", "policy", "mailpolicy", "incoming policy", "outgoing policy"),
    "direction": ("direction",),
    "appliance": ("appliance", "serial number", "serial", "host name", "hostname", "email gateway", "esa", "host",
                  "appliance name", "mail gateway"),
    "message_id": ("message id", "message-id", "messageid", "message id header", "internet message id"),
    "rdns": ("reverse dns", "reverse dns hostname", "rdns", "ptr", "sending host", "sending host name"),
    "bytes": ("size", "message size", "bytes"),
}
_HEADER_INDEX = {re.sub(r"[^a-z0-9]+", "", alias): key for key, aliases in CSV_HEADERS.items() for alias in aliases}


def _norm_header(h: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", h.strip().lstrip("\ufeff").lower())


def _map_header(row: list[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    used: set[str] = set()
    for i, h in enumerate(row):
        key = _HEADER_INDEX.get(_norm_header(h))
        if key and key not in used:
            mapping[i] = key
            used.add(key)
    return mapping


def _is_header(mapping: dict[int, str]) -> bool:
    keys = set(mapping.values())
    return len(keys) >= 2 and bool(keys & {"mid", "sender", "recipient", "last_state"})


def _split_addrs(v: str) -> list[str]:
    return [a.strip().strip("<>") for a in re.split(r"[;,\s]+", v) if a.strip().strip("<>")]


def _read_csv(b: _Builder, lines: Iterable[str]) -> None:
    it = iter(lines)
    # find the header row: exports may start with a title or query description
    pre: list[str] = []
    header: list[str] | None = None
    mapping: dict[int, str] = {}
    delimiter = ","
    for n, line in enumerate(it, start=1):
        if not line.strip():
            pre.append(line)
            continue
        try:  # only the delimiter is sniffed; quoting stays Excel's ("" inside quotes)
            delimiter = csv.Sniffer().sniff(line, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
        row = next(csv.reader([line], delimiter=delimiter))
        mapping = _map_header(row)
        if _is_header(mapping):
            header = row
            header_line = n
            break
        pre.append(line)
        if n >= 30:
            break
    if header is None:
        raise InputError(
            f"{b.label}: not a Message Tracking export: no JSON, and no CSV header with at least two of "
            "Time, Sender, Recipient, Subject, Last State, MID (see docs/tracking.md)")
    if pre and any(p.strip() for p in pre):
        b.data.problems.append(f"tracking:{b.label}: {sum(1 for p in pre if p.strip())} line(s) before the header "
                               f"(line {header_line}) ignored")
    unknown = {i: h.strip() for i, h in enumerate(header) if i not in mapping and h.strip()}
    reader = csv.reader(it, delimiter=delimiter)
    width = len(header)
    row_no = 0
    for row in reader:
        row_no += 1
        where = f"row {row_no}"
        if not any(c.strip() for c in row):
            continue
        if len(row) != width:
            b.data.problems.append(f"{b.source(where)}: {len(row)} cells where the header has {width}; row skipped")
            continue
        vals = {mapping[i]: row[i].strip() for i in mapping}
        mid = _int(vals.get("mid")) if vals.get("mid") else None
        if vals.get("mid") and mid is None:
            mids = [_int(x) for x in re.split(r"[,;\s]+", vals["mid"]) if x]
            if mids and all(m is not None for m in mids):
                mid = mids[-1]
            else:
                b.data.problems.append(f"{b.source(where)}: MID {vals['mid']!r} is not a number; row skipped")
                continue
        if mid is None and not (vals.get("sender") or vals.get("recipient")):
            b.data.problems.append(f"{b.source(where)}: no MID, sender or recipient; row skipped")
            continue
        b.data.records += 1
        _csv_row_events(b, where, row, vals, mid, {h: row[i] for i, h in unknown.items()}, header)


def _csv_row_events(b: _Builder, where: str, row: list[str], vals: dict[str, str], mid: int | None,
                    extra: dict[str, str], header: list[str]) -> None:
    ts, off = parse_time(vals.get("time", ""))
    if vals.get("time") and ts is None:
        b.data.problems.append(f"{b.source(where)}: time {vals['time']!r} not understood; kept without a time")
    appliance = vals.get("appliance", "")
    appliance = re.sub(r"\s*\(.*\)\s*$", "", appliance).strip()
    text = "; ".join(f"{h.strip()}: {c.strip()}" for h, c in zip(header, row, strict=False) if c.strip())
    source = b.source(where)
    # no MID: key the row by a negative pseudo id so it stays its own story (a note says so)
    mid_key = -(len(b.data.messages) + 1) if mid is None else mid
    icid = _int(vals.get("icid")) if vals.get("icid") else None
    st = b.message(appliance, mid_key, icid)
    base: dict[str, Any] = {"mid": mid_key}
    if off is not None:
        base["tz_offset"] = off
    if extra:
        base["columns"] = extra

    def add(kind: str, **fields: Any) -> None:
        st.events.append(Event(kind, ts, appliance, source, text, {**base, **fields}))

    if mid is None:
        add("tracking_note", note="this row names no MID")
    if vals.get("sender") and not st.first("mid_from"):
        add("mid_from", sender=vals["sender"].strip("<>"), **({"icid": icid} if icid is not None else {}))
    known = {r.lower() for r in st.recipients.values()}
    for r in _split_addrs(vals.get("recipient", "")):
        if r.lower() not in known:
            add("mid_to", rid=len(st.recipients), recipient=r, **({"icid": icid} if icid is not None else {}))
            known.add(r.lower())
    if vals.get("subject") and not st.first("mid_subject"):
        add("mid_subject", subject=vals["subject"])
    if vals.get("message_id") and not st.first("mid_message_id"):
        add("mid_message_id", message_id=vals["message_id"])
    if vals.get("policy"):
        d = "outbound" if vals.get("direction", "").lower().startswith("out") else "inbound"
        add("policy_match", policy=vals["policy"], direction=d)
    if vals.get("last_state"):
        cls = classify_last_state(vals["last_state"])
        rcpts = _split_addrs(vals.get("recipient", ""))
        if rcpts:
            cls["rids"] = [next((rid for rid, a in st.recipients.items() if a.lower() == r.lower()), 0)
                           for r in rcpts]
        add("tracking_last_state", **cls)
    ip = vals.get("sender_ip")
    if ip or vals.get("sender_group") or vals.get("sbrs"):
        cf: dict[str, Any] = {k: v for k, v in base.items() if k != "mid"}
        if ip:
            cf["ip"] = ip
        if vals.get("rdns"):
            cf["rdns"] = vals["rdns"]
        if icid is not None:
            con = b.connection(appliance, icid)
            if mid_key not in con.mids:
                con.mids.append(mid_key)
            kinds = {e.kind for e in con.events}
            if ip and "icid_new" not in kinds:
                con.events.append(Event("icid_new", ts, appliance, source, text, {"icid": icid, **cf}))
            if (vals.get("sender_group") or vals.get("sbrs")) and "hat_decision" not in kinds:
                hf = {"icid": icid, **cf}
                if vals.get("sender_group"):
                    hf["sender_group"] = vals["sender_group"]
                if vals.get("sbrs"):
                    hf["sbrs"] = vals["sbrs"]
                    hf["sbrs_score"] = _float(vals["sbrs"])
                con.events.append(Event("hat_decision", ts, appliance, source, text, hf))
        else:
            nf = dict(cf)
            if vals.get("sender_group"):
                nf["sender_group"] = vals["sender_group"]
            if vals.get("sbrs"):
                nf["sbrs"] = vals["sbrs"]
                nf["sbrs_score"] = _float(vals["sbrs"])
            add("tracking_note", note="sending host (no ICID in this row)", **nf)
    st.partial_start = True  # a result row is a summary, never a full lifecycle


# ---------------------------------------------------------------------------------------------
# entry points


def read_tracking(path: str | Path, label: str | None = None) -> TrackingData:
    """Read a tracking export (JSON or CSV, detected from its content)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such tracking file")
    if p.is_dir():
        raise InputError(f"{path}: is a folder; give a Message Tracking export file (JSON or CSV)")
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\x00" in head:
        raise InputError(f"{path}: binary data, not a Message Tracking export (JSON or CSV)")
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    name = label or str(path)
    if first in (b"{", b"["):
        b = _Builder(name, "json")
        try:
            raw = p.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from None
        _read_json(b, raw)
    else:
        b = _Builder(name, "csv")
        try:
            with p.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
                _read_csv(b, _lines(fh))
        except csv.Error as exc:
            raise InputError(f"{path}: CSV not readable: {exc}") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not b.data.messages and not b.data.connections and not b.data.problems:
        b.data.problems.append(f"tracking:{name}: no messages in this export")
    return b.data


def _lines(fh: io.TextIOBase) -> Iterator[str]:
    """Stream lines, keeping quoted newlines inside a CSV cell together for csv.reader."""
    yield from fh


def tracking_events(path: str | Path) -> tuple[list[Event], list[str]]:
    data = read_tracking(path)
    return data.events, data.problems


def tracking_stories(path: str | Path) -> tuple[list[ConnectionStory], list[MessageStory], list[str]]:
    """Tracking export -> (connection stories, message stories, problems). The stories have the same
    shape as those the log correlator builds, so the engine explains them the same way."""
    data = read_tracking(path)
    return list(data.connections.values()), list(data.messages.values()), data.problems


# ---------------------------------------------------------------------------------------------
# combining with stories read from logs: the logs win, disagreements are shown

_DISPOSITION_KINDS: dict[str, str] = {
    "bounced": "bounced", "delayed": "deferred", "filter_action": "dropped", "message_aborted": "dropped",
    "quarantined": "quarantined", "isq_quarantined": "quarantined", "rpc_delivery_start": "quarantined",
}


def log_disposition(story: MessageStory) -> tuple[str | None, Event | None]:
    """The final state the logs state outright (the last disposition line), or (None, None).

    A rough reading for comparing with a tracking last state only; the engine decides the finding.
    """
    found: tuple[str | None, Event | None] = (None, None)
    for e in story.events:
        if e.source.startswith("tracking:"):
            continue
        if e.kind == "message_done":
            found = ("quarantined" if "quarantine" in str(e.get("target", "")) else "delivered", e)
        elif e.kind == "filter_action":
            found = ("dropped" if e.get("action") == "dropped" else "bounced", e)
        elif e.kind == "antispam" and not e.get("interim") and "drop" in str(e.get("verdict", "")).lower():
            found = ("dropped", e)
        elif e.kind in _DISPOSITION_KINDS:
            found = (_DISPOSITION_KINDS[e.kind], e)
    return found


_COMPARED: dict[str, tuple[str, ...]] = {
    "mid_from": ("sender",), "mid_ready": ("sender",), "mid_subject": ("subject",), "mid_message_id": ("message_id",),
    "icid_new": ("ip",), "hat_decision": ("sender_group", "action"), "mid_to": ("recipient",),
}


def _norm(v: Any) -> Any:
    return v.strip().strip("<>'\"").lower() if isinstance(v, str) else v


@dataclass
class Combined:
    connections: list[ConnectionStory]
    messages: list[MessageStory]
    disagreements: list[Event]
    tracking_only: list[MessageStory]


def _match(index: dict[int, list[Any]], appliance: str, key: int) -> Any | None:
    cands = index.get(key, [])
    same = [s for s in cands if s.appliance == appliance]
    if same:
        return same[0]
    if len(cands) == 1 and (not appliance or not cands[0].appliance or appliance not in {c.appliance for c in cands}):
        # one appliance in the logs, tracking names it differently (host name vs serial): same MID
        return cands[0]
    return None


def combine(log_connections: Iterable[ConnectionStory], log_messages: Iterable[MessageStory],
            trk_connections: Iterable[ConnectionStory], trk_messages: Iterable[MessageStory]) -> Combined:
    """Merge tracking stories into stories read from logs.

    A message only in the tracking data is kept as it is (explained from tracking alone). For a
    message in both, tracking events of kinds the logs lack are added (they fill gaps, e.g. a log
    that begins after the message started); where both speak and disagree, the log event is kept,
    the tracking one is not used, and a `tracking_disagreement` event records both sides.
    """
    lmsgs = list(log_messages)
    lcons = list(log_connections)
    by_mid: dict[int, list[MessageStory]] = {}
    for s in lmsgs:
        by_mid.setdefault(s.mid, []).append(s)
    by_icid: dict[int, list[ConnectionStory]] = {}
    for c in lcons:
        by_icid.setdefault(c.icid, []).append(c)
    disagreements: list[Event] = []
    tracking_only: list[MessageStory] = []
    out_msgs = list(lmsgs)
    out_cons = list(lcons)

    def disagree(story: MessageStory | ConnectionStory, what: str, log_ev: Event, trk_ev: Event,
                 log_val: Any, trk_val: Any) -> None:
        text = (f"Tracking and logs disagree on {what}: logs say {log_val!r} ({log_ev.source}), tracking says "
                f"{trk_val!r} ({trk_ev.source}); the logs win.")
        d = Event("tracking_disagreement", trk_ev.ts, story.appliance, trk_ev.source, text,
                  {"what": what, "log_value": log_val, "tracking_value": trk_val, "log_source": log_ev.source,
                   "tracking_source": trk_ev.source, "tracking_text": trk_ev.text,
                   **({"mid": story.mid} if isinstance(story, MessageStory) else {"icid": story.icid})})
        story.events.append(d)
        disagreements.append(d)

    def merge_events(target: MessageStory | ConnectionStory, events: list[Event]) -> None:
        log_by_kind: dict[str, list[Event]] = {}
        for e in target.events:
            if not e.source.startswith("tracking:"):
                log_by_kind.setdefault(e.kind, []).append(e)
        for te in events:
            if te.kind == "tracking_last_state":
                continue  # handled below for messages
            logs = log_by_kind.get(te.kind)
            if not logs:
                target.events.append(te)
                continue
            for fname in _COMPARED.get(te.kind, ()):
                tv = te.get(fname)
                if tv is None:
                    continue
                lvals = [le.get(fname) for le in logs if le.get(fname) is not None]
                if lvals and _norm(tv) not in {_norm(v) for v in lvals}:
                    disagree(target, fname, logs[0], te, lvals[0], tv)
        target.events.sort(key=lambda e: (e.ts or datetime.min))

    for tc in trk_connections:
        lc = _match(by_icid, tc.appliance, tc.icid)
        if lc is None:
            out_cons.append(tc)
            continue
        merge_events(lc, tc.events)
        for m in tc.mids:
            if m not in lc.mids:
                lc.mids.append(m)

    for tm in trk_messages:
        lm = _match(by_mid, tm.appliance, tm.mid)
        if lm is None:
            out_msgs.append(tm)
            tracking_only.append(tm)
            continue
        merge_events(lm, tm.events)
        if lm.icid is None and tm.icid is not None:
            lm.icid = tm.icid
        states = [e for e in tm.events if e.kind == "tracking_last_state"]
        outcome, lev = log_disposition(lm)
        for st in states:
            if outcome is None:
                lm.events.append(st)  # the logs do not say how it ended: tracking fills the gap
            elif st.get("outcome") not in (None, "unknown", outcome) and lev is not None:
                disagree(lm, "final state", lev, st, outcome, f"{st.get('state')} ({st.get('outcome')})")
        lm.events.sort(key=lambda e: (e.ts or datetime.min))
    return Combined(out_cons, out_msgs, disagreements, tracking_only)


# ---------------------------------------------------------------------------------------------
# explain integration: select by the question, merge with the logs, weak answers from last states


def _story_matches(msg: MessageStory, conn: ConnectionStory | None, query: Any) -> bool:
    """Does a tracking message story answer the question (same criteria as the log search)?"""
    def q(name: str) -> Any:
        return getattr(query, name, None)

    if q("mid") is not None and msg.mid != q("mid"):
        return False
    if q("sender") and (msg.sender or "").lower() != str(q("sender")).lower():
        return False
    if q("recipient") and str(q("recipient")).lower() not in {str(r).lower() for r in msg.recipients.values()}:
        return False
    if q("ip"):
        ips = {conn.ip} if conn is not None and conn.ip else set()
        ips |= {str(e.get("ip")) for e in msg.events if e.kind == "tracking_note" and e.get("ip")}
        if q("ip") not in ips:
            return False
    if q("message_id"):
        ids = {str(e.get("message_id", "")).strip("<>").lower() for e in msg.all("mid_message_id")}
        if str(q("message_id")).strip("<>").lower() not in ids:
            return False
    if q("subject"):
        subjects = [str(e.get("subject", "")).lower() for e in msg.all("mid_subject")]
        if not any(str(q("subject")).lower() in s for s in subjects):
            return False
    start = msg.start
    if q("since") and start and start < q("since"):
        return False
    return not (q("until") and start and start > q("until"))


def select(connections: Iterable[ConnectionStory], messages: Iterable[MessageStory], query: Any,
           ) -> tuple[list[tuple[MessageStory, ConnectionStory | None]], list[ConnectionStory]]:
    """Tracking stories that match the question: (message, its connection) pairs, and connections
    asked for by --ip that carry no message of their own (rejected-connection records)."""
    cons = list(connections)
    by_key = {(c.appliance, c.icid): c for c in cons}
    pairs = []
    for m in messages:
        conn = by_key.get((m.appliance, m.icid)) if m.icid is not None else None
        if _story_matches(m, conn, query):
            pairs.append((m, conn))
    lone = []
    if getattr(query, "ip", None):
        used = {(c.appliance, c.icid) for _m, c in pairs if c is not None}
        lone = [c for c in cons if c.ip == query.ip and (c.appliance, c.icid) not in used and not c.mids]
    return pairs, lone


@dataclass
class ForQuestion:
    """What `explain --tracking` hands the engine."""

    messages: list[tuple[MessageStory, ConnectionStory | None]]
    connections: list[ConnectionStory]
    problems: list[str]
    disagreements: list[Event]
    searched: str


def for_question(path: str | Path, query: Any,
                 log_messages: Iterable[tuple[MessageStory, ConnectionStory | None]] = (),
                 log_connections: Iterable[ConnectionStory] = ()) -> ForQuestion:
    """Read a tracking export, keep what answers the question, and combine it with the stories the
    log search found (the logs win; disagreements become `tracking_disagreement` events)."""
    data = read_tracking(path)
    pairs, lone = select(data.connections.values(), data.messages.values(), query)
    lpairs = list(log_messages)
    lcons_all = [c for _m, c in lpairs if c is not None] + list(log_connections)
    lcons: list[ConnectionStory] = []
    for c in lcons_all:  # unique by identity
        if not any(c is x for x in lcons):
            lcons.append(c)
    tcons: list[ConnectionStory] = []
    for c in [c for _m, c in pairs if c is not None] + lone:
        if not any(c is x for x in tcons):
            tcons.append(c)
    combined = combine(lcons, [m for m, _c in lpairs], tcons, [m for m, _c in pairs])
    by_key = {(c.appliance, c.icid): c for c in combined.connections}
    out_pairs: list[tuple[MessageStory, ConnectionStory | None]] = []
    for m in combined.messages:
        conn = next((c for lm, c in lpairs if lm is m), None)
        if conn is None and m.icid is not None:
            conn = by_key.get((m.appliance, m.icid))
            if conn is None:  # a log message whose connection only the tracking export names
                conn = next((c for c in combined.connections if c.icid == m.icid), None)
        out_pairs.append((m, conn))
    used = {id(c) for _m, c in out_pairs if c is not None}
    lone_out = [c for c in list(log_connections) + lone if id(c) not in used]
    searched = (f"read Message Tracking export {path} ({data.format.upper()}, {data.records} record(s)): "
                f"{len(pairs)} message(s) match the question")
    return ForQuestion(out_pairs, lone_out, data.problems, combined.disagreements, searched)


_REASONS = {"delivered": "delivered", "bounced": "undefined", "deferred": "undefined", "rejected": "rejected",
            "quarantined": "onhold"}
_STAGE_REASONS = {"antivirus": "virusdetected", "amp": "virusdetected", "antispam": "spamdetected",
                  "graymail": "spamdetected", "safelist_blocklist": "spamdetected", "content_filter": "filtered",
                  "message_filter": "filtered", "outbreak_filter": "filtered", "dlp": "policyviolation",
                  "hat": "blocked", "rat": "rejected", "sdr": "badreputation", "authentication": "authfailure"}
_VERB = {"delivered": "was delivered", "rejected": "was rejected", "dropped": "was dropped", "bounced": "was bounced",
         "quarantined": "was quarantined", "deferred": "is deferred (still queued)"}


def apply_last_states(answer: Any) -> int:
    """Where no rule found a final state but Message Tracking's last state says one, answer from it.

    The finding takes the state's outcome and stage at the confidence the state supports (`likely`,
    or weaker when the link to the question is weaker), cites the tracking record as evidence, and
    says what is missing to be certain. The causal graph gains evidence -> TRACKING-LAST-STATE ->
    conclusion. Returns how many findings changed.
    """
    from diagnose.model import STAGES, Evidence  # local: keep the collector import-light

    order = ("certain", "likely", "possible")
    changed = 0
    records = list(getattr(answer, "records", []) or [])
    for i, f in enumerate(getattr(answer, "findings", []) or []):
        if f.cause != "not_determined" or i >= len(records):
            continue
        states = [fact for fact in records[i].facts.values()
                  if getattr(fact, "type", None) == "tracking_last_state" and getattr(fact, "event", None) is not None
                  and fact.event.get("outcome") not in (None, "unknown")]
        if not states:
            continue
        ev = states[-1].event
        outcome, stage = str(ev.get("outcome")), str(ev.get("stage") or "unknown")
        stage = stage if stage in STAGES else "unknown"
        # a status column is never `certain`; a state we could not map fully stays `possible`
        conf = max(str(ev.get("confidence") or "likely"), "likely", key=lambda c: order.index(c) if c in order else 2)
        # ... but a narrative event that states the same end (the next hop's 2xx reply, the quarantine
        # hand-over, the drop) is the appliance's own record of it, as a log line would be
        support = [fact.event for fact in records[i].facts.values()
                   if getattr(fact, "event", None) is not None and _supports(fact.event, outcome)]
        if support and stage != "unknown":
            conf = "certain"
        f.outcome, f.stage, f.cause, f.confidence = outcome, stage, "tracking_last_state", conf
        f.reason = _REASONS.get(outcome, "undefined") if outcome != "dropped" else _STAGE_REASONS.get(stage, "filtered")
        if outcome in ("rejected", "quarantined") and stage in _STAGE_REASONS:
            f.reason = _STAGE_REASONS[stage] if outcome == "rejected" else "onhold"
        where = "" if outcome == "delivered" or stage == "unknown" else f" at {stage.replace('_', ' ')}"
        alts = ev.get("stage_alternatives")
        alt_text = f" (the state names several engines: {', '.join(alts)})" if alts else ""
        subject = f.summary.split(":", 1)[0] if ":" in f.summary else f"MID {f.mid}"
        if conf == "certain":
            f.summary = (f"{subject} {_VERB.get(outcome, 'ended ' + outcome)}{where}: Message Tracking records "
                         f"\u201c{support[-1].text}\u201d and the last state \u201c{ev.get('state')}\u201d.")
        else:
            f.summary = (f"{subject} {_VERB.get(outcome, 'ended ' + outcome)}{where}, according to Message "
                         f"Tracking's last state \u201c{ev.get('state')}\u201d{alt_text}. No log line or tracking "
                         f"event states it, so this is {conf}, not certain.")
        f.why.append(f"TRACKING-LAST-STATE: Message Tracking reports the last state \u201c{ev.get('state')}\u201d "
                     f"({ev.source}); it maps to outcome {outcome}, stage {stage}.")
        f.gaps = [g for g in f.gaps if not g.startswith("No rule recognised a final state")]
        mid = f"MID {f.mid}" if f.mid is not None else "the message"
        if conf != "certain":
            f.gaps.append(f"Only the tracking last state says how {mid} ended; the appliance's mail_logs lines for "
                          f"it (grep \"MID {f.mid if f.mid is not None else '<n>'}\" mail_logs, or findevent -m) "
                          "would show which rule or engine decided, with certainty.")
        for e2 in [*support, ev]:
            if not any(e.source == e2.source and e.text == e2.text for e in f.evidence):
                f.evidence.append(Evidence(e2.source, e2.text, e2.ts.isoformat() if e2.ts else None))
        if f.evidence and all(e.source.startswith("tracking:") for e in f.evidence):
            f.gaps = [g for g in f.gaps if not g.startswith("The logs begin after")]
            f.gaps.append("This answer comes from the Message Tracking export alone; the connection and the "
                          "engines' verdicts are only as complete as the export.")
        f.path = _path_with_stop(f.path, stage, outcome)
        if support:
            f.why[-1] += f" The appliance's own tracking event states the same end: \u201c{support[-1].text}\u201d."
        _graph_add(getattr(answer, "graph", None), i, [ev, *support], f)
        changed += 1
    return changed


_SUPPORT_KINDS = {"delivered": ("response", "message_done"), "quarantined": ("isq_quarantined", "quarantined"),
                  "dropped": ("filter_action", "message_aborted"), "bounced": ("bounced",), "deferred": ("delayed",)}


def _supports(e: Event, outcome: str) -> bool:
    if e.kind not in _SUPPORT_KINDS.get(outcome, ()):
        return False
    if e.kind == "response":
        return str(e.get("dsn") or "").startswith("2")
    if e.kind == "filter_action":
        return e.get("action") == ("dropped" if outcome == "dropped" else "bounced")
    return True


def _path_with_stop(path: list[dict[str, str]], stage: str, outcome: str) -> list[dict[str, str]]:
    if stage == "unknown" or not path:
        return path
    out = []
    seen = False
    for p in path:
        s = p.get("stage")
        if s == stage:
            out.append({"stage": s, "status": "passed" if outcome == "delivered" else "stopped"})
            seen = True
        elif seen and outcome != "delivered":
            out.append({"stage": s, "status": "not_reached"})
        else:
            out.append(dict(p))
    return out


def _graph_add(graph: Any, case: int, events: list[Event], f: Any) -> None:
    if not isinstance(graph, dict):
        return
    nodes = graph.setdefault("nodes", [])
    links = graph.setdefault("links", [])
    r_id, s_id = f"{case}:rule:TRACKING-LAST-STATE", f"{case}:fact:tracking-stop"
    nodes += [
        {"id": r_id, "kind": "rule", "label": "TRACKING-LAST-STATE", "case": case},
        {"id": s_id, "kind": "fact", "type": "stop", "case": case,
         "label": f"stop: stage={f.stage}, outcome={f.outcome}, confidence={f.confidence}"},
    ]
    links.append({"source": r_id, "target": s_id, "relation": "derives"})
    for n, ev in enumerate(events):
        e_id = f"{case}:evidence:tracking:{n}"
        nodes.append({"id": e_id, "kind": "evidence", "type": ev.kind, "label": ev.text, "source": ev.source,
                      "case": case})
        links.append({"source": e_id, "target": r_id, "relation": "matched", "alias": "ls" if n == 0 else "support"})
