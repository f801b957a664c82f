"""Write diagnose/sample/mail_logs: the built-in demo (`esa-diagnose demo`), one appliance, one day.

The stories reuse the line groups of make_scenarios.py (real AsyncOS grammar from
../shared/reference/esa-log-formats.md) and are interleaved by time the way an appliance writes
them. diagnose/sample/README.md lists the questions worth asking the sample.
Run: python make_demo_sample.py
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from make_scenarios import SERIAL, VERSION, Log

OUT = Path(__file__).resolve().parents[3] / "diagnose" / "sample" / "mail_logs"
DAY = "2026-11-23"
stories: list[Log] = []


def story(start: str) -> Log:
    log = Log(f"{DAY} {start}")
    log.lines = []  # the header is written once for the whole file
    stories.append(log)
    return log


def normal(start: str, icid: int, mid: int, dcid: int, ip: str, rdns: str, sender: str, rcpt: str, subject: str,
           sbrs: str = "4.2", resp_id: str = "4Q1x2Hn0Kz") -> None:
    s = story(start)
    s.connect(icid, ip, rdns, "yes", sbrs=sbrs)
    s.envelope(mid, icid, sender, [rcpt], subject, 14000 + mid % 9000)
    s.auth_pass(mid, sender)
    s.policy(mid)
    s(f"ICID {icid} close")
    s.clean(mid)
    s.deliver(mid, dcid, [0], response=f"'2.0.0 Ok: queued as {resp_id}'")


# ---------------------------------------------------------------- appliance health
h = story("07:58:01")
h("Your \"IronPort Anti-Spam\" key will expire in under 60 day(s). Please contact your authorized Cisco sales "
  "representative.", 0, "Warning")

# ---------------------------------------------------------------- ordinary traffic through the day
normal("08:01:10", 1001, 501, 801, "198.51.100.10", "mx1.supplier.example", "invoices@supplier.example",
       "ap@example.com", "Invoice 2026-0412", resp_id="4Q1aa01")
normal("09:12:40", 1010, 512, 812, "209.85.220.41", "mail-sor-f41.google.example", "jo.partner@gmail.example",
       "alice@example.com", "Lunch next week?", "5.1", "4Q1bb02")
normal("10:33:05", 1022, 525, 825, "40.107.22.110", "mail-eopbgr220110.outbound.protection.example", "sales@bigcorp.example",
       "bob@example.com", "Offer 88-1", "4.9", "4Q1cc03")
normal("12:05:55", 1034, 538, 838, "198.51.100.10", "mx1.supplier.example", "invoices@supplier.example",
       "ap@example.com", "Invoice 2026-0413", resp_id="4Q1dd04")
normal("14:44:20", 1046, 551, 851, "40.107.22.111", "mail-eopbgr220111.outbound.protection.example", "hr@bigcorp.example",
       "carol@example.com", "Interview slots", "4.9", "4Q1ee05")
normal("16:20:00", 1058, 566, 866, "209.85.220.42", "mail-sor-f42.google.example", "jo.partner@gmail.example",
       "alice@example.com", "Re: Lunch next week?", "5.1", "4Q1ff06")

# 1. "My supplier says they sent it" - connection refused for SBRS (nothing else is logged)
s = story("08:02:30")
for i, icid in enumerate((1002, 1003, 1007)):
    s.wait(0 if i == 0 else 1740)
    s.connect(icid, "176.227.203.114", "mail.acme-supplies.example", "yes", "REJECT", "BLACKLIST", "sbrs[-10.0:-3.0]",
              "-4.3", "United Kingdom")
    s(f"ICID {icid} close")

# 2. spam dropped
s = story("08:20:11")
s.connect(1004, "74.218.204.180", "mta180.mailer.example", "yes", sbrs="0.2")
s.envelope(503, 1004, "promo@mailer.example", ["dave@example.com"], "You have won", 19443)
s.policy(503)
s("ICID 1004 close")
s("MID 503 interim verdict using engine: CASE spam positive", 1)
s("MID 503 using engine: CASE spam positive")
s("Message aborted MID 503 Dropped by CASE")
s("Message finished MID 503 done")

# 3. newsletter quarantined as suspected spam, released by the user later (reinjected as a new MID, delivered)
s = story("08:40:02")
s.connect(1005, "198.51.100.180", "smtp.webinar.example", "yes", sbrs="1.2")
s.envelope(505, 1005, "events@webinar.example", ["erin@example.com"], "Webinar invitation: Q1 planning", 30110)
s.policy(505)
s("ICID 1005 close")
s("MID 505 interim verdict using engine: CASE spam suspect", 1)
s("MID 505 using engine: CASE spam suspect")
s("ISQ: Tagging MID 505 for quarantine")
s.clean(505, spam=False)
s("MID 505 queued for delivery")
s("RPC Delivery start RCID 11 MID 505 to local IronPort Spam Quarantine")
s("ISQ: Quarantined MID 505", 1)
s("RPC Message done RCID 11 MID 505")
s("Message finished MID 505 done")
s("ISQ: Reinjected MID 505 as MID 529", 6300)
s("Start MID 529 ICID 0")
s("MID 529 ICID 0 From: <events@webinar.example>")
s("MID 529 ICID 0 RID 0 To: <erin@example.com>")
s("MID 529 ready 30110 bytes from <events@webinar.example>")
s.deliver(529, 829, [0], response="'2.0.0 Ok: queued as 4Q1gg07'")

# 4. throttled bulk sender: Receiving Control refuses the recipients over the hourly limit
s = story("09:00:05")
s.connect(1008, "198.51.100.77", "out.bulkmailer.example", "yes", "ACCEPT", "SUSPECTLIST", "sbrs[-3.0:-1.0]", "-1.8")
s("Start MID 508 ICID 1008", 1)
s("MID 508 ICID 1008 From: <news@bulkmailer.example>")
s("MID 508 ICID 1008 RID 0 To: <frank@example.com>")
s("MID 508 ICID 1008 To: <gina@example.com> Rejected by Receiving Control")
s("MID 508 ICID 1008 To: <hank@example.com> Rejected by Receiving Control")
s("MID 508 Message-ID '<20261123090005.508@bulkmailer.example>'", 1)
s("MID 508 Subject 'November offers'")
s("MID 508 ready 24410 bytes from <news@bulkmailer.example>")
s.policy(508)
s("ICID 1008 close")
s.clean(508)
s.deliver(508, 808, [0], response="'2.0.0 Ok: queued as 4Q1hh08'")

# 5. new domain not yet in the RAT
s = story("09:30:40")
s.connect(1011, "198.51.100.11", "mx2.supplier.example", "yes", sbrs="3.9")
s("Start MID 513 ICID 1011", 1)
s("MID 513 ICID 1011 From: <invoices@supplier.example>")
s("MID 513 ICID 1011 To: <ap@newbrand-example.com> Rejected by RAT")
s("ICID 1011 close", 1)

# 6. envelope sender domain does not exist
s = story("09:45:12")
s.connect(1013, "198.51.100.33", "mail.shop-online.example", "yes", sbrs="0.4")
s("ICID 1013 Address: <orders@shop-onl1ne.example> sender rejected, envelope sender domain does not exist", 1)
s("ICID 1013 lost")
s("ICID 1013 close")

# 7. content filter quarantine, released by an administrator, then delivered (final state: delivered)
s = story("10:00:20")
s.connect(1015, "198.51.100.250", "mail.contractor.example", "yes", sbrs="3.6")
s.envelope(517, 1015, "yan@contractor.example", ["ivan@example.com"], "Bank details changed", 12884)
s.policy(517)
s("ICID 1015 close")
s.clean(517, outbreak=False)
s("MID 517 quarantined to \"Policy\" (content filter:bank_details_change)", 1)
s("MID 517 released from quarantine \"Policy\" (manual) t=5400", 5400)
s("MID 517 Outbreak Filters: verdict negative")
s.deliver(517, 817, [0], response="'2.0.0 Ok: queued as 4Q1ii09'")

# 8. virus dropped
s = story("10:20:33")
s.connect(1019, "203.0.113.91", "infected-pc.isp.example", "no", sbrs="-0.9")
s.envelope(521, 1019, "accounts@shipping.example", ["judy@example.com"], "Invoice overdue", 301884)
s.policy(521)
s("ICID 1019 close")
s.clean(521, av=False, amp=False, gray=False, outbreak=False)
s("MID 521 interim AV verdict using Sophos VIRAL", 1)
s("MID 521 antivirus positive 'CXmail/Phish-O'")
s("Message aborted MID 521 Dropped by antivirus")
s("Message finished MID 521 done")

# 9. attachment held for File Analysis
s = story("10:40:50")
s.connect(1021, "198.51.100.240", "mail.toolmaker.example", "yes", sbrs="1.0")
s.envelope(523, 1021, "will@toolmaker.example", ["kate@example.com"], "Installer", 3301884)
s.policy(523)
s("ICID 1021 close")
s.clean(523, amp=False, gray=False, outbreak=False)
s("MID 523 AMP file reputation verdict : UNSCANNABLE", 1)
s("MID 523 quarantined to \"File Analysis\" (AMP file analysis pending)")

# 10. outbreak quarantine
s = story("11:00:15")
s.connect(1024, "203.0.113.180", "mail.freightco.example", "yes", sbrs="0.6")
s.envelope(527, 1024, "dispatch@freightco.example", ["leo@example.com"], "Shipment documents", 301120)
s.policy(527)
s("ICID 1024 close")
s.clean(527, outbreak=False)
s("MID 527 Virus Threat Level=4", 1)
s("MID 527 Outbreak Filters: verdict positive")
s("MID 527 quarantined to \"Outbreak\" (VOF rule:OUTBREAK_0002231)")

# 11. outgoing: a 421 deferral, delivered on retry; and a hard bounce (unknown user)
s = story("11:20:00")
s.connect(1026, "10.1.5.20", "exch01.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
s.envelope(530, 1026, "mia@example.com", ["orders@buttercupgames.example"], "PO 7781", 8120)
s.policy(530, "DEFAULT", "outbound")
s.envelope(531, 1026, "mia@example.com", ["j.doe@gmail.example"], "Meeting notes", 6120)
s.policy(531, "DEFAULT", "outbound")
s("ICID 1026 close")
s.clean(530, spam=False)
s.clean(531, spam=False)
s("MID 530 queued for delivery", 1)
s("MID 531 queued for delivery")
s("New SMTP DCID 830 interface 192.0.2.25 address 203.0.113.60 port 25", 1)
s("Delivery start DCID 830 MID 530 to RID [0]")
s("Delayed: DCID 830 MID 530 From: <mia@example.com> To: <orders@buttercupgames.example> RID 0 - 4.3.2 - Not "
  "accepting messages at this time ('421', ['4.3.2 try again later'])", 2)
s("Message 530 to RID [0] pending till Mon Nov 23 11:22:05 2026 [Default]")
s("DCID 830 close")
s("New SMTP DCID 831 interface 192.0.2.25 address 203.0.113.40 port 25", 1)
s("Delivery start DCID 831 MID 531 to RID [0]")
s("Bounced: DCID 831 MID 531 From: <mia@example.com> To: <j.doe@gmail.example> RID 0 - 5.1.0 - Unknown address "
  "error ('550', ['5.1.1 The email account that you tried to reach does not exist. Please try', \"5.1.1 "
  "double-checking the recipient's email address for typos or\", '5.1.1 unnecessary spaces. Learn more at', "
  "'5.1.1  xxxxx ay44si12078156oib.94 - gsmtp'])", 1)
s("DCID 831 close")
s("MID 532 generated for bounce of MID 531")
s("Message finished MID 531 done")
s("New SMTP DCID 833 interface 192.0.2.25 address 203.0.113.60 port 25", 120)
s.deliver(530, 833, [0], ip="203.0.113.60", queued=False, new_dcid=False,
          response="'2.6.0 <PO7781@example.com> [InternalId=79003599] Queued mail for delivery'")

# 12. outgoing to a law firm that requires TLS: negotiation fails, still queued
s = story("12:00:30")
s.connect(1035, "10.1.5.20", "exch01.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
s.envelope(540, 1035, "legal@example.com", ["counsel@securelaw.example"], "Privileged and confidential", 72884)
s.policy(540, "DEFAULT", "outbound")
s("ICID 1035 close")
s.clean(540, spam=False, amp=False, gray=False)
s("MID 540 queued for delivery", 1)
s("New SMTP DCID 840 interface 192.0.2.25 address 203.0.113.30 port 25", 1)
s("Delivery start DCID 840 MID 540 to RID [0]")
s("DCID 840 TLS failed: STARTTLS unexpected response")
s("DCID 840 IP 203.0.113.30 TLS was required but could not be successfully negotiated")
s("DCID 840 close")
s("Message 540 to RID [0] pending till Mon Nov 23 12:02:33 2026 [Default]")

# 13. DMARC reject of a spoofed bank message (fail lines inferred from the pass grammar)
s = story("12:30:10")
s.connect(1037, "203.0.113.55", "mail.lookalike-bank.example", "yes", sbrs="0.1", country="Panama")
s("Start MID 542 ICID 1037", 1)
s("MID 542 ICID 1037 From: <security@bank.example>")
s("MID 542 ICID 1037 RID 0 To: <nina@example.com>")
s("MID 542 Message-ID '<542.alert@lookalike-bank.example>'", 1)
s("MID 542 Subject 'Verify your account'")
s("MID 542 ready 9120 bytes from <security@bank.example>")
s("MID 542 SPF: mailfrom identity security@bank.example Fail (v=spf1)")
s("MID 542 DMARC: Message from domain bank.example, DMARC fail (SPF aligned False, DKIM aligned False)")
s("MID 542 DMARC: Verification failed: Message from domain bank.example rejected (policy reject)")
s("ICID 1037 close", 1)

# 14. LDAP accept in the work queue bounces a departed employee
s = story("13:00:45")
s.connect(1040, "198.51.100.13", "mx4.supplier.example", "yes", sbrs="3.9")
s.envelope(545, 1040, "hr@supplier.example", ["oscar@example.com", "mo.left@example.com"], "Contract renewal", 55120)
s.policy(545)
s("ICID 1040 close")
s("LDAP: Accepted query CorpLDAP.ldapaccept MID 545 RID 0 address oscar@example.com", 1)
s("LDAP: Bounce query CorpLDAP.ldapaccept MID 545 RID 1 address mo.left@example.com")
s.clean(545)
s.deliver(545, 845, [0], response="'2.0.0 Ok: queued as 4Q1jj10'")

# 15. newsletter delivered with a graymail tag
s = story("13:30:05")
s.connect(1042, "198.51.100.190", "mail.social.example", "yes", sbrs="3.0")
s.envelope(547, 1042, "notify@social.example", ["paula@example.com"], "You have 3 new connections", 22100)
s.policy(547)
s("ICID 1042 close")
s.clean(547, gray=False, outbreak=False)
s("MID 547 using engine: GRAYMAIL social_mail")
s("MID 547 Outbreak Filters: verdict negative")
s.deliver(547, 847, [0], response="'2.0.0 Ok: queued as 4Q1kk11'")

# 16. "It never arrived" - but the mailbox server accepted it
s = story("14:00:00")
s.connect(1044, "40.107.22.112", "mail-eopbgr220112.outbound.protection.example", "yes", sbrs="4.9")
s.envelope(549, 1044, "ceo@bigcorp.example", ["quinn@example.com"], "Board pack", 2201884)
s.auth_pass(549, "ceo@bigcorp.example")
s.policy(549)
s("ICID 1044 close")
s.clean(549)
s.deliver(549, 849, [0], ip="10.20.1.25",
          response="'2.6.0 <BoardPack-549@bigcorp.example> [InternalId=120733] Queued mail for delivery'")

# 17. message too big
s = story("14:30:22")
s.connect(1048, "198.51.100.44", "mx.designstudio.example", "yes", sbrs="4.1")
s("Start MID 553 ICID 1048", 1)
s("MID 553 ICID 1048 From: <eve@designstudio.example>")
s("MID 553 ICID 1048 RID 0 To: <rita@example.com>")
s("ICID 1048 Receiving Failed: Message size exceeds limit", 40)
s("ICID 1048 close")

# 18. DNS-list TCPREFUSE
s = story("15:00:03")
s("New SMTP ICID 1050 interface Data 1 (192.0.2.25) address 203.0.113.66 reverse dns host unknown verified no", 1)
s("ICID 1050 TCPREFUSE SG RBLBlacklist match dnslist[zen.spamhaus.org] SBRS None country Viet Nam")
s("ICID 1050 close")

# 20. a message filter drops an executable attachment
s = story("15:30:40")
s.connect(1054, "198.51.100.160", "mail.vendor.example", "yes", sbrs="4.4")
s.envelope(560, 1054, "uma@vendor.example", ["tina@example.com"], "Setup tool", 802311)
s("MID 560 attachment 'setup_tool.exe'")
s("Message aborted MID 560 Dropped by filter 'FileType'", 1)
s("Message finished MID 560 done")
s("ICID 1054 close")

# 19. still queued when the log ends
s = story("16:55:10")
s.connect(1060, "198.51.100.8", "mail.supplier9.example", "yes", sbrs="3.3")
s.envelope(570, 1060, "ops@supplier9.example", ["sam@branch.example.com"], "Weekly report", 12884)
s.policy(570)
s("ICID 1060 close")
s.clean(570)
s("MID 570 queued for delivery", 1)


def _ts(line: str) -> datetime:
    return datetime.strptime(" ".join(line.split()[:5]), "%a %b %d %H:%M:%S %Y")


# ids as the appliance allocates them: increasing in time order, with gaps (other traffic)
ID_PATTERNS = {
    "icid": (re.compile(r"(?<=\bICID )(\d+)|(?<=\bICID: )(\d+)"), 40213, 7),
    "mid": (re.compile(r"(?<=\bMID )(\d+)|(?<=^Message )(\d+)(?= to RID)"), 117402, 5),
    "dcid": (re.compile(r"(?<=\bDCID )(\d+)|(?<=\bDCID: )(\d+)"), 66180, 3),
}


def renumber(texts: list[str]) -> tuple[list[str], dict[str, dict[int, int]]]:
    maps: dict[str, dict[int, int]] = {k: {} for k in ID_PATTERNS}

    def sub(kind: str, m: re.Match[str]) -> str:
        old = int(m.group(0))
        if old == 0:
            return "0"
        table, (_, base, step) = maps[kind], ID_PATTERNS[kind]
        if old not in table:
            table[old] = base + len(table) * step + (len(table) * 7) % step
        return str(table[old])

    out = []
    for text in texts:
        for kind, (rx, _, _) in ID_PATTERNS.items():
            text = rx.sub(lambda m, k=kind: sub(k, m), text)
        out.append(text)
    return out, maps


def main() -> None:
    merged = sorted(((_ts(line), i, n, line) for i, s in enumerate(stories) for n, line in enumerate(s.lines)),
                    key=lambda x: (x[0], x[1], x[2]))
    first = merged[0][0]
    head = Log(first.strftime("%Y-%m-%d %H:%M:%S")).lines[:3]
    assert SERIAL in head[1] and VERSION in head[1]
    stamps = [m[3][:25] for m in merged]
    texts, maps = renumber([m[3][25:] for m in merged])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(head + [a + b for a, b in zip(stamps, texts, strict=True)]) + "\n", encoding="utf-8")
    print(f"{len(merged) + 3} lines written to {OUT}")
    print("MID map:", maps["mid"])


if __name__ == "__main__":
    main()
