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


# -- no cycle inside a subpackage ------------------------------------------------------------


def _resolve(target: str, package: Path) -> str:
    """The module an import names: ``campaign.loop.machine`` is loop/machine.py; a package is its ``__init__``."""
    rel = Path(*target.split("."))
    if (package.parent / rel).with_suffix(".py").exists():
        return target
    return f"{target}.__init__" if (package.parent / rel / "__init__.py").exists() else target


def _type_only(tree: ast.AST) -> set[int]:
    """The import nodes under ``if TYPE_CHECKING:``: never executed, so never part of a cycle."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _module_imports(path: Path, package: Path) -> set[str]:
    """Every campaign module ``path`` imports at run time, lazy imports included (``from campaign.loop import
    machine`` names the module loop/machine.py)."""
    found = set()
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("campaign"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(_resolve(sub if (package.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                                   else node.module, package))
        elif isinstance(node, ast.Import):
            found |= {_resolve(a.name, package) for a in node.names if a.name.startswith("campaign.")}
    return found


def _subpackage(module: str) -> str:
    """``campaign.loop.steps.log`` -> ``loop``: the unit a module belongs to (its folders included)."""
    return _unit(module)


def import_cycles(package: Path | None = None) -> list[list[str]]:
    """Groups of modules of one unit (``loop`` with ``loop/steps``) that import each other in a ring (Tarjan's strongly connected components)."""
    package = package or PACKAGE
    graph: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).with_suffix("")
        me = ".".join(rel.parts)
        graph[me] = {t for t in _module_imports(path, package) if t != me and _subpackage(t) == _subpackage(me)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycle_inside_a_subpackage():
    assert import_cycles() == []


def test_the_cycle_check_sees_a_lazy_import(tmp_path):
    fake = tmp_path / "campaign"
    (fake / "loop").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "loop" / "__init__.py").write_text("")
    (fake / "loop" / "a.py").write_text("from campaign.loop import b\n")
    (fake / "loop" / "b.py").write_text("def f():\n    from campaign.loop.a import thing\n")
    (fake / "loop" / "c.py").write_text("from campaign.loop import a, d\n")
    (fake / "loop" / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                        "    from campaign.loop.c import C\n")  # type-only: no cycle
    assert import_cycles(fake) == [["campaign.loop.a", "campaign.loop.b"]]


# -- the steps call the context's public API ----------------------------------------------------

def private_context_calls() -> list[str]:
    """``x._name`` outside steps/context.py where ``_name`` is a member of ``CampaignContext`` (pure AST walk)."""
    context = PACKAGE / "loop" / "steps" / "context.py"
    tree = ast.parse(context.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CampaignContext")
    members = {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    members |= {t.id for n in cls.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    private = {m for m in members if m.startswith("_") and not m.startswith("__")} - {"_sweep_leftovers"}
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if path == context:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private and not (
                    isinstance(node.value, ast.Name) and node.value.id == "self"):
                bad.append(f"{rel}:{node.lineno} {node.attr}")
    return bad


def test_steps_call_the_public_context_api():
    assert private_context_calls() == []
