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

The wording (narratives, last states, times) is in tracking_text.py; combining with logs, the
question and the answers from last states in tracking_merge.py (re-exported here).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from diagnose.collectors.tracking_merge import (  # noqa: F401  (re-exported: the module's public API)
    Combined,
    ForQuestion,
    apply_last_states,
    combine,
    for_question,
    log_disposition,
    select,
)
from diagnose.collectors.tracking_text import (  # noqa: F401  (re-exported: the module's public API)
    _float,
    _int,
    classify_last_state,
    parse_narrative,
    parse_time,
)
from diagnose.model import ConnectionStory, Event, InputError, MessageStory

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

