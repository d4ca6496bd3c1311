"""Regenerate the README's results table from results/*.json: `python scripts/update_readme.py [--check]`.

Writes between `<!-- results:begin -->` and `<!-- results:end -->` (common/reproduce_readme.py); `--check` only
reports (exit 1) when the README is out of date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.reproduce_readme import update

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    """Rewrite the README block, or with --check exit 1 when it is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README block is out of date")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--results-dir", type=Path, default=REPO / "results")
    args = parser.parse_args(argv)
    old, new = update(args.readme, args.results_dir)
    if args.check:
        if old != new:
            print(f"{args.readme} is stale: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
