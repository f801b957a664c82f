"""One fixture per catalogue pattern: a verbatim line from esa-log-formats.md (or the Elastic / Cribl
samples it quotes) must be recognised as that shape, with the fields the rules rely on.

Lines marked "(template)" fill in an AsyncOS message template the reference quotes as a pattern
(SMTP AUTH, RPC failures, LDAP templates): no captured line exists for those shapes.
"""

from __future__ import annotations

import pytest

from diagnose.collectors import catalogue, envelope

# (pattern name, verbatim line, expected fields subset)
CASES: list[tuple[str, str, dict]] = [
    ("blank_line", "", {}),
    ("log_begin", "Wed Nov 19 09:16:46 2014 Info: Begin Logfile", {}),
    ("log_end", "Wed Nov 19 10:16:46 2014 Info: End Logfile", {}),  # (template) AsyncOS closes rolled files so
    ("log_rollover", "Wed Nov 19 10:16:46 2014 Info: Logfile rolled over", {}),  # (template)
    ("log_version", "Wed Nov 19 09:16:46 2014 Info: Version: 7.6.3-019 SN: 420D4FEA709365BFB3E3-0AF2EE5E700E",
     {"version": "7.6.3-019", "serial": "420D4FEA709365BFB3E3-0AF2EE5E700E"}),
    ("log_tz_offset", "Wed Nov 19 09:16:46 2014 Info: Time offset from UTC: -21600 seconds", {"offset": -21600}),
    # §3 connection / HAT
    ("icid_new", "Fri Jan 30 07:18:52 2004 Info: New SMTP ICID 10292815 interface private address 81.137.223.69",
     {"icid": 10292815, "ip": "81.137.223.69", "interface": "private"}),
    ("icid_new", "Wed Nov 19 09:16:38 2014 Info: New SMTP ICID 60140291 interface Data 1 (68.232.141.109) address "
     "176.227.203.114 reverse dns host h176-227-203-114.host.redstation.co.uk verified no",
     {"icid": 60140291, "interface": "Data 1", "interface_ip": "68.232.141.109", "ip": "176.227.203.114",
      "rdns": "h176-227-203-114.host.redstation.co.uk", "rdns_verified": False}),
    ("icid_new", "Info: New SMTP ICID 27389415 interface Marsh (205.156.189.20) address 205.234.144.192 reverse dns "
     "host  server.masterplace.com.br verified no", {"rdns": "server.masterplace.com.br"}),
    ("icid_new", "Mon Mar 5 14:21:04 2018 Info: New SMTP ICID 3160 interface Data Port (10.10.1.12) address 10.10.1.5 "
     "reverse dns host unknown verified no", {"icid": 3160, "interface": "Data Port", "rdns": "unknown"}),
    ("hat_sbrs_only", "Tue Apr 27 12:04:18 2004 Info: ICID 9461571 SBRS None", {"icid": 9461571, "sbrs": "None"}),
    ("hat_decision", "Info: ICID 282194765 REJECT SG BLACKLIST match sbrs[-10.0:-2.0] SBRS -9.9",
     {"action": "REJECT", "sender_group": "BLACKLIST", "rule": "sbrs[-10.0:-2.0]", "sbrs_score": -9.9}),
    ("hat_decision", "Info: ICID 0 TCPREFUSE SG RBLBlacklist match dnslist[sbl-xbl.spamhaus.org] SBRS None",
     {"icid": 0, "action": "TCPREFUSE", "rule": "dnslist[sbl-xbl.spamhaus.org]", "sbrs": "None", "sbrs_score": None}),
    ("hat_decision", "Tue Aug  9 09:55:42 2005 Info: ICID 2 REJECT SG None match  SBRS None",
     {"action": "REJECT", "sender_group": "None", "rule": ""}),
    ("hat_decision", "Tue Feb 22 19:26:25 2005 Info: ICID 3 ACCEPT SG None SBRS rfc1918", {"sbrs": "rfc1918"}),
    ("hat_decision", "Info: ICID 21591 ACCEPT SG None match  SBRS unable to retrieve", {"sbrs": "unable to retrieve"}),
    ("hat_decision", "Fri Apr 28 17:07:29 2006 Info: ICID 210158 ACCEPT SG UNKNOWNLIST match nx.domain  SBRS rfc1918",
     {"rule": "nx.domain"}),
    ("hat_decision", "Wed Nov 19 09:16:38 2014 Info: ICID 60140291 REJECT SG BLACKLIST match sbrs[-10.0:-2.5] SBRS -9.5",
     {"icid": 60140291, "sbrs_score": -9.5}),
    ("hat_decision", "Wed Aug 13 12:59:29 2014 Info: ICID 10152 RELAY SG RELAY_SG match 75.111.22.123 SBRS not enabled",
     {"action": "RELAY", "sbrs": "not enabled"}),
    ("hat_decision", "Mon Mar 5 14:21:04 2018 Info: ICID 3160 ACCEPT SG None match ALL SBRS not enabled country not enabled",
     {"rule": "ALL", "sbrs": "not enabled", "country": "not enabled"}),
    ("hat_decision", "Wed Sep 14 09:48:19 2022 Info: ICID 824108 ACCEPT SG ACCEPTLIST match sbrs[0.0:10.0] SBRS 3.4 "
     "country United States", {"sender_group": "ACCEPTLIST", "sbrs_score": 3.4, "country": "United States"}),
    ("hat_decision", "Info: ICID 77 REJECT SG BLOCKED_LIST match etf-source: hailataxii SBRS None",  # (template, CISCO-QA)
     {"sender_group": "BLOCKED_LIST", "rule": "etf-source: hailataxii"}),
    ("hat_delayed_reject", "Wed Sep 14 09:45:31 2022 Info: ICID 824107 Delayed HAT REJECT continuing session for "
     "recipient logging (10.8.236.135)", {"icid": 824107, "ip": "10.8.236.135", "action": "REJECT"}),
    ("icid_tls", "Fri Jan 30 08:16:18 2004 Info: ICID 10304570 TLS success", {"result": "success"}),
    ("icid_tls", "Info: ICID 623143 TLS success protocol TLSv1/SSLv3 cipher DHE-RSA-AES256-SHA",
     {"protocol": "TLSv1/SSLv3", "cipher": "DHE-RSA-AES256-SHA"}),
    ("icid_tls", "Fri Jan 30 08:16:20 2004 Info: ICID 10304580 TLS failed", {"result": "failed"}),
    ("icid_tls_required", "Mon Mar  8 19:37:40 2004 Info: ICID 8 TLS was required but remote host did not initiate it",
     {"icid": 8}),
    ("icid_close", "Fri Jan 30 08:16:20 2004 Info: ICID 10304580 lost", {"how": "lost"}),
    ("icid_close", "Fri Jan 30 08:18:20 2004 Info: ICID 10304588 close", {"how": "close", "icid": 10304588}),
    ("icid_timeout", "Mon Aug 15 15:38:19 2005 Info: ICID 3 disconnected address 10.1.1.101, no messages injected "
     "within timeout period", {"ip": "10.1.1.101"}),
    ("icid_lost_dns", "Tue Oct  4 13:21:23 2005 Info: ICID 30308138 Connection from 216.39.115.138 on interface "
     "PublicNet (202.123.2.25) lost after 139 seconds (DNS query took 139 seconds), before any commands were received",
     {"ip": "216.39.115.138", "seconds": 139}),
    ("icid_killed", "Info: SMTP server connection killed ICID: 629531", {"icid": 629531}),
    ("smtp_auth", "Info: SMTP Auth (ICID 42) succeeded for user: alice using AUTH mechanism: LOGIN with profile: "
     "corp_ldap", {"icid": 42, "result": "succeeded", "user": "alice", "mechanism": "LOGIN"}),  # (template)
    ("smtp_auth", "Info: SMTP Auth (ICID 43) failed for user: bob using AUTH mechanism: PLAIN with profile: corp",
     {"result": "failed"}),  # (template)
    ("smtp_auth_required", "Info: SMTP Auth (ICID 44) was required but remote host did not initiate it",
     {"icid": 44}),  # (template)
    ("smtp_auth", "Info: SMTP Auth: (ICID 45) failed for user: carol using AUTH mechanism: LOGIN with profile: corp",
     {"icid": 45, "result": "failed"}),  # (template: the qlogmsgs spelling, with a colon)
    ("icid_bad_address", "Info: Incoming SMTP connection undetermined IP on interface Data 1",
     {"interface": "Data 1"}),  # (template)
    ("icid_receiving_failed", "Mon Mar  8 19:37:40 2004 Info: ICID 9033 Receiving Failed: Message loop",
     {"reason": "Message loop", "phase": "Receiving"}),
    ("icid_receiving_failed", "Info: ICID 440090 Receiving Failed: Message size exceeds limit",
     {"reason": "Message size exceeds limit"}),
    ("icid_receiving_failed", "Mon Mar  8 19:37:40 2004 Info: ICID 11723972 Injection Failed: Message loop",
     {"phase": "Injection"}),
    # the other Receiving Failed reasons of the qlogmsgs "Limits" row (esa-pipeline.md §14)
    ("icid_receiving_failed", "Info: ICID 12 Receiving Failed: Message header too big",
     {"reason": "Message header too big"}),  # (template)
    ("icid_receiving_failed", "Info: ICID 13 Receiving Failed: Connection limit exceeded",
     {"reason": "Connection limit exceeded"}),  # (template)
    ("icid_receiving_failed", "Info: ICID 14 Receiving Failed: No recipients specified",
     {"reason": "No recipients specified"}),  # (template)
    ("icid_receiving_failed", "Info: ICID 15 Receiving Failed: Queue Full", {"reason": "Queue Full"}),  # (template)
    ("icid_receiving_failed", "Info: ICID 16 Receiving Failed: Resources Low", {"reason": "Resources Low"}),  # (template)
    ("icid_receiving_failed", "Info: ICID 17 Receiving Failed: Too Many Messages",
     {"reason": "Too Many Messages"}),  # (template)
    ("icid_receiving_failed", "Info: ICID 18 Receiving Failed: Too Many Recipients",
     {"reason": "Too Many Recipients"}),  # (template)
    # DHAP: TechNote 118936 (mail_logs sample) and Cisco community thread 863009 (a line quoted from mail_logs)
    ("dhap_ldap", "Tue Oct 18 00:25:35 2005 Warning: LDAP: Dropping connection due to potential Directory Harvest "
     "Attack from host=('192.168.10.1', None), dhap_limit=4, sender_group=SUSPECTLIST",
     {"ip": "192.168.10.1", "limit": 4, "sender_group": "SUSPECTLIST", "action": "dropped", "via": "LDAP"}),
    ("dhap", "Mon Dec 31 14:10:12 2007 Warning: Dropping connection due to potential Directory Harvest Attack from "
     "host=('85.1.112.129', '129-112.1-85.cust.bluewin.ch'), dhap_limit=10, sender_group=SUSPECTLIST, "
     "listener=External_listener, reverse_dns=85.1.112.129",
     {"ip": "85.1.112.129", "rdns": "129-112.1-85.cust.bluewin.ch", "limit": 10, "listener": "External_listener",
      "action": "dropped"}),
    ("dhap", "Info: Potential Directory Harvest Attack from host=198.51.100.7, dhap_limit=25, sender_group=SUSPECTLIST",
     {"ip": "198.51.100.7", "limit": 25, "sender_group": "SUSPECTLIST", "action": "detected"}),  # (template)
    ("system_limit", "Info: System limit reached: connection limit for IP 198.51.100.8 on listener IncomingMail "
     "ICID 4711: max: 10", {"ip": "198.51.100.8", "listener": "IncomingMail", "icid": 4711, "limit": 10,
                            "what": "connection limit"}),  # (template)
    ("listener_rejected", "Info: SMTP connection rejected on interface Data 1 address 198.51.100.8",
     {"protocol": "SMTP", "interface": "Data 1", "ip": "198.51.100.8"}),  # (template)
    # §4 envelope
    ("mid_start", "Tue Jan  6 15:07:12 2004 Info: Start MID 4 ICID 4", {"mid": 4, "icid": 4}),
    ("mid_start", "Fri Nov 17 06:00:31 2006 Info: Start MID 9 ICID 0 (ISQ Notification)",
     {"icid": 0, "note": "ISQ Notification"}),
    ("mid_from", "Fri Jan 30 07:18:52 2004 Info: MID 5091057 ICID 10292815 From: <linda@dataselect.co.u>",
     {"mid": 5091057, "icid": 10292815, "sender": "linda@dataselect.co.u"}),
    ("mid_to", "Fri Jan 30 07:18:51 2004 Info: MID 5091055 ICID 10292813 RID 0 To: <joe@parade.com>",
     {"rid": 0, "recipient": "joe@parade.com"}),
    ("mid_to", "Fri Jan 30 07:18:51 2004 Info: MID 83143152 ICID 0 RID 0 To: <>", {"recipient": ""}),
    ("mid_ready", "Tue Jan  6 15:03:18 2004 Info: MID 2 ready 88 bytes from <blah@ironport.com>",
     {"bytes": 88, "sender": "blah@ironport.com"}),
    ("mid_message_id", "Mon Apr  5 10:23:05 2004 Info: MID 71897 Message-ID '<322n7l$266p@stable.mfg>'",
     {"message_id": "<322n7l$266p@stable.mfg>"}),
    ("mid_message_id", "Wed Nov 19 09:16:42 2014 Info: MID 24611516 Message-ID \"<Lands'End.6cl2sv--1f.tlmd@email.landsend.com>\"",
     {"message_id": "<Lands'End.6cl2sv--1f.tlmd@email.landsend.com>"}),
    ("mid_subject", "Fri May 14 20:49:30 2004 Info: MID 8 Subject 'test'", {"subject": "test"}),
    ("mid_subject", "Fri Jan 28 07:43:00 2022 Info: MID 37 Subject test mail", {"subject": "test mail"}),
    ("mid_subject", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 Subject \"redacted subject\"",
     {"subject": "redacted subject"}),
    ("mid_subject", "<94>Nov 24 14:22:57 REDACTED.africa.example.net mail_logs: Info: MID 204841507 Subject Re: "
     "[example: #129226] FW: example MARKETING SOUTH AFRICA\\r\\n (PTY) LTD | Autoprice and STP",
     {"subject": "Re: [example: #129226] FW: example MARKETING SOUTH AFRICA\\r\\n (PTY) LTD | Autoprice and STP"}),
    ("mid_rcpt_rejected", "Fri Jan 29 08:12:00 2004 Info: MID 1 ICID 2 To: <postmaster@corestaff.com> Rejected by RAT",
     {"recipient": "postmaster@corestaff.com", "by": "RAT"}),
    ("mid_rcpt_rejected", "Fri Jan 29 08:12:00 2004 Info: MID 2 ICID 7 To: <ggarner@kentelec.com> Rejected by "
     "Injection Control", {"by": "Injection Control"}),
    ("mid_rcpt_rejected", "Info: MID 410727821 ICID 643905448 To: <larry_zuccaro@ex.com> Rejected by LDAPACCEPT",
     {"by": "LDAPACCEPT"}),
    ("mid_rcpt_rejected", "Tue Nov  8 23:52:03 2011 Info: MID 1347675626 ICID 306398794 To: [...] Rejected by "
     "Receiving Control", {"by": "Receiving Control"}),
    ("bounce_verification", "Fri Jul 21 16:02:40 2006 Info: MID 26603 ICID 125192 invalid bounce, rcpt address "
     "<scott@ncironport.net> rejected by bounce verification.", {"recipient": "scott@ncironport.net", "action": "rejected"}),
    ("bounce_verification", "Tue Sep 26 08:01:28 2006 Info: MID 12767811 ICID 14967245 invalid bounce, tagging",
     {"action": "tagging"}),
    ("invalid_sender", "Info: ICID 493829828 Invalid sender address: Unsupported domain literal: '[]'", {}),
    ("invalid_recipient", "Info: ICID 3 MID 1 Invalid recipient address: Invalid character in address: '!'",
     {"icid": 3, "mid": 1}),
    ("invalid_recipient", "Info: ICID 493771866 MID 340448731 Invalid recipient address:  'RCPT TO:<>'", {}),
    ("sender_dns_rejected", "Mon Nov 20 10:50:05 2006 Info: ICID 1605269 Address: < jane@example.com> sender rejected, "
     "envelope sender domain does not exist", {"sender": "jane@example.com", "why": "does not exist"}),
    ("sender_dns_rejected", "Thu Aug 10 10:14:10 2006 Info: ICID 3248 Address: <user> sender rejected, envelope sender "
     "domain missing", {"why": "missing"}),
    ("sender_dns_rejected", "Wed Aug  9 15:44:27 2006 Info: ICID 1425 Address: <user@domain.com> sender rejected, "
     "envelope sender domain could not be resolved", {"why": "could not be resolved"}),
    ("sender_exception", "Info: ICID 77 Address: <a@b.example> sender allowed, envelope sender matched domain exception",
     {"decision": "allowed"}),  # (template)
    ("ldap_unable", "Mon Mar 22 08:49:37 2004 Info: LDAP: unable to process, MID 4069647 requeued", {"action": "requeued"}),
    ("ldap_query", "Info: LDAP: Bounce query HutchLDAP.ldapaccept MID 718417 RID 2 address 8k00000l037@hutchcity.com",
     {"query_type": "Bounce", "mid": 718417, "rid": 2}),
    ("ldap_query", "Info: LDAP: Drop query HutchLDAP.ldapaccept MID 349817 RID 1 address dlzb@hutchcity.com",
     {"query_type": "Drop"}),
    ("ldap_query", "Info: LDAP: Reroute query BBLDAP.routing MID 349826 RID 0 address joanne@tashun.com to "
     "[('joanne@tashun.com', 'smtp07b.on-nets.com')]", {"query_type": "Reroute"}),
    ("alias_match", "Thu Apr 15 13:39:43 2004 Info: Alias match: recipient me@ironport.com mapped to ['me@ironport.com'] "
     "(bug 5997)", {"recipient": "me@ironport.com"}),
    ("alias_match", "Info: Alias match: MID 5 RID 0 recipient sales@example.com mapped to ['ann@example.com']",
     {"mid": 5, "rid": 0, "recipient": "sales@example.com"}),  # (template)
    ("masquerading", "Info: MID 5 masquerading envelope sender from 'joe@host1.example.com' to 'joe@example.com'",
     {"mid": 5, "what": "envelope sender", "original": "joe@host1.example.com", "masqueraded": "joe@example.com"}),
    # (template) above; below S2W's header line, cut by a carriage return inside the logged value
    ("masquerading", "Info: MID 6 masquerading header 'Cc' from '<Stephen_B@Ex.com>,",
     {"mid": 6, "what": "header 'Cc'", "original": "Stephen_B@Ex.com"}),
    ("incoming_relay", "Info: MID 84463820 IncomingRelay(mxip10): Header Received found, ip 211.74.204.34 being used",
     {"ip": "211.74.204.34"}),
    ("incoming_relay", "Fri Apr 28 17:07:29 2006 Info: MID 201434 IncomingRelay(senderdotcom): Header Received found, "
     "IP 192.192.108.1 being used, SBRS 6.8", {"sbrs_score": 6.8}),
    ("message_aborted_receiving", "Sat Feb 14 01:16:30 2004 Info: Message aborted MID 10288257 Receiving aborted",
     {"reason": "Receiving aborted"}),
    ("message_aborted_receiving", "Fri Jun 11 09:43:50 2004 Info: Message aborted MID 1548 Injection aborted", {}),
    # §5 authentication
    ("spf", "Wed Aug 13 12:59:42 2014 Info: MID 1357 SPF: helo identity postmaster None",
     {"identity": "helo", "result": "None"}),
    ("spf", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 SPF: mailfrom identity no-reply@redactedMailFrom.com "
     "Pass (v=spf1)", {"identity": "mailfrom", "address": "no-reply@redactedMailFrom.com", "result": "Pass"}),
    ("spf_other", "Info: MID 5 SPF: pra identity", {}),  # (template) a truncated SPF line
    ("verdict_cache", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 using engine: SPF Verdict Cache using cached "
     "verdict", {"engine": "SPF"}),
    ("verdict_cache", "Wed Nov 19 09:16:45 2014 Info: MID 24611529 using engine: CASE using cached verdict",
     {"engine": "CASE"}),
    ("dkim", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 DKIM: pass signature verified "
     "(d=redactedMailFrom.com s=srsa2048 i=@redactedMailFrom.com)", {"result": "pass", "domain": "redactedMailFrom.com"}),
    ("dkim", "<94>Nov 24 14:22:57 REDACTED.africa.example.net mail_logs: Info: MID 204841507 DKIM: permfail body hash "
     "did not verify [final] (d=example.com s=example2 i=@example.com)",
     {"result": "permfail", "detail": "body hash did not verify [final]"}),
    ("dkim", "Oct 19 07:00:30 2011 Info: MID 1416568168 DKIM: malformed signature - signature missing required tag",
     {"result": "malformed"}),
    ("dkim_sign", "Wed Nov 19 09:16:38 2014 Info: MID 24611495 DKIM: cannot sign - no profile matches user2@hotmail.com",
     {"method": "DKIM", "result": "cannot sign"}),
    ("dkim_sign", "Wed Nov 19 09:16:40 2014 Info: MID 24611500 DomainKeys: cannot sign - already signed",
     {"method": "DomainKeys"}),
    ("domainkeys", "Info: MID 9 DomainKeys: pass", {"result": "pass"}),  # (template)
    ("dmarc", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 DMARC: Message from domain redactedMailFrom.com, "
     "DMARC pass (SPF aligned True, DKIM aligned True)",
     {"domain": "redactedMailFrom.com", "result": "pass", "spf_aligned": "True", "dkim_aligned": "True"}),
    ("dmarc_verification", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 DMARC: Verification passed",
     {"result": "passed"}),
    ("dmarc_other", "Info: MID 12 DMARC: Message from domain", {}),  # (template) a cut DMARC line
    ("sdr_domains", "Wed Sep 14 09:48:20 2022 Info: MID 26983 SDR: Domains for which SDR is requested: reverse DNS host: "
     "sender4-of-o59.zoho.com, helo: sender4-of-o59.zoho.com, env-from: zoho.com, header-from: Not Present, reply-to: "
     "Not Present", {"env_from": "zoho.com", "header_from": "Not Present"}),
    ("sdr_verdict", "Wed Sep 14 09:48:20 2022 Info: MID 26983 SDR: Consolidated Sender Threat Level: Neutral, Threat "
     "Category: N/A, Suspected Domain(s) : N/A (other reasons for verdict). Sender Maturity: 30 days (or greater) for "
     "domain: sender4-of-o59.zoho.com",
     {"threat_level": "Neutral", "category": "N/A", "maturity": "30 days (or greater)", "domain": "sender4-of-o59.zoho.com"}),
    ("sdr_other", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 SDR: Tracker Header : redactedTrackerHeader", {}),
    # §7 work queue
    ("policy_split", "Fri Aug 27 00:12:25 2004 Info: MID 58 was split creating MID 60 due to a per-recipient policy tcamp",
     {"mid": 58, "new_mid": 60, "policy": "tcamp"}),
    ("policy_split", "Wed Nov 19 09:16:43 2014 Info: MID 24611507 was split creating MID 24611528 due to a SL/BL "
     "configuration for following recipients: user37@mycompany.com", {"recipients": ["user37@mycompany.com"]}),
    ("policy_match", "Wed Nov 19 09:16:38 2014 Info: MID 24611433 matched all recipients for per-recipient policy "
     "DEFAULT in the inbound table", {"policy": "DEFAULT", "direction": "inbound"}),
    ("policy_match", "<94>Nov 24 14:22:57 REDACTED.africa.example.net mail_logs: Info: MID 204841507 matched all "
     "recipients for per-recipient policy DEFAULT in the outbound table", {"direction": "outbound"}),
    ("antispam_legacy", "Fri Jan  9 21:06:36 2004 Info: MID 3033 Brightmail positive", {"verdict": "positive"}),
    ("antispam", "Info: MID 928 using engine: Brightmail spam negative", {"engine": "Brightmail", "verdict": "spam negative"}),
    ("antispam", "Wed Nov 19 09:16:38 2014 Info: MID 24611411 interim verdict using engine: CASE spam positive",
     {"engine": "CASE", "verdict": "spam positive", "interim": True}),
    ("antispam", "Wed Nov 19 09:16:38 2014 Info: MID 24611411 using engine: CASE spam positive",
     {"interim": False}),
    ("antispam", "Wed Nov 19 09:16:41 2014 Info: MID 24611467 interim verdict using engine: SLBL spam negative",
     {"engine": "SLBL"}),
    ("antispam", "<166>Sep 12 11:00:00 mail_logs: Info: MID 68119155 interim verdict using engine: CASE bulk",
     {"verdict": "bulk"}),
    ("graymail", "Mon Mar 5 14:21:04 2018 Info: MID 64855 using engine: GRAYMAIL negative", {"verdict": "negative"}),
    ("graymail", "MID 68119155 using engine: GRAYMAIL marketing_mail", {"verdict": "marketing_mail"}),
    ("engine_bad_response", "Tue Sep  5 10:11:38 2006 Info: MID 428274923 CASE sent a poorly formatted response: "
     "<<garbage>>...", {"engine": "CASE"}),
    ("antivirus", "Sat Feb 14 01:08:08 2004 Info: MID 10281774 antivirus positive", {"verdict": "positive"}),
    ("antivirus", "Tue Jan 25 09:46:01 2005 Info: MID 199460 antivirus repaired 'W32/Zafi-D'",
     {"verdict": "repaired", "virus": "W32/Zafi-D"}),
    ("antivirus", "Fri Oct  7 08:27:07 2005 Info: MID 18313686 antivirus positive 'W32/Sober-P' (released from Outbreak)",
     {"virus": "W32/Sober-P"}),
    ("av_interim", "Tue Jan 23 19:45:19 2007 Info: MID 408721 interim AV verdict using McAfee CLEAN",
     {"engine": "McAfee", "verdict": "CLEAN"}),
    ("av_log", "<166>Sep 12 11:00:00 antivirus: Info: sophos  antivirus - MID 66842418 0 - Virus 'CXmail/Phish-O' "
     "'body.scan/Payment.html' 1 0", {"mid": 66842418, "virus": "CXmail/Phish-O"}),
    ("av_log", "<166>Sep 12 11:00:00 antivirus: Info: sophos  antivirus - MID 66708787 - timed out on message",
     {"verdict": "TIMEOUT"}),
    ("av_log", "<166>Sep 12 11:00:00 antivirus: Info: sophos  antivirus - MID 66710307 7 - Limit - 'Max Files Exceeded'",
     {"verdict": "LIMIT", "reason": "Max Files Exceeded"}),
    ("amp_verdict", "Thu Sep 18 16:17:39 2019 Info: MID 1653 AMP file reputation verdict : MALWARE", {"verdict": "MALWARE"}),
    ("amp_verdict", "Fri Jan 28 07:43:02 2022 Info: MID 37 AMP file reputation verdict : SKIPPED (no attachment in "
     "message)", {"verdict": "SKIPPED"}),
    ("amp_query", "<166>Mar 17 18:24:37 amp: Info: File reputation query initiating. File Name = 'mod-6.exe', MID = 5, "
     "File Size = 1673216 bytes, File Type = application/x-dosexec", {"mid": 5, "file_name": "mod-6.exe"}),
    ("amp_query", "<166>Mar 17 18:24:37 amp: Info: Response received for file reputation query from Cloud. FileName = "
     "'mod-6.exe', MID = 5, Disposition = MALICIOUS, Malware = W32.061DEF69B5-100.SBX.TG,Reputation Score = 73, sha256 "
     "=061def69b5c100e9979610fa5675bd19258b19a7ff538b5c2d230b467c312f19, upload_action = 2",
     {"disposition": "MALICIOUS", "source": "Cloud"}),
    ("amp_analysis_complete", "<166>Mar 17 18:24:37 amp: Info: File Analysis complete. SHA256: "
     "16454aff5082c2e9df43f3e3b9cdba3c6ae1766416e548c30a971786db570bfc, Submit Timestamp: 1475825466, Update Timestamp: "
     "1475825953, Disposition: 3 Score: 100, run_id: 194926004 Details: Analysis is completed", {}),
    ("amp_not_uploaded", "<166>Mar 17 18:24:37 amp: Info: File not uploaded for analysis. MID = 0 File SHA256[a5f28f1fed7c2f"
     "e88bcdf403710098977fa12c32d13bfbd78bbe27e95b245f82] file mime[text/plain] Reason: No active/dynamic contents exists",
     {"mid": 0}),
    ("amp_upload_skipped", "<166>Mar 17 18:24:37 amp: Info: File analysis upload skipped. SHA256: b5c7e26491983baa713c9a2"
     "910ee868efd891661c6a0553b28f17b8fdc8cc3ef,Timestamp[1454782976] details[File SHA256[b5c7e2] not uploaded]", {}),
    ("amp_cloud_error", "<166>Mar 17 18:24:37 amp: Info: SHA256: 69e17e213732da0d0cbc48ae7030a4a18e0c1289f510e8b139945787f"
     "67692a5,Timestamp[1454959409] details[Server Response HTTP code:[502]]", {"engine": "AMP"}),
    ("amp_retrospective", "<166>Mar 17 18:24:37 amp: Info: Retrospective verdict received. SHA256: 16454aff5082c2e9df43f3"
     "e3b9cdba3c6ae1766416e548c30a971786db570bfc, Timestamp: 1475832815.7, Verdict: MALICIOUS, Reputation Score: 0, "
     "Spyname: W32.16454AFF50-100.SBX.", {"verdict": "MALICIOUS"}),
    ("quarantined", "Mon May  2 12:50:34 2005 Info: MID 423370831 quarantined to \"Outbreak\" (VOF rule:.pif file in zip)",
     {"quarantine": "Outbreak", "reason": "VOF rule:.pif file in zip"}),
    ("quarantined", "Wed Aug 25 23:23:13 2004 Info: MID 43 quarantined to \"Policy\"", {"quarantine": "Policy"}),
    ("quarantined", "Info: MID 482 quarantined to \"Policy\" (message filter:policy_violation)",
     {"reason": "message filter:policy_violation"}),
    ("quarantine_new_reason", "Fri Oct  7 03:05:11 2005 Info: MID 18313985 quarantine \"Outbreak\" new reason "
     "(VOF rule:OUTBREAK_0000231)", {"quarantine": "Outbreak"}),
    ("outbreak_threat_level", "Info: MID 9731 Virus Threat Level=3", {"level": "3"}),
    ("too_big_for_scanning", "Info: MID 821 was too big (455520/262144) for scanning by VOF",
     {"size": 455520, "limit": 262144, "engine": "VOF"}),
    ("too_big_for_scanning", "Wed Nov 19 09:16:38 2014 Info: MID 24611433 was too big (362262/262144) for scanning by "
     "Outbreak Filters", {"engine": "Outbreak Filters"}),
    ("outbreak_verdict", "Wed Nov 19 09:16:38 2014 Info: MID 24611417 Outbreak Filters: verdict negative",
     {"verdict": "negative"}),
    ("filter_aborted", "Fri Jun 18 12:58:19 2004 Info: Message aborted MID 346002679 Dropped by filter 'FileType'",
     {"action": "dropped", "filter": "FileType", "filter_type": "message"}),
    ("filter_aborted", "Info: Message aborted MID 5 Dropped by content filter 'no_exe' in the inbound table",
     {"filter_type": "content", "direction": "inbound"}),  # (template) PERRCPT_FILTER_DROPPED
    ("filter_action", "Info: MID 1960958 was dropped by content filter 'dontsend' in the inbound table",
     {"action": "dropped", "filter": "dontsend", "filter_type": "content", "direction": "inbound"}),
    ("filter_action", "Info: MID 1960959 was bounced by content filter 'bounceme' in the inbound table",
     {"action": "bounced"}),
    ("filter_action", "Info: MID 12 was dropped by policy strict in the inbound table",
     {"filter_type": "policy", "filter": "strict"}),  # (template)
    ("rewritten", "Fri May 14 20:44:43 2004 Info: MID 6 rewritten to 7 by alt-rcpt-to-filter filter 'testfilt'",
     {"mid": 6, "new_mid": 7, "by": "alt-rcpt-to-filter", "filter": "testfilt"}),
    ("rewritten", "Info: MID 386736 rewritten to MID 386737 by add-footer filter 'Footer Stamping'",
     {"new_mid": 386737, "filter": "Footer Stamping"}),
    ("rewritten", "Tue Apr  5 17:34:20 2005 Info: MID 35381452 rewritten to 35381453 by antivirus",
     {"by": "antivirus"}),
    ("rewritten", "Info: MID 483 rewritten to 513 by Policy Quarantine", {"by": "Policy Quarantine"}),
    ("generated", "Tue Apr  5 17:41:50 2005 Info: MID 35381767 generated based on MID 35381766 by bcc-scan filter "
     "'testsrbs'", {"mid": 35381767, "parent_mid": 35381766, "by": "bcc-scan"}),
    ("generated", "Wed Nov 19 09:16:38 2014 Info: MID 24611495 was generated based on MID 24611421 by bcc filter "
     "'FireEye_BCC'", {"mid": 24611495, "parent_mid": 24611421, "filter": "FireEye_BCC"}),
    ("bounce_generated", "Tue Oct 19 20:47:37 2004 Info: MID 15216898 generated for bounce of MID 8785588",
     {"mid": 15216898, "parent_mid": 8785588}),
    ("bounce_generated", "Info: MID 16 was generated for bounce of MID 15", {"mid": 16, "parent_mid": 15}),  # (template)
    ("custom_log_entry", "<94>Nov 24 14:22:57 REDACTED.africa.example.net mail_logs: Info: MID 204841507 Custom Log "
     "Entry: Mail Not DKIM Signed", {"entry": "Mail Not DKIM Signed"}),
    ("url_reputation", "<94>Nov 24 14:22:57 REDACTED.africa.example.net mail_logs: Info: MID 204841507 URL "
     "http://www.example.com/data-information has reputation 3.0 matched Condition: URL Reputation Rule",
     {"url": "http://www.example.com/data-information", "score": "3.0"}),
    ("sds_incomplete", "Mon Aug 10 10:00:24 2020 Info: MID 192034 not completely scanned by SDS. Error: The number of "
     "URLs in the message attachments exceeded the URL scan limit.", {"engine": "SDS"}),
    ("dlp_violation", "Fri Mar 25 20:50:10 2022 Info: MID 111 DLP violation. Severity: LOW (Risk Factor: 15). DLP policy "
     "match: 'PCI-DSS (Payment Card Industry Data Security Standard)'.",
     {"severity": "LOW", "risk_factor": 15, "policy": "PCI-DSS (Payment Card Industry Data Security Standard)"}),
    ("attachment", "Wed Nov 19 09:16:38 2014 Info: MID 24611417 attachment 'CFO_INV_1400691819.pdf'",
     {"name": "CFO_INV_1400691819.pdf"}),
    ("charset_error", "Mon Oct  3 13:42:21 2005 Info: MID 198579961 Could not convert character set: 136", {}),
    ("global_unsubscribe", "Info: MID 85 Global unsubscribe matched entry foo@ RID 0 Address foo@domain0.d1.qa41.qa "
     "Action bounced", {"action": "bounced", "rid": 0}),
    ("aps_forward", "Info: MID 7 mail headers enqueued for forwarding to Cisco Advanced Phishing Protection Cloud Service",
     {}),  # (template, CISCO-QA)
    # §8 quarantines
    ("isq_tagging", "Thu Dec  8 15:52:11 2005 Info: EUQ: Tagging MID 4433 for quarantine", {"quarantine": "EUQ"}),
    ("isq_tagging", "Wed Nov 19 09:16:40 2014 Info: ISQ: Tagging MID 24611424 for quarantine", {"mid": 24611424}),
    ("isq_quarantined", "Thu Dec  8 15:52:15 2005 Info: EUQ: Quarantined MID 4433", {"mid": 4433}),
    ("isq_reinjected", "Thu Dec  8 20:16:32 2005 Info: EUQ: Reinjected MID 4433 as MID 4449", {"mid": 4433, "new_mid": 4449}),
    ("isq_released", "Info: EUQ: Released MID 4433 to ann@example.com",
     {"mid": 4433, "quarantine": "EUQ", "recipient": "ann@example.com"}),  # (template)
    ("rpc_delivery_start", "Info: RPC Delivery start RCID 4051 MID 14077 to local IronPort Spam Quarantine",
     {"rcid": 4051, "mid": 14077, "target": "local IronPort Spam Quarantine"}),
    ("rpc_message_done", "Info: RPC Message done RCID 4051 MID 14077", {"rcid": 4051}),
    ("rpc_delivery_start_legacy", "Thu Dec  8 15:52:15 2005 Info: Start delivery of MID 4433 over RPC connection 0",
     {"rcid": 0}),
    ("rpc_rejected", "Info: RPC Message rejected RCID 11 MID 38", {"mid": 38}),  # (template)
    ("rpc_failed", "Info: RPC connection to 10.0.0.5 failed RCID 12 MID 39 (connection refused)",
     {"reason": "connection refused"}),  # (template)
    ("quarantine_released", "Info: MID 483 released from quarantine \"Policy\" (queue full)",
     {"quarantine": "Policy", "reason": "queue full"}),
    ("quarantine_released", "Info: MID 483 released from all quarantines", {"quarantine": "all"}),
    ("quarantine_released", "Info: MID 9735 released (attachments stripped) from quarantine \"Outbreak\" (queue full) t=190",
     {"attachments_stripped": True}),
    ("quarantine_deleted", "Info: MID 484 deleted from quarantine \"Anti-Virus\" (expired)",
     {"quarantine": "Anti-Virus", "reason": "expired"}),
    ("quarantine_deleted", "Wed Aug 25 23:25:41 2004 Info: MID 43 deleted from all quarantines", {"quarantine": "all"}),
    ("quarantine_transfer", "Info: MID 90 enqueued for transfer to centralized policy quarantine",
     {"quarantine": "policy"}),  # (template; §8 "not found" wording)
    # §9 delivery
    ("queued", "Fri May 14 20:49:30 2004 Info: MID 9 queued for delivery", {"mid": 9}),
    ("dcid_new", "Mon Jan 23 16:55:42 2006 Info: New SMTP DCID 1 interface 172.19.0.21 address 72.14.205.27 port 25",
     {"dcid": 1, "ip": "72.14.205.27", "port": 25}),
    ("dcid_new", "Fri Jan 30 07:18:52 2004 Info: New SMTP DCID 1162933 interface 166.77.6.10 address 66.180.244.17",
     {"dcid": 1162933}),
    ("delivery_start", "Sat Feb 14 01:16:30 2004 Info: Delivery start DCID 4901127 MID 10288263 to [0]",
     {"rids": [0], "target": ""}),
    ("delivery_start", "Wed Nov 19 09:16:40 2014 Info: Delivery start DCID 6565554 MID 24611424 to RID [0] to offbox "
     "IronPort Spam Quarantine", {"target": "offbox IronPort Spam Quarantine"}),
    ("message_done", "Wed Feb  4 14:02:12 2004 Info: Message done DCID 3312 MID 4806 to [0]", {"rids": [0]}),
    ("message_done", "Fri Jun 18 11:13:39 2004 Info: Message done DCID 6193797 MID 345766720 to RID [0] [('X-SBRS', '3.5')]",
     {"headers": {"x-sbrs": "3.5"}}),
    ("message_done", "Wed Nov 19 09:16:40 2014 Info: Message done DCID 6565554 MID 24611424 to RID [0] (external "
     "quarantine) ", {"target": "external quarantine"}),
    ("message_done", "Message done DCID 26995470 MID 78069816 to RID [0, 1, 2, 3] [('from', 'User Name "
     "<username@other.company>'), ('reply-to', 'User Name <username@other.company>'), ('to', 'user1@company.domain, "
     "user2@company.domain,\\r\\n\\tuser3@company.domain, user4@company.domain')]", {"rids": [0, 1, 2, 3]}),
    ("response", "Wed Nov 19 09:16:38 2014 Info: MID 24611465 RID [0] Response '2.0.0 Ok: queued as 3jjSKc6HnKz4GTHJ'",
     {"rids": [0], "response": ["2.0.0 Ok: queued as 3jjSKc6HnKz4GTHJ"], "dsn": "2.0.0"}),
    ("response", "Fri May 14 20:49:30 2004 Info: MID 9 RID [0] Response 2.6.0 <DIABLO8k69RKLpgTFur00000086@diablo."
     "ironportsystems.com> Queued mail for delivery", {"dsn": "2.6.0"}),
    ("message_finished", "Tue Apr 27 12:05:16 2004 Info: Message finished MID 1648122665 done", {"status": "done"}),
    ("dcid_close", "Wed Jan  7 11:15:47 2004 Info: DCID 4 close", {"dcid": 4}),
    ("dcid_tls", "Wed Nov 19 09:16:42 2014 Info: DCID 6565555 TLS success protocol TLSv1 cipher AES128-SHA ",
     {"result": "success", "protocol": "TLSv1"}),
    ("dcid_tls", "Info: DCID 80167 TLS failed: STARTTLS unexpected response",
     {"result": "failed", "detail": "STARTTLS unexpected response"}),
    ("dcid_tls", "Info: DCID 112095 TLS success protocol TLSv1 cipher AES128-SHA for dummy_domain.com",
     {"domain": "dummy_domain.com"}),
    ("dcid_tls_required_failed", "Info: DCID 8 IP 204.15.82.140 TLS was required but could not be successfully "
     "negotiated", {"ip": "204.15.82.140"}),
    ("bounced", "Sat Jan 10 09:45:42 2004 Info: Bounced: DCID: 1911 Message 3993 to 0 - 5.1.0 - Unknown address error "
     "('554', ['Too long line.']) []", {"dcid": 1911, "mid": 3993, "rid": 0, "dsn": "5.1.0", "code": "554",
                                         "response": ["Too long line."]}),
    ("bounced", "Fri May 14 20:49:30 2004 Info: Bounced: DCID 0 MID 8 to RID 0 - 5.1.2 - Bad destination host ('000', "
     "['DNS Hard Error looking up BMQ-WIN.RUN (MX):  NXDomain'])", {"dcid": 0, "reason": "Bad destination host"}),
    ("bounced", "Mon Mar 19 20:16:27 2018 Info: Bounced: DCID 8413617 MID 19338947 From: <MariaDubois@example.com> To: "
     "<zecora@buttercupgames.com> RID 0 - 5.4.7 - Delivery expired (message too old) ('000', ['timeout'])",
     {"sender": "MariaDubois@example.com", "recipient": "zecora@buttercupgames.com", "dsn": "5.4.7"}),
    ("bounced", "Wed Jan 29 00:06:30 2003 Info: Bounced: DCID 2 MID 15232 From:<example.com> To:<example.com> RID 0 - "
     "5.1.0 - Unknown address error ('550', ['5.1.1 The email account that you tried to reach does not exist. Please "
     "try', \"5.1.1 double-checking the recipient's email address for typos or\", '5.1.1 unnecessary spaces. Learn more "
     "at', '5.1.1  xxxxx ay44si12078156oib.94 - gsmtp'])",
     {"code": "550", "response": ["5.1.1 The email account that you tried to reach does not exist. Please try",
                                  "5.1.1 double-checking the recipient's email address for typos or",
                                  "5.1.1 unnecessary spaces. Learn more at", "5.1.1  xxxxx ay44si12078156oib.94 - gsmtp"]}),
    ("delayed", "Mon Mar 31 20:00:23 2003 Info: Delayed: DCID 5 MID 4 to RID 0 - 4.1.0 - Unknown address error ('466', "
     "['Mailbox temporarily full.'])[]", {"dsn": "4.1.0", "code": "466"}),
    ("delayed", "Info: Delayed: DCID: 4370 Message 10800 to 0 - 4.4.0 - Other network problem ('000', ['[Errno 54] "
     "Connection reset by peer']) []", {"mid": 10800, "reason": "Other network problem"}),
    ("delayed", "Mon Mar 19 20:16:03 2018 Info: Delayed: DCID 8414309 MID 19410908 From: <WeiZhang@example.com> To: "
     "<mcintosh@buttercupgames.com> RID 0 - 4.3.2 - Not accepting messages at this time ('421', ['4.3.2 try again later'])",
     {"recipient": "mcintosh@buttercupgames.com", "code": "421"}),
    ("double_bounce", "Fri Feb 27 09:26:25 2004 Info: Double bounce: Message 8963393 to 0 - 5.1.1 - Bad destination email "
     "address", {"mid": 8963393, "dsn": "5.1.1"}),
    ("pending_till", "Mon Mar 31 20:00:23 2003 Info: Message 4 to RID [0] pending till Mon Mar 31 20:01:23 2003",
     {"mid": 4, "rids": [0], "until": "Mon Mar 31 20:01:23 2003"}),
    ("pending_till", "Tue Apr 27 12:05:16 2004 Info: MID 4195162 to [0] pending till Tue Apr 27 13:05:17 2004 [Default]",
     {"profile": "Default"}),
    ("pending_till", "Mon Aug 10 09:56:56 2020 Info: Message 548799 to RID [712290] pending till Mon Aug 10 09:56:56 2020",
     {"rids": [712290]}),
    ("connection_error", "Info: Connection Error: connection timed out DCID: 2804 IP: 69.59.158.5 details: timeout "
     "interface: 10.20.1.49", {"dcid": 2804, "ip": "69.59.158.5", "details": "timeout"}),
    ("connection_error", "Info: Connection Error: DCID: 263 IP: 128.242.110.90 details: EOF interface: 128.197.12.246 "
     "reason: network error", {"reason": "network error"}),
    ("connection_error_domain", "Info: Connection Error: DCID 299 domain: example.com IP: 192.0.2.80 port: 25 details: "
     "timeout interface: 10.20.1.49 reason: connection timed out",
     {"dcid": 299, "domain": "example.com", "ip": "192.0.2.80", "port": 25, "details": "timeout",
      "interface": "10.20.1.49", "reason": "connection timed out"}),  # (template)
    ("connection_error_domain", "Info: Connection Error: DCID 300 domain: example.com IP: 192.0.2.80 port: 25 details: "
     "421 too busy reason: unexpected SMTP response",
     {"details": "421 too busy", "reason": "unexpected SMTP response"}),  # (template, TechNote 117875 wording)
    ("outbound_connection_limit", "Info: Maximum outbound connections 20 reached for example.com",
     {"limit": 20, "domain": "example.com", "what": "connections"}),  # (template)
    ("recipient_limit_throttled", "Info: Delivery to example.com Data 2 throttled by recipient limit",
     {"domain": "example.com", "interface": "Data 2", "what": "recipients"}),  # (template)
    ("dns_temp_failure", "Info: DNS Temporary Failure structure.com MX - ServFail", {"domain": "structure.com"}),
    ("dns_hard_error", "Info: DNS Hard Error looking up BMQ-WIN.RUN (MX):  NXDomain", {"domain": "BMQ-WIN.RUN"}),  # (template)
    ("deliveries_suspended", "Info: Deliveries are currently suspended [5857.cerdamailers.com]",
     {"domain": "5857.cerdamailers.com"}),
    ("dcid_killed", "Info: SMTP client connection killed DCID: 196546347", {"how": "killed"}),
    ("dcid_concurrency_exit", "Tue Jan 17 14:24:50 2006 Info: Mail delivery client with DCID 8163315 exited due to the "
     "maximum concurrency configuration.", {"dcid": 8163315}),
    ("possible_delivery", "Info: Possible Delivery: DCID: 4641294 MID 8956463 to [0]", {"dcid": 4641294}),
    ("deleted_recipients", "Fri May 14 20:41:12 2004 Info: Deleted: MID 3 to [0]", {"mid": 3}),
    ("expiration_scan", "Tue Apr 27 12:05:15 2004 Info: Scanning over-the-limit.com with 1 msgs for expiration candidates.",
     {"count": 1}),
    ("message_aborted", "Wed Jun  2 15:04:13 2004 Info: Message aborted MID 179637280 Dropped by Brightmail",
     {"by": "Brightmail"}),
    ("message_aborted", "Wed Nov 19 09:16:38 2014 Info: Message aborted MID 24611411 Dropped by CASE", {"by": "CASE"}),
    ("message_aborted", "Thu Sep 18 16:17:39 2019 Info: Message aborted MID 1653 Dropped by amp", {"by": "amp"}),
    ("bouncelog", "Thu Dec 26 18:37:00 2003 Info: Delayed: 44451135:0 From:<campaign1@yourdomain.com> "
     "To:<user@sampledomain.com> Reason: \"4.1.0 - Unknown address error\" Response: \"('451', ['<user@sampledomain.com> "
     "Automated block triggered by suspicious activity from your IP address (10.1.1.1). Have your system administrator "
     "send e-mail to postmaster@sampledomain.com if you believe this block is in error'])\"",
     {"action": "Delayed", "mid": 44451135, "rid": 0, "dsn": "4.1.0", "code": "451"}),
    ("bouncelog", "Thu Dec 26 18:36:59 2003 Info: Bounced: 45346670:0 From:<campaign1@yourdomain.com> "
     "To:<user2@sampledomain.com> Reason: \"5.1.0 - Unknown address error\" Response: \"('550', ['There is no such "
     "active account.'])\"", {"action": "Bounced", "response": ["There is no such active account."]}),
    # §1c CEF
    ("cef_event", "<166>Mar 17 18:24:37 consolidated_event: CEF:0|Cisco|C100V Email Security Virtual Appliance|14.0.2-020|"
     "ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|deviceExternalId=422084EE64B1B0454D49-AAFBF6B55869 ESAMID=164226 "
     "ESAICID=62905 ESAAMPVerdict=NOT_EVALUATED ESAASVerdict=NOT_EVALUATED endTime=Mon Nov 14 15:32:05 2022 "
     "suser=example.com cs2Label=SenderCountry cs2=United States act=ABORTED ESAFinalActionDetails=Receiving aborted by "
     "sender cfp1Label=SBRSScore cfp1=-2.3 ESASenderGroup=SUSPECTLIST sourceAddress=1.128.3.4 msg=''",
     {"mid": 164226, "icid": 62905, "action": "ABORTED", "sender": "example.com", "ip": "1.128.3.4",
      "sender_group": "SUSPECTLIST", "sbrs_score": -2.3, "reason": "Receiving aborted by sender"}),
    # §10 service health
    ("engine_status_antispam", "<166>Mar 17 18:24:37 antispam: Info: case antispam - engine (15703) : case-daemon: server "
     "killed by SIGHUP, shutting down", {"engine": "case"}),
    ("case_cache_status", "Wed Nov 19 09:16:45 2014 Info: CASE cache status: hits = 4579, misses = 823449, expires = 0, "
     "adds = 816702, seconds saved = 6796.34, total seconds = 1238122.53", {}),
    ("status_line", "<182>Mar 30 15:12:26 status: Info: Status: CPULd 0 DskIO 0 RAMUtil 1 QKUsd 0 QKFre 8388608 CrtMID 0 "
     "CrtICID 0 CrtDCID 1 InjMsg 0", {}),
    ("quarantine_error", "<166>Mar 17 18:31:14 error_logs: Info: Quarantine: Failed to connect to quarantine", {}),
    ("dns_bootstrap_failed", "<166>Mar 17 18:31:14 system: Warning: Failed to bootstrap the DNS resolver. Unable to "
     "contact root servers.", {}),
    ("dns_network_error", "<166>Mar 17 18:31:14 system: Warning: DNS query network error '[Errno 51] Network is "
     "unreachable' to 'dummy_ip' looking up ' '", {}),
    ("dns_invalid_response", "<166>Mar 17 18:24:37 system: Warning: Received an invalid DNS Response: '' to IP dummy_ip "
     "looking up example.de", {"domain": "example.de"}),
    ("dns_lame_referral", "<166>Mar 17 18:24:37 system: Info: lame DNS referral: qname:example.net ns_name:example.net "
     "zone:example.net", {"domain": "example.net"}),
    ("key_expiry", "<166>Mar 17 18:24:37 mail_logs: Warning: Your \"IronPort Anti-Spam\" key will expire in under 60 "
     "day(s). Please contact your authorized Cisco sales representative.", {"feature": "IronPort Anti-Spam", "days": 60}),
    ("internal_smtp_error", "<166>Mar 17 18:24:37 mail_logs: Warning: Internal SMTP Error: Failed to send message to host "
     "1.128.3.4:000 for recipient example: Unexpected SMTP response \"553\", expecting code starting with \"2\", response "
     "was ['#5.1.8 Domain of sender address <example.com> does not exist'].",
     {"code": "553", "response": ["#5.1.8 Domain of sender address <example.com> does not exist"]}),
    ("internal_smtp_error", "Warning: Internal SMTP Error: Failed to send message to host 68.232.146.108:25 for recipient "
     "abc@gmail.com: Unexpected SMTP response 553, expecting code starting with 2, response was ['#5.1.8 Domain of "
     "sender address <alert@cisco.esa> does not exist'].", {"recipient": "abc@gmail.com"}),
    ("internal_smtp", "Fri Mar 25 20:50:10 2022 Info: Internal SMTP system successfully sent a message to example.com "
     "with subject 'Warning <System> cisco.esa: Your \"Sophos Anti-Virus\" key will expire in under 60 day(s)....'.", {}),
    ("alert_sent", "Mon Oct  3 09:21:54 2005 Info: A Anti-Virus/Critical alert was sent to ironportalerts@interpublic.com "
     "with subject \"Critical <Anti-Virus> nycmgw01.interpublic.com: MID 198463616 antivirus timeout error\".",
     {"alert": "Anti-Virus/Critical"}),
    ("alert_failed", "Fri Mar 25 20:50:10 2022 Critical: Error while sending alert: Unable to send System/Warning alert "
     "to example.com with subject \"Warning <System> example.com: Your \"IronPort Email Encryption\" key will expire in "
     "under 60...\".", {}),
    ("service_graymail", "Fri Mar 25 20:50:10 2022 Info: graymail [CONFIG] Starting graymail configuration handler", {}),
    ("service_url_rep", "Fri Mar 25 20:50:10 2022 Info: URL_REP_CLIENT: Configuration changed. Triggering restart of URL "
     "Reputation client service.", {}),
    ("service_url_categories", "Fri Mar 25 20:50:10 2022 Warning: URL category definitions have changed. Please check "
     "and update your filters to use the new definitions", {}),
    ("service_content_scanner", "<166>Mar 17 18:24:37 content_scanner: Info: PF: Restarting content_scanner service.", {}),
    ("service_senderbase_upload", "Jul 23 12:23:59 SplunkMailSyslog: Info: SenderBase upload: 734 hosts totaling 201887 "
     "bytes", {"count": 734}),
    ("service_updates", "Info: case waiting for new updates", {}),
    ("vtl_fetch_failed", "<166>Mar 17 18:24:37 gui_logs: Warning: Could not fetch current Virus Threat Level: OS error "
     "opening URL 'http://example.com/vtl/xxx.txt'", {}),
    ("config_commit", "<166>Mar 17 18:24:37 system: Info: PID 1237: User admin commit changes: Added a second CLI log for "
     "examples", {"user": "admin"}),
    ("gui_request", "<166>Mar 17 18:24:37 gui_logs: Info: req:1.128.3.4 user:admin id:2v10z5fEuDsvhdbVE6Ck 200 GET xxx.png "
     "HTTP/1.1 Mozilla/5.0", {"ip": "1.128.3.4"}),
    ("gui_session", "<166>Mar 17 18:24:37 gui_logs: Info: Session fRK3TSjzhHhoI9CV5Kvt user:admin expired", {}),
    ("gui_login", "<166>Mar 17 18:24:37 gui_logs: Info: SourceIP:1.128.3.4 Destination:/login Username:admin "
     "Privilege:admin session:5GPz0QDlfxUYQ0Y3PgYN Action: The HTTPS session has been established", {"user": "admin"}),
    ("gui_action", "<166>Mar 17 18:24:37 gui_logs: Info: Action: User admin logged out from session 5GPz0QDlfxUYQ0Y3PgYN "
     "beacuse of inactivity timeout", {}),
    ("gui_passphrase", "<166>Mar 17 18:24:37 gui_logs: Info: Passphrase has been changed for user admin", {}),
    ("gui_https_error", "<166>Mar 17 18:24:37 gui_logs: Info: Error in https connection from host 0.0.0.0 port 000 - "
     "[Errno 54] Connection reset by peer", {}),
    ("gui_ssl_error", "<166>Mar 17 18:24:37 gui_logs: Warning: SSL error with client 0.0.0.0:000 - (336151574, "
     "'error:14094416:SSL routines:ssl3_read_bytes:sslv3 alert certificate unknown')", {}),
    ("gui_reports", "<166>Mar 17 18:24:37 gui_logs: Info: PERIODIC REPORTS: No root directory for Periodic Reports "
     "Archive. Probably, running first time...", {}),
]


@pytest.mark.parametrize(("name", "line", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_reference_line_is_recognised_as_its_shape(name, line, expected):
    _ts, _level, _host, text = envelope.split(line)
    r = catalogue.classify(text)
    assert r is not None, f"not recognised: {text!r}"
    pattern, match = r
    assert pattern.name == name
    f = catalogue.fields(pattern, match)
    for k, v in expected.items():
        assert f.get(k) == v, (k, f)


def test_every_pattern_has_a_fixture():
    covered = {c[0] for c in CASES}
    missing = [p.name for p in catalogue.PATTERNS if p.name not in covered]
    assert not missing, missing


def test_catalogue_kinds_are_documented_in_architecture(data_dir):
    arch = (data_dir.parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    undocumented = [k for k in catalogue.KINDS if f"`{k}`" not in arch]
    assert not undocumented, undocumented


def test_unknown_line_is_not_forced_into_a_shape():
    assert catalogue.classify("MID 12 frobnicated the quux") is None
    assert catalogue.classify("ICID 5 something new in AsyncOS 16") is None


def test_shape_masks_numbers_quotes_and_addresses():
    s = catalogue.shape("MID 12 frobnicated <a@b.c> 'x y' 10.1.2.3 deadbeefdeadbeef")
    assert s == "MID N frobnicated <…> '…' IP HEX"


def test_counting_path_classifies_every_fixture_as_classify_does(tmp_path):
    """count_stories inlines the dispatch: every reference line (new shapes too) gets the same shape."""
    from collections import Counter

    from diagnose.collectors.correlate import count_stories
    from diagnose.collectors.reader import LogReader

    path = tmp_path / "mail_logs"
    lines = ["Wed Nov 19 09:16:40 2014 Info: " + envelope.split(c[1])[3] for c in CASES if c[1]]
    path.write_text("\n".join(lines) + "\n")
    want = Counter()
    for *_x, text in LogReader([path]):
        r = catalogue.classify(text)
        want[r[0].name if r else None] += 1
    st = count_stories(LogReader([path]))
    got = Counter(st.shapes)
    got[None] = st.unknown
    assert +got == +want
    assert got["dhap"] == 2 and got["system_limit"] == 1 and got["isq_released"] == 1


def test_dhap_host_and_hostile_values_never_crash():
    for text in ("Potential Directory Harvest Attack from host=('', None), dhap_limit=0, sender_group=X",
                 "Potential Directory Harvest Attack from host=(\"a'b\", 'x'), dhap_limit=1, sender_group=G, listener=",
                 "MID 1 masquerading header 'X' from '"):
        r = catalogue.parse(text)
        assert r is not None, text
    assert catalogue.parse("Potential Directory Harvest Attack from host=1.2.3.4, dhap_limit=x, sender_group=G") is None
