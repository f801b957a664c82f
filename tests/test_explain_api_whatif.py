"""The Python API answers with the same what-if as the CLI JSON and the ticket."""

from pathlib import Path

from diagnose import api

SAMPLE = Path(__file__).resolve().parent.parent / "diagnose" / "sample" / "mail_logs"


def test_api_json_carries_the_what_if_of_the_top_recommendation():
    answer = api.explain([SAMPLE], ip="176.227.203.114", offline=True)
    top = answer.to_json()["findings"][0]
    assert (top["outcome"], top["stage"]) == ("rejected", "hat")
    wi = top["what_if"]
    assert wi["applicable"] is True
    assert wi["recommendation"] == "hat_allowlist"  # the first recommendation that changes the appliance
    assert next(s for s in wi["path"] if s["stage"] == "hat")["status"] == "passes"
    assert wi["predicted_outcome"] == "unknown" and "delivery" in wi["never_reached"]  # never reached: no claim
