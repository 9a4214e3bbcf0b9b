"""Imports run downward only, between the project's layers:

    entrypoints  >  bench  >  api  >  timebank (runtime, adapters)  >  projections,
    ledger.engine, migrations  >  ledger.commands  >  ledger (the domain)

Each module is parsed (imports inside functions count as much as those at the top) and
every import of a project module is checked against the table below. No project module
imports by name at run time (importlib.import_module, __import__), which would hide an
import from this check."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ledger", "projections", "api", "timebank", "entrypoints", "bench", "migrations")

DOMAIN = "ledger"  # every module of ledger/ but those of ledger/commands and ledger/engine
COMMANDS = "ledger.commands"
ENGINE = "ledger.engine"

# Layer: the layers its modules may import (their own included).
ALLOWED: dict[str, frozenset[str]] = {
    DOMAIN: frozenset({DOMAIN}),
    COMMANDS: frozenset({DOMAIN, COMMANDS}),
    ENGINE: frozenset({DOMAIN, COMMANDS, ENGINE}),
    "migrations": frozenset({"migrations"}),
    "projections": frozenset({DOMAIN, COMMANDS, "projections"}),  # queries: read permissions
    "timebank": frozenset({DOMAIN, COMMANDS, ENGINE, "projections", "migrations", "timebank"}),
    "api": frozenset({DOMAIN, COMMANDS, ENGINE, "projections", "timebank", "api"}),
    "bench": frozenset({DOMAIN, COMMANDS, ENGINE, "projections", "timebank", "api", "bench"}),
    "entrypoints": frozenset(
        {DOMAIN, COMMANDS, ENGINE, "projections", "migrations", "timebank", "api", "bench"}
        | {"entrypoints"}
    ),
}


def layer(module: str) -> str:
    for sub in (COMMANDS, ENGINE):
        if module == sub or module.startswith(f"{sub}."):
            return sub
    return module.split(".")[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> list[Path]:
    return sorted(f for package in PACKAGES for f in (ROOT / package).rglob("*.py"))


# Every module and package (those without an __init__.py too).
MODULES = {
    ".".join(parts[:n])
    for parts in (module_name(f).split(".") for f in project_files())
    for n in range(1, len(parts) + 1)
}


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a project module in the file, relative ones
    resolved; `from package import module` names the module."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else base))
    return [(line, m) for line, m in found if m.split(".")[0] in PACKAGES]


def test_the_table_covers_every_package_of_the_project() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(PACKAGES)
    assert {layer(m) for m in MODULES} == set(ALLOWED)


def test_every_folder_of_code_is_a_package() -> None:
    """setuptools finds packages by their __init__.py: a folder without one is left out of
    an installed (not editable) copy, such as the container image's."""
    folders = {f.parent for f in project_files()}
    assert not [str(d.relative_to(ROOT)) for d in folders if not (d / "__init__.py").exists()]


@pytest.mark.parametrize("path", project_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_downward_only(path: Path) -> None:
    own = layer(module_name(path))
    wrong = [
        f"line {line}: {module} ({layer(module)})"
        for line, module in imported(path)
        if layer(module) not in ALLOWED[own]
    ]
    assert not wrong, f"{own} may import only {sorted(ALLOWED[own])}"


@pytest.mark.parametrize("path", project_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_is_imported_by_name(path: Path) -> None:
    calls = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__"):
                calls.append(f"line {node.lineno}: {called}")
        elif isinstance(node, ast.ImportFrom) and node.module == "importlib":
            calls.append(f"line {node.lineno}: from importlib import ...")
    assert not calls
