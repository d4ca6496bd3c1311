"""Results of a reproduce config: per-row mean and spread over seeds, ordering verdicts, the command per
row, written as `results/<paper>.md` and `results/<paper>.json`."""

from __future__ import annotations

import importlib
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from common.reproduce_run import RunUnit, UnitResult
from common.reproduce_spec import PaperSpec, RowSpec, TableSpec, measured_rows

SPREAD = "std"
"""Spread reported beside each mean: the sample standard deviation over seeds (n-1 in the denominator)."""
VERDICTS = {"every_seed": "held on every seed", "mean_only": "held on the mean only",
            "no": "did not hold"}


@dataclass
class RunRecord:
    """One finished (run, seed), as given to paper hooks."""

    seed: int
    run_dir: Path
    metrics: dict[str, float]
    command: str
    seconds: float
    cpu_seconds: float


@dataclass
class ReproduceContext:
    """What a paper hook receives: finished runs by run id (one record per seed) and where to write."""

    paper: str
    data: str
    profile: str
    out_dir: Path
    runs: dict[str, list[RunRecord]] = field(default_factory=dict)


def records(spec: PaperSpec, units: list[RunUnit], results: dict[str, UnitResult]) -> dict[str, list[RunRecord]]:
    """Finished runs of the paper by run id, in seed order."""
    out: dict[str, list[RunRecord]] = {rid: [] for rid in measured_rows(spec)}
    for unit in units:
        res = results[unit.key]
        out[unit.run_id].append(RunRecord(unit.seed, unit.run_dir, res.metrics, unit.command(res.ckpt),
                                          res.seconds, res.cpu_seconds))
    return out


def _value(run_metrics: dict[str, float], name: str, where: str) -> float:
    if name not in run_metrics:
        raise KeyError(f"{where}: the run returned no metric {name!r}; it returned {sorted(run_metrics)}. "
                       "Map the column with `metrics: {<column>: <returned name>}` or list it under `absent:`")
    value = run_metrics[name]
    return float("nan") if value is None else float(value)         # NaN is stored as null in JSON


def row_values(table: TableSpec, row: RowSpec, runs: dict[str, list[RunRecord]]) -> dict[str, list[float]]:
    """Column -> per-seed values of a measured row (published rows: one literal value)."""
    if row.kind == "published":
        return {c: [float(v)] for c, v in row.values.items() if v is not None}
    own = runs[row.from_ or row.id]
    out: dict[str, list[float]] = {}
    for col in table.metrics:
        if col in row.absent:
            continue
        source = row.metrics.get(col, row.prefix + col)
        run_id, _, name = source.rpartition(":") if ":" in source else (row.from_ or row.id, "", source)
        where = f"table {table.name!r}, row {row.id!r}, column {col!r}"
        recs = runs[run_id] if run_id != (row.from_ or row.id) else own
        by_seed = {r.seed: r for r in recs}
        out[col] = [_value((recs[0] if len(recs) == 1 else by_seed[r.seed]).metrics, name, where) for r in own]
    return out


def summary(values: list[float]) -> dict:
    """Mean, sample std, min, max and the per-seed values."""
    std = (float("nan") if not all(math.isfinite(v) for v in values) else statistics.stdev(values)) \
        if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), SPREAD: std, "min": min(values), "max": max(values),
            "per_seed": values}


def verdict(better: dict[int, float], worse: dict[int, float], direction: str) -> dict:
    """Does `better` beat `worse` ({seed: value}), paired by seed? A single value is compared with every seed."""
    def beats(a: float, b: float) -> bool:
        return a < b if direction == "lower" else a > b

    if len(better) == 1 or len(worse) == 1:
        seeds = sorted(worse if len(better) == 1 else better)
    else:
        seeds = sorted(set(better) & set(worse))
    if not seeds:
        raise ValueError(f"no common seed to compare: {sorted(better)} vs {sorted(worse)}")
    def at(values: dict[int, float], seed: int) -> float:
        return values[seed] if len(values) > 1 else next(iter(values.values()))

    held = [beats(at(better, s), at(worse, s)) for s in seeds]
    on_mean = beats(statistics.fmean(better.values()), statistics.fmean(worse.values()))
    key = "every_seed" if all(held) and on_mean else ("mean_only" if on_mean else "no")
    return {"verdict": key, "held_seeds": sum(held), "seeds": len(seeds)}


def build(spec: PaperSpec, runs: dict[str, list[RunRecord]]) -> list[dict]:
    """The tables as json-ready dicts: rows with summaries and commands, orderings with verdicts."""
    tables = []
    for table in spec.tables:
        rows, values = [], {}
        for row in table.rows:
            vals = row_values(table, row, runs)
            seeds = [r.seed for r in runs[row.from_ or row.id]] if row.kind != "published" else [0]
            values[row.id] = {c: dict(zip(seeds, v)) for c, v in vals.items()}
            run_id = row.from_ or row.id
            entry = {"id": row.id, "label": row.label or row.id, "kind": row.kind, "note": row.note,
                     "metrics": {c: summary(v) for c, v in vals.items()}}
            if row.kind != "published":
                recs = runs[run_id]
                entry |= {"run": run_id, "seeds": [r.seed for r in recs],
                          "commands": [r.command for r in recs]}
            rows.append(entry)
        orderings = []
        for order in table.orderings:
            better, worse = values[order.better].get(order.metric), values[order.worse].get(order.metric)
            if better is None or worse is None:
                raise KeyError(f"table {table.name!r}: ordering {order.better} vs {order.worse} on "
                               f"{order.metric!r}, but a row has no value for that column")
            orderings.append({"better": order.better, "worse": order.worse, "metric": order.metric,
                              **verdict(better, worse, table.metrics[order.metric])})
        tables.append({"name": table.name, "metrics": dict(table.metrics), "note": table.note,
                       "rows": rows, "orderings": orderings})
    return tables


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "nan"
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def _cell(stats: dict | None) -> str:
    if stats is None:
        return "-"
    if len(stats["per_seed"]) == 1:
        return _fmt(stats["mean"])
    return f"{_fmt(stats['mean'])} ± {stats[SPREAD]:.2g}"


def table_markdown(table: dict) -> str:
    """One table: measured rows (mean ± std over seeds), published rows apart, verdicts, commands."""
    arrows = {"lower": "↓", "higher": "↑"}
    cols = list(table["metrics"])
    head = ["row", "kind", "seeds", *[f"{c} {arrows[table['metrics'][c]]}" for c in cols]]
    lines = [f"### {table['name']}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    measured = [r for r in table["rows"] if r["kind"] != "published"]
    published = [r for r in table["rows"] if r["kind"] == "published"]
    for r in measured:
        lines.append("| " + " | ".join([r["label"], r["kind"], str(len(r["seeds"])),
                                        *[_cell(r["metrics"].get(c)) for c in cols]]) + " |")
    if published:
        lines += ["", "Published (the paper's numbers on its real benchmark):", "",
                  "| row | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
        lines += ["| " + " | ".join([r["label"], *[_cell(r["metrics"].get(c)) for c in cols]]) + " |"
                  for r in published]
    if table["note"]:
        lines += ["", table["note"]]
    if table["orderings"]:
        labels = {r["id"]: r["label"] for r in table["rows"]}
        lines += ["", "Orderings this table is meant to show:", ""]
        for o in table["orderings"]:
            lines.append(f"- {labels[o['better']]} {'<' if table['metrics'][o['metric']] == 'lower' else '>'} "
                         f"{labels[o['worse']]} on {o['metric']}: **{VERDICTS[o['verdict']]}** "
                         f"({o['held_seeds']}/{o['seeds']} seeds)")
    lines += ["", "<details><summary>Commands that reproduce each row</summary>", ""]
    shown: set[str] = set()
    for r in measured:
        if r["run"] in shown:
            lines.append(f"- {r['label']}: the run of row `{r['run']}` above")
            continue
        shown.add(r["run"])
        lines += [f"- {r['label']}:", "", "  ```bash", *[f"  {c}" for c in r["commands"]], "  ```"]
    lines += ["", "</details>"]
    return "\n".join(lines)


def paper_markdown(result: dict, results_dir: Path) -> str:
    """The whole results page of one paper."""
    parts = [f"# {result['paper']}: reproduction", "",
             f"**Data used:** {result['data_label']}. Profile `{result['profile']}`. Measured cells are the mean "
             f"± sample standard deviation over the seeds given per row (one value: a single run). Generated "
             f"by `python scripts/reproduce.py paper={result['paper']}`"
             f"{'' if result['data'] == 'synthetic' else ' data=' + result['data']}"
             f"{'' if result['profile'] == 'fast' else ' profile=' + result['profile']} from "
             f"configs/reproduce/{result['paper']}.yaml; do not edit by hand.", ""]
    parts += [table_markdown(t) + "\n" for t in result["tables"]]
    if result["figures"]:
        parts.append("## Figures\n")
        for fig in result["figures"]:
            rel = Path(fig).resolve().relative_to(results_dir.resolve())
            parts.append(f"![{rel.stem}]({rel.as_posix()})\n")
    timing = result["timing"]
    notes = [*result["notes"], f"{timing['runs']} runs took {timing['cpu_seconds'] / 60:.1f} CPU-minutes "
             "(single-threaded processes, summed)."]
    parts += ["## Notes\n", *[f"- {n}" for n in notes]]
    return "\n".join(parts) + "\n"


def run_hooks(spec: PaperSpec, context: ReproduceContext) -> list[Path]:
    """Call the paper's `figures` hook (`"<module>:<function>"`), if any; return the figure paths."""
    target = spec.hooks.get("figures")
    if not target:
        return []
    module, _, name = target.partition(":")
    return [Path(p) for p in getattr(importlib.import_module(module), name)(context)]


def write(spec: PaperSpec, data: str, profile: str, units: list[RunUnit], results: dict[str, UnitResult],
          results_dir: Path) -> tuple[Path, Path]:
    """Summarise, call hooks, and write `results/<paper>.md` and `.json`; return their paths."""
    runs = records(spec, units, results)
    out_dir = results_dir / spec.paper
    figures = run_hooks(spec, ReproduceContext(spec.paper, data, profile, out_dir, runs))
    result = {
        "paper": spec.paper, "data": data, "data_label": spec.data.get(data, data), "profile": profile,
        "spread": f"{SPREAD} (sample standard deviation over seeds)",
        "tables": build(spec, runs), "figures": [str(f) for f in figures], "notes": list(spec.notes),
        "timing": {"runs": len(units), "cpu_seconds": sum(results[u.key].cpu_seconds for u in units),
                   "seconds": sum(results[u.key].seconds for u in units),
                   "per_run": {u.key: results[u.key].seconds for u in units}},
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    md_path, json_path = results_dir / f"{spec.paper}.md", results_dir / f"{spec.paper}.json"
    md_path.write_text(paper_markdown(result, results_dir))
    json_path.write_text(json.dumps(result, indent=2, default=float))
    return md_path, json_path


def estimates(results_dir: Path, paper: str) -> dict[str, float]:
    """Per-unit seconds of the previous results json (to start the longest runs first)."""
    path = results_dir / f"{paper}.json"
    if not path.exists():
        return {}
    timing = json.loads(path.read_text()).get("timing") or {}
    return dict(timing.get("per_run") or {})
