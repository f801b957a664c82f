"""The SPF/MX network search over real log lines: only wanted ICIDs, the window, ICID reuse."""

from __future__ import annotations

from datetime import datetime

from diagnose.probes.candidates import Candidate, CandidateSet
from diagnose.probes.explainhook import connections_in_networks

LOG = """\
Mon Oct  7 12:00:00 2024 Info: New SMTP ICID 5 interface Data 1 (10.0.0.1) address 198.51.100.9 reverse dns host unknown verified no
Mon Oct  7 12:00:00 2024 Info: ICID 5 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5
Mon Oct  7 12:00:01 2024 Info: ICID 5 close
Mon Oct  7 13:15:00 2024 Info: New SMTP ICID 7 interface Data 1 (10.0.0.1) address 8.8.8.8 reverse dns host dns.google verified yes
Mon Oct  7 13:15:01 2024 Info: New SMTP ICID 8 interface Data 1 (10.0.0.1) address 198.51.100.7 reverse dns host out7.mailhost.example verified yes
Mon Oct  7 13:15:01 2024 Info: ICID 7 ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS 3.5
Mon Oct  7 13:15:02 2024 Info: ICID 8 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5
Mon Oct  7 13:15:02 2024 Info: ICID 8 close
Mon Oct  7 13:15:03 2024 Info: ICID 7 close
Mon Oct  7 13:16:00 2024 Info: New SMTP ICID 7 interface Data 1 (10.0.0.1) address 198.51.100.8 reverse dns host unknown verified no
Mon Oct  7 13:16:00 2024 Info: ICID 7 TCPREFUSE SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.9
Mon Oct  7 13:16:00 2024 Info: ICID 7 close
"""


def test_only_connections_from_candidate_networks_in_the_window(tmp_path):
    p = tmp_path / "mail_logs"
    p.write_text(LOG)
    cset = CandidateSet("partner.example", [Candidate("198.51.100.0/24", ["partner.example: ip4:198.51.100.0/24"],
                                                      "spf")])
    found = connections_in_networks([p], cset, datetime(2024, 10, 7, 13, 0), datetime(2024, 10, 7, 14, 0), None)
    by_icid = {c.icid: c for c in found}
    assert sorted(by_icid) == [7, 8]  # ICID 5 is before the window; the first ICID 7 is 8.8.8.8
    assert by_icid[7].ip == "198.51.100.8" and [e.kind for e in by_icid[7].events][:2] == ["icid_new", "hat_decision"]
    assert by_icid[7].events[1].get("action") == "TCPREFUSE"  # the reused ICID carries only its own lines
    assert [e.kind for e in by_icid[8].events] == ["icid_new", "hat_decision", "icid_close"]
    assert connections_in_networks([p], cset, None, None, None)[0].icid == 5
