"""Bounce inputs -> Bounce records: CSV lists, DSN messages (.eml, folders, maildir, mbox), ESA bounce logs.

`read_bounces(path)` detects the form and yields one `Bounce` per failed recipient, each with the
`source` it came from ("file.csv:12", "dsn/x.eml#1", "bounces.s:40").  A row, file or message that
cannot be read yields a `Bounce` whose `error` says why: it is reported, never the end of the run.

DSNs are parsed with the stdlib `email` package: RFC 3464 multipart/report first, then the
common non-standard forms (Exim, qmail, Sendmail/Postfix plain text, Exchange, Lotus Notes,
webmail providers): the failed recipients and the reply text next to each are found with
heuristics that do not depend on one MTA's wording.
"""

from __future__ import annotations

import contextlib
import csv
import email
import gzip
import io
import mailbox
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

from diagnose.model import InputError

_SNIFF = 8192
_MAX_MESSAGE = 20 * 1024 * 1024  # a DSN larger than this is not read (bounded memory)
# bounded parts (RFC 5321 lengths): a long run of address characters cannot cost n^2
_ADDR = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9\-]{1,63}){1,8})>?")
_BOUNCELOG = re.compile(
    r"(?P<action>Bounced|Delayed): (?P<mid>\d+):(?P<rid>\d+) From: ?<(?P<sender>[^>]*)> To: ?<(?P<recipient>[^>]*)>"
    r"(?: Reason: \"(?P<reason>(?:[^\"\\]|\\.)*)\")?(?: Response: \"(?P<response>.*?)\")?\s*$"
)
_MAILLOG_BOUNCE = re.compile(
    r"(?P<action>Bounced|Delayed): DCID:? (?P<dcid>\d+) (?:MID|Message) (?P<mid>\d+) "
    r"(?:From: ?<(?P<sender>[^>]*)> To: ?<(?P<recipient>[^>]*)> )?(?:to )?(?:RID )?(?P<rid>\d+) - (?P<text>.*)$"
)
_ESA_LINE = re.compile(r"^(?:<\d+>)?(?:\w{3} )?\w{3} +\d+ \d\d:\d\d:\d\d(?: \d{4})? (?:\S+ )?(?:\S+: )?"
                       r"(?:Info|Warning|Debug|Trace|Critical): ")
_LOGTIME = re.compile(r"^(?:<\d+>)?(?P<ts>(?:\w{3} )?\w{3} +\d+ \d\d:\d\d:\d\d(?: \d{4})?)")

# CSV header names -> our field, compared lower-case without spaces, dashes or underscores
_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "recipient": ("recipient", "rcpt", "rcptto", "to", "email", "emailaddress", "address", "finalrecipient",
                  "recipientaddress", "bouncedrecipient", "bouncedaddress"),
    "sender": ("sender", "from", "mailfrom", "envelopesender", "returnpath", "addresser", "senderaddress"),
    "date": ("date", "time", "timestamp", "datetime", "bouncedate", "bouncedat", "eventtime", "created", "when"),
    "status": ("status", "dsn", "deliverystatus", "enhancedstatus", "statuscode", "enhancedcode"),
    "code": ("code", "replycode", "smtpcode", "responsecode", "smtpreplycode", "errorcode"),
    "diagnostic": ("diagnostic", "diagnosticcode", "diagnostictext", "reason", "response", "message",
                   "error", "errortext", "bouncereason", "smtpresponse", "description", "details", "text"),
    "action": ("action", "type", "bouncetype", "event"),
}

# End of the human-readable part: what follows is the returned original message
_ORIGINAL = re.compile(
    r"^(?:[-=_ ]*(?:this is a copy of|below this line is a copy of|original message|returned message|"
    r"a copy of the original message|the original message (?:headers|follows)|message headers follow|"
    r"unsent message below|undelivered message|headers of the original message|"
    r"--- the header of the original message|original message headers)|content-type: message/rfc822)",
    re.I | re.M,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|delivery (?:status|failure|failed|notification|report|problem)|failure notice|"
    r"mail delivery|non[- ]?delivery|could not be delivered|delivery has failed|bounce|rejected|"
    r"not delivered|nondeliverable|warning: could not send|mail system error|delayed mail|returned to sender",
    re.I,
)


@dataclass
class Bounce:
    """One failed (or delayed) recipient read from a bounce input."""

    source: str
    kind: str  # csv | dsn | bouncelog | maillog
    recipient: str | None = None
    sender: str | None = None
    date: str | None = None
    status: str | None = None
    code: str | None = None
    action: str | None = None  # failed | delayed | delivered | feedback | vacation | Bounced | Delayed
    diagnostic: str = ""
    diagnostic_type: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    command: str | None = None
    mid: int | None = None
    rid: int | None = None
    message_id: str | None = None
    subject: str | None = None
    reason: str | None = None  # set by the reader when the form itself decides (feedback, vacation)
    fields: dict[str, str] = field(default_factory=dict)  # CSV: the row as read, every column kept
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------- detection

def _open_bytes(path: Path) -> bytes:
    """The first bytes of a file (gzip transparently), for sniffing."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as fh:
            head = fh.read(_SNIFF)
    return head


def _open_text(path: Path) -> io.TextIOBase:
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return path.open(encoding="utf-8-sig", errors="replace", newline="")


def detect(path: str | Path) -> str:
    """Which bounce form `path` holds: csv | eml | mbox | maildir | folder | bouncelog."""
    p = Path(path)
    if p.is_dir():
        if (p / "cur").is_dir() or (p / "new").is_dir():
            return "maildir"
        return "folder"
    if not p.is_file():
        raise InputError(f"no such bounce input: {p}")
    head = _open_bytes(p).decode("utf-8", "replace").lstrip("\ufeff")
    first = head.splitlines()[0] if head.strip() else ""
    if first.startswith("From ") and re.search(r"^From \S+", first):
        return "mbox"
    sample = head.splitlines()[:50]
    logged = sum(1 for line in sample if _ESA_LINE.search(line))
    if logged and (logged >= len(sample) // 2 or any(_BOUNCELOG.search(x) or _MAILLOG_BOUNCE.search(x) for x in sample)):
        return "bouncelog"  # ESA bounce log or mail_logs: their Bounced:/Delayed: lines are read
    if re.match(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]", first) and re.search(
            r"^(?:Received|From|To|Subject|Date|Content-Type|Return-Path|Message-I[dD]|MIME-Version|X-[\w-]+):",
            head, re.M) and not _looks_csv(sample):
        return "eml"
    if p.suffix.lower() in (".eml", ".msg"):
        return "eml"
    if p.suffix.lower() in (".mbox", ".mbx"):
        return "mbox"
    if _looks_csv(sample) or p.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    raise InputError(f"{p}: not a recognised bounce input (CSV with a header, DSN .eml, mbox, maildir or ESA bounce log)")


def _looks_csv(lines: list[str]) -> bool:
    if not lines:
        return False
    header = _norm_col_list(lines[0])
    return any(h in names for h in header for names in _CSV_COLUMNS.values()) and len(header) >= 2


def _norm_col(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.strip().strip('"').lower())


def _norm_col_list(line: str) -> list[str]:
    delim = "\t" if line.count("\t") > line.count(",") else (";" if line.count(";") > line.count(",") else ",")
    return [_norm_col(c) for c in line.split(delim)]


# ---------------------------------------------------------------------------- entry point

def read_bounces(path: str | Path, form: str | None = None) -> Iterator[Bounce]:
    """Every bounce in `path` (file or folder), in input order; errors come out as records."""
    p = Path(path)
    form = form or detect(p)
    if form == "csv":
        yield from read_csv(p)
    elif form == "bouncelog":
        yield from read_bouncelog(p)
    elif form == "eml":
        yield from read_eml(p)
    elif form == "mbox":
        yield from read_mbox(p)
    elif form == "maildir":
        yield from read_maildir(p)
    elif form == "folder":
        yield from read_folder(p)
    else:
        raise InputError(f"unknown bounce input form {form!r}")


def read_folder(folder: Path) -> Iterator[Bounce]:
    for f in sorted(x for x in folder.rglob("*") if x.is_file() and not x.name.startswith(".")):
        try:
            form = detect(f)
        except InputError:
            yield Bounce(source=str(f), kind="file", error="not a bounce input (CSV, DSN message, mbox or ESA bounce log)")
            continue
        except OSError as exc:
            yield Bounce(source=str(f), kind="file", error=f"cannot read: {exc.strerror or exc}")
            continue
        yield from read_bounces(f, form)


# ---------------------------------------------------------------------------- CSV

def read_csv(path: Path) -> Iterator[Bounce]:
    try:
        fh = _open_text(path)
    except OSError as exc:
        yield Bounce(source=str(path), kind="csv", error=f"cannot read: {exc.strerror or exc}")
        return
    with fh:
        head = fh.read(_SNIFF)
        fh.seek(0) if fh.seekable() else None
        # the delimiter is the header's most frequent of , ; TAB |; quoting is standard ("...", "" inside)
        first = head.split("\n", 1)[0]
        delim = max(",;\t|", key=lambda d: (first.count(d), d == ","))
        reader = csv.reader(fh, csv.excel, delimiter=delim)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            yield Bounce(source=str(path), kind="csv", error="empty CSV or unreadable header")
            return
        cols = _map_columns(header)
        if "recipient" not in cols and "diagnostic" not in cols and "status" not in cols and "code" not in cols:
            yield Bounce(source=f"{path}:1", kind="csv",
                         error="CSV header names no recipient, status, code or diagnostic column")
            return
        width = len(header)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield Bounce(source=f"{path}:{reader.line_num}", kind="csv", error=f"bad CSV row: {exc}")
                continue
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            b = _csv_row(path, line, header, row, width, cols)
            yield b


def _map_columns(header: list[str]) -> dict[str, int]:
    cols: dict[str, int] = {}
    normed = [_norm_col(h) for h in header]
    for ours, names in _CSV_COLUMNS.items():
        for name in names:  # preference order of the names
            if name in normed and normed.index(name) not in cols.values():
                cols[ours] = normed.index(name)
                break
    return cols


def _csv_row(path: Path, line: int, header: list[str], row: list[str], width: int, cols: dict[str, int]) -> Bounce:
    src = f"{path}:{line}"
    if len(row) != width:
        return Bounce(source=src, kind="csv", error=f"row has {len(row)} fields, the header has {width}")
    kept = {h or f"column{i + 1}": v for i, (h, v) in enumerate(zip(header, row, strict=True))}

    def get(name: str) -> str | None:
        i = cols.get(name)
        v = row[i].strip() if i is not None else ""
        return v or None

    recipient = get("recipient")
    if recipient:
        m = _ADDR.search(recipient)
        if not m:
            return Bounce(source=src, kind="csv", fields=kept, error=f"recipient is not an address: {recipient[:80]!r}")
        recipient = m.group(1)
    status, code, diag = get("status"), get("code"), get("diagnostic") or ""
    if not (recipient or diag or status or code):
        return Bounce(source=src, kind="csv", fields=kept, error="row has no recipient, status, code or diagnostic")
    if status and not re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", status):
        # a "status" column holding a reply code or a word: keep it as text evidence
        if re.fullmatch(r"[245]\d\d", status) and not code:
            code, status = status, None
        else:
            diag = f"{status} {diag}".strip() if status.lower() not in diag.lower() else diag
            status = None
    if code and not re.fullmatch(r"[245]\d\d", code):
        diag = f"{code} {diag}".strip()
        code = None
    sender = get("sender")
    if sender:
        m = _ADDR.search(sender)
        sender = m.group(1) if m else (sender if sender == "<>" else None)
    return Bounce(source=src, kind="csv", recipient=recipient, sender=sender, date=get("date"), status=status,
                  code=code, action=get("action"), diagnostic=diag, fields=kept)


# ---------------------------------------------------------------------------- ESA bounce logs

def read_bouncelog(path: Path) -> Iterator[Bounce]:
    """ESA `bounces` subscription lines, and mail_logs `Bounced:`/`Delayed:` lines."""
    try:
        fh = _open_text(path)
    except OSError as exc:
        yield Bounce(source=str(path), kind="bouncelog", error=f"cannot read: {exc.strerror or exc}")
        return
    with fh:
        for n, line in enumerate(fh, 1):
            if "Bounced:" not in line and "Delayed:" not in line:
                continue
            line = line.rstrip("\r\n")
            src = f"{path}:{n}"
            tm = _LOGTIME.match(line)
            ts = tm.group("ts") if tm else None
            m = _BOUNCELOG.search(line)
            if m:
                g = m.groupdict()
                reason = (g.get("reason") or "").replace('\\"', '"')
                response = (g.get("response") or "").replace('\\"', '"')
                # rebuild the AsyncOS form so that the classifier unwraps it the same way as mail_logs
                text = f"{reason} {response}".strip() if response else reason
                yield Bounce(source=src, kind="bouncelog", recipient=g["recipient"] or None, sender=g["sender"] or None,
                             date=ts, action=g["action"].lower(), diagnostic=text, mid=int(g["mid"]),
                             rid=int(g["rid"]))
                continue
            m = _MAILLOG_BOUNCE.search(line)
            if m:
                g = m.groupdict()
                yield Bounce(source=src, kind="maillog", recipient=g.get("recipient") or None,
                             sender=g.get("sender") or None, date=ts, action=g["action"].lower(),
                             diagnostic=g["text"].strip(), mid=int(g["mid"]), rid=int(g["rid"]))
                continue
            if re.search(r"(?:Bounced|Delayed): \d+:\d+", line):
                yield Bounce(source=src, kind="bouncelog", error="unrecognised bounce log line")


# ---------------------------------------------------------------------------- DSN messages

def read_eml(path: Path) -> Iterator[Bounce]:
    try:
        size = path.stat().st_size
        if size > _MAX_MESSAGE:
            yield Bounce(source=str(path), kind="dsn", error=f"message of {size} bytes is larger than {_MAX_MESSAGE}")
            return
        with path.open("rb") as fh:
            data = fh.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)[:_MAX_MESSAGE]
    except OSError as exc:
        yield Bounce(source=str(path), kind="dsn", error=f"cannot read: {exc.strerror or exc}")
        return
    yield from parse_dsn(data, str(path))


def read_mbox(path: Path) -> Iterator[Bounce]:
    try:
        box = mailbox.mbox(str(path), factory=None, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as exc:
        yield Bounce(source=str(path), kind="dsn", error=f"cannot read mbox: {exc}")
        return
    for i, key in enumerate(keys, 1):
        try:
            data = box.get_bytes(key)
        except (OSError, mailbox.Error, KeyError) as exc:
            yield Bounce(source=f"{path}#{i}", kind="dsn", error=f"cannot read message: {exc}")
            continue
        yield from parse_dsn(data, f"{path}#{i}")


def read_maildir(path: Path) -> Iterator[Bounce]:
    try:
        box = mailbox.Maildir(str(path), factory=None, create=False)
        keys = sorted(box.keys())
    except (OSError, mailbox.Error) as exc:
        yield Bounce(source=str(path), kind="dsn", error=f"cannot read maildir: {exc}")
        return
    for key in keys:
        try:
            data = box.get_bytes(key)
        except (OSError, mailbox.Error, KeyError) as exc:
            yield Bounce(source=f"{path}/{key}", kind="dsn", error=f"cannot read message: {exc}")
            continue
        yield from parse_dsn(data, f"{path}/{key}")


def parse_dsn(data: bytes, source: str) -> Iterator[Bounce]:
    """One message -> its bounce records (never raises: a broken message yields an error record)."""
    try:
        records = list(_parse_dsn(data, source))
    except Exception as exc:  # noqa: BLE001 - untrusted input: the run goes on, the error is reported
        yield Bounce(source=source, kind="dsn", error=f"unreadable message: {type(exc).__name__}: {exc}"[:300])
        return
    if not records:
        yield Bounce(source=source, kind="dsn", error="no bounce found in this message (not a DSN?)")
        return
    for i, r in enumerate(records, 1):
        if len(records) > 1:
            r.source = f"{source}#{i}" if "#" not in source else f"{source}.{i}"
        yield r


def _header(msg: Message, name: str) -> str | None:
    try:
        v = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header reads as absent
        return None
    if v is None:
        return None
    v = str(v)
    if "=?" in v:
        with contextlib.suppress(Exception):  # undecodable words stay as sent
            v = str(make_header(decode_header(v)))
    return _WS.sub(" ", v).strip() or None


_WS = re.compile(r"\s+")


def _text_of(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if payload is None:
        p = part.get_payload()
        return p if isinstance(p, str) else ""
    charset = part.get_content_charset() or ("iso-2022-jp" if b"\x1b$B" in payload else "utf-8")
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _value(v: str | None) -> str | None:
    """"rfc822; user@example.com" -> "user@example.com"."""
    if not v:
        return None
    v = v.split(";", 1)[1] if ";" in v else v
    v = v.strip().strip("<>").strip()
    return v or None


def _type_and_value(v: str | None) -> tuple[str | None, str]:
    if not v:
        return None, ""
    if ";" in v:
        t, rest = v.split(";", 1)
        if re.fullmatch(r"\s*[A-Za-z][\w-]*\s*", t):
            return t.strip().lower(), rest.strip()
    return None, v.strip()


def _parse_dsn(data: bytes, source: str) -> Iterator[Bounce]:
    msg = email.message_from_bytes(data, policy=policy.compat32)
    subject = _header(msg, "Subject")
    parts = list(msg.walk())
    types = [p.get_content_type() for p in parts]
    original = _original(parts)
    orig_sender = _orig_sender(original, msg)
    common = {"subject": (original or {}).get("subject"), "message_id": (original or {}).get("message_id")}

    if "message/feedback-report" in types:
        yield from _feedback(parts, msg, source, orig_sender)
        return
    if re.match(r"\s*complaint about message from", subject or "", re.I):
        # Hotmail/Outlook.com JMRP complaint: the reported message is attached, no feedback-report part
        rcpt = next((_addr(_header(p, "X-HmXmrOriginalRecipient")) for p in parts
                     if _header(p, "X-HmXmrOriginalRecipient")), None)
        yield Bounce(source=source, kind="dsn", recipient=rcpt, sender=orig_sender, date=_header(msg, "Date"),
                     action="feedback", reason="feedback", diagnostic=subject or "", **common)
        return
    if _is_autoreply(msg, subject) and "message/delivery-status" not in types:
        yield Bounce(source=source, kind="dsn", recipient=_addr(_header(msg, "From")), sender=_addr(_header(msg, "To")),
                     date=_header(msg, "Date"), action="vacation", reason="vacation",
                     diagnostic=(subject or ""), **common)
        return

    human = _human_text(parts)
    for part in parts:
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            recs = list(_rfc3464(part, msg, source, human, orig_sender, common))
            if recs:
                yield from recs
                return
    # some MTAs send the delivery-status block as text/plain or inline in the body
    inline = re.search(r"^(?:Final-Recipient|Original-Recipient):.*$", human, re.M | re.I)
    if inline:
        block = human[inline.start():].replace("\r\n", "\n")
        chunks = [c for c in re.split(r"\n[ \t]*\n", block)[:200] if re.match(r"[A-Za-z][\w-]*:", c.strip())]
        subs = [email.message_from_string(c.strip() + "\n", policy=policy.compat32) for c in chunks]
        recs = list(_from_fields([email.message_from_string("\n", policy=policy.compat32), *subs], msg, source,
                                 human, orig_sender, common))
        if recs and any(r.recipient for r in recs):
            yield from recs
            return
    yield from _plain(msg, source, human, orig_sender, common)


def _addr(v: str | None) -> str | None:
    if not v:
        return None
    m = _ADDR.search(v)
    return m.group(1) if m else None


def _is_autoreply(msg: Message, subject: str | None) -> bool:
    if _BOUNCE_SUBJECT.search(subject or "") or _header(msg, "X-Failed-Recipients"):
        return False
    frm = (_header(msg, "From") or "").lower()
    if re.search(r"mailer-daemon|postmaster|mail delivery", frm):
        return False
    auto = (_header(msg, "Auto-Submitted") or "").lower()
    if auto.startswith("auto-replied"):
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond") or (_header(msg, "Precedence") or "").lower() == "auto_reply":
        return not _BOUNCE_SUBJECT.search(subject or "")
    return bool(subject and re.search(r"out of (?:the )?office|auto(?:matic)?[ -]?repl|vacation|abwesen|absence|autoreply",
                                      subject, re.I)) and not _BOUNCE_SUBJECT.search(subject)


def _original(parts: list[Message]) -> dict[str, str | None] | None:
    """Headers of the returned original message (message/rfc822 or text/rfc822-headers)."""
    for p in parts:
        ct = p.get_content_type()
        if ct in ("message/rfc822", "message/global"):
            inner = p.get_payload()
            if isinstance(inner, list) and inner:
                m = inner[0]
                return {"from": _header(m, "From"), "return_path": _header(m, "Return-Path"),
                        "subject": _header(m, "Subject"), "message_id": _header(m, "Message-ID")}
        if ct in ("text/rfc822-headers", "text/global-headers"):
            m = email.message_from_string(_text_of(p), policy=policy.compat32)
            return {"from": _header(m, "From"), "return_path": _header(m, "Return-Path"),
                    "subject": _header(m, "Subject"), "message_id": _header(m, "Message-ID")}
    return None


def _orig_sender(original: dict[str, str | None] | None, msg: Message) -> str | None:
    for v in ((original or {}).get("return_path"), (original or {}).get("from"), _header(msg, "X-Postfix-Sender"),
              _header(msg, "To")):
        a = _addr(v)
        if a:
            return a
    return None


def _human_text(parts: list[Message]) -> str:
    """The bounce's own explanation: text parts that are not inside the returned message."""
    skip: set[int] = set()
    for p in parts:
        if p.get_content_type() in ("message/rfc822", "message/global", "text/rfc822-headers",
                                     "message/delivery-status", "message/global-delivery-status",
                                     "message/feedback-report"):
            for q in p.walk():
                if q is not p:
                    skip.add(id(q))
    texts = []
    for p in parts:
        if id(p) in skip or p.is_multipart():
            continue
        ct = p.get_content_type()
        if ct.startswith("multipart/"):
            ct = "text/plain"  # a multipart whose boundary did not parse: its raw text is all there is
        if ct in ("text/plain", "text/html"):
            t = _text_of(p)
            if ct == "text/html":
                if any(x for x in texts):
                    continue
                t = _strip_html(t)
            texts.append(t)
        if p.get_content_type() in ("message/rfc822", "message/global", "text/rfc822-headers",
                                     "message/delivery-status"):
            break
    text = "\n".join(texts)
    m = _ORIGINAL.search(text)
    if m and m.start() > 0:
        text = text[:m.start()]
    return text[:200_000]


def _drop_blocks(t: str, tag: str) -> str:
    """Remove <tag ...>...</tag> blocks with str.find (linear even when they are not closed)."""
    low = t.lower()
    out, i = [], 0
    while True:
        j = low.find(f"<{tag}", i)
        if j < 0:
            out.append(t[i:])
            return "".join(out)
        out.append(t[i:j])
        k = low.find(f"</{tag}>", j)
        if k < 0:
            return "".join(out)
        i = k + len(tag) + 3


def _strip_html(t: str) -> str:
    t = _drop_blocks(_drop_blocks(t[:200_000], "script"), "style")
    t = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", t)
    t = re.sub(r"<[^>]+>", " ", t)
    return (t.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">")
             .replace("&quot;", '"').replace("&amp;", "&"))


def _rfc3464(part: Message, msg: Message, source: str, human: str, orig_sender: str | None,
             common: dict[str, Any]) -> Iterator[Bounce]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        text = _text_of(part)
        blocks = [email.message_from_string(b, policy=policy.compat32) for b in re.split(r"\n\s*\n", text) if b.strip()]
    yield from _from_fields(blocks, msg, source, human, orig_sender, common)


def _from_fields(blocks: list[Message], msg: Message, source: str, human: str, orig_sender: str | None,
                 common: dict[str, Any]) -> Iterator[Bounce]:
    per_message = blocks[0] if blocks else None
    reporting = _value(_header(per_message, "Reporting-MTA")) if per_message is not None else None
    arrival = _header(per_message, "Arrival-Date") if per_message is not None else None
    sender = _addr(_header(per_message, "X-Postfix-Sender")) if per_message is not None else None
    rcpts = [_addr(_header(b, "Final-Recipient") or "") or "" for b in blocks]
    for block in blocks:
        final = _header(block, "Final-Recipient") or _header(block, "Original-Recipient") or _header(block, "X-Actual-Recipient")
        if not final:
            continue
        rcpt = _addr(final) or _value(final)
        action = (_header(block, "Action") or "").lower() or None
        status = _header(block, "Status")
        dtype, diag = _type_and_value(_header(block, "Diagnostic-Code"))
        if not diag:
            diag = _near(human, rcpt, others=rcpts) or ""
        elif len(diag) < 40 or not re.search(r"[a-z]{3}", diag, re.I):
            near = _near(human, rcpt, others=rcpts)
            if near and near not in diag:
                diag = f"{diag} {near}"
        yield Bounce(
            source=source, kind="dsn", recipient=rcpt, sender=sender or orig_sender,
            date=_header(block, "Last-Attempt-Date") or arrival or _header(msg, "Date"),
            status=status.split()[0] if status else None, action=action, diagnostic=diag, diagnostic_type=dtype,
            remote_mta=_value(_header(block, "Remote-MTA")), reporting_mta=reporting,
            command=_command(human, rcpt, rcpts), **common,
        )


_CMD = re.compile(
    r"\b(?:in reply to|after|while talking to .{0,60}>>>|did not like our|most progress was|smtp command)\s*"
    r"(EHLO|HELO|MAIL FROM|MAIL|RCPT TO|RCPT|DATA|end of data|STARTTLS|initial connection)\b"
    r"|>>> (EHLO|HELO|MAIL|RCPT|DATA)\b|\bSMTP:(RCPT|MAIL|DATA)\b|\[(RCPT_TO|MAIL_FROM|DATA)\]"
    r"|\b(RCPT TO|MAIL FROM):<[^>]*>\s*<<<|(does not like recipient)", re.I)
_CMD_NAMES = {"MAIL FROM": "MAIL", "RCPT TO": "RCPT", "END OF DATA": "DATA", "INITIAL CONNECTION": "CONN",
              "RCPT_TO": "RCPT", "MAIL_FROM": "MAIL", "DOES NOT LIKE RECIPIENT": "RCPT"}


def _command(text: str, rcpt: str | None, others: Iterable[str] = ()) -> str | None:
    seg = _near(text, rcpt, others=others) or text
    m = _CMD.search(seg)
    if not m:
        return None
    c = next(g for g in m.groups() if g).upper()
    return _CMD_NAMES.get(c, c.split()[0])


def _near(text: str, rcpt: str | None, limit: int = 1500, others: Iterable[str] = ()) -> str | None:
    """The explanation printed next to one recipient in the human-readable part."""
    if not rcpt or not text:
        return None
    low = text.lower()
    i = low.find(rcpt.lower())
    if i < 0:
        return None
    seg = text[i + len(rcpt):i + len(rcpt) + limit]
    # stop where the next failed recipient's paragraph starts
    seg_low = seg.lower()
    cut = min((j for j in (seg_low.find(o.lower()) for o in others if o and o.lower() != rcpt.lower()) if j > 0),
              default=-1)
    if cut > 0:
        seg = seg[:cut]
    # stop at the next recipient paragraph
    nxt = re.search(r"\n\s*\n\s*<?[^\s@<>]+@[^\s@<>]+>?:?\s*\n", seg)
    if nxt:
        seg = seg[:nxt.start()]
    seg = _WS.sub(" ", seg).strip(" :>")
    return seg or None


def _feedback(parts: list[Message], msg: Message, source: str, orig_sender: str | None) -> Iterator[Bounce]:
    for p in parts:
        if p.get_content_type() != "message/feedback-report":
            continue
        blocks = p.get_payload()
        if not isinstance(blocks, list):
            blocks = [email.message_from_string(_text_of(p), policy=policy.compat32)]
        fields = blocks[0] if blocks else msg
        ftype = _header(fields, "Feedback-Type") or ""
        rcpts = [h for b in blocks for h in (b.get_all("Original-Rcpt-To") or [])] or \
                [_header(fields, "Removal-Recipient") or _header(msg, "From") or ""]
        for r in rcpts:
            yield Bounce(source=source, kind="dsn", recipient=_addr(r), sender=orig_sender,
                         date=_header(fields, "Arrival-Date") or _header(msg, "Date"), action="feedback",
                         reason="feedback", diagnostic=f"feedback-type: {ftype}".strip())
        return


# ---------------------------------------------------------------------------- non-standard bodies

_ADDR_SCAN = 20_000  # failed recipients are named near the top; a long run of address characters costs n^2
_SKIP_LOCAL = re.compile(r"^(?:mailer-daemon|postmaster|abuse|noreply|no-reply|bounce[s]?|root)$", re.I)


def _plain(msg: Message, source: str, human: str, orig_sender: str | None, common: dict[str, Any]) -> Iterator[Bounce]:
    """A bounce without a delivery-status part: failed recipients and the text next to each."""
    failed = [a.strip() for a in (_header(msg, "X-Failed-Recipients") or "").split(",") if "@" in a]
    bounce_from = _addr(_header(msg, "From"))
    bounce_to = _addr(_header(msg, "To"))
    recipients: list[str] = []
    for a in failed:
        ad = _addr(a)
        if ad and ad.lower() not in (x.lower() for x in recipients):
            recipients.append(ad)
    if not recipients:
        for m in _ADDR.finditer(human[:_ADDR_SCAN]):
            a = m.group(1)
            low = a.lower()
            local = low.split("@", 1)[0]
            if low in (x.lower() for x in recipients) or (bounce_to and low == bounce_to.lower()) or \
                    (bounce_from and low == bounce_from.lower()) or (orig_sender and low == orig_sender.lower()) or \
                    _SKIP_LOCAL.match(local):
                continue
            recipients.append(a)
    if not recipients:
        if not _BOUNCE_SUBJECT.search(_header(msg, "Subject") or ""):
            return  # no failed recipient and not even a bounce's subject: not a bounce
        recipients = [None]  # type: ignore[list-item]
    whole = _WS.sub(" ", human).strip()
    date = _header(msg, "Date")
    if '"notificationType":"Complaint"' in whole or '"complaintFeedbackType"' in whole:
        # Amazon SES complaint notification (JSON body): a feedback report, not a bounce
        for r in recipients[:1]:
            yield Bounce(source=source, kind="dsn", recipient=r, sender=orig_sender, date=date, action="feedback",
                         reason="feedback", diagnostic="Amazon SES complaint notification", **common)
        return
    for r in recipients[:1000]:
        near = _near(human, r, others=recipients) if r else None
        yield Bounce(source=source, kind="dsn", recipient=r, sender=orig_sender, date=date,
                     diagnostic=near or whole[:4000], command=_command(human, r, recipients),
                     reporting_mta=_addr(_header(msg, "From")), fields={"context": whole[:4000]} if near else {},
                     **common)


def iter_sources(paths: Iterable[str | Path]) -> Iterator[Bounce]:
    for p in paths:
        yield from read_bounces(p)
