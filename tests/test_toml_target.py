"""campaign.toml targets: keys, substitution, one-paragraph errors."""

import pytest

from campaign.plugins.target import TargetError

from campaign.plugins.loading import load_target
from campaign.plugins.toml_target import load_toml_target

GOOD = """
[target]
name = "primes"
scope = ["primes.py", "lib/**/*.py"]
run = "python bench.py {case} {repeat}"
phases = ["count"]
test = "python -m pytest -q"
timeout_s = 30

[tolerances]
count = "exact"
ratio = { kind = "loose", rel = 0.1 }

[knobs]
block = [1, 2]
"""


def test_good_file(tmp_path):
    (tmp_path / "campaign.toml").write_text(GOOD)
    t = load_target("campaign.toml", tmp_path)
    assert t.name == "primes" and t.scope == ["primes.py", "lib/**/*.py"]
    assert t.fast_case == "fast" and t.full_case == "full" and t.timeout_s == 30
    assert t.tolerance_for("ratio").kind == "loose" and t.tolerance_for("ratio").rel == 0.1
    assert t.tolerance_for("count").kind == "exact"
    assert t.knobs == {"block": [1, 2]}
    assert t.workload_command("fast", 3) == "python bench.py fast 3"
    assert t.describe()["run"] == "python bench.py {case} {repeat}"
    assert t.spec == "campaign.toml"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[target\nname=", "not valid TOML"),
        ("[other]\nx=1\n", "no [target] table"),
        ('[target]\nname="x"\nscope=["a"]\n', "missing the required key 'run'"),
        ('[target]\nname="x"\nrun="r"\n', "missing the required key 'scope'"),
        ('[target]\nname="x"\nrun="r"\nscope="a.py"\n', "scope must be a list"),
        ('[target]\nname="x"\nrun="r"\nscope=[]\n', "non-empty list"),
        ('[target]\nname="x"\nrun="r"\nscope=["a"]\nbogus=1\n', "unknown key(s) bogus"),
        ('[target]\nname="x"\nrun="r"\nscope=["a"]\n[tolerances]\nout={kind="loose"}\n', "needs a numeric rel"),
        ('[target]\nname="x"\nrun="r"\nscope=["a"]\n[tolerances]\nout="fuzzy"\n', "kind 'fuzzy'"),
        ('[target]\nname="x"\nrun="r"\nscope=["a"]\n[knobs]\nk=3\n', "non-empty list"),
        ('[target]\nname="x"\nrun="r"\nscope=["a"]\ntimeout_s=true\n', "timeout_s must be"),
    ],
)
def test_bad_files_raise_one_paragraph(tmp_path, text, needle):
    path = tmp_path / "campaign.toml"
    path.write_text(text)
    with pytest.raises(TargetError) as info:
        load_toml_target(path)
    message = str(info.value)
    assert needle in message
    assert "\n\n" not in message and "campaign.toml" in message


def test_missing_file(tmp_path):
    with pytest.raises(TargetError, match="does not exist"):
        load_target("campaign.toml", tmp_path)
