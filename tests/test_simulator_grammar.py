"""The simulator writes the real AsyncOS grammar, follows the built-in HAT defaults, numbers ids
in log order, and its generated scenarios produce the (stage, outcome) they were built for."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from datetime import datetime

import pytest

from diagnose.sim.scenarios import RECIPE_NAMES, scenario_config
from diagnose.simulator import (
    Delivery,
    Filter,
    IncomingPolicy,
    Message,
    default_config,
    generate_scenarios,
    iter_scenarios,
    simulate,
    write_log,
)

# esa-log-formats.md §1a envelope and §12 regex hints (plus the shapes §3-§9 quote verbatim).
FILE_LINE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d "
                       r"\d\d:\d\d:\d\d \d{4} (Info|Warning|Critical|Debug): (?P<text>.*)$")
SHAPES = [re.compile(x) for x in (
    r"^Begin Logfile$", r"^Version: \S+ SN: \S+$", r"^Time offset from UTC: -?\d+ seconds$",
    r"^New SMTP ICID \d+ interface .+? \([^)]+\) address [0-9a-fA-F:.]+ reverse dns host \S+ verified (yes|no)$",
    r"^ICID \d+ (ACCEPT|REJECT|TCPREFUSE|RELAY) SG \S+ match \S+ SBRS (-?\d+\.\d|None)( country .+)?$",
    r"^ICID \d+ (close|lost)$",
    r"^ICID \d+ TLS success protocol \S+ cipher \S+$",
    r"^ICID \d+ TLS was required but remote host did not initiate it$",
    r"^ICID \d+ Address: <[^>]*> sender (rejected|allowed), envelope sender (domain (does not exist|could not be "
    r"resolved|missing)|matched domain exception)$",
    r"^ICID \d+ Receiving Failed: .+$",
    r"^Start MID \d+ ICID \d+$",
    r"^MID \d+ ICID \d+ From: <[^>]*>$",
    r"^MID \d+ ICID \d+ RID \d+ To: <[^>]*>$",
    r"^MID \d+ ICID \d+ To: <[^>]*> Rejected by (RAT|Receiving Control)$",
    r"^MID \d+ (Message-ID|Subject) ('.*'|\".*\")$",
    r"^MID \d+ ready \d+ bytes from <[^>]*>$",
    r"^MID \d+ SPF: (helo|mailfrom) identity \S+ (Pass|Fail|SoftFail|None|Neutral|PermError|TempError)$",
    r"^MID \d+ DKIM: (pass signature verified|permfail body hash did not verify \[final\]) \(d=\S+ s=\S+ i=@\S+\)$",
    r"^MID \d+ DMARC: Message from domain \S+, DMARC (pass|fail) \(SPF aligned (True|False), DKIM aligned "
    r"(True|False)\)$",
    r"^MID \d+ DMARC: Verification (passed|failed\. .+)$",
    r"^MID \d+ SDR: Domains for which SDR is requested: reverse DNS host: \S+, helo: \S+, env-from: \S+, "
    r"header-from: .+, reply-to: .+$",
    r"^MID \d+ SDR: Consolidated Sender Threat Level: \w+, Threat Category: .+, Suspected Domain\(s\) : .+ "
    r"\(other reasons for verdict\)\. Sender Maturity: .+ for domain: \S+$",
    r"^LDAP: (Drop|Bounce) query \S+ MID \d+ RID \d+ address \S+$",
    r"^MID \d+ matched all recipients for per-recipient policy \S+ in the (inbound|outbound) table$",
    r"^MID \d+ (interim verdict )?using engine: (CASE|SLBL) (spam (positive|negative|suspect)|marketing)$",
    r"^MID \d+ using engine: GRAYMAIL \w+$",
    r"^MID \d+ interim AV verdict using Sophos [A-Z]+$",
    r"^MID \d+ antivirus (negative|positive '[^']*'|encrypted|unscannable)$",
    r"^MID \d+ AMP file reputation verdict : .+$",
    r"^MID \d+ Outbreak Filters: verdict (positive|negative)$",
    r"^MID \d+ Virus Threat Level=\d$",
    r"^MID \d+ quarantined to \"[^\"]+\" \((message filter|content filter|a/v verdict|VOF rule|DLP policy):[^)]+\)$",
    r"^MID \d+ DLP violation\. Severity: (LOW|MEDIUM|HIGH|CRITICAL) \(Risk Factor: \d+\)\. DLP policy match: '[^']+'\.$",
    r"^ISQ: (Tagging MID \d+ for quarantine|Quarantined MID \d+)$",
    r"^RPC (Delivery start RCID \d+ MID \d+ to local IronPort Spam Quarantine|Message done RCID \d+ MID \d+)$",
    r"^Message aborted MID \d+ (Dropped by (CASE|antivirus|amp|DLP)|(Dropped|Bounced) by (filter|content filter) "
    r"'[^']+'( in the inbound table)?)$",
    r"^Message finished MID \d+ (done|aborted)$",
    r"^MID \d+ queued for delivery$",
    r"^MID \d+ generated for bounce of MID \d+$",
    r"^MID \d+ ICID 0 From: <>$", r"^MID \d+ ICID 0 RID 0 To: <[^>]+>$", r"^MID \d+ ready \d+ bytes from <>$",
    r"^Start MID \d+ ICID 0$",
    r"^New SMTP DCID \d+ interface \S+ address \S+ port \d+$",
    r"^DCID \d+ (close|TLS success protocol \S+ cipher \S+)$",
    r"^Delivery start DCID \d+ MID \d+ to RID \[[\d, ]+\]( to offbox IronPort Spam Quarantine)?$",
    r"^Message done DCID \d+ MID \d+ to RID \[[\d, ]+\]( \(external quarantine\) )?$",
    r"^MID \d+ RID \[[\d, ]+\] Response '.*'$",
    r"^(Bounced|Delayed): DCID \d+ MID \d+ From: <[^>]*> To: <[^>]*> RID \d+ - \d\.\d\.\d+ - .+? "
    r"\('\d{3}', \[.*\]\)$",
    r"^ICID \d+ Delayed HAT REJECT continuing session for recipient logging \([0-9a-fA-F:.]+\)$",
    r"^SMTP Auth \(ICID \d+\) (was required but remote host did not initiate it|(succeeded|failed) for user: \S+ "
    r"using AUTH mechanism: \S+ with profile: \S+)$",
    r"^Dropping connection due to potential Directory Harvest Attack from host=\('[0-9a-fA-F:.]+', ('[^']+'|None)\), "
    r"dhap_limit=\d+, sender_group=\S+, listener=\S+(, reverse_dns=\S+)?$",
    r"^MID \d+ released from quarantine \"[^\"]+\" \(manual\) t=\d+$",
    r"^ISQ: Reinjected MID \d+ as MID \d+$",
    r"^Message \d+ to RID \[[\d, ]+\] pending till (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} [ 123]\d \d\d:\d\d:\d\d \d{4} "
    r"\[\w+\]$",
)]


@pytest.fixture(scope="module")
def log_2000(tmp_path_factory):
    scenarios = generate_scenarios(2000, seed=7)
    path = tmp_path_factory.mktemp("sim") / "mail_logs.s"
    stats = write_log(scenarios, path)
    return scenarios, path, stats


def test_every_line_has_a_documented_shape(log_2000):
    _, path, stats = log_2000
    unknown = Counter()
    n = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        n += 1
        m = FILE_LINE.match(line)
        assert m, line
        text = m.group("text")
        if not any(rx.match(text) for rx in SHAPES):
            unknown[re.sub(r"\d+", "N", text)] += 1
    assert n == stats.lines
    assert not unknown, unknown.most_common(10)


def test_catalogue_recognises_every_simulated_line(log_2000):
    catalogue = pytest.importorskip("diagnose.collectors.catalogue")
    envelope = pytest.importorskip("diagnose.collectors.envelope")
    _, path, _ = log_2000
    missed = Counter()
    kinds = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        text = envelope.split(line)[-1]
        parsed = catalogue.parse(text)
        if parsed is None:
            missed[re.sub(r"\d+", "N", text)] += 1
        else:
            kinds[parsed[0]] += 1
    assert not missed, missed.most_common(10)
    for kind in ("hat_decision", "mid_rcpt_rejected", "sender_dns_rejected", "filter_action", "quarantined",
                 "bounced", "delayed", "pending_till", "isq_quarantined", "message_aborted", "ldap_query",
                 "dlp_violation", "hat_delayed_reject", "smtp_auth", "smtp_auth_required", "dhap",
                 "quarantine_released", "isq_reinjected"):
        assert kinds[kind] > 0, kind


def test_ids_increase_in_log_order_and_header_comes_first(log_2000):
    scenarios, path, _ = log_2000
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith("Info: Begin Logfile")
    assert " Info: Version: 15.0.0-104 SN: " in lines[1]
    assert lines[2].endswith("Time offset from UTC: 0 seconds")
    last: dict[str, int] = {}
    prev_ts = None
    for line in lines:
        ts = datetime.strptime(line[:24], "%a %b %d %H:%M:%S %Y")
        assert prev_ts is None or ts >= prev_ts, line
        prev_ts = ts
        for kind, rx in (("icid", r"New SMTP ICID (\d+)"), ("mid", r"Start MID (\d+)"),
                         ("dcid", r"New SMTP DCID (\d+)"), ("rcid", r"RPC Delivery start RCID (\d+)")):
            m = re.search(rx, line)
            if m:
                assert int(m.group(1)) > last.get(kind, 0), line
                last[kind] = int(m.group(1))
    # every accepted scenario got its ids, and they point at its own lines
    s = next(s for s in scenarios if s.kind == "delivered")
    assert any(f"Start MID {s.mid} ICID {s.icid}" in line for line in lines)
    assert any(f"address {s.ip} " in line and f"ICID {s.icid} " in line for line in lines)


def test_each_recipe_produces_the_stage_and_outcome_it_was_built_for():
    scenarios = generate_scenarios(3000, seed=3)
    seen = {s.kind for s in scenarios}
    assert seen == set(RECIPE_NAMES)
    for s in scenarios:
        assert (s.result.stage, s.result.outcome) == (s.stage, s.outcome), (s.kind, s.result.steps)
    stages = {s.stage for s in scenarios}
    assert {"hat", "sender_verification", "rat", "ldap_accept", "authentication", "message_filter",
            "safelist_blocklist", "antispam", "antivirus", "amp", "content_filter", "outbreak_filter",
            "dlp", "delivery"} <= stages


def test_same_seed_same_log(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_log(generate_scenarios(300, seed=11), a)
    write_log(generate_scenarios(300, seed=11), b)
    write_log(generate_scenarios(300, seed=12), tmp_path / "c")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != (tmp_path / "c").read_bytes()


@pytest.mark.parametrize(("sbrs", "group", "action", "match"), [
    (-10.0, "BLACKLIST", "REJECT", "sbrs[-10.0:-3.0]"),
    (-3.0, "BLACKLIST", "REJECT", "sbrs[-10.0:-3.0]"),  # first matching row wins on the shared edge
    (-2.9, "SUSPECTLIST", "ACCEPT", "sbrs[-3.0:-1.0]"),
    (-1.0, "SUSPECTLIST", "ACCEPT", "sbrs[-3.0:-1.0]"),
    (-0.9, "UNKNOWNLIST", "ACCEPT", "sbrs[-1.0:10.0]"),
    (10.0, "UNKNOWNLIST", "ACCEPT", "sbrs[-1.0:10.0]"),
    (None, "None", "ACCEPT", "ALL"),
])
def test_hat_follows_the_moderate_defaults(sbrs, group, action, match):
    res = simulate(Message(sbrs=sbrs))
    lines = res.lines()
    sbrs_text = "None" if sbrs is None else f"{sbrs:.1f}"
    assert lines[4].endswith(f"Info: ICID 1001 {action} SG {group} match {match} SBRS {sbrs_text}")
    if action == "REJECT":
        assert (res.stage, res.outcome) == ("hat", "rejected")
        assert lines[5].endswith("ICID 1001 close") and len(lines) == 6


def test_whitelisted_host_skips_antispam_but_not_antivirus():
    cfg = scenario_config()
    res = simulate(Message(sender_ip="198.51.100.77", sbrs=None, spam="positive"), cfg)
    text = "\n".join(res.lines())
    assert "ACCEPT SG WHITELIST match 198.51.100.77 SBRS None" in text
    assert "using engine: CASE" not in text
    assert "antivirus negative" in text
    assert (res.stage, res.outcome) == ("delivery", "delivered")
    assert any(s.stage == "antispam" and s.status == "skipped" for s in res.steps)


def test_throttled_sender_is_rejected_by_receiving_control_after_20_recipients():
    res = simulate(Message(sbrs=-2.0, rcpts_this_hour=19, recipients=("a@example.com", "b@example.com")))
    text = "\n".join(res.lines())
    assert "ICID 1001 RID 0 To: <a@example.com>" in text
    assert "ICID 1001 To: <b@example.com> Rejected by Receiving Control" in text
    assert res.outcomes == {"a@example.com": ("delivery", "delivered"), "b@example.com": ("hat", "rejected")}


def test_rat_rejects_other_domains_and_keeps_the_accepted_recipient():
    res = simulate(Message(recipients=("x@example.org", "y@example.com")))
    text = "\n".join(res.lines())
    assert "To: <x@example.org> Rejected by RAT" in text and "RID 0 To: <y@example.com>" in text
    assert (res.stage, res.outcome) == ("rat", "rejected")
    assert res.outcomes["y@example.com"] == ("delivery", "delivered")


def test_spam_quarantine_local_and_offbox():
    local = "\n".join(simulate(Message(spam="positive")).lines())
    assert "ISQ: Tagging MID 5001 for quarantine" in local
    assert "RPC Delivery start RCID 11 MID 5001 to local IronPort Spam Quarantine" in local
    assert "ISQ: Quarantined MID 5001" in local and "Delivery start DCID" not in local
    off = "\n".join(simulate(Message(spam="positive"), default_config(spam_quarantine="offbox")).lines())
    assert "Delivery start DCID 901 MID 5001 to RID [0] to offbox IronPort Spam Quarantine" in off
    assert "Message done DCID 901 MID 5001 to RID [0] (external quarantine) " in off


def test_content_filter_bounce_generates_an_ndr_on_icid_0():
    cfg = default_config(incoming_policies=(IncomingPolicy(content_filters=(
        Filter("Bounce_Macros", "bounce", attachment_ext=".docm"),)),))
    res = simulate(Message(attachments=("a.docm",)), cfg)
    text = "\n".join(res.lines())
    assert "Message aborted MID 5001 Bounced by content filter 'Bounce_Macros' in the inbound table" in text
    assert "Start MID 5002 ICID 0" in text and "MID 5002 generated for bounce of MID 5001" in text
    assert "MID 5002 ICID 0 RID 0 To: <alice@partner.example>" in text
    assert (res.stage, res.outcome) == ("content_filter", "bounced")


def test_deferral_follows_the_bounce_profile_then_expires():
    res = simulate(Message(delivery=Delivery("defer", failures=2)))
    lines = res.lines()
    pend = [x for x in lines if "pending till" in x]
    assert len(pend) == 2
    logged = datetime.strptime(pend[0][:24], "%a %b %d %H:%M:%S %Y")
    until = datetime.strptime(pend[0].split("pending till ")[1][:24], "%a %b %d %H:%M:%S %Y")
    assert (until - logged).total_seconds() == 60 and pend[0].endswith(" [Default]")  # initial retry 60 s
    assert (res.stage, res.outcome) == ("delivery", "deferred")
    exp = simulate(Message(delivery=Delivery("expire")))
    delayed = [x for x in exp.lines() if "Delayed: DCID" in x]
    assert 60 < len(delayed) <= 100  # 60 s doubling to 3600 s, for 72 h
    assert exp.lines()[-1].endswith("Message finished MID 5001 done")
    assert any("5.4.7 - Delivery expired (message too old) ('000', ['timeout'])" in x for x in exp.lines())
    assert (exp.stage, exp.outcome) == ("delivery", "bounced")


def test_untrusted_text_cannot_break_a_line_or_forge_ids():
    msg = Message(subject="hi\nMID 1 ICID 1 From: <x>\x00mid\x00", sender="a'b\"@x.example",
                  virus="W32/\rX\x01", helo="h\x01x\x00mid\x00")
    lines = simulate(msg).lines()
    assert all("\n" not in x and "\r" not in x and "\x00" not in x and "\x01" not in x for x in lines)
    subj = next(x for x in lines if " Subject " in x)
    assert "\\nMID 1 ICID 1" in subj and "mid" in subj
    assert sum("Start MID" in x for x in lines) == 1  # no forged id placeholder
    # names and addresses with line breaks are refused rather than written
    for bad in ({"sender_ip": "1.2.3.4\nICID 9 close"}, {"recipients": ("v\r\n@example.com",)}):
        with pytest.raises(ValueError):
            simulate(Message(**bad))


def test_syslog_form_and_gzip_and_lines_target(tmp_path):
    res = simulate(Message())
    sl = res.lines(syslog=True)
    assert sl[0].startswith("<166>Oct  7 13:00:00 esa1.example.com mail_logs: Info: New SMTP ICID 1001 ")
    path = tmp_path / "big.gz"
    stats = write_log(iter_scenarios(seed=5), path, lines_target=20_000)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        n = sum(1 for _ in fh)
    assert n == stats.lines and 20_000 <= n < 21_000
    small = generate_scenarios(5, seed=1)
    stats2 = write_log(small, tmp_path / "cycled", lines_target=1000)
    assert stats2.lines >= 1000 and stats2.scenarios > 5
