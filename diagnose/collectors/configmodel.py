"""The ESA configuration model: listeners, HAT (sender groups, mail flow policies), RAT, bounce profiles.

Built by collectors/esaconfig.py from the XML export and the HAT / RAT text exports
(esa-pipeline.md §17); evaluated by collectors/configeval.py; changed by whatif.py.
Every object keeps `source` ("config:<file>#<path>") so findings can cite it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# Member kinds a sender group can hold (esa-pipeline.md §2.1).
MEMBER_KINDS = (
    "ip", "cidr", "range", "hostname", "partial_hostname", "sbrs", "dnslist", "country", "all", "unknown",
)
HAT_ACCESS = ("ACCEPT", "REJECT", "TCPREFUSE", "RELAY", "CONTINUE")
RAT_ACCESS = ("ACCEPT", "REJECT")


@dataclass
class Member:
    """One sender-group entry, as written in the HAT ("10.0.0.0/8", "sbrs[-10.0:-3.0]", ".example.net")."""

    kind: str
    value: str  # the entry as written (the log's "match <rule>" text uses the same spelling)
    low: float | None = None  # sbrs range
    high: float | None = None
    include_none: bool = False  # sbrs: also match hosts without a score
    source: str = ""

    def describe(self) -> str:
        if self.kind == "sbrs":
            if self.low is None:
                return "SBRS None"
            text = f"SBRS {self.low:+.1f}…{self.high:+.1f}".replace("-", "−")
            return text + (" (and None)" if self.include_none else "")
        return self.value


@dataclass
class MailFlowPolicy:
    """A mail flow policy ($TRUSTED, $BLOCKED, ...): its connection behaviour and settings as exported."""

    name: str  # with the leading "$" as in the HAT text
    access: str  # ACCEPT | REJECT | TCPREFUSE | RELAY | CONTINUE | "unknown"
    settings: dict[str, str] = field(default_factory=dict)
    source: str = ""
    factory_default: bool = False  # not in the export: taken from the documented defaults


@dataclass
class SenderGroup:
    """A HAT row: a named sender group (members -> policy), or an unnamed entry (name None, "SG None" in logs)."""

    name: str | None
    members: list[Member] = field(default_factory=list)
    policy: str | None = None  # "$TRUSTED"; None when the entry names an action directly
    inline_access: str | None = None  # unnamed entry "spamdomain.com REJECT" has an action, no policy
    inline_settings: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    source: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if len(self.members) == 1 and self.members[0].kind == "all":
            return "ALL"
        return "(unnamed HAT entry " + ", ".join(m.value for m in self.members) + ")"


@dataclass
class Hat:
    sender_groups: list[SenderGroup] = field(default_factory=list)  # in table order: first match wins
    policies: dict[str, MailFlowPolicy] = field(default_factory=dict)
    default_params: dict[str, str] = field(default_factory=dict)  # listener "Default Policy Parameters"
    source: str = ""

    def group(self, name: str) -> SenderGroup | None:
        key = name.upper()
        return next((g for g in self.sender_groups if g.name and g.name.upper() == key), None)


@dataclass
class RatEntry:
    addresses: list[str]
    access: str  # ACCEPT | REJECT | unknown
    params: dict[str, str] = field(default_factory=dict)
    source: str = ""


@dataclass
class BounceProfile:
    name: str
    settings: dict[str, str] = field(default_factory=dict)
    source: str = ""


@dataclass
class Listener:
    name: str
    type: str = "unknown"  # public | private | unknown
    hat: Hat | None = None
    rat: list[RatEntry] | None = None  # None: no RAT known (not "empty RAT")
    domain_map: list[tuple[str, str]] = field(default_factory=list)
    bounce_profile: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def label(self) -> str:
        """How texts name it: "listener IncomingMail", or the exports when no listener was named."""
        if self.name == "export" and "#export" in self.source:
            return "the exported HAT/RAT"
        return f"listener {self.name}"


@dataclass
class EsaConfig:
    listeners: list[Listener] = field(default_factory=list)
    bounce_profiles: dict[str, BounceProfile] = field(default_factory=dict)
    unknown_elements: list[str] = field(default_factory=list)  # element paths / lines we did not understand
    files: list[str] = field(default_factory=list)
    hostname: str | None = None

    def listener(self, name: str | None = None) -> Listener | None:
        """The named listener; without a name the one a HAT/RAT export describes, else the first public one."""
        if name:
            key = name.lower()
            return next((li for li in self.listeners if li.name.lower() == key), None)
        for pick in (lambda li: li.source.startswith("config:") and "#export" in li.source,
                     lambda li: li.type == "public", lambda li: True):
            found = next((li for li in self.listeners if pick(li)), None)
            if found:
                return found
        return None

    def copy(self) -> EsaConfig:
        return copy.deepcopy(self)

    def summary(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "hostname": self.hostname,
            "listeners": [
                {"name": li.name, "type": li.type,
                 "sender_groups": [g.label for g in li.hat.sender_groups] if li.hat else None,
                 "policies": sorted(li.hat.policies) if li.hat else None,
                 "rat_entries": len(li.rat) if li.rat is not None else None}
                for li in self.listeners
            ],
            "bounce_profiles": sorted(self.bounce_profiles),
            "not_understood": self.unknown_elements,
        }
