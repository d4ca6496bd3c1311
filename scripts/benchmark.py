"""Run a named benchmark: `python scripts/benchmark.py <name>` (metrics, data, or a paper name)."""

from __future__ import annotations

import sys

from common.benchmarking import available, load


def main(argv: list[str]) -> int:
    """Print the benchmark's rows as a markdown table."""
    if len(argv) != 1:
        print(f"usage: python scripts/benchmark.py <name>; available: {', '.join(available())}")
        return 2
    rows = load(argv[0])()
    print("| measurement | value | unit | reference | ratio | target |\n|---|---|---|---|---|---|")
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        print(f"| {r.name} | {r.value:.4g} | {r.unit} | {r.reference} | {ratio} | {r.target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
