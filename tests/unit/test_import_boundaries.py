"""The layers: services and shared code never import the CLI, typer, the supervisor or the bench.

Read from the source (AST, every import statement including the ones inside functions), so a
lazy import counts as much as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
SHARED = ROOT / "shared"

OUTER_LAYER = ("newsdrop.cli", "typer", "newsdrop.supervisor", "newsdrop.bench")
# folder or file -> what no module in it may import
RULES: dict[Path, tuple[str, ...]] = {
    SERVICES / "ingest": OUTER_LAYER,
    SERVICES / "store": OUTER_LAYER,
    SHARED: OUTER_LAYER,
    SERVICES / "supervisor.py": ("newsdrop.cli", "typer", "newsdrop.bench"),
    SERVICES / "supervised_child.py": ("newsdrop.cli", "typer", "newsdrop.bench"),
}


def module_name(path: Path) -> str:
    if path.is_relative_to(SHARED):
        parts = ["newsdrop", "shared", *path.relative_to(SHARED).with_suffix("").parts]
    else:
        parts = ["newsdrop", *path.relative_to(SERVICES).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports (relative imports resolved)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def is_within(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


def modules(where: Path) -> list[Path]:
    return [where] if where.is_file() else sorted(where.rglob("*.py"))


@pytest.mark.parametrize("where", list(RULES), ids=lambda p: str(p.relative_to(ROOT)))
def test_inner_layers_do_not_import_the_outer_ones(where: Path) -> None:
    found = modules(where)
    assert found, f"nothing to check in {where}"
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in found
        for name in sorted(imported(path))
        if any(is_within(name, forbidden) for forbidden in RULES[where])
    ]
    assert violations == []


def test_the_checker_sees_imports_inside_functions() -> None:
    source = SERVICES / "cli" / "up.py"  # imports the supervisor inside the command
    assert "newsdrop.supervisor" in imported(source)
    assert "typer" in imported(source)
