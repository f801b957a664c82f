"""Write the scenario logs and expectations of tests/data/scenarios/ (run: python make_scenarios.py).

Each scenario is a short mail_logs excerpt in the AsyncOS file format (Begin Logfile / Version SN
header, `Www Mmm dD HH:MM:SS YYYY Info: ...` lines) built from line shapes copied from
../shared/reference/esa-log-formats.md (real CRIBL 2014, PY2022, JPCOMM 2022, TechNote and
user-guide lines), with consistent ICID / MID / RID / DCID numbering and advancing time, plus
NAME.yaml: description, query (api.explain keywords), expect (one entry per finding), fires.
Lines whose grammar no real sample confirms (DMARC fail, SDR Poor, SLBL positive...) are marked
in the scenario description. The generated files are committed; this script documents them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SERIAL = "564D3A2C1B0A9F8E7D6C-4A1B2C3D4E5F"
VERSION = "15.0.1-030"


class Log:
    def __init__(self, start: str) -> None:
        self.t = datetime.strptime(start, "%Y-%m-%d %H:%M:%S")
        self.lines: list[str] = []
        self._emit(0, "Info", "Begin Logfile")
        self._emit(0, "Info", f"Version: {VERSION} SN: {SERIAL}")
        self._emit(0, "Info", "Time offset from UTC: 3600 seconds")

    def _emit(self, dt: float, level: str, text: str) -> None:
        self.t += timedelta(seconds=dt)
        stamp = self.t.strftime("%a %b ") + f"{self.t.day:2d}" + self.t.strftime(" %H:%M:%S %Y")
        self.lines.append(f"{stamp} {level}: {text}")

    def __call__(self, text: str, dt: float = 0, level: str = "Info") -> Log:
        self._emit(dt, level, text)
        return self

    def wait(self, seconds: float) -> Log:
        self.t += timedelta(seconds=seconds)
        return self

    # ------------------------------------------------------------ common line groups
    def connect(self, icid: int, ip: str, rdns: str = "unknown", verified: str = "no", action: str = "ACCEPT",
                sg: str = "UNKNOWNLIST", rule: str = "sbrs[-1.0:10.0]", sbrs: str = "3.5",
                country: str | None = "United States", iface: str = "Data 1 (192.0.2.25)") -> Log:
        self(f"New SMTP ICID {icid} interface {iface} address {ip} reverse dns host {rdns} verified {verified}", 1)
        tail = f" country {country}" if country else ""
        return self(f"ICID {icid} {action} SG {sg} match {rule} SBRS {sbrs}{tail}")

    def envelope(self, mid: int, icid: int, sender: str, rcpts: list[str], subject: str, size: int = 18342,
                 msgid: str | None = None) -> Log:
        self(f"Start MID {mid} ICID {icid}", 1)
        self(f"MID {mid} ICID {icid} From: <{sender}>")
        for i, r in enumerate(rcpts):
            self(f"MID {mid} ICID {icid} RID {i} To: <{r}>")
        domain = sender.split("@")[-1]
        self(f"MID {mid} Message-ID '<{msgid or f'{mid}.{icid}@{domain}'}>'", 1)
        self(f"MID {mid} Subject '{subject}'")
        return self(f"MID {mid} ready {size} bytes from <{sender}>")

    def auth_pass(self, mid: int, sender: str) -> Log:
        dom = sender.split("@")[-1]
        self(f"MID {mid} SPF: helo identity postmaster@mail.{dom} None")
        self(f"MID {mid} SPF: mailfrom identity {sender} Pass (v=spf1)")
        self(f"MID {mid} DKIM: pass signature verified (d={dom} s=sel1 i=@{dom})")
        self(f"MID {mid} DMARC: Message from domain {dom}, DMARC pass (SPF aligned True, DKIM aligned True)")
        return self(f"MID {mid} DMARC: Verification passed")

    def policy(self, mid: int, name: str = "DEFAULT", direction: str = "inbound") -> Log:
        return self(f"MID {mid} matched all recipients for per-recipient policy {name} in the {direction} table")

    def clean(self, mid: int, spam: bool = True, av: bool = True, amp: bool = True, gray: bool = True,
              outbreak: bool = True) -> Log:
        if spam:
            self(f"MID {mid} interim verdict using engine: CASE spam negative", 1)
            self(f"MID {mid} using engine: CASE spam negative")
        if av:
            self(f"MID {mid} interim AV verdict using Sophos CLEAN")
            self(f"MID {mid} antivirus negative")
        if amp:
            self(f"MID {mid} AMP file reputation verdict : SKIPPED (no attachment in message)")
        if gray:
            self(f"MID {mid} using engine: GRAYMAIL negative")
        if outbreak:
            self(f"MID {mid} Outbreak Filters: verdict negative")
        return self

    def deliver(self, mid: int, dcid: int, rids: list[int], ip: str = "10.20.1.25",
                response: str = "'2.0.0 Ok: queued as 4XyZ1k2Jz7z9'", queued: bool = True, new_dcid: bool = True,
                finish: bool = True, close: bool = True) -> Log:
        rl = ", ".join(map(str, rids))
        if queued:
            self(f"MID {mid} queued for delivery", 1)
        if new_dcid:
            self(f"New SMTP DCID {dcid} interface 192.0.2.25 address {ip} port 25", 1)
            self(f"DCID {dcid} TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384")
        self(f"Delivery start DCID {dcid} MID {mid} to RID [{rl}]")
        self(f"Message done DCID {dcid} MID {mid} to RID [{rl}]", 1)
        self(f"MID {mid} RID [{rl}] Response {response}")
        if finish:
            self(f"Message finished MID {mid} done")
        if close:
            self(f"DCID {dcid} close", 2)
        return self


SCENARIOS: list[dict] = []


def scenario(name: str, description: str, log: Log, query: dict, expect: list[dict], fires: list[str]) -> None:
    SCENARIOS.append({"name": name, "description": description, "log": log, "query": query, "expect": expect,
                      "fires": fires})


def E(outcome: str, stage: str, cause: str, confidence: str = "certain", kinds: tuple[str, ...] = (), **extra) -> dict:
    d = {"outcome": outcome, "stage": stage, "cause": cause, "confidence": confidence}
    if kinds:
        d["recommendation_kinds"] = list(kinds)
    d.update(extra)
    return d


# ====================================================================== HAT
L = Log("2026-11-23 09:14:02")
L.connect(880101, "176.227.203.114", "h176-227-203-114.host.redstation.co.uk", "no", "REJECT", "BLACKLIST",
          "sbrs[-10.0:-3.0]", "-7.4", "Romania")
L("ICID 880101 close")
scenario("hat_reject_sbrs", "HAT REJECT: the connecting IP's SBRS falls in the BLACKLIST range (CRIBL 2014 grammar, "
         "country suffix as in 2018+).", L, {"ip": "176.227.203.114"},
         [E("rejected", "hat", "poor_sender_reputation", kinds=("hat_allowlist", "submit_to_cisco", "sender_fix"),
            reason="badreputation")],
         ["HAT-REJECT-SBRS", "HAT-FIX-SBRS-GROUP", "HAT-FIX-SBRS-ALLOWLIST", "HAT-FIX-SBRS-TALOS", "HAT-FIX-SBRS-SENDER"])

L = Log("2026-11-23 10:02:11")
L("New SMTP ICID 880140 interface Data 1 (192.0.2.25) address 203.0.113.66 reverse dns host unknown verified no", 1)
L("ICID 880140 TCPREFUSE SG RBLBlacklist match dnslist[zen.spamhaus.org] SBRS None country Viet Nam")
L("ICID 880140 close")
scenario("hat_tcprefuse_dnslist", "HAT TCPREFUSE: the IP is listed on the DNS list the sender group uses (S2W grammar "
         "'TCPREFUSE SG RBLBlacklist match dnslist[...]').", L, {"ip": "203.0.113.66"},
         [E("rejected", "hat", "dns_blocklisted", kinds=("hat_allowlist", "submit_to_cisco", "sender_fix"), reason="blocked")],
         ["HAT-REJECT-DNSLIST", "HAT-FIX-DNSLIST-GROUP"])

L = Log("2026-11-23 10:31:40")
L.connect(880177, "198.51.100.201", "vps-201.hoster.example", "yes", "REJECT", "BLOCKED_LIST",
          "etf-source: hailataxii", "-1.2", "Netherlands")
L("ICID 880177 close")
scenario("hat_reject_threat_feed", "HAT REJECT by an External Threat Feed source (CISCO-QA pattern "
         "'REJECT SG BLOCKED_LIST match etf-source: ...').", L, {"ip": "198.51.100.201"},
         [E("rejected", "hat", "threat_feed_match", kinds=("hat_allowlist", "sender_fix"))],
         ["HAT-REJECT-THREAT-FEED"])

L = Log("2026-11-23 11:05:09")
L.connect(880203, "192.0.2.99", "scanner.branch.example.net", "yes", "REJECT", "BLOCK_LOCAL", "192.0.2.99",
          "2.1", "Germany")
L("ICID 880203 close")
L.connect(880204, "192.0.2.99", "scanner.branch.example.net", "yes", "TCPREFUSE", "BLOCK_LOCAL",
          ".branch.example.net", "2.1", "Germany")
L("ICID 880204 close")
scenario("hat_reject_ip_entry", "HAT REJECT / TCPREFUSE by an administrator's entries in a custom sender group: an IP "
         "address, then a partial host name (.branch.example.net) after the entries were changed.", L,
         {"ip": "192.0.2.99"}, [E("rejected", "hat", "sender_group_entry", kinds=("hat_allowlist",), reason="blocked"),
                                E("rejected", "hat", "sender_group_entry", kinds=("hat_allowlist",), reason="blocked")],
         ["HAT-REJECT-ENTRY", "HAT-FIX-ENTRY"])

L = Log("2026-11-23 11:40:00")
L("New SMTP ICID 77 interface Management (10.1.1.5) address 10.1.9.40 reverse dns host printer7.corp.example verified yes", 1)
L("ICID 77 REJECT SG None match  SBRS None")
L("ICID 77 close")
scenario("hat_reject_private_listener", "Private (relay) listener: a host outside RELAYLIST matches only ALL, which "
         "is $BLOCKED (S2W grammar 'REJECT SG None match  SBRS None' with the double space).", L, {"ip": "10.1.9.40"},
         [E("rejected", "hat", "no_sender_group_match", kinds=("hat_allowlist",))], ["HAT-REJECT-DEFAULT"])

L = Log("2026-11-23 12:10:31")
L("New SMTP ICID 824107 interface Data 1 (192.0.2.25) address 10.8.236.135 reverse dns host unknown verified no", 1)
L("ICID 824107 Delayed HAT REJECT continuing session for recipient logging (10.8.236.135)")
L("ICID 824107 lost")
L("ICID 824107 close")
scenario("hat_delayed_reject", "Delayed HAT REJECT (PY2022 lines): the reject is moved to RCPT TO.", L,
         {"ip": "10.8.236.135"}, [E("rejected", "hat", "sender_group_reject", kinds=("hat_allowlist",))],
         ["HAT-DELAYED-REJECT"])

L = Log("2026-11-23 13:00:05")
L.connect(880301, "198.51.100.77", "out.bulkmailer.example", "yes", "ACCEPT", "SUSPECTLIST", "sbrs[-3.0:-1.0]",
          "-1.8", "United States")
L("Start MID 6101 ICID 880301", 1)
L("MID 6101 ICID 880301 From: <news@bulkmailer.example>")
L("MID 6101 ICID 880301 RID 0 To: <carol@example.com>")
L("MID 6101 ICID 880301 To: <dave@example.com> Rejected by Receiving Control")
L("MID 6101 Message-ID '<20261123130005.6101@bulkmailer.example>'", 1)
L("MID 6101 Subject 'November offers'")
L("MID 6101 ready 24410 bytes from <news@bulkmailer.example>")
L.policy(6101)
L("ICID 880301 close")
L.clean(6101)
L.deliver(6101, 9301, [0])
scenario("hat_throttled_receiving_control", "SUSPECTLIST ($THROTTLED): one recipient accepted and delivered, the next "
         "refused by Receiving Control (recipients-per-hour limit, PERL2011 wording).", L, {"mid": 6101},
         [E("rejected", "hat", "rate_limited", kinds=("raise_limit", "sender_fix"), reason="speeding",
            recipient="dave@example.com"),
          E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination",), recipient="carol@example.com")],
         ["HAT-RECEIVING-CONTROL", "HAT-THROTTLED-GROUP", "HAT-FIX-RATE", "HAT-FIX-RATE-SENDER"])

L = Log("2026-11-23 13:30:00")
L.connect(880401, "192.0.2.150", "relay.partner.example", "yes")
L("ICID 880401 Receiving Failed: Connection limit exceeded", 1)
L("ICID 880401 close")
scenario("hat_connection_limit", "Connection limit exceeded (S2W 'Receiving Failed' line).", L, {"ip": "192.0.2.150"},
         [E("rejected", "hat", "connection_limit", kinds=("raise_limit", "sender_fix"), reason="toomanyconn")],
         ["HAT-CONNECTION-LIMIT", "HAT-FIX-CONNECTIONS"])

L = Log("2026-11-23 13:45:10")
L.connect(880450, "198.51.100.44", "mx.designstudio.example", "yes", sbrs="4.1")
L("Start MID 6150 ICID 880450", 1)
L("MID 6150 ICID 880450 From: <eve@designstudio.example>")
L("MID 6150 ICID 880450 RID 0 To: <frank@example.com>")
L("ICID 880450 Receiving Failed: Message size exceeds limit", 30)
L("ICID 880450 close")
scenario("hat_message_too_big", "Message larger than the mail flow policy's maximum size (S2W line, 5.0+).", L,
         {"mid": 6150}, [E("rejected", "hat", "message_too_big", kinds=("raise_limit", "sender_fix"), reason="mesgtoobig")],
         ["HAT-MESSAGE-TOO-BIG", "HAT-FIX-SIZE", "HAT-FIX-SIZE-SENDER"])

L = Log("2026-11-23 14:00:00")
L.connect(880470, "192.0.2.171", "legacy-app.corp-partner.example", "yes", sbrs="1.0")
L("ICID 880470 Receiving Failed: Message header too big", 5)
L("ICID 880470 close")
L.connect(880471, "192.0.2.171", "legacy-app.corp-partner.example", "yes", sbrs="1.0")
L("ICID 880471 Receiving Failed: Queue Full", 2)
L("ICID 880471 close")
L.connect(880472, "192.0.2.171", "legacy-app.corp-partner.example", "yes", sbrs="1.0")
L("ICID 880472 Receiving Failed: Message loop", 2)
L("ICID 880472 close")
scenario("hat_receiving_failures", "Three connections from one host refused for the header size, a full queue on "
         "this appliance and a mail loop (qlogmsgs 'Receiving Failed' reasons).", L, {"ip": "192.0.2.171"},
         [E("rejected", "hat", "header_too_big", kinds=("raise_limit",)),
          E("rejected", "hat", "appliance_resources", kinds=("fix_destination",), reason="systemfull"),
          E("rejected", "hat", "mail_loop", kinds=("fix_destination",))],
         ["HAT-HEADER-TOO-BIG", "HAT-RECEIVING-RESOURCES", "HAT-MESSAGE-LOOP", "HAT-FIX-RESOURCES"])

L = Log("2026-11-23 14:20:00")
L.connect(880490, "198.51.100.90", "smtp.flaky.example", "yes", sbrs="2.2")
L("Start MID 6190 ICID 880490", 1)
L("MID 6190 ICID 880490 From: <gina@flaky.example>")
L("MID 6190 ICID 880490 RID 0 To: <hank@example.com>")
L("Message aborted MID 6190 Receiving aborted", 20)
L("ICID 880490 lost")
L("ICID 880490 close")
scenario("hat_receiving_aborted", "The sending side dropped the session during DATA (S2W 'Message aborted MID n "
         "Receiving aborted').", L, {"mid": 6190},
         [E("rejected", "hat", "receiving_aborted", kinds=("sender_fix",), reason="networkerror")],
         ["HAT-RECEIVING-ABORTED", "HAT-FIX-ABORTED"])

L = Log("2026-11-23 14:40:00")
L.connect(880510, "203.0.113.12", "mta.bank-partner.example", "yes", "ACCEPT", "TLS_REQUIRED_PARTNERS",
          "203.0.113.0/24", "5.0")
L("ICID 880510 TLS failed", 1)
L("ICID 880510 TLS was required but remote host did not initiate it")
L("ICID 880510 close")
scenario("hat_tls_required", "The partner's sender group requires TLS; TLS failed and the client went on in clear "
         "text (S2W lines).", L, {"ip": "203.0.113.12"},
         [E("rejected", "hat", "inbound_tls_required", kinds=("sender_fix", "hat_allowlist"), reason="securityerror")],
         ["HAT-TLS-REQUIRED", "HAT-TLS-FAILED", "HAT-FIX-TLS", "HAT-FIX-TLS-POLICY"])

L = Log("2026-11-23 15:00:00")
L.connect(880530, "10.1.20.7", "crm-app.corp.example", "yes", "ACCEPT", "AUTH_CLIENTS", "10.1.20.0/24", "rfc1918",
          None, "Submission (10.1.1.25)")
L("SMTP Auth (ICID 880530) was required but remote host did not initiate it", 1)
L("ICID 880530 close")
L.connect(880531, "10.1.20.7", "crm-app.corp.example", "yes", "ACCEPT", "AUTH_CLIENTS", "10.1.20.0/24", "rfc1918",
          None, "Submission (10.1.1.25)")
L("SMTP Auth (ICID 880531) failed for user: crm-sender using AUTH mechanism: LOGIN with profile: corp_ldap_auth", 2)
L("ICID 880531 close")
scenario("hat_smtp_auth", "Submission listener: one session without SMTP AUTH where it is required, one with a "
         "failed login (S2W SMTPAUTH templates).", L, {"ip": "10.1.20.7"},
         [E("rejected", "hat", "smtp_auth_required", kinds=("sender_fix",)),
          E("rejected", "hat", "smtp_auth_failed", "likely", kinds=("sender_fix",))],
         ["HAT-AUTH-REQUIRED", "HAT-AUTH-FAILED"])

# ====================================================================== sender verification
L = Log("2026-11-23 15:20:00")
L.connect(880601, "198.51.100.33", "mail.shop-online.example", "yes", sbrs="0.4")
L("ICID 880601 Address: <orders@shop-onl1ne.example> sender rejected, envelope sender domain does not exist", 1)
L("ICID 880601 lost")
L("ICID 880601 close")
scenario("sv_domain_does_not_exist", "Envelope sender DNS verification: NXDOMAIN (TN-118556 / UG-10.0 grammar).", L,
         {"ip": "198.51.100.33"},
         [E("rejected", "sender_verification", "sender_domain_not_exist", kinds=("sender_fix", "exception_table"),
            reason="rejected")], ["SV-DOMAIN-NOT-EXIST", "SV-FIX-SENDER-DNS", "SV-FIX-EXCEPTION-ALLOW"])

L = Log("2026-11-23 15:30:00")
L.connect(880610, "192.0.2.61", "app01.lab.example", "no", sbrs="None")
L("ICID 880610 Address: <monitor> sender rejected, envelope sender domain missing", 1)
L("ICID 880610 close")
L.connect(880611, "192.0.2.61", "app01.lab.example", "no", sbrs="None")
L("ICID 880611 Address: <monitor@lab.example> sender rejected, envelope sender domain could not be resolved", 1)
L("ICID 880611 close")
scenario("sv_domain_missing_and_unresolvable", "Envelope sender without a domain, then a domain whose DNS lookup "
         "failed (UG-10.0 'missing' / 'could not be resolved').", L, {"ip": "192.0.2.61"},
         [E("rejected", "sender_verification", "sender_domain_missing", kinds=("sender_fix",)),
          E("rejected", "sender_verification", "sender_domain_unresolvable", kinds=("sender_fix", "exception_table"))],
         ["SV-DOMAIN-MISSING", "SV-DOMAIN-UNRESOLVABLE"])

L = Log("2026-11-23 15:45:00")
L.connect(880620, "203.0.113.140", "smtp.spoofy.example", "yes", sbrs="-0.5")
L("ICID 880620 Address: <ceo@spoofy.example> sender rejected, envelope sender matched domain exception", 1)
L("ICID 880620 close")
scenario("sv_exception_table_reject", "A Reject entry of the Sender Verification Exception Table (S2W/qlogmsgs "
         "template).", L, {"ip": "203.0.113.140"},
         [E("rejected", "sender_verification", "exception_table_reject", kinds=("exception_table",))],
         ["SV-EXCEPTION-REJECT", "SV-FIX-EXCEPTION-REJECT"])

L = Log("2026-11-23 16:00:00")
L.connect(880630, "192.0.2.80", "mail.internal-test.example", "yes", sbrs="1.5")
L("ICID 880630 Address: <alerts@lab.internal> sender allowed, envelope sender matched domain exception", 1)
L.envelope(6230, 880630, "alerts@lab.internal", ["ops@example.com"], "Nightly job finished", 2311)
L.policy(6230)
L("ICID 880630 close")
L.clean(6230)
L.deliver(6230, 9330, [0])
scenario("sv_exception_table_allow", "An Allow entry of the Exception Table lets a non-resolving envelope domain "
         "through; the message is then delivered.", L, {"mid": 6230},
         [E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination",), reason="delivered")],
         ["SV-EXCEPTION-ALLOW", "SV-PASSED", "RAT-ACCEPTED", "DLV-DELIVERED-RESPONSE", "DLV-FIX-DOWNSTREAM"])

L = Log("2026-11-23 16:10:00")
L.connect(880640, "198.51.100.150", "odd-mta.example", "no", sbrs="-0.2")
L("ICID 880640 Invalid sender address: Unsupported domain literal: '[]'", 1)
L("ICID 880640 close")
scenario("sv_invalid_sender", "The address parser refuses the envelope sender (S2W 4.5+ line).", L,
         {"ip": "198.51.100.150"},
         [E("rejected", "sender_verification", "invalid_sender_address", kinds=("sender_fix",), reason="syntaxerror")],
         ["SV-INVALID-SENDER", "SV-FIX-ADDRESS"])

# ====================================================================== RAT, bounce verification, LDAP
L = Log("2026-11-24 08:05:00")
L.connect(880701, "198.51.100.10", "mx1.supplier.example", "yes", sbrs="3.9")
L("Start MID 6301 ICID 880701", 1)
L("MID 6301 ICID 880701 From: <invoices@supplier.example>")
L("MID 6301 ICID 880701 To: <ap@newbrand-example.com> Rejected by RAT")
L("ICID 880701 close", 1)
scenario("rat_reject_new_domain", "Recipient refused by the RAT: the newly acquired domain is not accepted yet "
         "('Rejected by RAT', S2W).", L, {"mid": 6301},
         [E("rejected", "rat", "recipient_not_accepted", kinds=("rat_accept", "smtp_route", "sender_fix"),
            reason="norelaying")], ["RAT-REJECT", "RAT-FIX-ACCEPT-DOMAIN", "RAT-FIX-SMTP-ROUTE", "RAT-FIX-SENDER-ADDRESS"])

L = Log("2026-11-24 08:20:00")
L.connect(880710, "198.51.100.11", "mx2.supplier.example", "yes", sbrs="3.9")
L("Start MID 6310 ICID 880710", 1)
L("MID 6310 ICID 880710 From: <robot@supplier.example>")
L("ICID 880710 MID 6310 Invalid recipient address: Invalid character in address: '!'")
L("ICID 880710 close", 1)
scenario("rat_invalid_recipient", "The address parser refuses a recipient (S2W line).", L, {"mid": 6310},
         [E("rejected", "rat", "invalid_recipient_address", kinds=("sender_fix",), reason="syntaxerror")],
         ["RAT-INVALID-RECIPIENT"])

L = Log("2026-11-24 08:40:00")
L.connect(880720, "203.0.113.200", "unknown", "no", sbrs="-0.8")
L("Start MID 6320 ICID 880720", 1)
L("MID 6320 ICID 880720 From: <>")
L("MID 6320 ICID 880720 invalid bounce, rcpt address <sales@example.com> rejected by bounce verification.")
L("ICID 880720 close", 1)
scenario("rat_bounce_verification", "Backscatter: an untagged bounce refused by bounce verification (S2W 2006).", L,
         {"mid": 6320}, [E("rejected", "rat", "invalid_bounce", kinds=("none",), reason="rejected")],
         ["RAT-BOUNCE-VERIFICATION", "RAT-FIX-BOUNCE-VERIFICATION"])

L = Log("2026-11-24 09:00:00")
L.connect(880730, "192.0.2.140", "bounce.mailhost.example", "yes", sbrs="2.0")
L("Start MID 6330 ICID 880730", 1)
L("MID 6330 ICID 880730 From: <>")
L("MID 6330 ICID 880730 RID 0 To: <ivan@example.com>")
L("MID 6330 ICID 880730 invalid bounce, tagging")
L("MID 6330 Message-ID '<bounce-6330@mailhost.example>'", 1)
L("MID 6330 Subject 'Undelivered Mail Returned to Sender'")
L("MID 6330 ready 4120 bytes from <>")
L.policy(6330)
L("ICID 880730 close")
L.clean(6330)
L.deliver(6330, 9360, [0])
scenario("rat_bounce_tagged_delivered", "An untagged bounce accepted and tagged, then delivered (S2W 'invalid "
         "bounce, tagging').", L, {"mid": 6330},
         [E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination",))], ["RAT-BOUNCE-TAGGED"])

L = Log("2026-11-24 09:20:00")
L.connect(880740, "198.51.100.12", "mx3.supplier.example", "yes", sbrs="3.9")
L("Start MID 6340 ICID 880740", 1)
L("MID 6340 ICID 880740 From: <orders@supplier.example>")
L("MID 6340 ICID 880740 To: <j.smiht@example.com> Rejected by LDAPACCEPT")
L("ICID 880740 close", 1)
scenario("ldap_accept_conversational", "LDAP accept during the SMTP conversation refuses an unknown recipient "
         "('Rejected by LDAPACCEPT', S2W).", L, {"mid": 6340},
         [E("rejected", "ldap_accept", "ldap_recipient_unknown", kinds=("ldap_fix", "rat_accept", "sender_fix"),
            reason="userunknown")],
         ["LDAP-ACCEPT-CONVERSATIONAL", "LDAP-FIX-QUERY", "LDAP-FIX-BYPASS", "LDAP-FIX-SENDER"])

L = Log("2026-11-24 09:40:00")
L.connect(880750, "198.51.100.13", "mx4.supplier.example", "yes", sbrs="3.9")
L.envelope(6350, 880750, "hr@supplier.example", ["kim@example.com", "lee.old@example.com", "mo.left@example.com"],
           "Contract renewal", 55120)
L.policy(6350)
L("ICID 880750 close")
L("LDAP: Accepted query CorpLDAP.ldapaccept MID 6350 RID 0 address kim@example.com", 1)
L("LDAP: Drop query CorpLDAP.ldapaccept MID 6350 RID 1 address lee.old@example.com")
L("LDAP: Bounce query CorpLDAP.ldapaccept MID 6350 RID 2 address mo.left@example.com")
L.clean(6350)
L.deliver(6350, 9370, [0])
scenario("ldap_accept_workqueue", "LDAP accept in the work queue: one recipient found, one dropped by the Drop query, "
         "one bounced by the Bounce query (S2W 'LDAP: Drop/Bounce query').", L, {"mid": 6350},
         [E("delivered", "delivery", "delivered_downstream", recipient="kim@example.com"),
          E("dropped", "ldap_accept", "ldap_recipient_unknown", kinds=("ldap_fix",), recipient="lee.old@example.com"),
          E("bounced", "ldap_accept", "ldap_recipient_unknown", kinds=("ldap_fix",), recipient="mo.left@example.com")],
         ["LDAP-ACCEPTED", "LDAP-ACCEPT-DROP", "LDAP-ACCEPT-BOUNCE"])

L = Log("2026-11-24 10:00:00")
L.connect(880760, "198.51.100.14", "mx5.supplier.example", "yes", sbrs="3.9")
L.envelope(6360, 880760, "support@supplier.example", ["nina@example.com"], "Ticket 4471", 8120)
L.policy(6360)
L("ICID 880760 close")
L("LDAP: unable to process, MID 6360 requeued", 5)
L.connect(880761, "198.51.100.14", "mx5.supplier.example", "yes", sbrs="3.9")
L.envelope(6361, 880761, "support@supplier.example", ["oscar@example.com"], "Ticket 4472", 8120)
L.policy(6361)
L("ICID 880761 close")
L("LDAP: unable to process, MID 6361 bouncing recipients", 5)
scenario("ldap_server_unavailable", "The LDAP server does not answer: one message requeued, one whose recipients "
         "are bounced (S2W 'LDAP: unable to process' templates).", L, {"sender": "support@supplier.example"},
         [E("deferred", "ldap_accept", "ldap_unavailable", kinds=("ldap_fix",)),
          E("bounced", "ldap_accept", "ldap_unavailable", kinds=("ldap_fix",))],
         ["LDAP-UNABLE-REQUEUED", "LDAP-UNABLE-BOUNCING", "LDAP-FIX-SERVER"])

# ====================================================================== authentication, SDR
L = Log("2026-11-24 10:30:00")
L.connect(880801, "203.0.113.55", "mail.lookalike-bank.example", "yes", sbrs="0.1", country="Panama")
L("Start MID 6401 ICID 880801", 1)
L("MID 6401 ICID 880801 From: <security@bank.example>")
L("MID 6401 ICID 880801 RID 0 To: <paula@example.com>")
L("MID 6401 Message-ID '<6401.alert@lookalike-bank.example>'", 1)
L("MID 6401 Subject 'Verify your account'")
L("MID 6401 ready 9120 bytes from <security@bank.example>")
L("MID 6401 SPF: mailfrom identity security@bank.example Fail (v=spf1)")
L("MID 6401 DKIM: permfail body hash did not verify [final] (d=bank.example s=k1 i=@bank.example)")
L("MID 6401 DMARC: Message from domain bank.example, DMARC fail (SPF aligned False, DKIM aligned False)")
L("MID 6401 DMARC: Verification failed: Message from domain bank.example rejected (policy reject)")
L("ICID 880801 close", 1)
scenario("auth_dmarc_reject", "DMARC p=reject enforced by the DMARC profile. The SPF Fail, DKIM permfail and DMARC "
         "pass lines are real grammar (Elastic #6736, PERL2011); the DMARC fail and reject lines are INFERRED from "
         "the pass form (no real sample, esa-log-formats.md §14).", L, {"mid": 6401},
         [E("rejected", "authentication", "dmarc_reject", "likely", kinds=("sender_fix", "filter_exception"),
            reason="authfailure")],
         ["AUTH-SPF-FAIL", "AUTH-DKIM-FAIL", "AUTH-DMARC-FAIL", "AUTH-DMARC-REJECT", "AUTH-FIX-SENDER",
          "AUTH-FIX-DMARC-SENDER", "AUTH-FIX-DMARC-PROFILE"])

L = Log("2026-11-24 10:50:00")
L.connect(880810, "198.51.100.120", "mailer.newsletter-host.example", "yes", sbrs="1.1")
L.envelope(6410, 880810, "info@club.example", ["quinn@example.com"], "Club newsletter", 40210)
L("MID 6410 SPF: mailfrom identity info@club.example SoftFail (v=spf1)")
L("MID 6410 DMARC: Message from domain club.example, DMARC fail (SPF aligned False, DKIM aligned False)")
L.policy(6410)
L("ICID 880810 close")
L.clean(6410, outbreak=False)
L("MID 6410 quarantined to \"Policy\" (DMARC:quarantine)", 1)
L("MID 6410 Outbreak Filters: verdict negative")
scenario("auth_dmarc_quarantine", "DMARC fail with the profile action Quarantine. The quarantine reason text "
         "'(DMARC:quarantine)' is INFERRED from the '(content filter:...)' form; no real sample exists.", L,
         {"mid": 6410},
         [E("quarantined", "authentication", "dmarc_quarantine", kinds=("release_quarantine", "sender_fix"))],
         ["AUTH-DMARC-QUARANTINE", "AUTH-FIX-RELEASE"])

L = Log("2026-11-24 11:10:00")
L.connect(880820, "192.0.2.201", "smtp.tempdns.example", "yes", sbrs="2.4")
L.envelope(6420, 880820, "billing@tempdns.example", ["rita@example.com"], "Invoice 2026-117", 60121)
L("MID 6420 SPF: mailfrom identity billing@tempdns.example TempError (v=spf1)")
L("MID 6420 DMARC: Verification skipped, temporary failure looking up the DMARC record")
L.policy(6420)
L("ICID 880820 close")
L.clean(6420)
L.deliver(6420, 9420, [0])
scenario("auth_spf_temperror_delivered", "SPF TempError and a temporary DMARC failure (CEF shows ESADMARCVerdict "
         "TempFailure; the mail_logs wording here is INFERRED); the profile accepts on temporary failure and the "
         "message is delivered.", L, {"mid": 6420},
         [E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination", "sender_fix"))],
         ["AUTH-SPF-ERROR", "AUTH-DMARC-TEMPFAIL"])

L = Log("2026-11-24 11:30:00")
L.connect(880830, "203.0.113.77", "mail.fresh-domain.example", "yes", sbrs="-0.4")
L.envelope(6430, 880830, "payments@fresh-domain.example", ["sam@example.com"], "Payment advice", 15020)
L("MID 6430 SDR: Domains for which SDR is requested: reverse DNS host: mail.fresh-domain.example, helo: "
  "mail.fresh-domain.example, env-from: fresh-domain.example, header-from: fresh-domain.example, reply-to: Not Present")
L("MID 6430 SDR: Consolidated Sender Threat Level: Poor, Threat Category: Spam, Suspected Domain(s) : "
  "fresh-domain.example (other reasons for verdict). Sender Maturity: 9 days for domain: fresh-domain.example")
L.policy(6430)
L("ICID 880830 close")
L.clean(6430, gray=False, outbreak=False)
L("Message aborted MID 6430 Dropped by content filter 'drop_sdr_poor' in the inbound table", 1)
L("Message finished MID 6430 done")
scenario("sdr_poor_content_filter_drop", "SDR verdict Poor (grammar of the real Neutral line, PY2022; a real Poor "
         "line was not available) and a content filter that drops Poor/Awful senders (CISCO-QA drop grammar).", L,
         {"mid": 6430},
         [E("dropped", "content_filter", "content_filter_drop", kinds=("filter_exception", "sdr_exception",
                                                                        "submit_to_cisco"), reason="filtered")],
         ["SDR-VERDICT-POOR", "SDR-FIX-EXCEPTION", "SDR-FIX-TALOS", "CF-DROP", "CF-FIX-EXCEPTION"])

L = Log("2026-11-24 11:50:00")
L.connect(880840, "203.0.113.78", "mx.brandnew-shop.example", "yes", sbrs="0.0")
L("Start MID 6440 ICID 880840", 1)
L("MID 6440 ICID 880840 From: <deals@brandnew-shop.example>")
L("MID 6440 ICID 880840 RID 0 To: <tina@example.com>")
L("MID 6440 SDR: Consolidated Sender Threat Level: Awful, Threat Category: Phishing, Suspected Domain(s) : "
  "brandnew-shop.example (other reasons for verdict). Sender Maturity: 2 days for domain: brandnew-shop.example")
L("Message aborted MID 6440 Receiving aborted", 1)
L("ICID 880840 close")
scenario("sdr_awful_reject", "SDR Awful followed by an aborted receive: on 14.2+ an SDR reject level refuses the "
         "message, but the log does not name SDR as the reason, so the answer is only 'possible'.", L, {"mid": 6440},
         [E("rejected", "sdr", "sdr_reject", "possible", kinds=("sdr_exception",), reason="badreputation")],
         ["SDR-REJECT", "SDR-FIX-REJECT"])

# ====================================================================== message filters
L = Log("2026-11-24 12:10:00")
L.connect(880901, "198.51.100.160", "mail.vendor.example", "yes", sbrs="4.4")
L.envelope(6501, 880901, "uma@vendor.example", ["victor@example.com"], "Setup tool", 802311)
L("MID 6501 attachment 'setup_tool.exe'")
L("Message aborted MID 6501 Dropped by filter 'FileType'", 1)
L("Message finished MID 6501 done")
L("ICID 880901 close")
scenario("mf_drop_filetype", "A message filter drops an executable attachment (S2W 'Dropped by filter').", L,
         {"mid": 6501}, [E("dropped", "message_filter", "message_filter_drop", kinds=("filter_exception",),
                           reason="filtered")], ["MF-DROP", "MF-FIX-EXCEPTION"])

L = Log("2026-11-24 12:20:00")
L.connect(880910, "198.51.100.161", "mail.vendor2.example", "yes", sbrs="4.4")
L.envelope(6510, 880910, "walt@vendor2.example", ["xena@example.com"], "Macro sheet", 120044)
L("Message aborted MID 6510 Bounced by filter 'NoMacros'", 1)
L("ICID 880910 close")
scenario("mf_bounce", "A message filter bounces the message to the sender.", L, {"mid": 6510},
         [E("bounced", "message_filter", "message_filter_bounce", kinds=("filter_exception",), reason="policyviolation")],
         ["MF-BOUNCE"])

L = Log("2026-11-24 12:40:00")
L.connect(880920, "198.51.100.162", "mail.lawfirm.example", "yes", sbrs="5.1")
L.envelope(6520, 880920, "yara@lawfirm.example", ["zack@example.com"], "Draft agreement", 301200)
L("MID 6520 Custom Log Entry: skip-spamcheck applied by filter lawfirm_bypass")
L.policy(6520)
L("ICID 880920 close")
L("MID 6520 quarantined to \"Policy\" (message filter:policy_violation)", 1)
L("MID 6520 released from quarantine \"Policy\" (manual) t=1840", 1840)
L.clean(6520, spam=False)
L.deliver(6520, 9520, [0])
scenario("mf_quarantine_released_delivered", "Message filter quarantine (UG line), released manually, then "
         "delivered: the final state counts.", L, {"mid": 6520},
         [E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination",))],
         ["MF-QUARANTINE", "MF-SKIPPED-SCANNING", "DLV-RELEASED", "DLV-DELIVERED", "DLV-DELIVERED-RESPONSE"])

L = Log("2026-11-24 13:00:00")
L.connect(880930, "198.51.100.163", "mail.vendor3.example", "yes", sbrs="3.3")
L.envelope(6530, 880930, "amy@vendor3.example", ["ben@example.com"], "Archive", 90210)
L.policy(6530)
L("ICID 880930 close")
L("MID 6530 quarantined to \"Policy\" (message filter:encrypted_zip)", 1)
L("MID 6530 deleted from quarantine \"Policy\" (expired) t=1209600", 1209600)
scenario("mf_quarantine_expired", "Held in the Policy quarantine by a message filter and deleted when the "
         "retention expired (S2W 'deleted from quarantine \"Policy\" (expired)').", L, {"mid": 6530},
         [E("dropped", "message_filter", "quarantine_expired", kinds=("filter_exception",))],
         ["MF-QUARANTINE-DELETED", "MF-QUARANTINE-EXPIRED", "MF-FIX-QUARANTINE-DELETED"])

L = Log("2026-11-24 13:10:00")
L.connect(880940, "198.51.100.164", "mail.vendor4.example", "yes", sbrs="3.3")
L.envelope(6540, 880940, "cid@vendor4.example", ["dora@example.com"], "Price list", 45210)
L.policy(6540)
L("ICID 880940 close")
L("MID 6540 quarantined to \"Policy\" (message filter:external_forward)", 1)
scenario("mf_quarantine_held", "Still held in the Policy quarantine by a message filter.", L, {"mid": 6540},
         [E("quarantined", "message_filter", "message_filter_quarantine", kinds=("release_quarantine",
                                                                                 "filter_exception"))],
         ["MF-QUARANTINE", "MF-FIX-RELEASE"])

# ====================================================================== safelist / blocklist
L = Log("2026-11-24 13:30:00")
L.connect(880950, "198.51.100.170", "mail.exspouse.example", "yes", sbrs="4.0")
L.envelope(6550, 880950, "ed@exspouse.example", ["fay@example.com"], "Hello again", 3120)
L.policy(6550)
L("ICID 880950 close")
L("MID 6550 interim verdict using engine: SLBL spam positive", 1)
L("ISQ: Tagging MID 6550 for quarantine")
L("MID 6550 queued for delivery")
L("RPC Delivery start RCID 51 MID 6550 to local IronPort Spam Quarantine")
L("ISQ: Quarantined MID 6550", 1)
L("RPC Message done RCID 51 MID 6550")
L("Message finished MID 6550 done")
scenario("slbl_blocklist_quarantine", "The sender is on the recipient's blocklist; the blocklist action is "
         "Quarantine. The 'SLBL spam positive' line follows the real 'SLBL spam negative' form (CRIBL).", L,
         {"mid": 6550},
         [E("quarantined", "safelist_blocklist", "sender_blocklisted", kinds=("safelist", "release_quarantine"))],
         ["SLBL-BLOCKLIST-QUARANTINE", "SLBL-FIX-REMOVE", "SLBL-FIX-RELEASE"])

L = Log("2026-11-24 13:40:00")
L.connect(880960, "198.51.100.171", "mail.oldvendor.example", "yes", sbrs="4.0")
L.envelope(6560, 880960, "gus@oldvendor.example", ["hal@example.com"], "Follow-up", 3120)
L.policy(6560)
L("ICID 880960 close")
L("MID 6560 interim verdict using engine: SLBL spam positive", 1)
L("Message aborted MID 6560 Dropped by SLBL")
L("Message finished MID 6560 done")
scenario("slbl_blocklist_drop", "Blocklisted sender with the blocklist action Delete ('Dropped by SLBL' follows the "
         "'Dropped by CASE' form; not confirmed).", L, {"mid": 6560},
         [E("dropped", "safelist_blocklist", "sender_blocklisted", "likely", kinds=("safelist",))],
         ["SLBL-BLOCKLIST-DROP"])

# ====================================================================== anti-spam
L = Log("2014-11-19 09:16:36")
L("New SMTP ICID 60140120 interface Data 1 (68.232.141.109) address 74.218.204.180 reverse dns host "
  "mta180.mailer.example verified yes", 1)
L("ICID 60140120 ACCEPT SG UNKNOWNLIST match sbrs[-0.5:10.0] SBRS 0.2")
L.envelope(24611411, 60140120, "promo@mailer.example", ["user1@mycompany.example"], "You have won", 19443)
L.policy(24611411)
L("ICID 60140120 close")
L("MID 24611411 interim verdict using engine: CASE spam positive", 1)
L("MID 24611411 using engine: CASE spam positive")
L("Message aborted MID 24611411 Dropped by CASE")
L("Message finished MID 24611411 done")
scenario("as_drop_positive", "Positive spam dropped: the four last lines are the complete real trace of a CRIBL 2014 "
         "spam-positive drop.", L, {"mid": 24611411},
         [E("dropped", "antispam", "spam_positive", kinds=("safelist", "submit_to_cisco", "mail_policy_bypass"),
            reason="spamdetected")],
         ["AS-DROP-GENERIC", "AS-DROP-POSITIVE", "AS-FIX-SAFELIST", "AS-FIX-SUBMIT", "AS-FIX-POLICY-BYPASS",
          "AS-FIX-SENDER"])

L = Log("2026-11-24 14:00:00")
L.connect(881001, "198.51.100.180", "smtp.webinar.example", "yes", sbrs="1.2")
L.envelope(6601, 881001, "events@webinar.example", ["ian@example.com"], "Webinar invitation", 30110)
L.policy(6601)
L("ICID 881001 close")
L("MID 6601 interim verdict using engine: CASE spam suspect", 1)
L("MID 6601 using engine: CASE spam suspect")
L("Message aborted MID 6601 Dropped by CASE")
L("Message finished MID 6601 done")
L.connect(881002, "198.51.100.180", "smtp.webinar.example", "yes", sbrs="1.2")
L.envelope(6602, 881002, "events@webinar.example", ["ian@example.com"], "Last seats", 28110)
L.policy(6602)
L("ICID 881002 close")
L("MID 6602 interim verdict using engine: CASE marketing", 1)
L("MID 6602 using engine: CASE marketing")
L("Message aborted MID 6602 Dropped by CASE")
L("Message finished MID 6602 done")
scenario("as_drop_suspect_and_marketing", "The mail policy drops suspected spam and marketing mail (CRIBL verdict "
         "lines 'CASE spam suspect', 'CASE marketing').", L, {"sender": "events@webinar.example"},
         [E("dropped", "antispam", "spam_suspect", kinds=("filter_exception", "safelist")),
          E("dropped", "antispam", "marketing_mail", kinds=("filter_exception", "safelist"))],
         ["AS-DROP-SUSPECT", "AS-DROP-MARKETING", "AS-FIX-SUSPECT-ACTION"])

L = Log("2022-01-28 07:42:58")
L.connect(37, "198.51.100.37", "mail.sender.example", "yes", sbrs="-0.3", country="Japan")
L.envelope(37, 37, "sales@sender.example", ["user@esa.example.local"], "test mail", 1802,
           msgid="2969c8$15@esa.example.local")
L.policy(37)
L("ICID 37 close")
L("MID 37 interim verdict using engine: CASE spam positive", 1)
L("MID 37 using engine: CASE spam positive")
L("ISQ: Tagging MID 37 for quarantine")
L("MID 37 interim AV verdict using Sophos CLEAN")
L("MID 37 antivirus negative")
L("MID 37 AMP file reputation verdict : SKIPPED (no attachment in message)")
L("MID 37 using engine: GRAYMAIL negative")
L("MID 37 Outbreak Filters: verdict negative")
L("MID 37 queued for delivery")
L("RPC Delivery start RCID 10 MID 37 to local IronPort Spam Quarantine")
L("ISQ: Quarantined MID 37", 1)
L("RPC Message done RCID 10 MID 37")
L("Message finished MID 37 done")
scenario("as_quarantine_local", "Positive spam to the local Spam Quarantine over RPC: the work-queue lines are the "
         "real JPCOMM 2022 flow.", L, {"mid": 37},
         [E("quarantined", "antispam", "spam_quarantined", kinds=("release_quarantine", "safelist", "submit_to_cisco"),
            reason="spamdetected")],
         ["AS-QUARANTINE-LOCAL", "AS-FIX-RELEASE", "AMP-CLEAN", "GRAY-NEGATIVE", "OF-NEGATIVE", "AV-NEGATIVE"])

L = Log("2014-11-19 09:16:39")
L("New SMTP ICID 60140290 interface Data 1 (68.232.141.109) address 207.46.163.21 reverse dns host "
  "mkto-sj100021.example verified yes", 1)
L("ICID 60140290 ACCEPT SG UNKNOWNLIST match sbrs[-0.5:10.0] SBRS 3.1")
L.envelope(24611424, 60140290, "207-TJZ-824.0.5556@potomac1050.mktomail.example", ["user6@mycompany.example"],
           "Webinar: Working Together 101", 19443)
L.policy(24611424)
L("ICID 60140290 close")
L("MID 24611424 interim verdict using engine: CASE marketing", 1)
L("MID 24611424 using engine: CASE marketing")
L("ISQ: Tagging MID 24611424 for quarantine")
L("MID 24611424 queued for delivery")
L("Delivery start DCID 6565554 MID 24611424 to RID [0] to offbox IronPort Spam Quarantine")
L("Message done DCID 6565554 MID 24611424 to RID [0] (external quarantine) ")
L("MID 24611424 RID [0] Response 'ok:  Message 30631622 accepted'")
L("Message finished MID 24611424 done")
scenario("as_quarantine_offbox", "Marketing mail delivered to the off-box (SMA) Spam Quarantine: the delivery lines "
         "are the real CRIBL 2014 trace, trailing space included. 'Message done' is not a delivery here.", L,
         {"mid": 24611424},
         [E("quarantined", "antispam", "spam_quarantined", kinds=("release_quarantine", "safelist"))],
         ["AS-QUARANTINE-OFFBOX"])

L = Log("2026-11-24 14:30:00")
L.connect(881010, "198.51.100.181", "mail.charity.example", "yes", sbrs="0.9")
L.envelope(6610, 881010, "appeal@charity.example", ["jack@example.com"], "Winter appeal", 22010)
L.policy(6610)
L("ICID 881010 close")
L("MID 6610 interim verdict using engine: CASE spam suspect", 1)
L("MID 6610 using engine: CASE spam suspect")
L("ISQ: Tagging MID 6610 for quarantine")
L("MID 6610 queued for delivery")
L("RPC connection to 127.0.0.1 failed RCID 52 MID 6610 (Connection refused)", 1)
scenario("as_quarantine_rpc_failed", "The hand-off to the local Spam Quarantine fails (S2W template 'RPC connection "
         "to $address failed').", L, {"mid": 6610},
         [E("deferred", "antispam", "spam_quarantine_unreachable", kinds=("retry_delivery",), reason="systemerror")],
         ["AS-QUARANTINE-RPC-FAILED", "AS-FIX-QUARANTINE-RPC"])

L = Log("2026-11-24 14:45:00")
L.connect(881020, "198.51.100.182", "mail.travel.example", "yes", sbrs="1.7")
L.envelope(6620, 881020, "bookings@travel.example", ["kate@example.com"], "Your itinerary", 52010)
L.policy(6620)
L("ICID 881020 close")
L("MID 6620 interim verdict using engine: CASE spam suspect", 1)
L("MID 6620 using engine: CASE spam suspect")
L("ISQ: Tagging MID 6620 for quarantine")
scenario("as_quarantine_tagged_log_ends", "Tagged for the Spam Quarantine, and the log ends before the hand-off.", L,
         {"mid": 6620}, [E("quarantined", "antispam", "spam_quarantined", "likely", kinds=("release_quarantine",))],
         ["AS-QUARANTINE-TAGGED"])

L = Log("2026-11-24 15:00:00")
L.connect(881030, "198.51.100.183", "mail.conference.example", "yes", sbrs="2.7")
L.envelope(6630, 881030, "cfp@conference.example", ["leo@example.com"], "Call for papers", 18010)
L.policy(6630)
L("ICID 881030 close")
L("MID 6630 interim verdict using engine: CASE spam suspect", 1)
L("MID 6630 using engine: CASE spam suspect")
L.clean(6630, spam=False)
L.deliver(6630, 9630, [0])
scenario("as_suspect_tagged_delivered", "Suspected spam with the action Deliver (subject tag): it reached the "
         "mailbox server.", L, {"mid": 6630},
         [E("delivered", "antispam", "spam_tagged_delivered", "likely", kinds=("fix_destination", "safelist",
                                                                               "submit_to_cisco"))],
         ["AS-TAGGED-DELIVERED", "AS-FIX-TAGGED"])

L = Log("2026-11-24 15:10:00")
L.connect(881040, "198.51.100.184", "mail.partner6.example", "yes", sbrs="5.5")
L.envelope(6640, 881040, "mia@partner6.example", ["ned@example.com"], "Design files", 455698)
L.policy(6640)
L("ICID 881040 close")
L("MID 6640 was too big (455698/120000) for scanning by CASE", 1)
L("MID 6640 CASE sent a poorly formatted response: <<garbage>>...")
L("MID 6640 was too big (455698/262144) for scanning by Outbreak Filters")
L("MID 6640 interim AV verdict using Sophos CLEAN")
L("MID 6640 antivirus negative")
L.deliver(6640, 9640, [0])
scenario("health_not_scanned_delivered", "Service health: the message was too big for anti-spam and Outbreak "
         "Filters and CASE answered garbage (S2W / CRIBL lines); it was delivered unscanned by those engines.", L,
         {"mid": 6640},
         [E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination", "raise_limit"))],
         ["AS-TOO-BIG", "AS-ENGINE-ERROR", "OF-TOO-BIG", "OF-FIX-SCAN-SIZE"])

# ====================================================================== graymail
L = Log("2026-11-24 15:30:00")
L.connect(881101, "198.51.100.190", "mail.social.example", "yes", sbrs="3.0")
L.envelope(6701, 881101, "notify@social.example", ["olga@example.com"], "You have 3 new connections", 22100)
L.auth_pass(6701, "notify@social.example")
L("MID 6701 SDR: Domains for which SDR is requested: reverse DNS host: mail.social.example, helo: mail.social.example, "
  "env-from: social.example, header-from: Not Present, reply-to: Not Present")
L("MID 6701 SDR: Consolidated Sender Threat Level: Neutral, Threat Category: N/A, Suspected Domain(s) : N/A (other "
  "reasons for verdict). Sender Maturity: 30 days (or greater) for domain: mail.social.example")
L.policy(6701)
L("ICID 881101 close")
L.clean(6701, gray=False, outbreak=False)
L("MID 6701 using engine: GRAYMAIL social_mail")
L("MID 6701 Outbreak Filters: verdict negative")
L.deliver(6701, 9701, [0])
L.connect(881102, "198.51.100.190", "mail.social.example", "yes", sbrs="3.0")
L.envelope(6702, 881102, "notify@social.example", ["olga@example.com"], "Weekly digest", 42100)
L.policy(6702)
L("ICID 881102 close")
L.clean(6702, gray=False, outbreak=False)
L("MID 6702 using engine: GRAYMAIL bulk_mail")
L("ISQ: Tagging MID 6702 for quarantine")
L("MID 6702 Outbreak Filters: verdict negative")
L("MID 6702 queued for delivery")
L("RPC Delivery start RCID 60 MID 6702 to local IronPort Spam Quarantine")
L("ISQ: Quarantined MID 6702", 1)
L("RPC Message done RCID 60 MID 6702")
L("Message finished MID 6702 done")
L.connect(881103, "198.51.100.190", "mail.social.example", "yes", sbrs="3.0")
L.envelope(6703, 881103, "notify@social.example", ["olga@example.com"], "Trending now", 32100)
L.policy(6703)
L("ICID 881103 close")
L.clean(6703, gray=False, outbreak=False)
L("MID 6703 using engine: GRAYMAIL marketing_mail")
L("Message aborted MID 6703 Dropped by GRAYMAIL")
L("Message finished MID 6703 done")
scenario("graymail_actions", "Graymail: social mail delivered with a tag, bulk mail quarantined, marketing mail "
         "dropped ('GRAYMAIL marketing_mail' is real, Elastic #6736; 'Dropped by GRAYMAIL' is INFERRED).", L,
         {"sender": "notify@social.example"},
         [E("delivered", "graymail", "graymail_tagged", "likely", kinds=("mail_policy_bypass", "fix_destination")),
          E("quarantined", "graymail", "graymail_quarantined", kinds=("release_quarantine", "safelist")),
          E("dropped", "graymail", "graymail_dropped", kinds=("mail_policy_bypass", "submit_to_cisco"))],
         ["AUTH-SPF-PASS", "AUTH-DMARC-PASS", "SDR-VERDICT-ACCEPTABLE", "GRAY-TAGGED-DELIVERED", "GRAY-QUARANTINE", "GRAY-DROP", "GRAY-FIX-POLICY", "GRAY-FIX-SAFELIST",
          "GRAY-FIX-RELEASE", "GRAY-FIX-SUBMIT", "GRAY-FIX-TAGGED"])

# ====================================================================== anti-virus
L = Log("2026-11-25 08:00:00")
L.connect(881201, "203.0.113.91", "infected-pc.isp.example", "no", sbrs="-0.9")
L.envelope(6801, 881201, "accounts@shipping.example", ["pia@example.com"], "Invoice overdue", 301884)
L.policy(6801)
L("ICID 881201 close")
L.clean(6801, av=False, amp=False, gray=False, outbreak=False)
L("MID 6801 interim AV verdict using Sophos VIRAL", 1)
L("MID 6801 antivirus positive 'CXmail/Phish-O'")
L("Message aborted MID 6801 Dropped by antivirus")
L("Message finished MID 6801 done")
scenario("av_positive_drop", "Anti-virus positive with the action Drop ('antivirus positive' S2W; the drop line "
         "follows Message Tracking's 'Dropped by antivirus').", L, {"mid": 6801},
         [E("dropped", "antivirus", "virus_detected", kinds=("none", "sender_fix"), reason="virusdetected")],
         ["AV-DROP", "AV-FIX-WORKING", "AV-FIX-SENDER"])

L = Log("2026-11-25 08:20:00")
L.connect(881210, "198.51.100.210", "mail.auditor.example", "yes", sbrs="4.8")
L.envelope(6810, 881210, "quinn@auditor.example", ["rae@example.com"], "Audit files (password by phone)", 1201884)
L.policy(6810)
L("ICID 881210 close")
L.clean(6810, av=False, amp=False, gray=False, outbreak=False)
L("MID 6810 antivirus encrypted", 1)
L("MID 6810 quarantined to \"Virus\" (a/v verdict:ENCRYPTED)")
L.connect(881211, "198.51.100.210", "mail.auditor.example", "yes", sbrs="4.8")
L.envelope(6811, 881211, "quinn@auditor.example", ["rae@example.com"], "Scanned contract", 8801884)
L.policy(6811)
L("ICID 881211 close")
L.clean(6811, av=False, amp=False, gray=False, outbreak=False)
L("MID 6811 interim AV verdict using Sophos UNSCANNABLE", 1)
L("MID 6811 antivirus unscannable")
L("MID 6811 quarantined to \"Virus\" (a/v verdict:UNSCANNABLE)")
L("MID 6811 deleted from quarantine \"Virus\" (expired) t=2592000", 2592000)
scenario("av_encrypted_unscannable_quarantine", "A password-protected archive (encrypted) held in the Virus "
         "quarantine, and an unscannable message that expired out of it.", L, {"sender": "quinn@auditor.example"},
         [E("quarantined", "antivirus", "av_encrypted", kinds=("release_quarantine", "sender_fix")),
          E("dropped", "antivirus", "quarantine_expired", kinds=("sender_fix",))],
         ["AV-QUARANTINE-ENCRYPTED", "AV-QUARANTINE-UNSCANNABLE", "AV-QUARANTINE-DELETED", "AV-QUARANTINE-EXPIRED",
          "AV-FIX-RELEASE", "AV-FIX-QUARANTINE-DELETED"])

L = Log("2026-11-25 08:40:00")
L.connect(881220, "203.0.113.92", "dsl-92.isp.example", "no", sbrs="-1.0")
L.envelope(6820, 881220, "hr@jobs.example", ["sue@example.com"], "CV", 201884)
L.policy(6820)
L("ICID 881220 close")
L.clean(6820, av=False, amp=False, gray=False, outbreak=False)
L("MID 6820 antivirus positive 'W32/Sober-P'", 1)
L("MID 6820 quarantined to \"Virus\" (a/v verdict:VIRAL)")
scenario("av_positive_quarantine", "An infected message held in the Virus quarantine.", L, {"mid": 6820},
         [E("quarantined", "antivirus", "virus_detected", kinds=("none", "sender_fix"))], ["AV-QUARANTINE-POSITIVE"])

L = Log("2026-11-25 09:00:00")
L.connect(881230, "198.51.100.230", "mail.oldpartner.example", "yes", sbrs="2.2")
L.envelope(6830, 881230, "tom@oldpartner.example", ["una@example.com"], "Old report", 401884)
L.policy(6830)
L("ICID 881230 close")
L.clean(6830, av=False, amp=False, gray=False, outbreak=False)
L("MID 6830 antivirus repaired 'W32/Zafi-D'", 1)
L.deliver(6830, 9830, [0])
L.connect(881231, "198.51.100.230", "mail.oldpartner.example", "yes", sbrs="2.2")
L.envelope(6831, 881231, "tom@oldpartner.example", ["una@example.com"], "Protected sheet", 401884)
L.policy(6831)
L("ICID 881231 close")
L.clean(6831, av=False, amp=False, gray=False, outbreak=False)
L("MID 6831 antivirus encrypted", 1)
L("sophos  antivirus - MID 6831 0 - Error - 'Encrypted' '0x8004021'")
L.deliver(6831, 9831, [0])
scenario("av_repaired_and_flagged_delivered", "A repaired message and an encrypted one whose policy action is "
         "'deliver as is' (tagged); the antivirus-log line is the real Elastic #6737 form.", L,
         {"sender": "tom@oldpartner.example"},
         [E("delivered", "antivirus", "virus_repaired", kinds=("sender_fix",)),
          E("delivered", "antivirus", "av_flagged_delivered", "likely", kinds=("fix_destination",))],
         ["AV-REPAIRED-DELIVERED", "AV-FLAGGED-DELIVERED", "AV-SCAN-LIMIT", "AV-FIX-TAGGED"])

# ====================================================================== AMP
L = Log("2019-09-18 16:17:30")
L.connect(1653, "203.0.113.160", "unknown", "no", sbrs="-2.1", country="Ukraine")
L.envelope(1653, 1653, "tracking@ups-delivery.example", ["vic@example.com"], "UPS Delivery Notification", 88120)
L.policy(1653)
L("ICID 1653 close")
L.clean(1653, amp=False, gray=False, outbreak=False)
L("MID 1653 AMP file reputation verdict : MALWARE", 1)
L("Message aborted MID 1653 Dropped by amp")
L("Message finished MID 1653 done")
scenario("amp_malware_drop", "AMP file reputation MALWARE and drop: the last three lines are a real 2019 trace.", L,
         {"mid": 1653}, [E("dropped", "amp", "amp_malware", kinds=("none", "sender_fix"), reason="virusdetected")],
         ["AMP-MALWARE-DROP", "AMP-FIX-WORKING", "AMP-FIX-SENDER"])

L = Log("2026-11-25 09:30:00")
L.connect(881301, "198.51.100.240", "mail.toolmaker.example", "yes", sbrs="1.0")
L.envelope(6901, 881301, "will@toolmaker.example", ["xavi@example.com"], "Installer", 3301884)
L.policy(6901)
L("ICID 881301 close")
L.clean(6901, amp=False, gray=False, outbreak=False)
L("Message aborted MID 6901 Dropped by amp", 1)
L("Message finished MID 6901 done")
L.connect(881302, "198.51.100.240", "mail.toolmaker.example", "yes", sbrs="1.0")
L.envelope(6902, 881302, "will@toolmaker.example", ["xavi@example.com"], "Macro template", 401884)
L.policy(6902)
L("ICID 881302 close")
L.clean(6902, amp=False, gray=False, outbreak=False)
L("MID 6902 AMP file reputation verdict : UNSCANNABLE", 1)
L("MID 6902 quarantined to \"File Analysis\" (AMP file analysis pending)")
L.connect(881303, "198.51.100.240", "mail.toolmaker.example", "yes", sbrs="1.0")
L.envelope(6903, 881303, "will@toolmaker.example", ["xavi@example.com"], "Driver", 501884)
L.policy(6903)
L("ICID 881303 close")
L.clean(6903, amp=False, gray=False, outbreak=False)
L("MID 6903 quarantined to \"File Analysis\" (AMP file analysis pending)", 1)
L("MID 6903 deleted from quarantine \"File Analysis\" (manual) t=600", 600)
L.connect(881304, "198.51.100.240", "mail.toolmaker.example", "yes", sbrs="1.0")
L.envelope(6904, 881304, "will@toolmaker.example", ["xavi@example.com"], "Firmware", 701884)
L.policy(6904)
L("ICID 881304 close")
L.clean(6904, amp=False, gray=False, outbreak=False)
L("MID 6904 quarantined to \"File Analysis\" (AMP file analysis pending)", 1)
L("MID 6904 deleted from quarantine \"File Analysis\" (expired) t=3600", 3600)
scenario("amp_file_analysis", "AMP: a drop whose verdict line is not in the log, a message held for File Analysis "
         "(the quarantine reason text is INFERRED), one deleted from that quarantine by an administrator and one "
         "deleted when it expired (quarantine default action Delete).", L,
         {"sender": "will@toolmaker.example"},
         [E("dropped", "amp", "amp_malware", kinds=("none",)),
          E("quarantined", "amp", "file_analysis_pending", kinds=("release_quarantine",), reason="onhold"),
          E("dropped", "amp", "quarantine_deleted", kinds=("none",)),
          E("dropped", "amp", "quarantine_expired", kinds=("none",))],
         ["AMP-DROP-GENERIC", "AMP-QUARANTINE-EXPIRED", "AMP-UNSCANNABLE", "AMP-FILE-ANALYSIS-QUARANTINE", "AMP-QUARANTINE-DELETED",
          "AMP-FIX-WAIT", "AMP-FIX-QUARANTINE-DELETED"])

# ====================================================================== content filters, outbreak, DLP
L = Log("2026-11-25 10:00:00")
L.connect(881401, "198.51.100.250", "mail.contractor.example", "yes", sbrs="3.6")
L.envelope(7001, 881401, "yan@contractor.example", ["zoe@example.com"], "Site photos", 12801884)
L.policy(7001)
L("ICID 881401 close")
L.clean(7001, outbreak=False)
L("MID 7001 was bounced by content filter 'bounce_big_attachments' in the inbound table", 1)
L("MID 7002 generated for bounce of MID 7001")
L.connect(881402, "198.51.100.250", "mail.contractor.example", "yes", sbrs="3.6")
L.envelope(7003, 881402, "yan@contractor.example", ["zoe@example.com"], "Bank details changed", 12884)
L.policy(7003)
L("ICID 881402 close")
L.clean(7003, outbreak=False)
L("MID 7003 quarantined to \"Policy\" (content filter:bank_details_change)", 1)
L.connect(881403, "198.51.100.250", "mail.contractor.example", "yes", sbrs="3.6")
L.envelope(7004, 881403, "yan@contractor.example", ["zoe@example.com"], "Bank details (again)", 12884)
L.policy(7004)
L("ICID 881403 close")
L.clean(7004, outbreak=False)
L("MID 7004 quarantined to \"Policy\" (content filter:bank_details_change)", 1)
L("MID 7004 deleted from quarantine \"Policy\" (expired) t=1209600", 1209600)
scenario("cf_bounce_quarantine_delete", "Content filters: a bounce (S2W 'was bounced by content filter'), a "
         "quarantine (CISCO-QA grammar), and a message deleted when its quarantine retention expired.", L,
         {"sender": "yan@contractor.example"},
         [E("bounced", "content_filter", "content_filter_bounce", kinds=("filter_exception",), reason="policyviolation"),
          E("quarantined", "content_filter", "content_filter_quarantine", kinds=("release_quarantine", "filter_exception")),
          E("dropped", "content_filter", "quarantine_expired", kinds=("filter_exception",))],
         ["CF-BOUNCE", "CF-QUARANTINE", "CF-FIX-RELEASE", "CF-QUARANTINE-DELETED", "CF-QUARANTINE-EXPIRED",
          "CF-FIX-QUARANTINE-DELETED"])

L = Log("2026-11-25 10:30:00")
L.connect(881501, "203.0.113.180", "mail.freightco.example", "yes", sbrs="0.6")
L.envelope(7101, 881501, "dispatch@freightco.example", ["amir@example.com"], "Shipment documents", 301120)
L.policy(7101)
L("ICID 881501 close")
L.clean(7101, outbreak=False)
L("MID 7101 Virus Threat Level=4", 1)
L("MID 7101 Outbreak Filters: verdict positive")
L("MID 7101 quarantined to \"Outbreak\" (VOF rule:OUTBREAK_0002231)")
L.connect(881502, "203.0.113.180", "mail.freightco.example", "yes", sbrs="0.6")
L.envelope(7102, 881502, "dispatch@freightco.example", ["amir@example.com"], "Shipment documents 2", 301120)
L.policy(7102)
L("ICID 881502 close")
L.clean(7102, outbreak=False)
L("MID 7102 Outbreak Filters: verdict positive", 1)
L("MID 7102 quarantined to \"Outbreak\" (VOF rule:.pif file in zip)")
L("MID 7102 quarantine \"Outbreak\" new reason (VOF rule:OUTBREAK_0000231)", 300)
L("MID 7102 deleted from quarantine \"Outbreak\" (expired) t=86400", 86100)
scenario("outbreak_quarantine", "Outbreak Filters: one message held in the Outbreak quarantine (threat level 4), "
         "one deleted when its retention expired (S2W VOF lines; 'verdict positive' from the CISCO-QA pattern).", L,
         {"sender": "dispatch@freightco.example"},
         [E("quarantined", "outbreak_filter", "outbreak_quarantine", kinds=("release_quarantine", "submit_to_cisco",
                                                                            "mail_policy_bypass")),
          E("dropped", "outbreak_filter", "quarantine_expired", kinds=("mail_policy_bypass",))],
         ["OF-QUARANTINE", "OF-POSITIVE", "OF-THREAT-LEVEL", "OF-QUARANTINE-DELETED", "OF-QUARANTINE-EXPIRED",
          "OF-FIX-RELEASE", "OF-FIX-SUBMIT", "OF-FIX-BYPASS", "OF-FIX-QUARANTINE-DELETED"])

L = Log("2026-11-25 11:00:00")
L("New SMTP ICID 881601 interface Internal (10.1.1.25) address 10.1.5.20 reverse dns host exch01.corp.example "
  "verified yes", 1)
L("ICID 881601 RELAY SG RELAYLIST match 10.1.5.0/24 SBRS not enabled country not enabled")
L.envelope(7201, 881601, "cfo@example.com", ["auditor@partner-audit.example"], "Card list Q4", 88120)
L.policy(7201, "DEFAULT", "outbound")
L("MID 7201 DLP violation. Severity: CRITICAL (Risk Factor: 91). DLP policy match: 'PCI-DSS (Payment Card "
  "Industry Data Security Standard)'.", 1)
L("MID 7201 quarantined to \"Policy\" (DLP:PCI-DSS)")
L.envelope(7202, 881601, "cfo@example.com", ["auditor@partner-audit.example"], "Card list Q4 (resent)", 88120)
L.policy(7202, "DEFAULT", "outbound")
L("MID 7202 DLP violation. Severity: CRITICAL (Risk Factor: 91). DLP policy match: 'PCI-DSS (Payment Card "
  "Industry Data Security Standard)'.", 1)
L("Message aborted MID 7202 Dropped by DLP")
L.envelope(7203, 881601, "cfo@example.com", ["auditor@partner-audit.example"], "Summary", 8120)
L.policy(7203, "DEFAULT", "outbound")
L("MID 7203 DLP violation. Severity: LOW (Risk Factor: 15). DLP policy match: 'PCI-DSS (Payment Card "
  "Industry Data Security Standard)'.", 1)
L.deliver(7203, 9903, [0], ip="203.0.113.250")
L("ICID 881601 close")
scenario("dlp_outgoing", "Outgoing DLP: a critical PCI violation quarantined, its resend dropped, and a low-severity "
         "one delivered (the violation line is real Elastic grammar; the quarantine reason and 'Dropped by DLP' "
         "are INFERRED).", L, {"sender": "cfo@example.com"},
         [E("quarantined", "dlp", "dlp_quarantine", "likely", kinds=("filter_exception", "release_quarantine")),
          E("dropped", "dlp", "dlp_drop", "likely", kinds=("filter_exception",)),
          E("delivered", "dlp", "dlp_delivered", "likely", kinds=("filter_exception",))],
         ["DLP-VIOLATION", "DLP-QUARANTINE", "DLP-DROP", "DLP-DELIVERED", "DLP-FIX-POLICY", "DLP-FIX-RELEASE"])

# ====================================================================== delivery
L = Log("2018-03-19 20:10:00")
L.connect(3160, "10.10.1.5", "unknown", "no", "ACCEPT", "None", "ALL", "not enabled", "not enabled",
          "Data Port (10.10.1.12)")
L.envelope(19410908, 3160, "WeiZhang@example.com", ["mcintosh@buttercupgames.com"], "Order status", 4940)
L.policy(19410908, "mail_policy_one")
L("ICID 3160 close")
L.clean(19410908)
L("MID 19410908 queued for delivery", 1)
L("New SMTP DCID 8414309 interface 10.10.1.12 address 10.10.1.25 port 25", 1)
L("Delayed: DCID 8414309 MID 19410908 From: <WeiZhang@example.com> To: <mcintosh@buttercupgames.com> RID 0 - 4.3.2 - "
  "Not accepting messages at this time ('421', ['4.3.2 try again later'])", 2)
L("Message 19410908 to RID [0] pending till Mon Mar 19 20:17:03 2018")
L("DCID 8414309 close")
L("New SMTP DCID 8414377 interface 10.10.1.12 address 10.10.1.25 port 25", 60)
L.deliver(19410908, 8414377, [0], ip="10.10.1.25", queued=False, new_dcid=False,
          response="'2.6.0 <op.zfdwolzf0ubsb2@mathew.cisco.com> [InternalId=79003599] Queued mail for delivery'")
scenario("dlv_delayed_then_delivered", "A 421 deferral (real SPLUNKDOC 2018 line) followed by a successful retry: "
         "the final state counts.", L, {"mid": 19410908},
         [E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination",))],
         ["DLV-DELAYED", "DLV-PENDING", "DLV-DELIVERED-RESPONSE"])

L = Log("2026-11-25 12:00:00")
L.connect(881701, "198.51.100.5", "mail.family.example", "yes", sbrs="3.3")
L.envelope(7301, 881701, "mum@family.example", ["bea@example.com"], "Photos", 2201884)
L.policy(7301)
L("ICID 881701 close")
L.clean(7301)
L("MID 7301 queued for delivery", 1)
L("New SMTP DCID 9731 interface 192.0.2.25 address 10.20.1.25 port 25", 1)
L("Delivery start DCID 9731 MID 7301 to RID [0]")
L("Delayed: DCID 9731 MID 7301 From: <mum@family.example> To: <bea@example.com> RID 0 - 4.1.0 - Unknown address "
  "error ('466', ['Mailbox temporarily full.'])[]", 2)
L("Message 7301 to RID [0] pending till Wed Nov 25 12:01:05 2026 [Default]")
L("DCID 9731 close")
scenario("dlv_delayed_mailbox_full", "The mailbox server defers: mailbox full (UG 'Soft Bounce' example, with its "
         "')[]' ending).", L, {"mid": 7301},
         [E("deferred", "delivery", "remote_mailbox_full", kinds=("fix_destination", "retry_delivery"),
            reason="mailboxfull")],
         ["DLV-DELAYED-MAILBOX-FULL", "DLV-FIX-DESTINATION", "DLV-FIX-RETRY"])

L = Log("2026-11-25 12:30:00")
L.connect(881710, "198.51.100.6", "mail.supplier7.example", "yes", sbrs="3.3")
L.envelope(7310, 881710, "ops@supplier7.example", ["cara@branch.example.com"], "Delivery slots", 12884)
L.policy(7310)
L("ICID 881710 close")
L.clean(7310)
L("MID 7310 queued for delivery", 1)
L("New SMTP DCID 9741 interface 192.0.2.25 address 10.30.1.25 port 25", 1)
L("Connection Error: DCID: 9741 IP: 10.30.1.25 details: EOF interface: 192.0.2.25 reason: network error", 30)
L("Delayed: DCID 9741 MID 7310 From: <ops@supplier7.example> To: <cara@branch.example.com> RID 0 - 4.4.0 - Other "
  "network problem ('000', ['[Errno 54] Connection reset by peer']) []")
L("Message 7310 to RID [0] pending till Wed Nov 25 12:32:32 2026 [Default]")
scenario("dlv_connection_error", "The branch mail server drops the connection (S2W Connection Error and "
         "'Other network problem' lines).", L, {"mid": 7310},
         [E("deferred", "delivery", "connection_failed", kinds=("fix_destination", "retry_delivery"),
            reason="networkerror")],
         ["DLV-CONNECTION-ERROR", "DLV-DELAYED-CONNECTION"])

L = Log("2026-11-25 13:00:00")
L.connect(881720, "198.51.100.7", "mail.supplier8.example", "yes", sbrs="3.3")
L.envelope(7320, 881720, "ops@supplier8.example", ["dan@structure.example"], "Quote", 12884,)
L.policy(7320, "DEFAULT", "outbound")
L("ICID 881720 close")
L.clean(7320, spam=False)
L("MID 7320 queued for delivery", 1)
L("Delayed: DCID 0 MID 7320 From: <ops@supplier8.example> To: <dan@structure.example> RID 0 - 4.4.3 - Temporary "
  "DNS error ('000', ['DNS Temporary Failure structure.example MX - ServFail'])", 5)
L("Message 7320 to RID [0] pending till Wed Nov 25 13:01:07 2026 [Default]")
scenario("dlv_dns_temporary", "The destination domain's DNS answers SERVFAIL: a soft bounce, retried. The 'DNS "
         "Temporary Failure' text is the S2W line; its place inside a Delayed line is INFERRED.", L, {"mid": 7320},
         [E("deferred", "delivery", "destination_dns_temporary", kinds=("fix_destination", "retry_delivery"))],
         ["DLV-DELAYED-DNS", "DLV-FIX-DNS"])

L = Log("2026-11-25 13:30:00")
L.connect(881730, "10.1.5.20", "exch01.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
L.envelope(7330, 881730, "legal@example.com", ["counsel@securelaw.example"], "Privileged", 72884)
L.policy(7330, "DEFAULT", "outbound")
L("ICID 881730 close")
L.clean(7330, spam=False, amp=False, gray=False)
L("MID 7330 queued for delivery", 1)
L("New SMTP DCID 9751 interface 192.0.2.25 address 203.0.113.30 port 25", 1)
L("Delivery start DCID 9751 MID 7330 to RID [0]")
L("DCID 9751 TLS failed: STARTTLS unexpected response")
L("DCID 9751 IP 203.0.113.30 TLS was required but could not be successfully negotiated")
L("DCID 9751 close")
L("Message 7330 to RID [0] pending till Wed Nov 25 13:32:33 2026 [Default]")
scenario("dlv_tls_required_failed", "Destination Controls require TLS for the law firm; negotiation fails (S2W "
         "DCID TLS lines).", L, {"mid": 7330},
         [E("deferred", "delivery", "outbound_tls_required_failed", kinds=("fix_destination", "retry_delivery"),
            reason="securityerror")], ["DLV-TLS-REQUIRED-FAILED", "DLV-FIX-TLS"])

L = Log("2026-11-25 14:00:00")
L.connect(881740, "198.51.100.8", "mail.supplier9.example", "yes", sbrs="3.3")
L.envelope(7340, 881740, "ops@supplier9.example", ["eli@example.com"], "Weekly report", 12884)
L.policy(7340)
L("ICID 881740 close")
L.clean(7340)
L("MID 7340 queued for delivery", 1)
scenario("dlv_still_queued", "Queued for delivery and nothing more in the logs: probably still in the queue.", L,
         {"mid": 7340}, [E("deferred", "delivery", "still_queued", "likely", kinds=("retry_delivery",), reason="onhold")],
         ["DLV-STILL-QUEUED"])

L = Log("2026-11-25 14:30:00")
L.connect(881750, "10.1.5.21", "exch02.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
L.envelope(7350, 881750, "sales@example.com", ["buyer@gmail.example", "ops@nx-typo.example",
                                               "old@partner.example", "ceo@strict.example"], "Offer", 32884)
L.policy(7350, "DEFAULT", "outbound")
L("ICID 881750 close")
L.clean(7350, spam=False)
L("MID 7350 queued for delivery", 1)
L("Bounced: DCID 0 MID 7350 From: <sales@example.com> To: <ops@nx-typo.example> RID 1 - 5.1.2 - Bad destination "
  "host ('000', ['DNS Hard Error looking up nx-typo.example (MX): NXDomain'])", 1)
L("New SMTP DCID 9761 interface 192.0.2.25 address 203.0.113.40 port 25", 1)
L("Delivery start DCID 9761 MID 7350 to RID [0]")
L("Bounced: DCID 9761 MID 7350 From: <sales@example.com> To: <buyer@gmail.example> RID 0 - 5.1.0 - Unknown address "
  "error ('550', ['5.1.1 The email account that you tried to reach does not exist. Please try', \"5.1.1 "
  "double-checking the recipient's email address for typos or\", '5.1.1 unnecessary spaces. Learn more at', "
  "'5.1.1  xxxxx ay44si12078156oib.94 - gsmtp'])", 1)
L("DCID 9761 close")
L("New SMTP DCID 9762 interface 192.0.2.25 address 203.0.113.41 port 25", 1)
L("Delivery start DCID 9762 MID 7350 to RID [2]")
L("Bounced: DCID 9762 MID 7350 From: <sales@example.com> To: <old@partner.example> RID 2 - 5.1.0 - Unknown address "
  "error ('550', ['<old@partner.example>... Relaying denied']) []", 1)
L("DCID 9762 close")
L("New SMTP DCID 9763 interface 192.0.2.25 address 203.0.113.42 port 25", 1)
L("Delivery start DCID 9763 MID 7350 to RID [3]")
L("Bounced: DCID 9763 MID 7350 From: <sales@example.com> To: <ceo@strict.example> RID 3 - 5.1.0 - Unknown address "
  "error ('554', ['5.7.1 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.example'])", 1)
L("DCID 9763 close")
L("MID 7351 generated for bounce of MID 7350")
L("Message finished MID 7350 done")
scenario("dlv_hard_bounces", "Outgoing message with four hard bounces: remote user unknown (real Elastic Gmail reply), "
         "NXDOMAIN (SPLUNKDOC grammar), relay denied (UG example) and a block by the destination's own filtering.",
         L, {"mid": 7350},
         [E("bounced", "delivery", "remote_user_unknown", kinds=("fix_destination", "sender_fix"),
            reason="userunknown", recipient="buyer@gmail.example"),
          E("bounced", "delivery", "destination_dns_error", kinds=("fix_destination", "sender_fix"),
            reason="hostunknown", recipient="ops@nx-typo.example"),
          E("bounced", "delivery", "remote_relay_denied", kinds=("smtp_route", "fix_destination"),
            reason="norelaying", recipient="old@partner.example"),
          E("bounced", "delivery", "remote_policy_block", kinds=("fix_destination",), reason="blocked",
            recipient="ceo@strict.example")],
         ["DLV-BOUNCED", "DLV-BOUNCED-USER-UNKNOWN", "DLV-BOUNCED-DNS", "DLV-BOUNCED-RELAY-DENIED",
          "DLV-BOUNCED-POLICY", "DLV-FIX-RECIPIENT", "DLV-FIX-ROUTE"])

L = Log("2026-11-25 15:00:00")
L.connect(881760, "10.1.5.21", "exch02.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
L.envelope(7360, 881760, "design@example.com", ["print@printshop.example", "info@smallbiz.example"], "Artwork",
           30884120)
L.policy(7360, "DEFAULT", "outbound")
L("ICID 881760 close")
L.clean(7360, spam=False)
L("MID 7360 queued for delivery", 1)
L("New SMTP DCID 9771 interface 192.0.2.25 address 203.0.113.50 port 25", 1)
L("Delivery start DCID 9771 MID 7360 to RID [0]")
L("Bounced: DCID 9771 MID 7360 From: <design@example.com> To: <print@printshop.example> RID 0 - 5.3.4 - Message "
  "too big ('552', ['5.3.4 Message size exceeds fixed maximum message size'])", 4)
L("DCID 9771 close")
L("New SMTP DCID 9772 interface 192.0.2.25 address 203.0.113.51 port 25", 1)
L("Delivery start DCID 9772 MID 7360 to RID [1]")
L("Bounced: DCID 9772 MID 7360 From: <design@example.com> To: <info@smallbiz.example> RID 1 - 5.1.0 - Unknown "
  "address error ('552', ['5.2.2 Mailbox full'])", 4)
L("DCID 9772 close")
L("Message finished MID 7360 done")
scenario("dlv_hard_bounces_size_and_quota", "Two more hard-bounce classes: message too big for the destination and "
         "a full mailbox.", L, {"mid": 7360},
         [E("bounced", "delivery", "remote_too_big", kinds=("sender_fix",), reason="mesgtoobig",
            recipient="print@printshop.example"),
          E("bounced", "delivery", "remote_mailbox_full", kinds=("fix_destination",), reason="mailboxfull",
            recipient="info@smallbiz.example")],
         ["DLV-BOUNCED-TOO-BIG", "DLV-BOUNCED-MAILBOX-FULL", "DLV-FIX-TOO-BIG"])

L = Log("2018-03-16 20:15:00")
L.connect(3170, "10.10.1.5", "unknown", "no", "RELAY", "RELAYLIST", "10.10.1.0/24", "not enabled", "not enabled",
          "Data Port (10.10.1.12)")
L.envelope(19338947, 3170, "MariaDubois@example.com", ["zecora@buttercupgames.com"], "Proposal", 12884)
L.policy(19338947, "DEFAULT", "outbound")
L("ICID 3170 close")
L.clean(19338947, spam=False)
L("MID 19338947 queued for delivery", 1)
L("New SMTP DCID 8413617 interface 10.10.1.12 address 203.0.113.60 port 25", 60)
L("Connection Error: DCID: 8413617 IP: 203.0.113.60 details: timeout interface: 10.10.1.12 reason: connection "
  "timed out", 30)
L("Bounced: DCID 8413617 MID 19338947 From: <MariaDubois@example.com> To: <zecora@buttercupgames.com> RID 0 - 5.4.7 - "
  "Delivery expired (message too old) ('000', ['timeout'])", 259100)
L("Message finished MID 19338947 done")
scenario("dlv_expired", "Every attempt for 72 hours failed: the bounce profile expired the message (real SPLUNKDOC "
         "'Delivery expired (message too old)' line).", L, {"mid": 19338947},
         [E("bounced", "delivery", "delivery_expired", kinds=("fix_destination", "raise_limit"), reason="expired")],
         ["DLV-BOUNCED-EXPIRED", "DLV-FIX-BOUNCE-PROFILE"])

L = Log("2026-11-25 16:00:00")
L.connect(881780, "10.1.5.21", "exch02.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
L.envelope(7380, 881780, "it@example.com", ["vendor@flaky-mx.example"], "License file", 12884)
L.policy(7380, "DEFAULT", "outbound")
L.envelope(7381, 881780, "it@example.com", ["vendor@flaky-mx.example"], "License file (2)", 12884)
L.policy(7381, "DEFAULT", "outbound")
L("ICID 881780 close")
L.clean(7380, spam=False)
L.clean(7381, spam=False)
L("MID 7380 queued for delivery", 1)
L("MID 7381 queued for delivery")
L("New SMTP DCID 9781 interface 192.0.2.25 address 203.0.113.70 port 25", 1)
L("Delivery start DCID 9781 MID 7380 to RID [0]")
L("Possible Delivery: DCID 9781 MID 7380 to RID [0]", 60)
L("DCID 9781 close")
L("Deleted: MID 7381 to RID [0]", 600)
L("Double bounce: MID 7382 to RID 0 - 5.1.1 - Bad destination email address", 1)
scenario("dlv_possible_and_deleted", "A possible delivery (connection lost after the data), and a queued copy an "
         "administrator deleted with deleterecipients (S2W lines).", L, {"sender": "it@example.com"},
         [E("delivered", "delivery", "possible_delivery", "possible", kinds=("fix_destination",)),
          E("dropped", "delivery", "deleted_from_queue", kinds=("none",))],
         ["DLV-POSSIBLE-DELIVERY", "DLV-DELETED-FROM-QUEUE", "DLV-FIX-DELETED"])

L = Log("2026-11-25 16:30:00")
L.connect(881790, "198.51.100.9", "mail.newsletter9.example", "yes", sbrs="1.3")
L.envelope(7390, 881790, "digest@newsletter9.example", ["fred@example.com"], "Industry digest", 42884)
L.policy(7390)
L("ICID 881790 close")
L("MID 7390 interim verdict using engine: CASE spam suspect", 1)
L("MID 7390 using engine: CASE spam suspect")
L("ISQ: Tagging MID 7390 for quarantine")
L("MID 7390 queued for delivery")
L("RPC Delivery start RCID 70 MID 7390 to local IronPort Spam Quarantine")
L("ISQ: Quarantined MID 7390", 1)
L("RPC Message done RCID 70 MID 7390")
L("Message finished MID 7390 done")
L("ISQ: Reinjected MID 7390 as MID 7391", 5400)
L("Start MID 7391 ICID 0")
L("MID 7391 ICID 0 From: <digest@newsletter9.example>")
L("MID 7391 ICID 0 RID 0 To: <fred@example.com>")
L("MID 7391 ready 42884 bytes from <digest@newsletter9.example>")
L.deliver(7391, 9791, [0])
scenario("dlv_released_from_spam_quarantine", "Suspected spam quarantined, then released by the recipient and "
         "reinjected as a new MID (S2W 'EUQ: Reinjected' grammar, ISQ prefix as in 2022), which is delivered: one "
         "answer for the message, delivered (the final state counts), told by both MIDs; the safelist still "
         "answers the quarantine, the retry no longer applies.", L, {"mid": 7390},
         [E("delivered", "delivery", "delivered_downstream", kinds=("safelist", "fix_destination"), mid=7391)],
         ["DLV-RELEASED-SPAM-QUARANTINE", "DLV-DELIVERED"])

L = Log("2026-11-25 16:40:00")
L.connect(881795, "198.51.100.9", "mail.newsletter9.example", "yes", sbrs="1.3")
L.envelope(7392, 881795, "digest@newsletter9.example", ["gail@example.com"], "Industry digest", 42884)
L.policy(7392)
L("ICID 881795 close")
L("MID 7392 interim verdict using engine: CASE spam suspect", 1)
L("MID 7392 using engine: CASE spam suspect")
L("ISQ: Tagging MID 7392 for quarantine")
L("MID 7392 queued for delivery")
L("RPC Delivery start RCID 71 MID 7392 to local IronPort Spam Quarantine")
L("ISQ: Quarantined MID 7392", 1)
L("RPC Message done RCID 71 MID 7392")
L("Message finished MID 7392 done")
L("ISQ: Reinjected MID 7392 as MID 7393", 5400)
scenario("dlv_released_follow_on_missing", "Suspected spam quarantined, released and reinjected as MID 7393, but "
         "the logs end there: the new MID is not in them, so the answer stays the release (deferred, possible) "
         "and says which logs to add.", L, {"mid": 7392},
         [E("deferred", "delivery", "released_from_spam_quarantine", "possible", kinds=("safelist",), mid=7392)],
         ["DLV-RELEASED-SPAM-QUARANTINE"])


L = Log("2014-11-19 09:16:42")
L("New SMTP ICID 60140301 interface Data 1 (68.232.141.109) address 209.85.220.69 reverse dns host "
  "mail-sor-f69.google.example verified yes", 1)
L("ICID 60140301 ACCEPT SG UNKNOWNLIST match sbrs[-0.5:10.0] SBRS 4.2")
L.envelope(24611507, 60140301, "friend@gmail.example", ["user36@mycompany.example", "user37@mycompany.example"],
           "Weekend", 5443)
L.policy(24611507)
L("ICID 60140301 close")
L("MID 24611507 was split creating MID 24611528 due to a SL/BL configuration for following recipients: "
  "user37@mycompany.example", 1)
L("MID 24611507 interim verdict using engine: CASE spam negative")
L("MID 24611507 using engine: CASE spam negative")
L("MID 24611528 interim verdict using engine: SLBL spam negative")
L.clean(24611507, spam=False)
L.clean(24611528, spam=False)
L.deliver(24611507, 6565601, [0])
L.deliver(24611528, 6565602, [0])
scenario("slbl_split_delivered", "A message split because one recipient has an end-user safelist/blocklist "
         "entry (real CRIBL 'split ... due to a SL/BL configuration' and 'SLBL spam negative' lines); the original "
         "and the split-off MID are both delivered: user37's answer follows its recipient to the split-off MID.",
         L, {"mid": 24611507},
         [E("delivered", "delivery", "delivered_downstream", recipient="user36@mycompany.example", mid=24611507),
          E("delivered", "delivery", "delivered_downstream", recipient="user37@mycompany.example", mid=24611528)],
         ["SLBL-NOT-BLOCKLISTED", "SLBL-SPLIT"])

L = Log("2026-11-25 17:00:00")
L("Start MID 7395 ICID 0", 1)
L("MID 7395 generated for bounce of MID 7394")
L("MID 7395 ICID 0 From: <>")
L("MID 7395 ICID 0 RID 0 To: <forged-sender@spoofed.example>")
L("MID 7395 ready 3120 bytes from <>")
L("MID 7395 queued for delivery")
L("New SMTP DCID 9795 interface 192.0.2.25 address 203.0.113.95 port 25", 1)
L("Delivery start DCID 9795 MID 7395 to RID [0]")
L("Bounced: DCID 9795 MID 7395 From: <> To: <forged-sender@spoofed.example> RID 0 - 5.1.0 - Unknown address error "
  "('550', ['5.1.1 <forged-sender@spoofed.example>: Recipient address rejected: User unknown'])", 1)
L("Double bounce: MID 7395 to RID 0 - 5.1.1 - Bad destination email address")
L("DCID 9795 close")
L("Message finished MID 7395 done")
scenario("dlv_double_bounce", "A bounce this appliance generated could not be delivered either: the original "
         "sender was forged (S2W 'Double bounce' grammar).", L, {"mid": 7395},
         [E("bounced", "delivery", "remote_user_unknown", kinds=("fix_destination",), reason="userunknown")],
         ["DLV-DOUBLE-BOUNCE"])

L = Log("2026-11-25 17:30:00")
L("Your \"IronPort Anti-Spam\" key will expire in under 60 day(s). Please contact your authorized Cisco sales "
  "representative.", 0, "Warning")
L("Your \"Sophos Anti-Virus\" key will expire in under 30 day(s). Please contact your authorized Cisco sales "
  "representative.", 1, "Warning")
L("SHA256: 69e17e213732da0d0cbc48ae7030a4a18e0c1289f510e8b139945787f67692a5,Timestamp[1454959409] details[Server "
  "Response HTTP code:[502]]", 1)
L.connect(881800, "198.51.100.99", "mail.weekly.example", "yes", sbrs="2.0")
L.envelope(7400, 881800, "team@weekly.example", ["gail@example.com"], "Weekly update", 8120)
L.policy(7400)
L("ICID 881800 close")
L.clean(7400)
L("MID 7400 queued for delivery", 1)
L("Deliveries are currently suspended [example.com]", 1)
scenario("health_appliance_context", "Appliance-wide service health lines (Elastic samples: feature key expiry, AMP "
         "cloud HTTP 502, suspended deliveries) around a message that stays queued. The health lines carry no "
         "ICID/MID; the engine attaches them to the cases of the same hour. Asked by time window.", L,
         {"since": "2026-11-25 17:00", "until": "2026-11-25 18:00"},
         [E("deferred", "delivery", "still_queued", "likely", kinds=("retry_delivery",))],
         ["AS-KEY-EXPIRY", "AV-KEY-EXPIRY", "AMP-CLOUD-ERROR", "DLV-SUSPENDED"])

# ====================================================================== more receipt and delivery situations
L = Log("2026-11-25 18:00:00")
L.connect(881900, "198.51.100.199", "slow-mta.example", "yes", sbrs="0.8")
L("ICID 881900 disconnected address 198.51.100.199, no messages injected within timeout period", 300)
L("ICID 881900 close")
L("New SMTP ICID 881901 interface Data 1 (192.0.2.25) address 198.51.100.199 reverse dns host unknown verified no",
  461)
L("ICID 881901 Connection from 198.51.100.199 on interface Data 1 (192.0.2.25) lost after 139 seconds (DNS query "
  "took 139 seconds), before any commands were received", 139)
scenario("hat_idle_and_slow_dns", "A client that connects and sends nothing until the timeout, then a connection "
         "lost while the appliance's DNS lookups took 139 s (S2W lines).", L, {"ip": "198.51.100.199"},
         [E("rejected", "hat", "idle_timeout", kinds=("sender_fix",), reason="networkerror"),
          E("rejected", "hat", "slow_dns_lookup", kinds=("fix_destination",), reason="networkerror")],
         ["HAT-IDLE-TIMEOUT", "HAT-LOST-SLOW-DNS"])

L = Log("2026-11-25 18:30:00")
L.connect(881910, "10.1.5.21", "exch02.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
L.envelope(7410, 881910, "marketing@example.com", ["former.customer@client.example"], "Spring catalogue", 42884)
L.policy(7410, "DEFAULT", "outbound")
L("ICID 881910 close")
L.clean(7410, spam=False)
L("MID 7410 queued for delivery", 1)
L("MID 7410 Global unsubscribe matched entry former.customer@ RID 0 Address former.customer@client.example Action "
  "bounced")
L("MID 7411 generated for bounce of MID 7410")
L("Message finished MID 7410 done")
scenario("dlv_global_unsubscribe", "An outgoing recipient on the Global Unsubscribe list (S2W line).", L,
         {"mid": 7410}, [E("bounced", "delivery", "global_unsubscribe", kinds=("filter_exception",), reason="suspend")],
         ["DLV-GLOBAL-UNSUBSCRIBE", "DLV-FIX-UNSUBSCRIBE"])

L = Log("2026-11-25 19:00:00")
L.connect(881920, "203.0.113.181", "mail.freightco2.example", "yes", sbrs="0.6")
L.envelope(7420, 881920, "dispatch@freightco2.example", ["nora@example.com"], "Customs papers", 301120)
L("MID 7420 URL http://track.freightco2.example/r/88 has reputation -6.2 matched Action: URL defanged")
L.policy(7420)
L("ICID 881920 close")
L.clean(7420, outbreak=False)
L("MID 7420 Outbreak Filters: verdict positive", 1)
L("MID 7420 quarantined to \"Outbreak\" (VOF rule:OUTBREAK_0002240)")
L("MID 7420 released (attachments stripped) from quarantine \"Outbreak\" (queue full) t=190", 190)
L.deliver(7420, 9920, [0])
scenario("outbreak_released_stripped_delivered", "Outbreak quarantine released on overflow with attachments "
         "stripped, a defanged URL (CISCO-QA and S2W lines), then delivered: the final state counts, the context "
         "explains the missing attachment and the broken link.", L, {"mid": 7420},
         [E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination",))],
         ["DLV-RELEASED-STRIPPED", "CF-URL-ACTION", "OF-QUARANTINE"])

# ====================================================================== DHAP, listener limits, Destination Controls (issue 3)
L = Log("2026-11-26 09:00:00")
L.connect(882000, "203.0.113.66", "mta7.listmailer.example", "yes", sg="SUSPECTLIST", rule="sbrs[-3.0:-1.0]",
          sbrs="-1.4")
L("Start MID 7500 ICID 882000", 1)
L("MID 7500 ICID 882000 From: <news@listmailer.example>")
for i, addr in enumerate(("j.miller", "jmiller", "john.miller", "miller.j")):
    L(f"MID 7500 ICID 882000 To: <{addr}@example.com> Rejected by LDAPACCEPT", 1 if i else 0)
L("LDAP: Dropping connection due to potential Directory Harvest Attack from host=('203.0.113.66', "
  "'mta7.listmailer.example'), dhap_limit=4, sender_group=SUSPECTLIST, listener=IncomingMail, "
  "reverse_dns=mta7.listmailer.example", level="Warning")
L("ICID 882000 close")
scenario("hat_dhap_dropped", "A list sender guesses four addresses; LDAP accept refuses them and DHAP (limit 4 per "
         "hour on SUSPECTLIST) drops the connection. DHAP grammar: TechNote 118936 ('LDAP: Dropping connection due "
         "to potential Directory Harvest Attack from host=(...), dhap_limit=4, sender_group=SUSPECTLIST') plus the "
         "listener=/reverse_dns= tail of the Cisco community thread 863009 line; the line names no ICID, so the "
         "rule ties it to the connection by IP (likely).", L, {"mid": 7500},
         [E("rejected", "hat", "dhap_limit", "likely", kinds=("ldap_fix", "raise_limit", "sender_fix"),
            reason="blocked", recipient=f"{a}@example.com")
          for a in ("j.miller", "jmiller", "john.miller", "miller.j")],
         ["HAT-DHAP-DROPPED", "HAT-FIX-DHAP", "HAT-FIX-DHAP-SENDER", "HAT-FIX-DHAP-DIRECTORY", "LDAP-ACCEPT-CONVERSATIONAL"])

L = Log("2026-11-26 09:15:00")
L.connect(882005, "203.0.113.68", "203-0-113-68.cust.mailer.example", "yes", sg="SUSPECTLIST",
          rule="sbrs[-3.0:-1.0]", sbrs="-2.1")
L("Start MID 7505 ICID 882005", 1)
L("MID 7505 ICID 882005 From: <promo@mailer.example>")
L("MID 7505 ICID 882005 To: <admin@example.com> Rejected by RAT", 1)
L("MID 7505 ICID 882005 To: <root@example.com> Rejected by RAT", 1)
L("Dropping connection due to potential Directory Harvest Attack from host=('203.0.113.68', "
  "'203-0-113-68.cust.mailer.example'), dhap_limit=10, sender_group=SUSPECTLIST, listener=IncomingMail, "
  "reverse_dns=203-0-113-68.cust.mailer.example", level="Warning")
L("ICID 882005 close")
scenario("hat_dhap_connection_by_ip", "Asked by IP: the connection a host lost to DHAP after refused recipients (the "
         "hour's earlier invalid recipients are in older logs). DHAP line in the grammar of the Cisco community "
         "thread 863009 sample (no LDAP prefix, listener= and reverse_dns=); it names no ICID, so the rule ties it to "
         "the message's connection by IP (likely). Asking by IP gives the message the connection carried, one "
         "finding per refused recipient.", L, {"ip": "203.0.113.68"},
         [E("rejected", "hat", "dhap_limit", "likely", kinds=("raise_limit", "sender_fix"), reason="blocked",
            icid=882005, recipient="admin@example.com"),
          E("rejected", "hat", "dhap_limit", "likely", kinds=("raise_limit", "sender_fix"), reason="blocked",
            icid=882005, recipient="root@example.com")],
         ["HAT-DHAP-DROPPED", "HAT-FIX-DHAP", "HAT-FIX-DHAP-SENDER"])

L = Log("2026-11-26 09:30:00")
L.connect(882010, "203.0.113.67", "bulk2.listmailer.example", "yes", sg="SUSPECTLIST", rule="sbrs[-3.0:-1.0]",
          sbrs="-1.2")
L("Start MID 7510 ICID 882010", 1)
L("MID 7510 ICID 882010 From: <offers@listmailer.example>")
L("MID 7510 ICID 882010 To: <sales-team@example.com> Rejected by RAT", 1)
L("MID 7510 ICID 882010 To: <info@example.org> Rejected by RAT", 1)
L("Potential Directory Harvest Attack from host=203.0.113.67, dhap_limit=2, sender_group=SUSPECTLIST",
  level="Warning")
L("ICID 882010 close", 2)
scenario("hat_dhap_detected", "Two recipients refused by the RAT; the appliance logs a potential Directory Harvest "
         "Attack but keeps the connection. The DHAP line is built from the qlogmsgs template of esa-pipeline.md "
         "§14 (no real sample of this wording): the RAT refusal is the answer, DHAP a cause beside it.", L,
         {"mid": 7510},
         [E("rejected", "rat", "recipient_not_accepted", recipient="sales-team@example.com"),
          E("rejected", "rat", "recipient_not_accepted", recipient="info@example.org")],
         ["RAT-REJECT", "HAT-DHAP-DETECTED"])

L = Log("2026-11-26 10:00:00")
L.connect(882021, "198.51.100.120", "out3.bigsender.example", "yes", sbrs="4.6")
L("System limit reached: connection limit for IP 198.51.100.120 on listener IncomingMail ICID 882021: max: 10")
L("ICID 882021 close")
L("SMTP connection rejected on interface Data 1 address 198.51.100.120", 1)
scenario("hat_system_limit", "A bulk sender opens more parallel connections than its mail flow policy allows (its "
         "other connections are earlier in the log): one connection is refused at the per-IP limit, another by the "
         "listener before it gets an ICID. The 'System limit reached' and 'connection rejected on interface' lines "
         "are built from the qlogmsgs templates of esa-pipeline.md §14 (no real sample).", L,
         {"ip": "198.51.100.120"},
         [E("rejected", "hat", "connection_limit", kinds=("raise_limit", "sender_fix"), reason="toomanyconn",
            icid=882021)],
         ["HAT-SYSTEM-LIMIT", "HAT-LISTENER-REJECTED", "HAT-FIX-LISTENER-CONCURRENCY", "HAT-FIX-CONNECTIONS"])

L = Log("2026-11-26 10:15:00")
L.connect(882025, "198.51.100.125", "relay.agency.example", "yes", sbrs="2.8")
L("Start MID 7525 ICID 882025", 1)
L("MID 7525 ICID 882025 From: <events@agency.example>")
L("MID 7525 ICID 882025 RID 0 To: <anna@example.com>")
L("ICID 882025 Receiving Failed: Too Many Recipients", 1)
L("ICID 882025 close")
L.connect(882026, "198.51.100.125", "relay.agency.example", "yes", sbrs="2.8")
L("Start MID 7526 ICID 882026", 1)
L("MID 7526 ICID 882026 From: <events@agency.example>")
L("MID 7526 ICID 882026 To: <former.staff@example.com> Rejected by RAT")
L("ICID 882026 Receiving Failed: No recipients specified", 1)
L("ICID 882026 close")
scenario("hat_receiving_limits", "One host's message is cut off at the policy's recipients-per-message limit, and "
         "its next message has no accepted recipient. The 'Receiving Failed' reasons are the qlogmsgs templates of "
         "esa-pipeline.md §14 (no real sample of these two). The second message's answer is its recipient's RAT "
         "refusal; 'No recipients specified' is the consequence the HAT rule records beside it.", L,
         {"ip": "198.51.100.125"},
         [E("rejected", "hat", "session_limit", kinds=("raise_limit",), reason="toomanyconn", icid=882025),
          E("rejected", "rat", "recipient_not_accepted", recipient="former.staff@example.com")],
         ["HAT-RECEIVING-SESSION-LIMIT", "HAT-RECEIVING-NO-RECIPIENTS", "HAT-FIX-SESSION-LIMIT",
          "HAT-FIX-NO-RECIPIENTS"])

L = Log("2026-11-26 10:30:00")
L.connect(882030, "10.1.5.22", "exch03.corp.example", "yes", "RELAY", "RELAYLIST", "10.1.5.0/24", "not enabled",
          "not enabled", "Internal (10.1.1.25)")
L.envelope(7530, 882030, "joe@exch03.corp.example", ["buyer@retailer.example"], "Price list", 88210)
L("MID 7530 masquerading envelope sender from 'joe@exch03.corp.example' to 'joe@example.com'")
L.policy(7530, "DEFAULT", "outbound")
L("ICID 882030 close")
L.clean(7530, spam=False)
L("MID 7530 queued for delivery", 1)
L("Maximum outbound connections 20 reached for retailer.example", 1)
L("Delivery to retailer.example Data 1 throttled by recipient limit", 30)
scenario("dlv_destination_controls", "An outgoing message, its envelope sender masqueraded, waits in the queue while "
         "this appliance's Destination Controls for the recipient domain are at their connection and recipient "
         "limits. Masquerading and Destination Controls lines are built from the qlogmsgs templates of "
         "esa-pipeline.md §14 (no real sample).", L, {"mid": 7530},
         [E("deferred", "delivery", "still_queued", "likely", kinds=("fix_destination", "retry_delivery"))],
         ["DLV-DESTINATION-LIMIT", "SV-MASQUERADED"])

L = Log("2026-11-26 11:00:00")
L.connect(882040, "198.51.100.140", "mail.newsletter10.example", "yes", sbrs="1.1")
L.envelope(7540, 882040, "digest@newsletter10.example", ["gail@example.com"], "Weekly digest", 40210)
L.policy(7540)
L("ICID 882040 close")
L("MID 7540 interim verdict using engine: CASE spam suspect", 1)
L("MID 7540 using engine: CASE spam suspect")
L("ISQ: Tagging MID 7540 for quarantine")
L("MID 7540 queued for delivery")
L("RPC Delivery start RCID 71 MID 7540 to local IronPort Spam Quarantine")
L("ISQ: Quarantined MID 7540", 1)
L("RPC Message done RCID 71 MID 7540")
L("Message finished MID 7540 done")
L("EUQ: Released MID 7540 to gail@example.com", 3600)
scenario("dlv_released_euq_no_reinjection", "Suspected spam in the Spam Quarantine, released by the recipient; the "
         "log ends before the reinjected MID. The 'EUQ: Released MID' line is built from the qlogmsgs template of "
         "esa-pipeline.md §14 (no real sample).", L, {"mid": 7540},
         [E("deferred", "delivery", "released_from_spam_quarantine")],
         ["DLV-RELEASED-EUQ"])

# ====================================================================== consolidated event logs (CEF, 14.x+)
def cef(stamp: str, version: str, mid: int, icid: int, sender: str, rcpt: str, ip: str, act: str, details: str,
        verdicts: str, subject: str) -> str:
    return (f"<166>{stamp} consolidated_event: CEF:0|Cisco|C100V Email Security Virtual Appliance|{version}|"
            f"ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|deviceExternalId={SERIAL} ESAMID={mid} "
            f"ESAICID={icid} {verdicts} endTime=Tue Nov 24 {stamp[7:]} 2026 dvc=192.0.2.25 "
            f"startTime=Tue Nov 24 {stamp[7:]} 2026 deviceInboundInterface=IncomingMail ESAMailFlowPolicy=ACCEPT "
            f"suser={sender} cs1Label=MailPolicy cs1=DEFAULT act={act}"
            + (f" ESAFinalActionDetails={details}" if details else "")
            + f" duser={rcpt} cfp1Label=SBRSScore cfp1=1.2 ESASenderGroup=UNKNOWNLIST sourceAddress={ip} msg='{subject}'")


class Syslog:
    """Syslog-pushed lines (no year, no Begin Logfile header): explain needs --year."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines


V = ("ESAAMPVerdict=SKIPPED ESAASVerdict={as_} ESAAVVerdict=NEGATIVE ESACFVerdict=NO_MATCH ESADLPVerdict=NOT_EVALUATED "
     "ESAGMVerdict=NEGATIVE ESAMFVerdict=NOT_EVALUATED ESAOFVerdict=NEGATIVE")
L = Syslog([
    cef("Nov 24 16:40:02", "14.2.0-620", 8801, 990101, "promo@deals.example", "kim@example.com", "198.51.100.88",
        "QUARANTINED", "To SPAM", V.format(as_="POSITIVE"), "Deal of the day"),
    cef("Nov 24 16:41:10", "14.2.0-620", 8802, 990102, "noreply@invoices.example", "kim@example.com", "198.51.100.89",
        "DELIVERED", "", V.format(as_="NEGATIVE"), "Your invoice"),
    cef("Nov 24 16:42:30", "14.2.0-620", 8803, 990103, "sender@slowlink.example", "kim@example.com", "198.51.100.90",
        "ABORTED", "Receiving aborted by sender", V.format(as_="NOT_EVALUATED").replace("SKIPPED", "NOT_EVALUATED"),
        ""),
])
scenario("cef_consolidated_events", "AsyncOS 14+ Consolidated Event Logs only (syslog-pushed CEF, grammar of the "
         "Elastic samples, values ours): one message in the Spam Quarantine, one delivered, one whose receipt the "
         "sender aborted.", L, {"recipient": "kim@example.com", "year": 2026},
         [E("quarantined", "antispam", "spam_quarantined", kinds=("release_quarantine",)),
          E("delivered", "delivery", "delivered_downstream", kinds=("fix_destination",)),
          E("rejected", "hat", "receiving_aborted", kinds=("sender_fix",))],
         ["AS-CEF-QUARANTINED-SPAM", "DLV-CEF-DELIVERED", "HAT-CEF-ABORTED"])

# ====================================================================== bounce text only (--ndr), no logs
NDR_SCENARIOS: list[dict] = []


def ndr_scenario(name: str, description: str, text: str, expect: dict, fires: list[str]) -> None:
    NDR_SCENARIOS.append({"name": name, "description": description, "query": {"ndr": text}, "expect": [expect],
                          "fires": fires})


ndr_scenario("ndr_hat_poor_reputation", "Only the bounce the sender forwarded: the ESA's HAT reject text "
             "(TechNote 200436 / esa-admin-notes.txt wording).",
             "mail.company.example: 554-mail.company.example 554 Your access to this mail system has been rejected "
             "due to the sending MTA's poor reputation. If you believe that this failure is in error, please contact "
             "the intended recipient via alternate means.",
             E("rejected", "hat", "poor_sender_reputation", "likely", kinds=("hat_allowlist", "sender_fix")),
             ["HAT-NDR-SBRS", "HAT-FIX-SBRS-GROUP"])
ndr_scenario("ndr_hat_rate_limit", "Bounce text with the 452 rate-limit reply (text observed, not a documented "
             "default).", "452 Too many recipients received this hour",
             E("rejected", "hat", "rate_limited", "likely", kinds=("raise_limit",)), ["HAT-NDR-THROTTLE"])
ndr_scenario("ndr_hat_tls_required", "Bounce text: STARTTLS required.", "530 5.7.0 Must issue a STARTTLS command first",
             E("rejected", "hat", "inbound_tls_required", "likely", kinds=("sender_fix",)), ["HAT-NDR-TLS-REQUIRED"])
ndr_scenario("ndr_hat_size", "Bounce text: message size (TechNote 118546).", "552 #5.3.4 message size exceeds limit",
             E("rejected", "hat", "message_too_big", "likely", kinds=("raise_limit", "sender_fix")), ["HAT-NDR-SIZE"])
ndr_scenario("ndr_sdr_reject", "Bounce text: SDR reject (seen in the wild, not documented).",
             "554 5.7.1 Your access to this mail system has been rejected due to poor reputation of a domain used in "
             "message transfer", E("rejected", "sdr", "sdr_reject", "likely", kinds=("sdr_exception",)),
             ["SDR-NDR-REJECT"])
ndr_scenario("ndr_sender_domain", "Bounce text: envelope sender domain does not exist (TechNote 118506).",
             "553 #5.1.8 Domain of sender address <orders@shop-onl1ne.example> does not exist",
             E("rejected", "sender_verification", "sender_domain_not_exist", "likely", kinds=("sender_fix",
                                                                                              "exception_table")),
             ["SV-NDR-DOMAIN"])
ndr_scenario("ndr_sender_exception", "Bounce text: Exception Table reject default text.",
             "553 Envelope sender <ceo@spoofy.example> rejected",
             E("rejected", "sender_verification", "exception_table_reject", "likely", kinds=("exception_table",)),
             ["SV-NDR-EXCEPTION"])
ndr_scenario("ndr_sender_unresolved", "Bounce text: the sender domain could not be resolved (temporary).",
             "451 #4.1.8 Domain of sender address <monitor@lab.example> could not be resolved",
             E("rejected", "sender_verification", "sender_domain_unresolvable", "likely", kinds=("sender_fix",)),
             ["SV-NDR-UNRESOLVED"])
ndr_scenario("ndr_rat", "Bounce text: 550 #5.1.0 Address rejected (RAT or LDAP accept: possible).",
             "550 #5.1.0 Address rejected", E("rejected", "rat", "recipient_not_accepted", "possible",
                                              kinds=("rat_accept", "sender_fix")), ["RAT-NDR-REJECT"])
ndr_scenario("ndr_dmarc_reject", "Bounce text: DMARC profile reject default text.",
             "550 #5.7.1 DMARC unauthenticated mail is prohibited.",
             E("rejected", "authentication", "dmarc_reject", "likely", kinds=("sender_fix", "filter_exception")),
             ["AUTH-NDR-DMARC-REJECT"])
ndr_scenario("ndr_dmarc_temp", "Bounce text: DMARC temporary failure default text.",
             "451 #4.7.1 Unable to perform DMARC verification.",
             E("rejected", "authentication", "dmarc_temperror", "likely", kinds=("sender_fix",)), ["AUTH-NDR-DMARC-TEMP"])
ndr_scenario("ndr_spf_reject", "Bounce text: SPF reject default text.", "550 #5.7.1 SPF unauthorized mail is prohibited.",
             E("rejected", "authentication", "spf_reject", "likely", kinds=("sender_fix",)), ["AUTH-NDR-SPF-REJECT"])
ndr_scenario("ndr_asyncos_remote_user_unknown", "Our own appliance's DSN: the AsyncOS class text wraps the next "
             "hop's 5.1.1 (esa-log-formats.md §9 grammar).",
             "5.1.0 - Unknown address error ('550', ['5.1.1 <bob@example.net>: Recipient address rejected: User "
             "unknown'])", E("bounced", "delivery", "remote_rejected", "likely", kinds=("fix_destination",),
                            reason="userunknown"), ["DLV-NDR-BOUNCED", "DLV-FIX-DESTINATION"])
ndr_scenario("ndr_asyncos_expired", "Our own appliance's DSN: delivery expired (SPLUNKDOC grammar).",
             "5.4.7 - Delivery expired (message too old) ('000', ['timeout'])",
             E("bounced", "delivery", "delivery_expired", "likely", kinds=("fix_destination", "raise_limit")),
             ["DLV-NDR-EXPIRED"])
ndr_scenario("ndr_asyncos_delay_warning", "Our own appliance's delay warning (SPLUNKDOC Delayed grammar).",
             "4.3.2 - Not accepting messages at this time ('421', ['4.3.2 try again later'])",
             E("deferred", "delivery", "remote_temporary_failure", "likely", kinds=("retry_delivery",)),
             ["DLV-NDR-DELAYED"])
ndr_scenario("ndr_spf_temp", "Bounce text: SPF temporary error default text.",
             "451 #4.4.3 Temporary error occurred during SPF verification.",
             E("rejected", "authentication", "spf_temperror", "likely", kinds=("sender_fix",)), ["AUTH-NDR-SPF-TEMP"])

# ====================================================================== writer

def main() -> None:
    names = set()
    for sc in SCENARIOS:
        assert sc["name"] not in names, sc["name"]
        names.add(sc["name"])
        (HERE / f"{sc['name']}.log").write_text("\n".join(sc["log"].lines) + "\n", encoding="utf-8")
        doc = {"description": sc["description"], "query": sc["query"], "expect": sc["expect"], "fires": sc["fires"]}
        (HERE / f"{sc['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True),
                                                 encoding="utf-8")
    for sc in NDR_SCENARIOS:
        assert sc["name"] not in names, sc["name"]
        names.add(sc["name"])
        doc = {"description": sc["description"], "query": sc["query"], "expect": sc["expect"], "fires": sc["fires"]}
        (HERE / f"{sc['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True),
                                                 encoding="utf-8")
    print(f"{len(SCENARIOS)} log scenarios and {len(NDR_SCENARIOS)} bounce-text scenarios written to {HERE}")


if __name__ == "__main__":
    main()
