"""HAT and RAT text syntax (listenerconfig → hostaccess / rcptaccess → export; also the XML `<hat>` blob).

HAT grammar as documented (esa-pipeline.md §17, CLI-Ref 8.0.1 p384), read line by line:

    $TRUSTED                      a mail flow policy: its name at column 0,
        ACCEPT {                  then its connection behaviour, then an optional
            virus_check = "on"    { key = value } block of settings
        }
    WHITELIST:                    a sender group: "NAME:" at column 0, then
        $TRUSTED (comment)        its policy (and comment) indented
    sbrs[-10.0:-3.0]              a host entry at column 0, then indented the
        BLACKLIST                 group it belongs to, a $POLICY, or an ACTION
    .spamdomain.com               (an unnamed entry, "SG None" in mail_logs)
        REJECT (comment)

Evaluation order (first match wins) is the order in which each sender group is first named and
each unnamed entry appears; that is the order the GUI and the export list them. The member
syntax inside a group (`sbrs[a:b]`, `dnslist[zone]`) is the spelling mail_logs use in
"match <rule>"; Cisco does not document it for the export ([U]), so anything else is kept as
kind "unknown" and reported, never guessed.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from diagnose.collectors.configmodel import HAT_ACCESS, Hat, MailFlowPolicy, Member, RatEntry, SenderGroup

_NAME_COMMENT = re.compile(r"^(?P<head>\S+)(?:\s+(?P<rest>.*?))?\s*$")
_COMMENT = re.compile(r"\((?P<c>.*)\)\s*$")
_SBRS = re.compile(r"^sbrs\[\s*(?P<lo>[-+]?\d+(?:\.\d+)?)\s*:\s*(?P<hi>[-+]?\d+(?:\.\d+)?)\s*\]$", re.I)
_SBRS_NONE = re.compile(r"^sbrs\[\s*none\s*\]$", re.I)
_BRACKET = re.compile(r"^(?P<kind>dnslist|country)\[(?P<v>[^\]]+)\]$", re.I)
_GROUP_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_\-]{0,62})(?:\.[A-Za-z0-9_\-]{1,63})*\.?$")
_PARTIAL_IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){0,2}\.?$")
_SETTING = re.compile(r"^(?P<k>[A-Za-z_][\w\-]*)\s*=\s*(?P<v>.*?)\s*$")


def parse_member(text: str, source: str = "") -> Member:
    """One HAT host entry as written -> Member (kind "unknown" when the spelling is not recognised)."""
    value = text.strip()
    if value.upper() == "ALL":
        return Member("all", "ALL", source=source)
    if m := _SBRS.match(value):
        lo, hi = float(m["lo"]), float(m["hi"])
        return Member("sbrs", value, low=min(lo, hi), high=max(lo, hi), source=source)
    if _SBRS_NONE.match(value):
        return Member("sbrs", value, include_none=True, source=source)
    if m := _BRACKET.match(value):  # kept as written: mail_logs name the rule the same way
        return Member(m["kind"].lower(), value, source=source)
    if ip_network_of(value) is not None:
        if "-" in value:
            kind = "range"
        elif "/" in value or _PARTIAL_IP.match(value) and value.count(".") < 3 or value.endswith("."):
            kind = "cidr"
        else:
            kind = "ip"
        return Member(kind, value, source=source)
    if value.startswith(".") and _HOSTNAME.match(value[1:]):
        return Member("partial_hostname", value.lower(), source=source)
    if _HOSTNAME.match(value) and not value.replace(".", "").isdigit():
        return Member("hostname", value.lower().rstrip("."), source=source)
    return Member("unknown", value, source=source)


def bracket_arg(value: str) -> str:
    """"dnslist[zen.spamhaus.org]" -> "zen.spamhaus.org" (the text itself when there are no brackets)."""
    m = _BRACKET.match(value.strip())
    return m["v"].strip() if m else value.strip()


@lru_cache(maxsize=65536)  # the same HAT members are tested for every case of a batch
def ip_network_of(value: str) -> tuple[int, int, int] | None:
    """(version, first, last) as integers for an IP, CIDR, range or partial IP; None if not an address."""
    v = value.strip()
    try:
        if "-" in v:
            start_s, end_s = v.split("-", 1)
            start = ipaddress.ip_address(start_s)
            if ":" not in end_s and "." not in end_s and start.version == 4:
                end = ipaddress.ip_address(start_s.rsplit(".", 1)[0] + "." + end_s)  # 10.1.1.1-50
            else:
                end = ipaddress.ip_address(end_s)
            if end.version != start.version or int(end) < int(start):
                return None
            return start.version, int(start), int(end)
        if "/" in v:
            net = ipaddress.ip_network(v, strict=False)
            return net.version, int(net.network_address), int(net.broadcast_address)
        if _PARTIAL_IP.match(v) and (v.endswith(".") or v.count(".") < 3):
            octets = [o for o in v.split(".") if o != ""]
            if not octets or any(int(o) > 255 for o in octets):
                return None
            bits = 8 * len(octets)
            net = ipaddress.ip_network(".".join(octets + ["0"] * (4 - len(octets))) + f"/{bits}")
            return 4, int(net.network_address), int(net.broadcast_address)
        ip = ipaddress.ip_address(v)
        return ip.version, int(ip), int(ip)
    except ValueError:
        return None


def _split_comment(rest: str) -> tuple[str, str]:
    m = _COMMENT.search(rest)
    if not m:
        return rest.strip(), ""
    return rest[: m.start()].strip(), m["c"].strip()


def _split_members(line: str) -> list[str]:
    return [p for p in re.split(r"[,\s]+", line.strip()) if p]


class _HatReader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.hat = Hat(source=source)
        self.notes: list[str] = []
        self.state: str | None = None  # "policy" | "group" | "hosts"
        self.policy: MailFlowPolicy | None = None
        self.group: SenderGroup | None = None
        self.hosts: list[Member] = []
        self.hosts_line = 0
        self.block: dict[str, str] | None = None  # open { ... } settings block
        self.group_has_policy = False

    def src(self, lineno: int) -> str:
        return f"{self.source}:{lineno}"

    def note(self, lineno: int, text: str, why: str) -> None:
        self.notes.append(f"{self.src(lineno)}: {why}: {text[:120]!r}")

    def group_named(self, name: str, lineno: int) -> SenderGroup:
        g = self.hat.group(name)
        if g is None:  # named before it is defined: keep its place, fill the policy later
            g = SenderGroup(name=name, source=self.src(lineno))
            self.hat.sender_groups.append(g)
        return g

    def finish_hosts(self, lineno: int) -> None:
        if self.state == "hosts" and self.hosts:
            self.note(self.hosts_line, " ".join(m.value for m in self.hosts), "host entry without a group or policy")
        self.hosts = []

    def read(self, text: str) -> Hat:
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.rstrip()
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if self.block is not None:
                self.read_setting(stripped, lineno)
                continue
            if raw[0] not in " \t":
                self.top_level(stripped, lineno)
            else:
                self.indented(stripped, lineno)
        if self.block is not None:
            self.note(lineno if text else 0, "{", "settings block not closed")
        self.finish_hosts(0)
        return self.hat

    def read_setting(self, stripped: str, lineno: int) -> None:
        assert self.block is not None
        if stripped.startswith("}"):
            self.block = None
            return
        if m := _SETTING.match(stripped.rstrip("}").strip()):
            self.block[m["k"].lower()] = m["v"].strip().strip('"')
        else:
            self.note(lineno, stripped, "setting not understood")
        if stripped.endswith("}"):
            self.block = None

    def open_block(self, rest: str, target: dict[str, str], lineno: int) -> None:
        """`{`, `{}` or `{ key = v }` after an action."""
        body = rest.strip()
        if not body.startswith("{"):
            if body:
                self.note(lineno, body, "text after the action not understood")
            return
        inner = body[1:]
        if "}" in inner:
            for part in inner[: inner.index("}")].split(";"):
                if m := _SETTING.match(part.strip()):
                    target[m["k"].lower()] = m["v"].strip().strip('"')
            return
        self.block = target

    def top_level(self, stripped: str, lineno: int) -> None:
        self.finish_hosts(lineno)
        if stripped.startswith("$"):
            head, _, rest = stripped.partition(" ")
            self.policy = MailFlowPolicy(name=head.upper(), access="unknown", source=self.src(lineno))
            self.hat.policies[self.policy.name] = self.policy
            self.state = "policy"
            if rest.strip():
                self.indented(rest.strip(), lineno)
            return
        if stripped.endswith(":") and _GROUP_NAME.match(stripped[:-1]):
            self.group = self.group_named(stripped[:-1], lineno)
            self.group.source = self.src(lineno)
            self.group_has_policy = False
            self.state = "group"
            return
        self.state = "hosts"
        self.hosts_line = lineno
        self.hosts = [parse_member(p, self.src(lineno)) for p in _split_members(stripped)]

    def indented(self, stripped: str, lineno: int) -> None:
        word, _, rest = stripped.partition(" ")
        upper = word.upper().rstrip("{")
        if self.state == "policy" and self.policy is not None:
            if upper in HAT_ACCESS and self.policy.access == "unknown":
                self.policy.access = upper
                self.open_block(stripped[len(upper):], self.policy.settings, lineno)
            elif m := _SETTING.match(stripped):
                self.policy.settings[m["k"].lower()] = m["v"].strip().strip('"')
            else:
                self.note(lineno, stripped, "policy line not understood")
            return
        if self.state == "group" and self.group is not None:
            if not self.group_has_policy and (word.startswith("$") or upper in HAT_ACCESS):
                target, comment = _split_comment(stripped)
                self.set_target(self.group, target, comment, lineno)
                self.group_has_policy = True
            else:  # members listed under the group header
                self.group.members.extend(parse_member(p, self.src(lineno)) for p in _split_members(stripped))
            return
        if self.state == "hosts" and self.hosts:
            target, comment = _split_comment(stripped)
            tword = target.split(" ", 1)[0] if target else ""
            if tword.startswith("$") or tword.upper().rstrip("{") in HAT_ACCESS:
                entry = SenderGroup(name=None, members=self.hosts, source=self.src(self.hosts_line))
                self.set_target(entry, target, comment, lineno)
                self.hat.sender_groups.append(entry)
            elif _GROUP_NAME.match(tword):
                self.group_named(tword, lineno).members.extend(self.hosts)
            else:
                self.note(lineno, stripped, "host entry target not understood")
            self.hosts = []
            self.state = None
            return
        self.note(lineno, stripped, "indented line outside any entry")

    def set_target(self, group: SenderGroup, target: str, comment: str, lineno: int) -> None:
        word, _, rest = target.partition(" ")
        group.comment = comment or group.comment
        if word.startswith("$"):
            group.policy = word.upper()
        else:
            access = word.upper().rstrip("{")
            group.inline_access = access
            self.open_block(target[len(access):], group.inline_settings, lineno)


def parse_hat_text(text: str, source: str) -> tuple[Hat, list[str]]:
    """HAT export / XML blob -> (Hat, notes on what was not understood)."""
    reader = _HatReader(source)
    hat = reader.read(text)
    for g in hat.sender_groups:
        for m in g.members:
            if m.kind == "unknown":
                reader.notes.append(f"{m.source}: sender group {g.label}: member {m.value!r} not understood")
        if g.name and g.policy is None and g.inline_access is None:
            reader.notes.append(f"{g.source}: sender group {g.name} is used but its policy is not defined")
    return hat, reader.notes


_RAT_LINE = re.compile(r"^(?P<addr>\S+)\s+(?P<access>[A-Za-z]+)\b\s*(?P<rest>.*)$")


def parse_rat_text(text: str, source: str) -> tuple[list[RatEntry], list[str]]:
    """RAT export: `# comment`, `.example.com ACCEPT`, `ALL REJECT` (UG-9.1.2 8-6); extra options kept raw."""
    entries: list[RatEntry] = []
    notes: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _RAT_LINE.match(line)
        if not m or m["access"].upper() not in ("ACCEPT", "REJECT", "TCPREFUSE"):
            notes.append(f"{source}:{lineno}: RAT line not understood: {line[:120]!r}")
            continue
        params: dict[str, str] = {}
        rest = m["rest"].strip()
        if rest:
            if q := re.search(r'"([^"]*)"', rest):
                params["smtp_response_text"] = q[1]
                rest = (rest[: q.start()] + rest[q.end():]).strip()
            for token in rest.split():
                if re.fullmatch(r"[245]\d\d", token):
                    params["smtp_response_code"] = token
                elif s := _SETTING.match(token):
                    params[s["k"].lower()] = s["v"].strip('"')
                elif re.fullmatch(r"[A-Za-z_]+", token):
                    params[token.lower()] = "on"
                else:
                    params.setdefault("unparsed", "")
                    params["unparsed"] = (params["unparsed"] + " " + token).strip()
            if "unparsed" in params:
                notes.append(f"{source}:{lineno}: RAT options not understood: {params['unparsed'][:120]!r}")
        entries.append(RatEntry(addresses=[m["addr"]], access=m["access"].upper(), params=params,
                                source=f"{source}:{lineno}"))
    return entries, notes


def looks_like_hat(text: str) -> bool:
    """HAT exports have indented lines, `$POLICY` or `GROUP:` lines; RAT exports are `ADDRESS ACCESS` lines."""
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if raw[0] in " \t" or s.startswith("$") or s.endswith(":"):
            return True
    return False
