"""Talos reputation: a link, not a lookup. Cisco Talos publishes no public API for SenderBase/SBRS
scores, so the tool never scrapes it; it gives the page an administrator opens by hand."""

from __future__ import annotations

import urllib.parse
from typing import Any

from diagnose.model import Event
from diagnose.probes.facts import make_event

LOOKUP_URL = "https://talosintelligence.com/reputation_center/lookup?search={}"
NOTE = ("Talos has no public API for reputation scores: open the link to see the IP or domain reputation "
        "(SBRS) and, for a domain, its mail servers; this tool does not query it.")


def talos_link(target: str) -> dict[str, Any]:
    url = LOOKUP_URL.format(urllib.parse.quote(target.strip(), safe=""))
    return {"target": target, "url": url, "note": NOTE}


def talos_event(target: str) -> Event:
    link = talos_link(target)
    event = make_event("talos", target, None,
                       f"Talos reputation for {target}: {link['url']} (no public API; open by hand)",
                       resolver="none", status="skipped", url=link["url"], note=NOTE)
    event.ts = None  # no query was made: no probe time (and a replayed explanation stays identical)
    return event
