from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"
# No DNS query leaves the test run unless a test names its --nameserver (the loopback server).
os.environ.setdefault("ESA_DIAGNOSE_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ../shared folder (reference corpus); tests needing it skip without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def _run_cli(*args: str, input: str | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "diagnose", *map(str, args)],
        capture_output=True, text=True, input=input, cwd=cwd, timeout=300,
    )


@pytest.fixture
def run_cli():
    """Run `esa-diagnose ARGS` in a subprocess; returns CompletedProcess (returncode, stdout, stderr)."""
    return _run_cli


@pytest.fixture(scope="session")
def dns_server():
    """A real authoritative DNS server on 127.0.0.1 (a free port) serving tests/data/zones (see tests/dnsserver.py)."""
    from dnsserver import DnsServer

    with DnsServer() as server:
        yield server
