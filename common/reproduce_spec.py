"""Schema of `configs/reproduce/<paper>.yaml` (tables as config) and its loading and validation.

A paper file declares tables of rows; a measured row names an experiment config plus overrides and is run
through the same `train`/`evaluate` functions as scripts/train.py and scripts/evaluate.py. See
docs/reproduce.md for the full schema with an example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import MISSING, OmegaConf

ROW_KINDS = ("ours", "baseline", "ablation", "published")
DIRECTIONS = ("lower", "higher")
ACTIONS = ("train", "evaluate")
REPRODUCE_DIR = Path(__file__).resolve().parents[1] / "configs" / "reproduce"


@dataclass
class DataVariant:
    """What a run uses on `data=real` instead of its synthetic experiment and overrides."""

    experiment: str | None = None
    overrides: list[str] = field(default_factory=list)


@dataclass
class RowSpec:
    """One table row: measured (experiment or `from`) or published (`values`)."""

    id: str = MISSING
    kind: str = MISSING
    label: str | None = None
    # --- a run of its own (measured rows)
    experiment: str | None = None
    overrides: list[str] = field(default_factory=list)
    action: str = "train"
    ckpt_from: str | None = None
    ckpt_path: str | None = None
    seeds: int | None = None
    seeded: bool = True
    real: DataVariant | None = None
    # --- or the run of another row, and how its returned metrics fill the columns
    from_: str | None = None
    prefix: str = ""
    metrics: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    # --- published rows
    values: dict[str, float | None] = field(default_factory=dict)
    note: str = ""


@dataclass
class OrderingSpec:
    """A claim of the table: row `better` beats row `worse` on column `metric` (direction from the table)."""

    better: str = MISSING
    worse: str = MISSING
    metric: str = MISSING


@dataclass
class TableSpec:
    """A paper table: metric columns (name -> 'lower'/'higher'), rows and the orderings it should show."""

    name: str = MISSING
    metrics: dict[str, str] = MISSING
    rows: list[RowSpec] = MISSING
    orderings: list[OrderingSpec] = field(default_factory=list)
    note: str = ""


@dataclass
class ProfileSpec:
    """A named profile (e.g. `full`): seeds and extra overrides for every run, or per run id."""

    seeds: int | None = None
    overrides: list[str] = field(default_factory=list)
    runs: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PaperSpec:
    """The whole `configs/reproduce/<paper>.yaml`."""

    paper: str = MISSING
    tables: list[TableSpec] = MISSING
    seeds: int = 2
    data: dict[str, str] = field(default_factory=lambda: {"synthetic": "synthetic", "real": "real"})
    real: DataVariant | None = None
    profiles: dict[str, ProfileSpec] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class SpecError(ValueError):
    """A reproduce config that does not follow the schema (the message names file, key and fix)."""


def _rename_from(node: dict) -> dict:
    """YAML spells `from:`; the dataclass field is `from_` (a Python keyword)."""
    for table in node.get("tables") or []:
        for row in table.get("rows") or []:
            if isinstance(row, dict) and "from" in row:
                row["from_"] = row.pop("from")
    return node


def parse_spec(node: dict, source: str) -> PaperSpec:
    """Validate a plain dict against the schema; raise SpecError naming `source` and the full key."""
    try:
        spec = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(PaperSpec), _rename_from(node)))
    except Exception as err:  # omegaconf raises several error types; all mean 'does not follow the schema'
        raise SpecError(f"{source}: {err}".replace("from_", "from")) from err
    _check(spec, source)
    return spec


def load_spec(paper: str, directory: Path = REPRODUCE_DIR) -> PaperSpec:
    """Load and validate `configs/reproduce/<paper>.yaml`."""
    path = directory / f"{paper}.yaml"
    if not path.exists():
        raise SpecError(f"{path} does not exist: write the paper's tables there (schema: docs/reproduce.md)")
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    spec = parse_spec(node, str(path))
    if spec.paper != paper:
        raise SpecError(f"{path}: paper={spec.paper!r} but the file is named after {paper!r}")
    return spec


def measured_rows(spec: PaperSpec) -> dict[str, RowSpec]:
    """Rows that define a run of their own (have `experiment`), by id."""
    return {r.id: r for t in spec.tables for r in t.rows if r.experiment is not None}


def _check(spec: PaperSpec, source: str) -> None:
    seen: dict[str, RowSpec] = {}
    for t, table in enumerate(spec.tables):
        for col, direction in table.metrics.items():
            if direction not in DIRECTIONS:
                raise SpecError(f"{source}: tables[{t}].metrics.{col}={direction!r}; use one of {DIRECTIONS}")
        for r, row in enumerate(table.rows):
            where = f"{source}: tables[{t}].rows[{r}] (id {row.id!r})"
            if row.kind not in ROW_KINDS:
                raise SpecError(f"{where}: kind={row.kind!r}; use one of {ROW_KINDS}")
            if row.action not in ACTIONS:
                raise SpecError(f"{where}: action={row.action!r}; use one of {ACTIONS}")
            sources = [row.experiment is not None, row.from_ is not None, row.kind == "published"]
            if sum(sources) != 1:
                raise SpecError(f"{where}: a row either runs an experiment (`experiment:`), reuses another "
                                "row's run (`from:`), or is `kind: published` with `values:` -- exactly one")
            if row.kind == "published" and not row.values:
                raise SpecError(f"{where}: a published row needs `values: {{<metric>: <number>}}`")
            if row.kind != "published" and row.values:
                raise SpecError(f"{where}: only `kind: published` rows carry literal `values:`")
            unknown = set(row.values) | set(row.metrics) | set(row.absent)
            unknown -= set(table.metrics)
            if unknown:
                raise SpecError(f"{where}: columns {sorted(unknown)} are not in the table's metrics "
                                f"{list(table.metrics)}")
            if row.id in seen and row.experiment is not None and seen[row.id].experiment is not None:
                raise SpecError(f"{where}: id {row.id!r} defines a second run; reuse it with `from: {row.id}`")
            if row.id not in seen or row.experiment is not None:
                seen[row.id] = row
    runs = measured_rows(spec)
    for t, table in enumerate(spec.tables):
        ids = [r.id for r in table.rows]
        if len(set(ids)) != len(ids):
            raise SpecError(f"{source}: tables[{t}] ({table.name!r}) has duplicate row ids {ids}")
        for row in table.rows:
            refs = [row.from_, row.ckpt_from] + [m.split(":", 1)[0] for m in row.metrics.values() if ":" in m]
            for ref in filter(None, refs):
                if ref not in runs:
                    raise SpecError(f"{source}: row {row.id!r} refers to run {ref!r}; known runs "
                                    f"(rows with `experiment:`): {sorted(runs)}")
        for o, order in enumerate(table.orderings):
            for key in ("better", "worse"):
                if getattr(order, key) not in ids:
                    raise SpecError(f"{source}: tables[{t}].orderings[{o}].{key}={getattr(order, key)!r} "
                                    f"is not a row of this table {ids}")
            if order.metric not in table.metrics:
                raise SpecError(f"{source}: tables[{t}].orderings[{o}].metric={order.metric!r} is not a "
                                f"column {list(table.metrics)}")
    for row in runs.values():
        if row.ckpt_from is not None and (row.ckpt_from == row.id or runs[row.ckpt_from].ckpt_from is not None):
            raise SpecError(f"{source}: row {row.id!r}: ckpt_from={row.ckpt_from!r} must name a row that trains "
                            "(no chains of checkpoints)")
        if row.ckpt_from is not None and row.action != "evaluate":
            raise SpecError(f"{source}: row {row.id!r} has ckpt_from; set `action: evaluate`")
    if spec.real is not None and spec.real.experiment is not None:
        raise SpecError(f"{source}: the paper-level `real:` takes only `overrides:`; name experiments per row")
    for name, profile in spec.profiles.items():
        bad = set(profile.runs) - set(runs)
        if bad:
            raise SpecError(f"{source}: profiles.{name}.runs names unknown runs {sorted(bad)}")
    for key in spec.hooks:
        if key not in HOOKS:
            raise SpecError(f"{source}: hooks.{key} is unknown; known hooks: {list(HOOKS)}")


HOOKS = ("figures",)
"""Hook names: `figures: "<module>:<function>"`, called as fn(context) -> list of figure paths."""
