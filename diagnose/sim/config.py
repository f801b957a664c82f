"""Appliance configuration for the simulator, with AsyncOS built-in defaults.

Only what decides a message's path is modelled: the HAT (sender groups in order, each with its
mail flow policy), the mail flow policies, the RAT, the Exception Table, message filters, the
Default incoming mail policy (anti-spam / anti-virus / AMP / graymail / Outbreak actions and its
content filters) and the bounce profile. Defaults follow esa-pipeline.md §2.2-2.3 (Moderate SBRS
approach), §3 (RAT "All Other Recipients" REJECT), §9 (Outbreak threshold 3) and §13.1.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

SPAM_ACTIONS = ("deliver", "drop", "quarantine", "bounce")
VIRUS_ACTIONS = ("deliver", "drop", "quarantine")
FILTER_ACTIONS = ("drop", "bounce", "quarantine")


@dataclass(frozen=True)
class MailFlowPolicy:
    """A HAT mail flow policy ($ACCEPTED, $BLOCKED...). None means "no limit"."""

    name: str
    action: str  # ACCEPT | REJECT | TCPREFUSE | RELAY
    max_message_size: int | None = 10 * 1024 * 1024
    max_rcpts_per_msg: int | None = 1000
    max_rcpts_per_hour: int | None = None
    spam_check: bool = True
    virus_check: bool = True
    tls: str = "off"  # off | preferred | required
    sender_dns_verification: bool = False
    use_exception_table: bool = False
    spf: bool = True
    dkim: bool = True
    dmarc: bool = True
    dmarc_reject: bool = True  # the DMARC profile honours p=reject with Reject
    sdr: bool = True
    smtp_auth: str = "off"  # off | preferred | required (SMTP AUTH on this policy)
    auth_profile: str = "corp_ldap_auth"  # the SMTP authentication profile named in `SMTP Auth` lines
    dhap_limit: int | None = None  # Directory Harvest Attack Prevention: invalid recipients per hour per host
    comment: str = ""


@dataclass(frozen=True)
class SenderGroup:
    """One HAT row: matched on IP/CIDR, SBRS range (and SBRS None when asked), or everything (ALL)."""

    name: str
    policy: str
    sbrs: tuple[float, float] | None = None
    include_sbrs_none: bool = False
    hosts: tuple[str, ...] = ()  # IP addresses or CIDR blocks
    comment: str = ""

    def match(self, ip: str, sbrs: float | None) -> str | None:
        """The HAT match text the log shows (`sbrs[-10.0:-3.0]`, `10.1.2.3`, `ALL`), or None."""
        for host in self.hosts:
            try:
                if ipaddress.ip_address(ip) in ipaddress.ip_network(host, strict=False):
                    return host
            except ValueError:
                continue
        if self.sbrs is not None:
            lo, hi = self.sbrs
            if (sbrs is None and self.include_sbrs_none) or (sbrs is not None and lo <= sbrs <= hi):
                return f"sbrs[{lo:.1f}:{hi:.1f}]"
        return None


@dataclass(frozen=True)
class RatEntry:
    address: str  # "example.com", ".example.com", "user@", "postmaster@example.com", "ALL"
    action: str  # ACCEPT | REJECT
    bypass_receiving_control: bool = False

    def matches(self, rcpt: str) -> bool:
        rcpt = rcpt.lower()
        local, _, domain = rcpt.rpartition("@")
        a = self.address.lower()
        if a == "all":
            return True
        if a.endswith("@"):
            return local == a[:-1]
        if "@" in a:
            return rcpt == a
        if a.startswith("."):
            return domain.endswith(a)
        return domain == a


@dataclass(frozen=True)
class ExceptionEntry:
    address: str  # "user@example.org", "@example.org", "@.example.org"
    allow: bool

    def matches(self, sender: str) -> bool:
        s = sender.lower()
        a = self.address.lower()
        domain = s.rpartition("@")[2]
        if a.startswith("@."):
            return domain.endswith(a[1:])
        if a.startswith("@"):
            return domain == a[1:]
        return s == a


@dataclass(frozen=True)
class Filter:
    """A message or content filter: a condition on the message, and a final action.

    Conditions (all given must hold): `attachment_ext` (an attachment ends with it),
    `subject_contains`, `sender_domain`.
    """

    name: str
    action: str  # drop | bounce | quarantine
    attachment_ext: str | None = None
    subject_contains: str | None = None
    sender_domain: str | None = None
    quarantine: str = "Policy"

    def matches(self, msg) -> bool:  # msg: simulator.Message
        if self.attachment_ext and not any(a.lower().endswith(self.attachment_ext.lower()) for a in msg.attachments):
            return False
        if self.subject_contains and self.subject_contains.lower() not in msg.subject.lower():
            return False
        if self.sender_domain and msg.sender.rpartition("@")[2].lower() != self.sender_domain.lower():
            return False
        return bool(self.attachment_ext or self.subject_contains or self.sender_domain)


@dataclass(frozen=True)
class IncomingPolicy:
    """A mail policy (Email Security Manager), incoming or outgoing; DEFAULT matches everyone.

    dlp_actions (outgoing policies only): DLP severity -> deliver | quarantine | drop. The values
    of the default outgoing policy below are this simulator's choice, not a documented Cisco default.
    """

    name: str = "DEFAULT"
    spam_positive: str = "quarantine"
    spam_suspect: str = "deliver"
    marketing: str = "deliver"
    virus_infected: str = "drop"
    virus_unscannable: str = "deliver"
    virus_encrypted: str = "deliver"
    amp_malicious: str = "drop"
    outbreak_threshold: int = 3
    content_filters: tuple[Filter, ...] = ()
    senders: tuple[str, ...] = ()  # domains this policy is for (empty: everyone)
    dlp_actions: tuple[tuple[str, str], ...] = (("LOW", "deliver"), ("MEDIUM", "deliver"), ("HIGH", "quarantine"),
                                                ("CRITICAL", "drop"))

    def matches(self, sender: str) -> bool:
        return not self.senders or sender.rpartition("@")[2].lower() in self.senders


@dataclass(frozen=True)
class BounceProfile:
    name: str = "Default"
    max_retries: int = 100
    max_queue_lifetime: int = 259_200  # seconds (72 h)
    initial_retry: int = 60
    max_retry: int = 3600


def _default_policies() -> dict[str, MailFlowPolicy]:
    mb = 1024 * 1024
    return {
        "$BLOCKED": MailFlowPolicy("$BLOCKED", "REJECT", comment="Spammers are rejected"),
        "$THROTTLED": MailFlowPolicy(
            "$THROTTLED", "ACCEPT", max_message_size=1 * mb, max_rcpts_per_msg=20, max_rcpts_per_hour=20,
            comment="Suspicious senders are throttled",
        ),
        "$ACCEPTED": MailFlowPolicy(
            "$ACCEPTED", "ACCEPT", max_message_size=100 * mb,
            comment="Reviewed but undecided, continue normal acceptance",
        ),
        "$TRUSTED": MailFlowPolicy(
            "$TRUSTED", "ACCEPT", max_message_size=100 * mb, spam_check=False, sdr=False,
            comment="My trusted senders have no anti-spam scanning or rate limiting",
        ),
        # relayed (outgoing) mail: anti-spam off; inbound checks (SPF/DKIM/DMARC verification, SDR) do not apply
        "$RELAYED": MailFlowPolicy("$RELAYED", "RELAY", spam_check=False, spf=False, dkim=False, dmarc=False,
                                   sdr=False, comment="Hosts allowed to relay"),
    }


def _default_hat() -> tuple[SenderGroup, ...]:
    # Moderate SBRS approach (the installation default): WHITELIST holds no SBRS range.
    return (
        SenderGroup("WHITELIST", "$TRUSTED", comment="My trusted senders have no anti-spam scanning or rate limiting"),
        SenderGroup("BLACKLIST", "$BLOCKED", sbrs=(-10.0, -3.0), comment="Spammers are rejected"),
        SenderGroup("SUSPECTLIST", "$THROTTLED", sbrs=(-3.0, -1.0), comment="Suspicious senders are throttled"),
        SenderGroup("UNKNOWNLIST", "$ACCEPTED", sbrs=(-1.0, 10.0),
                    comment="Reviewed but undecided, continue normal acceptance"),
    )


@dataclass(frozen=True)
class Config:
    """One appliance, one public listener. `default_config()` gives the factory defaults."""

    hostname: str = "esa1.example.com"
    version: str = "15.0.0-104"
    serial: str = "420D4FEA709365BFB3E3-0AF2EE5E700E"
    tz_offset: int = 0  # seconds from UTC, as in the "Time offset from UTC" header
    listener: str = "IncomingMail"
    interface: str = "Data 1"
    interface_ip: str = "192.0.2.25"
    hat: tuple[SenderGroup, ...] = field(default_factory=_default_hat)
    all_policy: str = "$ACCEPTED"  # the ALL row of a public listener
    policies: dict[str, MailFlowPolicy] = field(default_factory=_default_policies)
    rat: tuple[RatEntry, ...] = (RatEntry("example.com", "ACCEPT"), RatEntry(".example.com", "ACCEPT"),
                                 RatEntry("ALL", "REJECT"))
    exception_table: tuple[ExceptionEntry, ...] = ()
    message_filters: tuple[Filter, ...] = ()
    incoming_policies: tuple[IncomingPolicy, ...] = (IncomingPolicy(),)
    outgoing_policies: tuple[IncomingPolicy, ...] = (IncomingPolicy(),)
    bounce_profile: BounceProfile = field(default_factory=BounceProfile)
    spam_quarantine: str = "local"  # local (RPC) | offbox (SMA, over SMTP)
    ldap_accept: dict[str, str] = field(default_factory=dict)  # recipient -> "drop" | "bounce" (work queue)

    def policy(self, name: str) -> MailFlowPolicy:
        try:
            return self.policies[name]
        except KeyError:
            raise ValueError(f"sender group policy {name!r} is not defined") from None

    def hat_match(self, ip: str, sbrs: float | None) -> tuple[str, str, MailFlowPolicy]:
        """First matching sender group, top to bottom: (group name or "None", match text, policy)."""
        for group in self.hat:
            text = group.match(ip, sbrs)
            if text is not None:
                return group.name, text, self.policy(group.policy)
        return "None", "ALL", self.policy(self.all_policy)

    def rat_entry(self, rcpt: str) -> RatEntry:
        return next((e for e in self.rat if e.matches(rcpt)), RatEntry("ALL", "REJECT"))

    def incoming_policy(self, sender: str) -> IncomingPolicy:
        return next((p for p in self.incoming_policies if p.matches(sender)), IncomingPolicy())

    def outgoing_policy(self, sender: str) -> IncomingPolicy:
        return next((p for p in self.outgoing_policies if p.matches(sender)), IncomingPolicy())


def default_config(**changes) -> Config:
    """The built-in defaults, optionally with some fields replaced."""
    return Config(**changes)
