"""Reproduce the papers' tables from `configs/reproduce/<paper>.yaml`: plan every (row, seed), run them
through the same functions as scripts/train.py / evaluate.py in K processes, write results/<paper>.{md,json}.

Schema: common/reproduce_spec.py and docs/reproduce.md. Execution: common/reproduce_run.py. Results:
common/reproduce_report.py.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from common import PAPERS
from common.reproduce_report import ReproduceContext, RunRecord, estimates, write
from common.reproduce_run import RunUnit, plan, run_units
from common.reproduce_spec import REPRODUCE_DIR, PaperSpec, load_spec

__all__ = ["Options", "ReproduceContext", "RunFailures", "RunRecord", "configured_papers", "reproduce"]
log = logging.getLogger(__name__)


class RunFailures(RuntimeError):
    """Some runs or result pages failed (the message names each, with its log and command)."""


@dataclass
class Options:
    """Command-line options of scripts/reproduce.py."""

    data: str = "synthetic"
    profile: str = "fast"
    seeds: int | None = None
    jobs: int = 2
    results_dir: Path = Path("results")
    output_root: Path = field(default_factory=lambda: Path(os.environ.get("EHP_OUTPUT_ROOT", "outputs")))
    reuse: bool = False
    dry_run: bool = False


def configured_papers(directory: Path = REPRODUCE_DIR) -> list[str]:
    """Papers that have a `configs/reproduce/<paper>.yaml`, in PAPERS order."""
    return [p for p in PAPERS if (directory / f"{p}.yaml").exists()]


def reproduce(papers: list[str], opts: Options, directory: Path = REPRODUCE_DIR) -> dict[str, tuple[Path, Path]]:
    """Run every row of `papers` in one pool of `opts.jobs` processes; write and return each paper's results.

    Raises RunFailures naming every failed run (with its log file) after the other papers are written.
    """
    specs: dict[str, PaperSpec] = {p: load_spec(p, directory) for p in papers}
    units: dict[str, list[RunUnit]] = {p: plan(s, opts.data, opts.profile, opts.seeds, opts.output_root)
                                       for p, s in specs.items()}
    if opts.dry_run:
        for unit in (u for us in units.values() for u in us):
            ckpt = unit.run_dir.parent.parent / unit.ckpt_from / unit.run_dir.name / "<checkpoint>" \
                if unit.ckpt_from else None
            print(unit.command(ckpt))
        return {}
    guess = {k: v for p in papers for k, v in estimates(opts.results_dir, p).items()}
    results = run_units([u for us in units.values() for u in us], opts.jobs, opts.reuse, guess)
    written: dict[str, tuple[Path, Path]] = {}
    failures: list[tuple[RunUnit | str, str]] = []
    for paper, spec in specs.items():
        failed = [(u, results[u.key].error) for u in units[paper] if results[u.key].error]
        if failed:
            failures += failed
            continue
        try:
            written[paper] = write(spec, opts.data, opts.profile, units[paper], results, opts.results_dir)
        except Exception as err:  # a table or hook error of one paper must not lose the others' results
            log.exception("writing the results of %s failed", paper)
            failures.append((paper, f"results not written: {type(err).__name__}: {err}"))
    if failures:
        lines = []
        for what, err in failures:
            if isinstance(what, RunUnit):
                log.error("%s failed:\n%s", what.key, err)
                lines.append(f"- {what.key}: {err.strip().splitlines()[-1]}\n    log: "
                             f"{what.run_dir / 'reproduce.log'}\n    rerun: {what.command(None)}")
            else:
                lines.append(f"- {what}: {err}")
        raise RunFailures(f"{len(failures)} failure(s); the results of their papers were not written:\n"
                           + "\n".join(lines))
    return written
