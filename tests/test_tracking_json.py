"""Message Tracking REST API JSON (search results and details) -> Events and stories."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.collectors.tracking import (
    classify_last_state,
    parse_narrative,
    read_tracking,
    tracking_stories,
)
from diagnose.model import InputError

TRK = "tracking"


def _story(data, mid):
    return next(s for (_a, m), s in data.messages.items() if m == mid)


def test_sma_details_delivered_with_events_as_evidence(data_dir):
    path = data_dir / TRK / "demisto_sma_message_details_get.json"
    data = read_tracking(path)
    assert data.format == "json" and data.records == 1 and data.problems == []
    msg = _story(data, 349)
    assert msg.appliance == "esa1.test.eu.iphmx.com"
    assert msg.sender == "test1@test.com"
    assert msg.recipients == {0: "test@test.com"}
    assert msg.icid == 13646
    resp = msg.first("response")
    assert resp is not None
    assert resp.source == f"tracking:{path}#/data/messages/summary/2"
    assert resp.text.startswith("Message 349 to test@test.com received remote SMTP response '2.6.0")
    assert resp.get("rids") == [0] and resp.get("response")[0].startswith("2.6.0 <test.test.com>")
    assert resp.ts == datetime(2022, 9, 7, 9, 8, 6) and resp.get("tz_offset") == 0
    last = msg.first("tracking_last_state")
    assert last.get("outcome") == "delivered" and last.get("confidence") == "likely"
    assert last.source.endswith("#/data/messages/messageStatus")
    # the connection narratives go to the ICID story, like the log correlator does
    con = data.connections[("esa1.test.eu.iphmx.com", 13646)]
    assert 349 in con.mids
    new = con.first("icid_new")
    assert new.get("ip") == "33.33.33.33" and new.get("rdns") == "test.test.net" and new.get("rdns_verified") is True
    hat = con.first("hat_decision")
    assert hat.get("sender_group") == "ACCEPTLIST" and hat.get("sbrs_score") == 3.5
    assert "action" not in hat.fields  # the narrative does not say ACCEPT: we do not invent it


def test_full_narrative_maps_to_log_kinds(data_dir):
    conns, msgs, problems = tracking_stories(data_dir / TRK / "readme_sma_details_322.json")
    assert problems == []
    msg = next(m for m in msgs if m.mid == 322)
    kinds = [e.kind for e in msg.events]
    for k in ("mid_start", "mid_from", "mid_to", "mid_ready", "mid_message_id", "mid_subject", "spf", "dkim", "dmarc",
              "dmarc_verification", "sdr_domains", "sdr_verdict", "policy_match", "antispam", "av_interim", "antivirus",
              "amp_verdict", "outbreak_verdict", "queued", "dcid_new", "dcid_tls", "delivery_start", "message_done",
              "response", "tracking_last_state"):
        assert k in kinds, k
    # narratives win over envelope attributes: no duplicate sender/recipient events
    assert kinds.count("mid_from") == 1 and kinds.count("mid_to") == 1
    final_as = [e for e in msg.all("antispam") if not e.get("interim")]
    assert len(final_as) == 1 and final_as[0].get("engine") == "CASE" and final_as[0].get("verdict") == "negative"
    assert {e.get("engine") for e in msg.all("av_interim")} == {"McAfee", "Sophos"}
    assert msg.first("antivirus").get("verdict") == "negative"
    assert msg.first("policy_match").fields["policy"] == "DEFAULT"
    assert msg.first("policy_match").fields["direction"] == "inbound"
    assert msg.first("sdr_verdict").get("threat_level") == "Neutral"
    assert msg.first("dmarc").get("spf_aligned") is True and msg.first("dmarc").get("result") == "pass"
    assert msg.first("spf").get("result") == "pass" and msg.first("spf").get("identity") == "mailfrom"
    ds = msg.first("delivery_start")
    assert ds.get("dcid") == 4368 and ds.get("rids") == [0] and ds.get("target") == ""
    # a DCID-only narrative joins the message delivered on that DCID
    assert msg.first("dcid_new").get("ip") == "1.1.1.1" and msg.first("dcid_new").get("port") == 25
    assert msg.first("message_done").get("dcid") == 4368
    con = next(c for c in conns if c.icid == 10821)
    hats = [e for e in con.events if e.kind == "hat_decision"]
    accept = next(e for e in hats if e.get("action"))
    assert accept.get("action") == "ACCEPT" and accept.get("rule") == "sbrs[0.0:10.0]"
    assert accept.get("country") == "Netherlands" and accept.get("sbrs_score") == 3.5
    assert con.first("icid_close").get("how") == "lost"
    assert con.first("icid_tls").get("result") == "success"
    # events are in time order and every one cites its JSON pointer and narrative
    assert [e.ts for e in msg.events] == sorted(e.ts for e in msg.events)
    for e in msg.events:
        assert e.source.startswith("tracking:") and "#/data/messages/" in e.source and e.text


def test_spam_quarantine_over_rpc(data_dir):
    data = read_tracking(data_dir / TRK / "readme_esa_details_1576.json")
    msg = _story(data, 1576)
    slbl = [e for e in msg.all("antispam") if not e.get("interim")]
    assert slbl[0].get("engine") == "SLBL" and slbl[0].get("verdict") == "positive"
    assert msg.first("rpc_delivery_start").get("rcid") == 1
    assert msg.first("isq_quarantined").get("quarantine") == "Spam Quarantine"
    last = msg.first("tracking_last_state")
    assert last.get("outcome") == "quarantined" and last.get("stage") == "antispam"
    assert "graymail" in last.get("stage_alternatives")
    assert msg.first("dmarc_verification").get("result") == "skipped"


def test_search_results_one_story_per_mid(data_dir):
    data = read_tracking(data_dir / TRK / "demisto_sma_message_search.json")
    assert data.records == 4
    assert sorted(m for (_a, m) in data.messages) == [315, 316, 317, 318]
    assert {a for (a, _m) in data.messages} == {"TESTSERIALNUMBER"}  # serial number: how logs name appliances
    m316 = _story(data, 316)
    assert m316.sender == "testtest@amazonses.com" and m316.recipients == {0: "test@test.com"}
    assert m316.first("mid_message_id").get("message_id") == "<testtest@email.amazonses.com>"
    assert m316.first("tracking_last_state").source.endswith("#/data/1/attributes/messageStatus/316")
    con = data.connections[("TESTSERIALNUMBER", 16516)]
    assert con.ip == "2.2.2.2" and con.first("hat_decision").get("sbrs_score") == 2.7


def test_details_with_split_mids_and_incomplete_flag(data_dir):
    data = read_tracking(data_dir / TRK / "demisto_esa_message_details_get.json")
    assert {a for (a, _m) in data.messages} == {"1231321-1231321"}  # "(Name unresolved,  SN:...)"
    msg = _story(data, 767)  # the MID of the last event carries the record's state
    last = msg.first("tracking_last_state")
    assert last.get("state") == "Quarantined by Multiple Engines" and last.get("stage") == "unknown"
    assert last.get("record_mids") == [765, 766, 767]
    assert any(e.kind == "tracking_note" and "incomplete" in e.get("note", "") for e in msg.events)
    assert msg.first("response").get("response") == ["ok:  Message 89 accepted"]
    sdr = msg.first("sdr_verdict")  # the details page's SDR summary
    assert (sdr.get("threat_level"), sdr.get("maturity")) == ("Neutral", "30 days (or greater)")
    assert sdr.source.endswith("#/data/messages/sdrReputation")
    assert msg.first("attachment").get("name") == "test.jpg"


@pytest.mark.parametrize(("text", "kind", "fields"), [
    ("(ICID 5) REJECT sender group BLOCKED_LIST match sbrs[-10.0:-3.0] SBRS -4.2 country Russian Federation",
     "hat_decision", {"icid": 5, "action": "REJECT", "sender_group": "BLOCKED_LIST", "sbrs_score": -4.2,
                      "rule": "sbrs[-10.0:-3.0]", "country": "Russian Federation"}),
    ("(ICID 6) TCPREFUSE sender group BLACKLIST match dnslist[zen.spamhaus.org] SBRS None",
     "hat_decision", {"action": "TCPREFUSE", "rule": "dnslist[zen.spamhaus.org]", "sbrs": "None", "sbrs_score": None}),
    ("Message 9 scanned by Anti-Spam engine: CASE. Final verdict: Positive", "antispam",
     {"mid": 9, "engine": "CASE", "verdict": "positive", "interim": False}),
    ("Message 9 scanned by Anti-Spam engine CASE. Interim verdict: definitely negative.", "antispam",
     {"verdict": "definitely negative", "interim": True}),
    ("Message 9 scanned by Anti-Virus engine. Final verdict: Positive (Eicar-Test-Signature)", "antivirus",
     {"verdict": "positive", "virus": "Eicar-Test-Signature"}),
    ("Message 9 was dropped by content filter 'drop_exe' in the inbound table.", "filter_action",
     {"action": "dropped", "filter": "drop_exe", "filter_type": "content", "direction": "inbound"}),
    ("Message 9 to bob@example.org bounced by destination server. Reason: 5.1.0 - Unknown address error "
     "('550', ['5.1.1 <bob@example.org>: Recipient address rejected'])",
     "bounced", {"mid": 9, "recipient": "bob@example.org", "dsn": "5.1.0", "code": 550,
                 "reason": "Unknown address error"}),
    ("Message 9 quarantined to \"Policy\" (content filter:quarantine_pdf)", "quarantined",
     {"quarantine": "Policy", "reason": "content filter:quarantine_pdf"}),
    ("Incoming connection (ICID 77) lost.", "icid_close", {"icid": 77, "how": "lost"}),
    ("Message 9 direction: incoming", "tracking_note", {"mid": 9, "direction": "incoming"}),
])
def test_narratives(text, kind, fields):
    k, f = parse_narrative(text)
    assert k == kind
    for key, value in fields.items():
        assert f.get(key) == value, key


def test_unknown_narrative_is_kept_as_note_with_ids():
    kind, fields = parse_narrative("Message 42 frobnicated by the new engine on (DCID 7) somehow")
    assert kind == "tracking_note" and fields == {"mid": 42, "dcid": 7}


@pytest.mark.parametrize(("state", "outcome", "stage"), [
    ("Delivered", "delivered", "delivery"),
    ("Dropped by antivirus", "dropped", "antivirus"),
    ("Dropped by Anti-Spam", "dropped", "antispam"),
    ("Dropped by Content Filter", "dropped", "content_filter"),
    ("Dropped by message filter", "dropped", "message_filter"),
    ("Quarantined by Anti-Spam/Graymail", "quarantined", "antispam"),
    ("Quarantined by Multiple Engines", "quarantined", "unknown"),
    ("Quarantined by Outbreak Filters", "quarantined", "outbreak_filter"),
    ("Hard bounced", "bounced", "delivery"),
    ("Soft bounced", "deferred", "delivery"),
    ("Queued for delivery", "deferred", "delivery"),
    ("Dropped by AMP", "dropped", "amp"),
    ("Something new in 16.0", "unknown", "unknown"),
    ("", "unknown", "unknown"),
])
def test_last_states(state, outcome, stage):
    c = classify_last_state(state)
    assert (c["outcome"], c["stage"]) == (outcome, stage)
    assert c["confidence"] != "certain"  # a status column never states a log line


def test_bad_json_is_an_input_error(tmp_path):
    p = tmp_path / "t.json"
    p.write_text('{"data": [ {"attributes": ')
    with pytest.raises(InputError, match="not valid JSON"):
        read_tracking(p)
    with pytest.raises(InputError, match="no such"):
        read_tracking(tmp_path / "missing.json")
    with pytest.raises(InputError, match="folder"):
        read_tracking(tmp_path)
    b = tmp_path / "bin.json"
    b.write_bytes(b"{\x00\x01\x02")
    with pytest.raises(InputError, match="binary"):
        read_tracking(b)


def test_json_without_records_answers_with_a_problem(tmp_path):
    p = tmp_path / "empty.json"
    p.write_text('{"meta": {"totalCount": 0}, "data": []}')
    data = read_tracking(p)
    assert not data.messages and any("no message-tracking records" in x for x in data.problems)


def test_hostile_values_stay_data(tmp_path):
    doc = {"data": {"messages": {
        "mid": [7], "sender": "\"><img src=x onerror=alert(1)>@evil.example", "recipient": ["<script>@x"],
        "subject": "<svg/onload=alert(1)>", "messageStatus": "Delivered", "hostName": "<b>esa</b>",
        "summary": [{"description": 12345, "timestamp": None}, {"description": "Message 7 queued for delivery."},
                    "Message 7 original subject on injection: javascript:alert(1)", None],
    }}}
    p = tmp_path / "x.json"
    p.write_text(json.dumps(doc))
    data = read_tracking(p)
    msg = _story(data, 7)
    assert msg.first("mid_subject").get("subject") == "javascript:alert(1)"
    assert msg.first("queued") is not None
    assert any("without a description" in x for x in data.problems)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30)
    | st.sampled_from(["Delivered", "Message 1 queued for delivery.", "(DCID 2) Delivery started for message 1 to a@b",
                       "07 Sep 2022 09:08:03 (GMT)", "mid", "summary"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["mid", "summary", "messageStatus", "sender", "recipient", "recipientMap", "data", "messages",
                         "attributes", "description", "timestamp", "icid", "allIcid", "dcid", "sendingHostSummary",
                         "senderGroup", "subject", "hostName", "serialNumber", "x"]), children, max_size=6),
    max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_json)
def test_any_json_never_crashes(tmp_path, doc):
    p = tmp_path / "fuzz.json"
    p.write_text(json.dumps({"data": doc}))
    data = read_tracking(p)
    for e in data.events:
        assert e.source.startswith("tracking:") and isinstance(e.text, str)


def test_log_worded_narratives_and_mid_links(tmp_path):
    doc = {"data": {"messages": {"mid": [5, 6], "sender": "a@b.example", "recipient": ["c@d.example"],
                                 "messageStatus": "Delivered", "summary": [
        {"description": "Message 5 rewritten to MID 6 by add-footer filter 'Footer'."},
        {"description": "Message 6 queued for delivery."},
        {"description": "Message 4 generated for bounce of message 3"}]}}}
    p = tmp_path / "links.json"
    p.write_text(json.dumps(doc))
    data = read_tracking(p)
    m5, m6 = _story(data, 5), _story(data, 6)
    assert m5.first("rewritten").get("new_mid") == 6  # read with the log catalogue
    assert ("rewritten_to", 6) in m5.links and ("rewritten_from", 5) in m6.links
    assert ("bounce_of", 3) in _story(data, 4).links
