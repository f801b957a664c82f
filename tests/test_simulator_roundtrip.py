"""Round trip: diagnosing the simulated logs gives back the stage and outcome each scenario was built to produce.

600 seeded scenarios (every recipe) are written into one mail_logs file. The file is read, recognised
and correlated once (the collectors `explain` uses), then each scenario's question (by MID and
recipient, or by IP for a connection refused before any MID) goes through the engine's
`explain_stories`, the step of `diagnose.api.explain()` after its log search. A smaller sample goes
through `diagnose.api.explain()` itself, end to end, on the same file.
"""

from __future__ import annotations

from collections import Counter

import pytest

from diagnose.sim.scenarios import RECIPE_NAMES
from diagnose.simulator import generate_scenarios, write_log

N_SCENARIOS = 600


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    # the realistic mix, plus one of every recipe (the rare ones, e.g. an expiry, may not be drawn)
    scenarios = generate_scenarios(N_SCENARIOS - len(RECIPE_NAMES), seed=20241007)
    scenarios += [generate_scenarios(1, seed=i, kinds=(k,))[0] for i, k in enumerate(RECIPE_NAMES)]
    path = tmp_path_factory.mktemp("roundtrip") / "mail_logs.@20241007T130000.s"
    write_log(scenarios, path)
    return scenarios, path


def _read_stories(path):
    from diagnose.collectors import catalogue
    from diagnose.collectors.correlate import CONTEXT_KINDS, correlate
    from diagnose.collectors.reader import LogReader
    from diagnose.model import ConnectionStory, Event

    reader = LogReader([str(path)])
    context = []  # lines with no ICID or MID (DHAP): the search hands them over as context

    def events():
        for display, n, ts, app, level, text in reader:
            r = catalogue.parse(text)
            if r is not None:
                ev = Event(r[0], ts, app, f"{display}:{n}", text, r[2], level)
                if ev.kind in CONTEXT_KINDS:
                    context.append(ev)
                yield ev

    conns, msgs = {}, {}
    for story in correlate(events()):
        if isinstance(story, ConnectionStory):
            conns[story.icid] = story
        else:
            msgs[story.mid] = story
    return conns, msgs, context


def _chain(msgs, mid):
    """The MID and the MIDs it hands the message over to (reinjected from a quarantine, split...), as the
    search gives them: the engine follows the chain to the last disposition."""
    out, todo = [], [mid]
    while todo:
        m = todo.pop()
        if m in msgs and msgs[m] not in out:
            out.append(msgs[m])
            todo += [other for _, other in msgs[m].links if isinstance(other, int) and other > m]
    return out


def _describe(bad: list[tuple], total: int) -> str:
    by_kind = Counter((k, want, got) for k, want, got, _ in bad)
    lines = [f"{len(bad)} of {total} scenarios diagnosed differently (recipe, built for, engine said):"]
    lines += [f"  {n:4d} x {k}: {w} -> {g}" for (k, w, g), n in by_kind.most_common()]
    example = next(iter(bad))
    lines.append(f"first: {example[3]}")
    return "\n".join(lines)


def test_round_trip_600_scenarios_in_one_log(simulated):
    explainer = pytest.importorskip("diagnose.engine.explainer")
    scenarios, path = simulated
    assert {s.kind for s in scenarios} == set(RECIPE_NAMES)
    conns, msgs, context = _read_stories(path)
    engine = explainer.default_engine()
    bad = []
    for s in scenarios:
        if s.mid is not None:
            q = explainer.make_query(mid=s.mid, recipient=s.recipient)
            assert s.mid in msgs, f"MID {s.mid} ({s.kind}) not correlated"
            ans = explainer.explain_stories(q, messages=[(m, conns.get(m.icid)) for m in _chain(msgs, s.mid)],
                                            engine=engine, context=context)
        else:
            q = explainer.make_query(ip=s.ip)
            ans = explainer.explain_stories(q, connections=[conns[s.icid]], engine=engine, context=context)
        f = ans.findings[0]
        assert f.evidence, f"{s.kind}: a finding without evidence"
        if (f.stage, f.outcome) != (s.stage, s.outcome):
            bad.append((s.kind, f"{s.stage}/{s.outcome}", f"{f.stage}/{f.outcome}",
                        f"{s.kind} MID {s.mid} ICID {s.icid}: {f.summary}"))
    assert not bad, _describe(bad, len(scenarios))


def test_round_trip_through_the_public_explain(simulated):
    from diagnose import api

    scenarios, path = simulated
    # one of each recipe, asked the way a user would: by MID and recipient, or by the sender's IP
    sample = list({s.kind: s for s in scenarios}.values())
    bad = []
    for s in sample:
        query = {"mid": s.mid, "recipient": s.recipient} if s.mid is not None else {"ip": s.ip}
        f = api.explain([path], offline=True, **query).findings[0]
        if (f.stage, f.outcome) != (s.stage, s.outcome):
            bad.append((s.kind, f"{s.stage}/{s.outcome}", f"{f.stage}/{f.outcome}", f.summary))
    assert not bad, _describe(bad, len(sample))
