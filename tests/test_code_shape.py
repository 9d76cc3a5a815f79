"""Rooms stay livable: no function over 80 lines, no class over 400, outside a short reasoned list.

Counted in the Python of the integration, the simulator, the benchmarks and the scripts (decorators
excluded, docstrings included). A long one that is not in `tests/code_shape_exceptions.txt` fails the
test; so does an entry of that list that is no longer long (the list must only shrink for a reason).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("custom_components/whatsapp_web", "simulator", "benchmarks")
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 400
EXCEPTIONS_FILE = Path(__file__).with_name("code_shape_exceptions.txt")


def checked_files(root: Path) -> list[Path]:
    files = [path for folder in CHECKED for path in (root / folder).rglob("*.py")]
    files += (root / "script").glob("*.py")
    return sorted(files)


def too_long(root: Path = ROOT) -> dict[str, str]:
    """``path::Qualified.name`` -> "function N lines" / "class N lines", for every one over the limit."""
    found: dict[str, str] = {}
    for path in checked_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = path.relative_to(root).as_posix()
        pending: list[tuple[ast.AST, str]] = [(tree, "")]
        while pending:
            node, prefix = pending.pop()
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    continue
                name = f"{prefix}{child.name}"
                assert child.end_lineno is not None
                lines = child.end_lineno - child.lineno + 1
                is_class = isinstance(child, ast.ClassDef)
                limit = MAX_CLASS_LINES if is_class else MAX_FUNCTION_LINES
                if lines > limit:
                    found[f"{where}::{name}"] = (
                        f"{'class' if is_class else 'function'} {lines} lines"
                    )
                pending.append((child, f"{name}."))
    return found


def exceptions() -> dict[str, str]:
    """The checked-in list: ``path::name  reason`` per line; # starts a comment."""
    listed: dict[str, str] = {}
    for raw in EXCEPTIONS_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, reason = line.partition(" ")
            listed[name] = reason.strip()
    return listed


def test_no_long_function_or_class_outside_the_list() -> None:
    found = too_long()
    listed = exceptions()
    unlisted = {name: size for name, size in found.items() if name not in listed}
    assert not unlisted, f"over {MAX_FUNCTION_LINES}/{MAX_CLASS_LINES} lines: {unlisted}"
    stale = sorted(set(listed) - set(found))
    assert not stale, f"listed but no longer over the limit (remove them): {stale}"
    assert all(listed.values()), "every exception needs its reason"


def test_the_checker_finds_long_functions_and_classes_at_any_depth(tmp_path: Path) -> None:
    folder = tmp_path / "simulator"
    folder.mkdir()
    body = "        x = 1\n" * MAX_FUNCTION_LINES
    methods = "".join(f"    def m{index}(self):\n        return {index}\n" for index in range(170))
    (folder / "shapes.py").write_text(
        f"class Big:\n{methods}    def long(self):\n{body}\ndef short():\n    return 1\n",
        encoding="utf-8",
    )
    assert too_long(tmp_path) == {
        "simulator/shapes.py::Big": "class 422 lines",
        "simulator/shapes.py::Big.long": "function 81 lines",
    }
