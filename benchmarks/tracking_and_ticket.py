"""Figures for Message Tracking input and the ticket report (median of several runs).

    python benchmarks/tracking_and_ticket.py [--rows 100000] [--runs 3]

Prints: CSV export rows/s, REST API search records/s, details records/s (with 30 narratives each),
and the time to render a ticket with a 5-node and a 60-node causal graph.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnose.collectors.tracking import read_tracking  # noqa: E402
from diagnose.reports import ticket_html  # noqa: E402

STATES = ("Delivered", "Dropped by antivirus", "Quarantined by Anti-Spam/Graymail", "Hard bounced",
          "Queued for delivery", "Dropped by content filter")
NARRATIVE = [
    "Incoming connection (ICID {icid}) has sender_group: ACCEPTLIST, sender_ip: 192.0.2.{o} and sbrs: 3.5",
    "Protocol SMTP interface Data 1  (IP 10.0.0.5) on incoming connection (ICID {icid}) from sender IP 192.0.2.{o}. "
    "Reverse DNS  host h{o}.example verified yes.",
    "(ICID {icid}) ACCEPT sender group ACCEPTLIST match sbrs[0.0:10.0] SBRS 3.5 country Netherlands",
    "Start message {mid} on incoming connection (ICID {icid}).",
    "Message {mid} enqueued on incoming connection (ICID {icid}) from s{mid}@partner.example.",
    "Message {mid} on incoming connection (ICID {icid}) added recipient (r{mid}@corp.example).",
    "Message {mid} SPF: mailfrom identity s{mid}@partner.example Pass",
    "Message {mid} DKIM: pass signature verified (d=partner.example s=s1 i=@partner.example)",
    "Message {mid}: DMARC Message from domain partner.example, DMARC pass (SPF aligned True, DKIM aligned True),",
    "Message {mid} contains message ID header '<{mid}@partner.example>'.",
    "Message {mid} original subject on injection: Report {mid}",
    "Message {mid} (4096 bytes) from s{mid}@partner.example ready.",
    "Message {mid} matched per-recipient policy DEFAULT for inbound mail policies.",
    "Message {mid} scanned by Anti-Spam engine: CASE. Interim verdict: Negative",
    "Message {mid} scanned by Anti-Spam engine: CASE. Final verdict: Negative",
    "Message {mid} scanned by Anti-Virus engine Sophos. Interim verdict: CLEAN",
    "Message {mid} scanned by Anti-Virus engine. Final verdict: Negative ",
    "Message {mid} scanned by Advanced Malware Protection engine. Final verdict: SKIPPED(no attachment in message)",
    "Message {mid} scanned by Outbreak Filters. Verdict: Negative",
    "Message {mid} queued for delivery.",
    "SMTP delivery connection (DCID {dcid}) opened from Cisco IronPort interface 10.0.0.5 to IP address 198.51.100.1 "
    "on port 25.",
    "(DCID {dcid}) Delivery started for message {mid} to r{mid}@corp.example.",
    "(DCID {dcid}) Delivery details: Message {mid} sent to r{mid}@corp.example [('from', 's@partner.example')]",
    "Message {mid} to r{mid}@corp.example received remote SMTP response '2.0.0 Ok: queued as {mid}'.",
] + ["Message {mid} something the tracking database says that we do not map yet, number " + str(i) for i in range(6)]


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-tracking-"))

    csv_path = tmp / "export.csv"
    with csv_path.open("w") as fh:
        fh.write("Time,Sender,Recipient,Subject,Last State,MID,ICID,Sender IP,SBRS,Extra\n")
        for i in range(args.rows):
            fh.write(f'"07 Sep 2022 08:{i // 60 % 60:02d}:{i % 60:02d} (GMT)",s{i}@p.example,r{i}@corp.example,'
                     f'"Subject, {i}",{STATES[i % len(STATES)]},{i + 1},{i + 7},192.0.2.{i % 250},1.5,x\n')
    n_search = args.rows // 10
    search = tmp / "search.json"
    search.write_text(json.dumps({"meta": {"totalCount": n_search}, "data": [{"attributes": {
        "hostName": "esa1.example", "serialNumber": "SN1", "mid": [i], "icid": i + 7, "dcid": [i + 9],
        "sender": f"s{i}@p.example", "recipient": [f"r{i}@corp.example"], "recipientMap": {str(i): [f"r{i}@corp.example"]},
        "messageStatus": {str(i): STATES[i % len(STATES)]}, "senderIp": "192.0.2.1", "sbrs": "2.7",
        "senderGroup": "ACCEPTLIST", "mailPolicy": ["DEFAULT"], "subject": f"s {i}", "direction": "incoming",
        "timestamp": "07 Sep 2022 08:10:33 (GMT)", "messageID": {str(i): f"<{i}@p.example>"}}} for i in range(1, n_search + 1)]}))
    n_details = args.rows // 100
    details = tmp / "details.json"
    details.write_text(json.dumps([{"data": {"messages": {
        "mid": [i], "sender": f"s{i}@partner.example", "recipient": [f"r{i}@corp.example"], "messageStatus": "Delivered",
        "hostName": "esa1.example (10.0.0.5)", "timestamp": "07 Sep 2022 08:10:33 (GMT)",
        "summary": [{"timestamp": "07 Sep 2022 08:10:33 (GMT)", "lastEvent": False,
                     "description": t.format(mid=i, icid=i + 7, dcid=i + 9, o=i % 250)} for t in NARRATIVE]}}}
        for i in range(1, n_details + 1)]))

    for name, path, n in (("CSV export rows", csv_path, args.rows), ("REST search records", search, n_search),
                          (f"REST details records ({len(NARRATIVE)} narratives each)", details, n_details)):
        t = median_time(lambda p=path: read_tracking(p), args.runs)
        print(f"{name}: {n} in {t:.2f} s median of {args.runs} = {n / t:,.0f}/s")

    def graph(n_e: int, n_r: int, n_f: int, n_x: int) -> dict:
        nodes = [{"id": f"e{i}", "kind": "evidence", "label": f"MID {i} using engine: CASE spam positive " * 2,
                  "source": f"mail_logs:{i}", "case": 0} for i in range(n_e)]
        nodes += [{"id": f"r{i}", "kind": "rule", "label": f"AS-RULE-{i}", "case": 0} for i in range(n_r)]
        nodes += [{"id": f"f{i}", "kind": "fact", "type": "stop", "label": f"stop: stage=antispam {i}", "case": 0}
                  for i in range(n_f)]
        nodes += [{"id": f"x{i}", "kind": "recommendation", "label": f"Recommendation {i}", "risk": 2, "case": 0}
                  for i in range(n_x)]
        links = [{"source": f"e{i}", "target": f"r{i % n_r}"} for i in range(n_e)]
        links += [{"source": f"r{i % n_r}", "target": f"f{i}"} for i in range(n_f)]
        links += [{"source": f"f{i % n_f}", "target": f"x{i}"} for i in range(n_x)]
        return {"nodes": nodes, "links": links}

    finding = {"outcome": "dropped", "stage": "antispam", "cause": "spam_positive", "reason": "spamdetected",
               "confidence": "certain", "summary": "MID 1 was dropped.", "mid": 1,
               "evidence": [{"source": f"mail_logs:{i}", "text": "MID 1 using engine: CASE spam positive"} for i in range(20)],
               "recommendations": [{"kind": "safelist", "title": "Safelist", "gui_path": "x", "cli": "y", "removes": "z",
                                    "risk": 1}],
               "path": [{"stage": "antispam", "status": "stopped"}], "why": ["AS-DROP"], "gaps": []}
    for label, g in (("5-node", graph(1, 1, 2, 1)), ("60-node", graph(20, 10, 15, 15))):
        answer = {"query": {"mid": 1}, "findings": [finding], "graph": g}
        t = median_time(lambda a=answer: ticket_html(a), max(5, args.runs))
        print(f"ticket with a {label} graph: {t * 1000:.1f} ms median of {max(5, args.runs)}")


if __name__ == "__main__":
    main()
