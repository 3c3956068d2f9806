"""The import rules of ARCHITECTURE.md, checked by reading the code (every import, also those inside
functions): each package imports only what its row of ARCHITECTURE.md's table allows (the table is
read from the file, so editing the table edits the rules), data flow one way, the DSL and the counter
stay free of torch, nothing in the core reaches up to the CLI or to the dashboard's libraries, and the
dashboard loads nothing that trains or writes."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scaler"
DOC = ROOT / "ARCHITECTURE.md"


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


def test_the_rules_can_see_an_import_inside_a_function() -> None:
    # the CLI's command modules import the core lazily, inside their run functions: the graph must still see them
    imported = set().union(*(GRAPH[m] for m in MODULES if layer(m) == "cli"))
    assert {"scaler.search", "scaler.scaling", "scaler.zoo"} <= {".".join(m.split(".")[:2]) for m in imported}


# ------------------------------------------------------------------ ARCHITECTURE.md's table, as data

def read_table(text: str) -> list[tuple[str, str]]:
    """The rows of the "may import" table, in order: (``scaler.x``, the may-import cell)."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`scaler/([\w/]+?)(?:\.py|/)`", cells[0]) if len(cells) == 3 else None
        if match:
            rows.append(("scaler." + match.group(1).replace("/", "."), cells[2]))
    return rows


TEXT = DOC.read_text()
ROWS = read_table(TEXT)
ROW_NAMES = [name for name, _ in ROWS]
#: The modules any layer may use ("... are plain Python that any layer may use").
PLAIN = set(re.findall(r"`(scaler[\w.]*)`", next(line for line in TEXT.splitlines() if "any layer may use" in line)))
#: The pipeline list (``-> scaler.x   what it does``), in order.
FLOW = re.findall(r"^\s*-> (scaler\.\w+)", TEXT, re.MULTILINE)


def row_of(module: str) -> str | None:
    """The table row a module belongs to (its package's or its own), None for ``scaler`` itself."""
    return next((r for r in ROW_NAMES if module == r or module.startswith(r + ".")), None)


def covers(allowed: str, module: str) -> bool:
    """``allowed`` names ``module``, a module inside it, or a package above it (importing
    ``scaler.nn.complexity`` runs ``scaler/nn/__init__.py``, and ``scaler`` is every module's parent)."""
    return module == allowed or module.startswith(allowed + ".") or allowed.startswith(module + ".")


def allowed(rows: list[tuple[str, str]], index: int) -> tuple[set[str], set[str]]:
    """(scaler modules, outside top-level packages) that row ``index`` of ``rows`` may import."""
    cell = rows[index][1]
    inside, outside = set(), set()
    for token in re.findall(r"`([^`]+)`", cell):
        full = f"scaler.{token}"
        if any(m == full or m.startswith(full + ".") for m in MODULES):
            inside.add(full)
        else:
            outside.add(token)
    if "everything above" in cell:
        inside |= {name for name, _ in rows[:index]}
    return inside, outside


def test_the_table_has_every_package_in_the_order_of_the_list() -> None:
    assert ROWS and FLOW and PLAIN, "ARCHITECTURE.md: the table, the list or the plain modules went missing"
    modules = [m for m in MODULES if m != "scaler"]  # the root package holds only the version
    packages = {row_of(m) for m in modules}
    assert None not in packages, f"no row in ARCHITECTURE.md's table for {[m for m in modules if not row_of(m)]}"
    assert set(ROW_NAMES) == packages, f"rows for packages that are gone: {set(ROW_NAMES) - packages}"
    assert [r for r in ROW_NAMES if r in FLOW] == FLOW, "the list and the table name the packages in other orders"
    # the list is the pipeline: the table adds only the plain modules and the entry point
    assert set(ROW_NAMES) - set(FLOW) <= {row_of(p) for p in PLAIN} | {"scaler.__main__"}


@pytest.mark.parametrize("index", range(len(ROWS)), ids=ROW_NAMES)
def test_a_row_allows_only_rows_above_it(index: int) -> None:
    inside, _ = allowed(ROWS, index)
    below = {row_of(m) for m in inside} - set(ROW_NAMES[:index])
    assert not below, f"{ROW_NAMES[index]} may import {sorted(below)}, listed below it"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m != "scaler"))
def test_imports_follow_the_table(name: str) -> None:
    """Every import of every module (also inside functions) is allowed by its package's row."""
    row = row_of(name)
    inside, outside = allowed(ROWS, ROW_NAMES.index(row))
    inside |= PLAIN | {row}
    for module in sorted(imports(MODULES[name])):
        if module.split(".")[0] == "scaler":
            assert any(covers(a, module) for a in inside), f"{name} imports {module}; its row of ARCHITECTURE.md " \
                f"({row}) allows {sorted(inside)}"
        else:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__" or top in outside, \
                f"{name} imports {top}; its row of ARCHITECTURE.md ({row}) allows {sorted(outside)} and the standard library"


def test_the_table_is_read_as_written() -> None:
    rows = read_table("""
| package | owns | may import |
|---|---|---|
| `scaler/dsl/` | the DSL | nothing but the standard library |
| `scaler/stats.py` | numbers | `numpy` |
| `scaler/zoo/` | names | `dsl`, `nn.complexity` (the counter, never the builder), `PIL` |
| `scaler/cli/` | the command | everything above |
""")
    assert [name for name, _ in rows] == ["scaler.dsl", "scaler.stats", "scaler.zoo", "scaler.cli"]
    assert allowed(rows, 0) == (set(), set()) and allowed(rows, 1) == (set(), {"numpy"})
    assert allowed(rows, 2) == ({"scaler.dsl", "scaler.nn.complexity"}, {"PIL"})
    assert allowed(rows, 3)[0] == {"scaler.dsl", "scaler.stats", "scaler.zoo"}


# ------------------------------------------------------------------- the dashboard only reads

#: What trains, runs a search or a scaling, writes a study or parses a command line.
TRAINS_OR_WRITES = ("scaler.training", "scaler.bench", "scaler.export", "scaler.search", "scaler.scaling",
                    "scaler.cli", "scaler.__main__", "scaler.study.loop", "scaler.study.budget")
DASHBOARD = sorted(m for m in MODULES if m == "scaler.dashboard" or m.startswith("scaler.dashboard."))


def test_the_dashboard_reaches_nothing_that_trains_or_writes() -> None:
    """Followed through every import of the code, also those inside functions."""
    chains = [reaches(start, goal) for start in DASHBOARD for goal in MODULES if goal.startswith(TRAINS_OR_WRITES)]
    found = [" -> ".join(c) for c in chains if c]
    assert not found, "the dashboard reaches code that trains or writes: " + "; ".join(found[:3])


def test_importing_the_dashboard_loads_nothing_that_trains_or_writes(tmp_path: Path) -> None:
    """In a fresh interpreter: the app (its first page runs, in Streamlit's bare mode) and every module
    any dashboard module names; then neither a trainer, a run, the CLI, a worker of a study nor torch
    is loaded, and optuna and sqlalchemy wait until a study is read."""
    names = ["scaler.dashboard.app", *sorted({m for d in DASHBOARD for m in GRAPH[d]} | set(DASHBOARD))]
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            "print('\\n'.join(sorted(sys.modules)))")
    env = {**os.environ, "SCALER_RESULTS": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("SCALER_STORAGE", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = done.stdout.split()
    assert "scaler.dashboard.app" in loaded and "scaler.study.reader" in loaded
    bad = [m for m in loaded if m.startswith((*TRAINS_OR_WRITES, "scaler.study.workers", "torch", "optuna",
                                              "sqlalchemy"))]
    assert not bad, f"importing the dashboard loads {bad}"


def test_the_dashboard_names_neither_optuna_nor_sqlalchemy() -> None:
    """Optuna has one home, scaler.study: the dashboard asks its reader (text, not only imports)."""
    for path in sorted((PACKAGE / "dashboard").glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            assert not re.search(r"\b(optuna|sqlalchemy)\b", line), f"{path}:{n}: {line.strip()}"
