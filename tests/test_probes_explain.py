"""Acceptance: `explain` uses the probes (sender domain -> SPF networks -> the refused connection; budgets)."""

from __future__ import annotations

import json
import time

import pytest
from dnsserver import DnsServer

LOG = """\
Mon Oct  7 13:10:00 2024 Info: New SMTP ICID 880100 interface Data 1 (10.0.0.1) address 8.8.8.8 reverse dns host dns.google verified yes
Mon Oct  7 13:10:00 2024 Info: ICID 880100 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.0
Mon Oct  7 13:10:01 2024 Info: ICID 880100 close
Mon Oct  7 13:15:01 2024 Info: New SMTP ICID 880102 interface Data 1 (10.0.0.1) address 198.51.100.7 reverse dns host out7.mailhost.example verified yes
Mon Oct  7 13:15:02 2024 Info: ICID 880102 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5
Mon Oct  7 13:15:02 2024 Info: ICID 880102 close
"""
ONLY = "\n".join(LOG.splitlines()[3:]) + "\n"  # only the connection from 198.51.100.7
WINDOW = ["--since", "2024-10-07 13:00", "--until", "2024-10-07 14:00"]


@pytest.fixture
def only_log(tmp_path):
    p = tmp_path / "mail_logs"
    p.write_text(ONLY)
    return p


def _explain(run_cli, log, *extra):
    r = run_cli("explain", "--logs", log, "--sender", "alice@partner.example", *WINDOW, "--format", "json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_rejected_connection_from_an_spf_include_network_is_a_likely_hat_rejection(run_cli, dns_server, only_log):
    data = _explain(run_cli, only_log, "--nameserver", dns_server.address)
    f = data["findings"][0]
    assert (f["outcome"], f["stage"], f["confidence"]) == ("rejected", "hat", "likely")
    assert f["icid"] == 880102 and f["sender_ip"] == "198.51.100.7"
    texts = [e["text"] for e in f["evidence"]]
    assert any("ICID 880102 REJECT SG BLACKLIST" in t for t in texts)
    spf = [e for e in f["evidence"] if e["source"].startswith("probe:spf partner.example @")]
    assert spf and ("partner.example: include:_spf.mailhost.example > _spf.mailhost.example: ip4:198.51.100.0/24"
                    in spf[0]["text"])


def test_only_connections_from_the_senders_networks_are_linked(run_cli, dns_server, tmp_path):
    p = tmp_path / "mail_logs"
    p.write_text(LOG)
    data = _explain(run_cli, p, "--nameserver", dns_server.address)
    likely = [f for f in data["findings"] if f["confidence"] == "likely"]
    assert [f["icid"] for f in likely] == [880102]
    assert all(f["icid"] != 880100 for f in data["findings"])


def test_offline_explain_makes_no_query_and_finds_no_candidate(run_cli, dns_server, only_log):
    before = len(dns_server.log)
    data = _explain(run_cli, only_log, "--offline")
    assert len(dns_server.log) == before
    assert not any(f["confidence"] == "likely" and f["icid"] == 880102 for f in data["findings"])


def test_probe_cache_makes_the_explanation_reproducible_offline(run_cli, dns_server, only_log, tmp_path):
    cache = tmp_path / "probes.json"
    live = _explain(run_cli, only_log, "--nameserver", dns_server.address, "--probe-cache", cache)
    assert cache.exists()
    replay = _explain(run_cli, only_log, "--offline", "--probe-cache", cache)
    assert replay["findings"][0]["confidence"] == "likely"
    assert replay["findings"][0]["evidence"] == live["findings"][0]["evidence"]


def test_a_silent_name_server_cannot_hang_explain(run_cli, only_log):
    with DnsServer(drop_all=True) as silent:
        t0 = time.monotonic()
        r = run_cli("explain", "--logs", only_log, "--sender", "alice@partner.example", *WINDOW,
                    "--nameserver", silent.address, "--probe-budget", "2", "--probe-timeout", "0.5")
        elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert elapsed < 10  # a 2 s probe budget, plus start-up and the engine
    assert "DNS probes that failed" in r.stdout
    assert "spf partner.example: timeout" in r.stdout


SV_AND_DNS_BOUNCE = """\
Mon Oct  7 13:20:00 2024 Info: New SMTP ICID 1424 interface Data 1 (10.0.0.1) address 192.0.2.25 reverse dns host mx1.partner.example verified yes
Mon Oct  7 13:20:00 2024 Info: ICID 1424 ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS 3.5
Mon Oct  7 13:20:01 2024 Info: ICID 1424 Address: <bob@ghost.broken.example> sender rejected, envelope sender domain does not exist
Mon Oct  7 13:20:01 2024 Info: ICID 1424 close
Mon Oct  7 13:30:00 2024 Info: New SMTP ICID 2000 interface Data 1 (10.0.0.1) address 10.1.1.5 reverse dns host unknown verified no
Mon Oct  7 13:30:00 2024 Info: ICID 2000 RELAY SG RELAYLIST match 10.1.1.5 SBRS not enabled
Mon Oct  7 13:30:01 2024 Info: Start MID 19 ICID 2000
Mon Oct  7 13:30:01 2024 Info: MID 19 ICID 2000 From: <a@internal.example>
Mon Oct  7 13:30:01 2024 Info: MID 19 ICID 2000 RID 0 To: <lyra@partner.example>
Mon Oct  7 13:30:02 2024 Info: MID 19 ready 1000 bytes from <a@internal.example>
Mon Oct  7 13:30:03 2024 Info: Bounced: DCID 0 MID 19 to RID 0 - 5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up partner.example (MX):  NXDomain'])
Mon Oct  7 13:30:03 2024 Info: Message finished MID 19 done
"""


@pytest.fixture
def sv_log(tmp_path):
    p = tmp_path / "mail_logs"
    p.write_text(SV_AND_DNS_BOUNCE)
    return p


def test_sender_verification_rejection_cites_the_nxdomain_probe(run_cli, dns_server, sv_log):
    r = run_cli("explain", "--logs", sv_log, "--ip", "192.0.2.25", "--nameserver", dns_server.address,
                "--format", "json")
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["findings"]
    assert (f["outcome"], f["stage"], f["confidence"]) == ("rejected", "sender_verification", "certain")
    probe = next(e for e in f["evidence"] if e["source"].startswith("probe:domain ghost.broken.example @"))
    assert "NXDOMAIN" in probe["text"]
    assert any(w.startswith("SV-PROBE-SENDER-DOMAIN") and "nxdomain" in w for w in f["why"])


def test_dns_bounce_that_resolves_now_shows_the_disagreement_and_the_log_wins(run_cli, dns_server, sv_log):
    r = run_cli("explain", "--logs", sv_log, "--mid", "19", "--nameserver", dns_server.address, "--format", "json")
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["findings"]
    assert (f["outcome"], f["stage"], f["cause"]) == ("bounced", "delivery", "destination_dns_error")
    assert any(e["source"].startswith("probe:mx partner.example @") for e in f["evidence"])
    assert any("it resolves now" in c and "verdict stands" in c for c in f["context"])
    assert any(w.startswith("DLV-PROBE-RECIPIENT-DNS") and "mx1.partner.example" in w for w in f["why"])


def test_a_connection_from_an_mx_host_only_is_a_possible_link(run_cli, dns_server, tmp_path):
    # nomx.broken.example has no SPF; its implicit MX (its own A, 192.0.2.90) is the only candidate
    p = tmp_path / "mail_logs"
    p.write_text(ONLY.replace("198.51.100.7", "192.0.2.90"))
    r = run_cli("explain", "--logs", p, "--sender", "bob@nomx.broken.example", *WINDOW, "--format", "json",
                "--nameserver", dns_server.address)
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["findings"]
    assert (f["outcome"], f["stage"], f["confidence"]) == ("rejected", "hat", "possible")
    assert any(e["source"].startswith("probe:mx nomx.broken.example") for e in f["evidence"])
