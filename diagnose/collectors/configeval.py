"""Evaluate the configuration model for one case: which sender group, mail flow policy and RAT entry apply.

HAT (esa-pipeline.md §2.1): sender groups top-down, the first match decides; a group matches when
any member matches; a policy whose behaviour is CONTINUE passes on to the next group; ALL is last.
RAT (§3): domain map first (§1.2), then the first qualifying entry; forms: full address, `user@`,
domain, `.subdomain`, `[IP literal]`, ALL; "All Other Recipients" REJECT always exists.
What the data cannot decide (no SBRS, no verified PTR, unknown DNS-list answer, a member spelling we
do not know) is returned as undecided, never guessed.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from diagnose.collectors.configmodel import (
    EsaConfig,
    Hat,
    Listener,
    MailFlowPolicy,
    Member,
    RatEntry,
    SenderGroup,
)
from diagnose.collectors.hat_syntax import bracket_arg, ip_network_of
from diagnose.model import Event

# Documented factory defaults of the predefined policies (esa-pipeline.md §2.3, UG-8.5.5 Table 6-1 [C];
# virus_check "on" for $TRUSTED from the CLI-Ref 8.0.1 HAT text). Used only when the export lacks them.
FACTORY_POLICIES: dict[str, tuple[str, dict[str, str]]] = {
    "$BLOCKED": ("REJECT", {}),
    "$THROTTLED": ("ACCEPT", {"spam_check": "on", "max_rcpts_per_hour": "20", "max_msgs_per_session": "10",
                              "max_rcpts_per_msg": "20", "max_message_size": "1048576", "use_sb": "on",
                              "tls": "off"}),
    "$ACCEPTED": ("ACCEPT", {"spam_check": "on", "max_msgs_per_session": "1000", "max_rcpts_per_msg": "1000",
                             "max_message_size": "104857600", "use_sb": "on", "tls": "off"}),
    "$TRUSTED": ("ACCEPT", {"spam_check": "off", "virus_check": "on", "max_rcpts_per_hour": "-1",
                            "use_sb": "off", "tls": "off", "max_message_size": "104857600"}),
    "$RELAYED": ("RELAY", {"max_rcpts_per_hour": "-1"}),
}
# Setting names: the documented one first, then spellings seen in GUI labels ([U] for spam_check).
SWITCH_KEYS = {
    "spam_check": ("spam_check", "spam_detection", "antispam"),
    "virus_check": ("virus_check", "virus_protection", "antivirus"),
    "amp_check": ("amp_check", "amp_detection", "amp"),
    "graymail_check": ("graymail_check", "graymail_detection", "graymail"),
    "vof_check": ("vof_check", "outbreak_check", "virus_outbreak_filters"),
    "content_filters": ("content_filters", "content_filter_check"),
    "message_filters": ("message_filters", "message_filter_check"),
    "sdr_check": ("sdr_check", "sdr", "sender_domain_reputation"),
}
NO_SCORE = "none"  # the log said "SBRS None" (or rfc1918 / unable to retrieve): the host has no score


@dataclass(frozen=True)
class HatMatch:
    """Unpacks as the documented (sender_group, policy, access, reason, member); more as attributes."""

    sender_group: SenderGroup | None
    policy: MailFlowPolicy | None
    access: str  # ACCEPT | REJECT | TCPREFUSE | RELAY | unknown
    reason: str
    member: Member | None
    undecided: list[tuple[str, str]] = field(default_factory=list)  # (group label, why) above the match
    continued: list[str] = field(default_factory=list)  # groups matched whose policy said CONTINUE
    position: int | None = None  # 1-based row of the matching group

    def __iter__(self) -> Iterator[Any]:
        return iter((self.sender_group, self.policy, self.access, self.reason, self.member))

    @property
    def certain(self) -> bool:
        return self.sender_group is not None and not self.undecided


@dataclass(frozen=True)
class RatMatch:
    """Unpacks as the documented (entry, access); more as attributes."""

    entry: RatEntry | None
    access: str  # ACCEPT | REJECT | not_applicable | unknown
    address: str | None  # the entry's address form that qualified
    recipient: str  # after the domain map
    reason: str
    position: int | None = None
    implicit: bool = False  # the built-in "All Other Recipients" REJECT

    def __iter__(self) -> Iterator[Any]:
        return iter((self.entry, self.access))


def normalise_sbrs(sbrs: Any) -> float | str | None:
    """Log SBRS text / float -> float, NO_SCORE, or None when not known."""
    if sbrs is None:
        return None
    if isinstance(sbrs, int | float):
        return float(sbrs)
    text = str(sbrs).strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    if text in ("none", "rfc1918", "unable to retrieve", "not enabled"):
        return NO_SCORE
    return None


@lru_cache(maxsize=4096)
def _addr(ip: str) -> tuple[int, int] | None:
    try:
        a = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    return a.version, int(a)


def _member_matches(m: Member, ip: str | None, rdns: str | None, rdns_verified: bool | None,
                    sbrs: float | str | None, dnslists: dict[str, bool], country: str | None
                    ) -> tuple[bool | None, str]:
    if m.kind == "all":
        return True, "ALL matches every host"
    if m.kind in ("ip", "cidr", "range"):
        if not ip:
            return None, "the sending IP is not known"
        addr = _addr(ip)
        if addr is None:
            return None, f"{ip!r} is not an IP address"
        net = ip_network_of(m.value)
        if net is None:
            return None, f"member {m.value!r} not understood"
        return (net[0] == addr[0] and net[1] <= addr[1] <= net[2]), f"{ip} against {m.value}"
    if m.kind in ("hostname", "partial_hostname"):
        if rdns is None:
            return None, "the sender's PTR name is not known"
        if rdns.strip().lower() in ("", "unknown"):
            return False, "the sender has no PTR name"
        if rdns_verified is False:
            return False, f"PTR {rdns} is not verified (forward lookup fails)"
        name = rdns.lower().rstrip(".")
        hit = name.endswith(m.value) if m.kind == "partial_hostname" else name == m.value
        return hit, f"PTR {name} against {m.value}"
    if m.kind == "sbrs":
        if sbrs is None:
            return None, "the SBRS score is not known"
        if sbrs == NO_SCORE:
            return m.include_none, "SBRS None" + (" is included" if m.include_none else " is outside the range")
        if m.low is None:
            return False, f"SBRS {sbrs} is a score, member matches only None"
        score = float(sbrs)
        if score in (m.low, m.high):  # whether a range includes its bounds is not documented ([U])
            if abs(score) >= 10.0:  # ±10 ends the scale: a range ending there surely includes it
                return True, f"SBRS {score} against {m.value}"
            return None, f"SBRS {score} is on a bound of {m.value}; whether the range includes it is not documented"
        return m.low < score < m.high, f"SBRS {score} against {m.value}"
    if m.kind == "dnslist":
        zone = bracket_arg(m.value)
        listed = dnslists.get(zone.lower())
        if listed is None:
            return None, f"whether the IP is listed on {zone} is not known"
        return listed, f"{'listed' if listed else 'not listed'} on {zone}"
    if m.kind == "country":
        if not country:
            return None, "the sender's country is not known"
        wanted = bracket_arg(m.value)
        return country.strip().lower() == wanted.lower(), f"country {country} against {wanted}"
    return None, f"member {m.value!r} not understood"


_IP_KINDS = ("ip", "cidr", "range")


def _ip_index(group: SenderGroup) -> dict[int, Any]:
    """Per IP version: interval starts, running max of ends, intervals (sorted): a HAT imported from a feed
    can hold tens of thousands of addresses, and every case walks it. Rebuilt when the member list changes."""
    key = (id(group.members), len(group.members))
    cached = group.__dict__.get("_ip_idx")
    if cached is not None and cached[0] == key:
        return cached[1]
    by_version: dict[int, list[tuple[int, int, Member]]] = {}
    others: list[Member] = []
    for m in group.members:
        if m.kind in _IP_KINDS and (net := ip_network_of(m.value)) is not None:
            by_version.setdefault(net[0], []).append((net[1], net[2], m))
        else:
            others.append(m)
    index: dict[int, Any] = {0: others}  # key 0: the members the index does not decide
    for version, intervals in by_version.items():
        intervals.sort(key=lambda t: (t[0], t[1]))
        running, top = [], -1
        for _s, e, _m in intervals:
            top = max(top, e)
            running.append(top)
        index[version] = ([t[0] for t in intervals], running, intervals)
    group.__dict__["_ip_idx"] = (key, index)
    return index


def _ip_member(group: SenderGroup, ip: str) -> Member | None:
    addr = _addr(ip)
    if addr is None:
        return None
    entry = _ip_index(group).get(addr[0])
    if not entry:
        return None
    starts, running, intervals = entry
    i = bisect_right(starts, addr[1]) - 1
    if i < 0 or running[i] < addr[1]:
        return None
    while i >= 0:  # the running max says one interval at or before i covers the address
        s, e, m = intervals[i]
        if s <= addr[1] <= e:
            return m
        i -= 1
    return None


def group_matches(group: SenderGroup, **case: Any) -> tuple[bool | None, Member | None, str]:
    """Any member matching decides; otherwise undecided if any member was undecided."""
    why_undecided = ""
    ip = case.get("ip")
    members = group.members
    if ip and _addr(ip) is not None:
        hit_member = _ip_member(group, ip)
        if hit_member is not None:
            return True, hit_member, f"{ip} against {hit_member.value}"
        members = _ip_index(group)[0]  # the IP members are decided (no match): test the others
    for m in members:
        hit, why = _member_matches(m, **case)
        if hit:
            return True, m, why
        if hit is None and not why_undecided:
            why_undecided = why
    if why_undecided:
        return None, None, why_undecided
    return False, None, "no member matches"


def effective_policy(hat: Hat, group: SenderGroup) -> MailFlowPolicy | None:
    if group.inline_access:
        return MailFlowPolicy(name=group.inline_access, access=group.inline_access,
                              settings=dict(group.inline_settings), source=group.source)
    if not group.policy:
        return None
    if group.policy in hat.policies:
        return hat.policies[group.policy]
    if group.policy in FACTORY_POLICIES:
        access, settings = FACTORY_POLICIES[group.policy]
        return MailFlowPolicy(name=group.policy, access=access, settings=dict(settings),
                              source="factory default (esa-pipeline.md §2.3)", factory_default=True)
    return None


def policy_switch(hat: Hat, policy: MailFlowPolicy | None, key: str) -> tuple[str | None, str]:
    """A policy setting as (value, origin): origin is "policy", "default parameters", "factory default" or ""."""
    names = SWITCH_KEYS.get(key, (key,))
    if policy is not None:
        for n in names:
            if n in policy.settings:
                return policy.settings[n].lower(), "factory default" if policy.factory_default else "policy"
    for n in names:
        if n in hat.default_params:
            return hat.default_params[n].lower(), "default parameters"
    if policy is not None and policy.name in FACTORY_POLICIES and not policy.factory_default:
        factory = FACTORY_POLICIES[policy.name][1]
        if key in factory:
            return factory[key], "factory default"
    return None, ""


def hat_match(listener: Listener, ip: str | None, rdns: str | None = None, sbrs: Any = None,
              dnslists: dict[str, bool] | None = None, *, rdns_verified: bool | None = None,
              country: str | None = None) -> HatMatch:
    """First sender group of the listener's HAT that matches the host (see module doc)."""
    hat = listener.hat
    if hat is None or not hat.sender_groups:
        return HatMatch(None, None, "unknown", f"listener {listener.name} has no HAT in the configuration given",
                        None)
    case = {"ip": ip, "rdns": rdns, "rdns_verified": rdns_verified, "sbrs": normalise_sbrs(sbrs),
            "dnslists": {k.lower(): v for k, v in (dnslists or {}).items()}, "country": country}
    undecided: list[tuple[str, str]] = []
    continued: list[str] = []
    for pos, group in enumerate(hat.sender_groups, 1):
        hit, member, why = group_matches(group, **case)
        if hit is False:
            continue
        if hit is None:
            undecided.append((group.label, why))
            continue
        policy = effective_policy(hat, group)
        access = policy.access if policy else "unknown"
        if access == "CONTINUE":
            continued.append(group.label)
            continue
        reason = f"{why}: first matching sender group {group.label}"
        if policy is None:
            reason += f"; its policy {group.policy or '(none)'} is not defined in the configuration"
        return HatMatch(group, policy, access, reason, member, undecided, continued, pos)
    return HatMatch(None, None, "unknown", "no sender group matches and the HAT has no ALL entry", None,
                    undecided, continued)


def _map_domain(listener: Listener, recipient: str) -> str:
    local, _, domain = recipient.rpartition("@")
    d = domain.lower()
    for orig, new in listener.domain_map:
        if d == orig or (orig.startswith(".") and d.endswith(orig)):
            return f"{local}@{new}"
    return recipient


def _rat_form_matches(form: str, local: str, domain: str) -> bool:
    f = form.strip().lower()
    if f == "all":
        return True
    if f.endswith("@"):
        return local == f[:-1]
    if "@" in f and not f.startswith("@"):
        return f == f"{local}@{domain}"
    f = f.lstrip("@")
    if f.startswith("."):
        return domain.endswith(f)
    return domain == f


def rat_match(listener: Listener, recipient: str) -> RatMatch:
    """First qualifying RAT entry for the recipient (after the listener's domain map)."""
    recipient = (recipient or "").strip().strip("<>")
    if listener.type == "private":
        return RatMatch(None, "not_applicable", None, recipient, "private listeners have no RAT")
    if listener.rat is None:
        return RatMatch(None, "unknown", None, recipient, f"listener {listener.name} has no RAT in the "
                        "configuration given")
    mapped = _map_domain(listener, recipient)
    local, _, domain = mapped.lower().rpartition("@")
    for pos, entry in enumerate(listener.rat, 1):
        for form in entry.addresses:
            if _rat_form_matches(form, local, domain):
                return RatMatch(entry, entry.access, form, mapped, f"{mapped} qualifies for RAT entry {form}", pos)
    implicit = RatEntry(["ALL"], "REJECT", source=f"{listener.source} (built-in All Other Recipients)")
    return RatMatch(implicit, "REJECT", "ALL", mapped,
                    "no entry qualifies: the built-in All Other Recipients entry rejects", None, True)


def domain_listed(listener: Listener, domain: str) -> RatEntry | None:
    """The first RAT entry naming the domain (or a parent .domain) itself, ignoring ALL and user@ forms."""
    d = domain.lower()
    for entry in listener.rat or []:
        for form in entry.addresses:
            f = form.strip().lower().lstrip("@")
            if f in ("all", "") or f.endswith("@"):
                continue
            f_dom = f.rpartition("@")[2]
            if f_dom == d or (f_dom.startswith(".") and d.endswith(f_dom)):
                return entry
    return None


# ---------------------------------------------------------------- facts for the engine

def _event(kind: str, source: str, text: str, **fields: Any) -> Event:
    # `summary` repeats the text as a field: the engine passes extra facts' fields only, and rules quote it
    return Event(kind=kind, ts=None, appliance="", source=source, text=text, fields={**fields, "summary": text})


def _policy_text(hat: Hat, policy: MailFlowPolicy) -> tuple[str, dict[str, Any]]:
    switches = {k: policy_switch(hat, policy, k) for k in ("spam_check", "virus_check")}
    parts = [f"connection behaviour {policy.access}"]
    for k, (v, origin) in switches.items() if policy.access in ("ACCEPT", "RELAY") else ():
        parts.append(f"{k} {v} ({origin})" if v else f"{k} not in the export")
    for k in ("max_message_size", "max_rcpts_per_hour", "max_rcpts_per_msg", "tls", "dhap_limit"):
        if k in policy.settings:
            parts.append(f"{k} {policy.settings[k]}")
    origin = " (not in the export: documented factory default)" if policy.factory_default else ""
    fields = {"policy": policy.name, "access": policy.access, "settings": dict(policy.settings),
              "factory_default": policy.factory_default,
              **{k: v for k, (v, _o) in switches.items()}}
    return f"Mail flow policy {policy.name}{origin}: " + ", ".join(parts), fields


# Where a listener names its IP interface in the XML is not documented ([U]): these spellings are tried.
_IFACE_KEYS = ("interface", "interface_name", "ip_interface", "listener_interface")


def _by_interface(config: EsaConfig, interfaces: tuple[str, ...]) -> Listener | None:
    wanted = {i.strip().lower() for i in interfaces if i and i.strip()}
    if not wanted:
        return None
    hits = [li for li in config.listeners
            if any(li.settings.get(k, "").strip().lower() in wanted for k in _IFACE_KEYS if li.settings.get(k))]
    return hits[0] if len(hits) == 1 else None


def _listener_choice(config: EsaConfig, name: str | None,
                     interfaces: tuple[str, ...] = ()) -> tuple[Listener | None, str]:
    exported = any(li.name == "export" for li in config.listeners)
    if not name and not exported and (li := _by_interface(config, interfaces)) is not None:
        logged = " / ".join(i for i in interfaces if i)
        return li, f"the connection came in on interface {logged} (logged), the one this listener uses"
    li = config.listener(name)
    if li is None:
        return None, f"no listener {name!r} in the configuration" if name else "the configuration has no listener"
    if name:
        return li, "asked for"
    if li.name == "export":
        return li, "the HAT/RAT export given"
    return li, ("first public listener; the logs do not name the listener" if li.type == "public"
                else "first listener; the logs do not name the listener")


def config_facts_for_case(config: EsaConfig, *, ip: str | None = None, rdns: str | None = None,
                          sbrs: Any = None, recipient: str | None = None, listener: str | None = None,
                          rdns_verified: bool | None = None, dnslists: dict[str, bool] | None = None,
                          country: str | None = None, logged_hat: Event | None = None,
                          logged_rat_rejected: bool | None = None,
                          interface: str | None = None, interface_ip: str | None = None) -> list[Event]:
    """Config facts for one case: the listener, HAT match, its policy, RAT match, and log/config disagreements.

    logged_hat: the case's `hat_decision` event, if any (compared with what the configuration says).
    logged_rat_rejected: True if the logs show "Rejected by RAT" for the recipient, False if accepted.
    interface, interface_ip: where the connection came in (New SMTP ICID ... interface NAME (IP)), used to
    pick the listener when none is named.
    """
    events: list[Event] = []
    li, why = _listener_choice(config, listener, (interface or "", interface_ip or ""))
    if li is None:
        events.append(_event("config_gap", "config:" + ",".join(config.files), f"Configuration: {why}", what=why))
        return events
    events.append(_event("config_listener", li.source, f"Configuration: {li.label} ({li.type}), {why}",
                         listener=li.name, listener_type=li.type, why=why))
    if logged_hat is not None:
        ip = ip or logged_hat.get("ip")
        if sbrs is None:
            sbrs = logged_hat.get("sbrs_score") if logged_hat.get("sbrs_score") is not None else logged_hat.get("sbrs")
    if ip and li.hat is not None:
        events.extend(_hat_facts(li, ip, rdns, sbrs, dnslists, rdns_verified, country, logged_hat))
    if recipient:
        events.extend(_rat_facts(li, recipient, logged_rat_rejected))
    events.extend(_bounce_profile_facts(config, li))
    return events


_BOUNCE_KEYS = (("max_retries", "maximum retries", ""), ("max_queue_lifetime", "maximum time in queue", " s"),
                ("initial_retry", "initial retry", " s"), ("max_retry_time", "maximum retry interval", " s"),
                ("send_bounces", "send hard bounces", ""), ("send_warnings", "send delay warnings", ""))


def _bounce_profile_facts(config: EsaConfig, li: Listener) -> list[Event]:
    """The listener's bounce profile (esa-pipeline.md §13.1): how long a deferred message is retried."""
    if not li.bounce_profile:
        return []
    bp = config.bounce_profiles.get(li.bounce_profile)
    if bp is None:
        return [_event("config_bounce_profile", li.source,
                       f"{li.label} uses bounce profile {li.bounce_profile}, which the configuration given does "
                       "not define", profile=li.bounce_profile, defined=False, listener=li.name)]
    parts = [f"{label} {bp.settings[k]}{unit}" for k, label, unit in _BOUNCE_KEYS if bp.settings.get(k)]
    fields: dict[str, Any] = {k: bp.settings.get(k) for k, _l, _u in _BOUNCE_KEYS if bp.settings.get(k)}
    return [_event("config_bounce_profile", bp.source,
                   f"Bounce profile {bp.name} ({li.label}): " + (", ".join(parts) or "no setting exported"),
                   profile=bp.name, defined=True, listener=li.name, **fields)]


def _hat_facts(li: Listener, ip: str, rdns: str | None, sbrs: Any, dnslists: dict[str, bool] | None,
               rdns_verified: bool | None, country: str | None, logged: Event | None) -> list[Event]:
    assert li.hat is not None
    hat = li.hat
    m = hat_match(li, ip, rdns, sbrs, dnslists, rdns_verified=rdns_verified, country=country)
    if logged is not None:
        m = _settle_with_log(li, m, logged)
    sb = normalise_sbrs(sbrs)
    sbrs_text = "SBRS unknown" if sb is None else ("SBRS None" if sb == NO_SCORE else f"SBRS {sb:+.1f}")
    events: list[Event] = []
    if m.sender_group is None:
        events.append(_event("config_hat_match", hat.source or li.source,
                             f"HAT of {li.label}: {ip} ({sbrs_text}): {m.reason}",
                             ip=ip, sbrs_score=sb if isinstance(sb, float) else None, sender_group=None,
                             policy=None, access="unknown", certain=False, listener=li.name,
                             undecided=[g for g, _ in m.undecided], reason=m.reason))
        return events
    g, policy = m.sender_group, m.policy
    spam, _ = policy_switch(hat, policy, "spam_check")
    virus, _ = policy_switch(hat, policy, "virus_check")
    pol_name = policy.name if policy else (g.policy or "unknown")
    member_text = f"{m.member.value}" + (f", {m.member.describe()}" if m.member and m.member.kind == "sbrs" else "")
    text = (f"HAT of {li.label}: {ip} ({sbrs_text}) matches sender group {g.label} "
            f"({member_text}) → policy {pol_name}: {m.access}")
    if m.undecided:
        text += "; not certain: " + "; ".join(f"{lbl} above it could not be decided ({why})"
                                              for lbl, why in m.undecided)
    events.append(_event(
        "config_hat_match", m.member.source if m.member and m.member.source else g.source, text,
        ip=ip, sbrs_score=sb if isinstance(sb, float) else None, sender_group=g.name or "None",
        sender_group_label=g.label, rule=m.member.value if m.member else None,
        member_kind=m.member.kind if m.member else None, members=[x.value for x in g.members],
        member_desc=m.member.describe() if m.member else None,
        policy=pol_name, access=m.access, spam_check=spam, virus_check=virus, certain=m.certain,
        undecided=[lbl for lbl, _ in m.undecided], continued=m.continued, position=m.position,
        listener=li.name, listener_label=li.label, comment=g.comment))
    if policy is not None:
        ptext, pfields = _policy_text(hat, policy)
        events.append(_event("config_policy", policy.source or g.source, ptext, listener=li.name,
                             sender_group=g.name or "None", **pfields))
    if logged is not None:
        events.extend(_compare_hat(li, m, logged))
    return events


def _settle_with_log(li: Listener, m: HatMatch, logged: Event) -> HatMatch:
    """A group above the match was undecided (no PTR known, SBRS on a range bound...), and the logged line
    names that very group and one of its members: the log line settles it."""
    assert li.hat is not None
    lg, lrule = (logged.get("sender_group") or "").strip(), (logged.get("rule") or "").strip().lower()
    if not m.undecided or not lg or lg == "None":
        return m
    labels = [label for label, _ in m.undecided]
    group = li.hat.group(lg)
    if group is None or group.label not in labels:
        return m
    member = next((x for x in group.members if x.value.lower() == lrule), None)
    policy = effective_policy(li.hat, group)
    if member is None or policy is None or policy.access == "CONTINUE":
        return m
    pos = li.hat.sender_groups.index(group) + 1
    still = m.undecided[: labels.index(group.label)]  # groups above it stay undecided
    return HatMatch(group, policy, policy.access,
                    f"the logged line shows the match on {member.value}: sender group {group.label}", member,
                    still, m.continued, pos)


def _compare_hat(li: Listener, m: HatMatch, logged: Event) -> list[Event]:
    """Say where the logs and the configuration disagree (the configuration changed since, or another box)."""
    assert li.hat is not None
    lg = (logged.get("sender_group") or "").strip()
    lrule = (logged.get("rule") or "").strip()
    laction = (logged.get("action") or "").upper()
    problems: list[str] = []
    cfg_name = m.sender_group.name if m.sender_group else None
    if lg and lg != "None":
        defined = li.hat.group(lg)
        if defined is None:
            problems.append(f"the logs name sender group {lg}, which this configuration does not have")
        else:
            if lrule and lrule.upper() != "ALL" and all(x.value.lower() != lrule.lower() for x in defined.members):
                members = ", ".join(x.value for x in defined.members) or "no members"
                problems.append(f"the logs matched {lg} on {lrule}, but here {lg} holds {members}")
            if m.sender_group is not None and m.certain and (cfg_name or "None").upper() != lg.upper():
                problems.append(f"this configuration would match {m.sender_group.label}, not {lg}")
    if laction and m.access not in ("unknown", laction) and m.certain:
        problems.append(f"the logs show {laction}, this configuration gives {m.access}")
    if not problems:
        src = m.sender_group.source if m.sender_group else li.source
        return [_event("config_log_agree", src, f"The logs and the configuration agree: {logged.text}",
                       stage="hat", sender_group=lg or None, listener=li.name, logged_source=logged.source)]
    text = ("Logs and configuration disagree (the configuration has changed since, or it is another "
            "listener or appliance): " + "; ".join(problems))
    return [_event("config_log_mismatch", m.sender_group.source if m.sender_group else li.source, text,
                   stage="hat", logged_sender_group=lg or None, logged_rule=lrule or None,
                   config_sender_group=cfg_name, problems=problems, listener=li.name,
                   logged_source=logged.source)]


def _rat_facts(li: Listener, recipient: str, logged_rejected: bool | None) -> list[Event]:
    r = rat_match(li, recipient)
    events: list[Event] = []
    if r.access in ("unknown", "not_applicable"):
        events.append(_event("config_rat_match", li.source, f"RAT of {li.label}: {r.reason}",
                             recipient=recipient, access=r.access, listener=li.name, reason=r.reason))
        return events
    domain = r.recipient.rpartition("@")[2].lower()
    listed = domain_listed(li, domain)
    mapped = f" (domain map: {r.recipient})" if r.recipient.lower() != recipient.lower() else ""
    where = f"entry {r.position} of {len(li.rat or [])}" if r.position else "built-in last entry"
    if listed is None:
        text = (f"RAT of {li.label}: no entry for domain {domain}; recipient {recipient}{mapped} "
                f"falls to {r.address} → {r.access} ({where})")
    else:
        text = (f"RAT of {li.label}: recipient {recipient}{mapped} qualifies for entry "
                f"{r.address} → {r.access} ({where})")
    assert r.entry is not None
    events.append(_event(
        "config_rat_match", r.entry.source, text, recipient=recipient, mapped_recipient=r.recipient,
        domain=domain, entry=r.address, access=r.access, position=r.position, implicit=r.implicit,
        domain_listed=listed is not None, missing_domain=None if listed else domain, listener=li.name,
        listener_label=li.label,
        params=dict(r.entry.params)))
    if logged_rejected is not None:
        cfg_rejects = r.access == "REJECT"
        if logged_rejected != cfg_rejects:
            said = "rejected the recipient" if logged_rejected else "accepted the recipient"
            events.append(_event(
                "config_log_mismatch", r.entry.source,
                f"Logs and configuration disagree (the configuration has changed since, or it is another "
                f"listener or appliance): the logs {said}, this RAT gives {r.access} for {recipient}",
                stage="rat", recipient=recipient, problems=[f"logs {said}; RAT {r.access}"], listener=li.name))
    return events
