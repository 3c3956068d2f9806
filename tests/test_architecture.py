"""The import rules of ARCHITECTURE.md, checked by reading the code (every import, also those inside
functions): data flows one way, the DSL and the counter stay free of torch, and nothing in the core
reaches up to the CLI or to the dashboard's libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scaler"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from pkg import mod`` counts as pkg.mod when
    that is a module of scaler)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES}
    return found


GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def reaches(start: str, goal: str) -> list[str] | None:
    """A chain of imports from ``start`` to ``goal``, or None."""
    stack, seen = [[start]], {start}
    while stack:
        chain = stack.pop()
        for nxt in sorted(GRAPH[chain[-1]]):
            if nxt == goal:
                return [*chain, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append([*chain, nxt])
    return None


def external(name: str) -> set[str]:
    """Top-level packages outside scaler that ``name`` imports, itself or through scaler modules."""
    todo, seen, out = [name], {name}, set()
    while todo:
        mod = todo.pop()
        out |= {m.split(".")[0] for m in imports(MODULES[mod]) if not m.startswith("scaler")}
        for nxt in GRAPH[mod] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return out


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_cycle(name: str) -> None:
    for other in sorted(GRAPH[name]):
        back = reaches(other, name)
        assert back is None, f"import cycle: {name} -> {' -> '.join(back)}"


def layer(name: str) -> str:
    return name.split(".")[1] if name.count(".") else ""


CORE = sorted(m for m in MODULES if layer(m) not in ("cli", "dashboard", "__main__"))


@pytest.mark.parametrize("name", CORE)
def test_the_core_never_imports_the_cli_streamlit_or_plotly(name: str) -> None:
    assert not {"streamlit", "plotly"} & external(name), f"{name} reaches streamlit or plotly"
    assert not any(layer(m) == "cli" for m in GRAPH[name]), f"{name} imports the CLI"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if layer(m) in ("dsl", "report", "errors")
                                         or m in ("scaler.nn.complexity", "scaler.results.schema")))
def test_the_dsl_and_the_counter_are_plain_python(name: str) -> None:
    """The DSL, the analytic counter and the formatters need no torch, and the counter builds no module."""
    assert not {"torch", "torchvision", "numpy", "optuna"} & external(name), name
    assert not {"scaler.nn.layers", "scaler.nn.build"} & GRAPH[name], name


def test_the_dashboard_reads_and_never_imports_the_cli() -> None:
    dashboard = [m for m in MODULES if layer(m) == "dashboard"]
    assert dashboard and not any(layer(d) == "cli" for m in dashboard for d in GRAPH[m])


def test_the_rules_can_see_an_import_inside_a_function() -> None:
    # the CLI imports most of its commands lazily: the graph must still see them
    assert {"scaler.search", "scaler.scaling", "scaler.zoo"} <= {m.rsplit(".", 1)[0] if m.count(".") > 1 else m
                                                                 for m in GRAPH["scaler.cli"]} | GRAPH["scaler.cli"]
