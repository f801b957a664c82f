"""ESA configuration inputs -> EsaConfig: the XML export and the HAT / RAT text exports.

`load_config(paths)` reads any mix of (esa-pipeline.md §17):
- the XML configuration file (System Administration > Configuration File; `showconfig` / `saveconfig`),
  `<config>` root. The elements documented for older releases are read precisely; everything else
  is walked and listed in `EsaConfig.unknown_elements`, so the user sees what was not understood.
- a HAT export (`listenerconfig → edit → hostaccess → export`) and a RAT export (`… → rcptaccess →
  export`). Exports name no listener: they form one listener named "export", which is the one
  evaluated when no listener is asked for (the user handed it over on purpose).

XML is parsed with defusedxml: a DOCTYPE naming a DTD (`<!DOCTYPE config SYSTEM "config.dtd">`, as
real exports have) is accepted but never fetched; entity declarations (billion laughs) and external
references (XXE) are refused with an InputError before anything is expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from diagnose.collectors.configeval import config_facts_for_case, hat_match, rat_match
from diagnose.collectors.configmodel import (
    BounceProfile,
    EsaConfig,
    Hat,
    Listener,
    MailFlowPolicy,
    Member,
    RatEntry,
    SenderGroup,
)
from diagnose.collectors.hat_syntax import looks_like_hat, parse_hat_text, parse_rat_text
from diagnose.model import InputError

__all__ = [
    "BounceProfile", "EsaConfig", "Hat", "Listener", "MailFlowPolicy", "Member", "RatEntry", "SenderGroup",
    "config_facts_for_case", "hat_match", "load_config", "parse_config_bytes", "rat_match",
]

MAX_CONFIG_BYTES = 64 * 1024 * 1024  # a full export is a few MB; refuse anything absurd before parsing

# Top-level elements we know and deliberately do not use for diagnosis (not "not understood").
_KNOWN_UNUSED = {
    "interfaces", "dns", "routes", "ldap", "euq", "log_subscriptions", "bounce_verification", "encryption",
    "tracking", "reporting", "users", "update_interval", "ntp", "snmp", "alerts", "timezone", "ssh",
    "feature_keys", "system_time", "smtp_routes", "certificates", "admin_access", "network_access",
}
_HAT_DEFAULT_PREFIX = "hat_default_"


def _text(el: ET.Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _child_text(el: ET.Element, *names: str) -> str:
    for n in names:
        found = el.find(n)
        if found is not None and _text(found):
            return _text(found)
    return ""


def _parse_xml(data: bytes, name: str) -> ET.Element:
    try:
        return DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        what = f"external entity {exc.name!r} ({exc.sysid})" if exc.sysid else f"entity {exc.name!r}"
        raise InputError(
            f"{name}: refused: the XML declares {what}; entity expansion and external references are not "
            "allowed in a configuration file (an ESA export has none)") from None
    except defusedxml.DefusedXmlException as exc:
        raise InputError(f"{name}: refused: unsafe XML construct ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise InputError(f"{name}: not well-formed XML: {exc}") from None


def _read_listener(el: ET.Element, fname: str, index: int, config: EsaConfig) -> Listener:
    name = _child_text(el, "listener_name", "name") or f"listener{index}"
    base = f"config:{fname}#listeners/listener[{name}]"
    listener = Listener(name=name, type=(_child_text(el, "type", "listener_type") or "unknown").lower(),
                        source=base)
    defaults: dict[str, str] = {}
    hat_el = el.find("hat")
    for child in el:
        tag = child.tag
        if tag in ("listener_name", "name", "type", "listener_type", "hat"):
            continue
        if tag.startswith(_HAT_DEFAULT_PREFIX):
            defaults[tag[len(_HAT_DEFAULT_PREFIX):]] = _text(child)
        elif tag == "rat":
            listener.rat = _read_rat(child, base)
        elif tag == "domain_map_table":
            for entry in child:
                orig, new = _child_text(entry, "orig_domain"), _child_text(entry, "new_domain")
                if orig and new:
                    listener.domain_map.append((orig.lower(), new.lower()))
        elif tag == "bounce_profile_name":
            listener.bounce_profile = _text(child) or None
        elif len(child) == 0:
            listener.settings[tag] = _text(child)
        elif tag != "listener_ldap":  # LDAP accept/masquerade settings: known, not evaluated here
            config.unknown_elements.append(f"{fname}: listeners/listener[{name}]/{tag} (not understood)")
    if hat_el is not None:
        if len(hat_el):  # a structured HAT (newer releases?) is not documented: say so
            config.unknown_elements.append(
                f"{fname}: listeners/listener[{name}]/hat has child elements, not the documented text form")
        hat, notes = parse_hat_text(hat_el.text or "", f"{base}/hat")
        hat.default_params = defaults
        listener.hat = hat
        config.unknown_elements.extend(f"{fname}: {n}" for n in notes)
    elif defaults:
        listener.hat = Hat(default_params=defaults, source=f"{base}/hat")
    return listener


def _read_rat(el: ET.Element, base: str) -> list[RatEntry]:
    entries: list[RatEntry] = []
    for i, entry in enumerate(el.findall("rat_entry"), 1):
        addresses = [_text(a) for a in entry.findall("rat_address") if _text(a)]
        params: dict[str, str] = {}
        for child in entry:  # rat_params/* and any other leaf (newer releases may add options): kept
            if child.tag == "rat_params":
                params.update({c.tag: _text(c) for c in child if len(c) == 0})
            elif child.tag not in ("rat_address", "access") and len(child) == 0:
                params[child.tag] = _text(child)
        entries.append(RatEntry(addresses=addresses, access=(_child_text(entry, "access") or "unknown").upper(),
                                params=params, source=f"{base}/rat/rat_entry[{i}]"))
    return entries


def _read_xml(root: ET.Element, fname: str, config: EsaConfig) -> None:
    if root.tag != "config":
        raise InputError(f"{fname}: not an ESA configuration export (root element <{root.tag[:40]}>, "
                         "expected <config>)")
    for child in root:
        tag = child.tag
        if tag == "hostname":
            config.hostname = _text(child) or None
        elif tag == "listeners":
            for i, li in enumerate(child.findall("listener"), 1):
                config.listeners.append(_read_listener(li, fname, i, config))
        elif tag == "bounce_profiles":
            for i, bp in enumerate(child.findall("bounce_profile"), 1):
                name = _child_text(bp, "bounce_profile_name") or f"profile{i}"
                config.bounce_profiles[name] = BounceProfile(
                    name=name, settings={c.tag: _text(c) for c in bp if len(c) == 0 and c.tag != "bounce_profile_name"},
                    source=f"config:{fname}#bounce_profiles/bounce_profile[{name}]")
        elif tag in _KNOWN_UNUSED or tag.startswith("global_"):
            continue
        else:
            config.unknown_elements.append(f"{fname}: config/{tag} (not understood)")


def _export_listener(config: EsaConfig, fname: str) -> Listener:
    li = next((x for x in config.listeners if x.name == "export"), None)
    if li is None:
        li = Listener(name="export", type="unknown", source=f"config:{fname}#export")
        config.listeners.insert(0, li)
    return li


def parse_config_bytes(data: bytes, name: str, config: EsaConfig | None = None) -> EsaConfig:
    """Add one input (XML, HAT export or RAT export, detected by content) to `config`."""
    config = config if config is not None else EsaConfig()
    config.files.append(name)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        _read_xml(_parse_xml(data, name), name, config)
        return config
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # exports from old releases are ISO-8859-1
    if looks_like_hat(text):
        hat, notes = parse_hat_text(text, f"config:{name}#hat")
        if not hat.sender_groups and not hat.policies:
            raise InputError(f"{name}: no HAT entry, RAT entry or XML configuration found")
        li = _export_listener(config, name)
        li.hat = hat
    else:
        rat, notes = parse_rat_text(text, f"config:{name}#rat")
        if not rat:
            raise InputError(f"{name}: no HAT entry, RAT entry or XML configuration found")
        li = _export_listener(config, name)
        li.rat = rat
        li.type = "public" if li.type == "unknown" else li.type  # only public listeners have a RAT
    config.unknown_elements.extend(f"{name}: {n}" for n in notes)
    return config


def load_config(paths: Iterable[str | Path]) -> EsaConfig:
    """Read every `--config FILE` (repeatable) into one EsaConfig; user-fixable problems raise InputError."""
    config = EsaConfig()
    for p in paths:
        path = Path(p)
        try:
            size = path.stat().st_size
            if size > MAX_CONFIG_BYTES:
                raise InputError(f"{path}: {size} bytes is too large for an ESA configuration file")
            data = path.read_bytes()
        except IsADirectoryError:
            raise InputError(f"{path}: is a folder; --config takes a file") from None
        except FileNotFoundError:
            raise InputError(f"{path}: configuration file not found") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
        parse_config_bytes(data, path.name, config)
    return config
