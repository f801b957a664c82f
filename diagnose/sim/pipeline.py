"""The pipeline walk: one Message through one Config -> line templates, outcome and trace.

Public entry points are re-exported by diagnose.simulator (read its docstring first).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from diagnose.sim.config import (
    Config,
    Filter,
    IncomingPolicy,
    MailFlowPolicy,
    RatEntry,
    default_config,
)
from diagnose.sim.logformat import Envelope, asyncos_time, header, py_str, smtp_reply

# Lines whose wording is built from a documented template rather than copied from a captured log.
INFERRED_GRAMMAR = {
    "dmarc_fail": "DMARC failure lines: only the pass form was ever captured (esa-log-formats.md §5, §14)",
    "av_drop": "`Message aborted MID n Dropped by antivirus`: the tracking state 'Dropped by antivirus' in the "
               "logged grammar of `Dropped by CASE` / `Dropped by amp`",
    "outbreak_positive": "`Outbreak Filters: verdict positive` is a Cisco QA pattern, not a captured line",
    "dlp_action": "the DLP drop and quarantine lines (`Dropped by DLP`, `(DLP policy:...)`): only the violation "
                  "line was captured",
}

DEFAULT_START = datetime(2024, 10, 7, 13, 0, 0)
_PLACEHOLDER = re.compile("\x00([a-z]+[0-9]*)\x00")
# `pending till` needs an absolute time: the line carries an offset, resolved when rendered.
_PENDING = "\x01"
_PENDING_RE = re.compile("\x01([0-9.]+)\x01")
_ID_KIND = {"icid": "icid", "mid": "mid", "bmid": "mid", "rmid": "mid", "dcid": "dcid", "rcid": "rcid"}


def _ph(name: str) -> str:
    return f"\x00{name}\x00"


def _clean(text: str) -> str:
    """Message descriptions are untrusted: no NUL (our placeholder marker), no line breaks."""
    return text.replace("\x00", "").replace("\x01", "").replace("\r", "\\r").replace("\n", "\\n")


@dataclass(frozen=True)
class Delivery:
    """How the next hop answers.

    kind: ok (2xx), reject (5xx at RCPT/DATA -> hard bounce), defer (4xx `failures` times, and the
    log ends with the message still queued), defer_then_ok (4xx `failures` times, then 2xx),
    dns (MX does not exist -> DCID 0 hard bounce), expire (4xx until the bounce profile's maximum
    time in queue -> "Delivery expired" hard bounce).
    """

    kind: str = "ok"
    mx_ip: str = "198.51.100.20"
    code: str = ""
    reply: tuple[str, ...] = ()
    failures: int = 1


@dataclass(frozen=True)
class Message:
    """What arrives: the connecting host, the envelope, the authentication results, the verdicts."""

    sender_ip: str = "203.0.113.10"
    sbrs: float | None = 3.5
    ptr: str | None = "mail.partner.example"
    ptr_verified: bool = True
    helo: str = "mail.partner.example"
    country: str | None = None
    tls: bool = True
    sender: str = "alice@partner.example"
    recipients: tuple[str, ...] = ("bob@example.com",)
    sender_domain_dns: str = "ok"  # ok | does not exist | could not be resolved | missing
    rcpts_this_hour: int = 0  # recipients this IP already sent this hour (rate limiting)
    header_from_domain: str | None = None  # defaults to the envelope sender's domain
    spf: str = "Pass"  # Pass | Fail | SoftFail | Neutral | None | TempError | PermError
    dkim: str = "pass"  # pass | permfail | none (unsigned)
    dmarc_policy: str = "none"  # the sender domain's published p= (none | quarantine | reject)
    sdr: str = "Neutral"  # Awful | Poor | Tainted | Weak | Unknown | Neutral | Good
    slbl: str | None = None  # safelist | blocklist (end-user lists)
    spam: str = "negative"  # negative | suspect | positive | marketing
    graymail: str = "negative"  # negative | marketing_mail | social_mail | bulk_mail
    virus: str | None = None  # virus name -> antivirus positive
    av_state: str = "clean"  # clean | encrypted | unscannable (when no virus)
    amp: str | None = None  # CLEAN | MALWARE | UNKNOWN; None: SKIPPED without attachments, else CLEAN
    outbreak_level: int = 0  # Virus Threat Level 0-5
    dlp_policy: str | None = None  # outgoing mail: the DLP policy it violates
    dlp_severity: str = "HIGH"  # LOW | MEDIUM | HIGH | CRITICAL
    attachments: tuple[str, ...] = ()
    subject: str = "Quarterly report"
    message_id: str | None = None
    size: int = 24_000
    delivery: Delivery = field(default_factory=Delivery)
    # SMTP AUTH the client attempts: None (does not try) | ok | failed; the user name it logs in as
    smtp_auth: str | None = None
    auth_user: str = "app-sender"
    invalid_rcpts_this_hour: int = 0  # RAT-refused recipients this host already sent this hour (DHAP)
    # the listener delays a HAT REJECT to RCPT TO ("Delay rejection", Network > Listeners); per message, so
    # one log can hold connections of both kinds of listener
    delayed_reject: bool = False
    # the quarantine the message is held in releases it (an admin's "Release", or the end user's in the ISQ)
    # after `release_after` seconds: the policy quarantine logs `released from quarantine`, the local spam
    # quarantine reinjects it as a new MID; either way it then goes to delivery
    release: str | None = None  # None | manual
    release_after: float = 1800.0

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2] or self.helo


@dataclass
class Step:
    """One stage of the offline trace: passed, stopped, skipped (off in the policy) or not_reached."""

    stage: str
    status: str
    detail: str


@dataclass
class SimResult:
    """The simulated lines (offset seconds, level, text with id placeholders) and the path taken."""

    message: Message
    config: Config
    steps: list[Step] = field(default_factory=list)
    lines_t: list[tuple[float, str, str]] = field(default_factory=list)
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # recipient -> (stage, outcome)
    ids: dict[str, int] = field(default_factory=dict)  # the ids of the last lines() rendering

    @property
    def target(self) -> str:
        return self.message.recipients[0] if self.message.recipients else ""

    @property
    def stage(self) -> str:
        return self.outcomes.get(self.target, ("unknown", "unknown"))[0]

    @property
    def outcome(self) -> str:
        return self.outcomes.get(self.target, ("unknown", "unknown"))[1]

    def lines(self, start: datetime = DEFAULT_START, *, with_header: bool = True, syslog: bool = False,
              first_ids: dict[str, int] | None = None) -> list[str]:
        """Render to complete log lines, ids numbered from `first_ids` (default 1001 / 5001 / 901 / 11)."""
        ids = _Ids(**(first_ids or {}))
        env = Envelope(syslog=syslog, host="" if not syslog else self.config.hostname)
        out: list[str] = []
        if with_header and not syslog:
            out += [env.line(ts, lvl, txt) for ts, lvl, txt in header(
                start, self.config.version, self.config.serial, self.config.tz_offset)]
        own: dict[str, int] = {}
        for off, lvl, tpl in sorted(self.lines_t, key=lambda x: x[0]):
            out.append(env.line(start + timedelta(seconds=off), lvl, render(tpl, own, ids, start)))
        self.ids = own
        return out


class _Ids:
    """The appliance's counters. Each kind increases by one at each allocation."""

    def __init__(self, icid: int = 1001, mid: int = 5001, dcid: int = 901, rcid: int = 11) -> None:
        self.next = {"icid": icid, "mid": mid, "dcid": dcid, "rcid": rcid}

    def take(self, kind: str) -> int:
        value = self.next[kind]
        self.next[kind] = value + 1
        return value


def render(template: str, own: dict[str, int], ids: _Ids, start: datetime) -> str:
    """Resolve a line template: an id placeholder gets its number the first time it is written
    (so ids increase in log order); a `pending till` offset becomes a time after `start`."""
    if "\x00" in template:
        def sub(m: re.Match) -> str:
            key = m.group(1)
            if key not in own:
                own[key] = ids.take(_ID_KIND[key.rstrip("0123456789")])
            return str(own[key])

        template = _PLACEHOLDER.sub(sub, template)
    if "\x01" in template:
        template = _PENDING_RE.sub(lambda m: asyncos_time(start + timedelta(seconds=float(m.group(1)))), template)
    return template


class _Stop(Exception):
    """The message (or connection) leaves the pipeline here."""


class _Run:
    def __init__(self, msg: Message, cfg: Config, rng: random.Random) -> None:
        self.m, self.cfg, self.rng = msg, cfg, rng
        self.t = 0.0
        self.res = SimResult(message=msg, config=cfg)
        self.rids: dict[str, int] = {}  # accepted recipient -> RID
        self.dcids = 0
        self.sender = _clean(msg.sender)
        self.quarantines: list[tuple[str, str]] = []  # (stage, quarantine name) flagged on the way
        # a verdict whose action is "deliver" (with a subject tag): the stage that decided how it arrives
        self.tagged_by: str | None = None
        self.relay = False  # a RELAY mail flow policy: outgoing mail
        self.group = "None"  # the HAT sender group the connection matched

    # -- recording ---------------------------------------------------------------------------
    def log(self, text: str, dt: float = 0.0, level: str = "Info") -> None:
        self.t += dt
        self.res.lines_t.append((round(self.t, 3), level, text))

    def step(self, stage: str, status: str, detail: str) -> None:
        self.res.steps.append(Step(stage, status, detail))

    def settle(self, stage: str, outcome: str, rcpts: list[str] | None = None) -> None:
        for r in rcpts if rcpts is not None else list(self.rids) or list(self.m.recipients):
            self.res.outcomes.setdefault(r, (stage, outcome))

    def stop(self, stage: str, outcome: str, detail: str, rcpts: list[str] | None = None) -> None:
        self.step(stage, "stopped", detail)
        self.settle(stage, outcome, rcpts)
        raise _Stop

    def finish(self) -> None:
        self.log(f"Message finished MID {_ph('mid')} done", 0.01)

    # -- receipt -----------------------------------------------------------------------------
    def connect(self) -> MailFlowPolicy:
        m, cfg = self.m, self.cfg
        ptr = _clean(m.ptr) if m.ptr else "unknown"
        self.log(f"New SMTP ICID {_ph('icid')} interface {cfg.interface} ({cfg.interface_ip}) address "
                 f"{_clean(m.sender_ip)} reverse dns host {ptr} verified {'yes' if m.ptr and m.ptr_verified else 'no'}")
        group, match, pol = cfg.hat_match(m.sender_ip, m.sbrs)
        self.group = group
        sbrs = "None" if m.sbrs is None else f"{m.sbrs:.1f}"
        country = f" country {_clean(m.country)}" if m.country else ""
        detail = f"sender group {group} (match {match}, SBRS {sbrs}) -> mail flow policy {pol.name}: {pol.action}"
        if pol.action == "REJECT" and m.delayed_reject:
            # the captured form (PY2022): no `REJECT SG` line, the session continues, then is lost
            self.log(f"ICID {_ph('icid')} Delayed HAT REJECT continuing session for recipient logging "
                     f"({_clean(m.sender_ip)})", 0.02)
            self.log(f"ICID {_ph('icid')} lost", 0.3)
            self.log(f"ICID {_ph('icid')} close", 0.0)
            self.stop("hat", "rejected", detail + " (rejection delayed to RCPT TO by the listener)")
        self.log(f"ICID {_ph('icid')} {pol.action} SG {group} match {match} SBRS {sbrs}{country}", 0.02)
        if pol.action in ("REJECT", "TCPREFUSE"):
            self.log(f"ICID {_ph('icid')} close", 0.01)
            self.stop("hat", "rejected", detail)
        if m.tls:
            self.log(f"ICID {_ph('icid')} TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384", 0.05)
        elif pol.tls == "required":
            self.log(f"ICID {_ph('icid')} TLS was required but remote host did not initiate it", 0.05)
            self.log(f"ICID {_ph('icid')} close", 0.01)
            self.stop("hat", "rejected", f"{detail}; TLS required by {pol.name} but not started")
        self.smtp_auth(pol, detail)
        self.step("hat", "passed", detail)
        self.relay = pol.action == "RELAY"
        return pol

    def smtp_auth(self, pol: MailFlowPolicy, detail: str) -> None:
        """SMTP AUTH after STARTTLS (S2W templates SMTPAUTH_*, esa-log-formats.md §3)."""
        m = self.m
        if pol.smtp_auth == "off":
            return
        if m.smtp_auth is None:
            if pol.smtp_auth == "required":
                self.log(f"SMTP Auth (ICID {_ph('icid')}) was required but remote host did not initiate it", 0.5)
                self.log(f"ICID {_ph('icid')} close", 0.01)
                self.stop("hat", "rejected", f"{detail}; SMTP AUTH required by {pol.name}, the client did not try")
            return
        result = "succeeded" if m.smtp_auth == "ok" else "failed"
        self.log(f"SMTP Auth (ICID {_ph('icid')}) {result} for user: {_clean(m.auth_user)} using AUTH mechanism: "
                 f"LOGIN with profile: {_clean(pol.auth_profile)}", 0.8)
        if result == "failed" and pol.smtp_auth == "required":
            self.log(f"ICID {_ph('icid')} close", 0.01)
            self.stop("hat", "rejected", f"{detail}; SMTP AUTH as {m.auth_user!r} failed against profile "
                                         f"{pol.auth_profile} and {pol.name} requires it")

    def sender_verification(self, pol: MailFlowPolicy) -> None:
        m, cfg = self.m, self.cfg
        if self.relay:
            self.step("sender_verification", "skipped", f"{pol.name} relays: the sender is one of ours")
            return
        addr = f"<{self.sender}>"
        entry = next((e for e in cfg.exception_table if e.matches(m.sender)), None) if pol.use_exception_table else None
        if entry is not None and not entry.allow:
            self.log(f"ICID {_ph('icid')} Address: {addr} sender rejected, envelope sender matched domain exception",
                     0.1)
            self.log(f"ICID {_ph('icid')} close", 0.01)
            self.stop("sender_verification", "rejected", f"Exception Table entry {entry.address} is Reject")
        if not pol.sender_dns_verification:
            self.step("sender_verification", "skipped", f"envelope sender DNS verification is off in {pol.name}")
            return
        if m.sender_domain_dns == "ok":
            self.step("sender_verification", "passed", f"the domain of {m.sender} resolves")
            return
        if entry is not None:
            self.log(f"ICID {_ph('icid')} Address: {addr} sender allowed, envelope sender matched domain exception",
                     0.1)
            self.step("sender_verification", "passed", f"Exception Table entry {entry.address} allows it")
            return
        self.log(f"ICID {_ph('icid')} Address: {addr} sender rejected, envelope sender domain {m.sender_domain_dns}",
                 0.1)
        self.log(f"ICID {_ph('icid')} lost", 0.01)
        self.log(f"ICID {_ph('icid')} close", 0.0)
        self.stop("sender_verification", "rejected", f"envelope sender domain {m.sender_domain_dns}")

    def envelope(self, pol: MailFlowPolicy) -> None:
        m, cfg = self.m, self.cfg
        self.log(f"Start MID {_ph('mid')} ICID {_ph('icid')}", 0.1)
        self.log(f"MID {_ph('mid')} ICID {_ph('icid')} From: <{self.sender}>", 0.01)
        throttled = rat_rejected = 0
        sent = m.rcpts_this_hour
        for rcpt in m.recipients:
            r = _clean(rcpt)
            entry = RatEntry("ALL", "ACCEPT") if self.relay else cfg.rat_entry(rcpt)
            if entry.action != "ACCEPT":
                self.log(f"MID {_ph('mid')} ICID {_ph('icid')} To: <{r}> Rejected by RAT", 0.05)
                self.settle("rat", "rejected", [rcpt])
                rat_rejected += 1
                if pol.dhap_limit is not None and m.invalid_rcpts_this_hour + rat_rejected > pol.dhap_limit:
                    self.dhap(pol)
                continue
            if (pol.max_rcpts_per_hour is not None and sent >= pol.max_rcpts_per_hour
                    and not entry.bypass_receiving_control):
                self.log(f"MID {_ph('mid')} ICID {_ph('icid')} To: <{r}> Rejected by Receiving Control", 0.05)
                self.settle("hat", "rejected", [rcpt])
                throttled += 1
                continue
            sent += 1
            self.rids[rcpt] = len(self.rids)
            self.log(f"MID {_ph('mid')} ICID {_ph('icid')} RID {self.rids[rcpt]} To: <{r}>", 0.05)
        if self.relay:
            self.step("rat", "skipped", f"{pol.name} relays: any recipient is allowed, the RAT is not consulted")
        elif rat_rejected:
            self.step("rat", "stopped" if not self.rids else "passed",
                      f"{rat_rejected} recipient(s) matched a RAT REJECT entry (All Other Recipients)")
        else:
            self.step("rat", "passed", "every recipient matched a RAT ACCEPT entry")
        if throttled:
            self.step("hat", "stopped" if not self.rids else "passed",
                      f"{throttled} recipient(s) over {pol.name}'s {pol.max_rcpts_per_hour} recipients per hour")
        if not self.rids:
            self.log(f"ICID {_ph('icid')} close", 0.2)
            raise _Stop
        if pol.max_message_size is not None and m.size > pol.max_message_size:
            self.log(f"ICID {_ph('icid')} Receiving Failed: Message size exceeds limit", 0.3)
            self.log(f"ICID {_ph('icid')} close", 0.01)
            self.stop("hat", "rejected", f"{m.size} bytes is over {pol.name}'s maximum message size "
                                         f"{pol.max_message_size}")
        mid_hdr = _clean(m.message_id or f"<{self.rng.getrandbits(40):010x}@{m.sender_domain}>")
        self.log(f"MID {_ph('mid')} Message-ID {py_str(mid_hdr)}", 0.2)
        self.log(f"MID {_ph('mid')} Subject {py_str(_clean(m.subject))}", 0.0)
        self.log(f"MID {_ph('mid')} ready {m.size} bytes from <{self.sender}>", 0.01)

    def dhap(self, pol: MailFlowPolicy) -> None:
        """Over the policy's invalid recipients per hour: the connection is dropped (Cisco community thread
        863009 grammar, no ICID on the line); the refused recipients' answer becomes the HAT's DHAP limit."""
        m, cfg = self.m, self.cfg
        ip = _clean(m.sender_ip).replace("'", "")
        ptr = _clean(m.ptr).replace("'", "").replace(",", "") if m.ptr else None
        host = f"('{ip}', '{ptr}')" if ptr else f"('{ip}', None)"
        tail = f", reverse_dns={ptr}" if ptr else ""
        self.log(f"Dropping connection due to potential Directory Harvest Attack from host={host}, "
                 f"dhap_limit={pol.dhap_limit}, sender_group={self.group}, listener={cfg.listener}{tail}", 0.01,
                 "Warning")
        self.log(f"ICID {_ph('icid')} close", 0.0)
        refused = [r for r in m.recipients if self.res.outcomes.get(r) == ("rat", "rejected")]
        for r in refused:
            self.res.outcomes[r] = ("hat", "rejected")
        self.stop("hat", "rejected", f"{m.invalid_rcpts_this_hour + len(refused)} invalid recipients this hour, "
                                     f"over {pol.name}'s DHAP limit {pol.dhap_limit}: connection dropped",
                  [r for r in m.recipients if r not in self.res.outcomes])

    def authentication(self, pol: MailFlowPolicy) -> None:
        m = self.m
        hfrom = _clean(m.header_from_domain or m.sender_domain)
        if pol.spf:
            self.log(f"MID {_ph('mid')} SPF: helo identity postmaster@{_clean(m.helo)} None", 0.01)
            self.log(f"MID {_ph('mid')} SPF: mailfrom identity {self.sender} {m.spf}", 0.0)
        if pol.dkim and m.dkim != "none":
            sig = f"(d={hfrom} s=selector1 i=@{hfrom})"
            text = "pass signature verified" if m.dkim == "pass" else "permfail body hash did not verify [final]"
            self.log(f"MID {_ph('mid')} DKIM: {text} {sig}", 0.01)
        detail = f"SPF {m.spf}, DKIM {m.dkim}"
        if pol.dmarc:
            spf_al = m.spf == "Pass" and m.sender_domain.lower() == hfrom.lower()
            dkim_al = pol.dkim and m.dkim == "pass"
            ok = spf_al or dkim_al
            self.log(f"MID {_ph('mid')} DMARC: Message from domain {hfrom}, DMARC {'pass' if ok else 'fail'} "
                     f"(SPF aligned {spf_al}, DKIM aligned {dkim_al})", 0.01)
            detail += f", DMARC {'pass' if ok else 'fail'} (p={m.dmarc_policy})"
            if ok:
                self.log(f"MID {_ph('mid')} DMARC: Verification passed", 0.0)
            elif m.dmarc_policy == "reject" and pol.dmarc_reject:
                # No captured sample of this line exists (INFERRED_GRAMMAR["dmarc_fail"]).
                self.log(f"MID {_ph('mid')} DMARC: Verification failed. Message rejected.", 0.0)
                self.log(f"ICID {_ph('icid')} close", 0.05)
                self.stop("authentication", "rejected", detail + " -> 550 #5.7.1 DMARC unauthenticated mail "
                                                                 "is prohibited")
            else:
                self.log(f"MID {_ph('mid')} DMARC: Verification failed. No action taken.", 0.0)
        self.log(f"ICID {_ph('icid')} close", 0.05)
        if pol.spf or pol.dkim or pol.dmarc:
            self.step("authentication", "passed", detail)
        else:
            self.step("authentication", "skipped", f"SPF, DKIM and DMARC verification are off in {pol.name}")

    def sdr(self, pol: MailFlowPolicy) -> None:
        m = self.m
        if not pol.sdr:
            self.step("sdr", "skipped", f"SDR verification is off in {pol.name}")
            return
        dom = _clean(m.sender_domain)
        self.log(f"MID {_ph('mid')} SDR: Domains for which SDR is requested: reverse DNS host: "
                 f"{_clean(m.ptr or 'Not Present')}, helo: {_clean(m.helo)}, env-from: {dom}, header-from: "
                 f"Not Present, reply-to: Not Present", 0.01)
        self.log(f"MID {_ph('mid')} SDR: Consolidated Sender Threat Level: {m.sdr}, Threat Category: N/A, "
                 f"Suspected Domain(s) : N/A (other reasons for verdict). Sender Maturity: 30 days (or greater) "
                 f"for domain: {dom}", 0.0)
        self.step("sdr", "passed", f"threat level {m.sdr}")

    # -- work queue --------------------------------------------------------------------------
    def ldap_accept(self) -> None:
        dropped = []
        for rcpt, action in self.cfg.ldap_accept.items():
            if rcpt in self.rids:
                verb = "Drop" if action == "drop" else "Bounce"
                self.log(f"LDAP: {verb} query corp.ldapaccept MID {_ph('mid')} RID {self.rids[rcpt]} "
                         f"address {_clean(rcpt)}", 0.05)
                self.settle("ldap_accept", "dropped" if action == "drop" else "bounced", [rcpt])
                dropped.append(rcpt)
        if not dropped:
            return
        for r in dropped:
            del self.rids[r]
        if not self.rids:
            if any(self.cfg.ldap_accept[r] == "bounce" for r in dropped):
                self.bounce_notice(0.05)
            self.finish()
            self.stop("ldap_accept", self.res.outcomes[dropped[0]][1], "recipient not found by the LDAP accept query",
                      dropped)
        self.step("ldap_accept", "passed", f"{len(dropped)} recipient(s) removed by the LDAP accept query")

    def filter_action(self, stage: str, f: Filter, where: str) -> None:
        """A matched message or content filter's final action."""
        kind = "filter" if stage == "message_filter" else "content filter"
        table = "" if stage == "message_filter" else " in the inbound table"
        if f.action == "quarantine":
            reason = "message filter" if stage == "message_filter" else "content filter"
            self.log(f"MID {_ph('mid')} quarantined to {_quote(f.quarantine)} ({reason}:{_clean(f.name)})", 0.02)
            self.quarantines.append((stage, f.quarantine))
            self.step(stage, "passed", f"{where} {f.name!r} matched: quarantine to {f.quarantine} (held at the end)")
            return
        verb = "Dropped" if f.action == "drop" else "Bounced"
        self.log(f"Message aborted MID {_ph('mid')} {verb} by {kind} {py_str(_clean(f.name))}{table}", 0.02)
        if f.action == "bounce":
            self.bounce_notice(0.01)
        self.finish()
        self.stop(stage, "dropped" if f.action == "drop" else "bounced", f"{where} {f.name!r} matched: {f.action}")

    def message_filters(self) -> None:
        for f in self.cfg.message_filters:
            if f.matches(self.m):
                self.filter_action("message_filter", f, "message filter")
                return
        self.step("message_filter", "passed", "no message filter matched")

    def mail_policy(self, pol: MailFlowPolicy) -> IncomingPolicy:
        ip = (self.cfg.outgoing_policy if self.relay else self.cfg.incoming_policy)(self.m.sender)
        table = "outbound" if self.relay else "inbound"
        # the work queue picks the message up a moment after DATA (CRIBL sample: about 2 s)
        self.log(f"MID {_ph('mid')} matched all recipients for per-recipient policy {ip.name} in the {table} table",
                 round(self.rng.uniform(0.2, 2.5), 3))
        return ip

    def antispam(self, pol: MailFlowPolicy, ip: IncomingPolicy) -> None:
        m = self.m
        if m.slbl == "safelist":
            self.log(f"MID {_ph('mid')} interim verdict using engine: SLBL spam negative", 0.02)
            self.step("safelist_blocklist", "passed", "sender on the end-user safelist: anti-spam skipped")
            self.step("antispam", "skipped", "safelisted sender")
            return
        if m.slbl == "blocklist":
            self.log(f"MID {_ph('mid')} interim verdict using engine: SLBL spam positive", 0.02)
            self.log(f"ISQ: Tagging MID {_ph('mid')} for quarantine", 0.01)
            self.quarantines.append(("safelist_blocklist", "ISQ"))
            self.step("safelist_blocklist", "passed", "sender on the end-user blocklist: to the spam quarantine")
            return
        self.step("safelist_blocklist", "passed", "sender on no end-user list")
        if not pol.spam_check:
            self.step("antispam", "skipped", f"anti-spam is off in mail flow policy {pol.name}")
            return
        verdict = "marketing" if m.spam == "marketing" else f"spam {m.spam}"
        self.log(f"MID {_ph('mid')} interim verdict using engine: CASE {verdict}", round(self.rng.uniform(0.05, 1.5), 3))
        self.log(f"MID {_ph('mid')} using engine: CASE {verdict}", 0.0)
        action = {"positive": ip.spam_positive, "suspect": ip.spam_suspect, "marketing": ip.marketing}.get(
            m.spam, "deliver")
        detail = f"CASE verdict {verdict}; policy {ip.name} action {action}"
        if action == "drop":
            self.log(f"Message aborted MID {_ph('mid')} Dropped by CASE", 0.0)
            self.finish()
            self.stop("antispam", "dropped", detail)
        if action == "quarantine":
            self.log(f"ISQ: Tagging MID {_ph('mid')} for quarantine", 0.0)
            self.quarantines.append(("antispam", "ISQ"))
        elif m.spam != "negative":
            self.tagged_by = self.tagged_by or "antispam"
            detail += " (delivered with a subject tag)"
        self.step("antispam", "passed", detail)

    def antivirus(self, pol: MailFlowPolicy, ip: IncomingPolicy) -> None:
        m = self.m
        if not pol.virus_check:
            self.step("antivirus", "skipped", f"anti-virus is off in mail flow policy {pol.name}")
            return
        if m.virus:
            # an engine's virus name (W32/Sober-P, EICAR-AV-Test) never holds a quote; logged as '...'
            name = _clean(m.virus).replace("'", "")
            self.log(f"MID {_ph('mid')} interim AV verdict using Sophos VIRAL", 0.1)
            self.log(f"MID {_ph('mid')} antivirus positive '{name}'", 0.0)
            action, detail = ip.virus_infected, f"Sophos found {name}"
        else:
            state = m.av_state if m.av_state in ("encrypted", "unscannable") else "clean"
            self.log(f"MID {_ph('mid')} interim AV verdict using Sophos {state.upper()}", 0.1)
            self.log(f"MID {_ph('mid')} antivirus {'negative' if state == 'clean' else state}", 0.0)
            action = {"encrypted": ip.virus_encrypted, "unscannable": ip.virus_unscannable}.get(state, "deliver")
            detail = f"Sophos verdict {state}"
        if action == "drop":
            self.log(f"Message aborted MID {_ph('mid')} Dropped by antivirus", 0.0)  # INFERRED_GRAMMAR["av_drop"]
            self.finish()
            self.stop("antivirus", "dropped", detail + "; action drop")
        if action == "quarantine":
            self.log(f'MID {_ph("mid")} quarantined to "Virus" (a/v verdict:VIRAL)', 0.0)
            self.quarantines.append(("antivirus", "Virus"))
        self.step("antivirus", "passed", f"{detail}; action {action}")

    def amp(self, ip: IncomingPolicy) -> None:
        m = self.m
        if self.relay:
            self.step("amp", "skipped", "AMP scans incoming mail only")
            return
        verdict = m.amp or ("CLEAN" if m.attachments else "SKIPPED")
        text = "SKIPPED (no attachment in message)" if verdict == "SKIPPED" else verdict
        self.log(f"MID {_ph('mid')} AMP file reputation verdict : {text}", 0.1)
        if verdict == "MALWARE" and ip.amp_malicious == "drop":
            self.log(f"Message aborted MID {_ph('mid')} Dropped by amp", 0.0)
            self.finish()
            self.stop("amp", "dropped", "file reputation verdict MALWARE; action drop")
        self.step("amp", "passed", f"file reputation verdict {verdict}")

    def graymail(self, pol: MailFlowPolicy) -> None:
        if not pol.spam_check:
            self.step("graymail", "skipped", f"graymail detection follows anti-spam, off in {pol.name}")
            return
        self.log(f"MID {_ph('mid')} using engine: GRAYMAIL {self.m.graymail}", 0.02)
        detail = f"graymail verdict {self.m.graymail}"
        if self.m.graymail != "negative":
            self.tagged_by = self.tagged_by or "graymail"
            detail += " (delivered with a subject tag)"
        self.step("graymail", "passed", detail)

    def content_filters(self, ip: IncomingPolicy) -> None:
        for f in ip.content_filters:
            if f.matches(self.m):
                self.filter_action("content_filter", f, "content filter")
                return
        self.step("content_filter", "passed", f"no content filter of policy {ip.name} matched")

    def outbreak(self, ip: IncomingPolicy) -> None:
        lvl = self.m.outbreak_level
        if lvl >= ip.outbreak_threshold:
            self.log(f"MID {_ph('mid')} Outbreak Filters: verdict positive", 0.05)
            self.log(f"MID {_ph('mid')} Virus Threat Level={lvl}", 0.0)
            self.log(f'MID {_ph("mid")} quarantined to "Outbreak" (VOF rule:OUTBREAK_0002516)', 0.0)
            self.quarantines.append(("outbreak_filter", "Outbreak"))
            self.step("outbreak_filter", "passed", f"threat level {lvl} >= threshold {ip.outbreak_threshold}: "
                                                   "quarantine to Outbreak")
            return
        self.log(f"MID {_ph('mid')} Outbreak Filters: verdict negative", 0.05)
        self.step("outbreak_filter", "passed", f"threat level {lvl} below threshold {ip.outbreak_threshold}")

    def dlp(self, ip: IncomingPolicy) -> None:
        m = self.m
        if not self.relay:
            self.step("dlp", "skipped", "DLP scans outgoing mail only")
            return
        if not m.dlp_policy:
            self.step("dlp", "passed", f"no DLP policy of {ip.name} matched")
            return
        name = _clean(m.dlp_policy).replace("(", "").replace(")", "").replace("'", "")
        risk = {"LOW": 15, "MEDIUM": 45, "HIGH": 75, "CRITICAL": 95}[m.dlp_severity]
        self.log(f"MID {_ph('mid')} DLP violation. Severity: {m.dlp_severity} (Risk Factor: {risk}). "
                 f"DLP policy match: {py_str(name)}.", 0.05)
        action = dict(ip.dlp_actions).get(m.dlp_severity, "deliver")
        detail = f"DLP policy {name!r}, severity {m.dlp_severity}: action {action}"
        if action == "drop":  # INFERRED_GRAMMAR["dlp_action"]
            self.log(f"Message aborted MID {_ph('mid')} Dropped by DLP", 0.0)
            self.finish()
            self.stop("dlp", "dropped", detail)
        if action == "quarantine":
            self.log(f'MID {_ph("mid")} quarantined to "Policy" (DLP policy:{name})', 0.0)
            self.quarantines.append(("dlp", "Policy"))
        else:
            self.tagged_by = self.tagged_by or "dlp"
        self.step("dlp", "passed", detail)

    # -- quarantines and delivery ------------------------------------------------------------
    def quarantine_or_queue(self) -> None:
        held = [q for q in self.quarantines if q[1] != "ISQ"]
        if held:  # policy / virus / outbreak quarantines hold the message on the box
            stage, name = held[0]
            if self.m.release is None:
                self.step("delivery", "not_reached", f"held in the {name} quarantine")
                self.settle(stage, "quarantined")
                raise _Stop
            # released (the UG grammar, esa-log-formats.md §8): then on to delivery
            after = round(self.m.release_after)
            self.log(f'MID {_ph("mid")} released from quarantine {_quote(name)} ({self.m.release}) t={after}',
                     self.m.release_after)
            self.step(stage, "passed", f"held in the {name} quarantine, released ({self.m.release}) after {after} s")
            self.quarantines = [q for q in self.quarantines if q[1] == "ISQ"]
        self.log(f"MID {_ph('mid')} queued for delivery", round(self.rng.uniform(0.02, 0.5), 3))
        if self.quarantines:  # the spam quarantine is a delivery to the ISQ
            stage = self.quarantines[0][0]
            rids = _rid_list(self.rids.values())
            if self.cfg.spam_quarantine == "offbox":
                dc = self.new_dcid("198.51.100.250", 6025)
                self.log(f"Delivery start DCID {dc} MID {_ph('mid')} to RID {rids} to offbox IronPort Spam Quarantine",
                         0.01)
                self.log(f"Message done DCID {dc} MID {_ph('mid')} to RID {rids} (external quarantine) ", 0.2)
                self.log(f"MID {_ph('mid')} RID {rids} Response 'ok:  Message {self.rng.randint(10**7, 10**8)} "
                         "accepted'", 0.0)
            else:
                self.log(f"RPC Delivery start RCID {_ph('rcid')} MID {_ph('mid')} to local IronPort Spam Quarantine",
                         0.01)
                self.log(f"ISQ: Quarantined MID {_ph('mid')}", 0.3)
                self.log(f"RPC Message done RCID {_ph('rcid')} MID {_ph('mid')}", 0.0)
                if self.m.release is not None:
                    self.finish()
                    self.reinject(stage)
            self.finish()
            self.step("delivery", "not_reached", "delivered to the spam quarantine instead")
            self.settle(stage, "quarantined")
            raise _Stop

    def reinject(self, stage: str) -> None:
        """Released from the local spam quarantine: reinjected as a new MID on ICID 0, which is delivered
        (diagnose/sample/mail_logs grammar). Offbox (SMA) releases come back over SMTP and are not modelled."""
        m, new = self.m, _ph("rmid")
        self.log(f"ISQ: Reinjected MID {_ph('mid')} as MID {new}", m.release_after)
        self.step(stage, "passed", f"released from the spam quarantine ({m.release}) after {round(m.release_after)} s")
        self.log(f"Start MID {new} ICID 0", 0.0)
        self.log(f"MID {new} ICID 0 From: <{self.sender}>", 0.0)
        self.rids = {r: i for i, r in enumerate(self.rids)}
        for r, rid in self.rids.items():
            self.log(f"MID {new} ICID 0 RID {rid} To: <{_clean(r)}>", 0.0)
        self.log(f"MID {new} ready {m.size} bytes from <{self.sender}>", 0.0)
        self.log(f"MID {new} queued for delivery", 0.5)
        first = len(self.res.lines_t)
        try:
            self.delivery()  # written for MID `mid`: the new MID's lines
        finally:
            old = _ph("mid")
            self.res.lines_t[first:] = [(t, lvl, txt.replace(old, new)) for t, lvl, txt in self.res.lines_t[first:]]
        raise _Stop

    def new_dcid(self, ip: str, port: int = 25) -> str:
        self.dcids += 1
        dc = _ph(f"dcid{self.dcids}")
        self.log(f"New SMTP DCID {dc} interface {self.cfg.interface_ip} address {ip} port {port}", 0.05)
        return dc

    def delivery(self) -> None:
        d = self.m.delivery
        rcpts = list(self.rids)
        rids = _rid_list(self.rids.values())
        domain = _clean(rcpts[0].rpartition("@")[2])
        if d.kind == "dns":
            reply = smtp_reply("000", [f"DNS Hard Error looking up {domain} (MX): NXDomain"])
            for r in rcpts:
                self.log(f"Bounced: DCID 0 MID {_ph('mid')} From: <{self.sender}> To: <{_clean(r)}> RID "
                         f"{self.rids[r]} - 5.1.2 - Bad destination host {reply}", 0.3)
            self.bounce_notice(0.01)
            self.finish()
            self.stop("delivery", "bounced", f"no MX for {domain}")
        failures = {"defer": d.failures, "defer_then_ok": d.failures}.get(d.kind, 0)
        profile = self.cfg.bounce_profile
        wait, waited = float(profile.initial_retry), 0.0
        expire = d.kind == "expire"
        attempt = 0
        while expire or attempt < failures:
            attempt += 1
            dc = self.new_dcid(d.mx_ip)
            self.log(f"Delivery start DCID {dc} MID {_ph('mid')} to RID {rids}", 0.01)
            code = d.code or "421"
            text = list(d.reply) or ["4.3.2 Service not available, try again later"]
            for r in rcpts:
                self.log(f"Delayed: DCID {dc} MID {_ph('mid')} From: <{self.sender}> To: <{_clean(r)}> RID "
                         f"{self.rids[r]} - 4.3.2 - Not accepting messages at this time {smtp_reply(code, text)}", 0.3)
            self.log(f"DCID {dc} close", 0.01)
            if expire and (waited + wait > profile.max_queue_lifetime or attempt >= profile.max_retries):
                for r in rcpts:
                    self.log(f"Bounced: DCID {dc} MID {_ph('mid')} From: <{self.sender}> To: <{_clean(r)}> RID "
                             f"{self.rids[r]} - 5.4.7 - Delivery expired (message too old) ('000', ['timeout'])", 0.0)
                self.bounce_notice(0.01)
                self.finish()
                self.stop("delivery", "bounced", f"still deferred after {attempt} attempts: bounce profile "
                                                 f"{profile.name} expired the message")
            self.log(f"Message {_ph('mid')} to RID {rids} pending till "
                     f"{_PENDING}{self.t + wait:.3f}{_PENDING} [{profile.name}]", 0.0)
            if d.kind == "defer" and attempt >= failures:
                self.step("delivery", "stopped", f"next hop answered {code} {text[0]!r}; retrying per bounce "
                                                 f"profile {profile.name}")
                self.settle("delivery", "deferred")
                raise _Stop
            self.t += wait
            waited += wait
            wait = min(wait * 2, float(profile.max_retry))
        dc = self.new_dcid(d.mx_ip)
        self.log(f"DCID {dc} TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384", 0.05)
        self.log(f"Delivery start DCID {dc} MID {_ph('mid')} to RID {rids}", 0.01)
        if d.kind == "reject":
            code = d.code or "550"
            for r in rcpts:
                text = list(d.reply) or [f"5.1.1 <{_clean(r)}>: Recipient address rejected: User unknown"]
                self.log(f"Bounced: DCID {dc} MID {_ph('mid')} From: <{self.sender}> To: <{_clean(r)}> RID "
                         f"{self.rids[r]} - 5.1.0 - Unknown address error {smtp_reply(code, text)}", 0.2)
            self.log(f"DCID {dc} close", 0.01)
            self.bounce_notice(0.01)
            self.finish()
            self.stop("delivery", "bounced", f"next hop answered {code}")
        queue_id = "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(12))
        self.log(f"Message done DCID {dc} MID {_ph('mid')} to RID {rids}", 0.3)
        self.log(f"MID {_ph('mid')} RID {rids} Response {py_str(d.reply[0] if d.reply else '2.0.0 Ok: queued as ' + queue_id)}",
                 0.0)
        self.finish()
        self.log(f"DCID {dc} close", 0.01)
        self.step("delivery", "passed", f"accepted by {d.mx_ip}" + (f" after {failures} deferral(s)" if failures else ""))
        # delivered as it was tagged: the outcome is the tagging stage's decision (subject tag, junk folder)
        self.settle(self.tagged_by or "delivery", "delivered")

    def bounce_notice(self, dt: float) -> None:
        """The NDR the appliance generates to the envelope sender (a new MID on ICID 0)."""
        if not self.m.sender:
            return
        b = _ph("bmid")
        self.log(f"Start MID {b} ICID 0", dt)
        self.log(f"MID {b} generated for bounce of MID {_ph('mid')}", 0.0)
        self.log(f"MID {b} ICID 0 From: <>", 0.0)
        self.log(f"MID {b} ICID 0 RID 0 To: <{self.sender}>", 0.0)
        self.log(f"MID {b} ready 3021 bytes from <>", 0.0)
        self.log(f"MID {b} queued for delivery", 0.01)

    # -- the walk ----------------------------------------------------------------------------
    def run(self) -> SimResult:
        try:
            pol = self.connect()
            self.sender_verification(pol)
            self.envelope(pol)
            self.authentication(pol)
            self.sdr(pol)
            self.ldap_accept()
            self.message_filters()
            ip = self.mail_policy(pol)
            self.antispam(pol, ip)
            self.antivirus(pol, ip)
            self.amp(ip)
            self.graymail(pol)
            self.content_filters(ip)
            self.outbreak(ip)
            self.dlp(ip)
            self.quarantine_or_queue()
            self.delivery()
        except _Stop:
            pass
        return self.res


def _quote(name: str) -> str:
    return '"' + _clean(name).replace('"', "'") + '"'


def _rid_list(rids) -> str:
    return "[" + ", ".join(str(r) for r in rids) + "]"


_CHOICES = {
    "sender_domain_dns": ("ok", "does not exist", "could not be resolved", "missing"),
    "spf": ("Pass", "Fail", "SoftFail", "Neutral", "None", "TempError", "PermError"),
    "dkim": ("pass", "permfail", "none"),
    "dmarc_policy": ("none", "quarantine", "reject"),
    "sdr": ("Awful", "Poor", "Tainted", "Weak", "Unknown", "Neutral", "Good"),
    "slbl": (None, "safelist", "blocklist"),
    "spam": ("negative", "suspect", "positive", "marketing"),
    "graymail": ("negative", "marketing_mail", "social_mail", "bulk_mail"),
    "av_state": ("clean", "encrypted", "unscannable"),
    "dlp_severity": ("LOW", "MEDIUM", "HIGH", "CRITICAL"),
    "amp": (None, "CLEAN", "MALWARE", "UNKNOWN"),
}
_DELIVERY_KINDS = ("ok", "reject", "defer", "defer_then_ok", "dns", "expire")


def check_message(m: Message) -> None:
    """ValueError naming the field when a description uses a value the simulator does not model."""
    for name, allowed in _CHOICES.items():
        if getattr(m, name) not in allowed:
            raise ValueError(f"Message.{name}={getattr(m, name)!r}: expected one of {allowed}")
    if m.delivery.kind not in _DELIVERY_KINDS:
        raise ValueError(f"Delivery.kind={m.delivery.kind!r}: expected one of {_DELIVERY_KINDS}")
    if m.sbrs is not None and not -10.0 <= m.sbrs <= 10.0:
        raise ValueError(f"Message.sbrs={m.sbrs}: SBRS runs from -10.0 to 10.0 (or None)")
    if not 0 <= m.outbreak_level <= 5:
        raise ValueError(f"Message.outbreak_level={m.outbreak_level}: the threat level runs from 0 to 5")
    if not m.recipients:
        raise ValueError("Message.recipients: at least one recipient")
    # names and addresses are logged bare or inside <...>: whitespace or angle brackets cannot be written back
    for name in ("sender_ip", "ptr", "helo", "sender", "recipients"):
        values = getattr(m, name)
        for v in values if isinstance(values, tuple) else (values,):
            if v is not None and (not isinstance(v, str) or any(c.isspace() or c in "<>" for c in v)):
                raise ValueError(f"Message.{name}={v!r}: no whitespace or angle brackets in names and addresses")
    for name, allowed in (("smtp_auth", (None, "ok", "failed")), ("release", (None, "manual"))):
        if getattr(m, name) not in allowed:
            raise ValueError(f"Message.{name}={getattr(m, name)!r}: expected one of {allowed}")
    if m.invalid_rcpts_this_hour < 0 or m.release_after < 0:
        raise ValueError("Message: invalid_rcpts_this_hour and release_after cannot be negative")
    if m.delivery.failures < 0 or m.size < 0 or m.rcpts_this_hour < 0:
        raise ValueError("Message: failures, size and rcpts_this_hour cannot be negative")


def simulate(message: Message, config: Config | None = None, seed: int = 0) -> SimResult:
    """Walk one message through the pipeline of `config` (the built-in defaults when None)."""
    check_message(message)
    return _Run(message, config or default_config(), random.Random(seed)).run()
