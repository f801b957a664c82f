from diagnose.model import STAGES
from diagnose.resources import data_dir


def test_cli_without_command_prints_help_and_exits_2(run_cli):
    r = run_cli()
    assert r.returncode == 2
    assert "esa-diagnose" in r.stdout


def test_data_folders_resolve():
    for name in ("rules", "knowledge", "reports"):
        assert data_dir(name).is_dir()


def test_stage_vocabulary_is_in_pipeline_order():
    assert STAGES[0] == "hat" and STAGES[-2:] == ("delivery", "unknown")
