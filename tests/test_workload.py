import math
import sys
import textwrap

import pytest

from campaign.plugins.target import Target
from campaign.measure.workload import WorkloadError, WorkloadRun, build, parse_workload_output, run_workload


class ScriptTarget(Target):
    name = "script"

    def __init__(self, code, build_command=None, timeout_s=30.0):
        self.code = code
        self.build_command = build_command
        self.timeout_s = timeout_s

    def workload_command(self, case, repeat=1, knobs=None):
        return [sys.executable, "-c", textwrap.dedent(self.code), case, str(repeat)]


GOOD = """
import json, sys
print("noise line")
print(json.dumps({"outputs": {"x": 1}, "phases": {"a": 0.25, "b": 0.5}, "warm_s": [0.3, 0.1, 0.2],
                  "first_call_s": 1.0, "compile_s": 0.5}))
"""


def test_parse_good_line():
    data = parse_workload_output('junk\n{"outputs": {"y": [1, 2]}, "phases": {"p": 0.1}}\n\n')
    assert data["outputs"] == {"y": [1, 2]} and data["phases"] == {"p": 0.1}
    assert data["warm_s"] == [] and data["first_call_s"] is None


@pytest.mark.parametrize(
    "stdout, needle",
    [
        ("", "printed no JSON"),
        ("hello world", "printed no JSON"),
        ("[1, 2]", "not an object"),
        ('{"phases": {}}', "no 'outputs'"),
        ('{"outputs": {}, "phases": {"a": NaN}}', "non-finite"),
        ('{"outputs": {}, "phases": {}, "warm_s": [Infinity]}', "non-finite"),
        ('{"outputs": {}, "phases": {"a": "fast"}}', "not a number"),
        ('{"outputs": {}, "phases": {"a": -1}}', "negative"),
        ('{"error": "ValueError: boom"}', "boom"),
    ],
)
def test_parse_errors(stdout, needle):
    with pytest.raises(WorkloadError, match=needle):
        parse_workload_output(stdout)


def test_nan_output_is_data_not_error():
    data = parse_workload_output('{"outputs": {"x": NaN}, "phases": {}}')
    assert math.isnan(data["outputs"]["x"])


def test_run_workload_good(tmp_path):
    run = run_workload(ScriptTarget(GOOD), "fast", tmp_path)
    assert isinstance(run, WorkloadRun)
    assert run.outputs == {"x": 1} and run.first_call_s == 1.0 and run.compile_s == 0.5
    assert run.time_s == pytest.approx(0.2)  # median of warm_s


def test_time_falls_back_to_phases_then_wall():
    assert WorkloadRun({}, {"a": 1.0, "b": 2.0}, [], None, None, 9.0).time_s == 3.0
    assert WorkloadRun({}, {}, [], None, None, 9.0).time_s == 9.0


def test_nonzero_exit_shows_stderr_tail(tmp_path):
    code = "import sys; print('the real cause', file=sys.stderr); sys.exit(3)"
    with pytest.raises(WorkloadError) as err:
        run_workload(ScriptTarget(code), "fast", tmp_path)
    msg = str(err.value)
    assert "exited with code 3" in msg and "the real cause" in msg and "fast" in msg


def test_no_json_is_error(tmp_path):
    with pytest.raises(WorkloadError, match="printed no JSON"):
        run_workload(ScriptTarget("print('done')"), "fast", tmp_path)


def test_nan_time_is_error(tmp_path):
    code = "print('{\"outputs\": {}, \"phases\": {\"a\": NaN}}')"
    with pytest.raises(WorkloadError, match="non-finite"):
        run_workload(ScriptTarget(code), "fast", tmp_path)


def test_timeout_is_error(tmp_path):
    with pytest.raises(WorkloadError, match="timed out"):
        run_workload(ScriptTarget("import time; time.sleep(30)"), "fast", tmp_path, timeout_s=1.0)


def test_build_failure(tmp_path):
    build(ScriptTarget(GOOD, build_command="true"), tmp_path)
    with pytest.raises(WorkloadError, match="build"):
        build(ScriptTarget(GOOD, build_command="echo nope >&2; exit 2"), tmp_path)


from campaign.measure.environment import collect_environment, environment_differences


def test_collect_and_differences():
    env = collect_environment()
    for key in ("python", "packages", "platform", "cpu_model", "cpu_count", "governor", "load_avg", "hostname_hash"):
        assert key in env
    assert "numba" in env["packages"]
    assert environment_differences(env, dict(env)) == []
    other = dict(env, hostname_hash="x", python="3.0.0", packages=dict(env["packages"], numpy="0.1"))
    lines = environment_differences(env, other)
    assert any("different machine" in l for l in lines)
    assert any("Python" in l for l in lines) and any("numpy" in l for l in lines)
