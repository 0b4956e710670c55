"""The package's shape, held where a reviewer would otherwise have to remember it: a small top
level, modules and functions of readable size, and a worker that loads no harness."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import streams

PACKAGE = Path(streams.__file__).parent
MAX_TOP_LEVEL_MODULES = 10
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
HARNESSES = (
    "streams.bench", "streams.chaos", "streams.testing", "streams.demo", "streams.commands",
)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_top_level_holds_only_a_few_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_module_is_over_the_size_limit() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in modules()
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES}  # fmt: skip
    assert long == {}


def function_lengths(path: Path) -> dict[str, int]:
    """Lines of each function, from its ``def`` to its end, less the decorators of the
    functions it declares (a command's click options)."""
    tree = ast.parse(path.read_text("utf-8"))
    lengths = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        lines = set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        for inner in ast.walk(node):
            if inner is not node and isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in inner.decorator_list:
                    lines -= set(range(decorator.lineno, (decorator.end_lineno or 0) + 1))
        lengths[f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = len(lines)
    return lengths


def test_no_function_is_over_the_size_limit() -> None:
    long = {name: n for p in modules() for name, n in function_lengths(p).items()
            if n > MAX_FUNCTION_LINES}  # fmt: skip
    assert long == {}


def test_the_app_loads_no_harness_and_no_command() -> None:
    code = (
        "import json, sys, streams.app; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('streams'))))"
    )
    loaded = json.loads(subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, text=True
    ).stdout)  # fmt: skip
    assert "streams.agents.classifier" in loaded  # the probe did load the app
    assert [m for m in loaded if m.startswith(HARNESSES)] == []


def test_test_files_have_unique_names() -> None:
    # pytest imports test modules by basename (no __init__.py in tests/): two of one name in
    # different folders stop the whole collection.
    names = [p.name for p in Path(__file__).parent.rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
