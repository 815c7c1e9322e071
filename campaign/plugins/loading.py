"""Finding a target by name: built-in packages, ``module:Class`` specs, ``campaign.toml`` and ``pytest-benchmark:PATH``.

Kept apart from ``campaign.plugins.target`` (the interface) so that the interface
and the ``campaign.toml`` loader never import each other.
"""

from __future__ import annotations

from pathlib import Path

from campaign.plugins.target import Target, TargetError


BUILTIN_PACKAGE = "targets"


def builtin_targets() -> dict[str, str]:
    """Built-in target names -> ``module:attribute`` specs (packages under ``targets/``)."""
    import importlib
    import pkgutil

    try:
        package = importlib.import_module(BUILTIN_PACKAGE)
    except ImportError:
        return {}
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg and not info.name.startswith("_"):
            found[info.name] = f"{BUILTIN_PACKAGE}.{info.name}:TARGET"
    return found


def load_target(spec: str, workspace: Path | None = None) -> Target:
    """Load a target named by ``spec``: built-in name, ``module:Class`` or ``campaign.toml``.

    ``workspace`` is where a ``campaign.toml`` is looked up (and what a
    relative toml path is resolved against).
    """
    import importlib

    workspace = Path(workspace or Path.cwd())
    if spec.endswith(".toml") or spec == "toml":
        from campaign.plugins.toml_target import load_toml_target

        path = workspace / "campaign.toml" if spec == "toml" else Path(spec)
        if not path.is_absolute():
            path = workspace / path
        target = load_toml_target(path)
        target.spec = spec
        return target
    if spec.startswith(("pytest-benchmark:", "perf-test:")):
        return _pytest_benchmark_target(spec, workspace)
    builtins = builtin_targets()
    module_attr = builtins.get(spec, spec)
    if ":" not in module_attr:
        known = ", ".join(sorted(builtins)) or "none"
        raise TargetError(
            f"unknown target {spec!r}. Name a built-in target ({known}), a Python class as "
            f"'module:Class', or a campaign.toml file (see `campaign targets`)."
        )
    module_name, attr = module_attr.split(":", 1)
    try:
        module = importlib.import_module(module_name)
        obj = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise TargetError(f"cannot load target {spec!r}: {exc}. Is the module importable from here?") from exc
    target = obj() if isinstance(obj, type) else obj
    if not isinstance(target, Target):
        raise TargetError(f"{spec!r} is not a campaign.plugins.target.Target (got {type(target).__name__}).")
    target.spec = spec
    return target


def _pytest_benchmark_target(spec: str, workspace: Path) -> Target:
    """``pytest-benchmark:PATH`` / ``perf-test:PATH``: with a guessed scope and test command (no campaign.toml)."""
    from campaign.plugins.pytest_bench_target import table_from_spec
    from campaign.plugins.toml_target import TomlTarget, apply_kind

    try:
        table = table_from_spec(spec, workspace)
    except ValueError as exc:
        raise TargetError(str(exc)) from None
    apply_kind(workspace / "campaign.toml", table)
    target = TomlTarget(workspace / "campaign.toml", table, {}, {})
    target.spec = spec
    return target
