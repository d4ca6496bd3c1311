"""Plan the runs of a reproduce config (one per measured row and seed), compose each with Hydra's compose
API and execute it through `common.entry.run` -- the function behind scripts/train.py and evaluate.py --
in-process or in K single-threaded spawned processes."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shlex
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from common.reproduce_spec import PaperSpec, RowSpec, SpecError, measured_rows

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
FINAL_MODEL = "checkpoints/final"
"""Where every paper's `train` leaves the final model folder, relative to the run dir."""
log = logging.getLogger(__name__)


@dataclass
class RunUnit:
    """One execution: a measured row's run at one seed."""

    paper: str
    run_id: str
    seed: int
    action: str
    experiment: str
    overrides: list[str]
    run_dir: Path
    ckpt_from: str | None = None
    ckpt_path: str | None = None

    @property
    def key(self) -> str:
        """`<paper>/<run id>/seed<seed>`: unique over a whole reproduction."""
        return f"{self.paper}/{self.run_id}/seed{self.seed}"

    @property
    def depends_on(self) -> str | None:
        """Key of the unit whose checkpoint this one evaluates."""
        return f"{self.paper}/{self.ckpt_from}/seed{self.seed}" if self.ckpt_from else None

    def hydra_overrides(self, ckpt: Path | None) -> list[str]:
        """The command-line overrides that reproduce this unit with scripts/<action>.py."""
        extra = [f"ckpt={ckpt}"] if ckpt is not None else []
        return [f"experiment={self.experiment}", *self.overrides, *extra, f"seed={self.seed}",
                f"hydra.run.dir={self.run_dir}"]

    def command(self, ckpt: Path | None) -> str:
        """`OMP_NUM_THREADS=1 python scripts/<action>.py ...` (paths relative to the current folder when inside it);
        one thread as in the runner's processes, since thread count changes float reduction order."""
        def rel(text: str) -> str:
            return text.replace(str(Path.cwd()) + os.sep, "")

        return " ".join(["OMP_NUM_THREADS=1", "python", f"scripts/{self.action}.py",
                         *(shlex.quote(rel(o)) for o in self.hydra_overrides(ckpt))])


@dataclass
class UnitResult:
    """What one unit returned (or the error it raised)."""

    key: str
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    ckpt: Path | None = None
    reused: bool = False
    error: str | None = None


def unit_seeds(row: RowSpec, spec: PaperSpec, profile_seeds: int | None, cli_seeds: int | None) -> list[int]:
    """Seeds of a run: 0..N-1 with N from seeds= on the command line, the profile, the row, the paper."""
    if not row.seeded:
        return [0]
    n = cli_seeds or profile_seeds or row.seeds or spec.seeds
    return list(range(n))


def plan(spec: PaperSpec, data: str, profile: str, cli_seeds: int | None, output_root: Path) -> list[RunUnit]:
    """Every (run, seed) of the paper for `data` and `profile`, in declaration order."""
    if profile != "fast" and profile not in spec.profiles:
        raise SpecError(f"configs/reproduce/{spec.paper}.yaml has no profile {profile!r}; "
                        f"profiles: ['fast' (the rows as written), {', '.join(map(repr, spec.profiles))}]")
    prof = spec.profiles.get(profile)
    runs = measured_rows(spec)
    units = []
    for run_id, row in runs.items():
        experiment, overrides = row.experiment, list(row.overrides)
        if data == "real":
            if row.real is None and spec.real is None:
                raise SpecError(f"configs/reproduce/{spec.paper}.yaml: row {run_id!r} has no real-data variant; "
                                "add `real: {experiment: ..., overrides: [...]}` to the row or the paper")
            if row.real is not None and row.real.experiment:
                experiment, overrides = row.real.experiment, list(row.real.overrides)
            elif row.real is not None:
                overrides += row.real.overrides
            overrides += spec.real.overrides if spec.real is not None else []
        if prof is not None:
            overrides += [*prof.overrides, *prof.runs.get(run_id, [])]
        source = runs[row.ckpt_from] if row.ckpt_from else row
        seeds = unit_seeds(source, spec, prof.seeds if prof else None, cli_seeds)
        for seed in seeds:
            run_dir = output_root / "reproduce" / spec.paper / f"{data}-{profile}" / run_id / f"seed{seed}"
            units.append(RunUnit(spec.paper, run_id, seed, row.action, experiment, overrides, run_dir,
                                 row.ckpt_from, row.ckpt_path))
    return units


def find_checkpoint(run_dir: Path, relative: str | None = None) -> Path:
    """The final model of a finished train run: `run_dir / relative` if given, else `run_dir / FINAL_MODEL`."""
    path = run_dir / (relative or FINAL_MODEL)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: the train run did not finish (rerun without reuse=true), "
                                "or set `ckpt_path:` on the evaluating row to where its train writes the final model")
    return path


def compose(unit: RunUnit, ckpt: Path | None):
    """Compose the unit's config exactly as `scripts/<action>.py <overrides>` would (HydraConfig set)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = hydra_compose(unit.action, overrides=unit.hydra_overrides(ckpt), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(unit.run_dir.resolve())
        cfg.hydra.job.name = unit.action
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    return cfg


@contextlib.contextmanager
def _logged_to(path: Path) -> Iterator[None]:
    """Send logging, stdout and stderr of one unit to `path` (parallel units do not interleave)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    with path.open("a") as stream, contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
            handler.close()


def execute(unit: RunUnit, ckpt: Path | None, reuse: bool) -> UnitResult:
    """Run one unit through common.entry.run; with `reuse`, return a finished run of identical config."""
    import torch
    from omegaconf import OmegaConf

    from common.entry import run

    torch.set_num_threads(1)
    result = UnitResult(unit.key, ckpt=ckpt)
    try:
        cfg = compose(unit, ckpt)
        metrics_file, timing_file = unit.run_dir / f"{unit.action}_metrics.json", unit.run_dir / "reproduce_timing.json"
        if reuse and metrics_file.exists() and timing_file.exists() and (unit.run_dir / "config.yaml").exists() \
                and (unit.run_dir / "config.yaml").read_text() == OmegaConf.to_yaml(cfg, resolve=True):
            timing = json.loads(timing_file.read_text())
            result.metrics, result.reused = json.loads(metrics_file.read_text()), True
            result.seconds, result.cpu_seconds = timing["seconds"], timing["cpu_seconds"]
            return result
        shutil.rmtree(unit.run_dir, ignore_errors=True)  # never resume a stale run of older code
        start, cpu_start = time.perf_counter(), time.process_time()
        with _logged_to(unit.run_dir / "reproduce.log"):
            result.metrics = {k: math.nan if v is None else float(v) for k, v in run(cfg, unit.action).items()}
        result.seconds, result.cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        timing_file.write_text(json.dumps({"seconds": result.seconds, "cpu_seconds": result.cpu_seconds}))
    except Exception:  # reported with the unit's key and log; the other units go on
        result.error = traceback.format_exc()
    return result


def _init_worker() -> None:
    import torch

    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def _order(units: list[RunUnit], estimates: dict[str, float]) -> list[RunUnit]:
    """Longest (estimated) first, so K processes finish together; unknown durations keep their order."""
    return sorted(units, key=lambda u: -estimates.get(u.key, 0.0))


def run_units(units: list[RunUnit], jobs: int, reuse: bool = False,
              estimates: dict[str, float] | None = None) -> dict[str, UnitResult]:
    """Execute every unit (dependencies first) in `jobs` processes; return results by unit key."""
    by_key = {u.key: u for u in units}
    missing = [u.key for u in units if u.depends_on and u.depends_on not in by_key]
    if missing:
        raise SpecError(f"units {missing} evaluate checkpoints of runs that are not planned")
    pending = _order(units, estimates or {})
    results: dict[str, UnitResult] = {}
    known = estimates is not None and all(u.key in estimates for u in units)
    weight = {u.key: (estimates[u.key] if known else 1.0) for u in units}
    seconds_format = "{l_bar}{bar}| {n:.0f}/{total:.0f} s of work [{elapsed}<{remaining}{postfix}]"
    bar = tqdm(total=round(sum(weight.values()), 1), desc="reproduce", unit="s" if known else "run",
               dynamic_ncols=True, file=sys.stderr, bar_format=seconds_format if known else None)

    def ready() -> list[RunUnit]:
        return [u for u in pending if u.depends_on is None or u.depends_on in results]

    def ckpt_of(unit: RunUnit) -> Path | None:
        if unit.depends_on is None:
            return None
        source = by_key[unit.depends_on]
        return find_checkpoint(source.run_dir, unit.ckpt_path)

    def finish(unit: RunUnit, result: UnitResult) -> None:
        results[unit.key] = result
        status = "FAILED" if result.error else ("reused" if result.reused else f"{result.seconds:.0f} s")
        bar.update(weight[unit.key])
        tqdm.write(f"[{len(results)}/{len(units)}] {unit.key}: {status}", file=sys.stderr)

    def start(unit: RunUnit) -> tuple[RunUnit, Path | None] | None:
        pending.remove(unit)
        dep = results.get(unit.depends_on) if unit.depends_on else None
        if dep is not None and dep.error:
            finish(unit, UnitResult(unit.key, error=f"not run: {unit.depends_on} failed"))
            return None
        try:
            return unit, ckpt_of(unit)
        except FileNotFoundError as err:
            finish(unit, UnitResult(unit.key, error=str(err)))
            return None

    try:
        if jobs <= 1:
            while pending:
                started = start(ready()[0])
                if started is not None:
                    bar.set_postfix_str(started[0].key)
                    finish(started[0], execute(started[0], started[1], reuse))
            return results
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                                 initializer=_init_worker) as pool:
            running: dict[Future, RunUnit] = {}
            while pending or running:
                for unit in ready()[: max(0, jobs - len(running))]:
                    started = start(unit)
                    if started is not None:
                        running[pool.submit(execute, started[0], started[1], reuse)] = started[0]
                bar.set_postfix_str(", ".join(u.key for u in running.values()))
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(running.pop(future), future.result())
        return results
    finally:
        bar.close()
