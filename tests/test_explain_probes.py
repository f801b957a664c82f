"""explain with DNS probes against a real name server on loopback (tests/dnsserver.py zones)."""

from __future__ import annotations

import json

LOG = """\
Mon Oct  7 13:14:58 2024 Info: Begin Logfile
Mon Oct  7 13:14:58 2024 Info: Version: 15.0.1-030 SN: 4229B6A1D7C3-TEST
Mon Oct  7 13:15:01 2024 Info: New SMTP ICID 880102 interface Data 1 (10.0.0.25) address 198.51.100.7 reverse dns host out7.mailhost.example verified yes
Mon Oct  7 13:15:02 2024 Info: ICID 880102 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -4.2
Mon Oct  7 13:15:02 2024 Info: ICID 880102 close
Mon Oct  7 13:15:09 2024 Info: New SMTP ICID 880103 interface Data 1 (10.0.0.25) address 203.0.113.200 reverse dns host other.example verified no
Mon Oct  7 13:15:09 2024 Info: ICID 880103 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -6.0
Mon Oct  7 13:15:09 2024 Info: ICID 880103 close
"""


def test_sender_not_in_logs_spf_network_gives_a_likely_candidate(run_cli, dns_server, tmp_path):
    log = tmp_path / "mail_logs"
    log.write_text(LOG)
    r = run_cli("explain", "--logs", str(log), "--sender", "ceo@partner.example", "--since", "2024-10-07 13:00",
                "--until", "2024-10-07 14:00", "--nameserver", dns_server.address, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (f,) = doc["findings"]  # 203.0.113.200 is outside partner.example's SPF (.0/25 only): not a candidate
    assert (f["outcome"], f["stage"], f["confidence"]) == ("rejected", "hat", "likely")
    assert f["sender_ip"] == "198.51.100.7"
    sources = [e["source"] for e in f["evidence"]]
    assert any(s.startswith("probe:spf partner.example") for s in sources), sources
    assert any("SBRS -4.2" in e["text"] for e in f["evidence"])
    assert "SPF" in f["why"][0] and "198.51.100.7" in f["why"][0]


def test_offline_says_the_networks_were_not_searched(run_cli, tmp_path):
    log = tmp_path / "mail_logs"
    log.write_text(LOG)
    r = run_cli("explain", "--logs", str(log), "--sender", "ceo@partner.example", "--offline", "--format", "json")
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["findings"]
    assert (f["outcome"], f["stage"]) == ("unknown", "unknown")
    assert any("--offline" in g for g in f["gaps"])
