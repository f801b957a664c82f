"""SPF (RFC 7208): fetch, parse, evaluate for one IP, and flatten to the networks a domain authorises.

Our own evaluator, so that every answer keeps the chain of mechanisms behind it
("partner.example: include:_spf.mailhost.example" -> "_spf.mailhost.example: ip4:198.51.100.0/24").
RFC 7208 limits are enforced: at most 10 DNS-querying terms (include, a, mx, ptr, exists,
redirect), at most 2 void lookups, at most 10 MX/PTR names per term; include and redirect loops
are detected. DNS data is untrusted: records are parsed, never executed, and every walk is bounded.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from diagnose.model import Event
from diagnose.probes.facts import make_event
from diagnose.probes.resolver import Answer, Budget, Resolver

LOOKUP_LIMIT = 10  # RFC 7208 4.6.4
VOID_LIMIT = 2
MX_PTR_LIMIT = 10
FLATTEN_HARD_CAP = 40  # flattening goes past the RFC limit (to show what is lost) but not forever
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
DNS_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")
IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

_MECH_RE = re.compile(r"^([+?~-]?)([a-z0-9]+)(?::(.*?))?((?:/\d*)?(?://\d*)?)$", re.I | re.S)
_MODIFIER_RE = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.I | re.S)
_MACRO_RE = re.compile(r"%\{([slodiphcrtv])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-|%", re.I)
QUALIFIER_RESULT = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


class SpfSyntaxError(ValueError):
    pass


@dataclass
class Term:
    kind: str  # "mechanism" | "modifier"
    name: str  # all, include, a, mx, ptr, ip4, ip6, exists, redirect, exp, or an unknown modifier
    qualifier: str = "+"
    value: str = ""  # domain-spec or address
    cidr4: int | None = None
    cidr6: int | None = None
    text: str = ""  # the term as written


def parse_record(text: str) -> list[Term]:
    """Parse one `v=spf1 ...` record; raise SpfSyntaxError on anything RFC 7208 calls a permerror."""
    parts = text.split(" ")
    if not parts or parts[0].lower() != "v=spf1":
        raise SpfSyntaxError("record does not start with v=spf1")
    terms: list[Term] = []
    seen_mod: set[str] = set()
    for raw in parts[1:]:
        if not raw:
            continue
        if raw.lower() in ("v=spf1",):
            raise SpfSyntaxError("v=spf1 repeated inside the record")
        mod = _MODIFIER_RE.match(raw)
        if mod and mod.group(1).lower() not in MECHANISMS:
            name = mod.group(1).lower()
            if name in ("redirect", "exp"):
                if name in seen_mod:
                    raise SpfSyntaxError(f"{name}= appears twice")
                if not mod.group(2):
                    raise SpfSyntaxError(f"{name}= without a domain")
                _check_macros(mod.group(2), raw)
            seen_mod.add(name)
            terms.append(Term("modifier", name, value=mod.group(2), text=raw))
            continue
        m = _MECH_RE.match(raw)
        if not m or m.group(2).lower() not in MECHANISMS:
            raise SpfSyntaxError(f"unknown term {raw!r}")
        qual, name, value, cidr = m.group(1) or "+", m.group(2).lower(), m.group(3), m.group(4)
        term = Term("mechanism", name, qual, value or "", text=raw)
        if name in ("ip4", "ip6"):
            term.value = (value or "") + (cidr or "")
            try:
                net = ipaddress.ip_network(term.value, strict=False)
            except ValueError:
                raise SpfSyntaxError(f"bad address in {raw!r}") from None
            if (name == "ip4") != (net.version == 4):
                raise SpfSyntaxError(f"{name} with an IPv{net.version} address in {raw!r}")
            term.value = str(net)
        else:
            if name == "all" and (value is not None or cidr):
                raise SpfSyntaxError(f"'all' takes no argument: {raw!r}")
            if name in ("include", "exists") and not value:
                raise SpfSyntaxError(f"{name} needs a domain: {raw!r}")
            if cidr and name not in ("a", "mx"):
                raise SpfSyntaxError(f"prefix length not allowed on {name}: {raw!r}")
            if cidr:
                term.cidr4, term.cidr6 = _dual_cidr(cidr, raw)
            if value is not None and value == "":
                raise SpfSyntaxError(f"empty domain in {raw!r}")
            if value:
                _check_macros(value, raw)
        terms.append(term)
    return terms


def _dual_cidr(cidr: str, raw: str) -> tuple[int | None, int | None]:
    m = re.fullmatch(r"(?:/(\d+))?(?://(\d+))?", cidr)
    if not m:
        raise SpfSyntaxError(f"bad prefix length in {raw!r}")
    c4 = int(m.group(1)) if m.group(1) else None
    c6 = int(m.group(2)) if m.group(2) else None
    if (c4 is not None and c4 > 32) or (c6 is not None and c6 > 128):
        raise SpfSyntaxError(f"prefix length out of range in {raw!r}")
    return c4, c6


def _check_macros(spec: str, raw: str) -> None:
    for m in _MACRO_RE.finditer(spec):
        if m.group(0) == "%":
            raise SpfSyntaxError(f"bad macro in {raw!r}")


def has_macros(spec: str) -> bool:
    return "%{" in spec


def expand(spec: str, *, domain: str, ip: IPAddr | None = None, sender: str = "", helo: str = "") -> str | None:
    """RFC 7208 section 7 macro expansion; None when a macro needs data we do not have (no IP)."""
    local, _, sdomain = sender.rpartition("@") if "@" in sender else ("postmaster", "", sender or domain)
    local = local or "postmaster"

    def letter_value(letter: str) -> str | None:
        lo = letter.lower()
        if lo == "s":
            return f"{local}@{sdomain}"
        if lo == "l":
            return local
        if lo == "o":
            return sdomain
        if lo == "d":
            return domain
        if lo == "h":
            return helo or domain
        if lo in ("i", "c"):
            if ip is None:
                return None
            if ip.version == 4 or lo == "c":
                return str(ip)
            return ".".join(ip.exploded.replace(":", ""))
        if lo == "v":
            return None if ip is None else ("in-addr" if ip.version == 4 else "ip6")
        if lo == "p":
            return "unknown"  # RFC 7208 5.7: the validated name is optional and discouraged
        if lo == "r":
            return "unknown"
        if lo == "t":
            return "0"
        return None

    out: list[str] = []
    pos = 0
    for m in _MACRO_RE.finditer(spec):
        out.append(spec[pos:m.start()])
        pos = m.end()
        tok = m.group(0)
        if tok == "%%":
            out.append("%")
        elif tok == "%_":
            out.append(" ")
        elif tok == "%-":
            out.append("%20")
        elif tok == "%":
            return None
        else:
            value = letter_value(m.group(1))
            if value is None:
                return None
            delims = m.group(4) or "."
            parts = re.split("[" + re.escape(delims) + "]", value)
            if m.group(3):
                parts.reverse()
            if m.group(2):
                n = int(m.group(2))
                if n == 0:
                    return None
                parts = parts[-n:]
            value = ".".join(parts)
            if m.group(1).isupper():
                value = urllib.parse.quote(value, safe="")
            out.append(value)
    out.append(spec[pos:])
    result = "".join(out)
    while len(result) > 253 and "." in result:  # RFC 7208 7.3: drop labels from the left
        result = result.split(".", 1)[1]
    return result.rstrip(".").lower()


@dataclass
class Network:
    network: str  # "198.51.100.0/24"
    qualifier: str  # of the term that lists it: + - ~ ?
    chain: list[str]  # ["partner.example: include:_spf.mailhost.example", "_spf.mailhost.example: ip4:..."]
    authorises: bool  # a match on it makes the top-level result pass
    within_limit: bool = True  # reached before the 10th DNS-querying term

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network, "qualifier": self.qualifier, "chain": self.chain,
                "authorises": self.authorises, "within_limit": self.within_limit}


@dataclass
class SpfFlat:
    """What a domain's SPF tree authorises, every branch walked."""

    domain: str
    status: str  # ok | none | permerror | temperror | skipped
    record: str = ""
    records: dict[str, str] = field(default_factory=dict)  # domain -> SPF text seen in the walk
    networks: list[Network] = field(default_factory=list)
    lookups: int = 0
    void_lookups: int = 0
    problems: list[str] = field(default_factory=list)
    unflattenable: list[str] = field(default_factory=list)  # chains of terms that depend on the sender (ptr, exists, %{i})
    all_result: str = ""  # what the top record's `all` (or the redirect's) says for everyone else
    answers: list[Answer] = field(default_factory=list)
    resolver: str = ""

    @property
    def dns_status(self) -> str:
        """The probe's DNS failure state: the top TXT query's, else the first failed query's."""
        if not self.answers:
            return "skipped"
        top = self.answers[0]
        if top.status != "ok":
            return top.status
        return next((a.status for a in self.answers if a.failed), "ok")

    @property
    def authorised(self) -> list[Network]:
        return [n for n in self.networks if n.authorises]

    def summary(self) -> str:
        if self.status == "none":
            return f"SPF {self.domain}: no SPF record" + (f" ({self.problems[0]})" if self.problems else "")
        nets = ", ".join(n.network for n in self.authorised[:8])
        more = f" and {len(self.authorised) - 8} more" if len(self.authorised) > 8 else ""
        text = (f"SPF {self.domain}: {self.status}, {self.lookups}/{LOOKUP_LIMIT} DNS lookups, "
                f"authorises {nets or 'no network'}{more}")
        if self.all_result:
            text += f"; all others {self.all_result}"
        if self.problems:
            text += f"; problems: {'; '.join(self.problems[:3])}"
        return text

    def events(self) -> list[Event]:
        top = self.answers[0] if self.answers else None
        return [make_event("spf", self.domain, top, self.summary(), resolver=self.resolver, status=self.dns_status,
                           spf_status=self.status, record=self.record, lookups=self.lookups,
                           void_lookups=self.void_lookups, problems=list(self.problems),
                           networks=[n.network for n in self.authorised], all=self.all_result)]

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain, "status": self.status, "record": self.record, "records": self.records,
            "networks": [n.to_json() for n in self.networks], "lookups": self.lookups,
            "lookup_limit": LOOKUP_LIMIT, "void_lookups": self.void_lookups, "problems": self.problems,
            "unflattenable": self.unflattenable, "all": self.all_result,
        }


@dataclass
class SpfCheck:
    """check_host(ip, domain, sender) with the chain of terms that produced the result."""

    domain: str
    ip: str
    result: str  # pass fail softfail neutral none permerror temperror
    chain: list[str] = field(default_factory=list)
    explanation: str = ""
    lookups: int = 0
    void_lookups: int = 0
    answers: list[Answer] = field(default_factory=list)
    resolver: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "ip": self.ip, "result": self.result, "chain": self.chain,
                "explanation": self.explanation, "lookups": self.lookups, "void_lookups": self.void_lookups}

    def summary(self) -> str:
        via = f" via {' > '.join(self.chain)}" if self.chain else ""
        return f"SPF check_host({self.ip}, {self.domain}) = {self.result}{via}" + (
            f" ({self.explanation})" if self.result in ("permerror", "temperror", "none") else "")

    def events(self) -> list[Event]:
        top = self.answers[0] if self.answers else None
        status = next((a.status for a in self.answers if a.failed), top.status if top else "skipped")
        return [make_event("spf_check", f"{self.ip} {self.domain}", top, self.summary(), resolver=self.resolver,
                           status=status, ip=self.ip, domain=self.domain, result=self.result,
                           chain=list(self.chain))]


class _Stop(Exception):
    def __init__(self, result: str, why: str) -> None:
        super().__init__(why)
        self.result, self.why = result, why


class _Walk:
    """State shared by one evaluation or flattening: DNS counters, answers seen, the budget."""

    def __init__(self, resolver: Resolver, budget: Budget | None, hard_cap: int) -> None:
        self.resolver, self.budget, self.hard_cap = resolver, budget, hard_cap
        self.lookups = 0
        self.voids = 0
        self.answers: list[Answer] = []

    def ask(self, qname: str, rdtype: str) -> Answer:
        a = self.resolver.query(qname, rdtype, self.budget)
        self.answers.append(a)
        return a

    def count_term(self, what: str) -> None:
        self.lookups += 1
        if self.lookups > self.hard_cap:
            raise _Stop("permerror", f"more than {LOOKUP_LIMIT} DNS-querying terms ({what} is number {self.lookups})")

    def void(self, a: Answer, what: str) -> None:
        if a.void:
            self.voids += 1
            if self.voids > VOID_LIMIT and self.hard_cap == LOOKUP_LIMIT:
                raise _Stop("permerror", f"more than {VOID_LIMIT} void lookups ({what})")


def fetch_record(walk: _Walk, domain: str) -> tuple[str, str | None, str]:
    """-> (status, record, why): status ok | none | permerror | temperror."""
    a = walk.ask(domain, "TXT")
    if a.status in ("servfail", "timeout", "error", "skipped"):
        return "temperror", None, f"TXT {domain}: {a.describe()}"
    if a.status == "nxdomain":
        walk.void(a, f"TXT {domain}")
        return "none", None, f"TXT {domain}: NXDOMAIN"
    spf = [r for r in a.records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]
    if not spf:
        if not a.records:
            walk.void(a, f"TXT {domain}")
        return "none", None, f"{domain} publishes no SPF record"
    if len(spf) > 1:
        return "permerror", None, f"{domain} publishes {len(spf)} SPF records (RFC 7208 4.5: permerror)"
    return "ok", spf[0], ""


def _address_answers(walk: _Walk, name: str, want_v6: bool | None) -> tuple[list[IPAddr], list[Answer]]:
    """A and/or AAAA of `name`; want_v6 None = both (flattening)."""
    types = ["A", "AAAA"] if want_v6 is None else (["AAAA"] if want_v6 else ["A"])
    out: list[IPAddr] = []
    answers = []
    for t in types:
        a = walk.ask(name, t)
        answers.append(a)
        if a.failed:
            continue
        for r in a.records:
            try:
                out.append(ipaddress.ip_address(r))
            except ValueError:
                continue
    return out, answers


def _net_for(addr: IPAddr, term: Term) -> IPNet:
    plen = (term.cidr4 if addr.version == 4 else term.cidr6)
    if plen is None:
        plen = 32 if addr.version == 4 else 128
    return ipaddress.ip_network(f"{addr}/{plen}", strict=False)


def _temperror_if_failed(answers: list[Answer], what: str) -> None:
    failed = [a for a in answers if a.failed]
    if failed and all(a.failed for a in answers):
        raise _Stop("temperror", f"{what}: {failed[0].describe()}")


# -- check_host ------------------------------------------------------------------------------------
def check_host(ip: str, domain: str, resolver: Resolver, *, sender: str = "", helo: str = "",
               budget: Budget | None = None) -> SpfCheck:
    """RFC 7208 check_host(): the result for mail from `sender` at `domain` sent by `ip`."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return SpfCheck(domain, ip, "permerror", explanation=f"{ip!r} is not an IP address",
                        resolver=resolver.label)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    walk = _Walk(resolver, budget, LOOKUP_LIMIT)
    domain = domain.lower().rstrip(".")
    try:
        result, chain, why = _check(walk, domain, addr, sender or f"postmaster@{domain}", helo, [], [])
    except _Stop as stop:
        result, chain, why = stop.result, [], stop.why
    return SpfCheck(domain, str(addr), result, chain, why, walk.lookups, walk.voids, walk.answers, resolver.label)


def _check(walk: _Walk, domain: str, ip: IPAddr, sender: str, helo: str, stack: list[str],
           chain: list[str]) -> tuple[str, list[str], str]:
    if domain in stack:
        raise _Stop("permerror", "loop: " + " -> ".join([*stack, domain]))
    status, record, why = fetch_record(walk, domain)
    if status != "ok" or record is None:
        return status, chain, why
    try:
        terms = parse_record(record)
    except SpfSyntaxError as exc:
        raise _Stop("permerror", f"{domain}: {exc}") from None
    stack = [*stack, domain]
    redirect = next((t for t in terms if t.kind == "modifier" and t.name == "redirect"), None)
    for term in terms:
        if term.kind != "mechanism":
            continue
        step = [*chain, f"{domain}: {term.text}"]
        matched, sub = _match(walk, term, domain, ip, sender, helo, stack, step)
        if matched:
            return QUALIFIER_RESULT[term.qualifier], sub, f"{ip} matched {term.text} in {domain}"
    if redirect is not None:
        walk.count_term(f"redirect={redirect.value}")
        target = expand(redirect.value, domain=domain, ip=ip, sender=sender, helo=helo)
        if not target:
            raise _Stop("permerror", f"{domain}: cannot expand {redirect.text}")
        result, sub, why = _check(walk, target, ip, sender, helo, stack, [*chain, f"{domain}: {redirect.text}"])
        if result == "none":
            raise _Stop("permerror", f"{domain}: {redirect.text} names a domain without SPF")
        return result, sub, why
    return "neutral", chain, f"no term in {domain} matched {ip} (default neutral)"


def _match(walk: _Walk, term: Term, domain: str, ip: IPAddr, sender: str, helo: str, stack: list[str],
           step: list[str]) -> tuple[bool, list[str]]:
    name = term.name
    if name == "all":
        return True, step
    if name in ("ip4", "ip6"):
        net = ipaddress.ip_network(term.value)
        return (ip.version == net.version and ip in net), step
    walk.count_term(term.text)
    target = domain
    if term.value:
        target = expand(term.value, domain=domain, ip=ip, sender=sender, helo=helo) or ""
        if not target:
            raise _Stop("permerror", f"{domain}: cannot expand {term.text}")
    if name == "include":
        result, sub, why = _check(walk, target, ip, sender, helo, stack, step)
        if result == "pass":
            return True, sub
        if result == "temperror":
            raise _Stop("temperror", why)
        if result in ("permerror", "none"):
            raise _Stop("permerror", f"{term.text}: {why or result}")
        return False, step
    if name == "exists":
        a = walk.ask(target, "A")
        _temperror_if_failed([a], f"{term.text}")
        walk.void(a, term.text)
        return bool(a.records), [*step[:-1], f"{step[-1]} -> {target} exists"]
    if name == "a":
        addrs, answers = _address_answers(walk, target, ip.version == 6)
        _temperror_if_failed(answers, term.text)
        walk.void(answers[0], term.text)
        for addr in addrs:
            if ip in _net_for(addr, term):
                return True, [*step, f"{target}: {'AAAA' if addr.version == 6 else 'A'} {_net_for(addr, term)}"]
        return False, step
    if name == "mx":
        a = walk.ask(target, "MX")
        _temperror_if_failed([a], term.text)
        walk.void(a, term.text)
        hosts = _mx_hosts(a)
        if len(hosts) > MX_PTR_LIMIT:
            raise _Stop("permerror", f"{term.text}: {len(hosts)} MX hosts (limit {MX_PTR_LIMIT})")
        for host in hosts:
            addrs, _ = _address_answers(walk, host, ip.version == 6)
            for addr in addrs:
                if ip in _net_for(addr, term):
                    return True, [*step, f"{host}: {'AAAA' if addr.version == 6 else 'A'} {_net_for(addr, term)}"]
        return False, step
    if name == "ptr":
        names = _validated_ptr_names(walk, ip)
        for n in names:
            if n == target or n.endswith("." + target):
                return True, [*step, f"{ip} PTR {n} (forward-confirmed)"]
        return False, step
    return False, step


def _mx_hosts(a: Answer) -> list[str]:
    """MX host names by preference; the null MX "." (RFC 7505) names no host."""
    hosts = []
    for r in a.records:
        parts = r.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1] not in (".", ""):
            hosts.append((int(parts[0]), parts[1].lower().rstrip(".")))
    return [h for _, h in sorted(hosts)]


def _validated_ptr_names(walk: _Walk, ip: IPAddr) -> list[str]:
    import dns.reversename  # local: only the ptr mechanism needs it

    a = walk.ask(dns.reversename.from_address(str(ip)).to_text(omit_final_dot=True), "PTR")
    walk.void(a, "ptr")
    out = []
    for name in [r.lower().rstrip(".") for r in a.records][:MX_PTR_LIMIT]:
        addrs, _ = _address_answers(walk, name, ip.version == 6)
        if ip in addrs:
            out.append(name)
    return out


# -- flattening ------------------------------------------------------------------------------------
def flatten(domain: str, resolver: Resolver, *, budget: Budget | None = None) -> SpfFlat:
    """Walk every branch of `domain`'s SPF tree and list each network with the chain that authorises it."""
    domain = domain.lower().rstrip(".")
    walk = _Walk(resolver, budget, FLATTEN_HARD_CAP)
    flat = SpfFlat(domain, "ok", resolver=resolver.label)
    try:
        status, record, why = fetch_record(walk, domain)
        if status != "ok" or record is None:
            flat.status = "temperror" if status == "temperror" else status
            if why:
                flat.problems.append(why)
        else:
            flat.record = record
            flat.all_result = _flatten(walk, flat, domain, record, [], [], True)
    except _Stop as stop:
        flat.status = stop.result
        flat.problems.append(stop.why)
    flat.lookups, flat.void_lookups, flat.answers = walk.lookups, walk.voids, walk.answers
    if walk.answers:
        flat.resolver = walk.answers[0].resolver
    if flat.lookups > LOOKUP_LIMIT:
        flat.status = "permerror"
        flat.problems.append(
            f"{flat.lookups} DNS-querying terms (RFC 7208 limit {LOOKUP_LIMIT}): receivers stop at the "
            f"{LOOKUP_LIMIT + 1}th and return permerror, so networks past it are not authorised")
    if flat.void_lookups > VOID_LIMIT:
        flat.status = "permerror"
        flat.problems.append(f"{flat.void_lookups} void lookups (RFC 7208 limit {VOID_LIMIT}): receivers return permerror")
    return flat


def _flatten(walk: _Walk, flat: SpfFlat, domain: str, record: str, stack: list[str], chain: list[str],
             passing: bool) -> str:
    """Add the networks of one record; returns the result its `all`/redirect gives everyone else."""
    if domain in stack:
        flat.status = "permerror"
        flat.problems.append("include/redirect loop: " + " -> ".join([*stack, domain]))
        return ""
    flat.records[domain] = record
    try:
        terms = parse_record(record)
    except SpfSyntaxError as exc:
        flat.status = "permerror"
        flat.problems.append(f"{domain}: {exc}")
        return ""
    stack = [*stack, domain]
    all_result = ""
    for term in terms:
        step = [*chain, f"{domain}: {term.text}"]
        ok = passing and term.qualifier == "+"
        if term.kind == "modifier":
            continue
        if term.name == "all":
            all_result = QUALIFIER_RESULT[term.qualifier]
            break  # terms after `all` are never reached
        if term.name in ("ip4", "ip6"):
            flat.networks.append(Network(term.value, term.qualifier, step, ok, walk.lookups <= LOOKUP_LIMIT))
            continue
        walk.count_term(term.text)
        if term.value and has_macros(term.value) or term.name in ("ptr", "exists"):
            flat.unflattenable.append(" -> ".join(step) + "  (depends on the sending host)")
            if term.value and has_macros(term.value):
                continue
        target = (expand(term.value, domain=domain) if term.value else domain) or domain
        if term.name == "include":
            status, sub, why = fetch_record(walk, target)
            if status == "ok" and sub is not None:
                _flatten(walk, flat, target, sub, stack, step, ok)
            else:
                flat.problems.append(f"{domain}: {term.text}: {why} "
                                     f"({'temperror' if status == 'temperror' else 'permerror'} for receivers)")
                if status != "temperror":
                    flat.status = "permerror"
                elif flat.status == "ok":
                    flat.status = "temperror"
        elif term.name == "a":
            addrs, answers = _address_answers(walk, target, None)
            _note_failures(flat, domain, term, answers)
            if all(a.void for a in answers):
                walk.void(answers[0], term.text)
            for addr in addrs:
                flat.networks.append(Network(str(_net_for(addr, term)), term.qualifier,
                                             [*step, f"{target}: {'AAAA' if addr.version == 6 else 'A'} {addr}"],
                                             ok, walk.lookups <= LOOKUP_LIMIT))
        elif term.name == "mx":
            a = walk.ask(target, "MX")
            _note_failures(flat, domain, term, [a])
            walk.void(a, term.text)
            hosts = _mx_hosts(a)
            if len(hosts) > MX_PTR_LIMIT:
                flat.problems.append(f"{domain}: {term.text}: {len(hosts)} MX hosts (limit {MX_PTR_LIMIT}): permerror")
                flat.status = "permerror"
            for host in hosts[:MX_PTR_LIMIT]:
                addrs, answers = _address_answers(walk, host, None)
                _note_failures(flat, domain, term, answers)
                for addr in addrs:
                    flat.networks.append(Network(str(_net_for(addr, term)), term.qualifier,
                                                 [*step, f"{host}: {'AAAA' if addr.version == 6 else 'A'} {addr}"],
                                                 ok, walk.lookups <= LOOKUP_LIMIT))
        elif term.name == "exists":
            pass  # listed in unflattenable above: its answer depends on the sender
        elif term.name == "ptr":
            flat.problems.append(f"{domain}: {term.text}: the ptr mechanism is deprecated (RFC 7208 5.5)")
    else:
        redirect = next((t for t in terms if t.kind == "modifier" and t.name == "redirect"), None)
        if redirect is not None:
            walk.count_term(redirect.text)
            target = expand(redirect.value, domain=domain) if not has_macros(redirect.value) else None
            if not target:
                flat.unflattenable.append(f"{domain}: {redirect.text}  (depends on the sending host)")
                return ""
            status, sub, why = fetch_record(walk, target)
            if status == "ok" and sub is not None:
                return _flatten(walk, flat, target, sub, stack, [*chain, f"{domain}: {redirect.text}"], passing)
            flat.problems.append(f"{domain}: {redirect.text}: {why} (permerror for receivers)")
            flat.status = "permerror" if status != "temperror" else "temperror"
            return ""
        all_result = all_result or "neutral"
    return all_result


def _note_failures(flat: SpfFlat, domain: str, term: Term, answers: list[Answer]) -> None:
    for a in answers:
        if a.failed:
            flat.problems.append(f"{domain}: {term.text}: {a.rdtype} {a.qname}: {a.describe()}")
            if flat.status == "ok":
                flat.status = "temperror"


def find_network(flat: SpfFlat, ip: str) -> Network | None:
    """The first authorising network of a flattened tree that holds `ip`."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    for n in flat.networks:
        net = ipaddress.ip_network(n.network)
        if n.authorises and addr.version == net.version and addr in net:
            return n
    return None
