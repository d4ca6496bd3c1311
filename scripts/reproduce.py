"""Reproduce the papers' tables: `python scripts/reproduce.py [paper=<name>] [data=synthetic|real]
[profile=fast|full] [seeds=N] [jobs=K] [results_dir=results] [reuse=true] [dry_run=true]`.

Tables are declared in configs/reproduce/<paper>.yaml (docs/reproduce.md); every row runs through the same
train/evaluate functions as scripts/train.py and scripts/evaluate.py.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported, here and in spawned workers

from common import PAPERS
from common.reproduce import Options, RunFailures, configured_papers, reproduce
from common.reproduce_readme import update
from common.reproduce_spec import SpecError

log = logging.getLogger("reproduce")
REPO = Path(__file__).resolve().parents[1]
USAGE = ("use paper=<name>|all, data=synthetic|real, profile=fast|<name>, seeds=<N>, jobs=<K>, "
         "results_dir=<dir>, output_root=<dir>, reuse=true|false, dry_run=true|false")


def _bool(key: str, value: str) -> bool:
    if value.lower() not in ("true", "false", "1", "0"):
        raise SystemExit(f"{key}={value!r}: use true or false")
    return value.lower() in ("true", "1")


def _positive(key: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{key}={value!r}: use a positive integer")
    return int(value)


def parse_args(argv: list[str]) -> tuple[str, Options]:
    """Parse `key=value` arguments into the paper selection and the runner options."""
    paper, opts = "all", Options()
    for item in argv:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"unknown argument {item!r}; {USAGE}")
        if key == "paper":
            paper = value
        elif key == "data":
            if value not in ("synthetic", "real"):
                raise SystemExit(f"data={value!r}: choose data=synthetic or data=real")
            opts.data = value
        elif key == "profile":
            opts.profile = value
        elif key in ("seeds", "jobs"):
            setattr(opts, key, _positive(key, value))
        elif key in ("results_dir", "output_root"):
            setattr(opts, key, Path(value))
        elif key in ("reuse", "dry_run"):
            setattr(opts, key, _bool(key, value))
        else:
            raise SystemExit(f"unknown argument {item!r}; {USAGE}")
    if paper != "all" and paper not in PAPERS:
        raise SystemExit(f"paper={paper!r} is unknown; choose one of {list(PAPERS)}")
    return paper, opts


def main(argv: list[str]) -> int:
    """Run the selected papers' tables and write results/<paper>.{md,json}."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    paper, opts = parse_args(argv)
    papers = configured_papers() if paper == "all" else [paper]
    try:
        written = reproduce(papers, opts)
    except SpecError as err:
        raise SystemExit(str(err)) from err
    except RunFailures as err:
        print(err, file=sys.stderr)
        return 1
    for md_path, json_path in written.values():
        print(md_path.read_text())
        print(f"written: {md_path}, {json_path}")
    if not opts.dry_run and opts.results_dir.resolve() == (REPO / "results").resolve():
        old, new = update(REPO / "README.md", opts.results_dir)
        if new != old:
            (REPO / "README.md").write_text(new)
            print("README.md results block regenerated (scripts/update_readme.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
