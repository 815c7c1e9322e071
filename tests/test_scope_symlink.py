"""A symlink in scope that points outside the repository is refused at TEST, naming the file (issue 11 item 4).

The link's target is not part of the repository: the campaign would test, benchmark and commit
code it does not hold (and a replay would rebuild something else).
"""

from __future__ import annotations

import json
import os

from loop_fixtures import SIEVE, campaign, make_repo


def _at_implement(repo) -> None:
    for args in (("init", "--target", "campaign.toml"), ("profile",),
                 ("think", "--hypothesis", "h", "--option", "sieve", "--chosen", "sieve", "--predict", "3", "--risk", "r"),
                 ("plan", "--phase", "count", "--change", "sieve")):
        result = campaign(repo, *args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_scope_file_replaced_by_a_symlink_outside_the_repository_fails_test(tmp_path):
    repo = make_repo(tmp_path / "repo")
    _at_implement(repo)
    outside = tmp_path / "elsewhere" / "primes.py"
    outside.parent.mkdir()
    outside.write_text(SIEVE)  # correct and faster: only where it lives is wrong
    (repo / "primes.py").unlink()
    os.symlink(outside, repo / "primes.py")
    tried = campaign(repo, "try", "--json")
    assert tried.returncode == 3, tried.stdout + tried.stderr  # the contract: TEST failed
    assert "Traceback" not in tried.stderr
    data = json.loads(tried.stdout[tried.stdout.index("{"): tried.stdout.rindex("}") + 1])
    assert not data["test"]["passed"] and data["benchmark"] is None
    messages = " ".join(str(f.get("message")) for f in data["test"]["failures"])
    assert "primes.py" in messages and "symlink" in messages and "outside the repository" in messages
    logged = campaign(repo, "log", "--surprise", "the link left the repository")
    assert logged.returncode == 0, logged.stderr
    assert not (repo / "primes.py").is_symlink() and "def count_primes" in (repo / "primes.py").read_text()
    assert outside.read_text() == SIEVE  # the file outside was never touched


def test_a_symlink_inside_the_repository_is_not_refused_for_that(tmp_path):
    from campaign.loop.tree_checks import symlinks_leaving

    repo = make_repo(tmp_path / "repo")
    (repo / "impl.py").write_text("x = 1\n")
    os.symlink("impl.py", repo / "inside.py")
    os.symlink(tmp_path, repo / "out_dir")
    os.symlink("../../etc/passwd", repo / "dotdot.py")
    assert symlinks_leaving(repo, ["inside.py", "impl.py", "out_dir", "dotdot.py", "gone.py"]) == ["dotdot.py", "out_dir"]
