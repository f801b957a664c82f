"""Headless Chromium for tests: console errors, network requests, DOM values, screenshot, PDF.

A thin test-side wrapper over diagnose/browser.py (DevTools protocol over --remote-debugging-pipe,
Debian's `chromium`, no download). Use the `chromium` fixture (one browser per test session):

    from browser import chromium, open_page  # noqa: F401  (fixture import)

    def test_page(chromium, tmp_path):
        report = open_page(chromium, tmp_path / "x.html", evaluate={"scripts": "document.scripts.length"})
        assert report.console_errors == [] and report.requests == [] and report.values["scripts"] == 0
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diagnose.browser import BrowserError, Chromium, PageReport, find_chromium

__all__ = ["BrowserError", "PageReport", "chromium", "open_page", "png_size", "SAFETY_PROBES"]

# DOM checks that prove nothing from the data became markup or code.
SAFETY_PROBES: dict[str, str] = {
    "scripts": "document.querySelectorAll('script').length",
    "active": "document.querySelectorAll('img,iframe,object,embed,video,audio,form,input,base,link[href]').length",
    "handlers": "Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
                ".some(a => a.name.toLowerCase().startsWith('on'))).length",
    "js_links": "Array.from(document.querySelectorAll('[href],[src],[action],[xlink\\\\:href]')).filter(e => "
                "/^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || "
                "e.getAttribute('action') || e.getAttribute('xlink:href') || '')).length",
    "external": "Array.from(document.querySelectorAll('[href],[src]')).filter(e => { const v = "
                "e.getAttribute('href') || e.getAttribute('src') || ''; return v && !v.startsWith('#'); }).length",
    "title": "document.title",
    "text": "document.body.innerText",
}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    if not find_chromium():
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    browser = Chromium(timeout=60)
    try:
        yield browser
    finally:
        browser.close()


def open_page(browser: Chromium, path: str | Path, *, evaluate: dict[str, str] | None = None,
              pdf: bool = False, width: int = 1280, media: str = "") -> PageReport:
    return browser.open(path, evaluate=evaluate, pdf=pdf, width=width, media=media)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG from its IHDR chunk; (0, 0) when it is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n":
        return (0, 0)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
