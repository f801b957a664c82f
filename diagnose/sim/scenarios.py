"""Generated scenarios and multi-scenario logs, for tests, benchmarks and the teaching site.

Each `Scenario` records the (stage, outcome) its recipe was built to produce for its first
recipient; `write_log()` interleaves many scenarios in time order (as an appliance handling
concurrent connections would), numbers ICID/MID/DCID/RCID in log order, and streams the lines to
disk, so multi-million-line logs need no more memory than the messages still in flight.
"""

from __future__ import annotations

import copy
import gzip
import heapq
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from diagnose.sim.config import (
    Config,
    ExceptionEntry,
    Filter,
    IncomingPolicy,
    MailFlowPolicy,
    SenderGroup,
    default_config,
)
from diagnose.sim.logformat import Envelope, header
from diagnose.sim.pipeline import DEFAULT_START, Delivery, Message, SimResult, _Ids, render, simulate


@dataclass
class Scenario:
    """One message (or connection) with the outcome it was built to produce.

    `ids` ({"icid": .., "mid": .., "dcid1": ..}) and `start` are set when the scenario is written
    to a log (ids follow the log's order); `result` holds the simulated lines and the trace.
    """

    kind: str
    message: Message
    stage: str
    outcome: str
    result: SimResult
    gap: float = 1.0  # seconds after the previous scenario's first line
    start: datetime | None = None
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def recipient(self) -> str:
        return self.message.recipients[0] if self.message.recipients else ""

    @property
    def sender(self) -> str:
        return self.message.sender

    @property
    def ip(self) -> str:
        return self.message.sender_ip

    @property
    def mid(self) -> int | None:
        return self.ids.get("mid")

    @property
    def icid(self) -> int | None:
        return self.ids.get("icid")


def scenario_config() -> Config:
    """The built-in defaults plus the few named objects the generated scenarios exercise.

    Defaults left as shipped: the HAT (Moderate SBRS), the mail flow policies' limits, the RAT's
    All Other Recipients REJECT, the Default incoming policy, the Default bounce profile. Added:
    envelope sender DNS verification and the Exception Table on $ACCEPTED, a RELAYLIST of our own
    servers (outgoing mail, with DLP in the outgoing policy), a WHITELIST host, two
    message filters, three content filters, a stricter policy for one bulk sender domain, and two
    recipients that LDAP accept removes in the work queue.
    """
    base = default_config()
    policies = dict(base.policies)
    policies["$ACCEPTED"] = replace(policies["$ACCEPTED"], sender_dns_verification=True, use_exception_table=True)
    policies["$THROTTLED"] = replace(policies["$THROTTLED"], dhap_limit=10)
    policies["$SUBMISSION"] = MailFlowPolicy("$SUBMISSION", "ACCEPT", smtp_auth="required", spam_check=False,
                                             comment="internal applications must log in (SMTP AUTH)")
    relay = SenderGroup("RELAYLIST", "$RELAYED", hosts=("192.0.2.0/28",), comment="our own servers, relayed out")
    auth = SenderGroup("AUTH_CLIENTS", "$SUBMISSION", hosts=("10.0.0.0/8",), comment="internal submitting clients")
    hat = (relay, auth, replace(base.hat[0], hosts=("198.51.100.77",))) + base.hat[1:]
    content = (
        Filter("Drop_Lottery", "drop", subject_contains="lottery"),
        Filter("Bounce_Macros", "bounce", attachment_ext=".docm"),
        Filter("Quarantine_Wire_Transfer", "quarantine", subject_contains="wire transfer"),
    )
    return replace(
        base,
        hat=hat,
        policies=policies,
        exception_table=(ExceptionEntry("@legacy.example.net", allow=True),
                         ExceptionEntry("@spoofer.example", allow=False)),
        message_filters=(Filter("Block_Executables", "drop", attachment_ext=".exe"),
                         Filter("Hold_Scripts", "quarantine", attachment_ext=".js")),
        incoming_policies=(IncomingPolicy("BULK_SENDERS", spam_positive="drop", senders=("bulk-mailer.example",)),
                           IncomingPolicy("DEFAULT", content_filters=content)),
        ldap_accept={"former.employee@example.com": "drop", "left.company@example.com": "bounce"},
    )


_USERS = ("bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy")
_DOMAINS = ("partner.example", "supplier.example.net", "bank.example.org", "travel.example", "news.example.org",
            "shop.example.net", "school.example.edu", "agency.example")
_SUBJECTS = ("Quarterly report", "Invoice 2024-1187", "Meeting notes", "Re: contract draft", "Your order",
             "Newsletter October", "Project update", "Holiday schedule", "Re: [ticket #88412] VPN access")


class _Gen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ips: set[str] = set()

    def private_ip(self) -> str:
        """An unused 10.x address (the submitting clients of AUTH_CLIENTS)."""
        r = self.rng
        while True:
            ip = f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
            if ip not in self.ips:
                self.ips.add(ip)
                return ip

    def ip(self) -> str:
        r = self.rng
        while True:
            ip = f"{r.choice((23, 45, 62, 77, 89, 91, 103, 109, 146, 176, 185, 194, 203, 212))}.{r.randint(0, 255)}." \
                 f"{r.randint(0, 255)}.{r.randint(1, 254)}"
            if ip not in self.ips:
                self.ips.add(ip)
                return ip

    def base(self, **kw):
        r = self.rng
        domain = kw.pop("domain", None) or r.choice(_DOMAINS)
        host = f"mail{r.randint(1, 40)}.{domain}"
        defaults = dict(
            sender_ip=self.ip(), sbrs=round(r.uniform(-0.9, 9.5), 1), ptr=host, ptr_verified=r.random() < 0.8,
            helo=host, sender=f"{r.choice(('alice', 'sales', 'info', 'noreply', 'billing', 'ops'))}@{domain}",
            recipients=(f"{r.choice(_USERS)}@example.com",), subject=r.choice(_SUBJECTS),
            size=r.randint(3_000, 400_000), tls=r.random() < 0.85,
            message_id=f"<{r.getrandbits(48):012x}.{r.randint(1000, 9999)}@{domain}>",
        )
        defaults.update(kw)
        return Message(**defaults)


def _recipes():
    def delivered(g: _Gen):
        r = g.rng
        n = r.choice((1, 1, 1, 2, 3))
        rcpts = tuple(dict.fromkeys(f"{r.choice(_USERS)}@example.com" for _ in range(n)))
        return g.base(recipients=rcpts), "delivery", "delivered"

    def spam_tagged(g: _Gen):
        return g.base(spam=g.rng.choice(("suspect", "marketing"))), "antispam", "delivered"

    def graymail_tagged(g: _Gen):
        return g.base(graymail=g.rng.choice(("marketing_mail", "social_mail", "bulk_mail"))), "graymail", "delivered"

    def trusted(g: _Gen):
        return g.base(sender_ip="198.51.100.77", sbrs=None, spam="positive"), "delivery", "delivered"

    def deferred_then_ok(g: _Gen):
        return g.base(delivery=Delivery("defer_then_ok", failures=g.rng.randint(1, 3))), "delivery", "delivered"

    def hat_reject(g: _Gen):
        r = g.rng
        return g.base(sbrs=round(r.uniform(-10.0, -3.05), 1), ptr=r.choice((None, f"host{r.randint(1, 999)}.dyn.example")),
                      tls=False), "hat", "rejected"

    def hat_throttled(g: _Gen):
        return g.base(sbrs=round(g.rng.uniform(-2.9, -1.1), 1), rcpts_this_hour=g.rng.randint(20, 60)), "hat", "rejected"

    def hat_size(g: _Gen):
        return g.base(sbrs=round(g.rng.uniform(-2.9, -1.1), 1), size=g.rng.randint(1_100_000, 9_000_000)), "hat", \
            "rejected"

    def sender_dns(g: _Gen):
        r = g.rng
        why = r.choice(("does not exist", "could not be resolved", "missing"))
        sender = "postmaster" if why == "missing" else f"info@{r.choice(('nx-', 'gone-', 'typo-'))}{r.randint(1, 99)}.example"
        return g.base(sender=sender, sender_domain_dns=why), "sender_verification", "rejected"

    def exception_reject(g: _Gen):
        return g.base(domain="spoofer.example"), "sender_verification", "rejected"

    def rat_reject(g: _Gen):
        r = g.rng
        bad = f"{r.choice(_USERS)}@{r.choice(('example.co', 'exmaple.com', 'other.example', 'example.org'))}"
        extra = (f"{r.choice(_USERS)}@example.com",) if r.random() < 0.3 else ()
        return g.base(recipients=(bad, *extra)), "rat", "rejected"

    def ldap_drop(g: _Gen):
        return g.base(recipients=("former.employee@example.com",)), "ldap_accept", "dropped"

    def dmarc_reject(g: _Gen):
        return g.base(spf="Fail", dkim=g.rng.choice(("permfail", "none")), dmarc_policy="reject"), "authentication", \
            "rejected"

    def mf_drop(g: _Gen):
        return g.base(attachments=("invoice.pdf.exe",)), "message_filter", "dropped"

    def mf_quarantine(g: _Gen):
        return g.base(attachments=("update.js",)), "message_filter", "quarantined"

    def spam_quarantine(g: _Gen):
        return g.base(spam="positive", sbrs=round(g.rng.uniform(-0.9, 2.0), 1)), "antispam", "quarantined"

    def spam_drop(g: _Gen):
        return g.base(domain="bulk-mailer.example", spam="positive"), "antispam", "dropped"

    def blocklist(g: _Gen):
        return g.base(slbl="blocklist"), "safelist_blocklist", "quarantined"

    def virus(g: _Gen):
        return g.base(virus=g.rng.choice(("EICAR-AV-Test", "Troj/DocDl-ABC", "CXmail/Phish-O")),
                      attachments=("scan_0042.zip",)), "antivirus", "dropped"

    def amp_drop(g: _Gen):
        return g.base(amp="MALWARE", attachments=("payment.iso",)), "amp", "dropped"

    def cf_drop(g: _Gen):
        return g.base(subject="You won the lottery!"), "content_filter", "dropped"

    def cf_bounce(g: _Gen):
        return g.base(attachments=("budget.docm",)), "content_filter", "bounced"

    def cf_quarantine(g: _Gen):
        return g.base(subject="Urgent wire transfer"), "content_filter", "quarantined"

    def outbreak(g: _Gen):
        return g.base(outbreak_level=g.rng.randint(3, 5), attachments=("doc.html",)), "outbreak_filter", "quarantined"

    def remote_reject(g: _Gen):
        return g.base(delivery=Delivery("reject")), "delivery", "bounced"

    def no_mx(g: _Gen):
        return g.base(delivery=Delivery("dns"), recipients=(f"{g.rng.choice(_USERS)}@legacy.example.com",)), \
            "delivery", "bounced"

    def deferred(g: _Gen):
        return g.base(delivery=Delivery("defer", failures=g.rng.randint(1, 2))), "delivery", "deferred"

    def _outgoing(g: _Gen, **kw):
        r = g.rng
        return g.base(sender_ip=f"192.0.2.{r.randint(1, 14)}", sbrs=None, ptr=f"app{r.randint(1, 9)}.example.com",
                      helo="app.example.com", sender=f"{r.choice(_USERS)}@example.com", domain="example.com",
                      recipients=(f"{r.choice(('orders', 'info', 'ap'))}@{r.choice(_DOMAINS)}",), **kw)

    def outbound(g: _Gen):
        return _outgoing(g), "delivery", "delivered"

    def dlp_quarantine(g: _Gen):
        return _outgoing(g, dlp_policy=g.rng.choice(("PCI-DSS", "HIPAA")), dlp_severity="HIGH"), "dlp", \
            "quarantined"

    def dlp_drop(g: _Gen):
        return _outgoing(g, dlp_policy="PCI-DSS", dlp_severity="CRITICAL"), "dlp", "dropped"

    def dlp_delivered(g: _Gen):
        return _outgoing(g, dlp_policy="Restricted Files", dlp_severity="LOW"), "dlp", "delivered"

    def hat_delayed_reject(g: _Gen):
        m, stage, outcome = hat_reject(g)
        return replace(m, delayed_reject=True), stage, outcome

    def _submission(g: _Gen, **kw):
        r = g.rng
        app = r.choice(("crm", "erp", "scanner", "billing", "hr"))
        return g.base(sender_ip=g.private_ip(), sbrs=None, ptr=f"{app}-app.corp.example", helo=f"{app}-app.corp.example",
                      sender=f"{app}@example.com", domain="example.com", auth_user=f"{app}-sender", **kw)

    def smtp_auth_required(g: _Gen):
        return _submission(g), "hat", "rejected"

    def smtp_auth_failed(g: _Gen):
        return _submission(g, smtp_auth="failed"), "hat", "rejected"

    def dhap(g: _Gen):
        r = g.rng
        n = r.randint(1, 3)
        bad = tuple(dict.fromkeys(f"{r.choice(('admin', 'root', 'test', 'webmaster', 'sales', 'jobs'))}"
                                  f"{r.randint(1, 99)}@{r.choice(('example.org', 'other.example'))}"
                                  for _ in range(n)))
        host = f"{r.randint(1, 250)}-{r.randint(0, 255)}.cust.mailer.example"
        return g.base(sbrs=round(r.uniform(-2.9, -1.1), 1), ptr=host, ptr_verified=True, recipients=bad,
                      invalid_rcpts_this_hour=11 - len(bad)), "hat", "rejected"

    def policy_released(g: _Gen):
        return g.base(attachments=("update.js",), release="manual",
                      release_after=float(g.rng.randint(300, 7200))), "delivery", "delivered"

    def spam_released(g: _Gen):
        return g.base(spam="positive", sbrs=round(g.rng.uniform(-0.9, 2.0), 1), release="manual",
                      release_after=float(g.rng.randint(300, 7200))), "delivery", "delivered"

    def expired(g: _Gen):
        return g.base(delivery=Delivery("expire")), "delivery", "bounced"

    return [
        (delivered, 26), (spam_tagged, 3), (graymail_tagged, 2), (trusted, 2), (deferred_then_ok, 2),
        (hat_reject, 18), (hat_throttled, 3), (hat_size, 2),
        (sender_dns, 3), (exception_reject, 1), (rat_reject, 4), (ldap_drop, 1), (dmarc_reject, 2), (mf_drop, 2),
        (mf_quarantine, 1), (spam_quarantine, 7), (spam_drop, 5), (blocklist, 1), (virus, 2), (amp_drop, 1),
        (cf_drop, 1), (cf_bounce, 1), (cf_quarantine, 1), (outbreak, 1), (remote_reject, 3), (no_mx, 1),
        (deferred, 2), (expired, 0.2), (outbound, 8), (dlp_quarantine, 1), (dlp_drop, 0.5), (dlp_delivered, 0.5),
        (hat_delayed_reject, 2), (smtp_auth_required, 1), (smtp_auth_failed, 1), (dhap, 1), (policy_released, 1),
        (spam_released, 2),
    ]


RECIPE_NAMES = tuple(f.__name__ for f, _ in _recipes())


def iter_scenarios(seed: int = 0, config: Config | None = None, kinds: Sequence[str] | None = None,
                   mean_gap: float = 1.5) -> Iterator[Scenario]:
    """An endless, seeded stream of scenarios (a realistic mix; or only the recipes named in `kinds`)."""
    cfg = config or scenario_config()
    rng = random.Random(seed)
    gen = _Gen(rng)
    recipes = [(f, w) for f, w in _recipes() if kinds is None or f.__name__ in kinds]
    if not recipes:
        raise ValueError(f"no scenario recipe among {kinds!r}; known: {', '.join(RECIPE_NAMES)}")
    funcs, weights = zip(*recipes, strict=True)
    while True:
        f = rng.choices(funcs, weights)[0]
        msg, stage, outcome = f(gen)
        res = simulate(msg, cfg, seed=rng.getrandbits(32))
        yield Scenario(f.__name__, msg, stage, outcome, res, gap=round(rng.expovariate(1 / mean_gap), 3))


def generate_scenarios(n: int, seed: int = 0, config: Config | None = None,
                       kinds: Sequence[str] | None = None) -> list[Scenario]:
    """`n` seeded scenarios; the same seed gives the same scenarios."""
    it = iter_scenarios(seed, config, kinds)
    return [next(it) for _ in range(n)]


@dataclass
class WriteStats:
    path: Path
    lines: int
    scenarios: int
    first: datetime | None
    last: datetime | None


def _source(scenarios: Iterable[Scenario], cycle: bool) -> Iterator[Scenario]:
    yield from scenarios
    if cycle and isinstance(scenarios, Sequence) and scenarios:
        while True:  # written again with fresh ids and times, as new messages
            for s in scenarios:
                yield copy.copy(s)


def write_log(scenarios: Iterable[Scenario], path: str | Path, lines_target: int | None = None, *,
              start: datetime | None = None, syslog: bool = False, host: str = "",
              first_ids: dict[str, int] | None = None) -> WriteStats:
    """Write the scenarios as one mail_logs file (`.gz` compresses), interleaved in time order.

    lines_target: keep adding scenarios (cycling a list; or drawing from an iterator such as
    `iter_scenarios()`, which never ends: give lines_target with it) until at least this many
    lines; only whole lifecycles are written. syslog: the syslog-pushed form (no file header),
    with `host` after the time when given. Sets each scenario's `start` and `ids`.
    """
    path = Path(path)
    ids = _Ids(**(first_ids or {}))
    t = start or DEFAULT_START
    heap: list[tuple[datetime, int, str, str, Scenario]] = []
    seq = pushed = written = count = 0
    first = last = None
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="\n") as out:
        env = Envelope(syslog=syslog, host=host)
        write = out.write

        def flush(until: datetime | None) -> None:
            nonlocal written, last
            while heap and (until is None or heap[0][0] <= until):
                ts, _, level, tpl, sc = heapq.heappop(heap)
                write(env.line(ts, level, render(tpl, sc.ids, ids, sc.start)) + "\n")
                written += 1
                last = ts

        header_done = False
        for sc in _source(scenarios, lines_target is not None):
            if lines_target is not None and pushed >= lines_target:
                break
            if not header_done:
                cfg = sc.result.config
                if not syslog:
                    for ts, level, text in header(t, cfg.version, cfg.serial, cfg.tz_offset):
                        write(env.line(ts, level, text) + "\n")
                        written += 1
                        pushed += 1
                header_done = True
            t += timedelta(seconds=sc.gap)
            sc.start, sc.ids = t, {}
            first = first or t
            flush(t)
            for off, level, tpl in sc.result.lines_t:
                seq += 1
                heapq.heappush(heap, (t + timedelta(seconds=off), seq, level, tpl, sc))
            pushed += len(sc.result.lines_t)
            count += 1
        flush(None)
    if not header_done and not syslog:  # no scenario: still a valid, empty log file
        cfg = default_config()
        with opener(path, "wt", encoding="utf-8", newline="\n") as out:
            for ts, level, text in header(t, cfg.version, cfg.serial, cfg.tz_offset):
                out.write(Envelope().line(ts, level, text) + "\n")
                written += 1
    return WriteStats(path, written, count, first, last)


__all__ = ["RECIPE_NAMES", "Scenario", "WriteStats", "generate_scenarios", "iter_scenarios", "scenario_config",
           "write_log"]
