"""Reading the ESA configuration: XML export, HAT and RAT text exports, and hostile XML."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.collectors.esaconfig import load_config, parse_config_bytes
from diagnose.collectors.hat_syntax import parse_hat_text, parse_member, parse_rat_text
from diagnose.model import InputError

CONFIG = Path(__file__).parent / "data" / "config"


@pytest.fixture(scope="module")
def xml_config():
    return load_config([CONFIG / "esa_config.xml"])


def test_xml_listeners_hat_rat_and_bounce_profiles(xml_config):
    assert xml_config.hostname == "esa01.corp.example"
    inc = xml_config.listener("IncomingMail")
    assert inc.type == "public"
    assert [g.label for g in inc.hat.sender_groups] == [
        "WHITELIST", "CORP_BLOCKLIST", "BLACKLIST", "SUSPECTLIST", "UNKNOWNLIST",
        "(unnamed HAT entry .spamdomain.example)", "ALL"]
    corp = inc.hat.group("CORP_BLOCKLIST")
    assert corp.policy == "$CORP_BLOCKED"
    assert [(m.kind, m.value) for m in corp.members] == [("cidr", "203.0.113.0/24"), ("sbrs", "sbrs[-10.0:-1.5]")]
    assert inc.hat.policies["$CORP_BLOCKED"].access == "REJECT"
    assert inc.hat.policies["$TRUSTED"].settings["spam_check"] == "off"
    assert inc.hat.policies["$TRUSTED"].settings["max_message_size"] == "104857600"
    assert inc.hat.default_params["max_message_size"] == "10485760"
    # the RAT keeps order, multiple addresses per entry, parameters
    assert [e.addresses for e in inc.rat] == [["postmaster@corp.example"], ["corp.example", ".corp.example"],
                                              ["legacy-corp.example"], ["ALL"]]
    assert inc.rat[0].params["bypass_receiving_control"] == "1"
    assert inc.rat[-1].access == "REJECT" and inc.rat[-1].params["smtp_response_code"] == "550"
    assert inc.domain_map == [("oldcorp.example", "corp.example")]
    assert inc.bounce_profile == "Default"
    assert xml_config.bounce_profiles["Default"].settings["max_retries"] == "100"
    out = xml_config.listener("OutgoingMail")
    assert out.type == "private" and out.rat is None
    assert out.hat.group("RELAYLIST").members[0].value == "10.10.0.0/16"


def test_sources_point_into_the_file(xml_config):
    inc = xml_config.listener("IncomingMail")
    g = inc.hat.group("BLACKLIST")
    assert g.source.startswith("config:esa_config.xml#listeners/listener[IncomingMail]/hat:")
    line = int(g.source.rsplit(":", 1)[1])
    hat_text = (CONFIG / "esa_config.xml").read_text("latin-1").split("<hat>", 1)[1]
    assert hat_text.splitlines()[line - 1].strip() == "BLACKLIST:"
    assert inc.rat[1].source.endswith("/rat/rat_entry[2]")


def test_not_understood_elements_are_reported(xml_config):
    text = "\n".join(xml_config.unknown_elements)
    assert "config/mail_policies" in text and "config/sdr_settings" in text
    # documented but unused elements are not noise
    assert "interfaces" not in text and "global_max_header_lines" not in text
    assert xml_config.summary()["not_understood"] == xml_config.unknown_elements


def test_hat_and_rat_exports_form_one_listener():
    cfg = load_config([CONFIG / "hat_export.txt", CONFIG / "rat_export.txt"])
    li = cfg.listener()
    assert li.name == "export" and li.type == "public"
    assert [g.label for g in li.hat.sender_groups][:4] == ["WHITELIST", "BLACKLIST", "SUSPECTLIST", "UNKNOWNLIST"]
    assert li.hat.group("BLACKLIST").members[0].describe() == "SBRS −10.0…−3.0"
    assert li.hat.sender_groups[-1].label == "ALL" and li.hat.sender_groups[-1].policy == "$ACCEPTED"
    anon = li.hat.sender_groups[4]
    assert anon.name is None and anon.inline_access == "REJECT" and "spamdomain.com" in anon.comment
    assert [e.addresses[0] for e in li.rat] == ["postmaster@corp.example", "corp.example", ".corp.example",
                                                "legacy-corp.example", "ALL"]
    assert cfg.unknown_elements == []
    # with an XML config as well, the exports are still the listener evaluated by default
    both = load_config([CONFIG / "esa_config.xml", CONFIG / "hat_export.txt"])
    assert both.listener().name == "export" and both.listener("IncomingMail") is not None


def test_member_kinds():
    kinds = {v: parse_member(v).kind for v in [
        "10.1.1.1", "10.1.1.0/24", "10.1.1.1-50", "10.2.3.", "2001:db8::1", "2001:db8::/32",
        "mail.example.com", ".example.com", "sbrs[-10.0:-3.0]", "sbrs[none]", "dnslist[zen.spamhaus.org]",
        "country[US]", "ALL", "etf-source:hailataxii"]}
    assert kinds == {
        "10.1.1.1": "ip", "10.1.1.0/24": "cidr", "10.1.1.1-50": "range", "10.2.3.": "cidr",
        "2001:db8::1": "ip", "2001:db8::/32": "cidr", "mail.example.com": "hostname",
        ".example.com": "partial_hostname", "sbrs[-10.0:-3.0]": "sbrs", "sbrs[none]": "sbrs",
        "dnslist[zen.spamhaus.org]": "dnslist", "country[US]": "country", "ALL": "all",
        "etf-source:hailataxii": "unknown"}
    assert parse_member("sbrs[-3.0:-10.0]").low == -10.0  # reversed bounds normalised


def test_hat_lines_not_understood_are_reported_not_fatal():
    text = "WHITELIST:\n    $TRUSTED\n???weird\n    WHITELIST\n$TRUSTED\n    ACCEPT {\n    nonsense here\n    }\n" \
           "10.0.0.1\n    (only a comment)\n    stray\nUNDEFINED_TARGET_GROUP:\nALL\n    $ACCEPTED\n"
    hat, notes = parse_hat_text(text, "config:t#hat")
    joined = "\n".join(notes)
    assert "member '???weird' not understood" in joined
    assert "setting not understood" in joined
    assert "indented line outside any entry" in joined or "target not understood" in joined
    assert hat.sender_groups[-1].label == "ALL"


def test_rat_options_kept_and_unknown_reported():
    entries, notes = parse_rat_text('# c\npostmaster@ ACCEPT bypass_receiving_control\nfoo.example REJECT 550 '
                                    '"#5.1.0 Address rejected"\nbar.example ACCEPT ###\nnonsense\n', "config:r#rat")
    assert entries[0].params == {"bypass_receiving_control": "on"}
    assert entries[1].params == {"smtp_response_code": "550", "smtp_response_text": "#5.1.0 Address rejected"}
    assert entries[2].params["unparsed"] == "###"
    assert any("RAT line not understood" in n for n in notes)
    assert any("RAT options not understood" in n for n in notes)


# ----------------------------------------------------------------- hostile and broken input

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE config [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<config><hostname>&lol9;</hostname></config>
"""


def test_billion_laughs_refused_quickly():
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=r"entity 'lol'.*not allowed"):
        parse_config_bytes(BILLION_LAUGHS, "bomb.xml")
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE config [<!ENTITY x SYSTEM "file:///etc/passwd">]><config>'
    b"<hostname>&x;</hostname></config>",
    b'<?xml version="1.0"?><!DOCTYPE config [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><config/>',
])
def test_external_entities_refused(doc):
    with pytest.raises(InputError, match="external entity"):
        parse_config_bytes(doc, "xxe.xml")


def test_plain_doctype_accepted_and_latin1_decoded():
    doc = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE config SYSTEM "config.dtd">\n'
           "<config><hostname>caf\xe9.example</hostname></config>").encode("latin-1")
    assert parse_config_bytes(doc, "c.xml").hostname == "caf\xe9.example"


@pytest.mark.parametrize("doc, message", [
    (b"<config><listeners></config>", "not well-formed XML"),
    (b"<html><body/></html>", "not an ESA configuration export"),
    (b"\n\n# only comments\n", "no HAT entry, RAT entry or XML configuration"),
])
def test_bad_inputs_are_input_errors(doc, message):
    with pytest.raises(InputError, match=message):
        parse_config_bytes(doc, "bad")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_config([tmp_path / "nope.xml"])
    with pytest.raises(InputError, match="is a folder"):
        load_config([tmp_path])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_hat_and_rat_text_never_crash(text):
    hat, notes = parse_hat_text(text, "config:fuzz#hat")
    entries, rnotes = parse_rat_text(text, "config:fuzz#rat")
    assert isinstance(notes, list) and isinstance(rnotes, list)
    for g in hat.sender_groups:
        assert g.label


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_input_error(data):
    try:
        cfg = parse_config_bytes(data, "fuzz")
    except InputError as exc:
        assert str(exc)  # one clear line, never another exception type
    else:
        assert cfg.files == ["fuzz"]


# ----------------------------------------------------------------- structure fuzz: odd but well-formed XML

_TAGS = ["listeners", "listener", "listener_name", "type", "hat", "rat", "rat_entry", "rat_address", "access",
         "rat_params", "domain_map_table", "domain_map_table_entry", "orig_domain", "new_domain",
         "bounce_profiles", "bounce_profile", "bounce_profile_name", "hat_default_tls", "x", "hostname"]
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


def _element(depth: int):
    leaf = st.builds(lambda t, x: (t, x, []), st.sampled_from(_TAGS), _TEXT)
    if depth == 0:
        return leaf
    return st.one_of(leaf, st.builds(lambda t, x, kids: (t, x, kids), st.sampled_from(_TAGS), _TEXT,
                                     st.lists(_element(depth - 1), max_size=4)))


def _xml(node) -> str:
    from xml.sax.saxutils import escape
    tag, text, kids = node
    return f"<{tag}>{escape(text)}{''.join(_xml(k) for k in kids)}</{tag}>"


@settings(max_examples=150, deadline=None)
@given(st.lists(_element(3), max_size=4))
def test_odd_config_structures_never_crash(children):
    doc = ('<?xml version="1.0"?><!DOCTYPE config SYSTEM "config.dtd"><config>'
           + "".join(_xml(c) for c in children) + "</config>").encode("utf-8")
    cfg = parse_config_bytes(doc, "odd.xml")
    cfg.summary()
    from diagnose.collectors.configeval import config_facts_for_case
    for li in cfg.listeners:
        config_facts_for_case(cfg, ip="192.0.2.1", sbrs=-2.0, rdns="", recipient="a@b.example", listener=li.name)


def test_unknown_rat_entry_options_are_kept():
    doc = (b"<config><listeners><listener><listener_name>L</listener_name><type>public</type><rat><rat_entry>"
           b"<rat_address>x.example</rat_address><access>ACCEPT</access><bypass_call_ahead>1</bypass_call_ahead>"
           b"<rat_params><smtp_response_code>250</smtp_response_code></rat_params></rat_entry></rat>"
           b"</listener></listeners></config>")
    entry = parse_config_bytes(doc, "r.xml").listener("L").rat[0]
    assert entry.params == {"bypass_call_ahead": "1", "smtp_response_code": "250"}


def test_doctype_pointing_at_a_server_is_never_fetched():
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            body = b'<!ENTITY x "pwned">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/config.dtd"
        doc = f'<?xml version="1.0"?><!DOCTYPE config SYSTEM "{url}"><config><hostname>h</hostname></config>'
        assert parse_config_bytes(doc.encode(), "remote-dtd.xml").hostname == "h"
        with pytest.raises(InputError, match="external entity"):
            parse_config_bytes(f'<?xml version="1.0"?><!DOCTYPE config [<!ENTITY % p SYSTEM "{url}"> %p;]>'
                               "<config/>".encode(), "pe.xml")
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
