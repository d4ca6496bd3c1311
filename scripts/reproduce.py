"""Reproduce the papers' tables: `python scripts/reproduce.py [paper=<name>] [data=synthetic|real]`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from common import PAPERS
from common.reproduce import discover, table_markdown, write_results

log = logging.getLogger("reproduce")


def parse_args(argv: list[str]) -> dict[str, str]:
    """Parse `key=value` arguments (paper, data, results_dir)."""
    args = {"paper": "all", "data": "synthetic", "results_dir": "results"}
    for item in argv:
        key, sep, value = item.partition("=")
        if not sep or key not in args:
            raise SystemExit(f"unknown argument {item!r}; use paper=<name>, data=synthetic|real, "
                             "results_dir=<dir>")
        args[key] = value
    if args["data"] not in ("synthetic", "real"):
        raise SystemExit(f"data={args['data']!r}: choose data=synthetic or data=real")
    return args


def main(argv: list[str]) -> int:
    """Run the registered reproductions, print every table and write results/<paper>.{md,json}."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args["paper"] != "all" and args["paper"] not in PAPERS:
        raise SystemExit(f"paper={args['paper']!r} is unknown; choose one of {list(PAPERS)}")
    registry = discover(None if args["paper"] == "all" else args["paper"])
    if not registry:
        print("No paper is registered yet: nothing to reproduce.")
        return 0
    papers = list(registry) if args["paper"] == "all" else [args["paper"]]
    missing = [p for p in papers if p not in registry]
    if missing:
        raise SystemExit(f"paper={missing[0]!r} is not registered; registered: {sorted(registry)}")
    results_dir = Path(args["results_dir"])
    for paper in papers:
        log.info("reproducing %s on %s data", paper, args["data"])
        result = registry[paper](args["data"], results_dir)
        md_path, json_path = write_results(result, results_dir)
        print(f"\n## {paper} (data: {result.data})\n")
        for table in result.tables:
            print(table_markdown(table) + "\n")
        print(f"written: {md_path}, {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
