import pytest

from campaign.measure import load
from campaign.measure.settings import MeasureSettings, SettingsError, load_settings


def test_defaults_without_files_or_environment(tmp_path):
    assert load_settings(tmp_path, environ={}) == MeasureSettings()


def test_precedence_pyproject_then_campaign_toml_then_environment_then_flags(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.campaign.measure]\nbudget_s = 60\nmax_blocks = 12\nalpha = 0.02\n")
    s = load_settings(tmp_path, environ={})
    assert (s.budget_s, s.max_blocks, s.alpha) == (60.0, 12, 0.02)
    (tmp_path / "campaign.toml").write_text("[target]\nname='x'\n\n[measure]\nmax_blocks = 20\nmin_effect = 0.05\n")
    s = load_settings(tmp_path, environ={})
    assert (s.budget_s, s.max_blocks, s.min_effect) == (60.0, 20, 0.05)
    s = load_settings(tmp_path, environ={"CAMPAIGN_BENCH_MAX_BLOCKS": "8"})
    assert s.max_blocks == 8
    s = load_settings(tmp_path, {"max_blocks": 5, "budget_s": None}, environ={"CAMPAIGN_BENCH_MAX_BLOCKS": "8"})
    assert (s.max_blocks, s.budget_s) == (5, 60.0)
    assert s.bench_kwargs()["min_effect"] == 0.05


@pytest.mark.parametrize("text,needle", [
    ("[measure]\nmax_blocks = 2.5\n", "whole number"),
    ("[measure]\nalpha = 0.9\n", "below 0.5"),
    ("[measure]\nbudget = 10\n", "unknown key"),
    ("[measure]\nmin_blocks = 10\nmax_blocks = 5\n", "above max_blocks"),
    ("[measure\n", "TOML"),
])
def test_bad_settings_say_which_file_and_key(tmp_path, text, needle):
    (tmp_path / "campaign.toml").write_text(text)
    with pytest.raises(SettingsError, match=needle):
        load_settings(tmp_path, environ={})


def test_block_load_and_busy_note():
    before = load.Sample(load1=1.0, cpus=2, steal_s=10.0, total_s=100.0)
    after = load.Sample(load1=7.5, cpus=2, steal_s=11.0, total_s=120.0)
    b = load.block_load(before, after)
    assert b == {"load": 7.5, "cpus": 2, "steal": 0.05, "busy": True}
    quiet = load.block_load(before, load.Sample(0.5, 2, None, None))
    assert quiet["busy"] is False and quiet["steal"] is None
    note = load.busy_note([b, quiet])
    assert "1/2 blocks" in note and "7.5" in note and "steal up to 5%" in note
    assert load.busy_note([quiet]) is None
    assert load.sample().cpus >= 1


def test_compare_reports_a_bad_setting_as_one_line(tmp_path):
    import subprocess
    import sys

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text("[tool.campaign.measure]\nalpha = 2\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    r = subprocess.run([sys.executable, "-m", "campaign", "compare", "HEAD", "HEAD", "--target", "x:Y", "--dir",
                        str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "pyproject.toml [tool.campaign.measure], line 2: alpha = 2 must be above 0 and below 0.5" in r.stderr


def test_a_campaign_toml_target_with_measure_settings_loads(tmp_path):
    from campaign.plugins.loading import load_target

    (tmp_path / "campaign.toml").write_text(
        '[target]\nname = "t"\nscope = ["x.py"]\nrun = "true"\n\n[measure]\nbudget_s = 30\nmin_effect = 0.05\n')
    assert load_target("campaign.toml", tmp_path).name == "t"
    s = load_settings(tmp_path, environ={})
    assert (s.budget_s, s.min_effect) == (30.0, 0.05)


def test_compare_help_states_the_defaults_a_user_really_gets():
    """`compare --help` said `--max-blocks [default: 30]` while the real default was 200 (issue 24)."""
    import re
    from dataclasses import fields

    from click.testing import CliRunner

    from campaign.cli.measure_cmds import compare
    from campaign.measure.settings import MeasureSettings

    text = " ".join(CliRunner().invoke(compare, ["--help"], terminal_width=400).output.split())
    flags = {"max_blocks": "--max-blocks", "min_blocks": "--min-blocks", "budget_s": "--budget",
             "min_effect": "--min-effect", "alpha": "--alpha", "metric": "--metric"}
    for f in fields(MeasureSettings):
        if f.name not in flags:
            continue
        said = re.search(re.escape(flags[f.name]) + r" .*?\[default: ([0-9a-z.]+)", text)
        assert said and said.group(1) == format(getattr(MeasureSettings(), f.name), "g" if f.name != "metric" else ""), (
            f.name, text)


def test_the_metric_setting_is_checked_and_pinned(tmp_path):
    (tmp_path / "campaign.toml").write_text("[target]\nname='x'\n\n[measure]\nmetric = \"cpu\"\n")
    assert load_settings(tmp_path, environ={}).metric == "cpu"
    assert load_settings(tmp_path, {"metric": "wall"}, environ={}).metric == "wall"
    (tmp_path / "campaign.toml").write_text("[target]\nname='x'\n\n[measure]\nmetric = \"instructions\"\n")
    with pytest.raises(SettingsError, match="metric"):
        load_settings(tmp_path, environ={})
