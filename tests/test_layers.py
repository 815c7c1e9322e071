"""The package's layering: imports only go down (cli -> agents -> review/tune -> loop -> measure -> plugins).

Walks every import in ``campaign/`` (lazy ones inside functions too) and fails on
one that climbs, so the folder listing stays a true map of the architecture.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "campaign"

# Higher numbers may import lower ones; equal numbers only within one subpackage.
LAYERS = {
    "errors": 0, "vcs": 0, "contract": 0,
    "plugins": 1,
    "measure": 2,
    "loop": 3,
    "review": 4, "tune": 4, "scale": 4,
    "agents": 5,
    "cli": 6,
    "__main__": 7, "__init__": 7,
}


def _unit(module: str) -> str:
    """``campaign.measure.bench`` -> ``measure``; ``campaign.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "campaign":
                found += [(node.lineno, f"campaign.{alias.name}") for alias in node.names]
            elif node.module.startswith("campaign."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("campaign.")]
    return found


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _unit(_module_name(path))
        for lineno, target in _imports(path):
            them = _unit(target)
            if them not in LAYERS:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{lineno} imports {target}: unknown unit {them!r}")
            elif LAYERS[them] > LAYERS[me] or (LAYERS[them] == LAYERS[me] and them != me and LAYERS[me] != 0):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{lineno} ({me}) imports {target} ({them}): upward")
    return bad


def test_every_unit_has_a_layer():
    units = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in PACKAGE.glob("*.py")}
    assert units <= set(LAYERS), f"give these a layer in LAYERS: {sorted(units - set(LAYERS))}"


def test_imports_only_go_down():
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The walker itself can fail: a measure module importing the loop is reported."""
    fake = tmp_path / "campaign"
    (fake / "measure").mkdir(parents=True)
    (fake / "measure" / "__init__.py").write_text("")
    (fake / "measure" / "bad.py").write_text("def f():\n    from campaign.loop import session\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert any("upward" in line for line in upward_imports())


@pytest.mark.parametrize("pair", [("plugins/target.py", "toml_target"), ("plugins/toml_target.py", "plugins.loading")])
def test_target_interface_and_toml_loader_do_not_import_each_other(pair):
    rel, forbidden = pair
    names = [t for _, t in _imports(PACKAGE / rel)]
    assert not any(forbidden in n for n in names), names
