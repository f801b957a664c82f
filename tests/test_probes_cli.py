"""`esa-diagnose probe` end to end against the loopback name server, and the candidate search."""

from __future__ import annotations

import json
import time

from dnsserver import DnsServer

from diagnose.probes.candidates import Candidate, collect_candidates, sender_candidates
from diagnose.probes.resolver import Budget, Resolver


def test_probe_domain_lists_every_spf_network_and_mx_host(run_cli, dns_server):
    r = run_cli("probe", "partner.example", "--nameserver", dns_server.address)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for net in ("192.0.2.0/28", "198.51.100.0/24", "203.0.113.0/25", "2001:db8:100::/48", "192.0.2.25/32"):
        assert net in out
    assert ("partner.example: include:_spf.mailhost.example > _spf.mailhost.example: include:"
            "_netblocks.mailhost.example > _netblocks.mailhost.example: ip4:203.0.113.0/25") in out
    assert "10 mx1.partner.example" in out and "20 mx2.partner.example" in out
    assert "3/10 DNS lookups" in out
    assert "p=reject" in out and "FCrDNS ok" in out
    assert "talosintelligence.com/reputation_center/lookup?search=partner.example" in out
    assert "no public API" in out


def test_probe_ip_json(run_cli, dns_server):
    r = run_cli("probe", "198.51.100.7", "--nameserver", dns_server.address, "--format", "json",
                "--spf-domain", "partner.example")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["kind"] == "ip" and data["resolver"] == dns_server.address
    assert data["ptr"][0]["fcrdns"] is True
    zen = next(d for d in data["dnsbl"] if d["list"] == "zen.spamhaus.org")
    assert zen["listed"] is True and zen["codes"] == ["127.0.0.2", "127.0.0.4"]
    assert data["spf_check"]["result"] == "pass"
    assert data["spf_check"]["chain"][0] == "partner.example: include:_spf.mailhost.example"
    kinds = {f["kind"] for f in data["facts"]}
    assert {"probe_ptr", "probe_dnsbl", "probe_spf_check", "probe_talos"} <= kinds
    assert all(f["fields"]["status"] in ("ok", "nxdomain", "skipped") for f in data["facts"])


def test_probe_custom_dns_list(run_cli, dns_server):
    r = run_cli("probe", "192.0.2.99", "--nameserver", dns_server.address, "--dnsbl", "zen.spamhaus.org")
    assert r.returncode == 0
    assert "Spamhaus ZEN: 192.0.2.99 unknown (127.255.255.254" in r.stdout
    assert "SpamCop" not in r.stdout
    assert "Probes that failed: dnsbl 192.0.2.99 zen.spamhaus.org: error" in r.stdout


def test_probe_bad_input_exits_2(run_cli):
    r = run_cli("probe", "not a domain!", "--offline")
    assert r.returncode == 2 and r.stderr.startswith("esa-diagnose: ") and "Traceback" not in r.stderr
    r = run_cli("probe", "partner.example", "--nameserver", "127.0.0.1:99999")
    assert r.returncode == 2 and "bad port" in r.stderr


def test_probe_silent_server_finishes_within_budget_and_names_failures(run_cli):
    with DnsServer(drop_all=True) as silent:
        t0 = time.monotonic()
        r = run_cli("probe", "partner.example", "--nameserver", silent.address, "--probe-budget", "2",
                    "--probe-timeout", "0.5")
        elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert elapsed < 8  # 2 s budget plus interpreter start-up
    assert "Probes that failed:" in r.stdout
    assert "mx partner.example: timeout" in r.stdout
    assert "spf partner.example: " in r.stdout


def test_probe_cache_replays_offline(run_cli, dns_server, tmp_path):
    cache = tmp_path / "probe-cache.json"
    live = run_cli("probe", "partner.example", "--nameserver", dns_server.address, "--probe-cache", cache,
                   "--format", "json")
    assert live.returncode == 0 and cache.exists()
    replay = run_cli("probe", "partner.example", "--offline", "--probe-cache", cache, "--format", "json")
    assert replay.returncode == 0, replay.stderr
    a, b = json.loads(live.stdout), json.loads(replay.stdout)
    assert b["stats"]["queries_sent"] == 0 and b["stats"]["answers_replayed"] > 0
    assert a["spf"]["networks"] == b["spf"]["networks"] and a["mx"] == b["mx"]
    assert b["failures"] == []
    assert all(f["fields"]["cached"] for f in b["facts"] if f["kind"] != "probe_talos")


def test_offline_without_cache_says_every_probe_was_skipped(run_cli):
    r = run_cli("probe", "partner.example", "--offline", "--format", "json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["stats"]["queries_sent"] == 0
    assert "mx partner.example: skipped" in data["failures"]


def test_sender_candidates(dns_server):
    cands = sender_candidates("partner.example", nameserver=dns_server.address)
    assert all(isinstance(c, Candidate) for c in cands)
    by_net = {c.network: c for c in cands}
    inc = by_net["198.51.100.0/24"]
    assert inc.source == "spf" and inc.chain == ["partner.example: include:_spf.mailhost.example",
                                                 "_spf.mailhost.example: ip4:198.51.100.0/24"]
    assert inc.contains("198.51.100.7") and not inc.contains("198.51.101.7")
    # MX hosts already authorised by SPF's mx term are not listed twice
    assert [c.source for c in cands].count("mx") == 0
    assert "192.0.2.25/32" in by_net


def test_candidate_set_matches_most_specific_and_mx_only_domains(dns_server):
    r = Resolver(dns_server.address, timeout=0.5)
    cs = collect_candidates("user@partner.example", r, Budget(5))
    assert cs.domain == "partner.example"
    assert cs.match("192.0.2.5").network == "192.0.2.0/28"
    assert cs.match("8.8.8.8") is None
    assert {e.kind for e in cs.events} >= {"probe_spf", "probe_mx", "probe_a"}
    nomx = collect_candidates("nullmx.broken.example", r, Budget(5))
    assert nomx.candidates == []
    imp = collect_candidates("nomx.broken.example", r, Budget(5))
    assert [(c.network, c.source) for c in imp.candidates] == [("192.0.2.90/32", "mx")]


def test_candidates_offline_are_empty_and_say_why():
    cs = collect_candidates("partner.example", Resolver(None, offline=True), Budget(1))
    assert cs.candidates == [] and any("skipped" in f for f in cs.failures)
