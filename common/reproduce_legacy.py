"""Transitional: the Python-defined tables of papers not yet converted to configs/reproduce/<paper>.yaml
(deleted once every paper has its reproduce config; see docs/reproduce.md)."""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from common import PAPERS

RowKind = Literal["ours", "baseline", "ablation", "published"]
Direction = Literal["lower", "higher"]


@dataclass
class Table:
    """One paper table: `metrics` maps metric name to 'lower'/'higher' (first = primary metric)."""

    name: str
    metrics: dict[str, Direction]
    rows: list[dict] = field(default_factory=list)
    note: str = ""

    def add(self, method: str, kind: RowKind, **values: float | str | None) -> None:
        """Append a row; metric values missing from `values` are shown as '-'."""
        unknown = set(values) - set(self.metrics) - {"note"}
        if unknown:
            raise KeyError(f"table {self.name!r}: row {method!r} has metrics {sorted(unknown)} "
                           f"that are not in the table's metrics {list(self.metrics)}")
        self.rows.append({"method": method, "kind": kind, **values})


@dataclass
class PaperResult:
    """Everything a paper's reproduction returns: its tables, the data used and its figures."""

    paper: str
    data: str
    tables: list[Table]
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The results json schema documented in the README."""
        return {
            "paper": self.paper,
            "data": self.data,
            "tables": [{"name": t.name, "metrics": t.metrics, "rows": t.rows, "note": t.note}
                       for t in self.tables],
            "figures": [str(f) for f in self.figures],
            "notes": self.notes,
        }


ReproduceFn = Callable[[str, Path], PaperResult]
_REGISTRY: dict[str, ReproduceFn] = {}


def register_paper(name: str) -> Callable[[ReproduceFn], ReproduceFn]:
    """Decorator: register `fn(data, results_dir) -> PaperResult` as the reproduction of `name`."""

    def wrap(fn: ReproduceFn) -> ReproduceFn:
        _REGISTRY[name] = fn
        return fn

    return wrap


def discover(only: str | None = None) -> dict[str, ReproduceFn]:
    """Import `<paper>.reproduce` for `only` (or every paper package that has one); return the registry."""
    for paper in PAPERS if only is None else [only]:
        if importlib.util.find_spec(f"{paper}.reproduce") is not None:
            importlib.import_module(f"{paper}.reproduce")
    return dict(_REGISTRY)


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def table_markdown(table: Table) -> str:
    """Render one table as markdown, published rows last and labelled."""
    metrics = list(table.metrics)
    arrows = {"lower": "↓", "higher": "↑"}
    head = ["method", "kind", *[f"{m} {arrows[table.metrics[m]]}" for m in metrics]]
    lines = [f"### {table.name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ordered = [r for r in table.rows if r["kind"] != "published"] + [
        r for r in table.rows if r["kind"] == "published"]
    for row in ordered:
        cells = [row["method"], row["kind"], *[_fmt(row.get(m)) for m in metrics]]
        lines.append("| " + " | ".join(cells) + " |")
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines)


def result_markdown(result: PaperResult, results_dir: Path) -> str:
    """The whole results page of one paper, with figures linked relative to `results_dir`."""
    parts = [f"# {result.paper}: reproduction", "",
             f"**Data used:** {result.data}. Rows of kind `published` are the paper's numbers on the "
             "real benchmark; all other rows were measured by this run on the data above.", ""]
    parts += [table_markdown(t) + "\n" for t in result.tables]
    if result.figures:
        parts.append("## Figures\n")
        for fig in result.figures:
            rel = Path(fig).resolve().relative_to(results_dir.resolve())
            parts.append(f"![{rel.stem}]({rel.as_posix()})\n")
    if result.notes:
        parts.append("## Notes\n")
        parts += [f"- {n}" for n in result.notes]
    return "\n".join(parts) + "\n"


def write_results(result: PaperResult, results_dir: Path) -> tuple[Path, Path]:
    """Write `results/<paper>.md` and `results/<paper>.json`; return their paths."""
    results_dir.mkdir(parents=True, exist_ok=True)
    md_path = results_dir / f"{result.paper}.md"
    json_path = results_dir / f"{result.paper}.json"
    md_path.write_text(result_markdown(result, results_dir))
    json_path.write_text(json.dumps(result.to_json(), indent=2, default=float))
    return md_path, json_path
