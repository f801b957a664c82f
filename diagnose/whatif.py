"""What-if on the configuration: apply a recommendation to a copy of the ESA configuration model and
re-evaluate the stages the configuration decides (HAT, its mail flow policy's switches, RAT).

`what_if(config, recommendation_kind, case) -> dict` (JSON-serialisable) says, stage by stage, what
would happen: `passes`, `stops`, `skipped` (the policy turns the engine off), `runs` (it would run,
its verdict is not known), `unknown` (neither the configuration read nor the logs decide it) or
`not_reached`. Stages the configuration does not decide are never predicted to pass: the outcome is
"delivered" only under the conditions listed.

`case` is a mapping (or an object with the same attributes): ip, rdns, rdns_verified, sbrs,
dnslists, country, recipient, listener, and `stage` (where the logs show the message stopped).
"""

from __future__ import annotations

from typing import Any

from diagnose.collectors.configeval import (
    HatMatch,
    RatMatch,
    effective_policy,
    hat_match,
    policy_switch,
    rat_match,
)
from diagnose.collectors.configmodel import EsaConfig, Listener, Member, RatEntry, SenderGroup
from diagnose.collectors.hat_syntax import parse_member
from diagnose.model import STAGES, Evidence

ALLOW_GROUP_NAMES = ("WHITELIST", "ALLOWED_LIST")  # older and newer spellings (esa-pipeline.md §2.1 [U])
CASE_KEYS = ("ip", "rdns", "rdns_verified", "sbrs", "dnslists", "country", "recipient", "listener", "stage")
# Policy switches that decide whether a work-queue engine runs (esa-pipeline.md §2.5); others are unknown.
SWITCHED_STAGES = {"antispam": ("spam_check", "anti-spam"), "antivirus": ("virus_check", "anti-virus"),
                   "amp": ("amp_check", "AMP"), "graymail": ("graymail_check", "graymail"),
                   "outbreak_filter": ("vof_check", "Outbreak Filters")}
SUPPORTED = ("hat_allowlist", "rat_accept")
# Remedy catalogue ids (knowledge/remedies.yaml) the configuration model can apply; others of a supported
# kind fall back on the kind's default (WHITELIST for hat_allowlist, a domain entry for rat_accept).
VARIANTS = {"hat-custom-sender-group": "hat_allowlist", "hat-allowlist-trusted": "hat_allowlist",
            "hat-remove-entry": "hat_allowlist", "rat-accept-domain": "rat_accept"}
CUSTOM_GROUP = "ALLOWED_PARTNERS"  # the name the what-if gives the new sender group


def _case_dict(case: Any) -> dict[str, Any]:
    if isinstance(case, dict):
        return {k: case.get(k) for k in CASE_KEYS}
    return {k: getattr(case, k, None) for k in CASE_KEYS}


def _hat_view(li: Listener, m: HatMatch | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"sender_group": m.sender_group.label if m.sender_group else None,
            "policy": m.policy.name if m.policy else None, "access": m.access,
            "member": m.member.value if m.member else None, "certain": m.certain,
            "undecided_above": [g for g, _ in m.undecided], "reason": m.reason,
            "source": m.sender_group.source if m.sender_group else None}


def _rat_view(r: RatMatch | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"entry": r.address, "access": r.access, "recipient": r.recipient, "position": r.position,
            "implicit": r.implicit, "reason": r.reason, "source": r.entry.source if r.entry else None}


def _evaluate(li: Listener, case: dict[str, Any]) -> tuple[HatMatch | None, RatMatch | None]:
    hm = None
    if case.get("ip") and li.hat is not None:
        hm = hat_match(li, case["ip"], case.get("rdns"), case.get("sbrs"), case.get("dnslists"),
                       rdns_verified=case.get("rdns_verified"), country=case.get("country"))
    rm = rat_match(li, case["recipient"]) if case.get("recipient") else None
    return hm, rm


def _allow_group(li: Listener) -> tuple[SenderGroup, bool]:
    """The sender group an allow-list entry goes to; (group, created)."""
    assert li.hat is not None
    for name in ALLOW_GROUP_NAMES:
        if g := li.hat.group(name):
            return g, False
    for g in li.hat.sender_groups:
        p = effective_policy(li.hat, g)
        if g.name and p and p.access == "ACCEPT" and policy_switch(li.hat, p, "spam_check")[0] == "off":
            return g, False
    g = SenderGroup(name="ALLOWED_LIST", policy="$TRUSTED", comment="created by the what-if",
                    source="what-if")
    li.hat.sender_groups.insert(0, g)
    return g, True


def _cli_name(li: Listener) -> str:
    return "<listener>" if li.label != f"listener {li.name}" else li.name


def _apply_hat_allowlist(li: Listener, case: dict[str, Any]) -> tuple[str, dict[str, str], str | None]:
    if li.hat is None:
        return "", {}, f"listener {li.name} has no HAT in the configuration given"
    ip = case.get("ip")
    if not ip:
        return "", {}, "the sending IP is not known, so there is nothing to add to a sender group"
    member: Member = parse_member(ip, "what-if")
    if member.kind != "ip":
        return "", {}, f"{ip!r} is not an IP address"
    group, created = _allow_group(li)
    group.members.insert(0, member)
    where = " (a new sender group at the top of the HAT, policy $TRUSTED)" if created else ""
    change = f"add {ip} to sender group {group.label}{where} of {li.label}"
    how = {"gui_path": f"Mail Policies > HAT Overview > {group.label} > Add Sender",
           "cli": f"listenerconfig → edit → {_cli_name(li)} → hostaccess → edit → {group.label} → new → {ip} → commit"}
    return change, how, None


def _apply_custom_group(li: Listener, case: dict[str, Any]) -> tuple[str, dict[str, str], str | None]:
    """A new sender group with the IP, policy $ACCEPTED, just above the group that matches it today."""
    if li.hat is None:
        return "", {}, f"{li.label} has no HAT in the configuration given"
    ip = case.get("ip")
    member = parse_member(ip or "", "what-if")
    if member.kind != "ip":
        return "", {}, "the sending IP is not known" if not ip else f"{ip!r} is not an IP address"
    now = hat_match(li, ip, case.get("rdns"), case.get("sbrs"), case.get("dnslists"),
                    rdns_verified=case.get("rdns_verified"), country=case.get("country"))
    groups = li.hat.sender_groups
    above = now.sender_group.label if now.sender_group is not None else None
    index = groups.index(now.sender_group) if now.sender_group is not None else 0
    groups.insert(index, SenderGroup(name=CUSTOM_GROUP, members=[member], policy="$ACCEPTED",
                                     comment="created by the what-if", source="what-if"))
    where = f" above {above}" if above else " at the top"
    change = f"add {ip} to a new sender group {CUSTOM_GROUP} (policy $ACCEPTED){where} in {li.label}"
    how = {"gui_path": f"Mail Policies > HAT Overview > Add Sender Group ({CUSTOM_GROUP}, policy $ACCEPTED, "
                       f"order{where}) > Add Sender ({ip}) > Commit Changes",
           "cli": f"listenerconfig → edit → {_cli_name(li)} → hostaccess → new → {CUSTOM_GROUP} → {ip} → "
                  f"$ACCEPTED → move{where} → commit"}
    return change, how, None


def _apply_remove_entry(li: Listener, case: dict[str, Any]) -> tuple[str, dict[str, str], str | None]:
    """Remove the local entry (IP, range, host name) that matches the host today."""
    if li.hat is None or not case.get("ip"):
        return "", {}, "the sending IP or the HAT is not known"
    now = hat_match(li, case["ip"], case.get("rdns"), case.get("sbrs"), case.get("dnslists"),
                    rdns_verified=case.get("rdns_verified"), country=case.get("country"))
    m, g = now.member, now.sender_group
    if m is None or g is None or m.kind not in ("ip", "cidr", "range", "hostname", "partial_hostname"):
        what = f"{m.value} ({m.kind})" if m is not None else "no entry"
        return "", {}, (f"the matching entry is {what}, not a local host entry: removing it would change the "
                        "decision for every sender it covers")
    g.members.remove(m)
    change = f"remove entry {m.value} from sender group {g.label} in {li.label}"
    how = {"gui_path": f"Mail Policies > HAT Overview > {g.label} > Edit > delete {m.value} > Commit Changes",
           "cli": f"listenerconfig → edit → {_cli_name(li)} → hostaccess → edit → {g.label} → delete → {m.value} "
                  "→ commit"}
    return change, how, None


def _apply_rat_accept(li: Listener, case: dict[str, Any]) -> tuple[str, dict[str, str], str | None]:
    recipient = case.get("recipient")
    if not recipient or "@" not in recipient:
        return "", {}, "the recipient address is not known"
    if li.rat is None:
        return "", {}, f"listener {li.name} has no RAT in the configuration given"
    before = rat_match(li, recipient)
    domain = before.recipient.rpartition("@")[2].lower()
    entry = RatEntry([domain], "ACCEPT", source="what-if")
    pos = (before.position - 1) if before.position else len(li.rat)
    li.rat.insert(pos, entry)  # just above the entry that qualifies today, so the new one wins
    change = f"add RAT entry {domain} ACCEPT (row {pos + 1}) to {li.label}"
    how = {"gui_path": "Mail Policies > Recipient Access Table (RAT) > Add Recipient",
           "cli": f"listenerconfig → edit → {_cli_name(li)} → rcptaccess → new → {domain} → ACCEPT → commit",
           "also": f"a new domain usually also needs an SMTP route: Network > SMTP Routes ({domain})"}
    return change, how, None


def _path(li: Listener, hm: HatMatch | None, rm: RatMatch | None, case: dict[str, Any]
          ) -> tuple[list[dict[str, str]], str, list[str]]:
    """Predicted path stage by stage, the predicted outcome and the conditions it rests on."""
    logged_stop = case.get("stage") if case.get("stage") in STAGES else None
    stop_index = STAGES.index(logged_stop) if logged_stop else 0
    path: list[dict[str, str]] = []
    stopped = False
    conditions: list[str] = []
    undecided: list[str] = []
    policy = hm.policy if hm else None
    for idx, stage in enumerate(s for s in STAGES if s != "unknown"):
        if stopped:
            path.append({"stage": stage, "status": "not_reached", "detail": "an earlier stage stops the message"})
            continue
        status, detail = "unknown", "not decided by the configuration read, and not reached in the logs"
        if stage == "hat":
            if hm is None:
                status, detail = ("passes", "as in the logs") if logged_stop and idx < stop_index else (
                    "unknown", "the sending IP is not known")
            else:
                g = hm.sender_group.label if hm.sender_group else "no sender group"
                pname = hm.policy.name if hm.policy else "no policy"
                status = {"ACCEPT": "passes", "RELAY": "passes", "REJECT": "stops",
                          "TCPREFUSE": "stops"}.get(hm.access, "unknown")
                detail = f"HAT would match {g} → {pname} ({hm.access})"
                if hm.undecided:
                    detail += "; groups above it could not be decided: " + ", ".join(x for x, _ in hm.undecided)
        elif stage == "rat":
            if hm is not None and hm.access == "RELAY":
                status, detail = "passes", "RELAY: the sender may relay to any recipient"
            elif rm is None:
                status, detail = ("passes", "as in the logs") if logged_stop and idx < stop_index else (
                    "unknown", "the recipient is not known")
            elif rm.access == "not_applicable":
                status, detail = "passes", rm.reason
            else:
                status = {"ACCEPT": "passes", "REJECT": "stops"}.get(rm.access, "unknown")
                detail = f"RAT entry {rm.address} → {rm.access} for {rm.recipient}"
        elif stage in SWITCHED_STAGES and li.hat is not None and policy is not None:
            key, label = SWITCHED_STAGES[stage]
            value, origin = policy_switch(li.hat, policy, key)
            if value == "off":
                status, detail = "skipped", f"{label} off in {policy.name} ({key} off, {origin})"
            elif value == "on":
                status, detail = "runs", f"{label} runs ({key} on in {policy.name}, {origin}); its verdict is not known"
                conditions.append(f"{label} finds nothing")
            elif logged_stop and idx < stop_index:
                status, detail = "passes", "as in the logs"
        elif logged_stop and idx < stop_index:
            status, detail = "passes", "as in the logs"
        if status == "unknown" and stage == "rat":
            conditions.append(f"the RAT accepts the recipient ({detail})")
        elif status == "unknown" and stage != "hat":
            undecided.append(stage.replace("_", " "))
        stopped = status == "stops"
        path.append({"stage": stage, "status": status, "detail": detail})
    if undecided:
        conditions.append("no stage the configuration read does not decide stops it: " + ", ".join(undecided))
    if any(p["status"] == "stops" for p in path):
        outcome = "rejected"
    elif path[0]["status"] != "passes":
        outcome = "unknown"  # the HAT itself is not decided: nothing can be predicted
    else:
        outcome = "delivered"
    return path, outcome, conditions


def _summary(hm: HatMatch | None, rm: RatMatch | None, path: list[dict[str, str]], outcome: str,
             conditions: list[str]) -> str:
    parts: list[str] = []
    if hm is not None and hm.sender_group is not None:
        parts.append(f"HAT would match {hm.sender_group.label} → {hm.policy.name if hm.policy else '?'} ({hm.access})")
    if rm is not None and rm.access in ("ACCEPT", "REJECT"):
        parts.append(f"RAT would {'accept' if rm.access == 'ACCEPT' else 'reject'} {rm.recipient} "
                     f"(entry {rm.address})")
    engines = [p["detail"].split(" (")[0] for p in path if p["status"] in ("skipped", "runs")
               and p["stage"] in SWITCHED_STAGES]
    text = "; ".join(parts)
    if engines:
        text += ": " + ", ".join(e.replace(" off in", " skipped by").replace(" runs", " still runs") for e in engines)
    if outcome == "delivered":
        text += "; predicted delivered"
        named = [c for c in conditions if "finds nothing" in c]
        if named:
            text += " unless " + " or ".join(c.replace(" finds nothing", " is positive") for c in named)
        if len(named) < len(conditions):
            text += ", provided the stages the configuration does not decide do not stop it (see conditions)"
    elif outcome == "rejected":
        stop = next(p for p in path if p["status"] == "stops")
        text += f"; still stopped at {stop['stage']}"
    else:
        text += "; the outcome cannot be predicted from the configuration read"
    return text.strip("; ") + "."


def what_if(config: EsaConfig, recommendation_kind: str, case: Any, remedy: str | None = None) -> dict[str, Any]:
    """Apply `recommendation_kind` to a copy of `config` for this case and predict the path (JSON-ready).

    remedy: the remedies catalogue id (Recommendation.source) when the finding names one: the custom
    sender group above the match, WHITELIST, or the removal of the matching entry."""
    c = _case_dict(case)
    result: dict[str, Any] = {"recommendation": recommendation_kind, "applicable": False}
    if remedy:
        result["remedy"] = remedy
    if recommendation_kind not in SUPPORTED:
        result["reason"] = ("the configuration model does not decide this change (incoming mail policies, "
                            "filters and quarantines are not read from the configuration)")
        return result
    trial = config.copy()
    li = trial.listener(c.get("listener"))
    if li is None:
        result["reason"] = "no listener in the configuration given"
        return result
    before_hm, before_rm = _evaluate(config.listener(c.get("listener")) or li, c)
    apply = {"hat-custom-sender-group": _apply_custom_group, "hat-remove-entry": _apply_remove_entry}.get(
        remedy or "", _apply_hat_allowlist if recommendation_kind == "hat_allowlist" else _apply_rat_accept)
    change, how, why_not = apply(li, c)
    if why_not:
        result["reason"] = why_not
        return result
    hm, rm = _evaluate(li, c)
    path, outcome, conditions = _path(li, hm, rm, c)
    before_path, before_outcome, _ = _path(config.listener(c.get("listener")) or li, before_hm, before_rm, c)
    helps = False if outcome == "rejected" else (True if before_outcome == "rejected" else None)
    result.update({
        "applicable": True, "change": change, **how, "listener": li.name,
        "before": {"hat": _hat_view(li, before_hm), "rat": _rat_view(before_rm), "outcome": before_outcome},
        "after": {"hat": _hat_view(li, hm), "rat": _rat_view(rm), "outcome": outcome},
        "path": path, "predicted_outcome": outcome, "conditions": conditions, "helps": helps,
        "confidence": "likely" if (hm is None or hm.certain) and outcome != "unknown" else "possible",
        "summary": f"With the change ({change}): " + _summary(hm, rm, path, outcome, conditions),
        "title": change[0].upper() + change[1:],
        "method": (f"configuration what-if: {change} in a copy of the configuration given "
                   f"({', '.join(config.files)}), then the HAT and RAT re-evaluated and the mail flow "
                   "policy's switches read; stages the configuration does not decide stay unknown"),
    })
    if outcome == "rejected" and apply is _apply_hat_allowlist and hm and hm.sender_group:
        result["blocked_by"] = (f"sender group {hm.sender_group.label} is above the allow-list group and still "
                                f"matches first ({hm.member.value if hm.member else '?'})")
        result["alternative"] = alt = _move_above(config, c, hm.sender_group.label)
        result["summary"] += f" Because {result['blocked_by']}."
        if alt and alt.get("predicted_outcome") != "rejected":
            result["summary"] += f" Instead: {alt['change']}; then: {alt['summary']}"
    return result


def _move_above(config: EsaConfig, c: dict[str, Any], blocker: str) -> dict[str, Any] | None:
    """Also try: the allow-list group moved above the group that still matches (HAT order matters)."""
    trial = config.copy()
    li = trial.listener(c.get("listener"))
    if li is None or li.hat is None:
        return None
    _apply_hat_allowlist(li, c)
    group, _ = _allow_group(li)
    groups = li.hat.sender_groups
    target = next((i for i, g in enumerate(groups) if g.label == blocker), None)
    if target is None or groups.index(group) < target:
        return None
    groups.remove(group)
    groups.insert(target, group)
    hm, rm = _evaluate(li, c)
    path, outcome, conditions = _path(li, hm, rm, c)
    return {"change": f"add {c.get('ip')} to {group.label} and move {group.label} above {blocker} "
                      "(Mail Policies > HAT Overview > Edit Order)",
            "hat": _hat_view(li, hm), "predicted_outcome": outcome,
            "summary": _summary(hm, rm, path, outcome, conditions)}


# ---------------------------------------------------------------- a finding, with the configuration

def _member_words(hat: Any) -> str:
    """"SBRS −10.0…−3.0 (sbrs[-10.0:-3.0])" for a range, the entry itself otherwise."""
    rule, desc = hat.get("rule"), hat.get("member_desc")
    return f"{desc} ({rule})" if desc and desc != rule else f"entry {rule}"


def _candidates(finding: Any) -> list[tuple[str, str | None]]:
    """(kind, remedy id) the configuration model can try for this finding, in the recommendations' order
    (least risky first); without such a recommendation, the stage's usual change."""
    if finding.outcome in ("delivered", "unknown"):
        return []
    out: list[tuple[str, str | None]] = []
    for rec in getattr(finding, "recommendations", None) or []:
        if rec.kind in SUPPORTED:
            remedy = rec.source if VARIANTS.get(rec.source) == rec.kind else None
            if (rec.kind, remedy) not in out:
                out.append((rec.kind, remedy))
    if not out and finding.stage in ("hat", "rat"):
        out.append(("hat_allowlist" if finding.stage == "hat" else "rat_accept", None))
    return out


def _kind_for(finding: Any) -> str | None:
    c = _candidates(finding)
    return c[0][0] if c else None


def enrich_finding(finding: Any, config: EsaConfig, inputs: dict[str, Any], events: list[Any],
                   listener: str | None = None) -> None:
    """Name the configuration objects in the finding, cite them, and fill `what_if`.

    inputs: collectors.configcase.case_inputs(case); events: the case's config_* Events.
    """

    by_kind: dict[str, Any] = {}
    for e in events:
        by_kind.setdefault(e.kind, e)
    sentences: list[str] = []
    hat = by_kind.get("config_hat_match")
    rat = by_kind.get("config_rat_match")
    if finding.stage == "hat" and hat is not None and hat.get("sender_group_label"):
        sentences.append(
            f"In the configuration ({hat.get('listener_label')}), {hat.get('ip')} matches sender group "
            f"{hat.get('sender_group_label')}, {_member_words(hat)} → mail flow policy {hat.get('policy')}: "
            f"{hat.get('access')}" + ("" if hat.get("certain") else " (not certain: groups above it could not be "
                                      "decided from the logs)") + ".")
    if finding.stage == "rat" and rat is not None and rat.get("access") == "REJECT":
        if rat.get("missing_domain"):
            sentences.append(f"The RAT ({rat.get('listener_label')}) has no entry for domain "
                             f"{rat.get('missing_domain')}: the recipient falls to {rat.get('entry')} → REJECT.")
        else:
            sentences.append(f"The RAT ({rat.get('listener_label')}) rejects it at entry {rat.get('entry')}.")
    for e in events:
        if e.kind == "config_log_mismatch":
            if e.get("stage") == finding.stage:  # elsewhere it qualifies, not explains: why/evidence only
                sentences.append(e.text + ".")
            if not any(e.text in w for w in finding.why):  # the rulebase may already quote it
                finding.why.append(f"CONFIG: {e.text}")
    if sentences:
        finding.summary = finding.summary.rstrip() + " " + " ".join(sentences)
    kind = _kind_for(finding)
    not_applicable: str | None = None
    # cite the configuration objects the conclusion or the what-if rests on
    cited = {"config_log_mismatch"}
    if finding.stage == "hat" or kind == "hat_allowlist":
        cited |= {"config_hat_match", "config_policy"}
    if finding.stage == "rat" or kind == "rat_accept":
        cited.add("config_rat_match")
    if finding.stage == "delivery" and finding.outcome in ("bounced", "deferred"):
        cited.add("config_bounce_profile")  # how long the appliance retries before it gives up
    seen = {(ev.source, ev.text) for ev in finding.evidence}
    for e in events:
        if e.kind in cited and (e.source, e.text) not in seen:
            finding.evidence.append(Evidence(source=e.source, text=e.text))
            seen.add((e.source, e.text))
    others: list[dict[str, Any]] = []
    case = {k: inputs.get(k) for k in CASE_KEYS}
    case["stage"] = finding.stage
    # the what-if changes the listener the facts were evaluated on
    case["listener"] = listener or next((e.get("listener") for e in events if e.kind == "config_listener"), None)
    for cand_kind, remedy in _candidates(finding)[:4]:
        result = what_if(config, cand_kind, case, remedy)
        if not result.get("applicable"):
            not_applicable = not_applicable or f"{remedy or cand_kind}: {result.get('reason')}"
            continue
        if finding.what_if is None:  # the least risky applicable change; otherwise the log-only one stays
            finding.what_if = result
        else:
            others.append({k: result.get(k) for k in ("recommendation", "remedy", "change", "predicted_outcome",
                                                      "helps", "summary")})
    finding.extra["config"] = {
        "files": list(config.files),
        "listener": next((e.get("listener") for e in events if e.get("listener")), None),
        "facts": [{"kind": e.kind, "source": e.source, "text": e.text} for e in events],
        "not_understood": list(config.unknown_elements),
    }
    if not_applicable:
        finding.extra["config"]["what_if_not_applicable"] = not_applicable
    if others:  # the other applicable recommendations, evaluated the same way
        finding.extra["config"]["other_what_ifs"] = others
    if config.unknown_elements:
        finding.gaps.append(f"{len(config.unknown_elements)} part(s) of the configuration were not understood "
                            "and were not evaluated (see config.not_understood), e.g. "
                            + config.unknown_elements[0])
