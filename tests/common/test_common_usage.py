"""Every module under common/ is used by some paper (directly or through other common modules), or says why not.

Imports are read with `ast` from the paper packages' sources; the closure follows common's own imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

from common import PAPERS

ROOT = Path(__file__).resolve().parents[2]
NOT_PAPER_CODE = {
    "common.metrics.benchmark": "the shared-metric rows of scripts/benchmark.py (metrics vs pycocotools, numpy "
                                "Umeyama, cKDTree, torch.cdist)",
    "common.reproduce_readme": "regenerates the README results block from results/*.json (scripts/reproduce.py, "
                               "scripts/update_readme.py)",
}
"""Modules no paper imports, with the reason each stays."""


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


COMMON = {_module(p): p for p in (ROOT / "common").rglob("*.py")}


def _common_imports(path: Path) -> set[str]:
    """The common modules a source file imports (`from common.x import y` counts common.x and common.x.y)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        parts = name.split(".")
        found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in COMMON}
    return found


def used_by_papers() -> set[str]:
    """Common modules reachable from the paper packages' imports."""
    used = set().union(*(_common_imports(p) for paper in PAPERS for p in (ROOT / paper).rglob("*.py")))
    todo = list(used)
    while todo:
        for name in _common_imports(COMMON[todo.pop()]) - used:
            used.add(name)
            todo.append(name)
    return used


def test_every_common_module_is_used_by_a_paper_or_says_why() -> None:
    unused = sorted(set(COMMON) - used_by_papers() - set(NOT_PAPER_CODE))
    assert not unused, f"modules under common/ that no paper uses: {unused} (use, delete, or list with a reason)"
    assert set(NOT_PAPER_CODE) <= set(COMMON), "a listed module no longer exists"
