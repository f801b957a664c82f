"""Untrusted SPF trees served over the wire: the evaluator and the flattener never crash and stay bounded."""

from __future__ import annotations

import ipaddress

import dns.zone
import pytest
from dnsserver import DnsServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.probes import spf
from diagnose.probes.resolver import Budget, Resolver

NAMES = [f"n{i}.fuzz.example" for i in range(6)]
RESULTS = {"pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"}

term = st.one_of(
    st.sampled_from(["all", "-all", "~all", "?all", "mx", "a", "ptr", "a/24", "mx//64", "+a:n0.fuzz.example",
                     "exists:%{i}.n1.fuzz.example", "foo=bar", "exp=n2.fuzz.example", "ip4:192.0.2.300",
                     "include", "a:%{q}", "v=spf1"]),
    st.builds(lambda q, n: f"{q}include:{n}", st.sampled_from(["", "-", "~", "?"]), st.sampled_from(NAMES)),
    st.builds(lambda n: f"redirect={n}", st.sampled_from(NAMES + ["missing.fuzz.example"])),
    st.builds(lambda n, p: f"ip4:198.51.100.{n}/{p}", st.integers(0, 255), st.integers(0, 33)),
    st.builds(lambda p: f"ip6:2001:db8::/{p}", st.integers(0, 129)),
    st.text(alphabet="abc:/=%{}.-+~?0123456789", min_size=1, max_size=12),
)
record = st.lists(term, max_size=8).map(lambda ts: " ".join(["v=spf1", *ts]))


def zone_text(records: list[str]) -> str:
    lines = ["$TTL 60", "@ 60 IN SOA ns.test. h.test. 1 60 60 60 60", "@ 60 IN NS ns.test.",
             "n0 IN A 198.51.100.7", "n0 IN MX 10 n0.fuzz.example."]
    for name, rec in zip(NAMES, records, strict=False):
        label = name.split(".")[0]
        quoted = rec.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{label} IN TXT "{quoted}"')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def fuzz_server():
    with DnsServer(zones=[]) as server:
        yield server


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(record, min_size=1, max_size=len(NAMES)), st.sampled_from(["198.51.100.7", "2001:db8::1", "10.0.0.1"]))
def test_any_tree_evaluates_and_flattens_within_bounds(fuzz_server, records, ip):
    fuzz_server.zones = [dns.zone.from_text(zone_text(records), origin="fuzz.example", relativize=False)]
    r = Resolver(fuzz_server.address, timeout=0.5)
    check = spf.check_host(ip, "n0.fuzz.example", r, budget=Budget(5))
    assert check.result in RESULTS
    assert check.lookups <= spf.LOOKUP_LIMIT + 1
    flat = spf.flatten("n0.fuzz.example", r, budget=Budget(5))
    assert flat.status in {"ok", "none", "permerror", "temperror"}
    assert flat.lookups <= spf.FLATTEN_HARD_CAP + 1
    for n in flat.networks:
        ipaddress.ip_network(n.network)
    if flat.status == "ok" and check.result == "pass" and not flat.unflattenable and check.chain \
            and not check.chain[-1].endswith("all"):
        assert spf.find_network(flat, ip) is not None  # what passes is among the flattened networks
